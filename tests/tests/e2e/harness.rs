//! Self-checks of the test harness (no sidecar involved): a product test is only as good as
//! the fault proxy's counting and fault injection and the fake Lambda API's strictness.

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;
use sidecache_tests::util::{free_port, unique};
use sidecache_tests::{moto, FakeLambda, Fault, FaultProxy};

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A bare awsJson call to `proxy` (moto does not check signatures).
async fn json_call(
    proxy: &FaultProxy,
    target: &str,
    body: Value,
) -> reqwest::Result<reqwest::Response> {
    client()
        .post(proxy.url())
        .header("x-amz-target", target)
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(body.to_string())
        .send()
        .await
}

#[tokio::test]
async fn proxy_forwards_counts_and_injects_faults() {
    let name = format!("/{}/p", unique("harness"));
    moto::put_parameter(&name, "v", aws_sdk_ssm::types::ParameterType::String).await;
    let proxy = FaultProxy::start().await;
    let get = serde_json::json!({ "Name": name });

    let resp = json_call(&proxy, "AmazonSSM.GetParameter", get.clone())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["Parameter"]["Value"], "v");

    proxy.set_fault(Fault::Throttle);
    let resp = json_call(&proxy, "AmazonSSM.GetParameter", get.clone())
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["__type"], "ThrottlingException");

    proxy.set_fault(Fault::Refuse);
    let refused = json_call(&proxy, "AmazonSSM.GetParameter", get.clone()).await;
    assert!(
        refused.is_err(),
        "Refuse must drop the connection: {refused:?}"
    );

    proxy.set_fault(Fault::None);
    json_call(
        &proxy,
        "secretsmanager.GetSecretValue",
        serde_json::json!({"SecretId": "x"}),
    )
    .await
    .unwrap();
    assert_eq!(proxy.count("GetParameter"), 3);
    assert_eq!(proxy.count("GetSecretValue"), 1);
    assert_eq!(proxy.total(), 4);
    let statuses: Vec<u16> = proxy.log().into_iter().map(|(_, s)| s).collect();
    assert_eq!(&statuses[..3], &[200, 400, 0]);
}

#[tokio::test]
async fn proxy_streams_objects_and_records_304() {
    let bucket = unique("harness-bucket");
    let s3 = moto::s3();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let data: Vec<u8> = (0..8 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let put = s3
        .put_object()
        .bucket(&bucket)
        .key("big.bin")
        .body(ByteStream::from(data.clone()))
        .send()
        .await
        .unwrap();
    let etag = put.e_tag().unwrap().to_owned();
    let proxy = FaultProxy::start().await;
    let via_proxy = moto::s3_at(&proxy.url());

    let got = via_proxy
        .get_object()
        .bucket(&bucket)
        .key("big.bin")
        .send()
        .await
        .unwrap();
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert!(bytes == data, "object bytes changed in transit");
    let not_modified = via_proxy
        .get_object()
        .bucket(&bucket)
        .key("big.bin")
        .if_none_match(etag)
        .send()
        .await;
    // The SDK reports a 304 as an error without a code (see the shared notes).
    assert!(not_modified.is_err(), "expected 304: {not_modified:?}");
    assert_eq!(
        proxy.log(),
        vec![("GetObject".to_owned(), 200), ("GetObject".to_owned(), 304)]
    );
}

#[tokio::test]
async fn fake_lambda_rejects_protocol_mistakes() {
    let fake = FakeLambda::start(free_port()).await;
    let register = format!(
        "http://{}/2020-01-01/extension/register",
        fake.runtime_api()
    );
    let no_name = client()
        .post(&register)
        .body(r#"{"events":["SHUTDOWN"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(no_name.status(), 403);
    let bad_event = client()
        .post(&register)
        .header("Lambda-Extension-Name", "x")
        .body(r#"{"events":["SHUTDOWN","LOGS"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_event.status(), 403);
    let next = format!(
        "http://{}/2020-01-01/extension/event/next",
        fake.runtime_api()
    );
    let anonymous = client().get(&next).send().await.unwrap();
    assert_eq!(anonymous.status(), 403);

    let ok = client()
        .post(&register)
        .header("Lambda-Extension-Name", "x")
        .body(r#"{"events":["SHUTDOWN"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let id = ok.headers()["lambda-extension-identifier"]
        .to_str()
        .unwrap()
        .to_owned();
    // Nothing listens on the announced port: bind-before-register must be flagged.
    assert!(fake
        .violations()
        .iter()
        .any(|v| v.contains("before listening")));
    assert!(
        !fake.invoke(),
        "INVOKE is not delivered without a subscription"
    );
    fake.shutdown();
    let event: Value = client()
        .get(&next)
        .header("Lambda-Extension-Identifier", &id)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(event["eventType"], "SHUTDOWN");
    // A /next after SHUTDOWN never returns and is recorded.
    let late = client()
        .get(&next)
        .header("Lambda-Extension-Identifier", &id)
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(late.is_err(), "Lambda never answers /next after SHUTDOWN");
    assert!(fake
        .violations()
        .iter()
        .any(|v| v.contains("after SHUTDOWN")));
}
