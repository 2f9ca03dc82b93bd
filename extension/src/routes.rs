//! HTTP handlers: parse the query, ask `App`, shape the response. Nothing else.

use crate::app::{App, VERSION};
use crate::auth::{Authorized, NotForwarded};
use crate::cache::{Entry, Outcome};
use crate::error::AppError;
use crate::query::{self, Format};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::{Arc, LazyLock};
use tokio_util::io::ReaderStream;

const X_CACHE: HeaderName = HeaderName::from_static("x-cache");
const JSON: HeaderValue = HeaderValue::from_static("application/json");

pub async fn ping(_: NotForwarded) -> Response {
    Json(json!({"status": "ok", "version": VERSION})).into_response()
}

// The value handlers take the whole request last (moved, not copied) rather than the `Uri`
// extractor, which clones it.
pub async fn get_parameter(
    _: Authorized,
    State(app): State<Arc<App>>,
    request: Request,
) -> Result<Response, AppError> {
    let (request, options) = query::parameter_request(request.uri().query())?;
    let (entry, outcome) = app.parameter(&request, options).await?;
    Ok(value_response(&entry, outcome, options.format))
}

pub async fn get_parameters_many(
    _: Authorized,
    State(app): State<Arc<App>>,
    request: Request,
) -> Result<Response, AppError> {
    let (request, options) = query::many_request(request.uri().query())?;
    let (body, outcome) = app.parameters_many(&request, options).await?;
    Ok(list_response(body, outcome))
}

/// A `get-many` answer: values of several ages, so no single `Age`; `hit` only when none was
/// fetched.
fn list_response(body: bytes::Bytes, outcome: Outcome) -> Response {
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, JSON);
    headers.insert(X_CACHE, HeaderValue::from_static(outcome.as_str()));
    response
}

pub async fn get_secrets_many(
    _: Authorized,
    State(app): State<Arc<App>>,
    request: Request,
) -> Result<Response, AppError> {
    let (request, options) = query::secrets_many_request(request.uri().query())?;
    let (body, outcome) = app.secrets_many(&request, options).await?;
    Ok(list_response(body, outcome))
}

pub async fn get_parameters_by_path(
    _: Authorized,
    State(app): State<Arc<App>>,
    request: Request,
) -> Result<Response, AppError> {
    let (request, options) = query::path_request(request.uri().query())?;
    let (entry, outcome) = app.parameters_by_path(&request, options).await?;
    Ok(value_response(&entry, outcome, options.format))
}

pub async fn get_secret(
    _: Authorized,
    State(app): State<Arc<App>>,
    request: Request,
) -> Result<Response, AppError> {
    let (request, options) = query::secret_request(request.uri().query())?;
    let (entry, outcome) = app.secret(&request, options).await?;
    Ok(value_response(&entry, outcome, options.format))
}

pub async fn get_object(
    _: Authorized,
    State(app): State<Arc<App>>,
    request: Request,
) -> Result<Response, AppError> {
    let (request, options) = query::object_request(request.uri().query())?;
    let (entry, outcome) = app.object(&request, options).await?;
    match (options.format, &entry.file) {
        (Format::Raw, Some(file)) => {
            // Opened now: should a refresh rename a new version over the path, this response
            // still reads the old file to its end.
            let handle = tokio::fs::File::open(&file.path)
                .await
                .map_err(|e| AppError::Storage(format!("cached object file unavailable: {e}")))?;
            let length = handle.metadata().await.map(|m| m.len()).ok();
            let body = Body::from_stream(ReaderStream::with_capacity(handle, 64 << 10));
            let mut response = Response::new(body);
            set_headers(
                &mut response,
                &entry,
                outcome,
                entry.raw_content_type.clone(),
            );
            if let Some(length) = length {
                response
                    .headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
            }
            Ok(response)
        }
        _ => Ok(value_response(&entry, outcome, options.format)),
    }
}

pub async fn invalidate(
    _: Authorized,
    State(app): State<Arc<App>>,
    request: Request,
) -> Result<Response, AppError> {
    let what = query::invalidate_request(request.uri().query())?;
    Ok(Json(json!({ "invalidated": app.invalidate(&what) })).into_response())
}

pub async fn stats(_: Authorized, State(app): State<Arc<App>>) -> Response {
    Json(app.stats_report()).into_response()
}

pub async fn unknown_endpoint(uri: Uri) -> AppError {
    AppError::UnknownEndpoint(uri.path().chars().take(200).collect())
}

/// The cached bytes as they are: a reference-count increment, no copy, no serialisation.
fn value_response(entry: &Entry, outcome: Outcome, format: Format) -> Response {
    let (body, content_type) = match format {
        Format::Json => (entry.json.clone(), JSON),
        Format::Raw => (entry.raw.clone(), entry.raw_content_type.clone()),
    };
    let mut response = Response::new(Body::from(body));
    set_headers(&mut response, entry, outcome, content_type);
    response
}

fn set_headers(
    response: &mut Response,
    entry: &Entry,
    outcome: Outcome,
    content_type: HeaderValue,
) {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(X_CACHE, HeaderValue::from_static(outcome.as_str()));
    headers.insert(header::AGE, age_header(entry.age().as_secs()));
}

/// `Age` values for the first hour, made once: formatting an integer header allocates, and
/// nearly every hit falls in this range.
fn age_header(seconds: u64) -> HeaderValue {
    static AGES: LazyLock<Vec<HeaderValue>> =
        LazyLock::new(|| (0..3600u64).map(HeaderValue::from).collect());
    AGES.get(seconds as usize)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from(seconds))
}
