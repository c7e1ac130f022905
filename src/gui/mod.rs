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
pub mod fix;
pub mod history;
pub mod state;
pub mod steps;
pub mod verify;
pub mod verify_window;
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

/// The sample file's name, in `assets/` of the source tree and wherever a package installs it.
pub const SAMPLE_FILE_NAME: &str = "sample-events.csv";

/// The sample customers file (user profiles), installed beside [`SAMPLE_FILE_NAME`].
pub const SAMPLE_CUSTOMERS_NAME: &str = "sample-customers.csv";

/// The sample customers file offered by "Try with sample customers": the file of that name
/// beside the events sample `sample_file`, when it exists.
pub fn customers_sample(sample_file: Option<&std::path::Path>) -> Option<PathBuf> {
    sample_file
        .and_then(std::path::Path::parent)
        .map(|dir| dir.join(SAMPLE_CUSTOMERS_NAME))
        .filter(|p| p.is_file())
}

/// The sample file offered by "Try with sample data": the first of [`sample_file_candidates`]
/// for this executable that exists.
pub fn find_sample_file() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok();
    sample_file_candidates(exe.as_deref())
        .into_iter()
        .find(|p| p.is_file())
}

/// Where the sample file may be, best first, for an executable at `exe`:
/// - `PREFIX/share/mixport/` for `PREFIX/bin/mixport`: the `.deb` (`/usr/share/mixport/`) and the
///   tarball installed by hand (`~/.local/share/mixport/` beside `~/.local/bin/mixport`);
/// - `Contents/Resources/` for `Mixport.app/Contents/MacOS/mixport`: the macOS app bundle;
/// - `assets/` or the folder of the executable itself: the unpacked tarball or Windows zip;
/// - the source tree's `assets/`, for `cargo run`.
pub fn sample_file_candidates(exe: Option<&std::path::Path>) -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(dir) = exe.and_then(|exe| exe.parent()) {
        if let Some(prefix) = dir.parent() {
            candidates.push(prefix.join("share").join("mixport").join(SAMPLE_FILE_NAME));
            candidates.push(prefix.join("Resources").join(SAMPLE_FILE_NAME));
        }
        candidates.push(dir.join("assets").join(SAMPLE_FILE_NAME));
        candidates.push(dir.join(SAMPLE_FILE_NAME));
    }
    candidates.push(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("assets")
            .join(SAMPLE_FILE_NAME),
    );
    candidates
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_installed_package_finds_its_sample_under_share() {
        let candidates = sample_file_candidates(Some(std::path::Path::new("/usr/bin/mixport")));
        assert_eq!(
            candidates.first(),
            Some(&PathBuf::from("/usr/share/mixport/sample-events.csv")),
            "{candidates:?}"
        );
    }

    #[test]
    fn an_installed_prefix_wins_over_the_source_tree() {
        let prefix = tempfile::tempdir().expect("temp dir");
        let bin = prefix.path().join("bin");
        let share = prefix.path().join("share").join("mixport");
        std::fs::create_dir_all(&bin).expect("bin dir");
        std::fs::create_dir_all(&share).expect("share dir");
        std::fs::write(share.join(SAMPLE_FILE_NAME), "event\n").expect("sample");
        let found = sample_file_candidates(Some(&bin.join("mixport")))
            .into_iter()
            .find(|p| p.is_file());
        assert_eq!(found, Some(share.join(SAMPLE_FILE_NAME)));

        // Without an installed copy, the unpacked tarball's copy beside the binary is next.
        std::fs::remove_file(share.join(SAMPLE_FILE_NAME)).expect("remove");
        std::fs::write(bin.join(SAMPLE_FILE_NAME), "event\n").expect("sample");
        let found = sample_file_candidates(Some(&bin.join("mixport")))
            .into_iter()
            .find(|p| p.is_file());
        assert_eq!(found, Some(bin.join(SAMPLE_FILE_NAME)));
    }

    #[test]
    fn the_customers_sample_is_offered_only_where_it_is_installed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let events = dir.path().join(SAMPLE_FILE_NAME);
        std::fs::write(&events, "event\n").expect("sample");
        assert_eq!(customers_sample(Some(&events)), None);
        assert_eq!(customers_sample(None), None);
        std::fs::write(dir.path().join(SAMPLE_CUSTOMERS_NAME), "id\n").expect("customers");
        assert_eq!(
            customers_sample(Some(&events)),
            Some(dir.path().join(SAMPLE_CUSTOMERS_NAME))
        );
        // The source tree has both.
        let source = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("assets")
            .join(SAMPLE_FILE_NAME);
        assert!(customers_sample(Some(&source)).is_some());
    }
}
