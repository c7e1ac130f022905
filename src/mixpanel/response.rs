//! Parsing `/import` responses into per-event outcomes.
//!
//! Every variant of the shared API doc §4 is handled defensively: JSON or HTML bodies, missing
//! fields, `insert_id` or `$insert_id`, and `failed_records` given as plain strings.

use std::time::Duration;

use serde_json::Value;

/// One event Mixpanel refused in a 400 response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FailedRecord {
    /// 0-based position in the batch that was sent, when given.
    pub index: Option<usize>,
    /// The event's insert id, when given (`insert_id` or `$insert_id`).
    pub insert_id: Option<String>,
    /// The profile's `$distinct_id` (an `/engage` failure), when given.
    pub distinct_id: Option<String>,
    /// The field Mixpanel names, e.g. `properties.time`.
    pub field: Option<String>,
    /// Mixpanel's message.
    pub message: String,
}

/// What one `/import` response means for its batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportReply {
    /// 200: every event imported.
    Ok {
        /// `num_records_imported`, when present.
        num_records_imported: Option<u64>,
    },
    /// 400 with per-event failures: the listed events were rejected, the rest imported.
    Partial {
        /// `num_records_imported`, when present.
        num_records_imported: Option<u64>,
        /// The failures with an index or insert id.
        failed: Vec<FailedRecord>,
        /// `failed_records` given as plain strings (no index): the whole batch is rejected with
        /// this message.
        whole_batch: Option<String>,
    },
    /// 400 without `failed_records`: the whole batch was refused. Never resent.
    BadRequest {
        /// Mixpanel's message.
        message: String,
    },
    /// 413: the request was too large; split and resend.
    TooLarge {
        /// Mixpanel's message (or a summary of an HTML page).
        message: String,
    },
    /// 429: rate limited; back off and retry.
    RateLimited {
        /// The `Retry-After` delay, when the server sent one in seconds.
        retry_after: Option<Duration>,
        /// Mixpanel's message.
        message: String,
    },
    /// 408 or 5xx: retry with backoff.
    Retryable {
        /// HTTP status.
        status: u16,
        /// Mixpanel's message (or a summary of an HTML page).
        message: String,
    },
    /// 401 or 403: the credentials are refused; the run must stop.
    Unauthorized {
        /// HTTP status.
        status: u16,
        /// Mixpanel's message.
        message: String,
    },
    /// Any other status (404, 405, 3xx, ...): a misconfigured host; the run must stop.
    Unexpected {
        /// HTTP status.
        status: u16,
        /// What the body says.
        message: String,
    },
}

/// Interpret a response's status, `Retry-After` header and body.
pub fn parse_import_reply(status: u16, retry_after: Option<&str>, body: &[u8]) -> ImportReply {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let message = body_message(json.as_ref(), body);
    match status {
        200..=299 => ImportReply::Ok {
            num_records_imported: json.as_ref().and_then(num_records_imported),
        },
        400 => {
            let Some(json) = json else {
                return ImportReply::BadRequest { message };
            };
            let imported = num_records_imported(&json);
            match json.get("failed_records") {
                Some(Value::Array(items)) if !items.is_empty() => {
                    let mut failed = Vec::new();
                    let mut strings = Vec::new();
                    for item in items {
                        match item {
                            Value::String(s) => strings.push(s.clone()),
                            Value::Object(_) => failed.push(parse_failed_record(item)),
                            other => strings.push(other.to_string()),
                        }
                    }
                    let whole_batch = if strings.is_empty() {
                        None
                    } else {
                        strings.dedup();
                        Some(strings.join("; "))
                    };
                    ImportReply::Partial {
                        num_records_imported: imported,
                        failed,
                        whole_batch,
                    }
                }
                _ => ImportReply::BadRequest { message },
            }
        }
        401 | 403 => ImportReply::Unauthorized { status, message },
        408 | 500..=599 => ImportReply::Retryable { status, message },
        413 => ImportReply::TooLarge { message },
        429 => ImportReply::RateLimited {
            retry_after: retry_after.and_then(parse_retry_after),
            message,
        },
        _ => ImportReply::Unexpected { status, message },
    }
}

