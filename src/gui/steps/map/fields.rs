//! The Mixpanel fields: a column (or a constant event name, or generated insert ids) for each,
//! with how sure the suggestion was, or that the user chose it.

use std::collections::BTreeMap;

use egui::{Color32, RichText};

use crate::gui::state::FileSession;
use crate::gui::words::field_label;
use crate::mapping::suggest::{Field, FieldGuess};
use crate::mapping::{CountryMapping, InsertIdSource, Mapping, ValueSource};

/// Whether `mapping` sends users with simplified ID merge (`$user_id` and `$device_id`, as the
/// export presets do) instead of one `distinct_id` column.
fn uses_id_merge(mapping: &Mapping) -> bool {
    mapping.distinct_id.is_none() && (mapping.user_id.is_some() || mapping.device_id.is_some())
}

/// The column a field uses in `mapping`, if any.
fn mapped_column(mapping: &Mapping, field: Field) -> Option<String> {
    match field {
        Field::Event => match &mapping.event {
            Some(ValueSource::Column(c)) => Some(c.clone()),
            _ => None,
        },
        Field::User if uses_id_merge(mapping) => mapping.user_id.clone(),
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

/// The widths of the rows' cells, fitted to the space the step has.
#[derive(Clone, Copy)]
pub(super) struct Widths {
    /// The field's name and what it becomes.
    pub(super) name: f32,
    /// The column pickers.
    pub(super) picker: f32,
    /// The confidence and its evidence, wrapped to this width.
    pub(super) evidence: f32,
}

/// Space between the cells of a row.
const CELL_SPACING: f32 = 12.0;

impl Widths {
    pub(super) fn fit(available: f32) -> Self {
        let name = 130.0;
        // Wide enough for the event row's two choices under its picker.
        let picker = 250.0;
        // A combo box is a little wider than its width (its frame).
        let evidence = (available - name - picker - 12.0 - 2.0 * CELL_SPACING).clamp(200.0, 640.0);
        Self {
            name,
            picker,
            evidence,
        }
    }
}

/// One cell of a row: `width` wide, its contents top-down.
pub(super) fn cell<R>(
    ui: &mut egui::Ui,
    width: f32,
    contents: impl FnOnce(&mut egui::Ui) -> R,
) -> R {
    ui.allocate_ui_with_layout(
        egui::vec2(width, 0.0),
        egui::Layout::top_down(egui::Align::Min),
        |ui| {
            ui.set_width(width);
            contents(ui)
        },
    )
    .inner
}

/// One row of the fields: cells side by side, top-aligned, as tall as the tallest.
pub(super) fn field_row<R>(ui: &mut egui::Ui, contents: impl FnOnce(&mut egui::Ui) -> R) -> R {
    let inner = ui
        .horizontal_top(|ui| {
            ui.spacing_mut().item_spacing.x = CELL_SPACING;
            contents(ui)
        })
        .inner;
    ui.add_space(6.0);
    inner
}

/// How sure the suggestion was and why (the evidence from the name and the values), or that
/// the user chose differently; wrapped to the cell.
pub(super) fn confidence(
    ui: &mut egui::Ui,
    mapping: &Mapping,
    field: Field,
    guesses: &[FieldGuess],
) {
    let guess = guesses.iter().find(|g| g.field == field);
    let current = mapped_column(mapping, field);
    let constant_event =
        field == Field::Event && matches!(mapping.event, Some(ValueSource::Constant(_)));
    let chosen_by_user = constant_event || guess.is_none_or(|g| g.column != current);
    wrapped(ui, |ui| {
        if chosen_by_user {
            if current.is_some() || constant_event {
                ui.label("chosen by you");
            } else {
                ui.weak("not mapped");
            }
            return;
        }
        let Some(guess) = guess else {
            return;
        };
        let c = guess.confidence;
        if guess.column.is_none() {
            ui.weak("not found");
            // What to do about it, for the fields every event has ("no column looks like a
            // user ID: choose one", "insert IDs are generated from each row's content …").
            if matches!(
                field,
                Field::Event | Field::User | Field::Time | Field::InsertId
            ) {
                ui.add(egui::Label::new(RichText::new(evidence_text(guess)).weak()).wrap());
            }
            return;
        }
        sureness(ui, c, &guess.reason);
    });
}

/// How sure a guess is ("sure (95%)", or "a guess (60%): check it") and its reason.
pub(super) fn sureness(ui: &mut egui::Ui, c: f32, reason: &str) {
    if c >= 0.85 {
        ui.colored_label(
            Color32::from_rgb(60, 160, 80),
            format!("sure ({:.0}%)", c * 100.0),
        );
    } else {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!("a guess ({:.0}%): check it", c * 100.0),
        );
    }
    if !reason.is_empty() {
        ui.add(egui::Label::new(RichText::new(capitalized(reason)).weak()).wrap());
    }
}

/// The evidence of a guess as shown: its reason, starting with a capital letter.
fn evidence_text(guess: &FieldGuess) -> String {
    capitalized(&guess.reason)
}

/// `text` starting with a capital letter.
pub(super) fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Lay `contents` out left to right, wrapping at the cell's width.
pub(super) fn wrapped(ui: &mut egui::Ui, contents: impl FnOnce(&mut egui::Ui)) {
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 6.0;
        contents(ui);
    });
}

