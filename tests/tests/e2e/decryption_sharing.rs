//! One fetch serves both `withDecryption` spellings of a String or StringList parameter (the
//! flag does not change its value), in `get`, `get-many`, `by-path` and prefetch; a SecureString
//! keeps them apart, because without decryption AWS (and moto) answers something else.
//! Every assertion is on upstream call counts at the fault proxy.

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use sidecache_tests::check::num;
use sidecache_tests::util::{enc, poll_until, unique};
use sidecache_tests::{moto, Fault, FaultProxy, Resp, Sidecar};

use super::common::{listed, param, started, started_with, value_of};

const DECRYPT: &str = "&withDecryption=true";

fn many(names: &[&str], extra: &str) -> String {
    let list: Vec<String> = names.iter().map(|n| enc(n)).collect();
    format!(
        "/systemsmanager/parameters/get-many?names={}{extra}",
        list.join(",")
    )
}

fn by_path(path: &str, extra: &str) -> String {
    format!(
        "/systemsmanager/parameters/by-path?path={}{extra}",
        enc(path)
    )
}

fn assert_hit(resp: &Resp, what: &str) {
    assert_eq!(
        resp.x_cache().as_deref(),
        Some("hit"),
        "{what}: {}",
        resp.text()
    );
}

/// Waits until the prefetch has cached `entries` values.
async fn prefetched(sc: &Sidecar, entries: u64) {
    let done = poll_until(Duration::from_secs(10), || async {
        (num(&sc.stats().await, "/cache/entries") >= entries).then_some(())
    })
    .await;
    assert!(done.is_some(), "prefetch never completed:\n{}", sc.logs());
}

#[tokio::test]
async fn prefetched_string_serves_a_plain_read_without_upstream_calls() {
    let name = format!("/{}/x", unique("share-prefetch"));
    moto::put_parameter(&name, "plain-value", ParameterType::String).await;
    let (proxy, sc) = started_with(|b| b.env("SIDECACHE_PREFETCH", format!("ssm:{name}"))).await;
    prefetched(&sc, 1).await;
    assert_eq!(proxy.count("GetParameter"), 1, "the prefetch itself");

    let plain = sc.get(&param(&name, "")).await;
    assert_eq!(value_of(&plain), "plain-value");
    assert_hit(&plain, "withDecryption left out");
    let decrypted = sc.get(&param(&name, DECRYPT)).await;
    assert_eq!(value_of(&decrypted), "plain-value");
    assert_hit(&decrypted, "withDecryption=true");
    let listed_many = sc.get(&many(&[&name], "")).await;
    assert_eq!(
        listed(&listed_many.ok_json()),
        vec![(name.clone(), "plain-value".to_owned())]
    );
    assert_hit(&listed_many, "get-many without decryption");
    assert_eq!(
        proxy.total(),
        1,
        "no call beyond the prefetch: {:?}",
        proxy.log()
    );
}

/// A handler's plain read that arrives while the prefetch (with decryption) is still waiting
/// upstream joins it instead of making a second call.
#[tokio::test]
async fn a_plain_read_joins_a_prefetch_still_in_flight() {
    let name = format!("/{}/x", unique("share-inflight"));
    moto::put_parameter(&name, "slow-plain", ParameterType::String).await;
    let proxy = FaultProxy::start().await;
    proxy.set_fault(Fault::Latency(Duration::from_millis(800)));
    let sc = Sidecar::builder(&proxy)
        .env("SIDECACHE_PREFETCH", format!("ssm:{name}"))
        .spawn()
        .await;
    assert!(
        proxy
            .wait_count("GetParameter", 1, Duration::from_secs(5))
            .await
    );
    assert_eq!(value_of(&sc.get(&param(&name, "")).await), "slow-plain");
    assert_eq!(proxy.count("GetParameter"), 1, "{:?}", proxy.log());
}

