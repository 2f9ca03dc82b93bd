//! The SDK client cache: one client per (service, region, role, endpoint), bounded, LRU or
//! TinyLFU.
//!
//! Loading the shared `SdkConfig` costs 5-11 ms and ~4.5 MiB (shared notes), so it happens once,
//! lazily on the first upstream call, never at start-up. Every client is built from it and
//! shares its one HTTP client (one connection pool); building a client costs ~0.3 ms, which is
//! why creation runs inline under moka's single-flight.

use super::credentials::EnvironmentFirst;
use super::http::UpstreamHttp;
use super::role::RoleCredentials;
use crate::config::{AppConfigRole, ClientCachePolicy, Config, OwnListeners};
use crate::model::{Service, Target, UpstreamError, UpstreamErrorKind};
use crate::stats::{ClientsReport, Counter};
use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::meta::region::ProvideRegion;
use aws_config::provider_config::ProviderConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use moka::policy::EvictionPolicy;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{OnceCell, Semaphore, SemaphorePermit};

/// The SDK's own default connect timeout, kept when we set an operation timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    service: Service,
    target: Target,
    endpoint: Option<String>,
}

pub enum SdkClient {
    Ssm(aws_sdk_ssm::Client),
    SecretsManager(aws_sdk_secretsmanager::Client),
    S3(aws_sdk_s3::Client),
    AppConfig(aws_sdk_appconfigdata::Client),
}

/// A client plus the permits that cap its concurrent calls
/// (`PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS`).
pub struct CachedClient {
    pub client: SdkClient,
    permits: Semaphore,
    /// How many permits there are (`PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS`).
    connections: usize,
    /// The service's timeout (`SSM_TIMEOUT`, `SECRETS_MANAGER_TIMEOUT`), if it has one.
    pub timeout: Option<Duration>,
}

impl CachedClient {
    pub async fn permit(&self) -> SemaphorePermit<'_> {
        self.permits
            .acquire()
            .await
            .expect("client semaphore is never closed")
    }

    /// Runs `call` with the client, holding one of its permits. The wait for a permit is bounded
    /// by the service's timeout: otherwise, with the permits held by calls slower than the
    /// timeout (an upstream that stalls, retries backing off), a read queued behind them waited
    /// one timeout per turn, 10 s and more for a 1 s timeout (found by the soak), where it should
    /// end and be served stale if it may. The call itself is bounded per operation by the SDK's
    /// operation timeout (the same value), so a `GetParametersByPath` of several pages gets the
    /// timeout for each page, whatever it waited for its permit: one bound over both cut paged
    /// trees short whenever upstream was merely slow and the permits busy (the soak again).
    pub async fn call<U>(
        &self,
        service: Service,
        call: impl AsyncFnOnce(&SdkClient) -> Result<U, UpstreamError>,
    ) -> Result<U, UpstreamError> {
        let _permit = match self.timeout {
            None => self.permit().await,
            Some(limit) => tokio::time::timeout(limit, self.permit())
                .await
                .map_err(|_| UpstreamError {
                    service,
                    kind: UpstreamErrorKind::Timeout,
                    message: format!(
                        "none of the client's {} connections came free within {} s",
                        self.connections,
                        limit.as_secs_f64()
                    ),
                })?,
        };
        call(&self.client).await
    }
}

struct Settings {
    /// The AppConfig Agent's role, assumed with its external id and session name.
    appconfig_role: Option<AppConfigRole>,
    ssm_timeout: Option<Duration>,
    secrets_timeout: Option<Duration>,
    s3_path_style: bool,
    max_connections: usize,
}

/// The shared base configuration, loaded on first use; replaced by an empty cell at a restore.
type Base = Arc<OnceCell<Arc<SdkConfig>>>;

