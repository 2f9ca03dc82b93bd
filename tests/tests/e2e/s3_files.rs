//! The S3 directory as a file system sees it: crafted keys never name a path outside it, and
//! replacement is atomic for concurrent readers.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use futures::future::{join_all, BoxFuture};
use futures::FutureExt;
use sidecache_tests::check::num;
use sidecache_tests::moto;
use sidecache_tests::util::poll_until;

use super::s3_support::{
    expected_name, listing, names, new_bucket, obj, path_of, pattern, put, start_s3,
};

/// `path` with `.` and `..` resolved lexically (what a naive `dir.join(key)` would open).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn snapshot(path: &Path) -> Option<(u64, SystemTime)> {
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.len(), m.modified().unwrap()))
}

/// Whether moto stores `key` and gives the same bytes back (keys it mangles are left out).
async fn round_trips(bucket: &str, key: &str, body: &[u8]) -> bool {
    let s3 = moto::s3();
    let put = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.to_vec().into())
        .send()
        .await;
    if put.is_err() {
        return false;
    }
    match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => out
            .body
            .collect()
            .await
            .is_ok_and(|b| b.into_bytes() == body),
        Err(_) => false,
    }
}

#[tokio::test]
async fn crafted_keys_stay_inside_the_s3_dir() {
    let bucket = new_bucket("s3-crafted").await;
    let long_key = format!("{}/{}", "d".repeat(500), "x".repeat(523));
    assert_eq!(long_key.len(), 1024, "S3's longest key");
    let keys: Vec<String> = [
        "../../etc/passwd",
        "../../../../../../../../tmp/sidecache-e2e-escape",
        "/abs/key",
        "a//b///c",
        "..",
        ".",
        "../..",
        "dir/..",
        "x/../../../../etc/hosts",
        "./hidden/.profile",
        "...",
        "trailing/",
        "ünïcødé/файл 名前.txt",
        "spaces and %25 percent?&=#.bin",
        "back\\slash\\..\\..\\win.ini",
        long_key.as_str(),
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    // Control characters: S3 allows them in keys.
    let control: Vec<String> = ["tab\there", "line\nbreak", "bell\u{7}", "del\u{7f}"]
        .into_iter()
        .map(str::to_owned)
        .collect();

    let mut accepted = Vec::new();
    let mut skipped = Vec::new();
    for (i, key) in keys.iter().chain(&control).enumerate() {
        let body = format!("object {i}: {key:?}").into_bytes();
        if round_trips(&bucket, key, &body).await {
            accepted.push((key.clone(), body));
        } else {
            skipped.push(key.clone());
        }
    }
    eprintln!("keys moto does not round-trip (left out): {skipped:?}");
    for must in ["../../etc/passwd", "a//b///c", "ünïcødé/файл 名前.txt"] {
        assert!(
            accepted.iter().any(|(k, _)| k == must),
            "moto should store {must:?}; skipped: {skipped:?}"
        );
    }
    assert!(accepted.iter().any(|(k, _)| *k == long_key));

    let env = start_s3(|b| b).await;
    let home = env.dir.parent().unwrap().to_path_buf();
    let home_before = listing(&home);
    // Where a naive implementation would write: `dir.join(key)` resolved, and `dir/key`.
    let escapes: BTreeMap<PathBuf, Option<(u64, SystemTime)>> = accepted
        .iter()
        .flat_map(|(key, _)| {
            [
                lexical(&env.dir.join(key)),
                lexical(Path::new(&format!("{}/{key}", env.dir.display()))),
            ]
        })
        // Children of the S3 dir are covered by its listing, its parent by the parent's
        // listing; other existing directories (`/tmp`, `/`) change under parallel tests.
        .filter(|p| p.parent() != Some(env.dir.as_path()) && !p.is_dir())
        .map(|p| {
            let before = snapshot(&p);
            (p, before)
        })
        .collect();

    let mut expected = BTreeSet::new();
    for (key, body) in &accepted {
        // Every key S3 stores is served, control characters included (docs/api.md).
        let doc = env.sc.get(&obj(&bucket, key, "")).await.ok_json();
        assert_eq!(doc["key"], key.as_str(), "the key round-trips: {doc}");
        let path = PathBuf::from(doc["path"].as_str().unwrap());
        let real = path
            .canonicalize()
            .unwrap_or_else(|e| panic!("{path:?} for key {key:?}: {e}"));
        assert_eq!(
            real.parent(),
            Some(env.dir.as_path()),
            "key {key:?} gave {path:?}, outside {}",
            env.dir.display()
        );
        assert_eq!(
            real, path,
            "key {key:?}: the path is a plain child, no `..` or links"
        );
        let name = expected_name(&bucket, key, None);
        assert_eq!(
            path.file_name().unwrap().to_str(),
            Some(name.as_str()),
            "key {key:?}"
        );
        assert!(name.len() <= 32 + 1 + 64, "{name}");
        assert_eq!(std::fs::read(&path).unwrap(), *body, "key {key:?}");
        assert!(expected.insert(name), "two keys share a file: {key:?}");
    }

    assert_eq!(
        listing(&env.dir),
        expected,
        "the S3 dir holds one file per object and nothing else"
    );
    assert_eq!(
        listing(&home),
        home_before,
        "nothing new next to the S3 dir"
    );
    for (path, before) in &escapes {
        assert_eq!(
            snapshot(path),
            *before,
            "{} changed while crafted keys were fetched",
            path.display()
        );
    }
}

/// A reader's verdict on one read.
fn classify(bytes: &[u8], old: &[u8], new: &[u8], what: &str) -> bool {
    if bytes == new {
        return true;
    }
    assert!(
        bytes == old,
        "{what}: read {} bytes that are neither the old object ({} bytes) nor the new one ({} bytes)",
        bytes.len(),
        old.len(),
        new.len()
    );
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_see_old_or_new_object_never_a_mix() {
    let bucket = new_bucket("s3-atomic").await;
    let key = "live/table.bin";
    let old = pattern(61, 2 * 1024 * 1024);
    let new = pattern(62, 3 * 1024 * 1024 + 7);
    put(&bucket, key, old.clone(), None).await;
    let env = start_s3(|b| b.env("SIDECACHE_S3_TTL", "1")).await;
    let query = obj(&bucket, key, "");
    let raw_query = obj(&bucket, key, "&format=raw");
    let path = path_of(&env.sc.get(&query).await);
    // A reader that opened the old file before the replacement.
    let mut held = std::fs::File::open(&path).unwrap();

    let stop = AtomicBool::new(false);
    let (path_old, path_new) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let (raw_old, raw_new) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let mut tasks: Vec<BoxFuture<'_, ()>> = Vec::new();
    for _ in 0..3 {
        tasks.push(
            async {
                while !stop.load(Ordering::Relaxed) {
                    // The path must exist at every instant: replacement is a rename.
                    let bytes = tokio::fs::read(&path)
                        .await
                        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
                    let counter = if classify(&bytes, &old, &new, "file read") {
                        &path_new
                    } else {
                        &path_old
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }
            .boxed(),
        );
    }
    for _ in 0..2 {
        tasks.push(
            async {
                while !stop.load(Ordering::Relaxed) {
                    let resp = env.sc.get(&raw_query).await;
                    assert_eq!(resp.status, 200, "{}", resp.text());
                    let counter = if classify(&resp.body, &old, &new, "format=raw") {
                        &raw_new
                    } else {
                        &raw_old
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }
            .boxed(),
        );
    }
    tasks.push(
        async {
            // Let the readers see the old object a few times, then replace it upstream.
            poll_until(Duration::from_secs(10), || async {
                (path_old.load(Ordering::Relaxed) >= 3 && raw_old.load(Ordering::Relaxed) >= 2)
                    .then_some(())
            })
            .await
            .expect("readers never read the old object");
            put(&bucket, key, new.clone(), None).await;
            // Keep requesting (each request past the TTL may refresh) until every kind of
            // reader has seen the new object several times.
            let done = poll_until(Duration::from_secs(20), || async {
                let doc = env.sc.get(&query).await.ok_json();
                let replaced = num(&doc, "/size") == new.len() as u64;
                (replaced
                    && path_new.load(Ordering::Relaxed) >= 5
                    && raw_new.load(Ordering::Relaxed) >= 3)
                    .then_some(())
            })
            .await;
            stop.store(true, Ordering::Relaxed);
            assert!(done.is_some(), "the new object never reached every reader");
        }
        .boxed(),
    );
    join_all(tasks).await;

    eprintln!(
        "file reads: {} old, {} new; format=raw: {} old, {} new",
        path_old.load(Ordering::Relaxed),
        path_new.load(Ordering::Relaxed),
        raw_old.load(Ordering::Relaxed),
        raw_new.load(Ordering::Relaxed)
    );
    let mut kept = Vec::new();
    held.read_to_end(&mut kept).unwrap();
    assert!(kept == old, "a reader of the old file keeps reading it");
    assert!(std::fs::read(&path).unwrap() == new);
    assert_eq!(
        listing(&env.dir),
        names(&[&expected_name(&bucket, key, None)]),
        "no temporary file left"
    );
}
