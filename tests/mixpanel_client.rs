//! The Mixpanel client and the import pipeline against the fake Mixpanel server
//! (tests/common/fake_mixpanel.rs) on 127.0.0.1, with synthetic records (no file reading), so
//! these tests pin the network side alone: retries, splits, rejections, accounting.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::fake_mixpanel::*;
use mixport::mapping::transform::{TransformOptions, Transformed};
use mixport::mixpanel::auth::{Credentials, Secret};
use mixport::mixpanel::batch::{Batch, BatchEvent};
use mixport::mixpanel::client::{BackoffPolicy, ClientConfig, ConnectionStatus, MixpanelClient};
use mixport::mixpanel::flow::Flow;
use mixport::mixpanel::region::Region;
use mixport::pipeline::import::{ImportInput, ImportSettings, run_with};
use mixport::pipeline::report::RunReport;
use mixport::pipeline::{Progress, RunControl};
use mixport::source::{Cell, Record, RecordReader, SourceError};
use mixport::validate::{Issue, IssueKind};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn service_account() -> Credentials {
    Credentials::service_account(SA_USER, Secret::new(SA_SECRET), PROJECT_ID).unwrap()
}

fn client(server: &FakeMixpanel, credentials: Credentials) -> MixpanelClient {
    let mut config = ClientConfig::new(Region::Eu);
    config.api_base = Some(server.base_url());
    config.backoff = BackoffPolicy::scaled_ms(2);
    config.timeout = Duration::from_secs(10);
    MixpanelClient::new(credentials, config).unwrap()
}

/// Rows: column 0 the user ("" = locally invalid, "blocked-user" = rejected by the server),
/// column 1 the event name.
struct Synthetic {
    rows: u64,
    next: u64,
    base_ms: i64,
}

impl Synthetic {
    fn user(i: u64) -> String {
        match i % 50 {
            49 => String::new(),
            25 => "blocked-user".into(),
            _ => format!("user-{}", i % 97),
        }
    }
}

impl RecordReader for Synthetic {
    fn read_into(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        if self.next >= self.rows {
            return Ok(false);
        }
        let i = self.next;
        self.next += 1;
        record.row = i + 2;
        record.cells = vec![
            Cell::Text(Self::user(i)),
            Cell::Text(format!("{}", self.base_ms + i as i64 * 1000)),
        ];
        Ok(true)
    }
    fn bytes_read(&self) -> u64 {
        self.next * 40
    }
}

fn transform(record: &Record, out: &mut Transformed) {
    out.issues.clear();
    out.json.clear();
    out.row = record.row;
    let (Cell::Text(user), Cell::Text(time)) = (&record.cells[0], &record.cells[1]) else {
        unreachable!()
    };
    if user.is_empty() {
        out.issues.push(Issue {
            kind: IssueKind::MissingUserId,
            field: "properties.distinct_id".into(),
            column: Some("user".into()),
            row: record.row,
            message: "user id is empty".into(),
        });
        return;
    }
    out.insert_id = format!("row-{}", record.row);
    out.json = format!(
        r#"{{"event":"Purchase","properties":{{"time":{time},"distinct_id":"{user}","$insert_id":"{}","row":{}}}}}"#,
        out.insert_id, record.row
    )
    .into_bytes();
}

fn import(server: &FakeMixpanel, rows: u64, workers: usize) -> RunReport {
    let dir = tempfile::tempdir().unwrap();
    let input = ImportInput {
        file: dir.path().join("synthetic.csv"),
        columns: vec!["user".into(), "time".into()],
        total_bytes: rows * 40,
        reader: Box::new(Synthetic {
            rows,
            next: 0,
            base_ms: (now_ms() - 10 * 86_400_000) / 1000 * 1000,
        }),
        journal_key: None,
    };
    let settings = ImportSettings {
        workers,
        failed_out: Some(dir.path().join("REJECTED.csv")),
        resume: false,
        data_dir: None,
        transform: TransformOptions::now(),
        rate_limit_cooldown: Duration::from_millis(50),
        ..ImportSettings::default()
    };
    let mut f = transform;
    let report = run_with(
        input,
        &mut f,
        client(server, service_account()),
        &settings,
        &RunControl::new(),
        &mut |_: &Progress| {},
    )
    .unwrap();
    let rejected = std::fs::read_to_string(dir.path().join("REJECTED.csv")).unwrap();
    assert_eq!(
        rejected.lines().count() as u64 - 1,
        report.rejected + report.failed,
        "REJECTED.csv lists every rejected row"
    );
    report
}

