//! What each single read looks up: its cache key and the freshness it needs. The reads in
//! `app.rs` fetch on a miss; the `cached_*` functions here answer a fresh hit on the spot,
//! without a future (`routes::answer_hit`), with the value's age, and decline everything else: a miss, a cached
//! not-found, a value due for refresh-ahead, a forced refresh.

use super::{App, MIN_S3_KEEP};
use crate::cache::{CacheKey, Entry, Freshness, KeyView, ValueCache};
use crate::model::{
    ObjectRequest, ParameterRequest, PathRequest, SecretRequest, Selector, Service, Target,
};
use crate::query::ReadOptions;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

/// The selectors of a by-path tree's key (one entry holds the whole tree).
const TREE: &str = "by-path";
const TREE_RECURSIVE: &str = "by-path:recursive";

/// Whether a cached key's name and `name` are the same parameter or secret: the same text, or
/// one an ARN of the other. An SSM ARN ends in `:parameter/x` for `/x` (and for `x`); a
/// secret's ARN ends in `:secret:` and its name with `-` and six characters after it, which a
/// partial ARN leaves out. For invalidation: dropping one read more is harmless, keeping one
/// stale is not.
pub(super) fn same_value(service: Service, cached: &str, name: &str) -> bool {
    if cached == name {
        return true;
    }
    match service {
        Service::Ssm => {
            let resource = |s: &'_ str| -> String {
                let s = s.split_once(":parameter").map_or(s, |(_, rest)| rest);
                s.trim_start_matches('/').to_owned()
            };
            resource(cached) == resource(name)
        }
        Service::SecretsManager => {
            let resource = |s: &str| {
                s.split_once(":secret:")
                    .map_or(s, |(_, rest)| rest)
                    .to_owned()
            };
            // `name-AbCdEf` -> `name`: the suffix AWS adds to a secret's full ARN.
            let unsuffixed = |s: &str| -> String {
                match s.len().checked_sub(7) {
                    Some(at) if s.as_bytes()[at] == b'-' && s.is_char_boundary(at) => {
                        s[..at].to_owned()
                    }
                    _ => s.to_owned(),
                }
            };
            let (a, b) = (resource(cached), resource(name));
            a == b || unsuffixed(&a) == b || a == unsuffixed(&b)
        }
        Service::S3 | Service::AppConfig => false,
    }
}

/// Whether `key` is a by-path tree's.
pub(super) fn is_tree(key: &CacheKey) -> bool {
    key.service == Service::Ssm && matches!(&*key.selector, TREE | TREE_RECURSIVE)
}

impl App {
    pub(super) fn parameter_lookup(
        &self,
        request: &ParameterRequest,
        options: ReadOptions,
    ) -> (CacheKey, Freshness) {
        let key = parameter_key(
            &request.name,
            request.selector.as_ref(),
            request.with_decryption,
            &request.target,
        );
        (key, self.ssm_freshness(options))
    }

    /// Every parameter under a path is one answer: one key per path, recursion and decryption.
    pub(super) fn path_lookup(
        &self,
        request: &PathRequest,
        options: ReadOptions,
    ) -> (CacheKey, Freshness) {
        let key = CacheKey {
            service: Service::Ssm,
            name: request.path.as_str().into(),
            selector: if request.recursive {
                TREE_RECURSIVE
            } else {
                TREE
            }
            .into(),
            decrypt: request.with_decryption,
            target: request.target.clone(),
        };
        (key, self.ssm_freshness(options))
    }

    pub(super) fn secret_lookup(
        &self,
        request: &SecretRequest,
        options: ReadOptions,
    ) -> (CacheKey, Freshness) {
        (secret_key(request), self.secrets_freshness(options))
    }

    pub(super) fn object_lookup(
        &self,
        request: &ObjectRequest,
        options: ReadOptions,
    ) -> (CacheKey, Freshness) {
        let key = CacheKey {
            service: Service::S3,
            name: format!("{}/{}", request.bucket, request.key).into(),
            selector: request.version_id.as_deref().unwrap_or("").into(),
            decrypt: false,
            target: request.target.clone(),
        };
        // The file must live somewhere to answer with its path, so a TTL of 0 means "revalidate
        // on every request" (one conditional GET), not pass-through.
        let freshness = match self.s3_ttl {
            ttl if ttl.is_zero() => Freshness {
                ttl: MIN_S3_KEEP,
                max_age: Some(Duration::ZERO),
            },
            ttl => Freshness {
                ttl,
                max_age: options.max_age,
            },
        };
        (key, freshness)
    }

    fn ssm_freshness(&self, options: ReadOptions) -> Freshness {
        Freshness {
            ttl: self.ssm_ttl,
            max_age: options.max_age,
        }
    }

    fn secrets_freshness(&self, options: ReadOptions) -> Freshness {
        Freshness {
            ttl: self.secrets_ttl,
            max_age: options.max_age,
        }
    }

    /// The hits look up by a view of the key: building the key would copy its name.
    pub fn cached_parameter(
        &self,
        request: &ParameterRequest,
        options: ReadOptions,
    ) -> Option<(Arc<Entry>, Duration)> {
        let selector = parameter_selector(request.selector.as_ref());
        let key = parameter_view(
            &request.name,
            &selector,
            request.with_decryption,
            &request.target,
        );
        self.answer_now(&self.cache, key, self.ssm_freshness(options))
    }

