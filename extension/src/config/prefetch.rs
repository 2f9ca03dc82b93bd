//! `SIDECACHE_PREFETCH`: values fetched during INIT so the first invocation is a cache hit.

use super::env::{InvalidVar, Reader};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrefetchItem {
    Parameter(String),
    ParameterPath(String),
    Secret(String),
    /// Every secret matching a BatchGetSecretValue filter: `secrets:<key>=<value>`.
    SecretsFilter {
        key: String,
        value: String,
    },
    S3 {
        bucket: String,
        key: String,
    },
}

/// BatchGetSecretValue's filter keys that select secrets by what a user names them by.
pub const SECRETS_FILTER_KEYS: &[&str] = &["name", "tag-key", "tag-value", "description", "all"];

impl PrefetchItem {
    fn parse(item: &str) -> Option<PrefetchItem> {
        let nonempty = |s: &str| Some(s.to_owned()).filter(|s| !s.is_empty());
        if let Some(rest) = item.strip_prefix("s3://") {
            let (bucket, key) = rest.split_once('/')?;
            return Some(PrefetchItem::S3 {
                bucket: nonempty(bucket)?,
                key: nonempty(key)?,
            });
        }
        let (kind, name) = item.split_once(':')?;
        match kind {
            "ssm" => nonempty(name).map(PrefetchItem::Parameter),
            "ssm-path" => nonempty(name).map(PrefetchItem::ParameterPath),
            "secret" => nonempty(name).map(PrefetchItem::Secret),
            "secrets" => {
                let (key, value) = name.split_once('=')?;
                SECRETS_FILTER_KEYS.contains(&key).then_some(())?;
                Some(PrefetchItem::SecretsFilter {
                    key: key.to_owned(),
                    value: nonempty(value)?,
                })
            }
            _ => None,
        }
    }
}

pub(super) fn read(r: &mut Reader, name: &'static str) -> Vec<PrefetchItem> {
    let Some(value) = r.raw(name) else {
        return Vec::new();
    };
    let mut items = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match PrefetchItem::parse(item) {
            Some(parsed) => items.push(parsed),
            None => r.errors.push(InvalidVar {
                name,
                value: item.to_owned(),
                expected: "comma-separated items of the form ssm:<name>, ssm-path:<path>, \
                           secret:<id>, secrets:<filter>=<value> (filter: name, tag-key, \
                           tag-value, description or all) or s3://<bucket>/<key>"
                    .to_owned(),
            }),
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        assert_eq!(
            PrefetchItem::parse("ssm:/app/db"),
            Some(PrefetchItem::Parameter("/app/db".into()))
        );
        assert_eq!(
            PrefetchItem::parse("secret:arn:aws:secretsmanager:us-east-1:1:secret:x"),
            Some(PrefetchItem::Secret(
                "arn:aws:secretsmanager:us-east-1:1:secret:x".into()
            ))
        );
        assert_eq!(
            PrefetchItem::parse("s3://b/dir/k.json"),
            Some(PrefetchItem::S3 {
                bucket: "b".into(),
                key: "dir/k.json".into()
            })
        );
        assert_eq!(
            PrefetchItem::parse("secrets:tag-key=team"),
            Some(PrefetchItem::SecretsFilter {
                key: "tag-key".into(),
                value: "team".into()
            })
        );
        assert_eq!(
            PrefetchItem::parse("secrets:name=prod/=x"),
            Some(PrefetchItem::SecretsFilter {
                key: "name".into(),
                value: "prod/=x".into()
            })
        );
        assert_eq!(PrefetchItem::parse("secrets:owning-service=rds"), None);
        assert_eq!(PrefetchItem::parse("secrets:tag-key="), None);
        assert_eq!(PrefetchItem::parse("secrets:team"), None);
        assert_eq!(PrefetchItem::parse("ssm:"), None);
        assert_eq!(PrefetchItem::parse("s3://bucket-only"), None);
        assert_eq!(PrefetchItem::parse("dynamo:x"), None);
    }
}
