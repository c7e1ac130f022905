//! The "Import history" window: every past run with its file, what it sent (events or user
//! profiles), project, label, date and how it ended. Read from the run history on a worker thread when the window opens.

use egui::RichText;

use crate::gui::AppDeps;
use crate::gui::words::{self, thousands};
use crate::gui::worker::Task;
use crate::mapping::ImportKind;
use crate::session::history;
use crate::session::run::{RunEnd, RunRecord};

/// The window's state.
#[derive(Default)]
pub struct HistoryWindow {
    /// Whether the window is open.
    pub open: bool,
    runs: Option<Vec<RunRecord>>,
    task: Option<Task<Vec<RunRecord>>>,
    selected: Option<String>,
    /// The run the user asked to verify in Mixpanel (taken by the app).
    verify_asked: Option<String>,
}

impl HistoryWindow {
    /// Open the window and read the history again.
    pub fn show_again(&mut self, ctx: &egui::Context, deps: &AppDeps) {
        self.open = true;
        self.runs = None;
        let runs_dir = deps.runs_dir.clone();
        self.task = Some(Task::spawn(ctx, "history", move |reporter| {
            reporter.send(history::list(&runs_dir));
        }));
    }

    /// The run the user asked to verify with "Verify in Mixpanel", once.
    pub fn take_verify_request(&mut self) -> Option<String> {
        self.verify_asked.take()
    }

    /// The runs read, once read (for tests).
    pub fn runs(&self) -> Option<&[RunRecord]> {
        self.runs.as_deref()
    }

    /// Draw the window when open.
    pub fn ui(&mut self, ctx: &egui::Context) {
        if let Some(task) = self.task.as_mut() {
            let mut got = None;
            task.drain(ctx, |runs| got = Some(runs));
            if got.is_some() || task.is_finished() {
                self.runs = Some(got.unwrap_or_default());
                self.task = None;
            }
        }
        let mut open = self.open;
        egui::Window::new("Import history")
            .open(&mut open)
            .collapsible(false)
            .default_size([760.0, 420.0])
            .max_width(ctx.content_rect().width() - 40.0)
            .show(ctx, |ui| self.contents(ui));
        self.open = open;
    }

    fn contents(&mut self, ui: &mut egui::Ui) {
        let Some(runs) = &self.runs else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Reading the history…");
            });
            return;
        };
        if runs.is_empty() {
            ui.label("No import has run yet.");
            return;
        }
        ui.weak(
            "Every import Mixport ran, newest first. These are past runs, not the file open now.",
        );
        let mut clicked = None;
        egui::ScrollArea::both()
            .id_salt("history-scroll")
            .max_height(260.0)
            .show(ui, |ui| {
                egui::Grid::new("history")
                    .striped(true)
                    .num_columns(7)
                    .show(ui, |ui| {
                        for heading in [
                            "Date", "File", "Kind", "Project", "Label", "Outcome", "Imported",
                        ] {
                            ui.strong(heading);
                        }
                        ui.end_row();
                        for run in runs {
                            // The date opens the run's details; its name is what it shows.
                            let date = run.started_at.replace('T', " ");
                            if ui.link(date.trim_end_matches('Z')).clicked() {
                                clicked = Some(run.id.clone());
                            }
                            ui.label(run.file_name());
                            ui.label(words::run_kind_name(run.kind));
                            ui.label(match &run.project_id {
                                Some(id) => id.clone(),
                                None => "the token's".to_owned(),
                            });
                            ui.label(run.label.clone().unwrap_or_else(|| "—".to_owned()));
                            ui.label(words::run_short(&run.end));
                            ui.label(if run.end == RunEnd::Interrupted {
                                "unknown".to_owned()
                            } else {
                                thousands(run.counts.imported)
                            });
                            ui.end_row();
                        }
                    });
            });
        if clicked.is_some() {
            self.selected = clicked;
        }
        if let Some(run) = self
            .selected
            .as_ref()
            .and_then(|id| runs.iter().find(|r| &r.id == id))
        {
            ui.separator();
            ui.label(RichText::new(format!("{} — {}", run.file_name(), run.started_at)).strong());
            ui.label(format!("File: {}", run.file.display()));
            ui.label(format!("Kind: {}", words::run_kind_name(run.kind)));
            ui.label(format!("Project: {}", words::run_project(run)));
            ui.label(format!("Region: {}", words::region_code_name(&run.region)));
            ui.add(egui::Label::new(words::run_outcome(run)).wrap());
            if let Some(path) = &run.rejected_file {
                ui.label(format!("Rejected rows: {}", path.display()));
            }
            if run.counts.imported > 0 {
                if run.kind.import_kind() == ImportKind::Profiles {
                    // Mixpanel's raw export, which verification reads, holds events only.
                    ui.add(
                        egui::Label::new(
                            "User profiles cannot be read back from Mixpanel's export: look the people up under Users in Mixpanel.",
                        )
                        .wrap(),
                    );
                } else if ui.button("Verify in Mixpanel").clicked() {
                    self.verify_asked = Some(run.id.clone());
                }
            }
        }
    }
}
