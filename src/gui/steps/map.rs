//! Step 2, Map: which column is which Mixpanel field, time and zone, countries, the other
//! columns, constant properties, templates, and the exact JSON event of a preview row.

use std::cell::RefCell;
use std::collections::BTreeMap;

use egui::{Color32, RichText};

use crate::gui::AppDeps;
use crate::gui::backend::{self, cell_text};
use crate::gui::session::{FieldConfidence, LoadedFile, Session};
use crate::mapping::country::{all_countries, country_name, resolve_country};
use crate::mapping::time::{TimeParser, profile_time_values};
use crate::mapping::transform::{TransformOptions, Transformed, Transformer};
use crate::mapping::{
    ColumnMapping, CountryMapping, DayOrder, IMPORT_LABEL_PROPERTY, InsertIdSource, Mapping,
    PropertyType, TimeFormat, ValueSource,
};
use crate::source::Cell;
use crate::validate::Severity;

/// How many parsed time samples are shown.
const TIME_SAMPLES: usize = 5;

/// The Map step.
#[derive(Default)]
pub struct MapStep {
    /// The "Save as template" name field.
    pub template_name: String,
    template_note: Option<String>,
    /// The time zone search field.
    pub zone_filter: String,
    /// The search field of the country pickers.
    pub country_filter: String,
    /// The preview row whose JSON event is shown (index into the preview).
    pub selected_row: usize,
    new_constant_name: String,
    new_constant_value: String,
    validity: RefCell<Option<(Mapping, Result<(), String>)>>,
    event_preview: Option<(Mapping, usize, EventPreview)>,
    country_counts: Option<(String, Vec<(String, usize)>)>,
    time_profile: Option<(String, crate::mapping::time::TimeColumnProfile)>,
}

/// The transform of one preview row.
#[derive(Debug, Clone)]
enum EventPreview {
    /// The mapping cannot be used yet.
    MappingError(String),
    /// The event and its issues.
    Event(Box<Transformed>),
}

impl MapStep {
    /// Start over for a newly loaded file: apply a template made for the same headers, else the
    /// suggestion; add the import label.
    pub fn reset_for_new_file(&mut self, session: &mut Session, deps: &AppDeps) {
        let Some(file) = session.file.as_ref() else {
            return;
        };
        let columns = file.sniff.columns.clone();
        if let Some((name, mapping)) = backend::template_matching(&deps.config_dir, &columns) {
            session.mapping = mapping;
            session.confidence.clear();
            session.applied_template = Some(name.clone());
            self.template_note = Some(format!(
                "Applied your template '{name}' because this file has the same columns."
            ));
        } else {
            let (mapping, confidence) = backend::suggest_mapping(file);
            session.mapping = mapping;
            session.confidence = confidence;
            session.applied_template = None;
            self.template_note = None;
        }
        session.mapping.headers = columns;
        if !session
            .mapping
            .constants
            .contains_key(IMPORT_LABEL_PROPERTY)
        {
            session.mapping.constants.insert(
                IMPORT_LABEL_PROPERTY.to_owned(),
                serde_json::Value::String(default_import_label(file)),
            );
        }
        sync_property_columns(&mut session.mapping, &file.sniff.columns);
        session.checked = None;
        self.selected_row = 0;
        self.event_preview = None;
        self.country_counts = None;
        self.time_profile = None;
        *self.validity.borrow_mut() = None;
    }

    /// Whether the mapping can be used with the loaded file (the transformer accepts it).
    pub fn is_valid(&self, session: &Session) -> bool {
        self.validity_of(session).is_ok()
    }

    fn validity_of(&self, session: &Session) -> Result<(), String> {
        let Some(file) = session.file.as_ref() else {
            return Err("No file is loaded.".to_owned());
        };
        let mut cache = self.validity.borrow_mut();
        if let Some((mapping, result)) = cache.as_ref()
            && *mapping == session.mapping
        {
            return result.clone();
        }
        let result = Transformer::new(
            &session.mapping,
            &file.sniff.columns,
            TransformOptions::now(),
        )
        .map(|_| ())
        .map_err(|e| e.to_string());
        *cache = Some((session.mapping.clone(), result.clone()));
        result
    }

