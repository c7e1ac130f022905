//! Suggesting a user-profile mapping, and telling a customers file from an events file.
//!
//! A file looks like user profiles when its user ID column holds a different value on every row
//! of the head (one row per person) and no column holds event times: there is no time column, or
//! the only one is named like a sign-up date (`signup_date`, `created_at`, `Anmeldedatum`). The
//! suggestion then proposes profiles and says why ([`ProfileSuggestion::reason`]); either way
//! it carries a guess for each profile field, so a shell that switches the kind fills them.
//!
//! Profile fields are matched by column name (in English, German, French, Spanish, Italian,
//! Portuguese and Dutch, compared without case, accents or punctuation) and checked against the
//! values: an e-mail column must mostly hold addresses, a `$created` column must mostly read as
//! dates.

use std::collections::HashSet;

use crate::mapping::time::{DayOrder, profile_time_values};
use crate::mapping::{IMPORT_LABEL_PROPERTY, ImportKind, Mapping};
use crate::source::Record;

use super::evidence::text_of;
use super::{Field, Suggestion, sync_property_columns};
use crate::mapping::synonyms;

/// Share of distinct user IDs in the head above which a file reads as one row per person.
const DISTINCT_SHARE: f32 = 0.98;
/// An event-name guess at least this sure came from the column's name, not its values alone.
const NAMED_EVENT_CONFIDENCE: f32 = 0.6;

/// A profile property and the column it was matched to.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileGuess {
    /// The property (`$distinct_id`, `$email`, `$created`, ...).
    pub property: &'static str,
    /// The column, `None` when nothing fits.
    pub column: Option<String>,
    /// How sure the guess is, 0 to 1.
    pub confidence: f32,
    /// Why, in plain words.
    pub reason: String,
}

/// The profile side of a suggestion.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileSuggestion {
    /// Why the file looks like user profiles; `None` when it looks like events.
    pub reason: Option<String>,
    /// The user ID column (`$distinct_id`).
    pub id: ProfileGuess,
    /// `$email`, `$name`, `$first_name`, `$last_name`, `$phone`, `$avatar`, `$created`, in that
    /// order.
    pub fields: Vec<ProfileGuess>,
    /// The day/month order the `$created` values prove, if any.
    pub created_day_order: Option<DayOrder>,
}

impl ProfileSuggestion {
    /// The guess for one property.
    pub fn guess(&self, property: &str) -> Option<&ProfileGuess> {
        std::iter::once(&self.id)
            .chain(&self.fields)
            .find(|g| g.property == property)
    }
}

/// The fields of the synonym tables ([`crate::mapping::synonyms`]) that name `property`, best
/// first: the user ID reads the profile-ID names (`id`, `customer number`) and the event user's.
fn table_fields(property: &str) -> &'static [&'static str] {
    match property {
        "$distinct_id" => &["profile_id", "user"],
        "$email" => &["email"],
        "$name" => &["full_name"],
        "$first_name" => &["first_name"],
        "$last_name" => &["last_name"],
        "$phone" => &["phone"],
        "$avatar" => &["avatar"],
        "$created" => &["created"],
        _ => &[],
    }
}

/// How well a column name means `property`, with the reason: an exact name of the tables (in
/// any of their languages, after folding case, accents and separators), else a word a longer
/// name contains.
fn name_score(property: &'static str, column: &str) -> Option<(f32, String)> {
    for field in table_fields(property) {
        if let Some(found) = synonyms::exact_match(field, column) {
            let language = if found.language.code == "en" {
                String::new()
            } else {
                format!(" ({})", found.language.name)
            };
            return Some((
                0.95 - 0.01 * found.rank.min(20) as f32,
                format!(
                    "column name '{column}' means {}{language}",
                    describe(property)
                ),
            ));
        }
    }
    table_fields(property).iter().find_map(|field| {
        synonyms::contained_word(field, column).map(|word| {
            (
                0.6,
                format!(
                    "column name '{column}' contains '{word}', a name for {}",
                    describe(property)
                ),
            )
        })
    })
}

fn describe(property: &str) -> &'static str {
    match property {
        "$distinct_id" => "the user ID",
        "$email" => "the e-mail address",
        "$name" => "the full name",
        "$first_name" => "the first name",
        "$last_name" => "the last name",
        "$phone" => "the phone number",
        "$avatar" => "the picture",
        "$created" => "the sign-up date",
        _ => "a profile property",
    }
}

