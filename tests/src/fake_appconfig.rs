//! A fake of AWS AppConfig Data (API 2021-11-11, restJson1, SigV4 signing name `appconfig`),
//! the data plane that serves deployed configurations. moto has no `appconfigdata`, so the e2e
//! tests point the sidecar at this fake with `AWS_ENDPOINT_URL_APPCONFIGDATA` (the service id
//! `AppConfigData` upper-cased, as the SDKs build service-specific endpoint variables).
//!
//! Built from botocore's service model (`botocore/data/appconfigdata/2021-11-11/service-2.json`)
//! and the API reference:
//! https://docs.aws.amazon.com/appconfig/2019-10-09/APIReference/API_Operations_AWS_AppConfig_Data.html
//!
//! - `StartConfigurationSession`: `POST /configurationsessions`, JSON body
//!   `{ApplicationIdentifier, EnvironmentIdentifier, ConfigurationProfileIdentifier,
//!   RequiredMinimumPollIntervalInSeconds?}` (identifiers: 1-128 characters, a name or an id;
//!   the interval 15-86400), answered **201** `{"InitialConfigurationToken": "..."}`.
//! - `GetLatestConfiguration`: `GET /configuration?configuration_token=T`, answered 200 with the
//!   headers `Next-Poll-Configuration-Token`, `Next-Poll-Interval-In-Seconds`, `Content-Type`,
//!   `Version-Label` (only when the deployed version has a label) and the configuration as the
//!   body, **empty when the token's session already received this deployment**.
//! - Errors as restJson1 sends them: the status, `x-amzn-ErrorType: <Shape>` and a JSON body of
//!   the shape's members without `__type` (`BadRequestException` 400 `{Message, Reason,
//!   Details}`, `ResourceNotFoundException` 404 `{Message, ResourceType, ReferencedBy}`,
//!   `ThrottlingException` 429 and `InternalServerException` 500 `{Message}`). botocore and the
//!   SDK for Rust both take the code from `x-amzn-ErrorType` and the members from the body.
//!
//! Tokens work as the documentation describes them: each one is good for one call, for 24 hours
//! (configurable), and carries the state of its session: the deployment the client last
//! received, and when it may poll again. Like the real ones (KMS-encrypted blobs, `AYADe...`),
//! they are base64 and always contain `+` and `/`: a client that does not percent-encode the
//! query string loses them (the fake records that as a violation).
//!
//! Where the model and the documentation are silent, the choices are the fake's own:
//! - a token used twice is refused (`Corrupted`) by default, though AWS was seen to accept it
//!   (`TokenReuse`); only sessions that set a minimum interval are held to it by default
//!   (`PollIntervalCheck`); no refused or failed request spends its token;
//! - an unchanged answer is 200 (the model's `responseCode`; no 204), with an empty body,
//!   `Content-Type: application/octet-stream` (the restJson1 default for a blob payload, as
//!   there is no configuration to describe) and no `Version-Label`;
//! - every deployment is a change, even of the same content;
//! - a session can start for a profile with nothing deployed to the environment; its polls get
//!   404 `ResourceNotFoundException` `Deployment` until something is; a deleted profile's get
//!   404 `ConfigurationProfile`;
//! - input the model forbids gets 400 `BadRequestException` with only a `Message`, worded as
//!   AWS words validation errors (`InvalidParameterProblem` has no member for it); an unsigned
//!   request gets 403 `MissingAuthenticationTokenException`, a wrongly scoped one 403
//!   `InvalidSignatureException`;
//! - every `Message` is the fake's own wording: clients must not depend on it.
//!
//! Client mistakes (an unsigned request, a token never issued or used twice, input the model
//! forbids, an unknown route) are recorded as violations the tests assert to be empty, as
//! `fake_lambda` does; service-side conditions a correct client must handle (an expired token,
//! a poll refused as too early, injected failures) are not violations.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::util::{epoch_millis, poll_until};

/// The environment variable that points an SDK's AppConfig Data client at an endpoint
/// (aws-sdk-appconfigdata: service id `AppConfigData`, upper-cased by `aws-runtime`).
pub const ENDPOINT_ENV: &str = "AWS_ENDPOINT_URL_APPCONFIGDATA";
/// The SigV4 signing name (the model's `signingName`; the endpoint prefix is `appconfigdata`).
pub const SIGNING_NAME: &str = "appconfig";
/// `Next-Poll-Interval-In-Seconds` for a session that set no minimum (AWS's default, 60 s).
pub const DEFAULT_POLL_INTERVAL_SECS: u32 = 60;
/// How long a token stays valid in AWS ("valid for up to 24 hours").
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// `Content-Type` of an answer without configuration (see `get_latest_configuration`).
pub const UNCHANGED_CONTENT_TYPE: &str = "application/octet-stream";

const START_PATH: &str = "/configurationsessions";
const GET_PATH: &str = "/configuration";
const IDENTIFIER_MAX: usize = 128;
const POLL_MIN: i64 = 15;
const POLL_MAX: i64 = 86_400;

/// The two operations of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    StartConfigurationSession,
    GetLatestConfiguration,
}

/// An injected failure (`fail_next`): the request is answered with this error instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// 500 `InternalServerException`.
    Internal,
    /// 429 `ThrottlingException`.
    Throttle,
}

/// Which polls are refused as too early (400 `BadRequestException`, `Problem`
/// `PollIntervalNotSatisfied`), counting from when the token polled with was handed out. A
/// session's first poll (its initial token) is never too early. A refused poll does not spend
/// its token: it works once the interval has passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollIntervalCheck {
    /// No poll is too early.
    Off,
    /// Only sessions that set `RequiredMinimumPollIntervalInSeconds`, by that interval: what the
    /// model documents ("If provided, the service will throw a BadRequestException if the client
    /// polls before the specified poll interval. By default, client poll intervals are not
    /// enforced"). The default.
    Required,
    /// Every session, by the `Next-Poll-Interval-In-Seconds` handed out with the token it polls
    /// with. Powertools saw AWS refuse ("Request Too Early") a poll 5 s after one answered with
    /// the default 60 s interval (aws-powertools/powertools-lambda-python#1506), so AWS may
    /// enforce the handed-out interval too.
    HandedOut,
}

