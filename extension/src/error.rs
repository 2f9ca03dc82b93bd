//! Every way a request can fail, and the one place that decides its HTTP status and body.
//!
//! Bodies are `{"__type": "<Code>", "message": "<text>"}`. Messages name the request's inputs
//! (a parameter name, a query key) but never a value, the token or a header's contents.

use crate::auth::{Denied, Refusal};
use crate::model::{UpstreamError, UpstreamErrorKind};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    #[error("missing required query parameter `{0}`")]
    MissingParameter(&'static str),
    #[error("invalid query parameter `{name}`: {reason}")]
    InvalidParameter { name: String, reason: String },
    #[error("unknown query parameter `{0}`")]
    UnknownParameter(String),
    #[error("requests carrying X-Forwarded-For are refused: sidecache serves local callers only")]
    Forwarded,
    #[error("missing X-Aws-Parameters-Secrets-Token header")]
    MissingToken,
    #[error("invalid X-Aws-Parameters-Secrets-Token header")]
    InvalidToken,
    /// A SigV4-signed request that does not verify with the extension's credentials.
    #[error("{0}")]
    Signature(Refusal),
    #[error("no such endpoint: {0}")]
    UnknownEndpoint(String),
    /// An AWS API request (`X-Amz-Target`) for an operation that does not exist.
    #[error("{0}")]
    UnknownOperation(String),
    /// An AWS API request body that is not the JSON the operation takes.
    #[error("{0}")]
    Serialization(String),
    /// An AWS API request whose input breaks the operation's constraints, in AWS's words.
    #[error("{0}")]
    Validation(String),
    #[error("the request body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("the request body did not arrive within {seconds} s")]
    BodyTimeout { seconds: u64 },
    /// An S3 operation sidecache does not serve (it reads objects; it does not proxy writes).
    #[error("{0}")]
    NotImplemented(String),
    /// An S3 `Range` that starts past the object's end.
    #[error("the requested range is not satisfiable")]
    InvalidRange,
    /// An S3 `If-Match` or `If-Unmodified-Since` the object does not meet.
    #[error("at least one of the preconditions (If-Match, If-Unmodified-Since) did not hold")]
    PreconditionFailed,
    /// A `flag=` the feature-flag configuration does not have.
    #[error("no flag `{0}` in this configuration")]
    UnknownFlag(String),
    /// A `NextToken` that no page of this request gave.
    #[error("the NextToken is not one this request's pages gave")]
    InvalidNextToken,
    #[error("the object is larger than SIDECACHE_S3_MAX_OBJECT_BYTES ({limit} bytes)")]
    ObjectTooLarge { limit: u64 },
    #[error("the S3 cache directory is full")]
    StorageFull,
    #[error("cannot write to the S3 cache directory: {0}")]
    Storage(String),
    /// An object's cached file went (evicted, invalidated, replaced) between each of this
    /// many look-ups and the open: busy, not broken; a retry will do.
    #[error("the object's cached file was replaced or removed while it was being opened, {attempts} times in a row; retry")]
    ObjectChanging { attempts: usize },
    /// The process is stopping and the upstream call could not finish before its deadline.
    #[error(
        "sidecache is shutting down: the upstream call did not finish before the shutdown deadline"
    )]
    ShuttingDown,
    /// A failed upstream call, already classified by [`classify`].
    #[error("{message}")]
    Upstream {
        status: StatusCode,
        code: String,
        message: String,
        /// Whether a cached value past its TTL may be served instead (stale-if-error).
        transient: bool,
    },
}

impl From<Denied> for AppError {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::Forwarded => AppError::Forwarded,
            Denied::MissingToken => AppError::MissingToken,
            Denied::InvalidToken => AppError::InvalidToken,
            Denied::Signature(refusal) => AppError::Signature(refusal),
        }
    }
}

