//! The raw Export API client: `GET /api/2.0/export` on the region's data host (shared doc §9).
//!
//! The answer is NDJSON, one event per line, possibly millions of lines: it is streamed chunk by
//! chunk and handed to an [`ExportSink`] line by line, never held whole. Only a service account
//! can export; a project token is refused before anything is sent, with what to do instead.
//!
//! Limits: at most 60 queries an hour and 3 a second per project, kept by a [`QueryBudget`]
//! shared with other Mixport processes. A 429 is waited out (its `Retry-After` when given, else
//! the usual backoff) and retried, each retry counted against the budget; when the budget is
//! used up the query is not sent and the error says when it can be.

use std::borrow::Cow;
use std::time::Duration;

use chrono::NaiveDate;
use serde::Deserialize;

use super::auth::Credentials;
use super::client::BackoffPolicy;
use super::export_budget::{BudgetStatus, ExportLimits, QueryBudget, describe_wait, now_unix_ms};
use super::region::{ApiBaseError, Region, validate_api_base};
use super::response::{body_message, parse_retry_after};
use crate::pipeline::RunControl;

/// The export path on the data host.
pub const EXPORT_PATH: &str = "/api/2.0/export";

/// Longest export line accepted (Mixpanel events are under 1 MB).
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// What to export: a range of UTC days, optionally only some event names and property values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportQuery {
    /// First UTC day, inclusive.
    pub from_date: NaiveDate,
    /// Last UTC day, inclusive.
    pub to_date: NaiveDate,
    /// Only these event names (all when empty).
    pub event_names: Vec<String>,
    /// `properties["NAME"] == "VALUE"` tests, all of which must hold.
    pub where_equals: Vec<(String, String)>,
}

impl ExportQuery {
    /// The `where` expression, e.g. `properties["mixport_import"] == "sales 2026-12-02"`.
    pub fn where_expression(&self) -> Option<String> {
        if self.where_equals.is_empty() {
            return None;
        }
        Some(
            self.where_equals
                .iter()
                .map(|(name, value)| {
                    format!(
                        "properties[{}] == {}",
                        quote_literal(name),
                        quote_literal(value)
                    )
                })
                .collect::<Vec<_>>()
                .join(" and "),
        )
    }

    /// The query parameters (without `project_id`).
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let mut params = vec![
            ("from_date", self.from_date.format("%Y-%m-%d").to_string()),
            ("to_date", self.to_date.format("%Y-%m-%d").to_string()),
        ];
        if !self.event_names.is_empty() {
            params.push((
                "event",
                serde_json::to_string(&self.event_names).unwrap_or_default(),
            ));
        }
        if let Some(expression) = self.where_expression() {
            params.push(("where", expression));
        }
        params
    }
}

/// A string literal of Mixpanel's expression language: double quotes, `\"` and `\\` escaped.
pub fn quote_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// One exported event's identity, borrowed from its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedEvent<'a> {
    /// The event name.
    pub event: &'a str,
    /// The distinct_id as it was sent: `$distinct_id_before_identity` when Mixpanel resolved
    /// the user to another id, else `distinct_id` (empty when absent).
    pub distinct_id: &'a str,
    /// `time` in whole seconds since the epoch (the export's precision).
    pub time_secs: i64,
    /// `$insert_id` (empty when absent).
    pub insert_id: &'a str,
}

/// Receives the exported events.
pub trait ExportSink {
    /// The query is (re)starting: forget what an interrupted earlier attempt delivered.
    fn restart(&mut self);
    /// One event.
    fn event(&mut self, event: &ExportedEvent<'_>);
}

/// Why the export client is waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitReason {
    /// Keeping to 3 queries a second.
    Spacing,
    /// Mixpanel answered 429.
    RateLimited,
    /// Mixpanel answered a server error or could not be reached.
    Retrying,
}

/// Progress of an export, for a status line.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportProgress {
    /// Event lines received so far (this attempt).
    pub lines: u64,
    /// Bytes received so far (this attempt, after decompression).
    pub bytes: u64,
    /// The query budget.
    pub budget: BudgetStatus,
    /// Waiting before (re)sending the query.
    pub waiting: Option<(Duration, WaitReason)>,
}

