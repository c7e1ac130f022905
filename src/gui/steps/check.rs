//! Step 3, Check: the dry run in the background, with progress, Cancel, counts, grouped issues
//! with clickable example rows, and "Export rejected rows…".
//!
//! The result belongs to the open file's session and to the exact mapping it checked: while a
//! check runs only its progress is shown, and a result for an older mapping is not shown as
//! current. Nothing is written to disk unless the user exports the rejected rows.

use std::path::PathBuf;

use egui::RichText;

use crate::gui::AppDeps;
use crate::gui::state::{CheckResult, FileSession};
use crate::gui::words::{self, thousands};
use crate::gui::worker::Task;
use crate::mapping::ImportKind;
use crate::pipeline::check::{CheckReport, IssueGroup};
use crate::pipeline::{Progress, RunControl};
use crate::session::SessionError;

/// Messages from a running check or export.
#[derive(Debug)]
pub enum CheckMessage {
    /// A progress snapshot.
    Progress(Progress),
    /// The check's end (or why it could not run).
    Checked(Result<Box<CheckReport>, String>),
    /// The export's end: rows written, or why not.
    Exported(PathBuf, Result<u64, String>),
}

/// A check running for one session and one mapping.
struct Running {
    task: Task<CheckMessage>,
    control: RunControl,
    serial: u64,
    mapping: crate::mapping::Mapping,
}

/// The Check step.
#[derive(Default)]
pub struct CheckStep {
    running: Option<Running>,
    exporting: Option<Running>,
    progress: Option<Progress>,
    error: Option<String>,
    /// The row whose values are shown (after a click on an example row).
    pub shown_row: Option<u64>,
    /// The "Export rejected rows to" path field.
    pub export_path: String,
    export_note: Option<(bool, String)>,
}

fn session_error(e: SessionError) -> String {
    match e {
        SessionError::Blocked(blockers) => blockers
            .iter()
            .map(words::blocker)
            .collect::<Vec<_>>()
            .join(" "),
        SessionError::Output(e) => e.to_string(),
        other => other.to_string(),
    }
}

impl CheckStep {
    /// Whether a check (or an export) is running.
    pub fn is_running(&self) -> bool {
        self.running.is_some() || self.exporting.is_some()
    }

    /// Stop a running check or export (a new file was opened).
    pub fn cancel(&mut self) {
        for run in [&self.running, &self.exporting].into_iter().flatten() {
            run.control.cancel();
        }
    }

    /// Start the check of the session's file and mapping.
    pub fn start(&mut self, ctx: &egui::Context, session: &FileSession) {
        let file = session.file.clone();
        let mapping = session.mapping.clone();
        let control = RunControl::new();
        let worker_control = control.clone();
        let for_worker = mapping.clone();
        let task = Task::spawn(ctx, "check", move |reporter| {
            let result = crate::session::check(&file, &for_worker, &worker_control, &mut |p| {
                reporter.send(CheckMessage::Progress(p.clone()));
            });
            reporter.send(CheckMessage::Checked(
                result.map(Box::new).map_err(session_error),
            ));
        });
        self.running = Some(Running {
            task,
            control,
            serial: session.serial,
            mapping,
        });
        self.progress = None;
        self.error = None;
        self.export_note = None;
        self.shown_row = None;
    }

    fn start_export(&mut self, ctx: &egui::Context, session: &FileSession, to: PathBuf) {
        let file = session.file.clone();
        let mapping = session.mapping.clone();
        let control = RunControl::new();
        let worker_control = control.clone();
        let for_worker = mapping.clone();
        let task = Task::spawn(ctx, "export", move |reporter| {
            let result = crate::session::export_rejected(
                &file,
                &for_worker,
                &to,
                &worker_control,
                &mut |p| {
                    reporter.send(CheckMessage::Progress(p.clone()));
                },
            );
            reporter.send(CheckMessage::Exported(to, result.map_err(session_error)));
        });
        self.exporting = Some(Running {
            task,
            control,
            serial: session.serial,
            mapping,
        });
        self.export_note = None;
    }

