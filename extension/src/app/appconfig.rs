//! AppConfig configurations: a new kind of value beside parameters and secrets, with its own
//! freshness rules because AppConfig Data has its own protocol (SPEC, "AppConfig: one cache for
//! all configuration").
//!
//! Each profile (application, environment, profile) holds one session's token chain and the
//! last configuration received. A read is answered from memory while the profile was polled
//! less than the poll interval ago (or AppConfig's own `Next-Poll-Interval`, whichever is
//! longer), decided at request time: a frozen process runs no timer. Otherwise the read starts a
//! poll, or joins the one in flight (one poll per profile, however many readers: Managed
//! Instances' concurrency), and waits for it at most the poll timeout; then it answers with the
//! last configuration while the poll completes in the background, or 504 when there is none yet.
//!
//! A poll follows the chain: `GetLatestConfiguration` with the held token; an empty body means
//! unchanged. A token AppConfig refuses as `Expired` or `Corrupted` starts a new session and the
//! poll is tried once more (the reader never sees it); `PollIntervalNotSatisfied` keeps the last
//! configuration and waits. A restore drops every token (copies of one snapshot must not spend
//! the same token), so each profile starts a new session; restored configurations are stale,
//! never fresh. Configuration content and tokens never reach a log line.

mod flags;

pub use flags::{flag_value, is_flag_key, select_flags};

use crate::cache::{Outcome, GIVE_UP_AFTER};
use crate::config::{AppConfigSettings, ProfileId};
use crate::error::AppError;
use crate::model::{PollError, ProfileRequest, Service, Target, TokenProblem};
use crate::stats::{AppConfigReport, Counter, Stats};
use crate::timeline::{self, Moment};
use crate::upstream::Upstream;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;
use tokio::sync::watch;

const CONFIGURATION_VERSION: HeaderName = HeaderName::from_static("configurationversion");
const CONFIGURATION_VERSION_DASHED: HeaderName = HeaderName::from_static("configuration-version");
const VERSION_LABEL: HeaderName = HeaderName::from_static("version-label");
const X_CACHE: HeaderName = HeaderName::from_static("x-cache");
/// AppConfig Data refuses a `RequiredMinimumPollIntervalInSeconds` below this.
const MIN_REQUIRED_POLL_INTERVAL: Duration = Duration::from_secs(15);

/// One received configuration, as served.
#[derive(Debug)]
pub struct Configuration {
    pub content: Bytes,
    pub content_type: HeaderValue,
    pub version_label: Option<String>,
    /// sidecache's own per-profile counter (AppConfig Data gives none), raised whenever the
    /// content changes.
    pub version: u64,
    /// The agent's answer headers (`Content-Type`, `Version-Label`, `ConfigurationVersion`,
    /// `Configuration-Version`, and `X-Cache` and `Age` to set), made once.
    pub headers: HeaderMap,
    /// The feature flags in `content`, read on the first `?flag=` (`flags.rs`).
    flags: OnceLock<Result<flags::Flags, flags::FlagsError>>,
}

impl Configuration {
    pub(crate) fn new(
        content: Bytes,
        content_type: Option<String>,
        version_label: Option<String>,
        version: u64,
    ) -> Self {
        let content_type = content_type
            .and_then(|t| HeaderValue::from_str(&t).ok())
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        let mut headers = HeaderMap::with_capacity(6);
        headers.insert(axum::http::header::CONTENT_TYPE, content_type.clone());
        if let Some(label) = version_label
            .as_deref()
            .and_then(|l| HeaderValue::from_str(l).ok())
        {
            headers.insert(VERSION_LABEL, label);
        }
        headers.insert(CONFIGURATION_VERSION, HeaderValue::from(version));
        headers.insert(CONFIGURATION_VERSION_DASHED, HeaderValue::from(version));
        // Set in place for each answer (routes/appconfig.rs).
        headers.insert(X_CACHE, HeaderValue::from_static("hit"));
        headers.insert(axum::http::header::AGE, HeaderValue::from_static("0"));
        Configuration {
            content,
            content_type,
            version_label,
            version,
            headers,
            flags: OnceLock::new(),
        }
    }
}

/// What a poll left for its readers.
type Polled = Result<Arc<Configuration>, AppError>;

