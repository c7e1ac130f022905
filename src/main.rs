//! The `mixport` binary: with no arguments it opens the desktop app, with a subcommand it runs the
//! same engine headless.

// On Windows the binary is a windowed program: started by a double-click or "Open with" it shows no
// console window. The command-line verbs then print to the console of the shell that started them
// (see `attach_parent_console`).
#![cfg_attr(windows, windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    #[cfg(windows)]
    attach_parent_console();
    mixport::cli::main()
}

/// Use the console of the process that started us (cmd, PowerShell, Windows Terminal), so that
/// `mixport check …` prints there. Standard handles that were redirected to a file or a pipe are
/// kept (Windows fills in only the missing ones). Started from Explorer there is no parent console:
/// the call fails and nothing is shown, which is what a double-click wants.
#[cfg(windows)]
fn attach_parent_console() {
    use windows_sys::Win32::System::Console::{ATTACH_PARENT_PROCESS, AttachConsole};
    // SAFETY: AttachConsole takes a process id by value and touches none of our memory; on failure
    // it returns 0, which needs no handling (there is simply no console to print to).
    let _attached = unsafe { AttachConsole(ATTACH_PARENT_PROCESS) };
}
