//! Step 6, Review.
use crate::gui::AppDeps;
use crate::gui::session::Session;

/// The Review step.
#[derive(Default)]
pub struct ReviewStep {}

impl ReviewStep {
    /// Draw the step.
    pub fn ui(&mut self, ui: &mut egui::Ui, _session: &mut Session, _deps: &mut AppDeps) {
        ui.label("todo");
    }
}
