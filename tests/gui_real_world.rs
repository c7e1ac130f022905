//! The app on real-world files (tests/fixtures/real_world/): header rows under a title, other
//! languages, export presets and locale numbers, driven through the AccessKit tree as a screen
//! reader would (controls found by role and accessible name, results read from the labels).

#![cfg(feature = "gui")]

use std::path::{Path, PathBuf};

use egui::accesskit::{Role, Toggled};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use mixport::credentials::SecretStore;
use mixport::gui::{AppDeps, FakeFileDialog, MixportApp, Secrets, Step};
use mixport::mapping::DecimalSeparator;

/// How long a test waits for background work before failing (the suite runs in parallel).
const BACKGROUND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

struct TestApp {
    harness: Harness<'static, MixportApp>,
    _dir: tempfile::TempDir,
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/real_world")
        .join(name)
}

/// The app at the size of a small laptop screen, with fakes for the outside world.
fn app() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let deps = AppDeps {
        file_dialog: Box::new(FakeFileDialog::new()),
        config_dir: dir.path().join("config"),
        secrets: Secrets::with_store(SecretStore::mock()),
        api_base: None,
        sample_file: None,
        runs_dir: dir.path().join("runs"),
    };
    let harness = Harness::builder()
        .with_size(egui::vec2(1024.0, 700.0))
        .build_ui_state(
            |ui, app: &mut MixportApp| app.show(ui),
            MixportApp::new(deps),
        );
    TestApp { harness, _dir: dir }
}

