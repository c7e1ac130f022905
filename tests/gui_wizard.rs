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

/// How long a test waits for background work (file load, check, import, connection test)
/// before failing. Generous: the suite runs its tests in parallel on busy machines.
const BACKGROUND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Run frames until `done` holds (background work finishes on other threads), then until the
/// UI settles. Never a fixed number of frames: how many frames background work takes depends
/// on how busy the machine is. Fails after [`BACKGROUND_TIMEOUT`].
fn run_until(
    harness: &mut Harness<'static, MixportApp>,
    what: &str,
    done: impl Fn(&MixportApp) -> bool,
) {
    let deadline = std::time::Instant::now() + BACKGROUND_TIMEOUT;
    while !done(harness.state()) {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        harness.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    settle(harness, what);
}

/// Run frames until no more repaints are requested (a spinner of still-running background work
/// keeps requesting them, so `Harness::run` alone would fail while it spins). Fails after
/// [`BACKGROUND_TIMEOUT`].
fn settle<S>(harness: &mut Harness<'static, S>, what: &str) {
    let deadline = std::time::Instant::now() + BACKGROUND_TIMEOUT;
    while harness.run_ok().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the window kept repainting after {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
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
fn a_file_given_on_the_command_line_opens_and_names_the_window() {
    let mut t = app_with(None);
    t.harness.run();
    assert_eq!(t.harness.state().window_title(), "Mixport");
    let ctx = t.harness.ctx.clone();
    t.harness.state_mut().open_file(&ctx, sample_file());
    assert_eq!(
        t.harness.state().window_title(),
        "sample-events.csv — Mixport"
    );
    run_until(&mut t.harness, "the file to load", |app| {
        app.session().file.is_some()
    });
    assert_eq!(
        t.harness.state().window_title(),
        "sample-events.csv — Mixport"
    );
    t.harness.get_by_label_contains("sample-events.csv: ");
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
/// `MIXPORT_FAKE_STOP` exists (at most 10 minutes). `MIXPORT_FAKE_LATENCY_MS` delays every
/// answer, so an import runs long enough to be photographed.
#[test]
#[ignore = "helper for tests/screenshots.sh"]
fn serve_fake_mixpanel_for_screenshots() {
    use common::fake_mixpanel::{FakeMixpanel, Faults, PROJECT_ID, SA_SECRET, SA_USER};
    let server = FakeMixpanel::start_default();
    if let Some(ms) = std::env::var("MIXPORT_FAKE_LATENCY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        server.set_faults(Faults {
            latency: std::time::Duration::from_millis(ms),
            ..Faults::default()
        });
    }
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
    connect_harness_at(secrets, config_dir, None)
}

fn connect_harness_at(
    secrets: Secrets,
    config_dir: PathBuf,
    api_base: Option<String>,
) -> Harness<'static, ConnectHarnessState> {
    let deps = AppDeps {
        file_dialog: Box::new(FakeFileDialog::new()),
        config_dir: config_dir.clone(),
        secrets,
        api_base,
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
    h.get_by_label_contains("No keychain is available on this computer");
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

fn open_sample_by_path(t: &mut TestApp) {
    t.harness.run();
    type_into(
        &mut t.harness,
        "Open a file by path:",
        &sample_file().display().to_string(),
    );
    t.harness
        .get_by_role_and_label(Role::Button, "Open")
        .click();
    run_until(&mut t.harness, "the file to load", |app| {
        app.session().file.is_some()
    });
}

/// Click a button and run frames; background work it starts may keep a spinner going, so the
/// frames are not required to settle.
fn click(harness: &mut Harness<'static, MixportApp>, label: &str) {
    harness
        .get_by_role_and_label(Role::Button, label)
        .scroll_to_me();
    let _ = harness.run_ok();
    harness.get_by_role_and_label(Role::Button, label).click();
    let _ = harness.run_ok();
}

/// Scroll a widget (found by its exact label) into view, then click it.
fn click_label<S>(harness: &mut Harness<'static, S>, label: &str) {
    harness.get_by_label(label).scroll_to_me();
    let _ = harness.run_ok();
    harness.get_by_label(label).click();
    let _ = harness.run_ok();
}

#[test]
fn the_whole_wizard_on_the_sample_file_against_the_fake_server() {
    use common::fake_mixpanel::{FakeMixpanel, PROJECT_ID, SA_SECRET, SA_USER};
    let server = FakeMixpanel::start_default();
    let mut t = app_with(Some(server.base_url()));

    // File: by path, not through the dialog; the preview shows the first rows.
    open_sample_by_path(&mut t);
    let file = t.harness.state().session().file.clone().expect("loaded");
    assert_eq!(file.preview.len(), 500);
    assert!(file.sniff.columns.contains(&"timestamp".to_owned()));
    t.harness.get_by_label_contains("sample-events.csv: ");
    assert!(t.harness.query_all_by_label("Log In").count() > 0);

    // Map: accept the suggestion.
    click(&mut t.harness, "Next: Map");
    assert_eq!(t.harness.state().current_step(), Step::Map);
    let mapping = t.harness.state().session().mapping.clone();
    assert_eq!(mapping.time.column.as_deref(), Some("timestamp"));
    assert_eq!(mapping.distinct_id.as_deref(), Some("user_id"));
    assert_eq!(
        mapping.country.as_ref().map(|c| c.column.as_str()),
        Some("country")
    );
    assert!(t.harness.state().is_done(Step::Map));
    // The exact JSON event of the first preview row is shown.
    t.harness.get_by_label_contains("\"event\": \"Log In\"");

    // Change the time zone through the searchable list.
    type_into(&mut t.harness, "Search time zones:", "Berlin");
    click_label(&mut t.harness, "Europe/Berlin");
    assert_eq!(
        t.harness.state().session().mapping.time.timezone,
        "Europe/Berlin"
    );
    t.harness.get_by_label("Source time zone: Europe/Berlin");

    // Resolve an unknown country value by hand.
    t.harness
        .get_by_role_and_label(Role::ComboBox, "Atlantis (not recognised)")
        .scroll_to_me();
    let _ = t.harness.run_ok();
    t.harness
        .get_by_role_and_label(Role::ComboBox, "Atlantis (not recognised)")
        .click();
    let _ = t.harness.run_ok();
    type_into(&mut t.harness, "Search countries:", "Greece");
    click_label(&mut t.harness, "Greece (GR)");
    let overrides = t
        .harness
        .state()
        .session()
        .mapping
        .country
        .clone()
        .expect("country mapped")
        .overrides;
    assert_eq!(overrides.get("Atlantis").map(String::as_str), Some("GR"));

    // Check: run it and read its counts.
    click(&mut t.harness, "Next: Check");
    click(&mut t.harness, "Run check");
    run_until(&mut t.harness, "the check", |app| {
        app.session().check_is_current()
    });
    let checked = t
        .harness
        .state()
        .session()
        .checked
        .clone()
        .expect("checked");
    assert_eq!(checked.rows, 500);
    assert_eq!(checked.valid + checked.invalid, 500);
    assert!(checked.invalid > 0, "the sample has a few bad rows");
    t.harness.get_by_label(&format!("{} valid", checked.valid));
    t.harness
        .get_by_label(&format!("{} invalid", checked.invalid));
    let summary = t.harness.state().check_summary().cloned().expect("summary");
    assert!(!summary.errors.is_empty());
    // Clicking an example row shows that row's values.
    let (example_row, _, _) = summary.errors[0].examples[0].clone();
    if t.harness
        .query_by_label(&format!("Row {example_row}"))
        .is_none()
    {
        t.harness
            .get_by_label_contains(summary.errors[0].kind.title())
            .click();
        t.harness.run();
    }
    t.harness
        .get_by_label(&format!("Row {example_row}"))
        .click();
    t.harness.run();
    t.harness
        .get_by_label(&format!("Values of row {example_row}"));

    // Connect: add a service account (keyring mock store), test it.
    click(&mut t.harness, "Next: Connect");
    click(&mut t.harness, "Add a connection");
    type_into(&mut t.harness, "Connection name", "Fake project");
    type_into(&mut t.harness, "Project ID", PROJECT_ID);
    type_into(&mut t.harness, "Service account username", SA_USER);
    type_into_role(
        &mut t.harness,
        Role::PasswordInput,
        "Service account secret",
        SA_SECRET,
    );
    click(&mut t.harness, "Save connection");
    assert_eq!(
        t.store
            .get("Fake project")
            .expect("keychain")
            .map(|s| s.expose().to_owned()),
        Some(SA_SECRET.to_owned())
    );
    click(&mut t.harness, "Test connection");
    let deadline = std::time::Instant::now() + BACKGROUND_TIMEOUT;
    while t
        .harness
        .query_by_label_contains("Asking Mixpanel")
        .is_some()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "connection test timed out"
        );
        t.harness.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    settle(&mut t.harness, "the connection test");
    t.harness.get_by_label_contains(&format!(
        "Connected: the service account '{SA_USER}' can see project {PROJECT_ID}"
    ));

    // Import: confirm, run, see progress reach the end.
    click(&mut t.harness, "Next: Import");
    t.harness
        .get_by_label_contains("An import cannot be undone");
    t.harness
        .get_by_label("I understand, import these events")
        .click();
    t.harness.run();
    click(&mut t.harness, "Start import");
    run_until(&mut t.harness, "the import", |app| app.session().imported);
    let progress = t
        .harness
        .state()
        .import_progress()
        .cloned()
        .expect("progress");
    assert_eq!(progress.rows_read, 500);
    assert!((progress.fraction() - 1.0).abs() < f32::EPSILON);
    let result = t
        .harness
        .state()
        .session()
        .import_result
        .clone()
        .expect("result");
    assert_eq!(result.rows, 500);
    assert_eq!(result.rejected_local, checked.invalid);
    assert_eq!(result.accepted, server.unique_count());
    assert_eq!(result.accepted + result.rejected_server, checked.valid);
    t.harness.get_by_label("The import is finished.");

    // Review: rejected events grouped, export through the (fake) save dialog.
    click(&mut t.harness, "Next: Review");
    t.harness
        .get_by_label_contains(&format!("{} events accepted", result.accepted));
    t.harness.get_by_label_contains("within a few minutes");
    let export = t.dir.path().join("rejected-export.csv");
    t.dialog.answer_save(&export);
    click(&mut t.harness, "Export rejected rows…");
    let text = std::fs::read_to_string(&export).expect("export written");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let mut expected = file.sniff.columns.clone();
    expected.extend(["_row", "_field", "_reason", "_origin"].map(str::to_owned));
    assert_eq!(header, expected);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(
        rows.len() as u64,
        result.rejected_local + result.rejected_server
    );
    assert!(rows.iter().all(|r| !r[r.len() - 1].is_empty()));
    t.harness.get_by_label_contains("Saved rejected rows to");
    assert!(t.harness.state().is_done(Step::Review));

    // Filtering narrows the list.
    type_into(&mut t.harness, "Filter:", "no-such-value-anywhere");
    t.harness.get_by_label_contains("0 rejected events shown");
}

#[test]
fn a_saved_template_is_applied_to_a_file_with_the_same_headers() {
    let mut t = app_with(None);
    open_sample_by_path(&mut t);
    click(&mut t.harness, "Next: Map");
    type_into(&mut t.harness, "Search time zones:", "Tokyo");
    click_label(&mut t.harness, "Asia/Tokyo");
    type_into(&mut t.harness, "Template name:", "Shop export");
    click(&mut t.harness, "Save as template");
    t.harness
        .get_by_label_contains("Saved. Files with the same columns");
    // Open the same file again: the template is applied, not the suggestion.
    click(&mut t.harness, "1. File");
    t.harness
        .get_by_role_and_label(Role::Button, "Open")
        .click();
    // The frame that handles the click starts the background load; then wait for it to end
    // (not a fixed number of frames: the spinner keeps the window repainting until it does).
    t.harness.step();
    assert!(
        t.harness.state().is_busy(),
        "the click did not start a reload"
    );
    run_until(&mut t.harness, "the reload", |app| !app.is_busy());
    assert_eq!(
        t.harness.state().session().applied_template.as_deref(),
        Some("Shop export")
    );
    assert_eq!(
        t.harness.state().session().mapping.time.timezone,
        "Asia/Tokyo"
    );
}

#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn a_file_dropped_on_the_window_is_opened_and_listed_as_recent() {
    let mut t = app_with(None);
    t.harness.run();
    t.harness
        .input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(sample_file())));
    t.harness.step();
    run_until(&mut t.harness, "the dropped file", |app| {
        app.session().file.is_some()
    });
    // A new app with the same config folder lists it under Recent.
    let recent = mixport::gui::backend::recent_files(&t.dir.path().join("config"));
    assert_eq!(recent.len(), 1);
    assert!(recent[0].ends_with("sample-events.csv"));
}

