//! Cached values in the shapes AWS's own APIs answer with. An entry holds the answer in the
//! AWS extension's shape (`json`, rendered when fetched); the first SDK request for it reads that
//! back once and keeps the AWS API's rendering beside it (`Entry::api`), so a hit in either shape
//! only sends bytes.
//!
//! The differences from the extension's shapes: timestamps are epoch seconds (JSON numbers, as
//! the protocol has them) rather than RFC 3339 strings, absent members are left out rather than
//! `null`, and there is no `ResultMetadata`.

use crate::cache::{ApiShape, Entry, TreeItems};
use crate::error::AppError;
use crate::model::{ObjectPresentation, Parameter, Secret};
use aws_smithy_types::date_time::{DateTime, Format};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

/// Every GetParameter answer starts with this; GetParameters' items are the rest (less the
/// closing brace), so both are cut from one rendering.
const PARAMETER_PREFIX: &[u8] = b"{\"Parameter\":";
const VERSION_ID: HeaderName = HeaderName::from_static("x-amz-version-id");

/// GetParameter's answer for a cached parameter.
pub fn parameter_body(entry: &Entry) -> Result<Bytes, AppError> {
    match shaped(entry, |entry| {
        let stored: StoredParameter = read(&entry.json)?;
        let mut body = PARAMETER_PREFIX.to_vec();
        serde_json::to_writer(&mut body, &AwsParameter::of(&stored.parameter))
            .map_err(unreadable)?;
        body.push(b'}');
        Ok(ApiShape::Body(body.into()))
    })? {
        ApiShape::Body(body) => Ok(body.clone()),
        _ => Err(mixed()),
    }
}

/// One parameter of a GetParameters answer: GetParameter's `Parameter` object.
pub fn parameter_item(entry: &Entry) -> Result<Bytes, AppError> {
    let body = parameter_body(entry)?;
    Ok(body.slice(PARAMETER_PREFIX.len()..body.len() - 1))
}