/// What an export did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportSummary {
    /// Event lines delivered to the sink (last attempt).
    pub lines: u64,
    /// Lines that were not a readable event (skipped).
    pub unreadable_lines: u64,
    /// Bytes received (last attempt).
    pub bytes: u64,
    /// Queries sent, retries included.
    pub queries: u32,
    /// 429 answers.
    pub rate_limited: u32,
    /// The budget afterwards.
    pub budget: BudgetStatus,
}

/// Why an export could not be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// A project token cannot export.
    #[error(
        "a project token cannot read events back from Mixpanel: the export needs a service account. In Mixpanel, open Organization Settings > Service Accounts, add one with the Owner or Admin role on this project, and save it as a connection in Mixport (or set MP_ACCT, MP_PASS and MP_PROJECT)."
    )]
    ProjectToken,
    /// The host override is refused.
    #[error(transparent)]
    ApiBase(#[from] ApiBaseError),
    /// The HTTP stack could not start.
    #[error("cannot start the HTTP client: {0}")]
    Http(String),
    /// Mixpanel refused the credentials (401/403).
    #[error(
        "Mixpanel refused the {kind} for project {project_id} in the {region} region (HTTP {status}: {message}). Check the secret, that the project id is right, and that the service account is Owner or Admin of the project."
    )]
    Refused {
        /// HTTP status.
        status: u16,
        /// Mixpanel's message.
        message: String,
        /// The credential in words.
        kind: String,
        /// The project.
        project_id: String,
        /// The region's label.
        region: String,
    },
    /// Mixpanel did not accept the query (400).
    #[error("Mixpanel did not accept the export query (HTTP {status}): {message}")]
    BadQuery {
        /// HTTP status.
        status: u16,
        /// Mixpanel's message.
        message: String,
    },
    /// A redirect: never followed (it would carry the secret to another host).
    #[error(
        "the export host answered HTTP {status} redirecting to {location}; Mixport never follows redirects, so nothing was sent there. Check the region and the API address."
    )]
    Redirected {
        /// HTTP status.
        status: u16,
        /// Where it pointed.
        location: String,
    },
    /// Our count of the hour's queries is at the limit: nothing was sent.
    #[error(
        "Mixpanel allows {limit} export queries an hour and all are used; try again in {}",
        describe_wait(*.retry_in_secs)
    )]
    BudgetUsedUp {
        /// The hourly limit.
        limit: u32,
        /// Seconds until a query is allowed.
        retry_in_secs: u64,
    },
    /// Mixpanel kept answering 429, or asked for a longer wait than we keep a user waiting.
    #[error("Mixpanel is limiting export queries for this project; try again in {}", describe_wait(*.retry_in_secs))]
    RateLimited {
        /// Seconds Mixpanel asked to wait (or our estimate).
        retry_in_secs: u64,
    },
    /// Mixpanel could not be reached or kept failing.
    #[error("could not read the export from Mixpanel: {0}")]
    Unreachable(String),
    /// The user cancelled.
    #[error("cancelled")]
    Cancelled,
}

/// Where and how the export client connects.
#[derive(Debug, Clone)]
pub struct ExportSettings {
    /// The project's region (picks the data host).
    pub region: Region,
    /// Another host (a test server), validated like `--api-base`.
    pub api_base: Option<String>,
    /// Retry timings for server errors and 429s without `Retry-After`.
    pub backoff: BackoffPolicy,
    /// Tries for server errors and network failures (first included).
    pub max_tries: u32,
    /// Tries for 429 answers (first included).
    pub max_rate_limited_tries: u32,
    /// Longest single wait for a 429 before giving up and telling the user when to retry.
    pub max_wait: Duration,
    /// Longest silence while reading the answer.
    pub read_timeout: Duration,
    /// Mixpanel's limits.
    pub limits: ExportLimits,
    /// Where the budget is kept across processes (`None`: this process only).
    pub budget_file: Option<std::path::PathBuf>,
    /// The proxy for HTTPS hosts (`HTTPS_PROXY`), as for imports.
    pub https_proxy: Option<String>,
    /// Hosts that bypass it (`NO_PROXY`).
    pub no_proxy: Option<String>,
}

