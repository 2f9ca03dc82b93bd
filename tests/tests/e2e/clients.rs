//! The SDK client cache, observed through `region=` reads and the `clients` block of /stats.
//! The value cache is disabled here so every request needs a client.

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use serde_json::Value;
use sidecache_tests::check::num;
use sidecache_tests::util::{poll_until, unique};
use sidecache_tests::{moto, Sidecar};

use super::common::{param, started_with, value_of};

/// Seeds `name` in every region with a region-specific value.
async fn seed_regions(name: &str, regions: &[&str]) {
    for region in regions {
        let value = format!("value-in-{region}");
        moto::put_parameter_in(region, name, &value, ParameterType::String).await;
    }
}

/// Reads `name` through `region=` and checks the answer really came from that region.
async fn read_in(sc: &Sidecar, name: &str, region: &str) {
    let resp = sc.get(&param(name, &format!("&region={region}"))).await;
    assert_eq!(value_of(&resp), format!("value-in-{region}"));
}

async fn start(size: &str, policy: &str) -> (sidecache_tests::FaultProxy, Sidecar) {
    started_with(|b| {
        b.env("SIDECACHE_CLIENT_CACHE_SIZE", size)
            .env("SIDECACHE_CLIENT_CACHE_POLICY", policy)
            .env("PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED", "false")
    })
    .await
}

/// (hits, misses) of the client cache.
async fn client_counts(sc: &Sidecar) -> (u64, u64) {
    let stats = sc.stats().await;
    (num(&stats, "/clients/hits"), num(&stats, "/clients/misses"))
}

/// Reads through `region` and returns the (hits, misses) deltas it caused.
async fn deltas(sc: &Sidecar, name: &str, region: &str) -> (u64, u64) {
    let (hits, misses) = client_counts(sc).await;
    read_in(sc, name, region).await;
    let (hits_after, misses_after) = client_counts(sc).await;
    (hits_after - hits, misses_after - misses)
}

async fn wait_bounded(sc: &Sidecar, capacity: u64) -> Value {
    let settled = poll_until(Duration::from_secs(3), || async {
        let stats = sc.stats().await;
        let ok = num(&stats, "/clients/evictions") >= 1 && num(&stats, "/clients/size") <= capacity;
        ok.then_some(stats)
    })
    .await;
    match settled {
        Some(stats) => stats,
        None => panic!(
            "client cache never reached size <= {capacity} with an eviction: {}",
            sc.stats().await
        ),
    }
}

#[tokio::test]
async fn lru_client_cache_evicts_the_least_recently_used_region() {
    let (a, b, c) = ("us-west-2", "eu-west-1", "ap-southeast-2");
    let name = format!("/{}/where", unique("clients-lru"));
    seed_regions(&name, &[a, b, c]).await;
    let (_proxy, sc) = start("2", "lru").await;

    for region in [a, b, a, c] {
        read_in(&sc, &name, region).await;
    }
    let stats = wait_bounded(&sc, 2).await;
    assert_eq!(stats["clients"]["policy"], "lru", "{stats}");
    assert_eq!(num(&stats, "/clients/capacity"), 2, "{stats}");
    // A was used after B, so C evicted B: A is still cached, B is not.
    assert_eq!(
        deltas(&sc, &name, a).await,
        (1, 0),
        "A should be a client hit"
    );
    assert_eq!(
        deltas(&sc, &name, b).await,
        (0, 1),
        "B should be a client miss"
    );
}

#[tokio::test]
async fn lfu_client_cache_keeps_the_frequent_region() {
    let frequent = "us-west-2";
    let one_offs = [
        "eu-west-1",
        "eu-west-2",
        "eu-central-1",
        "ap-southeast-1",
        "ap-northeast-1",
    ];
    let name = format!("/{}/where", unique("clients-lfu"));
    let mut all = vec![frequent];
    all.extend(one_offs);
    seed_regions(&name, &all).await;
    let (_proxy, sc) = start("3", "lfu").await;

    for _ in 0..10 {
        read_in(&sc, &name, frequent).await;
    }
    for region in one_offs {
        read_in(&sc, &name, region).await;
    }
    let stats = sc.stats().await;
    assert_eq!(stats["clients"]["policy"], "lfu", "{stats}");
    assert_eq!(num(&stats, "/clients/capacity"), 3, "{stats}");
    let bounded = poll_until(Duration::from_secs(3), || async {
        (num(&sc.stats().await, "/clients/size") <= 3).then_some(())
    })
    .await;
    assert!(
        bounded.is_some(),
        "size over capacity: {}",
        sc.stats().await
    );
    assert_eq!(
        deltas(&sc, &name, frequent).await,
        (1, 0),
        "the region used 10 times should still be a client hit"
    );
}
