//! Tests of the record → event transform.

use super::*;
use crate::mapping::typing::PropertyType;
use crate::mapping::{ColumnMapping, CountryMapping, InsertIdSource, ValueSource};

/// 2025-06-01T00:00:00Z.
const NOW_MS: i64 = 1_748_736_000_000;

fn options() -> TransformOptions {
    TransformOptions {
        now_ms: NOW_MS,
        retention_days: 5 * 365,
    }
}

fn cols(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

fn text_record(row: u64, cells: &[&str]) -> Record {
    Record {
        row,
        cells: cells
            .iter()
            .map(|c| {
                if c.is_empty() {
                    Cell::Text(String::new())
                } else {
                    Cell::Text((*c).to_owned())
                }
            })
            .collect(),
        ..Record::default()
    }
}

/// event, user, time, id, country, plan, price columns.
fn base_mapping() -> (Mapping, Vec<String>) {
    let columns = cols(&["event", "user", "time", "id", "country", "plan", "price"]);
    let mapping = Mapping {
        event: Some(ValueSource::Column("event".into())),
        distinct_id: Some("user".into()),
        time: crate::mapping::TimeMapping {
            column: Some("time".into()),
            ..Default::default()
        },
        insert_id: InsertIdSource::Column("id".into()),
        country: Some(CountryMapping {
            column: "country".into(),
            overrides: [("Atlantis".to_owned(), "GR".to_owned())].into(),
        }),
        columns: vec![
            ColumnMapping {
                column: "plan".into(),
                ..Default::default()
            },
            ColumnMapping {
                column: "price".into(),
                kind: PropertyType::Number,
                ..Default::default()
            },
        ],
        constants: [(
            "mixport_import".to_owned(),
            serde_json::Value::String("test".into()),
        )]
        .into(),
        ..Mapping::default()
    };
    (mapping, columns)
}

fn run(mapping: &Mapping, columns: &[String], record: &Record) -> Transformed {
    let mut t = Transformer::new(mapping, columns, options()).unwrap();
    let mut out = Transformed::default();
    t.transform(record, &mut out);
    out
}

fn kinds(out: &Transformed) -> Vec<IssueKind> {
    out.issues.iter().map(|i| i.kind).collect()
}

fn good() -> [&'static str; 7] {
    [
        "Purchase",
        "u1",
        "2024-03-05T14:07:00Z",
        "abc-123",
        "Germany",
        "pro",
        "39.77",
    ]
}

fn with(index: usize, value: &'static str) -> Record {
    let mut cells = good();
    cells[index] = value;
    text_record(5, &cells)
}

#[test]
fn writes_the_exact_event_json() {
    let (mapping, columns) = base_mapping();
    let out = run(&mapping, &columns, &text_record(2, &good()));
    assert!(out.issues.is_empty(), "{:?}", out.issues);
    assert_eq!(
        String::from_utf8(out.json.clone()).unwrap(),
        r#"{"event":"Purchase","properties":{"time":1709647620000,"distinct_id":"u1","$insert_id":"abc-123","mp_country_code":"DE","plan":"pro","price":39.77,"mixport_import":"test"}}"#
    );
    let parsed: serde_json::Value = serde_json::from_slice(&out.json).unwrap();
    assert_eq!(parsed["properties"]["price"], serde_json::json!(39.77));
    assert_eq!(out.time_ms, 1_709_647_620_000);
    assert_eq!(out.row, 2);
    assert!(out.is_valid());
}

#[test]
fn empty_cells_are_omitted_and_text_is_escaped() {
    let (mapping, columns) = base_mapping();
    let out = run(&mapping, &columns, &{
        let mut r = with(5, "");
        r.cells[0] = Cell::Text("Say \"hi\"\n".into());
        r.cells[4] = Cell::Missing;
        r
    });
    let json = String::from_utf8(out.json).unwrap();
    assert!(!json.contains("\"plan\""), "{json}");
    assert!(!json.contains("mp_country_code"), "{json}");
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["event"], "Say \"hi\"");
}

