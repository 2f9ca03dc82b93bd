//! The pure entry points the fuzz targets (`fuzz/fuzz_targets/`) call: sidecache's parsers and
//! checks of what a caller, Lambda or the environment sends, each a function of bytes (no
//! network, no runtime, no clock but where the production code reads one).
//!
//! Not an API: hidden from the docs, and nothing in the extension calls it. It re-exports what is
//! public already, wraps what is `pub(crate)`, and where a handler does its checks inline in an
//! async function that needs `App` (the JSON 1.1 inputs, the routing before the cache), repeats
//! those checks in the handler's order, calling the handler's own structs and helpers. Keep
//! [`front`] and [`json_input`] in step with `routes::dispatch`, `awsapi::json::answer`,
//! `awsapi::s3::answer` and `awsapi::appconfig::answer` (docs/reliability.md, "Fuzzing").

use crate::auth::{self, Asked, Auth, Caller, CredentialSource, Identity, Refusal, Signatures};
use crate::awsapi::{self, Api};
use crate::error::AppError;
use crate::model::{Service, Target};
use crate::routes::{Door, Endpoint, Reply, ReplyBody};
use axum::response::IntoResponse;
use bytes::Bytes;
use futures_util::FutureExt;
use http::{header, HeaderMap, HeaderName, Method};
use http_body_util::BodyExt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use crate::app::appconfig::{flag_value, is_flag_key, select_flags, Configuration};
pub use crate::auth::sigv4;
pub use crate::auth::{TokenSource, TOKEN_HEADER};
pub use crate::config::{Config, ConfigError, InvalidVar, PrefetchItem, ProfileId};
pub use crate::extensions_api::{ApiError, Event};
pub use crate::model::{
    ObjectRequest, ParameterRequest, ParametersRequest, PathRequest, SecretRequest,
    SecretsManyRequest, Selector,
};
pub use crate::object_files::file_name as s3_file_name;
pub use crate::query::appconfig::{flags as appconfig_flags, profile_path, ProfilePath};
pub use crate::query::{
    invalidate_request, many_request, object_request, parameter_request, path_request,
    secret_path_request, secret_request, secrets_many_request, Format, Invalidation, ReadOptions,
};

/// Where the last `:` of an SSM name starts a `:version` or `:label` selector (`query.rs`).
pub fn split_selector(full: &str) -> Result<(&str, Option<Selector>), AppError> {
    crate::query::split_selector(full)
}

/// `name` values SSM resolves into Secrets Manager (never a selector).
pub const SECRETS_REFERENCE: &str = crate::query::SECRETS_REFERENCE;

// ---------------------------------------------------------------------------------------------
// Query strings (query.rs, query/syntax.rs)

/// Every `key=value` piece of a query, split and decoded as `Pairs` splits and decodes it (the
/// spans of `query::syntax::split`, decoded only when marked encoded): what
/// `form_urlencoded::parse` yields, if the hand-written pass is right.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    use crate::query::syntax::{decode, split, Span};
    let text = |span: Span| {
        let raw = &query[span.start..span.end];
        if span.encoded {
            decode(raw)
        } else {
            raw.to_owned()
        }
    };
    let mut pairs = Vec::new();
    let _ = split(query, |key, value| {
        pairs.push((text(key), text(value)));
        Ok::<(), ()>(())
    });
    pairs
}

// ---------------------------------------------------------------------------------------------
// AppConfig (query/appconfig.rs, app/appconfig/flags.rs, config/appconfig.rs)

/// A received configuration, as the AppConfig service holds it.
pub fn configuration(content: Bytes, content_type: Option<String>) -> Configuration {
    Configuration::new(content, content_type, None, 1)
}

/// `AWS_APPCONFIG_EXTENSION_PREFETCH_LIST`'s items.
pub fn appconfig_profile(item: &str) -> Option<ProfileId> {
    crate::config::appconfig::parse_profile(item)
}

/// `AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS`'s forms (a bare number is seconds).
pub fn poll_interval(value: &str) -> Option<Duration> {
    crate::config::appconfig::parse_duration(value, crate::config::appconfig::Unit::Seconds)
}

/// `AWS_APPCONFIG_EXTENSION_POLL_TIMEOUT_MILLIS`'s forms (a bare number is milliseconds).
pub fn poll_timeout(value: &str) -> Option<Duration> {
    crate::config::appconfig::parse_duration(value, crate::config::appconfig::Unit::Millis)
}