impl AppError {
    pub fn invalid(name: &str, reason: impl Into<String>) -> Self {
        AppError::InvalidParameter {
            name: name.to_owned(),
            reason: reason.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::MissingParameter(_)
            | AppError::InvalidParameter { .. }
            | AppError::UnknownParameter(_)
            | AppError::Forwarded => StatusCode::BAD_REQUEST,
            AppError::MissingToken | AppError::InvalidToken | AppError::Signature(_) => {
                StatusCode::FORBIDDEN
            }
            AppError::UnknownEndpoint(_) => StatusCode::NOT_FOUND,
            AppError::UnknownOperation(_)
            | AppError::Serialization(_)
            | AppError::Validation(_) => StatusCode::BAD_REQUEST,
            AppError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            AppError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            AppError::InvalidNextToken => StatusCode::BAD_REQUEST,
            AppError::UnknownFlag(_) => StatusCode::NOT_FOUND,
            AppError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            AppError::InvalidRange => StatusCode::RANGE_NOT_SATISFIABLE,
            AppError::ObjectTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            AppError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::ObjectChanging { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Upstream { status, .. } => *status,
        }
    }

    pub fn code(&self) -> &str {
        match self {
            AppError::MissingParameter(_) => "MissingParameter",
            AppError::InvalidParameter { .. } => "InvalidParameter",
            AppError::UnknownParameter(_) => "UnknownParameter",
            AppError::Forwarded => "ForwardedRequestRefused",
            AppError::MissingToken => "MissingToken",
            AppError::InvalidToken => "InvalidToken",
            AppError::Signature(refusal) => match refusal {
                Refusal::Malformed(_) => "IncompleteSignatureException",
                Refusal::Expired(_) | Refusal::Mismatch | Refusal::WrongService { .. } => {
                    "InvalidSignatureException"
                }
                Refusal::UnknownAccessKey
                | Refusal::InvalidSecurityToken
                | Refusal::NoCredentials => "UnrecognizedClientException",
            },
            AppError::UnknownEndpoint(_) => "UnknownEndpoint",
            AppError::UnknownOperation(_) => "UnknownOperationException",
            AppError::Serialization(_) => "SerializationException",
            AppError::Validation(_) => "ValidationException",
            AppError::BodyTooLarge { .. } => "RequestEntityTooLargeException",
            AppError::BodyTimeout { .. } => "RequestTimeoutException",
            AppError::NotImplemented(_) => "NotImplemented",
            AppError::InvalidRange => "InvalidRange",
            AppError::InvalidNextToken => "InvalidNextToken",
            AppError::UnknownFlag(_) => "FlagNotFound",
            AppError::PreconditionFailed => "PreconditionFailed",
            AppError::ObjectTooLarge { .. } => "ObjectTooLarge",
            AppError::StorageFull => "InsufficientStorage",
            AppError::Storage(_) => "StorageError",
            AppError::ObjectChanging { .. } => "ObjectChanging",
            AppError::ShuttingDown => "ShuttingDown",
            AppError::Upstream { code, .. } => code,
        }
    }

    /// Stale-if-error applies only to causes that say nothing about the value itself (a
    /// shutdown that cut the refresh short is one).
    pub fn may_serve_stale(&self) -> bool {
        matches!(
            self,
            AppError::Upstream {
                transient: true,
                ..
            } | AppError::ShuttingDown
        )
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "__type")]
    code: &'a str,
    message: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code(),
            message: self.to_string(),
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (self.status(), json).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

/// Decides the HTTP status, error code and stale-if-error eligibility of a failed upstream
/// call. Error codes are matched first; the upstream HTTP status only breaks ties, because
/// services disagree on it (moto answers 404 where AWS answers 400, see shared notes).
pub fn classify(error: &UpstreamError) -> AppError {
    let (status, code, transient) = match &error.kind {
        UpstreamErrorKind::Timeout => (StatusCode::GATEWAY_TIMEOUT, "UpstreamTimeout".into(), true),
        UpstreamErrorKind::Unreachable => {
            (StatusCode::BAD_GATEWAY, "UpstreamUnreachable".into(), true)
        }
        UpstreamErrorKind::Invalid => (StatusCode::BAD_REQUEST, "InvalidRequest".into(), false),
        UpstreamErrorKind::Service { code, status } => {
            let (http, transient) = classify_service(code.as_deref(), *status);
            let code = code
                .clone()
                .unwrap_or_else(|| fallback_code(http).to_owned());
            (http, code, transient)
        }
    };
    AppError::Upstream {
        status,
        code,
        // Already names the service and operation (aws/errors.rs).
        message: error.message.clone(),
        transient,
    }
}

fn classify_service(code: Option<&str>, status: u16) -> (StatusCode, bool) {
    if let Some(code) = code {
        match code {
            "ParameterNotFound"
            | "ParameterVersionNotFound"
            | "ResourceNotFoundException"
            | "NoSuchKey"
            | "NoSuchBucket"
            | "NoSuchVersion"
            | "NotFound" => return (StatusCode::NOT_FOUND, false),
            "ThrottlingException"
            | "Throttling"
            | "ThrottledException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "SlowDown"
            | "RequestThrottled"
            | "RequestThrottledException" => return (StatusCode::TOO_MANY_REQUESTS, true),
            "ValidationException"
            | "InvalidParameterException"
            | "InvalidRequestException"
            | "InvalidKeyId"
            | "ParameterVersionLabelLimitExceeded"
            | "InvalidArgument"
            | "InvalidObjectState" => return (StatusCode::BAD_REQUEST, false),
            "InternalServerError"
            | "InternalFailure"
            | "InternalServiceError"
            | "InternalError"
            | "ServiceUnavailable"
            | "ServiceUnavailableException" => return (StatusCode::BAD_GATEWAY, true),
            _ if code.contains("AccessDenied")
                || code == "DecryptionFailure"
                || code.starts_with("KMS")
                || code == "UnrecognizedClientException"
                || code == "InvalidClientTokenId"
                || code == "ExpiredTokenException"
                || code == "InvalidSignatureException" =>
            {
                return (StatusCode::FORBIDDEN, false)
            }
            _ => {}
        }
    }
    match status {
        403 => (StatusCode::FORBIDDEN, false),
        404 => (StatusCode::NOT_FOUND, false),
        429 => (StatusCode::TOO_MANY_REQUESTS, true),
        500..=599 => (StatusCode::BAD_GATEWAY, true),
        400..=499 => (StatusCode::BAD_REQUEST, false),
        _ => (StatusCode::BAD_GATEWAY, true),
    }
}

fn fallback_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::FORBIDDEN => "AccessDenied",
        StatusCode::NOT_FOUND => "NotFound",
        StatusCode::TOO_MANY_REQUESTS => "Throttling",
        StatusCode::BAD_REQUEST => "InvalidRequest",
        _ => "UpstreamError",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Service;

