//! The user-profile fields: the user ID column (required), the reserved profile properties
//! (e-mail, names, phone, picture, sign-up date), the country, city and region, and how the
//! file's values are written: overwrite or only fill empty values, and whether empty cells
//! clear a value.

use egui::RichText;

use crate::gui::state::FileSession;
use crate::mapping::suggest::Field;
use crate::mapping::{Mapping, ProfileOperation};

use super::fields::{
    Widths, capitalized, cell, confidence, country_row, field_name, field_row, picker, row,
    sureness, wrapped,
};

/// A profile property a column can be mapped to: the property, its name in the app, and what
/// it becomes.
struct ProfileField {
    property: &'static str,
    label: &'static str,
    note: &'static str,
}

/// The user ID, then the reserved properties in the order they are shown.
const FIELDS: [ProfileField; 8] = [
    ProfileField {
        property: "$distinct_id",
        label: "User ID",
        note: "required: whose profile each row updates",
    },
    ProfileField {
        property: "$email",
        label: "E-mail",
        note: "sent as $email",
    },
    ProfileField {
        property: "$name",
        label: "Full name",
        note: "sent as $name",
    },
    ProfileField {
        property: "$first_name",
        label: "First name",
        note: "sent as $first_name",
    },
    ProfileField {
        property: "$last_name",
        label: "Last name",
        note: "sent as $last_name",
    },
    ProfileField {
        property: "$phone",
        label: "Phone",
        note: "sent as $phone",
    },
    ProfileField {
        property: "$avatar",
        label: "Picture",
        note: "a web address of an image, sent as $avatar",
    },
    ProfileField {
        property: "$created",
        label: "Sign-up date",
        note: "sent as $created (its format and zone are set below)",
    },
];

/// The column `mapping` uses for a profile `property`.
fn column_slot<'a>(mapping: &'a mut Mapping, property: &str) -> Option<&'a mut Option<String>> {
    let profile = &mut mapping.profile;
    Some(match property {
        "$distinct_id" => &mut mapping.distinct_id,
        "$email" => &mut profile.email,
        "$name" => &mut profile.name,
        "$first_name" => &mut profile.first_name,
        "$last_name" => &mut profile.last_name,
        "$phone" => &mut profile.phone,
        "$avatar" => &mut profile.avatar,
        "$created" => &mut profile.created.column,
        _ => return None,
    })
}

/// How sure the suggestion was of a profile field's column and why, or that the user chose it.
fn evidence(ui: &mut egui::Ui, session: &FileSession, property: &str, current: Option<&String>) {
    let guess = session.profiles.guess(property);
    wrapped(ui, |ui| match guess {
        Some(g) if current.is_some() && g.column.as_ref() == current => {
            sureness(ui, g.confidence, &g.reason);
        }
        _ if current.is_some() => {
            ui.label("chosen by you");
        }
        Some(g) if property == "$distinct_id" && !g.reason.is_empty() => {
            ui.weak("not found");
            ui.add(egui::Label::new(RichText::new(capitalized(&g.reason)).weak()).wrap());
        }
        _ => {
            ui.weak("not mapped");
        }
    });
}

/// Draw the profile fields and the way values are written.
pub fn ui(ui: &mut egui::Ui, session: &mut FileSession) {
    let columns = session.file.columns().to_vec();
    let widths = Widths::fit(ui.available_width());
    for field in &FIELDS {
        field_row(ui, |ui| {
            let label = field_name(ui, widths, field.label, field.note);
            let none = if field.property == "$distinct_id" {
                "(not mapped)"
            } else {
                "(none)"
            };
            let mut value = column_slot(&mut session.mapping, field.property)
                .cloned()
                .unwrap_or_default();
            cell(ui, widths.picker, |ui| {
                picker(
                    ui,
                    field.label,
                    label.id,
                    &columns,
                    &mut value,
                    none,
                    widths.picker,
                );
            });
            if let Some(slot) = column_slot(&mut session.mapping, field.property)
                && *slot != value
            {
                *slot = value.clone();
            }
            cell(ui, widths.evidence, |ui| {
                evidence(ui, session, field.property, value.as_ref());
            });
        });
    }
    country_row(
        ui,
        session,
        widths,
        "sent as $country_code",
        |ui, session| confidence(ui, &session.mapping, Field::Country, &session.guesses),
    );
    row(
        ui,
        session,
        widths,
        Field::City,
        ("(none)", "sent as $city"),
        |m| &mut m.city,
    );
    row(
        ui,
        session,
        widths,
        Field::Region,
        ("(none)", "sent as $region"),
        |m| &mut m.region,
    );
    operation_ui(ui, session);
}

/// Overwrite or only fill empty values, and whether empty cells clear a value.
fn operation_ui(ui: &mut egui::Ui, session: &mut FileSession) {
    let profile = &mut session.mapping.profile;
    ui.add_space(4.0);
    ui.label(RichText::new("Profiles that exist already in Mixpanel").strong());
    ui.horizontal_wrapped(|ui| {
        ui.radio_value(
            &mut profile.operation,
            ProfileOperation::Set,
            "Overwrite existing values",
        );
        ui.radio_value(
            &mut profile.operation,
            ProfileOperation::SetOnce,
            "Only fill empty values",
        );
    });
    ui.weak(match profile.operation {
        ProfileOperation::Set => {
            "The file's values replace the values the profiles have now. New people get a new profile."
        }
        ProfileOperation::SetOnce => {
            "A property a profile already has keeps its value; only properties it does not have yet are filled. New people get a new profile."
        }
    });
    ui.checkbox(
        &mut profile.unset_empty,
        "Clear values that are empty in the file",
    );
    ui.weak(if profile.unset_empty {
        "A property whose cell is empty in the file is removed from the profile."
    } else {
        "Empty cells are skipped: the profile keeps what it has for them."
    });
}
