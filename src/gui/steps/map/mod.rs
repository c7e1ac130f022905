//! Step 2, Map: whether the rows are events or user profiles, which column is which Mixpanel
//! field, time and zone, countries, the other columns, constant properties, templates, and the
//! exact JSON a preview row becomes.
//!
//! One file per section: [`kind`], [`fields`] (events) or [`profile`] (user profiles),
//! [`time`], [`countries`], [`columns`], [`numbers`], [`constants`], [`preview`] and
//! [`templates`]. Event-only sections (event name, time, insert ID, import label) are not
//! shown for user profiles. A file recognised as another tool's export says
//! so at the top ("Looks like a Segment export"). After every frame in which the mapping
//! changed, the session reviews it ([`crate::gui::state::FileSession::mapping_changed`]): the
//! questions and problems that block the check are shown at the top, each naming the control
//! that answers it.

mod columns;
mod constants;
mod countries;
mod fields;
mod kind;
mod numbers;
mod preview;
mod profile;
mod templates;
mod time;

use egui::RichText;

use crate::gui::AppDeps;
use crate::gui::state::FileSession;
use crate::gui::words;
use crate::mapping::ImportKind;
use crate::session::MappingOrigin;

pub use preview::format_utc;
pub use templates::Rememberer;

/// The Map step.
#[derive(Default)]
pub struct MapStep {
    /// The "Save as template" name field.
    pub template_name: String,
    /// The time zone search field.
    pub zone_filter: String,
    /// The search field of the country pickers.
    pub country_filter: String,
    /// The preview row whose JSON event is shown (index into the head).
    pub selected_row: usize,
    constants: constants::ConstantsForm,
    preview: preview::PreviewCache,
    countries: countries::CountryCache,
    numbers: numbers::NumbersCache,
    templates: templates::Templates,
}

impl MapStep {
    /// Draw the step for the open file's session.
    pub fn ui(&mut self, ui: &mut egui::Ui, session: &mut FileSession, deps: &mut AppDeps) {
        let ctx = ui.ctx().clone();
        self.templates.poll(&ctx, deps);
        preset_note(ui, session);
        origin_note(ui, session, &mut self.templates);
        for blocker in &session.blockers {
            ui.colored_label(ui.visuals().warn_fg_color, words::blocker(blocker));
        }
        let before = session.mapping.clone();
        egui::ScrollArea::vertical()
            .id_salt(("map-scroll", session.serial))
            .auto_shrink([false, false])
            .show(ui, |ui| {
                kind::ui(ui, session);
                let profiles = session.kind() == ImportKind::Profiles;
                egui::CollapsingHeader::new("Mixpanel fields")
                    .id_salt(("fields", profiles))
                    .default_open(true)
                    .show(ui, |ui| {
                        if profiles {
                            profile::ui(ui, session);
                        } else {
                            fields::ui(ui, session);
                        }
                    });
                egui::CollapsingHeader::new(if profiles {
                    "Sign-up date format and time zone"
                } else {
                    "Time"
                })
                .id_salt(("time", profiles))
                .default_open(true)
                .show(ui, |ui| time::ui(ui, &mut self.zone_filter, session));
                if session.mapping.country.is_some() {
                    egui::CollapsingHeader::new("Countries")
                        .default_open(true)
                        .show(ui, |ui| {
                            self.countries.ui(ui, &mut self.country_filter, session)
                        });
                }
                egui::CollapsingHeader::new(if profiles {
                    "Other columns (sent as profile properties)"
                } else {
                    "Other columns (sent as properties)"
                })
                .id_salt("other-columns")
                .default_open(true)
                .show(ui, |ui| columns::ui(ui, &mut session.mapping));
                if numbers::number_columns(&session.mapping.columns)
                    .next()
                    .is_some()
                {
                    egui::CollapsingHeader::new("Numbers")
                        .default_open(true)
                        .show(ui, |ui| self.numbers.ui(ui, session));
                }
                egui::CollapsingHeader::new("Constant properties")
                    .default_open(true)
                    .show(ui, |ui| self.constants.ui(ui, &mut session.mapping));
                egui::CollapsingHeader::new(if profiles {
                    "Profile preview"
                } else {
                    "Event preview"
                })
                .id_salt("preview")
                .default_open(true)
                .show(ui, |ui| {
                    self.preview.ui(ui, &mut self.selected_row, session)
                });
                egui::CollapsingHeader::new("Templates")
                    .default_open(true)
                    .show(ui, |ui| {
                        self.templates
                            .ui(ui, &mut self.template_name, session, deps)
                    });
            });
        if session.mapping != before {
            if session.mapping.kind == before.kind
                && session.mapping.row_time().column != before.row_time().column
            {
                // The order proven (or chosen) for one column says nothing of another.
                session.mapping.row_time_mut().day_order = None;
            }
            session.mapping_changed();
        }
    }
}

/// The export schema the file was recognised as ("Looks like a Segment export").
fn preset_note(ui: &mut egui::Ui, session: &FileSession) {
    let Some(preset) = session.preset else {
        return;
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(
            RichText::new(preset.label())
                .strong()
                .color(ui.visuals().hyperlink_color),
        );
        if session.origin == MappingOrigin::Suggested {
            ui.label(format!(
                "The fields below are mapped as {} writes them: check them before you go on.",
                preset.name()
            ));
        }
    });
}

/// Where the mapping came from, with a way back to the suggestion.
fn origin_note(ui: &mut egui::Ui, session: &mut FileSession, templates: &mut templates::Templates) {
    let note = match &session.origin {
        MappingOrigin::Remembered { saved_at } => Some(format!(
            "Restored from your last session with this file ({}): your choices are back.",
            saved_at.replace('T', " ").trim_end_matches('Z')
        )),
        MappingOrigin::Template { name } => Some(format!(
            "Applied your template '{name}' because this file has the same columns."
        )),
        MappingOrigin::Suggested | MappingOrigin::Given => None,
    };
    let Some(note) = note else {
        return;
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(note).color(ui.visuals().hyperlink_color));
        if ui.button("Start over from the suggestion").clicked() {
            templates.forget(ui.ctx(), session);
        }
    });
}
