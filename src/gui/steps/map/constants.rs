//! Constant properties added to every event (the import label first) or to every user profile
//! (which gets no import label: each import would overwrite it).

use crate::mapping::{IMPORT_LABEL_PROPERTY, ImportKind, Mapping};

/// The "new property" fields.
#[derive(Default)]
pub struct ConstantsForm {
    name: String,
    value: String,
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

impl ConstantsForm {
    /// Draw the section.
    pub fn ui(&mut self, ui: &mut egui::Ui, mapping: &mut Mapping) {
        if mapping.kind == ImportKind::Events {
            Self::import_label(ui, mapping);
        } else {
            ui.weak("Properties with the same value on every profile.");
        }
        self.properties(ui, mapping);
    }

    /// The import label's checkbox.
    fn import_label(ui: &mut egui::Ui, mapping: &mut Mapping) {
        let mut label_on = mapping.constants.contains_key(IMPORT_LABEL_PROPERTY);
        if ui
            .checkbox(
                &mut label_on,
                format!("Add an import label ('{IMPORT_LABEL_PROPERTY}') to every event, to find this import later"),
            )
            .changed()
        {
            if label_on {
                mapping.constants.insert(
                    IMPORT_LABEL_PROPERTY.to_owned(),
                    serde_json::Value::String(format!("mixport {}", today())),
                );
            } else {
                mapping.constants.remove(IMPORT_LABEL_PROPERTY);
            }
        }
    }

    /// The constant properties and the "new property" fields.
    fn properties(&mut self, ui: &mut egui::Ui, mapping: &mut Mapping) {
        let mut remove = None;
        // Wide enough to read a label such as "sample-events 2026-11-26" in full.
        let value_width = (ui.available_width() - 320.0).clamp(260.0, 520.0);
        egui::Grid::new("constants").num_columns(3).show(ui, |ui| {
            for (name, value) in mapping.constants.iter_mut() {
                let name_label = ui.monospace(name);
                let mut text = match &*value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                // A grid cell would shrink the field to its contents: give it its width.
                let height = ui.spacing().interact_size.y;
                if ui
                    .add_sized(
                        [value_width, height],
                        egui::TextEdit::singleline(&mut text).hint_text(format!("Value of {name}")),
                    )
                    .labelled_by(name_label.id)
                    .changed()
                {
                    *value = serde_json::Value::String(text);
                }
                if ui.button(format!("Remove {name}")).clicked() {
                    remove = Some(name.clone());
                }
                ui.end_row();
            }
        });
        if let Some(name) = remove {
            mapping.constants.remove(&name);
        }
        ui.horizontal(|ui| {
            let name_label = ui.label("New property:");
            ui.add(
                egui::TextEdit::singleline(&mut self.name)
                    .hint_text("name")
                    .desired_width(140.0),
            )
            .labelled_by(name_label.id);
            let value_label = ui.label("value:");
            ui.add(
                egui::TextEdit::singleline(&mut self.value)
                    .hint_text("value")
                    .desired_width(160.0),
            )
            .labelled_by(value_label.id);
            if ui
                .add_enabled(
                    !self.name.trim().is_empty(),
                    egui::Button::new("Add property"),
                )
                .clicked()
            {
                mapping.constants.insert(
                    self.name.trim().to_owned(),
                    serde_json::Value::String(self.value.clone()),
                );
                self.name.clear();
                self.value.clear();
            }
        });
    }
}
