//! The Mixpanel fields: a column (or a constant event name, or generated insert ids) for each,
//! with how sure the suggestion was, or that the user chose it.

use std::collections::BTreeMap;

use egui::Color32;

use crate::gui::state::FileSession;
use crate::gui::words::field_label;
use crate::mapping::suggest::{Field, FieldGuess};
use crate::mapping::{CountryMapping, InsertIdSource, Mapping, ValueSource};

/// The column a field uses in `mapping`, if any.
fn mapped_column(mapping: &Mapping, field: Field) -> Option<String> {
    match field {
        Field::Event => match &mapping.event {
            Some(ValueSource::Column(c)) => Some(c.clone()),
            _ => None,
        },
        Field::User => mapping.distinct_id.clone(),
        Field::Time => mapping.time.column.clone(),
        Field::InsertId => match &mapping.insert_id {
            InsertIdSource::Column(c) => Some(c.clone()),
            InsertIdSource::Generate => None,
        },
        Field::Country => mapping.country.as_ref().map(|c| c.column.clone()),
        Field::City => mapping.city.clone(),
        Field::Region => mapping.region.clone(),
        Field::Ip => mapping.ip.clone(),
    }
}

/// How sure the suggestion was, or that the user chose differently.
fn confidence_badge(ui: &mut egui::Ui, mapping: &Mapping, field: Field, guesses: &[FieldGuess]) {
    let guess = guesses.iter().find(|g| g.field == field);
    let current = mapped_column(mapping, field);
    let constant_event =
        field == Field::Event && matches!(mapping.event, Some(ValueSource::Constant(_)));
    let chosen_by_user = constant_event || guess.is_none_or(|g| g.column != current);
    let response = if chosen_by_user {
        if current.is_some() || constant_event {
            ui.label("chosen by you")
        } else {
            ui.weak("not mapped")
        }
    } else if let Some(guess) = guess {
        let c = guess.confidence;
        if guess.column.is_none() {
            ui.weak("not found")
        } else if c >= 0.85 {
            ui.colored_label(
                Color32::from_rgb(60, 160, 80),
                format!("sure ({:.0}%)", c * 100.0),
            )
        } else {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("a guess ({:.0}%): check it", c * 100.0),
            )
        }
    } else {
        ui.weak("")
    };
    if let Some(guess) = guess.filter(|g| !g.reason.is_empty() && !chosen_by_user) {
        response.on_hover_text(&guess.reason);
    }
}

/// A column picker named by `label` for screen readers.
fn picker(
    ui: &mut egui::Ui,
    field: &str,
    label: egui::Id,
    columns: &[String],
    value: &mut Option<String>,
    none: &str,
) {
    let shown = value.clone().unwrap_or_else(|| none.to_owned());
    egui::ComboBox::from_id_salt(("field", field))
        .selected_text(shown)
        .width(220.0)
        .show_ui(ui, |ui| {
            ui.selectable_value(value, None, none);
            for c in columns {
                ui.selectable_value(value, Some(c.clone()), c);
            }
        })
        .response
        .labelled_by(label);
}

/// One row of the grid: the field's name, its picker, a note, the badge.
fn row(
    ui: &mut egui::Ui,
    session: &mut FileSession,
    field: Field,
    none: &str,
    note: &str,
    value: impl FnOnce(&mut Mapping) -> &mut Option<String>,
) {
    let name = field_label(field);
    let label = ui.strong(name);
    let columns = session.file.columns().to_vec();
    picker(
        ui,
        name,
        label.id,
        &columns,
        value(&mut session.mapping),
        none,
    );
    ui.weak(note);
    confidence_badge(ui, &session.mapping, field, &session.guesses);
    ui.end_row();
}

/// Draw the fields grid.
pub fn ui(ui: &mut egui::Ui, session: &mut FileSession) {
    let columns = session.file.columns().to_vec();
    egui::Grid::new("fields")
        .num_columns(4)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            event_row(ui, session, &columns);
            row(
                ui,
                session,
                Field::User,
                "(no user column)",
                "sent as distinct_id",
                |m| &mut m.distinct_id,
            );
            row(ui, session, Field::Time, "(not mapped)", "required", |m| {
                &mut m.time.column
            });

            let label = ui.strong(field_label(Field::InsertId));
            let mut insert = mapped_column(&session.mapping, Field::InsertId);
            picker(
                ui,
                "Insert ID",
                label.id,
                &columns,
                &mut insert,
                "Generate from the row",
            );
            session.mapping.insert_id = match insert {
                Some(c) => InsertIdSource::Column(c),
                None => InsertIdSource::Generate,
            };
            ui.weak("prevents duplicates on re-import");
            confidence_badge(ui, &session.mapping, Field::InsertId, &session.guesses);
            ui.end_row();

            let label = ui.strong(field_label(Field::Country));
            let mut country = mapped_column(&session.mapping, Field::Country);
            picker(ui, "Country", label.id, &columns, &mut country, "(none)");
            let mapping = &mut session.mapping;
            match (country, mapping.country.as_mut()) {
                (None, _) => mapping.country = None,
                (Some(c), Some(existing)) => {
                    if existing.column != c {
                        existing.column = c;
                        existing.overrides.clear();
                    }
                }
                (Some(c), None) => {
                    mapping.country = Some(CountryMapping {
                        column: c,
                        overrides: BTreeMap::new(),
                    })
                }
            }
            ui.weak("sent as mp_country_code");
            confidence_badge(ui, &session.mapping, Field::Country, &session.guesses);
            ui.end_row();

            row(ui, session, Field::City, "(none)", "sent as $city", |m| {
                &mut m.city
            });
            row(
                ui,
                session,
                Field::Region,
                "(none)",
                "sent as $region",
                |m| &mut m.region,
            );
            row(
                ui,
                session,
                Field::Ip,
                "(none)",
                "used for geolocation",
                |m| &mut m.ip,
            );
        });
    ui.checkbox(
        &mut session.mapping.allow_missing_user,
        "Accept events with an empty user ID (tied to no user)",
    );
}

/// Event name: a column or one name for every event.
fn event_row(ui: &mut egui::Ui, session: &mut FileSession, columns: &[String]) {
    let event_label = ui.strong(field_label(Field::Event));
    let mapping = &mut session.mapping;
    ui.horizontal(|ui| {
        let mut is_constant = matches!(mapping.event, Some(ValueSource::Constant(_)));
        let before = is_constant;
        ui.radio_value(&mut is_constant, false, "From a column");
        ui.radio_value(&mut is_constant, true, "Same name for all");
        if is_constant != before {
            mapping.event = Some(if is_constant {
                ValueSource::Constant("Imported event".to_owned())
            } else {
                ValueSource::Column(columns.first().cloned().unwrap_or_default())
            });
        }
        match &mut mapping.event {
            Some(ValueSource::Constant(name)) => {
                ui.add(
                    egui::TextEdit::singleline(name)
                        .hint_text("Event name for every row")
                        .desired_width(200.0),
                )
                .labelled_by(event_label.id);
            }
            _ => {
                let mut column = mapped_column(mapping, Field::Event);
                picker(
                    ui,
                    "Event name",
                    event_label.id,
                    columns,
                    &mut column,
                    "(not mapped)",
                );
                mapping.event = column.map(ValueSource::Column);
            }
        }
    });
    ui.weak("the event's name");
    confidence_badge(ui, &session.mapping, Field::Event, &session.guesses);
    ui.end_row();
}
