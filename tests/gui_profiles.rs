//! User profiles in the desktop app, driven through egui_kittest as a screen reader would
//! (controls by role and accessible name, results read from the labels on screen), against the
//! fake Mixpanel server's `/engage` and its profile store (tests/common/fake_mixpanel.rs).
//!
//! The expected profiles are computed here from `assets/sample-customers.csv` itself, with this
//! test's own country table and date reading, and compared with the fake's store field by
//! field.

#![cfg(feature = "gui")]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use mixport::credentials::SecretStore;
use mixport::gui::{AppDeps, FakeFileDialog, MixportApp, Secrets, Step};
use mixport::mapping::{ImportKind, ProfileOperation};
use mixport::session::connection::project_token_entry;
use serde_json::{Map, Value, json};

/// How long a test waits for background work before failing (the suite runs in parallel).
const BACKGROUND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

struct TestApp {
    harness: Harness<'static, MixportApp>,
    store: SecretStore,
    dir: tempfile::TempDir,
}

fn customers_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sample-customers.csv")
}

/// The app at the size of a small laptop screen, with fakes for the outside world.
fn app_with(api_base: Option<String>) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SecretStore::mock();
    let deps = AppDeps {
        file_dialog: Box::new(FakeFileDialog::new()),
        config_dir: dir.path().join("config"),
        secrets: Secrets::with_store(store.clone()),
        api_base,
        sample_file: Some(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sample-events.csv"),
        ),
        runs_dir: dir.path().join("runs"),
    };
    let harness = Harness::builder()
        .with_size(egui::vec2(1024.0, 700.0))
        .build_ui_state(
            |ui, app: &mut MixportApp| app.show(ui),
            MixportApp::new(deps),
        );
    TestApp {
        harness,
        store,
        dir,
    }
}

/// Run frames until no more repaints are requested. Fails after [`BACKGROUND_TIMEOUT`].
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

/// Every label on screen (for failure messages).
fn labels<S>(harness: &Harness<'static, S>) -> Vec<String> {
    harness
        .query_all_by_role(Role::Label)
        .filter_map(|n| n.accesskit_node().label())
        .collect()
}

/// Run frames until a label containing `text` is on screen, then until the UI settles.
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

/// Click a button and run frames.
fn click(harness: &mut Harness<'static, MixportApp>, label: &str) {
    click_role(harness, Role::Button, label);
}

/// Scroll a control (by role and exact name) into view, then click it.
fn click_role(harness: &mut Harness<'static, MixportApp>, role: Role, label: &str) {
    harness.get_by_role_and_label(role, label).scroll_to_me();
    let _ = harness.run_ok();
    harness.get_by_role_and_label(role, label).click();
    let _ = harness.run_ok();
}

/// Whether the button named `label` is enabled.
fn enabled<S>(harness: &Harness<'static, S>, label: &str) -> bool {
    !harness
        .get_by_role_and_label(Role::Button, label)
        .accesskit_node()
        .is_disabled()
}

fn type_into_role<S>(harness: &mut Harness<'static, S>, role: Role, label: &str, text: &str) {
    harness.get_by_role_and_label(role, label).scroll_to_me();
    let _ = harness.run_ok();
    harness.get_by_role_and_label(role, label).focus();
    let _ = harness.run_ok();
    harness.get_by_role_and_label(role, label).type_text(text);
    let _ = harness.run_ok();
}

/// Open `path` through the "Open a file by path" field and wait for its preview.
fn open_by_path(harness: &mut Harness<'static, MixportApp>, path: &Path) {
    let _ = harness.run_ok();
    harness
        .get_by_role_and_label(Role::TextInput, "Open a file by path:")
        .set_text_value_accesskit(&path.display().to_string());
    let _ = harness.run_ok();
    click(harness, "Open");
    let deadline = std::time::Instant::now() + BACKGROUND_TIMEOUT;
    while harness.state().session().file.is_none() || harness.state().is_busy() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out opening {}",
            path.display()
        );
        harness.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    settle(harness, "the file to load");
}

/// Check the open file (from the Map step) and wait for its counts.
fn run_check(harness: &mut Harness<'static, MixportApp>) {
    click(harness, "Next: Check");
    click(harness, "Run check");
    wait_for_text(harness, " valid");
}

