//! Countries: every distinct value of the country column in the head, its code, and a
//! searchable picker for the values that are not recognised.

use std::collections::BTreeMap;

use crate::gui::state::FileSession;
use crate::mapping::country::{all_countries, country_name, resolve_country};

/// The distinct values of a column with their counts, most frequent first.
type Counts = Vec<(String, usize)>;

/// The distinct values of one column, counted once per session and column, and how many head
/// rows leave it blank.
#[derive(Default)]
pub struct CountryCache {
    counts: Option<(u64, String, Counts, usize)>,
}

impl CountryCache {
    /// Draw the section.
    pub fn ui(&mut self, ui: &mut egui::Ui, filter: &mut String, session: &mut FileSession) {
        let Some(country) = session.mapping.country.as_mut() else {
            return;
        };
        let column = country.column.clone();
        let fresh = self
            .counts
            .as_ref()
            .is_some_and(|(serial, c, _, _)| *serial == session.serial && *c == column);
        if !fresh {
            let values = session.file.head_values(&column);
            let blanks = session.file.head.len().saturating_sub(values.len());
            let counts = distinct_values(&values);
            self.counts = Some((session.serial, column.clone(), counts, blanks));
        }
        let Some((_, _, counts, blanks)) = self.counts.as_ref() else {
            return;
        };
        let rows = session.file.head.len();
        ui.label(format!(
            "{} distinct values in column '{column}' (first {rows} rows). Unrecognised values are highlighted: pick their country.",
            counts.len(),
        ));
        if *blanks > 0 {
            // User profiles are sent with `ip=0`: nothing locates them.
            let located = session.mapping.ip.is_some()
                && session.mapping.kind == crate::mapping::ImportKind::Events;
            ui.colored_label(
                ui.visuals().warn_fg_color,
                blank_rows(*blanks, rows, located),
            );
        }
        let countries = all_countries();
        egui::Grid::new("countries")
            .striped(true)
            .num_columns(4)
            .show(ui, |ui| {
                ui.strong("Value");
                ui.strong("Rows");
                ui.strong("Code");
                ui.strong("Country");
                ui.end_row();
                for (value, count) in counts.iter().take(300) {
                    let overridden = country.overrides.get(value).cloned();
                    let resolved = overridden
                        .clone()
                        .or_else(|| resolve_country(value).map(str::to_owned));
                    let value_label = if resolved.is_none() {
                        ui.colored_label(
                            ui.visuals().warn_fg_color,
                            format!("{value} (not recognised)"),
                        )
                    } else {
                        ui.label(value)
                    };
                    ui.label(count.to_string());
                    ui.monospace(resolved.clone().unwrap_or_else(|| "—".to_owned()));
                    let shown = match resolved.as_deref() {
                        Some("") => "(send no country)".to_owned(),
                        Some(code) => country_name(code).unwrap_or(code).to_owned(),
                        None => "Pick a country…".to_owned(),
                    };
                    let mut choice = overridden.clone();
                    // The list stays open while the search field is used; a choice closes it.
                    egui::ComboBox::from_id_salt(("country", value.as_str()))
                        .selected_text(shown)
                        .height(300.0)
                        .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside)
                        .show_ui(ui, |ui| {
                            let label = ui.label("Search countries:");
                            let search = ui
                                .add(
                                    egui::TextEdit::singleline(filter)
                                        .hint_text("name or code")
                                        .desired_width(180.0),
                                )
                                .labelled_by(label.id);
                            if !search.has_focus() && filter.is_empty() {
                                search.request_focus();
                            }
                            let before = choice.clone();
                            ui.selectable_value(&mut choice, None, "(automatic)");
                            ui.selectable_value(
                                &mut choice,
                                Some(String::new()),
                                "(send no country)",
                            );
                            let needle = filter.trim().to_lowercase();
                            for (code, name) in countries.iter().filter(|(code, name)| {
                                needle.is_empty()
                                    || name.to_lowercase().contains(&needle)
                                    || code.eq_ignore_ascii_case(&needle)
                            }) {
                                ui.selectable_value(
                                    &mut choice,
                                    Some((*code).to_owned()),
                                    format!("{name} ({code})"),
                                );
                            }
                            if choice != before {
                                filter.clear();
                                ui.close();
                            }
                        })
                        .response
                        .labelled_by(value_label.id);
                    if choice != overridden {
                        match choice {
                            Some(code) => {
                                country.overrides.insert(value.clone(), code);
                            }
                            None => {
                                country.overrides.remove(value);
                            }
                        }
                    }
                    ui.end_row();
                }
            });
    }
}

/// What the blank country cells mean: "2 of the first 12 rows have no country: …".
fn blank_rows(blanks: usize, rows: usize, located_by_ip: bool) -> String {
    let (verb, pronoun) = if blanks == 1 {
        ("has", "it is")
    } else {
        ("have", "they are")
    };
    let then = if located_by_ip {
        " (Mixpanel locates them from the IP column)"
    } else {
        ""
    };
    format!(
        "{blanks} of the first {rows} rows {verb} no country: {pronoun} sent without one{then}."
    )
}

/// Distinct values with their counts, most frequent first.
fn distinct_values(values: &[String]) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for value in values {
        *counts.entry(value.as_str()).or_default() += 1;
    }
    let mut out: Vec<(String, usize)> =
        counts.into_iter().map(|(v, n)| (v.to_owned(), n)).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}
