//! Step 5, Import.
use crate::gui::AppDeps;
use crate::gui::session::Session;

/// The Import step.
pub struct ImportStep {}

impl ImportStep {
    /// New.
    pub fn new(_deps: &AppDeps) -> Self {
        Self {}
    }
    /// Apply background results.
    pub fn poll(&mut self, _ctx: &egui::Context, _session: &mut Session, _deps: &mut AppDeps) {}
    /// Draw the step.
    pub fn ui(&mut self, ui: &mut egui::Ui, _session: &mut Session, _deps: &mut AppDeps) {
        ui.label("todo");
    }
}
