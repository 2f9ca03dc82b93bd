//! `GET /systemsmanager/parameters/get`: every query parameter and name form of the contract,
//! and the exact response shape of the AWS extension (drop-in compatibility).

use aws_sdk_ssm::types::ParameterType;
use serde_json::Value;
use sidecache_tests::check::{assert_keys, assert_rfc3339_utc};
use sidecache_tests::moto;
use sidecache_tests::util::{enc, unique};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::common::{param, started, value_of};

const PARAMETER_FIELDS: &[&str] = &[
    "ARN",
    "DataType",
    "LastModifiedDate",
    "Name",
    "Selector",
    "SourceResult",
    "Type",
    "Value",
    "Version",
];

/// A parameter with two versions, version 1 labelled `blue`: (name, v1 value, v2 value).
async fn two_versions(tag: &str) -> (String, String, String) {
    let name = format!("/{}/conf", unique(tag));
    let (v1, v2) = (format!("{name}-first"), format!("{name}-second"));
    moto::put_parameter(&name, &v1, ParameterType::String).await;
    moto::put_parameter(&name, &v2, ParameterType::String).await;
    moto::ssm()
        .label_parameter_version()
        .name(&name)
        .parameter_version(1)
        .labels("blue")
        .send()
        .await
        .expect("label version 1");
    (name, v1, v2)
}

#[tokio::test]
async fn string_parameter_has_the_aws_extension_shape() {
    let name = format!("/{}/greeting", unique("param-shape"));
    moto::put_parameter(&name, "hello world", ParameterType::String).await;
    let upstream = moto::ssm()
        .get_parameter()
        .name(&name)
        .send()
        .await
        .unwrap();
    let upstream = upstream.parameter().unwrap();
    let (_proxy, sc) = started().await;

    let resp = sc.get(&param(&name, "")).await;
    let body = resp.ok_json();
    let content_type = resp.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "content-type {content_type:?}"
    );
    assert_keys(&body, &["Parameter", "ResultMetadata"], "body");
    assert_eq!(body["ResultMetadata"], serde_json::json!({}));
    let p = &body["Parameter"];
    assert_keys(p, PARAMETER_FIELDS, "Parameter");
    assert_eq!(p["Name"], name.as_str());
    assert_eq!(p["Value"], "hello world");
    assert_eq!(p["Type"], "String");
    assert_eq!(p["Version"], 1, "Version is a JSON number");
    assert_eq!(p["DataType"], "text");
    assert_eq!(p["ARN"], upstream.arn().unwrap());
    assert_eq!(p["Selector"], Value::Null, "no selector was asked for");
    assert_eq!(p["SourceResult"], Value::Null);
    assert_rfc3339_utc(&p["LastModifiedDate"], "LastModifiedDate");
    // Same instant as upstream (to the second): not "now", not a unit confusion.
    let ours = OffsetDateTime::parse(p["LastModifiedDate"].as_str().unwrap(), &Rfc3339).unwrap();
    let theirs = upstream.last_modified_date().unwrap().secs();
    assert!(
        (ours.unix_timestamp() - theirs).abs() <= 1,
        "LastModifiedDate {ours} vs upstream {theirs}"
    );
}

#[tokio::test]
async fn string_list_parameter() {
    let name = format!("/{}/hosts", unique("param-list"));
    moto::put_parameter(&name, "a,b,c", ParameterType::StringList).await;
    let (_proxy, sc) = started().await;
    let body = sc.get(&param(&name, "")).await.ok_json();
    assert_eq!(body["Parameter"]["Type"], "StringList");
    assert_eq!(body["Parameter"]["Value"], "a,b,c");
}

#[tokio::test]
async fn secure_string_is_decrypted_only_when_asked() {
    let name = format!("/{}/db-password", unique("param-secure"));
    let plain = format!("pw-{}", unique("plain"));
    moto::put_parameter(&name, &plain, ParameterType::SecureString).await;
    let (_proxy, sc) = started().await;

    let body = sc
        .get(&param(&name, "&withDecryption=true"))
        .await
        .ok_json();
    assert_eq!(body["Parameter"]["Type"], "SecureString");
    assert_eq!(body["Parameter"]["Value"], plain.as_str());
    // After the decrypted value is cached, the undecrypted forms must be separate cache entries.
    for extra in ["&withDecryption=false", ""] {
        let value = value_of(&sc.get(&param(&name, extra)).await);
        assert_ne!(
            value, plain,
            "query {extra:?} must not return the decrypted value"
        );
    }
}

