//! User-profile import benchmark: N customers from a generated CSV into the fake Mixpanel
//! server's `/engage` on loopback.
//!
//! ```sh
//! cargo build --release --no-default-features      # the mixport binary the benchmark runs
//! MIXPORT_BIN=target/release/mixport cargo run --example bench_profiles -- 1000000
//! ```
//!
//! The file has one row per customer: ID, e-mail, first and last name, a country (English and
//! German names and codes, some blank), a city, a sign-up date (two formats, read in
//! Europe/Berlin), a plan and a lifetime value. The mapping sends them as `$distinct_id`,
//! `$email`, `$first_name`, `$last_name`, `$country_code`, `$city`, `$created` and two custom
//! properties with `$set`. The fake server runs in this process (keeping only the set of
//! profile IDs); the import runs as a child process of the built `mixport` binary, so its peak
//! RSS (VmHWM, sampled from `/proc/<pid>/status` every 20 ms) is the import's alone. Profiles
//! go uncompressed (as `/engage` requires), 2000 per request, 10 requests in flight. Prints
//! profiles/s and the peak RSS.

#[path = "../common/fake_mixpanel.rs"]
mod fake_mixpanel;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fake_mixpanel::{FakeConfig, FakeMixpanel, PROJECT_ID, SA_SECRET, SA_USER, StoreMode, TOKEN};
use mixport::mapping::{
    ColumnMapping, CountryMapping, DayOrder, ImportKind, Mapping, ProfileMapping, PropertyType,
    TimeMapping,
};

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

fn generate(path: &Path, rows: usize) -> std::io::Result<()> {
    const COUNTRIES: [&str; 8] = [
        "Germany",
        "Deutschland",
        "United States",
        "Frankreich",
        "FR",
        "",
        "United Kingdom",
        "Österreich",
    ];
    const CITIES: [&str; 4] = ["Berlin", "München", "Paris", "London"];
    const PLANS: [&str; 3] = ["free", "pro", "team"];
    let file = std::fs::File::create(path)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    writeln!(out, "{}", HEADERS.join(","))?;
    for i in 0..rows {
        let (day, month, year) = (i % 28 + 1, i % 12 + 1, 2015 + i % 10);
        let signup = if i.is_multiple_of(2) {
            format!("{year}-{month:02}-{day:02}")
        } else {
            format!("{day:02}.{month:02}.{year} {:02}:{:02}", i % 24, i % 60)
        };
        writeln!(
            out,
            "C-{i:08},customer{i}@example.com,First{},Last{},{},{},{signup},{},{}.{:02}",
            i % 5000,
            i % 7000,
            COUNTRIES[i % COUNTRIES.len()],
            CITIES[i % CITIES.len()],
            PLANS[i % 3],
            i % 10_000,
            i % 100
        )?;
    }
    out.flush()
}

fn mapping() -> Mapping {
    let column = |name: &str, kind: PropertyType| ColumnMapping {
        column: name.into(),
        include: true,
        rename: None,
        kind,
        ..ColumnMapping::default()
    };
    Mapping {
        kind: ImportKind::Profiles,
        headers: HEADERS.iter().map(|h| h.to_string()).collect(),
        distinct_id: Some("customer_id".into()),
        country: Some(CountryMapping {
            column: "country".into(),
            overrides: BTreeMap::new(),
        }),
        city: Some("city".into()),
        columns: vec![
            column("plan", PropertyType::Text),
            column("lifetime_value", PropertyType::Number),
        ],
        profile: ProfileMapping {
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

/// `VmHWM` (peak RSS) of a process in KiB, from `/proc/<pid>/status`.
fn vm_hwm_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn mixport_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MIXPORT_BIN") {
        let path = PathBuf::from(path);
        return path.exists().then_some(path);
    }
    let exe = std::env::current_exe().ok()?;
    let candidate = exe.parent()?.parent()?.join("mixport");
    candidate.exists().then_some(candidate)
}

fn main() {
    let rows: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let Some(binary) = mixport_binary() else {
        eprintln!(
            "bench_profiles: the mixport binary is not built next to this example; run `cargo build --release --no-default-features` first (or set MIXPORT_BIN)"
        );
        std::process::exit(2);
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("customers.csv");
    let started = Instant::now();
    generate(&csv, rows).expect("write the CSV");
    let csv_bytes = std::fs::metadata(&csv).map(|m| m.len()).unwrap_or(0);
    println!(
        "generated {rows} customers, {:.1} MB of CSV in {:.1}s",
        csv_bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let mapping_path = dir.path().join("mapping.json");
    mapping().save(&mapping_path).expect("save the mapping");
    let data_dir = dir.path().join("data");
    std::fs::create_dir_all(&data_dir).expect("data dir");
    let report = dir.path().join("report.json");

    let server = FakeMixpanel::start(FakeConfig {
        store: StoreMode::KeysOnly,
        ..FakeConfig::default()
    });
    let started = Instant::now();
    let mut child = Command::new(&binary)
        .arg("import")
        .arg(&csv)
        .arg("--mapping")
        .arg(&mapping_path)
        .args(["--api-base", &server.base_url(), "--yes"])
        .arg("--report")
        .arg(&report)
        .env("MIXPORT_DATA_DIR", &data_dir)
        .env("MP_ACCT", SA_USER)
        .env("MP_PASS", SA_SECRET)
        .env("MP_PROJECT", PROJECT_ID)
        .env("MP_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mixport import");
    let pid = child.id().to_string();
    let mut peak_kib = 0;
    let status = loop {
        if let Some(kib) = vm_hwm_kib(&pid) {
            peak_kib = peak_kib.max(kib);
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for mixport: {e}"),
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    let stderr = child
        .stderr
        .take()
        .map(|mut s| {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut s, &mut text);
            text
        })
        .unwrap_or_default();
    let engage = server.engage_counters();
    let profiles = server.profile_count();
    println!("mixport import exit: {status}");
    if !status.success() {
        println!("stderr:\n{stderr}");
    }
    println!(
        "server: {} /engage requests, {} records applied, {} profiles, {:.1} MB received (uncompressed JSON)",
        engage.requests,
        engage.records_applied,
        profiles,
        engage.bytes_received as f64 / 1e6,
    );
    println!(
        "import: {rows} customers in {elapsed:.2}s wall = {:.0} profiles/s",
        profiles as f64 / elapsed
    );
    if let Some(value) = std::fs::read_to_string(&report)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
    {
        println!(
            "report: imported {} rejected {} per_sec {} elapsed_secs {}",
            value["imported"], value["rejected"], value["events_per_sec"], value["elapsed_secs"]
        );
    }
    println!(
        "peak RSS of the import process (VmHWM): {:.1} MB",
        peak_kib as f64 / 1024.0
    );
    if let Some(own) = vm_hwm_kib("self") {
        println!(
            "peak RSS of this process (generator + in-process fake server): {:.1} MB",
            own as f64 / 1024.0
        );
    }
    if profiles != rows as u64 {
        eprintln!("bench_profiles: the server holds {profiles} profiles, expected {rows}");
        std::process::exit(1);
    }
}
