//! A fake Mixpanel ingestion server for tests: a test fixture, not part of the app.
//!
//! It speaks plain HTTP/1.1 (hand-rolled over a tokio `TcpListener`, so that faults such as a
//! connection dropped in the middle of a response are easy to inject) on `127.0.0.1` with a
//! random port, in a background thread with its own tokio runtime. Dropping the
//! [`FakeMixpanel`] stops it.
//!
//! `POST /import` follows `../shared/mixpanel-import-api.md` (the team's notes on the real API, beside
//! this repository):
//! - auth: a service account (Basic `user:secret` plus `project_id` in the query) or a project
//!   token (Basic with the token as user name and an empty password, no `project_id`); anything
//!   else gets the documented 401 body;
//! - body: NDJSON or a JSON array, plain or `Content-Encoding: gzip`;
//! - limits: more than `max_events` events or `max_bytes` uncompressed bytes → 413;
//! - `strict=1`: each event is validated; the valid ones are stored, the invalid ones listed in
//!   `failed_records` of a 400 (without `strict=1` invalid events are dropped silently, counted in
//!   [`Counters::non_strict_requests`]);
//! - faults, deterministic by the number of the `/import` request (1-based): 429 every Nth (with
//!   or without `Retry-After`), 502 / 503 every Nth, a connection dropped mid-response every Nth
//!   (after the events were stored), added latency, a forced 401.
//!
//! Messages follow Mixpanel's real strings where the shared doc knows them (`must not be
//! missing`, `must not be in the future`, `must be specified as seconds since epoch`, the
//! `$insert_id` characters message, `string should be valid utf8`). Where Mixpanel's wording is
//! undocumented (time before 1971, banned ids, too many properties) the fixture uses the same
//! `'<field>' is invalid: <reason>` shape with its own reason; those strings are the constants
//! below so tests can name them.
//!
//! `GET /api/app/me` answers 200 with a small JSON of projects for a valid service account, 401
//! otherwise.
//!
//! `GET /api/2.0/export` is the raw export (shared doc §9): service accounts only (a project
//! token gets 401, as Mixpanel refuses it); `from_date`/`to_date` (required, `YYYY-MM-DD`) select
//! events by their UTC day; `event=["A","B"]` and `where=properties["X"] == "Y"` (equality tests
//! joined by `and`) filter; the answer is NDJSON with `time` in seconds (milliseconds with
//! `time_in_ms=true`), every stored copy of an event (not deduplicated). Events become visible
//! [`ExportConfig::visibility_delay`] after they were stored; tests can hide events by insert id
//! ([`FakeMixpanel::hide_from_export`]); past [`ExportConfig::queries_per_window`] queries in the
//! window (an hour by default) or [`ExportConfig::queries_per_second`] in one second, the answer
//! is 429 with `Retry-After`.
//!
//! `POST /engage` (user profiles, shared doc §10) keeps a profile store that tests compare field
//! by field: see the section "`POST /engage`" below ([`FakeMixpanel::profiles`]).

#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The default service account's user name.
pub const SA_USER: &str = "fake-sa.mixport-test";
/// The default service account's secret.
pub const SA_SECRET: &str = "fake-sa-secret-0123";
/// The default project id.
pub const PROJECT_ID: &str = "4242";
/// The default project token.
pub const TOKEN: &str = "faketoken0123456789abcdef";

/// The exact 401 body (shared doc §2).
pub const BODY_401: &str =
    r#"{"code": 401, "error": "Invalid credentials", "status": "Unauthorized"}"#;
/// The 429 body (shared doc §4).
pub const BODY_429: &str = r#"{"code": 429, "error": "Project exceeded rate limits. Please retry the request with exponential backoff.", "status": "Too Many Requests"}"#;
/// The HTML variant of a 413.
pub const BODY_413_HTML: &str = "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n<center><h1>413 Request Entity Too Large</h1></center>\r\n</body>\r\n</html>\r\n";
/// The error text of a strict-mode 400.
pub const ERROR_400: &str = "some data points in the request failed validation";

/// `event` missing or empty.
pub const MSG_EVENT_MISSING: &str = "'event' is invalid: must not be missing";
/// `properties` missing or not an object (fixture wording).
pub const MSG_PROPERTIES_MISSING: &str = "'properties' is invalid: must not be missing";
/// `properties.time` missing.
pub const MSG_TIME_MISSING: &str = "'properties.time' is invalid: must not be missing";
/// `properties.time` not a number of seconds or milliseconds since the epoch.
pub const MSG_TIME_NOT_EPOCH: &str =
    "'properties.time' is invalid: must be specified as seconds since epoch";
/// `properties.time` before 1971-01-01 (fixture wording: Mixpanel's is undocumented).
pub const MSG_TIME_TOO_OLD: &str = "'properties.time' is invalid: must not be before 1971-01-01";
/// `properties.time` more than one hour ahead.
pub const MSG_TIME_FUTURE: &str = "'properties.time' is invalid: must not be in the future";
/// A banned `distinct_id` (fixture wording).
pub const MSG_DISTINCT_ID_BANNED: &str =
    "'properties.distinct_id' is invalid: must not be a placeholder value";
/// A `distinct_id` the test configured the server to reject (fixture only).
pub const MSG_DISTINCT_ID_BLOCKED: &str =
    "'properties.distinct_id' is invalid: rejected by the fake server's configuration";
/// A banned `$insert_id` (fixture wording).
pub const MSG_INSERT_ID_BANNED: &str =
    "'properties.$insert_id' is invalid: must not be a placeholder value";
/// A `$insert_id` too long or with characters outside `[A-Za-z0-9-]` (Mixpanel's string).
pub const MSG_INSERT_ID_INVALID: &str =
    "'$insert_id' is invalid: must only contain alphanumeric or hyphen '-' characters";
/// 255 properties or more (fixture wording).
pub const MSG_TOO_MANY_PROPERTIES: &str =
    "'properties' is invalid: must have fewer than 255 properties";
/// A line or element that is not JSON (fixture wording).
pub const MSG_NOT_JSON: &str = "'event' is invalid: could not parse JSON";
/// The plain-string failed record for identity events in a simplified-ID project.
pub const MSG_IDENTITY: &str =
    "identity events are not allowed when project is using simplified identity management";

/// Mixpanel's banned values for `distinct_id` and `$insert_id` (case-insensitive).
pub const BANNED_IDS: &[&str] = &[
    "00000000-0000-0000-0000-000000000000",
    "anon",
    "anonymous",
    "nil",
    "none",
    "null",
    "n/a",
    "na",
    "undefined",
    "unknown",
    "<nil>",
    "0",
    "-1",
    "true",
    "false",
    "[]",
    "{}",
];

/// Identity event names.
pub const IDENTITY_EVENTS: &[&str] = &["$identify", "$create_alias", "$merge"];

/// 1971-01-01T00:00:00Z in milliseconds.
const MIN_TIME_MS: i64 = 31_536_000_000;
/// One hour.
const MAX_FUTURE_MS: i64 = 3_600_000;
/// Largest request body the fixture reads at all (anything bigger is refused with a 413).
const HARD_BODY_CAP: usize = 128 * 1024 * 1024;
/// Largest request head.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Requests served on one keep-alive connection before the server closes it.
const MAX_REQUESTS_PER_CONNECTION: usize = 100_000;
/// A connection idle this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Request log entries kept.
const MAX_LOG: usize = 200_000;

/// A service account the server accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccount {
    /// User name.
    pub username: String,
    /// Secret.
    pub secret: String,
    /// The project it may import into.
    pub project_id: String,
}

/// How `failed_records` spell the insert id key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertIdKey {
    /// `insert_id` (what real responses use).
    Plain,
    /// `$insert_id` (what the docs show).
    Dollar,
}

/// How a dropped connection looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropMode {
    /// Status line and headers sent (with the full Content-Length), then half the body, then close.
    MidBody,
    /// Only part of the status line sent, then close.
    MidHead,
}

/// What the store keeps of each accepted event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    /// Everything (event, ids, time and all properties).
    Full,
    /// Only the dedup key hash (for benchmarks: memory stays small).
    KeysOnly,
}

