//! The AppConfig Agent's variables (`AWS_APPCONFIG_EXTENSION_*`), read with the meanings and in
//! the forms the agent accepts, so that a function moving from the agent's layer to sidecache
//! changes nothing (docs/appconfig.md).

use super::env::{edit_distance, Reader};
use super::Env;
use std::time::Duration;

pub const ENV_AGENT_PORT: &str = "AWS_APPCONFIG_EXTENSION_HTTP_PORT";
pub const ENV_POLL_INTERVAL: &str = "AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS";
pub const ENV_POLL_TIMEOUT: &str = "AWS_APPCONFIG_EXTENSION_POLL_TIMEOUT_MILLIS";
pub const ENV_PREFETCH_LIST: &str = "AWS_APPCONFIG_EXTENSION_PREFETCH_LIST";
pub const ENV_SERVICE_REGION: &str = "AWS_APPCONFIG_EXTENSION_SERVICE_REGION";
pub const ENV_ROLE_ARN: &str = "AWS_APPCONFIG_EXTENSION_ROLE_ARN";
pub const ENV_ROLE_EXTERNAL_ID: &str = "AWS_APPCONFIG_EXTENSION_ROLE_EXTERNAL_ID";
pub const ENV_ROLE_SESSION_NAME: &str = "AWS_APPCONFIG_EXTENSION_ROLE_SESSION_NAME";
/// The agent's variables sidecache reads.
pub const KNOWN: &[&str] = &[
    ENV_AGENT_PORT,
    ENV_POLL_INTERVAL,
    ENV_POLL_TIMEOUT,
    ENV_PREFETCH_LIST,
    ENV_SERVICE_REGION,
    ENV_ROLE_ARN,
    ENV_ROLE_EXTERNAL_ID,
    ENV_ROLE_SESSION_NAME,
];
/// The agent's variables sidecache does not read, and why (logged once at start).
pub const NOT_READ: &[(&str, &str)] = &[
    (
        "AWS_APPCONFIG_EXTENSION_LOG_LEVEL",
        "sidecache's level is PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL",
    ),
    (
        "AWS_APPCONFIG_EXTENSION_MAX_CONNECTIONS",
        "sidecache's cap is PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS",
    ),
    (
        "AWS_APPCONFIG_EXTENSION_PROXY_URL",
        "sidecache does not tunnel through a proxy",
    ),
    (
        "AWS_APPCONFIG_EXTENSION_PROXY_HEADERS",
        "sidecache does not tunnel through a proxy",
    ),
    (
        "AWS_APPCONFIG_EXTENSION_MANIFEST",
        "manifests (multi-account profiles, writing to disk) are not supported",
    ),
    (
        "AWS_APPCONFIG_EXTENSION_WAIT_ON_MANIFEST",
        "manifests are not supported",
    ),
];
const PREFIX: &str = "AWS_APPCONFIG_EXTENSION_";

pub const DEFAULT_AGENT_PORT: u16 = 2772;
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(45);
pub const DEFAULT_POLL_TIMEOUT: Duration = Duration::from_millis(3000);
/// AppConfig's limits on identifiers (names or ids).
const MAX_IDENTIFIER: usize = 128;

/// One configuration profile by application, environment and profile (names or ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileId {
    pub application: String,
    pub environment: String,
    pub profile: String,
}

/// A role AppConfig is read with, as the agent assumes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfigRole {
    pub arn: String,
    pub external_id: Option<String>,
    pub session_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfigSettings {
    /// The agent's port (no token, loopback only); `None` when set to `off`.
    pub agent_port: Option<u16>,
    /// A profile is polled no more often than this (or than AppConfig's own interval).
    pub poll_interval: Duration,
    /// A read waits this long for a poll, then answers with the last configuration.
    pub poll_timeout: Duration,
    pub prefetch: Vec<ProfileId>,
    /// `AWS_APPCONFIG_EXTENSION_SERVICE_REGION`: AppConfig is read there.
    pub region: Option<String>,
    pub role: Option<AppConfigRole>,
}

impl Default for AppConfigSettings {
    fn default() -> Self {
        AppConfigSettings {
            agent_port: Some(DEFAULT_AGENT_PORT),
            poll_interval: DEFAULT_POLL_INTERVAL,
            poll_timeout: DEFAULT_POLL_TIMEOUT,
            prefetch: Vec::new(),
            region: None,
            role: None,
        }
    }
}