/// Add a service account for the fake server in the Connect step, with the project token when
/// given, and use it.
fn add_fake_connection(
    harness: &mut Harness<'static, MixportApp>,
    name: &str,
    token: Option<&str>,
) {
    use common::fake_mixpanel::{PROJECT_ID, SA_SECRET, SA_USER};
    click(harness, "Add a connection");
    harness.get_by_label_contains("Optional: needed to update user profiles");
    type_into_role(harness, Role::TextInput, "Connection name", name);
    type_into_role(harness, Role::TextInput, "Project ID", PROJECT_ID);
    type_into_role(
        harness,
        Role::TextInput,
        "Service account username",
        SA_USER,
    );
    type_into_role(
        harness,
        Role::PasswordInput,
        "Service account secret",
        SA_SECRET,
    );
    if let Some(token) = token {
        type_into_role(
            harness,
            Role::PasswordInput,
            "Project token (for user profiles)",
            token,
        );
    }
    click(harness, "Save connection");
}

/// Confirm and start the import, then wait for its end.
fn import_and_wait(harness: &mut Harness<'static, MixportApp>) {
    click_role(
        harness,
        Role::CheckBox,
        "I understand, import these user profiles",
    );
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

/// The ISO code of each country name in the sample (this test's own table).
fn country_code(name: &str) -> Option<&'static str> {
    Some(match name {
        "Deutschland" | "Germany" => "DE",
        "United States" | "Vereinigte Staaten" => "US",
        "Österreich" => "AT",
        "Frankreich" | "France" => "FR",
        "United Kingdom" | "Vereinigtes Königreich" => "GB",
        "Italien" => "IT",
        "Schweiz" => "CH",
        "Niederlande" => "NL",
        "Spanien" => "ES",
        "" => return None,
        other => panic!("the test's table lacks '{other}'"),
    })
}

/// `2023-11-02` or `2024-01-15 09:30` (UTC) as `$created` is written.
fn created(value: &str) -> Option<String> {
    use chrono::{NaiveDate, NaiveDateTime};
    let time = NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M")
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    Some(time.format("%Y-%m-%dT%H:%M:%S").to_string())
}

/// What the sample must become: customer ID → profile properties, and the source rows that
/// must be rejected (empty ID, a placeholder ID, an unreadable sign-up date).
fn expected_profiles() -> (BTreeMap<String, Map<String, Value>>, Vec<u64>) {
    let mut reader = csv::Reader::from_path(customers_file()).expect("sample");
    let mut profiles = BTreeMap::new();
    let mut bad = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.expect("row");
        let row = i as u64 + 2;
        let id = &record[0];
        let signup = created(&record[6]);
        if id.is_empty() || id.eq_ignore_ascii_case("undefined") || signup.is_none() {
            bad.push(row);
            continue;
        }
        let mut p = Map::new();
        p.insert("$email".into(), json!(record[1]));
        p.insert("$first_name".into(), json!(record[2]));
        p.insert("$last_name".into(), json!(record[3]));
        if let Some(code) = country_code(&record[4]) {
            p.insert("$country_code".into(), json!(code));
        }
        p.insert("$city".into(), json!(record[5]));
        p.insert("$created".into(), json!(signup));
        p.insert("plan".into(), json!(record[7]));
        let value: f64 = record[8].parse().expect("number");
        p.insert("lifetime_value".into(), json!(value));
        profiles.insert(id.to_owned(), p);
    }
    (profiles, bad)
}

/// Compare the fake's profile store with `expected` field by field (numbers by value).
fn assert_profiles_equal(
    stored: &BTreeMap<String, Map<String, Value>>,
    expected: &BTreeMap<String, Map<String, Value>>,
) {
    assert_eq!(
        stored.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the profiles created"
    );
    for (id, want) in expected {
        let got = &stored[id];
        let names =
            |m: &Map<String, Value>| m.keys().cloned().collect::<std::collections::BTreeSet<_>>();
        assert_eq!(names(got), names(want), "the properties of {id}");
        for (name, value) in want {
            let same = match (value.as_f64(), got[name].as_f64()) {
                (Some(a), Some(b)) => (a - b).abs() < 1e-9,
                _ => got[name] == *value,
            };
            assert!(same, "{id}.{name}: stored {} , expected {value}", got[name]);
        }
    }
}

