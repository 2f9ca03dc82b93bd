//! `lambda-local`: run sidecache as Lambda would, against the test suite's fake Extensions API,
//! and narrate its lifecycle: registration, requests during INIT, invocations, SHUTDOWN.
//!
//! It emulates the Extensions API only (register, event/next, init/error, exit/error), not the
//! Runtime API nor a function: requests stand in for a handler's calls. The sidecar talks to
//! whatever AWS the environment points at (`make lambda-local` uses moto).
//!
//! Usage: lambda-local [--invokes N] [--interval-ms MS] [--get PATH_AND_QUERY]...

use sidecache_tests::sidecar::{binary, command, BIN_VAR, RUNNER_VAR};
use sidecache_tests::util::free_port;
use sidecache_tests::FakeLambda;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

struct Options {
    invokes: usize,
    interval: Duration,
    gets: Vec<String>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        invokes: 3,
        interval: Duration::from_millis(500),
        gets: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--invokes" => {
                options.invokes = value()?.parse().map_err(|e| format!("--invokes: {e}"))?
            }
            "--interval-ms" => {
                options.interval = Duration::from_millis(
                    value()?
                        .parse()
                        .map_err(|e| format!("--interval-ms: {e}"))?,
                )
            }
            "--get" => options.gets.push(value()?),
            _ => {
                return Err(format!(
                    "unknown argument {arg}; see the header of tests/src/bin/lambda_local.rs"
                ))
            }
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("lambda-local: {message}");
            return ExitCode::from(2);
        }
    };
    let port = std::env::var("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(free_port);
    // As in Lambda, the token is the function's session token.
    let token =
        std::env::var("AWS_SESSION_TOKEN").unwrap_or_else(|_| "local-session-token".to_owned());
    let fake = FakeLambda::start(port).await;
    let exec = Instant::now();
    let mut child = match tokio::process::Command::from(command())
        .env("AWS_LAMBDA_RUNTIME_API", fake.runtime_api())
        .env("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", port.to_string())
        .env("AWS_SESSION_TOKEN", &token)
        // Ours, not the extension's: it would warn about variables it does not know.
        .env_remove(BIN_VAR)
        .env_remove(RUNNER_VAR)
        .stdin(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(error) => {
            eprintln!("lambda-local: cannot start {}: {error}", binary().display());
            return ExitCode::FAILURE;
        }
    };
    let say = |what: String| {
        println!(
            "[lambda-local +{:>5} ms] {what}",
            exec.elapsed().as_millis()
        )
    };

    let Some(registration) = fake.wait_registered(Duration::from_secs(10)).await else {
        say(format!(
            "no registration within 10 s; init errors: {:?}",
            fake.init_errors()
        ));
        let _ = child.kill().await;
        return ExitCode::FAILURE;
    };
    say(format!(
        "registered as {:?}, events {:?}",
        registration.name, registration.events
    ));
    let client = reqwest::Client::new();
    let get = |path: String| {
        let request = client
            .get(format!("http://127.0.0.1:{port}{path}"))
            .header("X-Aws-Parameters-Secrets-Token", &token);
        async move {
            match request.send().await {
                Ok(r) => format!(
                    "{} X-Cache={}",
                    r.status(),
                    r.headers()
                        .get("x-cache")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-")
                ),
                Err(e) => format!("failed: {e}"),
            }
        }
    };
    say(format!("INIT: GET /ping -> {}", get("/ping".into()).await));
    for path in &options.gets {
        say(format!("INIT: GET {path} -> {}", get(path.clone()).await));
    }
    for n in 1..=options.invokes {
        tokio::time::sleep(options.interval).await;
        let delivered = fake.invoke();
        say(format!(
            "INVOKE {n}{}",
            if delivered {
                ""
            } else {
                " (not delivered: the extension subscribed to SHUTDOWN only)"
            }
        ));
        for path in &options.gets {
            say(format!(
                "  handler: GET {path} -> {}",
                get(path.clone()).await
            ));
        }
    }
    let deadline = fake.shutdown();
    say("SHUTDOWN sent (deadline in 2000 ms)".into());
    let remaining = deadline.saturating_duration_since(Instant::now());
    let exited = tokio::time::timeout(remaining, child.wait()).await;
    let mut ok = true;
    match exited {
        Ok(Ok(status)) => say(format!("extension exited ({status}) before the deadline")),
        _ => {
            ok = false;
            say("extension did NOT exit before the deadline; killing it".into());
            let _ = child.kill().await;
        }
    }
    let violations = fake.violations();
    if violations.is_empty() {
        say("no Extensions API protocol violations".into());
    } else {
        ok = false;
        say(format!("protocol violations: {violations:?}"));
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
