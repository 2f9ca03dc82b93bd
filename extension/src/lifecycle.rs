//! Start-up and shutdown, in Lambda or standalone.
//!
//! Order matters: configuration, then bind, then register. Lambda starts the function's
//! runtime as soon as every extension has registered, and handler init code may call us at once,
//! so we must already be listening; we serve during INIT as well as INVOKE.

use crate::app::App;
use crate::auth::{Auth, CredentialSource, Signatures, TokenSource};
use crate::aws::AwsUpstream;
use crate::config::{Config, ConfigError, TokenConfig};
use crate::extensions_api::{ErrorPhase, Event, ExtensionsApi};
use crate::restore::{Prefetch, Restores};
use crate::routes::Door;
use crate::stats::Stats;
use crate::{server, timeline};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::time::Instant;

/// Lambda allows about 2 s for SHUTDOWN in all; keep this much in hand for exiting.
const SHUTDOWN_MARGIN: Duration = Duration::from_millis(200);
/// Upstream calls still in flight this long before the drain ends are cut and answered 503
/// `ShuttingDown`: time for those answers to be written before the process exits.
const ANSWER_MARGIN: Duration = Duration::from_millis(300);
/// Outside Lambda nobody imposes a deadline; use Lambda's budget so that a slow upstream cannot
/// hold the exit longer than an orchestrator's patience either.
const STANDALONE_DRAIN: Duration = Duration::from_secs(2);

/// Why start-up failed; the type is what Lambda shows as the init error.
struct StartError {
    error_type: &'static str,
    message: String,
}

/// Runs until shutdown; returns the process exit code.
pub async fn run(
    config: Result<Config, ConfigError>,
    extension_name: &str,
    runtime_api: Option<String>,
) -> i32 {
    let api = runtime_api.as_deref().map(ExtensionsApi::new);
    // Standalone: handlers go in before the port opens, so a SIGTERM sent as soon as /ping
    // answers still drains instead of killing the process.
    let signals = api.is_none().then(StopSignals::install);
    let started = match config {
        Ok(config) => start(config).await,
        Err(error) => Err(StartError {
            error_type: "Extension.ConfigInvalid",
            message: error.to_string(),
        }),
    };
    let (serving, stop, app) = match started {
        Ok(running) => running,
        Err(error) => {
            tracing::error!(error_type = error.error_type, "{}", error.message);
            if let Some(api) = &api {
                report_init_error(api, extension_name, &error).await;
            }
            return 1;
        }
    };
    let (drain_until, code) = match &api {
        Some(api) => lambda_events(api, extension_name).await,
        None => {
            if let Some(signals) = signals {
                signals.wait().await;
            }
            (Instant::now() + STANDALONE_DRAIN, 0)
        }
    };
    let _ = stop.send(());
    // However slow the upstream, in-flight misses get an answer before the drain ends.
    let cut_at = drain_until
        .checked_sub(ANSWER_MARGIN)
        .unwrap_or(drain_until);
    let cutter = app.clone();
    tokio::spawn(async move {
        tokio::time::sleep_until(cut_at).await;
        cutter.cut_upstream_calls();
    });
    match tokio::time::timeout_at(drain_until, serving).await {
        Ok(Ok(Ok(()))) => tracing::info!("stopped"),
        Ok(Ok(Err(error))) => tracing::error!(%error, "server failed"),
        Ok(Err(error)) => tracing::error!(%error, "server task failed"),
        Err(_) => tracing::warn!("in-flight requests did not finish before the deadline"),
    }
    // The counts since the last EMF line, before exiting.
    app.metrics().flush();
    code
}

type Running = (
    tokio::task::JoinHandle<std::io::Result<()>>,
    tokio::sync::oneshot::Sender<()>,
    Arc<App>,
);

async fn start(config: Config) -> Result<Running, StartError> {
    // The baseline a SnapStart restore is told from: taken before anything is cached.
    timeline::now();
    for (name, value) in &config.endpoints_naming_us {
        tracing::info!(
            "{name}={value} names sidecache itself: its own calls ignore it and go to AWS (or AWS_ENDPOINT_URL when that is set elsewhere)"
        );
    }
    let listeners = bind(&config).await?;
    let stats = Arc::new(Stats::default());
    let upstream = Arc::new(AwsUpstream::new(&config));
    let auth = Auth {
        token: token_source(&config.token, upstream.clone()).await?,
        signatures: Signatures::new(upstream.clone()),
    };
    let app = Arc::new(App::new(&config, upstream, auth, stats));
    // Not fatal: parameters and secrets still work; S3 requests will report the problem.
    match app.prepare_object_dir() {
        Ok(0) => {}
        Ok(removed) => {
            tracing::info!(removed, dir = %config.s3_dir.display(), "removed files left by an earlier run")
        }
        Err(error) => {
            tracing::warn!(%error, dir = %config.s3_dir.display(), "cannot prepare the S3 directory")
        }
    }
    // In the background: registration and the function's INIT do not wait for it. Under
    // SnapStart it waits for the first request or restore (nothing fetched into the snapshot).
    let prefetch = Prefetch {
        values: config.prefetch.clone(),
        profiles: config.appconfig.prefetch.clone(),
    };
    let restores = Restores::start(app.clone(), prefetch, config.prefetch_at_init);
    app.metrics().start_clock();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let limits = server::Limits::from_config(&config);
    let serving = tokio::spawn(server::serve(
        listeners,
        app.clone(),
        restores,
        limits,
        async {
            let _ = stop_rx.await;
        },
    ));
    Ok((serving, stop_tx, app))
}

