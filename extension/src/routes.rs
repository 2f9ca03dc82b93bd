//! Every endpoint in one table (`dispatch`), and the handlers: check who asks, parse the query,
//! ask `App`, shape the response. Nothing else.
//!
//! Dispatch is a `match` on the path rather than axum's router and extractors: a cache hit is
//! a map lookup plus sending stored bytes, and routing through axum cost more than that
//! (docs/performance.md). hyper still parses and writes HTTP; axum still shapes errors and
//! JSON documents.

pub(crate) mod appconfig;
mod body;

pub use body::{Reply, ReplyBody};

use crate::app::{App, VERSION};
use crate::auth::{self, Asked, EMPTY_SHA256};
use crate::cache::{Entry, Outcome};
use crate::error::AppError;
use crate::query::{self, Format};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;
use std::sync::{LazyLock, OnceLock};
use std::time::Duration;
use tokio_util::io::ReaderStream;

const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// Which listener a request came in on: what it may ask for, and with which proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` (2773): everything, with the token header or a
    /// signature.
    Main,
    /// Cloud Extensions' port (5333, when asked for): what the main port serves, and its
    /// AppConfig API (`POST /appconfig/`) without a token, as Cloud Extensions' own example calls it.
    CloudExtensions,
    /// The AppConfig Agent's port (2772): the agent's route and `/ping`, without a token, as
    /// the agent serves them; loopback only.
    Agent,
}
const JSON: HeaderValue = HeaderValue::from_static("application/json");
/// The Secrets Manager Agent's path form: `GET /v1/<secretId>`.
const SECRET_AT: &str = "/v1/";
/// Cloud Extensions' path form: `GET /secretsmanager/<secretId>` (`get` is the query form).
const SECRET_UNDER: &str = "/secretsmanager/";

/// What a path names. Value endpoints answer with or without a trailing `/`, as the AWS
/// extension does.
#[derive(Clone, Copy)]
pub(crate) enum Endpoint {
    Ping,
    Parameter,
    ParametersMany,
    ParametersByPath,
    Secret,
    /// `/v1/<secretId>` (the Secrets Manager Agent's path form of `Secret`) and
    /// `/secretsmanager/<secretId>` (Cloud Extensions'); the id starts at the offset.
    SecretAt(usize),
    SecretsMany,
    Object,
    Stats,
    Invalidate,
    /// The AppConfig Agent's `/applications/{app}/environments/{env}/configurations/{profile}`.
    AppConfig,
}

impl Endpoint {
    /// What the AppConfig Agent's port serves.
    pub(crate) fn on_agent_port(self) -> bool {
        matches!(self, Endpoint::Ping | Endpoint::AppConfig)
    }
}

/// The route table: every endpoint and the one method it answers (GET also answers HEAD).
pub(crate) fn endpoint(path: &str) -> Option<(Endpoint, Method)> {
    use Endpoint::*;
    Some(match path {
        "/ping" => (Ping, Method::GET),
        "/systemsmanager/parameters/get" | "/systemsmanager/parameters/get/" => {
            (Parameter, Method::GET)
        }
        "/systemsmanager/parameters/get-many" | "/systemsmanager/parameters/get-many/" => {
            (ParametersMany, Method::GET)
        }
        "/systemsmanager/parameters/by-path" | "/systemsmanager/parameters/by-path/" => {
            (ParametersByPath, Method::GET)
        }
        "/secretsmanager/get" | "/secretsmanager/get/" => (Secret, Method::GET),
        "/secretsmanager/get-many" | "/secretsmanager/get-many/" => (SecretsMany, Method::GET),
        "/s3/get" | "/s3/get/" => (Object, Method::GET),
        "/stats" => (Stats, Method::GET),
        "/cache/invalidate" => (Invalidate, Method::POST),
        _ if path.starts_with(SECRET_AT) => (SecretAt(SECRET_AT.len()), Method::GET),
        _ if path.starts_with(SECRET_UNDER) => (SecretAt(SECRET_UNDER.len()), Method::GET),
        _ if path.starts_with("/applications/") => (AppConfig, Method::GET),
        _ => return None,
    })
}

