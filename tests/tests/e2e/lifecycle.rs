//! Process lifecycle: Lambda mode against the fake Extensions API (bind before register, serve
//! during INIT, INVOKE, SHUTDOWN within the deadline) and standalone signals.

use std::time::{Duration, Instant};

use aws_sdk_ssm::types::ParameterType;
use sidecache_tests::sidecar::binary;
use sidecache_tests::util::{poll_until, unique};
use sidecache_tests::{moto, FakeLambda, Fault, FaultProxy, Sidecar};

use super::common::{param, started, value_of};

/// A seeded parameter, a proxy, the fake Lambda API and a sidecar registered with it.
async fn in_lambda(tag: &str) -> (String, FaultProxy, FakeLambda, Sidecar) {
    let name = format!("/{}/p", unique(tag));
    moto::put_parameter(&name, "lambda-value", ParameterType::String).await;
    let proxy = FaultProxy::start().await;
    let builder = Sidecar::builder(&proxy);
    let fake = FakeLambda::start(builder.port()).await;
    let sc = builder.lambda(&fake).spawn().await;
    let registration = fake
        .wait_registered(Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("never registered; logs:\n{}", sc.logs()));
    let expected_name = binary().file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(registration.name, expected_name, "Lambda-Extension-Name");
    assert!(
        registration.events.iter().any(|e| e == "SHUTDOWN"),
        "must subscribe to SHUTDOWN: {:?}",
        registration.events
    );
    (name, proxy, fake, sc)
}

#[tokio::test]
async fn serves_during_init_after_binding_first() {
    let (name, _proxy, fake, sc) = in_lambda("life-init").await;
    // No event has been queued: the function is still in its INIT phase.
    assert_eq!(value_of(&sc.get(&param(&name, "")).await), "lambda-value");
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    assert!(fake.init_errors().is_empty(), "{:?}", fake.init_errors());
}

/// Sends SHUTDOWN with `reason` and asserts a clean, timely exit that honours the protocol.
async fn assert_clean_shutdown(reason: &str) {
    let (name, _proxy, fake, mut sc) = in_lambda("life-shutdown").await;
    assert_eq!(value_of(&sc.get(&param(&name, "")).await), "lambda-value");
    let deadline = fake.shutdown_with_reason(reason);
    let status = sc.wait_exit(deadline).await.unwrap_or_else(|| {
        panic!(
            "still running at the SHUTDOWN deadline (reason {reason}); logs:\n{}",
            sc.logs()
        )
    });
    assert!(
        status.success(),
        "exit status {status}; logs:\n{}",
        sc.logs()
    );
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    assert!(fake.exit_errors().is_empty(), "{:?}", fake.exit_errors());
}

#[tokio::test]
async fn shutdown_exits_before_the_deadline() {
    assert_clean_shutdown("spindown").await;
}

#[tokio::test]
async fn shutdown_reason_is_case_insensitive() {
    assert_clean_shutdown("TIMEOUT").await;
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests() {
    let (name, proxy, fake, mut sc) = in_lambda("life-drain").await;
    proxy.set_fault(Fault::Latency(Duration::from_millis(700)));
    let path = param(&name, "");
    let trigger = async {
        // Wait until the request is really in flight upstream, then shut down.
        assert!(
            proxy
                .wait_count("GetParameter", 1, Duration::from_secs(5))
                .await
        );
        fake.shutdown()
    };
    let (resp, deadline) = tokio::join!(sc.get(&path), trigger);
    assert_eq!(value_of(&resp), "lambda-value", "in-flight request was cut");
    let status = sc.wait_exit(deadline).await;
    assert!(
        status.is_some(),
        "not exited by the deadline; logs:\n{}",
        sc.logs()
    );
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[tokio::test]
async fn invoke_events_do_not_disturb_serving() {
    let (name, _proxy, fake, sc) = in_lambda("life-invoke").await;
    let subscribed = fake.subscribed().iter().any(|e| e == "INVOKE");
    for round in 0..3 {
        let calls_before = fake.next_calls();
        assert_eq!(
            fake.invoke(),
            subscribed,
            "fake delivers INVOKE iff subscribed"
        );
        if subscribed {
            // Consumed means the extension called /next again after the one that received the
            // INVOKE (if it had not polled at all yet, that first poll receives the INVOKE).
            let waiting_again = calls_before.max(1);
            let consumed = poll_until(Duration::from_secs(5), || async {
                (fake.next_calls() > waiting_again).then_some(())
            })
            .await;
            assert!(consumed.is_some(), "round {round}: INVOKE not consumed");
        }
        assert_eq!(value_of(&sc.get(&param(&name, "")).await), "lambda-value");
    }
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

async fn assert_standalone_signal_exits_zero(signal: i32) {
    let (_proxy, mut sc) = started().await;
    sc.signal(signal);
    let status = sc
        .wait_exit(Instant::now() + Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("still running 5 s after signal {signal}:\n{}", sc.logs()));
    assert_eq!(status.code(), Some(0), "{status}; logs:\n{}", sc.logs());
}

#[tokio::test]
async fn standalone_sigterm_exits_zero() {
    assert_standalone_signal_exits_zero(libc::SIGTERM).await;
}

#[tokio::test]
async fn standalone_sigint_exits_zero() {
    assert_standalone_signal_exits_zero(libc::SIGINT).await;
}
