//! One cached value (`Entry`: the rendered answer and when it was fetched), how a request was
//! answered (`Outcome`, sent as `X-Cache`) and how fresh a request wants it (`Freshness`).

use crate::error::AppError;
use crate::object_files::StoredFile;
use crate::timeline::{self, Moment};
use axum::http::{HeaderMap, HeaderValue};
use bytes::Bytes;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// One cached value, rendered once when fetched.
#[derive(Debug)]
pub struct Entry {
    /// The JSON answer.
    pub json: Bytes,
    /// The bare value for `format=raw` (empty when the value is a file).
    pub raw: Bytes,
    pub raw_content_type: HeaderValue,
    /// An S3 object's file, deleted when the entry leaves the cache.
    pub file: Option<StoredFile>,
    /// The upstream ETag, for conditional revalidation.
    pub etag: Option<String>,
    /// A cached not-found answer (`SIDECACHE_NEGATIVE_TTL`) instead of a value.
    pub(super) not_found: Option<AppError>,
    /// The value is the same with or without decryption (SSM String and StringList; no
    /// SecureString in it): stored under the key without decryption, it answers both.
    pub decryption_neutral: bool,
    /// The value as AWS's own API answers it, made by the first SDK request that reads it.
    pub api: OnceLock<ApiShape>,
    /// When it was fetched, on the restore-aware timeline: an entry fetched before a SnapStart
    /// restore is never fresh after it.
    pub fetched_at: Moment,
    /// This entry's TTL: the kind's TTL shortened by jitter when stored.
    pub(super) ttl: Duration,
    /// Past this age a hit also starts a background refresh (`Duration::MAX`: never).
    pub(super) refresh_after: Duration,
    /// How long moka keeps the entry: TTL plus the stale-if-error window.
    pub(super) keep_for: Duration,
}

impl Entry {
    pub fn new(json: Bytes, raw: Bytes, raw_content_type: HeaderValue) -> Self {
        Entry {
            json,
            raw,
            raw_content_type,
            file: None,
            etag: None,
            not_found: None,
            decryption_neutral: false,
            api: OnceLock::new(),
            fetched_at: timeline::now(),
            ttl: Duration::ZERO,
            refresh_after: Duration::MAX,
            keep_for: Duration::ZERO,
        }
    }

    pub(super) fn not_found(error: AppError) -> Self {
        Entry {
            not_found: Some(error),
            ..Entry::new(Bytes::new(), Bytes::new(), HeaderValue::from_static(""))
        }
    }

    pub fn with_file(mut self, file: StoredFile, etag: Option<String>) -> Self {
        self.file = Some(file);
        self.etag = etag;
        self
    }

    /// The same value confirmed unchanged upstream just now (a 304): its TTL starts again.
    pub fn renewed(&self) -> Entry {
        Entry {
            json: self.json.clone(),
            raw: self.raw.clone(),
            raw_content_type: self.raw_content_type.clone(),
            file: self.file.clone(),
            etag: self.etag.clone(),
            not_found: None,
            decryption_neutral: self.decryption_neutral,
            // The same object: its headers are still right.
            api: self.api.clone(),
            fetched_at: timeline::now(),
            ttl: Duration::ZERO,
            refresh_after: Duration::MAX,
            keep_for: Duration::ZERO,
        }
    }

    pub fn age(&self) -> Duration {
        timeline::now().since(self.fetched_at)
    }

    /// What the entry counts against its budget: the file's bytes for an S3 object (the
    /// budget is the directory's), else the bytes held in memory.
    pub(super) fn size(&self) -> u64 {
        match &self.file {
            Some(file) => file.size,
            None => (self.json.len() + self.raw.len() + std::mem::size_of::<Entry>()) as u64,
        }
    }
}

/// A cached value in the shape AWS's own API answers with (`awsapi`, for SDK clients),
/// rendered by the first SDK request that reads it and kept beside `json`, so that neither
/// shape is rendered on a hit. Not weighed against the byte budget: at most one more copy.
#[derive(Debug, Clone)]
pub enum ApiShape {
    /// A whole JSON 1.1 answer: GetParameter, GetSecretValue.
    Body(Bytes),
    /// A by-path tree's parameters, one JSON object each with its name, in name order (pages
    /// are cut from these).
    Items(TreeItems),
    /// An S3 object's response headers (ETag, Last-Modified, Content-Type, version).
    ObjectHeaders(HeaderMap),
}

/// A by-path tree's parameters: (name, rendered object) in name order.
pub type TreeItems = Arc<[(Box<str>, Bytes)]>;

/// How a value was obtained, sent as `X-Cache`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Hit,
    Miss,
    /// An expired (or force-refreshed) entry was fetched again.
    Refresh,
    /// The refresh failed transiently; an expired entry was served.
    Stale,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Refresh => "refresh",
            Outcome::Stale => "stale",
        }
    }
}

/// Freshness wanted by one request.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    pub ttl: Duration,
    /// `maxAge=` from the request: serve only a value at most this old (0 forces a refresh).
    pub max_age: Option<Duration>,
}

impl Freshness {
    pub(super) fn limit(&self) -> Duration {
        self.limit_for(self.ttl)
    }

    /// The age limit for an entry whose own (jittered) TTL is `ttl`.
    pub(super) fn limit_for(&self, ttl: Duration) -> Duration {
        self.max_age.map_or(ttl, |m| m.min(ttl))
    }
}
