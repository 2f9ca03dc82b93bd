//! `GET /secretsmanager/get`: by name and ARN, version stages and ids, binary secrets, and the
//! AWS extension's response shape.

use aws_sdk_secretsmanager::primitives::Blob;
use base64::Engine;
use serde_json::Value;
use sidecache_tests::check::{assert_keys, assert_rfc3339_utc};
use sidecache_tests::moto;
use sidecache_tests::util::unique;

use super::common::{secret, started};

const SECRET_FIELDS: &[&str] = &[
    "ARN",
    "CreatedDate",
    "Name",
    "SecretBinary",
    "SecretString",
    "VersionId",
    "VersionStages",
    "ResultMetadata",
];

fn stages(body: &Value) -> Vec<String> {
    body["VersionStages"]
        .as_array()
        .unwrap_or_else(|| panic!("VersionStages should be an array in {body}"))
        .iter()
        .map(|s| s.as_str().expect("stage is a string").to_owned())
        .collect()
}

/// A secret with two values: (name, ARN, first VersionId, old value, new value).
async fn rotated(tag: &str) -> (String, String, String, String, String) {
    let name = unique(tag);
    let (old, new) = (format!("{name}-old"), format!("{name}-new"));
    let (arn, first_version) = moto::create_secret(&name, &old).await;
    moto::secrets()
        .put_secret_value()
        .secret_id(&name)
        .secret_string(&new)
        .send()
        .await
        .expect("put_secret_value");
    (name, arn, first_version, old, new)
}

#[tokio::test]
async fn secret_by_name_has_the_aws_extension_shape() {
    let name = unique("secret-shape");
    let value = format!(r#"{{"user":"app","password":"{name}"}}"#);
    let (arn, version_id) = moto::create_secret(&name, &value).await;
    let (_proxy, sc) = started().await;

    let resp = sc.get(&secret(&name, "")).await;
    let body = resp.ok_json();
    assert_keys(&body, SECRET_FIELDS, "secret body");
    assert_eq!(body["Name"], name.as_str());
    assert_eq!(body["ARN"], arn.as_str());
    assert_eq!(body["SecretString"], value.as_str());
    assert_eq!(body["SecretBinary"], Value::Null);
    assert_eq!(body["VersionId"], version_id.as_str());
    assert!(
        stages(&body).contains(&"AWSCURRENT".to_owned()),
        "stages of {body}"
    );
    assert_eq!(body["ResultMetadata"], serde_json::json!({}));
    assert_rfc3339_utc(&body["CreatedDate"], "CreatedDate");
}

#[tokio::test]
async fn secret_by_arn() {
    let name = unique("secret-arn");
    let (arn, _) = moto::create_secret(&name, "by-arn-value").await;
    let (_proxy, sc) = started().await;
    let body = sc.get(&secret(&arn, "")).await.ok_json();
    assert_eq!(body["SecretString"], "by-arn-value");
    assert_eq!(body["ARN"], arn.as_str());
}

#[tokio::test]
async fn version_stage_previous_after_rotation() {
    let (name, _arn, _first, old, new) = rotated("secret-stage").await;
    let (_proxy, sc) = started().await;
    let current = sc.get(&secret(&name, "")).await.ok_json();
    assert_eq!(current["SecretString"], new.as_str());
    let previous = sc
        .get(&secret(&name, "&versionStage=AWSPREVIOUS"))
        .await
        .ok_json();
    assert_eq!(previous["SecretString"], old.as_str());
    assert!(
        stages(&previous).contains(&"AWSPREVIOUS".to_owned()),
        "{previous}"
    );
    let explicit = sc
        .get(&secret(&name, "&versionStage=AWSCURRENT"))
        .await
        .ok_json();
    assert_eq!(explicit["SecretString"], new.as_str());
}

#[tokio::test]
async fn version_id_selects_that_version() {
    let (name, _arn, first, old, _new) = rotated("secret-version-id").await;
    let (_proxy, sc) = started().await;
    let body = sc
        .get(&secret(&name, &format!("&versionId={first}")))
        .await
        .ok_json();
    assert_eq!(body["SecretString"], old.as_str());
    assert_eq!(body["VersionId"], first.as_str());
}

#[tokio::test]
async fn binary_secret_is_base64() {
    let name = unique("secret-binary");
    // Not valid UTF-8 on purpose: it must survive as bytes, not as text.
    let bytes = vec![0u8, 159, 146, 150, 255, b'k', b'e', b'y'];
    moto::secrets()
        .create_secret()
        .name(&name)
        .secret_binary(Blob::new(bytes.clone()))
        .send()
        .await
        .expect("create binary secret");
    let (_proxy, sc) = started().await;
    let body = sc.get(&secret(&name, "")).await.ok_json();
    assert_keys(&body, SECRET_FIELDS, "binary secret body");
    assert_eq!(body["SecretString"], Value::Null);
    let encoded = body["SecretBinary"]
        .as_str()
        .unwrap_or_else(|| panic!("SecretBinary should be a base64 string in {body}"));
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap_or_else(|e| panic!("SecretBinary {encoded:?} is not base64: {e}"));
    assert_eq!(decoded, bytes);
}