    pub fn cached_path(
        &self,
        request: &PathRequest,
        options: ReadOptions,
    ) -> Option<(Arc<Entry>, Duration)> {
        let (key, freshness) = self.path_lookup(request, options);
        self.answer_now(&self.cache, key.view(), freshness)
    }

    pub fn cached_secret(
        &self,
        request: &SecretRequest,
        options: ReadOptions,
    ) -> Option<(Arc<Entry>, Duration)> {
        let selector = secret_selector(request);
        let key = secret_view(request, &selector);
        self.answer_now(&self.cache, key, self.secrets_freshness(options))
    }

    pub fn cached_object(
        &self,
        request: &ObjectRequest,
        options: ReadOptions,
    ) -> Option<(Arc<Entry>, Duration)> {
        let (key, freshness) = self.object_lookup(request, options);
        self.answer_now(&self.objects, key.view(), freshness)
    }

    /// Counted as a request (metrics) only when it answers; otherwise the full read counts it.
    fn answer_now(
        &self,
        cache: &ValueCache,
        key: KeyView,
        freshness: Freshness,
    ) -> Option<(Arc<Entry>, Duration)> {
        let entry = cache.fresh(key, freshness)?;
        self.on_request();
        Some(entry)
    }
}

/// One parameter's cache key; `get` and `get-many` share it, so either fills the cache for both.
pub(super) fn parameter_key(
    name: &str,
    selector: Option<&Selector>,
    decrypt: bool,
    target: &Target,
) -> CacheKey {
    parameter_view(name, &parameter_selector(selector), decrypt, target).to_key()
}

/// The selector text of a parameter's key: empty for the latest version.
pub(super) fn parameter_selector(selector: Option<&Selector>) -> Cow<'static, str> {
    match selector {
        None => Cow::Borrowed(""),
        Some(Selector::Version(v)) => Cow::Owned(format!("v{v}")),
        Some(Selector::Label(l)) => Cow::Owned(format!("l:{l}")),
    }
}

pub(super) fn parameter_view<'a>(
    name: &'a str,
    selector: &'a str,
    decrypt: bool,
    target: &'a Target,
) -> KeyView<'a> {
    KeyView {
        service: Service::Ssm,
        name,
        selector,
        decrypt,
        region: target.region.as_deref(),
        role_arn: target.role_arn.as_deref(),
    }
}

/// One secret's cache key; `get` and `get-many` share it, so either fills the cache for both.
pub(super) fn secret_key(request: &SecretRequest) -> CacheKey {
    secret_view(request, &secret_selector(request)).to_key()
}

/// The selector text of a secret's key: empty for the current version.
pub(super) fn secret_selector(request: &SecretRequest) -> Cow<'static, str> {
    // AWSCURRENT is the default stage: asking for it by name is the same value.
    let stage = request
        .version_stage
        .as_deref()
        .filter(|s| *s != "AWSCURRENT" || request.version_id.is_some());
    match (&request.version_id, stage) {
        (None, None) => Cow::Borrowed(""),
        (id, stage) => Cow::Owned(format!(
            "id={};stage={}",
            id.as_deref().unwrap_or(""),
            stage.unwrap_or("")
        )),
    }
}

pub(super) fn secret_view<'a>(request: &'a SecretRequest, selector: &'a str) -> KeyView<'a> {
    KeyView {
        service: Service::SecretsManager,
        name: &request.secret_id,
        selector,
        decrypt: true,
        region: request.target.region.as_deref(),
        role_arn: request.target.role_arn.as_deref(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_the_same_by_name_and_by_arn() {
        let ssm = |a, b| same_value(Service::Ssm, a, b);
        assert!(ssm("/app/db", "/app/db"));
        assert!(ssm(
            "arn:aws:ssm:us-east-1:123456789012:parameter/app/db",
            "/app/db"
        ));
        assert!(ssm(
            "/app/db",
            "arn:aws:ssm:us-east-1:123456789012:parameter/app/db"
        ));
        assert!(ssm("arn:aws:ssm:us-east-1:1:parameter/plain", "plain"));
        assert!(!ssm("arn:aws:ssm:us-east-1:1:parameter/app/dbx", "/app/db"));
        assert!(!ssm("/app/db2", "/app/db"));
        let sm = |a, b| same_value(Service::SecretsManager, a, b);
        let full = "arn:aws:secretsmanager:us-east-1:1:secret:prod/db-AbCdEf";
        let partial = "arn:aws:secretsmanager:us-east-1:1:secret:prod/db";
        assert!(sm(full, "prod/db"));
        assert!(sm(partial, "prod/db"));
        assert!(sm("prod/db", full));
        assert!(sm(partial, full));
        assert!(!sm(
            "arn:aws:secretsmanager:us-east-1:1:secret:prod/dbx-AbCdEf",
            "prod/db"
        ));
        assert!(!sm("prod/db2", "prod/db"));
        assert!(!same_value(Service::S3, "b/k", "b/k2"));
    }
}
