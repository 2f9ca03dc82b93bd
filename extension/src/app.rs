//! The application: what a read does between the HTTP layer and the upstream services.
//!
//! Routes parse requests and shape responses; `App` picks the cache key and TTL, and on a miss
//! fetches, counts and renders the value once, so that every later hit just sends bytes.

use crate::auth::Auth;
use crate::cache::{
    CacheKey, Entry, Lifetimes, Outcome, Refreshable, Renewal, TtlJitter, ValueCache, GIVE_UP_AFTER,
};
use crate::config::{Config, MetricsMode};
use crate::error::{classify, AppError};
use crate::metrics::Metrics;
use crate::model::{
    ForwardAnswer, ForwardRequest, ObjectFetch, ObjectRequest, Parameter, ParameterRequest,
    PathRequest, SecretRequest, Service, UpstreamError,
};
use crate::object_files::ObjectFiles;
use crate::query::{Invalidation, ReadOptions};
use crate::stats::{Bounds, CacheReport, S3Report, Stats, StatsReport};
use crate::upstream::Upstream;
use axum::http::HeaderValue;
use bytes::Bytes;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

pub mod appconfig;
mod batch;
mod batch_ahead;
mod first_request;
mod lookups;
mod render;
mod secrets_batch;

pub use first_request::FirstRequest;
use lookups::{parameter_key, secret_key};
use render::{parameter_entry, render, secret_entry, ObjectBody, ParametersBody, ResultMetadata};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const BINARY: HeaderValue = HeaderValue::from_static("application/octet-stream");
/// moka keeps S3 entries at least this long when `SIDECACHE_S3_TTL=0` (revalidate every time).
const MIN_S3_KEEP: Duration = Duration::from_secs(1);
/// Look-ups of an object whose file keeps going before it is opened (`App::object_opened`).
const OPEN_ATTEMPTS: usize = 3;

pub struct App {
    /// Who may read: the token header or a SigV4 signature.
    pub auth: Auth,
    /// The region values are read in when a request names none (`AWS_REGION`).
    pub region: Option<String>,
    /// AppConfig configurations (the AppConfig Agent's and Cloud Extensions' reads).
    pub appconfig: Arc<appconfig::AppConfigService>,
    cache: Arc<ValueCache>,
    /// S3 objects: a cache of their own, weighed by file size against `SIDECACHE_S3_MAX_BYTES`.
    objects: Arc<ValueCache>,
    files: ObjectFiles,
    upstream: Arc<dyn Upstream>,
    stats: Arc<Stats>,
    metrics: Arc<Metrics>,
    ssm_ttl: Duration,
    secrets_ttl: Duration,
    s3_ttl: Duration,
    bounds: Bounds,
    started_at: Instant,
    /// Fires the prefetch that waits for the first request (SnapStart).
    pub first_request: FirstRequest,
    /// Set shortly before the shutdown drain ends: upstream waits still in flight stop and
    /// are answered `ShuttingDown` (503), so the process exits within the deadline whatever
    /// the upstream's latency.
    cut: watch::Sender<bool>,
}

impl App {
    pub fn new(
        config: &Config,
        upstream: Arc<dyn Upstream>,
        auth: Auth,
        stats: Arc<Stats>,
    ) -> Self {
        let bounds = Bounds::of(config);
        let lifetimes = Lifetimes {
            stale_if_error: config.stale_if_error,
            negative_ttl: config.negative_ttl,
        };
        App {
            auth,
            region: config.region.clone(),
            appconfig: Arc::new(appconfig::AppConfigService::new(
                config.appconfig.clone(),
                upstream.clone(),
                stats.clone(),
            )),
            cache: Arc::new(ValueCache::new(
                Some(bounds.cache_entries),
                bounds.cache_bytes,
                lifetimes,
                renewal(config),
                stats.clone(),
            )),
            // S3 objects are bounded by their bytes on disk alone.
            objects: Arc::new(ValueCache::new(
                None,
                bounds.s3_bytes,
                lifetimes,
                renewal(config),
                stats.clone(),
            )),
            // An object larger than the whole budget could never stay cached.
            files: ObjectFiles::new(config.s3_dir.clone(), bounds.s3_object_bytes),
            upstream,
            metrics: Arc::new(Metrics::new(
                config.metrics == MetricsMode::Emf,
                config.metrics_namespace.clone(),
                config.function_name.clone(),
                stats.clone(),
                Box::new(std::io::stdout()),
            )),
            stats,
            ssm_ttl: config.ssm_ttl,
            secrets_ttl: config.secrets_ttl,
            s3_ttl: config.s3_ttl,
            bounds,
            started_at: Instant::now(),
            first_request: if config.prefetch_at_init
                || (config.prefetch.is_empty() && config.appconfig.prefetch.is_empty())
            {
                FirstRequest::default()
            } else {
                FirstRequest::armed()
            },
            cut: watch::Sender::new(false),
        }
    }

