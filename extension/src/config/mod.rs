//! Typed configuration, read once at start-up from the environment.
//!
//! Names and defaults follow AWS's Parameters and Secrets Lambda Extension where one exists
//! (`PARAMETERS_SECRETS_EXTENSION_*`, `SSM_PARAMETER_STORE_*`, `SECRETS_MANAGER_*`); our own
//! settings use the `SIDECACHE_` prefix. `docs/configuration.md` documents every variable.

pub(crate) mod appconfig;
mod endpoints;
mod env;
mod prefetch;

pub use appconfig::{
    unread_vars as unread_appconfig_vars, AppConfigRole, AppConfigSettings, ProfileId,
};
pub use endpoints::OwnListeners;
pub use env::{Env, InvalidVar, ProcessEnv};
pub use prefetch::PrefetchItem;

use env::{edit_distance, Reader};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

pub const ENV_PORT: &str = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT";
pub const ENV_CACHE_ENABLED: &str = "PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED";
pub const ENV_CACHE_SIZE: &str = "PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE";
pub const ENV_MAX_CONNECTIONS: &str = "PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS";
pub const ENV_LOG_LEVEL: &str = "PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL";
pub const ENV_SSM_TTL: &str = "SSM_PARAMETER_STORE_TTL";
pub const ENV_SECRETS_TTL: &str = "SECRETS_MANAGER_TTL";
pub const ENV_SSM_TIMEOUT: &str = "SSM_PARAMETER_STORE_TIMEOUT_MILLIS";
pub const ENV_SECRETS_TIMEOUT: &str = "SECRETS_MANAGER_TIMEOUT_MILLIS";
pub const ENV_LISTEN: &str = "SIDECACHE_LISTEN";
pub const ENV_TOKEN: &str = "SIDECACHE_TOKEN";
pub const ENV_TOKEN_FILE: &str = "SIDECACHE_TOKEN_FILE";
pub const ENV_CACHE_MAX_BYTES: &str = "SIDECACHE_CACHE_MAX_BYTES";
pub const ENV_CLIENT_CACHE_SIZE: &str = "SIDECACHE_CLIENT_CACHE_SIZE";
pub const ENV_CLIENT_CACHE_POLICY: &str = "SIDECACHE_CLIENT_CACHE_POLICY";
pub const ENV_S3_TTL: &str = "SIDECACHE_S3_TTL";
pub const ENV_S3_DIR: &str = "SIDECACHE_S3_DIR";
pub const ENV_S3_MAX_BYTES: &str = "SIDECACHE_S3_MAX_BYTES";
pub const ENV_S3_MAX_OBJECT_BYTES: &str = "SIDECACHE_S3_MAX_OBJECT_BYTES";
pub const ENV_S3_PATH_STYLE: &str = "SIDECACHE_S3_PATH_STYLE";
pub const ENV_STALE_IF_ERROR: &str = "SIDECACHE_STALE_IF_ERROR";
pub const ENV_NEGATIVE_TTL: &str = "SIDECACHE_NEGATIVE_TTL";
pub const ENV_PREFETCH: &str = "SIDECACHE_PREFETCH";
pub const ENV_LOG_FORMAT: &str = "SIDECACHE_LOG_FORMAT";
pub const ENV_HEADER_TIMEOUT: &str = "SIDECACHE_HEADER_TIMEOUT";
pub const ENV_IDLE_TIMEOUT: &str = "SIDECACHE_IDLE_TIMEOUT";
pub const ENV_MAX_CLIENT_CONNECTIONS: &str = "SIDECACHE_MAX_CLIENT_CONNECTIONS";
pub const ENV_REFRESH_AHEAD: &str = "SIDECACHE_REFRESH_AHEAD";
pub const ENV_TTL_JITTER: &str = "SIDECACHE_TTL_JITTER";
pub const ENV_METRICS: &str = "SIDECACHE_METRICS";
pub const ENV_METRICS_NAMESPACE: &str = "SIDECACHE_METRICS_NAMESPACE";
pub const ENV_PREFETCH_AT_INIT: &str = "SIDECACHE_PREFETCH_AT_INIT";
/// A second listener on AWS Systems Manager Cloud Extensions' port (5333), off by default.
pub const ENV_CLOUD_EXTENSIONS_PORT: &str = "SIDECACHE_CLOUD_EXTENSIONS_PORT";
/// Read, not owned: set by Lambda or by the user for the SDK.
pub const ENV_RUNTIME_API: &str = "AWS_LAMBDA_RUNTIME_API";
pub const ENV_SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
pub const ENV_LAMBDA_LOG_LEVEL: &str = "AWS_LAMBDA_LOG_LEVEL";
pub const ENV_LAMBDA_LOG_FORMAT: &str = "AWS_LAMBDA_LOG_FORMAT";
pub const ENV_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
pub const ENV_ENDPOINT_URL_S3: &str = "AWS_ENDPOINT_URL_S3";
pub const ENV_REGION: &str = "AWS_REGION";
pub const ENV_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
pub const ENV_CA_BUNDLE: &str = "AWS_CA_BUNDLE";
pub const ENV_SSL_CERT_FILE: &str = "SSL_CERT_FILE";
pub const ENV_FUNCTION_NAME: &str = "AWS_LAMBDA_FUNCTION_NAME";
/// `on-demand`, `provisioned-concurrency`, `snap-start` or `lambda-managed-instances`.
pub const ENV_INITIALIZATION_TYPE: &str = "AWS_LAMBDA_INITIALIZATION_TYPE";
/// The Secrets Manager Agent's token variable: a value, or `file://<path>`.
pub const ENV_AWS_TOKEN: &str = "AWS_TOKEN";
/// Container credentials (SnapStart, ECS): the endpoint, and the token that calls it.
pub const ENV_CONTAINER_CREDENTIALS_FULL_URI: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
pub const ENV_CONTAINER_AUTHORIZATION_TOKEN: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";

