//! Import benchmark: N events from a generated CSV into the fake Mixpanel server on loopback.
//!
//! ```sh
//! cargo build --release --no-default-features      # the mixport binary the benchmark runs
//! cargo run --release --no-default-features --example bench_import -- 1000000
//! ```
//!
//! Examples link the dev-dependencies (the GUI test stack), so a release build of this example
//! is long on a cold machine. The import side is what is measured; the server side can run from
//! a debug build of the example with `MIXPORT_BIN=target/release/mixport` (it then may be the
//! bottleneck, so the figure is a lower bound for the import).
//!
//! The fake server runs in this process (storing only dedup keys); the import runs as a child
//! process of the built `mixport` binary, so its peak RSS (VmHWM, sampled from
//! `/proc/<pid>/status` every 20 ms) is the import's alone. Gzip is on (the client always
//! compresses). Prints events/s (wall clock of the child, and the report's own figure) and the
//! peak RSS of the import and of this process (generator + server).

#[path = "../common/fake_mixpanel.rs"]
mod fake_mixpanel;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fake_mixpanel::{FakeConfig, FakeMixpanel, PROJECT_ID, SA_SECRET, SA_USER, StoreMode};
use mixport::mapping::{
    ColumnMapping, InsertIdSource, Mapping, PropertyType, TimeFormat, TimeMapping, ValueSource,
};

const HEADERS: [&str; 10] = [
    "event_name",
    "user_id",
    "timestamp",
    "event_id",
    "plan",
    "amount",
    "page",
    "browser",
    "campaign",
    "items",
];

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn generate(path: &Path, rows: usize) -> std::io::Result<()> {
    const EVENTS: [&str; 4] = ["Signup", "Purchase", "Page View", "Add To Cart"];
    const PLANS: [&str; 3] = ["free", "pro", "enterprise"];
    const BROWSERS: [&str; 4] = ["Chrome", "Firefox", "Safari", "Edge"];
    let base_ms = (now_ms() - 60 * 86_400_000) / 1000 * 1000;
    let file = std::fs::File::create(path)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    writeln!(out, "{}", HEADERS.join(","))?;
    for i in 0..rows {
        let time_ms = base_ms + i as i64 * 3;
        writeln!(
            out,
            "{},user-{},{},evt-{:010},{},{}.{:02},/products/{},{},spring-{},{}",
            EVENTS[i % 4],
            i % 50_000,
            time_ms,
            i,
            PLANS[i % 3],
            i % 500,
            i % 100,
            i % 1000,
            BROWSERS[i % 4],
            i % 20,
            i % 7
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
    let mut constants = BTreeMap::new();
    constants.insert("import_label".to_owned(), serde_json::json!("bench"));
    Mapping {
        headers: HEADERS.iter().map(|h| h.to_string()).collect(),
        event: Some(ValueSource::Column("event_name".into())),
        distinct_id: Some("user_id".into()),
        time: TimeMapping {
            column: Some("timestamp".into()),
            format: TimeFormat::Auto,
            timezone: "UTC".into(),
            day_order: None,
        },
        insert_id: InsertIdSource::Column("event_id".into()),
        columns: vec![
            column("plan", PropertyType::Text),
            column("amount", PropertyType::Number),
            column("page", PropertyType::Text),
            column("browser", PropertyType::Text),
            column("campaign", PropertyType::Text),
            column("items", PropertyType::Number),
        ],
        constants,
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
    // `MIXPORT_BIN` picks the binary explicitly (e.g. a release binary while this example runs
    // from a debug build); else target/<profile>/examples/bench_import → target/<profile>/mixport.
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
            "bench_import: the mixport binary is not built next to this example; run `cargo build --release --no-default-features` first"
        );
        std::process::exit(2);
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("bench.csv");
    let started = Instant::now();
    generate(&csv, rows).expect("write the CSV");
    let csv_bytes = std::fs::metadata(&csv).map(|m| m.len()).unwrap_or(0);
    println!(
        "generated {rows} rows, {:.1} MB of CSV in {:.1}s",
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
        .env_remove("MP_TOKEN")
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
    let counters = server.counters();
    let unique = server.unique_count();
    println!("mixport import exit: {status}");
    if !status.success() {
        println!("stderr:\n{stderr}");
    }
    println!(
        "server: {} requests, {} events stored ({} distinct), {:.1} MB received (gzip), {:.1} MB uncompressed",
        counters.import_requests,
        counters.events_stored,
        unique,
        counters.bytes_received as f64 / 1e6,
        counters.bytes_uncompressed as f64 / 1e6
    );
    println!(
        "import: {rows} rows in {elapsed:.2}s wall = {:.0} events/s",
        unique as f64 / elapsed
    );
    let report_value = std::fs::read_to_string(&report)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
    if let Some(value) = report_value {
        println!(
            "report: imported {} events_per_sec {} elapsed_secs {}",
            value["imported"], value["events_per_sec"], value["elapsed_secs"]
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
    if unique != rows as u64 {
        eprintln!("bench_import: the server holds {unique} distinct events, expected {rows}");
        std::process::exit(1);
    }
}
