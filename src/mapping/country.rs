//! Country values → ISO 3166-1 alpha-2 codes (`mp_country_code`).
//!
//! One lookup table is built on first use from the ISO 3166 list of the `celes` crate (alpha-2,
//! alpha-3, numeric codes, official names and celes's aliases), the country names of the
//! `keshvar` crate (the data of the `countries` gem: CLDR names in many languages, and common
//! unofficial names) in the languages of [`TRANSLATION_LANGUAGES`] (so `Vereinigte Staaten`,
//! `Allemagne`, `Regno Unito`, `Países Bajos` resolve), plus our own list of abbreviations and
//! aliases ([`ALIASES`]). A name that two countries share in different languages is left out
//! rather than guessed. Keys are normalised by [`normalize`]: lower case, Latin
//! accents folded (`Côte` → `cote`, `ß` → `ss`), every character other than letters and digits
//! dropped (spaces, dots, commas, hyphens, apostrophes, brackets), the word `the` dropped, `&`
//! read as `and` and the word `st` read as `saint`. So `U.S.A.`, ` usa `, `The Netherlands`,
//! `Korea, Republic of` and `St. Lucia` all find their country. A lookup normalises into a
//! stack buffer and makes one hash probe: no allocation.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The languages whose country names (from `keshvar`) are looked up, besides English.
pub const TRANSLATION_LANGUAGES: &[&str] = &[
    "en", "de", "fr", "es", "it", "pt", "nl", "da", "sv", "nb", "fi", "pl", "cs",
];

