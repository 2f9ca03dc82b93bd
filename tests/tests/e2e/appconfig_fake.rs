//! The fake AppConfig Data (`sidecache_tests::fake_appconfig`) checked before the sidecar is
//! tested against it: AWS's own client (boto3, `tests/support/appconfigdata_check.py`) must
//! parse every answer and error of the fake into the fields of the service model, and the raw
//! wire format (status codes, headers, error bodies) must be what restJson1 sends.

use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use sidecache_tests::fake_appconfig::{
    Failure, Ids, Operation, PollIntervalCheck, TokenReuse, DEFAULT_TOKEN_LIFETIME, ENDPOINT_ENV,
};
use sidecache_tests::util::{enc, workspace_root};
use sidecache_tests::{moto, FakeAppConfig};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const APP: &str = "shop";
const ENV: &str = "prod";
const CHECK_TIMEOUT: Duration = Duration::from_secs(180);
/// A SigV4 `Authorization` of the right form (the fake checks the form, not the signature).
const SIGNED: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/appconfig/\
                      aws4_request, SignedHeaders=host;x-amz-date, Signature=0123456789abcdef";

fn ids_json(ids: &Ids) -> Value {
    json!({
        "application": ids.application,
        "environment": ids.environment,
        "profile": ids.profile,
    })
}

fn str_arg<'a>(args: &'a Value, key: &str) -> Result<&'a str, String> {
    args[key]
        .as_str()
        .ok_or_else(|| format!("`{key}` should be a string in {args}"))
}

fn millis(args: &Value) -> Option<Duration> {
    args["ms"].as_u64().map(Duration::from_millis)
}

/// Carries out one control the check asks for; the answer is sent back as JSON.
async fn control(fake: &FakeAppConfig, name: &str, args: &Value) -> Result<Value, String> {
    match name {
        "deploy" => {
            let content = base64::engine::general_purpose::STANDARD
                .decode(str_arg(args, "content")?)
                .map_err(|e| format!("content is not base64: {e}"))?;
            let ids = fake.deploy(
                APP,
                ENV,
                str_arg(args, "profile")?,
                content,
                str_arg(args, "content_type")?,
                args["label"].as_str(),
            );
            Ok(ids_json(&ids))
        }
        "delete_profile" => Ok(json!(fake.delete_profile(APP, str_arg(args, "profile")?))),
        "expire_tokens" => Ok(json!(fake.expire_tokens())),
        "revoke_tokens" => Ok(json!(fake.revoke_tokens())),
        "token_lifetime" => {
            fake.set_token_lifetime(millis(args).unwrap_or(DEFAULT_TOKEN_LIFETIME));
            Ok(Value::Null)
        }
        "token_reuse" => {
            fake.set_token_reuse(match str_arg(args, "mode")? {
                "allow" => TokenReuse::Allow,
                "refuse" => TokenReuse::Refuse,
                other => return Err(format!("token_reuse mode {other}")),
            });
            Ok(Value::Null)
        }
        "poll_check" => {
            fake.set_poll_interval_check(match str_arg(args, "mode")? {
                "off" => PollIntervalCheck::Off,
                "required" => PollIntervalCheck::Required,
                "handed_out" => PollIntervalCheck::HandedOut,
                other => return Err(format!("poll_check mode {other}")),
            });
            Ok(Value::Null)
        }
        "next_poll_interval" => {
            fake.set_next_poll_interval(args["seconds"].as_u64().map(|s| s as u32));
            Ok(Value::Null)
        }
        "latency" => {
            fake.set_latency(millis(args).unwrap_or_default());
            Ok(Value::Null)
        }
        "fail_next" => {
            let n = args["n"].as_u64().ok_or("fail_next needs n")? as usize;
            let failure = match str_arg(args, "failure")? {
                "internal" => Failure::Internal,
                "throttle" => Failure::Throttle,
                other => return Err(format!("failure {other}")),
            };
            match args["only"].as_str() {
                None => fake.fail_next(n, failure),
                Some("StartConfigurationSession") => {
                    fake.fail_next_of(Operation::StartConfigurationSession, n, failure)
                }
                Some("GetLatestConfiguration") => {
                    fake.fail_next_of(Operation::GetLatestConfiguration, n, failure)
                }
                Some(other) => return Err(format!("operation {other}")),
            }
            Ok(Value::Null)
        }
        "stop_listening" => {
            fake.stop_listening().await;
            Ok(Value::Null)
        }
        "resume_listening" => {
            fake.resume_listening().await;
            Ok(Value::Null)
        }
        "stats" => {
            let violations = fake.violations();
            Ok(json!({
                "sessions_started": fake.sessions_started(),
                "polls": fake.polls(),
                "calls": {
                    "StartConfigurationSession": fake.calls(Operation::StartConfigurationSession),
                    "GetLatestConfiguration": fake.calls(Operation::GetLatestConfiguration),
                },
                "last_required": fake.last_required_minimum_poll_interval().flatten(),
                "abandoned": fake.abandoned(),
                "violations": violations.len(),
                "violation_list": violations,
            }))
        }
        other => Err(format!("unknown control {other}")),
    }
}

