//! Step 5, Import: the confirmation, then live progress with Pause and Cancel, then how the run
//! ended in one sentence: what was sent, what was not, what to do.
//!
//! The run belongs to the open file's session. An earlier run of the same file, mapping and
//! project that stopped before its end is offered for resuming (rows already sent are skipped),
//! except a run Mixpanel refused, until the connection was saved again.

use egui::RichText;

use crate::gui::AppDeps;
use crate::gui::state::{FileSession, Session};
use crate::gui::words::{self, region_name, thousands};
use crate::gui::worker::Task;
use crate::mapping::{IMPORT_LABEL_PROPERTY, ImportKind};
use crate::mixpanel::flow::DEFAULT_WORKERS;
use crate::pipeline::{Phase, Progress, RunControl};
use crate::session::connection::ConnectionError;
use crate::session::run::{Destination, ImportRequest, RunEnd, RunRecord};
use crate::session::{SessionError, history};

/// Messages from a running import.
#[derive(Debug)]
pub enum ImportMessage {
    /// A progress snapshot.
    Progress(Progress),
    /// The end (or why it could not start).
    Done(Result<Box<RunRecord>, String>),
}

struct Running {
    task: Task<ImportMessage>,
    control: RunControl,
    serial: u64,
}

/// An unfinished earlier run of the same import, and how many of its rows Mixpanel
/// acknowledged (from its journal: a run that crashed never recorded its counts).
#[derive(Debug, Clone)]
pub struct Offer {
    record: RunRecord,
    acknowledged: u64,
}

/// What was found about resuming, for one (session, mapping, connection).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ResumeKey {
    serial: u64,
    mapping_hash: String,
    connection_version: u64,
}

/// The Import step.
pub struct ImportStep {
    /// The "I understand" box of the confirmation.
    pub confirmed: bool,
    running: Option<Running>,
    progress: Option<Progress>,
    error: Option<String>,
    /// Continue the earlier, unfinished run (skip the rows it sent).
    pub resume: bool,
    resume_checked: Option<(ResumeKey, Option<Offer>)>,
    resume_task: Option<(ResumeKey, Task<Option<Offer>>)>,
}

impl ImportStep {
    /// The step.
    pub fn new(deps: &AppDeps) -> Self {
        let _ = deps;
        Self {
            confirmed: false,
            running: None,
            progress: None,
            error: None,
            resume: false,
            resume_checked: None,
            resume_task: None,
        }
    }

    /// Whether an import is running.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Ask a running import to stop.
    pub fn cancel(&self) {
        if let Some(run) = &self.running {
            run.control.cancel();
        }
    }

    /// The last progress snapshot.
    pub fn progress(&self) -> Option<&Progress> {
        self.progress.as_ref()
    }

    /// Start the import without the confirmation (the screenshot demo only).
    pub fn start_now(&mut self, ctx: &egui::Context, session: &Session, deps: &AppDeps) {
        self.start(ctx, session, deps);
    }

    fn start(&mut self, ctx: &egui::Context, session: &Session, deps: &AppDeps) {
        let (Some(fs), Some(connection)) = (session.file.as_ref(), session.connection.as_ref())
        else {
            return;
        };
        let client = match connection.client_for(fs.kind(), deps.api_base.as_deref()) {
            Ok(c) => c,
            Err(ConnectionError::MissingProjectToken { name }) => {
                self.error = Some(words::missing_project_token(&name));
                return;
            }
            Err(e) => {
                self.error = Some(format!("The connection cannot be used: {e}."));
                return;
            }
        };
        let request = ImportRequest {
            sniff: fs.file.sniff.clone(),
            options: fs.file.options.clone(),
            mapping: fs.mapping.clone(),
            destination: Destination {
                client,
                connection: Some(connection.saved.name.clone()),
                identity: connection.identity(),
            },
            runs_dir: Some(deps.runs_dir.clone()),
            resume: self.resume && self.offer().is_some(),
            rejected_out: None,
            workers: DEFAULT_WORKERS,
        };
        let control = RunControl::new();
        let worker_control = control.clone();
        let task = Task::spawn(ctx, "import", move |reporter| {
            let result = crate::session::run::import(&request, &worker_control, &mut |p| {
                reporter.send(ImportMessage::Progress(p.clone()));
            });
            reporter.send(ImportMessage::Done(
                result
                    .map(|imported| Box::new(imported.record))
                    .map_err(|e| match e {
                        SessionError::Blocked(b) => {
                            b.iter().map(words::blocker).collect::<Vec<_>>().join(" ")
                        }
                        other => other.to_string(),
                    }),
            ));
        });
        self.running = Some(Running {
            task,
            control,
            serial: fs.serial,
        });
        self.progress = None;
        self.error = None;
    }

