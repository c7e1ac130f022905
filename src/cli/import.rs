//! `mixport import FILE ...`: the live import.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `mixport import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The events file (CSV, TSV, JSON, NDJSON, XLSX; optionally gzipped).
    pub file: PathBuf,
    /// A mapping template; default: the suggested mapping.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// The project's data residency region.
    #[arg(long, default_value = "us")]
    pub region: String,
    /// The project id (service accounts; default: $MP_PROJECT).
    #[arg(long)]
    pub project_id: Option<String>,
    /// Use a connection saved by the app (credentials from the OS keychain).
    #[arg(long)]
    pub connection: Option<String>,
    /// Requests in flight (1 to 20).
    #[arg(long, default_value_t = 10)]
    pub workers: usize,
    /// Another ingestion host, e.g. a test server (plain http only for loopback).
    #[arg(long)]
    pub api_base: Option<String>,
    /// Write rejected rows here (local and Mixpanel's rejections).
    #[arg(long, value_name = "REJECTED.csv")]
    pub failed_out: Option<PathBuf>,
    /// Write the run report (JSON) here.
    #[arg(long, value_name = "REPORT.json")]
    pub report: Option<PathBuf>,
    /// Continue an interrupted import of the same file and mapping without resending rows.
    #[arg(long)]
    pub resume: bool,
    /// Do not ask for confirmation (required when not on a terminal).
    #[arg(long)]
    pub yes: bool,
    /// How to read the file.
    #[command(flatten)]
    pub source: super::SourceArgs,
}

/// Run `mixport import`.
pub fn run(args: ImportArgs) -> ExitCode {
    let _ = args;
    super::fail("import is not built yet")
}
