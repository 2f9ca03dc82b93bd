//! The application: what a read does between the HTTP layer and the upstream services.
//!
//! Routes parse requests and shape responses; `App` picks the cache key and TTL, and on a miss
//! fetches, counts and renders the value once, so that every later hit just sends bytes.

use crate::auth::TokenSource;
use crate::cache::{CacheKey, Entry, Freshness, Outcome, ValueCache};
use crate::config::Config;
use crate::error::{classify, AppError};
use crate::model::{Parameter, ParameterRequest, Secret, SecretRequest, Selector, Service, UpstreamError};
use crate::query::ReadOptions;
use crate::stats::{CacheReport, S3Report, Stats, StatsReport};
use crate::upstream::Upstream;
use base64::Engine;
use bytes::Bytes;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
const TEXT: &str = "text/plain; charset=utf-8";
const BINARY: &str = "application/octet-stream";

pub struct App {
    pub token: TokenSource,
    cache: ValueCache,
    upstream: Arc<dyn Upstream>,
    stats: Arc<Stats>,
    ssm_ttl: Duration,
    secrets_ttl: Duration,
    cache_max_bytes: u64,
    started_at: Instant,
}

/// Both AWS answers carry an empty `ResultMetadata` object, as the AWS extension's do.
#[derive(Serialize)]
struct ResultMetadata {}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ParameterBody<'a> {
    parameter: &'a Parameter,
    result_metadata: ResultMetadata,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SecretBody<'a> {
    #[serde(flatten)]
    secret: &'a Secret,
    result_metadata: ResultMetadata,
}

impl App {
    pub fn new(config: &Config, upstream: Arc<dyn Upstream>, token: TokenSource, stats: Arc<Stats>) -> Self {
        let max_entries = if config.caching() { config.cache_size } else { 0 };
        App {
            token,
            cache: ValueCache::new(max_entries, config.cache_max_bytes, config.stale_if_error, stats.clone()),
            upstream,
            stats,
            ssm_ttl: config.ssm_ttl,
            secrets_ttl: config.secrets_ttl,
            cache_max_bytes: config.cache_max_bytes,
            started_at: Instant::now(),
        }
    }

    pub async fn parameter(
        &self,
        request: &ParameterRequest,
        options: ReadOptions,
    ) -> Result<(Arc<Entry>, Outcome), AppError> {
        let key = CacheKey {
            service: Service::Ssm,
            name: request.name.as_str().into(),
            selector: match &request.selector {
                None => "".into(),
                Some(Selector::Version(v)) => format!("v{v}").into(),
                Some(Selector::Label(l)) => format!("l:{l}").into(),
            },
            decrypt: request.with_decryption,
            target: request.target.clone(),
        };
        let freshness = Freshness { ttl: self.ssm_ttl, max_age: options.max_age };
        self.cache
            .get_or_fetch(key, freshness, || async {
                let parameter = self.counted(Service::Ssm, self.upstream.get_parameter(request).await)?;
                let json = render(&ParameterBody { parameter: &parameter, result_metadata: ResultMetadata {} });
                let raw = Bytes::from(parameter.value.unwrap_or_default());
                Ok(Entry::new(json, raw, TEXT))
            })
            .await
    }

    pub async fn secret(&self, request: &SecretRequest, options: ReadOptions) -> Result<(Arc<Entry>, Outcome), AppError> {
        // AWSCURRENT is the default stage: asking for it by name is the same value.
        let stage = request.version_stage.as_deref().filter(|s| *s != "AWSCURRENT" || request.version_id.is_some());
        let key = CacheKey {
            service: Service::SecretsManager,
            name: request.secret_id.as_str().into(),
            selector: match (&request.version_id, stage) {
                (None, None) => "".into(),
                (id, stage) => format!("id={};stage={}", id.as_deref().unwrap_or(""), stage.unwrap_or("")).into(),
            },
            decrypt: true,
            target: request.target.clone(),
        };
        let freshness = Freshness { ttl: self.secrets_ttl, max_age: options.max_age };
        self.cache
            .get_or_fetch(key, freshness, || async {
                let secret = self.counted(Service::SecretsManager, self.upstream.get_secret(request).await)?;
                let json = render(&SecretBody { secret: &secret, result_metadata: ResultMetadata {} });
                let (raw, content_type) = match (&secret.secret_string, &secret.secret_binary) {
                    (Some(text), _) => (Bytes::from(text.clone()), TEXT),
                    (None, Some(b64)) => {
                        let bytes = base64::engine::general_purpose::STANDARD.decode(b64).unwrap_or_default();
                        (Bytes::from(bytes), BINARY)
                    }
                    (None, None) => (Bytes::new(), TEXT),
                };
                Ok(Entry::new(json, raw, content_type))
            })
            .await
    }

    /// Counts an upstream call and classifies its failure.
    fn counted<T>(&self, service: Service, result: Result<T, UpstreamError>) -> Result<T, AppError> {
        let counters = self.stats.upstream(service);
        counters.calls.incr();
        result.map_err(|error| {
            counters.errors.incr();
            tracing::debug!(service = service.label(), error = %error.message, "upstream call failed");
            classify(&error)
        })
    }

    pub fn stats_report(&self) -> StatsReport {
        let s = &self.stats;
        StatsReport {
            version: VERSION,
            uptime_seconds: self.started_at.elapsed().as_secs(),
            cache: CacheReport {
                enabled: self.cache.enabled(),
                entries: self.cache.entry_count(),
                capacity: self.cache.capacity(),
                bytes: s.bytes.get(),
                max_bytes: self.cache_max_bytes,
                hits: s.hits.get(),
                misses: s.misses.get(),
                hit_ratio: s.hit_ratio(),
                stale: s.stale.get(),
                evictions: s.evictions.get(),
            },
            upstream: s.upstream_report(),
            clients: self.upstream.clients_report(),
            s3: S3Report::default(),
        }
    }
}

fn render<T: Serialize>(body: &T) -> Bytes {
    // Serialising plain structs of strings and numbers cannot fail.
    Bytes::from(serde_json::to_vec(body).expect("response body serialises"))
}
