//! The desktop app (eframe/egui): a six-step wizard over the [`crate::session`] API.
//!
//! [`MixportApp`] is built from [`AppDeps`] (file dialog, secret store, config folder, API host),
//! so tests drive the real app with fakes. The app holds UI state only: one
//! [`state::FileSession`] per opened file, and each step's own fields. Each step lives in its
//! own file under `steps/` and draws from a `ui(&mut self, ui, ..)` function; background work
//! (file reading, check, import, connection test, disk reads and writes) goes through [`worker`].
//! [`words`] says the engine's typed answers in plain language.

pub mod app;
pub mod dialog;
pub mod history;
pub mod state;
pub mod steps;
pub mod words;
pub mod worker;

use std::path::PathBuf;

pub use crate::session::connection::Secrets;
pub use app::{APP_NAME, MixportApp, Step, window_title};
pub use dialog::{FakeFileDialog, FileDialog, NativeFileDialog};

/// Everything the app needs from the outside world, injected so tests can replace it.
pub struct AppDeps {
    /// Open/save dialogs.
    pub file_dialog: Box<dyn FileDialog>,
    /// Where saved connections, recent files and templates live.
    pub config_dir: PathBuf,
    /// Where secrets live (the OS keychain, or a mock in tests).
    pub secrets: Secrets,
    /// Another ingestion/API host (a test server); `None` uses the region's Mixpanel hosts.
    pub api_base: Option<String>,
    /// The sample file offered by "Try with sample data", when it exists.
    pub sample_file: Option<PathBuf>,
    /// Where run reports, journals and rejected-rows files are written.
    pub runs_dir: PathBuf,
}

impl AppDeps {
    /// The real dependencies: native dialogs, the OS keychain, the user's config folder.
    /// `MIXPORT_CONFIG_DIR` overrides the config folder, `MIXPORT_DATA_DIR` the runs folder
    /// (journals, reports, rejected rows) and `MIXPORT_API_BASE` the API host.
    pub fn system() -> Self {
        let config_dir = crate::config::ConfigStore::locate()
            .map(|store| store.dir().to_path_buf())
            .unwrap_or_else(|_| PathBuf::from(".mixport"));
        Self {
            file_dialog: Box::new(NativeFileDialog),
            // The same folder the CLI keeps its journals and reports in (`MIXPORT_DATA_DIR`).
            runs_dir: crate::pipeline::journal::data_dir()
                .unwrap_or_else(|| config_dir.join("runs")),
            config_dir,
            secrets: Secrets::os(),
            api_base: std::env::var("MIXPORT_API_BASE")
                .ok()
                .filter(|s| !s.is_empty()),
            sample_file: find_sample_file(),
        }
    }
}

/// `assets/sample-events.csv` next to the executable (installed layout) or in the source tree.
pub fn find_sample_file() -> Option<PathBuf> {
    let name = "sample-events.csv";
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        candidates.push(dir.join("assets").join(name));
        candidates.push(dir.join(name));
    }
    candidates.push(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("assets")
            .join(name),
    );
    candidates.into_iter().find(|p| p.is_file())
}

/// The app icon, built into the binary.
const ICON_PNG: &[u8] = include_bytes!("../../assets/icon.png");

fn window_icon() -> Option<egui::IconData> {
    eframe::icon_data::from_png_bytes(ICON_PNG).ok()
}

/// Open the app window, on `file` when one is given, and run until it closes.
pub fn run(file: Option<PathBuf>) -> std::process::ExitCode {
    let mut viewport = egui::ViewportBuilder::default()
        .with_title(window_title(file.as_deref()))
        .with_app_id("mixport")
        .with_inner_size([1100.0, 720.0])
        .with_min_inner_size([760.0, 480.0]);
    if let Some(icon) = window_icon() {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    let result = eframe::run_native(
        APP_NAME,
        options,
        Box::new(|cc| {
            cc.egui_ctx
                .options_mut(|o| o.theme_preference = egui::ThemePreference::System);
            let mut app = MixportApp::new(AppDeps::system());
            if let Some(path) = file {
                app.open_file(&cc.egui_ctx, path);
            }
            app.start_demo_from_env(&cc.egui_ctx);
            Ok(Box::new(app))
        }),
    );
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "mixport: cannot open the window: {e}. Run `mixport --help` for the command line."
            );
            std::process::ExitCode::from(2)
        }
    }
}
