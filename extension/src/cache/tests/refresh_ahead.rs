//! Refresh-ahead and jittered TTLs through `get_or_fetch`.

use super::*;

const SHORT: Freshness = Freshness {
    ttl: Duration::from_millis(400),
    max_age: None,
};

fn ahead_cache(fraction: f64, jitter: TtlJitter) -> Arc<ValueCache> {
    ahead_cache_giving_up(fraction, jitter, GIVE_UP_AFTER)
}

fn ahead_cache_giving_up(fraction: f64, jitter: TtlJitter, limit: Duration) -> Arc<ValueCache> {
    Arc::new(ValueCache::new(
        Some(10),
        1 << 20,
        Lifetimes {
            stale_if_error: Duration::from_secs(60),
            negative_ttl: Duration::from_secs(60),
        },
        Renewal {
            refresh_ahead: fraction,
            jitter,
            give_up_after: limit,
        },
        Arc::new(Stats::default()),
    ))
}

/// A refreshable fetch answering `answers[n]` on its n-th call (the last one repeats).
fn counted_fetch(
    calls: &Arc<AtomicUsize>,
    answers: &'static [Result<&'static str, bool>],
) -> Refreshable<impl Fn() -> std::future::Ready<Result<Entry, AppError>>> {
    let calls = calls.clone();
    Refreshable(move || {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(match answers[n.min(answers.len() - 1)] {
            Ok(text) => value(text),
            Err(transient) => Err(upstream_error(transient)),
        })
    })
}

/// The entry stored under `name`, as a hit would find it.
fn stored(cache: &ValueCache, name: &str) -> Arc<Entry> {
    cache
        .entries
        .as_ref()
        .unwrap()
        .get(key(name).view())
        .unwrap()
}

/// Waits until the cached entry of `name` is older than `age` (the clock passing a threshold).
async fn wait_until_older(cache: &ValueCache, name: &str, age: Duration) {
    let entry = stored(cache, name);
    while entry.age() <= age {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn wait_for_flights(cache: &ValueCache) {
    while !cache.inflight.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn a_hit_past_the_point_refreshes_once_in_the_background() {
    let cache = ahead_cache(0.5, TtlJitter::new(0, 0));
    let calls = Arc::new(AtomicUsize::new(0));
    const ANSWERS: &[Result<&str, bool>] = &[Ok("v1"), Ok("v2")];
    cache
        .get_or_fetch(key("a"), SHORT, counted_fetch(&calls, ANSWERS))
        .await
        .unwrap();
    // Before the point: plain hits.
    let (_, outcome) = cache
        .get_or_fetch(key("a"), SHORT, counted_fetch(&calls, ANSWERS))
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Hit);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    wait_until_older(&cache, "a", Duration::from_millis(200)).await;
    // Many hits at once past the point: each answered with the old value, one refresh.
    for _ in 0..20 {
        let (entry, outcome) = cache
            .get_or_fetch(key("a"), SHORT, counted_fetch(&calls, ANSWERS))
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Hit);
        assert!(&entry.json[..] == b"v1" || &entry.json[..] == b"v2");
    }
    wait_for_flights(&cache).await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(cache.stats.refreshes_ahead.get(), 1);
    let (entry, outcome) = cache
        .get_or_fetch(key("a"), SHORT, counted_fetch(&calls, ANSWERS))
        .await
        .unwrap();
    assert_eq!((&entry.json[..], outcome), (&b"v2"[..], Outcome::Hit));
    assert!(entry.age() < Duration::from_millis(200), "fresh again");
}

#[tokio::test]
async fn a_failed_background_refresh_changes_nothing() {
    let cache = ahead_cache(0.5, TtlJitter::new(0, 0));
    let calls = Arc::new(AtomicUsize::new(0));
    // A transient failure, then a not-found: neither replaces the value or caches a 404.
    const ANSWERS: &[Result<&str, bool>] = &[Ok("v1"), Err(true), Err(false)];
    cache
        .get_or_fetch(key("a"), SHORT, counted_fetch(&calls, ANSWERS))
        .await
        .unwrap();
    let before = stored(&cache, "a");
    wait_until_older(&cache, "a", Duration::from_millis(200)).await;
    for expected_calls in [2, 3] {
        let (entry, outcome) = cache
            .get_or_fetch(key("a"), SHORT, counted_fetch(&calls, ANSWERS))
            .await
            .unwrap();
        assert_eq!((&entry.json[..], outcome), (&b"v1"[..], Outcome::Hit));
        wait_for_flights(&cache).await;
        assert_eq!(calls.load(Ordering::SeqCst), expected_calls);
        let now = stored(&cache, "a");
        assert!(Arc::ptr_eq(&before, &now), "the entry is untouched");
    }
}

#[tokio::test]
async fn closures_and_a_zero_fraction_never_refresh_ahead() {
    for fraction in [0.0, 0.5] {
        let cache = ahead_cache(fraction, TtlJitter::new(0, 0));
        let calls = Arc::new(AtomicUsize::new(0));
        const ANSWERS: &[Result<&str, bool>] = &[Ok("v1"), Ok("v2")];
        cache
            .get_or_fetch(key("a"), SHORT, counted_fetch(&calls, ANSWERS))
            .await
            .unwrap();
        wait_until_older(&cache, "a", Duration::from_millis(200)).await;
        // A borrowing closure cannot run detached: no refresh-ahead whatever the fraction.
        cache
            .get_or_fetch(key("a"), SHORT, |_| async { value("x") })
            .await
            .unwrap();
        if fraction == 0.0 {
            cache
                .get_or_fetch(key("a"), SHORT, counted_fetch(&calls, ANSWERS))
                .await
                .unwrap();
        }
        wait_for_flights(&cache).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "fraction {fraction}");
    }
}

