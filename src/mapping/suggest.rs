//! Suggesting a mapping from column names and sample values.
//!
//! Each Mixpanel field (event, user, time, insert id, country, city, region, IP) is matched to
//! a column by its name (synonyms, compared without case, spaces, `_`, `-`, `.` or `$`; close
//! misspellings through Jaro-Winkler similarity) and then checked against the sample values: a
//! time column must mostly parse, a country column must mostly resolve, an insert-id column must
//! hold unique valid ids, and a column of unique UUID-like values is an insert id, never an event
//! name. Every other column is included as a property with its type inferred from the sample.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::source::{Cell, Record};

use super::country::resolve_country;
use super::time::{DayOrder, TimeColumnProfile, TimeFormat, profile_time_values};
use super::transform::leaf_api::infer_type;
use super::{
    ColumnMapping, CountryMapping, IMPORT_LABEL_PROPERTY, InsertIdSource, Mapping, TimeMapping,
    ValueSource,
};

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

    /// Normalized column names that mean this field, best first.
    fn synonyms(self) -> &'static [&'static str] {
        match self {
            Field::Event => &[
                "event",
                "eventname",
                "eventtype",
                "action",
                "eventaction",
                "activity",
                "type",
                "name",
                "event_name",
            ],
            Field::User => &[
                "distinctid",
                "userid",
                "user",
                "customerid",
                "uid",
                "accountid",
                "memberid",
                "clientid",
                "visitorid",
                "personid",
                "username",
                "email",
                "useremail",
                "emailaddress",
                "customer",
                "contactid",
            ],
            Field::Time => &[
                "time",
                "timestamp",
                "eventtime",
                "eventtimestamp",
                "createdat",
                "occurredat",
                "datetime",
                "date",
                "ts",
                "eventdate",
                "created",
                "happenedat",
                "loggedat",
                "timeutc",
            ],
            Field::InsertId => &[
                "insertid",
                "eventid",
                "messageid",
                "uuid",
                "guid",
                "id",
                "eventuuid",
                "recordid",
                "rowid",
                "logid",
            ],
            Field::Country => &[
                "country",
                "countrycode",
                "mpcountrycode",
                "countryname",
                "geocountry",
                "countryiso",
                "nation",
            ],
            Field::City => &["city", "cityname", "town", "geocity"],
            Field::Region => &[
                "region",
                "state",
                "province",
                "regionname",
                "statecode",
                "county",
                "georegion",
            ],
            Field::Ip => &[
                "ip",
                "ipaddress",
                "ipaddr",
                "clientip",
                "remoteip",
                "userip",
            ],
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
    /// Why, in plain words.
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
}

impl Suggestion {
    /// The guess for one field.
    pub fn guess(&self, field: Field) -> Option<&FieldGuess> {
        self.fields.iter().find(|g| g.field == field)
    }
}

/// A column name without case, spaces, `_`, `-`, `.`, `$` or other punctuation.
pub fn normalize_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
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

/// Facts about one column's sample values.
struct ColumnStats {
    non_empty: usize,
    distinct: usize,
    uuid_like: usize,
    valid_insert_ids: usize,
    countries_resolved: usize,
    ips: usize,
    time_profile: TimeColumnProfile,
    time_parsed: usize,
    non_epoch_times: usize,
    values: Vec<String>,
}

fn text_of(cell: &Cell) -> Option<String> {
    match cell {
        Cell::Text(s) | Cell::InvalidUtf8(s) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_owned())
        }
        Cell::Json(serde_json::Value::Null) | Cell::Missing => None,
        Cell::Json(serde_json::Value::String(s)) => Some(s.clone()),
        Cell::Json(v) => Some(v.to_string()),
    }
}

fn column_stats(index: usize, sample: &[Record]) -> ColumnStats {
    let values: Vec<String> = sample
        .iter()
        .filter_map(|r| r.cells.get(index).and_then(text_of))
        .collect();
    let distinct = values.iter().collect::<HashSet<_>>().len();
    let uuid_like = values.iter().filter(|v| is_uuid_like(v)).count();
    let valid_insert_ids = values
        .iter()
        .filter(|v| {
            v.len() <= crate::validate::MAX_INSERT_ID_BYTES
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !crate::validate::is_banned_id(v)
        })
        .count();
    let countries_resolved = values
        .iter()
        .filter(|v| resolve_country(v).is_some())
        .count();
    let ips = values
        .iter()
        .filter(|v| v.parse::<std::net::IpAddr>().is_ok())
        .count();
    let time_profile = profile_time_values(values.iter().map(String::as_str));
    let time_parsed = values.len().saturating_sub(time_profile.unparsable);
    let non_epoch_times = time_profile
        .formats
        .iter()
        .filter(|(f, _)| !matches!(f, TimeFormat::Epoch | TimeFormat::ExcelSerial))
        .map(|(_, n)| *n)
        .sum();
    ColumnStats {
        non_empty: values.len(),
        distinct,
        uuid_like,
        valid_insert_ids,
        countries_resolved,
        ips,
        time_profile,
        time_parsed,
        non_epoch_times,
        values,
    }
}

