//! The command line: `mixport` with no arguments opens the app; subcommands run the same engine
//! headless. Parsing lives here; each subcommand's work lives in its own file.

pub mod check;
pub mod import;
pub mod input;
pub mod runs;
pub mod suggest;
pub mod verify;
pub mod words;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::source::{Format, SourceOptions, TextEncoding};

/// Import historical events into Mixpanel. Run without arguments to open the app, or with a file
/// to open the app on that file.
#[derive(Debug, Parser)]
#[command(
    name = "mixport",
    version,
    about,
    long_about = None,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do; without one, the desktop app opens.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Open the desktop app on this file (what "Open with" and a double-click run).
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// How to read the file, when the guess is wrong.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SourceArgs {
    /// Force the file format instead of sniffing it.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Force the text encoding.
    #[arg(long, value_enum)]
    pub encoding: Option<EncodingArg>,
    /// Force the CSV delimiter (one character; `tab` for a tab).
    #[arg(long)]
    pub delimiter: Option<String>,
    /// The first row is data, not a header.
    #[arg(long)]
    pub no_header: bool,
    /// The header is on row N (1-based): the rows above it (titles, notes) are skipped.
    #[arg(long, value_name = "N", conflicts_with = "no_header", value_parser = clap::value_parser!(u32).range(1..))]
    pub header_row: Option<u32>,
    /// Excel: the sheet to read (default: the first).
    #[arg(long)]
    pub sheet: Option<String>,
}

/// Events or user profiles, when the suggestion's guess (or a mapping file's kind) is not
/// what the user wants.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct KindArgs {
    /// The file holds user profiles (one row per person), sent to /engage.
    #[arg(long, conflicts_with = "events")]
    pub profiles: bool,
    /// The file holds events (the default unless the file looks like user profiles).
    #[arg(long)]
    pub events: bool,
}

impl KindArgs {
    /// The kind asked for, if any.
    pub fn kind(self) -> Option<crate::mapping::ImportKind> {
        if self.profiles {
            Some(crate::mapping::ImportKind::Profiles)
        } else if self.events {
            Some(crate::mapping::ImportKind::Events)
        } else {
            None
        }
    }
}

/// `--format` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// Delimited text.
    Csv,
    /// A JSON array.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Excel workbook.
    Xlsx,
}

/// `--encoding` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EncodingArg {
    /// UTF-8.
    Utf8,
    /// UTF-16 little endian.
    Utf16le,
    /// UTF-16 big endian.
    Utf16be,
    /// Windows-1252.
    Windows1252,
}

impl SourceArgs {
    /// Turn the flags into source overrides. Fails on a delimiter that is not one byte.
    pub fn to_options(&self) -> Result<SourceOptions, String> {
        let delimiter = match self.delimiter.as_deref() {
            None => None,
            Some("tab") | Some("\\t") => Some(b'\t'),
            Some(d) if d.len() == 1 => Some(d.as_bytes()[0]),
            Some(d) => {
                return Err(format!(
                    "--delimiter '{d}' must be one character such as , ; | or the word tab"
                ));
            }
        };
        Ok(SourceOptions {
            format: self.format.map(|f| match f {
                FormatArg::Csv => Format::Csv,
                FormatArg::Json => Format::Json,
                FormatArg::Ndjson => Format::Ndjson,
                FormatArg::Xlsx => Format::Xlsx,
            }),
            encoding: self.encoding.map(|e| match e {
                EncodingArg::Utf8 => TextEncoding::Utf8,
                EncodingArg::Utf16le => TextEncoding::Utf16Le,
                EncodingArg::Utf16be => TextEncoding::Utf16Be,
                EncodingArg::Windows1252 => TextEncoding::Windows1252,
            }),
            delimiter,
            has_header: if self.no_header {
                Some(false)
            } else if self.header_row.is_some() {
                Some(true)
            } else {
                None
            },
            header_row: self.header_row.map(|n| n as usize),
            sheet: self.sheet.clone(),
        })
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the suggested mapping for a file as JSON (a template to edit and pass to --mapping).
    Suggest(suggest::SuggestArgs),
    /// Dry run: read every row, apply the mapping, and report what Mixpanel would accept.
    Check(check::CheckArgs),
    /// Import the file into Mixpanel (live).
    Import(import::ImportArgs),
    /// Did a run's events land? Compare Mixpanel's raw export with what the run delivered.
    Verify(verify::VerifyArgs),
    /// Past imports; with a run id, one run in detail and how to correct it.
    Runs(runs::RunsArgs),
}

/// Exit code: every row valid (warnings allowed).
pub const EXIT_OK: u8 = 0;
/// Exit code: some rows would be (or were) rejected.
pub const EXIT_SOME_REJECTED: u8 = 1;
/// Exit code: the command could not run.
pub const EXIT_FAILED: u8 = 2;

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => run_app(cli.file),
        Some(Command::Suggest(args)) => suggest::run(args),
        Some(Command::Check(args)) => check::run(args),
        Some(Command::Import(args)) => import::run(args),
        Some(Command::Verify(args)) => verify::run(args),
        Some(Command::Runs(args)) => runs::run(args),
    }
}

