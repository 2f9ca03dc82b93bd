//! Query strings into typed requests. Unknown and malformed parameters are 400s: a typo such
//! as `withdecryption=true` must not silently return ciphertext.
//!
//! Parsing is one pass over the query string that records where each accepted key's first
//! value stands; a value is borrowed from the query when it needs no decoding and decoded when
//! read otherwise, so a plain hit allocates only the request's own strings.

use crate::error::AppError;
use crate::model::{
    ObjectRequest, ParameterRequest, ParametersRequest, PathRequest, SecretRequest,
    SecretsManyRequest, Selector, Service,
};
use std::time::Duration;

pub mod appconfig;
mod pairs;
pub(crate) mod syntax;

use pairs::{bounded, Pairs};
use syntax::{Accepted, Param};

/// Longest SSM parameter name or ARN (2048) and Secrets Manager id we accept.
const MAX_NAME: usize = 2048;
const MAX_LABEL: usize = 100;
const MAX_VERSION_ID: usize = 64;
const MAX_STAGE: usize = 256;
const MAX_REGION: usize = 32;
/// S3's own limits: bucket names up to 63 (255 for legacy us-east-1 buckets), keys 1024 bytes.
const MAX_BUCKET: usize = 255;
const MAX_KEY: usize = 1024;
const MAX_OBJECT_VERSION: usize = 1024;
/// `name` values SSM resolves into Secrets Manager; their ids may contain `:` (ARNs).
pub(crate) const SECRETS_REFERENCE: &str = "/aws/reference/secretsmanager/";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Raw,
}

/// Output and freshness options shared by every read endpoint; not part of the cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    pub format: Format,
    pub max_age: Option<Duration>,
}

/// Keys each endpoint accepts: its own plus the shared `format`, `maxAge`, `refreshNow`,
/// `region` and `roleArn`.
const SHARED: [Param; 5] = [
    Param::Format,
    Param::MaxAge,
    Param::RefreshNow,
    Param::Region,
    Param::RoleArn,
];
const fn with_shared(own: &[Param]) -> Accepted {
    Accepted::of(own).and(Accepted::of(&SHARED))
}
const PARAMETER_KEYS: Accepted = with_shared(&[
    Param::Name,
    Param::Version,
    Param::Label,
    Param::WithDecryption,
]);
const SECRET_KEYS: Accepted =
    with_shared(&[Param::SecretId, Param::VersionId, Param::VersionStage]);
/// `GET /v1/<secretId>`: the id is in the path.
const SECRET_PATH_KEYS: Accepted = with_shared(&[Param::VersionId, Param::VersionStage]);
const OBJECT_KEYS: Accepted =
    with_shared(&[Param::Bucket, Param::Key, Param::VersionId, Param::Uri]);
const PATH_KEYS: Accepted = with_shared(&[Param::Path, Param::Recursive, Param::WithDecryption]);
const MANY_KEYS: Accepted = with_shared(&[Param::Names, Param::WithDecryption]);
const SECRETS_MANY_KEYS: Accepted = with_shared(&[Param::SecretIds, Param::VersionStage]);
/// Names in one `get-many` request (GetParameters is called 10 at a time).
const MAX_MANY: usize = 100;
const INVALIDATE_KEYS: Accepted =
    Accepted::of(&[Param::Kind, Param::Name, Param::Prefix, Param::All]);

/// `GET /systemsmanager/parameters/get`.
pub fn parameter_request(query: Option<&str>) -> Result<(ParameterRequest, ReadOptions), AppError> {
    let pairs = Pairs::parse(query, PARAMETER_KEYS)?;
    let full_name = pairs.required_str(Param::Name, MAX_NAME)?;
    let (name, name_selector) = split_selector(&full_name)?;
    let name_len = name.len();
    // version and label: the first in the query string wins, as in AWS.
    let version_first = match (pairs.position(Param::Version), pairs.position(Param::Label)) {
        (Some(v), Some(l)) => v < l,
        (v, _) => v.is_some(),
    };
    let query_selector = if version_first {
        Some(parse_version(
            &pairs.get(Param::Version).unwrap_or_default(),
        )?)
    } else {
        pairs
            .optional(Param::Label, MAX_LABEL)?
            .map(|l| parse_label(&l))
            .transpose()?
    };
    let selector = match (name_selector, query_selector) {
        (Some(_), Some(_)) => {
            return Err(AppError::invalid(
                "name",
                "holds a :version or :label selector and version/label is given too",
            ))
        }
        (a, b) => a.or(b),
    };
    // The name is a prefix of `full_name` (split_selector only cuts a selector off the end), so
    // a decoded name is moved, not copied again.
    let mut name = full_name.into_owned();
    name.truncate(name_len);
    let request = ParameterRequest {
        name,
        selector,
        with_decryption: pairs.bool(Param::WithDecryption)?,
        target: pairs.target()?,
    };
    Ok((request, pairs.read_options()?))
}

