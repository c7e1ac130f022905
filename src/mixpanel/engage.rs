//! User profiles: the `POST /engage` request body and what its answers mean (shared API doc §10).
//!
//! A batch entry of a profile import is one source row. Its JSON holds one engage record per
//! line (`{"$distinct_id":..,"$set":{..}}`, and a second `{"$distinct_id":..,"$unset":[..]}`
//! when the user asked to clear empty values): Mixpanel takes one operation per record. The body
//! is a JSON array of every record of the batch, each with the project's `"$token"` put first,
//! sent uncompressed (`/engage` does not read gzip bodies). The client always asks for
//! `strict=1&verbose=1`, because without them `/engage` answers 200 even for records it refused;
//! [`parse_engage_reply`] still reads every other shape (`{"status":0,"error":..}`, `0`, `1`).
//! [`map_engage_failures`] maps each failed record (by its `index` in the body, checked against
//! its `$distinct_id`) back to the entry, and so to the source row, it came from.

use serde_json::Value;

use super::batch::Batch;
use super::client::{BatchOutcome, EventProblem};
use super::response::{FailedRecord, ImportReply, parse_import_reply};

/// Mixpanel's limit of records per `/engage` request.
pub const MAX_ENGAGE_RECORDS: usize = 2000;

/// The records of one batch entry: its JSON lines.
fn entry_records(json: &[u8]) -> impl Iterator<Item = &[u8]> {
    json.split(|b| *b == b'\n').filter(|line| !line.is_empty())
}

/// How many records a batch holds.
pub fn record_count(batch: &Batch) -> usize {
    batch
        .events
        .iter()
        .map(|e| entry_records(&e.json).count())
        .sum()
}

/// The request body: a JSON array of every record of the batch, each beginning with
/// `"$token":TOKEN` (records are written as objects starting with `{`).
pub fn engage_body(batch: &Batch, token: &str) -> Vec<u8> {
    let mut token_key = Vec::with_capacity(token.len() + 16);
    token_key.extend_from_slice(b"{\"$token\":");
    crate::mapping::typing::write_json_string(token, &mut token_key);
    let mut body = Vec::with_capacity(batch.bytes + batch.events.len() * (token_key.len() + 2));
    body.push(b'[');
    let mut first = true;
    for entry in &batch.events {
        for record in entry_records(&entry.json) {
            if !first {
                body.push(b',');
            }
            first = false;
            body.extend_from_slice(&token_key);
            // `record` is `{...}`: keep what follows its brace, with a comma when not empty.
            let rest = record.get(1..).unwrap_or_default();
            if rest.first().is_some_and(|b| *b != b'}') {
                body.push(b',');
            }
            body.extend_from_slice(rest);
        }
    }
    body.push(b']');
    body
}

/// Interpret an `/engage` answer. Non-2xx statuses mean what they mean for `/import`
/// ([`parse_import_reply`], with `failed_records` keyed by `$distinct_id`). A 2xx body may
/// still say the records were refused: `{"status": 0, "error": ..}` (verbose), `0` (plain) or
/// `{"code": 400, ..}`; that is a [`ImportReply::BadRequest`] for the whole batch, since such an
/// answer does not say which records failed.
pub fn parse_engage_reply(status: u16, retry_after: Option<&str>, body: &[u8]) -> ImportReply {
    if !(200..=299).contains(&status) {
        return parse_import_reply(status, retry_after, body);
    }
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let refused = |message: String| ImportReply::BadRequest { message };
    match &json {
        Some(Value::Number(n)) if n.as_u64() == Some(0) => {
            refused("Mixpanel answered 0 (the update was not applied)".to_owned())
        }
        Some(Value::Object(map)) => {
            let status_field = map.get("status");
            let failed_status = matches!(status_field, Some(Value::Number(n)) if n.as_u64() == Some(0))
                || matches!(status_field, Some(Value::String(s)) if s == "0");
            let failed_code = map
                .get("code")
                .and_then(Value::as_u64)
                .is_some_and(|c| c >= 400);
            if failed_code && map.get("failed_records").is_some() {
                // A strict-mode failure list delivered with a 2xx status: read it as a 400.
                return parse_import_reply(400, retry_after, body);
            }
            if failed_status || failed_code {
                let error = map
                    .get("error")
                    .and_then(Value::as_str)
                    .filter(|e| !e.trim().is_empty())
                    .unwrap_or("no reason given");
                return refused(format!(
                    "Mixpanel did not apply the profile updates ({error})"
                ));
            }
            parse_import_reply(status, retry_after, body)
        }
        _ => parse_import_reply(status, retry_after, body),
    }
}

