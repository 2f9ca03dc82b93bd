//! The error contract: status table, JSON error bodies, request validation, the token and
//! `X-Forwarded-For` guards, and that no error ever carries a secret value or the token.

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use sidecache_tests::check::{assert_absent, assert_api_error};
use sidecache_tests::sidecar::TOKEN_HEADER;
use sidecache_tests::util::{free_port, unique};
use sidecache_tests::{moto, Fault, SidecarBuilder};

use super::common::{param, secret, started, started_with};

/// A seeded parameter and secret: (parameter name, secret id, shared value).
async fn seeded(tag: &str) -> (String, String, String) {
    let id = unique(tag);
    let value = format!("confidential-{id}");
    let name = format!("/{id}/p");
    moto::put_parameter(&name, &value, ParameterType::SecureString).await;
    moto::create_secret(&id, &value).await;
    (name, id, value)
}

/// With `fault` injected, both endpoints answer `status` with a JSON error, after really
/// trying upstream, and without the value in the body.
async fn assert_fault_maps_to(fault: Fault, status: u16, env: &[(&str, &str)]) {
    let (name, id, value) = seeded("fault").await;
    let (proxy, sc) = started_with(|mut b| {
        for (key, val) in env {
            b = b.env(key, *val);
        }
        b
    })
    .await;
    proxy.set_fault(fault.clone());
    let resp = sc.get(&param(&name, "&withDecryption=true")).await;
    let body = assert_api_error(&resp, status, None);
    assert_absent(&body.to_string(), &value, "error body");
    let resp = sc.get(&secret(&id, "")).await;
    let body = assert_api_error(&resp, status, None);
    assert_absent(&body.to_string(), &value, "error body");
    assert!(
        proxy.count("GetParameter") >= 1,
        "{fault:?}: never asked SSM"
    );
    assert!(
        proxy.count("GetSecretValue") >= 1,
        "{fault:?}: never asked SM"
    );
}

#[tokio::test]
async fn upstream_access_denied_is_403() {
    let fault = Fault::Error {
        status: 400,
        code: "AccessDeniedException".into(),
    };
    assert_fault_maps_to(fault, 403, &[]).await;
}

#[tokio::test]
async fn upstream_throttling_is_429() {
    assert_fault_maps_to(Fault::Throttle, 429, &[]).await;
}

#[tokio::test]
async fn upstream_5xx_is_502() {
    assert_fault_maps_to(Fault::Status500, 502, &[]).await;
}

#[tokio::test]
async fn upstream_dropping_connections_is_502() {
    assert_fault_maps_to(Fault::Refuse, 502, &[]).await;
}

#[tokio::test]
async fn upstream_timeout_is_504() {
    let timeouts = [
        ("SSM_PARAMETER_STORE_TIMEOUT_MILLIS", "500"),
        ("SECRETS_MANAGER_TIMEOUT_MILLIS", "500"),
    ];
    assert_fault_maps_to(Fault::Latency(Duration::from_secs(3)), 504, &timeouts).await;
}

#[tokio::test]
async fn upstream_unreachable_is_502() {
    // Nothing listens on this port.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let sc = SidecarBuilder::new(&dead).spawn().await;
    assert_api_error(&sc.get(&param("/nothing/here", "")).await, 502, None);
    assert_api_error(&sc.get(&secret("nothing-here", "")).await, 502, None);
}

