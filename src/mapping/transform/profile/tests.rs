use super::*;
use crate::mapping::transform::settle_day_order;
use crate::mapping::{ColumnMapping, CountryMapping, DayOrder, ProfileMapping};
use serde_json::{Value, json};

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

fn record(row: u64, cells: &[&str]) -> Record {
    Record {
        row,
        cells: cells.iter().map(|c| Cell::Text((*c).to_owned())).collect(),
        ..Record::default()
    }
}

const COLUMNS: [&str; 10] = [
    "customer_id",
    "email",
    "full_name",
    "country",
    "city",
    "signup",
    "plan",
    "ltv",
    "phone",
    "tags",
];

fn good() -> [&'static str; 10] {
    [
        "C-001",
        "ada@example.com",
        "Ada Lovelace",
        "Deutschland",
        "Berlin",
        "05.03.2024 14:07",
        "pro",
        "1299.50",
        "+49 30 1234",
        "a;b",
    ]
}

fn mapping() -> Mapping {
    Mapping {
        kind: ImportKind::Profiles,
        distinct_id: Some("customer_id".into()),
        country: Some(CountryMapping {
            column: "country".into(),
            overrides: [("Atlantis".to_owned(), "GR".to_owned())].into(),
        }),
        city: Some("city".into()),
        columns: vec![
            ColumnMapping {
                column: "plan".into(),
                ..Default::default()
            },
            ColumnMapping {
                column: "ltv".into(),
                rename: Some("lifetime_value".into()),
                kind: PropertyType::Number,
                ..Default::default()
            },
            ColumnMapping {
                column: "tags".into(),
                kind: PropertyType::List,
                ..Default::default()
            },
        ],
        profile: ProfileMapping {
            email: Some("email".into()),
            name: Some("full_name".into()),
            phone: Some("phone".into()),
            created: TimeMapping {
                column: Some("signup".into()),
                timezone: "Europe/Berlin".into(),
                day_order: Some(DayOrder::DayFirst),
                ..TimeMapping::default()
            },
            ..ProfileMapping::default()
        },
        ..Mapping::default()
    }
}

fn run(mapping: &Mapping, cells: &[&str]) -> Transformed {
    let mut t = ProfileTransformer::new(mapping, &cols(&COLUMNS), options()).unwrap();
    let mut out = Transformed::default();
    t.transform(&record(7, cells), &mut out);
    out
}

fn with(index: usize, value: &'static str) -> [&'static str; 10] {
    let mut cells = good();
    cells[index] = value;
    cells
}

fn kinds(out: &Transformed) -> Vec<IssueKind> {
    out.issues.iter().map(|i| i.kind).collect()
}

