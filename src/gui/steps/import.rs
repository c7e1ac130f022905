//! Step 5, Import: the confirmation, then live progress with Pause and Cancel.

use egui::RichText;

use crate::gui::AppDeps;
use crate::gui::backend::{self, ImportMessage, ImportRequest, region_name};
use crate::gui::session::Session;
use crate::gui::worker::Task;
use crate::mapping::IMPORT_LABEL_PROPERTY;
use crate::pipeline::{Phase, Progress, RunControl};

/// The Import step.
pub struct ImportStep {
    /// The "I understand" box of the confirmation.
    pub confirmed: bool,
    running: Option<(Task<ImportMessage>, RunControl)>,
    progress: Option<Progress>,
    error: Option<String>,
    /// Offer to resume an interrupted run (set at start-up from the journal).
    pub resume_offer: Option<String>,
    resume: bool,
    /// (mapping hash, connection name) the resume check was made for, and its answer.
    resume_checked: Option<(String, String, bool)>,
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
            resume_offer: None,
            resume: false,
            resume_checked: None,
        }
    }

    /// Whether an import is running.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Ask a running import to stop.
    pub fn cancel(&self) {
        if let Some((_, control)) = &self.running {
            control.cancel();
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
        let (Some(file), Some(connection)) = (session.file.as_ref(), session.connection.as_ref())
        else {
            return;
        };
        let request = ImportRequest {
            sniff: file.sniff.clone(),
            options: file.options.clone(),
            mapping: session.mapping.clone(),
            connection: connection.clone(),
            api_base: deps.api_base.clone(),
            runs_dir: deps.runs_dir.clone(),
            resume: self.resume,
        };
        let control = RunControl::new();
        let worker_control = control.clone();
        let task = Task::spawn(ctx, "import", move |reporter| {
            let result = backend::run_import(&request, &worker_control, |p| {
                reporter.send(ImportMessage::Progress(p));
            });
            reporter.send(ImportMessage::Done(result.map(Box::new)));
        });
        self.running = Some((task, control));
        self.progress = None;
        self.error = None;
    }

    /// Apply messages from a running import.
    pub fn poll(&mut self, ctx: &egui::Context, session: &mut Session, deps: &mut AppDeps) {
        let _ = deps;
        let Some((task, _)) = self.running.as_mut() else {
            return;
        };
        let mut done = None;
        let mut progress = None;
        task.drain(ctx, |message| match message {
            ImportMessage::Progress(p) => progress = Some(p),
            ImportMessage::Done(result) => done = Some(result),
        });
        if progress.is_some() {
            self.progress = progress;
        }
        match done {
            Some(Ok(summary)) => {
                session.imported = true;
                session.import_result = Some(*summary);
                self.running = None;
                self.confirmed = false;
                self.resume = false;
                self.resume_offer = None;
                self.resume_checked = None;
            }
            Some(Err(e)) => {
                self.error = Some(e);
                self.running = None;
            }
            None if task.is_finished() => {
                self.error = Some("The import stopped unexpectedly.".to_owned());
                self.running = None;
            }
            None => {}
        }
    }

    /// Draw the step.
    pub fn ui(&mut self, ui: &mut egui::Ui, session: &mut Session, deps: &mut AppDeps) {
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        if self.running.is_some() {
            self.progress_ui(ui);
            return;
        }
        if let Some(result) = &session.import_result {
            ui.label(
                RichText::new(if result.cancelled {
                    "The import was cancelled."
                } else if result.stopped_by.is_some() {
                    "The import stopped."
                } else {
                    "The import is finished."
                })
                .size(18.0)
                .strong(),
            );
            if let Some(reason) = &result.stopped_by {
                ui.colored_label(ui.visuals().error_fg_color, reason);
            }
            ui.label(format!(
                "{} rows read: {} accepted by Mixpanel, {} rejected by the check, {} rejected by Mixpanel ({:.1} s).",
                result.rows,
                result.accepted,
                result.rejected_local,
                result.rejected_server,
                result.elapsed_secs
            ));
            if let Some(p) = &self.progress {
                ui.add(egui::ProgressBar::new(p.fraction()).show_percentage());
            }
            ui.label(
                "Open Review to see the rejected events and where to find this import in Mixpanel.",
            );
            ui.separator();
            ui.label("You can import again (for example into another project): events with the same insert ID are not duplicated by Mixpanel.");
        }
        self.confirmation(ui, session, deps);
    }

    fn confirmation(&mut self, ui: &mut egui::Ui, session: &mut Session, deps: &AppDeps) {
        let Some(connection) = session.connection.as_ref() else {
            ui.label("Choose a connection in the Connect step first.");
            return;
        };
        let hash = session.mapping.content_hash();
        let stale = self
            .resume_checked
            .as_ref()
            .is_none_or(|(h, c, _)| *h != hash || *c != connection.saved.name);
        if stale && let Some(file) = session.file.as_ref() {
            let request = ImportRequest {
                sniff: file.sniff.clone(),
                options: file.options.clone(),
                mapping: session.mapping.clone(),
                connection: connection.clone(),
                api_base: deps.api_base.clone(),
                runs_dir: deps.runs_dir.clone(),
                resume: true,
            };
            let available = backend::can_resume(&request);
            self.resume = available;
            if available && self.resume_offer.is_none() {
                self.resume_offer = Some(
                    "An earlier import of this file with this mapping into this project did not finish."
                        .to_owned(),
                );
            }
            if !available {
                self.resume_offer = None;
            }
            self.resume_checked = Some((hash, connection.saved.name.clone(), available));
        }
        let events = session
            .checked
            .as_ref()
            .map(|c| c.valid.to_string())
            .unwrap_or_else(|| "all valid".to_owned());
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.label(RichText::new("Ready to import").strong().size(16.0));
            egui::Grid::new("confirm").num_columns(2).show(ui, |ui| {
                ui.label("Project");
                ui.strong(format!("{} (connection '{}')", connection.saved.project_id.clone().unwrap_or_default(), connection.saved.name));
                ui.end_row();
                ui.label("Region");
                ui.strong(region_name(connection.saved.region));
                ui.end_row();
                ui.label("Events");
                ui.strong(events);
                ui.end_row();
                if let Some(label) = session.mapping.constants.get(IMPORT_LABEL_PROPERTY) {
                    ui.label("Import label");
                    ui.strong(format!(
                        "{IMPORT_LABEL_PROPERTY} = {}",
                        label.as_str().map(str::to_owned).unwrap_or_else(|| label.to_string())
                    ));
                    ui.end_row();
                }
                if let Some(base) = &deps.api_base {
                    ui.label("Server");
                    ui.strong(base);
                    ui.end_row();
                }
            });
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "An import cannot be undone: Mixpanel cannot delete these events in bulk afterwards. If you are unsure, import into a test project first.",
            );
            if let Some(offer) = &self.resume_offer {
                ui.label(offer);
                ui.checkbox(&mut self.resume, "Continue the interrupted import (rows already sent are skipped)");
            }
            ui.checkbox(&mut self.confirmed, "I understand, import these events");
            if ui
                .add_enabled(self.confirmed, egui::Button::new("Start import"))
                .clicked()
            {
                self.start(ui.ctx(), session, deps);
            }
        });
    }

    fn progress_ui(&mut self, ui: &mut egui::Ui) {
        let Some((_, control)) = &self.running else {
            return;
        };
        let p = self.progress.clone().unwrap_or_default();
        let paused = control.is_paused();
        ui.label(
            RichText::new(match p.phase {
                _ if paused => "Paused",
                Phase::Retrying => "Waiting for Mixpanel (rate limit or server error), will retry…",
                Phase::Finished => "Finishing…",
                _ => "Importing…",
            })
            .size(18.0),
        );
        ui.add(
            egui::ProgressBar::new(p.delivered_fraction())
                .show_percentage()
                .animate(!paused),
        );
        egui::Grid::new("import-progress")
            .num_columns(2)
            .show(ui, |ui| {
                ui.label("Rows read");
                ui.strong(p.rows_read.to_string());
                ui.end_row();
                ui.label("Accepted");
                ui.strong(p.accepted.to_string());
                ui.end_row();
                ui.label("Rejected");
                ui.strong(format!(
                    "{} by the check, {} by Mixpanel",
                    p.invalid, p.rejected_by_server
                ));
                ui.end_row();
                ui.label("Retrying");
                ui.strong(p.retrying.to_string());
                ui.end_row();
                ui.label("Speed");
                ui.strong(format!("{:.0} events/s", p.settled_per_sec()));
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
                control.set_paused(!paused);
            }
            if ui.button("Cancel import").clicked() {
                control.cancel();
            }
        });
        ui.weak(
            "Cancelling lets requests in flight finish; events already accepted stay in Mixpanel.",
        );
    }
}