/// Abbreviations and aliases (beyond the datasets), each → alpha-2. Normalised like every key.
pub const ALIASES: &[(&str, &str)] = &[
    // Abbreviations used in exports, in several languages
    ("BRD", "DE"),
    ("EE. UU.", "US"),
    ("EEUU", "US"),
    ("EUA", "US"),
    ("VAE", "AE"),
    ("EAU", "AE"),
    ("NL", "NL"),
    ("CH", "CH"),
    // United States
    ("USA", "US"),
    ("U.S.", "US"),
    ("U.S.A.", "US"),
    ("United States", "US"),
    ("United States of America", "US"),
    ("America", "US"),
    ("Estados Unidos", "US"),
    // United Kingdom
    ("UK", "GB"),
    ("U.K.", "GB"),
    ("United Kingdom", "GB"),
    ("Great Britain", "GB"),
    ("Britain", "GB"),
    ("England", "GB"),
    ("Scotland", "GB"),
    ("Wales", "GB"),
    ("Northern Ireland", "GB"),
    // Names in the country's own language that exports often carry
    ("Deutschland", "DE"),
    ("Holland", "NL"),
    ("The Netherlands", "NL"),
    ("Nederland", "NL"),
    ("España", "ES"),
    ("Italia", "IT"),
    ("Brasil", "BR"),
    ("Österreich", "AT"),
    ("Schweiz", "CH"),
    ("Suisse", "CH"),
    ("Svizzera", "CH"),
    ("Belgique", "BE"),
    ("België", "BE"),
    ("Sverige", "SE"),
    ("Norge", "NO"),
    ("Danmark", "DK"),
    ("Suomi", "FI"),
    ("Polska", "PL"),
    ("Česko", "CZ"),
    ("Magyarország", "HU"),
    ("Éire", "IE"),
    ("Republic of Ireland", "IE"),
    ("Nippon", "JP"),
    // Official and UN / World Bank style names
    ("Russia", "RU"),
    ("Russian Federation", "RU"),
    ("South Korea", "KR"),
    ("Korea", "KR"),
    ("Korea, Republic of", "KR"),
    ("Republic of Korea", "KR"),
    ("Korea, South", "KR"),
    ("Korea, Rep.", "KR"),
    ("North Korea", "KP"),
    ("Korea, North", "KP"),
    ("Korea, Democratic People's Republic of", "KP"),
    ("Democratic People's Republic of Korea", "KP"),
    ("DPRK", "KP"),
    ("Czechia", "CZ"),
    ("Czech Republic", "CZ"),
    ("Czech Rep.", "CZ"),
    ("Ivory Coast", "CI"),
    ("Côte d'Ivoire", "CI"),
    ("UAE", "AE"),
    ("U.A.E.", "AE"),
    ("Emirates", "AE"),
    ("United Arab Emirates", "AE"),
    ("Vietnam", "VN"),
    ("Viet Nam", "VN"),
    ("Türkiye", "TR"),
    ("Turkey", "TR"),
    ("Iran", "IR"),
    ("Iran, Islamic Republic of", "IR"),
    ("Iran (Islamic Republic of)", "IR"),
    ("Syria", "SY"),
    ("Syrian Arab Republic", "SY"),
    ("Laos", "LA"),
    ("Lao PDR", "LA"),
    ("Lao People's Democratic Republic", "LA"),
    ("Bolivia", "BO"),
    ("Bolivia, Plurinational State of", "BO"),
    ("Bolivia (Plurinational State of)", "BO"),
    ("Venezuela", "VE"),
    ("Venezuela, Bolivarian Republic of", "VE"),
    ("Venezuela (Bolivarian Republic of)", "VE"),
    ("Tanzania", "TZ"),
    ("Tanzania, United Republic of", "TZ"),
    ("Moldova", "MD"),
    ("Moldova, Republic of", "MD"),
    ("Macedonia", "MK"),
    ("North Macedonia", "MK"),
    ("FYROM", "MK"),
    ("Former Yugoslav Republic of Macedonia", "MK"),
    ("Swaziland", "SZ"),
    ("Eswatini", "SZ"),
    ("Burma", "MM"),
    ("Myanmar", "MM"),
    ("Myanmar (Burma)", "MM"),
    ("Cape Verde", "CV"),
    ("Cabo Verde", "CV"),
    ("Vatican", "VA"),
    ("Vatican City", "VA"),
    ("Vatican City State", "VA"),
    ("Holy See", "VA"),
    ("Palestine", "PS"),
    ("Palestine, State of", "PS"),
    ("Palestinian Territories", "PS"),
    ("Taiwan", "TW"),
    ("Taiwan, Province of China", "TW"),
    ("Hong Kong", "HK"),
    ("Hong Kong SAR", "HK"),
    ("Hong Kong, China", "HK"),
    ("Macau", "MO"),
    ("Macao", "MO"),
    ("Macao SAR", "MO"),
    ("Kosovo", "XK"),
    ("Samoa", "WS"),
    ("American Samoa", "AS"),
    ("Congo", "CG"),
    ("Republic of the Congo", "CG"),
    ("Congo-Brazzaville", "CG"),
    ("Congo, Rep.", "CG"),
    ("DR Congo", "CD"),
    ("DRC", "CD"),
    ("Congo-Kinshasa", "CD"),
    ("Democratic Republic of Congo", "CD"),
    ("Congo, Democratic Republic of the", "CD"),
    ("Congo, Dem. Rep.", "CD"),
    ("Micronesia", "FM"),
    ("Micronesia, Federated States of", "FM"),
    ("Brunei", "BN"),
    ("East Timor", "TL"),
    ("Timor-Leste", "TL"),
    ("Slovak Republic", "SK"),
    ("Kyrgyz Republic", "KG"),
    ("Egypt, Arab Rep.", "EG"),
    ("Bosnia", "BA"),
    ("Bosnia-Herzegovina", "BA"),
    ("Bahamas", "BS"),
    ("Bahamas, The", "BS"),
    ("Gambia", "GM"),
    ("Gambia, The", "GM"),
    ("Falkland Islands", "FK"),
    ("Virgin Islands, U.S.", "VI"),
    ("U.S. Virgin Islands", "VI"),
    ("Virgin Islands, British", "VG"),
    ("Caribbean Netherlands", "BQ"),
    ("Bonaire, Sint Eustatius and Saba", "BQ"),
    ("Saint Helena", "SH"),
    ("Saint Helena, Ascension and Tristan da Cunha", "SH"),
    ("Sint Maarten", "SX"),
    ("Saint Martin", "MF"),
    ("Pitcairn Islands", "PN"),
    ("Åland", "AX"),
];

