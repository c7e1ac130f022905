//! Suggesting a mapping from column names and sample values.
//!
//! Each Mixpanel field (event, user, time, insert id, country, city, region, IP) is matched to a
//! column by its name, in any language Mixport has a table for (see [`super::synonyms`]:
//! English, German, French, Spanish, Italian, Portuguese, Dutch; compared without case, accents,
//! punctuation or separators; close misspellings through Jaro-Winkler similarity), and by its
//! values, which can confirm a name, rule it out, or decide alone when no name fits: event names
//! are short texts repeated across rows, user IDs are identifiers repeated per user, times parse,
//! countries resolve, IPs are IP addresses. The reason of each guess says what was seen ("92% of
//! values are country names or codes").
//!
//! The insert ID is the most dangerous guess (Mixpanel deduplicates on it): a column is
//! suggested only when its name says so and its values are unique in the sample, and never a
//! column named like a user or device ID. Files exported by known tools (Segment, Amplitude, GA4,
//! PostHog, Heap, Mixpanel) are recognised as [`Preset`]s and mapped as those tools write them.
//!
//! Every other column is included as a property with its type inferred from the sample (numbers
//! with their decimal separator and currency; JSON values keep their JSON types).

mod evidence;
mod presets;

use std::collections::{BTreeMap, HashMap, HashSet};

pub mod profiles;

use serde::{Deserialize, Serialize};

use crate::source::{Format, Record, Sniff};

use super::country::resolve_country;
use super::time::{DayOrder, TimeColumnProfile};
use super::typing::{DecimalSeparator, NumberProfile, PropertyType, infer_column};
use super::{
    ColumnMapping, CountryMapping, IMPORT_LABEL_PROPERTY, InsertIdSource, Mapping, TimeMapping,
    ValueSource,
};
use evidence::{
    ColumnStats, column_stats, name_score, names_a_person_or_device, value_check, value_only,
};
pub use presets::Preset;

/// The fields a suggestion fills, in the order they are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// `event`.
    Event,
    /// `properties.distinct_id`.
    User,
    /// `properties.time`.
    Time,
    /// `properties.$insert_id`.
    InsertId,
    /// `mp_country_code`.
    Country,
    /// `$city`.
    City,
    /// `$region`.
    Region,
    /// `ip`.
    Ip,
}

impl Field {
    /// Every field, in display order.
    pub const ALL: [Field; 8] = [
        Field::Event,
        Field::User,
        Field::Time,
        Field::InsertId,
        Field::Country,
        Field::City,
        Field::Region,
        Field::Ip,
    ];

    /// The field's key in the synonym tables ([`super::synonyms`]).
    pub fn key(self) -> &'static str {
        match self {
            Field::Event => "event",
            Field::User => "user",
            Field::Time => "time",
            Field::InsertId => "insert_id",
            Field::Country => "country",
            Field::City => "city",
            Field::Region => "region",
            Field::Ip => "ip",
        }
    }

    /// The Mixpanel field path.
    pub fn mixpanel_field(self) -> &'static str {
        match self {
            Field::Event => "event",
            Field::User => "properties.distinct_id",
            Field::Time => "properties.time",
            Field::InsertId => "properties.$insert_id",
            Field::Country => "properties.mp_country_code",
            Field::City => "properties.$city",
            Field::Region => "properties.$region",
            Field::Ip => "properties.ip",
        }
    }

    /// The field in plain words ("the event name").
    pub fn words(self) -> &'static str {
        match self {
            Field::Event => "the event name",
            Field::User => "the user ID",
            Field::Time => "the event time",
            Field::InsertId => "a unique event ID",
            Field::Country => "the country",
            Field::City => "the city",
            Field::Region => "the region or state",
            Field::Ip => "the IP address",
        }
    }
}

/// How one field was matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldGuess {
    /// The field.
    pub field: Field,
    /// The column chosen, `None` when nothing fits (insert ids are then generated).
    pub column: Option<String>,
    /// How sure the guess is, 0 to 1.
    pub confidence: f32,
    /// Why, in plain words: the name and the evidence from the values.
    pub reason: String,
}

/// One distinct country value of the sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountryValue {
    /// The value as in the file.
    pub value: String,
    /// How many sample rows have it.
    pub count: usize,
    /// Its ISO code, `None` when unresolved (the user should pick one).
    pub code: Option<String>,
}

/// How a number column's values are written, as found in the sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberColumn {
    /// The column.
    pub column: String,
    /// The decimal separator its values use.
    pub decimal: DecimalSeparator,
    /// The currency its values carry (`EUR`), when one.
    pub currency: Option<String>,
    /// Sample values that are not numbers (up to 5): sent as text with a warning.
    pub outliers: Vec<String>,
    /// How many sample values are not numbers.
    pub outlier_count: usize,
}

/// A suggested mapping with how it was reached.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// The proposed mapping.
    pub mapping: Mapping,
    /// One guess per field, in [`Field::ALL`] order.
    pub fields: Vec<FieldGuess>,
    /// What the time column's sample values look like (formats, day/month order).
    pub time_profile: Option<TimeColumnProfile>,
    /// A sample date whose day/month order the data cannot settle: the user must choose.
    pub ambiguous_day_order: Option<String>,
    /// The country column's distinct sample values, most frequent first.
    pub countries: Vec<CountryValue>,
    /// The profile fields, and whether the file looks like user profiles (then `mapping` is a
    /// profiles mapping).
    pub profiles: profiles::ProfileSuggestion,
    /// The import label offered for events (`"<file> <date>"`).
    pub import_label: String,
    /// Sample rows whose country cell is blank (sent without a country).
    pub blank_countries: usize,
    /// The export schema recognised, if any.
    pub preset: Option<Preset>,
    /// Number columns and how their values are written.
    pub numbers: Vec<NumberColumn>,
    /// A source time zone suggested by the file's title rows (the user confirms it), with the
    /// text it came from.
    pub timezone_hint: Option<(String, String)>,
    /// Things the user should know about the suggestion, in plain words.
    pub notes: Vec<String>,
}

