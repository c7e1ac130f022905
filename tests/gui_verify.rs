//! "Verify in Mixpanel" and "Fix and re-import" driven through egui_kittest, by role and label,
//! against the fake Mixpanel server's `/import` and raw export: a run is imported through the
//! session API (as the app does), then the panels are walked as a user would.

#![cfg(feature = "gui")]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::fake_mixpanel::*;
use egui::accesskit::{Role, Toggled};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use mixport::config::{ConfigStore, Connection, ConnectionKind, Region};
use mixport::credentials::{SecretStore, SecretString};
use mixport::gui::FakeFileDialog;
use mixport::gui::fix::{FixAction, FixPage, FixWalk};
use mixport::gui::verify::{VerifyAction, VerifyEnv, VerifyPanel, resolve};
use mixport::mixpanel::auth::Credentials;
use mixport::mixpanel::client::{ClientConfig, MixpanelClient};
use mixport::pipeline::RunControl;
use mixport::session::run::{Destination, ImportRequest, RunRecord, import};
use mixport::source::SourceOptions;

const TIMEOUT: Duration = Duration::from_secs(60);

struct World {
    dir: tempfile::TempDir,
    server: FakeMixpanel,
    store: SecretStore,
}

impl World {
    fn new() -> Self {
        let server = FakeMixpanel::start_default();
        server.set_export(ExportConfig {
            queries_per_second: 0,
            ..ExportConfig::default()
        });
        let dir = tempfile::tempdir().unwrap();
        let store = SecretStore::mock();
        let config = ConfigStore::at(dir.path().join("config"));
        let save = |name: &str, kind, project: Option<&str>, user: Option<&str>, secret: &str| {
            config
                .save_connection(
                    Connection {
                        name: name.to_owned(),
                        region: Region::Us,
                        project_id: project.map(str::to_owned),
                        kind,
                        username: user.map(str::to_owned),
                    },
                    &SecretString::new(secret),
                    &store,
                )
                .unwrap();
        };
        save(
            "Fake project",
            ConnectionKind::ServiceAccount,
            Some(PROJECT_ID),
            Some(SA_USER),
            SA_SECRET,
        );
        save(
            "Fake token",
            ConnectionKind::ProjectToken,
            None,
            None,
            TOKEN,
        );
        World { dir, server, store }
    }

    fn runs_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    fn env(&self, processing_window: Duration) -> VerifyEnv {
        VerifyEnv {
            runs_dir: self.runs_dir(),
            api_base: Some(self.server.base_url()),
            processing_window,
        }
    }

