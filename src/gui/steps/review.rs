//! Step 6, Review: how the run ended, every rejected event (or user profile) grouped by who
//! refused it and the field at fault, filterable, the export, and when and where the events or
//! profiles show up in Mixpanel.
//!
//! The rejected rows are read back from the run's own file (first [`REJECTED_SHOWN`] rows) on a
//! worker thread; who refused each row comes from its `_origin` column, not from its wording.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use egui::RichText;

use crate::gui::AppDeps;
use crate::gui::state::FileSession;
use crate::gui::steps::check::{export_row, export_target, strip_row_prefix};
use crate::gui::steps::import::outcome_ui;
use crate::gui::words::{self, thousands};
use crate::gui::worker::Task;
use crate::mapping::{IMPORT_LABEL_PROPERTY, ImportKind};
use crate::pipeline::rejected::{RejectedRow, RejectionOrigin, read_rejected};
use crate::session::run::RunRecord;

/// How many rejected rows are read back for display (the export has all of them).
pub const REJECTED_SHOWN: usize = 5_000;

type Loaded = Result<Vec<RejectedRow>, String>;

/// The Review step.
#[derive(Default)]
pub struct ReviewStep {
    /// The filter field.
    pub filter: String,
    /// The export path field.
    pub export_path: String,
    export_note: Option<(bool, String)>,
    rows: Option<(String, Loaded)>,
    loading: Option<(String, Task<Loaded>)>,
    exporting: Option<Task<(PathBuf, Result<u64, String>)>>,
    /// The run the user asked to verify in Mixpanel (taken by the app).
    verify_asked: Option<String>,
}

/// Copy the run's rejected rows to `to`: refused when `to` is the imported file or the run's own
/// file, written through a temporary file.
fn export(input: &Path, from: &Path, to: &Path) -> Result<u64, String> {
    use crate::output::{AtomicFile, RunFile, check_output_paths};
    check_output_paths(
        &[
            RunFile::new("the file being imported", input),
            RunFile::new("the run's rejected rows", from),
        ],
        &[RunFile::new("the export", to)],
    )
    .map_err(|e| e.to_string())?;
    let cannot = |e: std::io::Error| format!("{}: cannot write: {e}", to.display());
    let mut source = std::fs::File::open(from).map_err(|e| format!("{}: {e}", from.display()))?;
    let mut target = AtomicFile::create(to).map_err(cannot)?;
    let bytes = std::io::copy(&mut source, &mut target).map_err(cannot)?;
    target.commit().map_err(cannot)?;
    Ok(bytes)
}

impl ReviewStep {
    /// Apply finished background work.
    pub fn poll(&mut self, ctx: &egui::Context) {
        if let Some((id, task)) = self.loading.as_mut() {
            let mut got = None;
            task.drain(ctx, |rows| got = Some(rows));
            if let Some(rows) = got {
                self.rows = Some((id.clone(), rows));
                self.loading = None;
            } else if task.is_finished() {
                self.rows = Some((id.clone(), Err("Reading the rejected rows stopped.".into())));
                self.loading = None;
            }
        }
        if let Some(task) = self.exporting.as_mut() {
            let mut got = None;
            task.drain(ctx, |r| got = Some(r));
            if let Some((path, result)) = got {
                self.export_note = Some(match result {
                    Ok(_) => {
                        self.export_path = path.display().to_string();
                        (true, format!("Saved rejected rows to {}", path.display()))
                    }
                    Err(e) => (false, e),
                });
                self.exporting = None;
            } else if task.is_finished() {
                self.exporting = None;
            }
        }
    }

    /// The run the user asked to verify with "Verify in Mixpanel", once.
    pub fn take_verify_request(&mut self) -> Option<String> {
        self.verify_asked.take()
    }

    fn load(&mut self, ctx: &egui::Context, record: &RunRecord) {
        let current = self.rows.as_ref().map(|(id, _)| id.as_str()) == Some(record.id.as_str())
            || self.loading.as_ref().map(|(id, _)| id.as_str()) == Some(record.id.as_str());
        if current {
            return;
        }
        self.rows = None;
        self.export_note = None;
        let Some(path) = record.rejected_file.clone() else {
            self.rows = Some((record.id.clone(), Ok(Vec::new())));
            return;
        };
        let task = Task::spawn(ctx, "review", move |reporter| {
            reporter.send(read_rejected(&path, REJECTED_SHOWN).map_err(|e| e.to_string()));
        });
        self.loading = Some((record.id.clone(), task));
    }

