//! Reading a mapping template strictly: a typo must never be silently accepted.
//!
//! A template that names a key the model does not have (`"time_zone"` for `"timezone"`,
//! `"colums"` for `"columns"`), a value that is not one of the allowed words, or a `version`
//! this build does not know is refused with the key's path (`time.time_zone`,
//! `columns[2].typ`) and, when a known key or word is close, a "did you mean". The known keys
//! come from the serde model itself (every mapping struct and enum denies unknown fields, and
//! serde lists the fields it expected), so a field added to the model is known at once.

use serde_json::Value;

use super::{MAPPING_VERSION, Mapping};

/// Why a template's text is not a usable mapping.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateProblem {
    /// Not JSON at all.
    #[error("not valid JSON ({0})")]
    Syntax(String),
    /// JSON, but not an object.
    #[error("a mapping template is a JSON object ({{\"version\": 1, ...}}), not {0}")]
    NotAnObject(&'static str),
    /// A `version` this build cannot read.
    #[error(
        "\"version\": {found} is not supported: this Mixport reads version {MAPPING_VERSION} templates. Make the template again from a new suggestion, or save it again in the app."
    )]
    UnsupportedVersion {
        /// The version found, as written.
        found: String,
    },
    /// A key the model does not have.
    #[error("unknown key \"{key}\" {}{}", at(path, key), hint(suggestion, known))]
    UnknownKey {
        /// The key as written.
        key: String,
        /// Its path, e.g. `time.time_zone`.
        path: String,
        /// The closest known key, when one is close.
        suggestion: Option<String>,
        /// The keys allowed in that object.
        known: Vec<String>,
    },
    /// A value that is not one of the allowed words.
    #[error(
        "\"{value}\" at {path} is not one of the allowed values{}",
        hint(suggestion, known)
    )]
    UnknownValue {
        /// The value as written.
        value: String,
        /// Its path, e.g. `columns[0].type`.
        path: String,
        /// The closest allowed value, when one is close.
        suggestion: Option<String>,
        /// The allowed values.
        known: Vec<String>,
    },
    /// Any other shape problem (a number where text belongs, a missing required part).
    #[error("{path}: {message}")]
    Invalid {
        /// Where, e.g. `time.column`.
        path: String,
        /// serde's description.
        message: String,
    },
}

fn at(path: &str, key: &str) -> String {
    if path == key {
        "at the top level".to_owned()
    } else {
        format!("at {path}")
    }
}

fn hint(suggestion: &Option<String>, known: &[String]) -> String {
    let mut text = String::new();
    if let Some(best) = suggestion {
        text.push_str(&format!(": did you mean \"{best}\"?"));
    }
    if !known.is_empty() {
        let list = known
            .iter()
            .map(|k| format!("\"{k}\""))
            .collect::<Vec<_>>()
            .join(", ");
        text.push_str(&format!(" (allowed here: {list})"));
    }
    text
}

/// Parse a mapping template strictly (see the module docs).
pub fn parse(text: &str) -> Result<Mapping, TemplateProblem> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| TemplateProblem::Syntax(e.to_string()))?;
    let Value::Object(object) = &value else {
        return Err(TemplateProblem::NotAnObject(json_kind(&value)));
    };
    if let Some(version) = object.get("version")
        && version.as_u64() != Some(u64::from(MAPPING_VERSION))
    {
        return Err(TemplateProblem::UnsupportedVersion {
            found: version.to_string(),
        });
    }
    serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        describe(&path, &e.into_inner().to_string())
    })
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Turn serde's message at `path` into a [`TemplateProblem`]. serde words unknown keys as
/// "unknown field `x`, expected one of `a`, `b`" (or "expected `a` or `b`", or "there are no
/// fields") and unknown words as "unknown variant `x`, expected ...".
fn describe(path: &str, message: &str) -> TemplateProblem {
    let path_text = |leaf: &str| {
        if path.is_empty() || path == "." {
            leaf.to_owned()
        } else if path.ends_with(leaf) {
            path.to_owned()
        } else {
            format!("{path}.{leaf}")
        }
    };
    for (prefix, is_key) in [("unknown field `", true), ("unknown variant `", false)] {
        let Some(rest) = message.strip_prefix(prefix) else {
            continue;
        };
        let Some((name, expected)) = rest.split_once('`') else {
            continue;
        };
        let known = backticked(expected);
        let suggestion = closest(name, &known);
        return if is_key {
            TemplateProblem::UnknownKey {
                key: name.to_owned(),
                path: path_text(name),
                suggestion,
                known,
            }
        } else {
            TemplateProblem::UnknownValue {
                value: name.to_owned(),
                path: if path.is_empty() || path == "." {
                    "the top level".to_owned()
                } else {
                    path.to_owned()
                },
                suggestion,
                known,
            }
        };
    }
    // Adjacently tagged enums ({"from": .., "value": ..}) word an extra key as an invalid
    // string value at the key's own path.
    if let Some(rest) = message.strip_prefix("invalid value: string \"")
        && let Some((name, expected)) = rest.split_once("\", expected ")
        && path.rsplit('.').next() == Some(name)
    {
        let known: Vec<String> = expected
            .split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        let suggestion = closest(name, &known);
        return TemplateProblem::UnknownKey {
            key: name.to_owned(),
            path: path.to_owned(),
            suggestion,
            known,
        };
    }
    TemplateProblem::Invalid {
        path: if path.is_empty() || path == "." {
            "the template".to_owned()
        } else {
            path.to_owned()
        },
        message: message.to_owned(),
    }
}