/// Fault injection, deterministic by the 1-based number of the `/import` request.
/// A value of 0 for an `*_every` field turns that fault off. When several apply to the same
/// request: forced 401, then 429, then 503, then 502, then the drop (which happens after the
/// events were processed and stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faults {
    /// Answer 429 to every Nth request.
    pub rate_limit_every: u64,
    /// `Retry-After` seconds sent with those 429s (`None`: no header).
    pub retry_after_secs: Option<u64>,
    /// Answer 503 to every Nth request.
    pub unavailable_every: u64,
    /// Answer 502 to every Nth request.
    pub bad_gateway_every: u64,
    /// Send 5xx bodies as HTML instead of JSON.
    pub html_5xx: bool,
    /// Drop the connection mid-response on every Nth request (after storing its events).
    pub drop_every: u64,
    /// How the drop looks.
    pub drop_mode: DropMode,
    /// Added latency before each `/import` answer.
    pub latency: Duration,
    /// Answer 401 to every request regardless of credentials.
    pub force_401: bool,
    /// Answer every `/import` with `307 Temporary Redirect` to this URL (a client must never
    /// follow it).
    pub redirect_to: Option<String>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            rate_limit_every: 0,
            retry_after_secs: None,
            unavailable_every: 0,
            bad_gateway_every: 0,
            html_5xx: false,
            drop_every: 0,
            drop_mode: DropMode::MidBody,
            latency: Duration::ZERO,
            force_401: false,
            redirect_to: None,
        }
    }
}

/// The server's configuration. [`FakeConfig::default`] accepts [`SA_USER`]/[`SA_SECRET`] for
/// project [`PROJECT_ID`] and the token [`TOKEN`], with Mixpanel's limits and no faults.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// Accepted service accounts.
    pub service_accounts: Vec<ServiceAccount>,
    /// Accepted project tokens.
    pub tokens: Vec<String>,
    /// Most events per request.
    pub max_events: usize,
    /// Most uncompressed bytes per request.
    pub max_bytes: usize,
    /// Answer 413 with an HTML page instead of JSON.
    pub html_413: bool,
    /// Key spelling in `failed_records`.
    pub insert_id_key: InsertIdKey,
    /// Extra `distinct_id` values to reject (exact match), answered with [`MSG_DISTINCT_ID_BLOCKED`].
    pub reject_distinct_ids: Vec<String>,
    /// Identity events make the whole request fail with plain-string `failed_records`.
    pub identity_strings: bool,
    /// What the store keeps.
    pub store: StoreMode,
    /// Faults to inject.
    pub faults: Faults,
    /// `/engage` (user profiles): project tokens and limits.
    pub engage: EngageConfig,
    /// The raw export's behaviour.
    pub export: ExportConfig,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            service_accounts: vec![ServiceAccount {
                username: SA_USER.to_owned(),
                secret: SA_SECRET.to_owned(),
                project_id: PROJECT_ID.to_owned(),
            }],
            tokens: vec![TOKEN.to_owned()],
            max_events: 2000,
            max_bytes: 10 * 1024 * 1024,
            html_413: false,
            insert_id_key: InsertIdKey::Plain,
            reject_distinct_ids: Vec::new(),
            identity_strings: false,
            store: StoreMode::Full,
            faults: Faults::default(),
            engage: EngageConfig::default(),
            export: ExportConfig::default(),
        }
    }
}

/// One accepted event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Event name.
    pub event: String,
    /// `properties.distinct_id` as text (`None` when absent).
    pub distinct_id: Option<String>,
    /// `properties.time` normalised to milliseconds.
    pub time_ms: i64,
    /// `properties.$insert_id` (`None` when absent).
    pub insert_id: Option<String>,
    /// All properties exactly as sent (including time, distinct_id and $insert_id).
    pub properties: Map<String, Value>,
}

impl StoredEvent {
    /// The dedup key: (event, distinct_id, time, $insert_id).
    pub fn key(&self) -> (String, String, i64, String) {
        (
            self.event.clone(),
            self.distinct_id.clone().unwrap_or_default(),
            self.time_ms,
            self.insert_id.clone().unwrap_or_default(),
        )
    }
}

/// Counters, as a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Every HTTP request, any path.
    pub requests: u64,
    /// `POST /import` requests.
    pub import_requests: u64,
    /// Responses by status code (dropped responses are counted under the status they would have had).
    pub by_status: BTreeMap<u16, u64>,
    /// Events parsed from `/import` bodies that were processed (not refused by a fault, 401 or 413).
    pub events_received: u64,
    /// Events accepted and stored (duplicates included).
    pub events_stored: u64,
    /// Events rejected by validation.
    pub events_rejected: u64,
    /// Request body bytes as received (compressed when gzip).
    pub bytes_received: u64,
    /// Request body bytes after decompression.
    pub bytes_uncompressed: u64,
    /// Connections dropped on purpose.
    pub dropped_connections: u64,
    /// `/import` requests without `strict=1`.
    pub non_strict_requests: u64,
    /// `/import` requests without `ip=0`.
    pub requests_without_ip0: u64,
    /// Requests whose body was gzip.
    pub gzip_requests: u64,
    /// `GET /api/2.0/export` requests (all answers).
    pub export_requests: u64,
    /// Export requests answered 429.
    pub export_rate_limited: u64,
    /// Event lines sent by the export.
    pub export_lines: u64,
}

impl Counters {
    /// Responses with this status.
    pub fn status(&self, code: u16) -> u64 {
        self.by_status.get(&code).copied().unwrap_or(0)
    }
}

/// One `/import` request, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// 1-based `/import` request number.
    pub number: u64,
    /// The query string.
    pub query: String,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// Events in the body (0 when not parsed).
    pub events: usize,
    /// The status answered.
    pub status: u16,
    /// Whether the connection was dropped mid-response.
    pub dropped: bool,
}

#[derive(Default)]
struct Store {
    events: Vec<StoredEvent>,
    /// When each event of `events` was stored (same order), for the export's visibility delay.
    stored_at: Vec<Instant>,
    /// Insert ids the export never shows.
    hidden_from_export: HashSet<String>,
    /// When each export query that was answered 200 arrived (the hourly budget).
    export_queries: VecDeque<Instant>,
    unique: HashSet<u128>,
    counters: Counters,
    log: Vec<RequestRecord>,
    engage: EngageStore,
}

struct Shared {
    config: Mutex<FakeConfig>,
    store: Mutex<Store>,
    import_number: AtomicU64,
}

impl Shared {
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn config(&self) -> FakeConfig {
        self.config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// A running fake server. Stops when dropped.
pub struct FakeMixpanel {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeMixpanel {
    /// Start a server with the default configuration.
    pub fn start_default() -> Self {
        Self::start(FakeConfig::default())
    }

    /// Start a server on 127.0.0.1 with a random port.
    pub fn start(config: FakeConfig) -> Self {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1 for the fake server");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("listener address");
        let shared = Arc::new(Shared {
            config: Mutex::new(config),
            store: Mutex::new(Store::default()),
            import_number: AtomicU64::new(0),
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fake-mixpanel".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("fake server runtime");
                runtime.block_on(accept_loop(listener, thread_shared, rx));
                runtime.shutdown_timeout(Duration::from_secs(2));
            })
            .expect("spawn the fake server thread");
        Self {
            addr,
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash), for `--api-base`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/import`.
    pub fn import_url(&self) -> String {
        format!("{}/import", self.base_url())
    }

    /// `http://127.0.0.1:PORT/api/2.0/export`.
    pub fn export_url(&self) -> String {
        format!("{}{EXPORT_PATH}", self.base_url())
    }

    /// Never show the events with these insert ids in the export (they stay stored).
    pub fn hide_from_export<S: Into<String>>(&self, insert_ids: impl IntoIterator<Item = S>) {
        let mut store = self.shared.store();
        store
            .hidden_from_export
            .extend(insert_ids.into_iter().map(Into::into));
    }

    /// Replace the export settings (takes effect for the next query).
    pub fn set_export(&self, export: ExportConfig) {
        self.configure(|c| c.export = export);
    }

    /// Forget the export queries counted against the budget.
    pub fn reset_export_budget(&self) {
        self.shared.store().export_queries.clear();
    }

    /// Replace the fault settings (takes effect for the next request).
    pub fn set_faults(&self, faults: Faults) {
        self.shared
            .config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .faults = faults;
    }

    /// Change the configuration in place.
    pub fn configure(&self, change: impl FnOnce(&mut FakeConfig)) {
        change(&mut self.shared.config.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> Counters {
        self.shared.store().counters.clone()
    }

    /// The `/import` request log.
    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.shared.store().log.clone()
    }

    /// Every accepted event, duplicates included, in arrival order ([`StoreMode::Full`] only).
    pub fn events_raw(&self) -> Vec<StoredEvent> {
        self.shared.store().events.clone()
    }

    /// How many events were accepted, duplicates included.
    pub fn raw_count(&self) -> u64 {
        self.shared.store().counters.events_stored
    }

    /// How many distinct (event, distinct_id, time, $insert_id) keys were accepted.
    pub fn unique_count(&self) -> u64 {
        self.shared.store().unique.len() as u64
    }

    /// Accepted events deduplicated by the four-tuple, first arrival kept, sorted by
    /// (time, insert_id, event, distinct_id) ([`StoreMode::Full`] only).
    pub fn events_deduplicated(&self) -> Vec<StoredEvent> {
        let store = self.shared.store();
        let mut seen = HashSet::new();
        let mut out: Vec<StoredEvent> = store
            .events
            .iter()
            .filter(|e| seen.insert(e.key()))
            .cloned()
            .collect();
        out.sort_by(|a, b| {
            (a.time_ms, &a.insert_id, &a.event, &a.distinct_id).cmp(&(
                b.time_ms,
                &b.insert_id,
                &b.event,
                &b.distinct_id,
            ))
        });
        out
    }
}

impl Drop for FakeMixpanel {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(_) => return,
    };
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                if !peer.ip().is_loopback() {
                    continue;
                }
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve_connection(stream, shared.clone()));
            }
        }
    }
}