/// English display names where celes's official name is long or awkward.
const DISPLAY_NAMES: &[(&str, &str)] = &[
    ("AX", "Åland Islands"),
    ("BL", "Saint Barthélemy"),
    ("BN", "Brunei"),
    ("BO", "Bolivia"),
    ("BQ", "Bonaire, Sint Eustatius and Saba"),
    ("CC", "Cocos (Keeling) Islands"),
    ("CD", "Democratic Republic of the Congo"),
    ("CG", "Republic of the Congo"),
    ("CI", "Côte d'Ivoire"),
    ("CW", "Curaçao"),
    ("FK", "Falkland Islands"),
    ("FM", "Micronesia"),
    ("GB", "United Kingdom"),
    ("GW", "Guinea-Bissau"),
    ("HM", "Heard Island and McDonald Islands"),
    ("IR", "Iran"),
    ("KP", "North Korea"),
    ("KR", "South Korea"),
    ("LA", "Laos"),
    ("MD", "Moldova"),
    ("MF", "Saint Martin"),
    ("MK", "North Macedonia"),
    ("MO", "Macao"),
    ("PS", "Palestine"),
    ("RE", "Réunion"),
    ("RU", "Russia"),
    ("SH", "Saint Helena, Ascension and Tristan da Cunha"),
    ("ST", "São Tomé and Príncipe"),
    ("SX", "Sint Maarten"),
    ("SY", "Syria"),
    ("TL", "Timor-Leste"),
    ("TW", "Taiwan"),
    ("TZ", "Tanzania"),
    ("US", "United States"),
    ("VA", "Vatican City"),
    ("VE", "Venezuela"),
    ("VI", "U.S. Virgin Islands"),
];

/// Longest normalised key (longer input is no country).
pub const MAX_KEY_BYTES: usize = 64;

/// The tables, built once.
struct Countries {
    /// Normalised key → alpha-2.
    lookup: HashMap<Box<str>, &'static str>,
    /// Alpha-2 → display name.
    names: HashMap<&'static str, String>,
}

fn countries() -> &'static Countries {
    static COUNTRIES: OnceLock<Countries> = OnceLock::new();
    COUNTRIES.get_or_init(build)
}

/// Where a lookup key came from; later kinds override earlier ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum KeySource {
    /// A name in one of [`TRANSLATION_LANGUAGES`] or an unofficial name, from `keshvar`.
    Translation,
    CelesAlias,
    CelesName,
    DisplayName,
    Alias,
    Numeric,
    Alpha3,
    Alpha2,
}

/// Every (normalised key, alpha-2, source) in insertion order (lowest priority first).
fn key_entries() -> Vec<(String, &'static str, KeySource)> {
    use celes::LookupTable;
    let list = celes::Country::get_countries();
    let mut entries: Vec<(String, &'static str, KeySource)> = translated_keys(&list)
        .into_iter()
        .map(|(key, code)| (key, code, KeySource::Translation))
        .collect();
    let mut push = |text: &str, code: &'static str, source: KeySource| {
        if let Some(key) = normalize_to_string(text) {
            entries.push((key, code, source));
        }
    };
    for country in &list {
        for alias in country.aliases.iter() {
            push(alias, country.alpha2, KeySource::CelesAlias);
        }
    }
    for country in &list {
        push(country.long_name, country.alpha2, KeySource::CelesName);
    }
    for country in &list {
        push(
            &display_name(country),
            country.alpha2,
            KeySource::DisplayName,
        );
    }
    for (alias, code) in ALIASES {
        // The alias list only names codes celes has (a test checks); the 'static code comes
        // from celes.
        if let Some(country) = list.iter().find(|c| c.alpha2 == *code) {
            push(alias, country.alpha2, KeySource::Alias);
        }
    }
    for country in &list {
        push(country.code, country.alpha2, KeySource::Numeric);
        push(country.alpha3, country.alpha2, KeySource::Alpha3);
        push(country.alpha2, country.alpha2, KeySource::Alpha2);
    }
    entries
}

