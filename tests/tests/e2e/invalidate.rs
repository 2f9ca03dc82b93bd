//! `POST /cache/invalidate` and `SIDECACHE_NEGATIVE_TTL`: dropping cached values on demand, and
//! caching not-found answers, observed through upstream calls counted by the proxy.

use std::path::Path;

use aws_sdk_ssm::types::ParameterType;
use sidecache_tests::check::assert_api_error;
use sidecache_tests::moto;
use sidecache_tests::util::{enc, unique};

use super::common::{param, started, started_with};
use super::s3_support::{new_bucket, obj, put, start_s3};

#[tokio::test]
async fn invalidating_a_name_drops_every_selector_of_it() {
    let name = format!("/{}/p", unique("inval-name"));
    moto::put_parameter(&name, "v1", ParameterType::SecureString).await;
    let (proxy, sc) = started().await;
    sc.get(&param(&name, "&withDecryption=true"))
        .await
        .ok_json();
    sc.get(&param(&name, "&withDecryption=false"))
        .await
        .ok_json();
    assert_eq!(proxy.count("GetParameter"), 2);

    let resp = sc
        .post(&format!("/cache/invalidate?kind=ssm&name={}", enc(&name)))
        .await;
    assert_eq!(resp.ok_json()["invalidated"], 2, "{}", resp.text());
    moto::put_parameter(&name, "v2", ParameterType::SecureString).await;
    let again = sc.get(&param(&name, "&withDecryption=true")).await;
    assert_eq!(again.x_cache().as_deref(), Some("miss"));
    assert_eq!(again.ok_json()["Parameter"]["Value"], "v2");
    assert_eq!(proxy.count("GetParameter"), 3);
}

#[tokio::test]
async fn invalidating_a_prefix_keeps_the_rest() {
    let root = format!("/{}", unique("inval-prefix"));
    for leaf in ["app/a", "app/b", "other/c"] {
        moto::put_parameter(&format!("{root}/{leaf}"), leaf, ParameterType::String).await;
    }
    let (_proxy, sc) = started().await;
    for leaf in ["app/a", "app/b", "other/c"] {
        sc.get(&param(&format!("{root}/{leaf}"), ""))
            .await
            .ok_json();
    }
    let resp = sc
        .post(&format!(
            "/cache/invalidate?prefix={}",
            enc(&format!("{root}/app/"))
        ))
        .await;
    assert_eq!(resp.ok_json()["invalidated"], 2, "{}", resp.text());
    let kept = sc.get(&param(&format!("{root}/other/c"), "")).await;
    assert_eq!(kept.x_cache().as_deref(), Some("hit"));
    let dropped = sc.get(&param(&format!("{root}/app/a"), "")).await;
    assert_eq!(dropped.x_cache().as_deref(), Some("miss"));

    let all = sc.post("/cache/invalidate?all=true").await;
    assert_eq!(all.ok_json()["invalidated"], 2, "{}", all.text());
}

#[tokio::test]
async fn invalidating_an_s3_object_deletes_its_file() {
    let bucket = new_bucket("inval-s3").await;
    put(&bucket, "dir/data.bin", b"first".to_vec(), None).await;
    let env = start_s3(|b| b).await;
    let doc = env
        .sc
        .get(&obj(&bucket, "dir/data.bin", ""))
        .await
        .ok_json();
    let path = doc["path"].as_str().unwrap().to_owned();
    assert!(Path::new(&path).exists());

    let uri = enc(&format!("s3://{bucket}/dir/data.bin"));
    let resp = env
        .sc
        .post(&format!("/cache/invalidate?kind=s3&name={uri}"))
        .await;
    assert_eq!(resp.ok_json()["invalidated"], 1, "{}", resp.text());
    assert!(!Path::new(&path).exists(), "the file goes with its entry");
    let again = env.sc.get(&obj(&bucket, "dir/data.bin", "")).await;
    assert_eq!(again.x_cache().as_deref(), Some("miss"));
    assert_eq!(env.proxy.count("GetObject"), 2);
}

#[tokio::test]
async fn invalidate_needs_the_token_and_a_target() {
    let (_proxy, sc) = started().await;
    let resp = sc.post("/cache/invalidate?all=true").await;
    assert_eq!(resp.status, 200, "with the token: {}", resp.text());
    assert_api_error(
        &sc.post("/cache/invalidate").await,
        400,
        Some("MissingParameter"),
    );
    assert_api_error(
        &sc.post("/cache/invalidate?kind=table&name=x").await,
        400,
        Some("InvalidParameter"),
    );
    let (_proxy, tokenless) = started_with(|b| b.client_token(None)).await;
    assert_api_error(
        &tokenless.post("/cache/invalidate?all=true").await,
        403,
        Some("MissingToken"),
    );
}

#[tokio::test]
async fn not_found_is_cached_only_with_a_negative_ttl() {
    let name = format!("/{}/later", unique("negative"));
    let (proxy, sc) = started_with(|b| b.env("SIDECACHE_NEGATIVE_TTL", "60")).await;
    for _ in 0..3 {
        assert_api_error(
            &sc.get(&param(&name, "")).await,
            404,
            Some("ParameterNotFound"),
        );
    }
    assert_eq!(proxy.count("GetParameter"), 1, "{:?}", proxy.log());
    // Once the value exists, maxAge=0 looks again.
    moto::put_parameter(&name, "now here", ParameterType::String).await;
    let found = sc.get(&param(&name, "&maxAge=0")).await;
    assert_eq!(found.ok_json()["Parameter"]["Value"], "now here");

    let (proxy, sc) = started().await;
    let other = format!("/{}/never", unique("negative-off"));
    for _ in 0..2 {
        assert_api_error(
            &sc.get(&param(&other, "")).await,
            404,
            Some("ParameterNotFound"),
        );
    }
    assert_eq!(
        proxy.count("GetParameter"),
        2,
        "the default (0) caches no not-found"
    );
}
