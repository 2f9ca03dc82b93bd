//! Cloud Extensions' AppConfig API (`appconfigcloudextension` 2024-10-09, AWS JSON 1.1,
//! target prefix `AppConfig`): `POST /appconfig/` with `AppConfig.GetConfiguration` (the
//! configuration as base64 `content`, its `contentType`, a `revision` that changes with it, and
//! `versionLabel`) and `AppConfig.GetFlag` (a basic flag's `enabled` and its attributes in the
//! API's tagged form). Answered from the same profiles as the agent's route, with that API's
//! errors (`ValidationException` with `reason` and `errors`, `ServiceUnavailableException`,
//! `BadGatewayException`, ...).
//!
//! On Cloud Extensions' port no token is asked, as its own Lambda example calls it (profile
//! auth `none`); on sidecache's main port the token header or a signature for `appconfig`.

use super::{payload_hash, read_body, REQUEST_ID_JSON, X_AMZ_TARGET};
use crate::app::appconfig::{flag_value, is_flag_key, ProfileRef};
use crate::app::App;
use crate::auth::{self, Asked, Refusal};
use crate::error::AppError;
use crate::routes::{Door, Reply, ReplyBody};
use base64::Engine;
use bytes::Bytes;
use http::{header, HeaderName, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub(crate) const PATHS: [&str; 3] = ["/appconfig/", "/appconfig", "/"];
const ERROR_TYPE: HeaderName = HeaderName::from_static("x-amzn-errortype");
const JSON_11: HeaderValue = HeaderValue::from_static("application/x-amz-json-1.1");
/// The extension Cloud Extensions names in its errors.
const EXTENSION: &str = "aws:appconfig";

pub async fn serve<B>(app: &App, door: Door, request: http::Request<B>) -> Reply
where
    B: http_body::Body<Data = Bytes> + Send + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = request.into_parts();
    match answer(app, door, &parts, body).await {
        Ok(reply) => reply,
        Err(error) => error_reply(&error),
    }
}