    /// Every read request, first thing: a due metrics line, the prefetch waiting for a request.
    fn on_request(&self) {
        self.metrics.on_request();
        self.first_request.on_request();
    }

    /// After a SnapStart restore (`restore.rs` decides when): credentials and tokens, SDK
    /// clients and pooled connections, and the random share of every TTL are made anew.
    /// Cached values stay: none counts as fresh after a restore (`timeline`), but stale-if-error
    /// may still use them.
    pub fn restored(&self) {
        self.auth.restored();
        self.upstream.restored();
        self.appconfig.restored();
        self.cache.restored();
        self.objects.restored();
    }

    /// Ends every upstream wait, now and from now on, with `ShuttingDown`.
    pub fn cut_upstream_calls(&self) {
        self.cut.send_replace(true);
    }

    /// `work` (an upstream call, an S3 body being written), unless upstream waits are cut first.
    async fn until_cut<F: Future>(&self, work: F) -> Result<F::Output, AppError> {
        until_cut(self.cut.subscribe(), work).await
    }

    pub async fn parameter(
        &self,
        request: &ParameterRequest,
        options: ReadOptions,
    ) -> Result<(Arc<Entry>, Outcome), AppError> {
        self.on_request();
        let (key, freshness) = self.parameter_lookup(request, options);
        let fetch = || {
            let (reader, request) = (self.reader(), request.clone());
            async move {
                let parameter = reader
                    .counted(Service::Ssm, reader.upstream.get_parameter(&request))
                    .await?;
                Ok(parameter_entry(parameter))
            }
        };
        self.cache
            .get_or_fetch(key, freshness, Refreshable(fetch))
            .await
    }

    /// Every parameter under a path, cached as one answer (one key per path, recursion and
    /// decryption flag) with the SSM TTL.
    pub async fn parameters_by_path(
        &self,
        request: &PathRequest,
        options: ReadOptions,
    ) -> Result<(Arc<Entry>, Outcome), AppError> {
        self.on_request();
        let (key, freshness) = self.path_lookup(request, options);
        let fetch = || {
            let (reader, request) = (self.reader(), request.clone());
            async move {
                let parameters = reader
                    .counted(
                        Service::Ssm,
                        reader.upstream.get_parameters_by_path(&request),
                    )
                    .await?;
                let json = render(&ParametersBody {
                    parameters: &parameters,
                    result_metadata: ResultMetadata {},
                });
                let mut entry = Entry::new(json, Bytes::new(), TEXT);
                // With no SecureString under the path, one answer serves both spellings.
                entry.decryption_neutral = parameters.iter().all(Parameter::decryption_neutral);
                Ok(entry)
            }
        };
        self.cache
            .get_or_fetch(key, freshness, Refreshable(fetch))
            .await
    }

    pub async fn secret(
        &self,
        request: &SecretRequest,
        options: ReadOptions,
    ) -> Result<(Arc<Entry>, Outcome), AppError> {
        self.on_request();
        let (key, freshness) = self.secret_lookup(request, options);
        let fetch = || {
            let (reader, request) = (self.reader(), request.clone());
            async move {
                let secret = reader
                    .counted(
                        Service::SecretsManager,
                        reader.upstream.get_secret(&request),
                    )
                    .await?;
                Ok(secret_entry(&secret))
            }
        };
        self.cache
            .get_or_fetch(key, freshness, Refreshable(fetch))
            .await
    }

    /// The EMF metrics writer (its clock is started, and its last line flushed, by lifecycle).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Creates the S3 directory and clears what an earlier process left there.
    pub fn prepare_object_dir(&self) -> std::io::Result<usize> {
        self.files.prepare()
    }

