//! End-to-end tests of user-profile imports: the real binary (`mixport import --profiles`,
//! `suggest`, `check`) against the fake Mixpanel server's `/engage` (tests/common/fake_mixpanel.rs)
//! on a generated customers file.
//!
//! The expected profiles are computed here, independently of the crate, from the generated data:
//! each valid row's properties (country names resolved by a table of this test, sign-up dates
//! read in Europe/Berlin and written as `YYYY-MM-DDTHH:MM:SS` UTC), merged in file order per
//! customer (the later row wins, as Mixpanel applies updates in order). After a run the server's
//! profile store must equal them field by field, REJECTED.csv must name exactly the bad source
//! rows with their reasons, and the report's counts must add up to the file's row count.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use chrono::TimeZone;
use common::fake_mixpanel::*;
use mixport::mapping::{
    ColumnMapping, CountryMapping, DayOrder, ImportKind, Mapping, ProfileMapping, ProfileOperation,
    PropertyType, TimeMapping,
};
use serde_json::{Map, Value, json};

const RUN_TIMEOUT: Duration = Duration::from_secs(240);
const HEADERS: [&str; 9] = [
    "customer_id",
    "email",
    "first_name",
    "last_name",
    "country",
    "city",
    "signup_date",
    "plan",
    "lifetime_value",
];
/// Country values of the file (English and German names, codes) and the code each must become.
const COUNTRIES: [(&str, &str); 14] = [
    ("Germany", "DE"),
    ("Deutschland", "DE"),
    ("United States", "US"),
    ("Vereinigte Staaten", "US"),
    ("Österreich", "AT"),
    ("France", "FR"),
    ("Frankreich", "FR"),
    ("Schweiz", "CH"),
    ("United Kingdom", "GB"),
    ("Vereinigtes Königreich", "GB"),
    ("Italien", "IT"),
    ("Niederlande", "NL"),
    ("Spain", "ES"),
    ("de", "DE"),
];
const CITIES: [&str; 4] = ["Berlin", "München", "Zürich", "Lyon"];

/// A row that must be rejected, and what its reason says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Bad {
    field: &'static str,
    reason_contains: &'static str,
    origin: &'static str,
}

#[derive(Debug, Default)]
struct Generated {
    rows: u64,
    /// The profile update of each valid row, in file order: (customer id, properties).
    updates: Vec<(String, Map<String, Value>)>,
    /// customer id → the properties Mixpanel must hold after a `$set` import.
    expected: BTreeMap<String, Map<String, Value>>,
    bad: BTreeMap<u64, Bad>,
    /// IDs the server refuses.
    blocked: Vec<String>,
    /// Rows whose ID repeats an earlier row's.
    repeats: u64,
}

/// `signup_date` in one of two formats, and the `$created` it must become (Berlin → UTC).
fn signup(i: usize) -> (String, String) {
    let berlin = chrono_tz::Europe::Berlin;
    let day = (i % 28) as u32 + 1;
    let month = (i % 12) as u32 + 1;
    let year = 2015 + (i % 10) as i32;
    let (text, local) = if i.is_multiple_of(2) {
        (
            format!("{year}-{month:02}-{day:02}"),
            berlin.with_ymd_and_hms(year, month, day, 0, 0, 0),
        )
    } else {
        let (h, m) = ((i % 24) as u32, (i % 60) as u32);
        (
            format!("{day:02}.{month:02}.{year} {h:02}:{m:02}"),
            berlin.with_ymd_and_hms(year, month, day, h, m, 0),
        )
    };
    let utc = local.earliest().unwrap().with_timezone(&chrono::Utc);
    (text, utc.format("%Y-%m-%dT%H:%M:%S").to_string())
}

