//! Query strings into typed requests. Unknown and malformed parameters are 400s: a typo such
//! as `withdecryption=true` must not silently return ciphertext.
//!
//! Parsing borrows from the query where no percent-decoding is needed, so a plain hit
//! allocates only the request's own strings.

use crate::error::AppError;
use crate::model::{
    ObjectRequest, ParameterRequest, ParametersRequest, PathRequest, SecretRequest,
    SecretsManyRequest, Selector, Service, Target,
};
use std::borrow::Cow;
use std::time::Duration;

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
const SECRETS_REFERENCE: &str = "/aws/reference/secretsmanager/";

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

/// Most keys an endpoint accepts; the key lists below must not be longer.
const MAX_KEYS: usize = 10;

/// A query string parsed once: the first value of each accepted key (as in AWS, the first
/// occurrence wins) and where it stood. Values without percent-escapes are borrowed, not
/// copied, and nothing is allocated for the pairs themselves.
struct Pairs<'a> {
    keys: &'static [&'static str],
    values: [Option<(usize, Cow<'a, str>)>; MAX_KEYS],
}

impl<'a> Pairs<'a> {
    fn parse(query: Option<&'a str>, keys: &'static [&'static str]) -> Result<Self, AppError> {
        debug_assert!(keys.len() <= MAX_KEYS);
        let mut values = [const { None }; MAX_KEYS];
        for (position, (key, value)) in
            form_urlencoded::parse(query.unwrap_or("").as_bytes()).enumerate()
        {
            let Some(index) = keys.iter().position(|k| *k == key) else {
                return Err(AppError::UnknownParameter(key.chars().take(64).collect()));
            };
            values[index].get_or_insert((position, value));
        }
        Ok(Pairs { keys, values })
    }

    fn entry(&self, name: &str) -> Option<&(usize, Cow<'a, str>)> {
        let index = self.keys.iter().position(|k| *k == name)?;
        self.values[index].as_ref()
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.entry(name).map(|(_, v)| v.as_ref())
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.entry(name).map(|(p, _)| *p)
    }

    fn required(&self, name: &'static str, max: usize) -> Result<String, AppError> {
        self.required_str(name, max).map(str::to_owned)
    }

    /// `required`, checked in place without a copy.
    fn required_str(&self, name: &'static str, max: usize) -> Result<&str, AppError> {
        match self.get(name) {
            None | Some("") => Err(AppError::MissingParameter(name)),
            Some(v) => checked(name, v, max).map(|()| v),
        }
    }

    /// `required`, moving the value out: a percent-decoded value is not copied a second time.
    fn take_required(&mut self, name: &'static str, max: usize) -> Result<String, AppError> {
        self.required_str(name, max)?;
        let index = self.keys.iter().position(|k| *k == name);
        let (_, value) = index
            .and_then(|i| self.values[i].take())
            .expect("checked present above");
        Ok(value.into_owned())
    }

    fn optional(&self, name: &'static str, max: usize) -> Result<Option<String>, AppError> {
        self.get(name).map(|v| bounded(name, v, max)).transpose()
    }

    /// Like `optional`, with an empty value counting as absent.
    fn nonempty(&self, name: &'static str, max: usize) -> Result<Option<String>, AppError> {
        Ok(self.optional(name, max)?.filter(|v| !v.is_empty()))
    }

    /// A comma-separated list of names or ids (batch endpoints): trimmed, empty items and
    /// repeats dropped, each checked like a single value, 1 to `MAX_MANY` of them.
    fn list(&self, name: &'static str) -> Result<Vec<String>, AppError> {
        let list = self.required_str(name, MAX_MANY * (MAX_NAME + 1))?;
        let mut items: Vec<String> = Vec::new();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let item = bounded(name, item, MAX_NAME)?;
            if !items.contains(&item) {
                items.push(item);
            }
        }
        match items.len() {
            0 => Err(AppError::MissingParameter(name)),
            n if n > MAX_MANY => Err(AppError::invalid(name, format!("at most {MAX_MANY}"))),
            _ => Ok(items),
        }
    }

    /// Read options of an endpoint that answers a list: JSON only.
    fn list_options(&self, endpoint: &str) -> Result<ReadOptions, AppError> {
        let options = self.read_options()?;
        if options.format == Format::Raw {
            return Err(AppError::invalid(
                "format",
                format!("{endpoint} answers a list: json only"),
            ));
        }
        Ok(options)
    }

    fn bool(&self, name: &'static str) -> Result<bool, AppError> {
        match self.get(name) {
            None => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(_) => Err(AppError::invalid(name, "expected true or false")),
        }
    }

    fn read_options(&self) -> Result<ReadOptions, AppError> {
        let format = match self.get("format") {
            None | Some("json") => Format::Json,
            Some("raw") => Format::Raw,
            Some(_) => return Err(AppError::invalid("format", "expected json or raw")),
        };
        let max_age = match self.get("maxAge") {
            None => None,
            Some(v) => Some(Duration::from_secs(v.parse().map_err(|_| {
                AppError::invalid("maxAge", "expected a whole number of seconds")
            })?)),
        };
        let max_age = if self.bool("refreshNow")? {
            Some(Duration::ZERO)
        } else {
            max_age
        };
        Ok(ReadOptions { format, max_age })
    }

    fn target(&self) -> Result<Target, AppError> {
        let region = self.optional("region", MAX_REGION)?;
        if let Some(region) = &region {
            if !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(AppError::invalid(
                    "region",
                    "expected a region name such as eu-west-1",
                ));
            }
        }
        let role_arn = self.optional("roleArn", MAX_NAME)?;
        if let Some(role) = &role_arn {
            if !(role.starts_with("arn:") && role.contains(":role/")) {
                return Err(AppError::invalid(
                    "roleArn",
                    "expected an IAM role ARN, arn:aws:iam::<account>:role/<name>",
                ));
            }
        }
        Ok(Target { region, role_arn })
    }
}

