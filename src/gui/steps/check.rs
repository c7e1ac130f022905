//! Step 3, Check: the dry run in the background, with progress, Cancel, counts, grouped issues
//! with clickable example rows, and "Export rejected rows…".

use std::path::PathBuf;

use egui::RichText;

use crate::gui::AppDeps;
use crate::gui::backend::{self, CheckMessage, CheckSummary, IssueGroup};
use crate::gui::session::{CheckedMapping, Session};
use crate::gui::worker::Task;
use crate::pipeline::{Progress, RunControl};

/// The Check step.
#[derive(Default)]
pub struct CheckStep {
    running: Option<(Task<CheckMessage>, RunControl)>,
    progress: Option<Progress>,
    /// The last finished check.
    pub summary: Option<CheckSummary>,
    error: Option<String>,
    /// The row whose values are shown (after a click on an example row).
    pub shown_row: Option<u64>,
    /// The "Export rejected rows to" path field.
    pub export_path: String,
    export_note: Option<(bool, String)>,
}

impl CheckStep {
    /// Whether a check is running.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Start the check of the session's file and mapping.
    pub fn start(&mut self, ctx: &egui::Context, session: &Session, deps: &AppDeps) {
        let Some(file) = session.file.as_ref() else {
            return;
        };
        let sniff = file.sniff.clone();
        let mapping = session.mapping.clone();
        let control = RunControl::new();
        let worker_control = control.clone();
        let rejected_path = deps.runs_dir.join(format!(
            "check-rejected-{}.csv",
            chrono::Utc::now().format("%Y%m%d-%H%M%S")
        ));
        let task = Task::spawn(ctx, "check", move |reporter| {
            let result =
                backend::run_check(&sniff, &mapping, &worker_control, &rejected_path, |p| {
                    reporter.send(CheckMessage::Progress(p));
                });
            reporter.send(CheckMessage::Done(result.map(Box::new)));
        });
        self.running = Some((task, control));
        self.progress = None;
        self.error = None;
        self.export_note = None;
        self.shown_row = None;
    }

    /// Apply messages from a running check.
    pub fn poll(&mut self, ctx: &egui::Context, session: &mut Session) {
        let Some((task, _)) = self.running.as_mut() else {
            return;
        };
        let mut done = None;
        let mut progress = None;
        task.drain(ctx, |message| match message {
            CheckMessage::Progress(p) => progress = Some(p),
            CheckMessage::Done(result) => done = Some(result),
        });
        if progress.is_some() {
            self.progress = progress;
        }
        match done {
            Some(Ok(summary)) => {
                if !summary.cancelled {
                    session.checked = Some(CheckedMapping {
                        mapping: session.mapping.clone(),
                        rows: summary.rows,
                        valid: summary.valid,
                        invalid: summary.invalid,
                    });
                }
                self.summary = Some(*summary);
                self.running = None;
            }
            Some(Err(e)) => {
                self.error = Some(e);
                self.running = None;
            }
            None if task.is_finished() => {
                self.error = Some("The check stopped unexpectedly.".to_owned());
                self.running = None;
            }
            None => {}
        }
    }

    /// Draw the step.
    pub fn ui(&mut self, ui: &mut egui::Ui, session: &mut Session, deps: &mut AppDeps) {
        ui.horizontal(|ui| {
            if let Some((_, control)) = &self.running {
                if ui.button("Cancel check").clicked() {
                    control.cancel();
                }
            } else if ui
                .add_enabled(session.file.is_some(), egui::Button::new("Run check"))
                .clicked()
            {
                self.start(ui.ctx(), session, deps);
            }
            if self.summary.is_some() && !session.check_is_current() && self.running.is_none() {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    "The mapping changed since this check: run it again.",
                );
            }
        });
        if let Some(p) = &self.progress
            && (self.running.is_some() || self.summary.is_none())
        {
            ui.add(
                egui::ProgressBar::new(p.fraction())
                    .show_percentage()
                    .text(format!(
                        "{} rows read, {:.0} rows/s{}",
                        p.rows_read,
                        p.rate_per_sec,
                        p.eta_secs
                            .map(|s| format!(", about {:.0} s left", s))
                            .unwrap_or_default()
                    )),
            );
        } else if self.running.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Starting the check…");
            });
        }
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        let Some(summary) = &self.summary else {
            if self.running.is_none() {
                ui.label("The check reads every row of the file exactly as the import will, and tells you what Mixpanel would accept. Nothing is sent.");
            }
            return;
        };
        counts(ui, summary);
        ui.separator();
        let mut clicked_row = None;
        let mut export_clicked = None;
        egui::ScrollArea::vertical()
            .id_salt("check-scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for message in &summary.mapping_warnings {
                    ui.colored_label(ui.visuals().warn_fg_color, message.clone());
                }
                if !summary.errors.is_empty() {
                    ui.label(RichText::new("Why rows would be rejected").strong());
                    groups_ui(ui, &summary.errors, &mut clicked_row, true);
                }
                if !summary.warnings.is_empty() {
                    ui.label(RichText::new("Warnings (these rows are still sent)").strong());
                    groups_ui(ui, &summary.warnings, &mut clicked_row, false);
                }
                if let Some(row) = self.shown_row {
                    row_values(ui, session, summary, row);
                }
                if summary.rejected_file.is_some() {
                    ui.separator();
                    export_clicked = export_row(ui, &mut self.export_path, &self.export_note);
                }
            });
        if clicked_row.is_some() {
            self.shown_row = clicked_row;
        }
        if let Some(via) = export_clicked
            && let Some(from) = summary.rejected_file.clone()
        {
            self.export_note = Some(export(deps, via, &from, &mut self.export_path));
        }
    }
}