impl ExportSettings {
    /// Defaults for a region: Mixpanel's limits, backoff from 2 s, at most 2 minutes per wait.
    pub fn new(region: Region) -> Self {
        let proxy = super::client::ClientConfig::new(region);
        Self {
            https_proxy: proxy.https_proxy,
            no_proxy: proxy.no_proxy,
            region,
            api_base: None,
            backoff: BackoffPolicy::default(),
            max_tries: 4,
            max_rate_limited_tries: 6,
            max_wait: Duration::from_secs(120),
            read_timeout: Duration::from_secs(120),
            limits: ExportLimits::default(),
            budget_file: crate::pipeline::journal::data_dir()
                .map(|d| QueryBudget::default_file(&d)),
        }
    }
}

/// The export client for one project.
#[derive(Debug)]
pub struct ExportClient {
    http: reqwest::Client,
    url: String,
    username: String,
    secret: super::auth::Secret,
    project_id: String,
    region: Region,
    settings: ExportSettings,
    budget: QueryBudget,
}

impl ExportClient {
    /// A client for a service account; a project token is refused with
    /// [`ExportError::ProjectToken`].
    pub fn new(credentials: &Credentials, settings: ExportSettings) -> Result<Self, ExportError> {
        let Credentials::ServiceAccount {
            username,
            secret,
            project_id,
        } = credentials
        else {
            return Err(ExportError::ProjectToken);
        };
        let base = match &settings.api_base {
            Some(base) => validate_api_base(base)?,
            None => settings.region.export_base(),
        };
        // The same gate as the import client: no redirects, no proxy but HTTPS_PROXY for HTTPS
        // hosts, never a proxy for loopback.
        let http = super::client::http_builder(
            &base,
            settings.https_proxy.as_deref(),
            settings.no_proxy.as_deref(),
        )
        .map_err(|e| ExportError::Http(e.to_string()))?
        .read_timeout(settings.read_timeout)
        .build()
        .map_err(|e| ExportError::Http(e.to_string()))?;
        let key = format!("{base} {project_id}");
        let budget = QueryBudget::open(settings.budget_file.clone(), key, settings.limits);
        Ok(Self {
            http,
            url: format!("{base}{EXPORT_PATH}"),
            username: username.clone(),
            secret: secret.clone(),
            project_id: project_id.clone(),
            region: settings.region,
            settings,
            budget,
        })
    }

    /// The query budget now (re-read from the shared file).
    pub fn budget(&mut self) -> BudgetStatus {
        self.budget.reload();
        self.budget.status(now_unix_ms())
    }

    /// Run `query`, streaming every event into `sink`.
    pub async fn run(
        &mut self,
        query: &ExportQuery,
        sink: &mut dyn ExportSink,
        control: &RunControl,
        progress: &mut dyn FnMut(&ExportProgress),
    ) -> Result<ExportSummary, ExportError> {
        let mut summary = ExportSummary::default();
        let mut failures = 0u32;
        let mut rate_limits = 0u32;
        let mut params = query.params();
        params.push(("project_id", self.project_id.clone()));
        let url = reqwest::Url::parse_with_params(&self.url, &params)
            .map_err(|e| ExportError::Http(e.to_string()))?;
        loop {
            // Keep to the budget before sending anything.
            self.budget.reload();
            match self.budget.wait_before_next(now_unix_ms()) {
                Err(wait) => {
                    return Err(ExportError::BudgetUsedUp {
                        limit: self.budget.limits().per_window,
                        retry_in_secs: wait.as_secs().max(1),
                    });
                }
                Ok(wait) if !wait.is_zero() => {
                    self.wait(wait, WaitReason::Spacing, control, progress)
                        .await?;
                }
                Ok(_) => {}
            }
            if control.is_cancelled() {
                return Err(ExportError::Cancelled);
            }
            self.budget.record(now_unix_ms());
            summary.queries += 1;
            let attempt = self.attempt(url.clone(), sink, control, progress).await;
            let retry = match attempt {
                Ok(done) => {
                    summary.lines = done.lines;
                    summary.unreadable_lines = done.unreadable_lines;
                    summary.bytes = done.bytes;
                    summary.budget = self.budget.status(now_unix_ms());
                    return Ok(summary);
                }
                Err(Attempt::Fatal(e)) => return Err(e),
                Err(Attempt::RateLimited(retry_after)) => {
                    summary.rate_limited += 1;
                    rate_limits += 1;
                    let wait = retry_after.unwrap_or_else(|| {
                        self.settings
                            .backoff
                            .delay(rate_limits, None, fastrand::f64())
                    });
                    if rate_limits >= self.settings.max_rate_limited_tries
                        || wait > self.settings.max_wait
                    {
                        return Err(ExportError::RateLimited {
                            retry_in_secs: wait.as_secs().max(1),
                        });
                    }
                    (wait, WaitReason::RateLimited)
                }
                Err(Attempt::Retryable(reason)) => {
                    failures += 1;
                    if failures >= self.settings.max_tries {
                        return Err(ExportError::Unreachable(reason));
                    }
                    let wait = self.settings.backoff.delay(failures, None, fastrand::f64());
                    (wait, WaitReason::Retrying)
                }
            };
            self.wait(retry.0, retry.1, control, progress).await?;
        }
    }