/// The properties guessed besides the user ID, in the order they are shown.
pub const PROFILE_FIELDS: [&str; 7] = [
    "$email",
    "$name",
    "$first_name",
    "$last_name",
    "$phone",
    "$avatar",
    "$created",
];

/// Facts about one column's head values.
struct Values {
    values: Vec<String>,
    distinct: usize,
    emails: usize,
    times: usize,
}

fn values_of(index: usize, sample: &[Record]) -> Values {
    let values: Vec<String> = sample
        .iter()
        .filter_map(|r| r.cells.get(index).and_then(text_of))
        .collect();
    let distinct = values.iter().collect::<HashSet<_>>().len();
    let emails = values
        .iter()
        .filter(|v| v.contains('@') && !v.contains(' '))
        .count();
    let profile = profile_time_values(values.iter().map(String::as_str));
    let times = values.len().saturating_sub(profile.unparsable);
    Values {
        values,
        distinct,
        emails,
        times,
    }
}

/// Adjust a name score by the values; `None` rules the column out.
fn value_check(property: &str, v: &Values, score: f32, reason: String) -> Option<(f32, String)> {
    let n = v.values.len();
    if n == 0 {
        return Some((score * 0.8, format!("{reason} (no sample values)")));
    }
    let share = |k: usize| k as f32 / n as f32;
    match property {
        "$email" if share(v.emails) < 0.5 => None,
        "$email" => Some((
            score,
            format!(
                "{reason}; {:.0}% of values are addresses",
                share(v.emails) * 100.0
            ),
        )),
        "$created" if share(v.times) < 0.8 => None,
        "$created" => Some((
            score,
            format!(
                "{reason}; {:.0}% of values read as dates",
                share(v.times) * 100.0
            ),
        )),
        "$distinct_id" => {
            // An e-mail column is an ID of last resort; IDs are mostly distinct per person.
            let email_penalty = if share(v.emails) > 0.8 { 0.8 } else { 1.0 };
            Some((
                score * email_penalty * (0.7 + 0.3 * share(v.distinct)),
                format!("{reason}; {} distinct values in {n} rows", v.distinct),
            ))
        }
        _ => Some((score, reason)),
    }
}

/// Guess the profile fields of a file, and whether it holds user profiles rather than events.
/// `events` is the event suggestion for the same file (its user, time and event guesses).
pub fn suggest_profiles(
    columns: &[String],
    sample: &[Record],
    events: &Suggestion,
) -> ProfileSuggestion {
    let stats: Vec<Values> = (0..columns.len()).map(|i| values_of(i, sample)).collect();
    let mut used: HashSet<usize> = HashSet::new();
    let best = |property: &'static str, used: &mut HashSet<usize>| -> ProfileGuess {
        let mut candidates: Vec<(f32, usize, String)> = columns
            .iter()
            .enumerate()
            .filter(|(i, _)| !used.contains(i))
            .filter_map(|(i, name)| {
                let (score, reason) = name_score(property, name)?;
                let (score, reason) = value_check(property, &stats[i], score, reason)?;
                Some((score, i, reason))
            })
            .collect();
        if property == "$distinct_id"
            && let Some(column) = events.guess(Field::User).and_then(|g| g.column.as_ref())
            && let Some(i) = columns.iter().position(|c| c == column)
            && !candidates.iter().any(|(_, c, _)| *c == i)
            && let Some(found) = value_check(
                property,
                &stats[i],
                0.6,
                format!("the suggestion for events reads column '{column}' as the user ID"),
            )
        {
            candidates.push((found.0, i, found.1));
        }
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        match candidates.into_iter().next() {
            Some((score, index, reason)) => {
                used.insert(index);
                ProfileGuess {
                    property,
                    column: Some(columns[index].clone()),
                    confidence: score.clamp(0.0, 1.0),
                    reason,
                }
            }
            None => ProfileGuess {
                property,
                column: None,
                confidence: 0.0,
                reason: if property == "$distinct_id" {
                    "no column looks like the user ID: choose the column with each person's ID (a profile is never created without it)".to_owned()
                } else {
                    "no matching column".to_owned()
                },
            },
        }
    };
    let id = best("$distinct_id", &mut used);
    // Country, city and region are the event suggestion's; they are not profile fields here.
    for field in [Field::Country, Field::City, Field::Region] {
        if let Some(column) = events.guess(field).and_then(|g| g.column.as_ref())
            && let Some(i) = columns.iter().position(|c| c == column)
        {
            used.insert(i);
        }
    }
    let fields: Vec<ProfileGuess> = PROFILE_FIELDS
        .iter()
        .map(|property| best(property, &mut used))
        .collect();
    let created_column = fields
        .iter()
        .find(|g| g.property == "$created")
        .and_then(|g| g.column.clone());
    let created_day_order = created_column
        .as_ref()
        .and_then(|c| columns.iter().position(|x| x == c))
        .and_then(|i| profile_time_values(stats[i].values.iter().map(String::as_str)).day_order);

    let reason = looks_like_profiles(
        sample.len(),
        columns,
        &stats,
        &id,
        created_column.as_deref(),
        events,
    );
    ProfileSuggestion {
        reason,
        id,
        fields,
        created_day_order,
    }
}