pub struct ClientCache {
    base: RwLock<Base>,
    /// Endpoints naming these are sidecache itself: never followed (config/endpoints.rs).
    own_listeners: OwnListeners,
    http: UpstreamHttp,
    clients: moka::sync::Cache<ClientKey, Arc<CachedClient>>,
    settings: Settings,
    policy: ClientCachePolicy,
    hits: Counter,
    misses: Counter,
    evictions: Arc<Counter>,
}

impl ClientCache {
    pub fn new(config: &Config) -> Self {
        let evictions = Arc::new(Counter::default());
        let listener_evictions = evictions.clone();
        let policy = match config.client_cache_policy {
            ClientCachePolicy::Lru => EvictionPolicy::lru(),
            ClientCachePolicy::Lfu => EvictionPolicy::tiny_lfu(),
        };
        let clients = moka::sync::Cache::builder()
            .max_capacity(config.client_cache_size)
            .eviction_policy(policy)
            .eviction_listener(move |_, _, cause| {
                if cause.was_evicted() {
                    listener_evictions.incr();
                }
            })
            .build();
        ClientCache {
            base: RwLock::default(),
            own_listeners: config.own_listeners.clone(),
            // Nothing is parsed or connected until the first upstream call.
            http: UpstreamHttp::new(config.ca_bundle.clone()),
            clients,
            settings: Settings {
                appconfig_role: config.appconfig.role.clone(),
                ssm_timeout: config.ssm_timeout,
                secrets_timeout: config.secrets_timeout,
                s3_path_style: config.s3_path_style,
                max_connections: config.max_connections,
            },
            policy: config.client_cache_policy,
            hits: Counter::default(),
            misses: Counter::default(),
            evictions,
        }
    }

    /// The shared base configuration: region, credentials chain, endpoint overrides from the
    /// environment, and one HTTP client for all service clients. Retries are the SDK's
    /// standard mode, set explicitly: 3 attempts, exponential backoff with full jitter (so a
    /// fleet throttled together does not retry in step), throttles backing off from 1 s.
    /// Adaptive mode was measured and rejected: after a few throttles its client-side rate
    /// limiter held later requests for tens of seconds (79 s for four reads, 8 s in standard
    /// mode), far past any Lambda handler's patience.
    pub async fn base(&self) -> Arc<SdkConfig> {
        let cell = self.base.read().expect("client cache lock").clone();
        cell.get_or_init(|| async {
            let http = self.http.clone();
            let mut loader = aws_config::defaults(BehaviorVersion::latest())
                .http_client(http.clone())
                .retry_config(RetryConfig::standard());
            // What Lambda provides, taken first as the default chains would, without
            // building those chains (profile files, IMDS, SSO, web identity, containers)
            // unless the environment lacks it.
            let mut fallback = ProviderConfig::default().with_http_client(http);
            if let Some(region) = EnvironmentVariableRegionProvider::new().region().await {
                fallback = fallback.with_region(Some(region.clone()));
                loader = loader.region(region);
            }
            loader = loader.credentials_provider(EnvironmentFirst::new(fallback));
            Arc::new(without_loops(loader.load().await, &self.own_listeners))
        })
        .await
        .clone()
    }

    /// After a SnapStart restore (`restore.rs`), before the next call: every client, the base
    /// configuration with its cached credentials (Lambda swaps them at a restore) and every
    /// pooled connection (the network is not preserved across a snapshot) are dropped and made
    /// anew.
    pub fn restored(&self) {
        *self.base.write().expect("client cache lock") = Base::default();
        self.clients.invalidate_all();
        self.http.drop_connections();
        tracing::info!("restored: SDK clients, credentials and connections made anew");
    }

    /// The one HTTP client every SDK client uses (forwarded calls use it too).
    pub fn http(&self) -> &UpstreamHttp {
        &self.http
    }