/// A parsed request.
struct Request {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    close: bool,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k) == name).then(|| percent_decode(v))
        })
    }
}

/// A response to write.
struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    retry_after: Option<u64>,
    drop: Option<DropMode>,
    location: Option<String>,
}

impl Reply {
    fn json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            content_type: "application/json",
            body: body.into(),
            retry_after: None,
            drop: None,
            location: None,
        }
    }
    fn html(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            content_type: "text/html",
            ..Self::json(status, body)
        }
    }
}

enum ReadOutcome {
    Request(Request),
    TooLarge,
    Closed,
}

async fn serve_connection(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    for _ in 0..MAX_REQUESTS_PER_CONNECTION {
        let outcome =
            match tokio::time::timeout(IDLE_TIMEOUT, read_request(&mut stream, &mut buf)).await {
                Ok(Ok(outcome)) => outcome,
                _ => return,
            };
        let request = match outcome {
            ReadOutcome::Request(r) => r,
            ReadOutcome::Closed => return,
            ReadOutcome::TooLarge => {
                let reply = Reply::json(413, too_large_body(HARD_BODY_CAP));
                let _ = write_reply(&mut stream, &reply, true).await;
                return;
            }
        };
        let close = request.close;
        let reply = handle(&shared, request).await;
        if let Some(mode) = reply.drop {
            write_partial(&mut stream, &reply, mode).await;
            return;
        }
        if write_reply(&mut stream, &reply, close).await.is_err() || close {
            let _ = stream.shutdown().await;
            return;
        }
    }
}

fn find_subsequence(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0u8; 64 * 1024];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<ReadOutcome> {
    // The head.
    let head_end = loop {
        if let Some(pos) = find_subsequence(buf, b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Ok(ReadOutcome::Closed);
        }
        if fill(stream, buf).await? == 0 {
            return Ok(ReadOutcome::Closed);
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let version = parts.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let close = match header("connection") {
        Some(v) if v.eq_ignore_ascii_case("close") => true,
        Some(v) if v.eq_ignore_ascii_case("keep-alive") => false,
        _ => version == "HTTP/1.0",
    };
    let chunked = header("transfer-encoding")
        .map(|v| v.to_ascii_lowercase().contains("chunked"))
        .unwrap_or(false);
    let body_start = head_end + 4;
    let body;
    if chunked {
        loop {
            match decode_chunked(&buf[body_start..]) {
                ChunkedState::Done(decoded, consumed) => {
                    body = decoded;
                    buf.drain(..body_start + consumed);
                    break;
                }
                ChunkedState::Invalid => return Ok(ReadOutcome::Closed),
                ChunkedState::NeedMore => {
                    if buf.len() - body_start > HARD_BODY_CAP {
                        return Ok(ReadOutcome::TooLarge);
                    }
                    if fill(stream, buf).await? == 0 {
                        return Ok(ReadOutcome::Closed);
                    }
                }
            }
        }
    } else {
        let length: usize = match header("content-length") {
            Some(v) => match v.parse() {
                Ok(n) => n,
                Err(_) => return Ok(ReadOutcome::Closed),
            },
            None => 0,
        };
        if length > HARD_BODY_CAP {
            return Ok(ReadOutcome::TooLarge);
        }
        while buf.len() < body_start + length {
            if fill(stream, buf).await? == 0 {
                return Ok(ReadOutcome::Closed);
            }
        }
        body = buf[body_start..body_start + length].to_vec();
        buf.drain(..body_start + length);
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), q.to_owned()),
        None => (target.clone(), String::new()),
    };
    Ok(ReadOutcome::Request(Request {
        method,
        path,
        query,
        headers,
        body,
        close,
    }))
}

enum ChunkedState {
    Done(Vec<u8>, usize),
    NeedMore,
    Invalid,
}

fn decode_chunked(data: &[u8]) -> ChunkedState {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let Some(line_end) = find_subsequence(&data[pos..], b"\r\n") else {
            return ChunkedState::NeedMore;
        };
        let size_text = String::from_utf8_lossy(&data[pos..pos + line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            return ChunkedState::Invalid;
        };
        pos += line_end + 2;
        if size == 0 {
            // Trailers end with an empty line.
            return match find_subsequence(&data[pos..], b"\r\n") {
                Some(0) => ChunkedState::Done(out, pos + 2),
                Some(_) => match find_subsequence(&data[pos..], b"\r\n\r\n") {
                    Some(end) => ChunkedState::Done(out, pos + end + 4),
                    None => ChunkedState::NeedMore,
                },
                None => ChunkedState::NeedMore,
            };
        }
        if data.len() < pos + size + 2 {
            return ChunkedState::NeedMore;
        }
        out.extend_from_slice(&data[pos..pos + size]);
        pos += size + 2;
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        307 => "Temporary Redirect",
        413 => "Request Entity Too Large",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

fn reply_head(reply: &Reply, close: bool) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
        reply.status,
        reason(reply.status),
        reply.content_type,
        reply.body.len()
    );
    if let Some(secs) = reply.retry_after {
        head.push_str(&format!("Retry-After: {secs}\r\n"));
    }
    if let Some(location) = &reply.location {
        head.push_str(&format!("Location: {location}\r\n"));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

async fn write_reply(stream: &mut TcpStream, reply: &Reply, close: bool) -> std::io::Result<()> {
    let mut bytes = reply_head(reply, close);
    bytes.extend_from_slice(&reply.body);
    stream.write_all(&bytes).await?;
    stream.flush().await
}

async fn write_partial(stream: &mut TcpStream, reply: &Reply, mode: DropMode) {
    let bytes = match mode {
        DropMode::MidHead => b"HTTP/1.1 20".to_vec(),
        DropMode::MidBody => {
            let mut bytes = reply_head(reply, false);
            bytes.extend_from_slice(&reply.body[..reply.body.len() / 2]);
            bytes
        }
    };
    let _ = stream.write_all(&bytes).await;
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
}

async fn handle(shared: &Shared, request: Request) -> Reply {
    {
        let mut store = shared.store();
        store.counters.requests += 1;
    }
    match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/import") => handle_import(shared, request).await,
        ("POST", "/engage") => handle_engage(shared, request).await,
        ("GET", "/api/app/me") => {
            let reply = handle_me(shared, &request);
            count_status(shared, reply.status);
            reply
        }
        ("GET", EXPORT_PATH) => {
            let reply = handle_export(shared, &request);
            count_status(shared, reply.status);
            reply
        }
        (_, "/import") | (_, "/engage") | (_, "/api/app/me") | (_, EXPORT_PATH) => {
            count_status(shared, 405);
            Reply::json(
                405,
                r#"{"code": 405, "error": "method not allowed", "status": "Method Not Allowed"}"#,
            )
        }
        _ => {
            count_status(shared, 404);
            Reply::json(
                404,
                r#"{"code": 404, "error": "not found", "status": "Not Found"}"#,
            )
        }
    }
}

fn count_status(shared: &Shared, status: u16) {
    *shared.store().counters.by_status.entry(status).or_insert(0) += 1;
}

/// Who the request authenticated as.
#[derive(Debug, PartialEq, Eq)]
enum Auth {
    ServiceAccount,
    Token,
    Invalid,
}

fn authenticate(config: &FakeConfig, request: &Request) -> Auth {
    let Some((user, pass)) = request.header("authorization").and_then(basic_credentials) else {
        return Auth::Invalid;
    };
    match request.query_param("project_id") {
        Some(project) => {
            let ok = config
                .service_accounts
                .iter()
                .any(|sa| sa.username == user && sa.secret == pass && sa.project_id == project);
            if ok {
                Auth::ServiceAccount
            } else {
                Auth::Invalid
            }
        }
        None => {
            if pass.is_empty() && config.tokens.contains(&user) {
                Auth::Token
            } else {
                Auth::Invalid
            }
        }
    }
}

fn handle_me(shared: &Shared, request: &Request) -> Reply {
    let config = shared.config();
    let Some((user, pass)) = request.header("authorization").and_then(basic_credentials) else {
        return Reply::json(401, BODY_401);
    };
    let projects: Map<String, Value> = config
        .service_accounts
        .iter()
        .filter(|sa| sa.username == user && sa.secret == pass)
        .map(|sa| {
            (
                sa.project_id.clone(),
                json!({"name": format!("Fake project {}", sa.project_id), "organization_id": 1, "domain": "mixpanel.com"}),
            )
        })
        .collect();
    if config.faults.force_401 || projects.is_empty() {
        return Reply::json(401, BODY_401);
    }
    let body = json!({
        "status": "ok",
        "results": {
            "user_name": user,
            "organizations": {"1": {"id": 1, "name": "Fake organisation"}},
            "projects": projects,
        }
    });
    Reply::json(200, body.to_string())
}

fn too_large_body(limit: usize) -> String {
    json!({"code": 413, "error": format!("request exceeds max limit of {limit} bytes"), "status": "Request Entity Too Large"}).to_string()
}

async fn handle_import(shared: &Shared, request: Request) -> Reply {
    let number = shared.import_number.fetch_add(1, Ordering::SeqCst) + 1;
    let config = shared.config();
    let faults = &config.faults;
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    let strict = request.query_param("strict").as_deref() == Some("1");
    let ip0 = request.query_param("ip").as_deref() == Some("0");
    let gzip = request
        .header("content-encoding")
        .map(|v| v.eq_ignore_ascii_case("gzip"))
        .unwrap_or(false);
    {
        let mut store = shared.store();
        let c = &mut store.counters;
        c.import_requests += 1;
        c.bytes_received += request.body.len() as u64;
        c.non_strict_requests += u64::from(!strict);
        c.requests_without_ip0 += u64::from(!ip0);
        c.gzip_requests += u64::from(gzip);
    }
    let every = |n: u64| n > 0 && number.is_multiple_of(n);
    let mut events_in_body = 0usize;
    let mut reply = if let Some(to) = &faults.redirect_to {
        Reply {
            location: Some(to.clone()),
            ..Reply::html(307, "<html><body>Moved</body></html>")
        }
    } else if faults.force_401 || authenticate(&config, &request) == Auth::Invalid {
        Reply::json(401, BODY_401)
    } else if every(faults.rate_limit_every) {
        Reply {
            retry_after: faults.retry_after_secs,
            ..Reply::json(429, BODY_429)
        }
    } else if every(faults.unavailable_every) {
        server_error(503, faults.html_5xx)
    } else if every(faults.bad_gateway_every) {
        server_error(502, faults.html_5xx)
    } else {
        let (reply, n) = process_import(shared, &config, &request, gzip, strict);
        events_in_body = n;
        reply
    };
    if reply.status != 401 && every(faults.drop_every) {
        reply.drop = Some(faults.drop_mode);
    }
    let mut store = shared.store();
    *store.counters.by_status.entry(reply.status).or_insert(0) += 1;
    store.counters.dropped_connections += u64::from(reply.drop.is_some());
    if store.log.len() < MAX_LOG {
        store.log.push(RequestRecord {
            number,
            query: request.query.clone(),
            content_type: request.header("content-type").map(str::to_owned),
            content_encoding: request.header("content-encoding").map(str::to_owned),
            events: events_in_body,
            status: reply.status,
            dropped: reply.drop.is_some(),
        });
    }
    reply
}

fn server_error(status: u16, html: bool) -> Reply {
    if html {
        Reply::html(
            status,
            format!(
                "<html><head><title>{status} {r}</title></head><body><h1>{status} {r}</h1></body></html>",
                r = reason(status)
            ),
        )
    } else {
        Reply::json(
            status,
            json!({"code": status, "error": reason(status), "status": reason(status)}).to_string(),
        )
    }
}

/// One event of the body: parsed (lossily when its bytes were not UTF-8) or not JSON at all.
enum BodyEvent {
    Parsed { value: Value, bad_utf8: bool },
    NotJson,
}

fn decompress(body: &[u8], limit: usize) -> Result<Vec<u8>, ()> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| ())?;
    Ok(out)
}