    /// The unfinished earlier run offered for resuming, if any.
    fn offer(&self) -> Option<&Offer> {
        self.resume_checked.as_ref().and_then(|(_, r)| r.as_ref())
    }

    /// Apply messages from a running import and from the resume lookup.
    pub fn poll(&mut self, ctx: &egui::Context, session: &mut Session) {
        if let Some((key, task)) = self.resume_task.as_mut() {
            let mut found = None;
            task.drain(ctx, |r| found = Some(r));
            if let Some(found) = found {
                self.resume = found.is_some();
                self.resume_checked = Some((key.clone(), found));
                self.resume_task = None;
            } else if task.is_finished() {
                self.resume_checked = Some((key.clone(), None));
                self.resume_task = None;
            }
        }
        let Some(run) = self.running.as_mut() else {
            return;
        };
        let mut done = None;
        let mut progress = None;
        run.task.drain(ctx, |message| match message {
            ImportMessage::Progress(p) => progress = Some(p),
            ImportMessage::Done(result) => done = Some(result),
        });
        if progress.is_some() {
            self.progress = progress;
        }
        let finished = run.task.is_finished();
        let serial = run.serial;
        match done {
            Some(Ok(record)) => {
                if matches!(record.end, RunEnd::Refused { .. }) {
                    session.refusals += 1;
                }
                if let Some(fs) = session.file.as_mut().filter(|s| s.serial == serial) {
                    fs.run = Some(*record);
                    fs.reviewed = false;
                }
                self.running = None;
                self.confirmed = false;
                self.resume_checked = None;
            }
            Some(Err(e)) => {
                self.error = Some(e);
                self.running = None;
            }
            None if finished => {
                self.error = Some("The import stopped unexpectedly.".to_owned());
                self.running = None;
            }
            None => {}
        }
    }

    /// Look up (in the background) whether an unfinished run of this exact import exists.
    fn look_for_resume(&mut self, ctx: &egui::Context, session: &Session, deps: &AppDeps) {
        let (Some(fs), Some(connection)) = (session.file.as_ref(), session.connection.as_ref())
        else {
            return;
        };
        let key = ResumeKey {
            serial: fs.serial,
            mapping_hash: fs.mapping.content_hash(),
            connection_version: session.connection_version,
        };
        let known = self.resume_checked.as_ref().map(|(k, _)| k) == Some(&key)
            || self.resume_task.as_ref().map(|(k, _)| k) == Some(&key);
        if known {
            return;
        }
        let Ok(client) = connection.client_for(fs.kind(), deps.api_base.as_deref()) else {
            return;
        };
        let sniff = fs.file.sniff.clone();
        let mapping = fs.mapping.clone();
        let runs_dir = deps.runs_dir.clone();
        let task = Task::spawn(ctx, "resume-lookup", move |reporter| {
            let found = crate::session::run::journal_key(&sniff, &mapping, &client)
                .ok()
                .and_then(|key| {
                    let id = key.id();
                    let record = history::resumable(&runs_dir)
                        .into_iter()
                        .find(|r| r.journal_id.as_deref() == Some(id.as_str()))?;
                    let acknowledged =
                        crate::pipeline::journal::load(&key.journal_path(&runs_dir), &key)
                            .ok()
                            .flatten()
                            .map_or(0, |ack| ack.count());
                    Some(Offer {
                        record,
                        acknowledged,
                    })
                });
            reporter.send(found);
        });
        self.resume_task = Some((key, task));
    }

    /// Draw the step.
    pub fn ui(&mut self, ui: &mut egui::Ui, session: &mut Session, deps: &mut AppDeps) {
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        if self.running.is_some() {
            self.progress_ui(ui, session);
            return;
        }
        self.look_for_resume(ui.ctx(), session, deps);
        let ended = session
            .file
            .as_ref()
            .and_then(|fs| fs.run.as_ref())
            .map(|r| r.end.clone());
        match ended {
            None => self.confirmation(ui, session, deps),
            Some(end) => {
                if let Some(record) = session.file.as_ref().and_then(|fs| fs.run.as_ref()) {
                    outcome_ui(ui, record, session.file.as_ref(), false);
                }
                ui.separator();
                // After a finished run, importing again is a choice, not the next thing to do.
                let title = if end == RunEnd::Finished {
                    "Import this file again (for example into another project)"
                } else {
                    "Start the import again"
                };
                egui::CollapsingHeader::new(title)
                    .id_salt("import-again")
                    .default_open(end != RunEnd::Finished)
                    .show(ui, |ui| self.confirmation(ui, session, deps));
            }
        }
    }

