//! `fake-appconfig`: the test suite's fake AWS AppConfig Data (`sidecache_tests::FakeAppConfig`)
//! as a program, for suites outside this crate (the client packages' tests,
//! `scripts/test-clients.sh`). moto has no AppConfig Data; a sidecache pointed at this fake with
//! `AWS_ENDPOINT_URL_APPCONFIGDATA=http://127.0.0.1:<fake port>` reads configurations from it.
//!
//! It starts the fake and a small JSON control API, each on a free loopback port, prints
//! `READY <fake port> <control port>` on stdout, and exits when its stdin closes (the parent
//! keeps the pipe open: whatever way the parent ends, the fake goes with it, as
//! `tests/support/moto_runner.py` does for moto).
//!
//! The control API (`POST` bodies and answers are JSON; an error is 400 `{"error": "..."}`):
//! - `POST /deploy` `{"application", "environment", "profile", "content"` (text) or
//!   `"content_base64", "content_type"` (default `application/json`), `"version_label"`
//!   (optional)`}`: a new deployment, creating what does not exist; answers the ids
//!   `{"application", "environment", "profile"}`.
//! - `POST /create` `{"application", "environment", "profile"}`: creates them with nothing
//!   deployed (polls get 404 until a deployment); answers the ids.
//! - `POST /delete_profile` `{"application", "profile"}`: answers `{"deleted": bool}`.
//! - `POST /expire_tokens`, `POST /revoke_tokens`: every outstanding token's next use gets
//!   `Expired` / `Corrupted`.
//! - `POST /next_poll_interval` `{"seconds": n or null}`: `Next-Poll-Interval-In-Seconds`.
//! - `POST /fail_next` `{"n", "failure": "internal" or "throttle", "operation"` (optional:
//!   `StartConfigurationSession` or `GetLatestConfiguration`)`}`.
//! - `POST /latency` `{"millis"}`: every answer delayed.
//! - `GET /counts`: `{"start_configuration_session", "get_latest_configuration"` (requests
//!   received), `"sessions"` (started), `"polls"` (answered 200), `"deliveries"` (polls that
//!   carried configuration), `"violations"` (client mistakes seen)`}`; with
//!   `?application=&environment=&profile=` (names or ids) the last three count that profile's
//!   sessions only.
//! - `GET /violations`: the client mistakes seen, as text (a correct client leaves none).
//! - `GET /ids?application=&environment=&profile=`: the ids, or 404.

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Value};
use sidecache_tests::fake_appconfig::{Failure, Ids, Operation};
use sidecache_tests::FakeAppConfig;

type Fake = Arc<FakeAppConfig>;

#[tokio::main]
async fn main() {
    let fake: Fake = Arc::new(FakeAppConfig::start().await);
    let control = Router::new()
        .route("/deploy", post(deploy))
        .route("/create", post(create))
        .route("/delete_profile", post(delete_profile))
        .route("/expire_tokens", post(expire_tokens))
        .route("/revoke_tokens", post(revoke_tokens))
        .route("/next_poll_interval", post(next_poll_interval))
        .route("/fail_next", post(fail_next))
        .route("/latency", post(latency))
        .route("/counts", get(counts))
        .route("/violations", get(violations))
        .route("/ids", get(ids))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the control port");
    let control_port = listener.local_addr().expect("control address").port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, control).await;
    });
    println!("READY {} {control_port}", fake.port());

    // Until the parent closes our stdin (or dies): then exit, taking both servers along.
    // (std's blocking read on a blocking thread: this crate's tokio has no `io-std`.)
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = [0u8; 1024];
        let mut stdin = std::io::stdin().lock();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
    })
    .await;
}

fn bad(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "error": message.into() })),
    )
        .into_response()
}

/// A handler's answer: the JSON on success, else 400 with the message.
fn answer(result: Result<Value, String>) -> Response {
    match result {
        Ok(value) => axum::Json(value).into_response(),
        Err(message) => bad(message),
    }
}

type Doc = serde_json::Map<String, Value>;

/// The body as a JSON object (an empty body is `{}`).
fn object(body: &Bytes) -> Result<Doc, String> {
    if body.is_empty() {
        return Ok(Doc::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!("the body is not a JSON object: {other}")),
        Err(e) => Err(format!("the body is not JSON: {e}")),
    }
}

fn text<'a>(doc: &'a Doc, key: &str) -> Result<Option<&'a str>, String> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("{key} must be a string, not {other}")),
    }
}

fn required<'a>(doc: &'a Doc, key: &str) -> Result<&'a str, String> {
    text(doc, key)?.ok_or_else(|| format!("{key} is required"))
}

fn whole(doc: &Doc, key: &str) -> Result<Option<u64>, String> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("{key} must be a whole number, not {v}")),
    }
}

fn ids_json(ids: &Ids) -> Value {
    json!({
        "application": ids.application,
        "environment": ids.environment,
        "profile": ids.profile,
    })
}

fn query(uri: &Uri) -> HashMap<String, String> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