fn lines(out: &Transformed) -> Vec<Value> {
    out.json
        .split(|b| *b == b'\n')
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

#[test]
fn writes_the_exact_profile_record() {
    let out = run(&mapping(), &good());
    assert!(out.issues.is_empty(), "{:?}", out.issues);
    assert_eq!(out.kind, ImportKind::Profiles);
    assert_eq!(out.distinct_id, "C-001");
    assert_eq!(out.key(), "C-001");
    assert_eq!(
        std::str::from_utf8(&out.json).unwrap(),
        r#"{"$distinct_id":"C-001","$set":{"$email":"ada@example.com","$name":"Ada Lovelace","$phone":"+49 30 1234","$city":"Berlin","$created":"2024-03-05T13:07:00","$country_code":"DE","plan":"pro","lifetime_value":1299.50,"tags":["a","b"]}}"#
    );
}

#[test]
fn set_once_and_constants() {
    let mut m = mapping();
    m.profile.operation = ProfileOperation::SetOnce;
    m.constants = [("source".to_owned(), json!("crm"))].into();
    let out = run(&m, &good());
    let records = lines(&out);
    assert_eq!(records.len(), 1);
    assert!(records[0].get("$set").is_none());
    assert_eq!(records[0]["$set_once"]["source"], "crm");
    assert_eq!(records[0]["$set_once"]["$email"], "ada@example.com");
}

#[test]
fn empty_cells_are_left_out_unless_clearing_is_asked_for() {
    let cells = ["C-2", "", "Bo", "", "", "", "", "", "", ""];
    let out = run(&mapping(), &cells);
    assert!(out.is_valid(), "{:?}", out.issues);
    assert_eq!(
        lines(&out),
        vec![json!({"$distinct_id": "C-2", "$set": {"$name": "Bo"}})]
    );

    let mut m = mapping();
    m.profile.unset_empty = true;
    let out = run(&m, &cells);
    assert_eq!(
        lines(&out),
        vec![
            json!({"$distinct_id": "C-2", "$set": {"$name": "Bo"}}),
            json!({"$distinct_id": "C-2", "$unset": [
                "$email", "$phone", "$city", "$created", "$country_code", "plan",
                "lifetime_value", "tags"
            ]}),
        ]
    );
    // Nothing to set: only the $unset record (no empty $set that would create a profile).
    let out = run(&m, &["C-3", "", "", "", "", "", "", "", "", ""]);
    let records = lines(&out);
    assert_eq!(records.len(), 1);
    assert!(records[0].get("$unset").is_some());
    // Without clearing, a row with only its ID is an empty $set (the profile exists).
    let out = run(&mapping(), &["C-4", "", "", "", "", "", "", "", "", ""]);
    assert_eq!(
        lines(&out),
        vec![json!({"$distinct_id": "C-4", "$set": {}})]
    );
}

#[test]
fn an_empty_or_placeholder_id_is_an_error() {
    for id in ["", "   "] {
        let out = run(&mapping(), &with(0, id));
        assert_eq!(kinds(&out), vec![IssueKind::MissingUserId]);
        assert!(!out.is_valid());
        assert!(out.issues[0].message.contains("customer_id"));
    }
    for id in ["anonymous", "NULL", "0", "-1", "undefined", "[]"] {
        let out = run(&mapping(), &with(0, id));
        assert_eq!(kinds(&out), vec![IssueKind::BannedDistinctId], "{id}");
        assert_eq!(out.issues[0].field, "$distinct_id");
    }
    let mut bad = record(3, &good());
    bad.cells[0] = Cell::InvalidUtf8("x".into());
    let mut t = ProfileTransformer::new(&mapping(), &cols(&COLUMNS), options()).unwrap();
    let mut out = Transformed::default();
    t.transform(&bad, &mut out);
    assert_eq!(kinds(&out), vec![IssueKind::InvalidUtf8]);
}

#[test]
fn created_is_read_in_any_format_and_zone() {
    let created = |value: &'static str| {
        let out = run(&mapping(), &with(5, value));
        (lines(&out)[0]["$set"]["$created"].clone(), kinds(&out))
    };
    assert_eq!(created("2024-03-05T14:07:00Z").0, "2024-03-05T14:07:00");
    assert_eq!(created("2024-03-05 14:07:00").0, "2024-03-05T13:07:00");
    assert_eq!(created("05.03.2024").0, "2024-03-04T23:00:00");
    assert_eq!(created("1709647620").0, "2024-03-05T14:07:00");
    let out = run(&mapping(), &with(5, "last tuesday"));
    assert_eq!(kinds(&out), vec![IssueKind::UnparsableTime]);
    assert_eq!(out.issues[0].field, "$created");
    assert!(out.issues[0].message.contains("signup"));
}

#[test]
fn country_names_resolve_to_country_code() {
    let code = |value: &'static str| {
        let out = run(&mapping(), &with(3, value));
        (
            lines(&out)[0]["$set"].get("$country_code").cloned(),
            kinds(&out),
        )
    };
    assert_eq!(code("Germany").0, Some(json!("DE")));
    assert_eq!(code("de").0, Some(json!("DE")));
    assert_eq!(code("United States").0, Some(json!("US")));
    assert_eq!(code("Atlantis").0, Some(json!("GR")));
    let (value, issues) = code("Narnia");
    assert_eq!(value, None);
    assert_eq!(issues, vec![IssueKind::UnknownCountry]);
}

