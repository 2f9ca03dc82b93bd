//! What identifies one cached value: `CacheKey`, stored with each entry, and `KeyView`, the
//! same key borrowing its text, which a hit looks up with so that it builds (allocates) no key.

use crate::model::{Service, Target};
use std::hash::{Hash, Hasher};

/// What identifies one cached value. Output shaping (`format=raw`) is not part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey {
    pub service: Service,
    pub name: Box<str>,
    /// Canonical version/label/stage text; empty for "latest" / "AWSCURRENT".
    pub selector: Box<str>,
    pub decrypt: bool,
    pub target: Target,
}

/// A `CacheKey`'s fields, borrowed. Hashes and compares as the key it views (the map in
/// `cache/store.rs` finds a `CacheKey` by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyView<'a> {
    pub service: Service,
    pub name: &'a str,
    pub selector: &'a str,
    pub decrypt: bool,
    pub region: Option<&'a str>,
    pub role_arn: Option<&'a str>,
}

impl CacheKey {
    pub fn view(&self) -> KeyView<'_> {
        KeyView {
            service: self.service,
            name: &self.name,
            selector: &self.selector,
            decrypt: self.decrypt,
            region: self.target.region.as_deref(),
            role_arn: self.target.role_arn.as_deref(),
        }
    }
}

impl KeyView<'_> {
    pub fn to_key(&self) -> CacheKey {
        CacheKey {
            service: self.service,
            name: self.name.into(),
            selector: self.selector.into(),
            decrypt: self.decrypt,
            target: Target {
                region: self.region.map(str::to_owned),
                role_arn: self.role_arn.map(str::to_owned),
            },
        }
    }
}

/// By hand, because every hit hashes a key: one word for the flags and lengths, then the name
/// and whatever optional text is present (the derive made eight writes, ~210 instructions).
impl Hash for KeyView<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let flags = self.service as u64
            | (self.decrypt as u64) << 8
            | (self.region.is_some() as u64) << 9
            | (self.role_arn.is_some() as u64) << 10
            | (self.selector.len() as u64) << 16;
        state.write_u64(flags);
        state.write(self.name.as_bytes());
        for text in [self.selector, self.region.unwrap_or("")] {
            if !text.is_empty() {
                state.write(text.as_bytes());
            }
        }
        if let Some(role) = self.role_arn {
            state.write(role.as_bytes());
        }
    }
}

/// Hashes as its view, so that a view finds it.
impl Hash for CacheKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.view().hash(state);
    }
}

impl hashbrown::Equivalent<CacheKey> for KeyView<'_> {
    fn equivalent(&self, key: &CacheKey) -> bool {
        *self == key.view()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    fn key(selector: &str, region: Option<&str>) -> CacheKey {
        CacheKey {
            service: Service::SecretsManager,
            name: "prod/db".into(),
            selector: selector.into(),
            decrypt: true,
            target: Target {
                region: region.map(str::to_owned),
                role_arn: None,
            },
        }
    }

    #[test]
    fn a_view_hashes_and_compares_as_its_key() {
        let hasher = foldhash::fast::RandomState::default();
        for key in [
            key("", None),
            key("id=1;stage=", None),
            key("", Some("eu-west-1")),
        ] {
            let view = key.view();
            assert_eq!(hasher.hash_one(&key), hasher.hash_one(view));
            assert!(hashbrown::Equivalent::equivalent(&view, &key));
            assert_eq!(view.to_key(), key);
        }
        let (plain, pinned) = (key("", None), key("v1", None));
        assert!(!hashbrown::Equivalent::equivalent(&plain.view(), &pinned));
    }
}