    pub async fn object(
        &self,
        request: &ObjectRequest,
        options: ReadOptions,
    ) -> Result<(Arc<Entry>, Outcome), AppError> {
        self.on_request();
        let (key, freshness) = self.object_lookup(request, options);
        self.objects
            .get_or_fetch(key, freshness, |previous: Option<Arc<Entry>>| async move {
                // Revalidate only while the file the ETag describes is still there.
                let previous = previous.filter(|p| p.file.as_ref().is_some_and(|f| f.exists()));
                let etag = previous.as_ref().and_then(|p| p.etag.as_deref());
                match (
                    self.counted(Service::S3, self.upstream.get_object(request, etag))
                        .await?,
                    previous,
                ) {
                    (ObjectFetch::NotModified, Some(previous)) => Ok(previous.renewed()),
                    (ObjectFetch::NotModified, None) => Err(classify(&UpstreamError {
                        service: Service::S3,
                        kind: crate::model::UpstreamErrorKind::Service {
                            code: None,
                            status: 502,
                        },
                        message: "S3 GetObject answered 304 to an unconditional request".into(),
                    })),
                    (ObjectFetch::Body(meta, body), _) => {
                        let path = self.files.path_for(
                            &request.bucket,
                            &request.key,
                            request.version_id.as_deref(),
                        );
                        let file = self
                            .until_cut(self.files.download(&path, &meta, body))
                            .await??;
                        let json = render(&ObjectBody {
                            path: &path.to_string_lossy(),
                            bucket: &request.bucket,
                            key: &request.key,
                            version_id: meta.version_id.as_deref(),
                            etag: meta.etag.as_deref(),
                            size: file.size,
                            last_modified: meta.last_modified.as_deref(),
                            content_type: meta.content_type.as_deref(),
                            presentation: &meta.presentation,
                        });
                        let content_type = meta
                            .content_type
                            .as_deref()
                            .and_then(|c| HeaderValue::from_str(c).ok())
                            .unwrap_or(BINARY);
                        Ok(Entry::new(json, Bytes::new(), content_type).with_file(file, meta.etag))
                    }
                }
            })
            .await
    }

    /// The object's entry and its file, opened: the file of an entry can go between the look-up
    /// and the open (evicted, invalidated, or a newer version renamed over it). Then the object
    /// is looked up again, revalidated with S3 (a conditional GET when a newer file is there, a
    /// fetch when none is), up to `OPEN_ATTEMPTS` times; a reader never sees a half-replaced
    /// file and never a storage error for a file that was only replaced. `None` for an entry
    /// without a file.
    pub async fn object_opened(
        &self,
        request: &ObjectRequest,
        options: ReadOptions,
    ) -> Result<(Arc<Entry>, Outcome, Option<std::fs::File>), AppError> {
        let mut options = options;
        for _ in 0..OPEN_ATTEMPTS {
            let (entry, outcome) = self.object(request, options).await?;
            let Some(file) = &entry.file else {
                return Ok((entry, outcome, None));
            };
            if let Some(opened) = file.open_current() {
                return Ok((entry, outcome, Some(opened)));
            }
            options.max_age = Some(Duration::ZERO);
        }
        Err(AppError::ObjectChanging {
            attempts: OPEN_ATTEMPTS,
        })
    }

    /// Drops cached values (and S3 files); returns how many entries went.
    pub fn invalidate(&self, what: &Invalidation) -> u64 {
        let matches = |key: &CacheKey| match what {
            Invalidation::All => true,
            Invalidation::Name { kind, name } => {
                kind.is_none_or(|k| k == key.service)
                    && lookups::same_value(key.service, &key.name, name)
            }
            Invalidation::Prefix { kind, prefix } => {
                kind.is_none_or(|k| k == key.service) && key.name.starts_with(prefix.as_str())
            }
        };
        let count = self.cache.invalidate(matches) + self.objects.invalidate(matches);
        tracing::info!(?what, count, "invalidated");
        count
    }

    /// An AWS JSON 1.1 call passed through to its service (`awsapi`), counted as an upstream
    /// call; AWS's answer, whatever its status.
    pub async fn forward(&self, request: &ForwardRequest) -> Result<ForwardAnswer, AppError> {
        self.counted(request.service, self.upstream.forward(request))
            .await
    }