// ---------------------------------------------------------------------------------------------
// S3's REST API (awsapi/s3.rs)

pub fn s3_bucket_and_key(path: &str) -> Result<(String, String), AppError> {
    awsapi::s3::bucket_and_key(path)
}

pub fn s3_version_id(query: Option<&str>) -> Result<Option<String>, AppError> {
    awsapi::s3::read_query(query)
}

/// A `Range` that starts past the object's end (416).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsatisfiable;

/// `Range` against an object of `size` bytes: (first, last), none (the whole object), or 416.
pub fn s3_range(value: &str, size: u64) -> Result<Option<(u64, u64)>, Unsatisfiable> {
    awsapi::s3::parse_range(value, size).map_err(|()| Unsatisfiable)
}

pub fn s3_etag_matches(wanted: &[u8], etag: &[u8]) -> bool {
    awsapi::s3::etag_matches(wanted, etag)
}

/// What the conditional headers `asked` decide against an object's `ETag` and `Last-Modified`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Holds,
    Failed,
    NotModified,
}

pub fn s3_preconditions(asked: &HeaderMap, object: &HeaderMap) -> Condition {
    match awsapi::s3::preconditions(asked, object) {
        awsapi::s3::Precondition::Holds => Condition::Holds,
        awsapi::s3::Precondition::Failed => Condition::Failed,
        awsapi::s3::Precondition::NotModified => Condition::NotModified,
    }
}

// ---------------------------------------------------------------------------------------------
// AWS JSON 1.1 inputs (awsapi/ssm.rs, awsapi/secrets.rs, awsapi/appconfig.rs)

/// What a JSON 1.1 read's body asks for once parsed and checked, as its handler reads it before
/// it asks `App`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonInput {
    GetParameter(ParameterRequest),
    GetParameters(ParametersRequest),
    GetParametersByPath {
        request: PathRequest,
        page_size: usize,
        /// The name the page starts after (our `NextToken`).
        after: Option<String>,
    },
    GetSecretValue(SecretRequest),
    BatchGetSecretValue(SecretsManyRequest),
    /// Handed to the service as it is (filters, paging, or another operation).
    Forwarded,
}

