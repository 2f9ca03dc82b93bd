//! S3's REST API for reads: GetObject and HeadObject, path style (`GET /{bucket}/{key}`,
//! `versionId=`), answered from the S3 file cache the `/s3/get` endpoint fills: the bytes
//! streamed from the file with S3's headers, one `Range` answered 206, a matching
//! `If-None-Match` 304. Everything else S3 does is a clear 501 `NotImplemented`: uploads and
//! listings are not proxied, and never forwarded half-done.

use super::json::READ;
use super::{errors, shapes, target_of, X_CACHE};
use crate::app::App;
use crate::auth::sigv4::UNSIGNED_PAYLOAD;
use crate::auth::{self, Asked, CONTENT_SHA256, EMPTY_SHA256};
use crate::cache::{Entry, Outcome};
use crate::error::AppError;
use crate::model::ObjectRequest;
use crate::routes::{Reply, ReplyBody};
use aws_smithy_types::date_time::{DateTime, Format};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use percent_encoding::percent_decode_str;
use std::io::{Seek, SeekFrom};
use std::sync::Arc;
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;

/// Query keys a GetObject may carry that change nothing here: the SDKs' operation marker.
const IGNORED_KEYS: [&str; 1] = ["x-id"];

pub async fn serve<B>(app: &App, request: http::Request<B>) -> Reply {
    let (parts, _body) = request.into_parts();
    let head = parts.method == Method::HEAD;
    let path = parts.uri.path();
    match answer(app, &parts).await {
        Ok(reply) => reply,
        Err(error) => errors::s3(&error, path, head),
    }
}

async fn answer(app: &App, parts: &http::request::Parts) -> Result<Reply, AppError> {
    // S3 signs the payload's hash as the client states it in x-amz-content-sha256.
    let claimed = parts
        .headers
        .get(CONTENT_SHA256)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(EMPTY_SHA256);
    let caller = auth::authorize(
        &app.auth,
        &Asked {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query(),
            headers: &parts.headers,
            payload_hash: claimed,
        },
    )
    .await?;
    let head = match parts.method {
        Method::GET => false,
        Method::HEAD => true,
        _ => {
            return Err(AppError::NotImplemented(format!(
                "sidecache serves S3 reads only (GetObject, HeadObject); {} is not proxied: \
                 give this client no endpoint override",
                parts.method
            )))
        }
    };
    if claimed != EMPTY_SHA256 && claimed != UNSIGNED_PAYLOAD {
        return Err(AppError::InvalidParameter {
            name: "x-amz-content-sha256".into(),
            reason: "a GET or HEAD has no body to hash".into(),
        });
    }
    let (bucket, key) = bucket_and_key(parts.uri.path())?;
    let version_id = read_query(parts.uri.query())?;
    let request = ObjectRequest {
        bucket,
        key,
        version_id,
        target: target_of(app, &caller),
    };
    // The file as it was when looked up: a newer version renamed over it, an eviction or an
    // invalidation between the look-up and the open make it look again (App::object_opened).
    match app.object_opened(&request, READ).await? {
        (entry, outcome, Some(file)) => respond(&entry, outcome, file, &parts.headers, head).await,
        (_, _, None) => Err(AppError::Storage("the object's entry has no file".into())),
    }
}

