//! Step 4, Connect.
use crate::gui::AppDeps;
use crate::gui::session::Session;

/// The Connect step.
pub struct ConnectStep {}

impl ConnectStep {
    /// New.
    pub fn new(_deps: &AppDeps) -> Self {
        Self {}
    }
    /// Apply background results.
    pub fn poll(&mut self, _ctx: &egui::Context) {}
    /// Draw the step.
    pub fn ui(&mut self, ui: &mut egui::Ui, _session: &mut Session, _deps: &mut AppDeps) {
        ui.label("todo");
    }
}
