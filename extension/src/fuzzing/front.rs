//! Requests as routing sees them (server.rs, routes.rs, awsapi.rs, auth.rs): everything
//! sidecache answers before it reads the cache, repeated in the server's order: keep in step with
//! `routes::dispatch` and the `awsapi` handlers.

use super::{
    appconfig_error, appconfig_flags, appconfig_input, json_error, json_input, profile_path,
    s3_bucket_and_key, s3_error, s3_version_id, sigv4, AppConfigFailure, TokenSource,
};
use crate::auth::{self, Asked, Auth, Caller, CredentialSource, Identity, Refusal, Signatures};
use crate::awsapi::{self, Api};
use crate::error::AppError;
use crate::model::Service;
use crate::routes::{Door, Endpoint, Reply, ReplyBody};
use axum::response::IntoResponse;
use bytes::Bytes;
use futures_util::FutureExt;
use http::{header, HeaderMap, HeaderName, Method};
use http_body_util::BodyExt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

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
        let (service, _) =
            awsapi::json::check_head(request.uri().path(), service, target, headers)?;
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