/// Write `rows` customers and return what the server and the reports must show.
///
/// Every 50th row is invalid (an empty ID, a placeholder ID, an unreadable sign-up date: 2%),
/// every 100th (offset 24) has an ID the server refuses, every 200th (offset 100) repeats the
/// ID of the row 100 before it with new values, every 7th has no country, every 13th an
/// e-mail without `@` (a warning: still sent).
fn generate(path: &Path, rows: usize) -> Generated {
    let mut writer = csv::Writer::from_path(path).unwrap();
    writer.write_record(HEADERS).unwrap();
    let mut generated = Generated {
        rows: rows as u64,
        ..Generated::default()
    };
    for i in 0..rows {
        let row = i as u64 + 2;
        let mut id = format!("C-{i:05}");
        let email = if i % 13 == 5 {
            format!("customer{i} at example.com")
        } else {
            format!("customer{i}@example.com")
        };
        let (country, code) = if i % 7 == 3 {
            ("", None)
        } else {
            let (name, code) = COUNTRIES[i % COUNTRIES.len()];
            (name, Some(code))
        };
        let (mut date, created) = signup(i);
        let plan = ["free", "pro", "team"][i % 3];
        let value = format!("{}.{:02}", i * 3, i % 100);
        let mut bad = None;
        if i % 50 == 49 {
            bad = Some(match (i / 50) % 3 {
                0 => {
                    id.clear();
                    Bad {
                        field: "$distinct_id",
                        reason_contains: "is empty",
                        origin: "check",
                    }
                }
                1 => {
                    id = "anonymous".into();
                    Bad {
                        field: "$distinct_id",
                        reason_contains: "placeholder",
                        origin: "check",
                    }
                }
                _ => {
                    date = "31.02.2021 10:00".into();
                    Bad {
                        field: "$created",
                        reason_contains: "cannot be read",
                        origin: "check",
                    }
                }
            });
        } else if i % 100 == 24 {
            id = format!("blocked-{i}");
            generated.blocked.push(id.clone());
            bad = Some(Bad {
                field: "",
                reason_contains: MSG_ENGAGE_DISTINCT_ID_BLOCKED,
                origin: "mixpanel",
            });
        } else if i % 200 == 100 {
            id = format!("C-{:05}", i - 100);
            generated.repeats += 1;
        }
        writer
            .write_record([
                id.as_str(),
                email.as_str(),
                &format!("First{i}"),
                &format!("Last{i}"),
                country,
                CITIES[i % CITIES.len()],
                date.as_str(),
                plan,
                value.as_str(),
            ])
            .unwrap();
        if let Some(bad) = bad {
            generated.bad.insert(row, bad);
            continue;
        }
        let mut profile = Map::new();
        profile.insert("$email".into(), json!(email));
        profile.insert("$first_name".into(), json!(format!("First{i}")));
        profile.insert("$last_name".into(), json!(format!("Last{i}")));
        profile.insert("$city".into(), json!(CITIES[i % CITIES.len()]));
        profile.insert("$created".into(), json!(created));
        if let Some(code) = code {
            profile.insert("$country_code".into(), json!(code));
        }
        profile.insert("plan".into(), json!(plan));
        profile.insert(
            "lifetime_value".into(),
            json!(value.parse::<f64>().unwrap()),
        );
        generated.updates.push((id, profile));
    }
    writer.flush().unwrap();
    generated.expected = merge(BTreeMap::new(), &generated.updates, ProfileOperation::Set);
    generated
}

/// Apply `updates` in order to `profiles` as Mixpanel does: `$set` overwrites, `$set_once`
/// only fills properties a profile does not have.
fn merge(
    mut profiles: BTreeMap<String, Map<String, Value>>,
    updates: &[(String, Map<String, Value>)],
    operation: ProfileOperation,
) -> BTreeMap<String, Map<String, Value>> {
    for (id, properties) in updates {
        let profile = profiles.entry(id.clone()).or_default();
        for (key, value) in properties {
            match operation {
                ProfileOperation::Set => {
                    profile.insert(key.clone(), value.clone());
                }
                ProfileOperation::SetOnce => {
                    profile.entry(key.clone()).or_insert_with(|| value.clone());
                }
            }
        }
    }
    profiles
}

fn mapping(operation: ProfileOperation, unset_empty: bool) -> Mapping {
    Mapping {
        kind: ImportKind::Profiles,
        headers: HEADERS.iter().map(|h| (*h).to_owned()).collect(),
        distinct_id: Some("customer_id".into()),
        country: Some(CountryMapping {
            column: "country".into(),
            overrides: BTreeMap::new(),
        }),
        city: Some("city".into()),
        columns: vec![
            ColumnMapping {
                column: "plan".into(),
                ..ColumnMapping::default()
            },
            ColumnMapping {
                column: "lifetime_value".into(),
                kind: PropertyType::Number,
                ..ColumnMapping::default()
            },
        ],
        profile: ProfileMapping {
            operation,
            unset_empty,
            email: Some("email".into()),
            first_name: Some("first_name".into()),
            last_name: Some("last_name".into()),
            created: TimeMapping {
                column: Some("signup_date".into()),
                timezone: "Europe/Berlin".into(),
                day_order: Some(DayOrder::DayFirst),
                ..TimeMapping::default()
            },
            ..ProfileMapping::default()
        },
        ..Mapping::default()
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    csv: PathBuf,
    mapping: PathBuf,
    data_dir: PathBuf,
    report: PathBuf,
    rejected: PathBuf,
    generated: Generated,
}

impl Fixture {
    fn new(rows: usize, mapping_used: &Mapping) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("customers.csv");
        let generated = generate(&csv, rows);
        let mapping_path = dir.path().join("mapping.json");
        mapping_used.save(&mapping_path).unwrap();
        let data_dir = dir.path().join("data");
        std::fs::create_dir_all(&data_dir).unwrap();
        Self {
            csv,
            mapping: mapping_path,
            data_dir,
            report: dir.path().join("report.json"),
            rejected: dir.path().join("REJECTED.csv"),
            generated,
            _dir: dir,
        }
    }
}

