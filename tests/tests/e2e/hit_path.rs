//! Fresh hits are answered inside the connection's service call, without a future
//! (`routes::answer_hit`); everything else, HEAD included, takes the full path. Both must
//! answer a cached value the same way.

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use sidecache_tests::moto;
use sidecache_tests::sidecar::TOKEN_HEADER;
use sidecache_tests::util::{poll_until, unique};

use super::common::{param, secret, started};

const COMPARED: [&str; 4] = ["content-type", "x-cache", "content-length", "age"];

#[tokio::test]
async fn a_hit_answers_as_the_full_path_does() {
    let name = format!("/{}/p", unique("hit-path"));
    let id = unique("hit-path-secret");
    moto::put_parameter(&name, "same either way", ParameterType::String).await;
    moto::create_secret(&id, "also the same").await;
    let (proxy, sc) = started().await;
    let head = reqwest::Client::new();
    for path in [
        param(&name, ""),
        param(&name, "&format=raw"),
        secret(&id, ""),
        secret(&id, "&format=raw"),
    ] {
        assert_eq!(sc.get(&path).await.status, 200, "{path}");
        let hit = sc.get(&path).await;
        assert_eq!(hit.x_cache().as_deref(), Some("hit"), "{path}");
        // HEAD is never answered on the spot.
        let full = head
            .head(sc.url(&path))
            .header(TOKEN_HEADER, "test-token")
            .send()
            .await
            .unwrap();
        assert_eq!(full.status(), 200, "{path}");
        for header in COMPARED {
            let ours = hit.header(header);
            let theirs = full
                .headers()
                .get(header)
                .map(|v| v.to_str().unwrap().to_owned());
            match header {
                // Both within the same second or one apart.
                "age" => {
                    let (a, b): (u64, u64) = (
                        ours.unwrap().parse().unwrap(),
                        theirs.unwrap().parse().unwrap(),
                    );
                    assert!(a.abs_diff(b) <= 1, "{path}: Age {a} and {b}");
                }
                _ => assert_eq!(ours, theirs, "{path}: {header}"),
            }
        }
    }
    assert_eq!(proxy.count("GetParameter"), 1, "log: {:?}", proxy.log());
    assert_eq!(proxy.count("GetSecretValue"), 1, "log: {:?}", proxy.log());
}

#[tokio::test]
async fn the_age_of_a_hit_counts_seconds() {
    let name = format!("/{}/p", unique("hit-age"));
    moto::put_parameter(&name, "ageing", ParameterType::String).await;
    let (_proxy, sc) = started().await;
    sc.get(&param(&name, "")).await.ok_json();
    // A JSON hit's headers are cloned from a made set whose `Age` is replaced: it must not
    // stay at the made value.
    let aged = poll_until(Duration::from_secs(10), || async {
        let hit = sc.get(&param(&name, "")).await;
        assert_eq!(hit.x_cache().as_deref(), Some("hit"));
        hit.age().filter(|age| *age >= 1)
    })
    .await;
    assert!(aged.is_some(), "Age never reached 1 second on a hit");
}