/// Runs the boto3 check against `fake`, answering its controls. Returns (exit success,
/// stdout lines that are not controls, stderr).
async fn run_check(fake: &FakeAppConfig, fixtures: &Value) -> (bool, Vec<String>, String) {
    let script = workspace_root().join("tests/support/appconfigdata_check.py");
    let mut child = tokio::process::Command::new(moto::python())
        .arg(&script)
        .arg(fake.url())
        .arg(fixtures.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("run {} with {:?}: {e}", script.display(), moto::python()));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let mut stderr_pipe = child.stderr.take().expect("piped stderr");
    let stderr = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text).await;
        text
    });
    let mut output = Vec::new();
    let conversation = async {
        while let Some(line) = stdout.next_line().await.expect("read the check's stdout") {
            let Some(request) = line.strip_prefix("CONTROL ") else {
                output.push(line);
                continue;
            };
            let (name, args) = request.split_once(' ').unwrap_or((request, "{}"));
            let args: Value = serde_json::from_str(args)
                .unwrap_or_else(|e| panic!("control arguments {args:?}: {e}"));
            let answer = match control(fake, name, &args).await {
                Ok(value) => format!("OK {value}\n"),
                Err(why) => format!("ERROR {why}\n"),
            };
            stdin
                .write_all(answer.as_bytes())
                .await
                .expect("answer the check");
        }
        child.wait().await.expect("wait for the check")
    };
    let status = match tokio::time::timeout(CHECK_TIMEOUT, conversation).await {
        Ok(status) => status,
        Err(_) => panic!("the boto3 check did not finish within {CHECK_TIMEOUT:?}"),
    };
    let stderr = stderr.await.unwrap_or_default();
    (status.success(), output, stderr)
}

