//! The other columns: sent as properties or not, under which name, with which type.

use crate::mapping::{Mapping, PropertyType};

fn type_name(kind: PropertyType) -> &'static str {
    match kind {
        PropertyType::Text => "Text",
        PropertyType::Number => "Number",
        PropertyType::Boolean => "Yes/no",
        PropertyType::Date => "Date",
        PropertyType::List => "List",
    }
}

/// Draw the section.
pub fn ui(ui: &mut egui::Ui, mapping: &mut Mapping) {
    if mapping.columns.is_empty() {
        ui.weak("Every column is used by a Mixpanel field.");
        return;
    }
    egui::Grid::new("property-columns")
        .striped(true)
        .num_columns(3)
        .show(ui, |ui| {
            ui.strong("Send column");
            ui.strong("As property");
            ui.strong("Type");
            ui.end_row();
            for column in mapping.columns.iter_mut() {
                let include = ui.checkbox(&mut column.include, column.column.clone());
                let mut name = column.property_name().to_owned();
                let height = ui.spacing().interact_size.y;
                let response = ui
                    .add_enabled_ui(column.include, |ui| {
                        ui.add_sized(
                            [180.0, height],
                            egui::TextEdit::singleline(&mut name)
                                .hint_text(format!("Property name for column {}", column.column)),
                        )
                    })
                    .inner;
                if response.changed() {
                    column.rename = (name != column.column && !name.is_empty()).then_some(name);
                }
                let mut kind = column.kind;
                ui.add_enabled_ui(column.include, |ui| {
                    egui::ComboBox::from_id_salt(("type", column.column.as_str()))
                        .selected_text(type_name(kind))
                        .show_ui(ui, |ui| {
                            for k in [
                                PropertyType::Text,
                                PropertyType::Number,
                                PropertyType::Boolean,
                                PropertyType::Date,
                                PropertyType::List,
                            ] {
                                ui.selectable_value(&mut kind, k, type_name(k));
                            }
                        })
                        .response
                        .labelled_by(include.id);
                });
                column.kind = kind;
                ui.end_row();
            }
        });
}