    /// Draw the step.
    pub fn ui(&mut self, ui: &mut egui::Ui, session: &mut Session, deps: &mut AppDeps) {
        let validity = self.validity_of(session);
        // Borrow the file out of the session for this frame (no copy of the preview).
        let Some(file) = session.file.take() else {
            ui.label("Open a file in the File step first.");
            return;
        };
        if let Some(note) = &self.template_note {
            ui.colored_label(ui.visuals().hyperlink_color, note);
        }
        if let Err(problem) = validity {
            ui.colored_label(ui.visuals().warn_fg_color, problem.clone());
        }
        let before = session.mapping.clone();
        egui::ScrollArea::vertical()
            .id_salt("map-scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                egui::CollapsingHeader::new("Mixpanel fields")
                    .default_open(true)
                    .show(ui, |ui| fields_grid(ui, session, &file));
                egui::CollapsingHeader::new("Time")
                    .default_open(true)
                    .show(ui, |ui| self.time_section(ui, &mut session.mapping, &file));
                if session.mapping.country.is_some() {
                    egui::CollapsingHeader::new("Countries")
                        .default_open(true)
                        .show(ui, |ui| {
                            self.country_section(ui, &mut session.mapping, &file)
                        });
                }
                egui::CollapsingHeader::new("Other columns (sent as properties)")
                    .default_open(true)
                    .show(ui, |ui| columns_section(ui, &mut session.mapping));
                egui::CollapsingHeader::new("Constant properties")
                    .default_open(true)
                    .show(ui, |ui| self.constants_section(ui, &mut session.mapping));
                egui::CollapsingHeader::new("Event preview")
                    .default_open(true)
                    .show(ui, |ui| self.event_preview_section(ui, session, &file));
                egui::CollapsingHeader::new("Templates")
                    .default_open(true)
                    .show(ui, |ui| self.templates_section(ui, session, deps, &file));
            });
        if session.mapping != before {
            sync_property_columns(&mut session.mapping, &file.sniff.columns);
        }
        session.file = Some(file);
    }

    fn time_section(&mut self, ui: &mut egui::Ui, mapping: &mut Mapping, file: &LoadedFile) {
        ui.horizontal(|ui| {
            let mut format = mapping.time.format.clone();
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
                        TimeFormat::Pattern("%Y-%m-%d %H:%M:%S".to_owned()),
                    ] {
                        let name = time_format_name(&f);
                        let selected =
                            std::mem::discriminant(&format) == std::mem::discriminant(&f);
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
            mapping.time.format = format;
        });

        ui.horizontal(|ui| {
            ui.label(format!("Source time zone: {}", mapping.time.timezone));
            ui.weak("(for times written without an offset)");
        });
        ui.horizontal(|ui| {
            let label = ui.label("Search time zones:");
            ui.add(
                egui::TextEdit::singleline(&mut self.zone_filter)
                    .hint_text("e.g. Berlin, New_York, Tokyo")
                    .desired_width(240.0),
            )
            .labelled_by(label.id);
        });
        if !self.zone_filter.trim().is_empty() {
            let needle = self.zone_filter.trim().to_lowercase().replace(' ', "_");
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
                        if ui
                            .selectable_label(mapping.time.timezone == name, name)
                            .clicked()
                        {
                            mapping.time.timezone = name.to_owned();
                            self.zone_filter.clear();
                        }
                    }
                });
        }

        let Some(column) = mapping.time.column.clone() else {
            ui.weak("Choose the time column above to see parsed samples.");
            return;
        };
        let Some(index) = file.sniff.columns.iter().position(|c| *c == column) else {
            return;
        };
        let values: Vec<String> = file
            .preview
            .iter()
            .filter_map(|r| r.cells.get(index))
            .map(cell_text)
            .filter(|v| !v.trim().is_empty())
            .collect();
        if self.time_profile.as_ref().map(|(c, _)| c) != Some(&column) {
            let profile = profile_time_values(values.iter().map(String::as_str));
            self.time_profile = Some((column.clone(), profile));
        }
        if let Some((_, profile)) = &self.time_profile
            && profile.day_order.is_none()
            && let Some(example) = &profile.ambiguous_example
        {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "Dates such as '{example}' could be day/month or month/day. Which order does this file use?"
                ),
            );
            ui.horizontal(|ui| {
                ui.radio_value(
                    &mut mapping.time.day_order,
                    Some(DayOrder::DayFirst),
                    "Day first (31/12/2024)",
                );
                ui.radio_value(
                    &mut mapping.time.day_order,
                    Some(DayOrder::MonthFirst),
                    "Month first (12/31/2024)",
                );
            });
        }
        let day_order = mapping
            .time
            .day_order
            .or_else(|| self.time_profile.as_ref().and_then(|(_, p)| p.day_order));
        match TimeParser::new(&mapping.time.format, &mapping.time.timezone, day_order) {
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e.to_string());
            }
            Ok(parser) => {
                ui.label("Parsed samples (in UTC):");
                egui::Grid::new("time-samples")
                    .striped(true)
                    .show(ui, |ui| {
                        for value in values.iter().take(TIME_SAMPLES) {
                            ui.monospace(value);
                            match parser.parse_text(value) {
                                Ok(ms) => ui.monospace(format_utc(ms)),
                                Err(e) => {
                                    ui.colored_label(ui.visuals().error_fg_color, e.to_string())
                                }
                            };
                            ui.end_row();
                        }
                    });
            }
        }
    }

    fn country_section(&mut self, ui: &mut egui::Ui, mapping: &mut Mapping, file: &LoadedFile) {
        let Some(country) = mapping.country.as_mut() else {
            return;
        };
        let column = country.column.clone();
        if self.country_counts.as_ref().map(|(c, _)| c) != Some(&column) {
            self.country_counts = Some((column.clone(), distinct_values(file, &column)));
        }
        let Some((_, counts)) = self.country_counts.as_ref() else {
            return;
        };
        ui.label(format!(
            "{} distinct values in column '{column}' (first {} rows). Unrecognised values are highlighted: pick their country.",
            counts.len(),
            file.preview.len()
        ));
        let countries = all_countries();
        let mut filter = std::mem::take(&mut self.country_filter);
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
                    let unresolved = resolved.is_none();
                    let value_label = if unresolved {
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
                    egui::ComboBox::from_id_salt(("country", value.as_str()))
                        .selected_text(shown)
                        .height(300.0)
                        .show_ui(ui, |ui| {
                            let label = ui.label("Search countries:");
                            ui.add(
                                egui::TextEdit::singleline(&mut filter)
                                    .hint_text("name or code")
                                    .desired_width(180.0),
                            )
                            .labelled_by(label.id);
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
        self.country_filter = filter;
    }

    fn constants_section(&mut self, ui: &mut egui::Ui, mapping: &mut Mapping) {
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
        let mut remove = None;
        egui::Grid::new("constants").num_columns(3).show(ui, |ui| {
            for (name, value) in mapping.constants.iter_mut() {
                ui.monospace(name);
                let mut text = match &*value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let label = format!("Value of {name}");
                if ui
                    .add(
                        egui::TextEdit::singleline(&mut text)
                            .hint_text(label)
                            .desired_width(260.0),
                    )
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
                egui::TextEdit::singleline(&mut self.new_constant_name)
                    .hint_text("name")
                    .desired_width(140.0),
            )
            .labelled_by(name_label.id);
            let value_label = ui.label("value:");
            ui.add(
                egui::TextEdit::singleline(&mut self.new_constant_value)
                    .hint_text("value")
                    .desired_width(160.0),
            )
            .labelled_by(value_label.id);
            if ui
                .add_enabled(
                    !self.new_constant_name.trim().is_empty(),
                    egui::Button::new("Add property"),
                )
                .clicked()
            {
                mapping.constants.insert(
                    self.new_constant_name.trim().to_owned(),
                    serde_json::Value::String(self.new_constant_value.clone()),
                );
                self.new_constant_name.clear();
                self.new_constant_value.clear();
            }
        });
    }

    fn event_preview_section(&mut self, ui: &mut egui::Ui, session: &Session, file: &LoadedFile) {
        if file.preview.is_empty() {
            ui.label("The file has no rows to preview.");
            return;
        }
        let last = file.preview.len() - 1;
        self.selected_row = self.selected_row.min(last);
        ui.horizontal(|ui| {
            let label = ui.label("Preview row:");
            if ui.button("Previous row").clicked() {
                self.selected_row = self.selected_row.saturating_sub(1);
            }
            let mut shown = self.selected_row + 1;
            ui.add(egui::DragValue::new(&mut shown).range(1..=last + 1))
                .labelled_by(label.id);
            self.selected_row = shown.saturating_sub(1).min(last);
            if ui.button("Next row").clicked() {
                self.selected_row = (self.selected_row + 1).min(last);
            }
            if let Some(record) = file.preview.get(self.selected_row) {
                ui.weak(format!("source row {}", record.row));
            }
        });
        let stale = match &self.event_preview {
            Some((mapping, row, _)) => *mapping != session.mapping || *row != self.selected_row,
            None => true,
        };
        if stale {
            let preview = transform_row(&session.mapping, file, self.selected_row);
            self.event_preview = Some((session.mapping.clone(), self.selected_row, preview));
        }
        let Some((_, _, preview)) = &self.event_preview else {
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
                    ui.label("The exact event the import sends for this row:");
                    let pretty = serde_json::from_slice::<serde_json::Value>(&event.json)
                        .and_then(|v| serde_json::to_string_pretty(&v))
                        .unwrap_or_else(|_| String::from_utf8_lossy(&event.json).into_owned());
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

    fn templates_section(
        &mut self,
        ui: &mut egui::Ui,
        session: &mut Session,
        deps: &AppDeps,
        file: &LoadedFile,
    ) {
        ui.horizontal(|ui| {
            let label = ui.label("Template name:");
            ui.add(
                egui::TextEdit::singleline(&mut self.template_name)
                    .hint_text("e.g. CRM export")
                    .desired_width(200.0),
            )
            .labelled_by(label.id);
            if ui.button("Save as template").clicked() {
                self.template_note = Some(
                    match backend::save_template(
                        &deps.config_dir,
                        &self.template_name,
                        &session.mapping,
                        &file.sniff.columns,
                    ) {
                        Ok(path) => format!(
                            "Saved. Files with the same columns will get this mapping automatically ({}).",
                            path.display()
                        ),
                        Err(e) => e,
                    },
                );
            }
        });
        let templates = backend::list_templates(&deps.config_dir);
        if templates.is_empty() {
            ui.weak("No saved templates yet.");
        }
        for (name, path) in templates {
            ui.horizontal(|ui| {
                ui.label(&name);
                if ui.button(format!("Apply template {name}")).clicked() {
                    match Mapping::load(&path) {
                        Ok(mut mapping) => {
                            mapping.headers = file.sniff.columns.clone();
                            session.mapping = mapping;
                            session.applied_template = Some(name.clone());
                            self.template_note = Some(format!("Applied template '{name}'."));
                        }
                        Err(e) => self.template_note = Some(e.to_string()),
                    }
                }
            });
        }
    }
}

/// The import label offered by default: the file name and today's date.
fn default_import_label(file: &LoadedFile) -> String {
    let stem = file
        .sniff
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("mixport {stem} {}", today())
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

/// UTC milliseconds as `2024-03-05 14:07:00 UTC`.
pub fn format_utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("{ms} ms"))
}

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
        TimeFormat::Pattern(_) => "Custom pattern",
    }
}

fn type_name(kind: PropertyType) -> &'static str {
    match kind {
        PropertyType::Text => "Text",
        PropertyType::Number => "Number",
        PropertyType::Boolean => "Yes/no",
        PropertyType::Date => "Date",
        PropertyType::List => "List",
    }
}

