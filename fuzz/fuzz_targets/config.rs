//! Environment variables (config/: `Config::from_env` over a map `Env`, the AppConfig Agent's
//! variables and `SIDECACHE_PREFETCH` included).
//!
//! The input is lines `NAME=VALUE` (a later line replaces an earlier one of the same name).
//!
//! Properties: never a panic; every error names a variable that is set, and quotes (part of)
//! its value; every variable with a simple type is reported exactly when its value is bad (an
//! independent reading of each below), and read as that value when the configuration is good.

#![no_main]
use libfuzzer_sys::fuzz_target;
use sidecache::fuzzing::*;
use std::collections::HashMap;

/// Variables naming a file that is read whole: never pointed at devices or kernel files here
/// (`/dev/zero` never ends; an operator who does that gets what they asked for).
const FILE_VARS: [&str; 4] = [
    "SIDECACHE_TOKEN_FILE",
    "AWS_TOKEN",
    "AWS_CA_BUNDLE",
    "SSL_CERT_FILE",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut env: HashMap<String, String> = HashMap::new();
    for line in text.lines() {
        let (name, value) = line.split_once('=').unwrap_or((line, ""));
        if FILE_VARS.contains(&name)
            && ["/dev", "/proc", "/sys", "/run"]
                .iter()
                .any(|p| value.contains(p))
        {
            continue;
        }
        env.insert(name.to_owned(), value.to_owned());
    }
    let set = |name: &str| {
        env.get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let result = Config::from_env(&env);
    let errors = match &result {
        Ok(_) => Vec::new(),
        Err(ConfigError(errors)) => errors.clone(),
    };
    assert!(
        result.is_ok() || !errors.is_empty(),
        "an error without a variable"
    );
    for error in &errors {
        let value = set(error.name).unwrap_or_else(|| panic!("{} reported but unset", error.name));
        assert!(value.contains(error.value.as_str()), "{error}");
        assert!(!error.expected.is_empty());
    }
    for (name, check) in SIMPLE {
        let Some(value) = set(name) else { continue };
        let reported = errors.iter().any(|e| e.name == *name);
        assert_eq!(
            reported,
            !check(&value),
            "{name}={value:?}: reported {reported}"
        );
    }
    if let Ok(config) = &result {
        if let Some(port) = set("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT") {
            assert_eq!(Some(u64::from(config.port)), port.parse().ok());
        }
        if let Some(size) = set("SIDECACHE_CACHE_MAX_BYTES") {
            assert_eq!(Some(config.cache_max_bytes), size_of(&size));
        }
        if let Some(ttl) = set("SSM_PARAMETER_STORE_TTL") {
            assert_eq!(Some(config.ssm_ttl.as_secs()), ttl.parse().ok());
        }
        assert!(config.header_timeout.as_secs() >= 1 && config.idle_timeout.as_secs() >= 1);
        assert!((0.0..=1.0).contains(&config.refresh_ahead));
    }
    for (name, _) in sidecache::config::unknown_vars(&env) {
        assert!(env.contains_key(&name));
    }
    for (name, why) in sidecache::config::unread_appconfig_vars(&env) {
        assert!(env.contains_key(&name) && !why.is_empty());
    }
    let _ = sidecache::config::logging_from_env(&env);
});

type Check = fn(&str) -> bool;

fn whole(v: &str, min: u64, max: u64) -> bool {
    v.parse::<u64>().is_ok_and(|n| (min..=max).contains(&n))
}

fn boolean(v: &str) -> bool {
    ["true", "1", "yes", "false", "0", "no"]
        .iter()
        .any(|b| v.eq_ignore_ascii_case(b))
}

/// Bytes, or a number and a binary unit (`KiB`, `MB`, `g`, ...), blanks allowed between.
fn size_of(v: &str) -> Option<u64> {
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    let number: u64 = v[..digits].parse().ok()?;
    let shift = match v[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return None,
    };
    number.checked_mul(1 << shift)
}

const YEAR: u64 = 365 * 24 * 3600;

const SIMPLE: &[(&str, Check)] = &[
    ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", |v| {
        whole(v, 1, 65535)
    }),
    ("PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED", boolean),
    ("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", |v| {
        whole(v, 0, 10_000_000)
    }),
    ("PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS", |v| {
        whole(v, 1, 1000)
    }),
    ("SSM_PARAMETER_STORE_TTL", |v| whole(v, 0, YEAR)),
    ("SECRETS_MANAGER_TTL", |v| whole(v, 0, YEAR)),
    ("SIDECACHE_S3_TTL", |v| whole(v, 0, YEAR)),
    ("SSM_PARAMETER_STORE_TIMEOUT_MILLIS", |v| {
        whole(v, 0, YEAR * 1000)
    }),
    ("SECRETS_MANAGER_TIMEOUT_MILLIS", |v| {
        whole(v, 0, YEAR * 1000)
    }),
    ("SIDECACHE_CLIENT_CACHE_SIZE", |v| whole(v, 1, 10_000)),
    ("SIDECACHE_CACHE_MAX_BYTES", |v| {
        size_of(v).is_some_and(|n| n >= 1024)
    }),
    ("SIDECACHE_S3_MAX_BYTES", |v| {
        size_of(v).is_some_and(|n| n >= 1024)
    }),
    ("SIDECACHE_S3_MAX_OBJECT_BYTES", |v| {
        size_of(v).is_some_and(|n| n >= 1)
    }),
    ("SIDECACHE_S3_PATH_STYLE", boolean),
    ("SIDECACHE_STALE_IF_ERROR", |v| whole(v, 0, YEAR)),
    ("SIDECACHE_NEGATIVE_TTL", |v| whole(v, 0, YEAR)),
    ("SIDECACHE_PREFETCH_AT_INIT", boolean),
    ("SIDECACHE_HEADER_TIMEOUT", |v| whole(v, 1, 3600)),
    ("SIDECACHE_IDLE_TIMEOUT", |v| whole(v, 1, 86_400)),
    ("SIDECACHE_MAX_CLIENT_CONNECTIONS", |v| {
        whole(v, 1, 1_000_000)
    }),
    ("SIDECACHE_TTL_JITTER", |v| whole(v, 0, 50)),
    ("SIDECACHE_REFRESH_AHEAD", |v| {
        v.parse::<f64>().is_ok_and(|f| (0.0..=1.0).contains(&f))
    }),
    ("SIDECACHE_METRICS", |v| {
        ["emf", "off", "none"]
            .iter()
            .any(|m| v.eq_ignore_ascii_case(m))
    }),
    ("SIDECACHE_LOG_FORMAT", |v| {
        ["text", "json"].iter().any(|m| v.eq_ignore_ascii_case(m))
    }),
    ("SIDECACHE_CLIENT_CACHE_POLICY", |v| {
        ["lru", "lfu"].iter().any(|m| v.eq_ignore_ascii_case(m))
    }),
    ("SIDECACHE_CLOUD_EXTENSIONS_PORT", |v| whole(v, 1, 65535)),
    ("AWS_APPCONFIG_EXTENSION_HTTP_PORT", |v| {
        v.eq_ignore_ascii_case("off")
            || v.eq_ignore_ascii_case("none")
            || v.parse::<u16>().is_ok_and(|p| p > 0)
    }),
    ("PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL", |v| {
        [
            "trace", "debug", "info", "warn", "warning", "error", "fatal", "none", "off",
        ]
        .iter()
        .any(|l| v.eq_ignore_ascii_case(l))
    }),
];
