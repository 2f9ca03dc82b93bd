//! `GET /secretsmanager/get-many`: several secrets through BatchGetSecretValue (20 ids a call),
//! each cached under its single-get key, per-id errors in `Errors`.

use sidecache_tests::check::{assert_api_error, assert_keys};
use sidecache_tests::moto;
use sidecache_tests::util::{enc, unique};

use super::common::{secret, started};

fn many(ids: &[String], extra: &str) -> String {
    let list = ids.iter().map(|n| enc(n)).collect::<Vec<_>>().join(",");
    format!("/secretsmanager/get-many?secretIds={list}{extra}")
}

/// (Name, SecretString) of each entry of `SecretValues`, in order.
fn values(doc: &serde_json::Value) -> Vec<(String, String)> {
    doc["SecretValues"]
        .as_array()
        .unwrap_or_else(|| panic!("SecretValues should be a list: {doc}"))
        .iter()
        .map(|s| {
            (
                s["Name"].as_str().unwrap_or_default().to_owned(),
                s["SecretString"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn answers_in_order_with_unknown_ids_in_errors_and_caches_each() {
    let (a, b, gone) = (
        unique("sbatch-a"),
        unique("sbatch-b"),
        unique("sbatch-gone"),
    );
    moto::create_secret(&a, "alpha").await;
    let (b_arn, _) = moto::create_secret(&b, "beta").await;
    let (proxy, sc) = started().await;

    let first = sc
        .get(&many(&[b_arn.clone(), gone.clone(), a.clone()], ""))
        .await;
    let doc = first.ok_json();
    assert_keys(
        &doc,
        &["SecretValues", "Errors", "ResultMetadata"],
        "get-many",
    );
    assert_eq!(
        values(&doc),
        [
            (b.clone(), "beta".to_owned()),
            (a.clone(), "alpha".to_owned())
        ]
    );
    assert_keys(
        &doc["SecretValues"][0],
        &[
            "ARN",
            "CreatedDate",
            "Name",
            "SecretBinary",
            "SecretString",
            "VersionId",
            "VersionStages",
        ],
        "a secret value (no ResultMetadata)",
    );
    assert_eq!(doc["Errors"].as_array().map(Vec::len), Some(1), "{doc}");
    assert_eq!(doc["Errors"][0]["SecretId"], gone.as_str());
    assert_eq!(doc["Errors"][0]["ErrorCode"], "ResourceNotFoundException");
    assert_eq!(first.x_cache().as_deref(), Some("miss"));
    assert_eq!(proxy.count("BatchGetSecretValue"), 1, "{:?}", proxy.log());

    // Each was cached under the single-get key it was asked by: no new upstream call.
    let before = proxy.total();
    let single = sc.get(&secret(&a, "")).await;
    assert_eq!(single.x_cache().as_deref(), Some("hit"));
    assert_eq!(single.ok_json()["SecretString"], "alpha");
    let by_arn = sc.get(&secret(&b_arn, "")).await;
    assert_eq!(by_arn.x_cache().as_deref(), Some("hit"));
    let again = sc.get(&many(&[a.clone(), b_arn.clone()], "")).await;
    assert_eq!(again.x_cache().as_deref(), Some("hit"));
    assert_eq!(
        values(&again.ok_json()),
        [
            (a.clone(), "alpha".to_owned()),
            (b.clone(), "beta".to_owned())
        ]
    );
    assert_eq!(proxy.total(), before, "{:?}", proxy.log());
}

#[tokio::test]
async fn fetches_only_what_is_missing_twenty_at_a_time() {
    let tag = unique("sbatch-chunks");
    let ids: Vec<String> = (0..45).map(|i| format!("{tag}-{i:02}")).collect();
    for (i, id) in ids.iter().enumerate() {
        moto::create_secret(id, &format!("v{i}")).await;
    }
    let (proxy, sc) = started().await;
    // Four are already cached through single gets.
    for id in &ids[..4] {
        sc.get(&secret(id, "")).await.ok_json();
    }
    let doc = sc.get(&many(&ids, "")).await.ok_json();
    let got = values(&doc);
    assert_eq!(got.len(), 45, "{doc}");
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, (n, v))| *n == ids[i] && *v == format!("v{i}")),
        "{got:?}"
    );
    // 41 missing ids: three calls of at most 20.
    assert_eq!(proxy.count("BatchGetSecretValue"), 3, "{:?}", proxy.log());
    assert_eq!(proxy.count("GetSecretValue"), 4);
    // maxAge=0 refreshes them all, again in batches.
    sc.get(&many(&ids, "&maxAge=0")).await.ok_json();
    assert_eq!(proxy.count("BatchGetSecretValue"), 6, "{:?}", proxy.log());
}

#[tokio::test]
async fn another_stage_is_read_one_by_one_and_bad_input_is_refused() {
    let id = unique("sbatch-stage");
    moto::create_secret(&id, "first").await;
    moto::secrets()
        .put_secret_value()
        .secret_id(&id)
        .secret_string("second")
        .send()
        .await
        .unwrap();
    let (proxy, sc) = started().await;
    let doc = sc
        .get(&many(
            std::slice::from_ref(&id),
            "&versionStage=AWSPREVIOUS",
        ))
        .await
        .ok_json();
    assert_eq!(values(&doc), [(id.clone(), "first".to_owned())]);
    assert_eq!(proxy.count("BatchGetSecretValue"), 0);
    assert_eq!(proxy.count("GetSecretValue"), 1);

    assert_api_error(
        &sc.get("/secretsmanager/get-many?secretIds=").await,
        400,
        Some("MissingParameter"),
    );
    let too_many: Vec<String> = (0..101).map(|i| format!("s{i}")).collect();
    assert_api_error(
        &sc.get(&many(&too_many, "")).await,
        400,
        Some("InvalidParameter"),
    );
    assert_api_error(
        &sc.get(&many(std::slice::from_ref(&id), "&format=raw"))
            .await,
        400,
        Some("InvalidParameter"),
    );
    let slash = sc
        .get(&format!("/secretsmanager/get-many/?secretIds={}", enc(&id)))
        .await;
    assert_eq!(slash.status, 200, "{}", slash.text());
}

/// Creates a string secret carrying one tag.
async fn tagged_secret(name: &str, value: &str, tag_key: &str) {
    moto::secrets()
        .create_secret()
        .name(name)
        .secret_string(value)
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key(tag_key)
                .value("yes")
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("seed secret {name}: {e:?}"));
}

#[tokio::test]
async fn prefetch_by_tag_makes_first_reads_hits() {
    let tag = unique("sbatch-team");
    let ids: Vec<String> = (0..23)
        .map(|i| unique(&format!("sbatch-tagged{i}")))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        tagged_secret(id, &format!("t{i}"), &tag).await;
    }
    let untagged = unique("sbatch-untagged");
    moto::create_secret(&untagged, "not prefetched").await;
    let (proxy, sc) = super::common::started_with(|b| {
        b.env("SIDECACHE_PREFETCH", format!("secrets:tag-key={tag}"))
    })
    .await;
    let done = sidecache_tests::util::poll_until(std::time::Duration::from_secs(10), || async {
        (sidecache_tests::check::num(&sc.stats().await, "/cache/entries") == 23).then_some(())
    })
    .await;
    assert!(done.is_some(), "{:?}\n{}", proxy.log(), sc.logs());
    // Every page of the filtered batch (20 a page).
    assert_eq!(proxy.count("BatchGetSecretValue"), 2, "{:?}", proxy.log());
    let after_prefetch = proxy.total();
    for (i, id) in ids.iter().enumerate() {
        let resp = sc.get(&secret(id, "")).await;
        assert_eq!(resp.x_cache().as_deref(), Some("hit"), "{id}");
        assert_eq!(resp.ok_json()["SecretString"], format!("t{i}"));
    }
    assert_eq!(proxy.total(), after_prefetch, "{:?}", proxy.log());
    // The untagged one was not fetched.
    let other = sc.get(&secret(&untagged, "")).await;
    assert_eq!(other.x_cache().as_deref(), Some("miss"));
}