/// `Retry-After` in whole (or fractional) seconds. The HTTP-date form is ignored (the regular
/// backoff applies).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    if secs.is_finite() && secs >= 0.0 {
        Some(Duration::from_secs_f64(secs.min(24.0 * 3600.0)))
    } else {
        None
    }
}

fn num_records_imported(json: &Value) -> Option<u64> {
    let v = json.get("num_records_imported")?;
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

fn parse_failed_record(item: &Value) -> FailedRecord {
    let index = item.get("index").and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .map(|i| i as usize)
    });
    let text = |key: &str| -> Option<String> {
        match item.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    };
    FailedRecord {
        index,
        insert_id: text("insert_id").or_else(|| text("$insert_id")),
        distinct_id: text("$distinct_id").or_else(|| text("distinct_id")),
        field: text("field"),
        message: text("message")
            .or_else(|| text("error"))
            .unwrap_or_else(|| "rejected by Mixpanel (no message given)".to_owned()),
    }
}

/// A short, plain message from any response body (JSON `error`, an HTML page's title, or the
/// start of the text).
pub fn summarize_body(body: &[u8]) -> String {
    let json = serde_json::from_slice::<Value>(body).ok();
    body_message(json.as_ref(), body)
}

/// A short, plain message from a response body: the JSON `error`, or the text of an HTML page
/// (its `<title>`), or the start of the body.
pub(crate) fn body_message(json: Option<&Value>, body: &[u8]) -> String {
    if let Some(json) = json {
        for key in ["error", "message", "status"] {
            if let Some(Value::String(s)) = json.get(key)
                && !s.trim().is_empty()
            {
                return s.trim().to_owned();
            }
        }
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    let lower = text.to_ascii_lowercase();
    if let (Some(start), Some(end)) = (lower.find("<title>"), lower.find("</title>"))
        && end > start + 7
    {
        return format!("HTML page: {}", text[start + 7..end].trim());
    }
    let stripped = strip_tags(&text);
    let squeezed: String = stripped.split_whitespace().collect::<Vec<_>>().join(" ");
    if squeezed.is_empty() {
        "empty response body".to_owned()
    } else {
        squeezed.chars().take(200).collect()
    }
}

fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_with_count() {
        let r = parse_import_reply(
            200,
            None,
            br#"{"code": 200, "num_records_imported": 2000, "status": "OK"}"#,
        );
        assert_eq!(
            r,
            ImportReply::Ok {
                num_records_imported: Some(2000)
            }
        );
        // An empty or odd 200 body is still a success.
        assert_eq!(
            parse_import_reply(200, None, b"1"),
            ImportReply::Ok {
                num_records_imported: None
            }
        );
    }

    #[test]
    fn partial_400_with_insert_id_key() {
        let body = br#"{"code": 400, "error": "some data points in the request failed validation",
           "num_records_imported": 1998, "status": "Bad Request",
           "failed_records": [{"index": 3, "insert_id": "a1b2", "field": "properties.time",
             "message": "'properties.time' is invalid: must not be in the future"},
             {"index": 7, "$insert_id": "c3", "field": "properties.$insert_id",
             "message": "'$insert_id' is invalid: must only contain alphanumeric or hyphen '-' characters"}]}"#;
        let ImportReply::Partial {
            num_records_imported,
            failed,
            whole_batch,
        } = parse_import_reply(400, None, body)
        else {
            panic!("not partial")
        };
        assert_eq!(num_records_imported, Some(1998));
        assert_eq!(whole_batch, None);
        assert_eq!(failed.len(), 2);
        assert_eq!(failed[0].index, Some(3));
        assert_eq!(failed[0].insert_id.as_deref(), Some("a1b2"));
        assert_eq!(failed[0].field.as_deref(), Some("properties.time"));
        assert!(failed[0].message.contains("future"));
        assert_eq!(failed[1].insert_id.as_deref(), Some("c3"));
        assert_eq!(failed[1].index, Some(7));
    }

    #[test]
    fn partial_400_with_plain_strings_rejects_whole_batch() {
        let body = br#"{"code":400,"error":"x","num_records_imported":0,
            "failed_records":["identity events are not allowed when project is using simplified identity management"]}"#;
        let ImportReply::Partial {
            failed,
            whole_batch,
            num_records_imported,
        } = parse_import_reply(400, None, body)
        else {
            panic!()
        };
        assert!(failed.is_empty());
        assert_eq!(num_records_imported, Some(0));
        assert!(whole_batch.unwrap().contains("simplified identity"));
    }

    #[test]
    fn failed_record_with_missing_fields() {
        let body = br#"{"failed_records":[{"index":"2"},{"message":null,"error":"bad"}]}"#;
        let ImportReply::Partial { failed, .. } = parse_import_reply(400, None, body) else {
            panic!()
        };
        assert_eq!(failed[0].index, Some(2));
        assert!(failed[0].message.contains("no message"));
        assert_eq!(failed[1].index, None);
        assert_eq!(failed[1].message, "bad");
    }

    #[test]
    fn bad_request_without_failed_records_or_html() {
        assert_eq!(
            parse_import_reply(400, None, br#"{"error":"invalid json","status":0}"#),
            ImportReply::BadRequest {
                message: "invalid json".into()
            }
        );
        assert!(matches!(
            parse_import_reply(400, None, b"<html><body>Bad</body></html>"),
            ImportReply::BadRequest { .. }
        ));
    }

    #[test]
    fn too_large_json_and_html() {
        assert_eq!(
            parse_import_reply(
                413,
                None,
                br#"{"code": 413, "error": "request exceeds max limit of 2097152 bytes", "status": "Request Entity Too Large"}"#
            ),
            ImportReply::TooLarge {
                message: "request exceeds max limit of 2097152 bytes".into()
            }
        );
        let html = b"<html><head><title>413 Request Entity Too Large</title></head><body><center><h1>413</h1></center><hr><center>nginx</center></body></html>";
        assert_eq!(
            parse_import_reply(413, None, html),
            ImportReply::TooLarge {
                message: "HTML page: 413 Request Entity Too Large".into()
            }
        );
    }

    #[test]
    fn rate_limited_with_and_without_retry_after() {
        let body = br#"{"code": 429, "error": "Project exceeded rate limits. Please retry the request with exponential backoff.", "status": "Too Many Requests"}"#;
        let ImportReply::RateLimited {
            retry_after,
            message,
        } = parse_import_reply(429, Some("7"), body)
        else {
            panic!()
        };
        assert_eq!(retry_after, Some(Duration::from_secs(7)));
        assert!(message.contains("rate limits"));
        assert!(matches!(
            parse_import_reply(429, None, b""),
            ImportReply::RateLimited {
                retry_after: None,
                ..
            }
        ));
        assert!(matches!(
            parse_import_reply(429, Some("Wed, 21 Oct 2015 07:28:00 GMT"), b""),
            ImportReply::RateLimited {
                retry_after: None,
                ..
            }
        ));
    }

    #[test]
    fn server_errors_are_retryable_even_as_html() {
        let r = parse_import_reply(
            502,
            None,
            b"<html><body><h1>502 Bad Gateway</h1>\n<p>upstream</p></body></html>",
        );
        assert_eq!(
            r,
            ImportReply::Retryable {
                status: 502,
                message: "502 Bad Gateway upstream".into()
            }
        );
        assert!(matches!(
            parse_import_reply(408, None, b""),
            ImportReply::Retryable { status: 408, .. }
        ));
        assert!(matches!(
            parse_import_reply(503, None, b""),
            ImportReply::Retryable { status: 503, .. }
        ));
    }

    #[test]
    fn unauthorized_and_unexpected() {
        assert_eq!(
            parse_import_reply(
                401,
                None,
                br#"{"code": 401, "error": "Invalid credentials", "status": "Unauthorized"}"#
            ),
            ImportReply::Unauthorized {
                status: 401,
                message: "Invalid credentials".into()
            }
        );
        assert!(matches!(
            parse_import_reply(403, None, b"Unauthorized, invalid project secret"),
            ImportReply::Unauthorized { status: 403, .. }
        ));
        assert!(matches!(
            parse_import_reply(404, None, b"not found"),
            ImportReply::Unexpected { status: 404, .. }
        ));
    }
}