/// A field's name with what it becomes in Mixpanel under it. Returns the name's label, which
/// names the field's picker for screen readers.
pub(super) fn field_name(
    ui: &mut egui::Ui,
    widths: Widths,
    name: &str,
    note: &str,
) -> egui::Response {
    cell(ui, widths.name, |ui| {
        ui.spacing_mut().item_spacing.y = 0.0;
        let label = ui.strong(name);
        ui.add(egui::Label::new(RichText::new(note).weak().small()).wrap());
        label
    })
}

/// A column picker named by `label` for screen readers.
pub(super) fn picker(
    ui: &mut egui::Ui,
    field: &str,
    label: egui::Id,
    columns: &[String],
    value: &mut Option<String>,
    none: &str,
    width: f32,
) {
    let shown = value.clone().unwrap_or_else(|| none.to_owned());
    egui::ComboBox::from_id_salt(("field", field))
        .selected_text(shown)
        .width(width)
        .show_ui(ui, |ui| {
            ui.selectable_value(value, None, none);
            for c in columns {
                ui.selectable_value(value, Some(c.clone()), c);
            }
        })
        .response
        .labelled_by(label);
}

/// One row: the field's name and what it becomes, its picker, how sure the suggestion was and
/// why.
pub(super) fn row(
    ui: &mut egui::Ui,
    session: &mut FileSession,
    widths: Widths,
    field: Field,
    (none, note): (&str, &str),
    value: impl FnOnce(&mut Mapping) -> &mut Option<String>,
) {
    let name = field_label(field);
    let columns = session.file.columns().to_vec();
    field_row(ui, |ui| {
        let label = field_name(ui, widths, name, note);
        cell(ui, widths.picker, |ui| {
            picker(
                ui,
                name,
                label.id,
                &columns,
                value(&mut session.mapping),
                none,
                widths.picker,
            );
        });
        cell(ui, widths.evidence, |ui| {
            confidence(ui, &session.mapping, field, &session.guesses);
        });
    });
}