    fn confirmation(&mut self, ui: &mut egui::Ui, session: &mut Session, deps: &AppDeps) {
        let Some(connection) = session.connection.as_ref() else {
            ui.label("Choose a connection in the Connect step first.");
            return;
        };
        let Some(fs) = session.file.as_ref() else {
            ui.label("Open a file in the File step first.");
            return;
        };
        let Some(check) = fs.current_check() else {
            ui.label("Run the check of the current mapping first (Check step).");
            return;
        };
        let offer = self.offer().cloned();
        let kind = fs.kind();
        let lacks_token = connection.lacks_project_token(kind);
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.label(RichText::new("Ready to import").strong().size(16.0));
            egui::Grid::new("confirm").num_columns(2).show(ui, |ui| {
                ui.label("File");
                ui.strong(fs.file.file_name());
                ui.end_row();
                ui.label("Project");
                ui.strong(format!(
                    "{} (connection '{}')",
                    connection.saved.project_id.clone().unwrap_or_else(|| "of the token".to_owned()),
                    connection.saved.name
                ));
                ui.end_row();
                ui.label("Region");
                ui.strong(region_name(connection.saved.region));
                ui.end_row();
                ui.label(words::import_kind_name(kind));
                ui.strong(if check.invalid == 0 {
                    format!("{} valid of {} rows", thousands(check.valid), thousands(check.rows))
                } else {
                    format!(
                        "{} valid of {} rows ({} rows are refused by the check and not sent)",
                        thousands(check.valid),
                        thousands(check.rows),
                        thousands(check.invalid)
                    )
                });
                ui.end_row();
                if let Some(label) = crate::session::run::import_label(&fs.mapping) {
                    ui.label("Import label");
                    ui.strong(format!("{IMPORT_LABEL_PROPERTY} = {label}"));
                    ui.end_row();
                }
                if let Some(correction) = &fs.correction {
                    ui.label("Corrects");
                    ui.strong(format!(
                        "run {}{}",
                        correction.run_id,
                        correction
                            .old_label
                            .as_deref()
                            .map(|l| format!(" (label \"{l}\")"))
                            .unwrap_or_default()
                    ));
                    ui.end_row();
                }
                if fs.mapping.insert_id_generation > 0 {
                    ui.label("Insert-ID generation");
                    ui.strong(if fs.correction.is_some() {
                        format!(
                            "{} (new: every event gets a new insert ID)",
                            fs.mapping.insert_id_generation
                        )
                    } else {
                        fs.mapping.insert_id_generation.to_string()
                    });
                    ui.end_row();
                }
                if let Some(base) = &deps.api_base {
                    ui.label("Server");
                    ui.strong(base);
                    ui.end_row();
                }
            });
            if kind == ImportKind::Profiles {
                ui.add(
                    egui::Label::new(
                        RichText::new(fs.mapping.profile.confirmation(check.valid)).strong(),
                    )
                    .wrap(),
                );
            }
            ui.colored_label(
                ui.visuals().warn_fg_color,
                match kind {
                    ImportKind::Events => "An import cannot be undone: Mixpanel cannot delete these events in bulk afterwards. If you are unsure, import into a test project first.",
                    ImportKind::Profiles => "An import cannot be undone: values it overwrites or clears cannot be brought back. If you are unsure, import into a test project first.",
                },
            );
            if lacks_token {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    words::missing_project_token(&connection.saved.name),
                );
            }
            if let Some(correction) = &fs.correction {
                let (warning, text) = correction.duplicates_sentence();
                let mut text = RichText::new(text);
                if warning {
                    text = text.color(ui.visuals().warn_fg_color);
                }
                ui.add(egui::Label::new(text).wrap());
            }
            if let Some(offer) = &offer {
                ui.label(format!(
                    "An earlier import of this file with this mapping into this project stopped before its end ({}). Mixpanel had acknowledged {} of its rows.",
                    words::run_short(&offer.record.end).to_lowercase(),
                    thousands(offer.acknowledged)
                ));
                ui.checkbox(
                    &mut self.resume,
                    "Continue the interrupted import (rows already sent are skipped)",
                );
            }
            ui.checkbox(
                &mut self.confirmed,
                match kind {
                    ImportKind::Events => "I understand, import these events",
                    ImportKind::Profiles => "I understand, import these user profiles",
                },
            );
            if ui
                .add_enabled(
                    self.confirmed && !lacks_token,
                    egui::Button::new("Start import"),
                )
                .clicked()
            {
                self.start(ui.ctx(), session, deps);
            }
        });
    }

    fn progress_ui(&mut self, ui: &mut egui::Ui, session: &Session) {
        let Some(run) = &self.running else {
            return;
        };
        let p = self.progress.clone().unwrap_or_default();
        let kind = session
            .file
            .as_ref()
            .map_or(ImportKind::Events, FileSession::kind);
        let paused = run.control.is_paused();
        ui.label(
            RichText::new(match p.phase {
                _ if paused => "Paused",
                Phase::Retrying => "Waiting for Mixpanel (rate limit or server error), will retry…",
                Phase::Finished => "Finishing…",
                _ => "Importing…",
            })
            .size(18.0),
        );
        let total = session
            .file
            .as_ref()
            .and_then(|fs| fs.current_check())
            .map(|c| c.rows);
        ui.add(
            egui::ProgressBar::new(p.delivered_fraction())
                .show_percentage()
                .animate(!paused),
        );
        egui::Grid::new("import-progress")
            .num_columns(2)
            .show(ui, |ui| {
                ui.label("Rows read");
                ui.strong(match total {
                    Some(total) => format!("{} of {}", thousands(p.rows_read), thousands(total)),
                    None => thousands(p.rows_read),
                });
                ui.end_row();
                ui.label("Accepted by Mixpanel");
                ui.strong(thousands(p.accepted));
                ui.end_row();
                ui.label("Rejected");
                ui.strong(format!(
                    "{} by the check, {} by Mixpanel",
                    thousands(p.invalid),
                    thousands(p.rejected_by_server)
                ));
                ui.end_row();
                if p.already_sent > 0 {
                    ui.label("Skipped (already sent earlier)");
                    ui.strong(thousands(p.already_sent));
                    ui.end_row();
                }
                ui.label("Retrying");
                ui.strong(thousands(p.retrying));
                ui.end_row();
                ui.label("Speed");
                ui.strong(format!(
                    "{:.0} {}/s",
                    p.settled_per_sec(),
                    words::short_noun(kind, 2)
                ));
                ui.end_row();
                ui.label("Time left");
                ui.strong(match p.delivered_eta_secs() {
                    Some(s) if s >= 90.0 => format!("about {:.0} min", s / 60.0),
                    Some(s) => format!("about {s:.0} s"),
                    None => "estimating…".to_owned(),
                });
                ui.end_row();
            });
        ui.horizontal(|ui| {
            if ui.button(if paused { "Resume" } else { "Pause" }).clicked() {
                run.control.set_paused(!paused);
            }
            if ui.button("Cancel import").clicked() {
                run.control.cancel();
            }
        });
        ui.weak(format!(
            "Cancelling lets requests in flight finish; {} already accepted stay in Mixpanel.",
            words::short_noun(kind, 2)
        ));
    }
}