/// Why a request failed, in the API's own terms.
#[derive(Debug)]
pub enum Failure {
    Validation {
        reason: &'static str,
        message: String,
        problem: Option<(&'static str, Option<String>)>,
    },
    App(AppError),
}

impl From<AppError> for Failure {
    fn from(error: AppError) -> Self {
        Failure::App(error)
    }
}

impl From<auth::Denied> for Failure {
    fn from(denied: auth::Denied) -> Self {
        Failure::App(denied.into())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    application: Option<String>,
    environment: Option<String>,
    configuration: Option<String>,
    flag: Option<String>,
    #[allow(dead_code)] // Variant rules are not evaluated (SPEC): basic flags ignore context.
    context: Option<Map<String, Value>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigurationOutput<'a> {
    content: String,
    content_type: &'a str,
    revision: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_label: Option<&'a str>,
}

#[derive(Serialize)]
struct FlagOutput {
    enabled: bool,
    #[serde(skip_serializing_if = "Map::is_empty")]
    attributes: Map<String, Value>,
}

async fn answer<B>(
    app: &App,
    door: Door,
    parts: &http::request::Parts,
    body: B,
) -> Result<Reply, Failure>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let unknown = |message: String| Failure::Validation {
        reason: "UNKNOWN_OPERATION",
        message,
        problem: None,
    };
    let target = parts
        .headers
        .get(X_AMZ_TARGET)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let operation = match target {
        "AppConfig.GetConfiguration" => Operation::GetConfiguration,
        "AppConfig.GetFlag" => Operation::GetFlag,
        other => {
            return Err(unknown(format!(
                "no operation {}",
                other.chars().take(100).collect::<String>()
            )))
        }
    };
    if !PATHS.contains(&parts.uri.path()) {
        return Err(unknown("AppConfig's API is at POST /appconfig/".into()));
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/x-amz-json-1.1") {
        return Err(unknown(
            "Content-Type must be application/x-amz-json-1.1".into(),
        ));
    }
    let body = read_body(body).await?;
    if door == Door::CloudExtensions {
        auth::not_forwarded(&parts.headers)?;
    } else {
        let hash = payload_hash(&parts.headers, &body);
        let caller = auth::authorize(
            &app.auth,
            &Asked {
                method: parts.method.as_str(),
                path: parts.uri.path(),
                query: parts.uri.query(),
                headers: &parts.headers,
                payload_hash: &hash,
            },
        )
        .await?;
        if let Some(signed) = caller.signed_service.filter(|s| s != "appconfig") {
            return Err(AppError::Signature(Refusal::WrongService {
                signed,
                expected: "appconfig",
            })
            .into());
        }
    }
    let asked = read_input(&operation, &body)?;
    let profile = ProfileRef {
        application: &asked.application,
        environment: &asked.environment,
        profile: &asked.configuration,
    };
    let flag = asked.flag;
    let (held, _, _) = app.appconfig.get(profile).await?;
    let json = match flag {
        None => serde_json::to_vec(&ConfigurationOutput {
            content: base64::engine::general_purpose::STANDARD.encode(&held.content),
            content_type: held
                .content_type
                .to_str()
                .unwrap_or("application/octet-stream"),
            revision: held.version.to_string(),
            version_label: held.version_label.as_deref(),
        }),
        Some(flag) => {
            let (enabled, attributes) = flag_value(&held, &flag).map_err(|e| match e {
                AppError::UnknownFlag(_) => Failure::Validation {
                    reason: "FIELD_VALIDATION_FAILED",
                    message: e.to_string(),
                    problem: Some(("FLAG_NOT_FOUND", Some(flag.clone()))),
                },
                AppError::InvalidParameter { .. } => Failure::Validation {
                    reason: "FIELD_VALIDATION_FAILED",
                    message: e.to_string(),
                    problem: Some(("FLAG_UNREADABLE", Some(asked.configuration.clone()))),
                },
                other => Failure::App(other),
            })?;
            serde_json::to_vec(&FlagOutput {
                enabled,
                attributes,
            })
        }
    };
    let mut reply = Reply::new(ReplyBody::full(Bytes::from(json.expect("serialises"))));
    reply.headers_mut().insert(header::CONTENT_TYPE, JSON_11);
    reply
        .headers_mut()
        .insert(REQUEST_ID_JSON, super::request_id());
    Ok(reply)
}

/// What a request's body asks for, read and checked.
pub(crate) struct ProfileInput {
    pub(crate) application: String,
    pub(crate) environment: String,
    pub(crate) configuration: String,
    /// `GetFlag`'s flag key.
    pub(crate) flag: Option<String>,
}

/// The body of `operation`, read and checked with AWS's limits and reasons.
pub(crate) fn read_input(operation: &Operation, body: &[u8]) -> Result<ProfileInput, Failure> {
    let input: Input =
        serde_json::from_slice(if body.is_empty() { b"{}" } else { body }).map_err(|e| {
            Failure::Validation {
                reason: "CANNOT_PARSE",
                message: format!("the request body is not the operation's input: {e}"),
                problem: None,
            }
        })?;
    let field = |value: Option<String>, name: &'static str, max: usize| {
        let value = value.unwrap_or_default();
        if value.is_empty() || value.chars().count() > max {
            return Err(Failure::Validation {
                reason: "FIELD_VALIDATION_FAILED",
                message: format!("{name} must be 1 to {max} characters"),
                problem: None,
            });
        }
        Ok(value)
    };
    // In AWS's order: the profile's three names, then the flag.
    let application = field(input.application, "application", 64)?;
    let environment = field(input.environment, "environment", 64)?;
    let configuration = field(input.configuration, "configuration", 128)?;
    let flag = match operation {
        Operation::GetFlag => {
            let flag = field(input.flag, "flag", 64)?;
            if !is_flag_key(&flag) {
                return Err(Failure::Validation {
                    reason: "FIELD_VALIDATION_FAILED",
                    message: "flag must match [a-z][a-zA-Z\\d_-]{0,63}".into(),
                    problem: None,
                });
            }
            Some(flag)
        }
        Operation::GetConfiguration => None,
    };
    Ok(ProfileInput {
        application,
        environment,
        configuration,
        flag,
    })
}

pub(crate) enum Operation {
    GetConfiguration,
    GetFlag,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "__type")]
    kind: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    extension: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<Value>,
}

