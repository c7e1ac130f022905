//! `mixport check FILE [--mapping M.json] [--json] [--failed-out REJECTED.csv]`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::pipeline::check::{CheckOptions, CheckReport, IssueGroup, run_check};
use crate::pipeline::{PipelineError, RunControl};

use super::input::{read_head, resolve_mapping};

/// Arguments of `mixport check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The events file (CSV, TSV, JSON, NDJSON, XLSX; optionally gzipped).
    pub file: PathBuf,
    /// A mapping template (from `mixport suggest` or the app); default: the suggested mapping.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Print one JSON object instead of the human report.
    #[arg(long)]
    pub json: bool,
    /// Write rejected rows here: the original columns plus `_row`, `_field`, `_reason`.
    #[arg(long, value_name = "REJECTED.csv")]
    pub failed_out: Option<PathBuf>,
    /// Events or user profiles (default: the mapping's kind, else the suggestion's).
    #[command(flatten)]
    pub kind: super::KindArgs,
    /// How to read the file.
    #[command(flatten)]
    pub source: super::SourceArgs,
}

/// Run `mixport check`.
pub fn run(args: CheckArgs) -> ExitCode {
    if let Err(message) = super::guard_outputs(
        &args.file,
        args.mapping.as_deref(),
        &[("--failed-out", args.failed_out.as_deref())],
    ) {
        return super::fail(message);
    }
    let opened = match read_head(&args.file, &args.source) {
        Ok(v) => v,
        Err(message) => return super::fail(message),
    };
    let mapping = match resolve_mapping(
        &args.file,
        args.mapping.as_deref(),
        args.kind.kind(),
        &opened,
    ) {
        Ok(m) => m,
        Err(message) => return super::fail(message),
    };
    let sniff = opened.sniff;
    let options = CheckOptions {
        failed_out: args.failed_out.clone(),
        ..CheckOptions::default()
    };
    let control = RunControl::new();
    let bar = (!args.json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(sniff.file_size.max(1));
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {percent}% {msg} ({eta} left)")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut on_progress = |p: &crate::pipeline::Progress| {
        if let Some(bar) = &bar {
            bar.set_position(p.bytes_read);
            bar.set_message(format!("{} rows, {} invalid", p.rows_read, p.invalid));
        }
    };
    let result = run_check(&sniff, &mapping, &options, &control, &mut on_progress);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = match result {
        Ok(r) => r,
        Err(PipelineError::Mapping(e)) => {
            return super::fail(super::words::mapping_error(&args.file, &e));
        }
        Err(e) => return super::fail(e),
    };
    if report.rows == 0 {
        return super::fail(format!(
            "{}: the file has no data rows. Choose a file that has at least one event row.",
            args.file.display()
        ));
    }
    if args.json {
        match serde_json::to_string(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => return super::fail(format!("cannot print the report: {e}")),
        }
    } else {
        print!("{}", human_report(&report));
    }
    if report.all_valid() {
        ExitCode::from(super::EXIT_OK)
    } else {
        ExitCode::from(super::EXIT_SOME_REJECTED)
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn human_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} KB", b / 1e3)
    } else {
        format!("{bytes} bytes")
    }
}

fn write_groups(out: &mut String, groups: &[IssueGroup]) {
    use std::fmt::Write;
    for group in groups {
        let _ = writeln!(
            out,
            "  {} [{}]: {}",
            group.title,
            group.field,
            plural(group.count, "row", "rows")
        );
        for example in &group.examples {
            let _ = writeln!(out, "    {}", example.message);
        }
        if group.count > group.examples.len() as u64 {
            let _ = writeln!(
                out,
                "    ... and {} more",
                group.count - group.examples.len() as u64
            );
        }
    }
}

/// The report in plain words, as printed without `--json`.
pub fn human_report(report: &CheckReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {:?}{}, {:?}, {} columns",
        report.file.display(),
        report.format,
        if report.compression == crate::source::Compression::Gzip {
            " (gzip)"
        } else {
            ""
        },
        report.encoding,
        report.columns.len()
    );
    for note in &report.notes {
        let _ = writeln!(out, "  note: {note}");
    }
    let _ = writeln!(
        out,
        "Rows: {}   valid: {}   invalid: {}   with warnings: {}",
        report.rows, report.valid, report.invalid, report.rows_with_warnings
    );
    let (one, many) = match report.kind {
        crate::mapping::ImportKind::Events => ("event", "events"),
        crate::mapping::ImportKind::Profiles => ("user profile", "user profiles"),
    };
    let _ = writeln!(
        out,
        "An import would send {} in {} ({} uncompressed).",
        plural(report.valid, one, many),
        plural(report.requests, "request", "requests"),
        human_bytes(report.bytes)
    );
    if report.duplicate_user_ids > 0 {
        let _ = writeln!(
            out,
            "{} repeat a user ID of an earlier row: Mixpanel applies profile updates in file order (see the warnings).",
            plural(report.duplicate_user_ids, "row", "rows")
        );
    }
    if let (Some(first), Some(last)) = (report.first_time_ms, report.last_time_ms) {
        let fmt = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default()
        };
        let _ = writeln!(out, "Event times from {} to {} UTC.", fmt(first), fmt(last));
    }
    if !report.errors.is_empty() {
        let _ = writeln!(
            out,
            "\nErrors (these rows would be rejected and are not sent):"
        );
        write_groups(&mut out, &report.errors);
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings (these rows are sent):");
        write_groups(&mut out, &report.warnings);
    }
    if report.duplicate_check_rows < report.rows && report.rows > 0 {
        let _ = writeln!(
            out,
            "  note: the duplicate {} check covered the first {} rows only.",
            match report.kind {
                crate::mapping::ImportKind::Events => "insert ID",
                crate::mapping::ImportKind::Profiles => "user ID",
            },
            report.duplicate_check_rows
        );
    }
    if let Some(path) = &report.rejected_file {
        let _ = writeln!(
            out,
            "\nRejected rows written to {} ({}).",
            path.display(),
            plural(report.rejected_written, "row", "rows")
        );
    }
    let _ = writeln!(
        out,
        "\nChecked in {:.2} s ({:.0} rows/s). {}",
        report.elapsed_secs,
        report.rows_per_sec,
        if report.invalid == 0 {
            "Every row is valid."
        } else {
            "Fix the rejected rows (see --failed-out) or import the valid ones."
        }
    );
    out
}