fn bounded(name: &'static str, value: &str, max: usize) -> Result<String, AppError> {
    checked(name, value, max).map(|()| value.to_owned())
}

fn checked(name: &'static str, value: &str, max: usize) -> Result<(), AppError> {
    if value.len() > max {
        return Err(AppError::invalid(name, format!("longer than {max} bytes")));
    }
    // Printable ASCII, the common case, has no control character; anything else is decoded.
    let printable = value.bytes().all(|b| (0x20..0x7f).contains(&b));
    if !printable && value.chars().any(char::is_control) {
        return Err(AppError::invalid(name, "contains control characters"));
    }
    Ok(())
}

/// Keys each endpoint accepts: its own plus the shared `format`, `maxAge`, `refreshNow`,
/// `region` and `roleArn`.
const PARAMETER_KEYS: &[&str] = &[
    "name",
    "version",
    "label",
    "withDecryption",
    "format",
    "maxAge",
    "refreshNow",
    "region",
    "roleArn",
];
const SECRET_KEYS: &[&str] = &[
    "secretId",
    "versionId",
    "versionStage",
    "format",
    "maxAge",
    "refreshNow",
    "region",
    "roleArn",
];
const OBJECT_KEYS: &[&str] = &[
    "bucket",
    "key",
    "versionId",
    "uri",
    "format",
    "maxAge",
    "refreshNow",
    "region",
    "roleArn",
];
const PATH_KEYS: &[&str] = &[
    "path",
    "recursive",
    "withDecryption",
    "format",
    "maxAge",
    "refreshNow",
    "region",
    "roleArn",
];
const MANY_KEYS: &[&str] = &[
    "names",
    "withDecryption",
    "format",
    "maxAge",
    "refreshNow",
    "region",
    "roleArn",
];
const SECRETS_MANY_KEYS: &[&str] = &[
    "secretIds",
    "versionStage",
    "format",
    "maxAge",
    "refreshNow",
    "region",
    "roleArn",
];
/// Names in one `get-many` request (GetParameters is called 10 at a time).
const MAX_MANY: usize = 100;
const INVALIDATE_KEYS: &[&str] = &["kind", "name", "prefix", "all"];
const _: () = assert!(PARAMETER_KEYS.len() <= MAX_KEYS && SECRET_KEYS.len() <= MAX_KEYS);
const _: () = assert!(OBJECT_KEYS.len() <= MAX_KEYS && PATH_KEYS.len() <= MAX_KEYS);
const _: () = assert!(MANY_KEYS.len() <= MAX_KEYS && SECRETS_MANY_KEYS.len() <= MAX_KEYS);