    /// Apply messages from a running check or export to `session` (when it is still the
    /// session they were started for).
    pub fn poll(&mut self, ctx: &egui::Context, session: Option<&mut FileSession>) {
        let mut session = session;
        if let Some(run) = self.running.as_mut() {
            let mut done = None;
            let mut progress = None;
            run.task.drain(ctx, |message| match message {
                CheckMessage::Progress(p) => progress = Some(p),
                CheckMessage::Checked(result) => done = Some(result),
                CheckMessage::Exported(..) => {}
            });
            if progress.is_some() {
                self.progress = progress;
            }
            let finished = run.task.is_finished();
            let same = session.as_ref().is_some_and(|s| s.serial == run.serial);
            match done {
                Some(Ok(report)) => {
                    if same && let Some(s) = session.as_mut() {
                        s.check = Some(CheckResult {
                            mapping: run.mapping.clone(),
                            report: *report,
                        });
                    }
                    self.running = None;
                }
                Some(Err(e)) => {
                    self.error = Some(e);
                    self.running = None;
                }
                None if finished => {
                    self.error = Some("The check stopped unexpectedly.".to_owned());
                    self.running = None;
                }
                None => {}
            }
        }
        if let Some(run) = self.exporting.as_mut() {
            let mut done = None;
            run.task.drain(ctx, |message| {
                if let CheckMessage::Exported(path, result) = message {
                    done = Some((path, result));
                }
            });
            let finished = run.task.is_finished();
            match done {
                Some((path, Ok(rows))) => {
                    self.export_path = path.display().to_string();
                    self.export_note = Some((
                        true,
                        format!(
                            "Saved {} rejected rows to {}",
                            thousands(rows),
                            path.display()
                        ),
                    ));
                    self.exporting = None;
                }
                Some((_, Err(e))) => {
                    self.export_note = Some((false, e));
                    self.exporting = None;
                }
                None if finished => {
                    self.export_note = Some((false, "The export stopped unexpectedly.".to_owned()));
                    self.exporting = None;
                }
                None => {}
            }
        }
    }

    /// Draw the step.
    pub fn ui(&mut self, ui: &mut egui::Ui, session: &mut FileSession, deps: &mut AppDeps) {
        let ready = session.is_ready();
        ui.horizontal(|ui| {
            if let Some(run) = &self.running {
                if ui.button("Cancel check").clicked() {
                    run.control.cancel();
                }
            } else if ui
                .add_enabled(
                    ready && self.exporting.is_none(),
                    egui::Button::new("Run check"),
                )
                .clicked()
            {
                self.start(ui.ctx(), session);
            }
        });
        if !ready {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "The check waits for the Map step:",
            );
            for blocker in &session.blockers {
                ui.colored_label(ui.visuals().warn_fg_color, words::blocker(blocker));
            }
        }
        if self.running.is_some() {
            match &self.progress {
                Some(p) => {
                    ui.add(
                        egui::ProgressBar::new(p.fraction())
                            .show_percentage()
                            .text(format!(
                                "{} rows read, {:.0} rows/s{}",
                                thousands(p.rows_read),
                                p.rate_per_sec,
                                p.eta_secs
                                    .map(|s| format!(", about {s:.0} s left"))
                                    .unwrap_or_default()
                            )),
                    );
                }
                None => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("Starting the check…");
                    });
                }
            }
            return;
        }
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        let Some(result) = session.check.as_ref() else {
            ui.label("The check reads every row of the file exactly as the import will, and tells you what Mixpanel would accept. Nothing is sent, and nothing is written.");
            return;
        };
        if result.mapping != session.mapping {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "The mapping changed since the last check: run the check again.",
            );
            return;
        }
        let report = &result.report;
        counts(ui, report, result.mapping.kind);
        ui.separator();
        let mut clicked_row = None;
        let mut export_clicked = None;
        egui::ScrollArea::vertical()
            .id_salt(("check-scroll", session.serial))
            .auto_shrink([false, false])
            .show(ui, |ui| {
                let (mapping_wide, warnings): (Vec<&IssueGroup>, Vec<&IssueGroup>) = report
                    .warnings
                    .iter()
                    .partition(|g| !g.examples.is_empty() && g.examples.iter().all(|e| e.row == 0));
                for group in mapping_wide {
                    for example in &group.examples {
                        ui.colored_label(ui.visuals().warn_fg_color, example.message.clone());
                    }
                }
                if !report.errors.is_empty() {
                    ui.label(RichText::new("Why rows would be rejected").strong());
                    groups_ui(ui, report.errors.iter().collect(), &mut clicked_row, true);
                }
                if !warnings.is_empty() {
                    ui.label(RichText::new("Warnings (these rows are still sent)").strong());
                    groups_ui(ui, warnings, &mut clicked_row, false);
                }
                if let Some(row) = self.shown_row {
                    row_values(ui, session, report, row);
                }
                if report.invalid > 0 {
                    ui.separator();
                    export_clicked = export_row(
                        ui,
                        &mut self.export_path,
                        &self.export_note,
                        self.exporting.is_some(),
                    );
                }
            });
        if clicked_row.is_some() {
            self.shown_row = clicked_row;
        }
        if let Some(via) = export_clicked
            && let Some(to) = export_target(deps, via, &self.export_path, &mut self.export_note)
        {
            self.start_export(ui.ctx(), session, to);
        }
    }
}

