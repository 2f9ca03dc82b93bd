//! A fake of the Lambda Extensions API (2020-01-01), strict where the real one is and recording
//! every protocol mistake as a "violation" the tests assert to be empty.
//!
//! Reference: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html
//! The fake also checks the contract's ordering rule: when the extension registers, its HTTP
//! port must already accept connections (Lambda starts the runtime as soon as every extension
//! has registered, and handler init code may call the sidecar immediately).
//!
//! Two of Lambda's execution modes are faked too: Managed Instances (`start_managed_instances`:
//! INVOKE subscriptions refused with 403 `Extension.InvalidEventType`, never frozen, SHUTDOWN
//! after the runtime's 600 ms of the 2 s) and SnapStart's container credentials
//! (`GET /2021-04-23/credentials` with the `Authorization` token, as Lambda serves them to
//! functions without `AWS_SESSION_TOKEN`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::util::{epoch_millis, poll_until};

const BASE: &str = "/2020-01-01/extension";
/// Where Lambda serves container credentials (SnapStart), beside the Runtime API.
const CREDENTIALS_PATH: &str = "/2021-04-23/credentials";

/// One successful `register` call.
#[derive(Clone, Debug)]
pub struct Registration {
    pub name: String,
    pub events: Vec<String>,
    pub identifier: String,
}

/// One `init/error` or `exit/error` report.
#[derive(Clone, Debug)]
pub struct ErrorReport {
    /// The `Lambda-Extension-Function-Error-Type` header.
    pub error_type: String,
    pub body: String,
}

struct Inner {
    listen_port: u16,
    registrations: Mutex<Vec<Registration>>,
    init_errors: Mutex<Vec<ErrorReport>>,
    exit_errors: Mutex<Vec<ErrorReport>>,
    violations: Mutex<Vec<String>>,
    queue_tx: mpsc::UnboundedSender<Value>,
    queue_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Value>>,
    shutdown_delivered: AtomicBool,
    next_calls: AtomicUsize,
    ids: AtomicUsize,
    /// Managed Instances: INVOKE subscriptions are refused.
    managed_instances: bool,
    /// The `AWS_CONTAINER_AUTHORIZATION_TOKEN` the credentials endpoint expects.
    container_token: String,
    /// The session token the credentials endpoint hands out now (changed by `rotate_credentials`).
    session_token: Mutex<String>,
    credential_calls: AtomicUsize,
}

impl Inner {
    fn violation(&self, what: String) {
        self.violations.lock().unwrap().push(what);
    }

    fn uuid(&self) -> String {
        let n = self.ids.fetch_add(1, Ordering::Relaxed) as u64;
        let t = epoch_millis();
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            t & 0xffff_ffff,
            (t >> 32) & 0xffff,
            n & 0xfff,
            std::process::id() & 0xfff,
            n
        )
    }

    fn is_registered(&self, headers: &HeaderMap) -> bool {
        let id = header(headers, "lambda-extension-identifier");
        self.registrations
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.identifier == id)
    }
}

/// A running fake; its server task stops when dropped.
pub struct FakeLambda {
    addr: std::net::SocketAddr,
    /// Path prefix every call must go under (`""` as in Lambda, `/.rt` as cargo-lambda serves).
    prefix: String,
    inner: Arc<Inner>,
    task: JoinHandle<()>,
}

impl FakeLambda {
    /// Starts the fake for an extension that will listen on `listen_port`.
    pub async fn start(listen_port: u16) -> Self {
        Self::start_with_prefix(listen_port, "").await
    }

    /// Like `start`, serving the API under `prefix` (e.g. `/.rt`, as local emulators do): a call
    /// outside the prefix is a violation answered 404.
    pub async fn start_with_prefix(listen_port: u16, prefix: &str) -> Self {
        Self::start_with(listen_port, prefix, false).await
    }