fn parse_events(body: &[u8]) -> Result<Vec<BodyEvent>, ()> {
    let first = body.iter().position(|b| !b.is_ascii_whitespace());
    let Some(first) = first else {
        return Ok(Vec::new());
    };
    if body[first] == b'[' {
        // A JSON array: parse it whole (lossily if needed, then flag events with U+FFFD).
        let (text, bad_utf8) = match std::str::from_utf8(body) {
            Ok(t) => (std::borrow::Cow::Borrowed(t), false),
            Err(_) => (String::from_utf8_lossy(body), true),
        };
        let values: Vec<Value> = serde_json::from_str(&text).map_err(|_| ())?;
        Ok(values
            .into_iter()
            .map(|value| {
                let flagged = bad_utf8 && value.to_string().contains('\u{FFFD}');
                BodyEvent::Parsed {
                    value,
                    bad_utf8: flagged,
                }
            })
            .collect())
    } else {
        Ok(body
            .split(|b| *b == b'\n')
            .filter(|line| line.iter().any(|b| !b.is_ascii_whitespace()))
            .map(|line| {
                let (text, bad_utf8) = match std::str::from_utf8(line) {
                    Ok(t) => (std::borrow::Cow::Borrowed(t), false),
                    Err(_) => (String::from_utf8_lossy(line), true),
                };
                match serde_json::from_str::<Value>(&text) {
                    Ok(value) => BodyEvent::Parsed { value, bad_utf8 },
                    Err(_) => BodyEvent::NotJson,
                }
            })
            .collect())
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn is_banned(value: &str) -> bool {
    BANNED_IDS
        .iter()
        .any(|b| b.eq_ignore_ascii_case(value.trim()))
}

fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Validate one event. `Ok` with the stored form, or `Err((field, message))`.
fn validate_event(
    value: Value,
    bad_utf8: bool,
    config: &FakeConfig,
    now: i64,
) -> Result<StoredEvent, (String, String)> {
    let Value::Object(mut object) = value else {
        return Err(("event".into(), MSG_EVENT_MISSING.into()));
    };
    if bad_utf8 {
        if object
            .get("event")
            .and_then(Value::as_str)
            .is_some_and(|s| s.contains('\u{FFFD}'))
        {
            return Err((
                "event".into(),
                "event is invalid: string should be valid utf8".into(),
            ));
        }
        let name = object
            .get("properties")
            .and_then(Value::as_object)
            .and_then(|p| {
                p.iter()
                    .find(|(k, v)| k.contains('\u{FFFD}') || v.to_string().contains('\u{FFFD}'))
                    .map(|(k, _)| k.clone())
            })
            .unwrap_or_default();
        let field = format!("properties.{name}");
        return Err((
            field.clone(),
            format!("{field} is invalid: string should be valid utf8"),
        ));
    }
    let event = match object.get("event") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(("event".into(), MSG_EVENT_MISSING.into())),
    };
    let Some(Value::Object(properties)) = object.remove("properties") else {
        return Err(("properties".into(), MSG_PROPERTIES_MISSING.into()));
    };
    let time_field = "properties.time".to_owned();
    let time_ms = match properties.get("time") {
        None | Some(Value::Null) => return Err((time_field, MSG_TIME_MISSING.into())),
        Some(Value::Number(n)) => {
            let Some(v) = n.as_f64() else {
                return Err((time_field, MSG_TIME_NOT_EPOCH.into()));
            };
            if !v.is_finite() || v < 0.0 {
                return Err((time_field, MSG_TIME_NOT_EPOCH.into()));
            }
            // Seconds or milliseconds since the epoch, told apart by magnitude.
            if v >= 1e11 {
                v as i64
            } else {
                (v * 1000.0) as i64
            }
        }
        Some(_) => return Err((time_field, MSG_TIME_NOT_EPOCH.into())),
    };
    if time_ms < MIN_TIME_MS {
        return Err((time_field, MSG_TIME_TOO_OLD.into()));
    }
    if time_ms > now + MAX_FUTURE_MS {
        return Err((time_field, MSG_TIME_FUTURE.into()));
    }
    let distinct_id = properties.get("distinct_id").and_then(id_text);
    if let Some(id) = &distinct_id {
        if is_banned(id) {
            return Err((
                "properties.distinct_id".into(),
                MSG_DISTINCT_ID_BANNED.into(),
            ));
        }
        if config.reject_distinct_ids.iter().any(|r| r == id) {
            return Err((
                "properties.distinct_id".into(),
                MSG_DISTINCT_ID_BLOCKED.into(),
            ));
        }
    }
    let insert_id = properties.get("$insert_id").and_then(id_text);
    if let Some(id) = &insert_id {
        if is_banned(id) {
            return Err(("properties.$insert_id".into(), MSG_INSERT_ID_BANNED.into()));
        }
        if id.is_empty()
            || id.len() > 36
            || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(("properties.$insert_id".into(), MSG_INSERT_ID_INVALID.into()));
        }
    }
    if properties.len() >= 255 {
        return Err(("properties".into(), MSG_TOO_MANY_PROPERTIES.into()));
    }
    Ok(StoredEvent {
        event,
        distinct_id,
        time_ms,
        insert_id,
        properties,
    })
}