impl Suggestion {
    /// The guess for one field.
    pub fn guess(&self, field: Field) -> Option<&FieldGuess> {
        self.fields.iter().find(|g| g.field == field)
    }
}

/// A column name without case, spaces, `_`, `-`, `.`, `$`, accents or other punctuation.
pub fn normalize_name(name: &str) -> String {
    super::synonyms::fold(name)
}

/// Whether `value` looks like a UUID/GUID (hex digits in 8-4-4-4-12 groups, or 32 hex digits).
pub fn is_uuid_like(value: &str) -> bool {
    let v = value.trim();
    let v = v
        .strip_prefix('{')
        .and_then(|v| v.strip_suffix('}'))
        .unwrap_or(v);
    match v.len() {
        36 => v.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        }),
        32 => v.chars().all(|c| c.is_ascii_hexdigit()),
        _ => false,
    }
}

/// What a suggestion knows about the file besides its columns and head rows.
#[derive(Debug, Clone, Default)]
pub struct SourceFacts {
    /// The import label's stem (the file name without extensions).
    pub label: String,
    /// The file's format: JSON values keep their JSON types.
    pub format: Option<Format>,
    /// A source time zone named in the file's title rows, with the text it came from.
    pub timezone_hint: Option<(String, String)>,
}

impl SourceFacts {
    /// The facts of a sniffed file.
    pub fn of(sniff: &Sniff) -> Self {
        SourceFacts {
            label: file_stem(&sniff.path),
            format: Some(sniff.format),
            timezone_hint: sniff
                .timezone_hint
                .as_ref()
                .map(|h| (h.zone.clone(), h.text.clone())),
        }
    }
}

fn file_stem(path: &std::path::Path) -> String {
    path.file_name()
        .and_then(|s| s.to_str())
        .map(|s| s.split('.').next().unwrap_or(s).to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "import".to_owned())
}

/// Suggest a mapping for a file with these columns, from its first records.
///
/// The import label constant is named after the date only; use [`suggest_for_file`] to name
/// it after the file too, or [`suggest_for_source`] to use everything sniffing found.
pub fn suggest(columns: &[String], sample: &[Record]) -> Suggestion {
    suggest_with(
        columns,
        sample,
        &SourceFacts {
            label: "import".to_owned(),
            ..SourceFacts::default()
        },
    )
}

/// [`suggest`], with the import label `"<file stem> <YYYY-MM-DD>"`.
pub fn suggest_for_file(
    path: &std::path::Path,
    columns: &[String],
    sample: &[Record],
) -> Suggestion {
    suggest_with(
        columns,
        sample,
        &SourceFacts {
            label: file_stem(path),
            ..SourceFacts::default()
        },
    )
}

/// [`suggest`] for a sniffed file: its name for the import label, its format (JSON values keep
/// their JSON types) and the time zone its title rows name.
pub fn suggest_for_source(sniff: &Sniff, sample: &[Record]) -> Suggestion {
    suggest_with(&sniff.columns, sample, &SourceFacts::of(sniff))
}

/// The candidates for each field, best first, and the greedy choice of one column per field.
fn choose_columns(
    columns: &[String],
    stats: &[ColumnStats],
    preset: Option<Preset>,
) -> BTreeMap<Field, (usize, f32, String)> {
    let mut chosen: BTreeMap<Field, (usize, f32, String)> = BTreeMap::new();
    let mut used: HashSet<usize> = HashSet::new();
    if let Some(preset) = preset {
        if let Some(device) = preset.device_for(columns) {
            used.insert(device);
        }
        for field in Field::ALL {
            if let Some(index) = preset.column_for(field, columns)
                && !used.contains(&index)
            {
                let reason = format!(
                    "{} exports write {} to '{}'",
                    preset.name(),
                    field.words(),
                    columns[index]
                );
                chosen.insert(field, (index, 0.97, reason));
                used.insert(index);
            }
        }
    }
    // Every (field, column) candidate with its score.
    let mut candidates: Vec<(f32, Field, usize, String)> = Vec::new();
    for field in Field::ALL {
        if chosen.contains_key(&field) {
            continue;
        }
        for (index, name) in columns.iter().enumerate() {
            if used.contains(&index) {
                continue;
            }
            if field == Field::InsertId && names_a_person_or_device(name) {
                continue;
            }
            let checked = match name_score(field, name) {
                Some((score, reason)) => value_check(field, &stats[index], score, reason),
                None => value_only(field, name, &stats[index]),
            };
            if let Some((score, reason)) = checked {
                candidates.push((score, field, index, reason));
            }
        }
    }
    // Best first; ties by field order then column order, so the result is deterministic.
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    for (score, field, index, reason) in candidates {
        if chosen.contains_key(&field) || used.contains(&index) || score < 0.3 {
            continue;
        }
        chosen.insert(field, (index, score, reason));
        used.insert(index);
    }
    chosen
}

