//! "Fix and re-import": correcting a run without duplicates or silent loss.
//!
//! Three pages: (1) what Mixpanel allows (deletion only in its UI, only events of the last 180
//! days, at most 10 deletions a month), the exact filter to enter in its Data Deletion tool and
//! how many of the run's events are too old to delete; (2) the corrected file, a new import
//! label and the new insert-ID generation (so the new events are not dropped as duplicates of
//! the deleted ones); (3) the confirmation, which says plainly which events will exist twice if
//! the old ones are not deleted first. The walk ends by handing the file and the mapping (the
//! run's, with the new generation and label) to the app, which opens them for Check and Import.

use std::path::PathBuf;

use egui::RichText;

use crate::mapping::Mapping;
use crate::session::run::RunRecord;
use crate::session::verify::{self as session, RunToVerify};
use crate::verify::correct::{CorrectionGuide, DELETION_WINDOW_DAYS};
use crate::verify::thousands;

use super::FileDialog;
use super::state::Correction;

/// Where the walk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixPage {
    /// What Mixpanel allows and the deletion filter.
    Rules,
    /// The corrected file, label and generation.
    Reimport,
    /// The confirmation.
    Confirm,
}

/// What the walk asks of the app.
#[derive(Debug, Clone, PartialEq)]
pub enum FixAction {
    /// Nothing yet.
    None,
    /// The user closed the walk.
    Cancel,
    /// Open `file` for Check and Import with the run's mapping (when the history has it; else
    /// the app's usual mapping), the new insert-ID generation and the new label.
    Reimport {
        /// The corrected file.
        file: PathBuf,
        /// The run's mapping, already with the new generation and label.
        mapping: Option<Box<Mapping>>,
        /// The run corrected, the new generation and label, and what will exist twice.
        correction: Correction,
    },
}

/// The walk for one run.
pub struct FixWalk {
    run: RunToVerify,
    guide: CorrectionGuide,
    page: FixPage,
    deleted_first: bool,
    file: String,
    label: String,
    understood: bool,
}

impl FixWalk {
    /// The walk for `run`; `history` settles a generation new for the file.
    pub fn new(run: RunToVerify, history: &[RunRecord]) -> Self {
        let guide = session::correction(&run, history);
        Self {
            file: run.report.file.clone(),
            label: guide.new_label.clone(),
            run,
            guide,
            page: FixPage::Rules,
            deleted_first: false,
            understood: false,
        }
    }

    /// The page shown.
    pub fn page(&self) -> FixPage {
        self.page
    }

    /// The guide (numbers and texts).
    pub fn guide(&self) -> &CorrectionGuide {
        &self.guide
    }

    /// The correction chosen so far: the run, the new generation and label, and what will
    /// exist twice (given whether the user deleted the old events first).
    pub fn correction(&self) -> Correction {
        let twice = if self.deleted_first {
            (self.guide.too_old > 0).then(|| {
                format!(
                    "You deleted the run's recent events. Its {} events older than {DELETION_WINDOW_DAYS} days could not be deleted: those that are in the corrected file will exist twice in Mixpanel.",
                    thousands(self.guide.too_old)
                )
            })
        } else {
            Some(self.guide.duplicate_warning())
        };
        Correction {
            run_id: self.run.report.run_id.clone(),
            old_label: self.run.report.label.clone(),
            connection: self
                .run
                .report
                .connection
                .clone()
                .or_else(|| self.run.record.as_ref()?.connection.clone()),
            generation: self.guide.next_generation,
            label: self.label.trim().to_owned(),
            twice,
        }
    }

    /// The re-import as chosen so far (what "Open the corrected file for import" asks for).
    pub fn reimport(&self) -> FixAction {
        FixAction::Reimport {
            file: PathBuf::from(self.file.trim()),
            mapping: self.mapping().map(Box::new),
            correction: self.correction(),
        }
    }

    /// The mapping the re-import uses: the run's, with the new generation and label.
    pub fn mapping(&self) -> Option<Mapping> {
        let mut mapping = self.run.record.as_ref()?.mapping.clone();
        self.correction().apply(&mut mapping);
        Some(mapping)
    }

    /// Draw the current page.
    pub fn ui(&mut self, ui: &mut egui::Ui, dialog: &mut dyn FileDialog) -> FixAction {
        ui.heading("Fix and re-import");
        ui.weak(format!(
            "Run {} — {} events of {}",
            self.run.report.run_id,
            thousands(self.run.report.imported),
            self.run.report.file
        ));
        ui.separator();
        match self.page {
            FixPage::Rules => self.rules_ui(ui),
            FixPage::Reimport => self.reimport_ui(ui, dialog),
            FixPage::Confirm => return self.confirm_ui(ui),
        }
        FixAction::None
    }

