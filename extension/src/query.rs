//! Query strings into typed requests. Unknown and malformed parameters are 400s: a typo such
//! as `withdecryption=true` must not silently return ciphertext.
//!
//! Parsing is one pass over the query string that records where each accepted key's first
//! value stands; a value is borrowed from the query when it needs no decoding and decoded when
//! read otherwise, so a plain hit allocates only the request's own strings.

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

/// Every query parameter any endpoint accepts. A key is identified once, when the query is
/// split, so the handlers look values up by array index instead of comparing names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Param {
    Format,
    MaxAge,
    RefreshNow,
    Region,
    RoleArn,
    Name,
    Version,
    Label,
    WithDecryption,
    SecretId,
    VersionId,
    VersionStage,
    Bucket,
    Key,
    Uri,
    Path,
    Recursive,
    Names,
    SecretIds,
    Kind,
    Prefix,
    All,
}

impl Param {
    const COUNT: usize = Param::All as usize + 1;
    /// Indexed by `Param as usize`; `from_name` must stay its inverse (a unit test checks).
    const NAMES: [&'static str; Param::COUNT] = [
        "format",
        "maxAge",
        "refreshNow",
        "region",
        "roleArn",
        "name",
        "version",
        "label",
        "withDecryption",
        "secretId",
        "versionId",
        "versionStage",
        "bucket",
        "key",
        "uri",
        "path",
        "recursive",
        "names",
        "secretIds",
        "kind",
        "prefix",
        "all",
    ];

    fn name(self) -> &'static str {
        Param::NAMES[self as usize]
    }

    /// A `match` rather than a search of `NAMES`: the compiler dispatches on the length first,
    /// so a key costs about one comparison.
    fn from_name(name: &str) -> Option<Param> {
        Some(match name {
            "format" => Param::Format,
            "maxAge" => Param::MaxAge,
            "refreshNow" => Param::RefreshNow,
            "region" => Param::Region,
            "roleArn" => Param::RoleArn,
            "name" => Param::Name,
            "version" => Param::Version,
            "label" => Param::Label,
            "withDecryption" => Param::WithDecryption,
            "secretId" => Param::SecretId,
            "versionId" => Param::VersionId,
            "versionStage" => Param::VersionStage,
            "bucket" => Param::Bucket,
            "key" => Param::Key,
            "uri" => Param::Uri,
            "path" => Param::Path,
            "recursive" => Param::Recursive,
            "names" => Param::Names,
            "secretIds" => Param::SecretIds,
            "kind" => Param::Kind,
            "prefix" => Param::Prefix,
            "all" => Param::All,
            _ => return None,
        })
    }
}

/// The keys one endpoint accepts, as a bit set over `Param`.
#[derive(Clone, Copy)]
struct Accepted(u32);

impl Accepted {
    const fn of(params: &[Param]) -> Accepted {
        let mut bits = 0;
        let mut i = 0;
        while i < params.len() {
            bits |= 1 << params[i] as u32;
            i += 1;
        }
        Accepted(bits)
    }

    fn contains(self, param: Param) -> bool {
        self.0 & (1 << param as u32) != 0
    }
}
const _: () = assert!(Param::COUNT <= u32::BITS as usize);

/// Where a value stands in the query string, and whether it needs decoding (holds a `%` or
/// `+`). Values are decoded only when read: most are read once, and most need no decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
    encoded: bool,
}

/// Splits a query string the way `form_urlencoded::parse` does (which it replaced on the hot
/// path: its per-pair `Cow` decoding cost more than the rest of a cache hit's parsing): pieces
/// separated by `&`, empty pieces skipped, the key up to the first `=`, the value after it
/// (empty when there is no `=`). Calls `each` with the key's and the value's spans, in order.
fn split<E>(query: &str, mut each: impl FnMut(Span, Span) -> Result<(), E>) -> Result<(), E> {
    let bytes = query.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        // One pass per piece finds its end, its first `=` and whether each side is encoded.
        let mut end = start;
        let mut equals = None;
        let mut encoded = false;
        let mut key_encoded = false;
        while end < bytes.len() {
            match bytes[end] {
                b'&' => break,
                b'=' if equals.is_none() => {
                    equals = Some(end);
                    key_encoded = encoded;
                    encoded = false;
                }
                b'%' | b'+' => encoded = true,
                _ => {}
            }
            end += 1;
        }
        if end > start {
            let (key, value) = match equals {
                Some(equals) => (
                    Span {
                        start,
                        end: equals,
                        encoded: key_encoded,
                    },
                    Span {
                        start: equals + 1,
                        end,
                        encoded,
                    },
                ),
                None => (
                    Span {
                        start,
                        end,
                        encoded,
                    },
                    Span {
                        start: end,
                        end,
                        encoded: false,
                    },
                ),
            };
            each(key, value)?;
        }
        start = end + 1;
    }
    Ok(())
}

