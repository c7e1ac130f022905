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
#[allow(dead_code)] // used by the full-wizard test once the engine lands
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

/// The Connect step alone, with its own session and deps.
struct ConnectHarnessState {
    step: mixport::gui::steps::connect::ConnectStep,
    session: mixport::gui::session::Session,
    deps: AppDeps,
}

fn connect_harness(secrets: Secrets, config_dir: PathBuf) -> Harness<'static, ConnectHarnessState> {
    let deps = AppDeps {
        file_dialog: Box::new(FakeFileDialog::new()),
        config_dir: config_dir.clone(),
        secrets,
        api_base: None,
        sample_file: None,
        runs_dir: config_dir.join("runs"),
    };
    let state = ConnectHarnessState {
        step: mixport::gui::steps::connect::ConnectStep::new(&deps),
        session: Default::default(),
        deps,
    };
    Harness::builder()
        .with_size(egui::vec2(1000.0, 800.0))
        .build_ui_state(
            |ui, s: &mut ConnectHarnessState| {
                s.step.poll(ui.ctx());
                s.step.ui(ui, &mut s.session, &mut s.deps)
            },
            state,
        )
}

fn type_into<S>(harness: &mut Harness<'static, S>, label: &str, text: &str) {
    type_into_role(harness, Role::TextInput, label, text);
}

fn type_into_role<S>(harness: &mut Harness<'static, S>, role: Role, label: &str, text: &str) {
    harness.get_by_role_and_label(role, label).focus();
    harness.run();
    harness.get_by_role_and_label(role, label).type_text(text);
    harness.run();
}

#[test]
fn connect_saves_the_secret_only_in_the_keychain_and_never_shows_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SecretStore::mock();
    let config_dir = dir.path().join("config");
    let mut h = connect_harness(Secrets::with_store(store.clone()), config_dir.clone());
    h.run();
    h.get_by_role_and_label(Role::Button, "Add a connection")
        .click();
    h.run();
    type_into(&mut h, "Connection name", "Test project");
    type_into(&mut h, "Project ID", "4242");
    type_into(&mut h, "Service account username", "sa.user");
    type_into_role(
        &mut h,
        Role::PasswordInput,
        "Service account secret",
        "s3cret-value",
    );
    h.get_by_role_and_label(Role::Button, "Save connection")
        .click();
    h.run();

    assert_eq!(
        store
            .get("Test project")
            .expect("keychain")
            .map(|s| s.expose().to_owned()),
        Some("s3cret-value".to_owned())
    );
    let config = std::fs::read_to_string(config_dir.join("config.json")).expect("config saved");
    assert!(config.contains("Test project") && config.contains("sa.user"));
    assert!(
        !config.contains("s3cret-value"),
        "secret written to the config file"
    );
    let active = h
        .state()
        .session
        .connection
        .clone()
        .expect("connection in use");
    assert_eq!(active.saved.project_id.as_deref(), Some("4242"));
    h.get_by_label_contains("Saved connection 'Test project'");

    // Editing shows every field but the secret, which starts empty.
    h.get_by_role_and_label(Role::Button, "Edit Test project")
        .click();
    h.run();
    let form = h.state().step.form.clone().expect("form open");
    assert_eq!(form.name, "Test project");
    assert!(form.secret.is_empty());
    assert!(h.query_by_value("s3cret-value").is_none());
    h.get_by_role_and_label(Role::Button, "Cancel").click();
    h.run();

    // A restart lists the saved connection again.
    let mut again = connect_harness(Secrets::with_store(store.clone()), config_dir.clone());
    again.run();
    again.get_by_role_and_label(Role::Button, "Use Test project");

    h.get_by_role_and_label(Role::Button, "Delete Test project")
        .click();
    h.run();
    assert_eq!(store.get("Test project").expect("keychain"), None);
    assert!(h.state().session.connection.is_none());
    assert!(h.query_by_label("Edit Test project").is_none());
}

#[test]
fn without_a_keychain_the_secret_is_kept_for_this_session_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config_dir = dir.path().join("config");
    let mut h = connect_harness(
        Secrets::unavailable("no Secret Service on the session bus"),
        config_dir.clone(),
    );
    h.run();
    h.get_by_label_contains("No keychain is available (no Secret Service on the session bus)");
    h.get_by_role_and_label(Role::Button, "Add a connection")
        .click();
    h.run();
    h.get_by_label_contains("Use for this session only");
    type_into(&mut h, "Connection name", "Token project");
    h.get_by_role_and_label(Role::RadioButton, "Project token")
        .click();
    h.run();
    type_into_role(&mut h, Role::PasswordInput, "Project token", "tok123");
    h.get_by_role_and_label(Role::Button, "Save connection")
        .click();
    h.run();
    let active = h
        .state()
        .session
        .connection
        .clone()
        .expect("connection in use");
    assert_eq!(active.secret.expose(), "tok123");
    let config = std::fs::read_to_string(config_dir.join("config.json")).expect("config saved");
    assert!(!config.contains("tok123"));
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("tok123"),
            "secret written to {}",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