async fn respond(
    entry: &Arc<Entry>,
    outcome: Outcome,
    mut file: std::fs::File,
    asked: &HeaderMap,
    head: bool,
) -> Result<Reply, AppError> {
    let mut headers = shapes::object_headers(entry)?;
    headers.insert(X_CACHE, HeaderValue::from_static(outcome.as_str()));
    headers.insert(header::AGE, HeaderValue::from(entry.age().as_secs()));
    headers.insert(super::REQUEST_ID_S3, super::request_id());
    match preconditions(asked, &headers) {
        Precondition::Holds => {}
        Precondition::Failed => return Err(AppError::PreconditionFailed),
        Precondition::NotModified => {
            headers.remove(header::CONTENT_TYPE);
            return Ok(with_headers(
                StatusCode::NOT_MODIFIED,
                headers,
                ReplyBody::full(Bytes::new()),
            ));
        }
    }
    let size = file
        .metadata()
        .map_err(|e| AppError::Storage(format!("cached object file unavailable: {e}")))?
        .len();
    let range = asked
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| parse_range(v, size))
        .unwrap_or(Ok(None));
    let (status, start, length) = match range {
        Ok(Some((start, end))) => {
            let content_range = format!("bytes {start}-{end}/{size}");
            headers.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&content_range).expect("digits"),
            );
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        Ok(None) => (StatusCode::OK, 0, size),
        Err(()) => return Err(AppError::InvalidRange),
    };
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if head {
        return Ok(with_headers(status, headers, ReplyBody::full(Bytes::new())));
    }
    file.seek(SeekFrom::Start(start))
        .map_err(|e| AppError::Storage(format!("cached object file unreadable: {e}")))?;
    let reader = tokio::fs::File::from_std(file).take(length);
    let stream = ReaderStream::with_capacity(reader, 64 << 10);
    let body = ReplyBody::Axum(axum::body::Body::from_stream(stream));
    Ok(with_headers(status, headers, body))
}

fn with_headers(status: StatusCode, headers: HeaderMap, body: ReplyBody) -> Reply {
    let mut reply = Reply::new(body);
    *reply.status_mut() = status;
    *reply.headers_mut() = headers;
    reply
}

/// `/{bucket}/{key}`, each percent-decoded; the key may hold slashes. No key: a bucket operation.
pub(crate) fn bucket_and_key(path: &str) -> Result<(String, String), AppError> {
    let rest = path.strip_prefix('/').unwrap_or(path);
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    let decode = |s: &str| percent_decode_str(s).decode_utf8().map(|s| s.into_owned());
    let bucket = decode(bucket).map_err(|_| AppError::invalid("bucket", "not UTF-8"))?;
    let key = decode(key).map_err(|_| AppError::invalid("key", "not UTF-8"))?;
    if bucket.is_empty() || key.is_empty() {
        return Err(AppError::NotImplemented(
            "sidecache serves S3 object reads only (GET or HEAD /{bucket}/{key}, path style); \
             bucket operations such as ListObjects are not proxied"
                .into(),
        ));
    }
    // No bucket name holds a `/`: one decoded from `%2F` made the cache key `bucket/key` that of
    // another bucket's object (found by fuzzing: fuzz/, s3 target).
    if bucket.contains('/') {
        return Err(AppError::invalid(
            "bucket",
            "bucket names cannot contain '/'",
        ));
    }
    if key.len() > 1024 {
        return Err(AppError::invalid("key", "longer than 1024 bytes"));
    }
    Ok((bucket, key))
}

/// The `versionId`; any other key but the SDKs' `x-id` marker is an S3 feature not served.
pub(crate) fn read_query(query: Option<&str>) -> Result<Option<String>, AppError> {
    let mut version_id = None;
    for (name, value) in form_pairs(query.unwrap_or("")) {
        match name.as_str() {
            "versionId" if !value.is_empty() => version_id = Some(value),
            name if IGNORED_KEYS.contains(&name) => {}
            other => {
                return Err(AppError::NotImplemented(format!(
                    "sidecache does not serve S3's `{}` on GetObject",
                    other.chars().take(100).collect::<String>()
                )))
            }
        }
    }
    Ok(version_id)
}

fn form_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
        (decode(name), decode(value))
    })
}

