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

use crate::awsapi;
use crate::error::AppError;
use crate::model::Service;
use crate::routes::Reply;
use bytes::Bytes;
use http::HeaderMap;
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

mod front;
mod json_input;

pub use front::{auth, authorize, front, rendered, Credentials, Listener, Rendered};
pub use json_input::{
    appconfig_input, json_input, ssm_page_after, ssm_page_token, AppConfigFailure, JsonInput,
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
    crate::extensions_api::read_event(body)
}

/// `AWS_LAMBDA_RUNTIME_API` as the root every Extensions API call goes under.
pub fn runtime_api_root(runtime_api: &str) -> String {
    crate::extensions_api::api_root(runtime_api)
}
