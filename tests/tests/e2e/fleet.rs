//! Upstream economy for fleets: refresh-ahead (a hit on an ageing value refreshes it in the
//! background), TTL jitter and refresh-ahead settings, throttle counts. EMF metrics: metrics.rs.

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use sidecache_tests::check::num;
use sidecache_tests::util::{poll_until, unique};
use sidecache_tests::{moto, Fault, FaultProxy, Resp, Sidecar};

use super::common::{param, started_with, value_of};

/// TTL 10 s, refresh-ahead at a fifth of it, exact TTLs: a hit past 2 s refreshes, and the
/// refresh has 8 s to finish (retries and backoff included) before the value would expire.
fn refreshing(b: sidecache_tests::SidecarBuilder) -> sidecache_tests::SidecarBuilder {
    b.env("SSM_PARAMETER_STORE_TTL", "10")
        .env("SECRETS_MANAGER_TTL", "10")
        .env("SIDECACHE_REFRESH_AHEAD", "0.2")
        .env("SIDECACHE_TTL_JITTER", "0")
}

/// Reads `name` until the answer's `Age` reaches `seconds` (past the refresh-ahead point);
/// every answer on the way must be a hit.
async fn read_until_aged(sc: &Sidecar, name: &str, seconds: u64) -> Resp {
    poll_until(Duration::from_secs(10), || async {
        let resp = sc.get(&param(name, "")).await;
        assert_eq!(resp.x_cache().as_deref(), Some("hit"), "{}", resp.text());
        (resp.age() >= Some(seconds)).then_some(resp)
    })
    .await
    .unwrap_or_else(|| panic!("Age never reached {seconds} s"))
}

#[tokio::test]
async fn a_hit_past_the_point_refreshes_once_in_the_background() {
    let name = format!("/{}/p", unique("ahead"));
    moto::put_parameter(&name, "v1", ParameterType::String).await;
    let (proxy, sc) = started_with(refreshing).await;
    assert_eq!(value_of(&sc.get(&param(&name, "")).await), "v1");
    moto::put_parameter(&name, "v2", ParameterType::String).await;

    let aged = read_until_aged(&sc, &name, 2).await;
    // Answered at once from the cache, not after the refresh.
    assert_eq!(value_of(&aged), "v1");
    assert!(
        proxy
            .wait_count("GetParameter", 2, Duration::from_secs(5))
            .await,
        "no background refresh: {:?}",
        proxy.log()
    );
    // Renewed: hits with the new value and a younger age, and no further call.
    let renewed = poll_until(Duration::from_secs(2), || async {
        let resp = sc.get(&param(&name, "")).await;
        (value_of(&resp) == "v2").then_some(resp)
    })
    .await
    .expect("the refreshed value was never served");
    assert_eq!(renewed.x_cache().as_deref(), Some("hit"));
    assert_eq!(renewed.age(), Some(0));
    for _ in 0..5 {
        let resp = sc.get(&param(&name, "")).await;
        assert_eq!(resp.x_cache().as_deref(), Some("hit"));
    }
    assert_eq!(proxy.count("GetParameter"), 2, "{:?}", proxy.log());
    let stats = sc.stats().await;
    assert_eq!(num(&stats, "/cache/refreshAhead"), 1, "{stats}");
    assert_eq!(num(&stats, "/cache/misses"), 1, "{stats}");
}

#[tokio::test]
async fn a_failing_background_refresh_leaves_the_value_served() {
    let name = format!("/{}/p", unique("ahead-fail"));
    moto::put_parameter(&name, "kept", ParameterType::String).await;
    let (proxy, sc) = started_with(refreshing).await;
    assert_eq!(value_of(&sc.get(&param(&name, "")).await), "kept");
    proxy.set_fault(Fault::Status500);
    read_until_aged(&sc, &name, 2).await;
    assert!(
        proxy
            .wait_count("GetParameter", 2, Duration::from_secs(5))
            .await,
        "no background refresh: {:?}",
        proxy.log()
    );
    // Wait until the refresh has given up (every attempt answered), then read again.
    let settled = poll_until(Duration::from_secs(5), || async {
        let stats = sc.stats().await;
        (num(&stats, "/upstream/ssm/errors") >= 1).then_some(())
    })
    .await;
    assert!(settled.is_some(), "{:?}", proxy.log());
    let resp = sc.get(&param(&name, "")).await;
    assert_eq!(resp.x_cache().as_deref(), Some("hit"), "{}", resp.text());
    assert_eq!(value_of(&resp), "kept");
    assert!(resp.age() >= Some(2), "not renewed: Age {:?}", resp.age());
}

#[tokio::test]
async fn renewal_settings_are_validated() {
    for (var, value) in [
        ("SIDECACHE_REFRESH_AHEAD", "1.5"),
        ("SIDECACHE_REFRESH_AHEAD", "often"),
        ("SIDECACHE_TTL_JITTER", "51"),
        ("SIDECACHE_METRICS", "statsd"),
    ] {
        let proxy = FaultProxy::start().await;
        let (status, logs) = Sidecar::builder(&proxy)
            .env(var, value)
            .spawn_expect_exit()
            .await;
        assert!(!status.success(), "{var}={value}: {logs}");
        assert!(
            logs.lines().any(|l| l.contains(var) && l.contains(value)),
            "{var}={value}: {logs}"
        );
    }
}