/// Every (normalised key, alpha-2) of keshvar's translated and unofficial names; a key that
/// names two countries (in different languages) is dropped.
fn translated_keys(list: &[celes::Country]) -> Vec<(String, &'static str)> {
    let mut keys: Vec<(String, &'static str)> = Vec::new();
    let mut ambiguous: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut seen: HashMap<String, &'static str> = HashMap::new();
    for country in keshvar::CountryIterator::new() {
        let alpha2 = country.alpha2().to_string();
        let Some(code) = list.iter().find(|c| c.alpha2 == alpha2).map(|c| c.alpha2) else {
            continue;
        };
        let translations = country.translations();
        let names = TRANSLATION_LANGUAGES
            .iter()
            .filter_map(|language| translations.get(language).copied())
            .chain(country.unofficial_name_list().iter().copied())
            .chain([country.iso_short_name(), country.iso_long_name()]);
        for name in names {
            let Some(key) = normalize_to_string(name) else {
                continue;
            };
            match seen.get(&key) {
                Some(other) if *other != code => {
                    ambiguous.insert(key);
                }
                Some(_) => {}
                None => {
                    seen.insert(key.clone(), code);
                    keys.push((key, code));
                }
            }
        }
    }
    keys.retain(|(key, _)| !ambiguous.contains(key));
    keys
}

fn build() -> Countries {
    let mut lookup = HashMap::new();
    for (key, code, _) in key_entries() {
        lookup.insert(key.into_boxed_str(), code);
    }
    let list = celes::Country::get_countries();
    let names: HashMap<&'static str, String> = list
        .iter()
        .map(|country| (country.alpha2, display_name(country)))
        .collect();
    Countries { lookup, names }
}

/// The display name of a celes country: our override, else its name tidied (no leading
/// "The", lower-case "and", "of", "the", "da").
fn display_name(country: &celes::Country) -> String {
    if let Some((_, name)) = DISPLAY_NAMES
        .iter()
        .find(|(code, _)| *code == country.alpha2)
    {
        return (*name).to_owned();
    }
    let name = country
        .long_name
        .strip_prefix("The ")
        .unwrap_or(country.long_name);
    name.replace(" And ", " and ")
        .replace(" Of ", " of ")
        .replace(" The ", " the ")
        .replace(" Da ", " da ")
}

/// Resolve a free-text country value (alpha-2, alpha-3, English name or a common alias such as
/// `USA`, `U.S.`, `UK`, `Great Britain`, `Deutschland`) to its upper-case alpha-2 code.
/// Case, surrounding space and punctuation do not matter. `None` when unknown.
///
/// Also accepts ISO 3166-1 numeric codes (`276` → `DE`). Two-letter input is read as an
/// alpha-2 code in any case (`de` → `DE`).
pub fn resolve_country(value: &str) -> Option<&'static str> {
    let mut buffer = [0u8; MAX_KEY_BYTES];
    let len = normalize(value, &mut buffer)?;
    // ok: normalize writes only ASCII letters and digits.
    let key = std::str::from_utf8(&buffer[..len]).ok()?;
    countries().lookup.get(key).copied()
}

/// Whether `code` is an assigned ISO 3166-1 alpha-2 code (upper case). `XK` (Kosovo, in
/// common use though user-assigned) counts.
pub fn is_alpha2(code: &str) -> bool {
    code.len() == 2
        && code.bytes().all(|b| b.is_ascii_uppercase())
        && countries().names.contains_key(code)
}