struct Profile {
    id: ProfileId,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The next token of the chain; `None`: the next poll starts a session.
    token: Option<String>,
    current: Option<Arc<Configuration>>,
    /// When the last poll answered (a configuration, unchanged, or "too soon").
    polled_at: Option<Moment>,
    /// AppConfig's `Next-Poll-Interval-In-Seconds` from that answer.
    next_interval: Duration,
    /// The poll in flight, which readers join.
    flight: Option<watch::Receiver<Option<Polled>>>,
    version: u64,
}

#[derive(Default)]
struct Counters {
    hits: Counter,
    polls: Counter,
    sessions: Counter,
    served_stale: Counter,
}

pub struct AppConfigService {
    settings: AppConfigSettings,
    target: Target,
    upstream: Arc<dyn Upstream>,
    stats: Arc<Stats>,
    /// Few (a function reads a handful of profiles): found by a scan that allocates nothing.
    profiles: RwLock<Vec<Arc<Profile>>>,
    counters: Counters,
}

impl AppConfigService {
    pub fn new(
        settings: AppConfigSettings,
        upstream: Arc<dyn Upstream>,
        stats: Arc<Stats>,
    ) -> Self {
        let target = Target {
            region: settings.region.clone(),
            role_arn: settings.role.as_ref().map(|r| r.arn.clone()),
        };
        AppConfigService {
            settings,
            target,
            upstream,
            stats,
            profiles: RwLock::new(Vec::new()),
            counters: Counters::default(),
        }
    }

    /// A fresh configuration, without waiting: `None` when a poll is due, or nothing is held.
    pub fn cached(&self, id: ProfileRef) -> Option<(Arc<Configuration>, Duration)> {
        let profile = self.find(id)?;
        let state = profile.state.lock().expect("profile lock");
        let now = timeline::now();
        let (configuration, age) = self.fresh(&state, now)?;
        self.counters.hits.incr();
        Some((configuration, age))
    }

    /// The configuration: from memory while fresh, else after a poll (one per profile), waited
    /// for at most the poll timeout. The outcome and the configuration's age for `X-Cache` and
    /// `Age`.
    pub async fn get(
        self: &Arc<Self>,
        id: ProfileRef<'_>,
    ) -> Result<(Arc<Configuration>, Outcome, Duration), AppError> {
        let profile = self.profile(id)?;
        let (mut flight, held) = {
            let mut state = profile.state.lock().expect("profile lock");
            if let Some((configuration, age)) = self.fresh(&state, timeline::now()) {
                self.counters.hits.incr();
                return Ok((configuration, Outcome::Hit, age));
            }
            let flight = match &state.flight {
                Some(flight) => flight.clone(),
                None => {
                    let (done, flight) = watch::channel(None);
                    state.flight = Some(flight.clone());
                    let (service, profile) = (self.clone(), profile.clone());
                    tokio::spawn(async move {
                        // Bounded: a poll frozen mid-call (Lambda froze the process) must not
                        // hold every later reader of the profile.
                        let polled = tokio::time::timeout(GIVE_UP_AFTER, service.poll(&profile))
                            .await
                            .unwrap_or_else(|_| {
                                Err(AppError::Upstream {
                                    status: axum::http::StatusCode::GATEWAY_TIMEOUT,
                                    code: "UpstreamTimeout".into(),
                                    message: "AppConfig did not answer the poll within 30 s".into(),
                                    transient: true,
                                })
                            });
                        profile.state.lock().expect("profile lock").flight = None;
                        done.send_replace(Some(polled));
                    });
                    flight
                }
            };
            (flight, state.current.clone())
        };
        let waited =
            tokio::time::timeout(self.settings.poll_timeout, flight.wait_for(Option::is_some))
                .await;
        let polled = match waited {
            Ok(Ok(polled)) => polled.clone().expect("waited for a result"),
            // The sender is gone only if the poll task panicked.
            Ok(Err(_)) => Err(AppError::Storage("the AppConfig poll ended without an answer".into())),
            Err(_) => Err(AppError::Upstream {
                status: axum::http::StatusCode::GATEWAY_TIMEOUT,
                code: "UpstreamTimeout".into(),
                message: format!(
                    "AppConfig did not answer within the poll timeout ({} ms); the poll goes on in the background",
                    self.settings.poll_timeout.as_millis()
                ),
                transient: true,
            }),
        };
        match (polled, held) {
            (Ok(configuration), held) => {
                let outcome = if held.is_some() {
                    Outcome::Refresh
                } else {
                    Outcome::Miss
                };
                Ok((configuration, outcome, Duration::ZERO))
            }
            // AppConfig unreachable or slow: the last good configuration.
            (Err(error), Some(held)) if error.may_serve_stale() => {
                self.counters.served_stale.incr();
                let age = profile
                    .state
                    .lock()
                    .expect("profile lock")
                    .polled_at
                    .map_or(Duration::ZERO, |at| timeline::now().since(at));
                Ok((held, Outcome::Stale, age))
            }
            (Err(error), _) => Err(error),
        }
    }

