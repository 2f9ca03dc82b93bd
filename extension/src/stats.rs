//! Counters behind `GET /stats`. Plain relaxed atomics: they are statistics, not
//! synchronisation, and the hit path must not contend on a lock to update them.

use crate::config::Config;
use crate::model::Service;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn incr(&self) {
        self.0.fetch_add(1, Relaxed);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Relaxed);
    }
    pub fn sub(&self, n: u64) {
        // Saturating: a removal listener may run for an entry counted before a reset.
        let _ = self
            .0
            .fetch_update(Relaxed, Relaxed, |v| Some(v.saturating_sub(n)));
    }
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

#[derive(Debug, Default)]
pub struct UpstreamCounters {
    pub calls: Counter,
    pub errors: Counter,
    /// Errors classified as throttling once the SDK's retries were spent (a subset of errors).
    pub throttles: Counter,
}

/// Shared by the value cache, the client cache and the providers.
#[derive(Debug, Default)]
pub struct Stats {
    pub hits: Counter,
    pub misses: Counter,
    pub stale: Counter,
    /// Background refreshes started by hits on ageing entries (`SIDECACHE_REFRESH_AHEAD`).
    pub refreshes_ahead: Counter,
    pub ssm: UpstreamCounters,
    pub secrets_manager: UpstreamCounters,
    pub s3: UpstreamCounters,
    pub appconfig: UpstreamCounters,
}

impl Stats {
    pub fn upstream(&self, service: Service) -> &UpstreamCounters {
        match service {
            Service::Ssm => &self.ssm,
            Service::SecretsManager => &self.secrets_manager,
            Service::S3 => &self.s3,
            Service::AppConfig => &self.appconfig,
        }
    }
}

/// The `/stats` document. Field names are camelCase like the rest of our additive API.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsReport {
    pub version: &'static str,
    pub uptime_seconds: u64,
    pub cache: CacheReport,
    pub upstream: UpstreamReport,
    pub clients: ClientsReport,
    pub s3: S3Report,
    pub appconfig: AppConfigReport,
}

/// `/stats`' `appconfig` section.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppConfigReport {
    pub profiles: usize,
    pub hits: u64,
    pub polls: u64,
    pub sessions: u64,
    pub served_stale: u64,
    pub poll_interval_seconds: u64,
    pub poll_timeout_ms: u64,
}

/// The configured bounds, in the units of the variables that set them: what an operator set
/// and can compare `entries`/`bytes` with (moka's internal weight capacity is not one of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// `PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE` entries; 0 when caching is off.
    pub cache_entries: u64,
    /// `SIDECACHE_CACHE_MAX_BYTES`.
    pub cache_bytes: u64,
    /// `SIDECACHE_S3_MAX_BYTES`.
    pub s3_bytes: u64,
    /// `SIDECACHE_S3_MAX_OBJECT_BYTES` as enforced: never above the directory's budget, since a
    /// larger object could never stay cached.
    pub s3_object_bytes: u64,
}

impl Bounds {
    pub fn of(config: &Config) -> Self {
        Bounds {
            cache_entries: if config.caching() {
                config.cache_size
            } else {
                0
            },
            cache_bytes: config.cache_max_bytes,
            s3_bytes: config.s3_max_bytes,
            s3_object_bytes: config.s3_max_object_bytes.min(config.s3_max_bytes),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheReport {
    pub enabled: bool,
    pub entries: u64,
    pub max_entries: u64,
    pub bytes: u64,
    pub max_bytes: u64,
    pub hits: u64,
    pub misses: u64,
    pub hit_ratio: f64,
    pub stale: u64,
    pub refresh_ahead: u64,
    pub evictions: u64,
}

#[derive(Debug, Serialize)]
pub struct UpstreamReport {
    pub ssm: CallsReport,
    pub secretsmanager: CallsReport,
    pub s3: CallsReport,
    pub appconfig: CallsReport,
}

#[derive(Debug, Serialize)]
pub struct CallsReport {
    pub calls: u64,
    pub errors: u64,
    pub throttles: u64,
}

impl From<&UpstreamCounters> for CallsReport {
    fn from(c: &UpstreamCounters) -> Self {
        CallsReport {
            calls: c.calls.get(),
            errors: c.errors.get(),
            throttles: c.throttles.get(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientsReport {
    pub policy: &'static str,
    pub size: u64,
    /// `SIDECACHE_CLIENT_CACHE_SIZE`: clients kept at most.
    pub capacity: u64,
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Report {
    pub files: u64,
    pub bytes: u64,
    pub max_bytes: u64,
    pub max_object_bytes: u64,
    pub evictions: u64,
}

impl Stats {
    pub fn upstream_report(&self) -> UpstreamReport {
        UpstreamReport {
            ssm: (&self.ssm).into(),
            secretsmanager: (&self.secrets_manager).into(),
            s3: (&self.s3).into(),
            appconfig: (&self.appconfig).into(),
        }
    }

    pub fn hit_ratio(&self) -> f64 {
        let (hits, misses) = (self.hits.get(), self.misses.get());
        match hits + misses {
            0 => 0.0,
            total => hits as f64 / total as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Config {
        let env: HashMap<String, String> = [("SIDECACHE_TOKEN", "t")]
            .iter()
            .chain(vars)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_env(&env).unwrap()
    }

    #[test]
    fn bounds_are_the_configured_values_in_their_units() {
        let set = Bounds::of(&config(&[
            ("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", "7"),
            ("SIDECACHE_CACHE_MAX_BYTES", "2MiB"),
            ("SIDECACHE_S3_MAX_BYTES", "3MiB"),
            ("SIDECACHE_S3_MAX_OBJECT_BYTES", "1MiB"),
        ]));
        let expected = Bounds {
            cache_entries: 7,
            cache_bytes: 2 << 20,
            s3_bytes: 3 << 20,
            s3_object_bytes: 1 << 20,
        };
        assert_eq!(set, expected);
    }

    #[test]
    fn bounds_say_what_is_enforced() {
        let off = Bounds::of(&config(&[(
            "PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED",
            "false",
        )]));
        assert_eq!(off.cache_entries, 0, "caching off holds nothing");
        let capped = Bounds::of(&config(&[
            ("SIDECACHE_S3_MAX_BYTES", "2KiB"),
            ("SIDECACHE_S3_MAX_OBJECT_BYTES", "1MiB"),
        ]));
        assert_eq!(
            capped.s3_object_bytes, 2048,
            "capped at the directory budget"
        );
    }
}
