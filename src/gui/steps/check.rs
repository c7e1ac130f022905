//! Step 3, Check.
use crate::gui::AppDeps;
use crate::gui::session::Session;

/// The Check step.
#[derive(Default)]
pub struct CheckStep {}

impl CheckStep {
    /// Apply background results.
    pub fn poll(&mut self, _ctx: &egui::Context, _session: &mut Session) {}
    /// Draw the step.
    pub fn ui(&mut self, ui: &mut egui::Ui, _session: &mut Session, _deps: &mut AppDeps) {
        ui.label("todo");
    }
}
