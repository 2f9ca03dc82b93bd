//! `SIDECACHE_PREFETCH`: listed values are fetched at start-up, so a handler's first request is
//! already a hit and makes no upstream call.

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use sidecache_tests::check::num;
use sidecache_tests::util::{poll_until, unique};
use sidecache_tests::{moto, FakeLambda};

use super::common::{param, secret, started_with};
use super::s3_support::{new_bucket, obj, put};

#[tokio::test]
async fn prefetched_values_are_hits_from_the_first_request() {
    let name = format!("/{}/db", unique("prefetch"));
    moto::put_parameter(&name, "prefetched-secure", ParameterType::SecureString).await;
    let secret_id = unique("prefetch-secret");
    moto::create_secret(&secret_id, "prefetched-secret").await;
    let bucket = new_bucket("prefetch").await;
    put(&bucket, "conf/app.json", b"{\"a\":1}".to_vec(), None).await;
    let list = format!("ssm:{name},secret:{secret_id},s3://{bucket}/conf/app.json");
    let (proxy, sc) = started_with(|b| b.env("SIDECACHE_PREFETCH", list)).await;

    // Poll a condition (all three cached), no sleeping.
    let done = poll_until(Duration::from_secs(10), || async {
        let stats = sc.stats().await;
        (num(&stats, "/cache/entries") == 2 && num(&stats, "/s3/files") == 1).then_some(())
    })
    .await;
    assert!(
        done.is_some(),
        "prefetch never completed: {:?}\n{}",
        proxy.log(),
        sc.logs()
    );

    let parameter = sc.get(&param(&name, "&withDecryption=true")).await;
    assert_eq!(
        parameter.ok_json()["Parameter"]["Value"],
        "prefetched-secure"
    );
    assert_eq!(parameter.x_cache().as_deref(), Some("hit"));
    let secret = sc.get(&secret(&secret_id, "")).await;
    assert_eq!(secret.ok_json()["SecretString"], "prefetched-secret");
    assert_eq!(secret.x_cache().as_deref(), Some("hit"));
    let object = sc.get(&obj(&bucket, "conf/app.json", "")).await;
    assert_eq!(object.status, 200, "{}", object.text());
    assert_eq!(object.x_cache().as_deref(), Some("hit"));
    assert_eq!(
        proxy.total(),
        3,
        "no call beyond the prefetch: {:?}",
        proxy.log()
    );
    let stats = sc.stats().await;
    assert_eq!(num(&stats, "/cache/misses"), 3, "{stats}");
}

#[tokio::test]
async fn a_failing_item_does_not_stop_the_others_or_start_up() {
    let name = format!("/{}/ok", unique("prefetch-partial"));
    moto::put_parameter(&name, "fine", ParameterType::String).await;
    let missing = format!("/{}/missing", unique("prefetch-partial"));
    let list = format!("ssm:{missing},ssm:{name}");
    let (proxy, sc) = started_with(|b| b.env("SIDECACHE_PREFETCH", list)).await;
    let done = poll_until(Duration::from_secs(10), || async {
        (num(&sc.stats().await, "/cache/entries") == 1 && sc.logs().contains("prefetch done"))
            .then_some(())
    })
    .await;
    assert!(done.is_some(), "{:?}\n{}", proxy.log(), sc.logs());
    let ok = sc.get(&param(&name, "&withDecryption=true")).await;
    assert_eq!(ok.x_cache().as_deref(), Some("hit"));
    // Failures are not cached: the missing one is asked again, and still 404.
    let missing = sc.get(&param(&missing, "&withDecryption=true")).await;
    assert_eq!(missing.status, 404);
    assert!(sc.logs().contains("prefetch failed"), "{}", sc.logs());
}

#[tokio::test]
async fn prefetch_runs_during_lambda_init() {
    let name = format!("/{}/init", unique("prefetch-lambda"));
    moto::put_parameter(&name, "ready-at-init", ParameterType::String).await;
    let proxy = sidecache_tests::FaultProxy::start().await;
    let builder =
        sidecache_tests::Sidecar::builder(&proxy).env("SIDECACHE_PREFETCH", format!("ssm:{name}"));
    let fake = FakeLambda::start(builder.port()).await;
    let sc = builder.lambda(&fake).spawn().await;
    let fetched = poll_until(Duration::from_secs(10), || async {
        (num(&sc.stats().await, "/cache/entries") == 1).then_some(())
    })
    .await;
    // No event has been sent: this is still INIT.
    assert!(fetched.is_some(), "{:?}\n{}", proxy.log(), sc.logs());
    assert!(fake.next_calls() <= 1, "still waiting for the first event");
    let first = sc.get(&param(&name, "&withDecryption=true")).await;
    assert_eq!(first.x_cache().as_deref(), Some("hit"));
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[tokio::test]
async fn a_prefetched_path_answers_by_path_from_the_cache() {
    let root = format!("/{}", unique("prefetch-path"));
    moto::put_parameter(&format!("{root}/a"), "1", ParameterType::String).await;
    moto::put_parameter(&format!("{root}/deep/b"), "2", ParameterType::SecureString).await;
    let (proxy, sc) =
        started_with(|b| b.env("SIDECACHE_PREFETCH", format!("ssm-path:{root}"))).await;
    let done = poll_until(Duration::from_secs(10), || async {
        (num(&sc.stats().await, "/cache/entries") == 1).then_some(())
    })
    .await;
    assert!(done.is_some(), "{:?}\n{}", proxy.log(), sc.logs());
    let path = format!(
        "/systemsmanager/parameters/by-path?path={}&recursive=true&withDecryption=true",
        sidecache_tests::util::enc(&root)
    );
    let resp = sc.get(&path).await;
    assert_eq!(resp.x_cache().as_deref(), Some("hit"));
    let doc = resp.ok_json();
    assert_eq!(doc["Parameters"].as_array().map(Vec::len), Some(2), "{doc}");
    assert_eq!(proxy.count("GetParametersByPath"), 1);
}
