//! The desktop app (eframe/egui): a six-step wizard over the engine.

/// Open the app window and run until it closes.
pub fn run() -> std::process::ExitCode {
    eprintln!("the desktop app is not built yet");
    std::process::ExitCode::from(2)
}