/// The words between backticks in serde's "expected ..." list.
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The known word closest to `word`, when it is close enough to be a typo.
fn closest(word: &str, known: &[String]) -> Option<String> {
    let lower = word.to_lowercase();
    known
        .iter()
        .map(|k| {
            let plain = |s: &str| s.replace(['_', '-', ' '], "");
            let score = if plain(&lower) == plain(&k.to_lowercase()) {
                1.0
            } else {
                strsim::jaro_winkler(&lower, &k.to_lowercase())
            };
            (score, k)
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn refused(text: &str) -> TemplateProblem {
        parse(text).expect_err("the template must be refused")
    }

    #[test]
    fn the_issue_s_typos_are_refused_with_path_and_suggestion() {
        let err = refused(r#"{"version":1,"time":{"column":"ts","time_zone":"Asia/Tokyo"}}"#);
        assert!(
            matches!(&err, TemplateProblem::UnknownKey { path, suggestion, .. }
                if path == "time.time_zone" && suggestion.as_deref() == Some("timezone")),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("did you mean \"timezone\""), "{text}");
        let err = refused(r#"{"version":1,"colums":[]}"#);
        assert!(
            matches!(&err, TemplateProblem::UnknownKey { path, suggestion, .. }
                if path == "colums" && suggestion.as_deref() == Some("columns")),
            "{err:?}"
        );
        let err = refused(r#"{"version":99}"#);
        assert!(err.to_string().contains("99"), "{err}");
        assert!(matches!(err, TemplateProblem::UnsupportedVersion { .. }));
        assert!(matches!(
            refused(r#"{"version":"1"}"#),
            TemplateProblem::UnsupportedVersion { .. }
        ));
    }

    #[test]
    fn nested_keys_and_words_are_checked_everywhere() {
        let err = refused(r#"{"columns":[{"column":"a"},{"column":"b","typ":"number"}]}"#);
        assert!(
            matches!(&err, TemplateProblem::UnknownKey { path, suggestion, .. }
                if path == "columns[1].typ" && suggestion.as_deref() == Some("type")),
            "{err:?}"
        );
        let err = refused(r#"{"columns":[{"column":"a","type":"numbr"}]}"#);
        assert!(
            matches!(&err, TemplateProblem::UnknownValue { path, suggestion, .. }
                if path == "columns[0].type" && suggestion.as_deref() == Some("number")),
            "{err:?}"
        );
        let err = refused(r#"{"country":{"column":"c","overides":{}}}"#);
        assert!(
            matches!(&err, TemplateProblem::UnknownKey { path, .. } if path == "country.overides"),
            "{err:?}"
        );
        let err = refused(r#"{"event":{"from":"column","value":"e","valu":"x"}}"#);
        assert!(
            matches!(&err, TemplateProblem::UnknownKey { .. }),
            "{err:?}"
        );
        let err = refused(r#"{"time":{"format":{"kind":"pattern","patern":"%Y"}}}"#);
        assert!(
            matches!(&err, TemplateProblem::UnknownKey { .. }),
            "{err:?}"
        );
        let err = refused(r#"{"time":{"day_order":"day_frist"}}"#);
        assert!(err.to_string().contains("day_first"), "{err}");
        assert!(matches!(refused("[1]"), TemplateProblem::NotAnObject(_)));
        assert!(matches!(refused("{"), TemplateProblem::Syntax(_)));
        let err = refused(r#"{"time":{"column":5}}"#);
        assert!(
            matches!(&err, TemplateProblem::Invalid { path, .. } if path == "time.column"),
            "{err:?}"
        );
    }

    #[test]
    fn every_saved_mapping_reads_back() {
        let mut mapping = sample_mapping();
        mapping.time.format = super::super::TimeFormat::Pattern("%Y".into());
        mapping.event = Some(super::super::ValueSource::Constant("e".into()));
        let text = serde_json::to_string_pretty(&mapping).unwrap();
        assert_eq!(parse(&text).unwrap(), mapping);
        assert_eq!(
            parse("{}").unwrap(),
            Mapping::default(),
            "every key is optional"
        );
    }

    #[test]
    fn a_template_records_the_insert_id_generation_of_a_correction() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fixed.json");
        let mut mapping = sample_mapping();
        mapping.insert_id_generation = 3;
        mapping.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"insert_id_generation\": 3"), "{text}");
        assert_eq!(Mapping::load(&path).unwrap().insert_id_generation, 3);
        // A first import's template stays as before: no generation key.
        mapping.insert_id_generation = 0;
        mapping.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("insert_id_generation"), "{text}");
        assert_eq!(Mapping::load(&path).unwrap(), mapping);
    }

    /// A mapping with every nested object present.
    fn sample_mapping() -> Mapping {
        Mapping {
            country: Some(super::super::CountryMapping::default()),
            columns: vec![super::super::ColumnMapping::default()],
            event: Some(super::super::ValueSource::Column("e".into())),
            ..Mapping::default()
        }
    }

    /// Any JSON value, nested a few levels, with keys drawn from the model's and from noise.
    fn json_value() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            Just("version".to_owned()),
            Just("time".to_owned()),
            Just("column".to_owned()),
            Just("columns".to_owned()),
            Just("format".to_owned()),
            Just("kind".to_owned()),
            Just("from".to_owned()),
            Just("value".to_owned()),
            Just("type".to_owned()),
            Just("country".to_owned()),
            "[a-z_]{1,12}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[a-z_%]{0,10}".prop_map(Value::String),
            Just(Value::from(1)),
        ];
        leaf.prop_recursive(4, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..6)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever the JSON, parsing never panics; what it accepts serializes back to a
        /// template that parses to the same mapping.
        #[test]
        fn any_json_is_parsed_or_refused_without_panic(value in json_value()) {
            let text = value.to_string();
            if let Ok(mapping) = parse(&text) {
                let again = serde_json::to_string(&mapping).unwrap();
                prop_assert_eq!(parse(&again).unwrap(), mapping);
            }
        }

        /// A key the model does not have, added to any object of a valid template, is refused
        /// with its own name in the message.
        #[test]
        fn an_unknown_key_anywhere_is_refused(
            key in "[a-z]{1,10}_x",
            which in 0usize..64,
        ) {
            let mut value = serde_json::to_value(sample_mapping()).unwrap();
            let mut objects = Vec::new();
            collect_object_paths(&value, &mut Vec::new(), &mut objects);
            let target = &objects[which % objects.len()];
            insert_at(&mut value, target, &key);
            let err = parse(&value.to_string()).expect_err("unknown key accepted");
            prop_assert!(err.to_string().contains(&key), "{}", err);
        }
    }

    fn collect_object_paths(value: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        match value {
            Value::Object(map) => {
                // Free-form maps (overrides, constants) take any key: skip them.
                out.push(here.clone());
                for (k, v) in map {
                    if k == "overrides" || k == "constants" {
                        continue;
                    }
                    here.push(Step::Key(k.clone()));
                    collect_object_paths(v, here, out);
                    here.pop();
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    here.push(Step::Index(i));
                    collect_object_paths(v, here, out);
                    here.pop();
                }
            }
            _ => {}
        }
    }

    #[derive(Debug, Clone)]
    enum Step {
        Key(String),
        Index(usize),
    }

    fn insert_at(value: &mut Value, path: &[Step], key: &str) {
        let mut at = value;
        for step in path {
            at = match step {
                Step::Key(k) => &mut at[k.as_str()],
                Step::Index(i) => &mut at[*i],
            };
        }
        if let Value::Object(map) = at {
            map.insert(key.to_owned(), Value::from(1));
        }
    }
}
