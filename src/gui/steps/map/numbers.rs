//! Numbers: for each column sent as a number, the decimal separator its values use (detected
//! from the values, and changeable), how a few values are read, the values that are not
//! numbers (sent as text with a warning), and the offer to send the currency written next to
//! the numbers as a property of its own.
//!
//! Every value is read with the transform's own function ([`write_number_with`]), so what is
//! shown here is what the check and the import send.

use std::collections::HashMap;

use egui::RichText;

use crate::gui::state::FileSession;
use crate::mapping::typing::{DecimalSeparator, NumberProfile, write_number_with};
use crate::mapping::{ColumnMapping, PropertyType};

/// How many values of a column are shown read, and how many outliers are listed.
const EXAMPLES: usize = 3;
const OUTLIERS: usize = 5;

/// How one column's head values read with one separator.
#[derive(Debug, Clone, Default)]
struct Reading {
    /// Non-blank head values.
    values: usize,
    /// A few values with what they are sent as (`"1.000,00 €"` → `1000.00`).
    examples: Vec<(String, String)>,
    /// Values that are not numbers (up to [`OUTLIERS`], distinct).
    outliers: Vec<String>,
    /// How many values are not numbers.
    outlier_count: usize,
    /// The currencies written next to the numbers, in order of first appearance.
    currencies: Vec<&'static str>,
}

fn read(values: &[String], decimal: DecimalSeparator) -> Reading {
    let mut reading = Reading {
        values: values.len(),
        ..Reading::default()
    };
    let mut out = Vec::new();
    for value in values {
        out.clear();
        match write_number_with(value, decimal, &mut out) {
            Some(currency) => {
                if let Some(code) = currency
                    && !reading.currencies.contains(&code)
                {
                    reading.currencies.push(code);
                }
                if reading.examples.len() < EXAMPLES
                    && !reading.examples.iter().any(|(v, _)| v == value)
                {
                    let sent = String::from_utf8_lossy(&out).into_owned();
                    reading.examples.push((value.clone(), sent));
                }
            }
            None => {
                reading.outlier_count += 1;
                if reading.outliers.len() < OUTLIERS && !reading.outliers.contains(value) {
                    reading.outliers.push(value.clone());
                }
            }
        }
    }
    reading
}

/// One column's values, its detected separator and its readings, per session.
#[derive(Default)]
pub struct NumbersCache {
    serial: u64,
    columns: HashMap<String, Column>,
}

struct Column {
    values: Vec<String>,
    detected: DecimalSeparator,
    readings: HashMap<DecimalSeparator, Reading>,
}

impl NumbersCache {
    fn column(&mut self, session: &FileSession, name: &str) -> &mut Column {
        if self.serial != session.serial {
            self.serial = session.serial;
            self.columns.clear();
        }
        self.columns.entry(name.to_owned()).or_insert_with(|| {
            let values = session.file.head_values(name);
            let detected = NumberProfile::of(values.iter().map(String::as_str)).decimal;
            Column {
                values,
                detected,
                readings: HashMap::new(),
            }
        })
    }

    /// Draw the section: one block per included number column.
    pub fn ui(&mut self, ui: &mut egui::Ui, session: &mut FileSession) {
        let names: Vec<String> = number_columns(&session.mapping.columns)
            .map(|c| c.column.clone())
            .collect();
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                ui.separator();
            }
            let column = self.column(session, name);
            let detected = column.detected;
            let Some(mapping) = session
                .mapping
                .columns
                .iter_mut()
                .find(|c| c.column == *name)
            else {
                continue;
            };
            let reading = column
                .readings
                .entry(mapping.decimal)
                .or_insert_with(|| read(&column.values, mapping.decimal))
                .clone();
            number_column(ui, mapping, detected, &reading);
        }
    }
}

/// The included columns sent as numbers.
pub fn number_columns(columns: &[ColumnMapping]) -> impl Iterator<Item = &ColumnMapping> {
    columns
        .iter()
        .filter(|c| c.include && c.kind == PropertyType::Number)
}

fn separator_name(decimal: DecimalSeparator) -> String {
    match decimal {
        DecimalSeparator::Comma => format!("Comma ({})", decimal.example()),
        DecimalSeparator::Point => format!("Point ({})", decimal.example()),
    }
}

fn number_column(
    ui: &mut egui::Ui,
    column: &mut ColumnMapping,
    detected: DecimalSeparator,
    reading: &Reading,
) {
    ui.horizontal_wrapped(|ui| {
        let label = ui.strong(format!("Decimal separator in '{}':", column.column));
        egui::ComboBox::from_id_salt(("decimal", column.column.as_str()))
            .selected_text(separator_name(column.decimal))
            .show_ui(ui, |ui| {
                for d in [DecimalSeparator::Comma, DecimalSeparator::Point] {
                    ui.selectable_value(&mut column.decimal, d, separator_name(d));
                }
            })
            .response
            .labelled_by(label.id);
        if column.decimal == detected {
            ui.weak("as the values are written");
        } else {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "the values look like {} is the decimal separator",
                    match detected {
                        DecimalSeparator::Comma => "a comma",
                        DecimalSeparator::Point => "a point",
                    }
                ),
            );
        }
    });
    if !reading.examples.is_empty() {
        let read: Vec<String> = reading
            .examples
            .iter()
            .map(|(value, sent)| format!("'{value}' as {sent}"))
            .collect();
        ui.label(format!("Sent: {}", read.join(", ")));
    }
    if reading.outlier_count > 0 {
        let listed: Vec<String> = reading.outliers.iter().map(|o| format!("'{o}'")).collect();
        ui.add(
            egui::Label::new(
                RichText::new(format!(
                    "{} of {} values are not numbers read this way: sent as text, each with a warning in the check: {}{}",
                    reading.outlier_count,
                    reading.values,
                    listed.join(", "),
                    if reading.outlier_count > listed.len() {
                        ", …"
                    } else {
                        ""
                    }
                ))
                .color(ui.visuals().warn_fg_color),
            )
            .wrap(),
        );
    }
    currency_offer(ui, column, &reading.currencies);
}

/// The currency written next to the numbers (`12,50 €`), offered as a property of its own.
fn currency_offer(ui: &mut egui::Ui, column: &mut ColumnMapping, currencies: &[&'static str]) {
    if currencies.is_empty() && column.currency_property.is_none() {
        return;
    }
    let found = if currencies.is_empty() {
        "none in the first rows".to_owned()
    } else {
        currencies.join(", ")
    };
    ui.horizontal_wrapped(|ui| {
        let mut send = column.currency_property.is_some();
        ui.checkbox(&mut send, format!("Send the currency ({found})"));
        if send != column.currency_property.is_some() {
            column.currency_property = send.then(|| format!("{}_currency", column.property_name()));
        }
        if let Some(name) = column.currency_property.as_mut() {
            let height = ui.spacing().interact_size.y;
            let mut text = name.clone();
            let label = ui.label("as the property:");
            ui.add_sized(
                [180.0, height],
                egui::TextEdit::singleline(&mut text).hint_text("property name"),
            )
            .labelled_by(label.id);
            // A property needs a name: an emptied field keeps the last one.
            if !text.trim().is_empty() {
                *name = text;
            }
        } else {
            ui.weak("(the numbers are sent without it)");
        }
    });
}