    /// Draw the step for the open file's session.
    pub fn ui(&mut self, ui: &mut egui::Ui, session: &mut FileSession, deps: &mut AppDeps) {
        let Some(record) = session.run.clone() else {
            ui.label("Run the import first.");
            return;
        };
        session.reviewed = true;
        self.load(ui.ctx(), &record);
        outcome_ui(ui, &record, Some(session), true);
        let c = &record.counts;
        let kind = record.kind.import_kind();
        if c.imported + c.already_sent > 0 && kind == ImportKind::Profiles {
            egui::CollapsingHeader::new("When will the profiles show up in Mixpanel?")
                .default_open(true)
                .show(ui, |ui| {
                    ui.label("Updated profiles appear under Users (and in reports that break down by profile properties) within a few minutes.");
                    ui.label("Profiles have no time: Mixpanel shows their values as they are now, for every date range.");
                });
        } else if c.imported + c.already_sent > 0 {
            egui::CollapsingHeader::new("When will the events show up in Mixpanel?")
                .default_open(true)
                .show(ui, |ui| {
                    ui.label("Accepted events appear in reports (Insights, Funnels, …) within a few minutes. Mixpanel's export, which \"Verify in Mixpanel\" reads, can take up to an hour to include them.");
                    ui.label("Historical events are placed at their own time: set the report's date range to cover the dates in your file, not today.");
                    match &record.label {
                        Some(label) => {
                            ui.label(format!(
                                "To see only this import, filter by the event property '{IMPORT_LABEL_PROPERTY}' equals '{label}'."
                            ));
                        }
                        None => {
                            ui.label("This import had no import label, so filter by the dates and event names of your file.");
                        }
                    }
                });
            ui.horizontal_wrapped(|ui| {
                if ui.button("Verify in Mixpanel").clicked() {
                    self.verify_asked = Some(record.id.clone());
                }
                ui.label("Reads this run back from Mixpanel's own data and tells you whether every accepted event is there.");
            });
        }
        ui.separator();
        let refused = c.rejected_by_check + c.rejected_by_mixpanel + c.not_delivered;
        if refused == 0 {
            ui.label(format!("No {} was rejected.", words::short_noun(kind, 1)));
            return;
        }
        if record.rejected_file.is_some()
            && let Some(via) = export_row(
                ui,
                &mut self.export_path,
                &self.export_note,
                self.exporting.is_some(),
            )
            && let Some(to) = export_target(deps, via, &self.export_path, &mut self.export_note)
            && let Some(from) = record.rejected_file.clone()
        {
            let input = record.file.clone();
            self.exporting = Some(Task::spawn(ui.ctx(), "export", move |reporter| {
                let result = export(&input, &from, &to);
                reporter.send((to, result));
            }));
        }
        ui.horizontal(|ui| {
            let label = ui.label("Filter:");
            ui.add(
                egui::TextEdit::singleline(&mut self.filter)
                    .hint_text("message, field, row or value")
                    .desired_width(300.0),
            )
            .labelled_by(label.id);
        });
        let rows = match &self.rows {
            Some((_, Ok(rows))) => rows,
            Some((_, Err(e))) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
                return;
            }
            None => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Reading the rejected rows…");
                });
                return;
            }
        };
        rows_ui(
            ui,
            rows,
            refused,
            session.file.columns(),
            &self.filter,
            (&record.id, kind),
        );
    }
}

fn matches(row: &RejectedRow, needle: &str) -> bool {
    row.message.to_lowercase().contains(needle)
        || row.field.to_lowercase().contains(needle)
        || row.row.to_string() == needle
        || row.values.iter().any(|v| v.to_lowercase().contains(needle))
}

/// The rejected rows grouped by who refused them and the field at fault; each group's title
/// counts exactly its rows, and every row shows its own message.
fn rows_ui(
    ui: &mut egui::Ui,
    rows: &[RejectedRow],
    total: u64,
    columns: &[String],
    filter: &str,
    (run_id, kind): (&str, ImportKind),
) {
    let noun = |n: u64| words::short_noun(kind, n);
    let needle = filter.trim().to_lowercase();
    let mut groups: BTreeMap<(RejectionOrigin, String), Vec<&RejectedRow>> = BTreeMap::new();
    for row in rows {
        if needle.is_empty() || matches(row, &needle) {
            groups
                .entry((row.origin, row.field.clone()))
                .or_default()
                .push(row);
        }
    }
    let shown: usize = groups.values().map(Vec::len).sum();
    ui.weak(format!(
        "{} rejected {} shown{}",
        thousands(shown as u64),
        noun(shown as u64),
        if (rows.len() as u64) < total {
            format!(
                " (of the first {} read back; the export has all {})",
                thousands(rows.len() as u64),
                thousands(total)
            )
        } else {
            String::new()
        }
    ));
    let few = groups.len() <= 3;
    egui::ScrollArea::vertical()
        .id_salt(("review-scroll", run_id))
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for ((origin, field), rows) in &groups {
                let count = rows.len();
                let field_text = if field.is_empty() {
                    format!("the whole {}", noun(1))
                } else {
                    words::rejected_field(field)
                };
                egui::CollapsingHeader::new(
                    RichText::new(format!(
                        "{}: {field_text} ({} {})",
                        words::origin_name(*origin),
                        thousands(count as u64),
                        noun(count as u64)
                    ))
                    .color(ui.visuals().error_fg_color),
                )
                .id_salt(("review", origin, field))
                .default_open(few)
                .show(ui, |ui| {
                    for row in rows.iter().take(200) {
                        ui.horizontal(|ui| {
                            ui.strong(format!("Row {}", row.row));
                            ui.monospace(&row.field);
                        });
                        ui.add(egui::Label::new(strip_row_prefix(&row.message)).wrap());
                        let values = columns
                            .iter()
                            .zip(&row.values)
                            .map(|(c, v)| format!("{c} = {v}"))
                            .collect::<Vec<_>>()
                            .join(", ");
                        ui.add(
                            egui::Label::new(
                                RichText::new(format!("Original values: {values}")).weak(),
                            )
                            .wrap(),
                        );
                        ui.add_space(4.0);
                    }
                    if rows.len() > 200 {
                        ui.weak(format!(
                            "… and {} more (see the export)",
                            thousands(rows.len() as u64 - 200)
                        ));
                    }
                });
            }
        });
}