#[test]
fn empty_event_name_is_an_error() {
    let (mapping, columns) = base_mapping();
    let out = run(&mapping, &columns, &with(0, "  "));
    assert_eq!(kinds(&out), vec![IssueKind::EmptyEventName]);
    assert_eq!(out.issues[0].field, "event");
    assert_eq!(out.issues[0].column.as_deref(), Some("event"));
    assert_eq!(out.issues[0].row, 5);
    assert!(!out.is_valid());
}

#[test]
fn empty_user_is_an_error_unless_allowed() {
    let (mut mapping, columns) = base_mapping();
    let out = run(&mapping, &columns, &with(1, ""));
    assert_eq!(kinds(&out), vec![IssueKind::MissingUserId]);
    assert_eq!(out.issues[0].field, "properties.distinct_id");
    mapping.allow_missing_user = true;
    let out = run(&mapping, &columns, &with(1, ""));
    assert!(out.is_valid());
    assert!(
        String::from_utf8(out.json)
            .unwrap()
            .contains(r#""distinct_id":"""#)
    );
}

#[test]
fn banned_user_ids_are_errors() {
    let (mapping, columns) = base_mapping();
    for v in [
        "null",
        "Anonymous",
        "0",
        "00000000-0000-0000-0000-000000000000",
    ] {
        let out = run(&mapping, &columns, &with(1, v));
        assert_eq!(kinds(&out), vec![IssueKind::BannedDistinctId], "{v}");
        assert!(out.issues[0].message.contains(v));
    }
}

#[test]
fn time_rules() {
    let (mapping, columns) = base_mapping();
    let cases = [
        ("", IssueKind::MissingTime),
        ("not a date", IssueKind::UnparsableTime),
        ("1970-06-01T00:00:00Z", IssueKind::TimeTooOld),
        ("2025-06-01T02:00:00Z", IssueKind::TimeInFuture),
        ("2019-01-01T00:00:00Z", IssueKind::OlderThanRetention),
    ];
    for (value, kind) in cases {
        let out = run(&mapping, &columns, &with(2, value));
        assert_eq!(kinds(&out), vec![kind], "{value}");
        assert_eq!(out.issues[0].field, "properties.time");
        assert_eq!(out.issues[0].column.as_deref(), Some("time"));
    }
    // 30 minutes ahead is fine.
    let out = run(&mapping, &columns, &with(2, "2025-06-01T00:30:00Z"));
    assert!(out.issues.is_empty(), "{:?}", out.issues);
    // Retention is a warning: still valid.
    assert!(run(&mapping, &columns, &with(2, "2019-01-01T00:00:00Z")).is_valid());
}

#[test]
fn insert_id_rules() {
    let (mapping, columns) = base_mapping();
    let legal = |id: &str| {
        !id.is_empty()
            && id.len() <= 36
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !crate::validate::is_banned_id(id)
    };
    // Unique but illegal for Mixpanel: turned into a legal ID by a stable hash, with a warning.
    for value in [
        "a234567890123456789012345678901234567",
        "abc_123",
        "ajs-next-1700000000000-5f0c8e2e-1b2c-4d5e-8f90-a1b2c3d4e5f6",
        "msg:42",
    ] {
        let out = run(&mapping, &columns, &with(3, value));
        assert_eq!(kinds(&out), vec![IssueKind::InsertIdHashed], "{value}");
        assert!(out.is_valid());
        assert_eq!(out.issues[0].field, "properties.$insert_id");
        assert!(
            out.issues[0].message.contains("stable hash"),
            "{}",
            out.issues[0].message
        );
        assert!(legal(&out.insert_id), "{}", out.insert_id);
        // Stable: the same value gives the same ID on every run (re-imports deduplicate) ...
        let again = run(&mapping, &columns, &with(3, value));
        assert_eq!(again.insert_id, out.insert_id);
        // ... and it depends on the value alone, not on the rest of the row.
        let mut cells = good();
        cells[3] = value;
        cells[5] = "basic";
        let other_row = run(&mapping, &columns, &text_record(9, &cells));
        assert_eq!(other_row.insert_id, out.insert_id);
    }
    assert_ne!(
        run(&mapping, &columns, &with(3, "abc_123")).insert_id,
        run(&mapping, &columns, &with(3, "abc_124")).insert_id
    );
    // Placeholders never become insert IDs: the ID is derived from the row, with a warning.
    for value in ["null", "undefined", "0", "None"] {
        let out = run(&mapping, &columns, &with(3, value));
        assert_eq!(kinds(&out), vec![IssueKind::InsertIdPlaceholder], "{value}");
        assert!(out.is_valid());
        assert!(legal(&out.insert_id));
        assert_ne!(out.insert_id.to_lowercase(), value.to_lowercase());
    }
    // An empty id cell falls back to a derived id, silently.
    let out = run(&mapping, &columns, &with(3, ""));
    assert!(out.issues.is_empty(), "{:?}", out.issues);
    assert!(legal(&out.insert_id));
    // A legal id is sent as it is.
    assert_eq!(
        run(&mapping, &columns, &with(3, "abc-123")).insert_id,
        "abc-123"
    );
}

#[test]
fn a_new_generation_changes_every_insert_id_and_generation_zero_none() {
    // Insert ids from a column (base mapping) and generated ones.
    let (column_mapping, columns) = base_mapping();
    let mut generated = column_mapping.clone();
    generated.insert_id = InsertIdSource::Generate;
    for mapping in [column_mapping, generated] {
        let zero = run(&mapping, &columns, &text_record(2, &good()));
        let mut first = mapping.clone();
        first.insert_id_generation = 1;
        let one = run(&first, &columns, &text_record(2, &good()));
        let mut second = mapping.clone();
        second.insert_id_generation = 2;
        let two = run(&second, &columns, &text_record(2, &good()));
        assert!(zero.is_valid() && one.is_valid() && two.is_valid());
        assert_ne!(zero.insert_id, one.insert_id);
        assert_ne!(one.insert_id, two.insert_id);
        assert_eq!(
            one.insert_id,
            run(&first, &columns, &text_record(2, &good())).insert_id
        );
        assert_eq!(crate::validate::check_insert_id(&one.insert_id), Ok(()));
        // Only the id changes.
        let strip = |json: &[u8]| {
            String::from_utf8_lossy(json)
                .replace(&zero.insert_id, "")
                .replace(&one.insert_id, "")
        };
        assert_eq!(strip(&zero.json), strip(&one.json));
    }
    // An ID Mixpanel would refuse is sent hashed; a new generation changes that too.
    let (mapping, columns) = base_mapping();
    let mut first = mapping.clone();
    first.insert_id_generation = 1;
    let hashed = run(&mapping, &columns, &with(3, "abc_123")).insert_id;
    let salted = run(&first, &columns, &with(3, "abc_123")).insert_id;
    assert_ne!(hashed, salted);
    assert_eq!(crate::validate::check_insert_id(&salted), Ok(()));
    // Generation 0 is what the mapping always produced: the column's own id.
    let (mapping, columns) = base_mapping();
    assert_eq!(
        run(&mapping, &columns, &text_record(2, &good())).insert_id,
        "abc-123"
    );
}

#[test]
fn derived_insert_ids_are_deterministic_and_differ_by_content() {
    let (mut mapping, columns) = base_mapping();
    mapping.insert_id = InsertIdSource::Generate;
    let a = run(&mapping, &columns, &text_record(2, &good()));
    let b = run(&mapping, &columns, &text_record(2, &good()));
    assert_eq!(a.json, b.json);
    assert_eq!(a.insert_id, b.insert_id);
    let c = run(&mapping, &columns, &with(5, "basic"));
    assert_ne!(a.insert_id, c.insert_id);
}

#[test]
fn unknown_country_warns_and_overrides_apply() {
    let (mapping, columns) = base_mapping();
    let out = run(&mapping, &columns, &with(4, "Narnia"));
    assert_eq!(kinds(&out), vec![IssueKind::UnknownCountry]);
    assert!(out.is_valid());
    assert!(
        !String::from_utf8(out.json)
            .unwrap()
            .contains("mp_country_code")
    );
    let out = run(&mapping, &columns, &with(4, "Atlantis"));
    assert!(out.issues.is_empty());
    assert!(
        String::from_utf8(out.json)
            .unwrap()
            .contains(r#""mp_country_code":"GR""#)
    );
    let out = run(&mapping, &columns, &with(4, "usa"));
    assert!(
        String::from_utf8(out.json)
            .unwrap()
            .contains(r#""mp_country_code":"US""#)
    );
}

#[test]
fn type_mismatch_is_sent_as_text_with_a_warning() {
    let (mapping, columns) = base_mapping();
    let out = run(&mapping, &columns, &with(6, "free"));
    assert_eq!(kinds(&out), vec![IssueKind::TypeMismatch]);
    assert!(out.is_valid());
    assert!(
        String::from_utf8(out.json)
            .unwrap()
            .contains(r#""price":"free""#)
    );
}

#[test]
fn long_strings_warn() {
    let (mapping, columns) = base_mapping();
    let long: &'static str = Box::leak("é".repeat(256).into_boxed_str());
    let out = run(&mapping, &columns, &with(5, long));
    assert_eq!(kinds(&out), vec![IssueKind::StringTruncated]);
    let exactly: &'static str = Box::leak("é".repeat(255).into_boxed_str());
    assert!(run(&mapping, &columns, &with(5, exactly)).issues.is_empty());
}

#[test]
fn identity_events_warn() {
    let (mapping, columns) = base_mapping();
    let out = run(&mapping, &columns, &with(0, "$identify"));
    assert_eq!(kinds(&out), vec![IssueKind::IdentityEvent]);
    assert!(out.is_valid());
}

#[test]
fn invalid_utf8_cells_are_errors() {
    let (mapping, columns) = base_mapping();
    let mut record = text_record(3, &good());
    record.cells[5] = Cell::InvalidUtf8("pr\u{FFFD}".into());
    let out = run(&mapping, &columns, &record);
    assert_eq!(kinds(&out), vec![IssueKind::InvalidUtf8]);
    assert_eq!(out.issues[0].field, "properties.plan");
    let mut record = text_record(3, &good());
    record.cells[0] = Cell::InvalidUtf8("\u{FFFD}".into());
    let out = run(&mapping, &columns, &record);
    assert_eq!(kinds(&out), vec![IssueKind::InvalidUtf8]);
    assert_eq!(out.issues[0].field, "event");
}

#[test]
fn malformed_record_is_one_error() {
    let (mapping, columns) = base_mapping();
    let record = Record {
        row: 9,
        error: Some("expected value at column 3".into()),
        ..Record::default()
    };
    let out = run(&mapping, &columns, &record);
    assert_eq!(kinds(&out), vec![IssueKind::MalformedRecord]);
    assert!(out.issues[0].message.contains("expected value"));
}

#[test]
fn short_rows_warn_and_long_rows_are_rejected_with_the_surplus_shown() {
    let (mapping, columns) = base_mapping();
    // Short: the missing cells are left out, with a warning.
    let mut short = text_record(3, &good()[..6]);
    short.ragged = Some(6);
    let out = run(&mapping, &columns, &short);
    assert_eq!(kinds(&out), vec![IssueKind::RaggedRow]);
    assert!(out.is_valid());
    // Long: the values cannot be attributed to columns (usually an unquoted delimiter).
    let mut long = text_record(4, &good());
    long.ragged = Some(9);
    long.extra
        .push(("column_8".into(), Cell::Text("50".into())));
    long.extra
        .push(("column_9".into(), Cell::Text("EUR".into())));
    let out = run(&mapping, &columns, &long);
    assert_eq!(kinds(&out), vec![IssueKind::ExtraCells]);
    assert!(!out.is_valid());
    let message = &out.issues[0].message;
    assert!(
        message.contains("'50'") && message.contains("'EUR'"),
        "{message}"
    );
    assert!(
        message.contains("9 cells") && message.contains("7 columns"),
        "{message}"
    );
    // A long row whose surplus cells are all empty (a trailing delimiter) loses nothing.
    let mut trailing = text_record(5, &good());
    trailing.ragged = Some(8);
    trailing
        .extra
        .push(("column_8".into(), Cell::Text(String::new())));
    let out = run(&mapping, &columns, &trailing);
    assert!(out.is_valid(), "{:?}", out.issues);
}

#[test]
fn json_values_are_sent_as_they_are_and_limits_apply() {
    let (mut mapping, mut columns) = base_mapping();
    columns.push("meta".into());
    mapping.columns.push(ColumnMapping {
        column: "meta".into(),
        ..Default::default()
    });
    let mut record = text_record(4, &good());
    record
        .cells
        .push(Cell::Json(serde_json::json!({"a": [1, 2], "b": true})));
    let out = run(&mapping, &columns, &record);
    assert!(out.issues.is_empty());
    assert!(
        String::from_utf8(out.json.clone())
            .unwrap()
            .contains(r#""meta":{"a":[1,2],"b":true}"#)
    );
    record.cells[7] = Cell::Json(serde_json::json!({"a": {"b": {"c": {"d": 1}}}}));
    assert_eq!(
        kinds(&run(&mapping, &columns, &record)),
        vec![IssueKind::NestingTooDeep]
    );
    record.cells[7] = Cell::Json(serde_json::json!({"a": {"b": {"c": 1}}}));
    assert!(run(&mapping, &columns, &record).issues.is_empty());
    record.cells[7] = Cell::Json(serde_json::Value::Array(vec![1.into(); 255]));
    assert_eq!(
        kinds(&run(&mapping, &columns, &record)),
        vec![IssueKind::ListTooLong]
    );
    record.cells[7] = Cell::Json(serde_json::Value::Array(vec![1.into(); 254]));
    assert!(run(&mapping, &columns, &record).issues.is_empty());
}

/// A JSON number or boolean keeps its type under the default (Text, "as the JSON has it"), and
/// is converted when the user gives its column another type: an epoch number typed Date becomes
/// a date, a 1/0 typed Boolean a boolean, a `true` typed Number a warning and text.
#[test]
fn json_scalars_follow_a_type_the_user_set() {
    let (mut mapping, mut columns) = base_mapping();
    columns.push("meta".into());
    mapping.columns.push(ColumnMapping {
        column: "meta".into(),
        ..Default::default()
    });
    let mut record = text_record(4, &good());
    record.cells.push(Cell::Json(serde_json::json!(1709647620)));
    let sent = |mapping: &Mapping, record: &Record| {
        let out = run(mapping, &columns, record);
        let json: serde_json::Value = serde_json::from_slice(&out.json).unwrap();
        (json["properties"]["meta"].clone(), kinds(&out))
    };
    assert_eq!(
        sent(&mapping, &record),
        (serde_json::json!(1709647620), vec![])
    );
    mapping.columns.last_mut().unwrap().kind = PropertyType::Date;
    assert_eq!(
        sent(&mapping, &record),
        (serde_json::json!("2024-03-05T14:07:00"), vec![])
    );
    mapping.columns.last_mut().unwrap().kind = PropertyType::Boolean;
    record.cells[7] = Cell::Json(serde_json::json!(1));
    assert_eq!(sent(&mapping, &record), (serde_json::json!(true), vec![]));
    mapping.columns.last_mut().unwrap().kind = PropertyType::Number;
    record.cells[7] = Cell::Json(serde_json::json!(12.5));
    assert_eq!(sent(&mapping, &record), (serde_json::json!(12.5), vec![]));
    record.cells[7] = Cell::Json(serde_json::json!(true));
    assert_eq!(
        sent(&mapping, &record),
        (serde_json::json!("true"), vec![IssueKind::TypeMismatch])
    );
    // Objects and lists are never converted.
    record.cells[7] = Cell::Json(serde_json::json!({"a": 1}));
    assert_eq!(
        sent(&mapping, &record),
        (serde_json::json!({"a": 1}), vec![])
    );
}

#[test]
fn too_many_properties_and_too_large() {
    let (mut mapping, mut columns) = base_mapping();
    let mut record = text_record(4, &good());
    // 7 fixed properties already; add columns up to 255.
    for i in 0..248 {
        let name = format!("c{i}");
        columns.push(name.clone());
        mapping.columns.push(ColumnMapping {
            column: name,
            ..Default::default()
        });
        record.cells.push(Cell::Text("v".into()));
    }
    let out = run(&mapping, &columns, &record);
    assert_eq!(kinds(&out), vec![IssueKind::TooManyProperties]);
    record.cells[8] = Cell::Text(String::new());
    assert!(run(&mapping, &columns, &record).issues.is_empty());

    let (mapping, columns) = base_mapping();
    let big: &'static str = Box::leak("x".repeat(1_000_000).into_boxed_str());
    let out = run(&mapping, &columns, &with(5, big));
    assert!(kinds(&out).contains(&IssueKind::EventTooLarge));
    assert!(!out.is_valid());
}

#[test]
fn long_property_names_are_errors() {
    let (mut mapping, columns) = base_mapping();
    mapping.columns[0].rename = Some("n".repeat(256));
    let out = run(&mapping, &columns, &text_record(2, &good()));
    assert_eq!(kinds(&out), vec![IssueKind::PropertyNameTooLong]);
}

#[test]
fn reserved_and_duplicate_names_are_mapping_warnings_and_not_sent() {
    let (mut mapping, columns) = base_mapping();
    mapping.columns[0].rename = Some("$bucket".into());
    mapping.columns[1].rename = Some("time".into());
    let t = Transformer::new(&mapping, &columns, options()).unwrap();
    let issues = t.mapping_issues();
    assert_eq!(issues.len(), 2);
    assert!(
        issues
            .iter()
            .all(|i| i.kind == IssueKind::ReservedName && i.row == 0)
    );
    let out = run(&mapping, &columns, &text_record(2, &good()));
    let json = String::from_utf8(out.json).unwrap();
    assert!(!json.contains("bucket"));
    assert_eq!(json.matches("\"time\"").count(), 1);
}

#[test]
fn mapping_errors() {
    let (mut mapping, columns) = base_mapping();
    mapping.distinct_id = Some("customer".into());
    assert_eq!(
        Transformer::new(&mapping, &columns, options()).unwrap_err(),
        MappingError::UnknownColumn {
            field: "distinct_id".into(),
            column: "customer".into()
        }
    );
    let (mut mapping, columns) = base_mapping();
    mapping.event = None;
    assert!(matches!(
        Transformer::new(&mapping, &columns, options()),
        Err(MappingError::Unmapped { .. })
    ));
    let (mut mapping, columns) = base_mapping();
    mapping.time.column = None;
    assert!(matches!(
        Transformer::new(&mapping, &columns, options()),
        Err(MappingError::Unmapped { .. })
    ));
    let (mut mapping, columns) = base_mapping();
    mapping.distinct_id = None;
    assert!(matches!(
        Transformer::new(&mapping, &columns, options()),
        Err(MappingError::Unmapped { .. })
    ));
    let (mut mapping, columns) = base_mapping();
    mapping
        .country
        .as_mut()
        .unwrap()
        .overrides
        .insert("X".into(), "ZZZ".into());
    assert!(matches!(
        Transformer::new(&mapping, &columns, options()),
        Err(MappingError::BadCountryOverride { .. })
    ));
    let (mut mapping, columns) = base_mapping();
    mapping.time.timezone = "Mars/Olympus".into();
    assert!(Transformer::new(&mapping, &columns, options()).is_err());
}

#[test]
fn constant_event_and_user_id_columns() {
    let (mut mapping, columns) = base_mapping();
    mapping.event = Some(ValueSource::Constant("Signup".into()));
    mapping.distinct_id = None;
    mapping.user_id = Some("user".into());
    let out = run(&mapping, &columns, &text_record(2, &good()));
    assert!(out.issues.is_empty(), "{:?}", out.issues);
    let json = String::from_utf8(out.json).unwrap();
    assert!(json.starts_with(r#"{"event":"Signup","#));
    assert!(json.contains(r#""$user_id":"u1""#));
    assert!(!json.contains("distinct_id"));
}

#[test]
fn settle_day_order_from_sample() {
    let (mut mapping, columns) = base_mapping();
    let sample = vec![with(2, "03/04/2024 10:00"), with(2, "03/25/2024 10:00")];
    settle_day_order(&mut mapping, &columns, &sample).unwrap();
    assert_eq!(mapping.time.day_order, Some(DayOrderAlias::MonthFirst));
    let (mut mapping, columns) = base_mapping();
    let sample = vec![with(2, "03/04/2024 10:00")];
    assert!(matches!(
        settle_day_order(&mut mapping, &columns, &sample),
        Err(MappingError::AmbiguousDayOrder { .. })
    ));
    let (mut mapping, columns) = base_mapping();
    let sample = vec![with(2, "2024-03-04T10:00:00Z")];
    settle_day_order(&mut mapping, &columns, &sample).unwrap();
    assert_eq!(mapping.time.day_order, None);
}

use crate::mapping::DayOrder as DayOrderAlias;

/// Regression (found by the proptest below): a record with no cells at all, on row 0.
#[test]
fn record_without_cells_is_invalid_not_a_panic() {
    let (mut mapping, columns) = base_mapping();
    mapping.insert_id = InsertIdSource::Generate;
    let record = Record {
        row: 0,
        ..Record::default()
    };
    let mut t = Transformer::new(&mapping, &columns, options()).unwrap();
    let mut out = Transformed::default();
    t.transform(&record, &mut out);
    assert!(!out.is_valid());
}

proptest::proptest! {
    // Failures are not persisted to a file; shrunk cases become unit tests like the one above.
    #![proptest_config(proptest::prelude::ProptestConfig {
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]
    #[test]
    fn arbitrary_cells_never_panic(
        cells in proptest::collection::vec(".{0,40}", 0..10),
        invalid in proptest::option::of(0usize..8),
        row in 0u64..1_000_000,
    ) {
        let (mut mapping, columns) = base_mapping();
        mapping.insert_id = InsertIdSource::Generate;
        let mut record = Record {
            row,
            cells: cells.into_iter().map(Cell::Text).collect(),
            ..Record::default()
        };
        if let Some(i) = invalid
            && let Some(cell) = record.cells.get_mut(i)
        {
            *cell = Cell::InvalidUtf8("x\u{FFFD}".into());
        }
        let mut t = Transformer::new(&mapping, &columns, options()).unwrap();
        let mut out = Transformed::default();
        t.transform(&record, &mut out);
        if out.is_valid() {
            let parsed: serde_json::Value = serde_json::from_slice(&out.json).unwrap();
            proptest::prop_assert!(parsed["properties"]["time"].is_i64());
        }
    }
}
