//! Step 6, Review: every rejected event grouped by message and filterable, the export, the run
//! report, and when/where the events show up in Mixpanel.

use std::collections::BTreeMap;

use egui::RichText;

use crate::gui::AppDeps;
use crate::gui::backend::RejectedRow;
use crate::gui::session::Session;
use crate::gui::steps::check::{export, export_row};
use crate::mapping::IMPORT_LABEL_PROPERTY;

/// The Review step.
#[derive(Default)]
pub struct ReviewStep {
    /// The filter field.
    pub filter: String,
    /// The export path field.
    pub export_path: String,
    export_note: Option<(bool, String)>,
}

impl ReviewStep {
    /// Draw the step.
    pub fn ui(&mut self, ui: &mut egui::Ui, session: &mut Session, deps: &mut AppDeps) {
        let Some(result) = session.import_result.as_ref() else {
            ui.label("Run the import first.");
            return;
        };
        session.reviewed = true;
        let total_rejected = result.rejected_local + result.rejected_server;
        ui.label(
            RichText::new(format!(
                "{} events accepted, {} rejected ({} by the check, {} by Mixpanel)",
                result.accepted, total_rejected, result.rejected_local, result.rejected_server
            ))
            .size(16.0)
            .strong(),
        );
        egui::CollapsingHeader::new("When will the events show up in Mixpanel?")
            .default_open(true)
            .show(ui, |ui| {
                ui.label("Accepted events appear in reports (Insights, Funnels, …) within a few minutes. The raw export API and data pipelines can take longer, up to a day.");
                ui.label("Historical events are placed at their own time: set the report's date range to cover the dates in your file, not today.");
                match &result.import_label {
                    Some(label) => {
                        ui.label(format!(
                            "To see only this import, filter by the event property '{IMPORT_LABEL_PROPERTY}' equals '{label}'."
                        ));
                    }
                    None => {
                        ui.label("This import had no import label, so filter by the dates and event names of your file.");
                    }
                }
            });
        if let Some(report) = &result.report_file {
            ui.horizontal(|ui| {
                ui.label(format!("Run report: {}", report.display()));
                if ui.button("Open report").clicked() {
                    ui.ctx().open_url(egui::OpenUrl::new_tab(format!(
                        "file://{}",
                        report.display()
                    )));
                }
            });
        }
        ui.separator();
        if total_rejected == 0 {
            ui.label("No event was rejected.");
            return;
        }
        if result.rejected_file.is_some()
            && let Some(via) = export_row(ui, &mut self.export_path, &self.export_note)
            && let Some(from) = result.rejected_file.clone()
        {
            self.export_note = Some(export(deps, via, &from, &mut self.export_path));
        }
        ui.horizontal(|ui| {
            let label = ui.label("Filter:");
            ui.add(
                egui::TextEdit::singleline(&mut self.filter)
                    .hint_text("message, field, row or value")
                    .desired_width(300.0),
            )
            .labelled_by(label.id);
        });
        let needle = self.filter.trim().to_lowercase();
        let mut groups: BTreeMap<(String, String), Vec<&RejectedRow>> = BTreeMap::new();
        let mut titles: BTreeMap<(String, String), String> = BTreeMap::new();
        for row in &result.rejected {
            if !needle.is_empty() && !matches(row, &needle) {
                continue;
            }
            let key = (row.by.clone(), group_key(&row.message));
            titles
                .entry(key.clone())
                .or_insert_with(|| strip_row_prefix(&row.message).to_owned());
            groups.entry(key).or_default().push(row);
        }
        let shown: usize = groups.values().map(Vec::len).sum();
        ui.weak(format!(
            "{shown} rejected events shown{}",
            if (result.rejected.len() as u64) < total_rejected {
                format!(
                    " (the first {}; the export has all {total_rejected})",
                    result.rejected.len()
                )
            } else {
                String::new()
            }
        ));
        let columns = result.columns.clone();
        egui::ScrollArea::vertical()
            .id_salt("review-scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for ((by, message), rows) in &groups {
                    let full = titles
                        .get(&(by.clone(), message.clone()))
                        .unwrap_or(message);
                    // Long titles would widen the panel past the window; the rows show all.
                    let title: String = if full.chars().count() > 72 {
                        full.chars().take(72).chain("…".chars()).collect()
                    } else {
                        full.clone()
                    };
                    let count = rows.len();
                    egui::CollapsingHeader::new(
                        RichText::new(format!(
                            "{by}: {title} ({count} event{})",
                            if count == 1 { "" } else { "s" }
                        ))
                        .color(ui.visuals().error_fg_color),
                    )
                    .id_salt(("review", by, message))
                    .default_open(groups.len() <= 3)
                    .show(ui, |ui| {
                        for row in rows.iter().take(200) {
                            ui.horizontal(|ui| {
                                ui.strong(format!("Row {}", row.row));
                                ui.monospace(&row.field);
                            });
                            ui.add(egui::Label::new(strip_row_prefix(&row.message)).wrap());
                            let values = columns
                                .iter()
                                .zip(&row.values)
                                .map(|(c, v)| format!("{c} = {v}"))
                                .collect::<Vec<_>>()
                                .join(", ");
                            ui.add(
                                egui::Label::new(
                                    RichText::new(format!("Original values: {values}")).weak(),
                                )
                                .wrap(),
                            );
                            ui.add_space(4.0);
                        }
                        if rows.len() > 200 {
                            ui.weak(format!("… and {} more (see the export)", rows.len() - 200));
                        }
                    });
                }
            });
    }
}