#[test]
fn heavy_faults_lose_nothing_and_double_nothing() {
    let server = FakeMixpanel::start(FakeConfig {
        reject_distinct_ids: vec!["blocked-user".into()],
        insert_id_key: InsertIdKey::Dollar,
        faults: Faults {
            rate_limit_every: 3,
            unavailable_every: 5,
            bad_gateway_every: 11,
            html_5xx: true,
            drop_every: 7,
            ..Faults::default()
        },
        ..FakeConfig::default()
    });
    let rows = 20_000;
    let report = import(&server, rows, 10);
    assert!(report.counts_add_up(), "{report:#?}");
    assert_eq!(report.rows, rows);
    assert_eq!(report.rejected_local, rows / 50);
    assert_eq!(report.rejected_server, rows / 50);
    assert_eq!(report.failed, 0, "{report:#?}");
    assert_eq!(report.imported, rows - 2 * rows / 50);
    assert_eq!(server.unique_count(), report.imported);
    let c = server.counters();
    assert!(c.dropped_connections > 0 && c.status(503) > 0 && c.status(502) > 0);
    assert_eq!(report.rate_limited, c.status(429));
    assert!(report.retries >= c.status(429) + c.status(503) + c.status(502));
    // Every stored event is one of ours, once after dedup, with its own row.
    let mut rows_seen: Vec<i64> = server
        .events_deduplicated()
        .iter()
        .map(|e| e.properties["row"].as_i64().unwrap())
        .collect();
    rows_seen.sort_unstable();
    rows_seen.dedup();
    assert_eq!(rows_seen.len() as u64, report.imported);
}

#[test]
fn too_large_requests_split_json_and_html() {
    for html in [false, true] {
        let server = FakeMixpanel::start(FakeConfig {
            max_bytes: 60_000,
            html_413: html,
            ..FakeConfig::default()
        });
        let report = import(&server, 5000, 4);
        assert!(report.counts_add_up());
        assert_eq!(report.failed, 0);
        assert_eq!(server.unique_count(), report.imported);
        assert_eq!(server.raw_count(), report.imported, "a 413 stores nothing");
        assert!(server.counters().status(413) > 0);
    }
}