/// The distinct values of `column` in the preview with their counts, most frequent first.
fn distinct_values(file: &LoadedFile, column: &str) -> Vec<(String, usize)> {
    let Some(index) = file.sniff.columns.iter().position(|c| c == column) else {
        return Vec::new();
    };
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for record in &file.preview {
        let value = record.cells.get(index).map(cell_text).unwrap_or_default();
        if value.trim().is_empty() {
            continue;
        }
        *counts.entry(value).or_default() += 1;
    }
    let mut out: Vec<(String, usize)> = counts.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

fn transform_row(mapping: &Mapping, file: &LoadedFile, index: usize) -> EventPreview {
    let Some(record) = file.preview.get(index) else {
        return EventPreview::MappingError("No such row.".to_owned());
    };
    match Transformer::new(mapping, &file.sniff.columns, TransformOptions::now()) {
        Err(e) => EventPreview::MappingError(e.to_string()),
        Ok(mut transformer) => {
            let mut out = Transformed::default();
            transformer.transform(record, &mut out);
            EventPreview::Event(Box::new(out))
        }
    }
}

/// The columns used by Mixpanel fields.
fn field_columns(mapping: &Mapping) -> Vec<String> {
    let mut used = Vec::new();
    if let Some(ValueSource::Column(c)) = &mapping.event {
        used.push(c.clone());
    }
    for c in [
        &mapping.distinct_id,
        &mapping.user_id,
        &mapping.device_id,
        &mapping.time.column,
        &mapping.city,
        &mapping.region,
        &mapping.ip,
    ]
    .into_iter()
    .flatten()
    {
        used.push(c.clone());
    }
    if let InsertIdSource::Column(c) = &mapping.insert_id {
        used.push(c.clone());
    }
    if let Some(country) = &mapping.country {
        used.push(country.column.clone());
    }
    used
}

/// Keep `mapping.columns` = every file column not used by a Mixpanel field, in file order,
/// preserving the user's include/rename/type choices.
pub fn sync_property_columns(mapping: &mut Mapping, columns: &[String]) {
    let used = field_columns(mapping);
    let mut old: BTreeMap<String, ColumnMapping> = std::mem::take(&mut mapping.columns)
        .into_iter()
        .map(|c| (c.column.clone(), c))
        .collect();
    mapping.columns = columns
        .iter()
        .filter(|c| !used.contains(c))
        .map(|c| {
            old.remove(c).unwrap_or_else(|| ColumnMapping {
                column: c.clone(),
                ..ColumnMapping::default()
            })
        })
        .collect();
}

fn confidence_badge(ui: &mut egui::Ui, confidence: Option<&FieldConfidence>) {
    let Some(guess) = confidence else {
        ui.weak("");
        return;
    };
    let c = guess.confidence;
    let response = if c >= 0.85 {
        ui.colored_label(
            Color32::from_rgb(60, 160, 80),
            format!("sure ({:.0}%)", c * 100.0),
        )
    } else if c > 0.0 {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!("a guess ({:.0}%): check it", c * 100.0),
        )
    } else {
        ui.weak("not found")
    };
    if !guess.reason.is_empty() {
        response.on_hover_text(&guess.reason);
    }
}

