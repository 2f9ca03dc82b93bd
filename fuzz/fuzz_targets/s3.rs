//! S3's REST API (awsapi/s3.rs: path, `versionId`, `Range`, conditional headers) and the S3 file
//! names (object_files.rs `file_name`).
//!
//! The input is lines: request path, query, `Range`, object size, `If-Match`, `If-None-Match`,
//! `If-Modified-Since`, `If-Unmodified-Since`, the object's `ETag` and `Last-Modified`, then a
//! second bucket, key and version id (for file names). An empty line is an absent header.
//!
//! Properties: an accepted path and query encode back to themselves, and the bucket never holds a
//! `/` (the cache keys S3 objects by `bucket/key`); a range lies inside the object; conditions
//! follow RFC 9110's order; a file name is one plain name inside the directory whatever the
//! bucket, key and version, and two different objects never share one.

#![no_main]
use http::{header, HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sidecache::fuzzing::*;
use std::path::{Component, Path};

/// What an S3 client escapes in a key: everything but unreserved characters and `/`.
const KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&b| b == b'\n');
    let mut line = || lines.next().unwrap_or_default();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let (path, query, range, size) = (text(line()), text(line()), text(line()), text(line()));
    let conditions = [
        header::IF_MATCH,
        header::IF_NONE_MATCH,
        header::IF_MODIFIED_SINCE,
        header::IF_UNMODIFIED_SINCE,
    ];
    let mut asked = HeaderMap::new();
    for name in conditions {
        let value = line();
        if !value.is_empty() {
            if let Ok(value) = HeaderValue::from_bytes(value) {
                asked.insert(name, value);
            }
        }
    }
    let mut object = HeaderMap::new();
    for name in [header::ETAG, header::LAST_MODIFIED] {
        let value = line();
        if !value.is_empty() {
            if let Ok(value) = HeaderValue::from_bytes(value) {
                object.insert(name, value);
            }
        }
    }
    let (bucket2, key2, version2) = (text(line()), text(line()), text(line()));

    // Path and query.
    if let Ok((bucket, key)) = s3_bucket_and_key(&path) {
        assert!(!bucket.is_empty() && !key.is_empty() && key.len() <= 1024);
        assert!(
            !bucket.contains('/'),
            "bucket {bucket:?}: its cache key `bucket/key` would be another object's"
        );
        let again = format!(
            "/{}/{}",
            utf8_percent_encode(&bucket, NON_ALPHANUMERIC),
            utf8_percent_encode(&key, KEY)
        );
        assert_eq!(s3_bucket_and_key(&again), Ok((bucket, key)), "{again}");
    }
    if let Ok(version) = s3_version_id(Some(&query)) {
        if let Some(v) = &version {
            assert!(!v.is_empty());
            let again = format!(
                "versionId={}&x-id=GetObject",
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            );
            assert_eq!(s3_version_id(Some(&again)), Ok(version.clone()), "{again}");
        }
    }

    // Range.
    let size: u64 = size.trim().parse().unwrap_or(size.len() as u64 * 7919);
    match s3_range(&range, size) {
        Ok(Some((first, last))) => {
            assert!(
                first <= last && last < size,
                "{range:?} of {size}: {first}-{last}"
            );
        }
        Ok(None) => {}
        Err(Unsatisfiable) => {}
    }
    if size > 0 {
        assert_eq!(s3_range("bytes=0-", size), Ok(Some((0, size - 1))));
        assert_eq!(
            s3_range(&format!("bytes=-{size}"), size),
            Ok(Some((0, size - 1)))
        );
    }
    assert_eq!(
        s3_range(&format!("bytes={size}-"), size),
        Err(Unsatisfiable)
    );

    // Conditions.
    let etag = object
        .get(header::ETAG)
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default();
    let decided = s3_preconditions(&asked, &object);
    if asked.is_empty() {
        assert_eq!(decided, Condition::Holds);
    }
    if let Some(wanted) = asked.get(header::IF_MATCH) {
        if !s3_etag_matches(wanted.as_bytes(), &etag) {
            assert_eq!(decided, Condition::Failed, "If-Match decides first");
        }
    }
    if let Some(wanted) = asked.get(header::IF_NONE_MATCH) {
        let holds_before = match asked.get(header::IF_MATCH) {
            Some(w) => s3_etag_matches(w.as_bytes(), &etag),
            None => !asked.contains_key(header::IF_UNMODIFIED_SINCE),
        };
        if holds_before {
            let matched = s3_etag_matches(wanted.as_bytes(), &etag);
            assert_eq!(decided == Condition::NotModified, matched);
        }
    }
    assert!(s3_etag_matches(b"*", &etag));
    if !etag.contains(&b',') {
        assert!(s3_etag_matches(&etag, &etag), "an ETag matches itself");
    }

    // File names.
    for (bucket, key, version) in [
        (&bucket2, &key2, Some(version2.as_str())),
        (&bucket2, &key2, None),
        (&path, &query, Some(range.as_str())),
    ] {
        let name = s3_file_name(bucket, key, version);
        assert!(!name.is_empty() && name.len() <= 32 + 1 + 64, "{name}");
        assert!(!name.starts_with('.') && !name.contains('/') && !name.contains('\0'));
        assert!(name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')));
        let dir = Path::new("/tmp/sidecache/s3");
        let joined = dir.join(&name);
        assert_eq!(joined.parent(), Some(dir));
        assert!(matches!(
            joined.components().next_back(),
            Some(Component::Normal(_))
        ));
    }
    let version2 = (!version2.is_empty()).then_some(version2.as_str());
    let others = [
        (bucket2.as_str(), key2.as_str(), version2),
        (path.as_str(), key2.as_str(), version2),
        (bucket2.as_str(), query.as_str(), version2),
        (path.as_str(), query.as_str(), version2),
        (
            bucket2.as_str(),
            key2.as_str(),
            Some(range.as_str()).filter(|r| !r.is_empty()),
        ),
    ];
    for (i, a) in others.iter().enumerate() {
        for b in &others[i + 1..] {
            if a != b {
                assert_ne!(
                    s3_file_name(a.0, a.1, a.2),
                    s3_file_name(b.0, b.1, b.2),
                    "two objects, one file: {a:?} {b:?}"
                );
            }
        }
    }
});
