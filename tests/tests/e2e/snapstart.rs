//! SnapStart (`AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`): restores reproduced on the real
//! binary with libfaketime (`FakeClock`), container credentials served by the fake Extensions
//! API, and what sidecache does before and after a restore.

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use sidecache_tests::sidecar::TOKEN_HEADER;
use sidecache_tests::util::{poll_until, unique};
use sidecache_tests::{moto, FakeClock, FakeLambda, Fault, FaultProxy, Sidecar, SidecarBuilder};

use super::common::{param, secret, value_of};

const WAIT: Duration = Duration::from_secs(10);

/// A SnapStart sidecar in Lambda mode under `clock`, configured further by `configure`.
pub(super) async fn snapstart(
    clock: &FakeClock,
    proxy: &FaultProxy,
    configure: impl FnOnce(SidecarBuilder, &FakeLambda) -> SidecarBuilder,
) -> (FakeLambda, Sidecar) {
    let builder = clock
        .apply(Sidecar::builder(proxy))
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start");
    let fake = FakeLambda::start(builder.port()).await;
    let sc = configure(builder, &fake).lambda(&fake).spawn().await;
    assert!(
        fake.wait_registered(WAIT).await.is_some(),
        "never registered; logs:\n{}",
        sc.logs()
    );
    (fake, sc)
}

