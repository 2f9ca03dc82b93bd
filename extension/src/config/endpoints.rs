//! The AWS SDK's endpoint variables, as sidecache's own upstream calls may use them.
//!
//! Lambda gives extensions the function's environment. A function that points its SDK at
//! sidecache (`AWS_ENDPOINT_URL_SSM=http://localhost:2773`, the way to make the SDK a sidecache
//! client) hands sidecache the same variable, and sidecache would then ask itself for every
//! value. An endpoint that names one of sidecache's own listeners is therefore ignored for its
//! upstream calls (and logged once at start); any other endpoint is honoured as the SDK would.

use super::env::Reader;
use std::net::IpAddr;

/// The variables the SDK reads an endpoint from, for the services sidecache calls.
pub const ENDPOINT_VARS: &[&str] = &[
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SSM",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_STS",
];

/// Where sidecache listens: an endpoint naming one of these is sidecache itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnListeners {
    pub ports: Vec<u16>,
    pub addresses: Vec<IpAddr>,
}

impl OwnListeners {
    /// Whether `url` (`http://localhost:2773`, `http://127.0.0.1:2773/parameterstore`, ...)
    /// reaches one of sidecache's listeners: a loopback or listening address, on one of its
    /// ports.
    pub fn names(&self, url: &str) -> bool {
        let Some((scheme, rest)) = url.split_once("://") else {
            return false;
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        let (host, port) = match authority.rsplit_once(':') {
            // An IPv6 literal's colons are inside brackets.
            Some((host, port)) if !port.contains(']') => (host, port.parse::<u16>().ok()),
            _ => (authority, None),
        };
        let port = port.or(match scheme.to_ascii_lowercase().as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        });
        let Some(port) = port else { return false };
        if !self.ports.contains(&port) {
            return false;
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.eq_ignore_ascii_case("localhost")
            || host.to_ascii_lowercase().ends_with(".localhost")
        {
            return true;
        }
        match host.parse::<IpAddr>() {
            Ok(ip) => ip.is_loopback() || ip.is_unspecified() || self.addresses.contains(&ip),
            Err(_) => false,
        }
    }
}

/// The endpoint variables set to one of sidecache's own listeners: (variable, value).
pub fn naming_us(r: &mut Reader, own: &OwnListeners) -> Vec<(&'static str, String)> {
    ENDPOINT_VARS
        .iter()
        .filter_map(|&name| Some((name, r.raw(name)?)))
        .filter(|(_, value)| own.names(value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> OwnListeners {
        OwnListeners {
            ports: vec![2773, 5333],
            addresses: vec!["127.0.0.1".parse().unwrap(), "10.0.0.5".parse().unwrap()],
        }
    }

    #[test]
    fn endpoints_naming_a_listener_are_recognised() {
        for url in [
            "http://localhost:2773",
            "http://localhost:2773/",
            "http://LOCALHOST:2773/parameterstore",
            "http://127.0.0.1:2773",
            "http://127.0.0.2:2773",
            "http://[::1]:2773",
            "http://0.0.0.0:5333/parameterstore",
            "http://10.0.0.5:2773",
            "http://user@localhost:2773",
            "http://sidecache.localhost:2773",
        ] {
            assert!(own().names(url), "{url}");
        }
    }

    #[test]
    fn other_endpoints_are_honoured() {
        for url in [
            "http://localhost:5000",
            "http://127.0.0.1:4566",
            "https://ssm.us-east-1.amazonaws.com",
            "http://10.0.0.6:2773",
            "http://example.com:2773",
            "localhost:2773",
            "http://localhost",
            "",
        ] {
            assert!(!own().names(url), "{url}");
        }
        let on_80 = OwnListeners {
            ports: vec![80],
            addresses: vec![],
        };
        assert!(on_80.names("http://localhost"));
        assert!(!on_80.names("https://localhost"));
    }
}