/// A column picker; `none` is the text of the "no column" choice.
/// Draws the field's name (one grid cell) and the picker (the next cell), named by the label.
fn column_picker(
    ui: &mut egui::Ui,
    field: &str,
    columns: &[String],
    value: &mut Option<String>,
    none: &str,
) {
    let label = ui.strong(field);
    picker_labelled_by(ui, field, label.id, columns, value, none);
}

fn picker_labelled_by(
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

fn fields_grid(ui: &mut egui::Ui, session: &mut Session, file: &LoadedFile) {
    let columns = &file.sniff.columns;
    let conf: Vec<Option<FieldConfidence>> = [
        "Event name",
        "User ID",
        "Time",
        "Insert ID",
        "Country",
        "City",
        "Region",
        "IP",
    ]
    .iter()
    .map(|f| session.confidence.iter().find(|c| c.field == *f).cloned())
    .collect();
    let mapping = &mut session.mapping;
    egui::Grid::new("fields")
        .num_columns(4)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            // Event name: a column or one name for every event.
            let event_label = ui.strong("Event name");
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
                        );
                    }
                    _ => {
                        let mut column = match &mapping.event {
                            Some(ValueSource::Column(c)) => Some(c.clone()),
                            _ => None,
                        };
                        picker_labelled_by(
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
            confidence_badge(ui, conf[0].as_ref());
            ui.end_row();

            column_picker(
                ui,
                "User ID",
                columns,
                &mut mapping.distinct_id,
                "(no user column)",
            );
            ui.weak("sent as distinct_id");
            confidence_badge(ui, conf[1].as_ref());
            ui.end_row();

            column_picker(
                ui,
                "Time",
                columns,
                &mut mapping.time.column,
                "(not mapped)",
            );
            ui.weak("required");
            confidence_badge(ui, conf[2].as_ref());
            ui.end_row();

            let mut insert = match &mapping.insert_id {
                InsertIdSource::Column(c) => Some(c.clone()),
                InsertIdSource::Generate => None,
            };
            column_picker(
                ui,
                "Insert ID",
                columns,
                &mut insert,
                "Generate from the row",
            );
            mapping.insert_id = match insert {
                Some(c) => InsertIdSource::Column(c),
                None => InsertIdSource::Generate,
            };
            ui.weak("prevents duplicates on re-import");
            confidence_badge(ui, conf[3].as_ref());
            ui.end_row();

            let mut country = mapping.country.as_ref().map(|c| c.column.clone());
            column_picker(ui, "Country", columns, &mut country, "(none)");
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
            confidence_badge(ui, conf[4].as_ref());
            ui.end_row();

            column_picker(ui, "City", columns, &mut mapping.city, "(none)");
            ui.weak("sent as $city");
            confidence_badge(ui, conf[5].as_ref());
            ui.end_row();

            column_picker(ui, "Region", columns, &mut mapping.region, "(none)");
            ui.weak("sent as $region");
            confidence_badge(ui, conf[6].as_ref());
            ui.end_row();

            column_picker(ui, "IP", columns, &mut mapping.ip, "(none)");
            ui.weak("used for geolocation");
            confidence_badge(ui, conf[7].as_ref());
            ui.end_row();
        });
    ui.checkbox(
        &mut mapping.allow_missing_user,
        "Accept events with an empty user ID (tied to no user)",
    );
}