/// `GET /systemsmanager/parameters/get`.
pub fn parameter_request(query: Option<&str>) -> Result<(ParameterRequest, ReadOptions), AppError> {
    let pairs = Pairs::parse(query, PARAMETER_KEYS)?;
    let full_name = pairs.required_str("name", MAX_NAME)?;
    let (name, name_selector) = split_selector(full_name)?;
    // version and label: the first in the query string wins, as in AWS.
    let version_first = match (pairs.position("version"), pairs.position("label")) {
        (Some(v), Some(l)) => v < l,
        (v, _) => v.is_some(),
    };
    let query_selector = if version_first {
        Some(parse_version(pairs.get("version").unwrap_or_default())?)
    } else {
        pairs
            .optional("label", MAX_LABEL)?
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
    let request = ParameterRequest {
        name: name.to_owned(),
        selector,
        with_decryption: pairs.bool("withDecryption")?,
        target: pairs.target()?,
    };
    Ok((request, pairs.read_options()?))
}

/// `GET /secretsmanager/get`.
pub fn secret_request(query: Option<&str>) -> Result<(SecretRequest, ReadOptions), AppError> {
    let mut pairs = Pairs::parse(query, SECRET_KEYS)?;
    let request = SecretRequest {
        secret_id: pairs.take_required("secretId", MAX_NAME)?,
        version_id: pairs.nonempty("versionId", MAX_VERSION_ID)?,
        version_stage: pairs.nonempty("versionStage", MAX_STAGE)?,
        target: pairs.target()?,
    };
    Ok((request, pairs.read_options()?))
}

/// `GET /s3/get`: `bucket` and `key`, or `uri=s3://bucket/key`.
pub fn object_request(query: Option<&str>) -> Result<(ObjectRequest, ReadOptions), AppError> {
    let pairs = Pairs::parse(query, OBJECT_KEYS)?;
    let (bucket, key) = match pairs.get("uri") {
        Some(uri) => {
            if pairs.get("bucket").is_some() || pairs.get("key").is_some() {
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
            let key = pairs.get("key").filter(|k| !k.is_empty());
            let key = key.ok_or(AppError::MissingParameter("key"))?;
            (pairs.required("bucket", MAX_BUCKET)?, any_key("key", key)?)
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
        version_id: pairs.nonempty("versionId", MAX_OBJECT_VERSION)?,
        target: pairs.target()?,
    };
    Ok((request, pairs.read_options()?))
}

/// `GET /systemsmanager/parameters/get-many`: `names=a,b,c` (each may carry a selector).
pub fn many_request(query: Option<&str>) -> Result<(ParametersRequest, ReadOptions), AppError> {
    let pairs = Pairs::parse(query, MANY_KEYS)?;
    let names = pairs.list("names")?;
    for name in &names {
        split_selector(name)?;
    }
    let options = pairs.list_options("get-many")?;
    let request = ParametersRequest {
        names,
        with_decryption: pairs.bool("withDecryption")?,
        target: pairs.target()?,
    };
    Ok((request, options))
}

/// `GET /secretsmanager/get-many`: `secretIds=a,b,c` (names or ARNs), at most 100.
pub fn secrets_many_request(
    query: Option<&str>,
) -> Result<(SecretsManyRequest, ReadOptions), AppError> {
    let pairs = Pairs::parse(query, SECRETS_MANY_KEYS)?;
    let secret_ids = pairs.list("secretIds")?;
    let options = pairs.list_options("get-many")?;
    let request = SecretsManyRequest {
        secret_ids,
        version_stage: pairs.nonempty("versionStage", MAX_STAGE)?,
        target: pairs.target()?,
    };
    Ok((request, options))
}

/// `GET /systemsmanager/parameters/by-path`.
pub fn path_request(query: Option<&str>) -> Result<(PathRequest, ReadOptions), AppError> {
    let pairs = Pairs::parse(query, PATH_KEYS)?;
    let path = pairs.required("path", MAX_NAME)?;
    if !path.starts_with('/') {
        return Err(AppError::invalid(
            "path",
            "a hierarchy path starts with '/'",
        ));
    }
    let options = pairs.list_options("by-path")?;
    let request = PathRequest {
        path,
        recursive: pairs.bool("recursive")?,
        with_decryption: pairs.bool("withDecryption")?,
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
    if pairs.bool("all")? {
        return Ok(Invalidation::All);
    }
    let kind = match pairs.get("kind") {
        None => None,
        Some("ssm") => Some(Service::Ssm),
        Some("secret") => Some(Service::SecretsManager),
        Some("s3") => Some(Service::S3),
        Some(_) => return Err(AppError::invalid("kind", "expected ssm, secret or s3")),
    };
    // Cached S3 names are `bucket/key`.
    let unprefixed = |v: &str| v.strip_prefix("s3://").unwrap_or(v).to_owned();
    match (pairs.get("name"), pairs.get("prefix")) {
        (Some(_), Some(_)) => Err(AppError::invalid("prefix", "give name or prefix, not both")),
        (Some(name), None) => match kind {
            None => Err(AppError::MissingParameter("kind")),
            Some(kind) => Ok(Invalidation::Name {
                kind: Some(kind),
                name: unprefixed(&bounded("name", name, MAX_NAME)?),
            }),
        },
        (None, Some(prefix)) => Ok(Invalidation::Prefix {
            kind,
            prefix: unprefixed(&bounded("prefix", prefix, MAX_NAME)?),
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
    let searchable_from = match full.find(":parameter/") {
        Some(i) if full.starts_with("arn:") => i + ":parameter/".len(),
        _ if full.starts_with("arn:") => return Ok((full, None)),
        _ => 0,
    };
    match full[searchable_from..].rfind(':') {
        None => Ok((full, None)),
        Some(i) => {
            let (name, selector) = (
                &full[..searchable_from + i],
                &full[searchable_from + i + 1..],
            );
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
