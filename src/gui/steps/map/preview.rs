//! The exact JSON the import sends for one head row (an event, or the records of a user
//! profile update), with its issues.

use egui::RichText;

use crate::gui::state::FileSession;
use crate::gui::words;
use crate::mapping::transform::row::RowTransformer;
use crate::mapping::transform::{TransformOptions, Transformed};
use crate::mapping::{ImportKind, Mapping};
use crate::validate::Severity;

/// UTC milliseconds as `2024-03-05 14:07:00 UTC`.
pub fn format_utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// The transform of one head row.
#[derive(Debug, Clone)]
enum EventPreview {
    /// The mapping cannot be used yet.
    MappingError(String),
    /// The event and its issues.
    Event(Box<Transformed>),
}

/// The last preview, recomputed only when the session, the mapping or the row changes.
#[derive(Default)]
pub struct PreviewCache {
    last: Option<(u64, Mapping, usize, EventPreview)>,
}

fn transform_row(session: &FileSession, index: usize) -> EventPreview {
    let Some(record) = session.file.head.get(index) else {
        return EventPreview::MappingError("No such row.".to_owned());
    };
    match RowTransformer::new(
        &session.mapping,
        session.file.columns(),
        TransformOptions::now(),
    ) {
        Err(e) => EventPreview::MappingError(words::mapping_error(&e)),
        Ok(mut transformer) => {
            let mut out = Transformed::default();
            transformer.transform(record, &mut out);
            EventPreview::Event(Box::new(out))
        }
    }
}

impl PreviewCache {
    /// Draw the section.
    pub fn ui(&mut self, ui: &mut egui::Ui, selected: &mut usize, session: &FileSession) {
        let rows = session.file.head.len();
        if rows == 0 {
            ui.label("The file has no rows to preview.");
            return;
        }
        let last = rows - 1;
        *selected = (*selected).min(last);
        ui.horizontal(|ui| {
            let label = ui.label("Preview row:");
            if ui.button("Previous row").clicked() {
                *selected = selected.saturating_sub(1);
            }
            let mut shown = *selected + 1;
            ui.add(egui::DragValue::new(&mut shown).range(1..=last + 1))
                .labelled_by(label.id);
            *selected = shown.saturating_sub(1).min(last);
            if ui.button("Next row").clicked() {
                *selected = (*selected + 1).min(last);
            }
            if let Some(record) = session.file.head.get(*selected) {
                ui.weak(format!("source row {}", record.row));
            }
        });
        let stale = match &self.last {
            Some((serial, mapping, row, _)) => {
                *serial != session.serial || *mapping != session.mapping || *row != *selected
            }
            None => true,
        };
        if stale {
            let preview = transform_row(session, *selected);
            self.last = Some((session.serial, session.mapping.clone(), *selected, preview));
        }
        let Some((_, _, _, preview)) = &self.last else {
            return;
        };
        match preview {
            EventPreview::MappingError(message) => {
                ui.colored_label(ui.visuals().warn_fg_color, message);
            }
            EventPreview::Event(event) => {
                for issue in &event.issues {
                    let color = match issue.severity() {
                        Severity::Error => ui.visuals().error_fg_color,
                        Severity::Warning => ui.visuals().warn_fg_color,
                    };
                    ui.colored_label(color, format!("{}: {}", issue.kind.title(), issue.message));
                }
                if event.is_valid() {
                    ui.label(match event.kind {
                        ImportKind::Events => "The exact event the import sends for this row:",
                        ImportKind::Profiles => {
                            "The exact profile update the import sends for this row (Mixport adds the project token):"
                        }
                    });
                    let pretty = pretty_records(&event.json);
                    egui::Frame::group(ui.style()).show(ui, |ui| {
                        ui.add(
                            egui::Label::new(RichText::new(pretty).monospace()).selectable(true),
                        );
                    });
                } else {
                    ui.colored_label(
                        ui.visuals().error_fg_color,
                        "This row would be rejected and not sent.",
                    );
                }
            }
        }
    }
}

/// Each JSON record of `json` (one per line: a profile update may have two) pretty-printed.
fn pretty_records(json: &[u8]) -> String {
    json.split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            serde_json::from_slice::<serde_json::Value>(line)
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or_else(|_| String::from_utf8_lossy(line).into_owned())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_are_shown_readably() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(1_709_647_620_000), "2024-03-05 14:07:00 UTC");
    }
}
