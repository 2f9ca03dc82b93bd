//! For users of AWS's open-source Secrets Manager Agent: its path form `GET /v1/<secretId>`
//! and its token variable `AWS_TOKEN` (a value, or `file://<path>`).

use sidecache_tests::util::{enc, unique};
use sidecache_tests::{moto, Sidecar};

use super::common::{secret, started_with};

#[tokio::test]
async fn the_agents_path_form_reads_the_same_secret_from_the_same_entry() {
    let id = format!("{}/db+main", unique("agent-path"));
    moto::create_secret(&id, "agent-value").await;
    let (proxy, sc) = started_with(|b| b).await;

    let by_query = sc.get(&secret(&id, "")).await;
    assert_eq!(by_query.x_cache().as_deref(), Some("miss"));
    // A literal `/` and `+` in the path, as the agent's users write them.
    let by_path = sc.get(&format!("/v1/{id}")).await;
    assert_eq!(by_path.x_cache().as_deref(), Some("hit"));
    assert_eq!(by_path.ok_json(), by_query.ok_json());
    assert_eq!(by_path.ok_json()["SecretString"], "agent-value");
    // Escaped, with the shared options.
    let escaped = sc
        .get(&format!("/v1/{}?format=raw&refreshNow=true", enc(&id)))
        .await;
    assert_eq!(escaped.status, 200);
    assert_eq!(escaped.text(), "agent-value");
    assert_eq!(escaped.x_cache().as_deref(), Some("refresh"));
    assert_eq!(proxy.count("GetSecretValue"), 2);

    assert_eq!(sc.get("/v1/").await.status, 400);
    assert_eq!(sc.get(&format!("/v1/{id}?secretId=x")).await.status, 400);
    assert_eq!(sc.get_without_token(&format!("/v1/{id}")).await.status, 403);
    let missing = sc.get(&format!("/v1/{}", unique("agent-missing"))).await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn the_agents_aws_token_is_a_token_source_as_value_or_file() {
    let id = unique("agent-token");
    moto::create_secret(&id, "token-value").await;
    let (_proxy, sc) = started_with(|b| {
        b.env_remove("SIDECACHE_TOKEN")
            .env("AWS_TOKEN", "agent-token-value")
            .client_token(Some("agent-token-value"))
    })
    .await;
    assert_eq!(sc.get(&secret(&id, "")).await.status, 200);
    let wrong = sc
        .get_with_headers(
            &secret(&id, ""),
            &[("X-Aws-Parameters-Secrets-Token", "other")],
        )
        .await;
    assert_eq!(wrong.status, 403);

    let proxy = sidecache_tests::FaultProxy::start().await;
    let builder = Sidecar::builder(&proxy);
    let file = builder.home().join("awssmatoken");
    std::fs::write(&file, "from-a-file\n").unwrap();
    let sc = builder
        .env_remove("SIDECACHE_TOKEN")
        .env("AWS_TOKEN", format!("file://{}", file.display()))
        .client_token(Some("from-a-file"))
        .spawn()
        .await;
    assert_eq!(sc.get(&secret(&id, "")).await.status, 200);
    let wrong = sc
        .get_with_headers(
            &secret(&id, ""),
            &[("X-Aws-Parameters-Secrets-Token", "agent-token-value")],
        )
        .await;
    assert_eq!(wrong.status, 403);
}