#[tokio::test]
async fn string_and_string_list_take_one_call_for_both_spellings() {
    let string = format!("/{}/s", unique("share-string"));
    let list = format!("/{}/l", unique("share-list"));
    moto::put_parameter(&string, "one", ParameterType::String).await;
    moto::put_parameter(&list, "a,b,c", ParameterType::StringList).await;
    let (proxy, sc) = started().await;
    // Without, then with decryption.
    assert_eq!(value_of(&sc.get(&param(&string, "")).await), "one");
    let second = sc.get(&param(&string, DECRYPT)).await;
    assert_eq!(value_of(&second), "one");
    assert_hit(&second, "String read with decryption after one without");
    // With, then without.
    assert_eq!(value_of(&sc.get(&param(&list, DECRYPT)).await), "a,b,c");
    let second = sc.get(&param(&list, "")).await;
    assert_eq!(value_of(&second), "a,b,c");
    assert_hit(&second, "StringList read without decryption after one with");
    assert_eq!(proxy.count("GetParameter"), 2, "{:?}", proxy.log());
    assert_eq!(num(&sc.stats().await, "/cache/entries"), 2, "one copy each");
}

#[tokio::test]
async fn secure_string_keeps_the_two_spellings_apart() {
    let name = format!("/{}/secure", unique("share-secure"));
    moto::put_parameter(&name, "the-plaintext", ParameterType::SecureString).await;
    let (proxy, sc) = started().await;
    let without = value_of(&sc.get(&param(&name, "")).await);
    let with = value_of(&sc.get(&param(&name, DECRYPT)).await);
    assert_eq!(with, "the-plaintext");
    // moto answers `kms:<key id>:<value>` without decryption, AWS a ciphertext blob: either
    // way not the plaintext.
    assert_ne!(
        without, with,
        "without decryption must not be the plaintext"
    );
    assert_eq!(proxy.count("GetParameter"), 2, "{:?}", proxy.log());
    // Both are cached now, each under its own spelling.
    let again_without = sc.get(&param(&name, "")).await;
    assert_hit(&again_without, "SecureString without decryption");
    assert_eq!(value_of(&again_without), without);
    let again_with = sc.get(&param(&name, DECRYPT)).await;
    assert_hit(&again_with, "SecureString with decryption");
    assert_eq!(value_of(&again_with), with);
    assert_eq!(proxy.count("GetParameter"), 2, "{:?}", proxy.log());
}

#[tokio::test]
async fn get_many_shares_per_name_entries_across_spellings() {
    let id = unique("share-many");
    let (a, b) = (format!("/{id}/a"), format!("/{id}/b"));
    moto::put_parameter(&a, "va", ParameterType::String).await;
    moto::put_parameter(&b, "vb", ParameterType::SecureString).await;
    let (proxy, sc) = started().await;
    let first = sc.get(&many(&[&a, &b], DECRYPT)).await.ok_json();
    assert_eq!(
        listed(&first),
        vec![(a.clone(), "va".to_owned()), (b.clone(), "vb".to_owned())]
    );
    assert_eq!(proxy.count("GetParameters"), 1);
    // The String answers a plain `get`; the SecureString must be fetched without decryption.
    assert_hit(&sc.get(&param(&a, "")).await, "String fetched by get-many");
    let b_plain = sc.get(&param(&b, "")).await;
    assert_ne!(value_of(&b_plain), "vb");
    assert_eq!(proxy.count("GetParameter"), 1, "{:?}", proxy.log());
}

#[tokio::test]
async fn by_path_shares_an_answer_without_secure_strings_only() {
    let id = unique("share-path");
    let plain_tree = format!("/{id}/plain");
    let mixed_tree = format!("/{id}/mixed");
    moto::put_parameter(&format!("{plain_tree}/a"), "1", ParameterType::String).await;
    moto::put_parameter(&format!("{mixed_tree}/a"), "2", ParameterType::String).await;
    moto::put_parameter(&format!("{mixed_tree}/s"), "3", ParameterType::SecureString).await;
    let (proxy, sc) = started().await;
    sc.get(&by_path(&plain_tree, DECRYPT)).await.ok_json();
    let plain = sc.get(&by_path(&plain_tree, "")).await;
    assert_hit(&plain, "by-path of Strings only, other spelling");
    assert_eq!(
        listed(&plain.ok_json()),
        vec![(format!("{plain_tree}/a"), "1".to_owned())]
    );
    assert_eq!(proxy.count("GetParametersByPath"), 1, "{:?}", proxy.log());

    let decrypted = sc.get(&by_path(&mixed_tree, DECRYPT)).await.ok_json();
    let not_decrypted = sc.get(&by_path(&mixed_tree, "")).await;
    assert_eq!(not_decrypted.x_cache().as_deref(), Some("miss"));
    assert_ne!(listed(&decrypted), listed(&not_decrypted.ok_json()));
    assert_eq!(proxy.count("GetParametersByPath"), 3, "{:?}", proxy.log());
}
