//! The HTTP client: one batch to `/import` (or, for user profiles, `/engage`) with retries,
//! backoff and splitting, and the connection check.
//!
//! [`MixpanelClient::import_batch`] sends one [`Batch`] (gzip NDJSON, `strict=1`, `ip=0`) and
//! returns what happened to every one of its events: accepted, rejected by Mixpanel (with its
//! field and message), failed after all retries (with the reason), or not sent because the run
//! stopped. No event is ever dropped silently. A client made with
//! [`MixpanelClient::for_profiles`] sends the same way to `/engage` (see [`super::engage`]): an
//! uncompressed JSON array with the project token in each record, `strict=1&verbose=1&ip=0`.

use std::io::Write;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::auth::{Credentials, Secret};
use super::batch::Batch;
use super::engage::{engage_body, map_engage_failures, parse_engage_reply, record_count};
use super::flow::Flow;
use super::region::{Region, is_loopback_base, validate_api_base};
use super::response::{FailedRecord, ImportReply, parse_import_reply, summarize_body};

/// Retry timings. Mixpanel's advice: start at 2 s, double up to 60 s, add 1–5 s of jitter.
#[derive(Debug, Clone, PartialEq)]
pub struct BackoffPolicy {
    /// First delay.
    pub base: Duration,
    /// Largest exponential delay (before jitter).
    pub max: Duration,
    /// Smallest random jitter added to each delay.
    pub jitter_min: Duration,
    /// Largest random jitter added to each delay.
    pub jitter_max: Duration,
    /// Tries (first send included) for 408, 5xx, timeouts and connection errors.
    pub max_tries: u32,
    /// Tries for 429 responses, which are expected under load and retried longer.
    pub max_rate_limited_tries: u32,
    /// Largest `Retry-After` honoured.
    pub max_retry_after: Duration,
    /// When no connection to the host has ever succeeded, stop trying after this long: the
    /// host is unreachable (no network, a wrong address, a firewall), and waiting minutes for
    /// every batch's retries helps nobody.
    pub unreachable_after: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            max: Duration::from_secs(60),
            jitter_min: Duration::from_secs(1),
            jitter_max: Duration::from_secs(5),
            max_tries: 10,
            max_rate_limited_tries: 100,
            max_retry_after: Duration::from_secs(300),
            unreachable_after: Duration::from_secs(30),
        }
    }
}

impl BackoffPolicy {
    /// The same shape scaled down to `base_ms` milliseconds (for tests): delays double from
    /// `base_ms` up to 30×, jitter 0..`base_ms`, and `Retry-After` capped at the maximum delay.
    pub fn scaled_ms(base_ms: u64) -> Self {
        let base = Duration::from_millis(base_ms);
        Self {
            base,
            max: base * 30,
            jitter_min: Duration::ZERO,
            jitter_max: base,
            max_retry_after: base * 30,
            unreachable_after: base * 15,
            ..Self::default()
        }
    }

    /// The wait before try number `attempt + 1` (`attempt` ≥ 1 failures so far), given the
    /// server's `Retry-After` and a random `unit` in `[0, 1)` for the jitter.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        let exponential = match retry_after {
            Some(wait) => wait.min(self.max_retry_after),
            None => {
                let doublings = attempt.saturating_sub(1).min(30);
                self.base
                    .checked_mul(1u32 << doublings)
                    .unwrap_or(self.max)
                    .min(self.max)
            }
        };
        let spread = self.jitter_max.saturating_sub(self.jitter_min);
        exponential + self.jitter_min + spread.mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// Where and how the client connects.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The project's region.
    pub region: Region,
    /// Another ingestion host (a test server), validated by [`validate_api_base`]. It also
    /// serves `/api/app/me`.
    pub api_base: Option<String>,
    /// Retry timings.
    pub backoff: BackoffPolicy,
    /// Per-request timeout.
    pub timeout: Duration,
    /// The proxy for HTTPS hosts (`HTTPS_PROXY`), used only through a CONNECT tunnel and never
    /// for a loopback API base.
    pub https_proxy: Option<String>,
    /// Hosts that bypass the proxy (`NO_PROXY`).
    pub no_proxy: Option<String>,
}

impl ClientConfig {
    /// Defaults for a region; the proxy settings come from `HTTPS_PROXY` and `NO_PROXY`
    /// (upper or lower case). `HTTP_PROXY` and `ALL_PROXY` are never used.
    pub fn new(region: Region) -> Self {
        let env = |names: [&str; 2]| {
            names
                .iter()
                .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
        };
        Self {
            region,
            api_base: None,
            backoff: BackoffPolicy::default(),
            timeout: Duration::from_secs(120),
            https_proxy: env(["HTTPS_PROXY", "https_proxy"]),
            no_proxy: env(["NO_PROXY", "no_proxy"]),
        }
    }
}

/// A client that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The `--api-base` override is refused.
    #[error(transparent)]
    ApiBase(#[from] super::region::ApiBaseError),
    /// `HTTPS_PROXY` is not a usable proxy URL.
    #[error("HTTPS_PROXY {0}: use a URL such as http://proxy.example.com:3128")]
    Proxy(String),
    /// The HTTP stack could not start (e.g. no system certificates).
    #[error("cannot start the HTTP client: {0}")]
    Http(String),
    /// A service account cannot send user profiles without the project's token.
    #[error(
        "user profiles need the project's token in every record: add the project token (Mixpanel → Project Settings → Access Keys) to the connection"
    )]
    MissingProjectToken,
}