#[test]
fn unauthorized_stops_with_region_project_and_kind() {
    let server = FakeMixpanel::start(FakeConfig {
        faults: Faults {
            force_401: true,
            ..Faults::default()
        },
        ..FakeConfig::default()
    });
    let report = import(&server, 50_000, 10);
    let error = report.error.clone().unwrap();
    assert!(
        error.contains(PROJECT_ID) && error.contains("EU") && error.contains("service account")
    );
    assert!(!error.contains(SA_SECRET));
    assert_eq!(mixport::cli::import::exit_code(&report), 2);
    assert!(server.counters().import_requests <= 10);
    assert_eq!(server.raw_count(), 0);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn connection_check_against_the_fake_server() {
    let server = FakeMixpanel::start_default();
    let rt = runtime();
    let check = rt.block_on(client(&server, service_account()).check_connection());
    assert_eq!(check.status, ConnectionStatus::Verified, "{}", check.detail);
    let wrong = Credentials::service_account(SA_USER, Secret::new("nope"), PROJECT_ID).unwrap();
    let check = rt.block_on(client(&server, wrong).check_connection());
    assert_eq!(check.status, ConnectionStatus::Refused);
    assert!(!check.detail.contains("nope"));
    let other = Credentials::service_account(SA_USER, Secret::new(SA_SECRET), "999").unwrap();
    let check = rt.block_on(client(&server, other).check_connection());
    assert_eq!(check.status, ConnectionStatus::ProjectNotVisible);
}

#[test]
fn token_batches_and_identity_string_failures() {
    let server = FakeMixpanel::start(FakeConfig {
        identity_strings: true,
        ..FakeConfig::default()
    });
    let rt = runtime();
    let c = client(
        &server,
        Credentials::project_token(Secret::new(TOKEN)).unwrap(),
    );
    let time = now_ms() - 86_400_000;
    let event = |i: u64, name: &str| {
        BatchEvent {
        row: i + 2,
        json: format!(
            r#"{{"event":"{name}","properties":{{"time":{time},"distinct_id":"u{i}","$insert_id":"id-{i}"}}}}"#
        )
        .into_bytes(),
        insert_id: format!("id-{i}"),
    }
    };
    let flow = Flow::new(2, RunControl::new());
    let ok = rt.block_on(c.import_batch(
        Batch::from_events((0..10).map(|i| event(i, "A")).collect()),
        &flow,
    ));
    assert_eq!(ok.accepted, 10, "{ok:?}");
    assert!(
        server
            .request_log()
            .iter()
            .all(|r| !r.query.contains("project_id"))
    );
    let mut events: Vec<BatchEvent> = (10..15).map(|i| event(i, "A")).collect();
    events.push(event(15, "$identify"));
    let out = rt.block_on(c.import_batch(Batch::from_events(events), &flow));
    assert_eq!(out.requests, 1, "a 400 is never resent");
    assert_eq!(out.accepted + out.rejected.len(), 6);
    assert!(!out.rejected.is_empty(), "{out:?}");
    assert!(out.rejected.iter().any(|p| p.row == 17));
}

// ----- user profiles: /engage -----

/// A profile batch entry for row `row`: a `$set`, and a `$unset` record when `unset` is given.
fn profile_entry(row: u64, id: &str, set: serde_json::Value, unset: &[&str]) -> BatchEvent {
    let mut json = serde_json::json!({"$distinct_id": id, "$set": set}).to_string();
    if !unset.is_empty() {
        json.push('\n');
        json.push_str(&serde_json::json!({"$distinct_id": id, "$unset": unset}).to_string());
    }
    BatchEvent {
        row,
        json: json.into_bytes(),
        insert_id: id.to_owned(),
    }
}

fn profiles_client(server: &FakeMixpanel, token: Option<&str>) -> MixpanelClient {
    client(server, service_account())
        .for_profiles(token.map(Secret::new))
        .unwrap()
}

#[test]
fn profiles_go_to_engage_uncompressed_with_the_token_and_failures_map_to_rows() {
    let server = FakeMixpanel::start(FakeConfig {
        reject_distinct_ids: vec!["blocked".into()],
        ..FakeConfig::default()
    });
    let rt = runtime();
    let c = profiles_client(&server, Some(TOKEN));
    assert!(c.sends_profiles());
    let entries = vec![
        profile_entry(
            2,
            "p1",
            serde_json::json!({"$email": "a@x.io", "$name": "Ada"}),
            &[],
        ),
        profile_entry(3, "blocked", serde_json::json!({"$name": "B"}), &[]),
        profile_entry(4, "p2", serde_json::json!({"plan": "pro"}), &["$phone"]),
        profile_entry(5, "p1", serde_json::json!({"$name": "Ada L."}), &[]),
    ];
    let flow = Flow::new(2, RunControl::new());
    let out = rt.block_on(c.import_batch(Batch::from_events(entries), &flow));
    assert_eq!(out.requests, 1, "a 400 is never resent: {out:?}");
    assert_eq!(out.accepted, 3, "{out:?}");
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(out.rejected[0].row, 3);
    assert_eq!(out.rejected[0].message, MSG_ENGAGE_DISTINCT_ID_BLOCKED);
    assert!(out.notes.is_empty(), "{:?}", out.notes);
    let log = server.engage_log();
    assert_eq!(log.len(), 1);
    assert_eq!(
        log[0].query,
        format!("strict=1&verbose=1&ip=0&project_id={PROJECT_ID}")
    );
    assert_eq!(log[0].content_encoding, None, "no gzip on /engage");
    assert_eq!(log[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(log[0].events, 5, "five records from four rows");
    // The later row of p1 wins, as Mixpanel applies updates in order.
    let p1 = server.profile("p1").unwrap();
    assert_eq!(p1["$name"], "Ada L.");
    assert_eq!(p1["$email"], "a@x.io");
    assert_eq!(server.profile_count(), 2);
    assert_eq!(server.counters().import_requests, 0);
    // A wrong token is a rejection of every record, mapped to its row.
    let wrong = profiles_client(&server, Some("not-the-project-token"));
    let out = rt.block_on(wrong.import_batch(
        Batch::from_events(vec![profile_entry(
            9,
            "p3",
            serde_json::json!({"a": 1}),
            &[],
        )]),
        &flow,
    ));
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(out.rejected[0].row, 9);
    assert_eq!(out.rejected[0].message, MSG_ENGAGE_TOKEN_WRONG);
}

#[test]
fn a_service_account_needs_the_project_token_for_profiles() {
    let server = FakeMixpanel::start_default();
    let err = client(&server, service_account())
        .for_profiles(None)
        .unwrap_err();
    assert!(err.to_string().contains("project token"), "{err}");
    // A project-token connection uses its own token in the records.
    let rt = runtime();
    let c = client(
        &server,
        Credentials::project_token(Secret::new(TOKEN)).unwrap(),
    )
    .for_profiles(None)
    .unwrap();
    let flow = Flow::new(2, RunControl::new());
    let out = rt.block_on(c.import_batch(
        Batch::from_events(vec![profile_entry(
            2,
            "t1",
            serde_json::json!({"a": 1}),
            &[],
        )]),
        &flow,
    ));
    assert_eq!(out.accepted, 1, "{out:?}");
    assert_eq!(server.engage_log()[0].query, "strict=1&verbose=1&ip=0");
    assert!(server.profile("t1").is_some());
}

#[test]
fn profile_batches_survive_faults_and_413_splits_without_loss() {
    let server = FakeMixpanel::start(FakeConfig {
        engage: EngageConfig {
            max_records: 300,
            ..EngageConfig::default()
        },
        faults: Faults {
            rate_limit_every: 3,
            unavailable_every: 5,
            drop_every: 7,
            ..Faults::default()
        },
        ..FakeConfig::default()
    });
    let rt = runtime();
    let c = profiles_client(&server, Some(TOKEN));
    let flow = Flow::new(4, RunControl::new());
    let mut accepted = 0;
    for b in 0..5u64 {
        let entries: Vec<BatchEvent> = (0..1000u64)
            .map(|i| {
                let n = b * 1000 + i;
                profile_entry(n + 2, &format!("u{n}"), serde_json::json!({"n": n}), &[])
            })
            .collect();
        let out = rt.block_on(c.import_batch(Batch::from_events(entries), &flow));
        assert!(out.failed.is_empty() && out.rejected.is_empty(), "{out:?}");
        accepted += out.accepted;
    }
    assert_eq!(accepted, 5000);
    let profiles = server.profiles();
    assert_eq!(profiles.len(), 5000);
    for (id, p) in &profiles {
        assert_eq!(format!("u{}", p["n"]), *id);
    }
    let log = server.engage_log();
    assert!(log.iter().any(|r| r.status == 413));
    assert!(log.iter().any(|r| r.status == 429));
    assert!(server.engage_counters().dropped_connections > 0);
}

#[test]
fn profiles_401_is_fatal() {
    let server = FakeMixpanel::start(FakeConfig {
        faults: Faults {
            force_401: true,
            ..Faults::default()
        },
        ..FakeConfig::default()
    });
    let rt = runtime();
    let c = profiles_client(&server, Some(TOKEN));
    let flow = Flow::new(2, RunControl::new());
    let out = rt.block_on(c.import_batch(
        Batch::from_events(vec![profile_entry(2, "x", serde_json::json!({}), &[])]),
        &flow,
    ));
    let fatal = out.fatal.unwrap().to_string();
    assert!(
        fatal.contains(PROJECT_ID) && !fatal.contains(SA_SECRET),
        "{fatal}"
    );
    assert_eq!(out.unsent, vec![0]);
    assert!(flow.is_stopping());
}

/// Profile rows: every row updates user "X" (and one other user) with its own row number.
fn profile_transform(record: &Record, out: &mut Transformed) {
    out.issues.clear();
    out.json.clear();
    out.row = record.row;
    out.kind = mixport::mapping::ImportKind::Profiles;
    let id = if record.row.is_multiple_of(2) {
        "X".to_owned()
    } else {
        format!("u{}", record.row)
    };
    out.json = format!(r#"{{"$distinct_id":"{id}","$set":{{"v":{}}}}}"#, record.row).into_bytes();
    out.distinct_id = id;
}

#[test]
fn profile_updates_of_one_user_land_in_file_order_across_concurrent_batches() {
    // Every other request is refused with a 429 and retried later: without keeping a user's
    // batches in order, an earlier batch retried after a later one would win.
    let server = FakeMixpanel::start(FakeConfig {
        faults: Faults {
            rate_limit_every: 2,
            ..Faults::default()
        },
        ..FakeConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let rows = 24_000;
    let input = ImportInput {
        file: dir.path().join("customers.csv"),
        columns: vec!["user".into(), "time".into()],
        total_bytes: rows * 40,
        reader: Box::new(Synthetic {
            rows,
            next: 0,
            base_ms: 0,
        }),
        journal_key: None,
    };
    let settings = ImportSettings {
        workers: 10,
        failed_out: None,
        resume: false,
        data_dir: None,
        transform: TransformOptions::now(),
        rate_limit_cooldown: Duration::from_millis(50),
        ..ImportSettings::default()
    };
    let mut f = profile_transform;
    let report = run_with(
        input,
        &mut f,
        profiles_client(&server, Some(TOKEN)),
        &settings,
        &RunControl::new(),
        &mut |_: &Progress| {},
    )
    .unwrap();
    assert!(report.counts_add_up(), "{report:#?}");
    assert_eq!(report.imported, rows, "{report:#?}");
    assert_eq!(report.kind, mixport::mapping::ImportKind::Profiles);
    assert!(server.engage_log().iter().any(|r| r.status == 429));
    // The last row (row rows+1) of user X is the one that stays.
    let last_x_row = if (rows + 1).is_multiple_of(2) {
        rows + 1
    } else {
        rows
    };
    assert_eq!(
        server.profile("X").unwrap()["v"],
        serde_json::json!(last_x_row)
    );
    assert_eq!(server.profile_count(), rows / 2 + 1);
}
