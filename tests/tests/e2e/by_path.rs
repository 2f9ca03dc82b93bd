//! `GET /systemsmanager/parameters/by-path`: every parameter under a path, all pages, cached as
//! one answer.

use std::collections::BTreeMap;

use aws_sdk_ssm::types::ParameterType;
use sidecache_tests::check::assert_api_error;
use sidecache_tests::moto;
use sidecache_tests::util::{enc, unique};

use super::common::{listed, started};

fn by_path(path: &str, extra: &str) -> String {
    format!(
        "/systemsmanager/parameters/by-path?path={}{extra}",
        enc(path)
    )
}

/// Name -> Value of a by-path answer.
fn values(doc: &serde_json::Value) -> BTreeMap<String, String> {
    listed(doc).into_iter().collect()
}

#[tokio::test]
async fn lists_one_level_or_the_whole_tree() {
    let root = format!("/{}", unique("by-path"));
    moto::put_parameter(&format!("{root}/a"), "1", ParameterType::String).await;
    moto::put_parameter(&format!("{root}/b"), "2", ParameterType::String).await;
    moto::put_parameter(
        &format!("{root}/sub/c"),
        "secret-3",
        ParameterType::SecureString,
    )
    .await;
    let (proxy, sc) = started().await;

    let level = sc.get(&by_path(&root, "")).await;
    let names: Vec<_> = values(&level.ok_json()).into_keys().collect();
    assert_eq!(names, [format!("{root}/a"), format!("{root}/b")]);
    assert_eq!(level.x_cache().as_deref(), Some("miss"));

    let tree = sc
        .get(&by_path(&root, "&recursive=true&withDecryption=true"))
        .await;
    let tree = values(&tree.ok_json());
    assert_eq!(tree.len(), 3, "{tree:?}");
    assert_eq!(tree[&format!("{root}/sub/c")], "secret-3");

    let again = sc.get(&by_path(&root, "")).await;
    assert_eq!(again.x_cache().as_deref(), Some("hit"));
    assert_eq!(proxy.count("GetParametersByPath"), 2, "{:?}", proxy.log());
}

#[tokio::test]
async fn follows_every_page() {
    let root = format!("/{}", unique("by-path-pages"));
    for i in 0..25 {
        moto::put_parameter(
            &format!("{root}/p{i:02}"),
            &i.to_string(),
            ParameterType::String,
        )
        .await;
    }
    let (proxy, sc) = started().await;
    let all = values(&sc.get(&by_path(&root, "")).await.ok_json());
    assert_eq!(all.len(), 25, "{all:?}");
    assert_eq!(all[&format!("{root}/p24")], "24");
    // 10 a page, as AWS allows: three calls.
    assert_eq!(proxy.count("GetParametersByPath"), 3, "{:?}", proxy.log());
}

#[tokio::test]
async fn empty_paths_and_bad_input() {
    let (_proxy, sc) = started().await;
    let empty = sc
        .get(&by_path(&format!("/{}", unique("nothing")), ""))
        .await;
    assert_eq!(values(&empty.ok_json()).len(), 0);
    assert_api_error(
        &sc.get("/systemsmanager/parameters/by-path").await,
        400,
        Some("MissingParameter"),
    );
    assert_api_error(
        &sc.get(&by_path("relative", "")).await,
        400,
        Some("InvalidParameter"),
    );
    assert_api_error(
        &sc.get(&by_path("/x", "&format=raw")).await,
        400,
        Some("InvalidParameter"),
    );
}