/// Draw the fields.
pub fn ui(ui: &mut egui::Ui, session: &mut FileSession) {
    let columns = session.file.columns().to_vec();
    let widths = Widths::fit(ui.available_width());
    event_row(ui, session, widths, &columns);
    if uses_id_merge(&session.mapping) {
        id_merge_rows(ui, session, widths);
    } else {
        row(
            ui,
            session,
            widths,
            Field::User,
            ("(no user column)", "sent as distinct_id"),
            |m| &mut m.distinct_id,
        );
    }
    row(
        ui,
        session,
        widths,
        Field::Time,
        ("(not mapped)", "required"),
        |m| &mut m.time.column,
    );

    field_row(ui, |ui| {
        let label = field_name(
            ui,
            widths,
            field_label(Field::InsertId),
            "prevents duplicates on re-import",
        );
        let mut insert = mapped_column(&session.mapping, Field::InsertId);
        cell(ui, widths.picker, |ui| {
            picker(
                ui,
                "Insert ID",
                label.id,
                &columns,
                &mut insert,
                "Generate from the row",
                widths.picker,
            );
        });
        session.mapping.insert_id = match insert {
            Some(c) => InsertIdSource::Column(c),
            None => InsertIdSource::Generate,
        };
        cell(ui, widths.evidence, |ui| {
            confidence(ui, &session.mapping, Field::InsertId, &session.guesses);
            insert_id_note(ui, session);
        });
    });

    country_row(
        ui,
        session,
        widths,
        "sent as mp_country_code",
        |ui, session| {
            confidence(ui, &session.mapping, Field::Country, &session.guesses);
        },
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
    row(
        ui,
        session,
        widths,
        Field::Ip,
        ("(none)", "used for geolocation"),
        |m| &mut m.ip,
    );
    ui.checkbox(
        &mut session.mapping.allow_missing_user,
        "Accept events with an empty user ID (tied to no user)",
    );
}

/// Simplified ID merge (as Segment, Amplitude and PostHog exports are mapped): the user ID
/// column sent as `$user_id` and the device (anonymous) ID column as `$device_id`.
fn id_merge_rows(ui: &mut egui::Ui, session: &mut FileSession, widths: Widths) {
    row(
        ui,
        session,
        widths,
        Field::User,
        ("(no user column)", "sent as $user_id"),
        |m| &mut m.user_id,
    );
    let columns = session.file.columns().to_vec();
    field_row(ui, |ui| {
        let label = field_name(ui, widths, "Device ID", "sent as $device_id");
        cell(ui, widths.picker, |ui| {
            picker(
                ui,
                "Device ID",
                label.id,
                &columns,
                &mut session.mapping.device_id,
                "(none)",
                widths.picker,
            );
        });
        cell(ui, widths.evidence, |ui| {
            ui.add(
                egui::Label::new(
                    RichText::new(
                        "Simplified ID merge: Mixpanel joins a device's events to its user once both IDs appear on one event.",
                    )
                    .weak(),
                )
                .wrap(),
            );
        });
    });
}

/// How many head values of the insert ID column Mixpanel would refuse as they are (too long,
/// other characters, placeholders): they are sent as a stable hash, and the user should know.
fn insert_id_note(ui: &mut egui::Ui, session: &FileSession) {
    let InsertIdSource::Column(column) = &session.mapping.insert_id else {
        return;
    };
    let values = session.file.head_values(column);
    let illegal = values
        .iter()
        .filter(|v| crate::validate::check_insert_id(v).is_err())
        .count();
    if illegal == 0 {
        return;
    }
    ui.add(
        egui::Label::new(
            RichText::new(format!(
                "{illegal} of the first {} values are not valid Mixpanel insert IDs (over 36 characters, or other characters than letters, digits and '-'): each is sent as a stable hash of the value, so duplicates are still removed.",
                values.len()
            ))
            .color(ui.visuals().warn_fg_color),
        )
        .wrap(),
    );
}

/// Event name: a column or one name for every event.
fn event_row(ui: &mut egui::Ui, session: &mut FileSession, widths: Widths, columns: &[String]) {
    field_row(ui, |ui| {
        let event_label = field_name(ui, widths, field_label(Field::Event), "the event's name");
        let mapping = &mut session.mapping;
        cell(ui, widths.picker, |ui| {
            match &mut mapping.event {
                Some(ValueSource::Constant(name)) => {
                    ui.add(
                        egui::TextEdit::singleline(name)
                            .hint_text("Event name for every row")
                            .desired_width(widths.picker),
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
                        widths.picker,
                    );
                    mapping.event = column.map(ValueSource::Column);
                }
            }
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
            });
        });
        cell(ui, widths.evidence, |ui| {
            confidence(ui, &session.mapping, Field::Event, &session.guesses);
        });
    });
}

/// The country column (its values are resolved to ISO codes in the Countries section), with
/// `note` saying what it becomes and `evidence` beside the picker.
pub(super) fn country_row(
    ui: &mut egui::Ui,
    session: &mut FileSession,
    widths: Widths,
    note: &str,
    evidence: impl FnOnce(&mut egui::Ui, &FileSession),
) {
    let columns = session.file.columns().to_vec();
    field_row(ui, |ui| {
        let label = field_name(ui, widths, field_label(Field::Country), note);
        let mut country = mapped_column(&session.mapping, Field::Country);
        cell(ui, widths.picker, |ui| {
            picker(
                ui,
                "Country",
                label.id,
                &columns,
                &mut country,
                "(none)",
                widths.picker,
            );
        });
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
        cell(ui, widths.evidence, |ui| evidence(ui, session));
    });
}
