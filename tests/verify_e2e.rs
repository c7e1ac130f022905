//! End-to-end tests of `mixport verify` and `mixport runs`, and of correcting a run with a new
//! insert-ID generation: the real binary against the fake Mixpanel server's `/import` and raw
//! export (tests/common/fake_mixpanel.rs).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::fake_mixpanel::*;
use serde_json::Value;

const EVENTS: [&str; 3] = ["Signup", "Purchase", "Page View"];

struct Fixture {
    _dir: tempfile::TempDir,
    data_dir: PathBuf,
    csv: PathBuf,
}

/// A CSV of `rows` events over three days ten days ago; each row has a unique `order_id`
/// (`o-<row>`, a plain property) so tests can find a row's event on the server. With
/// `duplicate_row`, the last row repeats the first exactly.
fn fixture(rows: usize, duplicate_row: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let csv = dir.path().join("orders.csv");
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let base = (now_ms - 10 * 86_400_000) / 1000 * 1000;
    let mut writer = csv::Writer::from_path(&csv).unwrap();
    writer
        .write_record(["event", "user_id", "timestamp", "order_id", "amount"])
        .unwrap();
    let line = |i: usize| {
        let time = chrono::DateTime::from_timestamp_millis(base + i as i64 * 600_000 + 250)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        vec![
            EVENTS[i % 3].to_owned(),
            format!("user-{}", i % 17),
            time,
            format!("o-{}", i + 2),
            format!("{}.5", i % 100),
        ]
    };
    for i in 0..rows {
        writer.write_record(line(i)).unwrap();
    }
    if duplicate_row {
        writer.write_record(line(0)).unwrap();
    }
    writer.flush().unwrap();
    Fixture {
        _dir: dir,
        data_dir,
        csv,
    }
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("{e}\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }
    fn describe(&self) -> String {
        format!(
            "exit {:?}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

#[derive(Clone, Copy)]
enum Creds {
    ServiceAccount,
    Token,
    None,
}

fn mixport(fx: &Fixture, creds: Creds, args: &[&str]) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mixport"));
    cmd.args(args)
        .env("MIXPORT_DATA_DIR", &fx.data_dir)
        .env("MIXPORT_CONFIG_DIR", fx.data_dir.join("config"))
        .env_remove("MP_ACCT")
        .env_remove("MP_PASS")
        .env_remove("MP_PROJECT")
        .env_remove("MP_TOKEN")
        .stdin(Stdio::null());
    match creds {
        Creds::ServiceAccount => {
            cmd.env("MP_ACCT", SA_USER)
                .env("MP_PASS", SA_SECRET)
                .env("MP_PROJECT", PROJECT_ID);
        }
        Creds::Token => {
            cmd.env("MP_TOKEN", TOKEN);
        }
        Creds::None => {}
    }
    let out = cmd.output().unwrap();
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Import the fixture's file; returns the run report.
fn import(fx: &Fixture, server: &FakeMixpanel, creds: Creds, extra: &[&str]) -> Value {
    let csv = fx.csv.display().to_string();
    let base = server.base_url();
    let mut args = vec![
        "import",
        &csv,
        "--api-base",
        &base,
        "--yes",
        "--retry-base-ms",
        "5",
    ];
    args.extend_from_slice(extra);
    let out = mixport(fx, creds, &args);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    out.json()
}

fn verify(fx: &Fixture, server: &FakeMixpanel, run: &str, extra: &[&str]) -> Out {
    let base = server.base_url();
    let mut args = vec![
        "verify",
        run,
        "--json",
        "--api-base",
        &base,
        "--retry-base-ms",
        "5",
    ];
    args.extend_from_slice(extra);
    mixport(fx, Creds::ServiceAccount, &args)
}

/// The sum of `key` over the result's per-event counts.
fn sum_by_event(result: &Value, key: &str) -> u64 {
    result["by_event"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| u(e, key))
        .sum()
}

fn u(value: &Value, key: &str) -> u64 {
    value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no number '{key}' in {value:#}"))
}

/// A server whose export has no per-second limit (tests make queries back to back).
fn server() -> FakeMixpanel {
    let server = FakeMixpanel::start_default();
    server.set_export(ExportConfig {
        queries_per_second: 0,
        ..ExportConfig::default()
    });
    server
}

#[test]
fn verify_after_a_clean_import_finds_every_event() {
    let fx = fixture(300, false);
    let server = server();
    let report = import(&fx, &server, Creds::ServiceAccount, &[]);
    assert_eq!(u(&report, "imported"), 300);
    let run_id = report["run_id"].as_str().unwrap().to_owned();
    assert!(
        report["label"].as_str().unwrap().starts_with("orders "),
        "{report:#}"
    );
    assert_eq!(report["accepted_by_event"]["Signup"], 100);
    assert!(report["first_event_time"].as_str().is_some());

    // Listed by `mixport runs`.
    let runs = mixport(&fx, Creds::None, &["runs"]);
    assert_eq!(runs.code, Some(0), "{}", runs.describe());
    assert!(runs.stdout.contains(&run_id), "{}", runs.describe());

    let out = verify(&fx, &server, &run_id, &[]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let result = out.json();
    assert_eq!(result["verdict"], "all_found");
    assert_eq!(u(&result, "accepted"), 300);
    assert_eq!(u(&result, "found"), 300);
    assert_eq!(u(&result, "missing"), 0);
    assert_eq!(u(&result, "export_events"), 300);
    let per_event = sum_by_event(&result, "found");
    assert_eq!(per_event, 300);
    assert_eq!(u(&result, "queries"), 1);
    assert_eq!(server.counters().export_requests, 1);
    assert!(
        result["query"]["where"]
            .as_str()
            .unwrap()
            .contains("mixport_import")
    );
    assert_eq!(result["budget"]["used"], 1);

    // The same run by a unique start of its id, in words.
    let text = mixport(
        &fx,
        Creds::ServiceAccount,
        &["verify", &run_id[..15], "--api-base", &server.base_url()],
    );
    assert_eq!(text.code, Some(0), "{}", text.describe());
    assert!(
        text.stdout.contains("All 300 events"),
        "{}",
        text.describe()
    );
    assert!(
        text.stdout
            .contains("58 of 60 export queries left this hour"),
        "{}",
        text.describe()
    );
    // And the last verification shows in the history.
    let runs = mixport(&fx, Creds::None, &["runs"]);
    assert!(runs.stdout.contains("[all found]"), "{}", runs.describe());
}

/// The insert ids of the stored events whose `order_id` names one of `rows`.
fn insert_ids_of_rows(server: &FakeMixpanel, rows: &[u64]) -> Vec<String> {
    let wanted: BTreeSet<String> = rows.iter().map(|r| format!("o-{r}")).collect();
    server
        .events_raw()
        .into_iter()
        .filter(|e| {
            e.properties
                .get("order_id")
                .and_then(Value::as_str)
                .is_some_and(|o| wanted.contains(o))
        })
        .filter_map(|e| e.insert_id)
        .collect()
}

#[test]
fn hidden_events_are_exactly_the_missing_ones_with_their_source_rows() {
    let fx = fixture(400, false);
    let server = server();
    let report = import(&fx, &server, Creds::ServiceAccount, &[]);
    let run_id = report["run_id"].as_str().unwrap().to_owned();
    let hidden_rows = [5u64, 77, 300, 401];
    let ids = insert_ids_of_rows(&server, &hidden_rows);
    assert_eq!(ids.len(), 4);
    server.hide_from_export(ids);
    let missing_csv = fx.data_dir.join("missing.csv");
    let missing_csv_text = missing_csv.display().to_string();
    // One partition, then many (the bounded-memory path), with the same answer.
    for capacity in ["1000000", "50"] {
        let out = verify(
            &fx,
            &server,
            &run_id,
            &[
                "--processing-window-secs",
                "0",
                "--partition-capacity",
                capacity,
                "--missing-out",
                &missing_csv_text,
            ],
        );
        assert_eq!(out.code, Some(1), "{}", out.describe());
        let result = out.json();
        assert_eq!(result["verdict"], "missing", "{result:#}");
        assert_eq!(u(&result, "found"), 396);
        assert_eq!(u(&result, "missing"), 4);
        let rows: Vec<u64> = result["missing_rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_u64().unwrap())
            .collect();
        assert_eq!(rows, hidden_rows);
        let samples = result["sample_missing"].as_array().unwrap();
        assert_eq!(samples.len(), 4);
        for (sample, row) in samples.iter().zip(hidden_rows) {
            assert_eq!(u(sample, "row"), row);
            assert_eq!(sample["values"]["order_id"], format!("o-{row}"));
            // Row r is data line r - 2: its event name.
            assert_eq!(sample["event"], EVENTS[(row as usize - 2) % 3]);
        }
        assert_eq!(sum_by_event(&result, "missing"), 4);
        let mut reader = csv::Reader::from_path(&missing_csv).unwrap();
        let written: Vec<String> = reader
            .records()
            .map(|r| r.unwrap().get(3).unwrap().to_owned())
            .collect();
        assert_eq!(written, ["o-5", "o-77", "o-300", "o-401"]);
    }
    // In words: the rows and their values.
    let text = mixport(
        &fx,
        Creds::ServiceAccount,
        &[
            "verify",
            &run_id,
            "--api-base",
            &server.base_url(),
            "--processing-window-secs",
            "0",
        ],
    );
    assert_eq!(text.code, Some(1), "{}", text.describe());
    assert!(
        text.stdout.contains("4 of 400 events"),
        "{}",
        text.describe()
    );
    assert!(text.stdout.contains("row 77"), "{}", text.describe());
    assert!(text.stdout.contains("order_id=o-77"), "{}", text.describe());
}

#[test]
fn a_visibility_delay_is_not_yet_visible_then_found() {
    let fx = fixture(120, false);
    let server = server();
    server.set_export(ExportConfig {
        visibility_delay: Duration::from_secs(4),
        queries_per_second: 0,
        ..ExportConfig::default()
    });
    let report = import(&fx, &server, Creds::ServiceAccount, &[]);
    let run_id = report["run_id"].as_str().unwrap().to_owned();
    let early = verify(&fx, &server, &run_id, &[]);
    assert_eq!(early.code, Some(1), "{}", early.describe());
    let result = early.json();
    assert_eq!(result["verdict"], "not_yet_visible", "{result:#}");
    assert_eq!(u(&result, "found"), 0);
    assert_eq!(u(&result, "missing"), 120);
    let again = u(&result, "check_again_in_secs");
    assert!((60..=900).contains(&again), "{again}");
    std::thread::sleep(Duration::from_secs(4));
    let later = verify(&fx, &server, &run_id, &[]);
    assert_eq!(later.code, Some(0), "{}", later.describe());
    assert_eq!(u(&later.json(), "found"), 120);
}

#[test]
fn duplicates_in_the_export_or_the_file_do_not_inflate_counts() {
    let fx = fixture(90, true);
    let server = server();
    let first = import(&fx, &server, Creds::ServiceAccount, &[]);
    assert_eq!(u(&first, "imported"), 91);
    // The same file again: Mixpanel stores every copy, its export shows them all.
    import(&fx, &server, Creds::ServiceAccount, &[]);
    assert_eq!(server.raw_count(), 182);
    assert_eq!(server.unique_count(), 90);
    let out = verify(&fx, &server, first["run_id"].as_str().unwrap(), &[]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let result = out.json();
    assert_eq!(u(&result, "accepted"), 91);
    assert_eq!(u(&result, "found"), 90);
    assert_eq!(u(&result, "missing"), 0);
    assert_eq!(u(&result, "duplicates_in_run"), 1);
    assert_eq!(u(&result, "export_events"), 182);
    assert_eq!(u(&result, "export_duplicates"), 92);
    let found_by_event = sum_by_event(&result, "found");
    assert_eq!(found_by_event, 90);
}

#[test]
fn a_project_token_gets_the_clear_refusal_and_nothing_is_sent() {
    let fx = fixture(30, false);
    let server = server();
    let report = import(&fx, &server, Creds::Token, &[]);
    assert_eq!(report["project_id"], Value::Null);
    let run_id = report["run_id"].as_str().unwrap().to_owned();
    let base = server.base_url();
    for creds in [Creds::Token, Creds::None] {
        let out = mixport(&fx, creds, &["verify", &run_id, "--api-base", &base]);
        assert_eq!(out.code, Some(2), "{}", out.describe());
        assert!(
            out.stderr
                .contains("a project token cannot read events back from Mixpanel"),
            "{}",
            out.describe()
        );
        assert!(
            out.stderr.contains("Service Accounts"),
            "{}",
            out.describe()
        );
    }
    assert_eq!(server.counters().export_requests, 0);
}

#[test]
fn a_rate_limited_export_waits_and_retries_within_the_budget() {
    let fx = fixture(60, false);
    let server = server();
    // Mixpanel's answer: one query per 3-second window, then 429 with Retry-After.
    server.set_export(ExportConfig {
        queries_per_window: 1,
        window: Duration::from_secs(3),
        queries_per_second: 0,
        ..ExportConfig::default()
    });
    let report = import(&fx, &server, Creds::ServiceAccount, &[]);
    let run_id = report["run_id"].as_str().unwrap().to_owned();
    assert_eq!(verify(&fx, &server, &run_id, &[]).code, Some(0));
    let out = verify(&fx, &server, &run_id, &[]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let result = out.json();
    assert_eq!(u(&result, "found"), 60);
    assert_eq!(u(&result, "rate_limited"), 1);
    assert_eq!(u(&result, "queries"), 2);
    assert_eq!(server.counters().export_rate_limited, 1);
    // Every query, the refused one too, counts against the hour's 60.
    assert_eq!(result["budget"]["used"], 3);

    // When our own count says the hour's 60 are used, nothing is sent.
    let budget_file = fx.data_dir.join("export-budget.json");
    let text = std::fs::read_to_string(&budget_file).unwrap();
    let mut budget: Value = serde_json::from_str(&text).unwrap();
    let key = budget["queries"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    budget["queries"][&key] = (0..60).map(|i| now_ms - 60_000 + i).collect();
    std::fs::write(&budget_file, budget.to_string()).unwrap();
    let before = server.counters().export_requests;
    let out = verify(&fx, &server, &run_id, &[]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stderr.contains("60 export queries an hour"),
        "{}",
        out.describe()
    );
    assert!(
        out.stderr.contains("try again in 59 min"),
        "{}",
        out.describe()
    );
    assert_eq!(server.counters().export_requests, before);
}

/// The `$insert_id`s stored on the server for events whose `mixport_import` is `label`.
fn ids_with_label(server: &FakeMixpanel, label: &str) -> BTreeSet<String> {
    server
        .events_raw()
        .into_iter()
        .filter(|e| e.properties.get("mixport_import").and_then(Value::as_str) == Some(label))
        .filter_map(|e| e.insert_id)
        .collect()
}

#[test]
fn a_new_generation_stores_new_insert_ids_for_every_event_and_the_old_one_none() {
    let fx = fixture(150, false);
    let server = server();
    let first = import(
        &fx,
        &server,
        Creds::ServiceAccount,
        &["--label", "orders v1"],
    );
    assert_eq!(first["insert_id_generation"], 0);
    assert_eq!(server.unique_count(), 150);
    let old_ids = ids_with_label(&server, "orders v1");
    assert_eq!(old_ids.len(), 150);

    // The same file and generation again: nothing new is stored.
    import(
        &fx,
        &server,
        Creds::ServiceAccount,
        &["--label", "orders v1"],
    );
    assert_eq!(server.unique_count(), 150);

    // The guidance for correcting the first run.
    let run_id = first["run_id"].as_str().unwrap().to_owned();
    let guide = mixport(&fx, Creds::None, &["runs", &run_id]);
    assert_eq!(guide.code, Some(0), "{}", guide.describe());
    for needle in [
        "Where: mixport_import equals \"orders v1\"",
        "Events: Page View, Purchase, Signup",
        "last 180 days",
        "10 deletions a month",
        "--insert-id-generation 1 --label \"orders v1 fix 1\"",
        "will exist twice",
    ] {
        assert!(
            guide.stdout.contains(needle),
            "{needle}: {}",
            guide.describe()
        );
    }

    // Generation 1: every event gets a new insert id.
    let csv = fx.csv.display().to_string();
    let base = server.base_url();
    let out = mixport(
        &fx,
        Creds::ServiceAccount,
        &[
            "import",
            &csv,
            "--api-base",
            &base,
            "--yes",
            "--insert-id-generation",
            "1",
            "--label",
            "orders v1 fix 1",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(
        out.stderr.contains("will exist twice"),
        "{}",
        out.describe()
    );
    let fixed = out.json();
    assert_eq!(fixed["insert_id_generation"], 1);
    assert_eq!(server.unique_count(), 300);
    let new_ids = ids_with_label(&server, "orders v1 fix 1");
    assert_eq!(new_ids.len(), 150);
    assert!(new_ids.is_disjoint(&old_ids));
    // The run's mapping in the history records the generation.
    let record_path = fx
        .data_dir
        .join("history")
        .join(format!("{}.json", fixed["run_id"].as_str().unwrap()));
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(record_path).unwrap()).unwrap();
    let mapping = &record["mapping"];
    assert_eq!(mapping["insert_id_generation"], 1);
    assert_eq!(mapping["constants"]["mixport_import"], "orders v1 fix 1");

    // Generation 1 again: none new.
    mixport(
        &fx,
        Creds::ServiceAccount,
        &[
            "import",
            &csv,
            "--api-base",
            &base,
            "--yes",
            "--insert-id-generation",
            "1",
        ],
    );
    assert_eq!(server.unique_count(), 300);
    // And the corrected run verifies on its own label.
    let out = verify(&fx, &server, fixed["run_id"].as_str().unwrap(), &[]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(u(&out.json(), "found"), 150);
}

#[test]
fn a_run_report_file_can_be_verified_and_unknown_runs_are_refused() {
    let fx = fixture(20, false);
    let server = server();
    let report_path: PathBuf = fx.data_dir.join("report.json");
    let report_text = report_path.display().to_string();
    import(
        &fx,
        &server,
        Creds::ServiceAccount,
        &["--report", &report_text],
    );
    let out = verify(&fx, &server, &report_text, &[]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(u(&out.json(), "found"), 20);
    let missing = verify(&fx, &server, "19990101", &[]);
    assert_eq!(missing.code, Some(2), "{}", missing.describe());
    assert!(
        missing.stderr.contains("no run '19990101'"),
        "{}",
        missing.describe()
    );
    assert!(Path::new(&report_path).is_file());
}
