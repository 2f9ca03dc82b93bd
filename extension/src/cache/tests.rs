use super::*;
use crate::model::{Service, Target};
use axum::http::HeaderValue;
use axum::http::StatusCode;
use bytes::Bytes;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A plain SSM key (also used by `store`'s tests).
pub(super) fn key(name: &str) -> CacheKey {
    CacheKey {
        service: Service::Ssm,
        name: name.into(),
        selector: "".into(),
        decrypt: false,
        target: Target::default(),
    }
}

fn cache(max_entries: u64) -> Arc<ValueCache> {
    Arc::new(ValueCache::new(
        Some(max_entries),
        1 << 20,
        Lifetimes {
            stale_if_error: Duration::from_secs(60),
            negative_ttl: Duration::ZERO,
        },
        Renewal::off(),
        Arc::new(Stats::default()),
    ))
}

const NO_EXTRAS: Lifetimes = Lifetimes {
    stale_if_error: Duration::ZERO,
    negative_ttl: Duration::ZERO,
};

const TTL: Freshness = Freshness {
    ttl: Duration::from_secs(60),
    max_age: None,
};

fn value(text: &str) -> Result<Entry, AppError> {
    Ok(Entry::new(
        Bytes::from(text.to_owned()),
        Bytes::new(),
        HeaderValue::from_static("text/plain"),
    ))
}

fn upstream_error(transient: bool) -> AppError {
    AppError::Upstream {
        status: if transient {
            StatusCode::BAD_GATEWAY
        } else {
            StatusCode::NOT_FOUND
        },
        code: "X".into(),
        message: "m".into(),
        transient,
    }
}

#[tokio::test]
async fn concurrent_misses_make_one_call() {
    let cache = cache(10);
    let calls = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (cache, calls) = (cache.clone(), calls.clone());
            tokio::spawn(async move {
                cache
                    .get_or_fetch(key("a"), TTL, |_| async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        value("v")
                    })
                    .await
                    .unwrap()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(&task.await.unwrap().0.json[..], b"v");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let (_, outcome) = cache
        .get_or_fetch(key("a"), TTL, |_| async { value("w") })
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Hit);
}

#[tokio::test]
async fn max_age_zero_forces_a_refresh() {
    let cache = cache(10);
    cache
        .get_or_fetch(key("a"), TTL, |_| async { value("1") })
        .await
        .unwrap();
    let forced = Freshness {
        max_age: Some(Duration::ZERO),
        ..TTL
    };
    let (entry, outcome) = cache
        .get_or_fetch(key("a"), forced, |_| async { value("2") })
        .await
        .unwrap();
    assert_eq!((&entry.json[..], outcome), (&b"2"[..], Outcome::Refresh));
}

#[tokio::test]
async fn transient_failure_serves_stale_but_not_found_does_not() {
    let cache = cache(10);
    cache
        .get_or_fetch(key("a"), TTL, |_| async { value("old") })
        .await
        .unwrap();
    let expired = Freshness {
        max_age: Some(Duration::ZERO),
        ..TTL
    };
    let (entry, outcome) = cache
        .get_or_fetch(key("a"), expired, |_| async { Err(upstream_error(true)) })
        .await
        .unwrap();
    assert_eq!((&entry.json[..], outcome), (&b"old"[..], Outcome::Stale));
    let err = cache
        .get_or_fetch(key("a"), expired, |_| async { Err(upstream_error(false)) })
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn failures_are_not_cached() {
    let cache = cache(10);
    let err = cache
        .get_or_fetch(key("a"), TTL, |_| async { Err(upstream_error(true)) })
        .await;
    assert!(err.is_err());
    let (_, outcome) = cache
        .get_or_fetch(key("a"), TTL, |_| async { value("v") })
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Miss);
}

#[tokio::test]
async fn disabled_cache_passes_every_request_through() {
    let cache = cache(0);
    let calls = AtomicUsize::new(0);
    for _ in 0..3 {
        let (_, outcome) = cache
            .get_or_fetch(key("a"), TTL, |_| async {
                calls.fetch_add(1, Ordering::SeqCst);
                value("v")
            })
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Miss);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn entry_count_is_bounded() {
    let cache = cache(5);
    for i in 0..20 {
        cache
            .get_or_fetch(key(&i.to_string()), TTL, |_| async { value("v") })
            .await
            .unwrap();
    }
    assert!(cache.entry_count() <= 5, "{} entries", cache.entry_count());
    assert!(cache.evictions() >= 15);
}

#[tokio::test]
async fn byte_budget_is_bounded() {
    // 100 entries allowed, but only 64 KiB: 16 KiB values fit four at a time.
    let cache = Arc::new(ValueCache::new(
        Some(100),
        64 << 10,
        NO_EXTRAS,
        Renewal::off(),
        Arc::new(Stats::default()),
    ));
    let big = "x".repeat(16 << 10);
    for i in 0..20 {
        let big = big.clone();
        cache
            .get_or_fetch(key(&i.to_string()), TTL, |_| async move { value(&big) })
            .await
            .unwrap();
    }
    assert!(cache.entry_count() <= 4, "{} entries", cache.entry_count());
    assert!(cache.bytes() <= 64 << 10, "{} bytes", cache.bytes());
}

#[test]
fn weights_keep_both_bounds() {
    // Default configuration: exactly 1000 small entries fit.
    let (capacity, unit) = weights(Some(1000), 64 << 20);
    assert_eq!(capacity / unit, 1000);
    assert!(capacity - (64 << 20) < 1000);
    // A byte budget that does not divide evenly still admits the full entry count.
    let (capacity, unit) = weights(Some(3), 1000);
    assert_eq!((capacity, unit), (1002, 334));
    // Bytes alone: exact.
    assert_eq!(weights(None, 350_000), (350_000, 1));
}

#[tokio::test]
async fn byte_only_bound_is_exact() {
    let cache = Arc::new(ValueCache::new(
        None,
        3 * 2000,
        NO_EXTRAS,
        Renewal::off(),
        Arc::new(Stats::default()),
    ));
    let value = "x".repeat(2000 - std::mem::size_of::<Entry>());
    for i in 0..3 {
        let value = value.clone();
        cache
            .get_or_fetch(
                key(&i.to_string()),
                TTL,
                |_| async move { value_entry(&value) },
            )
            .await
            .unwrap();
    }
    assert_eq!(cache.entry_count(), 3);
    assert_eq!(cache.bytes(), 6000);
}

fn value_entry(text: &str) -> Result<Entry, AppError> {
    value(text)
}

#[tokio::test]
async fn not_found_is_cached_for_the_negative_ttl_only() {
    let lifetimes = Lifetimes {
        stale_if_error: Duration::ZERO,
        negative_ttl: Duration::from_secs(60),
    };
    let cache = Arc::new(ValueCache::new(
        Some(10),
        1 << 20,
        lifetimes,
        Renewal::off(),
        Arc::new(Stats::default()),
    ));
    let calls = AtomicUsize::new(0);
    let missing = || async {
        calls.fetch_add(1, Ordering::SeqCst);
        Err(upstream_error(false))
    };
    for _ in 0..3 {
        let err = cache
            .get_or_fetch(key("gone"), TTL, |_| missing())
            .await
            .unwrap_err();
        assert_eq!(err.status(), StatusCode::NOT_FOUND);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Transient failures are never cached, and maxAge=0 looks again.
    let forced = Freshness {
        max_age: Some(Duration::ZERO),
        ..TTL
    };
    let (entry, outcome) = cache
        .get_or_fetch(key("gone"), forced, |_| async { value("back") })
        .await
        .unwrap();
    assert_eq!((&entry.json[..], outcome), (&b"back"[..], Outcome::Refresh));
}

#[tokio::test]
async fn invalidate_drops_matching_keys() {
    let cache = cache(10);
    for name in ["/app/a", "/app/b", "/other/c"] {
        cache
            .get_or_fetch(key(name), TTL, |_| async { value("v") })
            .await
            .unwrap();
    }
    assert_eq!(cache.invalidate(|k| k.name.starts_with("/app/")), 2);
    assert_eq!(cache.entry_count(), 1);
    let (_, outcome) = cache
        .get_or_fetch(key("/app/a"), TTL, |_| async { value("v") })
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Miss);
}

fn decrypting(name: &str) -> CacheKey {
    CacheKey {
        decrypt: true,
        ..key(name)
    }
}

fn neutral(text: &str, decryption_neutral: bool) -> Result<Entry, AppError> {
    let mut entry = value(text)?;
    entry.decryption_neutral = decryption_neutral;
    Ok(entry)
}

/// Fetches `key`, returning the body and whether the fetch ran.
async fn read(
    cache: &Arc<ValueCache>,
    key: CacheKey,
    text: &str,
    neutral_value: bool,
) -> (String, bool) {
    let fetched = AtomicUsize::new(0);
    let (entry, _) = cache
        .get_or_fetch(key, TTL, |_| async {
            fetched.fetch_add(1, Ordering::SeqCst);
            neutral(text, neutral_value)
        })
        .await
        .unwrap();
    let body = String::from_utf8(entry.json.to_vec()).unwrap();
    (body, fetched.load(Ordering::SeqCst) == 1)
}

#[tokio::test]
async fn a_neutral_value_serves_both_decryption_spellings_from_one_copy() {
    let cache = cache(10);
    // Fetched with decryption (as prefetch does), read without: no second fetch.
    assert_eq!(
        read(&cache, decrypting("a"), "v", true).await,
        ("v".into(), true)
    );
    assert_eq!(
        read(&cache, key("a"), "other", true).await,
        ("v".into(), false)
    );
    assert_eq!(
        read(&cache, decrypting("a"), "other", true).await,
        ("v".into(), false)
    );
    // The other direction.
    assert_eq!(read(&cache, key("b"), "w", true).await, ("w".into(), true));
    assert_eq!(
        read(&cache, decrypting("b"), "other", true).await,
        ("w".into(), false)
    );
    assert_eq!(cache.entry_count(), 2, "one copy per value");
}

#[tokio::test]
async fn a_secure_string_keeps_the_spellings_apart() {
    let cache = cache(10);
    assert_eq!(
        read(&cache, key("s"), "cipher", false).await,
        ("cipher".into(), true)
    );
    assert_eq!(
        read(&cache, decrypting("s"), "plain", false).await,
        ("plain".into(), true)
    );
    assert_eq!(
        read(&cache, key("s"), "x", false).await,
        ("cipher".into(), false)
    );
    assert_eq!(
        read(&cache, decrypting("s"), "x", false).await,
        ("plain".into(), false)
    );
    // A lookup (get-many) follows the same rule and leaves the key as it was.
    let probe = decrypting("s");
    assert!(cache.lookup(&probe, TTL).is_some());
    assert!(probe.decrypt);
}

#[tokio::test]
async fn a_plain_read_joins_a_decrypting_flight_of_a_neutral_value() {
    let cache = cache(10);
    let calls = Arc::new(AtomicUsize::new(0));
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let prefetch = {
        let (cache, calls) = (cache.clone(), calls.clone());
        tokio::spawn(async move {
            cache
                .get_or_fetch(decrypting("p"), TTL, |_| async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    let _ = started_tx.send(());
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    neutral("v", true)
                })
                .await
                .unwrap()
        })
    };
    started_rx.await.unwrap();
    let (entry, _) = cache
        .get_or_fetch(key("p"), TTL, |_| async {
            calls.fetch_add(1, Ordering::SeqCst);
            neutral("second", true)
        })
        .await
        .unwrap();
    assert_eq!(&entry.json[..], b"v");
    prefetch.await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_plain_read_that_joined_a_failing_decrypting_flight_does_not_fetch_again() {
    // The decrypting flight fails as upstream would fail the plain read's own fetch (timeout,
    // throttling, 5xx): the plain read answers with that failure instead of waiting for a fetch
    // of its own after it; a refusal of another kind leaves it to fetch.
    for (transient, plain_fetches) in [(true, 0), (false, 1)] {
        let cache = cache(10);
        let calls = Arc::new(AtomicUsize::new(0));
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let prefetch = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .get_or_fetch(decrypting("p"), TTL, |_| async move {
                        let _ = started_tx.send(());
                        let _ = released.await;
                        Err(upstream_error(transient))
                    })
                    .await
            })
        };
        started_rx.await.unwrap();
        let plain = {
            let (cache, calls) = (cache.clone(), calls.clone());
            tokio::spawn(async move {
                cache
                    .get_or_fetch(key("p"), TTL, |_| async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        neutral("own", true)
                    })
                    .await
            })
        };
        // Let the plain read reach the decrypting flight and wait on it, then end that flight.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        release.send(()).unwrap();
        assert!(prefetch.await.unwrap().is_err());
        let answer = plain.await.unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            plain_fetches,
            "transient: {transient}"
        );
        assert_eq!(answer.is_err(), transient);
    }
}

