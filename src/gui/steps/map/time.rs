//! Time: the format, the source time zone (searchable), the day/month question when the dates
//! read either way, and a few parsed samples in UTC. For events this is the event time; for
//! user profiles the sign-up date (`$created`), which is optional.

use crate::gui::state::FileSession;
use crate::mapping::time::{TimeParser, profile_time_values};
use crate::mapping::{DayOrder, ImportKind, TimeFormat};
use crate::session::Blocker;

use super::preview::format_utc;

/// How many parsed time samples are shown.
const TIME_SAMPLES: usize = 5;

/// Display name of a time format.
fn time_format_name(format: &TimeFormat) -> &'static str {
    match format {
        TimeFormat::Auto => "Automatic (each value by its shape)",
        TimeFormat::Iso8601 => "ISO 8601 (2024-03-05T14:07:00Z)",
        TimeFormat::DateTime => "Date and time (2024-03-05 14:07:00)",
        TimeFormat::Epoch => "Unix epoch (seconds or milliseconds)",
        TimeFormat::MonthDayYear => "Month/day/year (03/05/2024)",
        TimeFormat::DayMonthYear => "Day/month/year (05/03/2024)",
        TimeFormat::DayMonthYearDots => "Day.month.year (05.03.2024)",
        TimeFormat::ExcelSerial => "Excel serial days (45356.5)",
        TimeFormat::MonthName => "Month names (Mar 5, 2024 / 5. März 2024)",
        TimeFormat::Pattern(_) => "Custom pattern",
    }
}

/// Draw the time section: of the event time, or of a profile's sign-up date.
pub fn ui(ui: &mut egui::Ui, zone_filter: &mut String, session: &mut FileSession) {
    let column = session.mapping.row_time().column.clone();
    if column.is_none() && session.kind() == ImportKind::Profiles {
        ui.weak("No sign-up date column is chosen: profiles are sent without one. Choose it above if the file has one.");
        return;
    }
    format_picker(ui, &mut session.mapping.row_time_mut().format);
    zone_line(ui, &session.mapping.row_time().timezone);
    title_zone_note(ui, session);
    zone_search(
        ui,
        zone_filter,
        &mut session.mapping.row_time_mut().timezone,
    );

    let Some(column) = column else {
        ui.weak("Choose the time column above to see parsed samples.");
        return;
    };

    let values = session.file.head_values(&column);
    let question = session.blockers.iter().find_map(|b| match b {
        Blocker::DayOrder { example, .. } => Some(example.clone()),
        Blocker::Mapping(_) => None,
    });
    let ambiguous_data = profile_time_values(values.iter().map(String::as_str))
        .ambiguous_example
        .is_some();
    if question.is_some()
        || (ambiguous_data && session.mapping.row_time().format == TimeFormat::Auto)
    {
        match &question {
            Some(example) => {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!(
                        "Dates such as '{example}' could be day/month or month/day. Which order does this file use? The check and the import wait for your answer."
                    ),
                );
            }
            None => {
                ui.label("Order of day and month in this file's dates:");
            }
        }
        ui.horizontal(|ui| {
            let order = &mut session.mapping.row_time_mut().day_order;
            ui.radio_value(order, Some(DayOrder::DayFirst), "Day first (31/12/2024)");
            ui.radio_value(
                order,
                Some(DayOrder::MonthFirst),
                "Month first (12/31/2024)",
            );
        });
    }
    let time = session.mapping.row_time();
    match TimeParser::new(&time.format, &time.timezone, time.day_order) {
        Err(e) => {
            ui.colored_label(ui.visuals().error_fg_color, e.to_string());
        }
        Ok(parser) => {
            ui.label("Parsed samples (in UTC):");
            // Values padded to the longest in monospace line the results up, however long a
            // value is (`Dienstag, 3. März 2024 09:30`).
            let samples: Vec<&String> = values.iter().take(TIME_SAMPLES).collect();
            let width = samples.iter().map(|v| v.chars().count()).max().unwrap_or(0);
            for value in samples {
                ui.horizontal(|ui| {
                    ui.monospace(format!("{value:<width$}"));
                    match parser.parse_text(value) {
                        Ok(ms) => ui.monospace(format_utc(ms)),
                        // Cut to the window's width; the full text stays the label's name.
                        Err(e) => ui.add(
                            egui::Label::new(
                                egui::RichText::new(e.to_string())
                                    .color(ui.visuals().error_fg_color),
                            )
                            .truncate(),
                        ),
                    };
                });
            }
        }
    }
}

