//! `mixport suggest FILE [-o MAPPING.json]`.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `mixport suggest`.
#[derive(Debug, clap::Args)]
pub struct SuggestArgs {
    /// The events file (CSV, TSV, JSON, NDJSON, XLSX; optionally gzipped).
    pub file: PathBuf,
    /// Write the mapping here instead of printing it.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// How to read the file.
    #[command(flatten)]
    pub source: super::SourceArgs,
}

/// Run `mixport suggest`.
pub fn run(args: SuggestArgs) -> ExitCode {
    let _ = args;
    super::fail("suggest is not built yet")
}