fn columns_section(ui: &mut egui::Ui, mapping: &mut Mapping) {
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
                let response = ui.add_enabled(
                    column.include,
                    egui::TextEdit::singleline(&mut name)
                        .hint_text(format!("Property name for column {}", column.column))
                        .desired_width(180.0),
                );
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

/// A preview cell, for tests.
pub fn preview_cell(file: &LoadedFile, row: usize, column: &str) -> Option<String> {
    let index = file.sniff.columns.iter().position(|c| c == column)?;
    file.preview
        .get(row)
        .and_then(|r| r.cells.get(index))
        .map(|c: &Cell| cell_text(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_columns_are_the_columns_no_field_uses_and_keep_their_settings() {
        let columns: Vec<String> = ["event", "user", "time", "plan", "zip"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let mut mapping = Mapping {
            event: Some(ValueSource::Column("event".to_owned())),
            distinct_id: Some("user".to_owned()),
            ..Mapping::default()
        };
        mapping.time.column = Some("time".to_owned());
        sync_property_columns(&mut mapping, &columns);
        let names: Vec<&str> = mapping.columns.iter().map(|c| c.column.as_str()).collect();
        assert_eq!(names, vec!["plan", "zip"]);
        mapping.columns[1].include = false;
        mapping.columns[1].rename = Some("postcode".to_owned());
        // Unmapping the user column makes it a property again; zip keeps its settings.
        mapping.distinct_id = None;
        sync_property_columns(&mut mapping, &columns);
        let names: Vec<&str> = mapping.columns.iter().map(|c| c.column.as_str()).collect();
        assert_eq!(names, vec!["user", "plan", "zip"]);
        assert!(!mapping.columns[2].include);
        assert_eq!(mapping.columns[2].property_name(), "postcode");
    }

    #[test]
    fn utc_times_are_shown_readably() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(1_709_647_620_000), "2024-03-05 14:07:00 UTC");
    }
}