/// The body of `AmazonSSM.*` or `secretsmanager.*` (`target`) parsed with the handler's input
/// struct and checked in the handler's order (`Call::input`, then the handler's checks).
pub fn json_input(target: &str, body: &[u8]) -> Result<JsonInput, AppError> {
    use awsapi::json::{length, null, operation_name};
    use awsapi::{secrets, ssm};
    let service = awsapi::json::service_of(target).ok_or_else(|| {
        AppError::UnknownOperation(format!(
            "unknown operation `{}`",
            target.chars().take(200).collect::<String>()
        ))
    })?;
    let body: &[u8] = if body.is_empty() { b"{}" } else { body };
    fn input<'b, T: serde::Deserialize<'b>>(body: &'b [u8], target: &str) -> Result<T, AppError> {
        serde_json::from_slice(body).map_err(|e| {
            AppError::Serialization(format!(
                "the request body is not {}'s input: {e}",
                operation_name(target)
            ))
        })
    }
    let target_of = Target::default;
    Ok(match (service, operation_name(target)) {
        (Service::Ssm, "GetParameter") => {
            let input: ssm::GetParameterInput = input(body, target)?;
            let full = ssm::checked_name(input.name, "name")?;
            let (name, selector) = ssm::selected(&full)?;
            JsonInput::GetParameter(ParameterRequest {
                name: name.to_owned(),
                selector,
                with_decryption: input.with_decryption.unwrap_or(false),
                target: target_of(),
            })
        }
        (Service::Ssm, "GetParameters") => {
            let input: ssm::GetParametersInput = input(body, target)?;
            let names = input.names.ok_or_else(|| null("names"))?;
            length(names.len(), "names", 1, ssm::MAX_NAMES)?;
            for name in &names {
                length(name.chars().count(), "names.member", 1, 2048)?;
                ssm::selected(name)?;
            }
            JsonInput::GetParameters(ParametersRequest {
                names,
                with_decryption: input.with_decryption.unwrap_or(false),
                target: target_of(),
            })
        }
        (Service::Ssm, "GetParametersByPath") => {
            let input: ssm::GetParametersByPathInput = input(body, target)?;
            if input
                .parameter_filters
                .as_ref()
                .is_some_and(|f| !f.is_null() && f.as_array().is_none_or(|a| !a.is_empty()))
            {
                return Ok(JsonInput::Forwarded);
            }
            let path = ssm::checked_name(input.path, "path")?;
            let page_size = match input.max_results {
                None => ssm::MAX_PAGE,
                Some(n) if (1..=ssm::MAX_PAGE as i64).contains(&n) => n as usize,
                Some(_) => {
                    return Err(AppError::Validation(
                        "1 validation error detected: Value at 'maxResults' failed".into(),
                    ))
                }
            };
            let after = input
                .next_token
                .as_deref()
                .map(ssm::read_token)
                .transpose()?;
            JsonInput::GetParametersByPath {
                request: PathRequest {
                    path,
                    recursive: input.recursive.unwrap_or(false),
                    with_decryption: input.with_decryption.unwrap_or(false),
                    target: target_of(),
                },
                page_size,
                after,
            }
        }
        (Service::SecretsManager, "GetSecretValue") => {
            let input: secrets::GetSecretValueInput = input(body, target)?;
            let secret_id = input.secret_id.ok_or_else(|| null("secretId"))?;
            length(
                secret_id.chars().count(),
                "secretId",
                1,
                secrets::MAX_SECRET_ID,
            )?;
            if let Some(id) = &input.version_id {
                let (min, max) = secrets::VERSION_ID;
                length(id.chars().count(), "versionId", min, max)?;
            }
            if let Some(stage) = &input.version_stage {
                length(stage.chars().count(), "versionStage", 1, secrets::MAX_STAGE)?;
            }
            JsonInput::GetSecretValue(SecretRequest {
                secret_id,
                version_id: input.version_id,
                version_stage: input.version_stage,
                target: target_of(),
            })
        }
        (Service::SecretsManager, "BatchGetSecretValue") => {
            let input: secrets::BatchGetSecretValueInput = input(body, target)?;
            let by_filter = input.filters.as_ref().is_some_and(|f| !f.is_null());
            let Some(ids) = input
                .secret_id_list
                .filter(|_| !by_filter && input.next_token.is_none())
            else {
                return Ok(JsonInput::Forwarded);
            };
            length(ids.len(), "secretIdList", 1, secrets::MAX_IDS)?;
            for id in &ids {
                length(
                    id.chars().count(),
                    "secretIdList.member",
                    1,
                    secrets::MAX_SECRET_ID,
                )?;
            }
            JsonInput::BatchGetSecretValue(SecretsManyRequest {
                secret_ids: ids,
                version_stage: None,
                target: target_of(),
            })
        }
        _ => JsonInput::Forwarded,
    })
}

/// `GetParametersByPath`'s `NextToken` for a page that ended at `last_name`, and back.
pub fn ssm_page_token(last_name: &str) -> String {
    awsapi::ssm::write_token(last_name)
}

pub fn ssm_page_after(token: &str) -> Result<String, AppError> {
    awsapi::ssm::read_token(token)
}

pub use crate::awsapi::appconfig::Failure as AppConfigFailure;

/// What Cloud Extensions' `AppConfig.GetConfiguration` (`flag: false`) or `AppConfig.GetFlag`
/// (`flag: true`) asks for: application, environment, configuration and the flag, as
/// `awsapi::appconfig::answer` reads and checks its input.
pub fn appconfig_input(
    get_flag: bool,
    body: &[u8],
) -> Result<(String, String, String, Option<String>), AppConfigFailure> {
    use crate::awsapi::appconfig::Input;
    let input: Input =
        serde_json::from_slice(if body.is_empty() { b"{}" } else { body }).map_err(|e| {
            AppConfigFailure::Validation {
                reason: "CANNOT_PARSE",
                message: format!("the request body is not the operation's input: {e}"),
                problem: None,
            }
        })?;
    let field = |value: Option<String>, name: &'static str, max: usize| {
        let value = value.unwrap_or_default();
        if value.is_empty() || value.chars().count() > max {
            return Err(AppConfigFailure::Validation {
                reason: "FIELD_VALIDATION_FAILED",
                message: format!("{name} must be 1 to {max} characters"),
                problem: None,
            });
        }
        Ok(value)
    };
    let application = field(input.application, "application", 64)?;
    let environment = field(input.environment, "environment", 64)?;
    let configuration = field(input.configuration, "configuration", 128)?;
    let flag = if get_flag {
        let flag = field(input.flag, "flag", 64)?;
        if !is_flag_key(&flag) {
            return Err(AppConfigFailure::Validation {
                reason: "FIELD_VALIDATION_FAILED",
                message: "flag must match [a-z][a-zA-Z\\d_-]{0,63}".into(),
                problem: None,
            });
        }
        Some(flag)
    } else {
        None
    };
    Ok((application, environment, configuration, flag))
}