/// Open the app, on `file` when one was given. A file that does not exist is refused here, with
/// the list of commands: a mistyped command would otherwise open a window about a missing file.
fn run_app(file: Option<PathBuf>) -> ExitCode {
    if let Some(path) = &file
        && !path.exists()
    {
        return fail(format!(
            "{}: no such file (to run a command instead, use one of: suggest, check, import; \
             see `mixport --help`)",
            path.display()
        ));
    }
    open_window(file)
}

#[cfg(feature = "gui")]
fn open_window(file: Option<PathBuf>) -> ExitCode {
    crate::gui::run(file)
}

#[cfg(not(feature = "gui"))]
fn open_window(_file: Option<PathBuf>) -> ExitCode {
    eprintln!("this build of mixport has no desktop app; run `mixport --help` for the commands");
    ExitCode::from(EXIT_FAILED)
}

/// Print one clear error line to stderr and return exit code 2.
pub fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("mixport: {message}");
    ExitCode::from(EXIT_FAILED)
}

/// A file argument.
pub type FileArg = PathBuf;

/// Refuse, before anything is read or sent, an output path that is the input file, the mapping
/// or another output (the same file after following links). `outputs` pairs each output flag
/// with its path when given. The error is one line for stderr.
pub fn guard_outputs(
    file: &std::path::Path,
    mapping: Option<&std::path::Path>,
    outputs: &[(&str, Option<&std::path::Path>)],
) -> Result<(), String> {
    use crate::output::{RunFile, check_output_paths};
    let mut inputs = vec![RunFile::new("the input file", file)];
    if let Some(mapping) = mapping {
        inputs.push(RunFile::new("the --mapping file", mapping));
    }
    let outputs: Vec<RunFile> = outputs
        .iter()
        .filter_map(|(flag, path)| path.map(|p| RunFile::new(*flag, p)))
        .collect();
    check_output_paths(&inputs, &outputs).map_err(|e| format!("{e} Nothing was read or sent."))
}

/// Tests: an environment lookup over fixed variables.
#[cfg(test)]
pub(crate) fn test_env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_file_opens_the_app_on_it_and_subcommands_still_work() {
        let cli = Cli::try_parse_from(["mixport", "events.csv"]).expect("parses");
        assert!(cli.command.is_none());
        assert_eq!(cli.file, Some(PathBuf::from("events.csv")));

        let cli = Cli::try_parse_from(["mixport"]).expect("parses");
        assert!(cli.command.is_none() && cli.file.is_none());

        let cli = Cli::try_parse_from(["mixport", "check", "events.csv"]).expect("parses");
        assert!(matches!(cli.command, Some(Command::Check(_))));
        assert!(cli.file.is_none());
    }
}
