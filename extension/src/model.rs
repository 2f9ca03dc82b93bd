//! The values sidecache serves and the requests for them, free of SDK types: the AWS providers
//! translate to and from these, everything else works with them only.
//!
//! Field names of [`Parameter`] and [`Secret`] are those of AWS's Parameters and Secrets
//! extension, so its users change no code; absent fields serialise as `null`, as there.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Ssm,
    SecretsManager,
    S3,
    /// AppConfig Data (StartConfigurationSession, GetLatestConfiguration).
    AppConfig,
}

impl Service {
    /// The name people know the service by, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Service::Ssm => "SSM",
            Service::SecretsManager => "Secrets Manager",
            Service::S3 => "S3",
            Service::AppConfig => "AppConfig",
        }
    }
}

/// Which region and identity to read with; empty means the extension's own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Target {
    pub region: Option<String>,
    pub role_arn: Option<String>,
}

/// A version or label pinned on a parameter, from `version=`, `label=` or `name:selector`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Selector {
    Version(i64),
    Label(String),
}

impl Selector {
    /// The suffix SSM understands after a name (`:3`, `:prod`).
    pub fn suffix(&self) -> String {
        match self {
            Selector::Version(v) => format!(":{v}"),
            Selector::Label(l) => format!(":{l}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterRequest {
    pub name: String,
    pub selector: Option<Selector>,
    pub with_decryption: bool,
    pub target: Target,
}

/// Several parameters at once (GetParameters, at most 10 names a call). Names may carry a
/// `:version` or `:label` selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParametersRequest {
    pub names: Vec<String>,
    pub with_decryption: bool,
    pub target: Target,
}

/// What GetParameters found, and the names it did not.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParametersFound {
    pub parameters: Vec<Parameter>,
    pub invalid: Vec<String>,
}

/// Every parameter under a path (GetParametersByPath, all pages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRequest {
    pub path: String,
    pub recursive: bool,
    pub with_decryption: bool,
    pub target: Target,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRequest {
    pub secret_id: String,
    pub version_id: Option<String>,
    pub version_stage: Option<String>,
    pub target: Target,
}

/// Also read back from a cached answer, to render it in the AWS API's own shape (`awsapi`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    #[serde(rename = "ARN")]
    pub arn: Option<String>,
    pub data_type: Option<String>,
    /// RFC 3339, UTC.
    pub last_modified_date: Option<String>,
    pub name: Option<String>,
    pub selector: Option<String>,
    pub source_result: Option<String>,
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    pub value: Option<String>,
    pub version: Option<i64>,
}

impl Parameter {
    /// A String or StringList: `withDecryption` does not change its value (a SecureString read
    /// without decryption is ciphertext; an unknown type is treated as one).
    pub fn decryption_neutral(&self) -> bool {
        matches!(self.kind.as_deref(), Some("String" | "StringList"))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Secret {
    #[serde(rename = "ARN")]
    pub arn: Option<String>,
    /// RFC 3339, UTC.
    pub created_date: Option<String>,
    pub name: Option<String>,
    /// Base64, as in the AWS API's JSON.
    pub secret_binary: Option<String>,
    pub secret_string: Option<String>,
    pub version_id: Option<String>,
    pub version_stages: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRequest {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub target: Target,
}

/// What S3 says about an object, and what `/s3/get` answers besides the file's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub version_id: Option<String>,
    pub etag: Option<String>,
    /// From Content-Length: lets an oversized object be refused before a byte is written.
    pub content_length: Option<u64>,
    /// RFC 3339, UTC.
    pub last_modified: Option<String>,
    pub content_type: Option<String>,
    /// What S3 answers about how to present the object, sent again to S3 API clients.
    pub presentation: ObjectPresentation,
}

/// An object's stored headers besides its type: its user metadata (`x-amz-meta-*`) and how it
/// is to be cached, shown and decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectPresentation {
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty", default)]
    pub metadata: std::collections::BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cache_control: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub content_disposition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub content_encoding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub content_language: Option<String>,
}

/// The body of a GetObject, read chunk by chunk so a large object never sits in memory.
#[async_trait::async_trait]
pub trait ObjectBody: Send {
    /// The next chunk, or `None` at the end.
    async fn next_chunk(&mut self) -> Result<Option<bytes::Bytes>, UpstreamError>;
}

pub enum ObjectFetch {
    /// A conditional GET matched the ETag we hold (304).
    NotModified,
    Body(Box<ObjectMeta>, Box<dyn ObjectBody>),
}

/// A failed upstream call, described without SDK types; `error::classify` turns it into the
/// HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamError {
    pub service: Service,
    pub kind: UpstreamErrorKind,
    /// Human-readable detail from the SDK or the service; never holds a value or a token.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamErrorKind {
    /// The service answered with an error; `code` is its error code when it sent one.
    Service { code: Option<String>, status: u16 },
    /// The call (with retries) ran out of time.
    Timeout,
    /// No answer: connection refused or reset, DNS, TLS.
    Unreachable,
    /// The request could not be built (a bad input that slipped past validation).
    Invalid,
}