/// The HTTP client builder every Mixpanel client starts from (imports, profiles, the export),
/// so traffic goes only where it was pointed: redirects are never followed (Mixpanel's API does
/// not redirect, and a redirect would carry the secret elsewhere), no proxy is taken from the
/// environment except `https_proxy` (`HTTPS_PROXY`), which is used for HTTPS hosts only (so
/// always through a CONNECT tunnel: the proxy sees the host name, never the request), and a
/// loopback `base` never goes through a proxy.
pub(crate) fn http_builder(
    base: &str,
    https_proxy: Option<&str>,
    no_proxy: Option<&str>,
) -> Result<reqwest::ClientBuilder, ClientError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .user_agent(concat!("mixport/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    if let Some(proxy_url) = https_proxy
        && base.starts_with("https://")
        && !is_loopback_base(base)
    {
        let proxy = reqwest::Proxy::https(proxy_url)
            .map_err(|e| ClientError::Proxy(format!("'{proxy_url}': {e}")))?
            .no_proxy(no_proxy.and_then(reqwest::NoProxy::from_string));
        builder = builder.proxy(proxy);
    }
    Ok(builder)
}

/// One event of a batch that did not get imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventProblem {
    /// Position in the batch given to [`MixpanelClient::import_batch`].
    pub index: usize,
    /// The event's source row.
    pub row: u64,
    /// The field concerned (`properties.time`, ...), or empty when unknown.
    pub field: String,
    /// Mixpanel's message or our reason.
    pub message: String,
}

/// What happened to every event of one batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Events in the batch.
    pub events: usize,
    /// Events Mixpanel imported.
    pub accepted: usize,
    /// Events Mixpanel refused (final: never resent).
    pub rejected: Vec<EventProblem>,
    /// Events that could not be delivered after all retries.
    pub failed: Vec<EventProblem>,
    /// Positions of events not sent because the run stopped (cancel or fatal error).
    pub unsent: Vec<usize>,
    /// Requests made (including retries and 413 halves).
    pub requests: u32,
    /// Retries made.
    pub retries: u32,
    /// 429 responses received.
    pub rate_limited: u32,
    /// Compressed bytes sent (all tries).
    pub bytes_sent: u64,
    /// Remarks, e.g. a `num_records_imported` that disagrees with the failures listed.
    pub notes: Vec<String>,
    /// A fatal error (401/403, unexpected status) that must stop the whole run.
    pub fatal: Option<Fatal>,
}

/// Why a run had to stop at once (every later batch would fail the same way).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fatal {
    /// 401 or 403: Mixpanel refused the credentials for this project.
    #[error("Mixpanel refused the {credential} for {project} in the {region} region (HTTP {status}: {message}). Nothing more was sent.", project = describe_project(.project_id.as_deref()))]
    Refused {
        /// HTTP status (401 or 403).
        status: u16,
        /// Mixpanel's message.
        message: String,
        /// The credential kind in words ("service account 'x'", "project token").
        credential: String,
        /// Whether the credential is a service account (a token has no roles).
        service_account: bool,
        /// The project id, when the credential names one.
        project_id: Option<String>,
        /// The region's name.
        region: String,
    },
    /// A redirect: never followed (Mixpanel's API does not redirect, and following one would
    /// send the events and the secret to another host).
    #[error(
        "{host} answered HTTP {status} redirecting to {location}; Mixport never follows redirects (Mixpanel's import API does not redirect), so nothing was sent there. Check the API address and the region. Nothing more was sent."
    )]
    Redirected {
        /// HTTP status (301, 302, 307, ...).
        status: u16,
        /// The host that answered.
        host: String,
        /// Where it pointed.
        location: String,
    },
    /// No connection to the host ever succeeded within the time allowed.
    #[error(
        "cannot reach {host} ({detail}); gave up after {waited_secs} s without a single answer. Check the internet connection, a proxy (HTTPS_PROXY) or the API address; nothing was imported, and resuming sends everything once the host is reachable."
    )]
    Unreachable {
        /// The host.
        host: String,
        /// The last network error.
        detail: String,
        /// Seconds spent trying.
        waited_secs: u64,
    },
    /// Another status (404, 405, 3xx, ...): the host is not Mixpanel's ingestion API.
    #[error(
        "the server answered HTTP {status} ({message}), which Mixpanel's import API never does: the address or region is wrong. Nothing more was sent."
    )]
    NotMixpanel {
        /// HTTP status.
        status: u16,
        /// What the body says.
        message: String,
    },
}

fn describe_project(project_id: Option<&str>) -> String {
    match project_id {
        Some(id) => format!("project {id}"),
        None => "the project of this token".to_owned(),
    }
}

/// The result of a connection check: typed, so each shell can word it for its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionCheck {
    /// What the check found.
    pub status: ConnectionStatus,
    /// The project's name when Mixpanel gave it (verified service accounts).
    pub project_name: Option<String>,
    /// The technical detail (HTTP status and message, or the network error), for a tooltip.
    pub detail: String,
}

/// How a connection check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// The service account works and can see the project.
    Verified,
    /// The service account works, but the project is not among those it can see.
    ProjectNotVisible,
    /// Mixpanel refused the credentials (wrong user name or secret).
    Refused,
    /// A project token cannot be checked without sending data.
    NotCheckable,
    /// Nothing answered: no network, a firewall, or a wrong address.
    Unreachable,
    /// Something answered, but not as Mixpanel does (a 404 page, another kind of server).
    NotMixpanel,
    /// Mixpanel answered with a temporary error (429, 5xx): try again later.
    ServerTrouble,
}

/// The Mixpanel client for one project.
#[derive(Debug, Clone)]
pub struct MixpanelClient {
    http: reqwest::Client,
    import_url: String,
    app_url: String,
    credentials: Credentials,
    region: Region,
    backoff: BackoffPolicy,
    api_base: Option<String>,
    /// The ingestion host (and port), for messages.
    host: String,
    /// `Some` when this client sends user profiles to `/engage`.
    profiles: Option<ProfilesTarget>,
}