fn counts(ui: &mut egui::Ui, report: &CheckReport, kind: ImportKind) {
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("{} rows", thousands(report.rows))).size(18.0));
        ui.label(
            RichText::new(format!("{} valid", thousands(report.valid)))
                .size(18.0)
                .color(egui::Color32::from_rgb(60, 160, 80)),
        );
        ui.label(
            RichText::new(format!("{} invalid", thousands(report.invalid)))
                .size(18.0)
                .color(ui.visuals().error_fg_color),
        );
        ui.label(
            RichText::new(format!(
                "{} with warnings",
                thousands(report.rows_with_warnings)
            ))
            .size(18.0)
            .color(ui.visuals().warn_fg_color),
        );
    });
    ui.label(format!(
        "The import would send {} in {} request{} ({:.1} MB{}).",
        words::count_of(kind, report.valid),
        thousands(report.requests),
        if report.requests == 1 { "" } else { "s" },
        report.bytes as f64 / 1_000_000.0,
        match kind {
            ImportKind::Events => " before compression",
            ImportKind::Profiles => "",
        }
    ));
    if report.cancelled {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            "The check was cancelled: these numbers cover only the rows read. Run it to the end to go on.",
        );
    }
}

fn groups_ui(ui: &mut egui::Ui, groups: Vec<&IssueGroup>, clicked: &mut Option<u64>, errors: bool) {
    let few = groups.len() <= 3;
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
                thousands(group.count)
            ))
            .color(color),
        )
        .id_salt(("group", group.kind.title(), group.field.as_str()))
        .default_open(errors && few)
        .show(ui, |ui| {
            for example in &group.examples {
                ui.horizontal(|ui| {
                    if ui.link(format!("Row {}", example.row)).clicked() {
                        *clicked = Some(example.row);
                    }
                    ui.weak(&group.field);
                });
                ui.add(egui::Label::new(strip_row_prefix(&example.message)).wrap());
            }
            if group.count > group.examples.len() as u64 {
                ui.weak(format!(
                    "… and {} more rows",
                    thousands(group.count - group.examples.len() as u64)
                ));
            }
        });
    }
}

fn row_values(ui: &mut egui::Ui, session: &FileSession, report: &CheckReport, row: u64) {
    ui.separator();
    ui.label(RichText::new(format!("Values of row {row}")).strong());
    let values: Option<Vec<String>> = report
        .rejected_sample
        .iter()
        .find(|r| r.row == row)
        .map(|r| r.values.clone())
        .or_else(|| {
            session
                .file
                .head
                .iter()
                .find(|r| r.row == row)
                .map(|r| r.cells.iter().map(crate::session::cell_text).collect())
        });
    match values {
        Some(values) => {
            egui::Grid::new("row-values").striped(true).show(ui, |ui| {
                for (column, value) in report.columns.iter().zip(values) {
                    ui.strong(column);
                    ui.monospace(value);
                    ui.end_row();
                }
            });
        }
        None => {
            ui.weak(
                "This row is beyond the rows kept for display: export the rejected rows to see it.",
            );
        }
    }
}

/// `row 12: the user ID is empty` → `the user ID is empty`.
pub fn strip_row_prefix(message: &str) -> &str {
    message
        .strip_prefix("row ")
        .and_then(|rest| {
            let digits = rest.find(|c: char| !c.is_ascii_digit())?;
            rest[digits..].strip_prefix(": ")
        })
        .unwrap_or(message)
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
    busy: bool,
) -> Option<ExportVia> {
    let mut clicked = None;
    ui.add_enabled_ui(!busy, |ui| {
        ui.horizontal(|ui| {
            if ui.button("Export rejected rows…").clicked() {
                clicked = Some(ExportVia::Dialog);
            }
            let label = ui.label("or save to path:");
            ui.add(
                egui::TextEdit::singleline(path)
                    .hint_text("/path/to/rejected.csv")
                    .desired_width(300.0),
            )
            .labelled_by(label.id);
            if ui
                .add_enabled(!path.trim().is_empty(), egui::Button::new("Save"))
                .clicked()
            {
                clicked = Some(ExportVia::Path);
            }
        });
    });
    if busy {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Writing the rejected rows…");
        });
    }
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

/// Where to export: from the save dialog or the typed path. `None` (with a note) when the
/// dialog gave nothing back.
pub fn export_target(
    deps: &mut AppDeps,
    via: ExportVia,
    path_field: &str,
    note: &mut Option<(bool, String)>,
) -> Option<PathBuf> {
    if via == ExportVia::Path {
        return Some(PathBuf::from(path_field.trim()));
    }
    let chosen = deps
        .file_dialog
        .save_file("Export rejected rows", "rejected-rows.csv");
    if chosen.is_none() {
        *note = Some((
            false,
            "No file was chosen. If no dialog appeared, type a path in the field and press Save."
                .to_owned(),
        ));
    }
    chosen
}
