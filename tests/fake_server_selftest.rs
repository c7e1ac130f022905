//! Checks that the fake Mixpanel server (tests/common/fake_mixpanel.rs) behaves as the shared API
//! doc says, with a plain reqwest client: auth kinds, 401, gzip/plain, NDJSON/JSON, every
//! validation message, 413, each injected fault and the dedup store.

mod common;

use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::fake_mixpanel::*;
use serde_json::{Value, json};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A valid event number `i`, one day old.
fn event(i: usize) -> Value {
    json!({"event": "Purchase", "properties": {
        "time": now_ms() - 86_400_000 + i as i64,
        "distinct_id": format!("user-{i}"),
        "$insert_id": format!("ins-{i}"),
        "amount": i,
    }})
}

fn ndjson(events: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        out.extend_from_slice(e.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[derive(Clone, Copy)]
enum Cred<'a> {
    ServiceAccount(&'a str, &'a str, &'a str),
    Token(&'a str),
    TokenWithPassword(&'a str, &'a str),
    None,
}

const SA: Cred<'static> = Cred::ServiceAccount(SA_USER, SA_SECRET, PROJECT_ID);

struct Answer {
    status: u16,
    retry_after: Option<String>,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn try_post(
    client: &reqwest::Client,
    server: &FakeMixpanel,
    cred: Cred<'_>,
    body: Vec<u8>,
    gzipped: bool,
    content_type: &str,
) -> reqwest::Result<Answer> {
    let mut url = format!("{}?strict=1&ip=0", server.import_url());
    let mut req = client.post(&url);
    match cred {
        Cred::ServiceAccount(user, secret, project) => {
            url.push_str(&format!("&project_id={project}"));
            req = client.post(&url).basic_auth(user, Some(secret));
        }
        Cred::Token(token) => req = req.basic_auth(token, Some("")),
        Cred::TokenWithPassword(token, pass) => req = req.basic_auth(token, Some(pass)),
        Cred::None => {}
    }
    req = req.header("Content-Type", content_type);
    let body = if gzipped {
        req = req.header("Content-Encoding", "gzip");
        gzip(&body)
    } else {
        body
    };
    let response = req.body(body).send().await?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await?;
    Ok(Answer {
        status,
        retry_after,
        text,
    })
}

async fn post(server: &FakeMixpanel, cred: Cred<'_>, events: &[Value]) -> Answer {
    try_post(
        &client(),
        server,
        cred,
        ndjson(events),
        true,
        "application/x-ndjson",
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn service_account_and_token_are_accepted() {
    let server = FakeMixpanel::start_default();
    let a = post(&server, SA, &[event(1), event(2)]).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        a.json(),
        json!({"code": 200, "num_records_imported": 2, "status": "OK"})
    );
    let b = post(&server, Cred::Token(TOKEN), &[event(3)]).await;
    assert_eq!(b.status, 200, "{}", b.text);
    assert_eq!(b.json()["num_records_imported"], 1);
    assert_eq!(server.raw_count(), 3);
    let c = server.counters();
    assert_eq!(c.import_requests, 2);
    assert_eq!(c.status(200), 2);
    assert_eq!(c.non_strict_requests, 0);
    assert_eq!(c.requests_without_ip0, 0);
}

#[tokio::test]
async fn bad_credentials_get_the_documented_401() {
    let server = FakeMixpanel::start_default();
    let cases = [
        Cred::ServiceAccount(SA_USER, "wrong-secret", PROJECT_ID),
        Cred::ServiceAccount(SA_USER, SA_SECRET, "9999"),
        Cred::ServiceAccount("someone-else", SA_SECRET, PROJECT_ID),
        Cred::Token("not-the-token"),
        Cred::TokenWithPassword(TOKEN, "a-password"),
        // A token with a project_id is read as a service account with an empty secret.
        Cred::ServiceAccount(TOKEN, "", PROJECT_ID),
        // A service account without project_id is read as a token with a password.
        Cred::TokenWithPassword(SA_USER, SA_SECRET),
        Cred::None,
    ];
    for cred in cases {
        let a = post(&server, cred, &[event(1)]).await;
        assert_eq!(a.status, 401);
        assert_eq!(a.text, BODY_401);
        assert_eq!(
            a.json(),
            json!({"code": 401, "error": "Invalid credentials", "status": "Unauthorized"})
        );
    }
    assert_eq!(server.raw_count(), 0);
    assert_eq!(server.counters().status(401), cases.len() as u64);
}

#[tokio::test]
async fn gzip_and_plain_ndjson_and_json_array_bodies() {
    let server = FakeMixpanel::start_default();
    let http = client();
    let mut n = 0;
    for gzipped in [false, true] {
        for array in [false, true] {
            let events: Vec<Value> = (n..n + 3).map(event).collect();
            n += 3;
            let (body, ct) = if array {
                (serde_json::to_vec(&events).unwrap(), "application/json")
            } else {
                (ndjson(&events), "application/x-ndjson")
            };
            let a = try_post(&http, &server, SA, body, gzipped, ct)
                .await
                .unwrap();
            assert_eq!(a.status, 200, "gzip={gzipped} array={array}: {}", a.text);
            assert_eq!(a.json()["num_records_imported"], 3);
        }
    }
    let stored = server.events_deduplicated();
    assert_eq!(stored.len(), 12);
    for (i, e) in stored.iter().enumerate() {
        assert_eq!(e.event, "Purchase");
        assert_eq!(e.distinct_id.as_deref(), Some(format!("user-{i}").as_str()));
        assert_eq!(e.insert_id.as_deref(), Some(format!("ins-{i}").as_str()));
        assert_eq!(e.properties["amount"], json!(i));
    }
    let c = server.counters();
    assert_eq!(c.gzip_requests, 2);
    assert!(c.bytes_uncompressed > c.bytes_received / 2);
    let log = server.request_log();
    assert_eq!(log.len(), 4);
    assert_eq!(log[1].content_type.as_deref(), Some("application/json"));
    assert_eq!(log[3].content_encoding.as_deref(), Some("gzip"));
}

#[tokio::test]
async fn every_validation_rule_gives_mixpanels_message_and_valid_events_are_stored() {
    let server = FakeMixpanel::start(FakeConfig {
        reject_distinct_ids: vec!["blocked-user".into()],
        ..FakeConfig::default()
    });
    let now = now_ms();
    let ok_props = |i: usize| json!({"time": now - 1000, "distinct_id": format!("u{i}"), "$insert_id": format!("id-{i}")});
    let with = |i: usize, key: &str, value: Value| {
        let mut p = ok_props(i);
        p[key] = value;
        json!({"event": "E", "properties": p})
    };
    let mut many = ok_props(90);
    for k in 0..255 {
        many[format!("p{k}")] = json!(k);
    }
    let mut no_time = ok_props(11);
    no_time.as_object_mut().unwrap().remove("time");
    let batch = vec![
        json!({"event": "E", "properties": ok_props(0)}), // 0 valid
        json!({"properties": ok_props(1)}),               // 1 no event
        json!({"event": "", "properties": ok_props(2)}),  // 2 empty event
        json!({"event": "E"}),                            // 3 no properties
        json!({"event": "E", "properties": no_time}),     // 4 no time
        with(5, "time", json!("2024-01-01T00:00:00")),    // 5 time as text
        with(6, "time", json!(1_000)),                    // 6 1970 (seconds)
        with(7, "time", json!(now + 2 * 3_600_000)),      // 7 two hours ahead
        with(8, "distinct_id", json!("Anonymous")),       // 8 banned, any case
        with(9, "distinct_id", json!("blocked-user")),    // 9 configured rejection
        with(10, "$insert_id", json!("has space")),       // 10 bad characters
        with(11, "$insert_id", json!("a".repeat(37))),    // 11 too long
        with(12, "$insert_id", json!("null")),            // 12 banned insert id
        json!({"event": "E", "properties": many}),        // 13 too many properties
        with(14, "time", json!((now - 5000) / 1000)),     // 14 valid, seconds
        with(15, "time", json!(now + 1_800_000)),         // 15 valid, 30 min ahead
        with(16, "$insert_id", json!("a".repeat(36))),    // 16 valid, 36 chars
    ];
    let a = post(&server, SA, &batch).await;
    assert_eq!(a.status, 400, "{}", a.text);
    let body = a.json();
    assert_eq!(body["code"], 400);
    assert_eq!(body["status"], "Bad Request");
    assert_eq!(body["error"], ERROR_400);
    assert_eq!(body["num_records_imported"], 4);
    let expected = [
        (1, "id-1", "event", MSG_EVENT_MISSING),
        (2, "id-2", "event", MSG_EVENT_MISSING),
        (3, "", "properties", MSG_PROPERTIES_MISSING),
        (4, "id-11", "properties.time", MSG_TIME_MISSING),
        (5, "id-5", "properties.time", MSG_TIME_NOT_EPOCH),
        (6, "id-6", "properties.time", MSG_TIME_TOO_OLD),
        (7, "id-7", "properties.time", MSG_TIME_FUTURE),
        (8, "id-8", "properties.distinct_id", MSG_DISTINCT_ID_BANNED),
        (9, "id-9", "properties.distinct_id", MSG_DISTINCT_ID_BLOCKED),
        (
            10,
            "has space",
            "properties.$insert_id",
            MSG_INSERT_ID_INVALID,
        ),
        (
            11,
            &"a".repeat(37),
            "properties.$insert_id",
            MSG_INSERT_ID_INVALID,
        ),
        (12, "null", "properties.$insert_id", MSG_INSERT_ID_BANNED),
        (13, "id-90", "properties", MSG_TOO_MANY_PROPERTIES),
    ];
    let failed = body["failed_records"].as_array().unwrap();
    assert_eq!(failed.len(), expected.len(), "{failed:#?}");
    for (record, (index, insert_id, field, message)) in failed.iter().zip(expected) {
        assert_eq!(
            record,
            &json!({"index": index, "insert_id": insert_id, "field": field, "message": message})
        );
    }
    assert_eq!(
        MSG_TIME_FUTURE,
        "'properties.time' is invalid: must not be in the future"
    );
    assert_eq!(
        MSG_INSERT_ID_INVALID,
        "'$insert_id' is invalid: must only contain alphanumeric or hyphen '-' characters"
    );
    let stored = server.events_deduplicated();
    let ids: Vec<_> = stored
        .iter()
        .map(|e| e.insert_id.clone().unwrap())
        .collect();
    assert_eq!(ids.len(), 4);
    for id in ["id-0", "id-14", "id-15", &"a".repeat(36)] {
        assert!(ids.contains(&id.to_owned()), "{id} missing from {ids:?}");
    }
    // Seconds are normalised to milliseconds.
    let secs = stored
        .iter()
        .find(|e| e.insert_id.as_deref() == Some("id-14"))
        .unwrap();
    assert_eq!(secs.time_ms, (now - 5000) / 1000 * 1000);
    let c = server.counters();
    assert_eq!(
        (c.events_received, c.events_stored, c.events_rejected),
        (17, 4, 13)
    );
}

#[tokio::test]
async fn invalid_utf8_and_unparsable_lines_are_failed_records() {
    let server = FakeMixpanel::start_default();
    let mut body = ndjson(&[event(0)]);
    body.extend_from_slice(
        b"{\"event\":\"E\",\"properties\":{\"time\":1700000000000,\"$insert_id\":\"x1\",\"city\":\"K\xf6ln\"}}\n",
    );
    body.extend_from_slice(b"{not json\n");
    let a = try_post(&client(), &server, SA, body, false, "application/x-ndjson")
        .await
        .unwrap();
    assert_eq!(a.status, 400, "{}", a.text);
    let body = a.json();
    assert_eq!(body["num_records_imported"], 1);
    assert_eq!(
        body["failed_records"],
        json!([
            {"index": 1, "insert_id": "x1", "field": "properties.city",
             "message": "properties.city is invalid: string should be valid utf8"},
            {"index": 2, "insert_id": "", "field": "event", "message": MSG_NOT_JSON},
        ])
    );
}

#[tokio::test]
async fn dollar_insert_id_spelling_and_identity_strings_mode() {
    let server = FakeMixpanel::start(FakeConfig {
        insert_id_key: InsertIdKey::Dollar,
        ..FakeConfig::default()
    });
    let mut bad = event(1);
    bad["properties"]["distinct_id"] = json!("none");
    let a = post(&server, SA, &[event(0), bad]).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json()["failed_records"],
        json!([{"index": 1, "$insert_id": "ins-1", "field": "properties.distinct_id", "message": MSG_DISTINCT_ID_BANNED}])
    );

    let server = FakeMixpanel::start(FakeConfig {
        identity_strings: true,
        ..FakeConfig::default()
    });
    let mut identify = event(1);
    identify["event"] = json!("$identify");
    let a = post(&server, SA, &[event(0), identify]).await;
    assert_eq!(a.status, 400);
    let body = a.json();
    assert_eq!(body["num_records_imported"], 0);
    assert_eq!(body["failed_records"], json!([MSG_IDENTITY]));
    assert_eq!(server.raw_count(), 0, "the whole batch is rejected");
    // Without identity events the same server accepts.
    assert_eq!(post(&server, SA, &[event(0)]).await.status, 200);
}

#[tokio::test]
async fn non_strict_requests_drop_invalid_events_silently_and_are_counted() {
    let server = FakeMixpanel::start_default();
    let mut bad = event(1);
    bad["properties"]["time"] = json!("yesterday");
    let response = client()
        .post(format!("{}?project_id={PROJECT_ID}", server.import_url()))
        .basic_auth(SA_USER, Some(SA_SECRET))
        .body(ndjson(&[event(0), bad]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["num_records_imported"], 1);
    let c = server.counters();
    assert_eq!(c.non_strict_requests, 1);
    assert_eq!(c.requests_without_ip0, 1);
}

#[tokio::test]
async fn limits_give_413_json_or_html() {
    let server = FakeMixpanel::start_default();
    let events: Vec<Value> = (0..2001).map(event).collect();
    let a = post(&server, SA, &events).await;
    assert_eq!(a.status, 413);
    assert_eq!(a.json()["code"], 413);
    assert_eq!(a.json()["status"], "Request Entity Too Large");
    let a = post(&server, SA, &events[..2000]).await;
    assert_eq!(a.status, 200, "2000 events are allowed");

    let server = FakeMixpanel::start(FakeConfig {
        max_bytes: 1000,
        ..FakeConfig::default()
    });
    let small: Vec<Value> = (0..3).map(event).collect();
    assert!(ndjson(&small).len() < 1000);
    assert_eq!(post(&server, SA, &small).await.status, 200);
    let big: Vec<Value> = (0..20).map(event).collect();
    assert!(ndjson(&big).len() > 1000);
    let a = post(&server, SA, &big).await;
    assert_eq!(a.status, 413);
    assert_eq!(
        a.json(),
        json!({"code": 413, "error": "request exceeds max limit of 1000 bytes", "status": "Request Entity Too Large"})
    );
    assert_eq!(server.raw_count(), 3, "nothing of a 413 is stored");

    server.configure(|c| c.html_413 = true);
    let a = post(&server, SA, &big).await;
    assert_eq!(a.status, 413);
    assert!(a.text.starts_with("<html>"));
}

#[tokio::test]
async fn rate_limit_every_nth_request_with_and_without_retry_after() {
    let server = FakeMixpanel::start(FakeConfig {
        faults: Faults {
            rate_limit_every: 3,
            retry_after_secs: Some(7),
            ..Faults::default()
        },
        ..FakeConfig::default()
    });
    let mut statuses = Vec::new();
    for i in 0..6 {
        let a = post(&server, SA, &[event(i)]).await;
        if a.status == 429 {
            assert_eq!(a.retry_after.as_deref(), Some("7"));
            assert_eq!(a.text, BODY_429);
        } else {
            assert_eq!(a.retry_after, None);
        }
        statuses.push(a.status);
    }
    assert_eq!(statuses, [200, 200, 429, 200, 200, 429]);
    assert_eq!(server.raw_count(), 4, "a 429 stores nothing");

    server.set_faults(Faults {
        rate_limit_every: 2,
        ..Faults::default()
    });
    let a = post(&server, SA, &[event(9)]).await; // request 7
    assert_eq!(a.status, 200);
    let a = post(&server, SA, &[event(9)]).await; // request 8
    assert_eq!(a.status, 429);
    assert_eq!(a.retry_after, None);
}

#[tokio::test]
async fn server_errors_every_nth_request_json_or_html() {
    let server = FakeMixpanel::start(FakeConfig {
        faults: Faults {
            unavailable_every: 2,
            bad_gateway_every: 3,
            ..Faults::default()
        },
        ..FakeConfig::default()
    });
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(post(&server, SA, &[event(i)]).await.status);
    }
    assert_eq!(statuses, [200, 503, 502, 503, 200, 503]);
    assert_eq!(server.raw_count(), 2);
    server.configure(|c| c.faults.html_5xx = true);
    let a = post(&server, SA, &[event(7)]).await; // request 7: 200
    assert_eq!(a.status, 200);
    let a = post(&server, SA, &[event(8)]).await; // request 8: 503
    assert_eq!(a.status, 503);
    assert!(a.text.contains("<html>"));
    let c = server.counters();
    assert_eq!((c.status(200), c.status(502), c.status(503)), (3, 1, 4));
}

#[tokio::test]
async fn dropped_connections_are_network_errors_after_the_events_were_stored() {
    for mode in [DropMode::MidBody, DropMode::MidHead] {
        let server = FakeMixpanel::start(FakeConfig {
            faults: Faults {
                drop_every: 2,
                drop_mode: mode,
                ..Faults::default()
            },
            ..FakeConfig::default()
        });
        let http = client();
        let dropped_batch = ndjson(&[event(1)]);
        let first = try_post(
            &http,
            &server,
            SA,
            ndjson(&[event(0)]),
            true,
            "application/x-ndjson",
        )
        .await
        .unwrap();
        assert_eq!(first.status, 200);
        let second = try_post(
            &http,
            &server,
            SA,
            dropped_batch.clone(),
            true,
            "application/x-ndjson",
        )
        .await;
        let error = second.err().unwrap_or_else(|| panic!("{mode:?}: no error"));
        assert!(
            !error.is_status() && !error.is_builder(),
            "{mode:?}: a network error, got {error:?}"
        );
        assert_eq!(server.raw_count(), 2, "{mode:?}: stored before the drop");
        // Resending the dropped batch is harmless after dedup.
        let third = try_post(
            &http,
            &server,
            SA,
            dropped_batch,
            true,
            "application/x-ndjson",
        )
        .await
        .unwrap();
        assert_eq!(third.status, 200);
        assert_eq!(server.raw_count(), 3);
        assert_eq!(server.unique_count(), 2);
        assert_eq!(server.events_deduplicated().len(), 2);
        let c = server.counters();
        assert_eq!(c.dropped_connections, 1);
        assert!(server.request_log()[1].dropped);
    }
}

#[tokio::test]
async fn latency_and_forced_401() {
    let server = FakeMixpanel::start(FakeConfig {
        faults: Faults {
            latency: Duration::from_millis(300),
            ..Faults::default()
        },
        ..FakeConfig::default()
    });
    let start = Instant::now();
    assert_eq!(post(&server, SA, &[event(0)]).await.status, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
    server.set_faults(Faults {
        force_401: true,
        ..Faults::default()
    });
    let a = post(&server, SA, &[event(1)]).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.text, BODY_401);
    assert_eq!(server.raw_count(), 1);
}

#[tokio::test]
async fn the_store_deduplicates_by_the_four_tuple() {
    let server = FakeMixpanel::start_default();
    let batch: Vec<Value> = (0..5).map(event).collect();
    assert_eq!(post(&server, SA, &batch).await.status, 200);
    assert_eq!(post(&server, SA, &batch).await.status, 200);
    // Same insert id but another time: a different event for Mixpanel.
    let mut moved = batch[0].clone();
    moved["properties"]["time"] = json!(now_ms() - 1000);
    assert_eq!(post(&server, SA, &[moved]).await.status, 200);
    assert_eq!(server.raw_count(), 11);
    assert_eq!(server.events_raw().len(), 11);
    assert_eq!(server.unique_count(), 6);
    let unique = server.events_deduplicated();
    assert_eq!(unique.len(), 6);
    assert_eq!(
        unique
            .iter()
            .filter(|e| e.insert_id.as_deref() == Some("ins-0"))
            .count(),
        2
    );

    let keys_only = FakeMixpanel::start(FakeConfig {
        store: StoreMode::KeysOnly,
        ..FakeConfig::default()
    });
    assert_eq!(post(&keys_only, SA, &batch).await.status, 200);
    assert_eq!(post(&keys_only, SA, &batch).await.status, 200);
    assert_eq!(keys_only.raw_count(), 10);
    assert_eq!(keys_only.unique_count(), 5);
    assert!(keys_only.events_raw().is_empty());
}

#[tokio::test]
async fn app_me_answers_service_accounts_only() {
    let server = FakeMixpanel::start_default();
    let http = client();
    let url = format!("{}/api/app/me", server.base_url());
    let ok = http
        .get(&url)
        .basic_auth(SA_USER, Some(SA_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert!(body["results"]["projects"][PROJECT_ID]["name"].is_string());
    for (user, pass) in [(SA_USER, "nope"), (TOKEN, "")] {
        let denied = http
            .get(&url)
            .basic_auth(user, Some(pass))
            .send()
            .await
            .unwrap();
        assert_eq!(denied.status().as_u16(), 401);
        assert_eq!(denied.text().await.unwrap(), BODY_401);
    }
    let anonymous = http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let c = server.counters();
    assert_eq!(c.requests, 4);
    assert_eq!(c.import_requests, 0);
    assert_eq!((c.status(200), c.status(401)), (1, 3));
}

#[tokio::test]
async fn keep_alive_serves_many_requests_and_unknown_paths_get_404() {
    let server = FakeMixpanel::start_default();
    let http = client();
    for i in 0..50 {
        let a = try_post(
            &http,
            &server,
            Cred::Token(TOKEN),
            ndjson(&[event(i)]),
            i % 2 == 0,
            "application/x-ndjson",
        )
        .await
        .unwrap();
        assert_eq!(a.status, 200);
    }
    assert_eq!(server.unique_count(), 50);
    let missing = http
        .get(format!("{}/track", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(server.counters().requests, 51);
}

#[test]
fn the_server_stops_when_dropped() {
    let server = FakeMixpanel::start_default();
    let addr = server.addr();
    assert!(addr.ip().is_loopback());
    assert!(std::net::TcpStream::connect(addr).is_ok());
    drop(server);
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn base64_decoder_matches_known_values() {
    assert_eq!(base64_decode("dXNlcjpwYXNz").unwrap(), b"user:pass");
    assert_eq!(base64_decode("dG9rZW46").unwrap(), b"token:");
    assert_eq!(base64_decode("YQ==").unwrap(), b"a");
    assert!(base64_decode("!!").is_none());
}

// ----- /engage (user profiles) -----

/// A `$set` record for `id` with the default project's token.
fn set(id: &str, properties: Value) -> Value {
    json!({"$token": TOKEN, "$distinct_id": id, "$set": properties})
}

/// A record with one operation.
fn op(id: &str, operation: &str, operand: Value) -> Value {
    let mut record = json!({"$token": TOKEN, "$distinct_id": id});
    record[operation] = operand;
    record
}

async fn try_engage(
    http: &reqwest::Client,
    server: &FakeMixpanel,
    cred: Cred<'_>,
    query: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> reqwest::Result<Answer> {
    let mut url = format!("{}?{query}", server.engage_url());
    if let Cred::ServiceAccount(_, _, project) = cred {
        url.push_str(&format!("&project_id={project}"));
    }
    let mut req = http.post(&url);
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        req = req.header("Content-Type", "application/json");
    }
    match cred {
        Cred::ServiceAccount(user, secret, _) => req = req.basic_auth(user, Some(secret)),
        Cred::Token(token) => req = req.basic_auth(token, Some("")),
        Cred::TokenWithPassword(token, pass) => req = req.basic_auth(token, Some(pass)),
        Cred::None => {}
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let response = req.body(body).send().await?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await?;
    Ok(Answer {
        status,
        retry_after,
        text,
    })
}

/// POST records to `/engage?strict=1&verbose=1&ip=0` as the default service account.
async fn engage(server: &FakeMixpanel, records: &[Value]) -> Answer {
    try_engage(
        &client(),
        server,
        SA,
        "strict=1&verbose=1&ip=0",
        serde_json::to_vec(records).unwrap(),
        &[],
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn engage_accepts_service_account_token_and_record_token_auth() {
    let server = FakeMixpanel::start_default();
    let http = client();
    let body = |id: &str| serde_json::to_vec(&[set(id, json!({"$email": "a@b.c"}))]).unwrap();
    let q = "strict=1&verbose=1&ip=0";
    for (cred, id) in [
        (SA, "sa"),
        (Cred::Token(TOKEN), "token"),
        (Cred::None, "no-auth"),
    ] {
        let a = try_engage(&http, &server, cred, q, body(id), &[])
            .await
            .unwrap();
        assert_eq!(a.status, 200, "{id}: {}", a.text);
        assert_eq!(
            a.json(),
            json!({"code": 200, "num_records_imported": 1, "status": "OK"})
        );
    }
    assert_eq!(server.profile_count(), 3);
    for cred in [
        Cred::ServiceAccount(SA_USER, "wrong", PROJECT_ID),
        Cred::ServiceAccount(SA_USER, SA_SECRET, "9999"),
        Cred::Token("not-the-token"),
        Cred::TokenWithPassword(TOKEN, "pw"),
    ] {
        let a = try_engage(&http, &server, cred, q, body("x"), &[])
            .await
            .unwrap();
        assert_eq!(a.status, 401);
        assert_eq!(a.text, BODY_401);
    }
    // A service account's records must carry its project's token.
    let foreign = FakeMixpanel::start(FakeConfig {
        tokens: vec![TOKEN.into(), "other-token".into()],
        ..FakeConfig::default()
    });
    let mut record = set("u1", json!({"a": 1}));
    record["$token"] = json!("other-token");
    let a = engage(&foreign, &[record.clone(), set("u2", json!({"a": 2}))]).await;
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(
        a.json()["failed_records"],
        json!([{"index": 0, "$distinct_id": "u1", "message": MSG_ENGAGE_TOKEN_WRONG}])
    );
    assert_eq!(a.json()["num_records_imported"], 1);
    // With that token as the credential, the same record is fine.
    let a = try_engage(
        &http,
        &foreign,
        Cred::Token("other-token"),
        q,
        serde_json::to_vec(&[record]).unwrap(),
        &[],
    )
    .await
    .unwrap();
    assert_eq!(a.status, 200, "{}", a.text);
    let c = server.engage_counters();
    assert_eq!(c.requests, 7);
    assert_eq!(c.unauthenticated_requests, 1);
    assert_eq!(c.non_strict_requests + c.non_verbose_requests, 0);
    assert_eq!(c.requests_without_ip0, 0);
    assert_eq!(server.counters().import_requests, 0);
}

#[tokio::test]
async fn engage_applies_operations_in_order_per_distinct_id() {
    let server = FakeMixpanel::start_default();
    let batch = vec![
        set("u1", json!({"$email": "old@x.io", "plan": "free", "n": 1})),
        set("u2", json!({"plan": "pro"})),
        op(
            "u1",
            "$set_once",
            json!({"plan": "ignored", "$created": "2024-01-02T03:04:05"}),
        ),
        set("u1", json!({"$email": "new@x.io"})),
        op("u1", "$add", json!({"n": 4, "score": 1.5})),
        op("u1", "$union", json!({"tags": ["a", "b"]})),
        op("u1", "$union", json!({"tags": ["b", "c"]})),
        op("u1", "$append", json!({"tags": "d"})),
        op("u1", "$remove", json!({"tags": "a"})),
        op("u1", "$unset", json!(["plan"])),
        op("u2", "$delete", json!("")),
        // $unset on a profile that does not exist creates nothing.
        op("u3", "$unset", json!(["plan"])),
    ];
    let a = engage(&server, &batch).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json()["num_records_imported"], 12);
    let profiles = server.profiles();
    assert_eq!(profiles.len(), 1, "{profiles:#?}");
    let u1 = Value::Object(server.profile("u1").unwrap());
    assert_eq!(
        u1,
        json!({"$email": "new@x.io", "n": 5, "$created": "2024-01-02T03:04:05",
               "score": 1.5, "tags": ["b", "c", "d"]})
    );
    // The later of two $set wins; $set_once keeps an existing value, also across requests.
    let mut seeded = serde_json::Map::new();
    seeded.insert("plan".into(), json!("enterprise"));
    server.seed_profile("u9", seeded);
    let a = engage(
        &server,
        &[
            op("u9", "$set_once", json!({"plan": "free", "$name": "Ada"})),
            set("u8", json!({"v": 1})),
            set("u8", json!({"v": 2})),
        ],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        Value::Object(server.profile("u9").unwrap()),
        json!({"plan": "enterprise", "$name": "Ada"})
    );
    assert_eq!(server.profile("u8").unwrap()["v"], json!(2));
    // Strings are truncated at 255 characters, also inside lists.
    let long = "é".repeat(300);
    engage(&server, &[set("u7", json!({"bio": long, "l": [long]}))]).await;
    let u7 = server.profile("u7").unwrap();
    assert_eq!(u7["bio"].as_str().unwrap().chars().count(), 255);
    assert_eq!(u7["l"][0].as_str().unwrap().chars().count(), 255);
}

#[tokio::test]
async fn engage_validation_gives_failed_records_with_index_and_distinct_id() {
    let server = FakeMixpanel::start(FakeConfig {
        reject_distinct_ids: vec!["blocked".into()],
        ..FakeConfig::default()
    });
    let mut no_token = set("t0", json!({"a": 1}));
    no_token.as_object_mut().unwrap().remove("$token");
    let mut two_ops = set("t1", json!({"a": 1}));
    two_ops["$unset"] = json!(["b"]);
    let batch = vec![
        set("ok-0", json!({"a": 1})),                              // 0 valid
        no_token,                                                  // 1
        json!({"$token": TOKEN, "$set": {"a": 1}}),                // 2 no distinct id
        set("", json!({"a": 1})),                                  // 3 empty distinct id
        set("Undefined", json!({"a": 1})),                         // 4 banned, any case
        set("blocked", json!({"a": 1})),                           // 5 configured
        json!({"$token": TOKEN, "$distinct_id": "t2"}),            // 6 no operation
        two_ops,                                                   // 7
        op("t3", "$set", json!(["not", "an", "object"])),          // 8
        op("t4", "$unset", json!("plan")),                         // 9
        op("t5", "$add", json!({"n": "1"})),                       // 10
        set("t6", json!({"big": "x".repeat(1_000_000)})),          // 11 record ≥ 1 MB
        set("t7", json!({"list": vec!["y".repeat(200); 1400]})),   // 12 list > 256 KB
        json!("not an object"),                                    // 13
        set("ok-1", json!({"list": vec!["y".repeat(200); 1000]})), // 14 valid, 201 KB list
    ];
    let a = engage(&server, &batch).await;
    assert_eq!(a.status, 400, "{}", &a.text[..a.text.len().min(500)]);
    let body = a.json();
    assert_eq!(body["error"], ERROR_ENGAGE_400);
    assert_eq!(body["num_records_imported"], 2);
    let expected = [
        (1, "t0", MSG_ENGAGE_TOKEN_MISSING.to_owned()),
        (2, "", MSG_ENGAGE_DISTINCT_ID_MISSING.to_owned()),
        (3, "", MSG_ENGAGE_DISTINCT_ID_MISSING.to_owned()),
        (4, "Undefined", MSG_ENGAGE_DISTINCT_ID_BANNED.to_owned()),
        (5, "blocked", MSG_ENGAGE_DISTINCT_ID_BLOCKED.to_owned()),
        (6, "t2", MSG_ENGAGE_NO_OPERATION.to_owned()),
        (7, "t1", MSG_ENGAGE_MANY_OPERATIONS.to_owned()),
        (
            8,
            "t3",
            "'$set' is invalid: must be an object of property names to values".to_owned(),
        ),
        (
            9,
            "t4",
            "'$unset' is invalid: must be a list of property names".to_owned(),
        ),
        (
            10,
            "t5",
            "'$add' is invalid: 'n' must be a number".to_owned(),
        ),
        (11, "t6", MSG_ENGAGE_RECORD_TOO_LARGE.to_owned()),
        (12, "t7", MSG_ENGAGE_LIST_TOO_LARGE.to_owned()),
        (13, "", MSG_ENGAGE_NOT_OBJECT.to_owned()),
    ];
    let failed = body["failed_records"].as_array().unwrap();
    assert_eq!(failed.len(), expected.len(), "{failed:#?}");
    for (record, (index, id, message)) in failed.iter().zip(expected) {
        assert_eq!(
            record,
            &json!({"index": index, "$distinct_id": id, "message": message})
        );
    }
    let ids: Vec<String> = server.profiles().into_keys().collect();
    assert_eq!(ids, vec!["ok-0", "ok-1"]);
    let c = server.engage_counters();
    assert_eq!(
        (c.records_received, c.records_applied, c.records_rejected),
        (15, 2, 13)
    );
}

#[tokio::test]
async fn engage_answers_200_for_bad_records_unless_strict() {
    let server = FakeMixpanel::start_default();
    let http = client();
    let body =
        serde_json::to_vec(&[set("a", json!({"x": 1})), set("null", json!({"x": 1}))]).unwrap();
    let verbose = try_engage(&http, &server, SA, "verbose=1&ip=0", body.clone(), &[])
        .await
        .unwrap();
    assert_eq!(verbose.status, 200);
    assert_eq!(
        verbose.json(),
        json!({"status": 0, "error": MSG_ENGAGE_DISTINCT_ID_BANNED})
    );
    let plain = try_engage(&http, &server, SA, "ip=0", body.clone(), &[])
        .await
        .unwrap();
    assert_eq!((plain.status, plain.text.as_str()), (200, "1"));
    let good = serde_json::to_vec(&[set("b", json!({"x": 1}))]).unwrap();
    let verbose_ok = try_engage(&http, &server, SA, "verbose=1", good, &[])
        .await
        .unwrap();
    assert_eq!(verbose_ok.json(), json!({"status": 1, "error": null}));
    // The valid records were applied every time; the bad one never.
    assert_eq!(
        server.profiles().into_keys().collect::<Vec<_>>(),
        vec!["a", "b"]
    );
    let c = server.engage_counters();
    assert_eq!(c.non_strict_requests, 3);
    assert_eq!(c.non_verbose_requests, 1);
    assert_eq!(c.requests_without_ip0, 1);
    // The classic form body, with base64 JSON.
    let form = format!(
        "data={}",
        "W3siJHRva2VuIjoiZmFrZXRva2VuMDEyMzQ1Njc4OWFiY2RlZiIsIiRkaXN0aW5jdF9pZCI6ImMiLCIkc2V0Ijp7IngiOjF9fV0="
    );
    let a = try_engage(
        &http,
        &server,
        SA,
        "strict=1&verbose=1&ip=0",
        form.into_bytes(),
        &[("Content-Type", "application/x-www-form-urlencoded")],
    )
    .await
    .unwrap();
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(server.profile("c").is_some());
}

#[tokio::test]
async fn engage_limits_and_no_gzip() {
    let server = FakeMixpanel::start_default();
    let http = client();
    let records: Vec<Value> = (0..2001)
        .map(|i| set(&format!("u{i}"), json!({"i": i})))
        .collect();
    let a = engage(&server, &records).await;
    assert_eq!(a.status, 413, "{}", a.text);
    assert!(a.json()["error"].as_str().unwrap().contains("2000 records"));
    assert_eq!(server.profile_count(), 0);
    let a = engage(&server, &records[..2000]).await;
    assert_eq!(a.status, 200);
    assert_eq!(server.profile_count(), 2000);
    // gzip bodies are not understood by /engage.
    let body = gzip(&serde_json::to_vec(&[set("g", json!({"x": 1}))]).unwrap());
    let a = try_engage(
        &http,
        &server,
        SA,
        "strict=1&verbose=1&ip=0",
        body,
        &[("Content-Encoding", "gzip")],
    )
    .await
    .unwrap();
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["error"], ERROR_ENGAGE_UNPARSABLE);
    assert!(server.profile("g").is_none());
    assert_eq!(server.engage_counters().gzip_requests, 1);
    let log = server.engage_log();
    assert_eq!(
        log.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![413, 200, 400]
    );
    assert_eq!(log[1].events, 2000);
}

#[tokio::test]
async fn engage_faults_are_injected_by_request_number() {
    let server = FakeMixpanel::start(FakeConfig {
        faults: Faults {
            rate_limit_every: 2,
            retry_after_secs: Some(3),
            unavailable_every: 3,
            drop_every: 5,
            ..Faults::default()
        },
        ..FakeConfig::default()
    });
    let mut statuses = Vec::new();
    for i in 1..=5 {
        let result = try_engage(
            &client(),
            &server,
            SA,
            "strict=1&verbose=1&ip=0",
            serde_json::to_vec(&[set(&format!("f{i}"), json!({"i": i}))]).unwrap(),
            &[],
        )
        .await;
        match result {
            Ok(a) => {
                if a.status == 429 {
                    assert_eq!(a.retry_after.as_deref(), Some("3"));
                }
                statuses.push(a.status)
            }
            Err(_) => statuses.push(0),
        }
    }
    assert_eq!(statuses, vec![200, 429, 503, 429, 0]);
    // The dropped request was applied before the connection broke.
    let ids: Vec<String> = server.profiles().into_keys().collect();
    assert_eq!(ids, vec!["f1", "f5"]);
    assert_eq!(server.engage_counters().dropped_connections, 1);
    // Import numbering is separate.
    assert_eq!(server.counters().import_requests, 0);
    server.set_faults(Faults {
        force_401: true,
        ..Faults::default()
    });
    assert_eq!(engage(&server, &[set("z", json!({}))]).await.status, 401);

    let keys_only = FakeMixpanel::start(FakeConfig {
        store: StoreMode::KeysOnly,
        ..FakeConfig::default()
    });
    let batch = [
        set("k1", json!({"a": 1})),
        set("k2", json!({})),
        set("k1", json!({})),
    ];
    assert_eq!(engage(&keys_only, &batch).await.status, 200);
    assert_eq!(keys_only.profile_count(), 2);
    assert!(keys_only.profiles().is_empty());
}

// ----- the raw export (GET /api/2.0/export) -----

/// Events at fixed times: 2024-03-01T23:59:59.500Z (day 1) and 2024-03-02T00:00:00.250Z (day 2).
const DAY1_MS: i64 = 1_709_337_599_500;
const DAY2_MS: i64 = 1_709_337_600_250;

fn dated(name: &str, time_ms: i64, id: &str, label: &str) -> Value {
    json!({"event": name, "properties": {
        "time": time_ms, "distinct_id": "u1", "$insert_id": id, "mixport_import": label,
    }})
}

async fn export(server: &FakeMixpanel, cred: Cred<'_>, query: &[(&str, &str)]) -> Answer {
    let mut params: Vec<(&str, &str)> = query.to_vec();
    let mut req = client().get(server.export_url());
    match cred {
        Cred::ServiceAccount(user, secret, project) => {
            params.push(("project_id", project));
            req = req.basic_auth(user, Some(secret));
        }
        Cred::Token(token) => req = req.basic_auth(token, Some("")),
        Cred::TokenWithPassword(token, pass) => req = req.basic_auth(token, Some(pass)),
        Cred::None => {}
    }
    let url = reqwest::Url::parse_with_params(&server.export_url(), &params).unwrap();
    let response = client()
        .execute({
            let mut built = req.build().unwrap();
            *built.url_mut() = url;
            built
        })
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    Answer {
        status,
        retry_after,
        text: response.text().await.unwrap(),
    }
}

fn lines(answer: &Answer) -> Vec<Value> {
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const MARCH: [(&str, &str); 2] = [("from_date", "2024-03-01"), ("to_date", "2024-03-02")];

/// A server whose export has no rate limits (for tests of what it answers).
fn unlimited_export() -> FakeMixpanel {
    let server = FakeMixpanel::start_default();
    server.set_export(ExportConfig {
        queries_per_window: 0,
        queries_per_second: 0,
        ..ExportConfig::default()
    });
    server
}

#[tokio::test]
async fn export_needs_a_service_account() {
    let server = FakeMixpanel::start_default();
    post(&server, SA, &[dated("A", DAY1_MS, "a1", "x")]).await;
    let token = export(&server, Cred::Token(TOKEN), &MARCH).await;
    assert_eq!(token.status, 401, "{}", token.text);
    assert!(token.text.contains("service account"), "{}", token.text);
    let wrong = export(
        &server,
        Cred::ServiceAccount(SA_USER, "wrong", PROJECT_ID),
        &MARCH,
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.text, BODY_401);
    assert_eq!(lines(&export(&server, SA, &MARCH).await).len(), 1);
    assert_eq!(server.counters().export_requests, 3);
}

#[tokio::test]
async fn export_selects_utc_days_filters_and_sends_seconds() {
    let server = unlimited_export();
    let answer = post(
        &server,
        SA,
        &[
            dated("A", DAY1_MS, "a1", "run one"),
            dated("B", DAY2_MS, "b2", "run one"),
            dated("A", DAY2_MS, "a2", "run \"two\""),
        ],
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);

    let day1 = lines(
        &export(
            &server,
            SA,
            &[("from_date", "2024-03-01"), ("to_date", "2024-03-01")],
        )
        .await,
    );
    assert_eq!(day1.len(), 1);
    assert_eq!(day1[0]["event"], "A");
    // Seconds by default, truncated; milliseconds on request.
    assert_eq!(day1[0]["properties"]["time"], json!(DAY1_MS / 1000));
    assert_eq!(day1[0]["properties"]["$insert_id"], "a1");
    assert_eq!(day1[0]["properties"]["$import"], true);
    assert!(day1[0]["properties"]["mp_processing_time_ms"].is_i64());
    let mut ms_query = MARCH.to_vec();
    ms_query.push(("time_in_ms", "true"));
    let ms = lines(&export(&server, SA, &ms_query).await);
    assert_eq!(ms[0]["properties"]["time"], json!(DAY1_MS));

    let day2 = lines(
        &export(
            &server,
            SA,
            &[("from_date", "2024-03-02"), ("to_date", "2024-03-02")],
        )
        .await,
    );
    assert_eq!(day2.len(), 2);

    let mut by_event = MARCH.to_vec();
    by_event.push(("event", r#"["B"]"#));
    let only_b = lines(&export(&server, SA, &by_event).await);
    assert_eq!(only_b.len(), 1);
    assert_eq!(only_b[0]["event"], "B");

    let mut by_label = MARCH.to_vec();
    by_label.push(("where", r#"properties["mixport_import"] == "run \"two\"""#));
    let two = lines(&export(&server, SA, &by_label).await);
    assert_eq!(two.len(), 1);
    assert_eq!(two[0]["properties"]["$insert_id"], "a2");

    let mut both = MARCH.to_vec();
    both.push((
        "where",
        r#"properties["mixport_import"] == "run one" and properties["$insert_id"] == "b2""#,
    ));
    assert_eq!(lines(&export(&server, SA, &both).await).len(), 1);

    let mut bad_where = MARCH.to_vec();
    bad_where.push(("where", r#"properties["x"] != "y""#));
    let refused = export(&server, SA, &bad_where).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    let no_dates = export(&server, SA, &[("from_date", "2024-03-01")]).await;
    assert_eq!(no_dates.status, 400);
    assert!(no_dates.text.contains("to_date"), "{}", no_dates.text);
}

#[tokio::test]
async fn export_is_not_deduplicated_and_hides_what_tests_ask() {
    let server = unlimited_export();
    let events = [
        dated("A", DAY1_MS, "a1", "x"),
        dated("A", DAY2_MS, "a2", "x"),
    ];
    post(&server, SA, &events).await;
    post(&server, SA, &events).await;
    assert_eq!(server.unique_count(), 2);
    assert_eq!(lines(&export(&server, SA, &MARCH).await).len(), 4);
    server.hide_from_export(["a2"]);
    let shown = lines(&export(&server, SA, &MARCH).await);
    assert_eq!(shown.len(), 2);
    assert!(shown.iter().all(|l| l["properties"]["$insert_id"] == "a1"));
    // Hidden from the export only: still stored.
    assert_eq!(server.raw_count(), 4);
}

#[tokio::test]
async fn export_shows_events_only_after_the_visibility_delay() {
    let server = FakeMixpanel::start_default();
    server.set_export(ExportConfig {
        visibility_delay: Duration::from_millis(600),
        queries_per_second: 0,
        ..ExportConfig::default()
    });
    post(&server, SA, &[dated("A", DAY1_MS, "a1", "x")]).await;
    assert!(lines(&export(&server, SA, &MARCH).await).is_empty());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(lines(&export(&server, SA, &MARCH).await).len(), 1);
}

#[tokio::test]
async fn export_answers_429_past_the_budget_with_retry_after() {
    let server = FakeMixpanel::start_default();
    server.set_export(ExportConfig {
        queries_per_window: 2,
        window: Duration::from_secs(3),
        queries_per_second: 0,
        ..ExportConfig::default()
    });
    assert_eq!(export(&server, SA, &MARCH).await.status, 200);
    assert_eq!(export(&server, SA, &MARCH).await.status, 200);
    let limited = export(&server, SA, &MARCH).await;
    assert_eq!(limited.status, 429);
    let wait: u64 = limited.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=3).contains(&wait), "{wait}");
    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(export(&server, SA, &MARCH).await.status, 200);
    assert_eq!(server.counters().export_rate_limited, 1);

    // Three a second by default.
    let server = FakeMixpanel::start_default();
    let started = Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(export(&server, SA, &MARCH).await.status);
    }
    if started.elapsed() < Duration::from_millis(900) {
        assert_eq!(statuses, [200, 200, 200, 429]);
    }
}