/// The end of a run: a headline, one sentence, and a bar of the rows settled out of the
/// file's rows (full only when every row has its final outcome). `on_review` words the outcome
/// for the Review step, where the refused rows are listed below.
pub fn outcome_ui(
    ui: &mut egui::Ui,
    record: &RunRecord,
    session: Option<&FileSession>,
    on_review: bool,
) {
    let color = match record.end {
        RunEnd::Finished => ui.visuals().text_color(),
        RunEnd::Cancelled | RunEnd::Undelivered | RunEnd::Interrupted => ui.visuals().warn_fg_color,
        _ => ui.visuals().error_fg_color,
    };
    ui.label(
        RichText::new(words::run_headline(&record.end, record.kind))
            .size(18.0)
            .strong()
            .color(color),
    );
    ui.add(egui::Label::new(words::run_outcome_at(record, on_review)).wrap());
    let c = &record.counts;
    let settled = c.imported + c.rejected_by_check + c.rejected_by_mixpanel + c.already_sent;
    let total = session
        .and_then(|fs| fs.current_check())
        .map(|check| check.rows)
        .unwrap_or(c.rows)
        .max(settled);
    let fraction = if total == 0 {
        0.0
    } else {
        settled as f32 / total as f32
    };
    ui.add(egui::ProgressBar::new(fraction).text(format!(
        "{} of {} rows done{}",
        thousands(settled),
        thousands(total),
        if c.already_sent > 0 {
            format!(" ({} already sent earlier)", thousands(c.already_sent))
        } else {
            String::new()
        }
    )));
}