/// The English short name of an alpha-2 code, for display (`DE` → `Germany`). The code may be
/// in any case.
pub fn country_name(code: &str) -> Option<&'static str> {
    let bytes = code.as_bytes();
    if bytes.len() != 2 {
        return None;
    }
    let upper = [bytes[0].to_ascii_uppercase(), bytes[1].to_ascii_uppercase()];
    let upper = std::str::from_utf8(&upper).ok()?;
    countries().names.get(upper).map(String::as_str)
}

/// Every country as (alpha-2, English name), sorted by name, for pickers.
pub fn all_countries() -> Vec<(&'static str, &'static str)> {
    static SORTED: OnceLock<Vec<(&'static str, &'static str)>> = OnceLock::new();
    SORTED
        .get_or_init(|| {
            let mut all: Vec<(&'static str, &'static str)> = countries()
                .names
                .iter()
                .map(|(code, name)| (*code, name.as_str()))
                .collect();
            all.sort_by_cached_key(|(code, name)| (sort_key(name), *code));
            all
        })
        .clone()
}

/// Names sort ignoring accents and case (`Åland` next to `Albania`).
fn sort_key(name: &str) -> String {
    normalize_to_string(name).unwrap_or_else(|| name.to_lowercase())
}

/// [`normalize`] into a `String` (for building the table).
fn normalize_to_string(value: &str) -> Option<String> {
    let mut buffer = [0u8; MAX_KEY_BYTES];
    let len = normalize(value, &mut buffer)?;
    Some(String::from_utf8_lossy(&buffer[..len]).into_owned())
}

/// Normalise a country value into `out`: lower-case ASCII letters and digits only (see the
/// module docs). Returns the length, or `None` when the value is empty after normalising,
/// too long, or has characters that are not Latin letters, digits or punctuation.
pub fn normalize(value: &str, out: &mut [u8; MAX_KEY_BYTES]) -> Option<usize> {
    let mut len = 0;
    let mut word = [0u8; MAX_KEY_BYTES];
    let mut word_len = 0;
    // Commit the current word: drop "the", expand "st" to "saint".
    let flush = |word: &[u8], out: &mut [u8; MAX_KEY_BYTES], len: &mut usize| -> Option<()> {
        let text: &[u8] = match word {
            b"the" => b"",
            b"st" => b"saint",
            other => other,
        };
        let end = len.checked_add(text.len())?;
        out.get_mut(*len..end)?.copy_from_slice(text);
        *len = end;
        Some(())
    };
    for c in value.chars() {
        let folded: &[u8] = match c {
            'a'..='z' | '0'..='9' => {
                let byte = c as u8;
                // Push one byte.
                *word.get_mut(word_len)? = byte;
                word_len += 1;
                continue;
            }
            'A'..='Z' => {
                *word.get_mut(word_len)? = c.to_ascii_lowercase() as u8;
                word_len += 1;
                continue;
            }
            // Apostrophes join (`d'Ivoire` → `divoire`); combining accents are dropped.
            '\'' | '\u{2019}' | '\u{2018}' | '`' | '\u{00B4}' | '\u{0300}'..='\u{036F}' => continue,
            '&' => {
                flush(&word[..word_len], out, &mut len)?;
                word_len = 0;
                flush(b"and", out, &mut len)?;
                continue;
            }
            c if c.is_ascii() || c.is_whitespace() || matches!(c, '\u{2010}'..='\u{2015}') => {
                flush(&word[..word_len], out, &mut len)?;
                word_len = 0;
                continue;
            }
            other => fold_latin(other)?,
        };
        let end = word_len + folded.len();
        for (slot, byte) in word.get_mut(word_len..end)?.iter_mut().zip(folded) {
            *slot = byte.to_ascii_lowercase();
        }
        word_len = end;
    }
    flush(&word[..word_len], out, &mut len)?;
    (len > 0).then_some(len)
}