/// What a token used a second time gets. The documentation says each token "is only valid for
/// one call" and "must" be replaced by the next one, but Powertools observed AWS answering a
/// reused initial token again with the configuration (powertools-lambda-python#1506: "A risky
/// workaround is calling GetLatestConfiguration(TokenA) more than once").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenReuse {
    /// The documented contract (the default): 400 `BadRequestException`, `Problem` `Corrupted`
    /// (the enum's closest member: the token no longer describes the session), and a violation.
    Refuse,
    /// What AWS was seen doing: the token answers as it would have the first time (relative to
    /// the deployment its session had then received), with a new next token.
    Allow,
}

/// The ids the fake assigned to an application, one of its environments and one of its
/// configuration profiles (7 lowercase alphanumerics each, as AWS's look).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ids {
    pub application: String,
    pub environment: String,
    pub profile: String,
}

/// One configuration session, as `StartConfigurationSession` created it.
#[derive(Clone, Debug)]
pub struct Session {
    /// The names of what the session tracks (whatever identifiers it was started with).
    pub application: String,
    pub environment: String,
    pub profile: String,
    /// The identifiers as the client sent them (names or ids): application, environment, profile.
    pub identifiers: [String; 3],
    /// `RequiredMinimumPollIntervalInSeconds`, if the client sent one.
    pub required_minimum_poll_interval: Option<u32>,
    /// Polls answered 200 for this session.
    pub polls: usize,
    /// Of those, the ones that carried configuration (a non-empty body).
    pub deliveries: usize,
}

/// One request, as it arrived and how it was answered.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// None for a request that is not one of the API's operations.
    pub operation: Option<Operation>,
    pub method: String,
    /// Path and query as sent (so still percent-encoded).
    pub uri: String,
    pub body: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The region of the SigV4 credential scope, when the request was signed.
    pub region: Option<String>,
    /// The answer's status; None while the request is in flight, or if the client gave up
    /// before the answer (the fake then did not carry the request out).
    pub status: Option<u16>,
    /// The answer's error: `x-amzn-ErrorType`, followed by `/Problem` for a token problem
    /// (`BadRequestException/Expired`) or `/ResourceType` for a missing resource.
    pub error: Option<String>,
}

struct Deployment {
    /// Global deployment number: what a token records as "received".
    seq: u64,
    content: Bytes,
    content_type: String,
    version_label: Option<String>,
}

struct Named {
    id: String,
    name: String,
}

struct Profile {
    id: String,
    name: String,
    deleted: bool,
}

struct App {
    id: String,
    name: String,
    envs: Vec<Named>,
    profiles: Vec<Profile>,
}

struct SessionState {
    app: String,
    env: String,
    profile: String,
    identifiers: [String; 3],
    required: Option<u32>,
    polls: usize,
    deliveries: usize,
}

struct TokenState {
    session: usize,
    issued: Instant,
    /// The `expire_tokens` epoch at issue: an older epoch than the current one is expired.
    epoch: u64,
    used: bool,
    /// The deployment the session had received when this token was handed out.
    delivered: Option<u64>,
    /// Handed out by `StartConfigurationSession`: never too early.
    initial: bool,
    /// The `Next-Poll-Interval-In-Seconds` handed out with the token (0 for an initial one).
    interval: u32,
}

struct Failures {
    remaining: usize,
    failure: Failure,
    only: Option<Operation>,
}

struct Data {
    apps: Vec<App>,
    /// Latest deployment per (application id, environment id, profile id).
    deployments: HashMap<(String, String, String), Deployment>,
    sessions: Vec<SessionState>,
    tokens: HashMap<String, TokenState>,
    /// Tokens forgotten by `revoke_tokens` (answered `Corrupted`, without a violation).
    revoked: HashSet<String>,
    epoch: u64,
    token_lifetime: Duration,
    poll_interval_override: Option<u32>,
    poll_check: PollIntervalCheck,
    token_reuse: TokenReuse,
    latency: Duration,
    failures: Option<Failures>,
    log: Vec<RecordedRequest>,
    violations: Vec<String>,
    calls: HashMap<Operation, usize>,
    /// Requests whose client left during the latency (not carried out).
    abandoned: usize,
    next_seq: u64,
}

struct Inner {
    data: Mutex<Data>,
    counter: AtomicU64,
    /// Makes this fake's tokens and ids unlike another fake's in the same process.
    seed: String,
}

impl Inner {
    fn data(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data.lock().unwrap()
    }

    fn violation(&self, what: String) {
        self.data().violations.push(what);
    }

    fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    fn digest(&self, what: &str) -> [u8; 32] {
        let n = self.next();
        Sha256::digest(format!("{}/{what}/{n}", self.seed)).into()
    }

    /// An opaque token in the standard base64 alphabet, always with `+`, `/` and `=`.
    fn new_token(&self) -> String {
        let mut raw = vec![0xfb, 0xff, 0xbf]; // "+/+/"
        raw.extend_from_slice(&self.digest("token"));
        raw.extend_from_slice(&self.digest("token"));
        raw.push(0); // 68 bytes: one `=` of padding
        format!(
            "AYADe{}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    /// A 7-character id of lowercase letters and digits, like AWS's (`abc1234`).
    fn new_id(&self, data: &Data) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        loop {
            let id: String = self.digest("id")[..7]
                .iter()
                .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
                .collect();
            let taken = data.apps.iter().any(|a| {
                a.id == id
                    || a.envs.iter().any(|e| e.id == id)
                    || a.profiles.iter().any(|p| p.id == id)
            });
            if !taken {
                return id;
            }
        }
    }

    fn request_id(&self) -> String {
        let n = self.next();
        let t = epoch_millis();
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            t & 0xffff_ffff,
            (t >> 32) & 0xffff,
            n & 0xfff,
            std::process::id() & 0xfff,
            n
        )
    }
}

