//! AWS JSON 1.1 for SSM and Secrets Manager: `POST /` (an SDK client with the endpoint
//! `http://localhost:2773`) or `POST /parameterstore` (Cloud Extensions' path), the operation
//! in `X-Amz-Target` (`AmazonSSM.GetParameter`, `secretsmanager.GetSecretValue`).
//!
//! The reads are answered from the cache; every other operation is forwarded. Errors are the
//! protocol's own (`errors.rs`): what a stock SDK raises against AWS.

use super::{errors, forward, payload_hash, read_body, secrets, ssm, target_of, X_AMZ_TARGET};
use crate::app::App;
use crate::auth::{self, Asked, Refusal};
use crate::error::AppError;
use crate::model::{Service, Target};
use crate::query::{Format, ReadOptions};
use crate::routes::{Door, Reply};
use bytes::Bytes;
use http::header;
use serde_json::value::RawValue;

/// SDK reads take no per-request cache options.
pub const READ: ReadOptions = ReadOptions {
    format: Format::Json,
    max_age: None,
};
/// The paths a JSON request may be posted to: an SDK's endpoint, and Cloud Extensions'.
pub(crate) const PATHS: [&str; 3] = ["/", "/parameterstore", "/parameterstore/"];

/// One JSON 1.1 call, read and authorized: what its handler needs, and all a forward needs.
pub struct Call<'a> {
    pub app: &'a App,
    pub service: Service,
    /// `X-Amz-Target` as sent.
    pub operation: &'a str,
    pub content_type: &'a str,
    pub body: Bytes,
    /// Where the values are read: the region the caller signed for.
    pub target: Target,
}

impl Call<'_> {
    /// The operation's input: the JSON body as `T`. Not JSON, or not that shape:
    /// `SerializationException`, as AWS answers.
    pub fn input<'b, T: serde::Deserialize<'b>>(&'b self) -> Result<T, AppError> {
        let body: &[u8] = if self.body.is_empty() {
            b"{}"
        } else {
            &self.body
        };
        serde_json::from_slice(body).map_err(|e| {
            AppError::Serialization(format!(
                "the request body is not {}'s input: {e}",
                operation_name(self.operation)
            ))
        })
    }

    /// Sent on to the service, unanswered by the cache.
    pub async fn forward(self) -> Result<Reply, AppError> {
        forward::forward(self).await
    }
}

pub async fn serve<B>(app: &App, door: Door, request: http::Request<B>) -> Reply
where
    B: http_body::Body<Data = Bytes> + Send + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let appconfig = request
        .headers()
        .get(X_AMZ_TARGET)
        .is_some_and(|t| t.as_bytes().starts_with(b"AppConfig."));
    if appconfig {
        return super::appconfig::serve(app, door, request).await;
    }
    let (parts, body) = request.into_parts();
    let operation = parts
        .headers
        .get(X_AMZ_TARGET)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let service = service_of(operation);
    match answer(app, &parts, body, service, operation).await {
        Ok(reply) => reply,
        Err(error) => errors::json(service, &error),
    }
}

async fn answer<B>(
    app: &App,
    parts: &http::request::Parts,
    body: B,
    service: Option<Service>,
    operation: &str,
) -> Result<Reply, AppError>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let path = parts.uri.path();
    let (service, content_type) = check_head(path, service, operation, &parts.headers)?;
    let body = read_body(body).await?;
    let hash = payload_hash(&parts.headers, &body);
    let caller = auth::authorize(
        &app.auth,
        &Asked {
            method: parts.method.as_str(),
            path,
            query: parts.uri.query(),
            headers: &parts.headers,
            payload_hash: &hash,
        },
    )
    .await?;
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
    let call = Call {
        app,
        service,
        operation,
        content_type,
        body,
        target: target_of(app, &caller),
    };
    match (service, operation_name(operation)) {
        (Service::Ssm, "GetParameter") => ssm::get_parameter(call).await,
        (Service::Ssm, "GetParameters") => ssm::get_parameters(call).await,
        (Service::Ssm, "GetParametersByPath") => ssm::get_parameters_by_path(call).await,
        (Service::SecretsManager, "GetSecretValue") => secrets::get_secret_value(call).await,
        (Service::SecretsManager, "BatchGetSecretValue") => {
            secrets::batch_get_secret_value(call).await
        }
        _ => call.forward().await,
    }
}

/// The service an `X-Amz-Target` names, when it is one of ours and names an operation.
pub(crate) fn service_of(target: &str) -> Option<Service> {
    let (prefix, operation) = target.split_once('.')?;
    if operation.is_empty() || !operation.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    match prefix {
        "AmazonSSM" => Some(Service::Ssm),
        "secretsmanager" => Some(Service::SecretsManager),
        _ => None,
    }
}

/// AWS's complaint about a required member left out.
pub fn null(member: &str) -> AppError {
    AppError::Validation(format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: \
         Member must not be null"
    ))
}

/// AWS's complaint about a member (a string or a list) of the wrong length.
pub fn length(actual: usize, member: &str, min: usize, max: usize) -> Result<(), AppError> {
    if actual < min || actual > max {
        return Err(AppError::Validation(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: \
             Member must have length less than or equal to {max} and greater than or equal to {min}"
        )));
    }
    Ok(())
}

/// A rendered item (cached bytes), placed as it is into the document around it.
pub fn raw(json: &[u8]) -> Result<&RawValue, AppError> {
    serde_json::from_slice(json)
        .map_err(|e| AppError::Storage(format!("cached value unreadable: {e}")))
}

/// `AmazonSSM.GetParameter` -> `GetParameter`.
pub fn operation_name(target: &str) -> &str {
    target.split_once('.').map_or(target, |(_, op)| op)
}

/// What is refused before the body is read: another path, an operation of neither service, a
/// body that is not AWS JSON 1.1. Otherwise the service the operation belongs to, and the
/// `Content-Type` (relayed as it is when the operation is forwarded).
pub(crate) fn check_head<'h>(
    path: &str,
    service: Option<Service>,
    operation: &str,
    headers: &'h http::HeaderMap,
) -> Result<(Service, &'h str), AppError> {
    if !PATHS.contains(&path) {
        return Err(AppError::UnknownOperation(format!(
            "no AWS JSON API at {}: post to / (or /parameterstore)",
            path.chars().take(200).collect::<String>()
        )));
    }
    let Some(service) = service else {
        return Err(AppError::UnknownOperation(format!(
            "unknown operation `{}`: sidecache speaks AmazonSSM.* and secretsmanager.*",
            operation.chars().take(200).collect::<String>()
        )));
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/x-amz-json-1.1") {
        return Err(AppError::Serialization(
            "Content-Type must be application/x-amz-json-1.1".into(),
        ));
    }
    Ok((service, content_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_a_service_and_an_operation() {
        assert_eq!(service_of("AmazonSSM.GetParameter"), Some(Service::Ssm));
        assert_eq!(
            service_of("secretsmanager.GetSecretValue"),
            Some(Service::SecretsManager)
        );
        for bad in [
            "",
            "AmazonSSM",
            "AmazonSSM.",
            "AmazonSSM.Get-Parameter",
            "DynamoDB_20120810.GetItem",
            "amazonssm.GetParameter",
        ] {
            assert_eq!(service_of(bad), None, "{bad}");
        }
        assert_eq!(operation_name("AmazonSSM.PutParameter"), "PutParameter");
    }
}
