//! SDK errors into [`UpstreamError`]: only what classification needs, no SDK types past here.
//!
//! The message is written for the person reading the error body: service, operation, HTTP
//! status and the AWS error code (`SSM GetParameter failed: HTTP 400, AccessDeniedException:
//! <AWS message>`). The SDK's own description (a `Debug` dump of nested structures for answers it could not
//! parse) goes to debug-level logs only, and only as the `Display` of each error in the chain:
//! the `Debug` form would include the raw answer's body, which may hold a value.

use crate::model::{Service, UpstreamError, UpstreamErrorKind};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::fmt::Write;

/// Long messages (an AWS message, a transport error chain) are trimmed: enough to act on, not
/// a wall of text in a response.
const MAX_MESSAGE: usize = 300;

pub fn upstream_error<E>(
    service: Service,
    operation: &'static str,
    error: SdkError<E, Response>,
) -> UpstreamError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let failed = format!("{} {operation}", service.label());
    let (kind, message) = match &error {
        SdkError::TimeoutError(_) => (UpstreamErrorKind::Timeout, format!("{failed} timed out")),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => {
            (UpstreamErrorKind::Timeout, format!("{failed} timed out"))
        }
        SdkError::DispatchFailure(_) => (
            UpstreamErrorKind::Unreachable,
            format!("{failed} failed: no answer ({})", causes(&error)),
        ),
        // An answer the SDK could not read at all (moto answers some JSON APIs in XML): the
        // status is all there is to go on.
        SdkError::ResponseError(response) => {
            let status = response.raw().status().as_u16();
            (
                UpstreamErrorKind::Service { code: None, status },
                format!("{failed} failed: HTTP {status}, the answer could not be read"),
            )
        }
        SdkError::ServiceError(service_error) => {
            let status = service_error.raw().status().as_u16();
            let err = service_error.err();
            let code = err.code().map(str::to_owned);
            let mut message = format!("{failed} failed: HTTP {status}, ");
            match (&code, err.message().filter(|m| !m.trim().is_empty())) {
                (Some(code), Some(text)) => {
                    let _ = write!(message, "{code}: {}", text.trim());
                }
                (Some(code), None) => message.push_str(code),
                (None, None) => message.push_str("no error code in the answer"),
                (None, Some(text)) => {
                    let _ = write!(message, "no error code in the answer: {}", text.trim());
                }
            }
            (UpstreamErrorKind::Service { code, status }, message)
        }
        SdkError::ConstructionFailure(_) => (
            UpstreamErrorKind::Invalid,
            format!(
                "{failed} failed: the request could not be built ({})",
                causes(&error)
            ),
        ),
        _ => (
            UpstreamErrorKind::Unreachable,
            format!("{failed} failed: {}", causes(&error)),
        ),
    };
    tracing::debug!(
        service = service.label(),
        operation,
        detail = %causes(&error),
        "SDK error detail"
    );
    UpstreamError {
        service,
        kind,
        message: trimmed(message),
    }
}

/// A successful call whose answer lacked the value (never seen from AWS; guards the unwrap).
pub fn empty_answer(service: Service, operation: &'static str) -> UpstreamError {
    UpstreamError {
        service,
        kind: UpstreamErrorKind::Service {
            code: None,
            status: 502,
        },
        message: format!("{} {operation}: the answer held no value", service.label()),
    }
}

/// The `Display` of every error in the chain below the SDK's own one-word summary
/// (`dispatch failure`, `service error`...), joined with `: `.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = String::new();
    let mut next = error.source();
    while let Some(cause) = next {
        let part = cause.to_string();
        // Wrappers often repeat their source's text; say it once.
        if !part.is_empty() && !text.ends_with(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
        next = cause.source();
    }
    if text.is_empty() {
        text = error.to_string();
    }
    text
}

fn trimmed(message: String) -> String {
    if message.chars().count() <= MAX_MESSAGE {
        return message;
    }
    let mut cut: String = message.chars().take(MAX_MESSAGE).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::result::ServiceError;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service_error(status: u16, meta: ErrorMetadata) -> SdkError<ErrorMetadata, Response> {
        let raw = Response::new(status.try_into().unwrap(), SdkBody::from("{\"x\":\"v\"}"));
        SdkError::ServiceError(ServiceError::builder().source(meta).raw(raw).build())
    }

    #[test]
    fn service_errors_name_service_operation_status_and_code() {
        let meta = ErrorMetadata::builder()
            .code("AccessDeniedException")
            .message("User is not authorized")
            .build();
        let e = upstream_error(Service::Ssm, "GetParameter", service_error(400, meta));
        assert_eq!(
            e.message,
            "SSM GetParameter failed: HTTP 400, AccessDeniedException: User is not authorized"
        );
        assert_eq!(
            e.kind,
            UpstreamErrorKind::Service {
                code: Some("AccessDeniedException".into()),
                status: 400
            }
        );
    }

    #[test]
    fn answers_without_a_code_say_so_without_debug_text() {
        let e = upstream_error(
            Service::SecretsManager,
            "GetSecretValue",
            service_error(500, ErrorMetadata::builder().build()),
        );
        assert_eq!(
            e.message,
            "Secrets Manager GetSecretValue failed: HTTP 500, no error code in the answer"
        );
        let e = upstream_error(
            Service::SecretsManager,
            "GetSecretValue",
            service_error(400, ErrorMetadata::builder().message("Denied ").build()),
        );
        assert_eq!(
            e.message,
            "Secrets Manager GetSecretValue failed: HTTP 400, no error code in the answer: Denied"
        );
        let raw = Response::new(
            200.try_into().unwrap(),
            SdkBody::from("<html>secret</html>"),
        );
        let unreadable: SdkError<ErrorMetadata, Response> =
            SdkError::response_error(std::io::Error::other("bad json"), raw);
        let e = upstream_error(Service::Ssm, "GetParameters", unreadable);
        assert_eq!(
            e.message,
            "SSM GetParameters failed: HTTP 200, the answer could not be read"
        );
    }
}