/// A Cloud Extensions AppConfig failure as that API answers it.
pub fn appconfig_error(failure: &AppConfigFailure) -> Reply {
    awsapi::appconfig::error_reply(failure)
}

/// An error as the JSON 1.1 API of `service` answers it.
pub fn json_error(service: Option<Service>, error: &AppError) -> Reply {
    awsapi::errors::json(service, error)
}

/// An error as S3's REST API answers it, for `resource`.
pub fn s3_error(error: &AppError, resource: &str, head: bool) -> Reply {
    awsapi::errors::s3(error, resource, head)
}

// ---------------------------------------------------------------------------------------------
// The Lambda Extensions API (extensions_api.rs)

/// A `/event/next` answer's body as `ExtensionsApi::next` reads it.
pub fn next_event(body: &[u8]) -> Result<Event, ApiError> {
    let raw: crate::extensions_api::RawEvent =
        serde_json::from_slice(body).map_err(|e| ApiError::Malformed {
            path: "/event/next",
            reason: e.to_string(),
        })?;
    Ok(if raw.event_type.eq_ignore_ascii_case("SHUTDOWN") {
        Event::Shutdown {
            reason: raw.shutdown_reason.to_ascii_lowercase(),
            deadline_ms: raw.deadline_ms,
        }
    } else {
        Event::Invoke
    })
}

/// `AWS_LAMBDA_RUNTIME_API` as the root every Extensions API call goes under.
pub fn runtime_api_root(runtime_api: &str) -> String {
    crate::extensions_api::api_root(runtime_api)
}

// ---------------------------------------------------------------------------------------------
// Requests as routing sees them (server.rs, routes.rs, awsapi.rs, auth.rs)

/// Credentials that are there at once: signatures are checked without waiting.
struct Ready(Identity);

impl CredentialSource for Ready {
    fn credentials(&self) -> Pin<Box<dyn Future<Output = Option<Identity>> + Send + '_>> {
        let identity = self.0.clone();
        Box::pin(async move { Some(identity) })
    }
}

/// Who may read: the fixed `token`, or a signature with these credentials.
pub fn auth(token: &[u8], identity: Identity) -> Auth {
    Auth {
        token: TokenSource::Fixed(token.into()),
        signatures: Signatures::new(Arc::new(Ready(identity))),
    }
}

pub use crate::auth::Identity as Credentials;
pub use crate::routes::Door as Listener;

/// `auth::authorize` of a request whose body hashes to `payload_hash`.
pub fn authorize(
    auth: &Auth,
    request: &http::Request<Bytes>,
    payload_hash: &str,
) -> Result<Caller, AppError> {
    authorized(auth, &asked(request, payload_hash))
}

/// `auth::authorize`, which never waits with a fixed token and ready credentials.
fn authorized(auth: &Auth, asked: &Asked) -> Result<Caller, AppError> {
    auth::authorize(auth, asked)
        .now_or_never()
        .expect("authorize does not wait with a fixed token and ready credentials")
        .map_err(AppError::from)
}

/// Everything sidecache answers about `request` before it reads the cache or calls AWS, in the
/// server's order (`awsapi::recognise`, then the route table): every refusal (unknown path,
/// method, forwarded, token, signature, malformed query, path or body), rendered as that
/// listener and API render it; `/ping` answered. `None`: the request is good, and `App` would
/// now be asked.
pub fn front(auth: &Auth, door: Door, request: &http::Request<Bytes>) -> Option<Reply> {
    if let Some(api) = awsapi::recognise(request).filter(|_| door != Door::Agent) {
        return match api {
            Api::Json => json_front(auth, door, request),
            Api::S3 => s3_front(auth, request),
        };
    }
    routes_front(auth, door, request)
}

