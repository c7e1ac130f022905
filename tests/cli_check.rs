//! `mixport check` and `mixport suggest` run as the real binary on fixtures and generated files.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn mixport(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mixport"))
        .args(args)
        .output()
        .expect("run mixport")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn check_json(path: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["check", path.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let out = mixport(&args);
    let code = out.status.code().unwrap();
    assert!(
        code == 0 || code == 1,
        "exit {code}, stderr: {}",
        stderr(&out)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (code, report)
}

/// Asserts the run could not start: exit 2, one line on stderr naming `name`, no panic.
fn assert_fails_cleanly(out: &Output, name: &str, words: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
    assert!(err.starts_with("mixport: "), "{err}");
    assert!(err.contains(name), "should name {name}: {err}");
    assert!(
        err.to_lowercase().contains(&words.to_lowercase()),
        "should say '{words}': {err}"
    );
    assert!(out.stdout.is_empty());
}

fn error_rows(report: &serde_json::Value) -> BTreeMap<String, u64> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["kind"].as_str().unwrap().to_owned(),
                g["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn valid_file_exits_0_with_counts() {
    let (code, report) = check_json(&fixture("small_valid.csv"), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["rows"], 5);
    assert_eq!(report["valid"], 5);
    assert_eq!(report["invalid"], 0);
    assert_eq!(report["requests"], 1);
    assert!(report["bytes"].as_u64().unwrap() > 500);
    assert_eq!(report["format"], "csv");
    assert!(report["elapsed_secs"].as_f64().is_some());
    assert!(report["rows_per_sec"].as_f64().is_some());
}

#[test]
fn bad_rows_exit_1_grouped_with_examples_and_rejected_csv() {
    let dir = tempfile::tempdir().unwrap();
    let rejected = dir.path().join("REJECTED.csv");
    let (code, report) = check_json(
        &fixture("bad_rows.csv"),
        &["--failed-out", rejected.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert_eq!(report["rows"], 8);
    assert_eq!(report["valid"], 1);
    assert_eq!(report["invalid"], 7);
    let expected: BTreeMap<String, u64> = [
        ("empty_event_name", 1),
        ("missing_user_id", 1),
        ("banned_distinct_id", 1),
        ("missing_time", 1),
        ("unparsable_time", 1),
        ("time_too_old", 1),
        ("time_in_future", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(error_rows(&report), expected);
    let unparsable = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["kind"] == "unparsable_time")
        .unwrap();
    assert_eq!(unparsable["field"], "properties.time");
    assert_eq!(unparsable["examples"][0]["row"], 5);
    assert_eq!(unparsable["examples"][0]["column"], "timestamp");
    assert!(
        unparsable["examples"][0]["message"]
            .as_str()
            .unwrap()
            .contains("yesterday")
    );
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["kind"].as_str().unwrap())
        .collect();
    // "Atlantis" is on a rejected row (user "null"): a row that is not sent has no "still sent"
    // warnings, only its errors.
    assert!(!warnings.contains(&"unknown_country"), "{warnings:?}");

    let text = std::fs::read_to_string(&rejected).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        vec![
            "event",
            "user_id",
            "timestamp",
            "country",
            "_row",
            "_field",
            "_reason",
            "_origin"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let row_numbers: Vec<&str> = rows.iter().map(|r| &r[4]).collect();
    assert_eq!(row_numbers, vec!["3", "4", "5", "6", "7", "8", "9"]);
    assert_eq!(&rows[2][2], "yesterday");
    assert_eq!(&rows[2][5], "properties.time");
    assert_eq!(&rows[0][5], "event");
}

#[test]
fn human_report_names_groups_and_examples() {
    let out = mixport(&["check", fixture("bad_rows.csv").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Rows: 8"), "{text}");
    assert!(text.contains("invalid: 7"), "{text}");
    assert!(text.contains("Time cannot be read"), "{text}");
    assert!(text.contains("row 5:"), "{text}");
    assert!(text.contains("request"), "{text}");
}

#[test]
fn sample_data_reports_its_known_bad_rows() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample-events.csv");
    let dir = tempfile::tempdir().unwrap();
    let rejected = dir.path().join("r.csv");
    let (code, report) = check_json(&sample, &["--failed-out", rejected.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(report["rows"], 500);
    assert_eq!(report["invalid"], 5, "{:#}", report["errors"]);
    let mut reader = csv::Reader::from_path(&rejected).unwrap();
    let rows: BTreeSet<u64> = reader
        .records()
        .map(|r| r.unwrap()[10].parse().unwrap())
        .collect();
    assert_eq!(rows, BTreeSet::from([60, 122, 262, 303, 446]));
    let unknown = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["kind"] == "unknown_country")
        .unwrap();
    assert_eq!(unknown["count"], 3);
}

#[test]
fn suggest_prints_a_mapping_that_check_accepts() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample-events.csv");
    let out = mixport(&["suggest", sample.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mapping: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(mapping["event"]["value"], "event");
    assert_eq!(mapping["distinct_id"], "user_id");
    assert_eq!(mapping["time"]["column"], "timestamp");
    assert_eq!(mapping["time"]["day_order"], "month_first");
    assert_eq!(mapping["country"]["column"], "country");
    assert_eq!(mapping["city"], "city");
    assert_eq!(mapping["insert_id"]["from"], "generate");
    let zip = mapping["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["column"] == "zip")
        .unwrap();
    assert_eq!(zip["type"], "text");
    assert!(
        mapping["constants"]["mixport_import"]
            .as_str()
            .unwrap()
            .starts_with("sample-events 20")
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    let out = mixport(&[
        "suggest",
        sample.to_str().unwrap(),
        "-o",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let (code, report) = check_json(&sample, &["--mapping", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(report["invalid"], 5);
}

#[test]
fn files_that_cannot_be_checked_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.csv");
    assert_fails_cleanly(
        &mixport(&["check", missing.to_str().unwrap()]),
        "nope.csv",
        "not found",
    );
    assert_fails_cleanly(
        &mixport(&["check", dir.path().to_str().unwrap()]),
        dir.path().file_name().unwrap().to_str().unwrap(),
        "folder",
    );
    let garbage = dir.path().join("garbage.bin");
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&garbage, bytes).unwrap();
    assert_fails_cleanly(
        &mixport(&["check", garbage.to_str().unwrap()]),
        "garbage.bin",
        "not a CSV",
    );
    assert_fails_cleanly(
        &mixport(&["check", fixture("empty.csv").to_str().unwrap()]),
        "empty.csv",
        "empty",
    );
    assert_fails_cleanly(
        &mixport(&["check", fixture("header_only.csv").to_str().unwrap()]),
        "header_only.csv",
        "no data rows",
    );
    // A gzip file cut in the middle.
    let gz = dir.path().join("cut.csv.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(b"event,user_id,timestamp\n").unwrap();
    for i in 0..20_000 {
        writeln!(encoder, "Log In,user{i},2024-03-05T14:07:{:02}Z", i % 60).unwrap();
    }
    let full = encoder.finish().unwrap();
    std::fs::write(&gz, &full[..full.len() / 2]).unwrap();
    assert_fails_cleanly(
        &mixport(&["check", gz.to_str().unwrap()]),
        "cut.csv.gz",
        "gzip",
    );
}

#[test]
fn mapping_problems_exit_2_with_one_line() {
    let out = mixport(&[
        "check",
        fixture("small_valid.csv").to_str().unwrap(),
        "--mapping",
        fixture("mapping_unknown_column.json").to_str().unwrap(),
    ]);
    assert_fails_cleanly(&out, "small_valid.csv", "column 'action'");
    let out = mixport(&["check", fixture("ambiguous_dates.csv").to_str().unwrap()]);
    assert_fails_cleanly(&out, "ambiguous_dates.csv", "day_order");
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{ not json").unwrap();
    let out = mixport(&[
        "check",
        fixture("small_valid.csv").to_str().unwrap(),
        "--mapping",
        broken.to_str().unwrap(),
    ]);
    assert_fails_cleanly(&out, "broken.json", "not a valid mapping");
}

// ----- the issue's "done when": 1M rows, 2% bad, four forms -----

/// Rows of the generated file.
const BIG_ROWS: usize = 1_000_000;
/// 2023-01-01T00:00:00Z.
const START_SECS: i64 = 1_672_531_200;

/// The kinds of bad rows, cycled over every 50th row (2%).
const BAD_KINDS: [(&str, &str); 6] = [
    ("empty_event_name", "event"),
    ("missing_user_id", "properties.distinct_id"),
    ("unparsable_time", "properties.time"),
    ("time_in_future", "properties.time"),
    ("banned_distinct_id", "properties.distinct_id"),
    ("missing_time", "properties.time"),
];

/// One generated event (0-based index): event, user, time cell, country, city, plan, price, zip
/// plus the bad kind when it is a bad row. Epoch times come back as numbers for JSON forms.
struct BigRow {
    event: String,
    user: String,
    time: TimeCell,
    country: &'static str,
    city: &'static str,
    plan: &'static str,
    price: String,
    zip: String,
    bad: Option<usize>,
}

enum TimeCell {
    Text(String),
    Number(i64),
}

fn big_row(i: usize) -> BigRow {
    const EVENTS: [&str; 5] = ["Sign Up", "Log In", "View Product", "Purchase", "Share"];
    const COUNTRIES: [(&str, &str); 8] = [
        ("US", "New York"),
        ("Germany", "Berlin"),
        ("FR", "Paris"),
        ("United Kingdom", "London"),
        ("JP", "Tokyo"),
        ("Brazil", "Rio"),
        ("CA", "Toronto"),
        ("Spain", "Madrid"),
    ];
    const PLANS: [&str; 3] = ["free", "pro", "enterprise"];
    let secs = START_SECS + ((i as i64 * 7919) % (2 * 365 * 86_400));
    let dt = chrono::DateTime::from_timestamp(secs, 0).unwrap();
    let time = match i % 5 {
        0 => TimeCell::Text(dt.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        1 => TimeCell::Text(dt.format("%Y-%m-%d %H:%M:%S").to_string()),
        2 => TimeCell::Number(secs),
        3 => TimeCell::Number(secs * 1000 + (i % 1000) as i64),
        _ => TimeCell::Text(dt.format("%m/%d/%Y %H:%M").to_string()),
    };
    let (country, city) = COUNTRIES[i % COUNTRIES.len()];
    let mut row = BigRow {
        event: EVENTS[i % EVENTS.len()].to_owned(),
        user: format!("user{}", i % 9973),
        time,
        country,
        city,
        plan: PLANS[i % 3],
        price: format!("{}.{:02}", i % 200, i % 100),
        zip: format!("{:05}", i % 3000),
        bad: None,
    };
    if i % 50 == 7 {
        let kind = (i / 50) % BAD_KINDS.len();
        row.bad = Some(kind);
        match kind {
            0 => row.event.clear(),
            1 => row.user.clear(),
            2 => row.time = TimeCell::Text("not a date".to_owned()),
            3 => row.time = TimeCell::Text("2099-01-01T00:00:00Z".to_owned()),
            4 => row.user = "null".to_owned(),
            _ => row.time = TimeCell::Text(String::new()),
        }
    }
    row
}

fn time_text(t: &TimeCell) -> String {
    match t {
        TimeCell::Text(s) => s.clone(),
        TimeCell::Number(n) => n.to_string(),
    }
}

fn write_big_csv(path: &Path, gzip: bool) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut out: Box<dyn Write> = if gzip {
        Box::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::fast(),
        ))
    } else {
        Box::new(file)
    };
    writeln!(out, "event,user_id,timestamp,country,city,plan,price,zip").unwrap();
    for i in 0..BIG_ROWS {
        let r = big_row(i);
        writeln!(
            out,
            "{},{},{},{},{},{},{},{}",
            r.event,
            r.user,
            time_text(&r.time),
            r.country,
            r.city,
            r.plan,
            r.price,
            r.zip
        )
        .unwrap();
    }
    out.flush().unwrap();
}

/// The row as a JSON object (every generated value is plain ASCII without quotes or
/// backslashes, so it is written without an escaper; a test checks that against serde_json).
fn json_object(r: &BigRow) -> String {
    let time = match &r.time {
        TimeCell::Text(s) => format!("\"{s}\""),
        TimeCell::Number(n) => n.to_string(),
    };
    format!(
        r#"{{"event":"{}","user_id":"{}","timestamp":{},"country":"{}","city":"{}","plan":"{}","price":"{}","zip":"{}"}}"#,
        r.event, r.user, time, r.country, r.city, r.plan, r.price, r.zip
    )
}

#[test]
fn generated_json_rows_are_valid_json() {
    for i in 0..200 {
        let r = big_row(i);
        let v: serde_json::Value = serde_json::from_str(&json_object(&r)).unwrap();
        assert_eq!(v["user_id"], r.user.as_str());
        match r.time {
            TimeCell::Number(n) => assert_eq!(v["timestamp"], n),
            TimeCell::Text(s) => assert_eq!(v["timestamp"], s.as_str()),
        }
    }
}

fn write_big_json(path: &Path, ndjson: bool) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    if !ndjson {
        out.write_all(b"[\n").unwrap();
    }
    for i in 0..BIG_ROWS {
        let line = json_object(&big_row(i));
        if ndjson {
            writeln!(out, "{line}").unwrap();
        } else {
            let sep = if i + 1 < BIG_ROWS { "," } else { "" };
            writeln!(out, "{line}{sep}").unwrap();
        }
    }
    if !ndjson {
        out.write_all(b"]\n").unwrap();
    }
    out.flush().unwrap();
}

/// Check a generated file and compare every rejected row with the known bad rows.
/// `first_row` is the source row number of event 0 (2 for CSV with a header, 1 for JSON forms).
fn check_big(path: &Path, first_row: u64) -> f64 {
    let rejected = path.with_extension("rejected.csv");
    let started = Instant::now();
    let (code, report) = check_json(path, &["--failed-out", rejected.to_str().unwrap()]);
    let secs = started.elapsed().as_secs_f64();
    let bad_total = BIG_ROWS / 50;
    assert_eq!(code, 1);
    assert_eq!(report["rows"], BIG_ROWS as u64);
    assert_eq!(
        report["invalid"], bad_total as u64,
        "{:#}",
        report["errors"]
    );
    assert_eq!(report["valid"], (BIG_ROWS - bad_total) as u64);
    let mut expected_counts: BTreeMap<String, u64> = BTreeMap::new();
    for i in (7..BIG_ROWS).step_by(50) {
        let kind = BAD_KINDS[(i / 50) % BAD_KINDS.len()].0;
        *expected_counts.entry(kind.to_owned()).or_default() += 1;
    }
    assert_eq!(error_rows(&report), expected_counts);

    let mut reader = csv::Reader::from_path(&rejected).unwrap();
    let headers = reader.headers().unwrap().clone();
    let row_col = headers.iter().position(|h| h == "_row").unwrap();
    let field_col = headers.iter().position(|h| h == "_field").unwrap();
    let mut seen = 0usize;
    for record in reader.records() {
        let record = record.unwrap();
        let row: u64 = record[row_col].parse().unwrap();
        let index = (row - first_row) as usize;
        let generated = big_row(index);
        let kind = generated
            .bad
            .unwrap_or_else(|| panic!("row {row} rejected but generated as good: {record:?}"));
        assert_eq!(
            &record[field_col], BAD_KINDS[kind].1,
            "row {row}: {record:?}"
        );
        seen += 1;
    }
    assert_eq!(seen, bad_total);
    std::fs::remove_file(&rejected).unwrap();
    secs
}

#[test]
fn million_rows_in_four_forms_report_exactly_the_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut timings = Vec::new();
    for (name, first_row) in [
        ("big.csv", 2u64),
        ("big.csv.gz", 2),
        ("big.ndjson", 1),
        ("big.json", 1),
    ] {
        let path = dir.path().join(name);
        let started = Instant::now();
        match name {
            "big.csv" => write_big_csv(&path, false),
            "big.csv.gz" => write_big_csv(&path, true),
            "big.ndjson" => write_big_json(&path, true),
            _ => write_big_json(&path, false),
        }
        let generated = started.elapsed().as_secs_f64();
        let checked = check_big(&path, first_row);
        std::fs::remove_file(&path).unwrap();
        timings.push(format!(
            "{name}: generated in {generated:.1} s, checked in {checked:.1} s"
        ));
    }
    eprintln!("{}", timings.join("\n"));
}

#[test]
fn a_bare_missing_file_is_refused_before_any_window_opens() {
    let out = mixport(&["no-such-events-file.csv"]);
    assert_fails_cleanly(&out, "no-such-events-file.csv", "no such file");
    assert!(stderr(&out).contains("suggest, check, import"));
}

// ----- issue 9: safe off the happy path -----

/// `check --failed-out` and `suggest -o` pointing at the input (by its name, a symlink or a
/// hard link) are refused with exit 2 before anything is read, and the input is untouched.
#[test]
fn an_output_that_is_the_input_is_refused_and_the_input_survives() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::copy(fixture("bad_rows.csv"), &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let mapping = dir.path().join("mapping.json");
    let out = mixport(&[
        "suggest",
        input.to_str().unwrap(),
        "-o",
        mapping.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut aliases = vec![input.clone(), dir.path().join(".").join("in.csv")];
    #[cfg(unix)]
    {
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        let hard = dir.path().join("hard.csv");
        std::fs::hard_link(&input, &hard).unwrap();
        aliases.extend([link, hard]);
    }
    let input_arg = input.to_str().unwrap();
    for alias in &aliases {
        let alias = alias.to_str().unwrap();
        let out = mixport(&["check", input_arg, "--failed-out", alias]);
        assert_fails_cleanly(&out, "--failed-out", "same file as the input file");
        let out = mixport(&["suggest", input_arg, "-o", alias]);
        assert_fails_cleanly(&out, "-o", "same file as the input file");
        assert_eq!(
            std::fs::read(&input).unwrap(),
            before,
            "{alias} destroyed the input"
        );
    }
    // The mapping is a file of the run too.
    let out = mixport(&[
        "check",
        input_arg,
        "--mapping",
        mapping.to_str().unwrap(),
        "--failed-out",
        mapping.to_str().unwrap(),
    ]);
    assert_fails_cleanly(&out, "--failed-out", "same file as the --mapping file");
    assert!(
        mixport::mapping::Mapping::load(&mapping).is_ok(),
        "the mapping survives"
    );
    // A real output path still works, and the rejected rows appear only when complete.
    let rejected = dir.path().join("REJECTED.csv");
    let (code, _) = check_json(&input, &["--failed-out", rejected.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        std::fs::read_to_string(&rejected)
            .unwrap()
            .starts_with("event")
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// Item 4: a template with a typo, an unknown value or an unsupported version is refused with
/// exit 2, the key's path and a "did you mean"; nothing is checked with a half-read mapping.
#[test]
fn template_typos_and_unknown_versions_are_refused_with_the_key_path() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("small_valid.csv");
    let good = dir.path().join("mapping.json");
    let out = mixport(&[
        "suggest",
        input.to_str().unwrap(),
        "-o",
        good.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let template: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&good).unwrap()).unwrap();
    type Change = fn(&mut serde_json::Value);
    let variants: [(&str, Change, &str); 4] = [
        (
            "time_zone",
            |m| m["time"]["time_zone"] = "Asia/Tokyo".into(),
            "time.time_zone: did you mean \"timezone\"",
        ),
        (
            "colums",
            |m| {
                let columns = m.as_object_mut().unwrap().remove("columns").unwrap();
                m["colums"] = columns;
            },
            "did you mean \"columns\"",
        ),
        (
            "version",
            |m| m["version"] = 99.into(),
            "\"version\": 99 is not supported",
        ),
        (
            "type",
            |m| m["columns"][0]["type"] = "numbr".into(),
            "columns[0].type is not one of the allowed values: did you mean \"number\"",
        ),
    ];
    for (name, change, expected) in variants {
        let mut broken = template.clone();
        change(&mut broken);
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, broken.to_string()).unwrap();
        let out = mixport(&[
            "check",
            input.to_str().unwrap(),
            "--mapping",
            path.to_str().unwrap(),
        ]);
        assert_fails_cleanly(&out, &format!("{name}.json"), expected);
    }
    let (code, _) = check_json(&input, &["--mapping", good.to_str().unwrap()]);
    assert_eq!(code, 0, "the untouched template still works");
}

fn error_examples(report: &serde_json::Value) -> Vec<(u64, String)> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["examples"].as_array().unwrap().clone())
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Item 2: a row over the per-row cap (16 MB) in CSV, gzipped NDJSON and a JSON array is
/// rejected as too large with its position, and the rows after it are read.
#[test]
fn a_row_over_the_cap_is_rejected_with_its_position_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let huge = "a".repeat(mixport::source::MAX_RECORD_BYTES + 1024);
    let good = |user: &str| format!("Sign Up,{user},2024-03-05T14:07:00Z\n");
    let csv = dir.path().join("huge.csv");
    std::fs::write(
        &csv,
        format!(
            "event,user_id,timestamp\n{}\"{huge}\",u2,2024-03-05T14:07:00Z\n{}",
            good("u1"),
            good("u3")
        ),
    )
    .unwrap();
    let line = |event: &str, user: &str| {
        format!(r#"{{"event":"{event}","user_id":"{user}","timestamp":"2024-03-05T14:07:00Z"}}"#)
    };
    let ndjson = dir.path().join("huge.ndjson.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    writeln!(
        encoder,
        "{}\n{}\n{}",
        line("A", "u1"),
        line(&huge, "u2"),
        line("C", "u3")
    )
    .unwrap();
    std::fs::write(&ndjson, encoder.finish().unwrap()).unwrap();
    let json = dir.path().join("huge.json");
    std::fs::write(
        &json,
        format!(
            "[{},\n{},\n{}]",
            line("A", "u1"),
            line(&huge, "u2"),
            line("C", "u3")
        ),
    )
    .unwrap();
    for (path, big_row) in [(&csv, 3), (&ndjson, 2), (&json, 2)] {
        let (code, report) = check_json(path, &[]);
        assert_eq!(code, 1, "{report:#}");
        assert_eq!(
            report["rows"],
            3,
            "{}: every row is counted: {report:#}",
            path.display()
        );
        assert_eq!(report["valid"], 2, "{}: {report:#}", path.display());
        let examples = error_examples(&report);
        assert_eq!(examples.len(), 1, "{examples:?}");
        assert_eq!(examples[0].0, big_row, "{examples:?}");
        assert!(examples[0].1.contains("16 MB"), "{examples:?}");
    }
}

/// Item 7: an unclosed quote no longer swallows the rest of the file silently: the row where
/// it opened is rejected, naming its line and how many lines it spans.
#[test]
fn an_unclosed_quote_is_reported_where_it_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quote.csv");
    let mut text = String::from("event,user_id,timestamp\n");
    for i in 0..4 {
        text.push_str(&format!("Sign Up,u{i},2024-03-05T14:07:00Z\n"));
    }
    text.push_str("\"Sign Up,u4,2024-03-05T14:07:00Z\n");
    for i in 5..10 {
        text.push_str(&format!("Sign Up,u{i},2024-03-05T14:07:00Z\n"));
    }
    std::fs::write(&path, text).unwrap();
    let (code, report) = check_json(&path, &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["valid"], 4, "{report:#}");
    let examples = error_examples(&report);
    assert_eq!(examples.len(), 1, "{examples:?}");
    assert_eq!(examples[0].0, 6, "{examples:?}");
    assert!(
        examples[0].1.contains("line 6") && examples[0].1.contains("6 line(s)"),
        "{examples:?}"
    );
}

/// Item 7: a FIFO (or any path that is not a regular file) is refused as such at once, not
/// read as an empty file and never waited on.
#[cfg(unix)]
#[test]
fn a_fifo_is_refused_as_not_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("events.csv");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let out = Command::new("timeout")
        .arg("20")
        .arg(env!("CARGO_BIN_EXE_mixport"))
        .args(["check", fifo.to_str().unwrap(), "--failed-out"])
        .arg(dir.path().join("r.csv"))
        .output()
        .unwrap();
    assert_fails_cleanly(&out, "events.csv", "not a regular file");
}

/// Item 7: one NUL byte in a text file makes only its row invalid; the file is not refused as
/// binary.
#[test]
fn a_stray_nul_byte_rejects_only_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nul.csv");
    let mut bytes = b"event,user_id,timestamp\n".to_vec();
    for i in 0..50 {
        if i == 2 {
            bytes.extend_from_slice(b"Sign\0Up,u2,2024-03-05T14:07:00Z\n");
        } else {
            bytes.extend_from_slice(format!("Sign Up,u{i},2024-03-05T14:07:00Z\n").as_bytes());
        }
    }
    std::fs::write(&path, bytes).unwrap();
    let (code, report) = check_json(&path, &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["rows"], 50, "{report:#}");
    assert_eq!(report["valid"], 49, "{report:#}");
    let examples = error_examples(&report);
    assert_eq!(examples.len(), 1, "{examples:?}");
    assert_eq!(examples[0].0, 4);
    assert!(examples[0].1.contains("NUL"), "{examples:?}");
}
