//! AppConfig (SPEC "AppConfig: one cache for all configuration"; docs/appconfig.md): the
//! AppConfig Agent's route on its own port and on the main one, feature flags, Cloud Extensions'
//! `POST /appconfig/`, and the session rules, against the fake AppConfig Data
//! (`sidecache_tests::fake_appconfig`, checked against boto3 in `appconfig_fake`).

use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use sidecache_tests::fake_appconfig::{Failure, Operation};
use sidecache_tests::sidecar::TOKEN_HEADER;
use sidecache_tests::util::{enc, free_port, poll_until, unique};
use sidecache_tests::{FakeAppConfig, FakeClock, FaultProxy, Sidecar, SidecarBuilder};

use super::snapstart::snapstart;

const FLAGS: &str =
    r#"{"ui_refresh":{"enabled":true,"colors":3,"theme":"dark"},"shutoff":{"enabled":false}}"#;
const WAIT: Duration = Duration::from_secs(10);

/// A sidecar reading AppConfig from `fake`, its agent port free and known.
struct Stack {
    fake: FakeAppConfig,
    sc: Sidecar,
    agent: u16,
    _proxy: FaultProxy,
}

fn with_fake(fake: &FakeAppConfig, agent: u16, b: SidecarBuilder) -> SidecarBuilder {
    let (name, url) = fake.endpoint_env();
    b.env(name, url)
        .env("AWS_APPCONFIG_EXTENSION_HTTP_PORT", agent.to_string())
}

async fn stack(configure: impl FnOnce(SidecarBuilder) -> SidecarBuilder) -> Stack {
    let fake = FakeAppConfig::start().await;
    // AppConfig's own interval (60 s by default) is a floor too: 1 s lets the tests move on.
    fake.set_next_poll_interval(Some(1));
    let proxy = FaultProxy::start().await;
    let agent = free_port();
    let sc = configure(with_fake(&fake, agent, Sidecar::builder(&proxy)))
        .spawn()
        .await;
    Stack {
        fake,
        sc,
        agent,
        _proxy: proxy,
    }
}

fn path(app: &str, env: &str, profile: &str) -> String {
    format!(
        "/applications/{}/environments/{}/configurations/{}",
        enc(app),
        enc(env),
        enc(profile)
    )
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// A GET on the agent's port: no token, as the agent is called.
async fn agent_get(port: u16, path_and_query: &str) -> Answer {
    let response = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}{path_and_query}"))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path_and_query} on the agent port: {e}"));
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