struct Listening {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// A running fake; it stops listening when dropped.
pub struct FakeAppConfig {
    addr: SocketAddr,
    inner: Arc<Inner>,
    listening: Mutex<Option<Listening>>,
    /// Server tasks of earlier listening periods, aborted on drop.
    old_tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl FakeAppConfig {
    /// Starts the fake on a free loopback port, with nothing deployed.
    pub async fn start() -> Self {
        let seed = format!("{}-{:x}", std::process::id(), epoch_millis());
        let inner = Arc::new(Inner {
            data: Mutex::new(Data {
                apps: Vec::new(),
                deployments: HashMap::new(),
                sessions: Vec::new(),
                tokens: HashMap::new(),
                revoked: HashSet::new(),
                epoch: 0,
                token_lifetime: DEFAULT_TOKEN_LIFETIME,
                poll_interval_override: None,
                poll_check: PollIntervalCheck::Required,
                token_reuse: TokenReuse::Refuse,
                latency: Duration::ZERO,
                failures: None,
                log: Vec::new(),
                violations: Vec::new(),
                calls: HashMap::new(),
                abandoned: 0,
                next_seq: 1,
            }),
            counter: AtomicU64::new(0),
            seed,
        });
        let (addr, listening) = listen(inner.clone(), 0)
            .await
            .expect("bind the fake AppConfig Data");
        FakeAppConfig {
            addr,
            inner,
            listening: Mutex::new(Some(listening)),
            old_tasks: Mutex::default(),
        }
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`: the value for `ENDPOINT_ENV`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// (`AWS_ENDPOINT_URL_APPCONFIGDATA`, `url()`), to pass to a process's environment.
    pub fn endpoint_env(&self) -> (&'static str, String) {
        (ENDPOINT_ENV, self.url())
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    // ----- configuration content ---------------------------------------------------------

    /// Creates the application, environment and profile (by name) where they do not exist yet,
    /// without deploying anything: a session can then start, and its polls get 404 until a
    /// deployment. Returns their ids.
    pub fn create(&self, app: &str, env: &str, profile: &str) -> Ids {
        let mut data = self.inner.data();
        self.ensure(&mut data, app, env, profile)
    }

    /// A new deployment of `content` (typed `content_type`, labelled `version_label`) of the
    /// profile to the environment, creating any of the three that does not exist yet (by name).
    /// It completes at once: every session sees it on its next poll, even when the content is
    /// the same as before (a new deployment is a change). Returns the ids.
    pub fn deploy(
        &self,
        app: &str,
        env: &str,
        profile: &str,
        content: impl Into<Bytes>,
        content_type: &str,
        version_label: Option<&str>,
    ) -> Ids {
        let mut data = self.inner.data();
        let ids = self.ensure(&mut data, app, env, profile);
        let seq = data.next_seq;
        data.next_seq += 1;
        data.deployments.insert(
            (
                ids.application.clone(),
                ids.environment.clone(),
                ids.profile.clone(),
            ),
            Deployment {
                seq,
                content: content.into(),
                content_type: content_type.to_owned(),
                version_label: version_label.map(str::to_owned),
            },
        );
        ids
    }

    /// Deletes a configuration profile of an application (name or id): sessions can no longer
    /// start for it, and polls of existing sessions get 404 `ResourceNotFoundException`
    /// (`ConfigurationProfile`). Returns whether it existed.
    pub fn delete_profile(&self, app: &str, profile: &str) -> bool {
        let mut data = self.inner.data();
        let Some(a) = data.apps.iter_mut().find(|a| a.id == app || a.name == app) else {
            return false;
        };
        match a
            .profiles
            .iter_mut()
            .find(|p| !p.deleted && (p.id == profile || p.name == profile))
        {
            Some(p) => {
                p.deleted = true;
                true
            }
            None => false,
        }
    }

    /// The ids of an application, environment and profile (names or ids), if all exist.
    pub fn ids(&self, app: &str, env: &str, profile: &str) -> Option<Ids> {
        let data = self.inner.data();
        resolve(&data, app, env, profile).ok()
    }

    fn ensure(&self, data: &mut Data, app: &str, env: &str, profile: &str) -> Ids {
        let ai = match data.apps.iter().position(|a| a.name == app) {
            Some(i) => i,
            None => {
                let id = self.inner.new_id(data);
                data.apps.push(App {
                    id,
                    name: app.to_owned(),
                    envs: Vec::new(),
                    profiles: Vec::new(),
                });
                data.apps.len() - 1
            }
        };
        if !data.apps[ai].envs.iter().any(|e| e.name == env) {
            let id = self.inner.new_id(data);
            data.apps[ai].envs.push(Named {
                id,
                name: env.to_owned(),
            });
        }
        if !data.apps[ai]
            .profiles
            .iter()
            .any(|p| p.name == profile && !p.deleted)
        {
            let id = self.inner.new_id(data);
            data.apps[ai].profiles.push(Profile {
                id,
                name: profile.to_owned(),
                deleted: false,
            });
        }
        resolve(data, app, env, profile).ok().expect("just created")
    }

    // ----- behaviour -----------------------------------------------------------------------

    /// How long a token stays valid from when it was handed out (default 24 h). Applies to
    /// outstanding tokens too: it is checked when a token is used.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.inner.data().token_lifetime = lifetime;
    }

    /// Expires every token handed out so far, at once (a token expiring mid-life): their next
    /// use gets 400 `BadRequestException`, `Problem` `Expired`. Tokens handed out afterwards
    /// are not affected.
    pub fn expire_tokens(&self) {
        self.inner.data().epoch += 1;
    }

    /// Forgets every outstanding token, as if the service could no longer decrypt them: their
    /// next use gets 400 `BadRequestException`, `Problem` `Corrupted` (not a violation, unlike
    /// a token the fake never issued).
    pub fn revoke_tokens(&self) {
        let mut data = self.inner.data();
        let tokens: Vec<String> = data.tokens.drain().map(|(t, _)| t).collect();
        data.revoked.extend(tokens);
    }

    /// What a second use of a token gets (default `TokenReuse::Refuse`).
    pub fn set_token_reuse(&self, reuse: TokenReuse) {
        self.inner.data().token_reuse = reuse;
    }

    /// Which polls are refused as too early (default `PollIntervalCheck::Required`). Applies at
    /// once, to outstanding tokens too: it is checked when a token is used.
    pub fn set_poll_interval_check(&self, check: PollIntervalCheck) {
        self.inner.data().poll_check = check;
    }

    /// `Next-Poll-Interval-In-Seconds` handed out to every session from now on, whatever it
    /// required (None: the session's `RequiredMinimumPollIntervalInSeconds`, else 60). Any
    /// value is allowed, below AWS's 15 s minimum too, so tests need not wait.
    pub fn set_next_poll_interval(&self, seconds: Option<u32>) {
        self.inner.data().poll_interval_override = seconds;
    }

    /// Delays every answer by `latency` (zero: none). The delay comes before the request is
    /// carried out, and a client that gives up meanwhile (closes its connection, as the SDKs
    /// do on a timeout) leaves it not carried out: its token is not spent, its log entry has no
    /// status, and `abandoned()` counts it.
    pub fn set_latency(&self, latency: Duration) {
        self.inner.data().latency = latency;
    }

    /// Answers the next `n` requests (either operation) with `failure` instead. A failed
    /// request changes nothing: its token can be used again.
    pub fn fail_next(&self, n: usize, failure: Failure) {
        self.set_failures(n, failure, None);
    }

    /// Like `fail_next`, counting and failing only requests for `operation`.
    pub fn fail_next_of(&self, operation: Operation, n: usize, failure: Failure) {
        self.set_failures(n, failure, Some(operation));
    }

    fn set_failures(&self, n: usize, failure: Failure, only: Option<Operation>) {
        self.inner.data().failures = (n > 0).then_some(Failures {
            remaining: n,
            failure,
            only,
        });
    }

    /// Stops listening: connections are refused on the port (idle kept-alive ones are closed;
    /// a request in progress still gets its answer). Returns once a connection is refused.
    pub async fn stop_listening(&self) {
        let Some(listening) = self.listening.lock().unwrap().take() else {
            return;
        };
        let _ = listening.stop.send(());
        self.old_tasks.lock().unwrap().push(listening.task);
        let addr = self.addr;
        let refused = poll_until(Duration::from_secs(5), || async move {
            tokio::net::TcpStream::connect(addr)
                .await
                .is_err()
                .then_some(())
        })
        .await;
        assert!(refused.is_some(), "the fake still accepts on {addr}");
    }

    /// Listens again on the same port, with all state kept (deployments, sessions, tokens).
    pub async fn resume_listening(&self) {
        if self.listening.lock().unwrap().is_some() {
            return;
        }
        let (_, listening) = listen(self.inner.clone(), self.addr.port())
            .await
            .unwrap_or_else(|e| panic!("listen again on {}: {e}", self.addr));
        *self.listening.lock().unwrap() = Some(listening);
    }

    pub fn is_listening(&self) -> bool {
        self.listening.lock().unwrap().is_some()
    }

    // ----- observations --------------------------------------------------------------------

    /// Client mistakes seen so far (should be empty): unsigned requests, tokens never issued
    /// or used twice, input the model forbids, requests outside the API.
    pub fn violations(&self) -> Vec<String> {
        self.inner.data().violations.clone()
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.data().log.clone()
    }

    /// Requests received for `operation`, whatever their answer.
    pub fn calls(&self, operation: Operation) -> usize {
        self.inner
            .data()
            .calls
            .get(&operation)
            .copied()
            .unwrap_or(0)
    }

    /// Requests whose client closed its connection during the latency: they were not carried
    /// out, and have no status in the log.
    pub fn abandoned(&self) -> usize {
        self.inner.data().abandoned
    }

    /// Every session started (201), in order.
    pub fn sessions(&self) -> Vec<Session> {
        let data = self.inner.data();
        data.sessions
            .iter()
            .map(|s| session_view(&data, s))
            .collect()
    }

    /// Sessions started.
    pub fn sessions_started(&self) -> usize {
        self.inner.data().sessions.len()
    }

    /// Polls answered 200, all sessions together.
    pub fn polls(&self) -> usize {
        self.inner.data().sessions.iter().map(|s| s.polls).sum()
    }

    /// Sessions started for this application, environment and profile (names or ids).
    pub fn sessions_for(&self, app: &str, env: &str, profile: &str) -> usize {
        self.sum_for(app, env, profile, |_| 1)
    }

    /// Polls answered 200 for sessions of this application, environment and profile.
    pub fn polls_for(&self, app: &str, env: &str, profile: &str) -> usize {
        self.sum_for(app, env, profile, |s| s.polls)
    }

    /// Polls that carried configuration (non-empty) for this application, environment, profile.
    pub fn deliveries_for(&self, app: &str, env: &str, profile: &str) -> usize {
        self.sum_for(app, env, profile, |s| s.deliveries)
    }

    fn sum_for(
        &self,
        app: &str,
        env: &str,
        profile: &str,
        count: impl Fn(&SessionState) -> usize,
    ) -> usize {
        let data = self.inner.data();
        let Ok(ids) = resolve(&data, app, env, profile) else {
            return 0;
        };
        data.sessions
            .iter()
            .filter(|s| {
                s.app == ids.application && s.env == ids.environment && s.profile == ids.profile
            })
            .map(count)
            .sum()
    }

    /// `RequiredMinimumPollIntervalInSeconds` of the last session started: None before any
    /// session, `Some(None)` when that session sent none.
    pub fn last_required_minimum_poll_interval(&self) -> Option<Option<u32>> {
        self.inner.data().sessions.last().map(|s| s.required)
    }

    /// Waits until `probe` holds (None on timeout): `fake.wait_until(t, |f| f.polls() >= 3)`.
    pub async fn wait_until(&self, timeout: Duration, probe: impl Fn(&Self) -> bool) -> Option<()> {
        poll_until(timeout, || async { probe(self).then_some(()) }).await
    }
}

impl Drop for FakeAppConfig {
    fn drop(&mut self) {
        if let Some(listening) = self.listening.lock().unwrap().take() {
            let _ = listening.stop.send(());
            listening.task.abort();
        }
        for task in self.old_tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

fn session_view(data: &Data, s: &SessionState) -> Session {
    let app = data.apps.iter().find(|a| a.id == s.app);
    let env = app.and_then(|a| a.envs.iter().find(|e| e.id == s.env));
    let profile = app.and_then(|a| a.profiles.iter().find(|p| p.id == s.profile));
    Session {
        application: app.map(|a| a.name.clone()).unwrap_or_default(),
        environment: env.map(|e| e.name.clone()).unwrap_or_default(),
        profile: profile.map(|p| p.name.clone()).unwrap_or_default(),
        identifiers: s.identifiers.clone(),
        required_minimum_poll_interval: s.required,
        polls: s.polls,
        deliveries: s.deliveries,
    }
}

/// Binds `127.0.0.1:port` (0: any free port), reusing the address so a stopped fake can listen
/// again on its port at once, and serves the API until `Listening::stop` fires.
async fn listen(inner: Arc<Inner>, port: u16) -> std::io::Result<(SocketAddr, Listening)> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
    let listener = socket.listen(1024)?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route(START_PATH, any(start_configuration_session))
        .route(GET_PATH, any(get_latest_configuration))
        .fallback(unexpected)
        .with_state(inner);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    Ok((addr, Listening { stop, task }))
}

/// A resource `resolve` could not find: the 404 the API gives, with the request parameter
/// that named it.
struct NotFound {
    resource_type: &'static str,
    message: String,
    parameter: &'static str,
    value: String,
}

impl NotFound {
    fn response(&self) -> Response {
        not_found(
            self.resource_type,
            &self.message,
            Some((self.parameter, &self.value)),
        )
    }
}

/// Resolves identifiers (names or ids) to ids, or names the first one missing.
fn resolve(data: &Data, app: &str, env: &str, profile: &str) -> Result<Ids, NotFound> {
    let missing = |resource_type, message, parameter, value: &str| NotFound {
        resource_type,
        message,
        parameter,
        value: value.to_owned(),
    };
    let Some(a) = data.apps.iter().find(|a| a.id == app || a.name == app) else {
        return Err(missing(
            "Application",
            format!("Application {app} could not be found."),
            "ApplicationIdentifier",
            app,
        ));
    };
    let Some(e) = a.envs.iter().find(|e| e.id == env || e.name == env) else {
        return Err(missing(
            "Environment",
            format!(
                "Environment {env} of application {} could not be found.",
                a.id
            ),
            "EnvironmentIdentifier",
            env,
        ));
    };
    let Some(p) = a
        .profiles
        .iter()
        .find(|p| !p.deleted && (p.id == profile || p.name == profile))
    else {
        return Err(missing(
            "ConfigurationProfile",
            format!(
                "Configuration profile {profile} of application {} could not be found.",
                a.id
            ),
            "ConfigurationProfileIdentifier",
            profile,
        ));
    };
    Ok(Ids {
        application: a.id.clone(),
        environment: e.id.clone(),
        profile: p.id.clone(),
    })
}

// ----- answers ---------------------------------------------------------------------------------

/// A restJson1 error: the status, `x-amzn-ErrorType` and the shape's members as the JSON body.
fn error(status: StatusCode, shape: &str, body: Value) -> Response {
    let mut resp = (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response();
    resp.headers_mut().insert(
        "x-amzn-errortype",
        HeaderValue::from_str(shape).expect("shape names are ASCII"),
    );
    resp
}

/// 400 for a token problem: `Reason: InvalidParameters`, `Details.InvalidParameters` naming
/// `ConfigurationToken` (the union `BadRequestDetails` with its one member).
fn token_problem(problem: &'static str, message: &str) -> Response {
    let resp = error(
        StatusCode::BAD_REQUEST,
        "BadRequestException",
        json!({
            "Message": message,
            "Reason": "InvalidParameters",
            "Details": {
                "InvalidParameters": {
                    "ConfigurationToken": { "Problem": problem },
                },
            },
        }),
    );
    with_detail(resp, problem)
}

/// 400 for input the model forbids. The `InvalidParameterProblem` enum has no member for it,
/// so only the message, in AWS's usual validation wording.
fn validation(message: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "BadRequestException",
        json!({ "Message": message }),
    )
}

fn not_found(
    resource_type: &'static str,
    message: &str,
    referenced_by: Option<(&str, &str)>,
) -> Response {
    let mut body = Map::new();
    body.insert("Message".into(), json!(message));
    body.insert("ResourceType".into(), json!(resource_type));
    if let Some((parameter, value)) = referenced_by {
        body.insert("ReferencedBy".into(), json!({ parameter: value }));
    }
    let resp = error(
        StatusCode::NOT_FOUND,
        "ResourceNotFoundException",
        body.into(),
    );
    with_detail(resp, resource_type)
}

fn injected(failure: Failure) -> Response {
    match failure {
        Failure::Internal => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerException",
            json!({ "Message": "An internal error occurred (injected by the fake)." }),
        ),
        Failure::Throttle => error(
            StatusCode::TOO_MANY_REQUESTS,
            "ThrottlingException",
            json!({ "Message": "Rate exceeded" }),
        ),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A request `check_signed` refuses: the 403 AWS gives, and the violation.
struct Unsigned {
    shape: &'static str,
    message: String,
    violation: String,
}

impl Unsigned {
    fn response(&self) -> Response {
        error(
            StatusCode::FORBIDDEN,
            self.shape,
            json!({ "Message": self.message }),
        )
    }
}

/// Checks the SigV4 `Authorization` header's form (not the signature): the algorithm, a
/// credential scoped to `.../<region>/appconfig/aws4_request`, `SignedHeaders`, `Signature`,
/// and `X-Amz-Date`. Returns the region.
fn check_signed(headers: &HeaderMap) -> Result<String, Unsigned> {
    let Some(auth) = header(headers, "authorization") else {
        return Err(Unsigned {
            shape: "MissingAuthenticationTokenException",
            message: "Missing Authentication Token".into(),
            violation: "request without an Authorization header (not SigV4-signed)".into(),
        });
    };
    let invalid = |why: String| {
        Err(Unsigned {
            shape: "InvalidSignatureException",
            violation: format!("badly signed request ({why}): Authorization: {auth}"),
            message: why,
        })
    };
    let Some(params) = auth.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return invalid("Authorization header requires the AWS4-HMAC-SHA256 algorithm".into());
    };
    let field = |name: &str| {
        params
            .split(',')
            .map(str::trim)
            .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
    };
    let Some(credential) = field("Credential") else {
        return invalid("Authorization header requires a 'Credential' parameter".into());
    };
    if field("SignedHeaders").is_none() || field("Signature").is_none() {
        return invalid("Authorization header requires 'SignedHeaders' and 'Signature'".into());
    }
    let scope: Vec<&str> = credential.split('/').collect();
    let [_key, _date, region, service, "aws4_request"] = scope[..] else {
        return invalid(format!("malformed credential scope {credential}"));
    };
    if service != SIGNING_NAME {
        return invalid(format!(
            "Credential should be scoped to correct service: '{SIGNING_NAME}'."
        ));
    }
    if header(headers, "x-amz-date").is_none() && header(headers, "date").is_none() {
        return invalid(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' \
             header"
                .into(),
        );
    }
    Ok(region.to_owned())
}

/// What every request goes through first: the log, the signature check, the latency and the
/// injected failures. Ok(log index) when the operation should be carried out.
async fn admit(
    s: &Inner,
    operation: Operation,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<usize, Response> {
    let index = {
        let mut data = s.data();
        *data.calls.entry(operation).or_default() += 1;
        data.log.push(RecordedRequest {
            operation: Some(operation),
            method: method.to_string(),
            uri: uri.to_string(),
            body: String::from_utf8_lossy(body).into_owned(),
            authorization: header(headers, "authorization").map(str::to_owned),
            region: None,
            status: None,
            error: None,
        });
        data.log.len() - 1
    };
    match check_signed(headers) {
        Ok(region) => s.data().log[index].region = Some(region),
        Err(unsigned) => {
            s.violation(format!("{operation:?}: {}", unsigned.violation));
            return Err(finish(s, index, unsigned.response()));
        }
    }
    let latency = s.data().latency;
    if !latency.is_zero() {
        // hyper drops this future if the client closes its connection meanwhile (it watches
        // the connection while a request is in flight): the request is then not carried out.
        let abandoned = Abandoned(s);
        tokio::time::sleep(latency).await;
        std::mem::forget(abandoned);
    }
    let failure = {
        let mut data = s.data();
        match &mut data.failures {
            Some(f) if f.only.is_none_or(|op| op == operation) => {
                f.remaining -= 1;
                let failure = f.failure;
                if f.remaining == 0 {
                    data.failures = None;
                }
                Some(failure)
            }
            _ => None,
        }
    };
    match failure {
        Some(failure) => Err(finish(s, index, injected(failure))),
        None => Ok(index),
    }
}

/// Counts a request dropped during its latency (see `admit`); forgotten once the latency is over.
struct Abandoned<'a>(&'a Inner);

impl Drop for Abandoned<'_> {
    fn drop(&mut self) {
        self.0.data().abandoned += 1;
    }
}

/// Records the answer of log entry `index`, then returns it with its request id.
fn finish(s: &Inner, index: usize, mut resp: Response) -> Response {
    let request_id = s.request_id();
    resp.headers_mut().insert(
        "x-amzn-requestid",
        HeaderValue::from_str(&request_id).expect("ASCII request id"),
    );
    let error = header(resp.headers(), "x-amzn-errortype").map(|shape| {
        // The problem or resource type, for a readable log (`BadRequestException/Expired`).
        let detail = resp
            .extensions()
            .get::<ErrorDetail>()
            .map(|d| format!("/{}", d.0))
            .unwrap_or_default();
        format!("{shape}{detail}")
    });
    let mut data = s.data();
    let entry = &mut data.log[index];
    entry.status = Some(resp.status().as_u16());
    entry.error = error;
    resp
}

/// The `Problem` or `ResourceType` of an error answer, carried to `finish` for the log.
#[derive(Clone)]
struct ErrorDetail(&'static str);

fn with_detail(mut resp: Response, detail: &'static str) -> Response {
    resp.extensions_mut().insert(ErrorDetail(detail));
    resp
}

// ----- StartConfigurationSession ---------------------------------------------------------------

async fn start_configuration_session(
    State(s): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    const OP: Operation = Operation::StartConfigurationSession;
    if method != Method::POST {
        return wrong_method(&s, OP, &method, &uri);
    }
    let index = match admit(&s, OP, &method, &uri, &headers, &body).await {
        Ok(index) => index,
        Err(resp) => return resp,
    };
    let resp = start_session(&s, &headers, &body);
    finish(&s, index, resp)
}

fn start_session(s: &Inner, headers: &HeaderMap, body: &[u8]) -> Response {
    let content_type = header(headers, "content-type").unwrap_or("");
    if !content_type.starts_with("application/json") {
        s.violation(format!(
            "StartConfigurationSession with Content-Type {content_type:?}, not application/json"
        ));
    }
    let invalid = |message: String| {
        s.violation(format!("StartConfigurationSession: {message}"));
        validation(&message)
    };
    let doc: Value = match serde_json::from_slice(body) {
        Ok(doc) => doc,
        Err(e) => return invalid(format!("the body is not JSON ({e})")),
    };
    let Some(doc) = doc.as_object() else {
        return invalid(format!("the body is not a JSON object: {doc}"));
    };
    let mut problems = Vec::new();
    let mut identifiers = Vec::new();
    for (member, wire) in [
        ("ApplicationIdentifier", "applicationIdentifier"),
        ("EnvironmentIdentifier", "environmentIdentifier"),
        (
            "ConfigurationProfileIdentifier",
            "configurationProfileIdentifier",
        ),
    ] {
        match doc.get(member) {
            None | Some(Value::Null) => {
                problems.push(format!(
                    "Value null at '{wire}' failed to satisfy constraint: Member must not be null"
                ));
                identifiers.push(String::new());
            }
            Some(Value::String(v)) => {
                let len = v.chars().count();
                if len == 0 || len > IDENTIFIER_MAX {
                    problems.push(format!(
                        "Value '{v}' at '{wire}' failed to satisfy constraint: Member must have \
                         length between 1 and {IDENTIFIER_MAX}"
                    ));
                }
                identifiers.push(v.clone());
            }
            Some(other) => {
                problems.push(format!("Value {other} at '{wire}' is not a string"));
                identifiers.push(String::new());
            }
        }
    }
    let required = match doc.get("RequiredMinimumPollIntervalInSeconds") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(n) if (POLL_MIN..=POLL_MAX).contains(&n) => Some(n as u32),
            Some(n) => {
                let bound = if n < POLL_MIN {
                    format!("greater than or equal to {POLL_MIN}")
                } else {
                    format!("less than or equal to {POLL_MAX}")
                };
                problems.push(format!(
                    "Value '{n}' at 'requiredMinimumPollIntervalInSeconds' failed to satisfy \
                     constraint: Member must have value {bound}"
                ));
                None
            }
            None => {
                problems.push(format!(
                    "Value {v} at 'requiredMinimumPollIntervalInSeconds' is not an integer"
                ));
                None
            }
        },
    };
    if !problems.is_empty() {
        let n = problems.len();
        let s_ = if n == 1 { "" } else { "s" };
        return invalid(format!(
            "{n} validation error{s_} detected: {}",
            problems.join("; ")
        ));
    }
    let [app, env, profile]: [String; 3] = identifiers.try_into().expect("three identifiers");
    let token = s.new_token();
    let mut data = s.data();
    let ids = match resolve(&data, &app, &env, &profile) {
        Ok(ids) => ids,
        Err(missing) => return missing.response(),
    };
    data.sessions.push(SessionState {
        app: ids.application,
        env: ids.environment,
        profile: ids.profile,
        identifiers: [app, env, profile],
        required,
        polls: 0,
        deliveries: 0,
    });
    let session = data.sessions.len() - 1;
    let epoch = data.epoch;
    data.tokens.insert(
        token.clone(),
        TokenState {
            session,
            issued: Instant::now(),
            epoch,
            used: false,
            delivered: None,
            initial: true,
            interval: 0,
        },
    );
    let body = json!({ "InitialConfigurationToken": token }).to_string();
    (
        StatusCode::CREATED,
        [("content-type", "application/json")],
        body,
    )
        .into_response()
}

// ----- GetLatestConfiguration ------------------------------------------------------------------

async fn get_latest_configuration(
    State(s): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    const OP: Operation = Operation::GetLatestConfiguration;
    if method != Method::GET {
        return wrong_method(&s, OP, &method, &uri);
    }
    let index = match admit(&s, OP, &method, &uri, &headers, &body).await {
        Ok(index) => index,
        Err(resp) => return resp,
    };
    let resp = poll(&s, &uri);
    finish(&s, index, resp)
}

/// The token as sent: the one `configuration_token` query parameter, percent-decoded.
fn query_token(uri: &Uri) -> Vec<String> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .filter(|(k, _)| k == "configuration_token")
        .map(|(_, v)| v.into_owned())
        .collect()
}

fn poll(s: &Inner, uri: &Uri) -> Response {
    let tokens = query_token(uri);
    let token = match &tokens[..] {
        [token] if !token.is_empty() => token.clone(),
        [] => {
            let message = "1 validation error detected: Value null at 'configurationToken' \
                           failed to satisfy constraint: Member must not be null";
            s.violation(format!("GetLatestConfiguration: {message}"));
            return validation(message);
        }
        _ => {
            let message = format!(
                "1 validation error detected: Value at 'configurationToken' failed to satisfy \
                 constraint: Member must satisfy regular expression pattern: \\S{{1,8192}} \
                 (query {:?})",
                uri.query().unwrap_or("")
            );
            s.violation(format!("GetLatestConfiguration: {message}"));
            return validation(&message);
        }
    };
    let mut data = s.data();
    let Some(state) = data.tokens.get(&token) else {
        let revoked = data.revoked.contains(&token);
        drop(data);
        if !revoked {
            let unencoded = token.replace(' ', "+");
            if unencoded != token && s.data().tokens.contains_key(&unencoded) {
                s.violation(format!(
                    "GetLatestConfiguration: the token's '+' arrived as ' ': the query string \
                     was not percent-encoded ({})",
                    uri.query().unwrap_or("")
                ));
            } else {
                s.violation(format!(
                    "GetLatestConfiguration with a token this service never issued: {token:?}"
                ));
            }
        }
        return token_problem("Corrupted", "The configuration token is corrupted.");
    };
    let now = Instant::now();
    if state.epoch < data.epoch || now.duration_since(state.issued) >= data.token_lifetime {
        return token_problem("Expired", "The configuration token has expired.");
    }
    if state.used && data.token_reuse == TokenReuse::Refuse {
        drop(data);
        s.violation(format!(
            "GetLatestConfiguration with a token already used (each token is good for one call): \
             {token:?}"
        ));
        return token_problem(
            "Corrupted",
            "The configuration token has already been used.",
        );
    }
    let (session, delivered) = (state.session, state.delivered);
    let sess = &data.sessions[session];
    let required = sess.required;
    let minimum = match data.poll_check {
        _ if state.initial => None,
        PollIntervalCheck::Off => None,
        PollIntervalCheck::Required => required,
        PollIntervalCheck::HandedOut => Some(state.interval),
    };
    if let Some(minimum) = minimum {
        if now < state.issued + Duration::from_secs(minimum.into()) {
            let message =
                format!("Request too early: this session may poll every {minimum} seconds.");
            return token_problem("PollIntervalNotSatisfied", &message);
        }
    }
    let key = (sess.app.clone(), sess.env.clone(), sess.profile.clone());
    let profile_gone = data
        .apps
        .iter()
        .find(|a| a.id == key.0)
        .and_then(|a| a.profiles.iter().find(|p| p.id == key.2))
        .is_none_or(|p| p.deleted);
    if profile_gone {
        return not_found(
            "ConfigurationProfile",
            &format!("Configuration profile {} could not be found.", key.2),
            None,
        );
    }
    let Some(deployment) = data.deployments.get(&key) else {
        return not_found(
            "Deployment",
            &format!(
                "No configuration of profile {} is deployed to environment {}.",
                key.2, key.1
            ),
            None,
        );
    };
    let changed = delivered != Some(deployment.seq);
    let (seq, content_type, version_label) = (
        deployment.seq,
        deployment.content_type.clone(),
        deployment.version_label.clone(),
    );
    let content = if changed {
        deployment.content.clone()
    } else {
        Bytes::new()
    };
    let interval = data
        .poll_interval_override
        .unwrap_or(required.unwrap_or(DEFAULT_POLL_INTERVAL_SECS));
    let epoch = data.epoch;
    data.tokens.get_mut(&token).expect("looked up above").used = true;
    let next = s.new_token();
    data.tokens.insert(
        next.clone(),
        TokenState {
            session,
            issued: now,
            epoch,
            used: false,
            delivered: Some(seq),
            initial: false,
            interval,
        },
    );
    let sess = &mut data.sessions[session];
    sess.polls += 1;
    if changed {
        sess.deliveries += 1;
    }
    drop(data);

    let mut resp = (StatusCode::OK, content).into_response();
    let h = resp.headers_mut();
    h.insert(
        "next-poll-configuration-token",
        HeaderValue::from_str(&next).expect("base64 token"),
    );
    h.insert("next-poll-interval-in-seconds", interval.into());
    // An unchanged answer has no configuration to describe: the fake sends the restJson1
    // default for a blob payload, and no Version-Label ("If the client already has the latest
    // version of the configuration data, this value is empty").
    let content_type = if changed {
        content_type
    } else {
        UNCHANGED_CONTENT_TYPE.to_owned()
    };
    h.insert(
        "content-type",
        HeaderValue::from_str(&content_type)
            .unwrap_or(HeaderValue::from_static(UNCHANGED_CONTENT_TYPE)),
    );
    if let (true, Some(label)) = (changed, version_label) {
        if let Ok(label) = HeaderValue::from_str(&label) {
            h.insert("version-label", label);
        }
    }
    resp
}

// ----- outside the API -------------------------------------------------------------------------

fn wrong_method(s: &Inner, operation: Operation, method: &Method, uri: &Uri) -> Response {
    s.violation(format!("{operation:?} with method {method} ({uri})"));
    let mut data = s.data();
    data.log.push(RecordedRequest {
        operation: None,
        method: method.to_string(),
        uri: uri.to_string(),
        body: String::new(),
        authorization: None,
        region: None,
        status: Some(405),
        error: Some("UnknownOperationException".into()),
    });
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "UnknownOperationException",
        json!({ "Message": format!("{method} {} is not an operation", uri.path()) }),
    )
}

async fn unexpected(State(s): State<Arc<Inner>>, method: Method, uri: Uri) -> Response {
    s.violation(format!("request outside the API: {method} {uri}"));
    s.data().log.push(RecordedRequest {
        operation: None,
        method: method.to_string(),
        uri: uri.to_string(),
        body: String::new(),
        authorization: None,
        region: None,
        status: Some(404),
        error: Some("UnknownOperationException".into()),
    });
    error(
        StatusCode::NOT_FOUND,
        "UnknownOperationException",
        json!({ "Message": format!("{method} {} is not an operation", uri.path()) }),
    )
}
