//! "Verify in Mixpanel": one run compared with Mixpanel's raw export, from the Review step or the
//! import history.
//!
//! The panel runs [`crate::session::verify::verify`] on a worker thread and shows the result:
//! found / not yet visible / missing per event name, the source rows of the events not found,
//! the export query budget (60 an hour) and why imported events can take a while to show. When
//! some are not visible yet, it checks again by itself after the suggested wait, for as long as
//! the app is open. "Fix and re-import…" hands over to [`super::fix::FixWalk`].

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui::RichText;

use crate::config::Connection;
use crate::credentials::SecretString;
use crate::mixpanel::export_budget::{BudgetStatus, describe_wait};
use crate::pipeline::RunControl;
use crate::session::connection::ActiveConnection;
use crate::session::verify::{self as session, RunToVerify};
use crate::verify::{Verdict, Verification, VerifyOptions, VerifyProgress, describe, thousands};

use super::worker::{Reporter, Task};

/// The rows-not-found file in a run's folder.
pub const NOT_FOUND_FILE: &str = "not-found.csv";

/// What the panel needs from the app.
#[derive(Debug, Clone)]
pub struct VerifyEnv {
    /// The data folder (run history, budget).
    pub runs_dir: PathBuf,
    /// Another host (a test server).
    pub api_base: Option<String>,
    /// How long after an import events count as "not yet visible" (tests shorten it).
    pub processing_window: Duration,
}

impl VerifyEnv {
    /// The app's settings with Mixpanel's processing window.
    pub fn new(runs_dir: PathBuf, api_base: Option<String>) -> Self {
        Self {
            runs_dir,
            api_base,
            processing_window: crate::verify::PROCESSING_WINDOW,
        }
    }
}

/// What the user asked the panel's host to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyAction {
    /// Nothing.
    None,
    /// Open the "Fix and re-import" walk for this run.
    FixAndReimport,
}

/// Find a run and the connection that can read it back: the run's own service account, else a
/// saved service account of its project. `secret_of` reads a connection's secret (the keychain).
pub fn resolve(
    runs_dir: &Path,
    config_dir: &Path,
    run_id: &str,
    secret_of: &dyn Fn(&str) -> Option<SecretString>,
) -> Result<(RunToVerify, Result<ActiveConnection, String>), String> {
    let (run, saved) = find_run(runs_dir, config_dir, run_id)?;
    Ok((run, saved.and_then(|c| activate(c, secret_of))))
}

/// The disk half of [`resolve`] (for a worker thread): the run, and the saved connection that
/// can read it back or why none can.
pub fn find_run(
    runs_dir: &Path,
    config_dir: &Path,
    run_id: &str,
) -> Result<(RunToVerify, Result<Connection, String>), String> {
    let run = session::find(Some(runs_dir), run_id).map_err(|e| e.to_string())?;
    let saved = crate::session::connection::load_connections(config_dir).unwrap_or_default();
    let connection = session::export_connection(&run, &saved)
        .cloned()
        .map_err(|e| super::words::no_export_connection(&e));
    Ok((run, connection))
}

/// The keychain half of [`resolve`]: the saved connection with its secret.
pub fn activate(
    saved: Connection,
    secret_of: &dyn Fn(&str) -> Option<SecretString>,
) -> Result<ActiveConnection, String> {
    match secret_of(&saved.name) {
        Some(secret) => Ok(ActiveConnection {
            saved,
            secret,
            project_token: None,
        }),
        None => Err(format!(
            "the secret of connection '{}' is not in the keychain: save the connection again in the Connect step",
            saved.name
        )),
    }
}

enum Message {
    Progress(String),
    Budget(BudgetStatus),
    Done(Result<Box<Verification>, String>),
}

enum State {
    Idle,
    Running(String),
    Done(Box<Verification>),
    Failed(String),
}

/// The panel for one run.
pub struct VerifyPanel {
    run: RunToVerify,
    connection: Result<ActiveConnection, String>,
    state: State,
    task: Option<Task<Message>>,
    control: RunControl,
    budget: Option<BudgetStatus>,
    /// When to check again by itself (not yet visible).
    next_check: Option<Instant>,
    /// Whether the user stopped the automatic checks.
    auto: bool,
    checks: u32,
}

impl VerifyPanel {
    /// A panel for `run`, read back with `connection` (or the reason none can).
    pub fn new(run: RunToVerify, connection: Result<ActiveConnection, String>) -> Self {
        Self {
            run,
            connection,
            state: State::Idle,
            task: None,
            control: RunControl::new(),
            budget: None,
            next_check: None,
            auto: true,
            checks: 0,
        }
    }

    /// The run's id.
    pub fn run_id(&self) -> &str {
        &self.run.report.run_id
    }

    /// The run.
    pub fn run(&self) -> &RunToVerify {
        &self.run
    }