/// boto3 drives both operations and every error through the fake, with the fake changed
/// mid-way (new deployments, expiry, poll-interval checks, faults, latency, a stopped
/// listener); the check passes only if botocore parses everything as the model says.
#[tokio::test]
async fn boto3_parses_every_answer_and_error_of_the_fake() {
    let fake = FakeAppConfig::start().await;
    let flags_content = r#"{"feature":{"enabled":true}}"#;
    let flags = fake.deploy(
        APP,
        ENV,
        "flags",
        flags_content,
        "application/json",
        Some("v1"),
    );
    let plain = fake.deploy(APP, ENV, "plain", "just text", "text/plain", None);
    let pending = fake.create(APP, ENV, "pending");
    for ids in [&flags, &plain, &pending] {
        for id in [&ids.application, &ids.environment, &ids.profile] {
            assert!(
                id.len() == 7
                    && id
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
                "ids look like AWS's: {ids:?}"
            );
        }
    }
    assert_eq!(flags.application, plain.application, "one application");
    assert_ne!(flags.profile, plain.profile, "two profiles");
    let fixtures = json!({
        "app": APP,
        "env": ENV,
        "flags": {"profile": "flags", "ids": ids_json(&flags), "content": flags_content, "label": "v1"},
        "plain": {"profile": "plain", "ids": ids_json(&plain), "content": "just text"},
        "pending": {"profile": "pending", "ids": ids_json(&pending)},
    });

    let (ok, stdout, stderr) = run_check(&fake, &fixtures).await;
    let passed = stdout.last().and_then(|l| l.strip_prefix("PASS "));
    assert!(
        ok && passed.is_some(),
        "the boto3 check failed\nstdout: {stdout:?}\nstderr:\n{stderr}\nviolations: {:#?}",
        fake.violations()
    );
    let checks: usize = passed.unwrap().parse().expect("PASS <count>");
    assert!(checks > 100, "the check made only {checks} checks");

    // The fake's own records of what the check did.
    let violations = fake.violations();
    assert_eq!(violations.len(), 5, "{violations:#?}");
    assert!(fake.sessions_for(APP, ENV, "flags") >= 10);
    assert_eq!(
        fake.sessions_for(&flags.application, &flags.environment, &flags.profile),
        fake.sessions_for(APP, ENV, "flags"),
        "ids and names count the same sessions"
    );
    assert_eq!(fake.sessions_for(APP, ENV, "plain"), 1);
    assert_eq!(fake.polls_for(APP, ENV, "plain"), 1);
    assert_eq!(fake.deliveries_for(APP, ENV, "plain"), 1);
    assert!(fake.polls_for(APP, ENV, "flags") > fake.deliveries_for(APP, ENV, "flags"));
    let errors: Vec<String> = fake
        .requests()
        .into_iter()
        .filter_map(|r| r.error)
        .collect();
    for expected in [
        "BadRequestException/Corrupted",
        "BadRequestException/Expired",
        "BadRequestException/PollIntervalNotSatisfied",
        "ResourceNotFoundException/Application",
        "ResourceNotFoundException/Environment",
        "ResourceNotFoundException/ConfigurationProfile",
        "ResourceNotFoundException/Deployment",
        "ThrottlingException",
        "InternalServerException",
        "MissingAuthenticationTokenException",
    ] {
        assert!(
            errors.iter().any(|e| e == expected),
            "no {expected} in the log: {errors:?}"
        );
    }
    let timed_out = fake
        .requests()
        .into_iter()
        .filter(|r| r.operation == Some(Operation::GetLatestConfiguration) && r.status.is_none())
        .count();
    assert_eq!(timed_out, 1, "the poll the client gave up on has no answer");
    assert_eq!(fake.abandoned(), 1);
    assert!(fake
        .requests()
        .iter()
        .filter(|r| r.authorization.is_some())
        .all(|r| r.region.as_deref() == Some("us-east-1")));
}

// ----- the wire format, raw ----------------------------------------------------------------------

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client")
}

fn signed(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request
        .header("authorization", SIGNED)
        .header("x-amz-date", "20260101T000000Z")
}

async fn start_raw(fake: &FakeAppConfig, body: Value) -> reqwest::Response {
    signed(http().post(format!("{}/configurationsessions", fake.url())))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("StartConfigurationSession")
}

async fn poll_raw(fake: &FakeAppConfig, query: &str) -> reqwest::Response {
    signed(http().get(format!("{}/configuration?{query}", fake.url())))
        .send()
        .await
        .expect("GetLatestConfiguration")
}

fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().expect("ASCII header").to_owned())
}

/// An error answer as restJson1 sends it: the status, `x-amzn-ErrorType`, a JSON body of the
/// shape's members and no `__type`. Returns the body.
async fn assert_error(resp: reqwest::Response, status: u16, shape: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "{resp:?}");
    assert_eq!(header(&resp, "x-amzn-errortype").as_deref(), Some(shape));
    assert_eq!(
        header(&resp, "content-type").as_deref(),
        Some("application/json")
    );
    assert!(header(&resp, "x-amzn-requestid").is_some());
    let body: Value = resp.json().await.expect("a JSON error body");
    assert!(body.get("__type").is_none(), "{body}");
    assert!(body["Message"].is_string(), "{body}");
    body
}