#[test]
fn try_with_sample_data_and_the_dialog_open_the_file() {
    let mut t = app_with(None);
    t.harness.run();
    click(&mut t.harness, "Try with sample data");
    run_until(&mut t.harness, "the sample", |app| {
        app.session().file.is_some()
    });
    let mut t = app_with(None);
    t.dialog.answer_open(sample_file());
    t.harness.run();
    click(&mut t.harness, "Choose file…");
    run_until(&mut t.harness, "the chosen file", |app| {
        app.session().file.is_some()
    });
}

fn add_connection(
    h: &mut Harness<'static, ConnectHarnessState>,
    name: &str,
    user: Option<&str>,
    secret: &str,
) {
    h.get_by_role_and_label(Role::Button, "Add a connection")
        .click();
    h.run();
    type_into(h, "Connection name", name);
    match user {
        Some(user) => {
            type_into(h, "Project ID", common::fake_mixpanel::PROJECT_ID);
            type_into(h, "Service account username", user);
            type_into_role(h, Role::PasswordInput, "Service account secret", secret);
        }
        None => {
            h.get_by_role_and_label(Role::RadioButton, "Project token")
                .click();
            h.run();
            type_into_role(h, Role::PasswordInput, "Project token", secret);
        }
    }
    h.get_by_role_and_label(Role::Button, "Save connection")
        .click();
    h.run();
}