    /// Like `start`, as Lambda Managed Instances run extensions: an INVOKE subscription is
    /// refused (403 `Extension.InvalidEventType`); use `shutdown_managed` to end it.
    pub async fn start_managed_instances(listen_port: u16) -> Self {
        Self::start_with(listen_port, "", true).await
    }

    async fn start_with(listen_port: u16, prefix: &str, managed_instances: bool) -> Self {
        let prefix = prefix.trim_end_matches('/').to_owned();
        let base = format!("{prefix}{BASE}");
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            listen_port,
            registrations: Mutex::default(),
            init_errors: Mutex::default(),
            exit_errors: Mutex::default(),
            violations: Mutex::default(),
            queue_tx,
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            shutdown_delivered: AtomicBool::new(false),
            next_calls: AtomicUsize::new(0),
            ids: AtomicUsize::new(1),
            managed_instances,
            container_token: format!("container-{:x}-{}", epoch_millis(), std::process::id()),
            session_token: Mutex::new(format!("session-{:x}", epoch_millis())),
            credential_calls: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route(&format!("{base}/register"), post(register))
            .route(&format!("{base}/event/next"), get(next))
            .route(&format!("{base}/init/error"), post(init_error))
            .route(&format!("{base}/exit/error"), post(exit_error))
            .route(CREDENTIALS_PATH, get(credentials))
            .fallback(unexpected)
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake Lambda API");
        let addr = listener.local_addr().expect("fake Lambda address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeLambda {
            addr,
            prefix,
            inner,
            task,
        }
    }

    /// Value for `AWS_LAMBDA_RUNTIME_API` (`host:port`, as Lambda sets it). Only a fake without
    /// a prefix can be reached this way.
    pub fn runtime_api(&self) -> String {
        self.addr.to_string()
    }

    /// Value for `AWS_LAMBDA_RUNTIME_API` as local emulators set it: `http://host:port` followed
    /// by the prefix, if any (`http://127.0.0.1:9000/.rt`).
    pub fn runtime_api_url(&self) -> String {
        format!("http://{}{}", self.addr, self.prefix)
    }

    pub fn registrations(&self) -> Vec<Registration> {
        self.inner.registrations.lock().unwrap().clone()
    }

    /// Waits for the extension to register (None on timeout).
    pub async fn wait_registered(&self, timeout: Duration) -> Option<Registration> {
        poll_until(timeout, || async {
            self.registrations().into_iter().next()
        })
        .await
    }

    /// Events the (first) registration subscribed to.
    pub fn subscribed(&self) -> Vec<String> {
        self.registrations()
            .first()
            .map(|r| r.events.clone())
            .unwrap_or_default()
    }

    pub fn init_errors(&self) -> Vec<ErrorReport> {
        self.inner.init_errors.lock().unwrap().clone()
    }

    pub fn exit_errors(&self) -> Vec<ErrorReport> {
        self.inner.exit_errors.lock().unwrap().clone()
    }

    /// Protocol violations seen so far (should be empty).
    pub fn violations(&self) -> Vec<String> {
        self.inner.violations.lock().unwrap().clone()
    }

    /// How many times `/event/next` was called.
    pub fn next_calls(&self) -> usize {
        self.inner.next_calls.load(Ordering::SeqCst)
    }