/// Answers one request from the table (the server sends requests in AWS's own APIs to
/// `awsapi` first). Unknown paths are 404 and wrong methods 405 before any token check.
pub async fn dispatch<B>(app: &App, door: Door, request: &http::Request<B>) -> Reply {
    let path = request.uri().path();
    let found =
        endpoint(path).filter(|(endpoint, _)| door != Door::Agent || endpoint.on_agent_port());
    let Some((endpoint, method)) = found else {
        let unknown = AppError::UnknownEndpoint(path.chars().take(200).collect());
        return match door {
            Door::Agent => appconfig::agent_error(&unknown),
            _ => error(unknown),
        };
    };
    let allowed =
        request.method() == method || (method == Method::GET && request.method() == Method::HEAD);
    if !allowed {
        return method_not_allowed(&method);
    }
    let headers = request.headers();
    let checked = match endpoint {
        Endpoint::Ping => auth::not_forwarded(headers),
        Endpoint::AppConfig if door == Door::Agent => auth::not_forwarded(headers),
        // The token header, or (Cloud Extensions' clients) a signature over the GET.
        _ => auth::authorize(
            &app.auth,
            &Asked {
                method: request.method().as_str(),
                path,
                query: request.uri().query(),
                headers,
                payload_hash: EMPTY_SHA256,
            },
        )
        .await
        .map(|_| ()),
    }
    .map_err(AppError::from);
    if let Err(e) = checked {
        return match door {
            Door::Agent => appconfig::agent_error(&e),
            _ => error(e),
        };
    }
    let query = request.uri().query();
    let answer = match endpoint {
        Endpoint::Ping => Ok(ping()),
        Endpoint::Parameter => get_parameter(app, query).await,
        Endpoint::ParametersMany => get_parameters_many(app, query).await,
        Endpoint::ParametersByPath => get_parameters_by_path(app, query).await,
        Endpoint::Secret => get_secret(app, query).await,
        Endpoint::SecretAt(at) => get_secret_at(app, &path[at..], query).await,
        Endpoint::SecretsMany => get_secrets_many(app, query).await,
        Endpoint::Object => get_object(app, query).await,
        Endpoint::Stats => Ok(body::from_axum(Json(app.stats_report()).into_response())),
        Endpoint::Invalidate => invalidate(app, query),
        Endpoint::AppConfig => Ok(appconfig::get(app, door, path, query).await),
    };
    answer.unwrap_or_else(error)
}

/// A request answered on the spot, without a future: `/ping`, and a fresh cached value of a
/// single read. `None` sends the request to `dispatch`, which answers everything else
/// (misses, errors, HEAD, S3 files to open, a token that may need refreshing) and answers
/// these the same way, only slower: a hit's future was most of the work (docs/performance.md).
pub fn answer_hit<B>(app: &App, door: Door, request: &http::Request<B>) -> Option<Reply> {
    if request.method() != Method::GET {
        return None;
    }
    let path = request.uri().path();
    let (endpoint, _) = endpoint(path)?;
    let headers = request.headers();
    let query = request.uri().query();
    match (endpoint, door) {
        (Endpoint::Ping, _) => return auth::not_forwarded(headers).is_ok().then(ping),
        (Endpoint::AppConfig, Door::Agent) => {
            auth::not_forwarded(headers).ok()?;
            return appconfig::hit(app, path, query);
        }
        (_, Door::Agent) => return None,
        _ => {}
    }
    if !auth::authorized_now(&app.auth.token, headers) {
        return None;
    }
    let ((entry, age), format) = match endpoint {
        Endpoint::Parameter => {
            let (request, options) = query::parameter_request(query).ok()?;
            (app.cached_parameter(&request, options)?, options.format)
        }
        Endpoint::ParametersByPath => {
            let (request, options) = query::path_request(query).ok()?;
            (app.cached_path(&request, options)?, options.format)
        }
        Endpoint::Secret => {
            let (request, options) = query::secret_request(query).ok()?;
            (app.cached_secret(&request, options)?, options.format)
        }
        Endpoint::SecretAt(at) => {
            let id = &request.uri().path()[at..];
            let (request, options) = query::secret_path_request(id, query).ok()?;
            (app.cached_secret(&request, options)?, options.format)
        }
        Endpoint::Object => {
            let (request, options) = query::object_request(query).ok()?;
            if options.format == Format::Raw {
                return None; // a file to open and stream
            }
            (app.cached_object(&request, options)?, options.format)
        }
        Endpoint::AppConfig => return appconfig::hit(app, path, query),
        _ => return None,
    };
    Some(value_response(&entry, Outcome::Hit, format, age))
}