/// Binds every configured address. The first must succeed; later ones (`::1` by default) may
/// be unavailable where IPv6 is off, which only costs the IPv6 loopback. Cloud Extensions' port
/// (when asked for) and the AppConfig Agent's (loopback only) are never fatal: their own layers
/// may hold them (attached as well).
async fn bind(config: &Config) -> Result<Vec<(TcpListener, Door)>, StartError> {
    let mut listeners = Vec::new();
    for (i, ip) in config.listen.iter().enumerate() {
        let addr = SocketAddr::new(*ip, config.port);
        match TcpListener::bind(addr).await {
            Ok(listener) => {
                if !ip.is_loopback() {
                    tracing::warn!(%addr, "listening on a non-loopback address: anything that can reach it may read values with the token");
                }
                tracing::info!(%addr, "listening");
                listeners.push((listener, Door::Main));
            }
            Err(error) if i == 0 => {
                return Err(StartError {
                    error_type: "Extension.ListenFailed",
                    message: format!("cannot listen on {addr}: {error}"),
                })
            }
            Err(error) => tracing::debug!(%addr, %error, "optional address unavailable"),
        }
    }
    let loopback: Vec<IpAddr> = config
        .listen
        .iter()
        .copied()
        .filter(IpAddr::is_loopback)
        .collect();
    let optional = [
        (
            config.cloud_extensions_port,
            Door::CloudExtensions,
            "Cloud Extensions' port",
            &config.listen,
        ),
        (
            config.appconfig.agent_port,
            Door::Agent,
            "the AppConfig Agent's port",
            &loopback,
        ),
    ];
    for (port, door, what, addresses) in optional {
        let Some(port) = port else { continue };
        for (i, ip) in addresses.iter().enumerate() {
            let addr = SocketAddr::new(*ip, port);
            match TcpListener::bind(addr).await {
                Ok(listener) => {
                    tracing::info!(%addr, "listening ({what})");
                    listeners.push((listener, door));
                }
                Err(error) if i == 0 => {
                    tracing::warn!(%addr, %error, "cannot listen on {what}; serving without it")
                }
                Err(error) => tracing::debug!(%addr, %error, "optional address unavailable"),
            }
        }
    }
    Ok(listeners)
}

async fn token_source(
    config: &TokenConfig,
    credentials: Arc<dyn CredentialSource>,
) -> Result<TokenSource, StartError> {
    let fail = |message: String| StartError {
        error_type: "Extension.NoTokenSource",
        message,
    };
    match config {
        TokenConfig::Value(token) => Ok(TokenSource::Fixed(token.as_bytes().into())),
        TokenConfig::SessionToken(token) => Ok(TokenSource::Fixed(token.as_bytes().into())),
        TokenConfig::File(path) => {
            TokenSource::file(path.clone()).map_err(|e| fail(format!("cannot read SIDECACHE_TOKEN_FILE {}: {e}", path.display())))
        }
        TokenConfig::CredentialChain { container_token } => TokenSource::credentials(credentials, container_token.as_deref()).await.ok_or_else(|| {
            fail(
                "no token source: set SIDECACHE_TOKEN or SIDECACHE_TOKEN_FILE, or run with credentials \
                 that carry a session token (AWS_SESSION_TOKEN)"
                    .to_owned(),
            )
        }),
    }
}

/// Registers, then waits for SHUTDOWN. Returns when to stop draining and the exit code.
async fn lambda_events(api: &ExtensionsApi, name: &str) -> (Instant, i32) {
    // INVOKE is not subscribed: we have nothing to do per invocation, and an INVOKE
    // subscription would make Lambda wait for our /next after each one.
    let id = match api.register(name, &["SHUTDOWN"]).await {
        Ok(id) => id,
        Err(error) => {
            tracing::error!(%error, "cannot register with the Extensions API");
            return (Instant::now(), 1);
        }
    };
    tracing::info!("registered with the Extensions API");
    loop {
        match api.next(&id).await {
            Ok(Event::Invoke) => continue,
            Ok(Event::Shutdown {
                reason,
                deadline_ms,
            }) => {
                tracing::info!(%reason, "shutting down");
                return (drain_deadline(deadline_ms), 0);
            }
            Err(error) => {
                tracing::error!(%error, "cannot read the next event");
                let _ = api
                    .report_error(
                        &id,
                        ErrorPhase::Exit,
                        "Extension.NextFailed",
                        &error.to_string(),
                    )
                    .await;
                return (Instant::now(), 1);
            }
        }
    }
}

/// The SHUTDOWN deadline (epoch milliseconds) less a margin, on the monotonic clock.
fn drain_deadline(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    let remaining = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    Instant::now() + remaining.saturating_sub(SHUTDOWN_MARGIN)
}

/// init/error needs an identifier, so a failed start still registers first.
async fn report_init_error(api: &ExtensionsApi, name: &str, error: &StartError) {
    let reported = match api.register(name, &["SHUTDOWN"]).await {
        Ok(id) => {
            api.report_error(&id, ErrorPhase::Init, error.error_type, &error.message)
                .await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = reported {
        tracing::error!(error = %e, "could not report the init error to Lambda");
    }
}

/// SIGTERM (orchestrators) and SIGINT (a terminal) for standalone mode.
struct StopSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        StopSignals {
            term: signal(SignalKind::terminate()).expect("SIGTERM handler"),
            int: signal(SignalKind::interrupt()).expect("SIGINT handler"),
        }
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = self.int.recv() => tracing::info!("SIGINT: shutting down"),
        }
    }
}