/// A piece of the query as `form_urlencoded` decodes it: `+` is a space, then `%XX` escapes
/// (either case of hex) are bytes and a `%` not followed by two hex digits stays as it is,
/// then bytes that are not UTF-8 become U+FFFD.
fn decode(raw: &str) -> String {
    // Built as a `String` while every escape decodes to ASCII (the usual `%2F`): the runs
    // between escapes are slices of a `str` cut at ASCII bytes, so no UTF-8 check is needed.
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    // A byte search: `%` and `+` are ASCII, so their positions are character boundaries (and
    // `str::find` with a set of chars decodes every character first, ~25 instructions a byte).
    while let Some(special) = rest.bytes().position(|b| b == b'%' || b == b'+') {
        out.push_str(&rest[..special]);
        rest = &rest[special..];
        let (byte, used) = escape(rest.as_bytes());
        if !byte.is_ascii() {
            return decode_bytes(raw);
        }
        out.push(char::from(byte));
        rest = &rest[used..];
    }
    out.push_str(rest);
    out
}

/// `decode` for values with escapes of non-ASCII bytes: decoded as bytes, then checked.
fn decode_bytes(raw: &str) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw.as_bytes();
    while let Some(special) = rest.iter().position(|&b| b == b'%' || b == b'+') {
        out.extend_from_slice(&rest[..special]);
        let (byte, used) = escape(&rest[special..]);
        out.push(byte);
        rest = &rest[special + used..];
    }
    out.extend_from_slice(rest);
    match String::from_utf8(out) {
        Ok(decoded) => decoded,
        Err(invalid) => String::from_utf8_lossy(invalid.as_bytes()).into_owned(),
    }
}

/// The byte that `%XX`, a lone `%` or a `+` at the start of `at` stands for, and its length.
fn escape(at: &[u8]) -> (u8, usize) {
    match at {
        [b'%', high, low, ..] => match hex(high).zip(hex(low)) {
            Some((high, low)) => (high << 4 | low, 3),
            None => (b'%', 1),
        },
        [b'%', ..] => (b'%', 1),
        _ => (b' ', 1), // a `+`
    }
}

fn hex(digit: &u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// A query string split once: where the first value of each accepted key stands (as in AWS,
/// the first occurrence wins). Nothing is allocated unless a key needs decoding; values are
/// borrowed from the query unless they need decoding.
struct Pairs<'a> {
    query: &'a str,
    /// Bit sets over `Param`: the keys present, and those whose value needs decoding. Bits
    /// rather than an `Option` per key keep the empty state all zeroes, cheap to set up.
    present: u32,
    encoded: u32,
    /// Start and end of each present key's value in `query`: `u32` halves the struct, which is
    /// returned by value; hyper bounds a request head to well under 4 GiB.
    bounds: [(u32, u32); Param::COUNT],
}

impl<'a> Pairs<'a> {
    fn parse(query: Option<&'a str>, accepted: Accepted) -> Result<Self, AppError> {
        let query = query.unwrap_or("");
        let mut pairs = Pairs {
            query,
            present: 0,
            encoded: 0,
            bounds: [(0, 0); Param::COUNT],
        };
        split(query, |key, value| {
            let raw = &query[key.start..key.end];
            let key = if key.encoded {
                Cow::Owned(decode(raw))
            } else {
                Cow::Borrowed(raw)
            };
            match Param::from_name(&key) {
                Some(param) if accepted.contains(param) => {
                    let bit = 1 << param as u32;
                    if pairs.present & bit == 0 {
                        pairs.present |= bit;
                        pairs.encoded |= if value.encoded { bit } else { 0 };
                        pairs.bounds[param as usize] = (value.start as u32, value.end as u32);
                    }
                    Ok(())
                }
                _ => Err(AppError::UnknownParameter(key.chars().take(64).collect())),
            }
        })?;
        Ok(pairs)
    }