/// Every variable with one of our prefixes that the program reads; anything else with those
/// prefixes is a typo and gets a warning naming the closest of these.
pub const KNOWN_VARS: &[&str] = &[
    ENV_PORT,
    ENV_CACHE_ENABLED,
    ENV_CACHE_SIZE,
    ENV_MAX_CONNECTIONS,
    ENV_LOG_LEVEL,
    ENV_LISTEN,
    ENV_TOKEN,
    ENV_TOKEN_FILE,
    ENV_CACHE_MAX_BYTES,
    ENV_CLIENT_CACHE_SIZE,
    ENV_CLIENT_CACHE_POLICY,
    ENV_S3_TTL,
    ENV_S3_DIR,
    ENV_S3_MAX_BYTES,
    ENV_S3_MAX_OBJECT_BYTES,
    ENV_S3_PATH_STYLE,
    ENV_STALE_IF_ERROR,
    ENV_NEGATIVE_TTL,
    ENV_PREFETCH,
    ENV_LOG_FORMAT,
    ENV_HEADER_TIMEOUT,
    ENV_IDLE_TIMEOUT,
    ENV_MAX_CLIENT_CONNECTIONS,
    ENV_REFRESH_AHEAD,
    ENV_TTL_JITTER,
    ENV_METRICS,
    ENV_METRICS_NAMESPACE,
    ENV_PREFETCH_AT_INIT,
    ENV_CLOUD_EXTENSIONS_PORT,
];
const OWN_PREFIXES: &[&str] = &["SIDECACHE_", "PARAMETERS_SECRETS_EXTENSION_"];

pub const DEFAULT_PORT: u64 = 2773;
/// AWS Systems Manager Cloud Extensions' port, for `SIDECACHE_CLOUD_EXTENSIONS_PORT=5333`.
pub const CLOUD_EXTENSIONS_PORT: u16 = 5333;
pub const DEFAULT_CACHE_SIZE: u64 = 1000;
pub const DEFAULT_MAX_CONNECTIONS: u64 = 3;
pub const DEFAULT_TTL_SECONDS: u64 = 300;
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 64 << 20;
pub const DEFAULT_CLIENT_CACHE_SIZE: u64 = 16;
pub const DEFAULT_S3_DIR: &str = "/tmp/sidecache/s3";
/// Half of Lambda's default 512 MB of `/tmp`.
pub const DEFAULT_S3_MAX_BYTES: u64 = 256 << 20;
pub const DEFAULT_S3_MAX_OBJECT_BYTES: u64 = 128 << 20;
pub const DEFAULT_STALE_IF_ERROR_SECONDS: u64 = 3600;
pub const DEFAULT_HEADER_TIMEOUT_SECONDS: u64 = 10;
pub const DEFAULT_IDLE_TIMEOUT_SECONDS: u64 = 60;
/// Below Lambda's 1,024 file descriptors, leaving room for upstream connections and files.
pub const DEFAULT_MAX_CLIENT_CONNECTIONS: u64 = 900;
pub const DEFAULT_REFRESH_AHEAD: f64 = 0.8;
pub const DEFAULT_TTL_JITTER_PERCENT: u64 = 10;
pub const MAX_TTL_JITTER_PERCENT: u64 = 50;
pub const DEFAULT_METRICS_NAMESPACE: &str = "sidecache";
/// CloudWatch namespaces: at most 255 characters.
const MAX_NAMESPACE: usize = 255;