#[test]
fn warnings_are_sent_and_errors_are_not() {
    let out = run(&mapping(), &with(1, "not-an-email"));
    assert_eq!(kinds(&out), vec![IssueKind::InvalidEmail]);
    assert!(out.is_valid());
    let out = run(&mapping(), &with(7, "a lot"));
    assert_eq!(kinds(&out), vec![IssueKind::TypeMismatch]);
    assert_eq!(lines(&out)[0]["$set"]["lifetime_value"], "a lot");
    let long: &'static str = Box::leak("x".repeat(300).into_boxed_str());
    let out = run(&mapping(), &with(6, long));
    assert_eq!(kinds(&out), vec![IssueKind::StringTruncated]);
    let huge_list: &'static str = Box::leak(vec!["item"; 60_000].join(";").into_boxed_str());
    let out = run(&mapping(), &with(9, huge_list));
    assert_eq!(kinds(&out), vec![IssueKind::ListTooLarge]);
    assert!(!out.is_valid());
    let huge: &'static str = Box::leak("y".repeat(1_000_000).into_boxed_str());
    let out = run(&mapping(), &with(6, huge));
    assert!(kinds(&out).contains(&IssueKind::ProfileTooLarge));
    assert!(!out.is_valid());
}

#[test]
fn reserved_and_duplicate_names_are_mapping_warnings_and_not_sent() {
    let mut m = mapping();
    m.columns[0].rename = Some("$token".into());
    m.columns[1].rename = Some("$email".into());
    m.constants = [
        ("plan".to_owned(), json!("x")),
        ("$set".to_owned(), json!(1)),
    ]
    .into();
    let t = ProfileTransformer::new(&m, &cols(&COLUMNS), options()).unwrap();
    let warned: Vec<&str> = t
        .mapping_issues()
        .iter()
        .map(|i| i.field.as_str())
        .collect();
    assert_eq!(warned, vec!["$token", "$email", "$set"]);
    let out = run(&m, &good());
    let set = &lines(&out)[0]["$set"];
    assert!(set.get("$token").is_none());
    assert_eq!(set["$email"], "ada@example.com");
    assert_eq!(
        set["plan"], "x",
        "the constant is sent once the column is not"
    );
}

#[test]
fn mapping_errors() {
    let mut m = mapping();
    m.distinct_id = None;
    let err = ProfileTransformer::new(&m, &cols(&COLUMNS), options()).unwrap_err();
    assert_eq!(
        err,
        MappingError::Unmapped {
            field: RequiredField::ProfileUser
        }
    );
    let mut m = mapping();
    m.profile.email = Some("mail".into());
    assert!(matches!(
        ProfileTransformer::new(&m, &cols(&COLUMNS), options()).unwrap_err(),
        MappingError::UnknownColumn { .. }
    ));
    let mut m = mapping();
    m.profile.created.timezone = "Mars/Olympus".into();
    assert!(matches!(
        ProfileTransformer::new(&m, &cols(&COLUMNS), options()).unwrap_err(),
        MappingError::UnknownTimeZone(_)
    ));
    let mut m = mapping();
    m.country.as_mut().unwrap().overrides = [("x".to_owned(), "Germany".to_owned())].into();
    assert!(matches!(
        ProfileTransformer::new(&m, &cols(&COLUMNS), options()).unwrap_err(),
        MappingError::BadCountryOverride { .. }
    ));
}