/// Where and with which token user-profile updates go.
#[derive(Debug, Clone)]
struct ProfilesTarget {
    /// `…/engage?strict=1&verbose=1&ip=0[&project_id=…]`.
    url: String,
    /// The project token put in each record.
    token: Secret,
}

impl MixpanelClient {
    /// A client for `credentials` in `config.region` (or at `config.api_base`).
    pub fn new(credentials: Credentials, config: ClientConfig) -> Result<Self, ClientError> {
        let (import_base, app_base) = match &config.api_base {
            Some(base) => {
                let base = validate_api_base(base)?;
                (base.clone(), base)
            }
            None => (config.region.import_base(), config.region.app_base()),
        };
        let mut import_url = format!("{import_base}/import?strict=1&ip=0");
        if let Some(project_id) = credentials.project_id() {
            import_url.push_str("&project_id=");
            import_url.push_str(project_id);
        }
        let builder = http_builder(
            &import_base,
            config.https_proxy.as_deref(),
            config.no_proxy.as_deref(),
        )?
        .timeout(config.timeout)
        .tcp_nodelay(true);
        let http = builder
            .build()
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let host = reqwest::Url::parse(&import_base)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| u.port().map_or(h.to_owned(), |p| format!("{h}:{p}")))
            })
            .unwrap_or_else(|| import_base.clone());
        Ok(Self {
            host,
            http,
            import_url,
            app_url: format!("{app_base}/api/app/me"),
            credentials,
            region: config.region,
            backoff: config.backoff,
            api_base: config
                .api_base
                .as_deref()
                .map(|b| b.trim().trim_end_matches('/').to_owned()),
            profiles: None,
        })
    }

    /// This client, sending user-profile updates to `/engage` (on the same host as `/import`)
    /// instead of events. Every record carries the project's token: `token`, or the
    /// connection's own token when it is a project token. A service account without a token
    /// is refused ([`ClientError::MissingProjectToken`]).
    pub fn for_profiles(mut self, token: Option<Secret>) -> Result<Self, ClientError> {
        let token = match (token.filter(|t| !t.is_empty()), &self.credentials) {
            (Some(token), _) => token,
            (None, Credentials::ProjectToken { token }) => token.clone(),
            (None, Credentials::ServiceAccount { .. }) => {
                return Err(ClientError::MissingProjectToken);
            }
        };
        let base = self.import_url.split("/import?").next().unwrap_or_default();
        let mut url = format!("{base}/engage?strict=1&verbose=1&ip=0");
        if let Some(project_id) = self.credentials.project_id() {
            url.push_str("&project_id=");
            url.push_str(project_id);
        }
        self.profiles = Some(ProfilesTarget { url, token });
        Ok(self)
    }

    /// Whether this client sends user profiles (to `/engage`).
    pub fn sends_profiles(&self) -> bool {
        self.profiles.is_some()
    }

    /// The URL batches are posted to (`/import` or `/engage`, with their query).
    fn batch_url(&self) -> &str {
        match &self.profiles {
            Some(target) => &target.url,
            None => &self.import_url,
        }
    }

    /// The region this client targets.
    pub fn region(&self) -> Region {
        self.region
    }

    /// The credentials (their secret stays redacted in Debug output).
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The `--api-base` override, when one is used.
    pub fn api_base_override(&self) -> Option<&str> {
        self.api_base.as_deref()
    }

    /// The destination in words for the resume journal key: ingestion URL and project (or a
    /// hash of the token). Never a secret.
    pub fn target_label(&self) -> String {
        let base = self.batch_url().split('?').next().unwrap_or_default();
        format!("{base} {}", self.credentials.target_tag())
    }

    /// The retry policy.
    pub fn backoff(&self) -> &BackoffPolicy {
        &self.backoff
    }

    /// The stop reason of a 401/403, naming region, project and credential kind.
    fn refused(&self, status: u16, message: &str) -> Fatal {
        Fatal::Refused {
            status,
            message: message.to_owned(),
            credential: self.credentials.kind_label(),
            service_account: matches!(self.credentials, Credentials::ServiceAccount { .. }),
            project_id: self.credentials.project_id().map(str::to_owned),
            region: self.region.label().to_owned(),
        }
    }

    /// Check the credentials without sending data (`GET /api/app/me`, service accounts only).
    pub async fn check_connection(&self) -> ConnectionCheck {
        let check = |status, detail: String| ConnectionCheck {
            status,
            project_name: None,
            detail,
        };
        let Credentials::ServiceAccount { project_id, .. } = &self.credentials else {
            return check(ConnectionStatus::NotCheckable, String::new());
        };
        let (user, pass) = self.credentials.basic_auth();
        let response = self
            .http
            .get(&self.app_url)
            .basic_auth(user, Some(pass))
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => return check(ConnectionStatus::Unreachable, describe_http_error(&e)),
        };
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            // Never followed: Mixpanel does not redirect, and the secret must not go elsewhere.
            let location = location_of(&response);
            return check(
                ConnectionStatus::NotMixpanel,
                format!("HTTP {status}: redirects to {location} (redirects are never followed)"),
            );
        }
        let body = response.bytes().await.unwrap_or_default();
        let detail = |message: &str| format!("HTTP {status}: {message}");
        match status {
            200 => {
                let json: serde_json::Value =
                    serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                let Some(results) = json.get("results").filter(|r| r.is_object()) else {
                    return check(
                        ConnectionStatus::NotMixpanel,
                        detail("the answer is not Mixpanel's account information"),
                    );
                };
                let projects = results.get("projects");
                match (projects, projects.and_then(|p| p.get(project_id.as_str()))) {
                    (_, Some(p)) => ConnectionCheck {
                        status: ConnectionStatus::Verified,
                        project_name: p
                            .get("name")
                            .and_then(|n| n.as_str())
                            .filter(|n| !n.is_empty())
                            .map(str::to_owned),
                        detail: detail("ok"),
                    },
                    (Some(_), None) => check(ConnectionStatus::ProjectNotVisible, detail("ok")),
                    (None, None) => check(ConnectionStatus::Verified, detail("ok")),
                }
            }
            401 | 403 => {
                let message = match parse_import_reply(status, None, &body) {
                    ImportReply::Unauthorized { message, .. } => message,
                    _ => String::new(),
                };
                check(ConnectionStatus::Refused, detail(&message))
            }
            408 | 429 | 500..=599 => check(
                ConnectionStatus::ServerTrouble,
                detail(&summarize_body(&body)),
            ),
            _ => check(
                ConnectionStatus::NotMixpanel,
                detail(&summarize_body(&body)),
            ),
        }
    }

    /// Send one batch, retrying, backing off and splitting as needed, and account for every
    /// event. Never returns before each event is accepted, rejected, failed or unsent.
    pub async fn import_batch(&self, batch: Batch, flow: &Flow) -> BatchOutcome {
        let mut outcome = BatchOutcome {
            events: batch.events.len(),
            ..BatchOutcome::default()
        };
        // (offset in the original batch, sub-batch); popped last-in first-out, so the first
        // half of a split goes first.
        let mut stack = vec![(0usize, batch)];
        while let Some((offset, sub)) = stack.pop() {
            if outcome.fatal.is_some() || flow.is_stopping() {
                outcome.unsent.extend(offset..offset + sub.events.len());
                continue;
            }
            let body = match &self.profiles {
                Some(target) => engage_body(&sub, target.token.expose()),
                None => gzip_ndjson(&sub),
            };
            let mut failures = 0u32;
            let mut rate_limits = 0u32;
            loop {
                outcome.requests += 1;
                let (reply, retry_reason) = match self.send(body.clone()).await {
                    Ok(reply) => {
                        // Only bytes a server answered count as sent.
                        outcome.bytes_sent += body.len() as u64;
                        flow.note_answer();
                        (Some(reply), None)
                    }
                    Err(SendFailure::Redirected { status, location }) => {
                        outcome.bytes_sent += body.len() as u64;
                        flow.note_answer();
                        outcome.fatal = Some(Fatal::Redirected {
                            status,
                            host: self.host.clone(),
                            location,
                        });
                        flow.stop();
                        outcome.unsent.extend(offset..offset + sub.events.len());
                        break;
                    }
                    Err(SendFailure::Network { message, connect }) => {
                        (None, Some((message, connect)))
                    }
                };
                let wait = match reply {
                    Some(ImportReply::Ok {
                        num_records_imported,
                    }) => {
                        outcome.accepted += sub.events.len();
                        let expected = if self.profiles.is_some() {
                            record_count(&sub)
                        } else {
                            sub.events.len()
                        };
                        check_count(&mut outcome, num_records_imported, expected);
                        flow.limit.on_success();
                        break;
                    }
                    Some(ImportReply::Partial {
                        num_records_imported,
                        failed,
                        whole_batch,
                    }) => {
                        let (rejected, expected) = if self.profiles.is_some() {
                            map_engage_failures(&sub, offset, &failed, whole_batch, &mut outcome)
                        } else {
                            let rejected =
                                map_failures(&sub, offset, &failed, whole_batch, &mut outcome);
                            (rejected, sub.events.len() - rejected)
                        };
                        outcome.accepted += sub.events.len() - rejected;
                        check_count(&mut outcome, num_records_imported, expected);
                        flow.limit.on_success();
                        break;
                    }
                    Some(ImportReply::BadRequest { message }) => {
                        let message = format!("Mixpanel refused the whole request: {message}");
                        reject_all(&sub, offset, &message, &mut outcome.rejected);
                        break;
                    }
                    Some(ImportReply::TooLarge { message }) => {
                        let first_row = sub.events.first().map_or(0, |e| e.row);
                        match sub.split() {
                            Some((first, second)) => {
                                stack.push((offset + first.events.len(), second));
                                stack.push((offset, first));
                            }
                            None => outcome.rejected.push(EventProblem {
                                index: offset,
                                row: first_row,
                                field: String::new(),
                                message: format!(
                                    "the event alone is too large for Mixpanel ({message})"
                                ),
                            }),
                        }
                        break;
                    }
                    Some(ImportReply::RateLimited {
                        retry_after,
                        message,
                    }) => {
                        outcome.rate_limited += 1;
                        flow.note_rate_limited();
                        rate_limits += 1;
                        if rate_limits >= self.backoff.max_rate_limited_tries {
                            let reason =
                                format!("still rate limited after {rate_limits} tries: {message}");
                            fail_all(&sub, offset, &reason, &mut outcome.failed);
                            break;
                        }
                        self.backoff
                            .delay(rate_limits, retry_after, fastrand::f64())
                    }
                    Some(ImportReply::Retryable { status, message }) => {
                        failures += 1;
                        if failures >= self.backoff.max_tries {
                            let reason =
                                format!("gave up after {failures} tries: HTTP {status}: {message}");
                            fail_all(&sub, offset, &reason, &mut outcome.failed);
                            break;
                        }
                        self.backoff.delay(failures, None, fastrand::f64())
                    }
                    Some(ImportReply::Unauthorized { status, message }) => {
                        outcome.fatal = Some(self.refused(status, &message));
                        flow.stop();
                        outcome.unsent.extend(offset..offset + sub.events.len());
                        break;
                    }
                    Some(ImportReply::Unexpected { status, message }) => {
                        outcome.fatal = Some(Fatal::NotMixpanel { status, message });
                        flow.stop();
                        outcome.unsent.extend(offset..offset + sub.events.len());
                        break;
                    }
                    None => {
                        failures += 1;
                        let (reason, connect) = retry_reason.unwrap_or_default();
                        let delay = self.backoff.delay(failures, None, fastrand::f64());
                        if connect && let Some(since) = flow.note_unreachable() {
                            // Nothing ever answered: give up on the host after
                            // `unreachable_after`, whatever the tries left.
                            let left = self
                                .backoff
                                .unreachable_after
                                .saturating_sub(since.elapsed());
                            if left.is_zero() {
                                outcome.fatal = Some(Fatal::Unreachable {
                                    host: self.host.clone(),
                                    detail: reason,
                                    waited_secs: since.elapsed().as_secs(),
                                });
                                flow.stop();
                                outcome.unsent.extend(offset..offset + sub.events.len());
                                break;
                            }
                            delay.min(left)
                        } else {
                            if failures >= self.backoff.max_tries {
                                let reason = format!("gave up after {failures} tries: {reason}");
                                fail_all(&sub, offset, &reason, &mut outcome.failed);
                                break;
                            }
                            delay
                        }
                    }
                };
                outcome.retries += 1;
                flow.begin_wait();
                let completed = sleep_unless_stopping(wait, flow).await;
                flow.end_wait();
                if !completed {
                    outcome.unsent.extend(offset..offset + sub.events.len());
                    break;
                }
            }
        }
        outcome.unsent.sort_unstable();
        outcome
    }

    /// One POST; `Err` is a network-level failure (timeout, refused, dropped) worth retrying,
    /// or a redirect (never followed).
    async fn send(&self, body: Vec<u8>) -> Result<ImportReply, SendFailure> {
        let (user, pass) = self.credentials.basic_auth();
        let request = self
            .http
            .post(self.batch_url())
            .basic_auth(user, Some(pass))
            .header(reqwest::header::ACCEPT, "application/json");
        // `/engage` reads no gzip bodies: profiles go as a plain JSON array.
        let request = match &self.profiles {
            Some(_) => request.header(reqwest::header::CONTENT_TYPE, "application/json"),
            None => request
                .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
                .header(reqwest::header::CONTENT_ENCODING, "gzip"),
        };
        let parse = if self.profiles.is_some() {
            parse_engage_reply
        } else {
            parse_import_reply
        };
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| SendFailure::Network {
                message: describe_http_error(&e),
                connect: e.is_connect(),
            })?;
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            return Err(SendFailure::Redirected {
                status,
                location: location_of(&response),
            });
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match response.bytes().await {
            Ok(body) => body,
            // The status arrived but the body was cut off. When the status alone says what to
            // do (rate limit, server error, too large, refused), act on it; a cut-off 200 or
            // 400 leaves the events' fate unknown, so the batch is retried (harmless: insert
            // ids are deterministic and Mixpanel deduplicates).
            Err(_) if matches!(status, 401 | 403 | 408 | 413 | 429 | 500..=599) => {
                return Ok(parse(status, retry_after.as_deref(), b""));
            }
            Err(e) => {
                return Err(SendFailure::Network {
                    message: format!(
                        "the connection broke while reading the answer (HTTP {status}): {}",
                        describe_http_error(&e)
                    ),
                    connect: false,
                });
            }
        };
        Ok(parse(status, retry_after.as_deref(), &body))
    }
}