    /// The last result, once there is one.
    pub fn result(&self) -> Option<&Verification> {
        match &self.state {
            State::Done(v) => Some(v),
            _ => None,
        }
    }

    /// Whether a check is running.
    pub fn is_running(&self) -> bool {
        self.task.is_some()
    }

    /// How many checks have finished (or failed).
    pub fn checks(&self) -> u32 {
        self.checks
    }

    /// When the next automatic check is due, if one is scheduled.
    pub fn next_check(&self) -> Option<Instant> {
        self.next_check
    }

    /// Move the next automatic check to `at` (tests: instead of waiting minutes).
    pub fn reschedule(&mut self, at: Instant) {
        if self.next_check.is_some() {
            self.next_check = Some(at);
        }
    }

    /// Start a check now.
    pub fn start(&mut self, ctx: &egui::Context, env: &VerifyEnv) {
        let Ok(connection) = self.connection.clone() else {
            return;
        };
        if self.task.is_some() {
            return;
        }
        self.next_check = None;
        self.control = RunControl::new();
        self.state = State::Running("Asking Mixpanel's export…".to_owned());
        let run = self.run.clone();
        let env = env.clone();
        let control = self.control.clone();
        self.task = Some(Task::spawn(ctx, "verify", move |reporter| {
            let result = run_check(&run, &connection, &env, &control, &reporter);
            reporter.send(Message::Done(result.map(Box::new)));
        }));
    }