    async fn wait(
        &mut self,
        wait: Duration,
        reason: WaitReason,
        control: &RunControl,
        progress: &mut dyn FnMut(&ExportProgress),
    ) -> Result<(), ExportError> {
        let deadline = tokio::time::Instant::now() + wait;
        let budget = self.budget.status(now_unix_ms());
        loop {
            if control.is_cancelled() {
                return Err(ExportError::Cancelled);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(());
            }
            progress(&ExportProgress {
                lines: 0,
                bytes: 0,
                budget,
                waiting: Some((deadline - now, reason)),
            });
            tokio::time::sleep((deadline - now).min(Duration::from_millis(200))).await;
        }
    }

    async fn attempt(
        &mut self,
        url: reqwest::Url,
        sink: &mut dyn ExportSink,
        control: &RunControl,
        progress: &mut dyn FnMut(&ExportProgress),
    ) -> Result<Streamed, Attempt> {
        let response = self
            .http
            .get(url)
            .basic_auth(&self.username, Some(self.secret.expose()))
            .header(
                reqwest::header::ACCEPT,
                "application/x-ndjson, application/json",
            )
            .send()
            .await
            .map_err(|e| Attempt::Retryable(describe(&e)))?;
        let status = response.status().as_u16();
        if status != 200 {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = response.bytes().await.unwrap_or_default();
            let json: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
            let message = body_message(json.as_ref(), &body);
            return Err(match status {
                401 | 403 => Attempt::Fatal(ExportError::Refused {
                    status,
                    message,
                    kind: format!("service account '{}'", self.username),
                    project_id: self.project_id.clone(),
                    region: self.region.label().to_owned(),
                }),
                429 => Attempt::RateLimited(retry_after),
                300..=399 => Attempt::Fatal(ExportError::Redirected {
                    status,
                    location: location.unwrap_or_else(|| "nowhere given".to_owned()),
                }),
                408 | 500..=599 => Attempt::Retryable(format!("HTTP {status}: {message}")),
                _ => Attempt::Fatal(ExportError::BadQuery { status, message }),
            });
        }
        sink.restart();
        let mut response = response;
        let mut lines = LineSplitter::default();
        let mut done = Streamed::default();
        let budget = self.budget.status(now_unix_ms());
        let mut last_progress = std::time::Instant::now();
        loop {
            if control.is_cancelled() {
                return Err(Attempt::Fatal(ExportError::Cancelled));
            }
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    return Err(Attempt::Retryable(format!(
                        "the answer was cut off after {} events: {}",
                        done.lines,
                        describe(&e)
                    )));
                }
            };
            done.bytes += chunk.len() as u64;
            let fed = lines.feed(&chunk, &mut |line| match parse_line(line) {
                Some(event) => {
                    done.lines += 1;
                    sink.event(&event.borrowed());
                }
                None => done.unreadable_lines += 1,
            });
            if fed.is_err() {
                return Err(Attempt::Fatal(ExportError::BadQuery {
                    status,
                    message: format!(
                        "the export sent a line longer than {} MB; this is not an event",
                        MAX_LINE_BYTES / 1024 / 1024
                    ),
                }));
            }
            if last_progress.elapsed() >= Duration::from_millis(200) {
                last_progress = std::time::Instant::now();
                progress(&ExportProgress {
                    lines: done.lines,
                    bytes: done.bytes,
                    budget,
                    waiting: None,
                });
            }
        }
        if let Some(line) = lines.rest()
            && !line.iter().all(u8::is_ascii_whitespace)
        {
            match parse_line(line) {
                Some(event) => {
                    done.lines += 1;
                    sink.event(&event.borrowed());
                }
                None => done.unreadable_lines += 1,
            }
        }
        progress(&ExportProgress {
            lines: done.lines,
            bytes: done.bytes,
            budget,
            waiting: None,
        });
        Ok(done)
    }
}