fn suggest_with(columns: &[String], sample: &[Record], facts: &SourceFacts) -> Suggestion {
    let stats: Vec<ColumnStats> = (0..columns.len())
        .map(|i| column_stats(i, sample))
        .collect();
    let preset = Preset::detect(columns);
    let chosen = choose_columns(columns, &stats, preset);
    let mut notes = Vec::new();

    let mut mapping = Mapping {
        headers: columns.to_vec(),
        ..Mapping::default()
    };
    let mut fields = Vec::new();
    for field in Field::ALL {
        let guess = match chosen.get(&field) {
            Some((index, score, reason)) => FieldGuess {
                field,
                column: Some(columns[*index].clone()),
                confidence: score.clamp(0.0, 1.0),
                reason: reason.clone(),
            },
            None => FieldGuess {
                field,
                column: None,
                confidence: 0.0,
                reason: match field {
                    Field::InsertId => "no column of unique event IDs: insert IDs are generated from each row's content, so importing the file twice never duplicates events".to_owned(),
                    Field::Event => "no column looks like an event name: choose one, or type a constant name".to_owned(),
                    Field::User => "no column looks like a user ID: choose one".to_owned(),
                    Field::Time => "no column looks like a time: choose one".to_owned(),
                    _ => "no matching column".to_owned(),
                },
            },
        };
        fields.push(guess);
    }

    let column_of = |field: Field| chosen.get(&field).map(|(i, _, _)| columns[*i].clone());
    let mut used: HashSet<usize> = chosen.values().map(|(i, _, _)| *i).collect();
    mapping.event = column_of(Field::Event).map(ValueSource::Column);
    let device = preset.and_then(|p| p.device_for(columns));
    match device {
        // Simplified ID merge, as the tool's own Mixpanel integration sends users.
        Some(device) => {
            mapping.user_id = column_of(Field::User);
            mapping.device_id = Some(columns[device].clone());
            used.insert(device);
            notes.push(format!(
                "users are sent with simplified ID merge: '{}' as $user_id and '{}' as $device_id",
                mapping.user_id.as_deref().unwrap_or("(none)"),
                columns[device]
            ));
        }
        None => mapping.distinct_id = column_of(Field::User),
    }
    mapping.insert_id = column_of(Field::InsertId)
        .map(InsertIdSource::Column)
        .unwrap_or(InsertIdSource::Generate);
    mapping.city = column_of(Field::City);
    mapping.region = column_of(Field::Region);
    mapping.ip = column_of(Field::Ip);

    if let Some((index, _, _)) = chosen.get(&Field::InsertId) {
        let illegal = stats[*index]
            .values
            .iter()
            .filter(|v| crate::validate::check_insert_id(v).is_err())
            .count();
        if illegal > 0 {
            notes.push(format!(
                "{illegal} sample values of '{}' are not valid Mixpanel insert IDs (longer than 36 characters, other characters than letters, digits and '-', or placeholders): they are turned into valid IDs by a stable hash (or, for placeholders, derived from the row), so deduplication still holds",
                columns[*index]
            ));
        }
    }

    let mut time_profile = None;
    let mut ambiguous_day_order = None;
    let mut day_order: Option<DayOrder> = None;
    if let Some((index, _, _)) = chosen.get(&Field::Time) {
        let profile = stats[*index].time_profile.clone();
        day_order = profile.day_order;
        if day_order.is_none() {
            ambiguous_day_order = profile.ambiguous_example.clone();
        }
        time_profile = Some(profile);
    }
    mapping.time = TimeMapping {
        column: column_of(Field::Time),
        day_order,
        ..TimeMapping::default()
    };
    if let Some((zone, text)) = &facts.timezone_hint {
        mapping.time.timezone = zone.clone();
        notes.push(format!(
            "the file's title says '{text}': times without an offset are read in {zone}. Check that this is right."
        ));
    }

    let mut countries = Vec::new();
    let mut blank_countries = 0;
    if let Some((index, _, _)) = chosen.get(&Field::Country) {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for v in &stats[*index].values {
            *counts.entry(v.as_str()).or_default() += 1;
        }
        countries = counts
            .into_iter()
            .map(|(value, count)| CountryValue {
                value: value.to_owned(),
                count,
                code: resolve_country(value).map(str::to_owned),
            })
            .collect();
        countries.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
        blank_countries = stats[*index].blanks();
        mapping.country = Some(CountryMapping {
            column: columns[*index].clone(),
            overrides: BTreeMap::new(),
        });
    }

    let keep_json_types =
        matches!(facts.format, Some(Format::Json | Format::Ndjson)) || has_json_values(sample);
    let numbers = add_properties(
        &mut mapping,
        columns,
        &stats,
        &used,
        keep_json_types,
        &mut notes,
    );
    let today = chrono::Utc::now().format("%Y-%m-%d");
    let import_label = format!("{} {today}", facts.label);
    mapping.constants.insert(
        IMPORT_LABEL_PROPERTY.to_owned(),
        serde_json::Value::String(import_label.clone()),
    );

    let mut suggestion = Suggestion {
        mapping,
        fields,
        time_profile,
        ambiguous_day_order,
        countries,
        blank_countries,
        preset,
        numbers,
        timezone_hint: facts.timezone_hint.clone(),
        notes,
        profiles: profiles::ProfileSuggestion {
            reason: None,
            id: profiles::ProfileGuess {
                property: "$distinct_id",
                column: None,
                confidence: 0.0,
                reason: String::new(),
            },
            fields: Vec::new(),
            created_day_order: None,
        },
        import_label,
    };
    suggestion.profiles = profiles::suggest_profiles(columns, sample, &suggestion);
    if suggestion.profiles.reason.is_some() {
        let mut mapping = std::mem::take(&mut suggestion.mapping);
        profiles::use_profiles(&mut mapping, &suggestion.profiles, columns, sample);
        suggestion.mapping = mapping;
    }
    suggestion
}