pub fn read(r: &mut Reader) -> AppConfigSettings {
    let agent_port = r.parse(
        ENV_AGENT_PORT,
        Some(DEFAULT_AGENT_PORT),
        "a port from 1 to 65535, or off",
        |v| match v.to_ascii_lowercase().as_str() {
            "off" | "none" => Some(None),
            v => v.parse::<u16>().ok().filter(|p| *p > 0).map(Some),
        },
    );
    let poll_interval = r.parse(
        ENV_POLL_INTERVAL,
        DEFAULT_POLL_INTERVAL,
        "a duration of at least 1 second: 45, 45s, 5m or 1h",
        |v| parse_duration(v, Unit::Seconds).filter(|d| *d >= Duration::from_secs(1)),
    );
    let poll_timeout = r.parse(
        ENV_POLL_TIMEOUT,
        DEFAULT_POLL_TIMEOUT,
        "a duration of at least 1 ms: 3000 (milliseconds), 300ms or 5s",
        |v| parse_duration(v, Unit::Millis).filter(|d| *d >= Duration::from_millis(1)),
    );
    let prefetch = r.parse(
        ENV_PREFETCH_LIST,
        Vec::new(),
        "a comma list of /applications/<app>/environments/<env>/configurations/<profile> or <app>:<env>:<profile>",
        |v| {
            v.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(parse_profile)
                .collect()
        },
    );
    let region = r.raw(ENV_SERVICE_REGION);
    let role = r.raw(ENV_ROLE_ARN).map(|arn| AppConfigRole {
        arn,
        external_id: r.raw(ENV_ROLE_EXTERNAL_ID),
        session_name: r.raw(ENV_ROLE_SESSION_NAME),
    });
    if let Some(role) = &role {
        if !role.arn.starts_with("arn:") || !role.arn.contains(":role/") {
            r.errors.push(super::InvalidVar {
                name: ENV_ROLE_ARN,
                value: role.arn.clone(),
                expected: "an IAM role ARN (arn:aws:iam::<account>:role/<name>)".into(),
            });
        }
    }
    AppConfigSettings {
        agent_port,
        poll_interval,
        poll_timeout,
        prefetch,
        region,
        role,
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Unit {
    Seconds,
    Millis,
}

/// `45` (in `bare`), `45s`, `300ms`, `5m`, `1h`.
pub(crate) fn parse_duration(value: &str, bare: Unit) -> Option<Duration> {
    let value = value.trim();
    let digits = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let millis = match (unit.trim().to_ascii_lowercase().as_str(), bare) {
        ("", Unit::Seconds) | ("s", _) => number.checked_mul(1000)?,
        ("", Unit::Millis) | ("ms", _) => number,
        ("m", _) => number.checked_mul(60_000)?,
        ("h", _) => number.checked_mul(3_600_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(millis))
}

/// `/applications/a/environments/e/configurations/p` or `a:e:p`.
pub fn parse_profile(item: &str) -> Option<ProfileId> {
    let parts: Vec<&str> = match item.strip_prefix("/applications/") {
        Some(rest) => {
            let mut segments = rest.split('/');
            let application = segments.next()?;
            let environment = match (segments.next()?, segments.next()?) {
                ("environments", environment) => environment,
                _ => return None,
            };
            let profile = match (segments.next()?, segments.next()?) {
                ("configurations", profile) => profile,
                _ => return None,
            };
            if segments.next().is_some() {
                return None;
            }
            vec![application, environment, profile]
        }
        None => item.split(':').collect(),
    };
    let [application, environment, profile] = parts.as_slice() else {
        return None;
    };
    let ok = |s: &&str| !s.is_empty() && s.len() <= MAX_IDENTIFIER;
    (ok(application) && ok(environment) && ok(profile)).then(|| ProfileId {
        application: application.to_string(),
        environment: environment.to_string(),
        profile: profile.to_string(),
    })
}

/// The agent's variables in the environment that sidecache does not read: (name, why), and
/// misspelt ones with the closest known name.
pub fn unread_vars(env: &dyn Env) -> Vec<(String, String)> {
    let mut unread: Vec<(String, String)> = env
        .names()
        .into_iter()
        .filter(|name| name.starts_with(PREFIX) && !KNOWN.contains(&name.as_str()))
        .map(|name| {
            let why = match NOT_READ.iter().find(|(n, _)| *n == name) {
                Some((_, why)) => (*why).to_owned(),
                None => {
                    let closest = KNOWN
                        .iter()
                        .min_by_key(|known| edit_distance(&name, known))
                        .copied()
                        .unwrap_or(ENV_AGENT_PORT);
                    format!("not a variable of the agent's that sidecache knows; did you mean {closest}?")
                }
            };
            (name, why)
        })
        .collect();
    unread.sort();
    unread
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read_from(pairs: &[(&str, &str)]) -> (AppConfigSettings, Vec<String>) {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut r = Reader::new(&env);
        let settings = read(&mut r);
        (
            settings,
            r.errors.iter().map(|e| e.name.to_owned()).collect(),
        )
    }

    #[test]
    fn defaults_are_the_agents() {
        let (settings, errors) = read_from(&[]);
        assert!(errors.is_empty());
        assert_eq!(settings, AppConfigSettings::default());
        assert_eq!(settings.agent_port, Some(2772));
        assert_eq!(settings.poll_interval, Duration::from_secs(45));
        assert_eq!(settings.poll_timeout, Duration::from_millis(3000));
    }

    #[test]
    fn durations_take_every_form_the_agent_takes() {
        for (value, seconds) in [
            ("60", 60),
            ("60s", 60),
            ("5m", 300),
            ("1h", 3600),
            (" 30S ", 30),
        ] {
            let (s, e) = read_from(&[(ENV_POLL_INTERVAL, value)]);
            assert!(e.is_empty(), "{value}");
            assert_eq!(s.poll_interval, Duration::from_secs(seconds), "{value}");
        }
        for (value, millis) in [("3000", 3000), ("300ms", 300), ("5s", 5000), ("1m", 60_000)] {
            let (s, e) = read_from(&[(ENV_POLL_TIMEOUT, value)]);
            assert!(e.is_empty(), "{value}");
            assert_eq!(s.poll_timeout, Duration::from_millis(millis), "{value}");
        }
        for bad in ["", "0", "5x", "-1", "1.5s", "s"] {
            let (s, e) = read_from(&[(ENV_POLL_INTERVAL, bad), (ENV_POLL_TIMEOUT, bad)]);
            if bad.is_empty() {
                assert!(e.is_empty(), "an empty value counts as unset");
                continue;
            }
            assert_eq!(e, [ENV_POLL_INTERVAL, ENV_POLL_TIMEOUT], "{bad}");
            assert_eq!(s.poll_interval, DEFAULT_POLL_INTERVAL);
        }
    }

    #[test]
    fn prefetch_lists_take_both_forms() {
        let (s, e) = read_from(&[(
            ENV_PREFETCH_LIST,
            "/applications/app/environments/prod/configurations/flags, a:b:c",
        )]);
        assert!(e.is_empty());
        let ids: Vec<_> = s
            .prefetch
            .iter()
            .map(|p| format!("{}/{}/{}", p.application, p.environment, p.profile))
            .collect();
        assert_eq!(ids, ["app/prod/flags", "a/b/c"]);
        for bad in [
            "a:b",
            "a:b:c:d",
            "/applications/a/environments/e",
            "/applications/a/x/e/configurations/p",
            "a::c",
        ] {
            let (_, e) = read_from(&[(ENV_PREFETCH_LIST, bad)]);
            assert_eq!(e, [ENV_PREFETCH_LIST], "{bad}");
        }
    }

    #[test]
    fn the_agent_port_can_be_moved_or_turned_off() {
        assert_eq!(
            read_from(&[(ENV_AGENT_PORT, "2999")]).0.agent_port,
            Some(2999)
        );
        assert_eq!(read_from(&[(ENV_AGENT_PORT, "off")]).0.agent_port, None);
        assert_eq!(read_from(&[(ENV_AGENT_PORT, "0")]).1, [ENV_AGENT_PORT]);
    }

    #[test]
    fn roles_and_regions() {
        let (s, e) = read_from(&[
            (ENV_ROLE_ARN, "arn:aws:iam::111111111111:role/reader"),
            (ENV_ROLE_EXTERNAL_ID, "ext"),
            (ENV_SERVICE_REGION, "eu-west-1"),
        ]);
        assert!(e.is_empty());
        let role = s.role.unwrap();
        assert_eq!(role.external_id.as_deref(), Some("ext"));
        assert_eq!(role.session_name, None);
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));
        assert_eq!(read_from(&[(ENV_ROLE_ARN, "reader")]).1, [ENV_ROLE_ARN]);
    }

    #[test]
    fn unread_agent_variables_say_why() {
        let env: HashMap<String, String> = [
            ("AWS_APPCONFIG_EXTENSION_PROXY_URL", "http://proxy"),
            ("AWS_APPCONFIG_EXTENSION_POLL_INTERVALL_SECONDS", "5"),
            (ENV_POLL_INTERVAL, "5"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let unread = unread_vars(&env);
        assert_eq!(unread.len(), 2);
        assert!(unread[0].1.contains(ENV_POLL_INTERVAL), "{unread:?}");
        assert!(unread[1].1.contains("proxy"), "{unread:?}");
    }
}