/// Why one POST did not bring an answer to act on.
enum SendFailure {
    /// No answer: refused, timed out, dropped. `connect` when no connection was made at all.
    Network { message: String, connect: bool },
    /// A 3xx answer, which is never followed.
    Redirected { status: u16, location: String },
}

/// The `Location` header of a response, in words.
fn location_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_else(|| "no Location given".to_owned())
}

/// The batch's events as gzip-compressed NDJSON, compressed fast (the body is small and the
/// client must not be the bottleneck).
pub fn gzip_ndjson(batch: &Batch) -> Vec<u8> {
    let mut encoder = GzEncoder::new(
        Vec::with_capacity(batch.bytes / 4 + 64),
        Compression::fast(),
    );
    for event in &batch.events {
        // ok to ignore: writing to a Vec cannot fail.
        let _ = encoder.write_all(&event.json);
        let _ = encoder.write_all(b"\n");
    }
    encoder.finish().unwrap_or_default()
}

fn check_count(outcome: &mut BatchOutcome, reported: Option<u64>, expected: usize) {
    if let Some(reported) = reported
        && reported != expected as u64
    {
        outcome.notes.push(format!(
            "Mixpanel reported {reported} records imported where {expected} were expected from its list of failures"
        ));
    }
}

fn reject_all(sub: &Batch, offset: usize, message: &str, into: &mut Vec<EventProblem>) {
    for (i, event) in sub.events.iter().enumerate() {
        into.push(EventProblem {
            index: offset + i,
            row: event.row,
            field: String::new(),
            message: message.to_owned(),
        });
    }
}

