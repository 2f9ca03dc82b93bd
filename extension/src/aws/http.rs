//! The one HTTP client every SDK client shares: pooled HTTP/1 connections to AWS, TLS set up
//! on the first `https://` connection only (aws/http/trust.rs says from which roots), and
//! connections that died while the environment was frozen never reaching a caller.
//!
//! Freeze/thaw (docs/lambda-modes.md): a kept-alive connection can die while Lambda has the
//! environment frozen (the far side resets or closes it), and the next request on it fails.
//! So: a pool idle longer than `IDLE_RETIRE` by wall time is replaced before use (after a
//! SnapStart restore the monotonic clock has not counted the snapshot's age, the wall clock
//! has; hyper's own idle timeout, on the monotonic clock, retires single idle connections the
//! rest of the time); and a request that fails because its connection gave way is sent again
//! at once on a new connection (upstream calls are reads, safe to repeat) instead of waiting
//! out the SDK's backoff, or failing where the SDK does not retry (aws-sdk-rust#440).
//!
//! Our own connector rather than the SDK's: its public builder re-parses the roots from PEM
//! with a constant-time decoder for every connector it builds, and cannot wrap another; ours
//! decodes only the roots a handshake needs (aws/http/roots.rs).

mod connect;
mod errors;
mod names;
mod pem;
mod roots;
mod trust;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connection::{CaptureSmithyConnection, ConnectionMetadata};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use hyper_util::client::legacy::connect::capture_connection;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use connect::{Connector, Tls};
use errors::TimedOut;

/// A pooled connection idle longer than this is not reused: long enough for a burst of
/// misses to share connections, short enough that a freeze between invocations retires them.
pub const IDLE_RETIRE: Duration = Duration::from_secs(3);

type Pooled = Client<Connector, SdkBody>;

/// One connection pool (per connect timeout; hyper keeps one per host inside) and when it
/// was last used, by wall time.
#[derive(Clone)]
struct Pool {
    connect_timeout: Option<Duration>,
    client: Pooled,
    activity: Arc<Activity>,
}

#[derive(Default)]
struct Activity {
    /// Wall time of the last request's start or end, in ms since the epoch.
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Activity {
    /// Idle past `IDLE_RETIRE`, or the wall clock stepped back more than a second (then the
    /// idle time is unknown: start afresh).
    fn idle_too_long(&self, now_ms: u64) -> bool {
        let last = self.last_ms.load(Ordering::Relaxed);
        self.in_flight.load(Ordering::Relaxed) == 0
            && (now_ms.saturating_sub(last) > IDLE_RETIRE.as_millis() as u64
                || now_ms + 1000 < last)
    }

    fn touch(&self) {
        self.last_ms.fetch_max(wall_ms(), Ordering::Relaxed);
    }
}

/// Counts a request in flight until dropped (also when the SDK abandons it at a timeout).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

#[derive(Debug)]
struct Shared {
    tls: Arc<Tls>,
    pools: Mutex<Vec<Pool>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

/// The SDK's HTTP client (cheap to clone: every clone shares the pools and the TLS set-up).
#[derive(Debug, Clone)]
pub struct UpstreamHttp(Arc<Shared>);

impl UpstreamHttp {
    /// `ca_bundle`: the file `AWS_CA_BUNDLE` or `SSL_CERT_FILE` names, trusted instead of the
    /// system roots.
    pub fn new(ca_bundle: Option<PathBuf>) -> Self {
        UpstreamHttp(Arc::new(Shared {
            tls: Arc::new(Tls::new(ca_bundle)),
            pools: Mutex::new(Vec::new()),
        }))
    }

    /// Closes every pooled connection (those in use close when their request ends); the TLS
    /// configuration and its roots are kept. For a detected SnapStart restore.
    pub fn drop_connections(&self) {
        self.0.pools.lock().unwrap().clear();
    }

    /// One request outside an SDK client (a forwarded call), with the same pools, retirement
    /// of dead connections and timeouts.
    pub async fn send(
        &self,
        request: HttpRequest,
        connect_timeout: Option<Duration>,
        read_timeout: Option<Duration>,
    ) -> Result<HttpResponse, ConnectorError> {
        let mut settings = HttpConnectorSettings::builder();
        settings
            .set_connect_timeout(connect_timeout)
            .set_read_timeout(read_timeout);
        self.clone().call(request, settings.build()).await
    }

    /// The pool for requests with this connect timeout, counted in flight; a fresh one if it
    /// was idle too long or `retire` names it.
    fn checkout(
        &self,
        connect_timeout: Option<Duration>,
        retire: Option<&Pool>,
    ) -> (Pool, InFlight) {
        let now = wall_ms();
        let mut pools = self.0.pools.lock().unwrap();
        let index = match pools
            .iter()
            .position(|p| p.connect_timeout == connect_timeout)
        {
            Some(index) => {
                let pool = &mut pools[index];
                let retired = retire.is_some_and(|r| Arc::ptr_eq(&r.activity, &pool.activity));
                if retired || pool.activity.idle_too_long(now) {
                    tracing::debug!(retired, "upstream connections retired");
                    *pool = self.new_pool(connect_timeout);
                }
                index
            }
            None => {
                pools.push(self.new_pool(connect_timeout));
                pools.len() - 1
            }
        };
        let pool = pools[index].clone();
        pool.activity.in_flight.fetch_add(1, Ordering::Relaxed);
        pool.activity.last_ms.fetch_max(now, Ordering::Relaxed);
        let in_flight = InFlight(pool.activity.clone());
        (pool, in_flight)
    }

