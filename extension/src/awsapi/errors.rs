//! Errors in the dialects of AWS's own APIs, so that each SDK raises the exception it raises
//! against AWS: the JSON protocol's `{"__type", "message"}` (status 400 for every client error,
//! as SSM and Secrets Manager answer) and S3's XML `<Error>`.
//!
//! The same `AppError` the GET endpoints answer with, spelled again: its code and message are
//! kept, only the status and, where AWS names a situation otherwise, the code change.

use super::{request_id, JSON_11, REQUEST_ID_JSON, REQUEST_ID_S3};
use crate::auth::Refusal;
use crate::error::AppError;
use crate::model::Service;
use crate::routes::{Reply, ReplyBody};
use bytes::Bytes;
use http::{header, HeaderName, HeaderValue, StatusCode};
use serde::Serialize;

const ERROR_TYPE: HeaderName = HeaderName::from_static("x-amzn-errortype");

#[derive(Serialize)]
struct JsonError<'a> {
    #[serde(rename = "__type")]
    code: &'a str,
    message: String,
}

/// `error` as an SSM or Secrets Manager JSON 1.1 answer.
pub fn json(service: Option<Service>, error: &AppError) -> Reply {
    let (status, code) = json_status_and_code(service, error);
    let body = serde_json::to_vec(&JsonError {
        code,
        message: error.to_string(),
    })
    .unwrap_or_default();
    let mut reply = Reply::new(ReplyBody::full(Bytes::from(body)));
    *reply.status_mut() = status;
    let headers = reply.headers_mut();
    headers.insert(header::CONTENT_TYPE, JSON_11);
    headers.insert(REQUEST_ID_JSON, request_id());
    if let Ok(value) = HeaderValue::from_str(code) {
        headers.insert(ERROR_TYPE, value);
    }
    reply
}