/// `GET /secretsmanager/get-many`: several secrets by id, all at one version stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretsManyRequest {
    pub secret_ids: Vec<String>,
    pub version_stage: Option<String>,
    pub target: Target,
}

/// Which secrets one BatchGetSecretValue asks for: a list of ids (at most 20 a call), or every
/// secret matching one filter (all pages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretsSelection {
    Ids(Vec<String>),
    /// `key` is one of the API's filter keys (name, tag-key, tag-value, description, all).
    Filter {
        key: String,
        value: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretsBatchRequest {
    pub selection: SecretsSelection,
    pub target: Target,
}

/// What BatchGetSecretValue answered: the secrets found (AWSCURRENT) and per-id errors.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SecretsFound {
    pub secrets: Vec<Secret>,
    pub errors: Vec<SecretError>,
}

/// One id BatchGetSecretValue could not answer, as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretError {
    pub secret_id: String,
    pub error_code: String,
    pub message: String,
}

/// An AWS JSON 1.1 call (SSM or Secrets Manager) that sidecache does not answer from its
/// cache: sent on to the service as it came, signed again with the extension's credentials.
#[derive(Debug, Clone)]
pub struct ForwardRequest {
    pub service: Service,
    /// The operation, as its `X-Amz-Target` names it (`AmazonSSM.PutParameter`).
    pub operation: String,
    pub content_type: String,
    pub body: bytes::Bytes,
    /// The region the caller signed for (its SDK client's), or the extension's own.
    pub target: Target,
}

/// The service's answer to a forwarded call, relayed to the caller unchanged.
#[derive(Debug, Clone)]
pub struct ForwardAnswer {
    pub status: u16,
    /// The headers worth relaying: the content type, AWS's request id and error type.
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
}

/// An AppConfig configuration profile: application, environment and profile, each by name or id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProfileRequest {
    pub application: String,
    pub environment: String,
    pub profile: String,
    pub target: Target,
}

/// What one GetLatestConfiguration answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestConfiguration {
    /// The token of the next poll (each is good for one call).
    pub next_token: String,
    /// How long AppConfig wants the next poll to wait, at least.
    pub next_poll_interval: Option<std::time::Duration>,
    pub content_type: Option<String>,
    pub version_label: Option<String>,
    /// The configuration; empty when it has not changed since the previous poll.
    pub content: bytes::Bytes,
}

/// Why a GetLatestConfiguration failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollError {
    /// AppConfig refused the token.
    Token(TokenProblem),
    Upstream(UpstreamError),
}

/// What AppConfig Data found wrong with a configuration token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// Older than its 24 hours: a new session is needed.
    Expired,
    /// Not a token AppConfig made (or already spent): a new session is needed.
    Corrupted,
    /// Polled sooner than the session's interval: keep the last configuration.
    PollIntervalNotSatisfied,
}
