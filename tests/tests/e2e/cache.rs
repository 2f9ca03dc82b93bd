//! Cache semantics observed from outside: upstream calls counted by the fault proxy, the
//! `X-Cache`/`Age` headers, single-flight misses, TTL expiry, pass-through and size bounds.

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use futures::future::join_all;
use sidecache_tests::check::{assert_api_error, num};
use sidecache_tests::util::{poll_until, unique};
use sidecache_tests::{moto, Fault};

use super::common::{param, secret, started, started_with, value_of};

#[tokio::test]
async fn second_parameter_request_is_a_hit() {
    let name = format!("/{}/p", unique("cache-hit"));
    moto::put_parameter(&name, "cached", ParameterType::String).await;
    let (proxy, sc) = started().await;

    let first = sc.get(&param(&name, "")).await;
    assert_eq!(value_of(&first), "cached");
    assert_eq!(first.x_cache().as_deref(), Some("miss"));
    assert!(first.age().is_some(), "Age header on a miss");
    let second = sc.get(&param(&name, "")).await;
    assert_eq!(value_of(&second), "cached");
    assert_eq!(second.x_cache().as_deref(), Some("hit"));
    assert!(second.age().is_some(), "Age header on a hit");
    assert_eq!(proxy.count("GetParameter"), 1, "log: {:?}", proxy.log());
}

#[tokio::test]
async fn second_secret_request_is_a_hit() {
    let name = unique("cache-secret-hit");
    moto::create_secret(&name, "cached-secret").await;
    let (proxy, sc) = started().await;
    let first = sc.get(&secret(&name, "")).await;
    assert_eq!(first.ok_json()["SecretString"], "cached-secret");
    assert_eq!(first.x_cache().as_deref(), Some("miss"));
    let second = sc.get(&secret(&name, "")).await;
    assert_eq!(second.ok_json()["SecretString"], "cached-secret");
    assert_eq!(second.x_cache().as_deref(), Some("hit"));
    assert!(second.age().is_some(), "Age header on a hit");
    assert_eq!(proxy.count("GetSecretValue"), 1, "log: {:?}", proxy.log());
}

#[tokio::test]
async fn stats_have_the_documented_shape_and_counts() {
    let name = format!("/{}/p", unique("cache-stats"));
    moto::put_parameter(&name, "counted", ParameterType::String).await;
    let (proxy, sc) = started().await;
    sc.get(&param(&name, "")).await.ok_json();
    sc.get(&param(&name, "")).await.ok_json();

    let stats = sc.stats().await;
    for field in [
        "entries",
        "maxEntries",
        "bytes",
        "maxBytes",
        "hits",
        "misses",
        "stale",
        "evictions",
    ] {
        num(&stats, &format!("/cache/{field}"));
    }
    for service in ["ssm", "secretsmanager", "s3"] {
        num(&stats, &format!("/upstream/{service}/calls"));
        num(&stats, &format!("/upstream/{service}/errors"));
    }
    for field in ["size", "capacity", "hits", "misses", "evictions"] {
        num(&stats, &format!("/clients/{field}"));
    }
    assert!(stats["clients"]["policy"].is_string(), "{stats}");
    for field in ["files", "bytes", "maxBytes", "maxObjectBytes"] {
        num(&stats, &format!("/s3/{field}"));
    }

    assert_eq!(num(&stats, "/cache/hits"), 1, "{stats}");
    assert_eq!(num(&stats, "/cache/misses"), 1, "{stats}");
    assert!(num(&stats, "/cache/entries") >= 1, "{stats}");
    assert!(num(&stats, "/cache/bytes") > 0, "{stats}");
    let ratio = stats["cache"]["hitRatio"]
        .as_f64()
        .unwrap_or_else(|| panic!("hitRatio should be a number in {stats}"));
    assert!((ratio - 0.5).abs() < 1e-9, "hitRatio {ratio}");
    let calls = num(&stats, "/upstream/ssm/calls") as usize;
    assert_eq!(calls, proxy.count("GetParameter"), "{stats}");
    assert_eq!(num(&stats, "/upstream/ssm/errors"), 0, "{stats}");
}

