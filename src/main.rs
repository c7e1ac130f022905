//! The `mixport` binary: with no arguments it opens the desktop app, with a subcommand it runs the
//! same engine headless.

fn main() -> std::process::ExitCode {
    mixport::cli::main()
}
