//! The desktop app driven through egui_kittest with injected fakes: a fake file dialog, keyring's
//! mock store, a temporary config folder and a fake Mixpanel server.
//!
//! The walks go through the AccessKit tree, as a screen reader would: controls are found by
//! their role and accessible name, results are read from the labels on screen.

#![cfg(feature = "gui")]

mod common;

use std::path::PathBuf;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use mixport::credentials::SecretStore;
use mixport::gui::{AppDeps, FakeFileDialog, MixportApp, Secrets, Step};

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

/// The sidebar's done marks are a drawn dot: a screen reader hears each step's state from the
/// button's accessible description ("File: done", "Map: to do", "…: finish the steps above
/// first"), which must follow the session.
#[test]
fn the_sidebar_announces_each_steps_state() {
    let mut t = app_with(None);
    t.harness.run();
    let state_of = |harness: &Harness<'static, MixportApp>, label: &str| {
        harness
            .get_by_label(label)
            .accesskit_node()
            .description()
            .unwrap_or_default()
    };
    assert_eq!(state_of(&t.harness, "1. File"), "File: to do");
    assert_eq!(
        state_of(&t.harness, "2. Map"),
        "Map: finish the steps above first"
    );
    open_sample_by_path(&mut t);
    settle(&mut t.harness, "the sample to load");
    assert_eq!(state_of(&t.harness, "1. File"), "File: done");
    assert_eq!(state_of(&t.harness, "2. Map"), "Map: done");
    assert_eq!(state_of(&t.harness, "3. Check"), "Check: to do");
    assert_eq!(
        state_of(&t.harness, "4. Connect"),
        "Connect: finish the steps above first"
    );
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
/// `MIXPORT_FAKE_STOP` exists (at most `MIXPORT_FAKE_SECS`, default 10 minutes).
/// `MIXPORT_FAKE_LATENCY_MS` delays every answer, so an import runs long enough to be
/// photographed; while the file named by `MIXPORT_FAKE_REFUSE` exists, every request is
/// answered 401 (credentials revoked mid-run).
#[test]
#[ignore = "helper for tests/screenshots.sh"]
fn serve_fake_mixpanel_for_screenshots() {
    use common::fake_mixpanel::{FakeMixpanel, Faults, PROJECT_ID, SA_SECRET, SA_USER, TOKEN};
    let server = FakeMixpanel::start_default();
    let latency = std::env::var("MIXPORT_FAKE_LATENCY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(std::time::Duration::from_millis)
        .unwrap_or_default();
    let faults = |refuse: bool| Faults {
        latency,
        force_401: refuse,
        ..Faults::default()
    };
    server.set_faults(faults(false));
    println!("FAKE_MIXPANEL_URL={}", server.base_url());
    println!("FAKE_MIXPANEL_USER={SA_USER}");
    println!("FAKE_MIXPANEL_SECRET={SA_SECRET}");
    println!("FAKE_MIXPANEL_PROJECT={PROJECT_ID}");
    println!("FAKE_MIXPANEL_TOKEN={TOKEN}");
    let path = |name: &str| std::env::var(name).ok().map(PathBuf::from);
    let (stop, refuse) = (path("MIXPORT_FAKE_STOP"), path("MIXPORT_FAKE_REFUSE"));
    let secs = std::env::var("MIXPORT_FAKE_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(600);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let mut refusing = false;
    while std::time::Instant::now() < deadline {
        if stop.as_ref().is_some_and(|p| p.exists()) {
            break;
        }
        let now_refusing = refuse.as_ref().is_some_and(|p| p.exists());
        if now_refusing != refusing {
            refusing = now_refusing;
            server.set_faults(faults(refusing));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The Connect step alone, with its own session and deps.
struct ConnectHarnessState {
    step: mixport::gui::steps::connect::ConnectStep,
    session: mixport::gui::state::Session,
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
                s.step.poll(ui.ctx(), &mut s.session);
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
    settle(&mut h, "the connect step");
    h.get_by_role_and_label(Role::Button, "Add a connection")
        .click();
    settle(&mut h, "the connect step");
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
    settle(&mut h, "the connect step");

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
    settle(&mut h, "the connect step");
    let form = h.state().step.form.clone().expect("form open");
    assert_eq!(form.name, "Test project");
    assert!(form.secret.is_empty());
    assert!(h.query_by_value("s3cret-value").is_none());
    h.get_by_role_and_label(Role::Button, "Cancel").click();
    settle(&mut h, "the connect step");

    // A restart lists the saved connection again.
    let mut again = connect_harness(Secrets::with_store(store.clone()), config_dir.clone());
    again.run();
    again.get_by_role_and_label(Role::Button, "Use Test project");

    h.get_by_role_and_label(Role::Button, "Delete Test project")
        .click();
    settle(&mut h, "the connect step");
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
    settle(&mut h, "the connect step");
    h.get_by_label_contains("No keychain is available on this computer");
    h.get_by_role_and_label(Role::Button, "Add a connection")
        .click();
    settle(&mut h, "the connect step");
    h.get_by_label_contains("Use for this session only");
    type_into(&mut h, "Connection name", "Token project");
    h.get_by_role_and_label(Role::RadioButton, "Project token")
        .click();
    settle(&mut h, "the connect step");
    type_into_role(&mut h, Role::PasswordInput, "Project token", "tok123");
    h.get_by_role_and_label(Role::Button, "Save connection")
        .click();
    settle(&mut h, "the connect step");
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

/// Run frames until a label containing `text` is in the AccessKit tree (what a screen reader
/// would read), then until the UI settles.
fn wait_for_text<S>(harness: &mut Harness<'static, S>, text: &str) {
    let deadline = std::time::Instant::now() + BACKGROUND_TIMEOUT;
    while harness.query_all_by_label_contains(text).next().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for '{text}' on screen: {:#?}",
            labels(harness)
        );
        harness.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = harness.run_ok();
}

/// Whether some accessible name on screen contains `text`.
fn shows<S>(harness: &Harness<'static, S>, text: &str) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}

/// Every label on screen (for failure messages).
fn labels<S>(harness: &Harness<'static, S>) -> Vec<String> {
    harness
        .query_all_by_role(Role::Label)
        .filter_map(|n| n.accesskit_node().label())
        .collect()
}

/// Open `path` through the "Open a file by path" field, as a user would, and wait for its
/// preview.
fn open_by_path(harness: &mut Harness<'static, MixportApp>, path: &std::path::Path) {
    let _ = harness.run_ok();
    if harness.query_by_label("Open a file by path:").is_none() {
        click(harness, "1. File");
    }
    // Set the field's text as a screen reader does (AccessKit's SetValue).
    harness
        .get_by_role_and_label(Role::TextInput, "Open a file by path:")
        .set_text_value_accesskit(&path.display().to_string());
    let _ = harness.run_ok();
    assert_eq!(
        harness
            .get_by_role_and_label(Role::TextInput, "Open a file by path:")
            .value()
            .as_deref(),
        Some(path.display().to_string().as_str())
    );
    click(harness, "Open");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let deadline = std::time::Instant::now() + BACKGROUND_TIMEOUT;
    loop {
        harness.step();
        let loaded = harness
            .query_by_label_contains(&format!("{name}: "))
            .is_some()
            && !harness.state().is_busy();
        let failed = !harness.state().is_busy() && harness.state().session().file.is_none();
        if loaded || failed {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out opening {name}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = harness.run_ok();
}

fn open_sample_by_path(t: &mut TestApp) {
    open_by_path(&mut t.harness, &sample_file());
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

/// Whether the button named `label` is enabled.
fn enabled<S>(harness: &Harness<'static, S>, label: &str) -> bool {
    !harness
        .get_by_role_and_label(Role::Button, label)
        .accesskit_node()
        .is_disabled()
}

/// Check the open file (from the Map step) and wait for its counts.
fn run_check(harness: &mut Harness<'static, MixportApp>) {
    click(harness, "Next: Check");
    click(harness, "Run check");
    wait_for_text(harness, " valid");
}

/// Add a service account for the fake server in the Connect step and use it.
fn add_fake_connection(harness: &mut Harness<'static, MixportApp>, name: &str) {
    use common::fake_mixpanel::{PROJECT_ID, SA_SECRET, SA_USER};
    click(harness, "Add a connection");
    type_into(harness, "Connection name", name);
    type_into(harness, "Project ID", PROJECT_ID);
    type_into(harness, "Service account username", SA_USER);
    type_into_role(
        harness,
        Role::PasswordInput,
        "Service account secret",
        SA_SECRET,
    );
    click(harness, "Save connection");
}

/// Confirm and start the import, then wait for its end (its headline on screen).
fn import_and_wait(harness: &mut Harness<'static, MixportApp>) {
    harness
        .get_by_role_and_label(Role::CheckBox, "I understand, import these events")
        .click();
    let _ = harness.run_ok();
    click(harness, "Start import");
    let deadline = std::time::Instant::now() + BACKGROUND_TIMEOUT;
    while harness.state().is_busy()
        || harness
            .query_by_label_contains("Accepted by Mixpanel")
            .is_some()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the import did not end"
        );
        harness.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = harness.run_ok();
}

#[test]
fn the_whole_wizard_on_the_sample_file_against_the_fake_server() {
    use common::fake_mixpanel::{FakeMixpanel, PROJECT_ID, SA_USER};
    let server = FakeMixpanel::start_default();
    let mut t = app_with(Some(server.base_url()));

    // File: by path, not through the dialog; the preview shows the first rows.
    open_sample_by_path(&mut t);
    t.harness.get_by_label_contains("sample-events.csv: ");
    t.harness
        .get_by_label_contains("Preview: the first 500 rows, 10 columns");
    assert!(t.harness.query_all_by_label("Log In").count() > 0);

    // Map: accept the suggestion; the exact JSON event of the first row is shown.
    click(&mut t.harness, "Next: Map");
    t.harness.get_by_label_contains("\"event\": \"Log In\"");
    assert!(enabled(&t.harness, "Next: Check"));

    // Change the time zone through the searchable list.
    type_into(&mut t.harness, "Search time zones:", "Berlin");
    click_label(&mut t.harness, "Europe/Berlin");
    t.harness.get_by_label("Source time zone: Europe/Berlin");

    // Resolve an unknown country value by hand: the list stays open while searching.
    t.harness
        .get_by_role_and_label(Role::ComboBox, "Atlantis (not recognised)")
        .scroll_to_me();
    let _ = t.harness.run_ok();
    t.harness
        .get_by_role_and_label(Role::ComboBox, "Atlantis (not recognised)")
        .click();
    let _ = t.harness.run_ok();
    type_into(&mut t.harness, "Search countries:", "Greece");
    assert!(
        t.harness.query_by_label("Austria (AT)").is_none(),
        "typing in the search filters the list"
    );
    click_label(&mut t.harness, "Greece (GR)");
    assert!(
        t.harness
            .query_by_label("Atlantis (not recognised)")
            .is_none()
    );

    // Check: run it and read its counts.
    run_check(&mut t.harness);
    t.harness.get_by_label("500 rows");
    t.harness.get_by_label("495 valid");
    t.harness.get_by_label("5 invalid");
    // Clicking an example row shows that row's values.
    let example = t
        .harness
        .query_all_by_role(Role::Link)
        .find(|n| {
            n.accesskit_node()
                .label()
                .is_some_and(|l| l.starts_with("Row "))
        })
        .map(|n| n.accesskit_node().label().unwrap_or_default())
        .expect("an example row");
    click_label(&mut t.harness, &example);
    t.harness
        .get_by_label(&format!("Values of {}", example.to_lowercase()));

    // Connect: add a service account (keyring mock store), test it.
    click(&mut t.harness, "Next: Connect");
    add_fake_connection(&mut t.harness, "Fake project");
    click(&mut t.harness, "Test connection");
    wait_for_text(
        &mut t.harness,
        &format!("Connected: the service account '{SA_USER}' can see project {PROJECT_ID}"),
    );

    // Import: the confirmation names file, project, region and counts; run it.
    click(&mut t.harness, "Next: Import");
    t.harness
        .get_by_label_contains("An import cannot be undone");
    t.harness.get_by_label("sample-events.csv");
    t.harness
        .get_by_label("495 valid of 500 rows (5 rows are refused by the check and not sent)");
    import_and_wait(&mut t.harness);
    t.harness.get_by_label("The import is finished.");
    t.harness.get_by_label_contains(&format!(
        "495 events were imported into project {PROJECT_ID}"
    ));
    t.harness
        .get_by_label_contains("5 rows were not sent because the check refused them");
    t.harness.get_by_label("500 of 500 rows done");
    t.harness
        .get_by_label_contains("The refused rows are listed in Review, where you can export them");
    assert_eq!(server.unique_count(), 495);

    // Review: rejected events grouped by who refused them, exported through the dialog. The
    // outcome points down to them, not to "Review" (the user is on it).
    click(&mut t.harness, "Next: Review");
    t.harness.get_by_label_contains("within a few minutes");
    t.harness
        .get_by_label_contains("The refused rows are listed below: export them to fix");
    assert!(!shows(&t.harness, "listed in Review"));
    wait_for_text(&mut t.harness, "5 rejected events shown");
    t.harness
        .get_by_label_contains("Refused by the check (not sent): Time (properties.time)");
    let export = t.dir.path().join("rejected-export.csv");
    t.dialog.answer_save(&export);
    click(&mut t.harness, "Export rejected rows…");
    wait_for_text(&mut t.harness, "Saved rejected rows to");
    let text = std::fs::read_to_string(&export).expect("export written");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        &header[header.len() - 4..],
        ["_row", "_field", "_reason", "_origin"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| &r[r.len() - 1] == "check"));
    assert!(t.harness.state().is_done(Step::Review));

    // Filtering narrows the list.
    type_into(&mut t.harness, "Filter:", "no-such-value-anywhere");
    t.harness.get_by_label_contains("0 rejected events shown");

    // The run is in the import history, with its file, project, label, date and outcome.
    click(&mut t.harness, "Import history");
    wait_for_text(&mut t.harness, "Every import Mixport ran");
    assert!(shows(&t.harness, "sample-events 20"));
    t.harness.get_by_label("Finished");
    t.harness.get_by_label("495");
    let date = t
        .harness
        .query_all_by_role(Role::Link)
        .filter_map(|n| n.accesskit_node().label())
        .find(|l| l.starts_with("20"))
        .expect("the run's date");
    click_label(&mut t.harness, &date);
    assert!(shows(
        &t.harness,
        &format!("Project: project {PROJECT_ID} (connection 'Fake project')")
    ));
}

/// A CSV of `rows` valid events with other columns than the sample's.
fn write_other_csv(path: &std::path::Path, rows: usize) {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create csv"));
    writeln!(out, "action,customer,happened_at,tier").expect("write");
    for i in 0..rows {
        writeln!(
            out,
            "Signup,cust_{},2025-{:02}-{:02}T08:{:02}:00Z,gold",
            i % 313,
            1 + i % 12,
            1 + i % 28,
            i % 60
        )
        .expect("write");
    }
    out.flush().expect("flush");
}

#[test]
fn a_second_file_shows_no_trace_of_the_first_on_any_step() {
    use common::fake_mixpanel::FakeMixpanel;
    let server = FakeMixpanel::start_default();
    let mut t = app_with(Some(server.base_url()));
    open_sample_by_path(&mut t);
    click(&mut t.harness, "Next: Map");
    run_check(&mut t.harness);
    click(&mut t.harness, "Next: Connect");
    add_fake_connection(&mut t.harness, "Fake project");
    click(&mut t.harness, "Next: Import");
    import_and_wait(&mut t.harness);
    click(&mut t.harness, "Next: Review");
    wait_for_text(&mut t.harness, "5 rejected events shown");

    // Another file: big enough that its check runs for a while.
    let other = t.dir.path().join("crm-export.csv");
    write_other_csv(&other, 200_000);
    open_by_path(&mut t.harness, &other);
    t.harness.get_by_label_contains("crm-export.csv: ");
    assert!(
        t.harness.query_by_label("Log In").is_none(),
        "the sample's preview"
    );
    assert_eq!(t.harness.state().window_title(), "crm-export.csv — Mixport");
    for step in [Step::Check, Step::Import, Step::Review] {
        assert!(
            !t.harness.state().is_done(step),
            "{step:?} still marked done"
        );
    }
    assert!(!t.harness.state().is_reachable(Step::Import));
    assert!(!t.harness.state().is_reachable(Step::Review));

    click(&mut t.harness, "Next: Map");
    assert!(
        !shows(&t.harness, "sample-events"),
        "the sample's import label"
    );
    click(&mut t.harness, "Next: Check");
    assert!(
        t.harness.query_all_by_label("500 rows").next().is_none(),
        "the sample's check"
    );
    click(&mut t.harness, "Run check");
    // While the new check runs, only its progress is on screen.
    let mut saw_progress = false;
    let deadline = std::time::Instant::now() + BACKGROUND_TIMEOUT;
    while t.harness.state().is_busy() {
        assert!(std::time::Instant::now() < deadline, "check timed out");
        saw_progress |= shows(&t.harness, "rows read");
        // Exact names: the progress text ("141,500 rows read") may contain the same digits.
        for old in ["495 valid", "500 rows"] {
            assert!(
                t.harness.query_all_by_label(old).next().is_none(),
                "the sample's counts during the check"
            );
        }
        t.harness.step();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let _ = t.harness.run_ok();
    assert!(saw_progress, "the check's progress was never shown");
    t.harness.get_by_label("200,000 rows");
    t.harness.get_by_label("200,000 valid");

    click(&mut t.harness, "Next: Connect");
    click(&mut t.harness, "Next: Import");
    assert!(
        !shows(&t.harness, "The import is finished"),
        "the sample's run"
    );
    assert!(!shows(&t.harness, "495 events"), "the sample's run");
    t.harness.get_by_label("crm-export.csv");
    t.harness
        .get_by_label_contains("200,000 valid of 200,000 rows");
    assert!(!t.harness.state().is_done(Step::Import));
    assert!(!enabled(&t.harness, "Next: Review"));
}

#[test]
fn an_empty_or_header_only_file_leaves_no_preview_behind() {
    let mut t = app_with(None);
    open_sample_by_path(&mut t);
    assert!(enabled(&t.harness, "Next: Map"));
    for fixture in ["empty.csv", "header_only.csv"] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(fixture);
        open_by_path(&mut t.harness, &path);
        t.harness.get_by_label_contains(fixture);
        t.harness
            .get_by_label_contains("Choose a file that has at least one event row");
        assert!(
            t.harness.query_by_label("Log In").is_none(),
            "{fixture}: old preview"
        );
        assert!(
            !enabled(&t.harness, "Next: Map"),
            "{fixture}: Next still enabled"
        );
        assert!(!t.harness.state().is_reachable(Step::Map));
    }
}

/// A CSV whose dates all read either way (every day and month ≤ 12).
fn write_ambiguous_csv(path: &std::path::Path, rows: usize) {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create csv"));
    writeln!(out, "event,user_id,timestamp").expect("write");
    for i in 0..rows {
        writeln!(
            out,
            "Log In,u{i},{:02}/{:02}/2024 10:{:02}",
            1 + i % 12,
            1 + (i / 12) % 12,
            i % 60
        )
        .expect("write");
    }
    out.flush().expect("flush");
}

#[test]
fn all_ambiguous_dates_keep_check_and_import_locked_until_answered() {
    let mut t = app_with(None);
    let path = t.dir.path().join("ambiguous.csv");
    write_ambiguous_csv(&path, 300);
    open_by_path(&mut t.harness, &path);
    click(&mut t.harness, "Next: Map");
    // The question is shown where it is answered, and blocks every step after Map.
    t.harness
        .get_by_label_contains("could be day/month or month/day. Which order does this file use?");
    assert!(!enabled(&t.harness, "Next: Check"));
    assert!(shows(&t.harness, "choose the order under Time"));
    for step in [Step::Check, Step::Connect, Step::Import, Step::Review] {
        assert!(!t.harness.state().is_reachable(step), "{step:?} reachable");
    }
    // Even on the Check step (opened from the sidebar before), the check cannot run.
    t.harness.state_mut().go_to(Step::Check);
    let _ = t.harness.run_ok();
    assert!(!enabled(&t.harness, "Run check"));
    t.harness.get_by_label("The check waits for the Map step:");

    click(&mut t.harness, "2. Map");
    click_label(&mut t.harness, "Day first (31/12/2024)");
    assert!(enabled(&t.harness, "Next: Check"));
    // 02/01/2024 10:01 read day first is 2 January.
    t.harness.get_by_label("2024-01-02 10:01:00 UTC");
    run_check(&mut t.harness);
    t.harness.get_by_label("300 rows");
    t.harness.get_by_label("300 valid");
    t.harness.get_by_label("0 invalid");
    assert!(t.harness.state().is_reachable(Step::Connect));
}

#[test]
fn mapping_problems_are_worded_without_json_or_flags() {
    let mut t = app_with(None);
    open_sample_by_path(&mut t);
    click(&mut t.harness, "Next: Map");
    t.harness
        .get_by_role_and_label(Role::ComboBox, "Event name")
        .click();
    let _ = t.harness.run_ok();
    click_label(&mut t.harness, "(not mapped)");
    assert!(shows(
        &t.harness,
        "Choose the column with the event name under Mixpanel fields"
    ));
    assert!(!enabled(&t.harness, "Next: Check"));
    for jargon in ["{\"from\"", "day_order", "--", "mixport suggest"] {
        assert!(
            t.harness.query_by_label_contains(jargon).is_none(),
            "'{jargon}' on screen"
        );
    }
    // A field the user maps by hand says so instead of "not found".
    let not_found = t.harness.query_all_by_label("not found").count();
    t.harness
        .get_by_role_and_label(Role::ComboBox, "Region")
        .click();
    let _ = t.harness.run_ok();
    t.harness
        .get_by_role_and_label(Role::Button, "referrer")
        .scroll_to_me();
    let _ = t.harness.run_ok();
    t.harness
        .get_by_role_and_label(Role::Button, "referrer")
        .click();
    let _ = t.harness.run_ok();
    assert_eq!(
        t.harness.query_all_by_label("not found").count(),
        not_found - 1
    );
    // The event name (unmapped) and the region (chosen) both say what the user did.
    assert_eq!(t.harness.query_all_by_label("chosen by you").count(), 1);
}

#[test]
fn reopening_a_file_restores_its_mapping_with_a_note_and_a_reset() {
    let mut t = app_with(None);
    open_sample_by_path(&mut t);
    click(&mut t.harness, "Next: Map");
    type_into(&mut t.harness, "Search time zones:", "Tokyo");
    click_label(&mut t.harness, "Asia/Tokyo");
    t.harness.get_by_label("Source time zone: Asia/Tokyo");
    // The mapping is remembered in the background.
    let memory = t.dir.path().join("config/remembered");
    let deadline = std::time::Instant::now() + BACKGROUND_TIMEOUT;
    while !walk(&memory)
        .iter()
        .any(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains("Asia/Tokyo")))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "mapping not remembered"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    // A new start of the app, the same file: the mapping is back, and says so.
    let deps = AppDeps {
        file_dialog: Box::new(FakeFileDialog::new()),
        config_dir: t.dir.path().join("config"),
        secrets: Secrets::with_store(SecretStore::mock()),
        api_base: None,
        sample_file: Some(sample_file()),
        runs_dir: t.dir.path().join("runs"),
    };
    let mut h = Harness::builder()
        .with_size(egui::vec2(1200.0, 900.0))
        .build_ui_state(
            |ui, app: &mut MixportApp| app.show(ui),
            MixportApp::new(deps),
        );
    open_by_path(&mut h, &sample_file());
    click(&mut h, "Next: Map");
    h.get_by_label_contains("Restored from your last session with this file");
    h.get_by_label("Source time zone: Asia/Tokyo");
    click(&mut h, "Start over from the suggestion");
    h.get_by_label("Source time zone: UTC");
}

#[test]
fn a_saved_template_is_applied_to_a_file_with_the_same_headers() {
    let mut t = app_with(None);
    let copy = t.dir.path().join("same-columns.csv");
    std::fs::copy(sample_file(), &copy).expect("copy");
    open_sample_by_path(&mut t);
    click(&mut t.harness, "Next: Map");
    type_into(&mut t.harness, "Search time zones:", "Tokyo");
    click_label(&mut t.harness, "Asia/Tokyo");
    type_into(&mut t.harness, "Template name:", "Shop export");
    click(&mut t.harness, "Save as template");
    wait_for_text(&mut t.harness, "Saved. Files with the same columns");
    // Another file with the same columns gets the template.
    open_by_path(&mut t.harness, &copy);
    click(&mut t.harness, "Next: Map");
    t.harness
        .get_by_label_contains("Applied your template 'Shop export'");
    t.harness.get_by_label("Source time zone: Asia/Tokyo");
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
    wait_for_text(&mut t.harness, "sample-events.csv: ");
    // A new app with the same config folder lists it under Recent.
    let mut again = app_with(None);
    let _ = again.dir;
    let deps = AppDeps {
        file_dialog: Box::new(FakeFileDialog::new()),
        config_dir: t.dir.path().join("config"),
        secrets: Secrets::with_store(SecretStore::mock()),
        api_base: None,
        sample_file: None,
        runs_dir: t.dir.path().join("runs"),
    };
    again.harness = Harness::builder()
        .with_size(egui::vec2(1200.0, 900.0))
        .build_ui_state(
            |ui, app: &mut MixportApp| app.show(ui),
            MixportApp::new(deps),
        );
    wait_for_text(&mut again.harness, "Recent:");
    again
        .harness
        .get_by_role_and_label(Role::Link, "sample-events.csv");
}

#[test]
fn try_with_sample_data_and_the_dialog_open_the_file_and_clear_the_note() {
    let mut t = app_with(None);
    t.harness.run();
    click(&mut t.harness, "Try with sample data");
    wait_for_text(&mut t.harness, "sample-events.csv: ");
    let mut t = app_with(None);
    t.harness.run();
    click(&mut t.harness, "Choose file…");
    t.harness.get_by_label_contains("No file was chosen");
    t.dialog.answer_open(sample_file());
    click(&mut t.harness, "Choose file…");
    wait_for_text(&mut t.harness, "sample-events.csv: ");
    assert!(
        !shows(&t.harness, "No file was chosen"),
        "the note stays after a file loaded"
    );
}

fn add_connection(
    h: &mut Harness<'static, ConnectHarnessState>,
    name: &str,
    user: Option<&str>,
    project: &str,
    secret: &str,
) {
    h.get_by_role_and_label(Role::Button, "Add a connection")
        .click();
    settle(h, "the connect step");
    type_into(h, "Connection name", name);
    match user {
        Some(user) => {
            type_into(h, "Project ID", project);
            type_into(h, "Service account username", user);
            type_into_role(h, Role::PasswordInput, "Service account secret", secret);
        }
        None => {
            h.get_by_role_and_label(Role::RadioButton, "Project token")
                .click();
            settle(h, "the connect step");
            type_into_role(h, Role::PasswordInput, "Project token", secret);
        }
    }
    h.get_by_role_and_label(Role::Button, "Save connection")
        .click();
    settle(h, "the connect step");
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
    let message = h
        .state()
        .step
        .test_result()
        .map(|r| match r {
            Ok(m) | Err(m) => m.clone(),
        })
        .unwrap_or_default();
    h.get_by_label(&message);
    message
}

/// A server on 127.0.0.1 that answers every request with a 404 page (not Mixpanel).
fn not_mixpanel_server() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = "<html><head><title>404 Not Found</title></head></html>";
            let _ = write!(
                stream,
                "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

#[test]
fn test_connection_tells_credentials_project_network_and_server_apart() {
    use common::fake_mixpanel::{FakeMixpanel, PROJECT_ID, SA_SECRET, SA_USER, TOKEN};
    let server = FakeMixpanel::start_default();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = connect_harness_at(
        Secrets::with_store(SecretStore::mock()),
        dir.path().join("config"),
        Some(server.base_url()),
    );
    h.run();

    add_connection(&mut h, "Good", Some(SA_USER), PROJECT_ID, SA_SECRET);
    assert!(test_connection_message(&mut h).starts_with("Connected"));

    add_connection(
        &mut h,
        "Wrong secret",
        Some(SA_USER),
        PROJECT_ID,
        "not-the-secret",
    );
    assert!(test_connection_message(&mut h).starts_with("Bad credentials"));

    add_connection(&mut h, "Wrong project", Some(SA_USER), "999", SA_SECRET);
    assert!(test_connection_message(&mut h).starts_with("Wrong project"));

    add_connection(&mut h, "Token", None, "", TOKEN);
    assert!(test_connection_message(&mut h).contains("first batch"));

    // Nothing listens on this port: no network.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let nowhere = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let mut h = connect_harness_at(
        Secrets::with_store(SecretStore::mock()),
        dir.path().join("config-2"),
        Some(nowhere),
    );
    h.run();
    add_connection(&mut h, "Offline", Some(SA_USER), PROJECT_ID, SA_SECRET);
    assert!(test_connection_message(&mut h).starts_with("No network"));

    // A web server that is not Mixpanel answers 404.
    let mut h = connect_harness_at(
        Secrets::with_store(SecretStore::mock()),
        dir.path().join("config-3"),
        Some(not_mixpanel_server()),
    );
    h.run();
    add_connection(&mut h, "Elsewhere", Some(SA_USER), PROJECT_ID, SA_SECRET);
    let message = test_connection_message(&mut h);
    assert!(
        message.starts_with("This server is not Mixpanel"),
        "{message}"
    );
    assert!(!message.contains("try again later"), "{message}");
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

fn app_in(
    dir: &std::path::Path,
    api_base: &str,
    store: &SecretStore,
) -> Harness<'static, MixportApp> {
    let deps = AppDeps {
        file_dialog: Box::new(FakeFileDialog::new()),
        config_dir: dir.join("config"),
        secrets: Secrets::with_store(store.clone()),
        api_base: Some(api_base.to_owned()),
        sample_file: None,
        runs_dir: dir.join("runs"),
    };
    Harness::builder()
        .with_size(egui::vec2(1200.0, 900.0))
        .build_ui_state(
            |ui, app: &mut MixportApp| app.show(ui),
            MixportApp::new(deps),
        )
}

/// Open `csv`, map, check, add the fake connection and start the import; returns once
/// Mixpanel accepted something (the run goes on).
fn start_import_of(h: &mut Harness<'static, MixportApp>, csv: &std::path::Path) {
    open_by_path(h, csv);
    click(h, "Next: Map");
    run_check(h);
    click(h, "Next: Connect");
    add_fake_connection(h, "Slow project");
    click(h, "Next: Import");
    h.get_by_role_and_label(Role::CheckBox, "I understand, import these events")
        .click();
    let _ = h.run_ok();
    click(h, "Start import");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while h.state().import_progress().is_none_or(|p| p.accepted == 0) {
        assert!(
            std::time::Instant::now() < deadline,
            "no batch was accepted"
        );
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A fake server answering after `latency_ms`, a CSV of `rows` events, a keychain, and an app
/// whose import of that CSV is under way (something was accepted already).
fn slow_import(
    rows: usize,
    latency_ms: u64,
) -> (
    common::fake_mixpanel::FakeMixpanel,
    tempfile::TempDir,
    PathBuf,
    SecretStore,
    Harness<'static, MixportApp>,
) {
    use common::fake_mixpanel::{FakeMixpanel, Faults};
    let server = FakeMixpanel::start_default();
    server.set_faults(Faults {
        latency: std::time::Duration::from_millis(latency_ms),
        ..Faults::default()
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let csv_path = dir.path().join("events.csv");
    write_events_csv(&csv_path, rows);
    let store = SecretStore::mock();
    let mut h = app_in(dir.path(), &server.base_url(), &store);
    start_import_of(&mut h, &csv_path);
    (server, dir, csv_path, store, h)
}

/// Run frames until no background work is left (the import stopped), then until the UI
/// settles.
fn wait_until_idle(h: &mut Harness<'static, MixportApp>, what: &str) {
    run_until(h, what, |app| !app.is_busy());
}

#[test]
fn a_run_refused_mid_way_says_so_and_is_not_offered_again_until_the_connection_changes() {
    use common::fake_mixpanel::Faults;
    const ROWS: usize = 100_000;
    let (server, dir, csv_path, store, mut h) = slow_import(ROWS, 300);
    // The credentials are revoked mid-run.
    server.set_faults(Faults {
        force_401: true,
        ..Faults::default()
    });
    wait_until_idle(&mut h, "the import did not stop");
    assert!(
        shows(&h, "Mixpanel refused the connection: the import stopped."),
        "{:#?}",
        labels(&h)
    );
    h.get_by_label_contains("Mixpanel answered HTTP 401");
    h.get_by_label_contains("Fix the connection in Connect");
    h.get_by_label_contains("rows were not sent");
    assert!(
        !shows(&h, "Open Review"),
        "a refused run sends the user to Review"
    );
    let imported = server.unique_count();
    assert!(imported > 0 && imported < ROWS as u64);
    // The bar counts what was done, never a full bar for a stopped run.
    let done = format!(
        "{} of 100,000 rows done",
        mixport::gui::words::thousands(imported)
    );
    assert!(shows(&h, &done), "'{done}' not in {:#?}", labels(&h));
    // Review tells the whole story: what was imported and what was never sent.
    click(&mut h, "Next: Review");
    h.get_by_label_contains(&format!(
        "{} events were imported",
        mixport::gui::words::thousands(imported)
    ));
    h.get_by_label_contains("rows were not sent");
    assert!(!shows(&h, "When will the events show up") || imported > 0);
    drop(h);

    // The next start does not offer to resume a run the same credentials would refuse again.
    server.set_faults(Faults::default());
    let mut h = app_in(dir.path(), &server.base_url(), &store);
    h.run();
    for _ in 0..20 {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        !shows(&h, "did not finish"),
        "the refused run is offered for resuming"
    );

    // Once the connection is saved again (a new secret), it is.
    open_by_path(&mut h, &csv_path);
    click(&mut h, "Next: Map");
    run_check(&mut h);
    click(&mut h, "Next: Connect");
    click(&mut h, "Edit Slow project");
    type_into_role(
        &mut h,
        Role::PasswordInput,
        "Service account secret",
        common::fake_mixpanel::SA_SECRET,
    );
    click(&mut h, "Save connection");
    click(&mut h, "Next: Import");
    wait_for_text(&mut h, "Continue the interrupted import");
}

#[test]
fn pause_cancel_and_after_a_crash_resume_counts_the_rows_already_sent() {
    use common::fake_mixpanel::Faults;
    const ROWS: usize = 100_000;
    let (server, dir, _csv_path, store, mut h) = slow_import(ROWS, 400);
    // The window stays responsive while the import runs (debug build, no GPU: a loose bound).
    let mut slowest_frame = std::time::Duration::ZERO;
    for _ in 0..20 {
        let frame = std::time::Instant::now();
        h.step();
        slowest_frame = slowest_frame.max(frame.elapsed());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
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
    wait_until_idle(&mut h, "cancel did not end the run");
    h.get_by_label("The import was cancelled.");
    h.get_by_label_contains("Start the import again to send the rest");
    let first = server.unique_count();
    assert!(
        first > 0 && first < ROWS as u64,
        "cancel came too late to test"
    );
    drop(h);

    // Make the run look as a crash leaves it: its history record never got its end.
    let history = dir.path().join("runs/history");
    for record in walk(&history) {
        let text = std::fs::read_to_string(&record).expect("record");
        let mut json: serde_json::Value = serde_json::from_str(&text).expect("json");
        json["end"] = serde_json::json!({"kind": "interrupted"});
        json["finished_at"] = serde_json::json!("");
        std::fs::write(&record, json.to_string()).expect("write record");
    }

    // The next start offers to resume; resuming sends only what is missing and says how many
    // rows were skipped as already sent.
    server.set_faults(Faults::default());
    let mut h = app_in(dir.path(), &server.base_url(), &store);
    h.run();
    wait_for_text(&mut h, "did not finish");
    h.get_by_label_contains("An import of events.csv into project");
    h.get_by_label_contains("Mixport was closed or stopped during it");
    click(&mut h, "Resume import");
    wait_for_text(&mut h, "100,000 valid");
    click(&mut h, "Next: Connect");
    click(&mut h, "Next: Import");
    wait_for_text(&mut h, "Continue the interrupted import");
    import_and_wait(&mut h);
    assert!(
        shows(&h, "skipped because an earlier run"),
        "no skipped count on screen: {:#?}",
        labels(&h)
    );
    h.get_by_label("The import is finished.");
    let already = mixport::gui::words::thousands(first);
    h.get_by_label_contains(&format!(
        "{already} rows were skipped because an earlier run had already sent them"
    ));
    h.get_by_label_contains(&format!("({already} already sent earlier)"));
    assert!(
        shows(&h, "100,000 of 100,000 rows done"),
        "{:#?}",
        labels(&h)
    );
    assert_eq!(server.unique_count(), ROWS as u64);
    assert!(
        server.raw_count() < 2 * ROWS as u64,
        "the resumed run re-sent everything"
    );
    drop(h);
    let mut h = app_in(dir.path(), &server.base_url(), &store);
    h.run();
    for _ in 0..20 {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        !shows(&h, "did not finish"),
        "a finished import is still offered"
    );
}

#[test]
fn a_running_check_can_be_cancelled_and_a_check_writes_no_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv_path = dir.path().join("big.csv");
    write_events_csv(&csv_path, 300_000);
    let mut t = app_with(None);
    open_by_path(&mut t.harness, &csv_path);
    click(&mut t.harness, "Next: Map");
    click(&mut t.harness, "Next: Check");
    click(&mut t.harness, "Run check");
    click(&mut t.harness, "Cancel check");
    run_until(&mut t.harness, "the cancelled check", |app| !app.is_busy());
    t.harness.get_by_label_contains("The check was cancelled");
    // A cancelled check does not count as done.
    assert!(!t.harness.state().is_done(Step::Check));
    assert!(!enabled(&t.harness, "Next: Connect"));
    click(&mut t.harness, "Run check");
    run_until(&mut t.harness, "the check", |app| !app.is_busy());
    t.harness.get_by_label("300,000 valid");
    let written: Vec<PathBuf> = walk(t.dir.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    assert!(written.is_empty(), "the check wrote {written:?}");
}

#[test]
fn changing_the_delimiter_reads_the_file_again_as_one_column() {
    let mut t = app_with(None);
    open_sample_by_path(&mut t);
    t.harness
        .get_by_role_and_label(Role::ComboBox, "Delimiter:")
        .click();
    let _ = t.harness.run_ok();
    click_label(&mut t.harness, "semicolon ( ; )");
    run_until(&mut t.harness, "the re-read", |app| {
        !app.is_busy() && app.session().file.is_some()
    });
    t.harness
        .get_by_label_contains("Preview: the first 500 rows, 1 column");
}

#[test]
fn the_check_step_exports_rejected_rows_to_a_typed_path_but_never_over_the_file() {
    let mut t = app_with(None);
    let input = t.dir.path().join("events.csv");
    std::fs::copy(sample_file(), &input).expect("copy");
    open_by_path(&mut t.harness, &input);
    click(&mut t.harness, "Next: Map");
    run_check(&mut t.harness);
    let out = t.dir.path().join("typed.csv");
    type_into(
        &mut t.harness,
        "or save to path:",
        &out.display().to_string(),
    );
    click(&mut t.harness, "Save");
    wait_for_text(&mut t.harness, "Saved 5 rejected rows to");
    let text = std::fs::read_to_string(&out).expect("exported");
    assert_eq!(text.lines().count(), 6);
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

    // The file being imported is never the export's target.
    let before = std::fs::read(&input).expect("input");
    t.dialog.answer_save(&input);
    click(&mut t.harness, "Export rejected rows…");
    wait_for_text(
        &mut t.harness,
        "is the same file as the file being imported",
    );
    assert_eq!(std::fs::read(&input).expect("input"), before);
}

// ---------------------------------------------------------------------------------------------
// "Did it land?": Verify in Mixpanel from Review and from the history, and "Fix and re-import"
// through the wizard, against the fake server's `/import` and raw export.

/// A fake server whose export answers without the 3-a-second pacing (the hourly budget stays).
fn export_server() -> common::fake_mixpanel::FakeMixpanel {
    use common::fake_mixpanel::{ExportConfig, FakeMixpanel};
    let server = FakeMixpanel::start_default();
    server.set_export(ExportConfig {
        queries_per_second: 0,
        ..ExportConfig::default()
    });
    server
}

/// A copy of the sample file named `name` in the test's folder.
fn sample_copy(t: &TestApp, name: &str) -> PathBuf {
    let path = t.dir.path().join(name);
    std::fs::copy(sample_file(), &path).expect("copy the sample");
    path
}

/// Import `file` through the whole wizard with the connection `use_connection` (a saved one:
/// "Use …") or, when `None`, a service account added in the Connect step; ends on Review.
fn import_through_the_wizard(
    h: &mut Harness<'static, MixportApp>,
    file: &std::path::Path,
    use_connection: Option<&str>,
) {
    open_by_path(h, file);
    click(h, "Next: Map");
    run_check(h);
    click(h, "Next: Connect");
    match use_connection {
        Some(name) => click(h, &format!("Use {name}")),
        None => add_fake_connection(h, "Fake project"),
    }
    click(h, "Next: Import");
    import_and_wait(h);
    click(h, "Next: Review");
}

/// The label of the run shown in Review.
fn reviewed_label(h: &Harness<'static, MixportApp>) -> String {
    h.state()
        .session()
        .file
        .as_ref()
        .and_then(|fs| fs.run.as_ref())
        .and_then(|r| r.label.clone())
        .expect("the run has an import label")
}

/// The insert IDs the fake server stored for events carrying `label`.
fn insert_ids_with_label(
    server: &common::fake_mixpanel::FakeMixpanel,
    label: &str,
) -> std::collections::BTreeSet<String> {
    server
        .events_raw()
        .into_iter()
        .filter(|e| {
            e.properties
                .get(mixport::mapping::IMPORT_LABEL_PROPERTY)
                .and_then(|v| v.as_str())
                == Some(label)
        })
        .filter_map(|e| e.insert_id)
        .collect()
}

#[test]
fn verify_in_mixpanel_on_review_finds_every_event_and_the_history_does_too_after_a_restart() {
    let server = export_server();
    let mut t = app_with(Some(server.base_url()));
    let file = sample_copy(&t, "sample-events.csv");
    import_through_the_wizard(&mut t.harness, &file, None);
    assert_eq!(server.unique_count(), 495);

    // One click on Review reads the run back from Mixpanel's export.
    click(&mut t.harness, "Verify in Mixpanel");
    wait_for_text(&mut t.harness, "All 495 events of run");
    assert!(shows(&t.harness, "59 of 60 export queries left this hour"));
    assert!(shows(&t.harness, "can take up to an hour"));
    assert_eq!(server.counters().export_requests, 1);
    drop(t.harness);

    // After a restart, the same run is verified from the import history.
    let mut h = app_in(t.dir.path(), &server.base_url(), &t.store);
    let _ = h.run_ok();
    click(&mut h, "Import history");
    wait_for_text(&mut h, "Every import Mixport ran");
    let date = h
        .query_all_by_role(Role::Link)
        .filter_map(|n| n.accesskit_node().label())
        .find(|l| l.starts_with("20"))
        .expect("the run's date");
    click_label(&mut h, &date);
    click(&mut h, "Verify in Mixpanel");
    wait_for_text(&mut h, "All 495 events of run");
    assert!(shows(&h, "58 of 60 export queries left this hour"));
    assert_eq!(server.counters().export_requests, 2);
}

#[test]
fn verify_lists_the_source_rows_of_events_missing_from_mixpanel() {
    let server = export_server();
    let mut t = app_with(Some(server.base_url()));
    // Events not in the export right after the import count as missing, not "not yet visible".
    t.harness
        .state_mut()
        .set_verify_processing_window(std::time::Duration::ZERO);
    let file = sample_copy(&t, "sample-events.csv");
    import_through_the_wizard(&mut t.harness, &file, None);
    // Mixpanel lost the first row's Log In and the fourth row's Purchase.
    let lost: Vec<String> = server
        .events_raw()
        .into_iter()
        .filter(|e| {
            let user = ["distinct_id", "$user_id"]
                .iter()
                .find_map(|k| e.properties.get(*k).and_then(|v| v.as_str()));
            (e.event == "Log In" && user == Some("user_0036"))
                || (e.event == "Purchase" && user == Some("user_0088"))
        })
        .filter_map(|e| e.insert_id)
        .collect();
    assert!(lost.len() >= 2, "the sample's rows 2 and 5 were imported");
    server.hide_from_export(lost.clone());
    click(&mut t.harness, "Verify in Mixpanel");
    wait_for_text(
        &mut t.harness,
        &format!("{} of 495 events of run", lost.len()),
    );
    assert!(shows(&t.harness, "are missing from Mixpanel"));
    assert!(
        shows(&t.harness, "Row 2 — Log In"),
        "{:#?}",
        labels(&t.harness)
    );
    assert!(shows(&t.harness, "Row 5 — Purchase"));
    assert!(shows(&t.harness, "user_0088"));
    assert!(shows(&t.harness, "not-found.csv"));
}

#[test]
fn a_project_token_run_says_why_it_cannot_be_verified_and_how_to_add_a_service_account() {
    use mixport::config::{ConfigStore, Connection, ConnectionKind, Region};
    use mixport::credentials::SecretString;
    let server = export_server();
    let mut t = app_with(Some(server.base_url()));
    // A saved token connection, there when the app starts.
    ConfigStore::at(t.dir.path().join("config"))
        .save_connection(
            Connection {
                name: "Fake token".to_owned(),
                region: Region::Us,
                project_id: None,
                kind: ConnectionKind::ProjectToken,
                username: None,
            },
            &SecretString::new(common::fake_mixpanel::TOKEN),
            &t.store,
        )
        .expect("save the token connection");
    t.harness = app_in(t.dir.path(), &server.base_url(), &t.store);
    let file = sample_copy(&t, "sample-events.csv");
    import_through_the_wizard(&mut t.harness, &file, Some("Fake token"));
    assert_eq!(server.unique_count(), 495);
    click(&mut t.harness, "Verify in Mixpanel");
    wait_for_text(&mut t.harness, "This run cannot be checked yet");
    assert!(shows(
        &t.harness,
        "a project token cannot read events back from Mixpanel"
    ));
    assert!(shows(&t.harness, "Service Accounts"));
    assert!(shows(&t.harness, "add it in the Connect step"));
    assert!(
        !shows(&t.harness, "MP_ACCT"),
        "no environment variables in the app"
    );
    assert_eq!(server.counters().export_requests, 0);
}

#[test]
fn fix_and_reimport_leads_through_the_wizard_with_a_new_generation_and_label() {
    let server = export_server();
    let mut t = app_with(Some(server.base_url()));
    let file = sample_copy(&t, "sample-events.csv");
    import_through_the_wizard(&mut t.harness, &file, None);
    let old_label = reviewed_label(&t.harness);
    let old_ids = insert_ids_with_label(&server, &old_label);
    assert_eq!(old_ids.len(), 495);
    click(&mut t.harness, "Verify in Mixpanel");
    wait_for_text(&mut t.harness, "All 495 events of run");

    // The walk: what Mixpanel allows, then the corrected file and the new label.
    click(&mut t.harness, "Fix and re-import…");
    wait_for_text(&mut t.harness, "at most 10 deletions a month");
    // The sample's events are from 2023 to 2025: too old for Mixpanel to delete.
    assert!(shows(
        &t.harness,
        "All 495 events of this run are older than 180 days: Mixpanel cannot delete any of them."
    ));
    click(&mut t.harness, "Next: the corrected file");
    let corrected = sample_copy(&t, "sample-events-fixed.csv");
    t.dialog.answer_open(&corrected);
    click(&mut t.harness, "Choose file…");
    assert!(shows(
        &t.harness,
        "Insert-ID generation: 1 (the run used 0)"
    ));
    click(&mut t.harness, "Next: confirm");
    assert!(shows(&t.harness, "will exist twice in Mixpanel"));
    t.harness
        .get_by_role_and_label(Role::CheckBox, "I understand which events will exist twice")
        .click();
    let _ = t.harness.run_ok();
    click(&mut t.harness, "Open the corrected file for import");

    // The corrected file opens in the wizard, its mapping carrying the new generation and label.
    wait_for_text(&mut t.harness, "sample-events-fixed.csv: ");
    assert_eq!(t.harness.state().current_step(), Step::File);
    let new_label = format!("{old_label} fix 1");
    let mapping = t
        .harness
        .state()
        .session()
        .mapping()
        .cloned()
        .expect("the corrected file's mapping");
    assert_eq!(mapping.insert_id_generation, 1);
    assert_eq!(
        mixport::session::run::import_label(&mapping).as_deref(),
        Some(new_label.as_str())
    );
    assert!(shows(&t.harness, "Correcting run"), "the banner");
    click(&mut t.harness, "Next: Map");
    run_check(&mut t.harness);
    click(&mut t.harness, "Next: Connect");
    click(&mut t.harness, "Next: Import");
    // The confirmation says plainly what exists twice unless the old events are deleted first.
    assert!(shows(&t.harness, "Insert-ID generation"));
    assert!(shows(
        &t.harness,
        "1 (new: every event gets a new insert ID)"
    ));
    assert!(shows(&t.harness, "will exist twice in Mixpanel"));
    assert!(shows(&t.harness, &format!("label \"{old_label}\"")));
    assert!(shows(&t.harness, "cannot be deleted at all"));
    import_and_wait(&mut t.harness);
    t.harness.get_by_label("The import is finished.");

    // Every event has a new insert ID and the new label; the mapping kept records both.
    let new_ids = insert_ids_with_label(&server, &new_label);
    assert_eq!(new_ids.len(), 495);
    assert!(new_ids.is_disjoint(&old_ids));
    assert_eq!(server.unique_count(), 990);
    // The run just shown, as the history recorded it (two runs can start in the same second,
    // so not "the newest").
    let fixed_id = t
        .harness
        .state()
        .session()
        .file
        .as_ref()
        .and_then(|fs| fs.run.as_ref())
        .map(|r| r.id.clone())
        .expect("the corrected run");
    let runs = mixport::session::history::list(&t.dir.path().join("runs"));
    assert_eq!(runs.len(), 2);
    let fixed = runs
        .iter()
        .find(|r| r.id == fixed_id)
        .expect("the corrected run in the history");
    assert_eq!(fixed.mapping.insert_id_generation, 1);
    assert_eq!(fixed.label.as_deref(), Some(new_label.as_str()));
}