mod refresh_ahead;

fn body(entry: &Entry) -> String {
    String::from_utf8(entry.json.to_vec()).unwrap()
}

#[tokio::test]
async fn a_fetch_in_flight_across_an_invalidation_answers_its_callers_but_is_not_kept() {
    let cache = cache(10);
    let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let first = {
        let cache = cache.clone();
        tokio::spawn(async move {
            let (entry, _) = cache
                .get_or_fetch(key("a"), TTL, |_| async move {
                    let _ = started_tx.send(());
                    let _ = released.await;
                    value("before")
                })
                .await
                .unwrap();
            body(&entry)
        })
    };
    started.await.unwrap();
    // The write lands while that fetch is in flight.
    cache.invalidate(|k| &*k.name == "a");
    // A read after the write fetches on its own instead of joining the older fetch (which
    // would wait for ever here: the guard turns that into a failure).
    let (after, outcome) = tokio::time::timeout(
        Duration::from_secs(30),
        cache.get_or_fetch(key("a"), TTL, |_| async { value("after") }),
    )
    .await
    .expect("a read after the write does not wait for the older fetch")
    .unwrap();
    assert_eq!((body(&after), outcome), ("after".to_owned(), Outcome::Miss));
    release.send(()).unwrap();
    // The older fetch's caller asked before the write: it gets what that fetch read...
    assert_eq!(first.await.unwrap(), "before");
    // ...which did not replace the newer value.
    let (again, outcome) = cache
        .get_or_fetch(key("a"), TTL, |_| async { value("unexpected") })
        .await
        .unwrap();
    assert_eq!((body(&again), outcome), ("after".to_owned(), Outcome::Hit));
}