/// `GET /secretsmanager/get`.
pub fn secret_request(query: Option<&str>) -> Result<(SecretRequest, ReadOptions), AppError> {
    let pairs = Pairs::parse(query, SECRET_KEYS)?;
    let request = SecretRequest {
        secret_id: pairs.required(Param::SecretId, MAX_NAME)?,
        version_id: pairs.nonempty(Param::VersionId, MAX_VERSION_ID)?,
        version_stage: pairs.nonempty(Param::VersionStage, MAX_STAGE)?,
        target: pairs.target()?,
    };
    Ok((request, pairs.read_options()?))
}

/// `GET /v1/<secretId>`, the Secrets Manager Agent's path form: `id` is the path after
/// `/v1/`, percent-escapes decoded (a `+` stays a `+`: secret names may hold one); the query
/// takes what `secret_request`'s does but `secretId`.
pub fn secret_path_request(
    id: &str,
    query: Option<&str>,
) -> Result<(SecretRequest, ReadOptions), AppError> {
    let pairs = Pairs::parse(query, SECRET_PATH_KEYS)?;
    let secret_id = id
        .split('+')
        .map(syntax::decode)
        .collect::<Vec<_>>()
        .join("+");
    if secret_id.is_empty() {
        return Err(AppError::MissingParameter(Param::SecretId.name()));
    }
    let request = SecretRequest {
        secret_id: bounded(Param::SecretId.name(), &secret_id, MAX_NAME)?,
        version_id: pairs.nonempty(Param::VersionId, MAX_VERSION_ID)?,
        version_stage: pairs.nonempty(Param::VersionStage, MAX_STAGE)?,
        target: pairs.target()?,
    };
    Ok((request, pairs.read_options()?))
}

/// `GET /s3/get`: `bucket` and `key`, or `uri=s3://bucket/key`.
pub fn object_request(query: Option<&str>) -> Result<(ObjectRequest, ReadOptions), AppError> {
    let pairs = Pairs::parse(query, OBJECT_KEYS)?;
    let (bucket, key) = match pairs.get(Param::Uri) {
        Some(uri) => {
            if pairs.has(Param::Bucket) || pairs.has(Param::Key) {
                return Err(AppError::invalid(
                    "uri",
                    "give either uri or bucket and key, not both",
                ));
            }
            let rest = uri
                .strip_prefix("s3://")
                .ok_or_else(|| AppError::invalid("uri", "expected s3://<bucket>/<key>"))?;
            match rest.split_once('/') {
                Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => {
                    (bounded("uri", bucket, MAX_BUCKET)?, any_key("uri", key)?)
                }
                _ => return Err(AppError::invalid("uri", "expected s3://<bucket>/<key>")),
            }
        }
        None => {
            let key = pairs.get(Param::Key).filter(|k| !k.is_empty());
            let key = key.ok_or(AppError::MissingParameter("key"))?;
            (
                pairs.required(Param::Bucket, MAX_BUCKET)?,
                any_key("key", &key)?,
            )
        }
    };
    if bucket.contains('/') {
        return Err(AppError::invalid(
            "bucket",
            "bucket names cannot contain '/'",
        ));
    }
    let request = ObjectRequest {
        bucket,
        key,
        version_id: pairs.nonempty(Param::VersionId, MAX_OBJECT_VERSION)?,
        target: pairs.target()?,
    };
    Ok((request, pairs.read_options()?))
}

/// `GET /systemsmanager/parameters/get-many`: `names=a,b,c` (each may carry a selector).
pub fn many_request(query: Option<&str>) -> Result<(ParametersRequest, ReadOptions), AppError> {
    let pairs = Pairs::parse(query, MANY_KEYS)?;
    let names = pairs.list(Param::Names)?;
    for name in &names {
        split_selector(name)?;
    }
    let options = pairs.list_options("get-many")?;
    let request = ParametersRequest {
        names,
        with_decryption: pairs.bool(Param::WithDecryption)?,
        target: pairs.target()?,
    };
    Ok((request, options))
}

/// `GET /secretsmanager/get-many`: `secretIds=a,b,c` (names or ARNs), at most 100.
pub fn secrets_many_request(
    query: Option<&str>,
) -> Result<(SecretsManyRequest, ReadOptions), AppError> {
    let pairs = Pairs::parse(query, SECRETS_MANY_KEYS)?;
    let secret_ids = pairs.list(Param::SecretIds)?;
    let options = pairs.list_options("get-many")?;
    let request = SecretsManyRequest {
        secret_ids,
        version_stage: pairs.nonempty(Param::VersionStage, MAX_STAGE)?,
        target: pairs.target()?,
    };
    Ok((request, options))
}