    /// After a write through sidecache: drops every cached value of these names (any
    /// selector, region or decryption flag), for SSM the by-path trees they sit under, and for
    /// a secret its Parameter Store reference (`/aws/reference/secretsmanager/<id>`).
    pub fn invalidate_written(&self, service: Service, names: &[String]) -> u64 {
        if names.is_empty() {
            return 0;
        }
        let count = self.cache.invalidate(|key| {
            names.iter().any(|name| {
                if key.service == service {
                    lookups::same_value(service, &key.name, name)
                        || (lookups::is_tree(key) && name.starts_with(&*key.name))
                } else {
                    let reference = key.name.strip_prefix(crate::query::SECRETS_REFERENCE);
                    service == Service::SecretsManager
                        && key.service == Service::Ssm
                        && reference.is_some_and(|id| {
                            lookups::same_value(Service::SecretsManager, id, name)
                        })
                }
            })
        });
        tracing::info!(
            service = service.label(),
            names = names.len(),
            count,
            "invalidated after a write"
        );
        count
    }

    /// Makes an upstream call unless upstream waits are cut (shutdown), counts it and
    /// classifies its failure.
    async fn counted<T>(
        &self,
        service: Service,
        call: impl Future<Output = Result<T, UpstreamError>>,
    ) -> Result<T, AppError> {
        counted(&self.stats, self.cut.subscribe(), service, call).await
    }

    /// What a fetch needs to outlive the request that started it (a refresh-ahead).
    fn reader(&self) -> Reader {
        Reader {
            upstream: self.upstream.clone(),
            stats: self.stats.clone(),
            cut: self.cut.subscribe(),
        }
    }

    pub fn stats_report(&self) -> StatsReport {
        let s = &self.stats;
        StatsReport {
            version: VERSION,
            uptime_seconds: self.started_at.elapsed().as_secs(),
            cache: CacheReport {
                enabled: self.cache.enabled(),
                entries: self.cache.entry_count(),
                max_entries: self.bounds.cache_entries,
                bytes: self.cache.bytes(),
                max_bytes: self.bounds.cache_bytes,
                hits: s.hits.get(),
                misses: s.misses.get(),
                hit_ratio: s.hit_ratio(),
                stale: s.stale.get(),
                refresh_ahead: s.refreshes_ahead.get(),
                evictions: self.cache.evictions(),
            },
            upstream: s.upstream_report(),
            clients: self.upstream.clients_report(),
            s3: S3Report {
                files: self.objects.entry_count(),
                bytes: self.objects.bytes(),
                max_bytes: self.bounds.s3_bytes,
                max_object_bytes: self.bounds.s3_object_bytes,
                evictions: self.objects.evictions(),
            },
            appconfig: self.appconfig.report(),
        }
    }
}

/// The upstream, the counters and the shutdown cut, owned: fetches that may run in the
/// background use these.
struct Reader {
    upstream: Arc<dyn Upstream>,
    stats: Arc<Stats>,
    cut: watch::Receiver<bool>,
}

impl Reader {
    async fn counted<T>(
        &self,
        service: Service,
        call: impl Future<Output = Result<T, UpstreamError>>,
    ) -> Result<T, AppError> {
        counted(&self.stats, self.cut.clone(), service, call).await
    }
}

/// `work` (an upstream call, an S3 body being written), unless upstream waits are cut first.
async fn until_cut<F: Future>(
    mut cut: watch::Receiver<bool>,
    work: F,
) -> Result<F::Output, AppError> {
    tokio::select! {
        biased;
        output = work => Ok(output),
        Ok(_) = cut.wait_for(|cut| *cut) => Err(AppError::ShuttingDown),
    }
}

/// Makes an upstream call unless upstream waits are cut (shutdown), counts it (throttles too)
/// and classifies its failure.
async fn counted<T>(
    stats: &Stats,
    cut: watch::Receiver<bool>,
    service: Service,
    call: impl Future<Output = Result<T, UpstreamError>>,
) -> Result<T, AppError> {
    let counters = stats.upstream(service);
    counters.calls.incr();
    until_cut(cut, call).await?.map_err(|error| {
        counters.errors.incr();
        tracing::debug!(service = service.label(), error = %error.message, "upstream call failed");
        let error = classify(&error);
        if error.status() == axum::http::StatusCode::TOO_MANY_REQUESTS {
            counters.throttles.incr();
        }
        error
    })
}

/// Refresh-ahead and TTL jitter as configured; each cache draws its own random sequence.
fn renewal(config: &Config) -> Renewal {
    Renewal {
        refresh_ahead: config.refresh_ahead,
        jitter: TtlJitter::new(config.ttl_jitter_percent, TtlJitter::random_seed()),
        give_up_after: GIVE_UP_AFTER,
    }
}