fn key_hash(event: &StoredEvent) -> u128 {
    let (e, d, t, i) = event.key();
    let mut bytes = Vec::with_capacity(e.len() + d.len() + i.len() + 32);
    for part in [
        e.as_bytes(),
        d.as_bytes(),
        t.to_string().as_bytes(),
        i.as_bytes(),
    ] {
        bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
        bytes.extend_from_slice(part);
    }
    xxhash_rust::xxh3::xxh3_128(&bytes)
}

/// Decode, parse, validate and store one `/import` body. Returns the reply and the event count.
fn process_import(
    shared: &Shared,
    config: &FakeConfig,
    request: &Request,
    gzip: bool,
    strict: bool,
) -> (Reply, usize) {
    let too_large = || {
        if config.html_413 {
            Reply::html(413, BODY_413_HTML)
        } else {
            Reply::json(413, too_large_body(config.max_bytes))
        }
    };
    let body = if gzip {
        match decompress(&request.body, config.max_bytes) {
            Ok(b) => b,
            Err(()) => {
                return (
                    Reply::json(
                        400,
                        r#"{"code": 400, "error": "unable to decompress gzip body", "status": "Bad Request"}"#,
                    ),
                    0,
                );
            }
        }
    } else {
        request.body.clone()
    };
    shared.store().counters.bytes_uncompressed += body.len() as u64;
    if body.len() > config.max_bytes {
        return (too_large(), 0);
    }
    let Ok(events) = parse_events(&body) else {
        return (
            Reply::json(
                400,
                r#"{"code": 400, "error": "unable to parse request body as JSON", "status": "Bad Request"}"#,
            ),
            0,
        );
    };
    let count = events.len();
    if count > config.max_events {
        let reply = if config.html_413 {
            Reply::html(413, BODY_413_HTML)
        } else {
            Reply::json(
                413,
                json!({"code": 413, "error": format!("request exceeds max limit of {} events", config.max_events), "status": "Request Entity Too Large"}).to_string(),
            )
        };
        return (reply, count);
    }
    if config.identity_strings {
        let identity: Vec<Value> = events
            .iter()
            .filter(|e| match e {
                BodyEvent::Parsed { value, .. } => value
                    .get("event")
                    .and_then(Value::as_str)
                    .is_some_and(|name| IDENTITY_EVENTS.contains(&name)),
                BodyEvent::NotJson => false,
            })
            .map(|_| Value::String(MSG_IDENTITY.into()))
            .collect();
        if !identity.is_empty() {
            let mut store = shared.store();
            store.counters.events_received += count as u64;
            store.counters.events_rejected += count as u64;
            let body = json!({"code": 400, "error": ERROR_400, "failed_records": identity, "num_records_imported": 0, "status": "Bad Request"});
            return (Reply::json(400, body.to_string()), count);
        }
    }
    let now = now_ms();
    let key_name = match config.insert_id_key {
        InsertIdKey::Plain => "insert_id",
        InsertIdKey::Dollar => "$insert_id",
    };
    let mut accepted = Vec::with_capacity(count);
    let mut failed = Vec::new();
    for (index, event) in events.into_iter().enumerate() {
        let (result, insert_id) = match event {
            BodyEvent::NotJson => (
                Err(("event".to_owned(), MSG_NOT_JSON.to_owned())),
                String::new(),
            ),
            BodyEvent::Parsed { value, bad_utf8 } => {
                let insert_id = value
                    .get("properties")
                    .and_then(|p| p.get("$insert_id"))
                    .and_then(id_text)
                    .unwrap_or_default();
                (validate_event(value, bad_utf8, config, now), insert_id)
            }
        };
        match result {
            Ok(stored) => accepted.push(stored),
            Err((field, message)) => {
                let mut record = Map::new();
                record.insert("index".into(), json!(index));
                record.insert(key_name.into(), json!(insert_id));
                record.insert("field".into(), json!(field));
                record.insert("message".into(), json!(message));
                failed.push(Value::Object(record));
            }
        }
    }
    let imported = accepted.len();
    {
        let mut store = shared.store();
        store.counters.events_received += count as u64;
        store.counters.events_stored += imported as u64;
        store.counters.events_rejected += failed.len() as u64;
        for event in accepted {
            let hash = key_hash(&event);
            store.unique.insert(hash);
            if config.store == StoreMode::Full {
                store.events.push(event);
                store.stored_at.push(Instant::now());
            }
        }
    }
    let reply = if failed.is_empty() || !strict {
        Reply::json(
            200,
            json!({"code": 200, "num_records_imported": imported, "status": "OK"}).to_string(),
        )
    } else {
        Reply::json(
            400,
            json!({"code": 400, "error": ERROR_400, "failed_records": failed, "num_records_imported": imported, "status": "Bad Request"}).to_string(),
        )
    };
    (reply, count)
}

/// Decode `Basic base64(user:pass)`.
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64_decode(encoded.trim())?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}

/// Standard base64 (with or without padding).
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ===================================================================================================
// `POST /engage`: user profiles (shared doc §10).
//
// - auth: as `/import` (service account + `project_id`, or the token as Basic user name), or no
//   Authorization header at all (Mixpanel's classic behaviour: the `$token` in each record is
//   the only credential). A wrong Authorization header gets the documented 401.
// - body: a JSON array of records (or one record), `application/json`; also the classic form
//   body `data=<JSON or base64 JSON>`. gzip is NOT accepted: the body cannot be parsed.
// - each record: `$token` (must be the project's: the token of the service account's project,
//   the token used to authenticate, or any known token without auth), `$distinct_id` (not
//   empty, not a placeholder), exactly one operation (`$set`, `$set_once`, `$unset`, `$add`,
//   `$union`, `$append`, `$remove`, `$delete`), at most `max_record_bytes` of JSON, list values
//   at most `max_list_bytes`.
// - valid records are applied in order, per `$distinct_id`, to the profile store; strings are
//   truncated at 255 characters as Mixpanel does.
// - answers: `strict=1` → 200 `{"code":200,"num_records_imported":N,"status":"OK"}` or 400 with
//   `failed_records` [{index, $distinct_id, message}] (the valid ones are still applied);
//   without strict, 200 even for invalid records: `{"status":1,"error":null}` /
//   `{"status":0,"error":"..."}` with `verbose=1`, else the bare `1`.
// - more than `max_records` records → 413; the same faults as `/import`, numbered by the
//   `/engage` request (1-based).
// ===================================================================================================

/// Mixpanel's operations on a profile.
pub const ENGAGE_OPERATIONS: &[&str] = &[
    "$set",
    "$set_once",
    "$unset",
    "$add",
    "$union",
    "$append",
    "$remove",
    "$delete",
];

/// A record that is not a JSON object (fixture wording).
pub const MSG_ENGAGE_NOT_OBJECT: &str = "record is invalid: must be a JSON object";
/// `$token` missing.
pub const MSG_ENGAGE_TOKEN_MISSING: &str = "'$token' is invalid: must not be missing";
/// `$token` of another project (fixture wording).
pub const MSG_ENGAGE_TOKEN_WRONG: &str = "'$token' is invalid: does not match the project";
/// `$distinct_id` missing or empty.
pub const MSG_ENGAGE_DISTINCT_ID_MISSING: &str = "'$distinct_id' is invalid: must not be missing";
/// `$distinct_id` is a placeholder value (fixture wording).
pub const MSG_ENGAGE_DISTINCT_ID_BANNED: &str =
    "'$distinct_id' is invalid: must not be a placeholder value";
/// `$distinct_id` the test configured the server to reject (fixture only).
pub const MSG_ENGAGE_DISTINCT_ID_BLOCKED: &str =
    "'$distinct_id' is invalid: rejected by the fake server's configuration";
/// No operation in the record.
pub const MSG_ENGAGE_NO_OPERATION: &str = "record is invalid: must have one of $set, $set_once, $unset, $add, $union, $append, $remove, $delete";
/// More than one operation in the record (fixture wording).
pub const MSG_ENGAGE_MANY_OPERATIONS: &str = "record is invalid: must have exactly one operation";
/// A record of 1 MB or more.
pub const MSG_ENGAGE_RECORD_TOO_LARGE: &str = "record is invalid: must be smaller than 1 MB";
/// A list value over the limit.
pub const MSG_ENGAGE_LIST_TOO_LARGE: &str = "list value is invalid: must be smaller than 256 KB";
/// A record whose JSON line was not parsable (form or array element).
pub const MSG_ENGAGE_NOT_JSON: &str = "record is invalid: could not parse JSON";
/// The error text of a strict-mode 400 on `/engage`.
pub const ERROR_ENGAGE_400: &str = "some data points in the request failed validation";
/// The body of a request that could not be parsed (gzip included).
pub const ERROR_ENGAGE_UNPARSABLE: &str = "unable to parse request body as JSON";