/// Map the failures of a 400 to the entries of `sub` (whose first entry is `offset` in the
/// whole batch), push one [`EventProblem`] per rejected entry into `outcome.rejected`, and
/// return `(entries rejected, records Mixpanel should report as imported)`.
///
/// A failure names the record's `index` in the body and its `$distinct_id`: the index is used
/// when the record at that position has that id (or the failure gives none); otherwise the
/// first entry with that id. An entry is rejected when any of its records failed (its other
/// record, if any, may have been applied: the message says so).
pub fn map_engage_failures(
    sub: &Batch,
    offset: usize,
    failed: &[FailedRecord],
    whole_batch: Option<String>,
    outcome: &mut BatchOutcome,
) -> (usize, usize) {
    let records = record_count(sub);
    if let Some(message) = whole_batch {
        for (i, entry) in sub.events.iter().enumerate() {
            outcome.rejected.push(EventProblem {
                index: offset + i,
                row: entry.row,
                field: String::new(),
                message: message.clone(),
            });
        }
        return (sub.events.len(), 0);
    }
    // The entry of each record position.
    let owner: Vec<usize> = sub
        .events
        .iter()
        .enumerate()
        .flat_map(|(i, e)| std::iter::repeat_n(i, entry_records(&e.json).count()))
        .collect();
    let mut entry_failures: Vec<Option<String>> = vec![None; sub.events.len()];
    let mut failed_records = vec![false; records];
    for record in failed {
        let id = record.distinct_id.as_deref();
        let by_index = record.index.filter(|&i| i < records);
        let matches = |entry: usize| id.is_none_or(|id| sub.events[entry].insert_id == id);
        let position = match by_index {
            Some(i) if matches(owner[i]) => Some(i),
            _ => id.and_then(|id| {
                owner
                    .iter()
                    .enumerate()
                    .find(|(r, e)| !failed_records[*r] && sub.events[**e].insert_id == id)
                    .map(|(r, _)| r)
            }),
        };
        let Some(position) = position else {
            outcome.notes.push(format!(
                "Mixpanel reported a failed profile update that matches no record of the batch (index {:?}, $distinct_id {:?}): {}",
                record.index, record.distinct_id, record.message
            ));
            continue;
        };
        if failed_records[position] {
            continue;
        }
        failed_records[position] = true;
        let entry = owner[position];
        let message = match &record.field {
            Some(field) if !field.is_empty() && !record.message.contains(field.as_str()) => {
                format!("{field}: {}", record.message)
            }
            _ => record.message.clone(),
        };
        let slot = &mut entry_failures[entry];
        match slot {
            Some(existing) => {
                existing.push_str("; ");
                existing.push_str(&message);
            }
            None => *slot = Some(message),
        }
    }
    let mut rejected = 0;
    for (i, failure) in entry_failures.into_iter().enumerate() {
        let Some(mut message) = failure else { continue };
        let total = owner.iter().filter(|e| **e == i).count();
        let failed_here = owner
            .iter()
            .enumerate()
            .filter(|(r, e)| **e == i && failed_records[*r])
            .count();
        if failed_here < total {
            message.push_str(" (the row's other profile update was applied)");
        }
        rejected += 1;
        outcome.rejected.push(EventProblem {
            index: offset + i,
            row: sub.events[i].row,
            field: String::new(),
            message,
        });
    }
    let imported_records = records - failed_records.iter().filter(|f| **f).count();
    (rejected, imported_records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mixpanel::batch::BatchEvent;

    fn entry(row: u64, id: &str, lines: &[&str]) -> BatchEvent {
        BatchEvent {
            row,
            json: lines.join("\n").into_bytes(),
            insert_id: id.to_owned(),
        }
    }

    fn batch() -> Batch {
        Batch::from_events(vec![
            entry(2, "a", &[r#"{"$distinct_id":"a","$set":{"x":1}}"#]),
            entry(
                3,
                "b",
                &[
                    r#"{"$distinct_id":"b","$set":{"x":2}}"#,
                    r#"{"$distinct_id":"b","$unset":["y"]}"#,
                ],
            ),
            entry(4, "c", &[r#"{"$distinct_id":"c","$set":{}}"#]),
            entry(5, "a", &[r#"{"$distinct_id":"a","$set":{"x":3}}"#]),
        ])
    }

    #[test]
    fn body_is_a_json_array_with_the_token_in_every_record() {
        let body = engage_body(&batch(), "tok\"en");
        let value: Value = serde_json::from_slice(&body).unwrap();
        let records = value.as_array().unwrap();
        assert_eq!(records.len(), 5);
        assert_eq!(record_count(&batch()), 5);
        for r in records {
            assert_eq!(r["$token"], "tok\"en");
        }
        assert_eq!(records[2]["$unset"], serde_json::json!(["y"]));
        assert_eq!(records[3]["$set"], serde_json::json!({}));
        assert!(body.starts_with(br#"[{"$token":"tok\"en","$distinct_id":"a""#));
        assert_eq!(engage_body(&Batch::default(), "t"), b"[]");
        let empty = Batch::from_events(vec![entry(1, "e", &["{}"])]);
        assert_eq!(engage_body(&empty, "t"), br#"[{"$token":"t"}]"#);
    }

    #[test]
    fn answers_of_every_shape() {
        let ok = |body: &[u8]| parse_engage_reply(200, None, body);
        assert!(matches!(
            ok(br#"{"code":200,"num_records_imported":3,"status":"OK"}"#),
            ImportReply::Ok {
                num_records_imported: Some(3)
            }
        ));
        assert!(matches!(
            ok(br#"{"status": 1, "error": null}"#),
            ImportReply::Ok { .. }
        ));
        assert!(matches!(ok(b"1"), ImportReply::Ok { .. }));
        match ok(br#"{"status": 0, "error": "'$distinct_id' is invalid"}"#) {
            ImportReply::BadRequest { message } => {
                assert!(message.contains("'$distinct_id' is invalid"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(ok(b"0"), ImportReply::BadRequest { .. }));
        let body = br#"{"code":400,"error":"some data points in the request failed validation","failed_records":[{"index":1,"$distinct_id":"b","message":"bad"}],"num_records_imported":4,"status":"Bad Request"}"#;
        for status in [200, 400] {
            match parse_engage_reply(status, None, body) {
                ImportReply::Partial {
                    failed,
                    num_records_imported,
                    ..
                } => {
                    assert_eq!(num_records_imported, Some(4));
                    assert_eq!(failed[0].index, Some(1));
                    assert_eq!(failed[0].distinct_id.as_deref(), Some("b"));
                }
                other => panic!("{status}: {other:?}"),
            }
        }
        assert!(matches!(
            parse_engage_reply(429, Some("2"), b""),
            ImportReply::RateLimited { .. }
        ));
        assert!(matches!(
            parse_engage_reply(401, None, b"{}"),
            ImportReply::Unauthorized { .. }
        ));
    }

    fn failure(index: Option<usize>, id: Option<&str>, message: &str) -> FailedRecord {
        FailedRecord {
            index,
            distinct_id: id.map(str::to_owned),
            message: message.to_owned(),
            ..FailedRecord::default()
        }
    }

    #[test]
    fn failures_map_to_entries_and_rows() {
        let mut outcome = BatchOutcome::default();
        let failed = [
            // The $unset record of row 3.
            failure(Some(2), Some("b"), "unset refused"),
            // An index that points elsewhere: found by its id (the first "a" not yet failed).
            failure(Some(3), Some("a"), "a refused"),
            failure(Some(99), Some("zz"), "unknown"),
        ];
        let (rejected, imported) = map_engage_failures(&batch(), 10, &failed, None, &mut outcome);
        assert_eq!(rejected, 2);
        assert_eq!(imported, 3);
        let rows: Vec<(usize, u64)> = outcome.rejected.iter().map(|p| (p.index, p.row)).collect();
        assert_eq!(rows, vec![(10, 2), (11, 3)]);
        assert_eq!(outcome.rejected[0].message, "a refused");
        assert!(
            outcome.rejected[1]
                .message
                .contains("other profile update was applied")
        );
        assert_eq!(outcome.notes.len(), 1);

        let mut outcome = BatchOutcome::default();
        let (rejected, imported) = map_engage_failures(
            &batch(),
            0,
            &[failure(Some(4), None, "x")],
            None,
            &mut outcome,
        );
        assert_eq!((rejected, imported), (1, 4));
        assert_eq!(outcome.rejected[0].row, 5);

        let mut outcome = BatchOutcome::default();
        let (rejected, imported) =
            map_engage_failures(&batch(), 0, &[], Some("all".into()), &mut outcome);
        assert_eq!((rejected, imported), (4, 0));
    }
}