/// How well a column name means a field, 0 to 1, with the reason.
fn name_score(field: Field, name: &str) -> Option<(f32, String)> {
    let norm = normalize_name(name);
    if norm.is_empty() {
        return None;
    }
    let synonyms = field.synonyms();
    if let Some(pos) = synonyms.iter().position(|s| *s == norm) {
        let score = 0.95 - 0.02 * pos.min(10) as f32;
        return Some((
            score,
            format!("column name '{name}' means {}", field_words(field)),
        ));
    }
    let mut best = 0.0f64;
    for s in synonyms {
        best = best.max(strsim::jaro_winkler(&norm, s));
    }
    if best >= 0.92 && norm.len() >= 4 {
        return Some((
            (best as f32) * 0.7,
            format!(
                "column name '{name}' is close to a name for {}",
                field_words(field)
            ),
        ));
    }
    // Names that contain a strong synonym ("signup_timestamp", "customer_email").
    let strong: &[&str] = match field {
        Field::Time => &["timestamp", "datetime", "time", "date"],
        Field::User => &["userid", "email", "customerid", "distinctid"],
        Field::Event => &["eventname", "event"],
        Field::InsertId => &["insertid", "eventid", "messageid", "uuid"],
        Field::Country => &["country"],
        Field::City => &["city"],
        Field::Region => &["region", "state", "province"],
        Field::Ip => &["ipaddress"],
    };
    strong.iter().find(|s| norm.contains(*s)).map(|s| {
        (
            0.5,
            format!(
                "column name '{name}' contains '{s}', a name for {}",
                field_words(field)
            ),
        )
    })
}