#[tokio::test]
async fn throttles_are_retried_then_counted_per_service() {
    let name = format!("/{}/p", unique("throttled"));
    moto::put_parameter(&name, "v", ParameterType::String).await;
    let id = unique("throttled-secret");
    moto::create_secret(&id, "s").await;
    let (proxy, sc) = started_with(|b| b).await;
    proxy.set_fault(Fault::Throttle);
    let resp = sc.get(&param(&name, "")).await;
    sidecache_tests::check::assert_api_error(&resp, 429, Some("ThrottlingException"));
    // The SDK retried with backoff before giving up: more than one attempt reached AWS.
    assert!(proxy.count("GetParameter") > 1, "{:?}", proxy.log());
    let resp = sc.get(&super::common::secret(&id, "")).await;
    sidecache_tests::check::assert_api_error(&resp, 429, Some("ThrottlingException"));

    let stats = sc.stats().await;
    assert_eq!(num(&stats, "/upstream/ssm/throttles"), 1, "{stats}");
    assert_eq!(num(&stats, "/upstream/ssm/errors"), 1, "{stats}");
    assert_eq!(
        num(&stats, "/upstream/secretsmanager/throttles"),
        1,
        "{stats}"
    );
    assert_eq!(num(&stats, "/upstream/s3/throttles"), 0, "{stats}");
    // Another failure is an error, not a throttle.
    proxy.set_fault(Fault::Error {
        status: 400,
        code: "AccessDeniedException".into(),
    });
    sc.get(&param(&name, "&maxAge=0")).await;
    let stats = sc.stats().await;
    assert_eq!(num(&stats, "/upstream/ssm/throttles"), 1, "{stats}");
    assert_eq!(num(&stats, "/upstream/ssm/errors"), 2, "{stats}");
}

#[tokio::test]
async fn batch_reads_refresh_their_ageing_values_together() {
    let root = format!("/{}", unique("ahead-many"));
    let names: Vec<String> = (0..3).map(|i| format!("{root}/p{i}")).collect();
    for name in &names {
        moto::put_parameter(name, "v1", ParameterType::String).await;
    }
    let ids: Vec<String> = (0..2)
        .map(|i| unique(&format!("ahead-many-s{i}")))
        .collect();
    for id in &ids {
        moto::create_secret(id, "s1").await;
    }
    let (proxy, sc) = started_with(refreshing).await;
    let enc = |v: &[String]| {
        v.iter()
            .map(|n| sidecache_tests::util::enc(n))
            .collect::<Vec<_>>()
            .join(",")
    };
    let params = format!("/systemsmanager/parameters/get-many?names={}", enc(&names));
    let secrets = format!("/secretsmanager/get-many?secretIds={}", enc(&ids));
    sc.get(&params).await.ok_json();
    sc.get(&secrets).await.ok_json();
    let fetched = std::time::Instant::now();
    for name in &names {
        moto::put_parameter(name, "v2", ParameterType::String).await;
    }
    // Past the refresh-ahead point (2 s), well before expiry (10 s): wait for the clock.
    while fetched.elapsed() < Duration::from_millis(2100) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let hit = sc.get(&params).await;
    assert_eq!(hit.x_cache().as_deref(), Some("hit"), "{}", hit.text());
    assert_eq!(sc.get(&secrets).await.x_cache().as_deref(), Some("hit"));
    assert!(
        proxy
            .wait_count("GetParameters", 2, Duration::from_secs(5))
            .await
            && proxy
                .wait_count("BatchGetSecretValue", 2, Duration::from_secs(5))
                .await,
        "no batched background refresh: {:?}",
        proxy.log()
    );
    let renewed = poll_until(Duration::from_secs(2), || async {
        let doc = sc.get(&params).await.ok_json();
        let values: Vec<_> = doc["Parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["Value"].as_str().unwrap().to_owned())
            .collect();
        (values == ["v2", "v2", "v2"]).then_some(())
    })
    .await;
    assert!(renewed.is_some(), "{:?}", proxy.log());
    for _ in 0..3 {
        assert_eq!(sc.get(&params).await.x_cache().as_deref(), Some("hit"));
        assert_eq!(sc.get(&secrets).await.x_cache().as_deref(), Some("hit"));
    }
    // One batched call per service for the refresh, none per value.
    assert_eq!(proxy.count("GetParameters"), 2, "{:?}", proxy.log());
    assert_eq!(proxy.count("BatchGetSecretValue"), 2, "{:?}", proxy.log());
    assert_eq!(
        proxy.count("GetParameter") + proxy.count("GetSecretValue"),
        0
    );
    assert_eq!(num(&sc.stats().await, "/cache/refreshAhead"), 5);
}
