//! `GET /s3/get`: the JSON description and the file it points at, `format=raw`, the cache
//! (hit, conditional revalidation answered 304, replacement), single-flight downloads, errors
//! and the start-up clean-up of the S3 directory. File-system properties are in `s3_files`
//! (names, atomic replacement) and `s3_limits` (budgets, disk full), the 50 MB download in
//! `s3_large`; shared helpers in `s3_support`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::DateTimeFormat;
use futures::future::join_all;
use serde_json::Value;
use sidecache_tests::check::{assert_api_error, assert_keys, assert_rfc3339_utc, num};
use sidecache_tests::util::{enc, poll_until, unique};
use sidecache_tests::{moto, Fault, FaultProxy, Resp, Sidecar};

use super::s3_support::{
    expected_name, first_non_hit, get_object_statuses, inode, listing, names, new_bucket, obj,
    path_of, pattern, put, start_s3, S3_DIR_VAR,
};

/// The fields of a 200 answer, exactly (absent values are `null`, never missing).
const FIELDS: &[&str] = &[
    "path",
    "bucket",
    "key",
    "versionId",
    "etag",
    "size",
    "lastModified",
    "contentType",
];

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[tokio::test]
async fn small_object_is_described_and_written_into_the_s3_dir() {
    let bucket = new_bucket("s3-small").await;
    let key = "configs/app settings.json";
    let body = br#"{"feature":"on","limit":42}"#.to_vec();
    let etag = put(&bucket, key, body.clone(), Some("application/json")).await;
    let head = moto::s3()
        .head_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let env = start_s3(|b| b).await;

    let resp = env.sc.get(&obj(&bucket, key, "")).await;
    assert_eq!(resp.x_cache().as_deref(), Some("miss"));
    let doc = resp.ok_json();
    assert!(
        resp.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "JSON answer content type: {:?}",
        resp.header("content-type")
    );
    assert_keys(&doc, FIELDS, "the /s3/get answer");
    assert_eq!(doc["bucket"], bucket.as_str(), "{doc}");
    assert_eq!(doc["key"], key, "{doc}");
    assert_eq!(doc["versionId"], Value::Null, "unversioned bucket: {doc}");
    assert_eq!(doc["etag"], etag.as_str(), "{doc}");
    assert_eq!(num(&doc, "/size"), body.len() as u64, "{doc}");
    assert_eq!(doc["contentType"], "application/json", "{doc}");
    assert_rfc3339_utc(&doc["lastModified"], "lastModified");
    let last_modified = head
        .last_modified()
        .expect("HeadObject has LastModified")
        .fmt(DateTimeFormat::DateTime)
        .unwrap();
    assert_eq!(doc["lastModified"], last_modified.as_str(), "{doc}");

    let path = PathBuf::from(doc["path"].as_str().expect("path is a string"));
    assert!(path.is_absolute(), "path {path:?} should be absolute");
    let real = path.canonicalize().expect("the file at `path` exists");
    assert_eq!(real.parent(), Some(env.dir.as_path()), "{real:?}");
    assert_eq!(
        path.file_name().and_then(|n| n.to_str()),
        Some(expected_name(&bucket, key, None).as_str()),
        "documented file name"
    );
    assert!(std::fs::metadata(&path).unwrap().is_file());
    assert_eq!(read(&path), body, "file contents");
    assert_eq!(
        listing(&env.dir),
        names(&[&expected_name(&bucket, key, None)])
    );

    let raw = env.sc.get(&obj(&bucket, key, "&format=raw")).await;
    assert_eq!(raw.status, 200, "{}", raw.text());
    assert_eq!(raw.body, body, "format=raw bytes");
    assert_eq!(
        raw.header("content-type").as_deref(),
        Some("application/json"),
        "format=raw carries the object's content type"
    );
    assert_eq!(
        raw.header("content-length"),
        Some(body.len().to_string()),
        "format=raw Content-Length"
    );

    // The `uri=` spelling names the same object: same answer, from the cache.
    let uri = format!("s3://{bucket}/{key}");
    let via_uri = env.sc.get(&format!("/s3/get?uri={}", enc(&uri))).await;
    assert_eq!(via_uri.ok_json(), doc, "uri= and bucket=&key= answers");
    assert_eq!(via_uri.x_cache().as_deref(), Some("hit"));
    assert_eq!(env.proxy.count("GetObject"), 1, "{:?}", env.proxy.log());
}