#[test]
fn the_event_fields_of_a_mapping_are_ignored_for_profiles() {
    // A template switched from events keeps its event, time and insert id: they do not matter.
    let mut m = mapping();
    m.event = Some(crate::mapping::ValueSource::Column("nope".into()));
    m.time.column = Some("nope".into());
    m.ip = Some("nope".into());
    assert!(ProfileTransformer::new(&m, &cols(&COLUMNS), options()).is_ok());
}

#[test]
fn day_order_of_created_is_settled_from_the_sample() {
    let mut m = mapping();
    m.profile.created.day_order = None;
    let sample = vec![
        record(2, &with(5, "03/04/2024")),
        record(3, &with(5, "25/04/2024")),
    ];
    settle_day_order(&mut m, &cols(&COLUMNS), &sample).unwrap();
    assert_eq!(m.profile.created.day_order, Some(DayOrder::DayFirst));
    assert_eq!(m.time.day_order, None, "the event time is not touched");
    let mut m = mapping();
    m.profile.created.day_order = None;
    let sample = vec![record(2, &with(5, "03/04/2024"))];
    assert!(matches!(
        settle_day_order(&mut m, &cols(&COLUMNS), &sample),
        Err(MappingError::AmbiguousDayOrder { .. })
    ));
}

#[test]
fn the_kind_defaults_to_events_so_old_templates_load() {
    let old: Mapping = serde_json::from_str(r#"{"version":1,"distinct_id":"u"}"#).unwrap();
    assert_eq!(old.kind, ImportKind::Events);
    assert_eq!(old.profile, ProfileMapping::default());
    let text = serde_json::to_string(&Mapping::default()).unwrap();
    assert!(text.contains(r#""kind":"events""#), "{text}");
    assert!(
        !text.contains("\"profile\""),
        "no profile block for events: {text}"
    );
    let text = serde_json::to_string(&mapping()).unwrap();
    assert!(text.contains(r#""kind":"profiles""#));
    assert!(text.contains(r#""operation":"$set""#), "{text}");
    let back: Mapping = serde_json::from_str(&text).unwrap();
    assert_eq!(back, mapping());
    let alias: Mapping =
        serde_json::from_str(r#"{"kind":"profiles","profile":{"operation":"set_once"}}"#).unwrap();
    assert_eq!(alias.profile.operation, ProfileOperation::SetOnce);
}

proptest::proptest! {
    #[test]
    fn arbitrary_cells_never_panic_and_valid_rows_are_json(
        cells in proptest::collection::vec(".{0,40}", 0..12),
        unset in proptest::bool::ANY,
    ) {
        let mut m = mapping();
        m.profile.unset_empty = unset;
        let mut t = ProfileTransformer::new(&m, &cols(&COLUMNS), options()).unwrap();
        let record = Record {
            row: 2,
            cells: cells.into_iter().map(Cell::Text).collect(),
            ..Record::default()
        };
        let mut out = Transformed::default();
        t.transform(&record, &mut out);
        if out.is_valid() {
            for line in out.json.split(|b| *b == b'\n') {
                let value: Value = serde_json::from_slice(line).unwrap();
                proptest::prop_assert_eq!(value["$distinct_id"].as_str(), Some(out.distinct_id.as_str()));
            }
        }
    }
}

#[test]
fn profile_templates_are_read_strictly() {
    let text = serde_json::to_string(&mapping()).unwrap();
    assert_eq!(crate::mapping::template::parse(&text).unwrap(), mapping());
    let typo = r#"{"version":1,"kind":"profiles","profile":{"emial":"mail"}}"#;
    let err = crate::mapping::template::parse(typo)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("profile.emial") && err.contains("\"email\""),
        "{err}"
    );
    let kind = r#"{"version":1,"kind":"profile"}"#;
    let err = crate::mapping::template::parse(kind)
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"profiles\""), "{err}");
    let op = r#"{"version":1,"kind":"profiles","profile":{"operation":"$set_onse"}}"#;
    let err = crate::mapping::template::parse(op).unwrap_err().to_string();
    assert!(err.contains("$set_once"), "{err}");
}