/// A failure in the API's error shapes.
pub(crate) fn error_reply(failure: &Failure) -> Reply {
    let (status, kind, reason, message, errors) = match failure {
        Failure::Validation {
            reason,
            message,
            problem,
        } => {
            let errors = problem
                .iter()
                .map(|(problem, item)| {
                    serde_json::json!({"semanticError": {"problem": problem, "item": item}})
                })
                .collect();
            (
                StatusCode::BAD_REQUEST,
                "ValidationException",
                Some(*reason),
                message.clone(),
                errors,
            )
        }
        Failure::App(error) => {
            let (status, kind, reason, errors) = app_error(error);
            (status, kind, reason, error.to_string(), errors)
        }
    };
    let extension = matches!(
        kind,
        "ThrottlingException" | "BadGatewayException" | "ServiceUnavailableException"
    )
    .then_some(EXTENSION);
    let body = serde_json::to_vec(&ErrorBody {
        kind,
        message,
        reason,
        extension,
        errors,
    })
    .unwrap_or_default();
    let mut reply = Reply::new(ReplyBody::full(Bytes::from(body)));
    *reply.status_mut() = status;
    let headers = reply.headers_mut();
    headers.insert(header::CONTENT_TYPE, JSON_11);
    headers.insert(REQUEST_ID_JSON, super::request_id());
    headers.insert(ERROR_TYPE, HeaderValue::from_static(kind));
    reply
}

/// An `AppError` as this API's (status, type, reason, errors).
fn app_error(error: &AppError) -> (StatusCode, &'static str, Option<&'static str>, Vec<Value>) {
    let semantic = |problem: &str| vec![serde_json::json!({"semanticError": {"problem": problem}})];
    match error {
        AppError::MissingToken => (
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            Some("MISSING_AUTHENTICATION"),
            vec![],
        ),
        AppError::InvalidToken => (
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            Some("SIGNATURE_MISMATCH"),
            vec![],
        ),
        AppError::Signature(refusal) => {
            let reason = match refusal {
                Refusal::Expired(_) => "SIGNATURE_EXPIRED",
                Refusal::UnknownAccessKey | Refusal::NoCredentials => "UNKNOWN_ACCESS_KEY",
                _ => "SIGNATURE_MISMATCH",
            };
            (
                StatusCode::FORBIDDEN,
                "AccessDeniedException",
                Some(reason),
                vec![],
            )
        }
        AppError::BodyTooLarge { .. } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            None,
            vec![],
        ),
        AppError::NotImplemented(_) => {
            (StatusCode::NOT_IMPLEMENTED, "NotImplemented", None, vec![])
        }
        AppError::ShuttingDown => (
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailableException",
            Some("RUNTIME_SHUTTING_DOWN"),
            vec![],
        ),
        AppError::Upstream { status, code, .. } => match (status.as_u16(), code.as_str()) {
            (404, _) => (
                StatusCode::BAD_REQUEST,
                "ValidationException",
                Some("FIELD_VALIDATION_FAILED"),
                semantic("RESOURCE_NOT_FOUND"),
            ),
            (403, _) => (
                StatusCode::FORBIDDEN,
                "AccessDeniedException",
                Some("ACCESS_DENIED_BY_REMOTE"),
                vec![],
            ),
            (429, _) => (
                StatusCode::TOO_MANY_REQUESTS,
                "ThrottlingException",
                Some("THROTTLED_BY_REMOTE"),
                vec![],
            ),
            // Nothing held yet and AppConfig slower than the poll timeout: still loading.
            (504, _) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailableException",
                Some("PROFILE_LOADING"),
                vec![],
            ),
            (_, "UpstreamUnreachable") => (
                StatusCode::BAD_GATEWAY,
                "BadGatewayException",
                Some("REMOTE_UNREACHABLE"),
                vec![],
            ),
            (400, _) => (
                StatusCode::BAD_REQUEST,
                "ValidationException",
                Some("FIELD_VALIDATION_FAILED"),
                vec![],
            ),
            _ => (
                StatusCode::BAD_GATEWAY,
                "BadGatewayException",
                Some("PROFILE_RETRIEVAL_FAILED"),
                vec![],
            ),
        },
        AppError::Forwarded
        | AppError::InvalidParameter { .. }
        | AppError::MissingParameter(_)
        | AppError::UnknownParameter(_) => (
            StatusCode::BAD_REQUEST,
            "ValidationException",
            Some("FIELD_VALIDATION_FAILED"),
            vec![],
        ),
        AppError::Serialization(_) => (
            StatusCode::BAD_REQUEST,
            "ValidationException",
            Some("CANNOT_PARSE"),
            vec![],
        ),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerException",
            None,
            vec![],
        ),
    }
}