fn error(error: AppError) -> Reply {
    body::from_axum(error.into_response())
}

/// As axum answers a known path asked with another method: 405, `Allow`, no body.
pub(crate) fn method_not_allowed(method: &Method) -> Reply {
    let allow = if method == Method::GET {
        HeaderValue::from_static("GET,HEAD")
    } else {
        HeaderValue::from_static("POST")
    };
    let mut response = Reply::new(ReplyBody::Full(None));
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response.headers_mut().insert(header::ALLOW, allow);
    response
}

pub(crate) fn ping() -> Reply {
    static BODY: LazyLock<bytes::Bytes> = LazyLock::new(|| {
        serde_json::to_vec(&json!({"status": "ok", "version": VERSION}))
            .expect("ping body serialises")
            .into()
    });
    let mut response = Reply::new(ReplyBody::full(BODY.clone()));
    response.headers_mut().insert(header::CONTENT_TYPE, JSON);
    response
}

async fn get_parameter(app: &App, query: Option<&str>) -> Result<Reply, AppError> {
    let (request, options) = query::parameter_request(query)?;
    let (entry, outcome) = app.parameter(&request, options).await?;
    Ok(value_response(&entry, outcome, options.format, entry.age()))
}

async fn get_parameters_many(app: &App, query: Option<&str>) -> Result<Reply, AppError> {
    let (request, options) = query::many_request(query)?;
    let (body, outcome) = app.parameters_many(&request, options).await?;
    Ok(list_response(body, outcome))
}

async fn get_secrets_many(app: &App, query: Option<&str>) -> Result<Reply, AppError> {
    let (request, options) = query::secrets_many_request(query)?;
    let (body, outcome) = app.secrets_many(&request, options).await?;
    Ok(list_response(body, outcome))
}