fn test_connection_message(h: &mut Harness<'static, ConnectHarnessState>) -> String {
    h.get_by_role_and_label(Role::Button, "Test connection")
        .click();
    let _ = h.run_ok();
    let deadline = std::time::Instant::now() + BACKGROUND_TIMEOUT;
    while h.query_by_label_contains("Asking Mixpanel").is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "connection test timed out"
        );
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    settle(h, "the connection test");
    h.state()
        .step
        .test_result()
        .map(|r| match r {
            Ok(m) | Err(m) => m.clone(),
        })
        .unwrap_or_default()
}

#[test]
fn test_connection_answers_in_plain_words() {
    use common::fake_mixpanel::{FakeMixpanel, SA_SECRET, SA_USER, TOKEN};
    let server = FakeMixpanel::start_default();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = connect_harness_at(
        Secrets::with_store(SecretStore::mock()),
        dir.path().join("config"),
        Some(server.base_url()),
    );
    h.run();

    add_connection(&mut h, "Good", Some(SA_USER), SA_SECRET);
    let ok = test_connection_message(&mut h);
    assert!(ok.starts_with("Connected"), "{ok}");
    h.get_by_label(&ok);

    add_connection(&mut h, "Wrong secret", Some(SA_USER), "not-the-secret");
    let refused = test_connection_message(&mut h);
    assert!(!refused.starts_with("Connected"), "{refused}");
    assert!(!refused.is_empty());

    add_connection(&mut h, "Token", None, TOKEN);
    let token = test_connection_message(&mut h);
    assert!(token.contains("first batch"), "{token}");
}