/// Why the file holds one row per person and no event times, or `None`.
fn looks_like_profiles(
    rows: usize,
    columns: &[String],
    stats: &[Values],
    id: &ProfileGuess,
    created: Option<&str>,
    events: &Suggestion,
) -> Option<String> {
    let id_column = id.column.as_deref()?;
    let v = &stats[columns.iter().position(|c| c == id_column)?];
    let n = v.values.len();
    if n < 2 || (v.distinct as f32) < DISTINCT_SHARE * n as f32 {
        return None;
    }
    // A column named like an event name makes it an events file; a guess from values alone
    // (a short list of words such as plans) does not, when every row is another person.
    let named_event = events
        .guess(Field::Event)
        .is_some_and(|g| g.column.is_some() && g.confidence >= NAMED_EVENT_CONFIDENCE);
    if named_event {
        return None;
    }
    let each = if v.distinct == n {
        format!("each value of '{id_column}' appears on one row of the first {rows}")
    } else {
        format!(
            "'{id_column}' holds a different ID on almost every row ({} different IDs in {n} cells of the first {rows} rows)",
            v.distinct
        )
    };
    let time_column = events.guess(Field::Time).and_then(|g| g.column.clone());
    match (time_column, created) {
        (None, _) => Some(format!(
            "{each}, and no column holds event times: this looks like a file of people, one row each"
        )),
        (Some(time), Some(created)) if time == created => Some(format!(
            "{each}, and its only date column, '{created}', looks like a sign-up date, not an event time: this looks like a file of people, one row each"
        )),
        _ => None,
    }
}

/// Make `mapping` a user-profiles mapping: the kind, the user ID and each profile field the
/// suggestion found (fields already mapped to a column keep it), no import label (a property
/// on every profile would be overwritten by each import), and the property columns in step.
pub fn use_profiles(
    mapping: &mut Mapping,
    suggestion: &ProfileSuggestion,
    columns: &[String],
    sample: &[Record],
) {
    mapping.kind = ImportKind::Profiles;
    let column = |property: &str| suggestion.guess(property).and_then(|g| g.column.clone());
    if mapping.distinct_id.is_none() {
        mapping.distinct_id = column("$distinct_id");
    } else if let Some(id) = column("$distinct_id") {
        // The events user column may be an e-mail; the profile's ID column is the better one.
        mapping.distinct_id = Some(id);
    }
    let profile = &mut mapping.profile;
    for (slot, property) in [
        (&mut profile.email, "$email"),
        (&mut profile.name, "$name"),
        (&mut profile.first_name, "$first_name"),
        (&mut profile.last_name, "$last_name"),
        (&mut profile.phone, "$phone"),
        (&mut profile.avatar, "$avatar"),
    ] {
        if slot.is_none() {
            *slot = column(property);
        }
    }
    if profile.created.column.is_none() {
        profile.created.column = column("$created");
        profile.created.day_order = suggestion.created_day_order;
    }
    mapping.constants.remove(IMPORT_LABEL_PROPERTY);
    sync_property_columns(mapping, columns, sample);
}