#[tokio::test]
async fn stats_report_the_configured_bounds_in_their_units() {
    let (_proxy, sc) = started_with(|b| {
        b.env("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", "7")
            .env("SIDECACHE_CACHE_MAX_BYTES", "2MiB")
            .env("SIDECACHE_CLIENT_CACHE_SIZE", "5")
            .env("SIDECACHE_S3_MAX_BYTES", "3MiB")
            .env("SIDECACHE_S3_MAX_OBJECT_BYTES", "1MiB")
    })
    .await;
    let stats = sc.stats().await;
    // Entries and bytes as set, not the internal weight that enforces both at once.
    assert_eq!(num(&stats, "/cache/maxEntries"), 7, "{stats}");
    assert_eq!(num(&stats, "/cache/maxBytes"), 2 << 20, "{stats}");
    assert!(stats["cache"].get("capacity").is_none(), "{stats}");
    assert_eq!(num(&stats, "/clients/capacity"), 5, "{stats}");
    assert_eq!(num(&stats, "/s3/maxBytes"), 3 << 20, "{stats}");
    assert_eq!(num(&stats, "/s3/maxObjectBytes"), 1 << 20, "{stats}");

    let (_proxy, off) =
        started_with(|b| b.env("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", "0")).await;
    let stats = off.stats().await;
    assert_eq!(stats["cache"]["enabled"], false, "{stats}");
    assert_eq!(num(&stats, "/cache/maxEntries"), 0, "{stats}");
}

#[tokio::test]
async fn concurrent_misses_make_one_upstream_call() {
    let name = format!("/{}/p", unique("cache-single-flight"));
    moto::put_parameter(&name, "once", ParameterType::String).await;
    let (proxy, sc) = started().await;
    // Slow upstream: all 100 requests arrive while the first fetch is still in flight.
    proxy.set_fault(Fault::Latency(Duration::from_millis(200)));
    let path = param(&name, "");
    let answers = join_all((0..100).map(|_| sc.get(&path))).await;
    for resp in &answers {
        assert_eq!(value_of(resp), "once");
    }
    assert_eq!(proxy.count("GetParameter"), 1, "log: {:?}", proxy.log());
}

#[tokio::test]
async fn expired_entries_are_refetched_at_read_time() {
    let name = format!("/{}/p", unique("cache-ttl"));
    moto::put_parameter(&name, "before", ParameterType::String).await;
    // Refresh-ahead would renew the entry in the background before it expires (fleet.rs).
    let (proxy, sc) = started_with(|b| {
        b.env("SSM_PARAMETER_STORE_TTL", "1")
            .env("SIDECACHE_REFRESH_AHEAD", "0")
    })
    .await;
    assert_eq!(value_of(&sc.get(&param(&name, "")).await), "before");
    moto::put_parameter(&name, "after", ParameterType::String).await;

    // The first non-hit after the 1 s TTL must be a refresh carrying the new value.
    let refreshed = first_non_hit(&sc, &name).await;
    assert_eq!(refreshed.x_cache().as_deref(), Some("refresh"));
    assert_eq!(value_of(&refreshed), "after");
    assert_eq!(proxy.count("GetParameter"), 2, "log: {:?}", proxy.log());
}

/// Pass-through configurations: every request must reach upstream.
async fn assert_pass_through(var: &str, value: &str) {
    let name = format!("/{}/p", unique("cache-off"));
    moto::put_parameter(&name, "uncached", ParameterType::String).await;
    let (proxy, sc) = started_with(|b| b.env(var, value)).await;
    for _ in 0..3 {
        assert_eq!(value_of(&sc.get(&param(&name, "")).await), "uncached");
    }
    assert_eq!(proxy.count("GetParameter"), 3, "{var}={value}");
}

#[tokio::test]
async fn cache_disabled_passes_every_request_through() {
    assert_pass_through("PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED", "false").await;
}