async fn deploy(State(fake): State<Fake>, body: Bytes) -> Response {
    answer((|| {
        let doc = object(&body)?;
        let (app, env, profile) = (
            required(&doc, "application")?,
            required(&doc, "environment")?,
            required(&doc, "profile")?,
        );
        let content: Vec<u8> = match (text(&doc, "content")?, text(&doc, "content_base64")?) {
            (Some(content), None) => content.as_bytes().to_vec(),
            (None, Some(b64)) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| format!("content_base64: {e}"))?,
            _ => return Err("give exactly one of content and content_base64".to_owned()),
        };
        let content_type = text(&doc, "content_type")?.unwrap_or("application/json");
        let label = text(&doc, "version_label")?;
        let ids = fake.deploy(app, env, profile, content, content_type, label);
        Ok(ids_json(&ids))
    })())
}

async fn create(State(fake): State<Fake>, body: Bytes) -> Response {
    answer((|| {
        let doc = object(&body)?;
        let ids = fake.create(
            required(&doc, "application")?,
            required(&doc, "environment")?,
            required(&doc, "profile")?,
        );
        Ok(ids_json(&ids))
    })())
}

async fn delete_profile(State(fake): State<Fake>, body: Bytes) -> Response {
    answer((|| {
        let doc = object(&body)?;
        let deleted =
            fake.delete_profile(required(&doc, "application")?, required(&doc, "profile")?);
        Ok(json!({ "deleted": deleted }))
    })())
}

async fn expire_tokens(State(fake): State<Fake>) -> Response {
    fake.expire_tokens();
    answer(Ok(json!({})))
}

async fn revoke_tokens(State(fake): State<Fake>) -> Response {
    fake.revoke_tokens();
    answer(Ok(json!({})))
}

async fn next_poll_interval(State(fake): State<Fake>, body: Bytes) -> Response {
    answer((|| {
        let doc = object(&body)?;
        let seconds = match whole(&doc, "seconds")? {
            None => None,
            Some(n) => Some(u32::try_from(n).map_err(|e| format!("seconds: {e}"))?),
        };
        fake.set_next_poll_interval(seconds);
        Ok(json!({ "seconds": seconds }))
    })())
}

async fn fail_next(State(fake): State<Fake>, body: Bytes) -> Response {
    answer((|| {
        let doc = object(&body)?;
        let n = whole(&doc, "n")?.ok_or("n is required")? as usize;
        let failure = match required(&doc, "failure")? {
            "internal" => Failure::Internal,
            "throttle" => Failure::Throttle,
            other => return Err(format!("failure {other:?}: internal or throttle")),
        };
        match text(&doc, "operation")? {
            None => fake.fail_next(n, failure),
            Some("StartConfigurationSession") => {
                fake.fail_next_of(Operation::StartConfigurationSession, n, failure)
            }
            Some("GetLatestConfiguration") => {
                fake.fail_next_of(Operation::GetLatestConfiguration, n, failure)
            }
            Some(other) => return Err(format!("unknown operation {other:?}")),
        }
        Ok(json!({}))
    })())
}

async fn latency(State(fake): State<Fake>, body: Bytes) -> Response {
    answer((|| {
        let doc = object(&body)?;
        let millis = whole(&doc, "millis")?.ok_or("millis is required")?;
        fake.set_latency(Duration::from_millis(millis));
        Ok(json!({ "millis": millis }))
    })())
}

async fn counts(State(fake): State<Fake>, uri: Uri) -> Response {
    let q = query(&uri);
    let which = (q.get("application"), q.get("environment"), q.get("profile"));
    let (sessions, polls, deliveries) = match which {
        (None, None, None) => {
            let sessions = fake.sessions();
            (
                sessions.len(),
                sessions.iter().map(|s| s.polls).sum::<usize>(),
                sessions.iter().map(|s| s.deliveries).sum::<usize>(),
            )
        }
        (Some(app), Some(env), Some(profile)) => (
            fake.sessions_for(app, env, profile),
            fake.polls_for(app, env, profile),
            fake.deliveries_for(app, env, profile),
        ),
        _ => return bad("give all of application, environment and profile, or none"),
    };
    answer(Ok(json!({
        "start_configuration_session": fake.calls(Operation::StartConfigurationSession),
        "get_latest_configuration": fake.calls(Operation::GetLatestConfiguration),
        "violations": fake.violations().len(),
        "sessions": sessions,
        "polls": polls,
        "deliveries": deliveries,
    })))
}

async fn violations(State(fake): State<Fake>) -> Response {
    answer(Ok(json!(fake.violations())))
}

async fn ids(State(fake): State<Fake>, uri: Uri) -> Response {
    let q = query(&uri);
    let (Some(app), Some(env), Some(profile)) =
        (q.get("application"), q.get("environment"), q.get("profile"))
    else {
        return bad("application, environment and profile are required");
    };
    match fake.ids(app, env, profile) {
        Some(ids) => answer(Ok(ids_json(&ids))),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "error": "not found" })),
        )
            .into_response(),
    }
}