    /// Fetches the listed profiles in the background (the agent's prefetch list).
    pub fn prefetch(self: &Arc<Self>, ids: &[ProfileId]) {
        for id in ids {
            let (service, id) = (self.clone(), id.clone());
            tokio::spawn(async move {
                let reference = ProfileRef {
                    application: &id.application,
                    environment: &id.environment,
                    profile: &id.profile,
                };
                if let Err(error) = service.get(reference).await {
                    tracing::warn!(
                        application = %id.application,
                        environment = %id.environment,
                        profile = %id.profile,
                        %error,
                        "AppConfig prefetch failed"
                    );
                }
            });
        }
    }

    /// After a SnapStart restore: every profile starts a new session at its next poll, and
    /// what it holds is stale (its poll time is from before the restore).
    pub fn restored(&self) {
        for profile in self.profiles.read().expect("profiles lock").iter() {
            let mut state = profile.state.lock().expect("profile lock");
            state.token = None;
            state.polled_at = None;
        }
    }

    pub fn report(&self) -> AppConfigReport {
        AppConfigReport {
            profiles: self.profiles.read().expect("profiles lock").len(),
            hits: self.counters.hits.get(),
            polls: self.counters.polls.get(),
            sessions: self.counters.sessions.get(),
            served_stale: self.counters.served_stale.get(),
            poll_interval_seconds: self.settings.poll_interval.as_secs(),
            poll_timeout_ms: self.settings.poll_timeout.as_millis() as u64,
        }
    }

    /// The configuration held, while fresh at `now`, and its age.
    fn fresh(&self, state: &State, now: Moment) -> Option<(Arc<Configuration>, Duration)> {
        let configuration = state.current.as_ref()?;
        let polled_at = state.polled_at?;
        if !now.same_epoch(polled_at) {
            return None;
        }
        let age = now.since(polled_at);
        (age < self.settings.poll_interval.max(state.next_interval))
            .then(|| (configuration.clone(), age))
    }

    fn find(&self, id: ProfileRef) -> Option<Arc<Profile>> {
        self.profiles
            .read()
            .expect("profiles lock")
            .iter()
            .find(|p| id.names(&p.id))
            .cloned()
    }

    /// The profile, added on its first read (identifiers checked as AppConfig checks them).
    fn profile(&self, id: ProfileRef) -> Result<Arc<Profile>, AppError> {
        if let Some(profile) = self.find(id) {
            return Ok(profile);
        }
        id.check()?;
        let mut profiles = self.profiles.write().expect("profiles lock");
        if let Some(profile) = profiles.iter().find(|p| id.names(&p.id)) {
            return Ok(profile.clone());
        }
        let profile = Arc::new(Profile {
            id: id.owned(),
            state: Mutex::new(State::default()),
        });
        profiles.push(profile.clone());
        Ok(profile)
    }