#[tokio::test]
async fn the_agents_route_on_its_port_and_on_the_main_one() {
    let s = stack(|b| b).await;
    let (app, env, profile) = (unique("app"), "prod", "settings");
    s.fake.deploy(
        &app,
        env,
        profile,
        r#"{"limit":5}"#,
        "application/json",
        Some("v1.0"),
    );

    let first = agent_get(s.agent, &path(&app, env, profile)).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body, r#"{"limit":5}"#);
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert_eq!(first.header("version-label"), Some("v1.0"));
    assert_eq!(first.header("configurationversion"), Some("1"));
    assert_eq!(first.header("configuration-version"), Some("1"));
    assert_eq!(first.header("x-cache"), Some("miss"));

    let again = agent_get(s.agent, &path(&app, env, profile)).await;
    assert_eq!((again.status, again.header("x-cache")), (200, Some("hit")));
    // The main port serves the same profile, with the token.
    let main = s.sc.get(&path(&app, env, profile)).await;
    assert_eq!(main.status, 200);
    assert_eq!(main.x_cache().as_deref(), Some("hit"));
    assert_eq!(String::from_utf8_lossy(&main.body), r#"{"limit":5}"#);
    assert_eq!(
        s.sc.get_without_token(&path(&app, env, profile))
            .await
            .status,
        403
    );
    assert_eq!(s.fake.polls(), 1, "one poll served every read");
    // The agent's port serves nothing else.
    assert_eq!(
        agent_get(s.agent, "/systemsmanager/parameters/get?name=x")
            .await
            .status,
        404
    );
    assert_eq!(agent_get(s.agent, "/ping").await.status, 200);
    // Ids work as names do.
    let ids = s.fake.ids(&app, env, profile).unwrap();
    let by_ids = agent_get(
        s.agent,
        &path(&ids.application, &ids.environment, &ids.profile),
    )
    .await;
    assert_eq!(
        (by_ids.status, by_ids.body.as_str()),
        (200, r#"{"limit":5}"#)
    );
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

#[tokio::test]
async fn feature_flags_by_name_one_or_several() {
    let s = stack(|b| b).await;
    let app = unique("flags");
    s.fake
        .deploy(&app, "prod", "flags", FLAGS, "application/json", None);
    s.fake.deploy(
        &app,
        "prod",
        "plain",
        r#"{"limit":5}"#,
        "application/json",
        None,
    );
    s.fake.deploy(
        &app,
        "prod",
        "variants",
        "{ui_refresh:(\"x\")}",
        "application/ion; type=AWS.AppConfig.FeatureFlags",
        None,
    );
    let one = agent_get(
        s.agent,
        &format!("{}?flag=shutoff", path(&app, "prod", "flags")),
    )
    .await;
    assert_eq!((one.status, one.json()), (200, json!({"enabled": false})));
    assert_eq!(one.header("content-type"), Some("application/json"));
    let two = agent_get(
        s.agent,
        &format!(
            "{}?flag=ui_refresh&flag=shutoff",
            path(&app, "prod", "flags")
        ),
    )
    .await;
    assert_eq!(two.json()["ui_refresh"]["colors"], 3);
    assert_eq!(two.json()["shutoff"]["enabled"], false);
    let unknown = agent_get(
        s.agent,
        &format!("{}?flag=nope", path(&app, "prod", "flags")),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body.contains("nope"), "{}", unknown.body);
    let not_flags = agent_get(
        s.agent,
        &format!("{}?flag=limit", path(&app, "prod", "plain")),
    )
    .await;
    assert_eq!(not_flags.status, 400, "{}", not_flags.body);
    let ion = agent_get(
        s.agent,
        &format!("{}?flag=ui_refresh", path(&app, "prod", "variants")),
    )
    .await;
    assert_eq!(ion.status, 501, "{}", ion.body);
    assert!(ion.body.contains("ui_refresh"), "{}", ion.body);
    let whole = agent_get(s.agent, &path(&app, "prod", "variants")).await;
    assert_eq!(
        (whole.status, whole.body.as_str()),
        (200, "{ui_refresh:(\"x\")}")
    );
}

#[tokio::test]
async fn bad_paths_unknown_profiles_and_their_error_forms() {
    let s = stack(|b| b).await;
    let unknown = agent_get(s.agent, &path(&unique("nowhere"), "prod", "x")).await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert_eq!(
        unknown.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let malformed = agent_get(s.agent, "/applications/a/environments/b").await;
    assert_eq!(malformed.status, 400);
    let bad_query = agent_get(s.agent, &format!("{}?maxAge=3", path("a", "b", "c"))).await;
    assert_eq!(bad_query.status, 400);
    // On the main port, errors are the JSON of the rest of that API.
    let main = s.sc.get(&path(&unique("nowhere"), "prod", "x")).await;
    assert_eq!(main.status, 404);
    let error: Value = serde_json::from_slice(&main.body).unwrap();
    assert_eq!(error["__type"], "ResourceNotFoundException");
}

#[tokio::test]
async fn a_new_deployment_is_seen_after_the_poll_interval_and_only_then() {
    let s = stack(|b| b.env("AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS", "1s")).await;
    let app = unique("poll");
    let at = path(&app, "prod", "p");
    s.fake.deploy(&app, "prod", "p", "one", "text/plain", None);
    assert_eq!(agent_get(s.agent, &at).await.body, "one");
    s.fake.deploy(&app, "prod", "p", "two", "text/plain", None);
    let soon = agent_get(s.agent, &at).await;
    assert_eq!(
        (soon.body.as_str(), soon.header("x-cache")),
        ("one", Some("hit"))
    );
    let fresh = poll_until(WAIT, || async {
        let a = agent_get(s.agent, &at).await;
        (a.body == "two").then_some(a)
    })
    .await
    .expect("the new deployment within the interval");
    assert_eq!(fresh.header("configurationversion"), Some("2"));
    // Polls that find nothing new (empty bodies) keep the version.
    let polls = s.fake.polls();
    let later = poll_until(WAIT, || async {
        let a = agent_get(s.agent, &at).await;
        (s.fake.polls() > polls).then_some(a)
    })
    .await
    .expect("another poll after the interval");
    assert_eq!(
        (later.body.as_str(), later.header("configurationversion")),
        ("two", Some("2"))
    );
    // Under 15 s, no minimum is asked of AppConfig (it refuses one).
    assert_eq!(s.fake.last_required_minimum_poll_interval(), Some(None));
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

#[tokio::test]
async fn an_empty_configuration_is_a_200_with_an_empty_body() {
    // A profile deployed from an empty object: the session's first poll answers no bytes,
    // which there is the configuration, not "unchanged".
    let s = stack(|b| b).await;
    let app = unique("empty");
    s.fake.deploy(&app, "prod", "zero", "", "text/plain", None);
    for expected in ["miss", "hit"] {
        let a = agent_get(s.agent, &path(&app, "prod", "zero")).await;
        assert_eq!(
            (a.status, a.body.as_str(), a.header("x-cache")),
            (200, "", Some(expected))
        );
    }
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

#[tokio::test]
async fn an_expired_token_starts_a_new_session_the_reader_never_sees() {
    let s = stack(|b| b.env("AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS", "1")).await;
    let app = unique("expiry");
    let at = path(&app, "prod", "p");
    s.fake
        .deploy(&app, "prod", "p", "before", "text/plain", None);
    assert_eq!(agent_get(s.agent, &at).await.status, 200);
    assert_eq!(s.fake.sessions_started(), 1);
    s.fake.expire_tokens();
    s.fake
        .deploy(&app, "prod", "p", "after", "text/plain", None);
    let answer = poll_until(WAIT, || async {
        let a = agent_get(s.agent, &at).await;
        assert_eq!(a.status, 200, "the reader saw: {}", a.body);
        (a.body == "after").then_some(a)
    })
    .await
    .expect("the new session's configuration");
    assert_eq!(answer.status, 200);
    assert_eq!(s.fake.sessions_started(), 2, "one new session");
}

#[tokio::test]
async fn a_slow_poll_serves_the_last_configuration_and_completes_in_the_background() {
    let s = stack(|b| {
        b.env("AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS", "1")
            .env("AWS_APPCONFIG_EXTENSION_POLL_TIMEOUT_MILLIS", "300ms")
    })
    .await;
    let app = unique("slow");
    let at = path(&app, "prod", "p");
    s.fake.deploy(&app, "prod", "p", "one", "text/plain", None);
    assert_eq!(agent_get(s.agent, &at).await.body, "one");
    s.fake.deploy(&app, "prod", "p", "two", "text/plain", None);
    s.fake.set_latency(Duration::from_secs(2));
    // Past the interval: the poll takes 2 s, the read waits 300 ms and gets the last one.
    let stale = poll_until(WAIT, || async {
        let started = Instant::now();
        let a = agent_get(s.agent, &at).await;
        (a.header("x-cache") == Some("stale")).then_some((a, started.elapsed()))
    })
    .await
    .expect("a read past the interval");
    assert_eq!(stale.0.body, "one");
    assert!(
        stale.1 < Duration::from_millis(1500),
        "waited {:?}",
        stale.1
    );
    // The poll finishes on its own; the next reads get what it brought.
    poll_until(WAIT, || async {
        (agent_get(s.agent, &at).await.body == "two").then_some(())
    })
    .await
    .expect("the background poll's configuration");
}

#[tokio::test]
async fn a_first_read_waits_for_the_poll_timeout_then_504_and_the_fetch_goes_on() {
    let s = stack(|b| b.env("AWS_APPCONFIG_EXTENSION_POLL_TIMEOUT_MILLIS", "300")).await;
    let app = unique("first");
    let at = path(&app, "prod", "p");
    s.fake.deploy(&app, "prod", "p", "late", "text/plain", None);
    s.fake.set_latency(Duration::from_millis(1500));
    let started = Instant::now();
    let first = agent_get(s.agent, &at).await;
    assert_eq!(first.status, 504, "{}", first.body);
    assert!(started.elapsed() < Duration::from_millis(1200));
    s.fake.set_latency(Duration::ZERO);
    poll_until(WAIT, || async {
        (agent_get(s.agent, &at).await.status == 200).then_some(())
    })
    .await
    .expect("the fetch went on");
    assert_eq!(
        s.fake.sessions_started(),
        1,
        "the first fetch was not started again"
    );
}

#[tokio::test]
async fn concurrent_first_reads_make_one_session_and_one_poll() {
    let s = stack(|b| b).await;
    let app = unique("crowd");
    let at = path(&app, "prod", "p");
    s.fake
        .deploy(&app, "prod", "p", "shared", "text/plain", None);
    s.fake.set_latency(Duration::from_millis(200));
    let reads = (0..20).map(|_| agent_get(s.agent, &at));
    for answer in futures::future::join_all(reads).await {
        assert_eq!((answer.status, answer.body.as_str()), (200, "shared"));
    }
    assert_eq!((s.fake.sessions_started(), s.fake.polls()), (1, 1));
}

#[tokio::test]
async fn upstream_failures_serve_the_last_configuration_or_502() {
    let s = stack(|b| b.env("AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS", "1")).await;
    let app = unique("fail");
    let at = path(&app, "prod", "p");
    s.fake
        .fail_next_of(Operation::StartConfigurationSession, 10, Failure::Internal);
    let none = agent_get(s.agent, &at).await;
    assert_eq!(none.status, 502, "{}", none.body);
    s.fake.fail_next(0, Failure::Internal);
    s.fake.deploy(&app, "prod", "p", "good", "text/plain", None);
    poll_until(WAIT, || async {
        (agent_get(s.agent, &at).await.status == 200).then_some(())
    })
    .await
    .expect("served once AppConfig answers");
    s.fake.fail_next(10, Failure::Throttle);
    let stale = poll_until(WAIT, || async {
        let a = agent_get(s.agent, &at).await;
        (a.header("x-cache") == Some("stale")).then_some(a)
    })
    .await
    .expect("the last configuration while AppConfig fails");
    assert_eq!((stale.status, stale.body.as_str()), (200, "good"));
}

#[tokio::test]
async fn after_a_snapstart_restore_every_profile_starts_a_new_session() {
    let fake = FakeAppConfig::start().await;
    let app = unique("snap");
    fake.deploy(&app, "prod", "p", "cfg", "text/plain", None);
    let clock = FakeClock::new("appconfig");
    let proxy = FaultProxy::start().await;
    let agent = free_port();
    let (_lambda, sc) = snapstart(&clock, &proxy, |b, _| with_fake(&fake, agent, b)).await;
    let at = path(&app, "prod", "p");
    assert_eq!(agent_get(agent, &at).await.body, "cfg");
    assert_eq!(fake.sessions_started(), 1);
    clock.restore(&sc, "+1d").await;
    let after = agent_get(agent, &at).await;
    assert_eq!(after.body, "cfg");
    assert_ne!(
        after.header("x-cache"),
        Some("hit"),
        "fresh after a restore"
    );
    assert_eq!(
        fake.sessions_started(),
        2,
        "a token from before the snapshot is never spent"
    );
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[tokio::test]
async fn a_taken_agent_port_is_logged_never_fatal() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let fake = FakeAppConfig::start().await;
    let proxy = FaultProxy::start().await;
    let sc = with_fake(&fake, port, Sidecar::builder(&proxy))
        .spawn()
        .await;
    let app = unique("taken");
    fake.deploy(&app, "prod", "p", "still", "text/plain", None);
    let main = sc.get(&path(&app, "prod", "p")).await;
    assert_eq!(String::from_utf8_lossy(&main.body), "still");
    assert!(
        sc.logs().contains("the AppConfig Agent's port"),
        "{}",
        sc.logs()
    );
}

#[tokio::test]
async fn cloud_extensions_get_configuration_and_get_flag() {
    let ce = free_port();
    let s = stack(|b| b.env("SIDECACHE_CLOUD_EXTENSIONS_PORT", ce.to_string())).await;
    let app = unique("ce");
    s.fake.deploy(
        &app,
        "prod",
        "flags",
        FLAGS,
        "application/json",
        Some("launch"),
    );
    let post = |port: u16, target: &'static str, body: Value, token: Option<String>| async move {
        let mut request = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/appconfig/"))
            .header("x-amz-target", target)
            .header("content-type", "application/x-amz-json-1.1")
            .body(body.to_string());
        if let Some(token) = token {
            request = request.header(TOKEN_HEADER, token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("x-amzn-errortype")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, kind, response.json::<Value>().await.unwrap())
    };
    let input = json!({"application": app, "environment": "prod", "configuration": "flags"});
    let (status, _, config) = post(ce, "AppConfig.GetConfiguration", input.clone(), None).await;
    assert_eq!(status, 200, "{config}");
    let content = base64::engine::general_purpose::STANDARD
        .decode(config["content"].as_str().unwrap())
        .unwrap();
    assert_eq!(content, FLAGS.as_bytes());
    assert_eq!(config["contentType"], "application/json");
    assert_eq!(config["versionLabel"], "launch");
    assert_eq!(config["revision"], "1");

    let mut flag = input.clone();
    flag["flag"] = json!("ui_refresh");
    let (status, _, answer) = post(ce, "AppConfig.GetFlag", flag.clone(), None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({"enabled": true, "attributes": {"colors": {"number": 3}, "theme": {"string": "dark"}}})
    );
    flag["flag"] = json!("nope");
    let (status, kind, error) = post(ce, "AppConfig.GetFlag", flag, None).await;
    assert_eq!(
        (status, kind.as_deref()),
        (400, Some("ValidationException"))
    );
    assert_eq!(
        error["errors"][0]["semanticError"]["problem"],
        "FLAG_NOT_FOUND"
    );
    let mut missing = input.clone();
    missing["configuration"] = json!("absent");
    let (_, _, error) = post(ce, "AppConfig.GetConfiguration", missing, None).await;
    assert_eq!(
        error["errors"][0]["semanticError"]["problem"],
        "RESOURCE_NOT_FOUND"
    );
    let (status, _, error) = post(ce, "AppConfig.Delete", input.clone(), None).await;
    assert_eq!(
        (status, error["reason"].as_str()),
        (400, Some("UNKNOWN_OPERATION"))
    );
    // The main port asks for the token (or a signature).
    let main = s.sc.port();
    let (status, kind, _) = post(main, "AppConfig.GetConfiguration", input.clone(), None).await;
    assert_eq!(
        (status, kind.as_deref()),
        (403, Some("AccessDeniedException"))
    );
    let (status, _, _) = post(
        main,
        "AppConfig.GetConfiguration",
        input,
        Some("test-token".into()),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn configuration_content_and_tokens_never_reach_the_log() {
    let s = stack(|b| b.env("PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL", "debug")).await;
    let app = unique("quiet");
    let secret_content = format!("db-password-{}", unique("content"));
    s.fake.deploy(
        &app,
        "prod",
        "p",
        secret_content.clone(),
        "text/plain",
        None,
    );
    assert_eq!(
        agent_get(s.agent, &path(&app, "prod", "p")).await.body,
        secret_content
    );
    s.fake.expire_tokens();
    let logs = s.sc.logs();
    assert!(!logs.contains(&secret_content), "{logs}");
    for request in s.fake.requests() {
        if let Some(token) = request.uri.split("configuration_token=").nth(1) {
            let token = token.split('&').next().unwrap();
            assert!(!logs.contains(token), "a token reached the log");
        }
    }
}

#[tokio::test]
async fn the_prefetch_list_is_fetched_at_start_except_under_snapstart() {
    let fake = FakeAppConfig::start().await;
    let app = unique("prefetch");
    fake.deploy(&app, "prod", "a", "first", "text/plain", None);
    fake.deploy(&app, "prod", "b", "second", "text/plain", None);
    let list = format!("{app}:prod:a,/applications/{app}/environments/prod/configurations/b");
    let proxy = FaultProxy::start().await;
    let agent = free_port();
    let _sc = with_fake(&fake, agent, Sidecar::builder(&proxy))
        .env("AWS_APPCONFIG_EXTENSION_PREFETCH_LIST", list.clone())
        .spawn()
        .await;
    fake.wait_until(WAIT, |f| f.polls() == 2)
        .await
        .expect("both profiles fetched at start");
    let a = agent_get(agent, &path(&app, "prod", "a")).await;
    assert_eq!(
        (a.body.as_str(), a.header("x-cache")),
        ("first", Some("hit"))
    );

    // Under SnapStart nothing is fetched during INIT (it would be in the snapshot).
    let snap_fake = FakeAppConfig::start().await;
    snap_fake.deploy(&app, "prod", "a", "first", "text/plain", None);
    let clock = FakeClock::new("appconfig-prefetch");
    let snap_agent = free_port();
    let (_lambda, _snap) = snapstart(&clock, &proxy, |b, _| {
        with_fake(&snap_fake, snap_agent, b).env("AWS_APPCONFIG_EXTENSION_PREFETCH_LIST", list)
    })
    .await;
    assert_eq!(
        snap_fake.sessions_started(),
        0,
        "nothing fetched during INIT"
    );
    let first = agent_get(snap_agent, &path(&app, "prod", "a")).await;
    assert_eq!(first.body, "first");
}

#[tokio::test]
async fn a_poll_interval_of_15_s_or_more_is_asked_of_appconfig() {
    let s = stack(|b| b.env("AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS", "2m")).await;
    let app = unique("minimum");
    s.fake.deploy(&app, "prod", "p", "x", "text/plain", None);
    assert_eq!(
        agent_get(s.agent, &path(&app, "prod", "p")).await.status,
        200
    );
    assert_eq!(
        s.fake.last_required_minimum_poll_interval(),
        Some(Some(120))
    );
}