/// A CSV of `rows` valid events.
fn write_events_csv(path: &std::path::Path, rows: usize) {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create csv"));
    writeln!(out, "event,user_id,time,plan").expect("write");
    for i in 0..rows {
        writeln!(
            out,
            "Page View,user_{},2025-{:02}-{:02}T10:{:02}:{:02}Z,pro",
            i % 977,
            1 + i % 12,
            1 + i % 28,
            i % 60,
            (i / 60) % 60
        )
        .expect("write");
    }
    out.flush().expect("flush");
}

fn app_in(dir: &std::path::Path, api_base: &str) -> (Harness<'static, MixportApp>, SecretStore) {
    let store = SecretStore::mock();
    let deps = AppDeps {
        file_dialog: Box::new(FakeFileDialog::new()),
        config_dir: dir.join("config"),
        secrets: Secrets::with_store(store.clone()),
        api_base: Some(api_base.to_owned()),
        sample_file: None,
        runs_dir: dir.join("runs"),
    };
    let harness = Harness::builder()
        .with_size(egui::vec2(1200.0, 900.0))
        .build_ui_state(
            |ui, app: &mut MixportApp| app.show(ui),
            MixportApp::new(deps),
        );
    (harness, store)
}

#[test]
fn pause_cancel_and_resume_on_the_next_start() {
    use common::fake_mixpanel::{FakeMixpanel, Faults, PROJECT_ID, SA_SECRET, SA_USER};
    const ROWS: usize = 100_000;
    let server = FakeMixpanel::start_default();
    server.set_faults(Faults {
        latency: std::time::Duration::from_millis(400),
        ..Faults::default()
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let csv_path = dir.path().join("events.csv");
    write_events_csv(&csv_path, ROWS);

    let (mut h, store) = app_in(dir.path(), &server.base_url());
    h.run();
    type_into(
        &mut h,
        "Open a file by path:",
        &csv_path.display().to_string(),
    );
    h.get_by_role_and_label(Role::Button, "Open").click();
    run_until(&mut h, "the file", |app| app.session().file.is_some());
    click(&mut h, "Next: Map");
    click(&mut h, "Next: Check");
    click(&mut h, "Run check");
    run_until(&mut h, "the check", |app| app.session().check_is_current());
    click(&mut h, "Next: Connect");
    // The same keychain across "restarts": save the secret in this store.
    click(&mut h, "Add a connection");
    type_into(&mut h, "Connection name", "Slow project");
    type_into(&mut h, "Project ID", PROJECT_ID);
    type_into(&mut h, "Service account username", SA_USER);
    type_into_role(
        &mut h,
        Role::PasswordInput,
        "Service account secret",
        SA_SECRET,
    );
    click(&mut h, "Save connection");
    click(&mut h, "Next: Import");
    h.get_by_label("I understand, import these events").click();
    h.run();
    click(&mut h, "Start import");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut slowest_frame = std::time::Duration::ZERO;
    while h.state().import_progress().is_none_or(|p| p.accepted == 0) {
        assert!(
            std::time::Instant::now() < deadline,
            "no batch was accepted"
        );
        let frame = std::time::Instant::now();
        h.step();
        slowest_frame = slowest_frame.max(frame.elapsed());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // The window stays responsive while the import runs (debug build, no GPU: a loose bound).
    eprintln!("slowest frame during the import: {slowest_frame:?}");
    assert!(
        slowest_frame < std::time::Duration::from_millis(100),
        "a frame took {slowest_frame:?} during the import"
    );

    // Pause: the button turns into Resume and the status says Paused.
    click(&mut h, "Pause");
    h.get_by_role_and_label(Role::Button, "Resume");
    h.get_by_label("Paused");
    click(&mut h, "Resume");
    click(&mut h, "Cancel import");
    run_until(&mut h, "the cancelled import", |app| app.session().imported);
    let first = h.state().session().import_result.clone().expect("result");
    assert!(first.cancelled);

    assert!(first.accepted > 0);
    assert!(first.accepted < ROWS as u64, "cancel came too late to test");
    h.get_by_label("The import was cancelled.");
    drop(h);

    // The next start offers to resume; resuming sends only what is missing.
    server.set_faults(Faults::default());
    let store_dir = dir.path();
    let deps = AppDeps {
        file_dialog: Box::new(FakeFileDialog::new()),
        config_dir: store_dir.join("config"),
        secrets: Secrets::with_store(store.clone()),
        api_base: Some(server.base_url()),
        sample_file: None,
        runs_dir: store_dir.join("runs"),
    };
    let mut h = Harness::builder()
        .with_size(egui::vec2(1200.0, 900.0))
        .build_ui_state(
            |ui, app: &mut MixportApp| app.show(ui),
            MixportApp::new(deps),
        );
    h.run();
    h.get_by_label_contains("did not finish");
    click(&mut h, "Resume import");
    run_until(&mut h, "the resumed file and its check", |app| {
        app.session().check_is_current()
    });
    assert_eq!(
        h.state()
            .session()
            .connection
            .as_ref()
            .map(|c| c.saved.name.clone()),
        Some("Slow project".to_owned())
    );
    click(&mut h, "Next: Connect");
    click(&mut h, "Next: Import");
    h.get_by_label_contains("Continue the interrupted import");
    h.get_by_label("I understand, import these events").click();
    h.run();
    click(&mut h, "Start import");
    run_until(&mut h, "the resumed import", |app| app.session().imported);
    let second = h.state().session().import_result.clone().expect("result");
    // Only the rows the first run did not deliver were sent.
    assert_eq!(second.accepted, ROWS as u64 - first.accepted);
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(second.report_file.as_ref().expect("report")).expect("read"),
    )
    .expect("json");
    assert_eq!(report["skipped"], serde_json::json!(first.accepted));
    assert!(!second.cancelled);
    assert_eq!(server.unique_count(), ROWS as u64);
    assert!(
        server.raw_count() < 2 * ROWS as u64,
        "the resumed run re-sent everything"
    );
    assert!(
        h.query_by_label_contains("did not finish").is_none(),
        "a finished import is still offered for resuming; its report: {report}"
    );
}

#[test]
fn ambiguous_dates_ask_for_the_day_order_before_the_check() {
    let mut t = app_with(None);
    t.harness.run();
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ambiguous_dates.csv");
    type_into(
        &mut t.harness,
        "Open a file by path:",
        &fixture.display().to_string(),
    );
    t.harness
        .get_by_role_and_label(Role::Button, "Open")
        .click();
    run_until(&mut t.harness, "the file", |app| {
        app.session().file.is_some()
    });
    click(&mut t.harness, "Next: Map");
    t.harness
        .get_by_label_contains("could be day/month or month/day");
    click_label(&mut t.harness, "Day first (31/12/2024)");
    assert!(t.harness.state().is_done(Step::Map));
    assert_eq!(
        t.harness.state().session().mapping.time.day_order,
        Some(mixport::mapping::DayOrder::DayFirst)
    );
    // 03/04/2024 10:00 read day first is 3 April.
    t.harness.get_by_label("2024-04-03 10:00:00 UTC");
}

#[test]
fn a_running_check_can_be_cancelled() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv_path = dir.path().join("big.csv");
    write_events_csv(&csv_path, 300_000);
    let mut t = app_with(None);
    t.harness.run();
    type_into(
        &mut t.harness,
        "Open a file by path:",
        &csv_path.display().to_string(),
    );
    t.harness
        .get_by_role_and_label(Role::Button, "Open")
        .click();
    run_until(&mut t.harness, "the file", |app| {
        app.session().file.is_some()
    });
    click(&mut t.harness, "Next: Map");
    click(&mut t.harness, "Next: Check");
    click(&mut t.harness, "Run check");
    click(&mut t.harness, "Cancel check");
    run_until(&mut t.harness, "the cancelled check", |app| !app.is_busy());
    let summary = t.harness.state().check_summary().cloned().expect("summary");
    assert!(summary.cancelled);
    assert!(summary.rows < 300_000);
    // A cancelled check does not count as done.
    assert!(!t.harness.state().is_done(Step::Check));
    t.harness.get_by_label_contains("The check was cancelled");
}

#[test]
fn changing_the_delimiter_reads_the_file_again() {
    let mut t = app_with(None);
    open_sample_by_path(&mut t);
    assert_eq!(
        t.harness
            .state()
            .session()
            .file
            .as_ref()
            .map(|f| f.sniff.columns.len()),
        Some(10)
    );
    t.harness
        .get_by_role_and_label(Role::ComboBox, "Delimiter:")
        .click();
    let _ = t.harness.run_ok();
    click_label(&mut t.harness, "semicolon ( ; )");
    run_until(&mut t.harness, "the re-read", |app| {
        !app.is_busy()
            && app
                .session()
                .file
                .as_ref()
                .is_some_and(|f| f.sniff.delimiter == b';')
    });
    let file = t.harness.state().session().file.clone().expect("file");
    assert_eq!(file.options.delimiter, Some(b';'));
    assert_eq!(
        file.sniff.columns.len(),
        1,
        "a comma file read with ';' has one column"
    );
}

#[test]
fn the_check_step_exports_rejected_rows_to_a_typed_path() {
    let mut t = app_with(None);
    open_sample_by_path(&mut t);
    click(&mut t.harness, "Next: Map");
    click(&mut t.harness, "Next: Check");
    click(&mut t.harness, "Run check");
    run_until(&mut t.harness, "the check", |app| {
        app.session().check_is_current()
    });
    let invalid = t
        .harness
        .state()
        .session()
        .checked
        .clone()
        .expect("checked")
        .invalid;
    let out = t.dir.path().join("typed.csv");
    type_into(
        &mut t.harness,
        "or save to path:",
        &out.display().to_string(),
    );
    click(&mut t.harness, "Save");
    let text = std::fs::read_to_string(&out).expect("exported");
    assert_eq!(text.lines().count() as u64, invalid + 1);
    assert!(
        text.lines()
            .next()
            .unwrap_or_default()
            .ends_with("_row,_field,_reason,_origin")
    );
    assert!(
        t.dialog.asked().is_empty(),
        "the typed path needs no dialog"
    );
}