/// Fold a Latin letter with a diacritic (either case) to ASCII letters (`é` → `e`, `ß` → `ss`,
/// `Æ` → `AE`; the caller lower-cases); `None` for letters of other scripts. The transliteration
/// is deunicode's.
fn fold_latin(c: char) -> Option<&'static [u8]> {
    // Latin-1 Supplement, Latin Extended-A/B and Latin Extended Additional only.
    if !matches!(c as u32, 0x00C0..=0x024F | 0x1E00..=0x1EFF) || !c.is_alphabetic() {
        return None;
    }
    let ascii = deunicode::deunicode_char(c)?;
    (!ascii.is_empty() && ascii.bytes().all(|b| b.is_ascii_alphabetic()))
        .then_some(ascii.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_required_alias_resolves() {
        let cases: &[(&str, &str)] = &[
            ("USA", "US"),
            ("U.S.", "US"),
            ("U.S.A.", "US"),
            ("United States of America", "US"),
            ("United States", "US"),
            ("America", "US"),
            ("UK", "GB"),
            ("U.K.", "GB"),
            ("Great Britain", "GB"),
            ("Britain", "GB"),
            ("England", "GB"),
            ("Scotland", "GB"),
            ("Wales", "GB"),
            ("Northern Ireland", "GB"),
            ("United Kingdom", "GB"),
            ("Deutschland", "DE"),
            ("Holland", "NL"),
            ("The Netherlands", "NL"),
            ("Netherlands", "NL"),
            ("España", "ES"),
            ("Espana", "ES"),
            ("Italia", "IT"),
            ("Brasil", "BR"),
            ("Russia", "RU"),
            ("South Korea", "KR"),
            ("Korea, Republic of", "KR"),
            ("Korea", "KR"),
            ("North Korea", "KP"),
            ("Czechia", "CZ"),
            ("Czech Republic", "CZ"),
            ("Ivory Coast", "CI"),
            ("Côte d'Ivoire", "CI"),
            ("Cote d’Ivoire", "CI"),
            ("Co\u{0302}te d'Ivoire", "CI"),
            ("UAE", "AE"),
            ("Vietnam", "VN"),
            ("Viet Nam", "VN"),
            ("Türkiye", "TR"),
            ("Turkey", "TR"),
            ("Iran", "IR"),
            ("Syria", "SY"),
            ("Laos", "LA"),
            ("Bolivia", "BO"),
            ("Venezuela", "VE"),
            ("Tanzania", "TZ"),
            ("Moldova", "MD"),
            ("Macedonia", "MK"),
            ("North Macedonia", "MK"),
            ("Swaziland", "SZ"),
            ("Eswatini", "SZ"),
            ("Burma", "MM"),
            ("Myanmar", "MM"),
            ("Cape Verde", "CV"),
            ("Cabo Verde", "CV"),
            ("Vatican", "VA"),
            ("Palestine", "PS"),
            ("Taiwan", "TW"),
            ("Hong Kong", "HK"),
            ("Macau", "MO"),
            ("Macao", "MO"),
            ("Kosovo", "XK"),
        ];
        for (input, code) in cases {
            assert_eq!(resolve_country(input), Some(*code), "{input}");
        }
    }

    /// Names a person writes in the languages Mixport's users export in, from the dataset.
    #[test]
    fn names_in_other_languages_resolve() {
        let cases: &[(&str, &str)] = &[
            // German
            ("Vereinigte Staaten", "US"),
            ("Italien", "IT"),
            ("Niederlande", "NL"),
            ("Vereinigtes Königreich", "GB"),
            ("Frankreich", "FR"),
            ("Österreich", "AT"),
            ("Spanien", "ES"),
            ("Schweden", "SE"),
            // French
            ("Allemagne", "DE"),
            ("États-Unis", "US"),
            ("Etats-Unis", "US"),
            ("Royaume-Uni", "GB"),
            ("Pays-Bas", "NL"),
            ("Espagne", "ES"),
            // Spanish
            ("Alemania", "DE"),
            ("Reino Unido", "GB"),
            ("Países Bajos", "NL"),
            ("Francia", "FR"),
            // Italian
            ("Germania", "DE"),
            ("Stati Uniti", "US"),
            ("Regno Unito", "GB"),
            ("Paesi Bassi", "NL"),
            ("Svizzera", "CH"),
            // Portuguese
            ("Alemanha", "DE"),
            ("Estados Unidos", "US"),
            ("Países Baixos", "NL"),
            ("França", "FR"),
            // Dutch
            ("Duitsland", "DE"),
            ("Verenigde Staten", "US"),
            ("Verenigd Koninkrijk", "GB"),
            ("Frankrijk", "FR"),
            ("België", "BE"),
            // Abbreviations
            ("USA", "US"),
            ("U.S.", "US"),
            ("UK", "GB"),
            ("GB", "GB"),
            ("UAE", "AE"),
            ("BRD", "DE"),
            ("Schweiz", "CH"),
            ("Suisse", "CH"),
            ("EE. UU.", "US"),
        ];
        for (input, code) in cases {
            assert_eq!(resolve_country(input), Some(*code), "{input}");
        }
    }

    #[test]
    fn codes_and_names_from_celes_resolve() {
        for country in celes::Country::get_countries() {
            let code = country.alpha2;
            assert_eq!(resolve_country(code), Some(code), "alpha-2 {code}");
            assert_eq!(resolve_country(&code.to_lowercase()), Some(code));
            assert_eq!(
                resolve_country(country.alpha3),
                Some(code),
                "alpha-3 of {code}"
            );
            assert_eq!(
                resolve_country(country.code),
                Some(code),
                "numeric of {code}"
            );
            assert_eq!(
                resolve_country(country.long_name),
                Some(code),
                "{}",
                country.long_name
            );
            let display = country_name(code).unwrap();
            assert_eq!(
                resolve_country(display),
                Some(code),
                "display name {display}"
            );
            assert!(is_alpha2(code));
        }
    }

    #[test]
    fn case_space_dots_and_the_do_not_matter() {
        for input in [
            "germany",
            "GERMANY",
            "  Germany\t",
            "Germany.",
            "the germany",
            "Germany, The",
        ] {
            assert_eq!(resolve_country(input), Some("DE"), "{input}");
        }
        assert_eq!(resolve_country(" u.s.a "), Some("US"));
        assert_eq!(resolve_country("United-States"), Some("US"));
        assert_eq!(resolve_country("Bosnia & Herzegovina"), Some("BA"));
        assert_eq!(resolve_country("Trinidad & Tobago"), Some("TT"));
        assert_eq!(resolve_country("St. Lucia"), Some("LC"));
        assert_eq!(resolve_country("St Kitts and Nevis"), Some("KN"));
        assert_eq!(
            resolve_country("Saint Vincent and the Grenadines"),
            Some("VC")
        );
        assert_eq!(resolve_country("Guinea-Bissau"), Some("GW"));
        assert_eq!(resolve_country("Curaçao"), Some("CW"));
        assert_eq!(resolve_country("Réunion"), Some("RE"));
        assert_eq!(resolve_country("São Tomé and Príncipe"), Some("ST"));
        assert_eq!(resolve_country("ÖSTERREICH"), Some("AT"));
        assert_eq!(resolve_country("Åland Islands"), Some("AX"));
        assert_eq!(
            resolve_country("Democratic Republic of the Congo"),
            Some("CD")
        );
        assert_eq!(resolve_country("Republic of the Congo"), Some("CG"));
        assert_eq!(resolve_country("Samoa"), Some("WS"));
        assert_eq!(resolve_country("American Samoa"), Some("AS"));
        assert_eq!(resolve_country("Niger"), Some("NE"));
        assert_eq!(resolve_country("Nigeria"), Some("NG"));
        assert_eq!(resolve_country("Dominica"), Some("DM"));
        assert_eq!(resolve_country("Dominican Republic"), Some("DO"));
        assert_eq!(resolve_country("Ireland"), Some("IE"));
    }

    #[test]
    fn unknown_values() {
        for input in [
            "",
            "   ",
            "...",
            "Atlantis",
            "XX",
            "Россия",
            "日本",
            "the",
            "U",
            "Europe",
            "123456",
        ] {
            assert_eq!(resolve_country(input), None, "{input}");
        }
        let long = "a".repeat(500);
        assert_eq!(resolve_country(&long), None);
    }

    #[test]
    fn every_alias_names_a_known_code_and_no_keys_conflict() {
        for (alias, code) in ALIASES {
            assert!(is_alpha2(code), "{alias} → {code}");
            assert_eq!(resolve_country(alias), Some(*code), "{alias}");
        }
        // Names, display names, our aliases and codes never disagree about a key; only celes's
        // own aliases are overridden (e.g. its "Samoa" alias of American Samoa).
        let mut seen: HashMap<String, (&str, KeySource)> = HashMap::new();
        let mut overridden = Vec::new();
        let mut translated = Vec::new();
        for (key, code, source) in key_entries() {
            if let Some((other, other_source)) = seen.get(&key)
                && *other != code
            {
                if *other_source == KeySource::Translation {
                    translated.push(format!("{key}: {other} -> {code}"));
                } else if *other_source == KeySource::CelesAlias {
                    overridden.push(key.clone());
                } else {
                    panic!("key {key}: {other} ({other_source:?}) vs {code} ({source:?})");
                }
            }
            seen.insert(key, (code, source));
        }
        assert_eq!(overridden, vec!["samoa".to_owned()]);
        // A translated name that means another country in English or as a code loses.
        translated.sort();
        assert_eq!(translated, vec!["samoa: WS -> AS".to_owned()]);
    }

    #[test]
    fn alpha2_checks() {
        assert!(is_alpha2("DE"));
        assert!(is_alpha2("XK"));
        assert!(!is_alpha2("de"));
        assert!(!is_alpha2("DEU"));
        assert!(!is_alpha2("ZZ"));
        assert!(!is_alpha2(""));
    }

    #[test]
    fn names_for_display() {
        assert_eq!(country_name("DE"), Some("Germany"));
        assert_eq!(country_name("de"), Some("Germany"));
        assert_eq!(country_name("GB"), Some("United Kingdom"));
        assert_eq!(country_name("US"), Some("United States"));
        assert_eq!(country_name("CI"), Some("Côte d'Ivoire"));
        assert_eq!(country_name("VC"), Some("Saint Vincent and the Grenadines"));
        assert_eq!(country_name("IM"), Some("Isle of Man"));
        assert_eq!(country_name("NL"), Some("Netherlands"));
        assert_eq!(country_name("XK"), Some("Kosovo"));
        assert_eq!(country_name("ZZ"), None);
        assert_eq!(country_name("DEU"), None);
        assert_eq!(country_name("Ü"), None);
    }

    #[test]
    fn all_countries_sorted_by_name() {
        let all = all_countries();
        assert_eq!(all.len(), celes::Country::get_countries().len());
        assert_eq!(all.first().map(|c| c.0), Some("AF"));
        let keys: Vec<String> = all.iter().map(|(_, name)| sort_key(name)).collect();
        assert!(keys.windows(2).all(|w| w[0] <= w[1]));
        let aland = all.iter().position(|c| c.0 == "AX").unwrap();
        let albania = all.iter().position(|c| c.0 == "AL").unwrap();
        assert_eq!(aland + 1, albania, "Åland sorts before Albania");
        assert!(
            all.iter()
                .all(|(code, name)| is_alpha2(code) && !name.is_empty())
        );
    }

    proptest::proptest! {
        #[test]
        fn resolve_country_never_panics(value in "\\PC{0,80}") {
            let _ = resolve_country(&value);
            let _ = country_name(&value);
            let _ = is_alpha2(&value);
        }
    }
}