fn counts(ui: &mut egui::Ui, summary: &CheckSummary) {
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("{} rows", summary.rows)).size(18.0));
        ui.label(
            RichText::new(format!("{} valid", summary.valid))
                .size(18.0)
                .color(egui::Color32::from_rgb(60, 160, 80)),
        );
        ui.label(
            RichText::new(format!("{} invalid", summary.invalid))
                .size(18.0)
                .color(ui.visuals().error_fg_color),
        );
        ui.label(
            RichText::new(format!("{} with warnings", summary.with_warnings))
                .size(18.0)
                .color(ui.visuals().warn_fg_color),
        );
    });
    ui.label(format!(
        "The import would send {} events in {} request{} ({:.1} MB before compression){}.",
        summary.valid,
        summary.requests,
        if summary.requests == 1 { "" } else { "s" },
        summary.bytes as f64 / 1_000_000.0,
        if summary.cancelled {
            ". The check was cancelled: these numbers cover only the rows read"
        } else {
            ""
        }
    ));
}

fn groups_ui(ui: &mut egui::Ui, groups: &[IssueGroup], clicked: &mut Option<u64>, errors: bool) {
    for group in groups {
        let color = if errors {
            ui.visuals().error_fg_color
        } else {
            ui.visuals().warn_fg_color
        };
        let plural = if group.count == 1 { "" } else { "s" };
        egui::CollapsingHeader::new(
            RichText::new(format!(
                "{} — {} row{plural}",
                group.kind.title(),
                group.count
            ))
            .color(color),
        )
        .id_salt(("group", group.kind.title()))
        .default_open(errors && groups.len() <= 3)
        .show(ui, |ui| {
            for (row, field, message) in &group.examples {
                ui.horizontal(|ui| {
                    if ui.link(format!("Row {row}")).clicked() {
                        *clicked = Some(*row);
                    }
                    ui.weak(field);
                });
                ui.add(
                    egui::Label::new(crate::gui::steps::review::strip_row_prefix(message)).wrap(),
                );
            }
            if group.count > group.examples.len() as u64 {
                ui.weak(format!(
                    "… and {} more rows",
                    group.count - group.examples.len() as u64
                ));
            }
        });
    }
}

fn row_values(ui: &mut egui::Ui, session: &Session, summary: &CheckSummary, row: u64) {
    ui.separator();
    ui.label(RichText::new(format!("Values of row {row}")).strong());
    let values: Option<Vec<String>> = summary
        .rejected
        .iter()
        .find(|r| r.row == row)
        .map(|r| r.values.clone())
        .or_else(|| {
            session.file.as_ref().and_then(|f| {
                f.preview
                    .iter()
                    .find(|r| r.row == row)
                    .map(|r| r.cells.iter().map(backend::cell_text).collect())
            })
        });
    match values {
        Some(values) => {
            egui::Grid::new("row-values").striped(true).show(ui, |ui| {
                for (column, value) in summary.columns.iter().zip(values) {
                    ui.strong(column);
                    ui.monospace(value);
                    ui.end_row();
                }
            });
        }
        None => {
            ui.weak("This row is beyond the preview; its values are in the rejected rows file.");
        }
    }
}

/// How the user asked to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportVia {
    /// Through the save dialog.
    Dialog,
    /// To the typed path.
    Path,
}

/// The "Export rejected rows…" button and its path field.
pub fn export_row(
    ui: &mut egui::Ui,
    path: &mut String,
    note: &Option<(bool, String)>,
) -> Option<ExportVia> {
    let mut clicked = None;
    ui.horizontal(|ui| {
        if ui.button("Export rejected rows…").clicked() {
            clicked = Some(ExportVia::Dialog);
        }
        let label = ui.label("or save to path:");
        let field = ui
            .add(
                egui::TextEdit::singleline(path)
                    .hint_text("/path/to/rejected.csv")
                    .desired_width(300.0),
            )
            .labelled_by(label.id);
        let _ = field;
        if ui
            .add_enabled(!path.trim().is_empty(), egui::Button::new("Save"))
            .clicked()
        {
            clicked = Some(ExportVia::Path);
        }
    });
    if let Some((ok, message)) = note {
        let color = if *ok {
            ui.visuals().text_color()
        } else {
            ui.visuals().error_fg_color
        };
        ui.colored_label(color, message);
    }
    clicked
}

/// Export through the save dialog or to the typed path.
pub fn export(
    deps: &mut AppDeps,
    via: ExportVia,
    from: &std::path::Path,
    path_field: &mut String,
) -> (bool, String) {
    let target = if via == ExportVia::Dialog {
        match deps
            .file_dialog
            .save_file("Export rejected rows", "rejected-rows.csv")
        {
            Some(p) => p,
            None => {
                return (
                    false,
                    "No file was chosen. If no dialog appeared, type a path in the field and press Save."
                        .to_owned(),
                );
            }
        }
    } else {
        PathBuf::from(path_field.trim())
    };
    match backend::export_rejected(from, &target) {
        Ok(_) => {
            *path_field = target.display().to_string();
            (true, format!("Saved rejected rows to {}", target.display()))
        }
        Err(e) => (false, e),
    }
}