    fn rules_ui(&mut self, ui: &mut egui::Ui) {
        ui.label(RichText::new("1. What Mixpanel allows").strong());
        for rule in self.guide.rules() {
            ui.add(egui::Label::new(format!("• {rule}")).wrap());
        }
        ui.add(egui::Label::new(RichText::new(self.guide.age_sentence()).strong()).wrap());
        ui.add_space(6.0);
        if self.guide.deletable > 0 {
            ui.label("In Mixpanel, open Project Settings > Data Deletion and enter:");
            let filter = self.guide.filter_lines().join("\n");
            egui::Frame::group(ui.style()).show(ui, |ui| {
                for line in self.guide.filter_lines() {
                    ui.add(egui::Label::new(RichText::new(line).monospace()).wrap());
                }
            });
            if ui.button("Copy the filter").clicked() {
                ui.ctx().copy_text(filter);
            }
            ui.checkbox(
                &mut self.deleted_first,
                "I have deleted these events in Mixpanel",
            );
        } else {
            ui.add(
                egui::Label::new(
                    "None of this run's events can be deleted any more: a re-import adds the corrected events next to them.",
                )
                .wrap(),
            );
        }
        ui.add_space(6.0);
        if ui.button("Next: the corrected file").clicked() {
            self.page = FixPage::Reimport;
        }
    }

    fn reimport_ui(&mut self, ui: &mut egui::Ui, dialog: &mut dyn FileDialog) {
        ui.label(RichText::new("2. Re-import the corrected file").strong());
        ui.add(
            egui::Label::new(
                "Correct the file (or use the rows the check or the verification put aside), then import it with a new import label and a new insert-ID generation: every event gets a new insert ID, so Mixpanel does not drop it as a duplicate of a deleted one.",
            )
            .wrap(),
        );
        ui.horizontal(|ui| {
            let label = ui.label("Corrected file");
            ui.add(egui::TextEdit::singleline(&mut self.file).desired_width(420.0))
                .labelled_by(label.id);
            if ui.button("Choose file…").clicked()
                && let Some(path) = dialog.pick_file("The corrected file")
            {
                self.file = path.display().to_string();
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label("New import label");
            ui.add(egui::TextEdit::singleline(&mut self.label).desired_width(320.0))
                .labelled_by(label.id);
        });
        ui.label(format!(
            "Insert-ID generation: {} (the run used {})",
            self.guide.next_generation, self.run.report.insert_id_generation
        ));
        if self.run.record.is_none() {
            ui.weak("This run's mapping is not in the history: the file opens with a suggested mapping to check.");
        }
        let same_label = self.run.report.label.as_deref() == Some(self.label.trim());
        if same_label {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "Give the re-import a new label, so its events can be told apart from the old ones.",
            );
        }
        ui.horizontal(|ui| {
            if ui.button("Back").clicked() {
                self.page = FixPage::Rules;
            }
            let ready =
                !self.file.trim().is_empty() && !self.label.trim().is_empty() && !same_label;
            if ui
                .add_enabled(ready, egui::Button::new("Next: confirm"))
                .clicked()
            {
                self.page = FixPage::Confirm;
            }
        });
    }

    fn confirm_ui(&mut self, ui: &mut egui::Ui) -> FixAction {
        ui.label(RichText::new("3. Confirm").strong());
        ui.label(format!(
            "Re-import {} with label \"{}\" and insert-ID generation {}.",
            self.file.trim(),
            self.label.trim(),
            self.guide.next_generation
        ));
        let correction = self.correction();
        let (warning, text) = correction.duplicates_sentence();
        let ready = if warning {
            ui.add(egui::Label::new(RichText::new(text).color(ui.visuals().warn_fg_color)).wrap());
            ui.checkbox(
                &mut self.understood,
                "I understand which events will exist twice",
            );
            self.understood
        } else {
            ui.label(text);
            true
        };
        let mut action = FixAction::None;
        ui.horizontal(|ui| {
            if ui.button("Back").clicked() {
                self.page = FixPage::Reimport;
            }
            if ui
                .add_enabled(
                    ready,
                    egui::Button::new("Open the corrected file for import"),
                )
                .clicked()
            {
                action = self.reimport();
            }
            if ui.button("Cancel").clicked() {
                action = FixAction::Cancel;
            }
        });
        action
    }
}