#[tokio::test]
async fn stored_entries_carry_a_jittered_ttl_never_longer() {
    let ttl = Duration::from_secs(100);
    let mut shortened = 0;
    for seed in 0..50 {
        let cache = ahead_cache(0.0, TtlJitter::new(50, seed));
        let entry = cache.insert(key("a"), value("v").unwrap(), ttl, cache.epoch());
        assert!(entry.ttl <= ttl && entry.ttl >= ttl / 2, "{:?}", entry.ttl);
        shortened += usize::from(entry.ttl < ttl);
        // Entries of one process share the shortening.
        let other = cache.insert(key("b"), value("v").unwrap(), ttl, cache.epoch());
        assert_eq!(other.ttl, entry.ttl);
    }
    assert!(shortened > 40, "jitter applied: {shortened}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_stalled_background_refresh_gives_up_and_changes_nothing() {
    // TTL 60 s, refresh-ahead point at 60 ms, a background refresh gives up after 200 ms.
    let cache = ahead_cache_giving_up(0.001, TtlJitter::new(0, 0), Duration::from_millis(200));
    let ttl = Freshness {
        ttl: Duration::from_secs(60),
        max_age: None,
    };
    let calls = Arc::new(AtomicUsize::new(0));
    const ANSWERS: &[Result<&str, bool>] = &[Ok("v1")];
    cache
        .get_or_fetch(key("a"), ttl, counted_fetch(&calls, ANSWERS))
        .await
        .unwrap();
    let before = stored(&cache, "a");
    wait_until_older(&cache, "a", Duration::from_millis(60)).await;
    let stalled = Refreshable(std::future::pending::<Result<Entry, AppError>>);
    let (entry, outcome) = cache.get_or_fetch(key("a"), ttl, stalled).await.unwrap();
    assert_eq!((&entry.json[..], outcome), (&b"v1"[..], Outcome::Hit));
    assert!(cache.inflight.lock().unwrap().contains_key(&key("a")));
    // The limit ends the flight; the entry is untouched and the next hit may try again.
    wait_for_flights(&cache).await;
    let now = stored(&cache, "a");
    assert!(Arc::ptr_eq(&before, &now));
    let (_, outcome) = cache
        .get_or_fetch(key("a"), ttl, counted_fetch(&calls, ANSWERS))
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Hit);
    wait_for_flights(&cache).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "a new refresh after the stalled one"
    );
}