#[tokio::test]
async fn not_found_passes_the_upstream_code_through() {
    let (name, _id, _value) = seeded("not-found").await;
    let (_proxy, sc) = started().await;
    let missing = format!("/{}/missing", unique("nf"));
    let resp = sc.get(&param(&missing, "")).await;
    assert_api_error(&resp, 404, Some("ParameterNotFound"));
    let resp = sc.get(&param(&name, "&version=99")).await;
    assert_api_error(&resp, 404, Some("ParameterVersionNotFound"));
    let resp = sc.get(&secret(&unique("nf-secret"), "")).await;
    assert_api_error(&resp, 404, Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn bad_queries_are_400_without_calling_upstream() {
    let (proxy, sc) = started().await;
    for path in [
        "/systemsmanager/parameters/get",
        "/systemsmanager/parameters/get?name=",
        "/systemsmanager/parameters/get?name=/a/b&foo=bar",
        "/systemsmanager/parameters/get?name=/a/b&withDecryption=maybe",
        "/systemsmanager/parameters/get?name=/a/b&version=abc",
        "/secretsmanager/get",
        "/secretsmanager/get?secretId=",
        "/secretsmanager/get?secretId=abc&foo=bar",
    ] {
        let resp = sc.get(path).await;
        assert_api_error(&resp, 400, None);
    }
    assert_eq!(
        proxy.total(),
        0,
        "validation must not call AWS: {:?}",
        proxy.log()
    );
}

#[tokio::test]
async fn token_is_required_and_checked() {
    let (name, id, value) = seeded("token").await;
    let (_proxy, sc) = started().await;
    for path in [param(&name, ""), secret(&id, ""), "/stats".to_owned()] {
        let resp = sc.get_without_token(&path).await;
        let body = assert_api_error(&resp, 403, None);
        assert_absent(&body.to_string(), "test-token", "403 body");
        let resp = sc
            .get_with_headers(&path, &[(TOKEN_HEADER, "wrong-token")])
            .await;
        let body = assert_api_error(&resp, 403, None);
        assert_absent(&body.to_string(), "test-token", "403 body");
        assert_absent(&body.to_string(), &value, "403 body");
    }
    assert_eq!(sc.get(&param(&name, "")).await.status, 200);
    assert_eq!(sc.get(&secret(&id, "")).await.status, 200);
}

#[tokio::test]
async fn ping_needs_no_token() {
    let (_proxy, sc) = started().await;
    let body = sc.get_without_token("/ping").await.ok_json();
    assert_eq!(body["status"], "ok", "{body}");
    let version = body["version"].as_str().unwrap_or_default();
    assert!(
        !version.is_empty(),
        "version should be a non-empty string: {body}"
    );
}

#[tokio::test]
async fn x_forwarded_for_is_rejected() {
    let (name, id, _value) = seeded("xff").await;
    let (proxy, sc) = started().await;
    for path in [param(&name, ""), secret(&id, "")] {
        let resp = sc
            .get_with_headers(&path, &[("X-Forwarded-For", "10.0.0.1")])
            .await;
        assert_api_error(&resp, 400, None);
    }
    assert_eq!(proxy.total(), 0, "a rejected request must not call AWS");
}

#[tokio::test]
async fn error_bodies_never_contain_cached_values() {
    let (name, id, value) = seeded("no-leak").await;
    let (_proxy, sc) = started().await;
    // Cache both values first, so a careless error path has them at hand.
    let ok = sc
        .get(&param(&name, "&withDecryption=true"))
        .await
        .ok_json();
    assert_eq!(ok["Parameter"]["Value"], value.as_str());
    assert_eq!(
        sc.get(&secret(&id, "")).await.ok_json()["SecretString"],
        value.as_str()
    );

    let bad_param = param(&name, "&withDecryption=true&bogus=1");
    let bad_secret = secret(&id, "&bogus=1");
    let answers = [
        sc.get(&bad_param).await,
        sc.get(&bad_secret).await,
        sc.get_without_token(&param(&name, "&withDecryption=true"))
            .await,
        sc.get_without_token(&secret(&id, "")).await,
        sc.get_with_headers(&secret(&id, ""), &[("X-Forwarded-For", "1.2.3.4")])
            .await,
    ];
    for resp in answers {
        assert!(resp.status >= 400, "expected an error, got {}", resp.status);
        assert_absent(&resp.text(), &value, "error body");
        assert_absent(&resp.text(), "test-token", "error body");
    }
}