/// A cached by-path tree's parameters, each rendered, in name order.
pub fn tree_items(entry: &Entry) -> Result<TreeItems, AppError> {
    match shaped(entry, |entry| {
        let stored: StoredTree = read(&entry.json)?;
        let mut items = stored
            .parameters
            .iter()
            .map(|p| {
                let name: Box<str> = p.name.as_deref().unwrap_or("").into();
                let json = serde_json::to_vec(&AwsParameter::of(p)).map_err(unreadable)?;
                Ok((name, Bytes::from(json)))
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        items.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(ApiShape::Items(items.into()))
    })? {
        ApiShape::Items(items) => Ok(items.clone()),
        _ => Err(mixed()),
    }
}

/// GetSecretValue's answer for a cached secret; also one item of BatchGetSecretValue's.
pub fn secret_body(entry: &Entry) -> Result<Bytes, AppError> {
    match shaped(entry, |entry| {
        let secret: Secret = read(&entry.json)?;
        let json = serde_json::to_vec(&AwsSecret::of(&secret)).map_err(unreadable)?;
        Ok(ApiShape::Body(json.into()))
    })? {
        ApiShape::Body(body) => Ok(body.clone()),
        _ => Err(mixed()),
    }
}

/// S3's headers for a cached object: `ETag`, `Last-Modified`, `Content-Type`,
/// `x-amz-version-id`, `Accept-Ranges`.
pub fn object_headers(entry: &Entry) -> Result<HeaderMap, AppError> {
    match shaped(entry, |entry| {
        let stored: StoredObject = read(&entry.json)?;
        let mut headers = HeaderMap::with_capacity(8);
        let mut put = |name: HeaderName, value: Option<&str>| {
            if let Some(value) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
                headers.insert(name, value);
            }
        };
        put(header::ETAG, stored.etag.as_deref());
        let modified = stored
            .last_modified
            .as_deref()
            .and_then(|t| DateTime::from_str(t, Format::DateTime).ok())
            .and_then(|t| t.fmt(Format::HttpDate).ok());
        put(header::LAST_MODIFIED, modified.as_deref());
        put(VERSION_ID, stored.version_id.as_deref());
        put(
            header::CONTENT_TYPE,
            Some(
                stored
                    .content_type
                    .as_deref()
                    .unwrap_or("application/octet-stream"),
            ),
        );
        put(header::ACCEPT_RANGES, Some("bytes"));
        let shown = &stored.presentation;
        put(header::CACHE_CONTROL, shown.cache_control.as_deref());
        put(
            header::CONTENT_DISPOSITION,
            shown.content_disposition.as_deref(),
        );
        put(header::CONTENT_ENCODING, shown.content_encoding.as_deref());
        put(header::CONTENT_LANGUAGE, shown.content_language.as_deref());
        for (name, value) in &shown.metadata {
            let name = HeaderName::from_bytes(format!("x-amz-meta-{name}").as_bytes());
            if let (Ok(name), Ok(value)) = (name, HeaderValue::from_str(value)) {
                headers.insert(name, value);
            }
        }
        Ok(ApiShape::ObjectHeaders(headers))
    })? {
        ApiShape::ObjectHeaders(headers) => Ok(headers.clone()),
        _ => Err(mixed()),
    }
}

/// The entry's AWS rendering, made now by `make` if it has none yet. Two first readers racing
/// may both make it; one is kept (they are equal).
fn shaped(
    entry: &Entry,
    make: impl FnOnce(&Entry) -> Result<ApiShape, AppError>,
) -> Result<&ApiShape, AppError> {
    if let Some(shape) = entry.api.get() {
        return Ok(shape);
    }
    let shape = make(entry)?;
    Ok(entry.api.get_or_init(|| shape))
}

fn read<'a, T: Deserialize<'a>>(json: &'a [u8]) -> Result<T, AppError> {
    serde_json::from_slice(json).map_err(unreadable)
}

fn unreadable(error: serde_json::Error) -> AppError {
    AppError::Storage(format!("cached value unreadable: {error}"))
}

/// One entry read in two kinds of shape: a bug, reported rather than a panic.
fn mixed() -> AppError {
    AppError::Storage("cached value has another kind of AWS rendering".into())
}

/// RFC 3339 (the extension's form) to epoch seconds (the JSON protocol's).
fn epoch_seconds(rfc3339: Option<&str>) -> Option<f64> {
    DateTime::from_str(rfc3339?, Format::DateTime)
        .ok()
        .map(|t| t.as_secs_f64())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StoredParameter {
    parameter: Parameter,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StoredTree {
    parameters: Vec<Parameter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredObject {
    version_id: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    content_type: Option<String>,
    #[serde(flatten)]
    presentation: ObjectPresentation,
}

/// SSM's `Parameter` structure as the JSON protocol has it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AwsParameter<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(rename = "Type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    selector: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_result: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_modified_date: Option<f64>,
    #[serde(rename = "ARN", skip_serializing_if = "Option::is_none")]
    arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_type: Option<&'a str>,
}

impl<'a> AwsParameter<'a> {
    fn of(p: &'a Parameter) -> Self {
        AwsParameter {
            name: p.name.as_deref(),
            kind: p.kind.as_deref(),
            value: p.value.as_deref(),
            version: p.version,
            selector: p.selector.as_deref(),
            source_result: p.source_result.as_deref(),
            last_modified_date: epoch_seconds(p.last_modified_date.as_deref()),
            arn: p.arn.as_deref(),
            data_type: p.data_type.as_deref(),
        }
    }
}

/// GetSecretValue's output (and BatchGetSecretValue's `SecretValueEntry`).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AwsSecret<'a> {
    #[serde(rename = "ARN", skip_serializing_if = "Option::is_none")]
    arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_binary: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_string: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_stages: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_date: Option<f64>,
}

impl<'a> AwsSecret<'a> {
    fn of(s: &'a Secret) -> Self {
        AwsSecret {
            arn: s.arn.as_deref(),
            name: s.name.as_deref(),
            version_id: s.version_id.as_deref(),
            secret_binary: s.secret_binary.as_deref(),
            secret_string: s.secret_string.as_deref(),
            version_stages: s.version_stages.as_deref(),
            created_date: epoch_seconds(s.created_date.as_deref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn entry(json: &str) -> Entry {
        Entry::new(
            Bytes::from(json.to_owned()),
            Bytes::new(),
            HeaderValue::from_static("text/plain"),
        )
    }

    #[test]
    fn a_parameter_in_the_json_protocol_shape() {
        let entry = entry(
            r#"{"Parameter":{"ARN":"arn:aws:ssm:us-east-1:123456789012:parameter/app/db","DataType":"text","LastModifiedDate":"2026-12-07T17:04:44.123Z","Name":"/app/db","Selector":null,"SourceResult":null,"Type":"SecureString","Value":"s3cret","Version":3},"ResultMetadata":{}}"#,
        );
        let body = parameter_body(&entry).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"Parameter": {
                "ARN": "arn:aws:ssm:us-east-1:123456789012:parameter/app/db",
                "DataType": "text",
                "LastModifiedDate": 1_796_663_084.123,
                "Name": "/app/db",
                "Type": "SecureString",
                "Value": "s3cret",
                "Version": 3
            }})
        );
        let item: serde_json::Value =
            serde_json::from_slice(&parameter_item(&entry).unwrap()).unwrap();
        assert_eq!(item, value["Parameter"]);
        // Kept with the entry: the second read is the same bytes, not a new rendering.
        assert_eq!(parameter_body(&entry).unwrap().as_ptr(), body.as_ptr());
    }

    #[test]
    fn a_secret_in_the_json_protocol_shape() {
        let entry = entry(
            r#"{"ARN":"arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf","CreatedDate":"2026-12-07T00:00:00Z","Name":"db","SecretBinary":"AAEC","SecretString":null,"VersionId":"v1","VersionStages":["AWSCURRENT"],"ResultMetadata":{}}"#,
        );
        let value: serde_json::Value =
            serde_json::from_slice(&secret_body(&entry).unwrap()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "ARN": "arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf",
                "CreatedDate": 1_796_601_600.0,
                "Name": "db",
                "SecretBinary": "AAEC",
                "VersionId": "v1",
                "VersionStages": ["AWSCURRENT"]
            })
        );
    }

    #[test]
    fn a_tree_is_items_in_name_order() {
        let entry = entry(
            r#"{"Parameters":[{"Name":"/a/z","Value":"1","Type":"String","Version":1,"ARN":null,"DataType":null,"LastModifiedDate":null,"Selector":null,"SourceResult":null},{"Name":"/a/b","Value":"2","Type":"String","Version":1,"ARN":null,"DataType":null,"LastModifiedDate":null,"Selector":null,"SourceResult":null}],"ResultMetadata":{}}"#,
        );
        let items = tree_items(&entry).unwrap();
        let names: Vec<&str> = items.iter().map(|(n, _)| &**n).collect();
        assert_eq!(names, ["/a/b", "/a/z"]);
        assert_eq!(
            &items[0].1[..],
            br#"{"Name":"/a/b","Type":"String","Value":"2","Version":1}"#
        );
        // The same entry never answers in another kind of shape.
        assert!(parameter_body(&entry).is_err());
    }
}