fn fail_all(sub: &Batch, offset: usize, reason: &str, into: &mut Vec<EventProblem>) {
    reject_all(sub, offset, reason, into);
}

/// Map a 400's failures to events of `sub`; returns how many distinct events were rejected.
fn map_failures(
    sub: &Batch,
    offset: usize,
    failed: &[FailedRecord],
    whole_batch: Option<String>,
    outcome: &mut BatchOutcome,
) -> usize {
    if let Some(message) = whole_batch {
        reject_all(sub, offset, &message, &mut outcome.rejected);
        return sub.events.len();
    }
    let mut hit = vec![false; sub.events.len()];
    let mut count = 0;
    for record in failed {
        let by_index = record.index.filter(|&i| i < sub.events.len());
        let position = match (&record.insert_id, by_index) {
            (Some(id), Some(i)) if sub.events[i].insert_id == *id => Some(i),
            (Some(id), _) => sub
                .events
                .iter()
                .position(|e| e.insert_id == *id)
                .or(by_index),
            (None, i) => i,
        };
        let Some(i) = position else {
            outcome.notes.push(format!(
                "Mixpanel reported a failure that matches no event of the batch (index {:?}, insert id {:?}): {}",
                record.index, record.insert_id, record.message
            ));
            continue;
        };
        if hit[i] {
            continue;
        }
        hit[i] = true;
        count += 1;
        outcome.rejected.push(EventProblem {
            index: offset + i,
            row: sub.events[i].row,
            field: record.field.clone().unwrap_or_default(),
            message: record.message.clone(),
        });
    }
    count
}