#[tokio::test]
async fn ttl_zero_passes_every_request_through() {
    assert_pass_through("SSM_PARAMETER_STORE_TTL", "0").await;
}

#[tokio::test]
async fn entry_count_is_bounded() {
    let prefix = format!("/{}", unique("cache-bound"));
    let names: Vec<String> = (0..12).map(|i| format!("{prefix}/p{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        moto::put_parameter(name, &format!("value-{i}"), ParameterType::String).await;
    }
    let (_proxy, sc) =
        started_with(|b| b.env("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", "5")).await;
    for (i, name) in names.iter().enumerate() {
        // Eviction must never corrupt what is served.
        assert_eq!(
            value_of(&sc.get(&param(name, "")).await),
            format!("value-{i}")
        );
    }
    // Eviction may be applied by housekeeping shortly after the inserts: poll, don't sleep.
    let bounded = poll_until(Duration::from_secs(3), || async {
        let stats = sc.stats().await;
        let ok = num(&stats, "/cache/entries") <= 5 && num(&stats, "/cache/evictions") > 0;
        ok.then_some(())
    })
    .await;
    assert!(bounded.is_some(), "stats: {}", sc.stats().await);
}

/// Reads `name` until the 1 s TTL has passed, i.e. until the answer is no longer a hit.
async fn first_non_hit(sc: &sidecache_tests::Sidecar, name: &str) -> sidecache_tests::Resp {
    poll_until(Duration::from_secs(5), || async {
        let resp = sc.get(&param(name, "")).await;
        (resp.x_cache().as_deref() != Some("hit")).then_some(resp)
    })
    .await
    .expect("the entry never expired (TTL 1 s)")
}

#[tokio::test]
async fn stale_value_is_served_when_a_refresh_fails_transiently() {
    let name = format!("/{}/p", unique("cache-stale"));
    moto::put_parameter(&name, "last-good", ParameterType::String).await;
    let (proxy, sc) = started_with(|b| b.env("SSM_PARAMETER_STORE_TTL", "1")).await;
    assert_eq!(value_of(&sc.get(&param(&name, "")).await), "last-good");
    proxy.set_fault(Fault::Status500);
    let resp = first_non_hit(&sc, &name).await;
    assert_eq!(resp.x_cache().as_deref(), Some("stale"), "{}", resp.text());
    assert_eq!(value_of(&resp), "last-good");
    assert!(proxy.count("GetParameter") >= 2, "a refresh was attempted");
}

#[tokio::test]
async fn not_found_is_never_masked_by_stale_data() {
    let name = format!("/{}/p", unique("cache-gone"));
    moto::put_parameter(&name, "deleted-soon", ParameterType::String).await;
    let (_proxy, sc) = started_with(|b| b.env("SSM_PARAMETER_STORE_TTL", "1")).await;
    assert_eq!(value_of(&sc.get(&param(&name, "")).await), "deleted-soon");
    moto::ssm()
        .delete_parameter()
        .name(&name)
        .send()
        .await
        .unwrap();
    let resp = first_non_hit(&sc, &name).await;
    assert_api_error(&resp, 404, Some("ParameterNotFound"));
}

#[tokio::test]
async fn max_age_zero_forces_one_refresh() {
    let name = format!("/{}/p", unique("cache-max-age"));
    moto::put_parameter(&name, "old", ParameterType::String).await;
    let (proxy, sc) = started().await;
    assert_eq!(value_of(&sc.get(&param(&name, "")).await), "old");
    moto::put_parameter(&name, "new", ParameterType::String).await;
    assert_eq!(value_of(&sc.get(&param(&name, "")).await), "old", "cached");
    let forced = sc.get(&param(&name, "&maxAge=0")).await;
    assert_eq!(value_of(&forced), "new");
    // The forced refresh updated the shared entry: a plain read now hits the new value.
    let after = sc.get(&param(&name, "")).await;
    assert_eq!(value_of(&after), "new");
    assert_eq!(after.x_cache().as_deref(), Some("hit"));
    assert_eq!(proxy.count("GetParameter"), 2, "log: {:?}", proxy.log());
}
