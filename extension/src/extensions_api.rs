//! A small client of the Lambda Extensions API.
//!
//! We do not use the `lambda-extension` crate's `run()`: it loops back to `/next` after
//! SHUTDOWN and ignores `/next` status codes, and its lower-level pieces save little over the
//! four calls below (see docs/architecture.md).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde_json::json;

const NAME_HEADER: HeaderName = HeaderName::from_static("lambda-extension-name");
const ID_HEADER: HeaderName = HeaderName::from_static("lambda-extension-identifier");
const ERROR_TYPE_HEADER: HeaderName =
    HeaderName::from_static("lambda-extension-function-error-type");
/// Lambda's answers are small; a larger body means something is wrong.
const MAX_BODY: usize = 64 << 10;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Extensions API unreachable: {0}")]
    Unreachable(String),
    #[error("Extensions API answered {status} to {path}: {body}")]
    Status {
        status: StatusCode,
        path: &'static str,
        body: String,
    },
    #[error("Extensions API sent an unreadable answer to {path}: {reason}")]
    Malformed { path: &'static str, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Invoke,
    Shutdown { reason: String, deadline_ms: u64 },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent {
    event_type: String,
    #[serde(default)]
    deadline_ms: u64,
    #[serde(default)]
    shutdown_reason: String,
}

pub struct ExtensionsApi {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl ExtensionsApi {
    /// `runtime_api` is `AWS_LAMBDA_RUNTIME_API`: `host:port` as Lambda sets it, or
    /// `http://host:port` or `http://host:port/prefix` as local emulators do (cargo-lambda hands
    /// out `http://127.0.0.1:9000/.rt`). Every call goes under the prefix.
    pub fn new(runtime_api: &str) -> Self {
        ExtensionsApi {
            base: format!("{}/2020-01-01/extension", api_root(runtime_api)),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Registers and returns the extension identifier.
    pub async fn register(&self, name: &str, events: &[&str]) -> Result<String, ApiError> {
        let body = json!({ "events": events });
        let headers = [(NAME_HEADER, name)];
        let (response_headers, _) = self
            .send(Method::POST, "/register", &headers, Some(body))
            .await?;
        response_headers
            .get(&ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or(ApiError::Malformed {
                path: "/register",
                reason: "no Lambda-Extension-Identifier header".into(),
            })
    }

    /// Blocks until Lambda sends the next event.
    pub async fn next(&self, id: &str) -> Result<Event, ApiError> {
        let path = "/event/next";
        let (_, body) = self
            .send(Method::GET, path, &[(ID_HEADER, id)], None)
            .await?;
        read_event(&body)
    }

    /// Reports a failed initialisation (`init/error`) or a fatal error later (`exit/error`).
    pub async fn report_error(
        &self,
        id: &str,
        phase: ErrorPhase,
        error_type: &str,
        message: &str,
    ) -> Result<(), ApiError> {
        let path = match phase {
            ErrorPhase::Init => "/init/error",
            ErrorPhase::Exit => "/exit/error",
        };
        let body = json!({ "errorMessage": message, "errorType": error_type, "stackTrace": [] });
        let headers = [(ID_HEADER, id), (ERROR_TYPE_HEADER, error_type)];
        self.send(Method::POST, path, &headers, Some(body))
            .await
            .map(|_| ())
    }

    async fn send(
        &self,
        method: Method,
        path: &'static str,
        headers: &[(HeaderName, &str)],
        body: Option<serde_json::Value>,
    ) -> Result<(hyper::HeaderMap, Bytes), ApiError> {
        let unreachable = |e: &dyn std::fmt::Display| ApiError::Unreachable(e.to_string());
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(
                name,
                HeaderValue::from_str(value).map_err(|e| unreachable(&e))?,
            );
        }
        if body.is_some() {
            request = request.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let request = request.body(Full::new(body)).map_err(|e| unreachable(&e))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| unreachable(&e))?;
        let (parts, body) = response.into_parts();
        let body = http_body_util::Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|e| ApiError::Malformed {
                path,
                reason: e.to_string(),
            })?
            .to_bytes();
        if !parts.status.is_success() {
            let body = String::from_utf8_lossy(&body).chars().take(300).collect();
            return Err(ApiError::Status {
                status: parts.status,
                path,
                body,
            });
        }
        Ok((parts.headers, body))
    }
}

/// `http://host:port[/prefix]` without a trailing slash, from any accepted form.
pub(crate) fn api_root(runtime_api: &str) -> String {
    let value = runtime_api.trim();
    let without_scheme = value
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
        .map_or(value, |_| &value[7..]);
    format!("http://{}", without_scheme.trim_end_matches('/'))
}

#[derive(Debug, Clone, Copy)]
pub enum ErrorPhase {
    Init,
    Exit,
}

/// A `/event/next` answer's body: SHUTDOWN (any case) with its reason and deadline, anything
/// else an INVOKE.
pub(crate) fn read_event(body: &[u8]) -> Result<Event, ApiError> {
    let raw: RawEvent = serde_json::from_slice(body).map_err(|e| ApiError::Malformed {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_api_forms_are_normalised() {
        for form in [
            "127.0.0.1:9001",
            "http://127.0.0.1:9001",
            "HTTP://127.0.0.1:9001",
            " 127.0.0.1:9001/",
        ] {
            assert_eq!(
                ExtensionsApi::new(form).base,
                "http://127.0.0.1:9001/2020-01-01/extension"
            );
        }
    }

    #[test]
    fn a_path_prefix_is_kept_for_every_call() {
        for form in ["http://127.0.0.1:9000/.rt", "127.0.0.1:9000/.rt/"] {
            assert_eq!(
                ExtensionsApi::new(form).base,
                "http://127.0.0.1:9000/.rt/2020-01-01/extension"
            );
        }
        assert_eq!(
            ExtensionsApi::new("http://localhost:9001/a/b").base,
            "http://localhost:9001/a/b/2020-01-01/extension"
        );
    }
}