/// A batch answer: values of several ages, so no single `Age`; `hit` only when none was fetched.
fn list_response(body: bytes::Bytes, outcome: Outcome) -> Reply {
    let mut response = Reply::new(ReplyBody::full(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, JSON);
    headers.insert(X_CACHE, HeaderValue::from_static(outcome.as_str()));
    response
}

async fn get_parameters_by_path(app: &App, query: Option<&str>) -> Result<Reply, AppError> {
    let (request, options) = query::path_request(query)?;
    let (entry, outcome) = app.parameters_by_path(&request, options).await?;
    Ok(value_response(&entry, outcome, options.format, entry.age()))
}

async fn get_secret(app: &App, query: Option<&str>) -> Result<Reply, AppError> {
    let (request, options) = query::secret_request(query)?;
    let (entry, outcome) = app.secret(&request, options).await?;
    Ok(value_response(&entry, outcome, options.format, entry.age()))
}

async fn get_secret_at(app: &App, id: &str, query: Option<&str>) -> Result<Reply, AppError> {
    let (request, options) = query::secret_path_request(id, query)?;
    let (entry, outcome) = app.secret(&request, options).await?;
    Ok(value_response(&entry, outcome, options.format, entry.age()))
}

async fn get_object(app: &App, query: Option<&str>) -> Result<Reply, AppError> {
    let (request, options) = query::object_request(query)?;
    if options.format != Format::Raw {
        let (entry, outcome) = app.object(&request, options).await?;
        return Ok(value_response(&entry, outcome, options.format, entry.age()));
    }
    // Boxed: the file operations' futures would otherwise make every request's future (boxed
    // per request by the connection) twice as large.
    Box::pin(async {
        match app.object_opened(&request, options).await? {
            (entry, outcome, Some(file)) => file_response(&entry, file, outcome).await,
            (entry, outcome, None) => {
                Ok(value_response(&entry, outcome, options.format, entry.age()))
            }
        }
    })
    .await
}

async fn file_response(
    entry: &Entry,
    file: std::fs::File,
    outcome: Outcome,
) -> Result<Reply, AppError> {
    // Opened already: should a refresh rename a new version over the path, this response
    // still reads the old file to its end.
    let handle = tokio::fs::File::from_std(file);
    let length = handle.metadata().await.map(|m| m.len()).ok();
    let stream = ReaderStream::with_capacity(handle, 64 << 10);
    let mut response = Reply::new(ReplyBody::Axum(axum::body::Body::from_stream(stream)));
    set_headers(
        &mut response,
        outcome,
        entry.raw_content_type.clone(),
        entry.age(),
    );
    if let Some(length) = length {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    Ok(response)
}

fn invalidate(app: &App, query: Option<&str>) -> Result<Reply, AppError> {
    let what = query::invalidate_request(query)?;
    let document = Json(json!({ "invalidated": app.invalidate(&what) }));
    Ok(body::from_axum(document.into_response()))
}

/// The cached bytes as they are: a reference-count increment, no copy, no serialisation.
/// `age`: the entry's, read once by whoever looked it up.
fn value_response(entry: &Entry, outcome: Outcome, format: Format, age: Duration) -> Reply {
    let (body, content_type) = match format {
        Format::Json => (entry.json.clone(), JSON),
        Format::Raw => (entry.raw.clone(), entry.raw_content_type.clone()),
    };
    let mut response = Reply::new(ReplyBody::full(body));
    set_headers(&mut response, outcome, content_type, age);
    response
}

fn set_headers(response: &mut Reply, outcome: Outcome, content_type: HeaderValue, age: Duration) {
    let headers = response.headers_mut();
    let age = age_header(age.as_secs());
    if content_type == JSON {
        *headers = json_headers(outcome);
        // The made map's `Age`, found by walking three entries rather than hashing its name.
        if let Some((_, value)) = headers.iter_mut().find(|(name, _)| *name == header::AGE) {
            *value = age;
        }
    } else {
        headers.reserve(3);
        headers.insert(header::CONTENT_TYPE, content_type);
        headers.insert(X_CACHE, HeaderValue::from_static(outcome.as_str()));
        headers.insert(header::AGE, age);
    }
}

/// `Content-Type: application/json`, `X-Cache` and an `Age` to replace, made once per outcome.
/// Cloning a made map is two allocations and a copy; making it hashed and inserted each header
/// (~1,000 instructions more per hit).
fn json_headers(outcome: Outcome) -> HeaderMap {
    const OUTCOMES: [Outcome; 4] = [
        Outcome::Hit,
        Outcome::Miss,
        Outcome::Refresh,
        Outcome::Stale,
    ];
    static MADE: LazyLock<[HeaderMap; 4]> = LazyLock::new(|| {
        OUTCOMES.map(|outcome| {
            // Room for more than three: http grows a full map before any insert, even one that
            // replaces a value, and a clone keeps the index's size.
            let mut headers = HeaderMap::with_capacity(4);
            headers.insert(header::CONTENT_TYPE, JSON);
            headers.insert(X_CACHE, HeaderValue::from_static(outcome.as_str()));
            headers.insert(header::AGE, HeaderValue::from_static("0"));
            headers
        })
    });
    let index = OUTCOMES.iter().position(|o| *o == outcome);
    MADE[index.expect("every outcome is listed")].clone()
}

/// `Age` values for the first hour, each made on first use: formatting an integer header
/// allocates, and nearly every hit falls in this range. (Making all 3,600 at once cost 2 M
/// instructions on the first hit, in the middle of a cold start.)
pub(crate) fn age_header(seconds: u64) -> HeaderValue {
    const HOUR: usize = 3600;
    static AGES: [OnceLock<HeaderValue>; HOUR] = [const { OnceLock::new() }; HOUR];
    match AGES.get(seconds as usize) {
        Some(cell) => cell.get_or_init(|| HeaderValue::from(seconds)).clone(),
        None => HeaderValue::from(seconds),
    }
}