fn json_status_and_code(service: Option<Service>, error: &AppError) -> (StatusCode, &str) {
    let internal = match service {
        Some(Service::SecretsManager) => "InternalServiceError",
        _ => "InternalServerError",
    };
    let status = error.status();
    let code = match error {
        AppError::MissingToken => "MissingAuthenticationTokenException",
        AppError::InvalidToken => "UnrecognizedClientException",
        AppError::MissingParameter(_)
        | AppError::InvalidParameter { .. }
        | AppError::UnknownParameter(_) => "ValidationException",
        AppError::ShuttingDown => "ServiceUnavailable",
        AppError::Storage(_) => internal,
        AppError::Upstream { code, .. } => match code.as_str() {
            // Our names for failures without an AWS code.
            "UpstreamTimeout" | "UpstreamUnreachable" | "UpstreamError" => internal,
            "AccessDenied" => "AccessDeniedException",
            "Throttling" => "ThrottlingException",
            "InvalidRequest" => "ValidationException",
            code => code,
        },
        other => other.code(),
    };
    // SSM and Secrets Manager answer every client error with 400, throttling and not-found
    // included; server errors keep their status, which the SDKs retry.
    let status = if status.is_client_error()
        && !matches!(
            error,
            AppError::BodyTooLarge { .. } | AppError::BodyTimeout { .. }
        ) {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    (status, code)
}

/// `error` as an S3 REST answer: XML, S3's codes and statuses. `resource` is the path asked
/// for; a HEAD's answer has no body, as S3's.
pub fn s3(error: &AppError, resource: &str, head: bool) -> Reply {
    let (status, code) = s3_status_and_code(error);
    let request_id = request_id();
    let body = if head {
        Bytes::new()
    } else {
        let mut xml = String::with_capacity(256);
        xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
        escape_into(&mut xml, code);
        xml.push_str("</Code><Message>");
        escape_into(&mut xml, &error.to_string());
        xml.push_str("</Message><Resource>");
        escape_into(&mut xml, resource);
        xml.push_str("</Resource><RequestId>");
        escape_into(&mut xml, request_id.to_str().unwrap_or(""));
        xml.push_str("</RequestId></Error>");
        Bytes::from(xml)
    };
    let mut reply = Reply::new(ReplyBody::full(body));
    *reply.status_mut() = status;
    let headers = reply.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    headers.insert(REQUEST_ID_S3, request_id);
    reply
}

fn s3_status_and_code(error: &AppError) -> (StatusCode, &str) {
    match error {
        AppError::Signature(refusal) => match refusal {
            Refusal::Malformed(_) => (StatusCode::BAD_REQUEST, "AuthorizationHeaderMalformed"),
            Refusal::Expired(_) => (StatusCode::FORBIDDEN, "RequestTimeTooSkewed"),
            Refusal::UnknownAccessKey | Refusal::NoCredentials => {
                (StatusCode::FORBIDDEN, "InvalidAccessKeyId")
            }
            Refusal::InvalidSecurityToken => (StatusCode::BAD_REQUEST, "InvalidToken"),
            Refusal::Mismatch | Refusal::WrongService { .. } => {
                (StatusCode::FORBIDDEN, "SignatureDoesNotMatch")
            }
        },
        AppError::MissingToken | AppError::InvalidToken => (StatusCode::FORBIDDEN, "AccessDenied"),
        AppError::Forwarded
        | AppError::MissingParameter(_)
        | AppError::InvalidParameter { .. }
        | AppError::UnknownParameter(_) => (StatusCode::BAD_REQUEST, "InvalidRequest"),
        AppError::ShuttingDown => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
        // S3's own "retry later": every S3 client backs off and retries it.
        AppError::ObjectChanging { .. } => (StatusCode::SERVICE_UNAVAILABLE, "SlowDown"),
        AppError::Upstream { status, code, .. } => {
            let code = match code.as_str() {
                "NotFound" => "NoSuchKey",
                "Throttling" | "ThrottlingException" => "SlowDown",
                "UpstreamTimeout" | "UpstreamUnreachable" | "UpstreamError" => "InternalError",
                code => code,
            };
            let status = match *status {
                StatusCode::TOO_MANY_REQUESTS => StatusCode::SERVICE_UNAVAILABLE,
                status => status,
            };
            (status, code)
        }
        other => (other.status(), other.code()),
    }
}

/// XML text: the five characters XML reserves escaped, control characters dropped.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\t' && c != '\n' => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body(reply: Reply) -> String {
        String::from_utf8(
            reply
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
        .unwrap()
    }

    fn upstream(status: StatusCode, code: &str) -> AppError {
        AppError::Upstream {
            status,
            code: code.into(),
            message: "SSM GetParameter failed".into(),
            transient: false,
        }
    }

    #[tokio::test]
    async fn json_errors_are_aws_400s_with_the_aws_code() {
        let reply = json(
            Some(Service::Ssm),
            &upstream(StatusCode::NOT_FOUND, "ParameterNotFound"),
        );
        assert_eq!(reply.status(), StatusCode::BAD_REQUEST);
        assert_eq!(reply.headers()[ERROR_TYPE], "ParameterNotFound");
        assert!(reply.headers().contains_key(REQUEST_ID_JSON));
        let value: serde_json::Value = serde_json::from_str(&body(reply).await).unwrap();
        assert_eq!(value["__type"], "ParameterNotFound");
        assert_eq!(value["message"], "SSM GetParameter failed");

        let reply = json(
            Some(Service::SecretsManager),
            &upstream(StatusCode::BAD_GATEWAY, "UpstreamUnreachable"),
        );
        assert_eq!(
            (reply.status(), &reply.headers()[ERROR_TYPE]),
            (
                StatusCode::BAD_GATEWAY,
                &HeaderValue::from_static("InternalServiceError")
            )
        );
        let reply = json(Some(Service::Ssm), &AppError::MissingToken);
        assert_eq!(
            reply.headers()[ERROR_TYPE],
            "MissingAuthenticationTokenException"
        );
        assert_eq!(reply.status(), StatusCode::BAD_REQUEST);
        let reply = json(Some(Service::Ssm), &AppError::Signature(Refusal::Mismatch));
        assert_eq!(reply.headers()[ERROR_TYPE], "InvalidSignatureException");
        let reply = json(None, &AppError::BodyTooLarge { limit: 10 });
        assert_eq!(reply.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn s3_errors_are_xml_with_s3_codes() {
        let reply = s3(
            &upstream(StatusCode::NOT_FOUND, "NoSuchKey"),
            "/b/a<&>.txt",
            false,
        );
        assert_eq!(reply.status(), StatusCode::NOT_FOUND);
        let xml = body(reply).await;
        assert!(xml.contains("<Code>NoSuchKey</Code>"), "{xml}");
        assert!(
            xml.contains("<Resource>/b/a&lt;&amp;&gt;.txt</Resource>"),
            "{xml}"
        );
        let reply = s3(
            &AppError::Signature(Refusal::UnknownAccessKey),
            "/b/k",
            false,
        );
        assert_eq!(reply.status(), StatusCode::FORBIDDEN);
        assert!(body(reply)
            .await
            .contains("<Code>InvalidAccessKeyId</Code>"));
        let reply = s3(&AppError::NotImplemented("no".into()), "/b/k", true);
        assert_eq!(reply.status(), StatusCode::NOT_IMPLEMENTED);
        assert_eq!(body(reply).await, "", "a HEAD answer has no body");
    }
}