#[test]
fn a_customers_file_is_imported_as_user_profiles_through_the_whole_wizard() {
    use common::fake_mixpanel::{FakeMixpanel, PROJECT_ID, TOKEN};
    let server = FakeMixpanel::start_default();
    let mut t = app_with(Some(server.base_url()));
    let (expected, bad_rows) = expected_profiles();
    assert_eq!((expected.len(), bad_rows.len()), (17, 3));

    // File → Map: the suggestion chose user profiles and says why, in plain words.
    open_by_path(&mut t.harness, &customers_file());
    click(&mut t.harness, "Next: Map");
    assert_eq!(
        t.harness.state().session().mapping().map(|m| m.kind),
        Some(ImportKind::Profiles)
    );
    t.harness
        .get_by_role_and_label(Role::RadioButton, "User profiles");
    t.harness
        .get_by_label_contains("this looks like a file of people, one row each");
    // No event-only field where it does not apply.
    for event_only in ["Event name", "Insert ID", "Event preview"] {
        assert!(
            t.harness.query_all_by_label(event_only).next().is_none(),
            "'{event_only}' shown for profiles: {:#?}",
            labels(&t.harness)
        );
    }
    assert!(!shows(&t.harness, "mixport_import"), "an import label");
    for field in ["User ID", "E-mail", "First name", "Sign-up date"] {
        t.harness.get_by_role_and_label(Role::Label, field);
    }

    // Switching to events and back goes through the session: the event fields come and go.
    click_role(&mut t.harness, Role::RadioButton, "Events");
    assert_eq!(
        t.harness.state().session().mapping().map(|m| m.kind),
        Some(ImportKind::Events)
    );
    t.harness.get_by_role_and_label(Role::Label, "Event name");
    click_role(&mut t.harness, Role::RadioButton, "User profiles");
    assert_eq!(
        t.harness.state().session().mapping().map(|m| m.kind),
        Some(ImportKind::Profiles)
    );
    assert!(t.harness.query_all_by_label("Event name").next().is_none());

    // Country names resolved: the German and English names in the table, and the exact update
    // of the first row (Deutschland) and of the fourth (Vereinigte Staaten).
    t.harness.get_by_role_and_label(Role::Label, "Deutschland");
    t.harness
        .get_by_role_and_label(Role::Label, "Vereinigte Staaten");
    assert!(!shows(&t.harness, "(not recognised)"));
    wait_for_text(&mut t.harness, "\"$country_code\": \"DE\"");
    for _ in 0..3 {
        click(&mut t.harness, "Next row");
    }
    wait_for_text(&mut t.harness, "\"$country_code\": \"US\"");
    t.harness
        .get_by_role_and_label(Role::RadioButton, "Overwrite existing values");
    assert_eq!(
        t.harness
            .state()
            .session()
            .mapping()
            .map(|m| m.profile.operation),
        Some(ProfileOperation::Set)
    );

    // Check: the counts, in profiles.
    run_check(&mut t.harness);
    t.harness.get_by_label("20 rows");
    t.harness.get_by_label("17 valid");
    t.harness.get_by_label("3 invalid");
    t.harness
        .get_by_label_contains("The import would send 17 user profiles");

    // Connect: a service account with the project token, which goes to the keychain only.
    click(&mut t.harness, "Next: Connect");
    add_fake_connection(&mut t.harness, "Fake project", Some(TOKEN));
    assert_eq!(
        t.store
            .get(&project_token_entry("Fake project"))
            .expect("keychain")
            .map(|s| s.expose().to_owned()),
        Some(TOKEN.to_owned())
    );
    let config =
        std::fs::read_to_string(t.dir.path().join("config/config.json")).expect("config saved");
    assert!(!config.contains(TOKEN), "the token written to the config");

    // Import: the confirmation says what happens to existing profiles.
    click(&mut t.harness, "Next: Import");
    t.harness.get_by_label(
        "17 user profiles will be created or updated; existing values of the mapped properties are overwritten.",
    );
    assert!(!shows(&t.harness, "import these events"));
    import_and_wait(&mut t.harness);
    t.harness.get_by_label("The import is finished.");
    t.harness.get_by_label_contains(&format!(
        "17 user profiles were imported into project {PROJECT_ID}"
    ));
    t.harness
        .get_by_label_contains("3 rows were not sent because the check refused them");
    assert_profiles_equal(&server.profiles(), &expected);
    assert_eq!(server.raw_count(), 0, "events were sent");

    // Review: the rejected profiles, each with its source row.
    click(&mut t.harness, "Next: Review");
    wait_for_text(&mut t.harness, "3 rejected profiles shown");
    // Group titles name the field as the Map step does, Mixpanel's spelling beside it.
    t.harness
        .get_by_label_contains("Refused by the check (not sent): Sign-up date ($created)");
    t.harness
        .get_by_label_contains("Refused by the check (not sent): User ID ($distinct_id)");
    assert!(!shows(&t.harness, "rejected events"));
    for row in &bad_rows {
        t.harness
            .get_by_role_and_label(Role::Label, &format!("Row {row}"));
    }
    assert!(t.harness.state().is_done(Step::Review));

    // The history says what kind of import each run was.
    click(&mut t.harness, "Import history");
    wait_for_text(&mut t.harness, "Every import Mixport ran");
    t.harness
        .get_by_role_and_label(Role::Label, "User profiles");
    // Its details offer no export check (Mixpanel's export reads events only) and say where to
    // look instead.
    t.harness
        .get_all_by_role(Role::Link)
        .find(|link| {
            link.accesskit_node()
                .label()
                .is_some_and(|l| l.starts_with("20"))
        })
        .expect("the run's date link")
        .click();
    settle(&mut t.harness, "the run's details");
    t.harness.get_by_label("Kind: User profiles");
    assert!(!shows(&t.harness, "Verify in Mixpanel"));
    t.harness
        .get_by_label_contains("look the people up under Users");
}