    /// One poll along the token chain, with one new session when AppConfig refuses the token.
    async fn poll(&self, profile: &Profile) -> Polled {
        let request = ProfileRequest {
            application: profile.id.application.clone(),
            environment: profile.id.environment.clone(),
            profile: profile.id.profile.clone(),
            target: self.target.clone(),
        };
        let mut retried = false;
        loop {
            let held = profile.state.lock().expect("profile lock").token.take();
            // A session's first poll always carries the whole configuration (the session is a
            // new client, it holds no version yet), so there an empty answer is the
            // configuration itself; later in the chain it means "unchanged".
            let first_of_session = held.is_none();
            let token = match held {
                Some(token) => token,
                None => self.start_session(&request).await?,
            };
            self.counters.polls.incr();
            let counters = self.stats.upstream(Service::AppConfig);
            counters.calls.incr();
            match self
                .upstream
                .get_latest_configuration(&request, &token)
                .await
            {
                Ok(latest) => {
                    let mut state = profile.state.lock().expect("profile lock");
                    state.token = Some(latest.next_token);
                    state.next_interval = latest.next_poll_interval.unwrap_or_default();
                    state.polled_at = Some(timeline::now());
                    let changed = (first_of_session || !latest.content.is_empty())
                        && state.current.as_ref().is_none_or(|c| {
                            c.content != latest.content || c.version_label != latest.version_label
                        });
                    if changed {
                        state.version += 1;
                        state.current = Some(Arc::new(Configuration::new(
                            latest.content,
                            latest.content_type,
                            latest.version_label,
                            state.version,
                        )));
                    }
                    return state.current.clone().ok_or_else(|| AppError::Upstream {
                        status: axum::http::StatusCode::BAD_GATEWAY,
                        code: "UpstreamError".into(),
                        message:
                            "AppConfig answered the first poll of a session with no configuration"
                                .into(),
                        transient: true,
                    });
                }
                Err(PollError::Token(TokenProblem::Expired | TokenProblem::Corrupted))
                    if !retried =>
                {
                    // A new session, and the poll once more; the reader never sees it.
                    tracing::info!(
                        application = %request.application,
                        environment = %request.environment,
                        profile = %request.profile,
                        "AppConfig refused the session's token; starting a new session"
                    );
                    retried = true;
                }
                Err(PollError::Token(TokenProblem::PollIntervalNotSatisfied)) => {
                    let mut state = profile.state.lock().expect("profile lock");
                    state.token = Some(token);
                    state.polled_at = Some(timeline::now());
                    return state.current.clone().ok_or_else(|| AppError::Upstream {
                        status: axum::http::StatusCode::BAD_GATEWAY,
                        code: "PollIntervalNotSatisfied".into(),
                        message: "AppConfig asked for a longer poll interval before the first configuration".into(),
                        transient: true,
                    });
                }
                Err(PollError::Token(problem)) => {
                    counters.errors.incr();
                    return Err(AppError::Upstream {
                        status: axum::http::StatusCode::BAD_GATEWAY,
                        code: "BadRequestException".into(),
                        message: format!(
                            "AppConfig refused a new session's token too ({problem:?})"
                        ),
                        transient: true,
                    });
                }
                Err(PollError::Upstream(error)) => {
                    counters.errors.incr();
                    // The token may not have been spent: keep it; a spent one is refused as
                    // Corrupted next time, which starts a new session.
                    profile.state.lock().expect("profile lock").token = Some(token);
                    tracing::debug!(error = %error.message, "AppConfig poll failed");
                    return Err(crate::error::classify(&error));
                }
            }
        }
    }

    async fn start_session(&self, request: &ProfileRequest) -> Result<String, AppError> {
        self.counters.sessions.incr();
        let counters = self.stats.upstream(Service::AppConfig);
        counters.calls.incr();
        let min_interval = (self.settings.poll_interval >= MIN_REQUIRED_POLL_INTERVAL)
            .then(|| self.settings.poll_interval.as_secs().min(86_400) as i32);
        self.upstream
            .start_configuration_session(request, min_interval)
            .await
            .map_err(|error| {
                counters.errors.incr();
                crate::error::classify(&error)
            })
    }
}

/// A profile named by a request: application, environment and profile (names or ids).
#[derive(Debug, Clone, Copy)]
pub struct ProfileRef<'a> {
    pub application: &'a str,
    pub environment: &'a str,
    pub profile: &'a str,
}

impl ProfileRef<'_> {
    fn names(&self, id: &ProfileId) -> bool {
        self.application == id.application
            && self.environment == id.environment
            && self.profile == id.profile
    }

    fn owned(&self) -> ProfileId {
        ProfileId {
            application: self.application.to_owned(),
            environment: self.environment.to_owned(),
            profile: self.profile.to_owned(),
        }
    }

    /// AppConfig's limits: 1 to 128 characters each (64 for application and environment names
    /// in the console; the API takes ids up to 128).
    fn check(&self) -> Result<(), AppError> {
        for (name, value) in [
            ("application", self.application),
            ("environment", self.environment),
            ("configuration", self.profile),
        ] {
            if value.is_empty() || value.chars().count() > 128 {
                return Err(AppError::invalid(name, "expected 1 to 128 characters"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
