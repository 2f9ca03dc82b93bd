//! Configuration from the environment: bad values stop start-up loudly (and, inside Lambda,
//! through `init/error`), token sources, and warnings for misspelt variables.

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use sidecache_tests::sidecar::{PORT_VAR, TOKEN_HEADER};
use sidecache_tests::util::{poll_until, unique};
use sidecache_tests::{moto, FakeLambda, FaultProxy, Sidecar};

use super::common::{param, started_with};

const TTL_VAR: &str = "SSM_PARAMETER_STORE_TTL";

/// Some log line names both the variable and the rejected value.
fn assert_logged(logs: &str, var: &str, value: &str) {
    assert!(
        logs.lines().any(|l| l.contains(var) && l.contains(value)),
        "no log line names {var} and {value:?}; logs:\n{logs}"
    );
}

async fn assert_bad_value_stops_startup(var: &str, value: &str) {
    let proxy = FaultProxy::start().await;
    let builder = Sidecar::builder(&proxy).env(var, value);
    let (status, logs) = builder.spawn_expect_exit().await;
    assert!(
        !status.success(),
        "{var}={value} must fail start-up; logs:\n{logs}"
    );
    assert_logged(&logs, var, value);
}

#[tokio::test]
async fn non_numeric_port_stops_startup() {
    assert_bad_value_stops_startup(PORT_VAR, "abc").await;
}

#[tokio::test]
async fn negative_ttl_stops_startup() {
    assert_bad_value_stops_startup(TTL_VAR, "-5").await;
}

#[tokio::test]
async fn every_bad_value_is_reported_at_once() {
    let proxy = FaultProxy::start().await;
    let builder = Sidecar::builder(&proxy)
        .env(PORT_VAR, "abc")
        .env(TTL_VAR, "-5");
    let (status, logs) = builder.spawn_expect_exit().await;
    assert!(!status.success(), "logs:\n{logs}");
    assert_logged(&logs, PORT_VAR, "abc");
    assert_logged(&logs, TTL_VAR, "-5");
}

/// Inside Lambda a bad value is also reported through `init/error`, after registering (the
/// API needs the extension identifier), so the function's init fails visibly.
async fn assert_bad_value_reported_to_lambda(var: &str, value: &str) {
    let proxy = FaultProxy::start().await;
    let builder = Sidecar::builder(&proxy).env(var, value);
    let fake = FakeLambda::start(builder.port()).await;
    let (status, logs) = builder.lambda(&fake).spawn_expect_exit().await;
    assert!(!status.success(), "logs:\n{logs}");
    assert_logged(&logs, var, value);
    assert_eq!(
        fake.registrations().len(),
        1,
        "must register to report; logs:\n{logs}"
    );
    let reports = fake.init_errors();
    assert_eq!(
        reports.len(),
        1,
        "init/error reports: {reports:?}; logs:\n{logs}"
    );
    assert!(
        !reports[0].error_type.is_empty(),
        "error type header: {reports:?}"
    );
    assert!(
        reports[0].body.contains(var),
        "init/error body names {var}: {reports:?}"
    );
    // (The fake's bind-before-register check fails here by design: nothing could be bound.)
}

#[tokio::test]
async fn bad_port_inside_lambda_posts_init_error() {
    assert_bad_value_reported_to_lambda(PORT_VAR, "abc").await;
}

#[tokio::test]
async fn bad_ttl_inside_lambda_posts_init_error() {
    assert_bad_value_reported_to_lambda(TTL_VAR, "-5").await;
}

#[tokio::test]
async fn no_token_source_stops_startup() {
    let proxy = FaultProxy::start().await;
    let builder = Sidecar::builder(&proxy)
        .env_remove("SIDECACHE_TOKEN")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        // Keep the credential chain from waiting on an EC2 metadata service.
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let (status, logs) = builder.spawn_expect_exit().await;
    assert!(!status.success(), "logs:\n{logs}");
    assert!(
        logs.to_lowercase().contains("token"),
        "the message should explain the missing token; logs:\n{logs}"
    );
}

#[tokio::test]
async fn session_token_is_the_default_token() {
    let name = format!("/{}/p", unique("cfg-session"));
    moto::put_parameter(&name, "via-session-token", ParameterType::String).await;
    let (_proxy, sc) = started_with(|b| {
        b.env_remove("SIDECACHE_TOKEN")
            .env("AWS_SESSION_TOKEN", "x")
            .client_token(Some("x"))
    })
    .await;
    assert_eq!(sc.get(&param(&name, "")).await.status, 200);
    let wrong = sc
        .get_with_headers(&param(&name, ""), &[(TOKEN_HEADER, "test-token")])
        .await;
    assert_eq!(wrong.status, 403);
}

#[tokio::test]
async fn token_file_is_trimmed_and_reread() {
    let name = format!("/{}/p", unique("cfg-token-file"));
    moto::put_parameter(&name, "via-token-file", ParameterType::String).await;
    let proxy = FaultProxy::start().await;
    let builder = Sidecar::builder(&proxy);
    let file = builder.home().join("token");
    std::fs::write(&file, "  file-token-1\n").unwrap();
    let sc = builder
        .env_remove("SIDECACHE_TOKEN")
        .env("SIDECACHE_TOKEN_FILE", file.display().to_string())
        .client_token(Some("file-token-1"))
        .spawn()
        .await;
    assert_eq!(sc.get(&param(&name, "")).await.status, 200);

    std::fs::write(&file, "file-token-2\n").unwrap();
    let with = |token: &'static str| {
        let path = param(&name, "");
        let sc = &sc;
        async move {
            sc.get_with_headers(&path, &[(TOKEN_HEADER, token)])
                .await
                .status
        }
    };
    let switched = poll_until(Duration::from_secs(5), || async {
        (with("file-token-2").await == 200).then_some(())
    })
    .await;
    assert!(switched.is_some(), "new token file contents never accepted");
    assert_eq!(with("file-token-1").await, 403, "old token still accepted");
}

#[tokio::test]
async fn misspelt_variable_is_warned_about_with_the_closest_name() {
    let (_proxy, sc) = started_with(|b| b.env("SIDECACHE_STALE_IF_EROR", "10")).await;
    let warned = poll_until(Duration::from_secs(3), || async {
        sc.logs()
            .lines()
            .any(|l| {
                l.contains("SIDECACHE_STALE_IF_EROR") && l.contains("SIDECACHE_STALE_IF_ERROR")
            })
            .then_some(())
    })
    .await;
    assert!(
        warned.is_some(),
        "no warning naming the typo and the fix:\n{}",
        sc.logs()
    );
}