/// Make `mapping` an events mapping again (its event fields were kept), with the import label
/// `label` offered again and the property columns in step.
pub fn use_events(mapping: &mut Mapping, label: &str, columns: &[String], sample: &[Record]) {
    mapping.kind = ImportKind::Events;
    if !label.is_empty() {
        mapping
            .constants
            .entry(IMPORT_LABEL_PROPERTY.to_owned())
            .or_insert_with(|| serde_json::Value::String(label.to_owned()));
    }
    sync_property_columns(mapping, columns, sample);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::suggest::suggest_for_file;
    use crate::source::Cell;

    fn file(header: &[&str], rows: &[Vec<String>]) -> (Vec<String>, Vec<Record>) {
        let columns = header.iter().map(|s| (*s).to_owned()).collect();
        let records = rows
            .iter()
            .enumerate()
            .map(|(i, cells)| Record {
                row: i as u64 + 2,
                cells: cells.iter().map(|c| Cell::Text(c.clone())).collect(),
                ..Record::default()
            })
            .collect();
        (columns, records)
    }

    fn customers(header: &[&str], countries: &[&str]) -> (Vec<String>, Vec<Record>) {
        let rows: Vec<Vec<String>> = (0..40)
            .map(|i| {
                vec![
                    format!("C-{i:04}"),
                    format!("person{i}@example.com"),
                    format!("First{i}"),
                    format!("Last{i}"),
                    countries[i % countries.len()].to_owned(),
                    "Berlin".to_owned(),
                    format!("{:02}.03.2021", i % 28 + 1),
                    ["free", "pro"][i % 2].to_owned(),
                    format!("{}.50", i * 10),
                ]
            })
            .collect();
        file(header, &rows)
    }

    #[test]
    fn an_english_customers_file_is_proposed_as_profiles_and_says_why() {
        let (columns, sample) = customers(
            &[
                "customer_id",
                "email",
                "first_name",
                "last_name",
                "country",
                "city",
                "signup_date",
                "plan",
                "lifetime_value",
            ],
            &["Germany", "United States", "France"],
        );
        let s = suggest_for_file(std::path::Path::new("customers.csv"), &columns, &sample);
        let reason = s.profiles.reason.clone().expect("profiles proposed");
        assert!(
            reason.contains("customer_id") && reason.contains("signup_date"),
            "{reason}"
        );
        let m = &s.mapping;
        assert_eq!(m.kind, ImportKind::Profiles);
        assert_eq!(m.distinct_id.as_deref(), Some("customer_id"));
        assert_eq!(m.profile.email.as_deref(), Some("email"));
        assert_eq!(m.profile.first_name.as_deref(), Some("first_name"));
        assert_eq!(m.profile.last_name.as_deref(), Some("last_name"));
        assert_eq!(m.profile.created.column.as_deref(), Some("signup_date"));
        assert_eq!(m.profile.created.day_order, Some(DayOrder::DayFirst));
        assert_eq!(m.country.as_ref().unwrap().column, "country");
        assert_eq!(m.city.as_deref(), Some("city"));
        assert!(!m.constants.contains_key(IMPORT_LABEL_PROPERTY));
        let properties: Vec<&str> = m.columns.iter().map(|c| c.column.as_str()).collect();
        assert_eq!(properties, vec!["plan", "lifetime_value"]);
        assert_eq!(m.columns[1].kind, crate::mapping::PropertyType::Number);
    }

    /// `lifetime_value` contains the word `time` and its numbers (`129.90`, `0.00`) read as
    /// epoch seconds: but they would be times in 1970, which Mixpanel refuses, so the column is
    /// not a time column, and the sign-up date is the only date of the file (also with a
    /// value that is not a date).
    #[test]
    fn a_money_column_named_like_lifetime_is_not_a_time() {
        let header = [
            "customer_id",
            "email",
            "first_name",
            "last_name",
            "country",
            "city",
            "signup_date",
            "plan",
            "lifetime_value",
        ];
        let rows: Vec<Vec<String>> = (0..20)
            .map(|i| {
                vec![
                    format!("C-{:04}", 1000 + i),
                    format!("person{i}@example.com"),
                    format!("First{i}"),
                    format!("Last{i}"),
                    ["Deutschland", "United States"][i % 2].to_owned(),
                    "Berlin".to_owned(),
                    if i == 7 {
                        // One unreadable date among twenty.
                        "not a date".to_owned()
                    } else if i % 2 == 0 {
                        format!("2023-11-{:02}", i + 1)
                    } else {
                        format!("2024-01-{:02} 09:30", i + 1)
                    },
                    ["Free", "Pro", "Team"][i % 3].to_owned(),
                    if i % 3 == 0 {
                        "0.00".to_owned()
                    } else {
                        format!("{}.90", i * 37)
                    },
                ]
            })
            .collect();
        let (columns, sample) = file(&header, &rows);
        let s = suggest_for_file(std::path::Path::new("customers.csv"), &columns, &sample);
        let time = s.guess(Field::Time).and_then(|g| g.column.clone());
        assert_ne!(time.as_deref(), Some("lifetime_value"));
        assert_eq!(
            s.mapping.kind,
            ImportKind::Profiles,
            "{:?}",
            s.profiles.reason
        );
        assert_eq!(
            s.mapping.profile.created.column.as_deref(),
            Some("signup_date")
        );
    }

    #[test]
    fn a_german_customers_file_maps_its_fields() {
        let (columns, sample) = customers(
            &[
                "Kundennummer",
                "E-Mail",
                "Vorname",
                "Nachname",
                "Land",
                "Stadt",
                "Anmeldedatum",
                "Tarif",
                "Umsatz",
            ],
            &["Deutschland", "Österreich", "Schweiz"],
        );
        let s = suggest_for_file(std::path::Path::new("kunden.csv"), &columns, &sample);
        assert!(s.profiles.reason.is_some(), "{:?}", s.profiles);
        let m = &s.mapping;
        assert_eq!(m.distinct_id.as_deref(), Some("Kundennummer"));
        assert_eq!(m.profile.email.as_deref(), Some("E-Mail"));
        assert_eq!(m.profile.first_name.as_deref(), Some("Vorname"));
        assert_eq!(m.profile.last_name.as_deref(), Some("Nachname"));
        assert_eq!(m.profile.created.column.as_deref(), Some("Anmeldedatum"));
        assert_eq!(m.country.as_ref().unwrap().column, "Land");
    }

    #[test]
    fn events_files_are_not_proposed_as_profiles() {
        // Users repeat: events.
        let rows: Vec<Vec<String>> = (0..30)
            .map(|i| {
                vec![
                    "Purchase".to_owned(),
                    format!("u{}", i % 5),
                    format!("2024-03-{:02}T10:00:00Z", i % 28 + 1),
                ]
            })
            .collect();
        let (columns, sample) = file(&["event", "user_id", "timestamp"], &rows);
        let s = suggest_for_file(std::path::Path::new("e.csv"), &columns, &sample);
        assert_eq!(s.profiles.reason, None);
        assert_eq!(s.mapping.kind, ImportKind::Events);
        // One row per user, but an event column and event times: still events.
        let rows: Vec<Vec<String>> = (0..30)
            .map(|i| {
                vec![
                    "Signed up".to_owned(),
                    format!("u{i}"),
                    format!("2024-03-{:02}T10:00:00Z", i % 28 + 1),
                ]
            })
            .collect();
        let (columns, sample) = file(&["event", "user_id", "timestamp"], &rows);
        let s = suggest_for_file(std::path::Path::new("e.csv"), &columns, &sample);
        assert_eq!(s.profiles.reason, None);
        // One row per user, no event column, but a time that is not a sign-up date.
        let (columns, sample) = file(
            &["user_id", "timestamp"],
            &rows.iter().map(|r| r[1..].to_vec()).collect::<Vec<_>>(),
        );
        let s = suggest_for_file(std::path::Path::new("e.csv"), &columns, &sample);
        assert_eq!(s.profiles.reason, None);
        // No time at all, one row per user: profiles.
        let (columns, sample) = file(
            &["user_id", "plan"],
            &(0..30)
                .map(|i| vec![format!("u{i}"), "pro".to_owned()])
                .collect::<Vec<_>>(),
        );
        let s = suggest_for_file(std::path::Path::new("p.csv"), &columns, &sample);
        let reason = s.profiles.reason.expect("profiles");
        assert!(reason.contains("no column holds event times"), "{reason}");
    }

    #[test]
    fn switching_kinds_keeps_the_columns_in_step() {
        let (columns, sample) = customers(
            &[
                "customer_id",
                "email",
                "first_name",
                "last_name",
                "country",
                "city",
                "signup_date",
                "plan",
                "lifetime_value",
            ],
            &["Germany"],
        );
        let s = suggest_for_file(std::path::Path::new("customers.csv"), &columns, &sample);
        let mut m = s.mapping.clone();
        use_events(&mut m, &s.import_label, &columns, &sample);
        assert_eq!(m.kind, ImportKind::Events);
        assert!(m.constants.contains_key(IMPORT_LABEL_PROPERTY));
        let properties: Vec<&str> = m.columns.iter().map(|c| c.column.as_str()).collect();
        assert!(properties.contains(&"email") && properties.contains(&"first_name"));
        use_profiles(&mut m, &s.profiles, &columns, &sample);
        assert_eq!(m.kind, ImportKind::Profiles);
        assert!(!m.constants.contains_key(IMPORT_LABEL_PROPERTY));
        let properties: Vec<&str> = m.columns.iter().map(|c| c.column.as_str()).collect();
        assert_eq!(properties, vec!["plan", "lifetime_value"]);
    }
}
