//! The "Did it land?" window: one run's [`VerifyPanel`] and, when asked, its [`FixWalk`].
//! Opened by "Verify in Mixpanel" on the Review step and in the import history.
//!
//! Opening reads the run and the saved connections on a worker thread; the secret of the
//! connection that can read the run back comes from the keychain; the check starts at once
//! (one click). A project-token run gets the panel's explanation instead of a check. Closing the
//! window keeps the panel: its scheduled "check again" still runs while the app is open, and
//! opening the same run again shows it. "Fix and re-import" ends by handing the corrected file
//! to the app ([`FixAction::Reimport`]).

use crate::config::Connection;
use crate::session::history;
use crate::session::run::RunRecord;
use crate::session::verify::RunToVerify;

use super::AppDeps;
use super::fix::{FixAction, FixWalk};
use super::verify::{VerifyEnv, VerifyPanel, activate, find_run};
use super::worker::Task;

/// What the worker found for a run.
struct Found {
    run: RunToVerify,
    connection: Result<Connection, String>,
    history: Vec<RunRecord>,
}

/// The worker's answer: the run found, or why not.
type Lookup = Result<Box<Found>, String>;

/// The window's state.
#[derive(Default)]
pub struct VerifyWindow {
    open: bool,
    loading: Option<(String, Task<Lookup>)>,
    error: Option<String>,
    panel: Option<VerifyPanel>,
    history: Vec<RunRecord>,
    fix: Option<FixWalk>,
    /// Start the check once the run is found.
    start_when_found: bool,
}

impl VerifyWindow {
    /// Open the window on run `run_id` and check it (a run already shown is checked again).
    pub fn open(&mut self, ctx: &egui::Context, deps: &AppDeps, run_id: &str) {
        self.open = true;
        self.fix = None;
        self.start_when_found = true;
        if self.panel.as_ref().is_some_and(|p| p.run_id() == run_id)
            || self.loading.as_ref().is_some_and(|(id, _)| id == run_id)
        {
            return;
        }
        self.panel = None;
        self.error = None;
        let (runs_dir, config_dir) = (deps.runs_dir.clone(), deps.config_dir.clone());
        let id = run_id.to_owned();
        let task = Task::spawn(ctx, "verify-find", move |reporter| {
            let found = find_run(&runs_dir, &config_dir, &id).map(|(run, connection)| {
                Box::new(Found {
                    run,
                    connection,
                    history: history::list(&runs_dir),
                })
            });
            reporter.send(found);
        });
        self.loading = Some((run_id.to_owned(), task));
    }

    /// Open the window on the "Fix and re-import" walk of the run shown (the screenshot demo).
    pub fn open_fix(&mut self) {
        if let Some(panel) = &self.panel {
            self.open = true;
            self.fix = Some(FixWalk::new(panel.run().clone(), &self.history));
        }
    }

    /// The walk's re-import as chosen so far, closing the window (the screenshot demo).
    pub fn take_reimport(&mut self) -> FixAction {
        let Some(fix) = self.fix.take() else {
            return FixAction::None;
        };
        self.open = false;
        fix.reimport()
    }

    /// Whether the window is open.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// The panel of the run shown, once the run is found (for tests).
    pub fn panel(&self) -> Option<&VerifyPanel> {
        self.panel.as_ref()
    }

    /// The panel of the run shown (tests move its scheduled check).
    pub fn panel_mut(&mut self) -> Option<&mut VerifyPanel> {
        self.panel.as_mut()
    }

    /// Whether the "Fix and re-import" walk is shown.
    pub fn is_fixing(&self) -> bool {
        self.open && self.fix.is_some()
    }

    /// Apply the worker's answer: the panel, with the connection's secret from the keychain.
    fn poll(&mut self, ctx: &egui::Context, deps: &AppDeps, env: &VerifyEnv) {
        if let Some((_, task)) = self.loading.as_mut() {
            let mut got = None;
            task.drain(ctx, |found| got = Some(found));
            let finished = task.is_finished();
            match got {
                Some(Ok(found)) => {
                    let Found {
                        run,
                        connection,
                        history,
                    } = *found;
                    let connection = connection.and_then(|saved| {
                        activate(saved, &|name| deps.secrets.get(name).ok().flatten())
                    });
                    self.panel = Some(VerifyPanel::new(run, connection));
                    self.history = history;
                    self.loading = None;
                }
                Some(Err(e)) => {
                    self.error = Some(e);
                    self.loading = None;
                }
                None if finished => {
                    self.error = Some("Reading the run stopped unexpectedly.".to_owned());
                    self.loading = None;
                }
                None => {}
            }
        }
        if let Some(panel) = self.panel.as_mut() {
            if std::mem::take(&mut self.start_when_found) && !panel.is_running() {
                panel.start(ctx, env);
            }
            if !self.open {
                // Not drawn: keep its worker's answers and its scheduled check going.
                panel.poll(ctx, env);
            }
        }
    }

    /// Draw the window when open (and keep a closed window's check going). Returns the
    /// re-import the user asked for, if any.
    pub fn ui(&mut self, ctx: &egui::Context, deps: &mut AppDeps, env: &VerifyEnv) -> FixAction {
        self.poll(ctx, deps, env);
        if !self.open {
            return FixAction::None;
        }
        let mut open = self.open;
        let mut action = FixAction::None;
        // The verification and the walk say what they are in their own headings.
        egui::Window::new("Did it land?")
            .id(egui::Id::unique("verify-window"))
            .open(&mut open)
            .collapsible(false)
            .default_size([720.0, 520.0])
            .max_width(ctx.content_rect().width() - 40.0)
            .max_height(ctx.content_rect().height() - 40.0)
            .show(ctx, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("verify-window-scroll")
                    .show(ui, |ui| action = self.contents(ui, deps, env));
            });
        self.open = open && !matches!(action, FixAction::Reimport { .. });
        action
    }

    fn contents(&mut self, ui: &mut egui::Ui, deps: &mut AppDeps, env: &VerifyEnv) -> FixAction {
        if let Some(error) = &self.error {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("This run cannot be checked: {error}"),
            );
            return FixAction::None;
        }
        let Some(panel) = self.panel.as_mut() else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Reading the run…");
            });
            return FixAction::None;
        };
        if let Some(fix) = self.fix.as_mut() {
            return match fix.ui(ui, deps.file_dialog.as_mut()) {
                FixAction::Cancel => {
                    self.fix = None;
                    FixAction::None
                }
                action => action,
            };
        }
        if panel.ui(ui, env) == super::verify::VerifyAction::FixAndReimport {
            self.fix = Some(FixWalk::new(panel.run().clone(), &self.history));
        }
        FixAction::None
    }
}
