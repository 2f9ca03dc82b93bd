//! Shutdown with an upstream slower than the deadline: misses still waiting on it are answered
//! with a JSON 503 `ShuttingDown` (not a reset, not left hanging) and the process exits 0 before
//! the deadline: the SHUTDOWN event's `deadlineMs` in Lambda, the documented 2 s after SIGTERM
//! standalone. Exiting before the deadline is a correctness bound, not a speed figure.

use std::time::{Duration, Instant};

use aws_sdk_ssm::types::ParameterType;
use sidecache_tests::check::assert_api_error;
use sidecache_tests::util::{enc, unique};
use sidecache_tests::{moto, FakeLambda, Fault, FaultProxy, Resp, Sidecar};

use super::common::{param, started};

/// Far longer than any deadline here: the upstream never answers in time.
const HANGING: Duration = Duration::from_secs(30);
/// What docs/api.md promises after SIGTERM/SIGINT outside Lambda.
const STANDALONE_BOUND: Duration = Duration::from_secs(2);

async fn seeded(tag: &str) -> String {
    let name = format!("/{}/p", unique(tag));
    moto::put_parameter(&name, "slow-value", ParameterType::String).await;
    name
}

fn assert_shutting_down(resp: &Resp, what: &str) {
    let body = assert_api_error(resp, 503, Some("ShuttingDown"));
    assert!(
        body["message"].as_str().unwrap().contains("shutting down"),
        "{what}: {body}"
    );
}

#[tokio::test]
async fn lambda_shutdown_answers_hanging_misses_and_exits_before_the_deadline() {
    let name = seeded("deadline-lambda").await;
    let proxy = FaultProxy::start().await;
    let builder = Sidecar::builder(&proxy);
    let fake = FakeLambda::start(builder.port()).await;
    let mut sc = builder.lambda(&fake).spawn().await;
    assert!(fake.wait_registered(Duration::from_secs(5)).await.is_some());
    proxy.set_fault(Fault::Latency(HANGING));
    let path = param(&name, "");
    let trigger = async {
        // Shut down only once the miss really waits upstream.
        assert!(
            proxy
                .wait_count("GetParameter", 1, Duration::from_secs(5))
                .await
        );
        fake.shutdown_within("spindown", Duration::from_millis(1500))
    };
    let (resp, deadline) = tokio::join!(sc.get(&path), trigger);
    assert_shutting_down(&resp, "in-flight miss at SHUTDOWN");
    let status = sc.wait_exit(deadline).await.unwrap_or_else(|| {
        panic!(
            "still running at the SHUTDOWN deadline; logs:\n{}",
            sc.logs()
        )
    });
    assert!(status.success(), "{status}; logs:\n{}", sc.logs());
    assert_eq!(proxy.count("GetParameter"), 1, "no new call after the cut");
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    assert!(fake.exit_errors().is_empty(), "{:?}", fake.exit_errors());
}

#[tokio::test]
async fn standalone_sigterm_answers_hanging_misses_within_its_bound() {
    let name = seeded("deadline-standalone").await;
    let (proxy, mut sc) = started().await;
    proxy.set_fault(Fault::Latency(HANGING));
    let single = param(&name, "");
    let many = format!(
        "/systemsmanager/parameters/get-many?names={}",
        enc(&format!("{name}-other"))
    );
    let trigger = async {
        assert!(
            proxy
                .wait_count("GetParameter", 1, Duration::from_secs(5))
                .await
                && proxy
                    .wait_count("GetParameters", 1, Duration::from_secs(5))
                    .await
        );
        sc.signal(libc::SIGTERM);
        Instant::now() + STANDALONE_BOUND
    };
    let (one, batch, deadline) = tokio::join!(sc.get(&single), sc.get(&many), trigger);
    assert_shutting_down(&one, "get in flight at SIGTERM");
    assert_shutting_down(&batch, "get-many in flight at SIGTERM");
    let status = sc.wait_exit(deadline).await.unwrap_or_else(|| {
        panic!(
            "still running {STANDALONE_BOUND:?} after SIGTERM; logs:\n{}",
            sc.logs()
        )
    });
    assert_eq!(status.code(), Some(0), "{status}; logs:\n{}", sc.logs());
}