fn format_picker(ui: &mut egui::Ui, current: &mut TimeFormat) {
    ui.horizontal(|ui| {
        let mut format = current.clone();
        let label = ui.label("Time format:");
        egui::ComboBox::from_id_salt("time-format")
            .selected_text(time_format_name(&format))
            .show_ui(ui, |ui| {
                for f in [
                    TimeFormat::Auto,
                    TimeFormat::Iso8601,
                    TimeFormat::DateTime,
                    TimeFormat::Epoch,
                    TimeFormat::MonthDayYear,
                    TimeFormat::DayMonthYear,
                    TimeFormat::DayMonthYearDots,
                    TimeFormat::ExcelSerial,
                    TimeFormat::MonthName,
                    TimeFormat::Pattern("%Y-%m-%d %H:%M:%S".to_owned()),
                ] {
                    let name = time_format_name(&f);
                    let selected = std::mem::discriminant(&format) == std::mem::discriminant(&f);
                    if ui.selectable_label(selected, name).clicked() && !selected {
                        format = f;
                    }
                }
            })
            .response
            .labelled_by(label.id);
        if let TimeFormat::Pattern(pattern) = &mut format {
            let label = ui.label("Pattern:");
            ui.add(egui::TextEdit::singleline(pattern).desired_width(160.0))
                .labelled_by(label.id);
        }
        if format != *current {
            *current = format;
        }
    });
}

/// The id of the time zone search field (the title zone's "Change…" focuses it).
fn zone_search_id() -> egui::Id {
    egui::Id::unique("time-zone-search")
}

/// The time zone named by the file's title: where the zone came from, and Keep / Change until
/// the user answered; "Use …" when another zone is chosen.
fn title_zone_note(ui: &mut egui::Ui, session: &mut FileSession) {
    let Some(hint) = session.title_zone.as_mut() else {
        return;
    };
    let zone = &mut session.mapping.row_time_mut().timezone;
    let quoted = format!("'{}'", hint.text);
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            if *zone != hint.zone {
                ui.label(format!(
                    "The file's title names {} ({quoted}); times are read in {zone} as you chose.",
                    hint.zone
                ));
                if ui.button(format!("Use {}", hint.zone)).clicked() {
                    zone.clone_from(&hint.zone);
                    hint.answered = true;
                }
            } else if hint.answered {
                ui.weak(format!(
                    "{} comes from the file's title ({quoted}), kept by you.",
                    hint.zone
                ));
            } else {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!(
                        "From the file's title: {} ({quoted}). Times written without an offset are read in this zone: keep it or change it.",
                        hint.zone
                    ),
                );
                if ui.button(format!("Keep {}", hint.zone)).clicked() {
                    hint.answered = true;
                }
                if ui.button("Change…").clicked() {
                    ui.memory_mut(|m| m.request_focus(zone_search_id()));
                }
            }
        });
    });
}

fn zone_line(ui: &mut egui::Ui, zone: &str) {
    ui.horizontal(|ui| {
        ui.label(format!("Source time zone: {zone}"));
        ui.weak("(for times written without an offset)");
    });
}

fn zone_search(ui: &mut egui::Ui, filter: &mut String, zone: &mut String) {
    ui.horizontal(|ui| {
        let label = ui.label("Search time zones:");
        ui.add(
            egui::TextEdit::singleline(filter)
                .id(zone_search_id())
                .hint_text("e.g. Berlin, New_York, Tokyo")
                .desired_width(240.0),
        )
        .labelled_by(label.id);
    });
    if filter.trim().is_empty() {
        return;
    }
    let needle = filter.trim().to_lowercase().replace(' ', "_");
    let matches: Vec<&'static str> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name())
        .filter(|name| name.to_lowercase().contains(&needle))
        .take(40)
        .collect();
    egui::ScrollArea::vertical()
        .id_salt("zones")
        .max_height(140.0)
        .show(ui, |ui| {
            if matches.is_empty() {
                ui.weak("No time zone matches.");
            }
            for name in matches {
                if ui.selectable_label(zone == name, name).clicked() {
                    *zone = name.to_owned();
                    filter.clear();
                }
            }
        });
}
