//! Column names that mean a field, in several languages, kept as data.
//!
//! One table per language lives beside this file (`synonyms/en.txt`, `de.txt`, `fr.txt`, `es.txt`,
//! `it.txt`, `pt.txt`, `nl.txt`) and is compiled in. Each line names a field and its names, best
//! first: `user: Benutzer-ID, Kundennummer, …`; a line `~field: word, …` lists words that a
//! longer column name may contain. Field keys are plain strings (`event`, `user`, `time`,
//! `insert_id`, `country`, `city`, `region`, `ip`, `email`, …), so another set of target fields
//! (user-profile properties) can add its own lines and use the same lookup.
//!
//! Names are compared after [`fold`]: case, accents (`é` → `e`, `ß` → `ss`), punctuation and
//! separators are dropped, so `Benutzer-ID`, `benutzer_id`, `BENUTZER ID` and `BenutzerId` are one
//! name, and so are `événement` and `evenement`.

use std::collections::HashMap;
use std::sync::OnceLock;

/// One language's table, as compiled in.
#[derive(Debug, Clone, Copy)]
pub struct Language {
    /// ISO 639-1 code (`de`).
    pub code: &'static str,
    /// English name of the language (`German`).
    pub name: &'static str,
    /// The table's text.
    text: &'static str,
}

/// Every language with a table, English first.
pub const LANGUAGES: &[Language] = &[
    Language {
        code: "en",
        name: "English",
        text: include_str!("synonyms/en.txt"),
    },
    Language {
        code: "de",
        name: "German",
        text: include_str!("synonyms/de.txt"),
    },
    Language {
        code: "fr",
        name: "French",
        text: include_str!("synonyms/fr.txt"),
    },
    Language {
        code: "es",
        name: "Spanish",
        text: include_str!("synonyms/es.txt"),
    },
    Language {
        code: "it",
        name: "Italian",
        text: include_str!("synonyms/it.txt"),
    },
    Language {
        code: "pt",
        name: "Portuguese",
        text: include_str!("synonyms/pt.txt"),
    },
    Language {
        code: "nl",
        name: "Dutch",
        text: include_str!("synonyms/nl.txt"),
    },
];

/// A column name found in a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameMatch {
    /// The table's language.
    pub language: &'static Language,
    /// 0 for the field's first (best) name in that table, 1 for the next, ….
    pub rank: usize,
    /// The name as the table spells it.
    pub name: &'static str,
}

impl PartialEq for Language {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
    }
}

impl Eq for Language {}

/// One name of a field, folded, with where it came from.
#[derive(Debug, Clone, Copy)]
struct Entry {
    field: &'static str,
    language: &'static Language,
    rank: usize,
    name: &'static str,
}

/// The tables, parsed once.
struct Tables {
    /// Folded exact name → every field it names (any language), best rank first.
    exact: HashMap<String, Vec<Entry>>,
    /// Field → its folded exact names (every language).
    names: HashMap<&'static str, Vec<String>>,
    /// Field → folded words a longer name may contain.
    contains: HashMap<&'static str, Vec<String>>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut tables = Tables {
            exact: HashMap::new(),
            names: HashMap::new(),
            contains: HashMap::new(),
        };
        for language in LANGUAGES {
            for (field, contains, names) in parse_table(language.text) {
                for (rank, name) in names.into_iter().enumerate() {
                    let folded = fold(name);
                    if folded.is_empty() {
                        continue;
                    }
                    if contains {
                        tables.contains.entry(field).or_default().push(folded);
                        continue;
                    }
                    tables.names.entry(field).or_default().push(folded.clone());
                    tables.exact.entry(folded).or_default().push(Entry {
                        field,
                        language,
                        rank,
                        name,
                    });
                }
            }
        }
        for entries in tables.exact.values_mut() {
            entries.sort_by_key(|e| e.rank);
        }
        tables
    })
}

/// The lines of one table: (field, is a `~contains` line, names in order).
fn parse_table(text: &'static str) -> Vec<(&'static str, bool, Vec<&'static str>)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let (field, names) = line.split_once(':')?;
            let field = field.trim();
            let (field, contains) = match field.strip_prefix('~') {
                Some(field) => (field.trim(), true),
                None => (field, false),
            };
            let names = names
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .collect();
            Some((field, contains, names))
        })
        .collect()
}

