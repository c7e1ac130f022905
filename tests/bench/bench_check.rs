//! Throughput and peak memory of the dry-run check.
//!
//! `cargo run --release --example bench_check -- ROWS` generates a 16-column CSV of ROWS rows
//! (default 1,000,000) in a temporary folder, runs the same check `mixport check` runs (sniff,
//! suggestion from the head, every row through the transform), and prints rows per second and
//! the process's peak resident memory (VmHWM).

use std::io::Write;
use std::time::Instant;

use mixport::mapping::suggest::suggest_for_file;
use mixport::mapping::transform::settle_day_order;
use mixport::pipeline::RunControl;
use mixport::pipeline::check::{CheckOptions, run_check};
use mixport::source::{self, SourceOptions};

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: usize = std::env::args()
        .nth(1)
        .map(|a| a.replace('_', "").parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench-events.csv");

    let started = Instant::now();
    {
        const EVENTS: [&str; 6] = [
            "Sign Up",
            "Log In",
            "View Product",
            "Add to Cart",
            "Purchase",
            "Share",
        ];
        const COUNTRIES: [(&str, &str, &str); 6] = [
            ("US", "New York", "NY"),
            ("Germany", "Berlin", "BE"),
            ("FR", "Paris", "IDF"),
            ("United Kingdom", "London", "ENG"),
            ("JP", "Tokyo", "13"),
            ("Brazil", "Rio de Janeiro", "RJ"),
        ];
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
        writeln!(
            out,
            "event,user_id,timestamp,country,city,region,plan,price,quantity,zip,device,os,browser,referrer,campaign,session_id"
        )?;
        let start_secs: i64 = 1_672_531_200;
        for i in 0..rows {
            let secs = start_secs + (i as i64 * 61) % (2 * 365 * 86_400);
            let dt = chrono::DateTime::from_timestamp(secs, 0).ok_or("time")?;
            let (country, city, region) = COUNTRIES[i % COUNTRIES.len()];
            let time = match i % 4 {
                0 => dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                1 => dt.format("%Y-%m-%d %H:%M:%S").to_string(),
                2 => secs.to_string(),
                _ => (secs * 1000).to_string(),
            };
            writeln!(
                out,
                "{},user{},{},{},{},{},{},{}.{:02},{},{:05},{},{},{},{},{},s{}",
                EVENTS[i % EVENTS.len()],
                i % 50_000,
                time,
                country,
                city,
                region,
                ["free", "pro", "enterprise"][i % 3],
                i % 500,
                i % 100,
                i % 7 + 1,
                i % 99_999,
                ["iPhone", "Pixel", "Desktop"][i % 3],
                ["iOS", "Android", "Windows", "macOS"][i % 4],
                ["Safari", "Chrome", "Firefox"][i % 3],
                ["google", "newsletter", "direct"][i % 3],
                ["spring", "summer", "autumn", "winter"][i % 4],
                i / 7,
            )?;
        }
        out.flush()?;
    }
    let size = std::fs::metadata(&path)?.len();
    eprintln!(
        "generated {rows} rows, {:.1} MB, in {:.1} s (peak RSS so far {:.1} MB)",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        peak_rss_mb().unwrap_or(f64::NAN)
    );

    let started = Instant::now();
    let sniff = source::sniff(&path, &SourceOptions::default())?;
    let sample = source::preview(&sniff, 1000)?;
    let mut mapping = suggest_for_file(&path, &sniff.columns, &sample).mapping;
    settle_day_order(&mut mapping, &sniff.columns, &sample)?;
    drop(sample);
    let report = run_check(
        &sniff,
        &mapping,
        &CheckOptions::default(),
        &RunControl::new(),
        &mut |_| {},
    )?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "check: {} rows ({} valid, {} invalid, {} requests, {:.1} MB to send) in {:.2} s = {:.0} rows/s; peak RSS {:.1} MB",
        report.rows,
        report.valid,
        report.invalid,
        report.requests,
        report.bytes as f64 / 1e6,
        secs,
        report.rows as f64 / secs,
        peak_rss_mb().unwrap_or(f64::NAN)
    );
    Ok(())
}