#[test]
fn a_service_account_without_the_project_token_blocks_in_plain_words_until_it_is_added() {
    use common::fake_mixpanel::{FakeMixpanel, TOKEN};
    let server = FakeMixpanel::start_default();
    // An existing profile: "only fill empty values" must keep its e-mail and plan.
    let mut existing = Map::new();
    existing.insert("$email".into(), json!("anna@old.example"));
    existing.insert("plan".into(), json!("Enterprise"));
    server.seed_profile("C-1001", existing);
    let mut t = app_with(Some(server.base_url()));

    open_by_path(&mut t.harness, &customers_file());
    click(&mut t.harness, "Next: Map");
    click_role(&mut t.harness, Role::RadioButton, "Only fill empty values");
    assert_eq!(
        t.harness
            .state()
            .session()
            .mapping()
            .map(|m| m.profile.operation),
        Some(ProfileOperation::SetOnce)
    );
    run_check(&mut t.harness);
    t.harness.get_by_label("17 valid");

    click(&mut t.harness, "Next: Connect");
    add_fake_connection(&mut t.harness, "No token", None);
    t.harness.get_by_label_contains("has no project token");

    click(&mut t.harness, "Next: Import");
    t.harness.get_by_label_contains("has no project token");
    t.harness
        .get_by_label_contains("Project Settings, under Access Keys");
    assert!(!enabled(&t.harness, "Start import"));
    assert_eq!(server.engage_log().len(), 0, "something was sent");

    // Add the token to the saved connection: the secret field left empty keeps the secret.
    click(&mut t.harness, "4. Connect");
    click(&mut t.harness, "Edit No token");
    type_into_role(
        &mut t.harness,
        Role::PasswordInput,
        "Project token (for user profiles)",
        TOKEN,
    );
    click(&mut t.harness, "Save connection");
    assert!(!shows(&t.harness, "has no project token"));
    assert!(t.store.get("No token").expect("keychain").is_some());

    click(&mut t.harness, "Next: Import");
    t.harness.get_by_label(
        "17 user profiles will be created or updated; existing values of the mapped properties are kept (only empty ones are filled).",
    );
    import_and_wait(&mut t.harness);
    t.harness.get_by_label("The import is finished.");
    let anna = server.profile("C-1001").expect("profile C-1001");
    assert_eq!(anna["$email"], json!("anna@old.example"));
    assert_eq!(anna["plan"], json!("Enterprise"));
    assert_eq!(anna["$first_name"], json!("Anna"));
    assert_eq!(anna["$country_code"], json!("DE"));
    assert_eq!(server.profile_count(), 17);
}