    /// Queues an INVOKE event. Like Lambda, delivers it only to an extension that subscribed
    /// to INVOKE; returns whether it was queued.
    pub fn invoke(&self) -> bool {
        if !self.subscribed().iter().any(|e| e == "INVOKE") {
            return false;
        }
        let request_id = self.inner.uuid();
        let event = json!({
            "eventType": "INVOKE",
            "deadlineMs": epoch_millis() + 3000,
            "requestId": request_id,
            "invokedFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:fn",
            "tracing": {
                "type": "X-Amzn-Trace-Id",
                "value": format!("Root=1-5759e988-{request_id};Parent=53995c3f42cd8ad8;Sampled=1"),
            },
        });
        self.inner.queue_tx.send(event).is_ok()
    }

    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI` and `AWS_CONTAINER_AUTHORIZATION_TOKEN`, as a
    /// SnapStart function's environment has them (and no `AWS_SESSION_TOKEN`).
    pub fn container_credentials(&self) -> (String, String) {
        (
            format!("http://{}{CREDENTIALS_PATH}", self.addr),
            self.inner.container_token.clone(),
        )
    }

    /// The session token the credentials endpoint hands out now.
    pub fn session_token(&self) -> String {
        self.inner.session_token.lock().unwrap().clone()
    }

    /// New credentials behind the same authorization token, as Lambda swaps them at a restore.
    pub fn rotate_credentials(&self) -> String {
        let token = format!("session-{:x}-{}", epoch_millis(), self.inner.uuid());
        *self.inner.session_token.lock().unwrap() = token.clone();
        token
    }

    /// Calls of the credentials endpoint with the right authorization token.
    pub fn credential_calls(&self) -> usize {
        self.inner.credential_calls.load(Ordering::SeqCst)
    }

    /// Managed Instances' shutdown: the runtime gets SIGTERM and up to 600 ms first, then the
    /// extensions get SHUTDOWN with the deadline at 2 s from the start. Returns that deadline.
    pub fn shutdown_managed(&self) -> Instant {
        let start = Instant::now();
        let deadline_ms = epoch_millis() + 2000;
        let queue = self.inner.queue_tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(600)).await;
            let _ = queue.send(json!({
                "eventType": "SHUTDOWN",
                "shutdownReason": "spindown",
                "deadlineMs": deadline_ms,
            }));
        });
        start + Duration::from_millis(2000)
    }

    /// Queues SHUTDOWN (reason `spindown`, 2 s deadline); returns the deadline.
    pub fn shutdown(&self) -> Instant {
        self.shutdown_with_reason("spindown")
    }

    /// Queues SHUTDOWN with the given reason; returns the deadline (2 s from now).
    pub fn shutdown_with_reason(&self, reason: &str) -> Instant {
        self.shutdown_within(reason, Duration::from_millis(2000))
    }

    /// Queues SHUTDOWN whose `deadlineMs` is `within` from now; returns that deadline.
    pub fn shutdown_within(&self, reason: &str, within: Duration) -> Instant {
        let deadline = Instant::now() + within;
        let event = json!({
            "eventType": "SHUTDOWN",
            "shutdownReason": reason,
            "deadlineMs": epoch_millis() + within.as_millis() as u64,
        });
        let _ = self.inner.queue_tx.send(event);
        deadline
    }
}

impl Drop for FakeLambda {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// The API's error shape, with 403 as Lambda answers bad extension calls.
fn forbidden(error_type: &str, message: &str) -> Response {
    let body = json!({ "errorMessage": message, "errorType": error_type }).to_string();
    (
        StatusCode::FORBIDDEN,
        [("content-type", "application/json")],
        body,
    )
        .into_response()
}

fn parse_events(body: &[u8]) -> Result<Vec<String>, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let events = doc["events"]
        .as_array()
        .ok_or_else(|| format!("`events` must be an array: {doc}"))?;
    events
        .iter()
        .map(|e| match e.as_str() {
            Some(name @ ("INVOKE" | "SHUTDOWN")) => Ok(name.to_owned()),
            _ => Err(format!("unsupported event {e}")),
        })
        .collect()
}

async fn register(State(s): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let name = header(&headers, "lambda-extension-name");
    if name.is_empty() {
        s.violation("register without Lambda-Extension-Name".into());
        return forbidden("Extension.InvalidName", "missing Lambda-Extension-Name");
    }
    let events = match parse_events(&body) {
        Ok(events) => events,
        Err(message) => {
            s.violation(format!("bad register body: {message}"));
            return forbidden("Extension.InvalidEvents", &message);
        }
    };
    if s.managed_instances && events.iter().any(|e| e == "INVOKE") {
        s.violation("subscribed to INVOKE under Managed Instances".into());
        return forbidden(
            "Extension.InvalidEventType",
            "INVOKE is not supported with Lambda Managed Instances",
        );
    }
    if !s.registrations.lock().unwrap().is_empty() {
        s.violation("registered twice".into());
        return forbidden("Extension.AlreadyRegistered", "already registered");
    }
    // Bind-before-register: the port must accept connections right now.
    let probe = tokio::net::TcpStream::connect(("127.0.0.1", s.listen_port));
    if !matches!(
        tokio::time::timeout(Duration::from_secs(1), probe).await,
        Ok(Ok(_))
    ) {
        s.violation(format!(
            "registered before listening on 127.0.0.1:{}",
            s.listen_port
        ));
    }
    let identifier = s.uuid();
    s.registrations.lock().unwrap().push(Registration {
        name,
        events,
        identifier: identifier.clone(),
    });
    let body = json!({
        "functionName": "fn",
        "functionVersion": "$LATEST",
        "handler": "index.handler",
    });
    (
        StatusCode::OK,
        [
            ("lambda-extension-identifier", identifier.as_str()),
            ("content-type", "application/json"),
        ],
        body.to_string(),
    )
        .into_response()
}

async fn next(State(s): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    if !s.is_registered(&headers) {
        s.violation("/event/next without a valid Lambda-Extension-Identifier".into());
        return forbidden(
            "Extension.InvalidIdentifier",
            "unknown extension identifier",
        );
    }
    s.next_calls.fetch_add(1, Ordering::SeqCst);
    if s.shutdown_delivered.load(Ordering::SeqCst) {
        s.violation("/event/next called after SHUTDOWN was delivered".into());
        // Lambda would never answer: the sandbox is going away.
        std::future::pending::<()>().await;
    }
    let event = {
        let mut queue = s.queue_rx.lock().await;
        queue.recv().await.expect("the fake holds the sender")
    };
    if event["eventType"] == "SHUTDOWN" {
        s.shutdown_delivered.store(true, Ordering::SeqCst);
    }
    let event_id = s.uuid();
    (
        StatusCode::OK,
        [
            ("lambda-extension-event-identifier", event_id.as_str()),
            ("content-type", "application/json"),
        ],
        event.to_string(),
    )
        .into_response()
}

fn record_error(
    s: &Inner,
    headers: &HeaderMap,
    body: Bytes,
    into: &Mutex<Vec<ErrorReport>>,
) -> Response {
    if !s.is_registered(headers) {
        s.violation("error report without a valid Lambda-Extension-Identifier".into());
        return forbidden(
            "Extension.InvalidIdentifier",
            "unknown extension identifier",
        );
    }
    into.lock().unwrap().push(ErrorReport {
        error_type: header(headers, "lambda-extension-function-error-type"),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    (
        StatusCode::ACCEPTED,
        [("content-type", "application/json")],
        r#"{"status":"OK"}"#,
    )
        .into_response()
}

async fn init_error(State(s): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    record_error(&s, &headers, body, &s.init_errors)
}

async fn exit_error(State(s): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    record_error(&s, &headers, body, &s.exit_errors)
}

/// Container credentials, as Lambda serves them: 401 without the authorization token.
async fn credentials(State(s): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    if header(&headers, "authorization") != s.container_token {
        return (StatusCode::UNAUTHORIZED, "bad authorization token").into_response();
    }
    s.credential_calls.fetch_add(1, Ordering::SeqCst);
    let expiration = std::time::SystemTime::now() + Duration::from_secs(3600);
    let body = json!({
        "AccessKeyId": "ASIAFAKESNAPSTART",
        "SecretAccessKey": "fake-secret-access-key",
        "Token": *s.session_token.lock().unwrap(),
        "Expiration": crate::util::rfc3339(expiration),
    });
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn unexpected(State(s): State<Arc<Inner>>, method: Method, uri: Uri) -> Response {
    s.violation(format!("unexpected request {method} {uri}"));
    (StatusCode::NOT_FOUND, "not part of the Extensions API").into_response()
}
