//! Verification benchmark: import N events into the fake Mixpanel server, then `mixport verify`
//! the run against its raw export, once with the default partition size and once forced into
//! ten partitions (the bounded-memory path of runs larger than two million events).
//!
//! ```sh
//! cargo build --release --no-default-features
//! cargo run --release --no-default-features --example bench_verify -- 1000000
//! ```
//!
//! The fake server runs in this process and keeps every event (the export needs them); the
//! import and the verifications run as child processes of the built `mixport` binary, so their
//! peak RSS (VmHWM, sampled every 20 ms) is their own. Prints the time and peak RSS of each.

#[path = "../common/fake_mixpanel.rs"]
mod fake_mixpanel;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fake_mixpanel::{ExportConfig, FakeMixpanel, PROJECT_ID, SA_SECRET, SA_USER};

fn generate(path: &Path, rows: usize) -> std::io::Result<()> {
    const EVENTS: [&str; 4] = ["Signup", "Purchase", "Page View", "Add To Cart"];
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let base_ms = (now_ms - 30 * 86_400_000) / 1000 * 1000;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(out, "event,user_id,timestamp,plan")?;
    for i in 0..rows {
        writeln!(
            out,
            "{},user-{},{},p{}",
            EVENTS[i % 4],
            i % 50_000,
            base_ms + i as i64 * 7,
            i % 3
        )?;
    }
    out.flush()
}

/// `VmHWM` (peak RSS) of a process in KiB.
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

struct Measured {
    status: ExitStatus,
    secs: f64,
    peak_mb: f64,
    stdout: String,
}

fn measure(mut command: Command) -> Measured {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start mixport");
    let pid = child.id().to_string();
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        text
    });
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = vm_hwm_kib(&pid) {
            peak = peak.max(kib);
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for mixport: {e}"),
        }
    };
    Measured {
        status,
        secs: started.elapsed().as_secs_f64(),
        peak_mb: peak as f64 / 1024.0,
        stdout: reader.join().unwrap_or_default(),
    }
}

fn main() {
    let rows: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let Some(binary) = mixport_binary() else {
        eprintln!(
            "bench_verify: build the mixport binary first (cargo build --release --no-default-features)"
        );
        std::process::exit(2);
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("bench.csv");
    generate(&csv, rows).expect("write the CSV");
    let data_dir = dir.path().join("data");
    let server = FakeMixpanel::start_default();
    server.set_export(ExportConfig {
        queries_per_second: 0,
        ..ExportConfig::default()
    });
    let command = |args: &[&str]| {
        let mut cmd = Command::new(&binary);
        cmd.args(args)
            .env("MIXPORT_DATA_DIR", &data_dir)
            .env("MP_ACCT", SA_USER)
            .env("MP_PASS", SA_SECRET)
            .env("MP_PROJECT", PROJECT_ID)
            .env_remove("MP_TOKEN");
        cmd
    };
    let base = server.base_url();
    let csv_text = csv.display().to_string();
    let import = measure(command(&[
        "import",
        &csv_text,
        "--api-base",
        &base,
        "--yes",
    ]));
    let report: serde_json::Value = serde_json::from_str(&import.stdout).unwrap_or_default();
    let run_id = report["run_id"].as_str().unwrap_or_default().to_owned();
    println!(
        "import: {rows} rows, exit {}, {:.1}s, peak RSS {:.1} MB, run {run_id}",
        import.status, import.secs, import.peak_mb
    );
    let keys = data_dir.join("runs").join(&run_id).join("accepted.keys");
    let keys_bytes = std::fs::metadata(&keys).map_or(0, |m| m.len());
    println!(
        "record of accepted events: {:.1} MB ({:.1} bytes per event)",
        keys_bytes as f64 / 1e6,
        keys_bytes as f64 / rows.max(1) as f64
    );
    let capacity = (rows / 10).max(1).to_string();
    for (what, extra) in [
        ("one partition", vec![]),
        (
            "ten partitions",
            vec!["--partition-capacity", capacity.as_str()],
        ),
    ] {
        server.reset_export_budget();
        let mut args = vec!["verify", run_id.as_str(), "--json", "--api-base", &base];
        args.extend(extra);
        let verify = measure(command(&args));
        let result: serde_json::Value = serde_json::from_str(&verify.stdout).unwrap_or_default();
        println!(
            "verify ({what}): exit {}, found {} of {}, {:.1}s = {:.0} events/s, peak RSS {:.1} MB",
            verify.status,
            result["found"],
            result["accepted"],
            verify.secs,
            rows as f64 / verify.secs,
            verify.peak_mb
        );
    }
    if let Some(own) = vm_hwm_kib("self") {
        println!(
            "peak RSS of this process (generator + fake server with every event): {:.1} MB",
            own as f64 / 1024.0
        );
    }
}