    pub async fn get(&self, service: Service, target: &Target) -> Arc<CachedClient> {
        let base = self.base().await;
        let base = &*base;
        let key = ClientKey {
            service,
            target: target.clone(),
            endpoint: base.endpoint_url().map(str::to_owned),
        };
        // moka records reads lazily; apply pending ones so LRU recency and LFU frequency are
        // those of the requests so far. Only upstream calls get here, never a cache hit.
        self.clients.run_pending_tasks();
        // With TinyLFU a new client may be refused admission; it is still built and used for
        // this request (and counted as a miss again next time), never an error.
        let entry = self
            .clients
            .entry(key)
            .or_insert_with(|| Arc::new(self.build(base, service, target)));
        if entry.is_fresh() {
            self.misses.incr();
            tracing::debug!(service = service.label(), region = ?target.region, role = ?target.role_arn, "created SDK client");
        } else {
            self.hits.incr();
        }
        entry.into_value()
    }

    fn build(&self, base: &SdkConfig, service: Service, target: &Target) -> CachedClient {
        // The target's own configuration: the base one with its region and identity.
        let mut conf = base.to_builder();
        if let Some(region) = &target.region {
            conf = conf.region(Region::new(region.clone()));
        }
        if let Some(role_arn) = &target.role_arn {
            let mut role = RoleCredentials::new(role_arn, base);
            if let Some(agent) = self.settings.appconfig_role.as_ref() {
                if service == Service::AppConfig && agent.arn == *role_arn {
                    role = role.with(agent.external_id.as_deref(), agent.session_name.as_deref());
                }
            }
            conf = conf.credentials_provider(SharedCredentialsProvider::new(role));
        }
        let conf = conf.build();
        let timeout = |t: Option<Duration>| {
            t.map(|t| {
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_timeout(t)
                    .build()
            })
        };
        let client = match service {
            Service::Ssm => {
                let mut b = aws_sdk_ssm::config::Builder::from(&conf);
                if let Some(t) = timeout(self.settings.ssm_timeout) {
                    b = b.timeout_config(t);
                }
                SdkClient::Ssm(aws_sdk_ssm::Client::from_conf(b.build()))
            }
            Service::SecretsManager => {
                let mut b = aws_sdk_secretsmanager::config::Builder::from(&conf);
                if let Some(t) = timeout(self.settings.secrets_timeout) {
                    b = b.timeout_config(t);
                }
                SdkClient::SecretsManager(aws_sdk_secretsmanager::Client::from_conf(b.build()))
            }
            Service::S3 => {
                let b = aws_sdk_s3::config::Builder::from(&conf)
                    .force_path_style(self.settings.s3_path_style);
                SdkClient::S3(aws_sdk_s3::Client::from_conf(b.build()))
            }
            Service::AppConfig => SdkClient::AppConfig(aws_sdk_appconfigdata::Client::new(&conf)),
        };
        let timeout = match service {
            Service::Ssm => self.settings.ssm_timeout,
            Service::SecretsManager => self.settings.secrets_timeout,
            Service::S3 | Service::AppConfig => None,
        };
        CachedClient {
            client,
            permits: Semaphore::new(self.settings.max_connections),
            connections: self.settings.max_connections,
            timeout,
        }
    }

    pub fn report(&self) -> ClientsReport {
        self.clients.run_pending_tasks();
        ClientsReport {
            policy: self.policy.as_str(),
            size: self.clients.entry_count(),
            capacity: self.clients.policy().max_capacity().unwrap_or(0),
            hits: self.hits.get(),
            misses: self.misses.get(),
            evictions: self.evictions.get(),
        }
    }
}

/// `loaded` with every endpoint that names sidecache's own listener dropped: the global
/// `AWS_ENDPOINT_URL` and the per-service ones (`AWS_ENDPOINT_URL_SSM`, ... or a profile's),
/// which the SDK reads through the service configuration (config/endpoints.rs).
fn without_loops(loaded: SdkConfig, own: &OwnListeners) -> SdkConfig {
    let endpoint = loaded
        .endpoint_url()
        .filter(|url| !own.names(url))
        .map(str::to_owned);
    let mut builder = loaded.to_builder();
    builder.set_endpoint_url(endpoint);
    builder
        .service_config(NoLoops {
            loaded,
            own: own.clone(),
        })
        .build()
}

