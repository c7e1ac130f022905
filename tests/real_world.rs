//! The real-world corpus (`tests/fixtures/real_world/`): for each messy file, `suggest` with no
//! hints must pick the roles a person would, and `check` with no mapping must judge every row as
//! it would with a hand-written mapping (the expectations are written beside each file by the
//! generator, from what the generator put in each row).

#[path = "fixtures/real_world/generator.rs"]
mod generator;

use std::path::{Path, PathBuf};
use std::process::Command;

use mixport::mapping::suggest::suggest_for_source;
use mixport::mapping::transform::{TransformOptions, Transformed, Transformer, settle_day_order};
use mixport::mapping::{InsertIdSource, ValueSource};
use mixport::source::{self, Record, SourceOptions};
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real_world")
}

fn expected_path(name: &str) -> PathBuf {
    dir().join(format!("{name}.expected.json"))
}

fn expected_text(fixture: &generator::Fixture) -> String {
    serde_json::to_string_pretty(&fixture.expected).expect("json") + "\n"
}

/// The committed files are exactly what the generator writes (the generator is the source of
/// truth). `UPDATE_FIXTURES=1` rewrites them.
#[test]
fn fixtures_are_what_the_generator_writes() {
    let update = std::env::var_os("UPDATE_FIXTURES").is_some();
    for fixture in generator::all() {
        let path = dir().join(fixture.name);
        if update {
            std::fs::create_dir_all(dir()).expect("dir");
            std::fs::write(&path, &fixture.bytes).expect("write fixture");
            std::fs::write(expected_path(fixture.name), expected_text(&fixture))
                .expect("write expected");
            continue;
        }
        let committed = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}. Run UPDATE_FIXTURES=1 cargo test --test real_world",
                path.display()
            )
        });
        if fixture.name.ends_with(".xlsx") {
            // A workbook's zip is not byte-stable across writer versions: compare its cells.
            assert_eq!(
                sheet_rows(&path),
                sheet_rows_of_bytes(&fixture.bytes),
                "{} differs from the generator",
                fixture.name
            );
        } else {
            assert!(
                committed == fixture.bytes,
                "{} differs from the generator: run UPDATE_FIXTURES=1 cargo test --test real_world",
                fixture.name
            );
        }
        let expected = std::fs::read_to_string(expected_path(fixture.name)).expect("expected");
        assert_eq!(expected, expected_text(&fixture), "{}", fixture.name);
    }
}

fn sheet_rows(path: &Path) -> Vec<Vec<String>> {
    let sniff = source::sniff(
        path,
        &SourceOptions {
            has_header: Some(false),
            header_row: Some(1),
            ..SourceOptions::default()
        },
    )
    .expect("sniff");
    read_all(&sniff)
        .iter()
        .map(|r| r.cells.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>())
        .collect()
}

fn sheet_rows_of_bytes(bytes: &[u8]) -> Vec<Vec<String>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("generated.xlsx");
    std::fs::write(&path, bytes).expect("write");
    sheet_rows(&path)
}

fn read_all(sniff: &source::Sniff) -> Vec<Record> {
    let mut reader = source::open(sniff).expect("open");
    let mut records = Vec::new();
    let mut record = Record::default();
    while reader.read_into(&mut record).expect("read") {
        records.push(record.clone());
    }
    records
}

/// What mixport did with one fixture.
struct Outcome {
    roles: Vec<(String, Option<String>)>,
    preset: Option<String>,
    timezone: String,
    header_row: u64,
    rows: Vec<(u64, bool, Vec<String>)>,
}

fn run_fixture(path: &Path) -> Outcome {
    let sniff = source::sniff(path, &SourceOptions::default()).expect("sniff");
    let sample = source::preview(&sniff, 1000).expect("preview");
    let suggestion = suggest_for_source(&sniff, &sample);
    let mut mapping = suggestion.mapping.clone();
    settle_day_order(&mut mapping, &sniff.columns, &sample).expect("day order");
    let column = |v: &Option<ValueSource>| match v {
        Some(ValueSource::Column(c)) => Some(c.clone()),
        _ => None,
    };
    let roles = vec![
        ("event".to_owned(), column(&mapping.event)),
        (
            "user".to_owned(),
            mapping.distinct_id.clone().or(mapping.user_id.clone()),
        ),
        ("time".to_owned(), mapping.time.column.clone()),
        (
            "insert_id".to_owned(),
            match &mapping.insert_id {
                InsertIdSource::Column(c) => Some(c.clone()),
                InsertIdSource::Generate => None,
            },
        ),
        (
            "country".to_owned(),
            mapping.country.as_ref().map(|c| c.column.clone()),
        ),
    ];
    let mut transformer =
        Transformer::new(&mapping, &sniff.columns, TransformOptions::now()).expect("mapping");
    let mut out = Transformed::default();
    let rows = read_all(&sniff)
        .iter()
        .map(|record| {
            transformer.transform(record, &mut out);
            let kinds = out.issues.iter().map(|i| format!("{:?}", i.kind)).collect();
            (record.row, out.is_valid(), kinds)
        })
        .collect();
    Outcome {
        roles,
        preset: suggestion.preset.map(|p| {
            serde_json::to_value(p)
                .expect("json")
                .as_str()
                .unwrap_or("")
                .to_owned()
        }),
        timezone: mapping.time.timezone.clone(),
        header_row: sniff.header_row,
        rows,
    }
}

