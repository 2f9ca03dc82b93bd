//! `AWS_LAMBDA_RUNTIME_API` forms: `host:port` (Lambda), `http://host:port` and
//! `http://host:port/prefix` (local emulators; cargo-lambda hands out `http://127.0.0.1:9000/.rt`).
//! Every Extensions API call must go under the prefix: the prefixed fake answers 404 and records
//! a violation for a call outside it.

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use sidecache_tests::util::unique;
use sidecache_tests::{moto, FakeLambda, FaultProxy, Sidecar};

use super::common::{param, value_of};

const PREFIX: &str = "/.rt";

/// Registers through `form(fake)`, serves a value, and exits 0 on SHUTDOWN without a protocol
/// violation (so register, event/next and the SHUTDOWN all went where the fake serves them).
async fn assert_form_works(prefix: &str, form: impl Fn(&FakeLambda) -> String) {
    let name = format!("/{}/p", unique("rt-form"));
    moto::put_parameter(&name, "rt-value", ParameterType::String).await;
    let proxy = FaultProxy::start().await;
    let builder = Sidecar::builder(&proxy);
    let fake = FakeLambda::start_with_prefix(builder.port(), prefix).await;
    let api = form(&fake);
    let mut sc = builder
        .env("AWS_LAMBDA_RUNTIME_API", api.clone())
        .spawn()
        .await;
    let registered = fake.wait_registered(Duration::from_secs(5)).await;
    assert!(
        registered.is_some(),
        "never registered with {api}; violations {:?}; logs:\n{}",
        fake.violations(),
        sc.logs()
    );
    assert_eq!(value_of(&sc.get(&param(&name, "")).await), "rt-value");
    let deadline = fake.shutdown();
    let status = sc
        .wait_exit(deadline)
        .await
        .unwrap_or_else(|| panic!("still running at the deadline ({api}):\n{}", sc.logs()));
    assert!(status.success(), "{status} ({api}); logs:\n{}", sc.logs());
    assert!(fake.next_calls() >= 1, "never asked for an event ({api})");
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    assert!(fake.exit_errors().is_empty(), "{:?}", fake.exit_errors());
}

#[tokio::test]
async fn host_and_port_as_lambda_sets_it() {
    assert_form_works("", FakeLambda::runtime_api).await;
}

#[tokio::test]
async fn with_an_http_scheme() {
    assert_form_works("", FakeLambda::runtime_api_url).await;
}

#[tokio::test]
async fn with_an_http_scheme_and_a_path_prefix() {
    assert_form_works(PREFIX, |fake| {
        let url = fake.runtime_api_url();
        assert!(url.ends_with(PREFIX), "{url}");
        url
    })
    .await;
}

/// The fake's own check: calls that ignore the prefix are refused, so the test above can fail.
#[tokio::test]
async fn calls_outside_the_prefix_are_refused() {
    let proxy = FaultProxy::start().await;
    let builder = Sidecar::builder(&proxy);
    let fake = FakeLambda::start_with_prefix(builder.port(), PREFIX).await;
    let api = fake.runtime_api();
    let (status, logs) = builder
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .spawn_expect_exit()
        .await;
    assert!(
        !status.success(),
        "registration cannot succeed; logs:\n{logs}"
    );
    assert!(fake.registrations().is_empty());
    assert!(
        fake.violations()
            .iter()
            .any(|v| v.contains("POST /2020-01-01/extension/register")),
        "{:?}",
        fake.violations()
    );
}

/// A bad configuration is reported through `init/error` under the prefix too.
#[tokio::test]
async fn init_error_goes_under_the_prefix() {
    let proxy = FaultProxy::start().await;
    let builder = Sidecar::builder(&proxy).env("SSM_PARAMETER_STORE_TTL", "-5");
    let fake = FakeLambda::start_with_prefix(builder.port(), PREFIX).await;
    let (status, logs) = builder
        .env("AWS_LAMBDA_RUNTIME_API", fake.runtime_api_url())
        .spawn_expect_exit()
        .await;
    assert!(!status.success(), "logs:\n{logs}");
    assert_eq!(fake.registrations().len(), 1, "logs:\n{logs}");
    let reports = fake.init_errors();
    assert_eq!(reports.len(), 1, "{reports:?}; logs:\n{logs}");
    assert!(
        reports[0].body.contains("SSM_PARAMETER_STORE_TTL"),
        "{reports:?}"
    );
    // Nothing could be bound, so the bind-before-register check fails by design; any other
    // violation (a call outside the prefix) is a failure.
    let others: Vec<_> = fake
        .violations()
        .into_iter()
        .filter(|v| !v.contains("before listening"))
        .collect();
    assert!(others.is_empty(), "{others:?}");
}