/// Messages differ by row and value ("row 12: time '…' cannot be read"); group by the text
/// with the `row N:` prefix dropped, quoted values hidden and digits folded. A quote opens a
/// value only at the start or after a space or `(` (so "column's" stays as is).
fn group_key(message: &str) -> String {
    let text = strip_row_prefix(message);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut quoted = false;
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|j| chars.get(j));
        let next = chars.get(i + 1);
        if c == '\'' && !quoted && prev.is_none_or(|p| p.is_whitespace() || *p == '(') {
            quoted = true;
            out.push_str("'…'");
        } else if c == '\'' && quoted && next.is_none_or(|n| !n.is_alphanumeric()) {
            quoted = false;
        } else if !quoted {
            if c.is_ascii_digit() {
                if !out.ends_with('#') {
                    out.push('#');
                }
            } else {
                out.push(c);
            }
        }
    }
    out
}

/// `row 12: the user ID is empty` → `the user ID is empty`.
pub(crate) fn strip_row_prefix(message: &str) -> &str {
    message
        .strip_prefix("row ")
        .and_then(|rest| {
            let digits = rest.find(|c: char| !c.is_ascii_digit())?;
            rest[digits..].strip_prefix(": ")
        })
        .unwrap_or(message)
}

fn matches(row: &RejectedRow, needle: &str) -> bool {
    row.message.to_lowercase().contains(needle)
        || row.field.to_lowercase().contains(needle)
        || row.row.to_string() == needle
        || row.values.iter().any(|v| v.to_lowercase().contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_key_hides_quoted_values() {
        assert_eq!(
            group_key("'abc' is not a date/time this column's format can read"),
            "'…' is not a date/time this column's format can read"
        );
        assert_eq!(
            group_key("row 122: time 'x' (column 'ts') cannot be read"),
            group_key("row 446: time 'yy' (column 'ts') cannot be read")
        );
        assert_eq!(
            group_key("row 262: the time 2031-06-01T12:00:00 is in the future"),
            group_key("row 9: the time 2030-01-02T10:00:00 is in the future")
        );
        assert_eq!(
            group_key("user 'x y' is banned"),
            group_key("user 'anon' is banned")
        );
    }
}