    fn service_error(code: Option<&str>, status: u16) -> AppError {
        classify(&UpstreamError {
            service: Service::Ssm,
            kind: UpstreamErrorKind::Service {
                code: code.map(str::to_owned),
                status,
            },
            message: "m".into(),
        })
    }

    #[test]
    fn codes_win_over_upstream_status() {
        // moto answers ResourceNotFoundException with 404, AWS with 400: same answer either way.
        for status in [400, 404] {
            let e = service_error(Some("ResourceNotFoundException"), status);
            assert_eq!(e.status(), StatusCode::NOT_FOUND);
            assert_eq!(e.code(), "ResourceNotFoundException");
            assert!(!e.may_serve_stale());
        }
        let e = service_error(Some("ThrottlingException"), 400);
        assert_eq!(
            (e.status(), e.may_serve_stale()),
            (StatusCode::TOO_MANY_REQUESTS, true)
        );
        let e = service_error(Some("AccessDeniedException"), 400);
        assert_eq!(
            (e.status(), e.may_serve_stale()),
            (StatusCode::FORBIDDEN, false)
        );
        let e = service_error(Some("KMSAccessDeniedException"), 400);
        assert_eq!(e.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn status_decides_when_no_code_is_known() {
        let e = service_error(None, 403);
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::FORBIDDEN, "AccessDenied")
        );
        let e = service_error(None, 503);
        assert_eq!(
            (e.status(), e.may_serve_stale()),
            (StatusCode::BAD_GATEWAY, true)
        );
        let e = service_error(Some("SomethingNew"), 500);
        assert_eq!(e.status(), StatusCode::BAD_GATEWAY);
    }

    #[test]
    fn transport_failures_are_transient() {
        for (kind, status) in [
            (UpstreamErrorKind::Timeout, StatusCode::GATEWAY_TIMEOUT),
            (UpstreamErrorKind::Unreachable, StatusCode::BAD_GATEWAY),
        ] {
            let e = classify(&UpstreamError {
                service: Service::SecretsManager,
                kind,
                message: "m".into(),
            });
            assert_eq!(e.status(), status);
            assert!(e.may_serve_stale());
            assert_eq!(e.to_string(), "m");
        }
    }

    #[test]
    fn shutting_down_is_a_transient_503() {
        let e = AppError::ShuttingDown;
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::SERVICE_UNAVAILABLE, "ShuttingDown")
        );
        assert!(e.may_serve_stale());
    }

    #[test]
    fn body_is_json_with_type_and_message() {
        let response = AppError::MissingParameter("name").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            HeaderValue::from_static("application/json")
        );
    }
}