fn server(blocked: &[String], faults: Faults) -> FakeMixpanel {
    FakeMixpanel::start(FakeConfig {
        reject_distinct_ids: blocked.to_vec(),
        faults,
        ..FakeConfig::default()
    })
}

/// `mixport import` of the fixture as the service account, with the project token in MP_TOKEN.
fn command(fx: &Fixture, server: &FakeMixpanel, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mixport"));
    cmd.arg("import")
        .arg(&fx.csv)
        .arg("--mapping")
        .arg(&fx.mapping)
        .args([
            "--api-base",
            &server.base_url(),
            "--yes",
            "--retry-base-ms",
            "5",
            "--report",
        ])
        .arg(&fx.report)
        .arg("--failed-out")
        .arg(&fx.rejected)
        .args(extra)
        .env("MIXPORT_DATA_DIR", &fx.data_dir)
        .env("MP_ACCT", SA_USER)
        .env("MP_PASS", SA_SECRET)
        .env("MP_PROJECT", PROJECT_ID)
        .env("MP_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "exit {:?}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn finish(mut child: Child) -> Run {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            panic!("mixport did not finish within {RUN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out: Output = child.wait_with_output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn run(fx: &Fixture, server: &FakeMixpanel, extra: &[&str]) -> Run {
    finish(command(fx, server, extra).spawn().unwrap())
}

fn report(fx: &Fixture) -> Value {
    serde_json::from_str(&std::fs::read_to_string(&fx.report).unwrap()).unwrap()
}

fn count(report: &Value, key: &str) -> u64 {
    report[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no '{key}' in {report:#}"))
}

/// Numbers compare by value (`1234.50` and `1234.5` are one number).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// The server's profiles equal `expected`, property by property.
fn assert_profiles(server: &FakeMixpanel, expected: &BTreeMap<String, Map<String, Value>>) {
    let stored = server.profiles();
    let missing: Vec<&String> = expected
        .keys()
        .filter(|k| !stored.contains_key(*k))
        .collect();
    let extra: Vec<&String> = stored
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} missing (e.g. {:?}), {} unexpected (e.g. {:?})",
        missing.len(),
        missing.first(),
        extra.len(),
        extra.first()
    );
    for (id, want) in expected {
        let got = &stored[id];
        let got_keys: BTreeSet<&String> = got.keys().collect();
        let want_keys: BTreeSet<&String> = want.keys().collect();
        assert_eq!(got_keys, want_keys, "profile {id}: {got:?}");
        for (key, value) in want {
            assert!(
                same(&got[key], value),
                "profile {id}: {key} is {} but should be {value}",
                got[key]
            );
        }
    }
}

/// REJECTED.csv lists exactly the bad rows, with their field, reason, origin and cells.
fn assert_rejected(fx: &Fixture) {
    let mut reader = csv::Reader::from_path(&fx.rejected).unwrap();
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let mut want: Vec<String> = HEADERS.iter().map(|h| (*h).to_owned()).collect();
    want.extend(["_row", "_field", "_reason", "_origin"].map(String::from));
    assert_eq!(headers, want);
    let mut rows = BTreeSet::new();
    for record in reader.records() {
        let record = record.unwrap();
        let row: u64 = record[9].parse().unwrap();
        assert!(rows.insert(row), "row {row} listed twice");
        let bad = fx
            .generated
            .bad
            .get(&row)
            .unwrap_or_else(|| panic!("row {row} rejected but valid: {record:?}"));
        assert_eq!(&record[10], bad.field, "row {row}: {record:?}");
        assert!(
            record[11].contains(bad.reason_contains),
            "row {row}: reason '{}' should say '{}'",
            &record[11],
            bad.reason_contains
        );
        assert_eq!(&record[12], bad.origin, "row {row}");
        // The original cells, ready to fix and re-import.
        assert_eq!(record[2], format!("First{}", row - 2), "row {row}");
    }
    let want_rows: BTreeSet<u64> = fx.generated.bad.keys().copied().collect();
    assert_eq!(rows, want_rows);
}

fn assert_adds_up(report: &Value, rows: u64) {
    assert_eq!(count(report, "rows"), rows, "{report:#}");
    assert_eq!(
        count(report, "imported")
            + count(report, "rejected")
            + count(report, "failed")
            + count(report, "skipped"),
        rows,
        "{report:#}"
    );
}

#[test]
fn a_customers_file_imports_every_valid_profile_exactly() {
    let fx = Fixture::new(10_000, &mapping(ProfileOperation::Set, false));
    let server = server(&fx.generated.blocked, Faults::default());
    let run = run(&fx, &server, &[]);
    assert_eq!(run.code, Some(1), "rows were rejected: {}", run.describe());
    assert_profiles(&server, &fx.generated.expected);
    assert_rejected(&fx);
    let report = report(&fx);
    assert_adds_up(&report, fx.generated.rows);
    assert_eq!(report["kind"], "profiles");
    let bad_local = fx
        .generated
        .bad
        .values()
        .filter(|b| b.origin == "check")
        .count() as u64;
    assert_eq!(count(&report, "rejected_local"), bad_local);
    assert_eq!(
        count(&report, "rejected_server"),
        fx.generated.blocked.len() as u64
    );
    // Every request: /engage, strict and verbose, ip=0, the project, no gzip, at most 2000.
    let log = server.engage_log();
    assert!(!log.is_empty());
    for request in &log {
        assert_eq!(
            request.query,
            format!("strict=1&verbose=1&ip=0&project_id={PROJECT_ID}")
        );
        assert_eq!(request.content_encoding, None);
        assert!(request.events <= 2000);
    }
    assert_eq!(server.counters().import_requests, 0);
    let c = server.engage_counters();
    assert_eq!(c.records_applied, count(&report, "imported"));
    // No secret in the outputs.
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(SA_SECRET) && !text.contains(TOKEN));
    }
    let saved = std::fs::read_to_string(&fx.report).unwrap();
    assert!(!saved.contains(SA_SECRET) && !saved.contains(TOKEN));
    // A repeated ID: the later row's values are the ones kept.
    assert!(fx.generated.repeats > 0);
    assert_eq!(
        server.profile("C-00000").unwrap()["$first_name"],
        "First100"
    );
}

#[test]
fn set_once_keeps_existing_values_and_clearing_empties_them() {
    let fx = Fixture::new(600, &mapping(ProfileOperation::SetOnce, false));
    let server = server(&fx.generated.blocked, Faults::default());
    // Ten customers already exist with a plan and a note: $set_once keeps both; a repeated
    // ID keeps its first row's values.
    let mut existing = BTreeMap::new();
    for id in fx.generated.expected.keys().take(10) {
        let mut props = Map::new();
        props.insert("plan".into(), json!("enterprise"));
        props.insert("note".into(), json!("from the CRM"));
        server.seed_profile(id, props.clone());
        existing.insert(id.clone(), props);
    }
    let expected = merge(existing, &fx.generated.updates, ProfileOperation::SetOnce);
    assert_eq!(expected["C-00000"]["$first_name"], "First0");
    assert_eq!(expected["C-00001"]["plan"], "enterprise");
    let run = run(&fx, &server, &[]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert_profiles(&server, &expected);

    // Clearing: a second import with $set and "clear empty values" removes the country of the
    // rows whose country cell is empty.
    let clear = mapping(ProfileOperation::Set, true);
    clear.save(&fx.mapping).unwrap();
    let again = self::run(&fx, &server, &[]);
    assert_eq!(again.code, Some(1), "{}", again.describe());
    let stored = server.profiles();
    let c3 = &stored["C-00003"];
    assert!(c3.get("$country_code").is_none(), "{c3:?}");
    assert_eq!(c3["note"], "from the CRM", "unmapped properties stay");
    assert_eq!(stored["C-00004"]["$country_code"], "AT");
}

#[test]
fn faults_lose_nothing() {
    let fx = Fixture::new(6_000, &mapping(ProfileOperation::Set, false));
    let server = server(
        &fx.generated.blocked,
        Faults {
            rate_limit_every: 3,
            retry_after_secs: Some(0),
            unavailable_every: 4,
            bad_gateway_every: 7,
            html_5xx: true,
            drop_every: 5,
            ..Faults::default()
        },
    );
    let run = run(&fx, &server, &["--workers", "4"]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert_profiles(&server, &fx.generated.expected);
    assert_rejected(&fx);
    let report = report(&fx);
    assert_adds_up(&report, fx.generated.rows);
    assert_eq!(count(&report, "failed"), 0, "{report:#}");
    assert!(count(&report, "retries") > 0);
    assert!(server.engage_counters().dropped_connections > 0);
}

#[test]
fn a_killed_profile_import_resumes_without_losing_anything() {
    let fx = Fixture::new(20_000, &mapping(ProfileOperation::Set, false));
    let server = server(
        &fx.generated.blocked,
        Faults {
            latency: Duration::from_millis(150),
            ..Faults::default()
        },
    );
    let mut child = command(&fx, &server, &["--workers", "2"]).spawn().unwrap();
    let start = Instant::now();
    while server.engage_counters().records_applied < 5000 {
        assert!(start.elapsed() < RUN_TIMEOUT, "no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(100));
    child.kill().unwrap();
    assert!(!child.wait().unwrap().success());
    assert!(server.profile_count() < fx.generated.expected.len() as u64);
    server.set_faults(Faults::default());
    let resumed = run(&fx, &server, &["--resume"]);
    assert_eq!(resumed.code, Some(1), "{}", resumed.describe());
    assert_profiles(&server, &fx.generated.expected);
    let report = report(&fx);
    assert_adds_up(&report, fx.generated.rows);
    assert!(count(&report, "skipped") > 0, "{report:#}");
    assert_eq!(count(&report, "failed"), 0);
}

fn mixport(args: &[&str]) -> Run {
    finish(
        Command::new(env!("CARGO_BIN_EXE_mixport"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

#[test]
fn suggest_and_check_propose_profiles_for_a_customers_file_and_say_why() {
    let fx = Fixture::new(300, &mapping(ProfileOperation::Set, false));
    let file = fx.csv.to_str().unwrap();
    let suggest = mixport(&["suggest", file]);
    assert_eq!(suggest.code, Some(0), "{}", suggest.describe());
    assert!(
        suggest
            .stderr
            .contains("user profiles: 'customer_id' holds a different ID on almost every row")
            && suggest
                .stderr
                .contains("'signup_date', looks like a sign-up date"),
        "{}",
        suggest.stderr
    );
    let suggested: Value = serde_json::from_str(&suggest.stdout).unwrap();
    assert_eq!(suggested["kind"], "profiles");
    assert_eq!(suggested["distinct_id"], "customer_id");
    assert_eq!(suggested["profile"]["email"], "email");
    assert_eq!(suggested["profile"]["created"]["column"], "signup_date");
    assert_eq!(suggested["country"]["column"], "country");
    // --events overrides the guess.
    let events = mixport(&["suggest", file, "--events"]);
    let as_events: Value = serde_json::from_str(&events.stdout).unwrap();
    assert_eq!(as_events["kind"], "events");
    assert!(events.stderr.contains("looks like user profiles"));

    // check with no mapping: the suggestion's kind, counted as profiles.
    let check = mixport(&["check", file, "--json"]);
    assert_eq!(check.code, Some(1), "{}", check.describe());
    let report: Value = serde_json::from_str(&check.stdout).unwrap();
    assert_eq!(report["kind"], "profiles");
    assert_eq!(report["rows"], 300);
    assert_eq!(report["duplicate_user_ids"], 1);
    let human = mixport(&["check", file, "--profiles"]);
    assert!(
        human.stdout.contains("user profiles in 1 request"),
        "{}",
        human.stdout
    );
    // A mapping file of the other kind is refused, not silently switched.
    let mapping = fx.mapping.to_str().unwrap();
    let refused = mixport(&["check", file, "--mapping", mapping, "--events"]);
    assert_eq!(refused.code, Some(2));
    assert!(
        refused.stderr.contains("the mapping is for user profiles"),
        "{}",
        refused.stderr
    );
}

#[test]
fn a_service_account_without_the_project_token_is_refused_before_sending() {
    let fx = Fixture::new(50, &mapping(ProfileOperation::Set, false));
    let server = server(&[], Faults::default());
    let mut cmd = command(&fx, &server, &[]);
    cmd.env_remove("MP_TOKEN");
    let run = finish(cmd.spawn().unwrap());
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(run.stderr.contains("MP_TOKEN"), "{}", run.stderr);
    assert_eq!(server.counters().requests, 0);
}