#[tokio::test]
async fn a_failed_batch_refresh_answers_the_reads_that_joined_it_with_its_error() {
    let cache = cache(10);
    cache
        .get_or_fetch(key("a"), TTL, |_| async { value("old") })
        .await
        .unwrap();
    let (fail, failed) = tokio::sync::oneshot::channel::<()>();
    cache.refresh_many_ahead(vec![key("a")], TTL.ttl, move |positions| async move {
        assert_eq!(positions, [0]);
        let _ = failed.await;
        Err(upstream_error(true))
    });
    // The refresh's task takes the key's flight (one thread: it runs when this task yields).
    tokio::task::yield_now().await;
    let forced = Freshness {
        ttl: TTL.ttl,
        max_age: Some(Duration::ZERO),
    };
    let (read, _) = tokio::join!(
        cache.get_or_fetch(key("a"), forced, |_| async { value("unexpected") }),
        async { fail.send(()).unwrap() }
    );
    // A transient failure, so the joined read is served the cached value stale, not a 404.
    let (entry, outcome) = read.expect("the batch's transient error, served stale");
    assert_eq!((body(&entry), outcome), ("old".to_owned(), Outcome::Stale));
}

#[tokio::test]
async fn a_batch_answer_that_crossed_an_invalidation_is_not_kept() {
    let cache = cache(10);
    let since = cache.epoch();
    // A write lands while the batch read is out.
    cache.invalidate(|k| &*k.name == "a");
    let answered = cache.insert(key("a"), value("before").unwrap(), TTL.ttl, since);
    assert_eq!(
        body(&answered),
        "before",
        "it still answers its own request"
    );
    let (entry, outcome) = cache
        .get_or_fetch(key("a"), TTL, |_| async { value("after") })
        .await
        .unwrap();
    assert_eq!((body(&entry), outcome), ("after".to_owned(), Outcome::Miss));
    // A batch that began after the write is kept.
    cache.insert(key("b"), value("b").unwrap(), TTL.ttl, cache.epoch());
    let (entry, outcome) = cache
        .get_or_fetch(key("b"), TTL, |_| async { value("unexpected") })
        .await
        .unwrap();
    assert_eq!((body(&entry), outcome), ("b".to_owned(), Outcome::Hit));
}
