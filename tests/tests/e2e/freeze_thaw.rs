//! Upstream connections across a freeze (SPEC lifecycle 6): a kept-alive connection that died
//! while the environment was frozen costs the next read neither an error nor a stale answer,
//! and a connection idle longer than the retirement threshold is never reused.
//!
//! The death is made by the fault proxy, which keeps the sidecar's connections alive as AWS
//! does and then kills the idle ones as a NAT or firewall does while Lambda has the process
//! frozen: the sidecar cannot know until it writes its next request there.

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use sidecache_tests::fault_proxy::Kill;
use sidecache_tests::moto;
use sidecache_tests::util::unique;
use sidecache_tests::{FaultProxy, Sidecar, TlsProxy};

use super::common::{param, started_with, value_of};

/// sidecache's `IDLE_RETIRE` (extension/src/aws/http.rs): pooled connections idle longer are
/// not reused.
const IDLE_RETIRE: Duration = Duration::from_secs(3);

/// The retry is ours (at once, on a new connection), not the SDK's backoff: we log it.
const RETRY_LOG: &str = "an upstream connection gave way";

/// Reads `name` (a miss), changes it upstream, kills the idle connection(s) with `how`, then a
/// forced refresh must come back fresh, on a new connection, after one retry.
async fn forced_refresh_survives(proxy: &FaultProxy, sc: &Sidecar, name: &str, how: Kill) {
    assert_eq!(value_of(&sc.get(&param(name, "")).await), "before");
    let opened = proxy.connections();
    assert!(opened >= 1, "the first read opened a connection");
    moto::put_parameter(name, "after", ParameterType::String).await;

    let killed = proxy.kill_idle_connections(how);
    assert!(
        killed >= 1,
        "a kept-alive connection to kill ({opened} opened)"
    );

    let forced = sc.get(&param(name, "&maxAge=0")).await;
    assert_eq!(forced.status, 200, "body: {}", forced.text());
    assert_eq!(value_of(&forced), "after");
    assert_eq!(forced.x_cache().as_deref(), Some("refresh"));
    assert_eq!(
        proxy.killed_hits(),
        1,
        "the refresh went to the dead connection first"
    );
    assert_eq!(
        proxy.connections(),
        opened + 1,
        "the retry opened a new connection"
    );
    // Answered once, on the new connection; the dead one never reached moto.
    assert_eq!(proxy.count("GetParameter"), 2, "log: {:?}", proxy.log());
    assert!(
        sc.logs().contains(RETRY_LOG),
        "the retry was sidecache's own, not the SDK's backoff:\n{}",
        sc.logs()
    );
}

async fn seeded(tag: &str) -> String {
    let name = format!("/{}/p", unique(tag));
    moto::put_parameter(&name, "before", ParameterType::String).await;
    name
}

#[tokio::test]
async fn a_connection_reset_after_a_freeze_is_retried_on_a_new_connection() {
    let name = seeded("thaw-reset").await;
    let (proxy, sc) = started_with(|b| b).await;
    forced_refresh_survives(&proxy, &sc, &name, Kill::Reset).await;
}

#[tokio::test]
async fn a_connection_closed_before_the_answer_is_retried_on_a_new_connection() {
    // hyper's IncompleteMessage: the SDK alone would not retry it (aws-sdk-rust#440).
    let name = seeded("thaw-close").await;
    let (proxy, sc) = started_with(|b| b).await;
    forced_refresh_survives(&proxy, &sc, &name, Kill::Close).await;
}

#[tokio::test]
async fn a_connection_reset_over_tls_is_retried_on_a_new_connection() {
    // The TLS proxy pipes each TLS connection to one proxy connection, so a reset there
    // reaches the sidecar through rustls.
    let name = seeded("thaw-tls").await;
    let proxy = FaultProxy::start().await;
    let tls = TlsProxy::start(&proxy.url());
    let sc = Sidecar::builder(&proxy)
        .env("AWS_ENDPOINT_URL", tls.url())
        .env("AWS_CA_BUNDLE", tls.ca_file().display().to_string())
        .spawn()
        .await;
    forced_refresh_survives(&proxy, &sc, &name, Kill::Reset).await;
}

#[tokio::test]
async fn a_connection_idle_past_the_threshold_is_not_reused() {
    let name = seeded("idle-retire").await;
    let (proxy, sc) = started_with(|b| b).await;
    assert_eq!(value_of(&sc.get(&param(&name, "")).await), "before");
    // Within the threshold the connection is reused: the control for the assertion below.
    assert_eq!(
        value_of(&sc.get(&param(&name, "&maxAge=0")).await),
        "before"
    );
    assert_eq!(proxy.connections(), 1, "a kept-alive connection is reused");

    // The passage of time is the condition under test, not a wait for something to finish.
    tokio::time::sleep(IDLE_RETIRE + Duration::from_millis(500)).await;
    let forced = sc.get(&param(&name, "&maxAge=0")).await;
    assert_eq!(forced.x_cache().as_deref(), Some("refresh"));
    assert_eq!(proxy.connections(), 2, "the idle connection was retired");
    assert_eq!(proxy.killed_hits(), 0);
    assert_eq!(proxy.count("GetParameter"), 3, "log: {:?}", proxy.log());
}