/// Run frames until nothing more is requested (fails after [`BACKGROUND_TIMEOUT`]).
fn settle(harness: &mut Harness<'static, MixportApp>, what: &str) {
    let deadline = std::time::Instant::now() + BACKGROUND_TIMEOUT;
    while harness.run_ok().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the window kept repainting after {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Run frames until no file is being read, then until the window settles.
fn wait_for_load(harness: &mut Harness<'static, MixportApp>, what: &str) {
    let deadline = std::time::Instant::now() + BACKGROUND_TIMEOUT;
    loop {
        harness.step();
        if !harness.state().is_busy() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out reading {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    settle(harness, what);
}

/// Open `path` through the File step's path field, as a user types it.
fn open_by_path(t: &mut TestApp, path: &Path) {
    t.harness.run();
    t.harness
        .get_by_role_and_label(Role::TextInput, "Open a file by path:")
        .set_text_value_accesskit(&path.display().to_string());
    t.harness.run();
    click(&mut t.harness, "Open");
    wait_for_load(&mut t.harness, &path.display().to_string());
    assert!(
        t.harness.state().session().file.is_some(),
        "{} did not open",
        path.display()
    );
}

/// Scroll a button into view and click it.
fn click(harness: &mut Harness<'static, MixportApp>, label: &str) {
    harness
        .get_by_role_and_label(Role::Button, label)
        .scroll_to_me();
    let _ = harness.run_ok();
    harness.get_by_role_and_label(Role::Button, label).click();
    let _ = harness.run_ok();
}

/// Scroll a widget (found by its exact label) into view and click it.
fn click_label(harness: &mut Harness<'static, MixportApp>, label: &str) {
    harness.get_by_label(label).scroll_to_me();
    let _ = harness.run_ok();
    harness.get_by_label(label).click();
    let _ = harness.run_ok();
}

/// Open a combo box (found by its accessible name) and choose `option`.
fn choose(harness: &mut Harness<'static, MixportApp>, combo: &str, option: &str) {
    harness
        .get_by_role_and_label(Role::ComboBox, combo)
        .scroll_to_me();
    let _ = harness.run_ok();
    harness.get_by_role_and_label(Role::ComboBox, combo).click();
    let _ = harness.run_ok();
    click_label(harness, option);
}

/// Whether a label containing `text` is on screen.
fn shows(harness: &Harness<'static, MixportApp>, text: &str) -> bool {
    harness.query_by_label_contains(text).is_some()
}

/// The text shown in the combo box named `label`.
fn combo_text(harness: &Harness<'static, MixportApp>, label: &str) -> String {
    harness
        .get_by_role_and_label(Role::ComboBox, label)
        .value()
        .unwrap_or_default()
}

fn open_map(t: &mut TestApp, name: &str) {
    open_by_path(t, &fixture(name));
    click(&mut t.harness, "Next: Map");
    assert_eq!(t.harness.state().current_step(), Step::Map);
}

#[test]
fn a_german_file_shows_german_evidence_and_resolves_vereinigte_staaten() {
    let mut t = app();
    open_map(&mut t, "de_excel.csv");
    // The confidence column says why, in the file's language.
    for evidence in [
        "Column name 'Ereignis' means the event name (German)",
        "Column name 'Benutzer-ID' means the user ID (German)",
        "Column name 'Land' means the country (German, Dutch); 100% of values are country names",
    ] {
        assert!(shows(&t.harness, evidence), "no evidence '{evidence}'");
    }
    assert_eq!(combo_text(&t.harness, "Event name"), "Ereignis");
    assert_eq!(combo_text(&t.harness, "User ID"), "Benutzer-ID");
    assert_eq!(combo_text(&t.harness, "Country"), "Land");
    // German country names resolve; none asks to be picked by hand.
    for (value, country) in [
        ("Vereinigte Staaten", "United States"),
        ("Niederlande", "Netherlands"),
        ("Vereinigtes Königreich", "United Kingdom"),
    ] {
        assert_eq!(combo_text(&t.harness, value), country, "{value}");
    }
    assert!(!shows(&t.harness, "(not recognised)"));
    // The blank country cell is counted.
    assert!(shows(
        &t.harness,
        "1 of the first 16 rows has no country: it is sent without one."
    ));
    // `12,50` is a number with a decimal comma.
    assert_eq!(
        combo_text(&t.harness, "Decimal separator in 'Umsatz':"),
        "Comma (1.234,56)"
    );
    assert!(t.harness.state().is_done(Step::Map));
}

#[test]
fn a_segment_export_is_labelled_and_mapped_as_segment_writes_it() {
    let mut t = app();
    open_map(&mut t, "segment.ndjson");
    t.harness.get_by_label("Looks like a Segment export");
    assert!(shows(
        &t.harness,
        "Segment exports write a unique event ID to 'messageId'"
    ));
    assert_eq!(combo_text(&t.harness, "Insert ID"), "messageId");
    // Simplified ID merge: both IDs are shown where they are chosen, not "no user column".
    assert_eq!(combo_text(&t.harness, "User ID"), "userId");
    assert_eq!(combo_text(&t.harness, "Device ID"), "anonymousId");
    assert!(!shows(&t.harness, "not mapped"));
    // messageId values are longer than Mixpanel allows: the user is told they are hashed.
    assert!(shows(
        &t.harness,
        "12 of the first 12 values are not valid Mixpanel insert IDs"
    ));
    // Changing the device column is the user's choice and is kept.
    choose(&mut t.harness, "Device ID", "(none)");
    let mapping = t.harness.state().session().mapping().expect("mapping");
    assert_eq!(mapping.user_id.as_deref(), Some("userId"));
    assert_eq!(mapping.device_id, None);
    assert_eq!(combo_text(&t.harness, "User ID"), "userId");
}

#[test]
fn a_decimal_comma_column_can_be_switched_and_its_outliers_are_listed() {
    let mut t = app();
    open_map(&mut t, "decimal_comma.csv");
    let combo = "Decimal separator in 'Betrag':";
    assert_eq!(combo_text(&t.harness, combo), "Comma (1.234,56)");
    assert!(shows(&t.harness, "'1.000,00 €' as 1000.00"));
    assert!(shows(
        &t.harness,
        "2 of 100 values are not numbers read this way: sent as text, each with a warning in the check: 'k. A.', 'storniert'"
    ));
    // The currency is offered as a property, ticked as suggested.
    let offer = "Send the currency (EUR)";
    let ticked = |harness: &Harness<'static, MixportApp>| {
        harness
            .get_by_role_and_label(Role::CheckBox, offer)
            .accesskit_node()
            .toggled()
    };
    assert_eq!(ticked(&t.harness), Some(Toggled::True));
    assert_eq!(
        t.harness
            .get_by_role_and_label(Role::TextInput, "as the property:")
            .value()
            .as_deref(),
        Some("Betrag_currency")
    );

    // Read with a decimal point, the same values are mostly not numbers: the app says so.
    choose(&mut t.harness, combo, "Point (1,234.56)");
    assert_eq!(combo_text(&t.harness, combo), "Point (1,234.56)");
    assert!(shows(
        &t.harness,
        "the values look like a comma is the decimal separator"
    ));
    assert!(!shows(&t.harness, "'1.000,00 €' as 1000.00"));
    let betrag = |app: &MixportApp| {
        app.session()
            .mapping()
            .and_then(|m| m.columns.iter().find(|c| c.column == "Betrag").cloned())
            .expect("Betrag is a property")
    };
    assert_eq!(betrag(t.harness.state()).decimal, DecimalSeparator::Point);

    // Back to the comma; the currency is dropped on request.
    choose(&mut t.harness, combo, "Comma (1.234,56)");
    assert!(shows(&t.harness, "'1.000,00 €' as 1000.00"));
    t.harness
        .get_by_role_and_label(Role::CheckBox, offer)
        .click();
    let _ = t.harness.run_ok();
    assert_eq!(ticked(&t.harness), Some(Toggled::False));
    let column = betrag(t.harness.state());
    assert_eq!(column.decimal, DecimalSeparator::Comma);
    assert_eq!(column.currency_property, None);
    assert!(shows(&t.harness, "the numbers are sent without it"));
}

#[test]
fn a_time_zone_named_in_the_title_is_shown_with_keep_and_change() {
    let mut t = app();
    open_map(&mut t, "title_row.csv");
    let zone = |app: &MixportApp| {
        app.session()
            .mapping()
            .map(|m| m.time.timezone.clone())
            .unwrap_or_default()
    };
    // The suggestion reads the times in the title's zone, and says so where the zone is set.
    assert_eq!(zone(t.harness.state()), "Europe/Berlin");
    t.harness.get_by_label("Source time zone: Europe/Berlin");
    assert!(shows(
        &t.harness,
        "From the file's title: Europe/Berlin ('Bestellungen März 2024 (Zeitzone: Europe/Berlin)')"
    ));
    click(&mut t.harness, "Keep Europe/Berlin");
    assert!(shows(
        &t.harness,
        "Europe/Berlin comes from the file's title ('Bestellungen März 2024 (Zeitzone: Europe/Berlin)'), kept by you."
    ));
    assert!(t.harness.query_by_label("Keep Europe/Berlin").is_none());

    // Another zone is the user's choice; the title's zone stays one click away.
    t.harness
        .get_by_role_and_label(Role::TextInput, "Search time zones:")
        .set_text_value_accesskit("Tokyo");
    let _ = t.harness.run_ok();
    click_label(&mut t.harness, "Asia/Tokyo");
    assert_eq!(zone(t.harness.state()), "Asia/Tokyo");
    assert!(shows(
        &t.harness,
        "times are read in Asia/Tokyo as you chose."
    ));
    click(&mut t.harness, "Use Europe/Berlin");
    assert_eq!(zone(t.harness.state()), "Europe/Berlin");
    // 10:30 in Berlin (winter time, UTC+1) is 09:30 UTC.
    assert!(shows(&t.harness, "2024-03-20 09:30:00 UTC"));
}

/// The open file's columns.
fn columns(harness: &Harness<'static, MixportApp>) -> Vec<String> {
    harness
        .state()
        .session()
        .opened()
        .map(|f| f.columns().to_vec())
        .unwrap_or_default()
}

/// Whether the button named `label` is shown selected.
fn selected(harness: &Harness<'static, MixportApp>, label: &str) -> bool {
    harness
        .get_by_role_and_label(Role::Button, label)
        .accesskit_node()
        .toggled()
        == Some(Toggled::True)
}

/// Click a row's number in the header-row section and wait for the file to be read again.
fn pick_header_row(t: &mut TestApp, row: u64) {
    click(&mut t.harness, &format!("Row {row}"));
    wait_for_load(
        &mut t.harness,
        &format!("the file with row {row} as the header"),
    );
}

#[test]
fn a_csv_title_row_is_shown_skipped_and_another_header_row_can_be_clicked() {
    let mut t = app();
    open_by_path(&mut t, &fixture("title_row.csv"));
    assert!(shows(
        &t.harness,
        "Column names are on row 3; the 2 rows above (a title, notes or blank rows) are skipped."
    ));
    assert_eq!(
        columns(&t.harness),
        ["Aktion", "Kundennummer", "Datum", "Land"]
    );
    // The rows as written, the title too, with the header row marked.
    assert!(shows(
        &t.harness,
        "Bestellungen März 2024 (Zeitzone: Europe/Berlin)"
    ));
    assert!(selected(&t.harness, "Row 3"));
    assert!(!selected(&t.harness, "Row 1"));
    // The engine's own note about the header is not repeated below the settings.
    assert!(!shows(&t.harness, "the header is on row"));

    // Row 4 as the header: its values become the columns, and the mapping is suggested anew.
    pick_header_row(&mut t, 4);
    let picked = ["Bestellung", "50000", "2024-03-20 10:30", "DE"];
    assert_eq!(columns(&t.harness), picked);
    assert!(shows(
        &t.harness,
        "Column names are on row 4; the 3 rows above (a title, notes or blank rows) are skipped, as you chose."
    ));
    assert!(selected(&t.harness, "Row 4"));
    let mapping = t.harness.state().session().mapping().expect("mapping");
    assert_eq!(mapping.headers, picked);
    assert!(
        mapping
            .columns
            .iter()
            .all(|c| picked.contains(&c.column.as_str())),
        "the mapping kept another header's columns: {:?}",
        mapping.columns
    );

    // Back to row 3: the names and the suggestion of the original header come back.
    pick_header_row(&mut t, 3);
    assert_eq!(
        columns(&t.harness),
        ["Aktion", "Kundennummer", "Datum", "Land"]
    );
    let mapping = t.harness.state().session().mapping().expect("mapping");
    assert_eq!(
        mapping.event,
        Some(mixport::mapping::ValueSource::Column("Aktion".to_owned()))
    );
    assert_eq!(mapping.distinct_id.as_deref(), Some("Kundennummer"));

    // "No row of column names": the columns are numbered.
    t.harness
        .get_by_role_and_label(Role::CheckBox, "The file has a row of column names")
        .click();
    wait_for_load(&mut t.harness, "the file without a header row");
    assert_eq!(
        columns(&t.harness),
        ["column_1", "column_2", "column_3", "column_4"]
    );
    assert!(shows(&t.harness, "This file has no row of column names"));
}

#[test]
fn an_excel_title_row_is_shown_skipped_and_another_header_row_can_be_clicked() {
    let mut t = app();
    open_by_path(&mut t, &fixture("title_row.xlsx"));
    assert!(shows(
        &t.harness,
        "Column names are on row 3; the 2 rows above (a title, notes or blank rows) are skipped."
    ));
    assert_eq!(
        columns(&t.harness),
        ["Event Name", "User ID", "Timestamp", "Country", "Revenue"]
    );
    assert!(shows(&t.harness, "Event export — all times in CET"));
    assert!(selected(&t.harness, "Row 3"));

    pick_header_row(&mut t, 4);
    assert_eq!(
        columns(&t.harness),
        ["Purchase", "user-0", "2024-02-10 09:00:00", "USA", "0"]
    );
    assert!(shows(&t.harness, "Column names are on row 4"));
    assert_eq!(
        t.harness
            .state()
            .session()
            .mapping()
            .expect("mapping")
            .headers,
        columns(&t.harness)
    );
}

#[test]
fn a_file_with_its_names_on_row_1_says_nothing_alarming_and_still_offers_the_choice() {
    let mut t = app();
    open_by_path(&mut t, &fixture("de_excel.csv"));
    assert!(shows(&t.harness, "Column names are on row 1."));
    assert!(!shows(&t.harness, "skipped"));
    assert!(!shows(&t.harness, "no row of column names"));
    // The choice is one click away, closed.
    assert!(t.harness.query_by_label("Row 2").is_none());
    click_label(&mut t.harness, "Choose the row with the column names");
    assert!(selected(&t.harness, "Row 1"));
    pick_header_row(&mut t, 2);
    assert!(shows(&t.harness, "Column names are on row 2"));
}

#[test]
fn a_header_row_picked_once_is_used_again_when_the_file_is_reopened() {
    let mut t = app();
    open_by_path(&mut t, &fixture("title_row.csv"));
    pick_header_row(&mut t, 4);
    open_by_path(&mut t, &fixture("de_excel.csv"));
    assert!(shows(&t.harness, "Column names are on row 1."));
    open_by_path(&mut t, &fixture("title_row.csv"));
    assert_eq!(
        columns(&t.harness),
        ["Bestellung", "50000", "2024-03-20 10:30", "DE"]
    );
    assert!(shows(&t.harness, "Column names are on row 4"));
    assert!(shows(&t.harness, "as you chose."));
    // The detected row is one click away.
    pick_header_row(&mut t, 3);
    assert_eq!(
        columns(&t.harness),
        ["Aktion", "Kundennummer", "Datum", "Land"]
    );
}

#[test]
fn a_row_with_a_value_too_many_is_rejected_in_the_check_with_the_surplus_value_shown() {
    let mut t = app();
    open_map(&mut t, "unquoted_delimiter.csv");
    click(&mut t.harness, "Next: Check");
    click(&mut t.harness, "Run check");
    let deadline = std::time::Instant::now() + BACKGROUND_TIMEOUT;
    while t.harness.state().is_busy() || !shows(&t.harness, " valid") {
        assert!(
            std::time::Instant::now() < deadline,
            "the check did not end"
        );
        t.harness.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    settle(&mut t.harness, "the check");
    let report = t
        .harness
        .state()
        .session()
        .file
        .as_ref()
        .and_then(|f| f.current_check())
        .cloned()
        .expect("a current check");
    assert_eq!((report.valid, report.invalid), (9, 1));
    // Row 5 ("Cable,2 m,9.99"): the value that cannot be attributed is named.
    assert!(
        shows(&t.harness, "the extra values '9.99' cannot be attributed"),
        "the surplus value is not shown"
    );
}

#[test]
fn a_file_of_values_only_says_so_and_shows_its_rows_to_pick_a_header_from() {
    let mut t = app();
    let path = t._dir.path().join("values.csv");
    std::fs::write(
        &path,
        "Purchase,u1,2024-06-01T00:00:00Z\nSignup,u2,2024-06-02T00:00:00Z\nLogin,u3,2024-06-03T00:00:00Z\n",
    )
    .expect("write");
    open_by_path(&mut t, &path);
    assert!(shows(&t.harness, "This file has no row of column names"));
    assert_eq!(columns(&t.harness)[0], "column_1");
    // The rows are shown at once; none is marked as the names.
    assert!(!selected(&t.harness, "Row 1"));
    pick_header_row(&mut t, 1);
    assert_eq!(columns(&t.harness)[0], "Purchase");
    assert!(shows(
        &t.harness,
        "Column names are on row 1, as you chose."
    ));
}