const X_AMZ_TARGET: HeaderName = HeaderName::from_static("x-amz-target");

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> &str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn is_json_11(headers: &HeaderMap) -> bool {
    let content_type = header_str(headers, header::CONTENT_TYPE);
    let media = content_type.split(';').next().unwrap_or("").trim();
    media.eq_ignore_ascii_case("application/x-amz-json-1.1")
}

fn asked<'a>(request: &'a http::Request<Bytes>, payload_hash: &'a str) -> Asked<'a> {
    Asked {
        method: request.method().as_str(),
        path: request.uri().path(),
        query: request.uri().query(),
        headers: request.headers(),
        payload_hash,
    }
}

/// `awsapi::json::serve` and `answer` up to the operation's handler (then `json_input`).
fn json_front(auth: &Auth, door: Door, request: &http::Request<Bytes>) -> Option<Reply> {
    let headers = request.headers();
    let target = headers
        .get(X_AMZ_TARGET)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if headers
        .get(X_AMZ_TARGET)
        .is_some_and(|t| t.as_bytes().starts_with(b"AppConfig."))
    {
        return appconfig_front(auth, door, request)
            .err()
            .map(|f| appconfig_error(&f));
    }
    let service = awsapi::json::service_of(target);
    let answer = || -> Result<(), AppError> {
        let path = request.uri().path();
        if !awsapi::json::PATHS.contains(&path) {
            return Err(AppError::UnknownOperation(format!(
                "no AWS JSON API at {}: post to / (or /parameterstore)",
                path.chars().take(200).collect::<String>()
            )));
        }
        let Some(service) = service else {
            return Err(AppError::UnknownOperation(format!(
                "unknown operation `{}`: sidecache speaks AmazonSSM.* and secretsmanager.*",
                target.chars().take(200).collect::<String>()
            )));
        };
        if !is_json_11(headers) {
            return Err(AppError::Serialization(
                "Content-Type must be application/x-amz-json-1.1".into(),
            ));
        }
        let body = request.body();
        if body.len() > awsapi::MAX_BODY {
            return Err(AppError::BodyTooLarge {
                limit: awsapi::MAX_BODY,
            });
        }
        let hash = awsapi::payload_hash(headers, body);
        let caller = authorized(auth, &asked(request, &hash))?;
        let expected = match service {
            Service::Ssm => "ssm",
            _ => "secretsmanager",
        };
        if let Some(signed) = caller.signed_service.as_deref() {
            if signed != expected {
                return Err(AppError::Signature(Refusal::WrongService {
                    signed: signed.to_owned(),
                    expected,
                }));
            }
        }
        json_input(target, body).map(|_| ())
    };
    answer().err().map(|e| json_error(service, &e))
}

/// `awsapi::appconfig::answer` up to reading the profile.
fn appconfig_front(
    auth: &Auth,
    door: Door,
    request: &http::Request<Bytes>,
) -> Result<(), AppConfigFailure> {
    let unknown = |message: String| AppConfigFailure::Validation {
        reason: "UNKNOWN_OPERATION",
        message,
        problem: None,
    };
    let headers = request.headers();
    let get_flag = match header_str(headers, X_AMZ_TARGET) {
        "AppConfig.GetConfiguration" => false,
        "AppConfig.GetFlag" => true,
        other => {
            return Err(unknown(format!(
                "no operation {}",
                other.chars().take(100).collect::<String>()
            )))
        }
    };
    if !awsapi::appconfig::PATHS.contains(&request.uri().path()) {
        return Err(unknown("AppConfig's API is at POST /appconfig/".into()));
    }
    if !is_json_11(headers) {
        return Err(unknown(
            "Content-Type must be application/x-amz-json-1.1".into(),
        ));
    }
    let body = request.body();
    if body.len() > awsapi::MAX_BODY {
        return Err(AppError::BodyTooLarge {
            limit: awsapi::MAX_BODY,
        }
        .into());
    }
    if door == Door::CloudExtensions {
        auth::not_forwarded(headers)?;
    } else {
        let hash = awsapi::payload_hash(headers, body);
        let caller = authorized(auth, &asked(request, &hash))?;
        if let Some(signed) = caller.signed_service.filter(|s| s != "appconfig") {
            return Err(AppError::Signature(Refusal::WrongService {
                signed,
                expected: "appconfig",
            })
            .into());
        }
    }
    appconfig_input(get_flag, body).map(|_| ())
}