#[tokio::test]
async fn answers_and_errors_have_the_restjson1_wire_format() {
    let fake = FakeAppConfig::start().await;
    assert_eq!(fake.endpoint_env(), (ENDPOINT_ENV, fake.url()));
    fake.deploy(APP, ENV, "flags", "{}", "application/json", Some("v1"));

    let resp = start_raw(
        &fake,
        json!({
            "ApplicationIdentifier": APP,
            "EnvironmentIdentifier": ENV,
            "ConfigurationProfileIdentifier": "flags",
            "RequiredMinimumPollIntervalInSeconds": 30,
        }),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 201);
    assert_eq!(
        header(&resp, "content-type").as_deref(),
        Some("application/json")
    );
    let body: Value = resp.json().await.expect("JSON");
    let keys: Vec<&String> = body.as_object().expect("an object").keys().collect();
    assert_eq!(keys, ["InitialConfigurationToken"], "{body}");
    let token = body["InitialConfigurationToken"]
        .as_str()
        .expect("a string")
        .to_owned();
    assert_eq!(fake.last_required_minimum_poll_interval(), Some(Some(30)));

    // The token sent without percent-encoding: its '+' arrive as spaces.
    let resp = poll_raw(&fake, &format!("configuration_token={token}")).await;
    let body = assert_error(resp, 400, "BadRequestException").await;
    assert_eq!(
        body["Details"],
        json!({"InvalidParameters": {"ConfigurationToken": {"Problem": "Corrupted"}}})
    );
    assert_eq!(body["Reason"], "InvalidParameters");
    assert!(
        fake.violations()
            .last()
            .is_some_and(|v| v.contains("percent-encoded")),
        "{:?}",
        fake.violations()
    );

    let resp = poll_raw(&fake, &format!("configuration_token={}", enc(&token))).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        header(&resp, "content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(header(&resp, "version-label").as_deref(), Some("v1"));
    assert_eq!(
        header(&resp, "next-poll-interval-in-seconds").as_deref(),
        Some("30")
    );
    assert!(header(&resp, "x-amzn-requestid").is_some());
    let next = header(&resp, "next-poll-configuration-token").expect("a next token");
    assert_eq!(resp.bytes().await.expect("body").as_ref(), b"{}");

    // Too early for the session's 30 s: the error, and the token not spent.
    let resp = poll_raw(&fake, &format!("configuration_token={}", enc(&next))).await;
    let body = assert_error(resp, 400, "BadRequestException").await;
    assert_eq!(
        body["Details"]["InvalidParameters"]["ConfigurationToken"]["Problem"],
        "PollIntervalNotSatisfied"
    );
    fake.set_poll_interval_check(PollIntervalCheck::Off);
    let resp = poll_raw(&fake, &format!("configuration_token={}", enc(&next))).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        header(&resp, "content-type").as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(header(&resp, "version-label"), None);
    assert_eq!(header(&resp, "content-length").as_deref(), Some("0"));

    let resp = start_raw(
        &fake,
        json!({
            "ApplicationIdentifier": APP,
            "EnvironmentIdentifier": "staging",
            "ConfigurationProfileIdentifier": "flags",
        }),
    )
    .await;
    let body = assert_error(resp, 404, "ResourceNotFoundException").await;
    assert_eq!(body["ResourceType"], "Environment");
    assert_eq!(
        body["ReferencedBy"],
        json!({"EnvironmentIdentifier": "staging"})
    );

    fake.fail_next(1, Failure::Throttle);
    assert_error(
        poll_raw(&fake, "configuration_token=x").await,
        429,
        "ThrottlingException",
    )
    .await;
    fake.fail_next(1, Failure::Internal);
    assert_error(
        poll_raw(&fake, "configuration_token=x").await,
        500,
        "InternalServerException",
    )
    .await;
    let before = fake.violations().len();
    assert_error(poll_raw(&fake, "").await, 400, "BadRequestException").await;
    assert_eq!(
        fake.violations().len(),
        before + 1,
        "a poll without a token"
    );

    // Signing: missing, or scoped to another service.
    let resp = http()
        .get(format!(
            "{}/configuration?configuration_token=x",
            fake.url()
        ))
        .send()
        .await
        .expect("unsigned");
    assert_error(resp, 403, "MissingAuthenticationTokenException").await;
    let resp = http()
        .get(format!(
            "{}/configuration?configuration_token=x",
            fake.url()
        ))
        .header("authorization", SIGNED.replace("/appconfig/", "/ssm/"))
        .header("x-amz-date", "20260101T000000Z")
        .send()
        .await
        .expect("wrongly scoped");
    assert_error(resp, 403, "InvalidSignatureException").await;

    // Outside the API.
    let resp = signed(http().put(format!("{}/configuration", fake.url())))
        .send()
        .await
        .expect("PUT");
    assert_eq!(resp.status().as_u16(), 405);
    let resp = signed(http().get(format!("{}/applications", fake.url())))
        .send()
        .await
        .expect("GET elsewhere");
    assert_eq!(resp.status().as_u16(), 404);

    let violations = fake.violations();
    for expected in [
        "percent-encoded",
        "must not be null",
        "without an Authorization header",
        "scoped to correct service",
        "with method PUT",
        "outside the API: GET /applications",
    ] {
        assert!(
            violations.iter().any(|v| v.contains(expected)),
            "no violation mentioning {expected:?}: {violations:#?}"
        );
    }
    assert_eq!(violations.len(), 6, "{violations:#?}");
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let fake = FakeAppConfig::start().await;
    let latency = Duration::from_millis(800);
    fake.set_latency(latency);
    let begun = Instant::now();
    let resp = start_raw(
        &fake,
        json!({
            "ApplicationIdentifier": APP,
            "EnvironmentIdentifier": ENV,
            "ConfigurationProfileIdentifier": "flags",
        }),
    )
    .await;
    assert!(begun.elapsed() >= latency);
    assert_error(resp, 404, "ResourceNotFoundException").await;
    fake.set_latency(Duration::ZERO);
    let begun = Instant::now();
    poll_raw(&fake, "configuration_token=x").await;
    assert!(begun.elapsed() < latency, "no latency once it is zero");
    assert!(fake.violations().iter().all(|v| v.contains("never issued")));
}

#[tokio::test]
async fn stopped_fake_refuses_connections_and_resumes_on_the_same_port() {
    let fake = FakeAppConfig::start().await;
    fake.deploy(APP, ENV, "flags", "v1", "text/plain", None);
    let port = fake.port();
    let client = http();
    let resp = signed(client.post(format!("{}/configurationsessions", fake.url())))
        .header("content-type", "application/json")
        .body(
            json!({
                "ApplicationIdentifier": APP,
                "EnvironmentIdentifier": ENV,
                "ConfigurationProfileIdentifier": "flags",
            })
            .to_string(),
        )
        .send()
        .await
        .expect("a session");
    let token = resp.json::<Value>().await.expect("JSON")["InitialConfigurationToken"]
        .as_str()
        .expect("a token")
        .to_owned();

    fake.stop_listening().await;
    assert!(!fake.is_listening());
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "connections are refused"
    );
    // The same client: its kept-alive connection was closed too.
    let err = signed(client.get(format!(
        "{}/configuration?configuration_token={}",
        fake.url(),
        enc(&token)
    )))
    .send()
    .await
    .expect_err("no answer while stopped");
    assert!(err.is_connect() || err.is_request(), "{err:?}");

    fake.resume_listening().await;
    assert_eq!(fake.port(), port);
    let resp = signed(client.get(format!(
        "{}/configuration?configuration_token={}",
        fake.url(),
        enc(&token)
    )))
    .send()
    .await
    .expect("an answer after resuming");
    assert_eq!(resp.status().as_u16(), 200, "the session survived");
    assert_eq!(resp.text().await.expect("body"), "v1");
    assert_eq!(fake.polls(), 1);
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}