/// The SDK's own service configuration, less the endpoints that name sidecache.
#[derive(Debug)]
struct NoLoops {
    loaded: SdkConfig,
    own: OwnListeners,
}

impl LoadServiceConfig for NoLoops {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let value = self.loaded.service_config()?.load_config(key)?;
        (!self.own.names(&value)).then_some(value)
    }
}

/// The endpoint a service's calls go to when one is configured (and does not name sidecache),
/// as the SDK's clients resolve it: the service's own variable first, then the global one.
pub fn configured_endpoint(base: &SdkConfig, service_id: &str) -> Option<String> {
    let key = ServiceConfigKey::builder()
        .service_id(service_id)
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .ok()?;
    base.service_config()
        .and_then(|config| config.load_config(key))
        .or_else(|| base.endpoint_url().map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssm_client(permits: usize, timeout: Option<Duration>) -> Arc<CachedClient> {
        let conf = aws_sdk_ssm::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .build();
        Arc::new(CachedClient {
            client: SdkClient::Ssm(aws_sdk_ssm::Client::from_conf(conf)),
            permits: Semaphore::new(permits),
            connections: permits,
            timeout,
        })
    }

    #[tokio::test]
    async fn the_wait_for_a_permit_ends_within_the_timeout() {
        let limit = Duration::from_millis(200);
        let client = ssm_client(1, Some(limit));
        // A call that holds the only permit far past the timeout.
        let holder = client.clone();
        let (held_tx, held) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let _ = holder
                .call(Service::Ssm, async |_| {
                    let _ = held_tx.send(());
                    std::future::pending::<Result<(), UpstreamError>>().await
                })
                .await;
        });
        held.await.unwrap();
        let started = std::time::Instant::now();
        // Without the bound it would wait for ever (the guard fails the test instead).
        let queued = tokio::time::timeout(
            Duration::from_secs(30),
            client.call(Service::Ssm, async |_| Ok::<_, UpstreamError>(())),
        )
        .await
        .expect("the queued call ends");
        let error = queued.expect_err("no permit within the timeout");
        assert!(
            matches!(error.kind, UpstreamErrorKind::Timeout),
            "{error:?}"
        );
        assert!(started.elapsed() >= limit);
        // Once it holds a permit, a call is not cut short by the time it waited for it: the
        // SDK's operation timeout bounds each of its operations.
        let (release_tx, release) = tokio::sync::oneshot::channel::<()>();
        let (held_tx, held) = tokio::sync::oneshot::channel();
        let limit = Duration::from_secs(1);
        let briefly = ssm_client(1, Some(limit));
        let holder = briefly.clone();
        let held_briefly = tokio::spawn(async move {
            holder
                .call(Service::Ssm, async |_| {
                    let _ = held_tx.send(());
                    let _ = release.await;
                    Ok::<_, UpstreamError>(())
                })
                .await
        });
        held.await.unwrap();
        let queued = tokio::spawn({
            let briefly = briefly.clone();
            async move {
                briefly
                    .call(Service::Ssm, async |_| {
                        // Longer than the timeout, after a wait for the permit.
                        tokio::time::sleep(limit * 3 / 2).await;
                        Ok::<_, UpstreamError>(5)
                    })
                    .await
            }
        });
        // Let the second call start waiting for the permit, then free it (well within `limit`).
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        release_tx.send(()).unwrap();
        held_briefly.await.unwrap().unwrap();
        assert_eq!(queued.await.unwrap().unwrap(), 5);
        // Without a timeout (S3, AppConfig) the call waits for its turn.
        let unbounded = ssm_client(1, None);
        assert_eq!(
            unbounded
                .call(Service::S3, async |_| Ok::<_, UpstreamError>(7))
                .await
                .unwrap(),
            7
        );
    }
}