/// `GET /systemsmanager/parameters/by-path`.
pub fn path_request(query: Option<&str>) -> Result<(PathRequest, ReadOptions), AppError> {
    let pairs = Pairs::parse(query, PATH_KEYS)?;
    let path = pairs.required(Param::Path, MAX_NAME)?;
    if !path.starts_with('/') {
        return Err(AppError::invalid(
            "path",
            "a hierarchy path starts with '/'",
        ));
    }
    let options = pairs.list_options("by-path")?;
    let request = PathRequest {
        path,
        recursive: pairs.bool(Param::Recursive)?,
        with_decryption: pairs.bool(Param::WithDecryption)?,
        target: pairs.target()?,
    };
    Ok((request, options))
}

/// What `POST /cache/invalidate` drops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidation {
    All,
    /// Every cached selector (version, label, stage, decryption, region) of one value.
    Name {
        kind: Option<Service>,
        name: String,
    },
    Prefix {
        kind: Option<Service>,
        prefix: String,
    },
}

/// `POST /cache/invalidate`: `kind` + `name`, or `prefix` (optionally with `kind`), or
/// `all=true`. S3 names are `s3://bucket/key` (or `bucket/key`).
pub fn invalidate_request(query: Option<&str>) -> Result<Invalidation, AppError> {
    let pairs = Pairs::parse(query, INVALIDATE_KEYS)?;
    if pairs.bool(Param::All)? {
        return Ok(Invalidation::All);
    }
    let kind = match pairs.get(Param::Kind).as_deref() {
        None => None,
        Some("ssm") => Some(Service::Ssm),
        Some("secret") => Some(Service::SecretsManager),
        Some("s3") => Some(Service::S3),
        Some(_) => return Err(AppError::invalid("kind", "expected ssm, secret or s3")),
    };
    // Cached S3 names are `bucket/key`.
    let unprefixed = |v: &str| v.strip_prefix("s3://").unwrap_or(v).to_owned();
    match (pairs.get(Param::Name), pairs.get(Param::Prefix)) {
        (Some(_), Some(_)) => Err(AppError::invalid("prefix", "give name or prefix, not both")),
        (Some(name), None) => match kind {
            None => Err(AppError::MissingParameter("kind")),
            Some(kind) => Ok(Invalidation::Name {
                kind: Some(kind),
                name: unprefixed(&bounded("name", &name, MAX_NAME)?),
            }),
        },
        (None, Some(prefix)) => Ok(Invalidation::Prefix {
            kind,
            prefix: unprefixed(&bounded("prefix", &prefix, MAX_NAME)?),
        }),
        (None, None) => Err(AppError::MissingParameter("name")),
    }
}

/// S3 keys may hold any character, control characters included; only the length is checked
/// (the file name is derived safely from any key).
fn any_key(name: &'static str, key: &str) -> Result<String, AppError> {
    if key.len() > MAX_KEY {
        return Err(AppError::invalid(
            name,
            format!("longer than {MAX_KEY} bytes"),
        ));
    }
    Ok(key.to_owned())
}

/// Splits `name:selector`. Plain SSM names cannot contain `:`, so the last one separates a
/// selector; in an ARN only a `:` after `parameter/` does; secrets references never have one.
pub(crate) fn split_selector(full: &str) -> Result<(&str, Option<Selector>), AppError> {
    if full.starts_with(SECRETS_REFERENCE) {
        return Ok((full, None));
    }
    // Only an ARN is searched for `:parameter/`: setting up a substring search costs more
    // than the rest of parsing a plain name.
    let searchable_from = if full.starts_with("arn:") {
        match full.find(":parameter/") {
            Some(i) => i + ":parameter/".len(),
            None => return Ok((full, None)),
        }
    } else {
        0
    };
    match full[searchable_from..].rfind(':') {
        None => Ok((full, None)),
        Some(i) => {
            let (name, selector) = (
                &full[..searchable_from + i],
                &full[searchable_from + i + 1..],
            );
            // `:3` alone names no parameter (found by fuzzing: fuzz/, query target).
            if name.is_empty() {
                return Err(AppError::invalid(
                    "name",
                    "no parameter name before its :version or :label",
                ));
            }
            let selector = if selector.bytes().all(|b| b.is_ascii_digit()) {
                parse_version(selector)?
            } else {
                parse_label(selector)?
            };
            Ok((name, Some(selector)))
        }
    }
}

fn parse_version(value: &str) -> Result<Selector, AppError> {
    value
        .parse::<i64>()
        .ok()
        .filter(|v| *v > 0)
        .map(Selector::Version)
        .ok_or_else(|| AppError::invalid("version", "expected a positive whole number"))
}

fn parse_label(value: &str) -> Result<Selector, AppError> {
    if value.is_empty() || value.len() > MAX_LABEL {
        return Err(AppError::invalid(
            "label",
            format!("expected 1 to {MAX_LABEL} characters"),
        ));
    }
    Ok(Selector::Label(value.to_owned()))
}

#[cfg(test)]
mod tests;