/// `suggest` + `check` with no hand mapping, on every fixture. Prints a table (roles suggested
/// vs expected, per-row agreement) with `--nocapture`.
#[test]
fn suggest_and_check_judge_every_fixture_as_a_person_would() {
    let mut failures = Vec::new();
    let mut table = String::from("fixture | roles (suggested vs expected) | rows agreeing\n");
    for fixture in generator::all() {
        let path = dir().join(fixture.name);
        let outcome = run_fixture(&path);
        let expected = &fixture.expected;
        let mut role_text = Vec::new();
        for (field, got) in &outcome.roles {
            let want = expected["roles"][field].as_str().map(str::to_owned);
            let mark = if *got == want { "ok" } else { "WRONG" };
            role_text.push(format!(
                "{field}={} ({mark})",
                got.as_deref().unwrap_or("-")
            ));
            if *got != want {
                failures.push(format!(
                    "{}: {field} is {got:?}, a person would pick {want:?}",
                    fixture.name
                ));
            }
        }
        let want_preset = expected["preset"].as_str().map(str::to_owned);
        if outcome.preset != want_preset {
            failures.push(format!(
                "{}: preset {:?}, expected {want_preset:?}",
                fixture.name, outcome.preset
            ));
        }
        if let Some(zone) = expected["timezone"].as_str()
            && outcome.timezone != zone
        {
            failures.push(format!(
                "{}: time zone {}, the title says {zone}",
                fixture.name, outcome.timezone
            ));
        }
        if Some(outcome.header_row) != expected["header_row"].as_u64() {
            failures.push(format!(
                "{}: header on row {}, expected {}",
                fixture.name, outcome.header_row, expected["header_row"]
            ));
        }
        let want_rows: Vec<(u64, bool)> = expected["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| (r["row"].as_u64().expect("row"), r["verdict"] == "valid"))
            .collect();
        let mut agree = 0;
        for (i, (row, want_valid)) in want_rows.iter().enumerate() {
            match outcome.rows.get(i) {
                Some((got_row, got_valid, _)) if got_row == row && got_valid == want_valid => {
                    agree += 1
                }
                Some((got_row, got_valid, kinds)) => failures.push(format!(
                    "{}: row {got_row} (expected row {row}) is {} ({kinds:?}), expected {}",
                    fixture.name,
                    if *got_valid { "valid" } else { "invalid" },
                    if *want_valid { "valid" } else { "invalid" },
                )),
                None => failures.push(format!("{}: row {row} was not read", fixture.name)),
            }
        }
        if outcome.rows.len() != want_rows.len() {
            failures.push(format!(
                "{}: {} rows read, {} expected",
                fixture.name,
                outcome.rows.len(),
                want_rows.len()
            ));
        }
        table.push_str(&format!(
            "{} ({}) | {} | {agree}/{}\n",
            fixture.name,
            fixture.case,
            role_text.join(", "),
            want_rows.len()
        ));
    }
    println!("{table}");
    assert!(failures.is_empty(), "{}\n{table}", failures.join("\n"));
}

/// The same through the command line: `mixport check FILE --json` with no mapping counts
/// exactly the expected valid and invalid rows.
#[test]
fn cli_check_without_a_mapping_counts_the_expected_rows() {
    for fixture in generator::all() {
        let path = dir().join(fixture.name);
        let out = Command::new(env!("CARGO_BIN_EXE_mixport"))
            .args(["check", path.to_str().expect("utf-8 path"), "--json"])
            .env("MIXPORT_CONFIG_DIR", std::env::temp_dir())
            .output()
            .expect("run mixport");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: {e}: {}",
                fixture.name,
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let rows = fixture.expected["rows"].as_array().expect("rows");
        let valid = rows.iter().filter(|r| r["verdict"] == "valid").count() as u64;
        let invalid = rows.len() as u64 - valid;
        assert_eq!(report["rows"], rows.len() as u64, "{}", fixture.name);
        assert_eq!(report["valid"], valid, "{}", fixture.name);
        assert_eq!(report["invalid"], invalid, "{}", fixture.name);
        let code = out.status.code();
        assert_eq!(
            code,
            Some(if invalid == 0 { 0 } else { 1 }),
            "{}",
            fixture.name
        );
    }
}