/// `/engage` settings.
#[derive(Debug, Clone)]
pub struct EngageConfig {
    /// Each project's token: `(project_id, token)`. A service account's records must carry the
    /// token of its project.
    pub project_tokens: Vec<(String, String)>,
    /// Most records per request (Mixpanel: 2000).
    pub max_records: usize,
    /// A record's JSON must be smaller than this (Mixpanel: 1 MB).
    pub max_record_bytes: usize,
    /// A list value's JSON must be at most this (Mixpanel: 256 KB).
    pub max_list_bytes: usize,
}

impl Default for EngageConfig {
    fn default() -> Self {
        Self {
            project_tokens: vec![(PROJECT_ID.to_owned(), TOKEN.to_owned())],
            max_records: 2000,
            max_record_bytes: 1_000_000,
            max_list_bytes: 256 * 1024,
        }
    }
}

/// `/engage` counters, as a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngageCounters {
    /// `POST /engage` requests.
    pub requests: u64,
    /// Records parsed from bodies that were processed (not refused by a fault, 401 or 413).
    pub records_received: u64,
    /// Records applied to the store.
    pub records_applied: u64,
    /// Records rejected by validation.
    pub records_rejected: u64,
    /// Requests without `strict=1`.
    pub non_strict_requests: u64,
    /// Requests without `verbose=1`.
    pub non_verbose_requests: u64,
    /// Requests without `ip=0`.
    pub requests_without_ip0: u64,
    /// Requests with `Content-Encoding: gzip` (refused: Mixpanel cannot parse them here).
    pub gzip_requests: u64,
    /// Request body bytes.
    pub bytes_received: u64,
    /// Requests without an Authorization header (authenticated by the records' tokens).
    pub unauthenticated_requests: u64,
    /// Connections dropped on purpose.
    pub dropped_connections: u64,
}

/// The profiles and bookkeeping of `/engage`.
#[derive(Default)]
struct EngageStore {
    number: u64,
    /// `$distinct_id` → properties ([`StoreMode::Full`]).
    profiles: BTreeMap<String, Map<String, Value>>,
    /// Hashes of the `$distinct_id`s that have a profile ([`StoreMode::KeysOnly`]).
    keys: HashSet<u64>,
    counters: EngageCounters,
    /// The request log ([`RequestRecord::events`] counts records).
    log: Vec<RequestRecord>,
}

impl FakeMixpanel {
    /// `http://127.0.0.1:PORT/engage`.
    pub fn engage_url(&self) -> String {
        format!("{}/engage", self.base_url())
    }

    /// A snapshot of the `/engage` counters.
    pub fn engage_counters(&self) -> EngageCounters {
        self.shared.store().engage.counters.clone()
    }

    /// The `/engage` request log (its `number` counts `/engage` requests, its `events` records).
    pub fn engage_log(&self) -> Vec<RequestRecord> {
        self.shared.store().engage.log.clone()
    }

    /// Every profile, by `$distinct_id` ([`StoreMode::Full`] only).
    pub fn profiles(&self) -> BTreeMap<String, Map<String, Value>> {
        self.shared.store().engage.profiles.clone()
    }

    /// One profile's properties ([`StoreMode::Full`] only).
    pub fn profile(&self, distinct_id: &str) -> Option<Map<String, Value>> {
        self.shared
            .store()
            .engage
            .profiles
            .get(distinct_id)
            .cloned()
    }

    /// How many profiles exist (any store mode).
    pub fn profile_count(&self) -> u64 {
        let store = self.shared.store();
        if self.shared.config().store == StoreMode::Full {
            store.engage.profiles.len() as u64
        } else {
            store.engage.keys.len() as u64
        }
    }

    /// Create or replace a profile directly (existing data for `$set_once` tests).
    pub fn seed_profile(&self, distinct_id: &str, properties: Map<String, Value>) {
        let mut store = self.shared.store();
        store.engage.keys.insert(engage_key(distinct_id));
        store
            .engage
            .profiles
            .insert(distinct_id.to_owned(), properties);
    }
}

fn engage_key(distinct_id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(distinct_id.as_bytes())
}

/// Who an `/engage` request authenticated as, and which record tokens that allows.
enum EngageAuth {
    /// The records' `$token` must be one of these.
    Tokens(Vec<String>),
    Invalid,
}

fn authenticate_engage(config: &FakeConfig, request: &Request) -> EngageAuth {
    if request.header("authorization").is_none() {
        return EngageAuth::Tokens(config.tokens.clone());
    }
    match authenticate(config, request) {
        Auth::Invalid => EngageAuth::Invalid,
        Auth::Token => {
            let token = request
                .header("authorization")
                .and_then(basic_credentials)
                .map(|(user, _)| user)
                .unwrap_or_default();
            EngageAuth::Tokens(vec![token])
        }
        Auth::ServiceAccount => {
            let project = request.query_param("project_id").unwrap_or_default();
            EngageAuth::Tokens(
                config
                    .engage
                    .project_tokens
                    .iter()
                    .filter(|(p, _)| *p == project)
                    .map(|(_, t)| t.clone())
                    .collect(),
            )
        }
    }
}

async fn handle_engage(shared: &Shared, request: Request) -> Reply {
    let config = shared.config();
    let faults = &config.faults;
    let number = {
        let mut store = shared.store();
        store.engage.number += 1;
        store.engage.number
    };
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    let strict = request.query_param("strict").as_deref() == Some("1");
    let verbose = request.query_param("verbose").as_deref() == Some("1");
    let ip0 = request.query_param("ip").as_deref() == Some("0");
    let gzip = request
        .header("content-encoding")
        .map(|v| v.eq_ignore_ascii_case("gzip"))
        .unwrap_or(false);
    {
        let mut store = shared.store();
        let c = &mut store.engage.counters;
        c.requests += 1;
        c.bytes_received += request.body.len() as u64;
        c.non_strict_requests += u64::from(!strict);
        c.non_verbose_requests += u64::from(!verbose);
        c.requests_without_ip0 += u64::from(!ip0);
        c.gzip_requests += u64::from(gzip);
        c.unauthenticated_requests += u64::from(request.header("authorization").is_none());
    }
    let every = |n: u64| n > 0 && number.is_multiple_of(n);
    let auth = authenticate_engage(&config, &request);
    let mut records_in_body = 0usize;
    let mut reply = if faults.force_401 || matches!(auth, EngageAuth::Invalid) {
        Reply::json(401, BODY_401)
    } else if every(faults.rate_limit_every) {
        Reply {
            retry_after: faults.retry_after_secs,
            ..Reply::json(429, BODY_429)
        }
    } else if every(faults.unavailable_every) {
        server_error(503, faults.html_5xx)
    } else if every(faults.bad_gateway_every) {
        server_error(502, faults.html_5xx)
    } else {
        let EngageAuth::Tokens(tokens) = auth else {
            unreachable!("invalid auth answered above")
        };
        let (reply, n) = process_engage(shared, &config, &request, &tokens, strict, verbose);
        records_in_body = n;
        reply
    };
    if reply.status != 401 && every(faults.drop_every) {
        reply.drop = Some(faults.drop_mode);
    }
    let mut store = shared.store();
    *store.counters.by_status.entry(reply.status).or_insert(0) += 1;
    store.engage.counters.dropped_connections += u64::from(reply.drop.is_some());
    if store.engage.log.len() < MAX_LOG {
        store.engage.log.push(RequestRecord {
            number,
            query: request.query.clone(),
            content_type: request.header("content-type").map(str::to_owned),
            content_encoding: request.header("content-encoding").map(str::to_owned),
            events: records_in_body,
            status: reply.status,
            dropped: reply.drop.is_some(),
        });
    }
    reply
}

/// The records of an `/engage` body: a JSON array (or one object), or a form `data=` field
/// holding JSON or base64 JSON. `Err` when the body cannot be read at all.
fn parse_engage_body(request: &Request) -> Result<Vec<BodyEvent>, ()> {
    let body = &request.body;
    let form = request
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().contains("x-www-form-urlencoded"));
    let text: std::borrow::Cow<'_, [u8]> = if form {
        let text = String::from_utf8_lossy(body);
        let data = text
            .split('&')
            .find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                (percent_decode(k) == "data").then(|| percent_decode(v))
            })
            .ok_or(())?;
        let trimmed = data.trim_start();
        if trimmed.starts_with('[') || trimmed.starts_with('{') {
            std::borrow::Cow::Owned(data.into_bytes())
        } else {
            std::borrow::Cow::Owned(base64_decode(data.trim()).ok_or(())?)
        }
    } else {
        std::borrow::Cow::Borrowed(&body[..])
    };
    let (json, bad_utf8) = match std::str::from_utf8(&text) {
        Ok(t) => (std::borrow::Cow::Borrowed(t), false),
        Err(_) => (String::from_utf8_lossy(&text), true),
    };
    let value: Value = serde_json::from_str(&json).map_err(|_| ())?;
    let values = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    Ok(values
        .into_iter()
        .map(|value| {
            let flagged = bad_utf8 && value.to_string().contains('\u{FFFD}');
            BodyEvent::Parsed {
                value,
                bad_utf8: flagged,
            }
        })
        .collect())
}

