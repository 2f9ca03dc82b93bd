//! EMF metrics (`SIDECACHE_METRICS`): opt-in everywhere, Lambda included, because CloudWatch
//! bills each custom metric per function; with `emf` one line of counts at shutdown. The Lambda
//! cases run the real binary under the fake Extensions API and end it with a SHUTDOWN event.

use aws_sdk_ssm::types::ParameterType;
use sidecache_tests::util::unique;
use sidecache_tests::{moto, Fault, FaultProxy, Sidecar, SidecarBuilder};

use super::common::{param, started_with, value_of};

/// The EMF lines among everything the process wrote.
fn emf_lines(logs: &str) -> Vec<serde_json::Value> {
    logs.lines()
        .filter(|l| l.contains("\"_aws\""))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[tokio::test]
async fn emf_metrics_are_written_at_shutdown_with_the_counts() {
    let name = format!("/{}/p", unique("emf"));
    let value = unique("emf-plaintext");
    moto::put_parameter(&name, &value, ParameterType::String).await;
    let missing = format!("/{}/missing", unique("emf"));
    let (proxy, mut sc) = started_with(|b| {
        b.env("SIDECACHE_METRICS", "emf")
            .env("SIDECACHE_METRICS_NAMESPACE", "e2e-ns")
    })
    .await;
    for _ in 0..3 {
        assert_eq!(value_of(&sc.get(&param(&name, "")).await), value);
    }
    assert_eq!(sc.get(&param(&missing, "")).await.status, 404);
    proxy.set_fault(Fault::Throttle);
    assert_eq!(
        sc.get(&param(&name, "&maxAge=0")).await.status,
        200,
        "stale"
    );
    assert!(emf_lines(&sc.logs()).is_empty(), "nothing before a minute");

    let (status, logs) = sc.stop().await;
    assert!(status.is_some_and(|s| s.success()), "{logs}");
    let lines = emf_lines(&logs);
    assert_eq!(lines.len(), 1, "{logs}");
    let line = &lines[0];
    let directive = &line["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "e2e-ns");
    let names: Vec<&str> = directive["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Hits",
            "Misses",
            "Stale",
            "UpstreamCalls",
            "UpstreamErrors",
            "Throttles"
        ]
    );
    assert!(line["_aws"]["Timestamp"].as_u64().is_some(), "{line}");
    // 2 hits; misses: the first read, the missing one, the forced refresh (served stale).
    for (metric, count) in [
        ("Hits", 2),
        ("Misses", 3),
        ("Stale", 1),
        ("UpstreamCalls", 3),
        ("UpstreamErrors", 2),
        ("Throttles", 1),
    ] {
        assert_eq!(line[metric], count, "{metric} in {line}");
    }
    sidecache_tests::check::assert_absent(&line.to_string(), &value, "EMF line");
    sidecache_tests::check::assert_absent(&line.to_string(), &name, "EMF line");
}

/// Runs the sidecar inside the fake Lambda as function `orders` (with `configure` applied),
/// reads `name` twice, sends SHUTDOWN and returns everything it wrote once it has exited.
/// Asserts the exit was the orderly one, so an absent EMF line means "not written", not "not
/// reached".
async fn lambda_run_until_shutdown(
    name: &str,
    configure: impl FnOnce(SidecarBuilder) -> SidecarBuilder,
) -> (FaultProxy, String) {
    let proxy = FaultProxy::start().await;
    let builder = configure(Sidecar::builder(&proxy).env("AWS_LAMBDA_FUNCTION_NAME", "orders"));
    let fake = sidecache_tests::FakeLambda::start(builder.port()).await;
    let mut sc = builder.lambda(&fake).spawn().await;
    sc.get(&param(name, "")).await.ok_json();
    sc.get(&param(name, "")).await.ok_json();
    let deadline = fake.shutdown();
    let status = sc.wait_exit(deadline).await;
    assert!(status.is_some_and(|s| s.success()), "{}", sc.logs());
    // Exited: `stop` only drains the output pipes.
    let (_, logs) = sc.stop().await;
    // The EMF flush comes after this line, just before the exit.
    assert!(logs.contains("stopped"), "{logs}");
    (proxy, logs)
}

#[tokio::test]
async fn metrics_are_off_by_default_outside_lambda() {
    let name = format!("/{}/p", unique("emf-off"));
    moto::put_parameter(&name, "v", ParameterType::String).await;
    let (_proxy, mut sc) = started_with(|b| b).await;
    sc.get(&param(&name, "")).await.ok_json();
    let (status, logs) = sc.stop().await;
    assert!(status.is_some_and(|s| s.success()), "{logs}");
    assert!(logs.contains("stopped"), "{logs}");
    assert!(emf_lines(&logs).is_empty(), "{logs}");
}

#[tokio::test]
async fn inside_lambda_no_emf_line_is_written_at_shutdown_by_default() {
    let name = format!("/{}/p", unique("emf-lambda-off"));
    moto::put_parameter(&name, "v", ParameterType::String).await;
    let (_proxy, logs) = lambda_run_until_shutdown(&name, |b| b).await;
    assert!(emf_lines(&logs).is_empty(), "{logs}");
}

#[tokio::test]
async fn inside_lambda_emf_is_one_variable_away_and_flushed_at_shutdown() {
    let name = format!("/{}/p", unique("emf-lambda"));
    moto::put_parameter(&name, "v", ParameterType::String).await;
    let (proxy, logs) =
        lambda_run_until_shutdown(&name, |b| b.env("SIDECACHE_METRICS", "emf")).await;
    let lines = emf_lines(&logs);
    assert_eq!(lines.len(), 1, "{logs}");
    let line = &lines[0];
    assert_eq!(
        line["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "sidecache"
    );
    assert_eq!(
        line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        serde_json::json!([["FunctionName"]])
    );
    assert_eq!(line["FunctionName"], "orders");
    assert_eq!(
        (line["Hits"].as_u64(), line["Misses"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(line["UpstreamCalls"], proxy.count("GetParameter"));
}