    /// A CSV of `rows` events ten days ago, each with a unique `order_id`.
    fn csv(&self, name: &str, rows: usize) -> PathBuf {
        let path = self.dir.path().join(name);
        let base = chrono::Utc::now().timestamp() - 10 * 86_400;
        let mut text = String::from("event,user_id,timestamp,order_id\n");
        for i in 0..rows {
            text.push_str(&format!(
                "{},user-{},{},o-{}\n",
                ["Signup", "Purchase"][i % 2],
                i % 7,
                base + i as i64 * 60,
                i + 2
            ));
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Import `file` through the session API with a saved connection, as the app does.
    fn import(
        &self,
        file: &Path,
        connection: &str,
        mapping: Option<mixport::mapping::Mapping>,
    ) -> RunRecord {
        let opened = mixport::session::open(file, &SourceOptions::default()).unwrap();
        let mut mapping = mapping
            .unwrap_or_else(|| mixport::session::initial_mapping(&opened, None, None).mapping);
        assert!(mixport::session::review(&mut mapping, &opened).is_empty());
        let credentials = if connection == "Fake token" {
            Credentials::project_token(SecretString::new(TOKEN)).unwrap()
        } else {
            Credentials::service_account(SA_USER, SecretString::new(SA_SECRET), PROJECT_ID).unwrap()
        };
        let mut config = ClientConfig::new(mixport::mixpanel::region::Region::Us);
        config.api_base = Some(self.server.base_url());
        let request = ImportRequest {
            sniff: opened.sniff.clone(),
            options: SourceOptions::default(),
            mapping,
            destination: Destination {
                client: MixpanelClient::new(credentials, config).unwrap(),
                connection: Some(connection.to_owned()),
                identity: connection.to_owned(),
            },
            runs_dir: Some(self.runs_dir()),
            resume: false,
            rejected_out: None,
            workers: 2,
        };
        import(&request, &RunControl::new(), &mut |_| {})
            .unwrap()
            .record
    }

    fn panel(&self, run_id: &str) -> VerifyPanel {
        let store = self.store.clone();
        let (run, connection) = resolve(&self.runs_dir(), &self.config_dir(), run_id, &|name| {
            store.get(name).ok().flatten()
        })
        .unwrap();
        VerifyPanel::new(run, connection)
    }
}

/// What the harness draws: the verify panel, or the fix walk once asked for.
struct Screen {
    panel: VerifyPanel,
    env: VerifyEnv,
    fix: Option<FixWalk>,
    history: Vec<RunRecord>,
    dialog: FakeFileDialog,
    action: Option<FixAction>,
}

impl Screen {
    fn ui(&mut self, ui: &mut egui::Ui) {
        egui::ScrollArea::vertical().show(ui, |ui| {
            if let Some(fix) = self.fix.as_mut() {
                match fix.ui(ui, &mut self.dialog) {
                    FixAction::None => {}
                    action => self.action = Some(action),
                }
            } else if self.panel.ui(ui, &self.env) == VerifyAction::FixAndReimport {
                self.fix = Some(FixWalk::new(self.panel.run().clone(), &self.history));
            }
        });
    }
}

fn harness(world: &World, run_id: &str, window: Duration) -> Harness<'static, Screen> {
    let screen = Screen {
        panel: world.panel(run_id),
        env: world.env(window),
        fix: None,
        history: mixport::session::history::list(&world.runs_dir()),
        dialog: FakeFileDialog::new(),
        action: None,
    };
    Harness::builder()
        .with_size(egui::vec2(1000.0, 900.0))
        .build_ui_state(|ui, screen: &mut Screen| screen.ui(ui), screen)
}

/// Run frames until `done` holds, then until the UI settles.
fn run_until(h: &mut Harness<'static, Screen>, what: &str, done: impl Fn(&Screen) -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !done(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(3);
}

fn has_label(h: &Harness<'static, Screen>, text: &str) -> bool {
    h.query_by_label_contains(text).is_some()
}

#[test]
fn verify_after_an_import_finds_every_event_and_shows_the_budget() {
    let world = World::new();
    let file = world.csv("orders.csv", 40);
    let record = world.import(&file, "Fake project", None);
    let mut h = harness(&world, &record.id, Duration::from_secs(3600));
    h.run_steps(2);
    assert!(has_label(
        &h,
        "compares them with the 40 events Mixpanel accepted"
    ));
    assert!(has_label(&h, "can take up to an hour"));
    assert!(has_label(&h, "60 export queries Mixpanel allows per hour"));
    h.get_by_role_and_label(Role::Button, "Verify in Mixpanel")
        .click();
    run_until(&mut h, "the check", |s| s.panel.checks() == 1);
    let result = h.state().panel.result().expect("a result").clone();
    assert_eq!((result.found, result.missing), (40, 0));
    assert!(has_label(&h, "All 40 events of run"), "the headline");
    assert!(has_label(&h, "59 of 60 export queries left this hour"));
    h.get_by_label("Purchase");
    h.get_by_role_and_label(Role::Button, "Check again now");
    assert!(h.state().panel.next_check().is_none());
    // The result is kept as the run's last verification.
    let kept = mixport::session::verify::last_verification(&world.runs_dir(), &record.id);
    assert_eq!(kept.map(|v| v.found), Some(40));
}

#[test]
fn not_yet_visible_is_explained_and_checked_again_while_the_app_is_open() {
    let world = World::new();
    world.server.set_export(ExportConfig {
        visibility_delay: Duration::from_secs(3),
        queries_per_second: 0,
        ..ExportConfig::default()
    });
    let file = world.csv("late.csv", 12);
    let record = world.import(&file, "Fake project", None);
    let mut h = harness(&world, &record.id, Duration::from_secs(3600));
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Verify in Mixpanel")
        .click();
    run_until(&mut h, "the first check", |s| s.panel.checks() == 1);
    assert!(has_label(&h, "12 are not visible yet"), "the headline");
    assert!(has_label(&h, "Mixport checks again in"), "the schedule");
    h.get_by_role_and_label(Role::Button, "Stop checking");
    let due = h.state().panel.next_check().expect("a check is scheduled");
    assert!(
        due > Instant::now() + Duration::from_secs(50),
        "at least a minute away"
    );
    // Mixpanel has processed the events; the scheduled check comes (moved up, not waited for).
    std::thread::sleep(Duration::from_secs(3));
    h.state_mut().panel.reschedule(Instant::now());
    run_until(&mut h, "the scheduled check", |s| s.panel.checks() == 2);
    assert_eq!(h.state().panel.result().map(|r| r.found), Some(12));
    assert!(has_label(&h, "All 12 events of run"));
    assert!(h.state().panel.next_check().is_none());
}

#[test]
fn a_project_token_run_gets_the_clear_refusal() {
    let world = World::new();
    let file = world.csv("token.csv", 5);
    let record = world.import(&file, "Fake token", None);
    let mut h = harness(&world, &record.id, Duration::from_secs(3600));
    h.run_steps(2);
    assert!(has_label(&h, "This run cannot be checked yet"));
    assert!(has_label(
        &h,
        "a project token cannot read events back from Mixpanel"
    ));
    assert!(has_label(&h, "Service Accounts"));
    assert!(
        h.query_by_role_and_label(Role::Button, "Verify in Mixpanel")
            .is_none()
    );
    assert_eq!(world.server.counters().export_requests, 0);
}

#[test]
fn missing_events_lead_to_fix_and_reimport_with_a_new_generation() {
    let world = World::new();
    let file = world.csv("orders.csv", 30);
    let record = world.import(&file, "Fake project", None);
    assert_eq!(world.server.unique_count(), 30);
    let label = record.label.clone().expect("a label");
    // Mixpanel lost rows 4 and 9.
    let lost: Vec<String> = world
        .server
        .events_raw()
        .into_iter()
        .filter(|e| {
            let order = e.properties.get("order_id").and_then(|v| v.as_str());
            order == Some("o-4") || order == Some("o-9")
        })
        .filter_map(|e| e.insert_id)
        .collect();
    world.server.hide_from_export(lost);
    let mut h = harness(&world, &record.id, Duration::ZERO);
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Verify in Mixpanel")
        .click();
    run_until(&mut h, "the check", |s| s.panel.checks() == 1);
    assert!(has_label(&h, "2 of 30 events of run"), "the headline");
    assert!(has_label(&h, "Row 4 — "), "the first missing row");
    assert!(has_label(&h, "order_id: o-9"), "the second row's values");
    assert!(has_label(&h, "not-found.csv"), "the file of rows not found");

    // Fix and re-import: what Mixpanel allows.
    h.get_by_role_and_label(Role::Button, "Fix and re-import…")
        .click();
    h.run_steps(3);
    assert_eq!(
        h.state().fix.as_ref().map(FixWalk::page),
        Some(FixPage::Rules)
    );
    for text in [
        "deletes only events from the last 180 days",
        "at most 10 deletions a month",
        "All 30 events of this run are from the last 180 days and can be deleted.",
        "Events: Purchase, Signup",
        &format!("Where: mixport_import equals \"{label}\""),
        "Date range: ",
    ] {
        assert!(has_label(&h, text), "missing: {text}");
    }
    h.get_by_role_and_label(Role::Button, "Next: the corrected file")
        .click();
    h.run_steps(3);
    assert!(has_label(&h, "Insert-ID generation: 1 (the run used 0)"));
    let new_label = format!("{label} fix 1");
    assert!(
        h.query_all_by_value(&new_label).next().is_some(),
        "the new label is offered"
    );
    h.get_by_role_and_label(Role::Button, "Next: confirm")
        .click();
    h.run_steps(3);
    // The confirmation says plainly what exists twice if the old events stay.
    assert!(has_label(&h, "If the 30 events of run"));
    assert!(has_label(
        &h,
        "will exist twice in Mixpanel — Purchase (15), Signup (15)"
    ));
    let open = h.get_by_role_and_label(Role::Button, "Open the corrected file for import");
    open.click();
    h.run_steps(2);
    assert!(
        h.state().action.is_none(),
        "not before the warning is acknowledged"
    );
    let tick =
        h.get_by_role_and_label(Role::CheckBox, "I understand which events will exist twice");
    assert_eq!(tick.accesskit_node().toggled(), Some(Toggled::False));
    tick.click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Open the corrected file for import")
        .click();
    h.run_steps(2);
    let Some(FixAction::Reimport {
        file: chosen,
        mapping,
        correction,
    }) = h.state().action.clone()
    else {
        panic!("no re-import asked for: {:?}", h.state().action);
    };
    assert_eq!(chosen, file);
    assert_eq!(correction.generation, 1);
    assert_eq!(correction.label, new_label);
    assert_eq!(correction.run_id, record.id);
    assert!(
        correction
            .twice
            .as_deref()
            .is_some_and(|t| t.contains("will exist twice")),
        "{correction:?}"
    );
    let mapping = mapping.expect("the run's mapping");
    assert_eq!(mapping.insert_id_generation, 1);
    // The re-import stores a new insert ID for every event.
    let fixed = world.import(&chosen, "Fake project", Some(*mapping));
    assert_eq!(fixed.counts.imported, 30);
    assert_eq!(world.server.unique_count(), 60);
}