/// A validated record: the profile it updates and the operation.
struct EngageUpdate {
    distinct_id: String,
    operation: String,
    operand: Value,
}

/// Validate one record against Mixpanel's rules. `Err((distinct_id, message))`.
fn validate_engage_record(
    value: Value,
    bad_utf8: bool,
    tokens: &[String],
    config: &FakeConfig,
) -> Result<EngageUpdate, (String, String)> {
    let size = value.to_string().len();
    let Value::Object(mut record) = value else {
        return Err((String::new(), MSG_ENGAGE_NOT_OBJECT.into()));
    };
    let distinct_id = record
        .get("$distinct_id")
        .and_then(id_text)
        .unwrap_or_default();
    if bad_utf8 {
        return Err((
            distinct_id,
            "record is invalid: string should be valid utf8".into(),
        ));
    }
    if size >= config.engage.max_record_bytes {
        return Err((distinct_id, MSG_ENGAGE_RECORD_TOO_LARGE.into()));
    }
    match record.get("$token").and_then(Value::as_str) {
        None | Some("") => return Err((distinct_id, MSG_ENGAGE_TOKEN_MISSING.into())),
        Some(token) if !tokens.iter().any(|t| t == token) => {
            return Err((distinct_id, MSG_ENGAGE_TOKEN_WRONG.into()));
        }
        Some(_) => {}
    }
    if distinct_id.trim().is_empty() {
        return Err((distinct_id, MSG_ENGAGE_DISTINCT_ID_MISSING.into()));
    }
    if is_banned(&distinct_id) {
        return Err((distinct_id, MSG_ENGAGE_DISTINCT_ID_BANNED.into()));
    }
    if config.reject_distinct_ids.contains(&distinct_id) {
        return Err((distinct_id, MSG_ENGAGE_DISTINCT_ID_BLOCKED.into()));
    }
    let operations: Vec<&str> = ENGAGE_OPERATIONS
        .iter()
        .copied()
        .filter(|op| record.contains_key(*op))
        .collect();
    let operation = match operations.as_slice() {
        [] => return Err((distinct_id, MSG_ENGAGE_NO_OPERATION.into())),
        [one] => (*one).to_owned(),
        _ => return Err((distinct_id, MSG_ENGAGE_MANY_OPERATIONS.into())),
    };
    let operand = record.remove(&operation).unwrap_or(Value::Null);
    let bad = |what: &str| {
        Err((
            distinct_id.clone(),
            format!("'{operation}' is invalid: {what}"),
        ))
    };
    match operation.as_str() {
        "$set" | "$set_once" | "$union" | "$append" | "$remove" | "$add" => {
            let Value::Object(properties) = &operand else {
                return bad("must be an object of property names to values");
            };
            for (name, v) in properties {
                if operation == "$add" && !v.is_number() {
                    return bad(&format!("'{name}' must be a number"));
                }
                if operation == "$union" && !v.is_array() {
                    return bad(&format!("'{name}' must be a list"));
                }
                if let Value::Array(_) = v
                    && v.to_string().len() > config.engage.max_list_bytes
                {
                    return Err((distinct_id, MSG_ENGAGE_LIST_TOO_LARGE.into()));
                }
            }
        }
        "$unset" => {
            let names_ok = operand
                .as_array()
                .is_some_and(|names| names.iter().all(Value::is_string));
            if !names_ok {
                return bad("must be a list of property names");
            }
        }
        _ => {}
    }
    Ok(EngageUpdate {
        distinct_id,
        operation,
        operand,
    })
}