#[tokio::test]
async fn second_request_within_the_ttl_is_a_hit() {
    let bucket = new_bucket("s3-hit").await;
    let body = pattern(3, 20_000);
    put(&bucket, "data/blob.bin", body.clone(), None).await;
    let env = start_s3(|b| b).await;
    let query = obj(&bucket, "data/blob.bin", "");

    let first = env.sc.get(&query).await;
    assert_eq!(first.x_cache().as_deref(), Some("miss"));
    let second = env.sc.get(&query).await;
    assert_eq!(second.x_cache().as_deref(), Some("hit"));
    assert!(second.age().is_some(), "Age header on a hit");
    assert_eq!(second.ok_json(), first.ok_json());
    let raw = env
        .sc
        .get(&obj(&bucket, "data/blob.bin", "&format=raw"))
        .await;
    assert_eq!(raw.x_cache().as_deref(), Some("hit"));
    assert!(raw.body == body, "format=raw bytes from the cached file");
    assert_eq!(
        raw.header("content-type").as_deref(),
        Some("application/octet-stream"),
        "moto's default content type"
    );

    assert_eq!(env.proxy.count("GetObject"), 1, "{:?}", env.proxy.log());
    let stats = env.sc.stats().await;
    assert_eq!(num(&stats, "/upstream/s3/calls"), 1, "{stats}");
    assert_eq!(num(&stats, "/s3/files"), 1, "{stats}");
    assert!(num(&stats, "/s3/bytes") >= body.len() as u64, "{stats}");
}

#[tokio::test]
async fn raw_reads_of_an_object_invalidated_over_and_over_never_fail() {
    // Each invalidation deletes the cached file; a raw read whose look-up found the entry just
    // before must look again, not answer 500 (found by the soak: ~1 % of such reads did).
    let bucket = new_bucket("s3-churn").await;
    let body = pattern(5, 4_000);
    put(&bucket, "churn.bin", body.clone(), None).await;
    let env = start_s3(|b| b).await;
    let raw = obj(&bucket, "churn.bin", "&format=raw");
    let invalidate = format!("/cache/invalidate?kind=s3&prefix={}", enc(&bucket));
    let reads = env.sc.get(&raw).await;
    assert!(reads.body == body);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let invalidating = async {
        let mut n = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            assert_eq!(env.sc.post(&invalidate).await.status, 200);
            n += 1;
            tokio::task::yield_now().await;
        }
        n
    };
    let reading = async {
        let readers = (0..4).map(|_| async {
            let mut statuses = Vec::new();
            for _ in 0..100 {
                let resp = env.sc.get(&raw).await;
                if resp.status == 200 {
                    assert!(resp.body == body, "a 200 carries the whole object");
                }
                statuses.push(resp.status);
            }
            statuses
        });
        let statuses: Vec<u16> = join_all(readers).await.into_iter().flatten().collect();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        statuses
    };
    let (statuses, invalidations) = tokio::join!(reading, invalidating);
    assert!(invalidations > 10, "{invalidations} invalidations");
    // 503 (SlowDown, retry) only if the file went three times in a row; never a 500.
    let failed: Vec<_> = statuses
        .iter()
        .filter(|s| **s != 200 && **s != 503)
        .collect();
    assert!(failed.is_empty(), "statuses other than 200/503: {failed:?}");
    let retried = statuses.iter().filter(|s| **s == 503).count();
    assert!(
        retried * 100 <= statuses.len(),
        "{retried} of {} reads answered 503",
        statuses.len()
    );
}

