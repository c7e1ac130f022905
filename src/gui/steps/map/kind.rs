//! What each row of the file is: an event or a user profile. The suggestion's choice comes
//! pre-selected and says why; switching goes through the session
//! ([`FileSession::set_kind`]), which fills the fields the suggestion found for that kind.

use egui::RichText;

use crate::gui::state::FileSession;
use crate::gui::words::import_kind_name;
use crate::mapping::ImportKind;

use super::fields::capitalized;

/// Draw the choice.
pub fn ui(ui: &mut egui::Ui, session: &mut FileSession) {
    let mut kind = session.kind();
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new("Each row of this file is:").strong());
            ui.radio_value(
                &mut kind,
                ImportKind::Events,
                import_kind_name(ImportKind::Events),
            );
            ui.weak("(something that happened, at a time)");
            ui.add_space(12.0);
            ui.radio_value(
                &mut kind,
                ImportKind::Profiles,
                import_kind_name(ImportKind::Profiles),
            );
            ui.weak("(one person: e-mail, name, country, …)");
        });
        let reason = session.profiles.reason.as_deref();
        let note = match (session.kind(), reason) {
            (ImportKind::Profiles, Some(reason)) => {
                Some(format!("Suggested: {}.", capitalized(reason)))
            }
            (ImportKind::Events, Some(reason)) => Some(format!(
                "This file may be user profiles: {reason}. Choose User profiles to update each person's profile instead."
            )),
            (ImportKind::Profiles, None) => Some(
                "Each row updates the profile of the person in the User ID column. Profiles have no time: Mixpanel shows the values from today on."
                    .to_owned(),
            ),
            (ImportKind::Events, None) => None,
        };
        if let Some(note) = note {
            ui.add(egui::Label::new(RichText::new(note).weak()).wrap());
        }
    });
    if kind != session.kind() {
        session.set_kind(kind);
    }
}