    /// Draw the panel. Returns what the user asked the host to do.
    pub fn ui(&mut self, ui: &mut egui::Ui, env: &VerifyEnv) -> VerifyAction {
        self.poll(ui.ctx(), env);
        let mut action = VerifyAction::None;
        let report = &self.run.report;
        ui.heading("Verify in Mixpanel");
        ui.add(
            egui::Label::new(format!(
                "Mixport reads the events of this run back from Mixpanel's own export and compares them with the {} events Mixpanel accepted{}.",
                thousands(report.imported),
                report
                    .label
                    .as_deref()
                    .map(|l| format!(" (label \"{l}\")"))
                    .unwrap_or_default()
            ))
            .wrap(),
        );
        ui.add(
            egui::Label::new(
                "Imported events show in Mixpanel's reports within minutes, but its export can take up to an hour to include them: right after an import, some events are simply not visible yet.",
            )
            .wrap(),
        );
        let budget = match self.budget {
            Some(b) => format!("Export queries: {}.", b.describe()),
            None => {
                "Each check uses one of the 60 export queries Mixpanel allows per hour.".to_owned()
            }
        };
        ui.weak(budget);
        if let Err(reason) = &self.connection {
            ui.add(
                egui::Label::new(
                    RichText::new(format!("This run cannot be checked yet: {reason}"))
                        .color(ui.visuals().warn_fg_color),
                )
                .wrap(),
            );
            return action;
        }
        ui.add_space(4.0);
        match &self.state {
            State::Running(line) => {
                let line = line.clone();
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(line);
                });
                if ui.button("Cancel check").clicked() {
                    self.control.cancel();
                }
            }
            State::Idle => {
                if ui.button("Verify in Mixpanel").clicked() {
                    self.start(ui.ctx(), env);
                }
            }
            State::Failed(message) => {
                ui.add(
                    egui::Label::new(
                        RichText::new(format!("The check did not run: {message}"))
                            .color(ui.visuals().warn_fg_color),
                    )
                    .wrap(),
                );
                if ui.button("Try again").clicked() {
                    self.start(ui.ctx(), env);
                }
            }
            State::Done(result) => {
                let result = result.clone();
                action = self.result_ui(ui, env, &result);
            }
        }
        action
    }

    fn result_ui(
        &mut self,
        ui: &mut egui::Ui,
        env: &VerifyEnv,
        result: &Verification,
    ) -> VerifyAction {
        let mut action = VerifyAction::None;
        ui.add(egui::Label::new(RichText::new(describe(result)).strong()).wrap());
        if !result.by_event.is_empty() {
            egui::Grid::new(("verify-by-event", &result.run_id))
                .striped(true)
                .num_columns(4)
                .show(ui, |ui| {
                    for heading in ["Event", "Accepted", "Found", "Not found"] {
                        ui.strong(heading);
                    }
                    ui.end_row();
                    for e in &result.by_event {
                        ui.label(&e.event);
                        ui.label(thousands(e.accepted));
                        ui.label(thousands(e.found));
                        ui.label(thousands(e.missing));
                        ui.end_row();
                    }
                });
        }
        if result.duplicates_in_run > 0 {
            ui.weak(format!(
                "{} accepted events were exact copies of another event of the run; Mixpanel keeps one of each.",
                thousands(result.duplicates_in_run)
            ));
        }
        if !result.sample_missing.is_empty() {
            ui.label(
                RichText::new(format!(
                    "Source rows of the events not found ({} of {}):",
                    result.sample_missing.len(),
                    thousands(result.missing)
                ))
                .strong(),
            );
            egui::ScrollArea::vertical()
                .id_salt("verify-missing")
                .max_height(160.0)
                .show(ui, |ui| {
                    for row in &result.sample_missing {
                        let values: Vec<String> = row
                            .values
                            .iter()
                            .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
                            .collect();
                        ui.add(
                            egui::Label::new(format!(
                                "Row {} — {} — {}",
                                row.row,
                                row.event,
                                values.join(", ")
                            ))
                            .wrap(),
                        );
                    }
                });
        }
        if let Some(note) = &result.source_note {
            ui.weak(note);
        }
        if let Some(file) = &result.missing_file {
            ui.label(format!(
                "Every row not found, ready to import again: {file}"
            ));
        }
        for note in &result.notes {
            ui.weak(note);
        }
        match result.verdict {
            Verdict::NotYetVisible => match self.next_check {
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    ui.label(format!(
                        "Mixport checks again in {} while the app is open.",
                        describe_wait(left.as_secs().max(1))
                    ));
                    ui.horizontal(|ui| {
                        if ui.button("Check again now").clicked() {
                            self.start(ui.ctx(), env);
                        }
                        if ui.button("Stop checking").clicked() {
                            self.auto = false;
                            self.next_check = None;
                        }
                    });
                }
                None => {
                    if ui.button("Check again now").clicked() {
                        self.start(ui.ctx(), env);
                    }
                }
            },
            Verdict::Missing => {
                ui.add(
                    egui::Label::new(
                        "These events are not in Mixpanel although it had time to process them. Import the rows not found again with the same mapping (the events that did arrive are not doubled: their insert IDs are the same), or correct the run.",
                    )
                    .wrap(),
                );
                if ui.button("Check again now").clicked() {
                    self.start(ui.ctx(), env);
                }
            }
            Verdict::AllFound => {
                if ui.button("Check again now").clicked() {
                    self.start(ui.ctx(), env);
                }
            }
        }
        if result.accepted > 0 && ui.button("Fix and re-import…").clicked() {
            action = VerifyAction::FixAndReimport;
        }
        action
    }

    /// Apply the worker's messages and run a due automatic check. [`Self::ui`] calls it; call
    /// it each frame while the panel is not drawn, so a scheduled check still comes.
    pub fn poll(&mut self, ctx: &egui::Context, env: &VerifyEnv) {
        if let Some(task) = self.task.as_mut() {
            let mut messages = Vec::new();
            task.drain(ctx, |m| messages.push(m));
            let finished = task.is_finished();
            for message in messages {
                match message {
                    Message::Progress(line) => self.state = State::Running(line),
                    Message::Budget(budget) => self.budget = Some(budget),
                    Message::Done(result) => {
                        self.checks += 1;
                        match result {
                            Ok(v) => {
                                self.budget = Some(v.budget);
                                self.next_check =
                                    (self.auto && v.verdict == Verdict::NotYetVisible).then(|| {
                                        Instant::now()
                                            + Duration::from_secs(
                                                v.check_again_in_secs.unwrap_or(600),
                                            )
                                    });
                                self.state = State::Done(v);
                            }
                            Err(e) => self.state = State::Failed(e),
                        }
                    }
                }
            }
            if finished {
                self.task = None;
                if matches!(self.state, State::Running(_)) {
                    self.state = State::Failed("the check stopped unexpectedly".to_owned());
                }
            }
        }
        if let Some(at) = self.next_check {
            let now = Instant::now();
            if now >= at {
                self.start(ctx, env);
            } else {
                ctx.request_repaint_after(at - now);
            }
        }
    }
}

fn run_check(
    run: &RunToVerify,
    connection: &ActiveConnection,
    env: &VerifyEnv,
    control: &RunControl,
    reporter: &Reporter<Message>,
) -> Result<Verification, String> {
    let credentials = connection.credentials().map_err(|e| e.to_string())?;
    let mut client = session::export_client(
        &credentials,
        run.region(),
        env.api_base.as_deref(),
        Some(&env.runs_dir),
        |_| {},
    )
    .map_err(|e| e.to_string())?;
    reporter.send(Message::Budget(client.budget()));
    let options = VerifyOptions {
        processing_window: env.processing_window,
        missing_out: Some(
            crate::session::history::run_dir(&env.runs_dir, &run.report.run_id)
                .join(NOT_FOUND_FILE),
        ),
        ..VerifyOptions::default()
    };
    let mut last = Instant::now() - Duration::from_secs(1);
    let mut progress = |p: &VerifyProgress| {
        if last.elapsed() < Duration::from_millis(200) {
            return;
        }
        last = Instant::now();
        let line = p.describe();
        reporter.send(Message::Progress(line));
    };
    session::verify(
        run,
        &mut client,
        Some(&env.runs_dir),
        options,
        control,
        &mut progress,
    )
    .map_err(|e| e.to_string())
}