/// One `bytes=` range of an object of `size` bytes, as (first, last) byte: `Ok(None)` when the
/// header is not one range S3 would honour (then the whole object is sent, as S3 does), `Err`
/// when it starts past the end (416).
pub(crate) fn parse_range(value: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let (first, last) = (first.trim(), last.trim());
    let number = |s: &str| s.parse::<u64>().ok();
    match (first.is_empty(), last.is_empty()) {
        // `bytes=-N`: the last N bytes.
        (true, false) => match number(last) {
            Some(0) => Err(()),
            Some(n) if size > 0 => Ok(Some((size.saturating_sub(n), size - 1))),
            Some(_) => Err(()),
            None => Ok(None),
        },
        (false, _) => {
            let Some(start) = number(first) else {
                return Ok(None);
            };
            let end = if last.is_empty() {
                size.saturating_sub(1)
            } else {
                match number(last) {
                    Some(end) if end >= start => end.min(size.saturating_sub(1)),
                    _ => return Ok(None),
                }
            };
            if start >= size {
                Err(())
            } else {
                Ok(Some((start, end)))
            }
        }
        (true, true) => Ok(None),
    }
}

pub(crate) enum Precondition {
    Holds,
    /// 412.
    Failed,
    /// 304.
    NotModified,
}

/// The conditional headers against the object's `ETag` and `Last-Modified`, in RFC 9110's
/// order: `If-Match`, else `If-Unmodified-Since`; then `If-None-Match`, else
/// `If-Modified-Since`.
pub(crate) fn preconditions(asked: &HeaderMap, object: &HeaderMap) -> Precondition {
    let etag = object
        .get(header::ETAG)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    let date = |h: &HeaderValue| {
        let text = h.to_str().ok()?;
        Some(DateTime::from_str(text, Format::HttpDate).ok()?.secs())
    };
    let modified = object.get(header::LAST_MODIFIED).and_then(date);
    if let Some(wanted) = asked.get(header::IF_MATCH) {
        if !etag_matches(wanted.as_bytes(), etag) {
            return Precondition::Failed;
        }
    } else if let (Some(since), Some(modified)) = (
        asked.get(header::IF_UNMODIFIED_SINCE).and_then(date),
        modified,
    ) {
        if modified > since {
            return Precondition::Failed;
        }
    }
    if let Some(wanted) = asked.get(header::IF_NONE_MATCH) {
        if etag_matches(wanted.as_bytes(), etag) {
            return Precondition::NotModified;
        }
    } else if let (Some(since), Some(modified)) = (
        asked.get(header::IF_MODIFIED_SINCE).and_then(date),
        modified,
    ) {
        if modified <= since {
            return Precondition::NotModified;
        }
    }
    Precondition::Holds
}