#[tokio::test]
async fn expired_object_is_revalidated_with_304_then_replaced_in_place() {
    let bucket = new_bucket("s3-ttl").await;
    let key = "cfg/model.bin";
    let v1 = pattern(41, 10_000);
    let etag1 = put(&bucket, key, v1.clone(), None).await;
    let env = start_s3(|b| b.env("SIDECACHE_S3_TTL", "1")).await;
    let query = obj(&bucket, key, "");

    let first = env.sc.get(&query).await;
    assert_eq!(first.x_cache().as_deref(), Some("miss"));
    let path = path_of(&first);
    let inode1 = inode(&path);

    // Unchanged upstream: one conditional GET, answered 304, keeps the very same file.
    let revalidated = first_non_hit(&env.sc, &query).await;
    let renewed_at = Instant::now();
    assert_eq!(
        revalidated.x_cache().as_deref(),
        Some("refresh"),
        "{}",
        revalidated.text()
    );
    assert_eq!(
        get_object_statuses(&env.proxy),
        vec![200, 304],
        "{:?}",
        env.proxy.log()
    );
    let doc = revalidated.ok_json();
    assert_eq!(doc, first.ok_json(), "a 304 keeps the description");
    assert_eq!(doc["etag"], etag1.as_str());
    assert_eq!(inode(&path), inode1, "a 304 keeps the same file");
    assert_eq!(read(&path), v1);
    // The 304 restarted the TTL.
    let next = env.sc.get(&query).await;
    assert!(
        next.x_cache().as_deref() == Some("hit") || renewed_at.elapsed() >= Duration::from_secs(1),
        "after a 304 the TTL restarts: {:?}",
        next.x_cache()
    );

    // Changed upstream: the next revalidation downloads the new object over the same path.
    let v2 = pattern(42, 17_321);
    let etag2 = put(&bucket, key, v2.clone(), Some("application/x-e2e")).await;
    assert_ne!(etag1, etag2);
    let replaced = first_non_hit(&env.sc, &query).await;
    assert_eq!(replaced.x_cache().as_deref(), Some("refresh"));
    let doc = replaced.ok_json();
    assert_eq!(PathBuf::from(doc["path"].as_str().unwrap()), path);
    assert_eq!(doc["etag"], etag2.as_str(), "{doc}");
    assert_eq!(num(&doc, "/size"), v2.len() as u64, "{doc}");
    assert_eq!(doc["contentType"], "application/x-e2e", "{doc}");
    assert!(read(&path) == v2, "the file now holds the new object");
    assert_ne!(inode(&path), inode1, "replaced by rename, not rewritten");
    let statuses = get_object_statuses(&env.proxy);
    assert_eq!(statuses.first(), Some(&200), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
    assert!(
        statuses[1..statuses.len() - 1].iter().all(|s| *s == 304),
        "{statuses:?}"
    );
    assert_eq!(listing(&env.dir).len(), 1, "{:?}", listing(&env.dir));
}

#[tokio::test]
async fn concurrent_misses_of_one_object_make_one_get_object() {
    let bucket = new_bucket("s3-flight").await;
    let body = pattern(10, 256 * 1024);
    put(&bucket, "shared/weights.bin", body.clone(), None).await;
    let env = start_s3(|b| b).await;
    // Slow upstream: all 50 requests arrive while the first download is in flight.
    env.proxy
        .set_fault(Fault::Latency(Duration::from_millis(200)));
    let query = obj(&bucket, "shared/weights.bin", "");

    let answers = join_all((0..50).map(|_| env.sc.get(&query))).await;
    let docs: Vec<Value> = answers.iter().map(Resp::ok_json).collect();
    let paths: BTreeSet<&str> = docs.iter().map(|d| d["path"].as_str().unwrap()).collect();
    assert_eq!(paths.len(), 1, "one file for all: {paths:?}");
    assert!(docs.iter().all(|d| *d == docs[0]), "identical answers");
    assert_eq!(env.proxy.count("GetObject"), 1, "{:?}", env.proxy.log());
    assert!(read(Path::new(paths.first().unwrap())) == body);
    assert_eq!(listing(&env.dir).len(), 1, "{:?}", listing(&env.dir));
}

#[tokio::test]
async fn missing_objects_and_bad_requests_are_errors() {
    let bucket = new_bucket("s3-errors").await;
    put(&bucket, "present", b"here".to_vec(), None).await;
    let env = start_s3(|b| b).await;

    let missing_key = env.sc.get(&obj(&bucket, "absent/key.bin", "")).await;
    assert_api_error(&missing_key, 404, Some("NoSuchKey"));
    let no_bucket = unique("s3-no-such-bucket");
    let missing_bucket = env.sc.get(&obj(&no_bucket, "present", "")).await;
    assert_api_error(&missing_bucket, 404, Some("NoSuchBucket"));
    let uri = format!("/s3/get?uri={}", enc(&format!("s3://{no_bucket}/k")));
    assert_api_error(&env.sc.get(&uri).await, 404, Some("NoSuchBucket"));

    for bad in [
        format!("/s3/get?uri={}", enc("http://x")),
        format!("/s3/get?uri={}", enc(&format!("s3://{bucket}"))),
        format!("/s3/get?uri={}", enc(&format!("s3://{bucket}/"))),
        format!("/s3/get?uri={}", enc("s3:///present")),
    ] {
        assert_api_error(&env.sc.get(&bad).await, 400, Some("InvalidParameter"));
    }
    for missing in [
        "/s3/get".to_owned(),
        format!("/s3/get?bucket={bucket}"),
        "/s3/get?key=present".to_owned(),
    ] {
        assert_api_error(&env.sc.get(&missing).await, 400, Some("MissingParameter"));
    }
    assert!(
        listing(&env.dir).is_empty(),
        "errors write nothing: {:?}",
        listing(&env.dir)
    );
    // The object itself is fine.
    assert_eq!(
        read(&path_of(&env.sc.get(&obj(&bucket, "present", "")).await)),
        b"here"
    );
}

#[tokio::test]
async fn start_up_removes_leftover_files_and_keeps_foreign_ones() {
    let proxy = FaultProxy::start().await;
    let builder = Sidecar::builder(&proxy);
    let dir = PathBuf::from(builder.env_value(S3_DIR_VAR).unwrap());
    std::fs::create_dir_all(&dir).unwrap();
    let ours = [
        "0123456789abcdef0123456789abcdef-model.onnx",
        "fedcba9876543210fedcba9876543210",
        ".tmp-4242-0",
        ".tmp-1-17",
    ];
    let foreign = [
        "notes.txt",
        // Not 32 hex digits ('g'): not a name the sidecar writes.
        "0123456789abcdef0123456789abcdeg-almost.bin",
    ];
    for name in ours.iter().chain(&foreign) {
        std::fs::write(dir.join(name), b"left over").unwrap();
    }
    let sc = builder.spawn().await;

    let cleaned = poll_until(Duration::from_secs(5), || async {
        (listing(&dir) == names(&foreign)).then_some(())
    })
    .await;
    assert!(
        cleaned.is_some(),
        "after start-up the S3 dir should hold only {foreign:?}, has {:?}",
        listing(&dir)
    );
    assert_eq!(std::fs::read(dir.join("notes.txt")).unwrap(), b"left over");

    // And the directory is usable.
    let bucket = new_bucket("s3-startup").await;
    put(&bucket, "k/after.txt", b"fresh".to_vec(), None).await;
    let path = path_of(&sc.get(&obj(&bucket, "k/after.txt", "")).await);
    assert_eq!(read(&path), b"fresh");
    let mut expected = names(&foreign);
    expected.insert(expected_name(&bucket, "k/after.txt", None));
    assert_eq!(listing(&dir), expected);
}