#[tokio::test]
async fn version_query_selects_an_older_version() {
    let (name, v1, v2) = two_versions("param-version").await;
    let (_proxy, sc) = started().await;
    let body = sc.get(&param(&name, "&version=1")).await.ok_json();
    assert_eq!(body["Parameter"]["Value"], v1.as_str());
    assert_eq!(body["Parameter"]["Version"], 1);
    let body = sc.get(&param(&name, "")).await.ok_json();
    assert_eq!(body["Parameter"]["Value"], v2.as_str());
    assert_eq!(body["Parameter"]["Version"], 2);
    assert_eq!(value_of(&sc.get(&param(&name, "&version=2")).await), v2);
}

#[tokio::test]
async fn label_query_selects_the_labelled_version() {
    let (name, v1, _v2) = two_versions("param-label").await;
    let (_proxy, sc) = started().await;
    let body = sc.get(&param(&name, "&label=blue")).await.ok_json();
    assert_eq!(body["Parameter"]["Value"], v1.as_str());
    assert_eq!(body["Parameter"]["Version"], 1);
}

#[tokio::test]
async fn selectors_in_the_name() {
    let (name, v1, v2) = two_versions("param-selector").await;
    let (_proxy, sc) = started().await;
    assert_eq!(
        value_of(&sc.get(&param(&format!("{name}:1"), "")).await),
        v1
    );
    assert_eq!(
        value_of(&sc.get(&param(&format!("{name}:2"), "")).await),
        v2
    );
    assert_eq!(
        value_of(&sc.get(&param(&format!("{name}:blue"), "")).await),
        v1
    );
}

#[tokio::test]
async fn with_version_and_label_the_first_one_wins() {
    let (name, v1, v2) = two_versions("param-first-wins").await;
    let (_proxy, sc) = started().await;
    let label_first = sc.get(&param(&name, "&label=blue&version=2")).await;
    assert_eq!(value_of(&label_first), v1, "label came first");
    let version_first = sc.get(&param(&name, "&version=2&label=blue")).await;
    assert_eq!(value_of(&version_first), v2, "version came first");
}

#[tokio::test]
async fn trailing_slash_path_is_accepted() {
    let name = format!("/{}/slash", unique("param-slash"));
    moto::put_parameter(&name, "with-slash", ParameterType::String).await;
    let (_proxy, sc) = started().await;
    let path = format!("/systemsmanager/parameters/get/?name={}", enc(&name));
    assert_eq!(value_of(&sc.get(&path).await), "with-slash");
}

#[tokio::test]
async fn hierarchical_names_encoded_and_raw() {
    let name = format!("/{}/db/connection-url", unique("param-hier"));
    let value = "postgres://app@db.internal:5432/app?sslmode=require&x=1";
    moto::put_parameter(&name, value, ParameterType::String).await;
    let (_proxy, sc) = started().await;
    // Percent-encoded, as an SDK-style client sends it...
    assert_eq!(value_of(&sc.get(&param(&name, "")).await), value);
    // ...and with literal slashes, which are legal in a query string.
    let raw = format!("/systemsmanager/parameters/get?name={name}");
    assert_eq!(value_of(&sc.get(&raw).await), value);
}

#[tokio::test]
async fn arn_as_name() {
    let name = format!("/{}/by-arn", unique("param-arn"));
    moto::put_parameter(&name, "found by ARN", ParameterType::String).await;
    let arn = moto::ssm()
        .get_parameter()
        .name(&name)
        .send()
        .await
        .unwrap()
        .parameter()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    let (_proxy, sc) = started().await;
    let body = sc.get(&param(&arn, "")).await.ok_json();
    assert_eq!(body["Parameter"]["Value"], "found by ARN");
    assert_eq!(body["Parameter"]["ARN"], arn.as_str());
}

#[tokio::test]
async fn secrets_manager_reference_through_parameter_store() {
    let id = unique("param-ref");
    let value = format!("referenced-{id}");
    moto::create_secret(&id, &value).await;
    let (_proxy, sc) = started().await;
    let name = format!("/aws/reference/secretsmanager/{id}");
    let resp = sc.get(&param(&name, "&withDecryption=true")).await;
    assert_eq!(value_of(&resp), value);
}

#[tokio::test]
async fn public_aws_service_parameter() {
    let (_proxy, sc) = started().await;
    let name = "/aws/service/global-infrastructure/regions/us-east-1/longName";
    assert_eq!(
        value_of(&sc.get(&param(name, "")).await),
        "US East (N. Virginia)"
    );
}