/// Every column not used for a field becomes a property ([`typed_property`]). Returns how the
/// number columns are written.
fn add_properties(
    mapping: &mut Mapping,
    columns: &[String],
    stats: &[ColumnStats],
    used: &HashSet<usize>,
    keep_json_types: bool,
    notes: &mut Vec<String>,
) -> Vec<NumberColumn> {
    let mut taken = taken_property_names();
    let mut numbers = Vec::new();
    for (index, name) in columns.iter().enumerate() {
        if used.contains(&index) {
            continue;
        }
        let (column, profile) = typed_property(
            name,
            stats[index].values.iter().map(String::as_str),
            &taken,
            columns,
            keep_json_types,
        );
        if let Some(profile) = profile {
            if profile.outlier_count > 0 {
                notes.push(format!(
                    "column '{name}' is numbers except {} of {} sample values (such as {}): those are sent as text with a warning",
                    profile.outlier_count,
                    profile.values,
                    profile
                        .outliers
                        .iter()
                        .map(|o| format!("'{o}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            numbers.push(NumberColumn {
                column: name.clone(),
                decimal: profile.decimal,
                currency: profile.currency.map(str::to_owned),
                outliers: profile.outliers,
                outlier_count: profile.outlier_count,
            });
        }
        taken.insert(column.property_name().to_owned());
        if let Some(currency) = &column.currency_property {
            taken.insert(currency.clone());
        }
        mapping.columns.push(column);
    }
    numbers
}

/// Property names a column cannot be sent under as it is: the ones the event writes itself and
/// the import label.
fn taken_property_names() -> HashSet<String> {
    super::transform::FIELD_NAMES
        .iter()
        .chain(&[IMPORT_LABEL_PROPERTY])
        .map(|s| (*s).to_owned())
        .collect()
}

/// Whether a sample came from JSON (only JSON sources hold non-text cells).
fn has_json_values(sample: &[Record]) -> bool {
    sample.iter().any(|r| {
        r.cells
            .iter()
            .chain(r.extra.iter().map(|(_, c)| c))
            .any(|c| matches!(c, crate::source::Cell::Json(_)))
    })
}

/// How a column that no Mixpanel field uses is sent: included, typed from `values` (numbers
/// with their decimal separator, and their currency sent as `<name>_currency`; with
/// `keep_json_types`, as the JSON has them), and renamed `source_<name>` when its name is one
/// the event writes itself, the import label, a reserved Mixpanel name, or already `taken`.
/// For a number column, also the profile of its values.
pub fn typed_property<'a>(
    name: &str,
    values: impl IntoIterator<Item = &'a str> + Clone,
    taken: &HashSet<String>,
    columns: &[String],
    keep_json_types: bool,
) -> (ColumnMapping, Option<NumberProfile>) {
    let rename = unique_property_name(name, taken, columns);
    let mut column = ColumnMapping {
        column: name.to_owned(),
        rename,
        ..ColumnMapping::default()
    };
    if keep_json_types {
        // JSON values keep their JSON types: strings stay strings ("19.99" too).
        return (column, None);
    }
    let typing = infer_column(values);
    column.kind = typing.kind;
    if typing.kind != PropertyType::Number {
        return (column, None);
    }
    let profile = typing.numbers;
    column.decimal = profile.decimal;
    if profile.has_currency {
        column.currency_property = Some(unique_name(
            &format!("{}_currency", column.property_name()),
            taken,
            columns,
        ));
    }
    (column, Some(profile))
}

/// [`typed_property`]'s column alone.
pub fn property_column<'a>(
    name: &str,
    values: impl IntoIterator<Item = &'a str> + Clone,
    taken: &HashSet<String>,
    columns: &[String],
) -> ColumnMapping {
    typed_property(name, values, taken, columns, false).0
}

/// The columns used by Mixpanel fields (event, user, time, insert id, country, ...).
pub fn field_columns(mapping: &Mapping) -> Vec<&str> {
    let mut used = Vec::new();
    if mapping.kind == super::ImportKind::Profiles {
        let p = &mapping.profile;
        used.extend(
            [
                &mapping.distinct_id,
                &mapping.city,
                &mapping.region,
                &p.email,
                &p.name,
                &p.first_name,
                &p.last_name,
                &p.phone,
                &p.avatar,
                &p.created.column,
            ]
            .into_iter()
            .flatten()
            .map(String::as_str),
        );
        if let Some(country) = &mapping.country {
            used.push(country.column.as_str());
        }
        return used;
    }
    if let Some(ValueSource::Column(c)) = &mapping.event {
        used.push(c.as_str());
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
        used.push(c.as_str());
    }
    if let InsertIdSource::Column(c) = &mapping.insert_id {
        used.push(c.as_str());
    }
    if let Some(country) = &mapping.country {
        used.push(country.column.as_str());
    }
    used
}

/// Keep `mapping.columns` equal to every column of the file that no Mixpanel field uses, in
/// file order. Columns already listed keep the user's choices (include, rename, type); a
/// column that becomes a property (say the user column, once unmapped) gets exactly what the
/// suggestion would have given it, from the `sample` values.
pub fn sync_property_columns(mapping: &mut Mapping, columns: &[String], sample: &[Record]) {
    let used: HashSet<String> = field_columns(mapping)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut old: BTreeMap<String, ColumnMapping> = std::mem::take(&mut mapping.columns)
        .into_iter()
        .map(|c| (c.column.clone(), c))
        .collect();
    let mut taken = taken_property_names();
    taken.extend(old.values().map(|c| c.property_name().to_owned()));
    let keep_json_types = has_json_values(sample);
    let mut synced = Vec::new();
    for (index, name) in columns.iter().enumerate() {
        if used.contains(name) {
            continue;
        }
        let column = match old.remove(name) {
            Some(kept) => kept,
            None => {
                let values: Vec<String> = sample
                    .iter()
                    .filter_map(|r| r.cells.get(index).and_then(evidence::text_of))
                    .collect();
                let (column, _) = typed_property(
                    name,
                    values.iter().map(String::as_str),
                    &taken,
                    columns,
                    keep_json_types,
                );
                taken.insert(column.property_name().to_owned());
                column
            }
        };
        synced.push(column);
    }
    mapping.columns = synced;
}

/// `None` when `name` can be sent as it is; else a `source_…` name nothing else uses.
fn unique_property_name(name: &str, taken: &HashSet<String>, columns: &[String]) -> Option<String> {
    let reserved = crate::validate::is_reserved_name(name);
    if !taken.contains(name) && !reserved {
        return None;
    }
    Some(unique_name(
        &format!("source_{}", name.trim_start_matches('$')),
        taken,
        columns,
    ))
}

/// `base`, or `base_2`, `base_3`, … whichever no property or column uses.
fn unique_name(base: &str, taken: &HashSet<String>, columns: &[String]) -> String {
    let mut candidate = base.to_owned();
    let mut n = 2;
    while taken.contains(&candidate) || columns.contains(&candidate) {
        candidate = format!("{base}_{n}");
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Cell;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    fn records(rows: &[Vec<String>]) -> Vec<Record> {
        rows.iter()
            .enumerate()
            .map(|(i, cells)| Record {
                row: i as u64 + 2,
                cells: cells.iter().map(|c| Cell::Text(c.clone())).collect(),
                ..Record::default()
            })
            .collect()
    }

    fn uuid(i: usize) -> String {
        format!("{:08x}-1234-4abc-8def-{:012x}", i * 7919, i)
    }

    /// 30 rows of a typical export.
    fn sample(columns: &[&str]) -> Vec<Record> {
        let events = ["Signup", "Login", "Purchase"];
        let countries = ["US", "Germany", "fr", "United Kingdom"];
        let rows: Vec<Vec<String>> = (0..30)
            .map(|i| {
                columns
                    .iter()
                    .map(|c| match normalize_name(c).as_str() {
                        "eventid" | "uuid" | "id" | "messageid" => uuid(i),
                        "action" | "event" | "eventname" | "type" | "name" => {
                            events[i % 3].to_owned()
                        }
                        "userid" | "customerid" | "email" | "distinctid" => {
                            format!("user{}@example.com", i % 7)
                        }
                        "timestamp" | "createdat" | "time" | "eventtime" | "date" => {
                            format!("2024-03-{:02}T10:00:00Z", i % 28 + 1)
                        }
                        "country" | "countrycode" => countries[i % 4].to_owned(),
                        "city" => "Berlin".to_owned(),
                        "state" | "region" => "BE".to_owned(),
                        "ipaddress" | "ip" => format!("10.0.0.{i}"),
                        "price" => format!("{}.99", i),
                        "zip" => format!("0{}123", i % 10),
                        "active" => if i % 2 == 0 { "true" } else { "false" }.to_owned(),
                        _ => format!("v{i}"),
                    })
                    .collect()
            })
            .collect();
        records(&rows)
    }

    fn suggest_for(columns: &[&str]) -> Suggestion {
        suggest(&cols(columns), &sample(columns))
    }

    #[test]
    fn normalizes_names() {
        assert_eq!(normalize_name("User ID"), "userid");
        assert_eq!(normalize_name("user_id"), "userid");
        assert_eq!(normalize_name("$insert_id"), "insertid");
        assert_eq!(normalize_name("Event-Time"), "eventtime");
    }

    #[test]
    fn uuid_like_values() {
        assert!(is_uuid_like("123e4567-e89b-12d3-a456-426614174000"));
        assert!(is_uuid_like("{123E4567-E89B-12D3-A456-426614174000}"));
        assert!(is_uuid_like("123e4567e89b12d3a456426614174000"));
        assert!(!is_uuid_like("Purchase"));
        assert!(!is_uuid_like("123e4567-e89b-12d3-a456-42661417400"));
    }

    #[test]
    fn matches_common_synonyms() {
        for (names, event, user, time) in [
            (
                ["event", "distinct_id", "time", "plan"],
                "event",
                "distinct_id",
                "time",
            ),
            (
                ["action", "userId", "created_at", "plan"],
                "action",
                "userId",
                "created_at",
            ),
            (
                ["Event Name", "customer_id", "Timestamp", "plan"],
                "Event Name",
                "customer_id",
                "Timestamp",
            ),
            (
                ["type", "email", "event_time", "plan"],
                "type",
                "email",
                "event_time",
            ),
        ] {
            let s = suggest_for(&names);
            assert_eq!(
                s.mapping.event,
                Some(ValueSource::Column(event.to_owned())),
                "{names:?}"
            );
            assert_eq!(s.mapping.distinct_id.as_deref(), Some(user), "{names:?}");
            assert_eq!(s.mapping.time.column.as_deref(), Some(time), "{names:?}");
            for f in [Field::Event, Field::User, Field::Time] {
                let g = s.guess(f).unwrap();
                assert!(g.confidence > 0.5 && g.confidence <= 1.0, "{g:?}");
                assert!(!g.reason.is_empty());
            }
        }
    }

    #[test]
    fn geo_fields_and_properties() {
        let s = suggest_for(&[
            "event",
            "user_id",
            "timestamp",
            "country",
            "city",
            "state",
            "ip_address",
            "price",
            "zip",
            "active",
        ]);
        assert_eq!(s.mapping.country.as_ref().unwrap().column, "country");
        assert_eq!(s.mapping.city.as_deref(), Some("city"));
        assert_eq!(s.mapping.region.as_deref(), Some("state"));
        assert_eq!(s.mapping.ip.as_deref(), Some("ip_address"));
        let props: Vec<(&str, PropertyType)> = s
            .mapping
            .columns
            .iter()
            .map(|c| (c.column.as_str(), c.kind))
            .collect();
        assert_eq!(
            props,
            vec![
                ("price", PropertyType::Number),
                ("zip", PropertyType::Text),
                ("active", PropertyType::Boolean)
            ]
        );
        assert!(s.mapping.columns.iter().all(|c| c.include));
        assert_eq!(s.countries.len(), 4);
        assert!(s.countries.iter().all(|c| c.code.is_some()));
        assert_eq!(s.mapping.headers.len(), 10);
        let label = s.mapping.constants[IMPORT_LABEL_PROPERTY].as_str().unwrap();
        assert!(label.starts_with("import 20"), "{label}");
    }

    #[test]
    fn uuid_column_is_never_an_event_name_nor_an_insert_id_by_values_alone() {
        // "name" would be an event synonym, but its values are unique UUIDs; its name does not
        // say it is an event ID, so it is not the insert ID either (a wrong one drops events).
        let columns = cols(&["name", "user_id", "timestamp", "action"]);
        let mut rows = sample(&["id", "user_id", "timestamp", "action"]);
        for r in &mut rows {
            r.cells.truncate(4);
        }
        let s = suggest(&columns, &rows);
        assert_eq!(s.mapping.event, Some(ValueSource::Column("action".into())));
        assert_eq!(s.mapping.insert_id, InsertIdSource::Generate);
        let s = suggest_for(&["event_id", "event", "user_id", "time"]);
        assert_eq!(
            s.mapping.insert_id,
            InsertIdSource::Column("event_id".into())
        );
        assert!(s.guess(Field::InsertId).unwrap().confidence >= 0.9);
    }

    #[test]
    fn no_id_column_means_generated_ids() {
        let s = suggest_for(&["event", "user_id", "time"]);
        assert_eq!(s.mapping.insert_id, InsertIdSource::Generate);
        assert!(s.guess(Field::InsertId).unwrap().column.is_none());
    }

    #[test]
    fn time_column_must_parse() {
        // "date" names a time, but its values are not dates: not chosen.
        let columns = cols(&["event", "user_id", "date", "created_at"]);
        let mut rows = sample(&["event", "user_id", "x", "created_at"]);
        for r in &mut rows {
            r.cells[2] = Cell::Text("soon".into());
        }
        let s = suggest(&columns, &rows);
        assert_eq!(s.mapping.time.column.as_deref(), Some("created_at"));
    }

    #[test]
    fn day_order_settled_or_flagged() {
        let columns = cols(&["event", "user_id", "time"]);
        let mk = |times: &[&str]| {
            records(
                &times
                    .iter()
                    .map(|t| vec!["E".to_owned(), "u".to_owned(), (*t).to_owned()])
                    .collect::<Vec<_>>(),
            )
        };
        let s = suggest(&columns, &mk(&["03/04/2024 10:00", "13/04/2024 10:00"]));
        assert_eq!(s.mapping.time.day_order, Some(DayOrder::DayFirst));
        assert!(s.ambiguous_day_order.is_none());
        let s = suggest(&columns, &mk(&["03/04/2024 10:00", "05/06/2024 10:00"]));
        assert_eq!(s.mapping.time.day_order, None);
        assert!(s.ambiguous_day_order.is_some());
    }

    #[test]
    fn columns_clashing_with_field_names_are_renamed() {
        // An "ip" column whose values are not IP addresses stays a property, renamed.
        let columns = cols(&["event", "user_id", "timestamp", "ip", "token"]);
        let rows = sample(&["event", "user_id", "timestamp", "plan", "token"]);
        let s = suggest(&columns, &rows);
        assert_eq!(s.mapping.ip, None);
        let renamed: Vec<(&str, Option<&str>)> = s
            .mapping
            .columns
            .iter()
            .map(|c| (c.column.as_str(), c.rename.as_deref()))
            .collect();
        assert_eq!(
            renamed,
            vec![("ip", Some("source_ip")), ("token", Some("source_token"))]
        );
    }

    #[test]
    fn suggestion_is_deterministic() {
        let names = ["event", "user_id", "timestamp", "country", "price"];
        assert_eq!(suggest_for(&names), suggest_for(&names));
    }

    #[test]
    fn file_label_uses_the_stem() {
        let names = cols(&["event", "user_id", "time"]);
        let s = suggest_for_file(std::path::Path::new("/x/spring-sale.csv.gz"), &names, &[]);
        let label = s.mapping.constants[IMPORT_LABEL_PROPERTY].as_str().unwrap();
        assert!(label.starts_with("spring-sale 20"), "{label}");
    }

    /// Rows of text cells for the given columns.
    fn rows_of(rows: &[&[&str]]) -> Vec<Record> {
        records(
            &rows
                .iter()
                .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
                .collect::<Vec<_>>(),
        )
    }

    /// The report: a Segment export offered `anonymousId` (a per-user ID, unique in a
    /// small sample) as the insert ID and ignored `messageId`.
    #[test]
    fn segment_message_id_is_the_insert_id_never_the_anonymous_id() {
        let columns = cols(&[
            "anonymousId",
            "messageId",
            "userId",
            "event",
            "timestamp",
            "plan",
        ]);
        let rows: Vec<Vec<String>> = (0..12)
            .map(|i| {
                vec![
                    uuid(i),
                    format!("ajs-next-{i:04}-a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"),
                    if i % 3 == 0 {
                        String::new()
                    } else {
                        format!("user-{}", i % 4)
                    },
                    ["Order Completed", "Page Viewed"][i % 2].to_owned(),
                    format!("2024-03-{:02}T10:00:00.000Z", i + 1),
                    "pro".to_owned(),
                ]
            })
            .collect();
        let s = suggest(&columns, &records(&rows));
        assert_eq!(s.preset, Some(Preset::Segment));
        assert_eq!(
            s.mapping.insert_id,
            InsertIdSource::Column("messageId".into())
        );
        assert_eq!(s.mapping.user_id.as_deref(), Some("userId"));
        assert_eq!(s.mapping.device_id.as_deref(), Some("anonymousId"));
        assert_eq!(s.mapping.distinct_id, None);
        // The message IDs are longer than 36 bytes: the user is told they are hashed.
        assert!(
            s.notes.iter().any(|n| n.contains("stable hash")),
            "{:?}",
            s.notes
        );
        // Without the preset's signature, a unique UUID column named like a user or device is
        // still never the insert ID.
        let columns = cols(&["anonymous_id", "event", "time"]);
        let rows: Vec<Vec<String>> = (0..12)
            .map(|i| vec![uuid(i), "E".into(), format!("2024-03-{:02}", i + 1)])
            .collect();
        let s = suggest(&columns, &records(&rows));
        assert_eq!(s.mapping.insert_id, InsertIdSource::Generate);
    }

    #[test]
    fn an_insert_id_column_must_be_named_so_and_unique() {
        // `$insert_id` literally: mapped.
        let s = suggest_for(&["$insert_id", "event", "user_id", "time"]);
        assert_eq!(
            s.mapping.insert_id,
            InsertIdSource::Column("$insert_id".into())
        );
        // Named so, but repeated values: not an insert ID (it would drop events).
        let columns = cols(&["event_id", "event", "user_id", "time"]);
        let rows: Vec<Vec<String>> = (0..12)
            .map(|i| {
                vec![
                    format!("e{}", i % 5),
                    "E".into(),
                    "u".into(),
                    format!("2024-03-{:02}", i + 1),
                ]
            })
            .collect();
        assert_eq!(
            suggest(&columns, &records(&rows)).mapping.insert_id,
            InsertIdSource::Generate
        );
        // Placeholders do not count as values, but must not be most of the column.
        let rows: Vec<Vec<String>> = (0..12)
            .map(|i| {
                vec![
                    if i < 6 {
                        "undefined".into()
                    } else {
                        format!("e{i}")
                    },
                    "E".into(),
                    "u".into(),
                    format!("2024-03-{:02}", i + 1),
                ]
            })
            .collect();
        assert_eq!(
            suggest(&columns, &records(&rows)).mapping.insert_id,
            InsertIdSource::Generate
        );
    }

    /// The German Excel CSV: every field found by its German name, the e-mail not taken
    /// as the user, numbers with a decimal comma.
    #[test]
    fn german_headers_and_values() {
        let columns = cols(&[
            "Ereignis",
            "E-Mail",
            "Benutzer-ID",
            "Zeitpunkt",
            "Land",
            "Umsatz",
        ]);
        let rows = rows_of(&[
            &[
                "Kauf",
                "a@x.de",
                "K-1001",
                "05.03.2024 14:07",
                "Vereinigte Staaten",
                "12,50",
            ],
            &[
                "Anmeldung",
                "b@x.de",
                "K-1002",
                "06.03.2024 09:00",
                "Italien",
                "1.234,56",
            ],
            &[
                "Kauf",
                "a@x.de",
                "K-1001",
                "13.03.2024 10:00",
                "Niederlande",
                "3",
            ],
            &[
                "Abmeldung",
                "c@x.de",
                "K-1003",
                "14.03.2024 11:00",
                "Vereinigtes Königreich",
                "0,99",
            ],
            &[
                "Kauf",
                "b@x.de",
                "K-1002",
                "15.03.2024 12:00",
                "Frankreich",
                "7,10",
            ],
            &[
                "Anmeldung",
                "d@x.de",
                "K-1004",
                "16.03.2024 13:00",
                "",
                "2,00",
            ],
        ]);
        let s = suggest(&columns, &rows);
        assert_eq!(
            s.mapping.event,
            Some(ValueSource::Column("Ereignis".into()))
        );
        assert_eq!(s.mapping.distinct_id.as_deref(), Some("Benutzer-ID"));
        assert_eq!(s.mapping.time.column.as_deref(), Some("Zeitpunkt"));
        assert_eq!(s.mapping.country.as_ref().unwrap().column, "Land");
        assert!(
            s.countries.iter().all(|c| c.code.is_some()),
            "{:?}",
            s.countries
        );
        assert_eq!(s.blank_countries, 1);
        let umsatz = s
            .mapping
            .columns
            .iter()
            .find(|c| c.column == "Umsatz")
            .unwrap();
        assert_eq!(umsatz.kind, PropertyType::Number);
        assert_eq!(umsatz.decimal, DecimalSeparator::Comma);
        let country = s.guess(Field::Country).unwrap();
        assert!(country.reason.contains("German"), "{}", country.reason);
        assert!(
            country.reason.contains("% of values are country names"),
            "{}",
            country.reason
        );
    }

    #[test]
    fn headers_in_each_language() {
        for (names, language) in [
            (["événement", "client", "date", "pays"], "French"),
            (["evento", "cliente", "fecha", "país"], "Spanish"),
            (["evento", "ID utente", "data", "paese"], "Italian"),
            (["evento", "ID do usuário", "data", "país"], "Portuguese"),
            (["gebeurtenis", "klant", "tijdstip", "land"], "Dutch"),
        ] {
            let columns = cols(&names);
            let rows = rows_of(&[
                &["Achat", "c-1", "2024-03-05 10:00", "France"],
                &["Inscription", "c-2", "2024-03-06 10:00", "Belgique"],
                &["Achat", "c-1", "2024-03-07 10:00", "Allemagne"],
                &["Achat", "c-3", "2024-03-08 10:00", "Espagne"],
            ]);
            let s = suggest(&columns, &rows);
            assert_eq!(
                s.mapping.event,
                Some(ValueSource::Column(names[0].into())),
                "{language}"
            );
            assert_eq!(
                s.mapping.distinct_id.as_deref(),
                Some(names[1]),
                "{language}"
            );
            assert_eq!(
                s.mapping.time.column.as_deref(),
                Some(names[2]),
                "{language}"
            );
            assert_eq!(
                s.mapping.country.as_ref().map(|c| c.column.as_str()),
                Some(names[3])
            );
            assert!(
                s.guess(Field::Event).unwrap().reason.contains(language),
                "{language}"
            );
        }
    }

    /// Columns whose names mean nothing are still found by their values.
    #[test]
    fn values_decide_when_names_do_not() {
        let columns = cols(&["col_a", "col_b", "col_c", "col_d", "col_e"]);
        let countries = ["Deutschland", "France", "Italia", "España", "Nederland"];
        let rows: Vec<Vec<String>> = (0..30)
            .map(|i| {
                vec![
                    ["Purchase", "Signup", "Login"][i % 3].to_owned(),
                    format!("cust-{:03}", i % 9),
                    format!("2024-03-{:02} 10:{:02}:00", i % 28 + 1, i),
                    countries[i % 5].to_owned(),
                    format!("10.1.{}.{}", i, i + 1),
                ]
            })
            .collect();
        let s = suggest(&columns, &records(&rows));
        assert_eq!(s.mapping.event, Some(ValueSource::Column("col_a".into())));
        assert_eq!(s.mapping.distinct_id.as_deref(), Some("col_b"));
        assert_eq!(s.mapping.time.column.as_deref(), Some("col_c"));
        assert_eq!(s.mapping.country.as_ref().unwrap().column, "col_d");
        assert_eq!(s.mapping.ip.as_deref(), Some("col_e"));
        assert_eq!(s.mapping.insert_id, InsertIdSource::Generate);
        let country = s.guess(Field::Country).unwrap();
        assert!(
            country
                .reason
                .starts_with("100% of values are country names"),
            "{}",
            country.reason
        );
    }

    #[test]
    fn json_values_keep_their_json_types() {
        let columns = cols(&["event", "user_id", "time", "price"]);
        let rows = rows_of(&[
            &["Buy", "u1", "2024-03-05T10:00:00Z", "19.99"],
            &["Buy", "u2", "2024-03-06T10:00:00Z", "5"],
        ]);
        let facts = SourceFacts {
            label: "x".into(),
            format: Some(Format::Ndjson),
            timezone_hint: None,
        };
        let s = suggest_with(&columns, &rows, &facts);
        assert_eq!(s.mapping.columns[0].kind, PropertyType::Text);
        let s = suggest(&columns, &rows);
        assert_eq!(s.mapping.columns[0].kind, PropertyType::Number);
    }

    #[test]
    fn numbers_with_a_few_outliers_stay_numbers_and_currency_is_offered() {
        let columns = cols(&["event", "user_id", "time", "Betrag"]);
        let mut rows: Vec<Vec<String>> = (0..60)
            .map(|i| {
                vec![
                    "Kauf".into(),
                    format!("u{}", i % 7),
                    format!("2024-03-{:02}", i % 28 + 1),
                    format!("{},{:02} €", i + 1, i),
                ]
            })
            .collect();
        rows[7][3] = "k. A.".into();
        let s = suggest(&columns, &records(&rows));
        let betrag = &s.mapping.columns[0];
        assert_eq!(betrag.kind, PropertyType::Number);
        assert_eq!(betrag.decimal, DecimalSeparator::Comma);
        assert_eq!(betrag.currency_property.as_deref(), Some("Betrag_currency"));
        assert_eq!(s.numbers[0].currency.as_deref(), Some("EUR"));
        assert_eq!(s.numbers[0].outliers, vec!["k. A.".to_owned()]);
        assert!(
            s.notes.iter().any(|n| n.contains("'k. A.'")),
            "{:?}",
            s.notes
        );
    }

    #[test]
    fn a_column_that_becomes_a_property_gets_what_the_suggestion_would_give_it() {
        let names = cols(&["event", "user", "time", "plan", "zip"]);
        let rows: Vec<Vec<String>> = (0..20)
            .map(|i| {
                vec![
                    "Buy".to_owned(),
                    format!("{}", 1000 + i),
                    format!("2024-03-{:02}T10:00:00Z", 1 + i % 28),
                    "pro".to_owned(),
                    format!("0{}", 1000 + i),
                ]
            })
            .collect();
        let sample = records(&rows);
        let mut mapping = suggest(&names, &sample).mapping;
        let listed: Vec<&str> = mapping.columns.iter().map(|c| c.column.as_str()).collect();
        assert_eq!(listed, vec!["plan", "zip"]);
        mapping.columns[1].rename = Some("postcode".to_owned());
        mapping.columns[1].include = false;

        // Unmapping the user and the time: both become properties, typed as suggest types them,
        // and "time" (a name the event writes itself) is renamed as suggest renames it.
        mapping.distinct_id = None;
        mapping.time.column = None;
        sync_property_columns(&mut mapping, &names, &sample);
        let listed: Vec<&str> = mapping.columns.iter().map(|c| c.column.as_str()).collect();
        assert_eq!(listed, vec!["user", "time", "plan", "zip"]);
        assert_eq!(mapping.columns[0].kind, PropertyType::Number);
        assert_eq!(mapping.columns[0].rename, None);
        assert_eq!(mapping.columns[1].property_name(), "source_time");
        assert_eq!(mapping.columns[1].kind, PropertyType::Date);
        // The user's own choices are kept.
        assert_eq!(mapping.columns[3].property_name(), "postcode");
        assert!(!mapping.columns[3].include);

        // Mapping them again removes them from the properties.
        mapping.distinct_id = Some("user".to_owned());
        mapping.time.column = Some("time".to_owned());
        sync_property_columns(&mut mapping, &names, &sample);
        let listed: Vec<&str> = mapping.columns.iter().map(|c| c.column.as_str()).collect();
        assert_eq!(listed, vec!["plan", "zip"]);
    }
}