/// `If-None-Match`: a list of entity tags or `*`; weak tags compare by their opaque part.
pub(crate) fn etag_matches(wanted: &[u8], etag: &[u8]) -> bool {
    let strip = |t: &[u8]| -> Vec<u8> {
        let t = t.trim_ascii();
        t.strip_prefix(b"W/").unwrap_or(t).to_vec()
    };
    let etag = strip(etag);
    wanted
        .split(|&b| b == b',')
        .any(|tag| tag.trim_ascii() == b"*" || strip(tag) == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_range_as_s3_honours_it() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok(Some((0, 9))));
        assert_eq!(parse_range("bytes=90-", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=-10", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=-500", 100), Ok(Some((0, 99))));
        assert_eq!(parse_range("bytes=95-200", 100), Ok(Some((95, 99))));
        assert_eq!(parse_range("bytes=100-", 100), Err(()));
        assert_eq!(parse_range("bytes=0-0", 0), Err(()));
        // Not one satisfiable-looking range: the whole object, as S3 answers.
        for ignored in [
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=9-1",
            "bytes=x-1",
            "bytes=-",
        ] {
            assert_eq!(parse_range(ignored, 100), Ok(None), "{ignored}");
        }
    }

    #[test]
    fn paths_are_bucket_then_key() {
        assert_eq!(
            bucket_and_key("/b/dir/a%20key%2Bplus.txt").unwrap(),
            ("b".into(), "dir/a key+plus.txt".into())
        );
        assert!(matches!(
            bucket_and_key("/b"),
            Err(AppError::NotImplemented(_))
        ));
        assert!(matches!(
            bucket_and_key("/b/"),
            Err(AppError::NotImplemented(_))
        ));
        assert!(matches!(
            bucket_and_key("/"),
            Err(AppError::NotImplemented(_))
        ));
    }

    /// Found by fuzzing (fuzz/, s3 target): `/a%2Fb/c` read bucket `a/b` and key `c`, whose
    /// cache key `a/b/c` is that of bucket `a`'s object `b/c`.
    #[test]
    fn a_bucket_never_holds_a_slash() {
        for path in ["/a%2Fb/c", "/a%2fb/c", "/%2F/c", "/\u{155}%2F?b/dir/"] {
            assert!(
                matches!(bucket_and_key(path), Err(AppError::InvalidParameter { ref name, .. }) if name == "bucket"),
                "{path}"
            );
        }
        assert_eq!(
            bucket_and_key("/a/b%2Fc").unwrap(),
            ("a".into(), "b/c".into())
        );
    }

    #[test]
    fn queries_carry_a_version_or_are_not_served() {
        assert_eq!(read_query(None).unwrap(), None);
        assert_eq!(
            read_query(Some("versionId=3%2Fx&x-id=GetObject")).unwrap(),
            Some("3/x".into())
        );
        assert!(matches!(
            read_query(Some("list-type=2")),
            Err(AppError::NotImplemented(_))
        ));
        assert!(matches!(
            read_query(Some("partNumber=1")),
            Err(AppError::NotImplemented(_))
        ));
    }

    #[test]
    fn conditions_in_rfc_order() {
        let object = HeaderMap::from_iter([
            (header::ETAG, HeaderValue::from_static("\"abc\"")),
            (
                header::LAST_MODIFIED,
                HeaderValue::from_static("Mon, 07 Dec 2026 12:00:00 GMT"),
            ),
        ]);
        let outcome = |pairs: &[(header::HeaderName, &'static str)]| {
            let asked = HeaderMap::from_iter(
                pairs
                    .iter()
                    .map(|(n, v)| (n.clone(), HeaderValue::from_static(v))),
            );
            match preconditions(&asked, &object) {
                Precondition::Holds => 200,
                Precondition::Failed => 412,
                Precondition::NotModified => 304,
            }
        };
        let (before, after) = (
            "Sun, 06 Dec 2026 12:00:00 GMT",
            "Tue, 08 Dec 2026 12:00:00 GMT",
        );
        assert_eq!(outcome(&[]), 200);
        assert_eq!(outcome(&[(header::IF_MATCH, "\"other\"")]), 412);
        assert_eq!(outcome(&[(header::IF_MATCH, "\"abc\"")]), 200);
        assert_eq!(outcome(&[(header::IF_UNMODIFIED_SINCE, before)]), 412);
        assert_eq!(outcome(&[(header::IF_UNMODIFIED_SINCE, after)]), 200);
        // If-Match decides over If-Unmodified-Since.
        assert_eq!(
            outcome(&[
                (header::IF_MATCH, "\"abc\""),
                (header::IF_UNMODIFIED_SINCE, before)
            ]),
            200
        );
        assert_eq!(outcome(&[(header::IF_NONE_MATCH, "\"abc\"")]), 304);
        assert_eq!(outcome(&[(header::IF_MODIFIED_SINCE, after)]), 304);
        assert_eq!(outcome(&[(header::IF_MODIFIED_SINCE, before)]), 200);
        // If-None-Match decides over If-Modified-Since.
        assert_eq!(
            outcome(&[
                (header::IF_NONE_MATCH, "\"other\""),
                (header::IF_MODIFIED_SINCE, after)
            ]),
            200
        );
        assert_eq!(outcome(&[(header::IF_MODIFIED_SINCE, "not a date")]), 200);
    }

    #[test]
    fn entity_tags_match_as_http_compares_them() {
        assert!(etag_matches(br#""abc""#, br#""abc""#));
        assert!(etag_matches(br#""x", "abc""#, br#""abc""#));
        assert!(etag_matches(br#"W/"abc""#, br#""abc""#));
        assert!(etag_matches(b"*", br#""abc""#));
        assert!(!etag_matches(br#""abd""#, br#""abc""#));
    }
}
