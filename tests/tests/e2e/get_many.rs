//! `GET /systemsmanager/parameters/get-many`: several parameters in one request, each cached on
//! its own (shared with the single `get`), missing ones fetched 10 at a time.

use aws_sdk_ssm::types::ParameterType;
use sidecache_tests::check::assert_api_error;
use sidecache_tests::moto;
use sidecache_tests::util::{enc, unique};

use super::common::{listed, param, started};

fn many(names: &[String], extra: &str) -> String {
    let list = names.iter().map(|n| enc(n)).collect::<Vec<_>>().join(",");
    format!("/systemsmanager/parameters/get-many?names={list}{extra}")
}

#[tokio::test]
async fn answers_in_request_order_with_invalid_names_listed() {
    let root = format!("/{}", unique("many"));
    let (a, b, gone) = (
        format!("{root}/a"),
        format!("{root}/b"),
        format!("{root}/gone"),
    );
    moto::put_parameter(&a, "alpha", ParameterType::String).await;
    moto::put_parameter(&b, "beta-secret", ParameterType::SecureString).await;
    let (proxy, sc) = started().await;

    let first = sc
        .get(&many(
            &[b.clone(), gone.clone(), a.clone()],
            "&withDecryption=true",
        ))
        .await;
    let doc = first.ok_json();
    assert_eq!(
        listed(&doc),
        [
            (b.clone(), "beta-secret".to_owned()),
            (a.clone(), "alpha".to_owned())
        ]
    );
    assert_eq!(doc["InvalidParameters"], serde_json::json!([gone]));
    assert_eq!(first.x_cache().as_deref(), Some("miss"));
    assert_eq!(proxy.count("GetParameters"), 1);

    // Found names are cached on their own: a repeat, and single gets, are hits.
    let again = sc
        .get(&many(&[a.clone(), b.clone()], "&withDecryption=true"))
        .await;
    assert_eq!(again.x_cache().as_deref(), Some("hit"));
    let single = sc.get(&param(&b, "&withDecryption=true")).await;
    assert_eq!(single.x_cache().as_deref(), Some("hit"));
    assert_eq!(single.ok_json()["Parameter"]["Value"], "beta-secret");
    assert_eq!(proxy.count("GetParameters"), 1);
    assert_eq!(proxy.count("GetParameter"), 0);
}

#[tokio::test]
async fn fetches_only_what_is_missing_ten_at_a_time() {
    let root = format!("/{}", unique("many-chunks"));
    let names: Vec<String> = (0..25).map(|i| format!("{root}/p{i:02}")).collect();
    for (i, name) in names.iter().enumerate() {
        moto::put_parameter(name, &format!("v{i}"), ParameterType::String).await;
    }
    let (proxy, sc) = started().await;
    // One of them is already cached through a single get.
    sc.get(&param(&names[3], "")).await.ok_json();
    let resp = sc.get(&many(&names, "")).await;
    let got = listed(&resp.ok_json());
    assert_eq!(got.len(), 25);
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, (n, v))| *n == names[i] && *v == format!("v{i}")),
        "{got:?}"
    );
    // 24 missing names: three calls of at most 10.
    assert_eq!(proxy.count("GetParameters"), 3, "{:?}", proxy.log());
}

#[tokio::test]
async fn selectors_and_bad_input() {
    let name = format!("/{}/versioned", unique("many-selector"));
    moto::put_parameter(&name, "one", ParameterType::String).await;
    moto::put_parameter(&name, "two", ParameterType::String).await;
    let (_proxy, sc) = started().await;
    let doc = sc.get(&many(&[format!("{name}:1")], "")).await.ok_json();
    assert_eq!(listed(&doc), [(name.clone(), "one".to_owned())]);
    assert_eq!(doc["Parameters"][0]["Selector"], ":1");

    assert_api_error(
        &sc.get("/systemsmanager/parameters/get-many").await,
        400,
        Some("MissingParameter"),
    );
    assert_api_error(
        &sc.get(&many(std::slice::from_ref(&name), "&format=raw"))
            .await,
        400,
        Some("InvalidParameter"),
    );
}
