//! The AWS APIs (docs/sdk.md): the stock AWS SDK for Rust, configured only through
//! `AWS_ENDPOINT_URL_SSM`, `AWS_ENDPOINT_URL_SECRETS_MANAGER` and `AWS_ENDPOINT_URL_S3`, reads
//! through sidecache. The SDK runs in `sdk-handler`, a child process standing in for a handler,
//! so it resolves its endpoints from its environment as in a function. The Python (boto3, the
//! CLI) and Node.js (SDK v3) suites are `tests/sdk/`.

use aws_sdk_ssm::types::ParameterType;
use serde_json::{json, Value};
use sidecache_tests::moto;
use sidecache_tests::util::{enc, unique};
use sidecache_tests::{FakeClock, FaultProxy, Sidecar};

use super::common::{param, started, started_with};
use super::snapstart::snapstart;

/// Runs `calls` in a handler whose SDK endpoints are `endpoint` (sidecache), as `env` adds
/// (an empty value removes the variable).
async fn handler(endpoint: &str, env: &[(&str, &str)], calls: Value) -> Vec<Value> {
    let home = std::env::temp_dir().join(format!("sdk-handler-home-{}", std::process::id()));
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_sdk-handler"));
    command
        .env_clear()
        .env("HOME", &home)
        .env("AWS_REGION", moto::REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL_SSM", endpoint)
        .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint)
        .env("AWS_ENDPOINT_URL_S3", endpoint)
        .envs(env.iter().filter(|(_, v)| !v.is_empty()).copied())
        .arg(calls.to_string());
    for (name, _) in env.iter().filter(|(_, v)| v.is_empty()) {
        command.env_remove(name);
    }
    let output = command.output().await.expect("run sdk-handler");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "sdk-handler failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn ok(result: &Value) -> &Value {
    assert!(result.get("ok").is_some(), "expected success, got {result}");
    &result["ok"]
}

/// The modeled error's code and HTTP status.
fn failed(result: &Value) -> (String, u64) {
    let error = result
        .get("error")
        .unwrap_or_else(|| panic!("expected an error, got {result}"));
    (
        error["code"].as_str().unwrap_or_default().to_owned(),
        error["status"].as_u64().unwrap_or_default(),
    )
}

async fn counted(proxy: &FaultProxy, sidecar: &Sidecar) -> (usize, Value) {
    (proxy.total(), sidecar.stats().await)
}