/// Fold a column name for comparison: letters and digits only, lower case, Latin accents
/// dropped (`ß` → `ss`, `æ` → `ae`), everything else (spaces, `_`, `-`, `.`, `$`, `/`, `'`, `°`)
/// removed.
pub fn fold(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if c.is_alphanumeric()
            && let Some(ascii) = deunicode::deunicode_char(c)
        {
            out.extend(
                ascii
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .map(|c| c.to_ascii_lowercase()),
            );
        }
    }
    out
}

/// The best table entry naming `field` exactly (after folding), in any language.
pub fn exact_match(field: &str, column_name: &str) -> Option<NameMatch> {
    let folded = fold(column_name);
    tables()
        .exact
        .get(&folded)?
        .iter()
        .find(|e| e.field == field)
        .map(|e| NameMatch {
            language: e.language,
            rank: e.rank,
            name: e.name,
        })
}

/// Every language whose table names `field` `column_name` (after folding), in table order.
pub fn languages_naming(field: &str, column_name: &str) -> Vec<&'static Language> {
    let mut languages: Vec<&'static Language> = Vec::new();
    if let Some(entries) = tables().exact.get(&fold(column_name)) {
        for entry in entries.iter().filter(|e| e.field == field) {
            if !languages.contains(&entry.language) {
                languages.push(entry.language);
            }
        }
    }
    languages.sort_by_key(|l| LANGUAGES.iter().position(|x| x.code == l.code));
    languages
}

/// Every field some table names `column_name` as, best rank first.
pub fn fields_named(column_name: &str) -> Vec<&'static str> {
    let mut fields: Vec<&'static str> = Vec::new();
    if let Some(entries) = tables().exact.get(&fold(column_name)) {
        for entry in entries {
            if !fields.contains(&entry.field) {
                fields.push(entry.field);
            }
        }
    }
    fields
}

/// Every folded exact name of `field`, across languages.
pub fn names(field: &str) -> &'static [String] {
    tables().names.get(field).map_or(&[], Vec::as_slice)
}