/// Mixpanel keeps the first 255 characters of a string (also inside lists).
fn truncate_strings(value: Value) -> Value {
    match value {
        Value::String(s) if s.chars().count() > 255 => Value::String(s.chars().take(255).collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(truncate_strings).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, truncate_strings(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Apply one validated update to the profiles.
fn apply_engage_update(profiles: &mut BTreeMap<String, Map<String, Value>>, update: EngageUpdate) {
    let EngageUpdate {
        distinct_id,
        operation,
        operand,
    } = update;
    if operation == "$delete" {
        profiles.remove(&distinct_id);
        return;
    }
    if operation == "$unset" || operation == "$remove" {
        let Some(profile) = profiles.get_mut(&distinct_id) else {
            return;
        };
        if operation == "$unset" {
            for name in operand.as_array().into_iter().flatten() {
                if let Some(name) = name.as_str() {
                    profile.remove(name);
                }
            }
        } else if let Value::Object(removals) = operand {
            for (name, item) in removals {
                if let Some(Value::Array(list)) = profile.get_mut(&name) {
                    list.retain(|v| *v != item);
                }
            }
        }
        return;
    }
    let profile = profiles.entry(distinct_id).or_default();
    let Value::Object(properties) = truncate_strings(operand) else {
        return;
    };
    for (name, value) in properties {
        match operation.as_str() {
            "$set" => {
                profile.insert(name, value);
            }
            "$set_once" => {
                profile.entry(name).or_insert(value);
            }
            "$add" => {
                let old = profile.get(&name).and_then(Value::as_f64).unwrap_or(0.0);
                let both_integers = value.is_i64()
                    && profile
                        .get(&name)
                        .is_none_or(|v| v.is_i64() || !v.is_number());
                let sum = if both_integers {
                    json!(old as i64 + value.as_i64().unwrap_or(0))
                } else {
                    json!(old + value.as_f64().unwrap_or(0.0))
                };
                profile.insert(name, sum);
            }
            "$union" => {
                let list = profile_list(profile, &name);
                for item in value.as_array().into_iter().flatten() {
                    if !list.contains(item) {
                        list.push(item.clone());
                    }
                }
            }
            "$append" => profile_list(profile, &name).push(value),
            _ => {}
        }
    }
}

/// The list property `name` of a profile, created (or a scalar wrapped) when needed.
fn profile_list<'a>(profile: &'a mut Map<String, Value>, name: &str) -> &'a mut Vec<Value> {
    let slot = profile
        .entry(name.to_owned())
        .or_insert(Value::Array(Vec::new()));
    if !slot.is_array() {
        let old = std::mem::take(slot);
        *slot = Value::Array(if old.is_null() { Vec::new() } else { vec![old] });
    }
    match slot {
        Value::Array(list) => list,
        _ => unreachable!("made an array above"),
    }
}

/// Parse, validate and apply one `/engage` body. Returns the reply and the record count.
fn process_engage(
    shared: &Shared,
    config: &FakeConfig,
    request: &Request,
    tokens: &[String],
    strict: bool,
    verbose: bool,
) -> (Reply, usize) {
    let refuse = |error: &str| {
        if strict {
            Reply::json(
                400,
                json!({"code": 400, "error": error, "status": "Bad Request"}).to_string(),
            )
        } else if verbose {
            Reply::json(200, json!({"status": 0, "error": error}).to_string())
        } else {
            Reply::json(200, "0")
        }
    };
    if request.body.len() > config.max_bytes {
        return (Reply::json(413, too_large_body(config.max_bytes)), 0);
    }
    let Ok(records) = parse_engage_body(request) else {
        return (refuse(ERROR_ENGAGE_UNPARSABLE), 0);
    };
    let count = records.len();
    if count > config.engage.max_records {
        let reply = if config.html_413 {
            Reply::html(413, BODY_413_HTML)
        } else {
            Reply::json(
                413,
                json!({"code": 413, "error": format!("request exceeds max limit of {} records", config.engage.max_records), "status": "Request Entity Too Large"}).to_string(),
            )
        };
        return (reply, count);
    }
    let mut failed = Vec::new();
    let mut applied = 0usize;
    let mut store = shared.store();
    store.engage.counters.records_received += count as u64;
    for (index, record) in records.into_iter().enumerate() {
        let result = match record {
            BodyEvent::NotJson => Err((String::new(), MSG_ENGAGE_NOT_JSON.to_owned())),
            BodyEvent::Parsed { value, bad_utf8 } => {
                validate_engage_record(value, bad_utf8, tokens, config)
            }
        };
        match result {
            Ok(update) => {
                applied += 1;
                let engage = &mut store.engage;
                if update.operation == "$delete" {
                    engage.keys.remove(&engage_key(&update.distinct_id));
                } else if update.operation != "$unset" && update.operation != "$remove" {
                    engage.keys.insert(engage_key(&update.distinct_id));
                }
                if config.store == StoreMode::Full {
                    apply_engage_update(&mut engage.profiles, update);
                }
            }
            Err((distinct_id, message)) => failed.push(json!({
                "index": index,
                "$distinct_id": distinct_id,
                "message": message,
            })),
        }
    }
    store.engage.counters.records_applied += applied as u64;
    store.engage.counters.records_rejected += failed.len() as u64;
    drop(store);
    let reply = if failed.is_empty() {
        if strict {
            Reply::json(
                200,
                json!({"code": 200, "num_records_imported": applied, "status": "OK"}).to_string(),
            )
        } else if verbose {
            Reply::json(200, r#"{"status": 1, "error": null}"#)
        } else {
            Reply::json(200, "1")
        }
    } else if strict {
        Reply::json(
            400,
            json!({"code": 400, "error": ERROR_ENGAGE_400, "failed_records": failed, "num_records_imported": applied, "status": "Bad Request"}).to_string(),
        )
    } else if verbose {
        let first = failed[0]["message"].as_str().unwrap_or_default().to_owned();
        Reply::json(200, json!({"status": 0, "error": first}).to_string())
    } else {
        Reply::json(200, "1")
    };
    (reply, count)
}

// ----- GET /api/2.0/export (the raw export) -----

/// The raw export's path.
pub const EXPORT_PATH: &str = "/api/2.0/export";

/// The 429 body of the export (fixture wording: Mixpanel's is undocumented).
pub const BODY_EXPORT_429: &str = r#"{"error": "rate limit exceeded: at most 60 export queries per hour and 3 per second", "status": "error"}"#;

/// How the raw export behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportConfig {
    /// An event shows in the export only this long after it was stored (Mixpanel's processing
    /// delay; tens of minutes in reality).
    pub visibility_delay: Duration,
    /// Queries answered per `window` (Mixpanel: 60 an hour); more get 429. 0 = no limit.
    pub queries_per_window: u32,
    /// The budget's sliding window (an hour; tests shorten it).
    pub window: Duration,
    /// Queries answered within one second (Mixpanel: 3); more get 429 with `Retry-After: 1`.
    /// 0 = no limit.
    pub queries_per_second: u32,
    /// Send `Retry-After` with the budget's 429 (seconds until a query slot frees up).
    pub retry_after: bool,
}

impl Default for ExportConfig {
    fn default() -> Self {
        Self {
            visibility_delay: Duration::ZERO,
            queries_per_window: 60,
            window: Duration::from_secs(3600),
            queries_per_second: 3,
            retry_after: true,
        }
    }
}

fn export_error(status: u16, request: &Request, message: &str) -> Reply {
    Reply::json(
        status,
        json!({"request": format!("{EXPORT_PATH}?{}", request.query), "error": message})
            .to_string(),
    )
}

fn handle_export(shared: &Shared, request: &Request) -> Reply {
    let config = shared.config();
    shared.store().counters.export_requests += 1;
    // Service accounts only: a project token (no project_id) cannot export.
    match authenticate(&config, request) {
        Auth::ServiceAccount => {}
        Auth::Token => {
            return Reply::json(
                401,
                r#"{"error": "project tokens cannot be used with the export API: use a service account", "status": "error"}"#,
            );
        }
        Auth::Invalid => return Reply::json(401, BODY_401),
    }
    if let Some(reply) = export_rate_limit(shared, &config.export) {
        shared.store().counters.export_rate_limited += 1;
        return reply;
    }
    let day = |name: &str| -> Result<chrono::NaiveDate, Reply> {
        let text = request.query_param(name).unwrap_or_default();
        chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
            export_error(
                400,
                request,
                &format!("'{name}' is a required parameter in the form YYYY-MM-DD"),
            )
        })
    };
    let from = match day("from_date") {
        Ok(d) => d,
        Err(reply) => return reply,
    };
    let to = match day("to_date") {
        Ok(d) => d,
        Err(reply) => return reply,
    };
    if from > to {
        return export_error(400, request, "'from_date' must not be after 'to_date'");
    }
    let events: Option<Vec<String>> = match request.query_param("event") {
        None => None,
        Some(text) => match serde_json::from_str(&text) {
            Ok(names) => Some(names),
            Err(_) => {
                return export_error(400, request, "'event' must be a JSON array of event names");
            }
        },
    };
    let conditions = match request.query_param("where") {
        None => Vec::new(),
        Some(text) => match parse_where(&text) {
            Some(c) => c,
            None => {
                return export_error(
                    400,
                    request,
                    &format!("unsupported 'where' expression: {text}"),
                );
            }
        },
    };
    let time_in_ms = request.query_param("time_in_ms").as_deref() == Some("true");
    let limit: Option<usize> = request.query_param("limit").and_then(|l| l.parse().ok());
    let delay = config.export.visibility_delay;
    let store = shared.store();
    let mut body = Vec::new();
    let mut lines = 0u64;
    for (event, stored_at) in store.events.iter().zip(&store.stored_at) {
        if limit.is_some_and(|l| lines as usize >= l) {
            break;
        }
        if stored_at.elapsed() < delay {
            continue;
        }
        if event
            .insert_id
            .as_ref()
            .is_some_and(|id| store.hidden_from_export.contains(id))
        {
            continue;
        }
        let Some(when) = chrono::DateTime::from_timestamp_millis(event.time_ms) else {
            continue;
        };
        let day = when.date_naive();
        if day < from || day > to {
            continue;
        }
        if events
            .as_ref()
            .is_some_and(|names| !names.contains(&event.event))
        {
            continue;
        }
        if !conditions
            .iter()
            .all(|(name, value)| event.properties.get(name).and_then(Value::as_str) == Some(value))
        {
            continue;
        }
        let mut properties = event.properties.clone();
        let time = if time_in_ms {
            event.time_ms
        } else {
            event.time_ms.div_euclid(1000)
        };
        properties.insert("time".into(), json!(time));
        properties.insert("$import".into(), json!(true));
        let processed = SystemTime::now()
            .checked_sub(stored_at.elapsed())
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64);
        properties.insert("mp_processing_time_ms".into(), json!(processed));
        let line = json!({"event": event.event, "properties": properties});
        body.extend_from_slice(line.to_string().as_bytes());
        body.push(b'\n');
        lines += 1;
    }
    drop(store);
    shared.store().counters.export_lines += lines;
    Reply {
        content_type: "application/x-ndjson",
        ..Reply::json(200, body)
    }
}

/// Count the query against the budgets, or answer 429.
fn export_rate_limit(shared: &Shared, config: &ExportConfig) -> Option<Reply> {
    let mut store = shared.store();
    let now = Instant::now();
    while store
        .export_queries
        .front()
        .is_some_and(|t| now.duration_since(*t) >= config.window)
    {
        store.export_queries.pop_front();
    }
    let last_second = store
        .export_queries
        .iter()
        .filter(|t| now.duration_since(**t) < Duration::from_secs(1))
        .count();
    let too_many = |limit: u32, count: usize| limit > 0 && count >= limit as usize;
    if too_many(config.queries_per_window, store.export_queries.len()) {
        let wait = store.export_queries.front().map_or(config.window, |t| {
            config.window.saturating_sub(now.duration_since(*t))
        });
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return Some(Reply {
            retry_after: config.retry_after.then_some(secs.max(1)),
            ..Reply::json(429, BODY_EXPORT_429)
        });
    }
    if too_many(config.queries_per_second, last_second) {
        return Some(Reply {
            retry_after: Some(1),
            ..Reply::json(429, BODY_EXPORT_429)
        });
    }
    store.export_queries.push_back(now);
    None
}

/// `properties["X"] == "Y"` tests joined by `and`, as (X, Y) pairs; `None` for anything else.
pub fn parse_where(text: &str) -> Option<Vec<(String, String)>> {
    let mut rest = text.trim();
    let mut out = Vec::new();
    loop {
        rest = rest.strip_prefix("properties[")?.trim_start();
        let (name, after) = parse_string_literal(rest)?;
        rest = after.trim_start().strip_prefix(']')?.trim_start();
        rest = rest.strip_prefix("==")?.trim_start();
        let (value, after) = parse_string_literal(rest)?;
        out.push((name, value));
        rest = after.trim_start();
        if rest.is_empty() {
            return Some(out);
        }
        rest = rest.strip_prefix("and")?.trim_start();
    }
}

/// A double-quoted string with `\"` and `\\` escapes; returns it and the text after it.
fn parse_string_literal(text: &str) -> Option<(String, &str)> {
    let mut chars = text.strip_prefix('"')?.char_indices();
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &text[i + 2..])),
            '\\' => out.push(chars.next()?.1),
            c => out.push(c),
        }
    }
    None
}