#[tokio::test]
async fn parameters_and_secrets_read_through_the_sdk_are_cached_hits() {
    let base = format!("/{}", unique("sdk-rust"));
    let db = format!("{base}/db");
    moto::put_parameter(&db, "s3cret-value", ParameterType::SecureString).await;
    for i in 0..23 {
        moto::put_parameter(&format!("{base}/tree/p{i:02}"), "v", ParameterType::String).await;
    }
    let secret = unique("sdk-rust-secret");
    moto::create_secret(&secret, "secret-string").await;
    let (proxy, sc) = started().await;
    let url = sc.url("");

    let results = handler(
        &url,
        &[],
        json!([
            {"op": "get_parameter", "name": db, "decrypt": true},
            {"op": "get_parameter", "name": db, "decrypt": true},
            {"op": "get_parameters", "names": [db, format!("{base}/missing")], "decrypt": true},
            {"op": "by_path", "path": format!("{base}/tree"), "page": 10},
            {"op": "get_secret", "id": secret},
            {"op": "batch_secrets", "ids": [secret, unique("no-such-secret")]},
        ]),
    )
    .await;
    let parameter = ok(&results[0]);
    assert_eq!(parameter["value"], "s3cret-value");
    assert_eq!(parameter["type"], "SecureString");
    assert_eq!(parameter["version"], 1);
    assert!(parameter["last_modified"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(ok(&results[1]), parameter);
    assert_eq!(
        ok(&results[2]),
        &json!({"values": [[db, "s3cret-value"]], "invalid": [format!("{base}/missing")]})
    );
    let tree = ok(&results[3]);
    assert_eq!(tree["pages"], 3, "23 parameters, 10 a page: {tree}");
    let names: Vec<String> = serde_json::from_value(tree["names"].clone()).unwrap();
    let mut expected: Vec<String> = (0..23).map(|i| format!("{base}/tree/p{i:02}")).collect();
    expected.sort();
    assert_eq!(names, expected, "every parameter once, in name order");
    assert_eq!(ok(&results[4])["string"], "secret-string");
    assert_eq!(ok(&results[4])["stages"], json!(["AWSCURRENT"]));
    let batch = ok(&results[5]);
    assert_eq!(batch["values"], json!([[secret, "secret-string"]]));
    assert_eq!(batch["errors"][0][1], "ResourceNotFoundException");

    // One GetParameter, one GetParameters for the missing name only, one tree, one secret,
    // one batch for the unknown id: the repeated read and the batch's known id were hits.
    assert_eq!(proxy.count("GetParameter"), 1, "{:?}", proxy.log());
    assert_eq!(proxy.count("GetParameters"), 1, "{:?}", proxy.log());
    assert_eq!(proxy.count("GetSecretValue"), 1, "{:?}", proxy.log());
    // The same entries answer the GET endpoints.
    let by_get = sc.get(&param(&db, "&withDecryption=true")).await;
    assert_eq!(by_get.x_cache().as_deref(), Some("hit"));
    let by_get = sc
        .get(&format!("/secretsmanager/get?secretId={}", enc(&secret)))
        .await;
    assert_eq!(by_get.x_cache().as_deref(), Some("hit"));
    let (calls, _) = counted(&proxy, &sc).await;
    let again = handler(
        &url,
        &[],
        json!([{"op": "get_parameter", "name": db, "decrypt": true}]),
    )
    .await;
    assert_eq!(ok(&again[0])["value"], "s3cret-value");
    assert_eq!(proxy.total(), calls, "a hit makes no upstream call");
}

#[tokio::test]
async fn errors_are_the_ones_the_sdk_models() {
    let (proxy, sc) = started().await;
    let names: Vec<String> = (0..11).map(|i| format!("/n{i}")).collect();
    let results = handler(
        &sc.url(""),
        &[],
        json!([
            {"op": "get_parameter", "name": format!("/{}", unique("absent"))},
            {"op": "get_secret", "id": unique("absent")},
            {"op": "get_parameters", "names": names},
        ]),
    )
    .await;
    assert_eq!(failed(&results[0]), ("ParameterNotFound".into(), 400));
    assert_eq!(
        failed(&results[1]),
        ("ResourceNotFoundException".into(), 400)
    );
    assert_eq!(failed(&results[2]), ("ValidationException".into(), 400));
    // More than 10 names is refused before any upstream call, as AWS refuses it.
    assert_eq!(proxy.count("GetParameters"), 0);
}

#[tokio::test]
async fn a_write_is_forwarded_and_the_next_read_sees_it() {
    let name = format!("/{}/flag", unique("sdk-write"));
    moto::put_parameter(&name, "old", ParameterType::String).await;
    let (proxy, sc) = started().await;
    let results = handler(
        &sc.url(""),
        &[],
        json!([
            {"op": "get_parameter", "name": name},
            {"op": "put_parameter", "name": name, "value": "new"},
            {"op": "get_parameter", "name": name},
            {"op": "put_parameter", "name": name, "value": "again", "overwrite": false},
        ]),
    )
    .await;
    assert_eq!(ok(&results[0])["value"], "old");
    assert_eq!(ok(&results[1])["version"], 2);
    assert_eq!(ok(&results[2])["value"], "new", "read-your-writes");
    // moto's own refusal, relayed as it answered.
    assert_eq!(failed(&results[3]).0, "ParameterAlreadyExists");
    assert_eq!(proxy.count("PutParameter"), 2);
    let stored = moto::ssm()
        .get_parameter()
        .name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(stored.parameter().unwrap().value(), Some("new"));
}

#[tokio::test]
async fn a_client_in_another_region_reads_that_region() {
    let name = format!("/{}/where", unique("sdk-region"));
    moto::put_parameter(&name, "home", ParameterType::String).await;
    moto::put_parameter_in("eu-west-1", &name, "ireland", ParameterType::String).await;
    let (_proxy, sc) = started().await;
    let url = sc.url("");
    let home = handler(&url, &[], json!([{"op": "get_parameter", "name": name}])).await;
    assert_eq!(ok(&home[0])["value"], "home");
    let away = handler(
        &url,
        &[("AWS_REGION", "eu-west-1")],
        json!([{"op": "get_parameter", "name": name}]),
    )
    .await;
    assert_eq!(ok(&away[0])["value"], "ireland", "signed for eu-west-1");
}

#[tokio::test]
async fn s3_objects_are_read_from_the_file_cache() {
    let bucket = unique("sdk-s3").to_lowercase();
    let s3 = moto::s3();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let body = b"0123456789abcdefghij";
    s3.put_object()
        .bucket(&bucket)
        .key("dir/a file+.txt")
        .body(body.to_vec().into())
        .send()
        .await
        .unwrap();
    let (proxy, sc) = started().await;
    let results = handler(
        &sc.url(""),
        &[],
        json!([
            {"op": "get_object", "bucket": bucket, "key": "dir/a file+.txt"},
            {"op": "get_object", "bucket": bucket, "key": "dir/a file+.txt", "range": "bytes=2-5"},
            {"op": "get_object", "bucket": bucket, "key": "missing"},
            {"op": "put_object", "bucket": bucket, "key": "new"},
        ]),
    )
    .await;
    let whole = ok(&results[0]);
    assert_eq!(whole["bytes"], json!(body.to_vec()));
    assert_eq!(whole["length"], 20);
    let range = ok(&results[1]);
    assert_eq!(range["bytes"], json!(b"2345".to_vec()));
    assert_eq!(range["range"], "bytes 2-5/20");
    assert_eq!(failed(&results[2]), ("NoSuchKey".into(), 404));
    assert_eq!(failed(&results[3]), ("NotImplemented".into(), 501));
    assert_eq!(
        proxy.count("PutObject"),
        0,
        "an upload is never forwarded: {:?}",
        proxy.log()
    );
    // One download served both reads.
    let resp = sc
        .get(&format!(
            "/s3/get?bucket={bucket}&key={}",
            enc("dir/a file+.txt")
        ))
        .await;
    assert_eq!(resp.x_cache().as_deref(), Some("hit"));
}

#[tokio::test]
async fn other_credentials_are_refused_with_aws_codes() {
    let (proxy, sc) = started().await;
    let name = format!("/{}", unique("sdk-auth"));
    let url = sc.url("");
    let call = json!([{"op": "get_parameter", "name": name}]);
    let wrong_secret = handler(
        &url,
        &[("AWS_SECRET_ACCESS_KEY", "not-the-secret")],
        call.clone(),
    )
    .await;
    assert_eq!(
        failed(&wrong_secret[0]),
        ("InvalidSignatureException".into(), 400)
    );
    let other_key = handler(&url, &[("AWS_ACCESS_KEY_ID", "AKIDOTHER")], call.clone()).await;
    assert_eq!(
        failed(&other_key[0]),
        ("UnrecognizedClientException".into(), 400)
    );
    let token = handler(&url, &[("AWS_SESSION_TOKEN", "some-token")], call).await;
    assert_eq!(
        failed(&token[0]),
        ("UnrecognizedClientException".into(), 400)
    );
    assert_eq!(proxy.total(), 0, "nothing refused reaches AWS");
    let logs = sc.logs();
    assert!(
        !logs.contains("not-the-secret") && !logs.contains("some-token"),
        "{logs}"
    );
}

#[tokio::test]
async fn an_endpoint_variable_naming_sidecache_is_not_followed() {
    let name = format!("/{}/p", unique("sdk-loop"));
    moto::put_parameter(&name, "from moto", ParameterType::String).await;
    let (_proxy, sc) = started_with(|b| {
        let own = format!("http://localhost:{}", b.port());
        b.env("AWS_ENDPOINT_URL_SSM", own.clone())
            .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", own)
    })
    .await;
    // The handler and sidecache share the variables, as in a function.
    let results = handler(
        &sc.url(""),
        &[],
        json!([{"op": "get_parameter", "name": name}]),
    )
    .await;
    assert_eq!(ok(&results[0])["value"], "from moto");
    let logs = sc.logs();
    assert!(
        logs.contains("AWS_ENDPOINT_URL_SSM=http://localhost:")
            && logs.contains("names sidecache itself"),
        "{logs}"
    );
}

#[tokio::test]
async fn after_a_snapstart_restore_the_new_credentials_verify() {
    let name = format!("/{}/p", unique("sdk-snap"));
    moto::put_parameter(&name, "restored", ParameterType::String).await;
    let clock = FakeClock::new("sdk-snap");
    let proxy = FaultProxy::start().await;
    let (fake, sc) = snapstart(&clock, &proxy, |b, fake| {
        let (uri, authorization) = fake.container_credentials();
        b.env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("SIDECACHE_TOKEN")
            .env("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri)
            .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", authorization)
    })
    .await;
    // The handler's SDK resolves the same container credentials as sidecache, and signs.
    let (uri, authorization) = fake.container_credentials();
    let env = [
        ("AWS_ACCESS_KEY_ID", ""),
        ("AWS_SECRET_ACCESS_KEY", ""),
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri.as_str()),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", authorization.as_str()),
    ];
    let call = json!([{"op": "get_parameter", "name": name}]);
    let before = handler(&sc.url(""), &env, call.clone()).await;
    assert_eq!(ok(&before[0])["value"], "restored");

    // Lambda swaps the credentials at a restore; a handler then signs with the new ones.
    let old_token = fake.session_token();
    let new_token = fake.rotate_credentials();
    clock.restore(&sc, "+30s").await;
    let after = handler(&sc.url(""), &env, call).await;
    assert_eq!(
        ok(&after[0])["value"],
        "restored",
        "signed with the new credentials"
    );
    let logs = sc.logs();
    assert!(
        !logs.contains(&old_token) && !logs.contains(&new_token),
        "{logs}"
    );
}