#[derive(Debug, Default)]
struct Streamed {
    lines: u64,
    unreadable_lines: u64,
    bytes: u64,
}

enum Attempt {
    Fatal(ExportError),
    RateLimited(Option<Duration>),
    Retryable(String),
}

fn describe(e: &reqwest::Error) -> String {
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = format!("{detail}: {s}");
        source = s.source();
    }
    detail
}

/// Splits a byte stream into lines without holding more than one partial line.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
}

/// A line longer than the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTooLong;

impl LineSplitter {
    /// Feed a chunk; `each` gets every complete line (without the newline or a `\r`).
    pub fn feed(&mut self, chunk: &[u8], each: &mut dyn FnMut(&[u8])) -> Result<(), LineTooLong> {
        let mut rest = chunk;
        while let Some(end) = memchr::memchr(b'\n', rest) {
            let piece = &rest[..end];
            if self.partial.is_empty() {
                each(trim_cr(piece));
            } else {
                self.partial.extend_from_slice(piece);
                let line = std::mem::take(&mut self.partial);
                each(trim_cr(&line));
                self.partial = line;
                self.partial.clear();
            }
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
        if self.partial.len() > MAX_LINE_BYTES {
            return Err(LineTooLong);
        }
        Ok(())
    }

    /// The last line when the stream did not end with a newline.
    pub fn rest(&self) -> Option<&[u8]> {
        (!self.partial.is_empty()).then_some(trim_cr(&self.partial))
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(borrow)]
    properties: Properties<'a>,
}

#[derive(Deserialize)]
struct Properties<'a> {
    time: Option<serde_json::Number>,
    #[serde(borrow, default)]
    distinct_id: Option<Id<'a>>,
    #[serde(borrow, default, rename = "$distinct_id_before_identity")]
    before_identity: Option<Id<'a>>,
    #[serde(borrow, default, rename = "$insert_id")]
    insert_id: Option<Id<'a>>,
}

/// An id as text: strings as they are, numbers in their JSON form.
#[derive(Deserialize)]
#[serde(untagged)]
enum Id<'a> {
    Text(#[serde(borrow)] Cow<'a, str>),
    Number(serde_json::Number),
    Other(serde::de::IgnoredAny),
}

impl Id<'_> {
    fn text(&self) -> Cow<'_, str> {
        match self {
            Id::Text(s) => Cow::Borrowed(s.as_ref()),
            Id::Number(n) => Cow::Owned(n.to_string()),
            Id::Other(_) => Cow::Borrowed(""),
        }
    }
}

/// A parsed line, owning what could not be borrowed.
pub struct ParsedLine<'a> {
    event: Cow<'a, str>,
    distinct_id: String,
    time_secs: i64,
    insert_id: String,
}

impl ParsedLine<'_> {
    /// The event as the sink sees it.
    pub fn borrowed(&self) -> ExportedEvent<'_> {
        ExportedEvent {
            event: &self.event,
            distinct_id: &self.distinct_id,
            time_secs: self.time_secs,
            insert_id: &self.insert_id,
        }
    }
}