async fn sleep_unless_stopping(wait: Duration, flow: &Flow) -> bool {
    let slice = Duration::from_millis(50);
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if flow.is_stopping() {
            return false;
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return true;
        }
        tokio::time::sleep((deadline - now).min(slice)).await;
    }
}

/// A network error in words (never includes the URL's credentials: reqwest puts none there).
fn describe_http_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer was cut off"
    } else if e.is_request() {
        "the request failed"
    } else {
        "network error"
    };
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = format!("{detail}: {s}");
        source = s.source();
    }
    format!("{kind} ({detail})")
}

#[cfg(test)]
mod tests {
    use super::super::auth::Secret;
    use super::super::batch::BatchEvent;
    use super::super::test_server::{TestServer, ok};
    use super::*;
    use crate::pipeline::RunControl;

    fn batch(n: usize) -> Batch {
        Batch::from_events(
            (0..n)
                .map(|i| BatchEvent {
                    row: 10 + i as u64,
                    json: format!(r#"{{"event":"e","properties":{{"$insert_id":"id{i}"}}}}"#)
                        .into_bytes(),
                    insert_id: format!("id{i}"),
                })
                .collect(),
        )
    }

    fn client(base: &str, credentials: Credentials, max_tries: u32) -> MixpanelClient {
        let mut config = ClientConfig::new(Region::Eu);
        config.api_base = Some(base.to_owned());
        config.backoff = BackoffPolicy {
            max_tries,
            ..BackoffPolicy::scaled_ms(1)
        };
        config.timeout = Duration::from_secs(5);
        MixpanelClient::new(credentials, config).unwrap()
    }

    fn service_account() -> Credentials {
        Credentials::service_account("svc", Secret::new("s3cret"), "42").unwrap()
    }

    fn flow() -> Flow {
        Flow::with_cooldown(8, RunControl::new(), Duration::ZERO)
    }

    #[test]
    fn backoff_doubles_caps_and_adds_jitter() {
        let policy = BackoffPolicy::default();
        assert_eq!(policy.delay(1, None, 0.0), Duration::from_secs(3));
        assert_eq!(policy.delay(2, None, 0.0), Duration::from_secs(5));
        assert_eq!(policy.delay(3, None, 0.0), Duration::from_secs(9));
        assert_eq!(policy.delay(6, None, 0.0), Duration::from_secs(61));
        assert_eq!(policy.delay(40, None, 0.0), Duration::from_secs(61));
        assert_eq!(policy.delay(1, None, 0.5), Duration::from_secs(5));
        assert_eq!(policy.delay(1, None, 1.0), Duration::from_secs(7));
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(30)), 0.0),
            Duration::from_secs(31)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(9999)), 0.0),
            Duration::from_secs(301)
        );
        let fast = BackoffPolicy::scaled_ms(5);
        assert_eq!(fast.delay(1, None, 0.0), Duration::from_millis(5));
        assert_eq!(fast.delay(3, None, 1.0), Duration::from_millis(25));
        assert_eq!(
            fast.delay(1, Some(Duration::from_secs(10)), 0.0),
            Duration::from_millis(150)
        );
    }

    #[test]
    fn gzip_body_round_trips() {
        use std::io::Read;
        let b = batch(3);
        let mut text = String::new();
        flate2::read::GzDecoder::new(&gzip_ndjson(&b)[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text.as_bytes(), b.ndjson());
    }

    #[tokio::test]
    async fn success_sends_gzip_ndjson_with_strict_ip_and_project() {
        let server = TestServer::start(|_, r| ok(r.lines.len())).await;
        let c = client(&server.base, service_account(), 3);
        let out = c.import_batch(batch(4), &flow()).await;
        assert_eq!(out.accepted, 4);
        assert!(out.rejected.is_empty() && out.failed.is_empty() && out.unsent.is_empty());
        assert_eq!(out.requests, 1);
        let seen = server.seen();
        assert_eq!(seen[0].uri, "/import?strict=1&ip=0&project_id=42");
        assert_eq!(seen[0].content_encoding, "gzip");
        // base64("svc:s3cret")
        assert_eq!(seen[0].authorization, "Basic c3ZjOnMzY3JldA==");
        assert_eq!(seen[0].lines.len(), 4);
        assert!(seen[0].lines[3].contains("id3"));
    }

    #[tokio::test]
    async fn token_auth_has_empty_password_and_no_project_id() {
        let server = TestServer::start(|_, r| ok(r.lines.len())).await;
        let token = Credentials::project_token(Secret::new("tok")).unwrap();
        let c = client(&server.base, token, 3);
        let out = c.import_batch(batch(1), &flow()).await;
        assert_eq!(out.accepted, 1);
        let seen = server.seen();
        assert_eq!(seen[0].uri, "/import?strict=1&ip=0");
        assert_eq!(seen[0].authorization, "Basic dG9rOg==");
    }

    #[tokio::test]
    async fn partial_400_maps_failures_to_rows_and_is_not_resent() {
        let server = TestServer::start(|_, _| {
            Some((400, vec![], r#"{"code":400,"error":"some data points in the request failed validation","num_records_imported":3,"status":"Bad Request",
              "failed_records":[{"index":1,"insert_id":"id1","field":"properties.time","message":"'properties.time' is invalid: must not be in the future"},
                                {"index":99,"$insert_id":"id4","field":"properties.$insert_id","message":"bad id"}]}"#.to_owned()))
        })
        .await;
        let c = client(&server.base, service_account(), 3);
        let out = c.import_batch(batch(5), &flow()).await;
        assert_eq!(out.requests, 1, "a 400 batch is never resent");
        assert_eq!(out.accepted, 3);
        assert_eq!(out.rejected.len(), 2);
        assert_eq!(out.rejected[0].index, 1);
        assert_eq!(out.rejected[0].row, 11);
        assert_eq!(out.rejected[0].field, "properties.time");
        assert!(out.rejected[0].message.contains("future"));
        assert_eq!(out.rejected[1].index, 4, "matched by $insert_id");
        assert_eq!(out.rejected[1].row, 14);
        assert!(out.notes.is_empty(), "{:?}", out.notes);
    }

    #[tokio::test]
    async fn string_failed_records_reject_the_whole_batch_and_count_mismatch_is_noted() {
        let server = TestServer::start(|_, _| {
            Some((400, vec![], r#"{"code":400,"num_records_imported":1,"failed_records":["identity events are not allowed when project is using simplified identity management"]}"#.to_owned()))
        })
        .await;
        let c = client(&server.base, service_account(), 3);
        let out = c.import_batch(batch(3), &flow()).await;
        assert_eq!(out.accepted, 0);
        assert_eq!(out.rejected.len(), 3);
        assert!(out.rejected.iter().all(|p| p.message.contains("identity")));
        assert_eq!(out.notes.len(), 1, "1 reported vs 0 expected");
    }

    #[tokio::test]
    async fn too_large_splits_until_it_fits_and_rejects_a_lone_giant() {
        let server = TestServer::start(|_, r| {
            if r.lines.len() > 2 {
                Some((
                    413,
                    vec![],
                    "<html><head><title>413 Request Entity Too Large</title></head></html>"
                        .to_owned(),
                ))
            } else if r.lines.iter().any(|l| l.contains("id6")) {
                Some((
                    413,
                    vec![],
                    r#"{"code":413,"error":"request exceeds max limit of 2097152 bytes"}"#
                        .to_owned(),
                ))
            } else {
                ok(r.lines.len())
            }
        })
        .await;
        let c = client(&server.base, service_account(), 3);
        let out = c.import_batch(batch(8), &flow()).await;
        assert_eq!(out.accepted, 7);
        assert_eq!(out.rejected.len(), 1);
        assert_eq!(out.rejected[0].index, 6);
        assert_eq!(out.rejected[0].row, 16);
        assert!(out.rejected[0].message.contains("too large"));
        // Every event imported exactly once.
        let mut imported: Vec<String> = server
            .seen()
            .iter()
            .filter(|s| s.lines.len() <= 2 && !s.lines.iter().any(|l| l.contains("id6")))
            .flat_map(|s| s.lines.clone())
            .collect();
        imported.sort();
        imported.dedup();
        assert_eq!(imported.len(), 7);
    }

    #[tokio::test]
    async fn rate_limit_backs_off_honours_retry_after_and_lowers_concurrency() {
        let server = TestServer::start(|n, r| {
            if n < 2 {
                Some((
                    429,
                    vec![("Retry-After".into(), "0".into())],
                    r#"{"code":429,"error":"Project exceeded rate limits. Please retry the request with exponential backoff.","status":"Too Many Requests"}"#.into(),
                ))
            } else {
                ok(r.lines.len())
            }
        })
        .await;
        let c = client(&server.base, service_account(), 3);
        let f = flow();
        let out = c.import_batch(batch(2), &f).await;
        assert_eq!(out.accepted, 2);
        assert_eq!(out.rate_limited, 2);
        assert_eq!(out.retries, 2);
        assert_eq!(f.rate_limited(), 2);
        assert!(f.limit.current() < 8, "concurrency lowered");
        assert_eq!(f.retrying(), 0);
    }

    #[tokio::test]
    async fn server_errors_and_drops_are_retried_then_recorded_as_failed() {
        let server = TestServer::start(|n, r| match n {
            0 => None,
            1 => Some((
                502,
                vec![],
                "<html><body>502 Bad Gateway</body></html>".into(),
            )),
            _ => ok(r.lines.len()),
        })
        .await;
        let c = client(&server.base, service_account(), 5);
        let out = c.import_batch(batch(3), &flow()).await;
        assert_eq!(out.accepted, 3);
        assert_eq!(out.retries, 2);

        let server = TestServer::start(|_, _| Some((503, vec![], String::new()))).await;
        let c = client(&server.base, service_account(), 3);
        let out = c.import_batch(batch(3), &flow()).await;
        assert_eq!(out.accepted, 0);
        assert_eq!(out.failed.len(), 3);
        assert_eq!(out.requests, 3);
        assert!(
            out.failed[0]
                .message
                .contains("gave up after 3 tries: HTTP 503")
        );
        assert_eq!(out.failed[2].row, 12);
    }

    #[tokio::test]
    async fn a_host_that_never_answers_is_unreachable_and_nothing_is_lost() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let c = client(&base, service_account(), 50);
        let f = flow();
        let out = c.import_batch(batch(2), &f).await;
        let fatal = out.fatal.clone().expect("unreachable is fatal");
        assert!(matches!(fatal, Fatal::Unreachable { .. }), "{fatal:?}");
        assert!(
            fatal.to_string().starts_with("cannot reach 127.0.0.1:"),
            "{fatal}"
        );
        assert_eq!(out.unsent, vec![0, 1], "every event accounted for");
        assert_eq!(
            out.bytes_sent, 0,
            "nothing answered, so nothing counts as sent"
        );
        assert!(out.requests > 1 && out.requests < 50, "{}", out.requests);
        assert!(f.is_stopping());
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed() {
        let target = TestServer::start(|_, r| ok(r.lines.len())).await;
        let location = format!("{}/import", target.base);
        let redirect = location.clone();
        let server = TestServer::start(move |_, _| {
            Some((
                307,
                vec![("Location".into(), redirect.clone())],
                String::new(),
            ))
        })
        .await;
        let c = client(&server.base, service_account(), 3);
        let out = c.import_batch(batch(2), &flow()).await;
        let fatal = out.fatal.expect("a redirect is fatal");
        assert!(fatal.to_string().contains(&location), "{fatal}");
        assert_eq!(out.accepted, 0);
        assert_eq!(out.unsent, vec![0, 1]);
        assert!(target.seen().is_empty(), "the redirect was followed");
    }

    #[test]
    fn proxies_apply_to_https_hosts_only() {
        let mut config = ClientConfig::new(Region::Us);
        config.https_proxy = Some("not a url at all".into());
        let err = MixpanelClient::new(service_account(), config.clone()).unwrap_err();
        assert!(matches!(err, ClientError::Proxy(_)), "{err}");
        // A loopback base never looks at the proxy, so even a broken one does not matter.
        config.api_base = Some("http://127.0.0.1:9".into());
        MixpanelClient::new(service_account(), config).unwrap();
    }

    #[tokio::test]
    async fn unauthorized_is_fatal_and_names_region_project_and_kind() {
        let server = TestServer::start(|_, _| {
            Some((
                401,
                vec![],
                r#"{"code": 401, "error": "Invalid credentials", "status": "Unauthorized"}"#.into(),
            ))
        })
        .await;
        let c = client(&server.base, service_account(), 3);
        let f = flow();
        let out = c.import_batch(batch(3), &f).await;
        let fatal = out.fatal.unwrap().to_string();
        assert!(fatal.contains("EU"), "{fatal}");
        assert!(fatal.contains("project 42"), "{fatal}");
        assert!(fatal.contains("service account 'svc'"), "{fatal}");
        assert!(fatal.contains("Invalid credentials"), "{fatal}");
        assert!(!fatal.contains("s3cret"));
        assert_eq!(out.unsent, vec![0, 1, 2]);
        assert!(f.is_stopping());
        assert_eq!(server.seen().len(), 1);
    }

    #[tokio::test]
    async fn cancel_during_backoff_leaves_events_unsent() {
        let server = TestServer::start(|_, _| Some((503, vec![], String::new()))).await;
        let mut config = ClientConfig::new(Region::Us);
        config.api_base = Some(server.base.clone());
        config.backoff = BackoffPolicy::scaled_ms(10_000);
        let c = MixpanelClient::new(service_account(), config).unwrap();
        let control = RunControl::new();
        let f = Flow::new(2, control.clone());
        let task = tokio::spawn(async move { c.import_batch(batch(2), &f).await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        control.cancel();
        let out = tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(out.unsent, vec![0, 1]);
        assert!(out.failed.is_empty());
    }

    #[tokio::test]
    async fn connection_check_in_plain_words() {
        let server = TestServer::start(|_, r| {
            if r.authorization == "Basic c3ZjOnMzY3JldA==" {
                Some((200, vec![], r#"{"status":"ok","results":{"user_email":"svc","projects":{"42":{"name":"Demo"}}}}"#.into()))
            } else {
                Some((401, vec![], r#"{"code":401,"error":"Invalid credentials","status":"Unauthorized"}"#.into()))
            }
        })
        .await;
        let check = client(&server.base, service_account(), 3)
            .check_connection()
            .await;
        assert_eq!(check.status, ConnectionStatus::Verified, "{}", check.detail);
        assert_eq!(check.project_name.as_deref(), Some("Demo"));
        assert_eq!(server.seen()[0].uri, "/api/app/me");

        let other = Credentials::service_account("svc", Secret::new("s3cret"), "7").unwrap();
        let check = client(&server.base, other, 3).check_connection().await;
        assert_eq!(check.status, ConnectionStatus::ProjectNotVisible);

        let wrong = Credentials::service_account("svc", Secret::new("nope"), "42").unwrap();
        let check = client(&server.base, wrong, 3).check_connection().await;
        assert_eq!(check.status, ConnectionStatus::Refused);
        assert!(check.detail.contains("Invalid credentials"));

        let token = Credentials::project_token(Secret::new("t")).unwrap();
        let check = client(&server.base, token, 3).check_connection().await;
        assert_eq!(check.status, ConnectionStatus::NotCheckable);
    }

    #[test]
    fn remote_plain_http_is_refused() {
        let mut config = ClientConfig::new(Region::Us);
        config.api_base = Some("http://example.com".into());
        let err = MixpanelClient::new(service_account(), config).unwrap_err();
        assert!(err.to_string().contains("only allowed to this machine"));
    }

    #[tokio::test]
    async fn connection_check_tells_a_server_that_is_not_mixpanel_from_a_busy_one() {
        let server = TestServer::start(|_, _| {
            Some((404, vec![], "<html><title>Not Found</title></html>".into()))
        })
        .await;
        let check = client(&server.base, service_account(), 3)
            .check_connection()
            .await;
        assert_eq!(check.status, ConnectionStatus::NotMixpanel, "{check:?}");

        let busy = TestServer::start(|_, _| Some((503, vec![], String::new()))).await;
        let check = client(&busy.base, service_account(), 3)
            .check_connection()
            .await;
        assert_eq!(check.status, ConnectionStatus::ServerTrouble, "{check:?}");

        let html_ok = TestServer::start(|_, _| Some((200, vec![], "<html>hi</html>".into()))).await;
        let check = client(&html_ok.base, service_account(), 3)
            .check_connection()
            .await;
        assert_eq!(check.status, ConnectionStatus::NotMixpanel, "{check:?}");

        // Nothing listens on this port.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let check = client(&base, service_account(), 3).check_connection().await;
        assert_eq!(check.status, ConnectionStatus::Unreachable, "{check:?}");
    }
}