#[tokio::test]
async fn a_restore_expires_everything_cached_before_it_and_prefetches_again() {
    let name = format!("/{}/p", unique("snap-restore"));
    moto::put_parameter(&name, "before", ParameterType::String).await;
    let id = unique("snap-restore-secret");
    moto::create_secret(&id, "prefetched").await;
    let clock = FakeClock::new("restore");
    let proxy = FaultProxy::start().await;
    let (fake, sc) = snapstart(&clock, &proxy, |b, _| {
        b.env("SSM_PARAMETER_STORE_TTL", "3600")
            .env("SIDECACHE_PREFETCH", format!("secret:{id}"))
    })
    .await;

    // INIT: the prefetch waits; nothing is fetched into the snapshot.
    let deferred = poll_until(WAIT, || async {
        sc.logs().contains("prefetch waits").then_some(())
    })
    .await;
    assert!(deferred.is_some(), "logs:\n{}", sc.logs());
    assert_eq!(proxy.total(), 0, "fetched during INIT: {:?}", proxy.log());

    // The first request is a miss and starts the prefetch.
    let first = sc.get(&param(&name, "")).await;
    assert_eq!(first.x_cache().as_deref(), Some("miss"));
    assert_eq!(value_of(&first), "before");
    let prefetched = poll_until(WAIT, || async {
        sc.logs().contains("prefetch done").then_some(())
    })
    .await;
    assert!(prefetched.is_some(), "logs:\n{}", sc.logs());
    assert_eq!(proxy.count("GetSecretValue"), 1);
    assert_eq!(
        sc.get(&secret(&id, "")).await.x_cache().as_deref(),
        Some("hit")
    );

    // Rotated upstream; before the restore the cached value is still fresh (TTL one hour).
    moto::put_parameter(&name, "after", ParameterType::String).await;
    let hit = sc.get(&param(&name, "")).await;
    assert_eq!(
        (hit.x_cache().as_deref(), value_of(&hit).as_str()),
        (Some("hit"), "before")
    );

    // Restored two days later: nothing from before is fresh, whatever its monotonic age.
    clock.restore(&sc, "+2d").await;
    let after = sc.get(&param(&name, "")).await;
    assert_eq!(
        after.x_cache().as_deref(),
        Some("refresh"),
        "logs:\n{}",
        sc.logs()
    );
    assert_eq!(value_of(&after), "after");
    assert!(
        sc.logs().contains("restore detected"),
        "logs:\n{}",
        sc.logs()
    );
    // The prefetch list is fetched again in the background.
    assert!(
        proxy.wait_count("GetSecretValue", 2, WAIT).await,
        "{:?}",
        proxy.log()
    );
    let again = poll_until(WAIT, || async {
        let r = sc.get(&secret(&id, "")).await;
        (r.x_cache().as_deref() == Some("hit")).then_some(r)
    })
    .await;
    assert!(
        again.is_some(),
        "the secret was not fresh again after the restore"
    );
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[tokio::test]
async fn after_a_restore_stale_if_error_keeps_its_bound_in_wall_time() {
    let name = format!("/{}/p", unique("snap-stale"));
    moto::put_parameter(&name, "cached", ParameterType::String).await;
    let clock = FakeClock::new("stale");
    let proxy = FaultProxy::start().await;
    // TTL 60 s, stale-if-error 3,600 s past it.
    let (_fake, sc) = snapstart(&clock, &proxy, |b, _| {
        b.env("SSM_PARAMETER_STORE_TTL", "60")
            .env("SIDECACHE_STALE_IF_ERROR", "3600")
    })
    .await;
    assert_eq!(value_of(&sc.get(&param(&name, "")).await), "cached");
    proxy.set_fault(Fault::Status500);

    // Restored 30 minutes later: expired, still within TTL + stale window.
    clock.restore(&sc, "+30m").await;
    let stale = sc.get(&param(&name, "")).await;
    assert_eq!(stale.status, 200, "{}", stale.text());
    assert_eq!(
        stale.x_cache().as_deref(),
        Some("stale"),
        "logs:\n{}",
        sc.logs()
    );
    assert!(
        stale.age().is_some_and(|age| age >= 1800),
        "{:?}",
        stale.age()
    );

    // Restored two days after the fetch: past the bound, the failure is the answer.
    clock.restore(&sc, "+2d").await;
    let failed = sc.get(&param(&name, "")).await;
    assert_eq!(failed.status, 502, "{}", failed.text());
}

#[tokio::test]
async fn a_wall_clock_stepped_back_never_lengthens_a_ttl() {
    let name = format!("/{}/p", unique("snap-step-back"));
    moto::put_parameter(&name, "v1", ParameterType::String).await;
    let clock = FakeClock::new("step-back");
    let proxy = FaultProxy::start().await;
    let (_fake, sc) = snapstart(&clock, &proxy, |b, _| {
        b.env("SSM_PARAMETER_STORE_TTL", "3")
            .env("SIDECACHE_TTL_JITTER", "0")
            .env("SIDECACHE_REFRESH_AHEAD", "0")
    })
    .await;
    assert_eq!(
        sc.get(&param(&name, "")).await.x_cache().as_deref(),
        Some("miss")
    );
    let fetched = std::time::Instant::now();
    // NTP steps the wall clock back an hour while the value is cached.
    clock.step("-1h");
    // The value still expires 3 s (monotonic) after it was fetched.
    let refreshed = poll_until(WAIT, || async {
        let r = sc.get(&param(&name, "")).await;
        (r.x_cache().as_deref() == Some("refresh")).then_some(())
    })
    .await;
    assert!(refreshed.is_some(), "still a hit long after its TTL");
    assert!(
        fetched.elapsed() < Duration::from_secs(3) + Duration::from_millis(1500),
        "served as fresh for {:?}, past its 3 s TTL",
        fetched.elapsed()
    );
}

#[tokio::test]
async fn container_credentials_and_the_tokens_a_snapstart_handler_has() {
    let name = format!("/{}/p", unique("snap-token"));
    moto::put_parameter(&name, "with-container-credentials", ParameterType::String).await;
    let clock = FakeClock::new("token");
    let proxy = FaultProxy::start().await;
    let (fake, sc) = snapstart(&clock, &proxy, |b, fake| {
        let (uri, authorization) = fake.container_credentials();
        b.env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("SIDECACHE_TOKEN")
            .env("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri)
            .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", authorization.clone())
            .client_token(Some(&authorization))
    })
    .await;
    // Nothing resolved during INIT.
    assert_eq!(fake.credential_calls(), 0);
    let (_, authorization) = fake.container_credentials();
    let with = |token: String| {
        let (sc, path) = (&sc, param(&name, ""));
        async move {
            sc.get_with_headers(&path, &[(TOKEN_HEADER, token.as_str())])
                .await
        }
    };

    // The handler's AWS_CONTAINER_AUTHORIZATION_TOKEN is accepted; the read used the
    // container credentials.
    assert_eq!(
        value_of(&with(authorization.clone()).await),
        "with-container-credentials"
    );
    assert!(
        fake.credential_calls() >= 1,
        "the SDK never asked for container credentials"
    );
    // So is the session token of the current credentials; anything else is 403.
    let session = fake.session_token();
    assert_eq!(with(session.clone()).await.status, 200);
    assert_eq!(with("not-a-token".into()).await.status, 403);
    assert_eq!(with(format!("{session}x")).await.status, 403);

    // A restore: Lambda swaps the credentials behind the same authorization token.
    let calls_before = fake.credential_calls();
    let rotated = fake.rotate_credentials();
    clock.restore(&sc, "+1d").await;
    let refreshed = with(authorization.clone()).await;
    assert_eq!(refreshed.x_cache().as_deref(), Some("refresh"));
    assert!(
        fake.credential_calls() > calls_before,
        "credentials were not resolved again after the restore"
    );
    assert_eq!(with(rotated).await.status, 200);
    assert_eq!(
        with(session).await.status,
        403,
        "the pre-restore session token still worked"
    );
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}