fn field_words(field: Field) -> &'static str {
    match field {
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

/// Adjust a name score by what the values say. `None` rules the column out for the field.
fn value_check(
    field: Field,
    stats: &ColumnStats,
    score: f32,
    reason: String,
) -> Option<(f32, String)> {
    let n = stats.non_empty;
    if n == 0 {
        // No values to judge by: trust the name a little less.
        return Some((score * 0.8, format!("{reason} (no sample values)")));
    }
    let frac = |k: usize| k as f32 / n as f32;
    let all_unique = stats.distinct == n;
    match field {
        Field::Event => {
            if frac(stats.uuid_like) > 0.5 {
                return None;
            }
            if n >= 20 && frac(stats.distinct) > 0.5 {
                return None;
            }
            if frac(stats.time_parsed) > 0.8 && stats.non_epoch_times > 0 {
                return None;
            }
            Some((
                score,
                format!("{reason}; {} distinct names in the sample", stats.distinct),
            ))
        }
        Field::InsertId => {
            if stats.valid_insert_ids < n || !all_unique || n < 2 {
                return None;
            }
            if frac(stats.uuid_like) > 0.9 {
                Some((score.max(0.9), format!("{reason}; values are unique UUIDs")))
            } else {
                Some((
                    score * 0.9,
                    format!("{reason}; values are unique and valid insert IDs"),
                ))
            }
        }
        Field::Time => {
            let parsed = frac(stats.time_parsed);
            if parsed < 0.8 {
                return None;
            }
            Some((
                score * (0.8 + 0.2 * parsed),
                format!(
                    "{reason}; {:.0}% of sample values read as times",
                    parsed * 100.0
                ),
            ))
        }
        Field::Country => {
            let resolved = frac(stats.countries_resolved);
            if resolved < 0.5 {
                return None;
            }
            Some((
                score * (0.7 + 0.3 * resolved),
                format!(
                    "{reason}; {:.0}% of sample values are known countries",
                    resolved * 100.0
                ),
            ))
        }
        Field::Ip => {
            if frac(stats.ips) < 0.8 {
                return None;
            }
            Some((score, format!("{reason}; values are IP addresses")))
        }
        Field::User => {
            if frac(stats.uuid_like) > 0.9 && all_unique && n >= 20 {
                // Unique per row: an event id rather than a user.
                return Some((score * 0.6, format!("{reason}; but every value is unique")));
            }
            Some((score, reason))
        }
        Field::City | Field::Region => Some((score, reason)),
    }
}

/// Suggest a mapping for a file with these columns, from its first records.
///
/// The import label constant is named after the date only; use [`suggest_for_file`] to name
/// it after the file too.
pub fn suggest(columns: &[String], sample: &[Record]) -> Suggestion {
    suggest_with_label(columns, sample, "import")
}

/// [`suggest`], with the import label `"<file stem> <YYYY-MM-DD>"`.
pub fn suggest_for_file(
    path: &std::path::Path,
    columns: &[String],
    sample: &[Record],
) -> Suggestion {
    let stem = path
        .file_name()
        .and_then(|s| s.to_str())
        .map(|s| s.split('.').next().unwrap_or(s).to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "import".to_owned());
    suggest_with_label(columns, sample, &stem)
}

fn suggest_with_label(columns: &[String], sample: &[Record], label: &str) -> Suggestion {
    let stats: Vec<ColumnStats> = (0..columns.len())
        .map(|i| column_stats(i, sample))
        .collect();

    // Every (field, column) candidate with its score.
    let mut candidates: Vec<(f32, Field, usize, String)> = Vec::new();
    for field in Field::ALL {
        for (index, name) in columns.iter().enumerate() {
            let named = name_score(field, name);
            let checked = match named {
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
    let mut chosen: BTreeMap<Field, (usize, f32, String)> = BTreeMap::new();
    let mut used: HashSet<usize> = HashSet::new();
    for (score, field, index, reason) in candidates {
        if chosen.contains_key(&field) || used.contains(&index) || score < 0.3 {
            continue;
        }
        chosen.insert(field, (index, score, reason));
        used.insert(index);
    }

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
    mapping.event = column_of(Field::Event).map(ValueSource::Column);
    mapping.distinct_id = column_of(Field::User);
    mapping.insert_id = column_of(Field::InsertId)
        .map(InsertIdSource::Column)
        .unwrap_or(InsertIdSource::Generate);
    mapping.city = column_of(Field::City);
    mapping.region = column_of(Field::Region);
    mapping.ip = column_of(Field::Ip);

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

    let mut countries = Vec::new();
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
        mapping.country = Some(CountryMapping {
            column: columns[*index].clone(),
            overrides: BTreeMap::new(),
        });
    }

    // Every other column is a property. Names the event writes itself get a prefix.
    let mut taken = taken_property_names();
    for (index, name) in columns.iter().enumerate() {
        if used.contains(&index) {
            continue;
        }
        let column = property_column(
            name,
            stats[index].values.iter().map(String::as_str),
            &taken,
            columns,
        );
        taken.insert(column.property_name().to_owned());
        mapping.columns.push(column);
    }
    let today = chrono::Utc::now().format("%Y-%m-%d");
    mapping.constants.insert(
        IMPORT_LABEL_PROPERTY.to_owned(),
        serde_json::Value::String(format!("{label} {today}")),
    );

    Suggestion {
        mapping,
        fields,
        time_profile,
        ambiguous_day_order,
        countries,
    }
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

/// How a column that no Mixpanel field uses is sent: included, with its type inferred from
/// `values`, and renamed `source_<name>` when its name is one the event writes itself, the import
/// label, a reserved Mixpanel name, or already `taken`.
pub fn property_column<'a>(
    name: &str,
    values: impl IntoIterator<Item = &'a str>,
    taken: &HashSet<String>,
    columns: &[String],
) -> ColumnMapping {
    let kind = infer_type(values);
    let reserved = crate::validate::RESERVED_NAMES
        .iter()
        .any(|r| r.eq_ignore_ascii_case(name));
    let rename = if taken.contains(name) || reserved {
        let mut candidate = format!("source_{}", name.trim_start_matches('$'));
        let mut n = 2;
        while taken.contains(&candidate) || columns.contains(&candidate) {
            candidate = format!("source_{}_{n}", name.trim_start_matches('$'));
            n += 1;
        }
        Some(candidate)
    } else {
        None
    };
    ColumnMapping {
        column: name.to_owned(),
        include: true,
        rename,
        kind,
    }
}

/// The columns used by Mixpanel fields (event, user, time, insert id, country, ...).
pub fn field_columns(mapping: &Mapping) -> Vec<&str> {
    let mut used = Vec::new();
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
                    .filter_map(|r| r.cells.get(index).and_then(text_of))
                    .collect();
                let column =
                    property_column(name, values.iter().map(String::as_str), &taken, columns);
                taken.insert(column.property_name().to_owned());
                column
            }
        };
        synced.push(column);
    }
    mapping.columns = synced;
}

/// A field recognised by its values alone (no name match): weaker guesses.
fn value_only(field: Field, _name: &str, stats: &ColumnStats) -> Option<(f32, String)> {
    let n = stats.non_empty;
    if n < 5 {
        return None;
    }
    let frac = |k: usize| k as f32 / n as f32;
    match field {
        Field::InsertId if frac(stats.uuid_like) > 0.95 && stats.distinct == n => {
            Some((0.6, "values are unique UUIDs".to_owned()))
        }
        Field::Time if frac(stats.time_parsed) > 0.95 && frac(stats.non_epoch_times) > 0.5 => {
            Some((0.45, "values read as dates and times".to_owned()))
        }
        Field::Country if frac(stats.countries_resolved) > 0.9 && stats.distinct > 1 => {
            Some((0.4, "values are country names or codes".to_owned()))
        }
        Field::Ip if frac(stats.ips) > 0.95 => Some((0.5, "values are IP addresses".to_owned())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::PropertyType;

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
    fn uuid_column_is_an_insert_id_never_an_event_name() {
        // "name" would be an event synonym, but its values are unique UUIDs.
        let columns = cols(&["name", "user_id", "timestamp", "action"]);
        let mut rows = sample(&["id", "user_id", "timestamp", "action"]);
        for r in &mut rows {
            r.cells.truncate(4);
        }
        let s = suggest(&columns, &rows);
        assert_eq!(s.mapping.event, Some(ValueSource::Column("action".into())));
        assert_eq!(s.mapping.insert_id, InsertIdSource::Column("name".into()));
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