/// Read one export line; `None` when it is not an event with a time.
pub fn parse_line(line: &[u8]) -> Option<ParsedLine<'_>> {
    let parsed: Line<'_> = serde_json::from_slice(line).ok()?;
    let time = parsed.properties.time?;
    let time = time.as_i64().map(|t| t as f64).or_else(|| time.as_f64())?;
    // Seconds, or milliseconds when a project sends them (told apart by magnitude).
    let time_secs = if time.abs() >= 1e11 {
        (time / 1000.0).floor() as i64
    } else {
        time.floor() as i64
    };
    let id = |value: &Option<Id<'_>>| value.as_ref().map(|v| v.text().into_owned());
    let distinct_id = id(&parsed.properties.before_identity)
        .filter(|s| !s.is_empty())
        .or_else(|| id(&parsed.properties.distinct_id))
        .unwrap_or_default();
    Some(ParsedLine {
        event: parsed.event,
        distinct_id,
        time_secs,
        insert_id: id(&parsed.properties.insert_id).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_expression_quotes_and_escapes() {
        let query = ExportQuery {
            from_date: NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
            to_date: NaiveDate::from_ymd_opt(2024, 3, 2).unwrap(),
            event_names: vec!["Sign \"up\"".into()],
            where_equals: vec![("mixport_import".into(), r#"sales "q1" \ 2026"#.into())],
        };
        assert_eq!(
            query.where_expression().unwrap(),
            r#"properties["mixport_import"] == "sales \"q1\" \\ 2026""#
        );
        let params = query.params();
        assert_eq!(params[0], ("from_date", "2024-03-01".to_owned()));
        assert_eq!(params[1], ("to_date", "2024-03-02".to_owned()));
        assert_eq!(params[2], ("event", r#"["Sign \"up\""]"#.to_owned()));
    }

    #[test]
    fn lines_split_across_any_chunk_boundary() {
        let text = b"{\"a\":1}\r\n{\"b\":2}\n\n{\"c\":3}";
        for cut in 0..text.len() {
            for cut2 in cut..text.len() {
                let mut splitter = LineSplitter::default();
                let mut seen: Vec<Vec<u8>> = Vec::new();
                for chunk in [&text[..cut], &text[cut..cut2], &text[cut2..]] {
                    splitter
                        .feed(chunk, &mut |l| seen.push(l.to_vec()))
                        .unwrap();
                }
                if let Some(rest) = splitter.rest() {
                    seen.push(rest.to_vec());
                }
                assert_eq!(
                    seen,
                    vec![
                        b"{\"a\":1}".to_vec(),
                        b"{\"b\":2}".to_vec(),
                        Vec::new(),
                        b"{\"c\":3}".to_vec()
                    ],
                    "{cut} {cut2}"
                );
            }
        }
    }

    #[test]
    fn export_lines_are_read_defensively() {
        let line = br#"{"event":"Buy","properties":{"time":1709337599,"distinct_id":"u\"1","$insert_id":"abc","x":[1,{"y":2}]}}"#;
        let parsed = parse_line(line).unwrap();
        let event = parsed.borrowed();
        assert_eq!(event.event, "Buy");
        assert_eq!(event.distinct_id, "u\"1");
        assert_eq!(event.time_secs, 1_709_337_599);
        assert_eq!(event.insert_id, "abc");
        // Milliseconds, numeric ids, resolved identities.
        let line = br#"{"event":"Buy","properties":{"time":1709337599500,"distinct_id":"$device:d1","$distinct_id_before_identity":"u1","$insert_id":42}}"#;
        let parsed = parse_line(line).unwrap();
        let event = parsed.borrowed();
        assert_eq!(event.time_secs, 1_709_337_599);
        assert_eq!(event.distinct_id, "u1");
        assert_eq!(event.insert_id, "42");
        // No distinct_id at all; a time with a fraction.
        let parsed = parse_line(br#"{"event":"E","properties":{"time":1.5}}"#).unwrap();
        assert_eq!(parsed.borrowed().distinct_id, "");
        assert_eq!(parsed.borrowed().time_secs, 1);
        for bad in [
            &b"not json"[..],
            br#"{"event":"E"}"#,
            br#"{"event":"E","properties":{}}"#,
            br#"{"event":"E","properties":{"time":"x"}}"#,
            br#"[1,2]"#,
        ] {
            assert!(
                parse_line(bad).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    use super::super::test_server::{Reply, TestServer};

    struct Counting {
        restarts: u32,
        events: Vec<String>,
    }

    impl ExportSink for Counting {
        fn restart(&mut self) {
            self.restarts += 1;
            self.events.clear();
        }
        fn event(&mut self, event: &ExportedEvent<'_>) {
            self.events
                .push(format!("{} {}", event.event, event.insert_id));
        }
    }

    fn settings(base: &str) -> ExportSettings {
        let mut settings = ExportSettings::new(Region::Us);
        settings.api_base = Some(base.to_owned());
        settings.backoff = BackoffPolicy::scaled_ms(1);
        settings.budget_file = None;
        settings.limits.spacing = Duration::from_millis(1);
        settings
    }

    fn query() -> ExportQuery {
        ExportQuery {
            from_date: NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
            to_date: NaiveDate::from_ymd_opt(2024, 3, 2).unwrap(),
            event_names: Vec::new(),
            where_equals: vec![("mixport_import".into(), "run 1".into())],
        }
    }

    fn service_account() -> Credentials {
        Credentials::service_account("svc", super::super::auth::Secret::new("pw"), "42").unwrap()
    }

    async fn run(
        replies: impl Fn(usize) -> Reply + Send + Sync + 'static,
    ) -> (Result<ExportSummary, ExportError>, Counting, TestServer) {
        let server = TestServer::start(move |n, _| replies(n)).await;
        let mut client = ExportClient::new(&service_account(), settings(&server.base)).unwrap();
        let mut sink = Counting {
            restarts: 0,
            events: Vec::new(),
        };
        let result = client
            .run(&query(), &mut sink, &RunControl::new(), &mut |_| {})
            .await;
        (result, sink, server)
    }

    const LINES: &str = "{\"event\":\"A\",\"properties\":{\"time\":1709337599,\"$insert_id\":\"a1\"}}\n{\"event\":\"B\",\"properties\":{\"time\":1709337600,\"$insert_id\":\"b1\"}}\nnot json\n{\"event\":\"A\",\"properties\":{\"time\":1709337601,\"$insert_id\":\"a2\"}}";

    #[tokio::test]
    async fn server_errors_and_dropped_connections_are_retried() {
        let (result, sink, server) = run(|n| match n {
            0 => Some((503, vec![], "busy".into())),
            1 => None, // the connection drops
            _ => Some((200, vec![], LINES.into())),
        })
        .await;
        let summary = result.unwrap();
        assert_eq!(summary.queries, 3);
        assert_eq!(summary.lines, 3);
        assert_eq!(summary.unreadable_lines, 1);
        // The sink starts afresh with every answer it is fed from.
        assert_eq!(sink.restarts, 1);
        assert_eq!(sink.events, ["A a1", "B b1", "A a2"]);
        let seen = server.seen();
        assert_eq!(seen.len(), 3);
        let uri = &seen[0].uri;
        for part in [
            "/api/2.0/export?",
            "from_date=2024-03-01",
            "to_date=2024-03-02",
            "project_id=42",
            "where=",
        ] {
            assert!(uri.contains(part), "{part}: {uri}");
        }
        assert!(seen[0].authorization.starts_with("Basic "));
    }

    #[tokio::test]
    async fn rate_limits_wait_for_retry_after_or_say_when_to_come_back() {
        let (result, _, _) = run(|n| match n {
            0 => Some((429, vec![("Retry-After".into(), "0".into())], "{}".into())),
            _ => Some((200, vec![], LINES.into())),
        })
        .await;
        let summary = result.unwrap();
        assert_eq!((summary.rate_limited, summary.queries), (1, 2));
        let (result, _, server) = run(|_| {
            Some((
                429,
                vec![("Retry-After".into(), "3000".into())],
                "{}".into(),
            ))
        })
        .await;
        assert_eq!(
            result.unwrap_err(),
            ExportError::RateLimited {
                retry_in_secs: 3000
            }
        );
        assert_eq!(server.seen().len(), 1);
    }

    #[tokio::test]
    async fn redirects_and_refusals_stop_at_once() {
        let (result, _, server) = run(|_| {
            Some((
                307,
                vec![("Location".into(), "https://elsewhere.example/x".into())],
                String::new(),
            ))
        })
        .await;
        let err = result.unwrap_err();
        assert!(
            matches!(err, ExportError::Redirected { status: 307, .. }),
            "{err}"
        );
        assert!(
            err.to_string().contains("https://elsewhere.example/x"),
            "{err}"
        );
        assert_eq!(server.seen().len(), 1);
        let (result, _, _) =
            run(|_| Some((401, vec![], r#"{"error": "Invalid credentials"}"#.into()))).await;
        let err = result.unwrap_err();
        assert!(err.to_string().contains("Owner or Admin"), "{err}");
        let (result, _, _) = run(|_| Some((400, vec![], r#"{"error": "bad where"}"#.into()))).await;
        assert!(matches!(
            result.unwrap_err(),
            ExportError::BadQuery { status: 400, .. }
        ));
    }

    #[test]
    fn a_project_token_is_refused_before_anything_is_sent() {
        let token = Credentials::project_token(super::super::auth::Secret::new("t")).unwrap();
        let err = ExportClient::new(&token, ExportSettings::new(Region::Eu)).unwrap_err();
        assert_eq!(err, ExportError::ProjectToken);
        assert!(err.to_string().contains("service account"));
    }
}
