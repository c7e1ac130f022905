//! The desktop app driven through egui_kittest, by role and label, with injected fakes: a fake
//! file dialog, keyring's mock store, a temporary config folder and a fake Mixpanel server.

#![cfg(feature = "gui")]

mod common;

use std::path::PathBuf;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use mixport::credentials::SecretStore;
use mixport::gui::backend::Secrets;
use mixport::gui::{AppDeps, FakeFileDialog, MixportApp, Step};

struct TestApp {
    harness: Harness<'static, MixportApp>,
    dialog: FakeFileDialog,
    store: SecretStore,
    dir: tempfile::TempDir,
}

fn sample_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sample-events.csv")
}

fn app_with(api_base: Option<String>) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let dialog = FakeFileDialog::new();
    let store = SecretStore::mock();
    let deps = AppDeps {
        file_dialog: Box::new(dialog.clone()),
        config_dir: dir.path().join("config"),
        secrets: Secrets::with_store(store.clone()),
        api_base,
        sample_file: Some(sample_file()),
        runs_dir: dir.path().join("runs"),
    };
    let harness = Harness::builder()
        .with_size(egui::vec2(1200.0, 900.0))
        .build_ui_state(
            |ui, app: &mut MixportApp| app.show(ui),
            MixportApp::new(deps),
        );
    TestApp {
        harness,
        dialog,
        store,
        dir,
    }
}

/// Run frames until `done` holds (background work finishes on other threads).
fn run_until(
    harness: &mut Harness<'static, MixportApp>,
    what: &str,
    done: impl Fn(&MixportApp) -> bool,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done(harness.state()) {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        harness.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    harness.run();
}

#[test]
fn shell_shows_the_six_steps_and_only_file_is_open() {
    let mut t = app_with(None);
    t.harness.run();
    for (n, title) in ["File", "Map", "Check", "Connect", "Import", "Review"]
        .iter()
        .enumerate()
    {
        t.harness
            .get_by_label_contains(&format!("{}. {title}", n + 1));
    }
    assert_eq!(t.harness.state().current_step(), Step::File);
    assert!(!t.harness.state().is_reachable(Step::Map));
    // Next is disabled until a file is loaded: clicking it changes nothing.
    t.harness.get_by_label("Next: Map").click();
    t.harness.run();
    assert_eq!(t.harness.state().current_step(), Step::File);
}

#[test]
fn about_box_shows_the_version() {
    let mut t = app_with(None);
    t.harness.run();
    t.harness
        .get_by_role_and_label(Role::Button, "About Mixport")
        .click();
    t.harness.run();
    t.harness
        .get_by_label(&format!("Version {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn cancelled_file_dialog_offers_the_path_field() {
    let mut t = app_with(None);
    t.harness.run();
    t.harness.get_by_label("Choose file…").click();
    t.harness.run();
    assert_eq!(t.dialog.asked(), vec!["Choose an events file".to_owned()]);
    t.harness
        .get_by_label_contains("type the file's path below");
    t.harness.get_by_label("Open a file by path:");
    let _ = (&t.store, &t.dir);
}

/// Not a test: serves the fake Mixpanel server for `tests/screenshots.sh` until the file named by
/// `MIXPORT_FAKE_STOP` exists (at most 10 minutes).
#[test]
#[ignore = "helper for tests/screenshots.sh"]
fn serve_fake_mixpanel_for_screenshots() {
    use common::fake_mixpanel::{FakeMixpanel, PROJECT_ID, SA_SECRET, SA_USER};
    let server = FakeMixpanel::start_default();
    println!("FAKE_MIXPANEL_URL={}", server.base_url());
    println!("FAKE_MIXPANEL_USER={SA_USER}");
    println!("FAKE_MIXPANEL_SECRET={SA_SECRET}");
    println!("FAKE_MIXPANEL_PROJECT={PROJECT_ID}");
    let stop = std::env::var("MIXPORT_FAKE_STOP").ok().map(PathBuf::from);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while std::time::Instant::now() < deadline {
        if stop.as_ref().is_some_and(|p| p.exists()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