    #[inline]
    fn has(&self, param: Param) -> bool {
        self.present & (1 << param as u32) != 0
    }

    /// Inlined so that the common case, an absent key, costs a bit test.
    #[inline]
    fn get(&self, param: Param) -> Option<Cow<'a, str>> {
        if !self.has(param) {
            return None;
        }
        let (start, end) = self.bounds[param as usize];
        let raw = &self.query[start as usize..end as usize];
        Some(if self.encoded & (1 << param as u32) != 0 {
            Cow::Owned(decode(raw))
        } else {
            Cow::Borrowed(raw)
        })
    }

    /// Where the value stood, to tell which of two keys came first.
    fn position(&self, param: Param) -> Option<usize> {
        self.has(param)
            .then(|| self.bounds[param as usize].0 as usize)
    }

    fn required(&self, param: Param, max: usize) -> Result<String, AppError> {
        self.required_str(param, max).map(Cow::into_owned)
    }

    /// `required`, checked without a copy: a decoded value is moved out by `into_owned`.
    fn required_str(&self, param: Param, max: usize) -> Result<Cow<'a, str>, AppError> {
        match self.get(param) {
            Some(v) if !v.is_empty() => checked(param.name(), &v, max).map(|()| v),
            _ => Err(AppError::MissingParameter(param.name())),
        }
    }

    #[inline]
    fn optional(&self, param: Param, max: usize) -> Result<Option<String>, AppError> {
        self.get(param)
            .map(|v| checked(param.name(), &v, max).map(|()| v.into_owned()))
            .transpose()
    }

    /// Like `optional`, with an empty value counting as absent.
    #[inline]
    fn nonempty(&self, param: Param, max: usize) -> Result<Option<String>, AppError> {
        Ok(self.optional(param, max)?.filter(|v| !v.is_empty()))
    }

    /// A comma-separated list of names or ids (batch endpoints): trimmed, empty items and
    /// repeats dropped, each checked like a single value, 1 to `MAX_MANY` of them.
    fn list(&self, param: Param) -> Result<Vec<String>, AppError> {
        let name = param.name();
        let list = self.required_str(param, MAX_MANY * (MAX_NAME + 1))?;
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

    #[inline]
    fn bool(&self, param: Param) -> Result<bool, AppError> {
        match self.get(param).as_deref() {
            None => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(_) => Err(AppError::invalid(param.name(), "expected true or false")),
        }
    }

    fn read_options(&self) -> Result<ReadOptions, AppError> {
        let format = match self.get(Param::Format).as_deref() {
            None | Some("json") => Format::Json,
            Some("raw") => Format::Raw,
            Some(_) => return Err(AppError::invalid("format", "expected json or raw")),
        };
        let max_age = match self.get(Param::MaxAge) {
            None => None,
            Some(v) => Some(Duration::from_secs(v.parse().map_err(|_| {
                AppError::invalid("maxAge", "expected a whole number of seconds")
            })?)),
        };
        let max_age = if self.bool(Param::RefreshNow)? {
            Some(Duration::ZERO)
        } else {
            max_age
        };
        Ok(ReadOptions { format, max_age })
    }

    fn target(&self) -> Result<Target, AppError> {
        let region = self.optional(Param::Region, MAX_REGION)?;
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
        let role_arn = self.optional(Param::RoleArn, MAX_NAME)?;
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
const SHARED: [Param; 5] = [
    Param::Format,
    Param::MaxAge,
    Param::RefreshNow,
    Param::Region,
    Param::RoleArn,
];
const fn with_shared(own: &[Param]) -> Accepted {
    Accepted(Accepted::of(own).0 | Accepted::of(&SHARED).0)
}
const PARAMETER_KEYS: Accepted = with_shared(&[
    Param::Name,
    Param::Version,
    Param::Label,
    Param::WithDecryption,
]);
const SECRET_KEYS: Accepted =
    with_shared(&[Param::SecretId, Param::VersionId, Param::VersionStage]);
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