/// `awsapi::s3::answer` up to reading the object.
fn s3_front(auth: &Auth, request: &http::Request<Bytes>) -> Option<Reply> {
    let head = request.method() == Method::HEAD;
    let path = request.uri().path();
    let answer = || -> Result<(), AppError> {
        let claimed = request
            .headers()
            .get(auth::CONTENT_SHA256)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(auth::EMPTY_SHA256);
        authorized(auth, &asked(request, claimed))?;
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            return Err(AppError::NotImplemented(format!(
                "{} is not proxied",
                request.method()
            )));
        }
        if claimed != auth::EMPTY_SHA256 && claimed != sigv4::UNSIGNED_PAYLOAD {
            return Err(AppError::InvalidParameter {
                name: "x-amz-content-sha256".into(),
                reason: "a GET or HEAD has no body to hash".into(),
            });
        }
        s3_bucket_and_key(path)?;
        s3_version_id(request.uri().query())?;
        Ok(())
    };
    answer().err().map(|e| s3_error(&e, path, head))
}

/// `routes::dispatch` (which `answer_hit` only shortens) up to asking `App`.
fn routes_front(auth: &Auth, door: Door, request: &http::Request<Bytes>) -> Option<Reply> {
    let path = request.uri().path();
    let render = |error: AppError| match door {
        Door::Agent => crate::routes::appconfig::agent_error(&error),
        _ => error.into_response().map(ReplyBody::Axum),
    };
    let found = crate::routes::endpoint(path)
        .filter(|(endpoint, _)| door != Door::Agent || endpoint.on_agent_port());
    let Some((endpoint, method)) = found else {
        return Some(render(AppError::UnknownEndpoint(
            path.chars().take(200).collect(),
        )));
    };
    let allowed =
        request.method() == method || (method == Method::GET && request.method() == Method::HEAD);
    if !allowed {
        return Some(crate::routes::method_not_allowed(&method));
    }
    let headers = request.headers();
    let checked = match endpoint {
        Endpoint::Ping => auth::not_forwarded(headers).map_err(AppError::from),
        Endpoint::AppConfig if door == Door::Agent => {
            auth::not_forwarded(headers).map_err(AppError::from)
        }
        _ => authorized(auth, &asked(request, auth::EMPTY_SHA256)).map(|_| ()),
    };
    if let Err(error) = checked {
        return Some(render(error));
    }
    let query = request.uri().query();
    let parsed = match endpoint {
        Endpoint::Ping => return Some(crate::routes::ping()),
        Endpoint::Parameter => crate::query::parameter_request(query).map(|_| ()),
        Endpoint::ParametersMany => crate::query::many_request(query).map(|_| ()),
        Endpoint::ParametersByPath => crate::query::path_request(query).map(|_| ()),
        Endpoint::Secret => crate::query::secret_request(query).map(|_| ()),
        Endpoint::SecretAt(at) => crate::query::secret_path_request(&path[at..], query).map(|_| ()),
        Endpoint::SecretsMany => crate::query::secrets_many_request(query).map(|_| ()),
        Endpoint::Object => crate::query::object_request(query).map(|_| ()),
        Endpoint::Invalidate => crate::query::invalidate_request(query).map(|_| ()),
        Endpoint::Stats => Ok(()),
        Endpoint::AppConfig => profile_path(path)
            .and_then(|_| appconfig_flags(query))
            .map(|_| ()),
    };
    parsed.err().map(render)
}

/// A reply as bytes on the wire would carry it: status, header names and values, body.
pub struct Rendered {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Rendered {
    /// Whether `needle` appears anywhere in the answer.
    pub fn contains(&self, needle: &[u8]) -> bool {
        let within = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        within(&self.body)
            || self
                .headers
                .iter()
                .any(|(name, value)| within(name.as_bytes()) || within(value))
    }
}

/// Collects a reply's body (every body sidecache renders before `App` is whole at once).
pub fn rendered(reply: Reply) -> Rendered {
    let (parts, body) = reply.into_parts();
    let body = body
        .collect()
        .now_or_never()
        .expect("a rendered answer's body is ready")
        .map(|collected| collected.to_bytes().to_vec())
        .unwrap_or_default();
    Rendered {
        status: parts.status.as_u16(),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
            .collect(),
        body,
    }
}