    fn new_pool(&self, connect_timeout: Option<Duration>) -> Pool {
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(IDLE_RETIRE)
            .build(Connector::new(self.0.tls.clone(), connect_timeout));
        let activity = Arc::new(Activity::default());
        activity.touch();
        Pool {
            connect_timeout,
            client,
            activity,
        }
    }

    async fn call(
        self,
        request: HttpRequest,
        settings: HttpConnectorSettings,
    ) -> Result<HttpResponse, ConnectorError> {
        let connect_timeout = settings.connect_timeout();
        let read_timeout = settings.read_timeout();
        let again = request.try_clone();
        let (pool, in_flight) = self.checkout(connect_timeout, None);
        let first = send(&pool, request, read_timeout).await;
        drop(in_flight);
        let error = match first {
            Ok(response) => return Ok(response),
            Err(error) => error,
        };
        let (Some(again), Some(reason)) = (again, errors::dead_connection(error.as_ref())) else {
            return Err(errors::to_connector_error(error));
        };
        tracing::info!(
            reason,
            "an upstream connection gave way; sending again at once on a new connection"
        );
        // The whole pool goes: after a freeze its other idle connections are as dead.
        let (pool, _in_flight) = self.checkout(connect_timeout, Some(&pool));
        send(&pool, again, read_timeout)
            .await
            .map_err(errors::to_connector_error)
    }
}

/// One exchange on the pool, up to the response head (the body streams afterwards).
async fn send(
    pool: &Pool,
    request: HttpRequest,
    read_timeout: Option<Duration>,
) -> Result<HttpResponse, BoxError> {
    let mut request = request.try_into_http1x()?;
    capture_for_the_sdk(&mut request);
    let responding = pool.client.request(request);
    let response = match read_timeout {
        Some(limit) => tokio::time::timeout(limit, responding)
            .await
            .map_err(|_| TimedOut("read"))??,
        None => responding.await?,
    };
    Ok(HttpResponse::try_from(
        response.map(SdkBody::from_body_1_x),
    )?)
}

/// Lets the SDK poison the connection of a failed attempt (its retries then open a new one),
/// as its own connector does.
fn capture_for_the_sdk(request: &mut http::Request<SdkBody>) {
    let captured = capture_connection(request);
    if let Some(capture) = request.extensions().get::<CaptureSmithyConnection>() {
        capture.set_connection_retriever(move || {
            captured.connection_metadata().as_ref()?;
            let captured = captured.clone();
            Some(
                ConnectionMetadata::builder()
                    .proxied(false)
                    .poison_fn(move || {
                        if let Some(connection) = captured.connection_metadata().as_ref() {
                            connection.poison();
                        }
                    })
                    .build(),
            )
        });
    }
}

impl HttpClient for UpstreamHttp {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(SettingsConnector {
            http: self.clone(),
            settings: settings.clone(),
        })
    }
}

/// The client as one SDK client sees it: with that client's timeouts.
#[derive(Debug)]
struct SettingsConnector {
    http: UpstreamHttp,
    settings: HttpConnectorSettings,
}

impl HttpConnector for SettingsConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        HttpConnectorFuture::new(self.http.clone().call(request, self.settings.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use hyper_util::rt::TokioIo;

    /// An HTTP/1.1 server on loopback that keeps connections alive; counts them.
    async fn counting_server() -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                counter.fetch_add(1, Ordering::SeqCst);
                let service = hyper::service::service_fn(|_| async {
                    let body = http_body_util::Full::new(bytes::Bytes::from_static(b"ok"));
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(body))
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        (url, accepted)
    }

    async fn get(http: &UpstreamHttp, url: &str) {
        let mut request = HttpRequest::empty();
        request.set_uri(url).unwrap();
        let settings = HttpConnectorSettings::builder().build();
        let response = http.clone().call(request, settings).await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        // Read to the end: only then is the connection back in the pool.
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"ok");
    }

    #[tokio::test]
    async fn connections_are_reused_until_dropped() {
        let (url, accepted) = counting_server().await;
        let http = UpstreamHttp::new(None);
        get(&http, &url).await;
        get(&http, &url).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "kept alive and reused");
        http.drop_connections();
        get(&http, &url).await;
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            2,
            "a new connection after the drop"
        );
    }

    #[tokio::test]
    async fn a_pool_idle_too_long_by_wall_time_is_replaced() {
        let (url, accepted) = counting_server().await;
        let http = UpstreamHttp::new(None);
        get(&http, &url).await;
        // As after a SnapStart restore: the wall clock says the pool sat idle for two days.
        let two_days_ms = 2 * 86_400_000;
        for pool in http.0.pools.lock().unwrap().iter() {
            pool.activity
                .last_ms
                .fetch_sub(two_days_ms, Ordering::Relaxed);
        }
        get(&http, &url).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn idleness_is_judged_by_wall_time_and_requests_in_flight() {
        let activity = Activity::default();
        let now = wall_ms();
        activity.last_ms.store(now, Ordering::Relaxed);
        assert!(!activity.idle_too_long(now + 1_000));
        assert!(activity.idle_too_long(now + 4_000));
        // The wall clock stepped back: the idle time is unknown.
        assert!(activity.idle_too_long(now - 5_000));
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        assert!(
            !activity.idle_too_long(now + 60_000),
            "a request is still using it"
        );
    }
}
