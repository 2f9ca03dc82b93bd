//! The answers cached for single reads, rendered once when fetched: the JSON bodies in the AWS
//! extension's shapes and the bare values for `format=raw`.

use super::{BINARY, TEXT};
use crate::cache::Entry;
use crate::model::{ObjectPresentation, Parameter, Secret};
use base64::Engine;
use bytes::Bytes;
use serde::Serialize;

/// Both AWS answers carry an empty `ResultMetadata` object, as the AWS extension's do.
#[derive(Serialize)]
pub(super) struct ResultMetadata {}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ParameterBody<'a> {
    pub(super) parameter: &'a Parameter,
    pub(super) result_metadata: ResultMetadata,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ParametersBody<'a> {
    pub(super) parameters: &'a [Parameter],
    pub(super) result_metadata: ResultMetadata,
}

/// `/s3/get`'s answer: where the file is, and what S3 said about it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ObjectBody<'a> {
    pub(super) path: &'a str,
    pub(super) bucket: &'a str,
    pub(super) key: &'a str,
    pub(super) version_id: Option<&'a str>,
    pub(super) etag: Option<&'a str>,
    pub(super) size: u64,
    pub(super) last_modified: Option<&'a str>,
    pub(super) content_type: Option<&'a str>,
    /// User metadata and stored presentation headers, when the object has any.
    #[serde(flatten)]
    pub(super) presentation: &'a ObjectPresentation,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct SecretBody<'a> {
    #[serde(flatten)]
    pub(super) secret: &'a Secret,
    pub(super) result_metadata: ResultMetadata,
}

/// One secret's cached answer: the `get` body, and the bare value for `format=raw`.
pub(super) fn secret_entry(secret: &Secret) -> Entry {
    let json = render(&SecretBody {
        secret,
        result_metadata: ResultMetadata {},
    });
    let (raw, content_type) = match (&secret.secret_string, &secret.secret_binary) {
        (Some(text), _) => (Bytes::from(text.clone()), TEXT),
        (None, Some(b64)) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap_or_default();
            (Bytes::from(bytes), BINARY)
        }
        (None, None) => (Bytes::new(), TEXT),
    };
    Entry::new(json, raw, content_type)
}

/// One parameter's cached answer: the `get` body, and the bare value for `format=raw`.
pub(super) fn parameter_entry(parameter: Parameter) -> Entry {
    let json = render(&ParameterBody {
        parameter: &parameter,
        result_metadata: ResultMetadata {},
    });
    let decryption_neutral = parameter.decryption_neutral();
    let mut entry = Entry::new(json, Bytes::from(parameter.value.unwrap_or_default()), TEXT);
    entry.decryption_neutral = decryption_neutral;
    entry
}

pub(super) fn render<T: Serialize>(body: &T) -> Bytes {
    // Serialising plain structs of strings and numbers cannot fail.
    Bytes::from(serde_json::to_vec(body).expect("response body serialises"))
}