/// The folded word of `field`'s `~` lines that `column_name` contains, if any.
pub fn contained_word(field: &str, column_name: &str) -> Option<&'static str> {
    let folded = fold(column_name);
    tables()
        .contains
        .get(field)?
        .iter()
        .find(|word| folded.contains(word.as_str()))
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_case_accents_and_separators() {
        assert_eq!(fold("Benutzer-ID"), "benutzerid");
        assert_eq!(fold("benutzer_id"), "benutzerid");
        assert_eq!(fold("BenutzerId"), "benutzerid");
        assert_eq!(fold("  BENUTZER  ID "), "benutzerid");
        assert_eq!(fold("Événement"), "evenement");
        assert_eq!(fold("Länderkürzel"), "landerkurzel");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("N° client"), "nclient");
        assert_eq!(fold("$insert_id"), "insertid");
        assert_eq!(fold("Nome dell'evento"), "nomedellevento");
        assert_eq!(fold("Città"), "citta");
        assert_eq!(fold("Data/hora"), "datahora");
    }

    /// The examples of each language a person would write, per field.
    #[test]
    fn each_language_names_every_event_field() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            (
                "en",
                &[
                    ("event", "Event Name"),
                    ("user", "user_id"),
                    ("time", "Timestamp"),
                    ("insert_id", "$insert_id"),
                    ("country", "Country"),
                    ("city", "City"),
                    ("region", "State"),
                    ("ip", "IP Address"),
                ],
            ),
            (
                "de",
                &[
                    ("event", "Ereignis"),
                    ("event", "Aktion"),
                    ("user", "Benutzer-ID"),
                    ("user", "Kundennummer"),
                    ("time", "Zeitpunkt"),
                    ("time", "Datum"),
                    ("insert_id", "Ereignis-ID"),
                    ("country", "Land"),
                    ("city", "Ort"),
                    ("city", "Stadt"),
                    ("region", "Bundesland"),
                    ("ip", "IP-Adresse"),
                ],
            ),
            (
                "fr",
                &[
                    ("event", "événement"),
                    ("event", "evenement"),
                    ("user", "client"),
                    ("user", "ID utilisateur"),
                    ("time", "date"),
                    ("time", "Horodatage"),
                    ("insert_id", "ID événement"),
                    ("country", "pays"),
                    ("city", "ville"),
                    ("region", "région"),
                    ("ip", "Adresse IP"),
                ],
            ),
            (
                "es",
                &[
                    ("event", "evento"),
                    ("user", "cliente"),
                    ("user", "ID de usuario"),
                    ("time", "fecha"),
                    ("insert_id", "ID de evento"),
                    ("country", "país"),
                    ("city", "ciudad"),
                    ("region", "provincia"),
                    ("ip", "Dirección IP"),
                ],
            ),
            (
                "it",
                &[
                    ("event", "evento"),
                    ("user", "ID utente"),
                    ("user", "cliente"),
                    ("time", "data"),
                    ("insert_id", "ID evento"),
                    ("country", "paese"),
                    ("city", "città"),
                    ("region", "regione"),
                    ("ip", "Indirizzo IP"),
                ],
            ),
            (
                "pt",
                &[
                    ("event", "evento"),
                    ("user", "ID do usuário"),
                    ("user", "cliente"),
                    ("time", "data"),
                    ("insert_id", "ID do evento"),
                    ("country", "país"),
                    ("city", "cidade"),
                    ("region", "região"),
                    ("ip", "Endereço IP"),
                ],
            ),
            (
                "nl",
                &[
                    ("event", "gebeurtenis"),
                    ("user", "klant"),
                    ("user", "Gebruikers-ID"),
                    ("time", "tijdstip"),
                    ("time", "datum"),
                    ("insert_id", "Gebeurtenis-ID"),
                    ("country", "land"),
                    ("city", "plaats"),
                    ("region", "provincie"),
                    ("ip", "IP-adres"),
                ],
            ),
        ];
        for (code, examples) in cases {
            assert!(LANGUAGES.iter().any(|l| l.code == *code), "{code}");
            for (field, name) in *examples {
                let found = exact_match(field, name);
                assert!(found.is_some(), "{code}: '{name}' should mean {field}");
            }
        }
    }

    #[test]
    fn every_table_covers_the_event_fields() {
        for language in LANGUAGES {
            let fields: Vec<&str> = parse_table(language.text)
                .into_iter()
                .filter(|(_, contains, _)| !contains)
                .map(|(field, _, _)| field)
                .collect();
            for field in [
                "event",
                "user",
                "time",
                "insert_id",
                "country",
                "city",
                "region",
                "ip",
            ] {
                assert!(
                    fields.contains(&field),
                    "{}: no {field} line",
                    language.code
                );
            }
        }
    }

    /// No name means two different event fields in two languages (profile properties such as
    /// `email`, `full_name` or `created` are matched on their own, so they are left out).
    #[test]
    fn no_name_means_two_event_fields() {
        const EVENT_FIELDS: [&str; 8] = [
            "event",
            "user",
            "time",
            "insert_id",
            "country",
            "city",
            "region",
            "ip",
        ];
        for (name, entries) in &tables().exact {
            let mut fields: Vec<&str> = entries
                .iter()
                .map(|e| e.field)
                .filter(|f| EVENT_FIELDS.contains(f))
                .collect();
            fields.dedup();
            fields.sort_unstable();
            fields.dedup();
            assert!(fields.len() <= 1, "'{name}' means {fields:?}");
        }
    }

    #[test]
    fn contained_words_and_ranks() {
        assert_eq!(
            contained_word("time", "signup_timestamp"),
            Some("timestamp")
        );
        assert_eq!(contained_word("time", "Bestelldatum"), Some("datum"));
        assert_eq!(contained_word("country", "Bundesland"), None);
        let best = exact_match("user", "Benutzer-ID").unwrap();
        assert_eq!(best.rank, 0);
        assert_eq!(best.language.code, "de");
        assert_eq!(fields_named("Land"), vec!["country"]);
        assert!(names("event").contains(&"gebeurtenis".to_owned()));
    }
}