/// Where counts go besides `/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsMode {
    /// CloudWatch Embedded Metric Format lines on stdout.
    Emf,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientCachePolicy {
    Lru,
    Lfu,
}

impl ClientCachePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lru => "lru",
            Self::Lfu => "lfu",
        }
    }
}

/// Where the expected value of the token header comes from (resolved by `auth`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenConfig {
    Value(String),
    File(PathBuf),
    /// `AWS_SESSION_TOKEN` from the environment.
    SessionToken(String),
    /// None of those: the session token the SDK credential chain resolves. With container
    /// credentials (SnapStart), `AWS_CONTAINER_AUTHORIZATION_TOKEN` is accepted too, as the
    /// handler has that value, and the session token is resolved only when first presented.
    CredentialChain {
        container_token: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub port: u16,
    pub listen: Vec<IpAddr>,
    /// A second listener serving the same API (Cloud Extensions' port), if asked for.
    pub cloud_extensions_port: Option<u16>,
    /// Where sidecache listens, so that an endpoint variable naming it is not followed.
    pub own_listeners: OwnListeners,
    /// Endpoint variables that name sidecache itself, ignored for its upstream calls.
    pub endpoints_naming_us: Vec<(&'static str, String)>,
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`: the region values are read in by default.
    pub region: Option<String>,
    /// The AppConfig Agent's variables (`AWS_APPCONFIG_EXTENSION_*`).
    pub appconfig: AppConfigSettings,
    pub cache_enabled: bool,
    pub cache_size: u64,
    pub cache_max_bytes: u64,
    pub max_connections: usize,
    pub log_level: LogLevel,
    pub log_format: LogFormat,
    pub ssm_ttl: Duration,
    pub secrets_ttl: Duration,
    pub s3_ttl: Duration,
    pub ssm_timeout: Option<Duration>,
    pub secrets_timeout: Option<Duration>,
    pub token: TokenConfig,
    pub client_cache_size: u64,
    pub client_cache_policy: ClientCachePolicy,
    pub s3_dir: PathBuf,
    pub s3_max_bytes: u64,
    pub s3_max_object_bytes: u64,
    pub s3_path_style: bool,
    pub stale_if_error: Duration,
    pub negative_ttl: Duration,
    pub prefetch: Vec<PrefetchItem>,
    /// Whether `prefetch` runs during INIT; otherwise at the first request or the first
    /// SnapStart restore, whichever comes first (the default under SnapStart: values fetched
    /// during INIT would be written into the snapshot, and are expired at restore anyway).
    pub prefetch_at_init: bool,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_client_connections: usize,
    /// `AWS_CA_BUNDLE`, else `SSL_CERT_FILE`: trusted instead of the system roots.
    pub ca_bundle: Option<PathBuf>,
    /// Fraction of the TTL after which a hit also refreshes in the background; 0 = off.
    pub refresh_ahead: f64,
    /// Each stored entry's TTL is shortened by a random share up to this percent.
    pub ttl_jitter_percent: u64,
    pub metrics: MetricsMode,
    pub metrics_namespace: String,
    /// `AWS_LAMBDA_FUNCTION_NAME`: the metrics' dimension.
    pub function_name: Option<String>,
}

/// Every invalid variable, so one failed start-up reports them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub Vec<InvalidVar>);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid configuration: ")?;
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, "; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    pub fn from_env(env: &dyn Env) -> Result<Config, ConfigError> {
        let mut r = Reader::new(env);
        let port = r.u64_in(ENV_PORT, DEFAULT_PORT, 1, 65535) as u16;
        let listen = read_listen(&mut r);
        let cloud_extensions_port = r
            .raw(ENV_CLOUD_EXTENSIONS_PORT)
            .map(|_| r.u64_in(ENV_CLOUD_EXTENSIONS_PORT, 0, 1, 65535) as u16);
        let appconfig = appconfig::read(&mut r);
        let own_listeners = OwnListeners {
            ports: [Some(port), cloud_extensions_port, appconfig.agent_port]
                .into_iter()
                .flatten()
                .collect(),
            addresses: listen.clone(),
        };
        let endpoints_naming_us = endpoints::naming_us(&mut r, &own_listeners);
        let region = r.raw(ENV_REGION).or_else(|| r.raw(ENV_DEFAULT_REGION));
        let cache_enabled = r.bool(ENV_CACHE_ENABLED, true);
        let cache_size = r.u64_in(ENV_CACHE_SIZE, DEFAULT_CACHE_SIZE, 0, 10_000_000);
        let cache_max_bytes = r.bytes(ENV_CACHE_MAX_BYTES, DEFAULT_CACHE_MAX_BYTES, 1024);
        let max_connections = r.u64_in(ENV_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS, 1, 1000);
        let (log_level, log_format) = read_logging(&mut r);
        let ssm_ttl = r.seconds(ENV_SSM_TTL, DEFAULT_TTL_SECONDS);
        let secrets_ttl = r.seconds(ENV_SECRETS_TTL, DEFAULT_TTL_SECONDS);
        let s3_ttl = r.seconds(ENV_S3_TTL, DEFAULT_TTL_SECONDS);
        let ssm_timeout = Some(r.millis(ENV_SSM_TIMEOUT, 0)).filter(|d| !d.is_zero());
        let secrets_timeout = Some(r.millis(ENV_SECRETS_TIMEOUT, 0)).filter(|d| !d.is_zero());
        let token = read_token(&mut r);
        let client_cache_size =
            r.u64_in(ENV_CLIENT_CACHE_SIZE, DEFAULT_CLIENT_CACHE_SIZE, 1, 10_000);
        let client_cache_policy = r.parse(
            ENV_CLIENT_CACHE_POLICY,
            ClientCachePolicy::Lru,
            "lru or lfu",
            |v| match v.to_ascii_lowercase().as_str() {
                "lru" => Some(ClientCachePolicy::Lru),
                "lfu" => Some(ClientCachePolicy::Lfu),
                _ => None,
            },
        );
        let s3_dir = r.parse(
            ENV_S3_DIR,
            PathBuf::from(DEFAULT_S3_DIR),
            "an absolute path",
            |v| Some(PathBuf::from(v)).filter(|p| p.is_absolute()),
        );
        let s3_max_bytes = r.bytes(ENV_S3_MAX_BYTES, DEFAULT_S3_MAX_BYTES, 1024);
        let s3_max_object_bytes = r.bytes(ENV_S3_MAX_OBJECT_BYTES, DEFAULT_S3_MAX_OBJECT_BYTES, 1);
        // moto and other local endpoints only work path-style; real S3 prefers virtual hosts.
        let endpoint_override = [ENV_ENDPOINT_URL, ENV_ENDPOINT_URL_S3]
            .into_iter()
            .any(|name| r.raw(name).is_some_and(|url| !own_listeners.names(&url)));
        let s3_path_style = r.bool(ENV_S3_PATH_STYLE, endpoint_override);
        let stale_if_error = r.seconds(ENV_STALE_IF_ERROR, DEFAULT_STALE_IF_ERROR_SECONDS);
        let negative_ttl = r.seconds(ENV_NEGATIVE_TTL, 0);
        let prefetch = prefetch::read(&mut r, ENV_PREFETCH);
        let snap_start = r
            .raw(ENV_INITIALIZATION_TYPE)
            .is_some_and(|t| t.eq_ignore_ascii_case("snap-start"));
        let prefetch_at_init = r.bool(ENV_PREFETCH_AT_INIT, !snap_start);
        // 0 would close every connection at once: at least one second each.
        let header_timeout = Duration::from_secs(r.u64_in(
            ENV_HEADER_TIMEOUT,
            DEFAULT_HEADER_TIMEOUT_SECONDS,
            1,
            3600,
        ));
        let idle_timeout = Duration::from_secs(r.u64_in(
            ENV_IDLE_TIMEOUT,
            DEFAULT_IDLE_TIMEOUT_SECONDS,
            1,
            86_400,
        ));
        let max_client_connections = r.u64_in(
            ENV_MAX_CLIENT_CONNECTIONS,
            DEFAULT_MAX_CLIENT_CONNECTIONS,
            1,
            1_000_000,
        ) as usize;
        let ca_bundle = read_ca_bundle(&mut r);
        let refresh_ahead = r.parse(
            ENV_REFRESH_AHEAD,
            DEFAULT_REFRESH_AHEAD,
            "a fraction of the TTL from 0 (off) to 1, e.g. 0.8",
            |v| v.parse::<f64>().ok().filter(|f| (0.0..=1.0).contains(f)),
        );
        let ttl_jitter_percent = r.u64_in(
            ENV_TTL_JITTER,
            DEFAULT_TTL_JITTER_PERCENT,
            0,
            MAX_TTL_JITTER_PERCENT,
        );
        // Off everywhere, Lambda included: CloudWatch bills each custom metric per dimension
        // set (six metrics per function), a cost an operator must choose, not inherit.
        let metrics = r.parse(ENV_METRICS, MetricsMode::Off, "emf or off", |v| {
            match v.to_ascii_lowercase().as_str() {
                "emf" => Some(MetricsMode::Emf),
                "off" | "none" => Some(MetricsMode::Off),
                _ => None,
            }
        });
        let metrics_namespace = r.parse(
            ENV_METRICS_NAMESPACE,
            DEFAULT_METRICS_NAMESPACE.to_owned(),
            "a CloudWatch namespace: 1 to 255 characters, no ':' at the start, printable ASCII",
            |v| {
                let ok = v.len() <= MAX_NAMESPACE
                    && !v.starts_with(':')
                    && v.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
                ok.then(|| v.to_owned())
            },
        );
        // Inside Lambda nothing outside the execution environment should reach the cache.
        let in_lambda = runtime_api(env).is_some();
        if in_lambda && listen.iter().any(|ip| !ip.is_loopback()) {
            r.errors.push(InvalidVar {
                name: ENV_LISTEN,
                value: r.raw(ENV_LISTEN).unwrap_or_default(),
                expected: "loopback addresses only inside Lambda (non-loopback is for standalone sidecars)".to_owned(),
            });
        }

        if !r.errors.is_empty() {
            return Err(ConfigError(r.errors));
        }
        Ok(Config {
            port,
            listen,
            cloud_extensions_port,
            own_listeners,
            endpoints_naming_us,
            region,
            appconfig,
            cache_enabled,
            cache_size,
            cache_max_bytes,
            max_connections: max_connections as usize,
            log_level,
            log_format,
            ssm_ttl,
            secrets_ttl,
            s3_ttl,
            ssm_timeout,
            secrets_timeout,
            token,
            client_cache_size,
            client_cache_policy,
            s3_dir,
            s3_max_bytes,
            s3_max_object_bytes,
            s3_path_style,
            stale_if_error,
            negative_ttl,
            prefetch,
            prefetch_at_init,
            header_timeout,
            idle_timeout,
            max_client_connections,
            ca_bundle,
            refresh_ahead,
            ttl_jitter_percent,
            metrics,
            metrics_namespace,
            function_name: r.raw(ENV_FUNCTION_NAME),
        })
    }

    /// Whether values are cached at all; otherwise every request is one upstream call.
    pub fn caching(&self) -> bool {
        self.cache_enabled && self.cache_size > 0
    }
}

/// The Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`: `host:port`, `http://host:port` or
/// `http://host:port/prefix`, see `ExtensionsApi::new`); `None` means standalone.
/// Read apart from [`Config`] because a failed configuration is still reported to Lambda.
pub fn runtime_api(env: &dyn Env) -> Option<String> {
    Reader::new(env).raw(ENV_RUNTIME_API)
}

/// Log settings alone, read leniently before the rest so that configuration errors themselves
/// are logged in the requested format. Invalid values are reported by [`Config::from_env`].
pub fn logging_from_env(env: &dyn Env) -> (LogLevel, LogFormat) {
    read_logging(&mut Reader::new(env))
}

fn read_logging(r: &mut Reader) -> (LogLevel, LogFormat) {
    let expected = "debug, info, warn, error or none";
    let level = match r.raw(ENV_LOG_LEVEL) {
        Some(_) => r.parse(ENV_LOG_LEVEL, LogLevel::Info, expected, parse_level),
        // Lambda's advanced logging controls; unknown values fall back quietly as they are
        // Lambda's to validate, not ours.
        None => r
            .raw(ENV_LAMBDA_LOG_LEVEL)
            .and_then(|v| parse_level(&v))
            .unwrap_or(LogLevel::Info),
    };
    let lambda_format = r
        .raw(ENV_LAMBDA_LOG_FORMAT)
        .filter(|v| v.eq_ignore_ascii_case("json"))
        .map_or(LogFormat::Text, |_| LogFormat::Json);
    let format = r.parse(ENV_LOG_FORMAT, lambda_format, "text or json", |v| {
        match v.to_ascii_lowercase().as_str() {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    });
    (level, format)
}

fn parse_level(value: &str) -> Option<LogLevel> {
    match value.to_ascii_lowercase().as_str() {
        "trace" | "debug" => Some(LogLevel::Debug),
        "info" => Some(LogLevel::Info),
        "warn" | "warning" => Some(LogLevel::Warn),
        "error" | "fatal" => Some(LogLevel::Error),
        "none" | "off" => Some(LogLevel::None),
        _ => None,
    }
}

fn read_listen(r: &mut Reader) -> Vec<IpAddr> {
    let loopback = vec![
        IpAddr::from([127, 0, 0, 1]),
        IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
    ];
    r.parse(
        ENV_LISTEN,
        loopback,
        "a comma-separated list of IP addresses, e.g. 127.0.0.1 or 0.0.0.0",
        |v| {
            v.split(',')
                .map(|a| a.trim().trim_matches(['[', ']']).parse::<IpAddr>().ok())
                .collect()
        },
    )
}

/// Checked now (a missing file is a configuration error) but read only when the first TLS
/// connection is made.
fn read_ca_bundle(r: &mut Reader) -> Option<PathBuf> {
    let (name, path) = [ENV_CA_BUNDLE, ENV_SSL_CERT_FILE]
        .into_iter()
        .find_map(|name| Some((name, r.raw(name)?)))?;
    if !std::path::Path::new(&path).is_file() {
        r.errors.push(InvalidVar {
            name,
            value: path.clone(),
            expected: "a readable file of PEM certificates".to_owned(),
        });
    }
    Some(PathBuf::from(path))
}

fn read_token(r: &mut Reader) -> TokenConfig {
    if let Some(value) = r.raw(ENV_TOKEN) {
        return TokenConfig::Value(value);
    }
    if let Some(path) = r.raw(ENV_TOKEN_FILE) {
        return token_file(r, ENV_TOKEN_FILE, &path);
    }
    // The Secrets Manager Agent's variable, so that its users' set-up carries over.
    if let Some(value) = r.raw(ENV_AWS_TOKEN) {
        return match value.strip_prefix("file://") {
            Some(path) => token_file(r, ENV_AWS_TOKEN, path),
            None => TokenConfig::Value(value),
        };
    }
    if let Some(token) = r.raw(ENV_SESSION_TOKEN) {
        return TokenConfig::SessionToken(token);
    }
    let container_token = r
        .raw(ENV_CONTAINER_AUTHORIZATION_TOKEN)
        .filter(|_| r.raw(ENV_CONTAINER_CREDENTIALS_FULL_URI).is_some());
    TokenConfig::CredentialChain { container_token }
}

/// A token file, checked readable and non-empty now (re-read by `auth` when it changes).
fn token_file(r: &mut Reader, name: &'static str, path: &str) -> TokenConfig {
    let readable = std::fs::read_to_string(path)
        .map(|s| !s.trim().is_empty())
        .unwrap_or(false);
    if !readable {
        r.errors.push(InvalidVar {
            name,
            value: path.to_owned(),
            expected: "a readable file holding a non-empty token".to_owned(),
        });
    }
    TokenConfig::File(PathBuf::from(path))
}

/// Variables with our prefixes that we do not read, each with the closest known name.
pub fn unknown_vars(env: &dyn Env) -> Vec<(String, &'static str)> {
    let mut unknown: Vec<(String, &'static str)> = env
        .names()
        .into_iter()
        .filter(|name| OWN_PREFIXES.iter().any(|p| name.starts_with(p)))
        .filter(|name| !KNOWN_VARS.contains(&name.as_str()))
        .map(|name| {
            let closest = KNOWN_VARS
                .iter()
                .min_by_key(|known| edit_distance(&name, known))
                .copied()
                .unwrap_or(ENV_PORT);
            (name, closest)
        })
        .collect();
    unknown.sort();
    unknown
}

#[cfg(test)]
mod tests;
