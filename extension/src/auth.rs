//! Who may read: the `X-Aws-Parameters-Secrets-Token` header, or an AWS SigV4 signature made
//! with the credentials the extension runs with (a stock SDK's requests); and no forwarded
//! requests.
//!
//! The token guards against SSRF: a handler tricked into fetching a URL cannot set the header,
//! nor sign the request. For the same reason anything carrying `X-Forwarded-For` (a proxy in the
//! path) is refused.

mod signatures;
pub mod sigv4;

pub use signatures::{Refusal, Signatures};

use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use sigv4::SignedRequest;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};
use subtle::ConstantTimeEq;

// Constant names: comparing with them is a length check and a `memcmp`, no parsing.
pub const TOKEN_HEADER: HeaderName = HeaderName::from_static("x-aws-parameters-secrets-token");
const FORWARDED_HEADER: HeaderName = HeaderName::from_static("x-forwarded-for");
const AMZ_DATE: HeaderName = HeaderName::from_static("x-amz-date");
const SECURITY_TOKEN: HeaderName = HeaderName::from_static("x-amz-security-token");
pub const CONTENT_SHA256: HeaderName = HeaderName::from_static("x-amz-content-sha256");
/// SHA-256 of an empty body: what every GET signs.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// How often a token file is checked for changes while the presented token keeps matching.
const FILE_RECHECK: Duration = Duration::from_secs(1);
/// Refreshes of credential-derived tokens on a mismatch are bounded, as each may call out.
const CREDENTIALS_RECHECK: Duration = Duration::from_secs(1);

/// The credentials the extension runs with: what signatures are checked against, and whose
/// session token may be the token header's value. Implemented by the AWS module.
#[derive(Clone)]
pub struct Identity {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret or the token.
        f.debug_struct("Identity")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Resolves the credentials the extension runs with (SnapStart and containers have none in the
/// environment; they may rotate).
pub trait CredentialSource: Send + Sync {
    fn credentials(&self) -> Pin<Box<dyn Future<Output = Option<Identity>> + Send + '_>>;
}

/// Everything that decides who may read.
pub struct Auth {
    pub token: TokenSource,
    pub signatures: Signatures,
}

impl Auth {
    /// After a SnapStart restore: credentials (and the session token) are new.
    pub fn restored(&self) {
        self.token.restored();
        self.signatures.restored();
    }
}

/// Who asked, as far as reading needs to know.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The region a SigV4 request was signed for (its SDK client's region).
    pub signed_region: Option<String>,
    /// The service it was signed for (`ssm`, `secretsmanager`, `s3`).
    pub signed_service: Option<String>,
}

/// The expected value of the token header.
pub enum TokenSource {
    Fixed(Box<[u8]>),
    File(FileToken),
    Credentials(CredentialsToken),
}

pub struct FileToken {
    path: PathBuf,
    state: RwLock<(Arc<[u8]>, Option<SystemTime>)>,
    last_check: Mutex<Instant>,
}

pub struct CredentialsToken {
    source: Arc<dyn CredentialSource>,
    /// The session token last resolved; empty (matching nothing) until one is.
    current: RwLock<Arc<[u8]>>,
    last_refresh: Mutex<Instant>,
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN` with container credentials (SnapStart): the value
    /// the handler has, accepted as well as the session token.
    container: Option<Box<[u8]>>,
}

/// Constant-time comparison, eight bytes a step: a Lambda session token is about a kilobyte,
/// which `subtle`'s byte-wise `ct_eq` took ~10 instructions a byte to compare. Only the length
/// may leak, as with `ct_eq`.
fn same(expected: &[u8], presented: &[u8]) -> bool {
    if expected.is_empty() || expected.len() != presented.len() {
        return false;
    }
    let (words, tail) = expected.as_chunks::<8>();
    let (presented_words, presented_tail) = presented.as_chunks::<8>();
    let mut difference = 0u64;
    for (a, b) in words.iter().zip(presented_words) {
        difference |= u64::from_ne_bytes(*a) ^ u64::from_ne_bytes(*b);
    }
    for (a, b) in tail.iter().zip(presented_tail) {
        difference |= u64::from(a ^ b);
    }
    bool::from(difference.ct_eq(&0))
}

impl TokenSource {
    pub fn file(path: PathBuf) -> std::io::Result<Self> {
        let (token, mtime) = read_token_file(&path)?;
        Ok(TokenSource::File(FileToken {
            path,
            state: RwLock::new((token, mtime)),
            last_check: Mutex::new(Instant::now()),
        }))
    }

    /// The session token of `source`'s credentials. Without a `container` token it is resolved
    /// now, and `None` when the credentials carry none. With one (SnapStart), nothing is resolved
    /// at start-up (INIT makes no call it need not, and credentials change at a restore): the
    /// container token is accepted at once, the session token once presented.
    pub async fn credentials(
        source: Arc<dyn CredentialSource>,
        container: Option<&str>,
    ) -> Option<Self> {
        let (current, last_refresh) = match container {
            // The first session token presented may be resolved at once.
            Some(_) => (Arc::from(&b""[..]), Instant::now() - CREDENTIALS_RECHECK),
            None => (
                Arc::from(session_token(&*source).await?.into_bytes()),
                Instant::now(),
            ),
        };
        Some(TokenSource::Credentials(CredentialsToken {
            source,
            current: RwLock::new(current),
            last_refresh: Mutex::new(last_refresh),
            container: container.map(|t| t.as_bytes().into()),
        }))
    }

    /// After a SnapStart restore Lambda has swapped the credentials: the session token held
    /// from before is no longer accepted, the current one is resolved when presented.
    pub fn restored(&self) {
        if let TokenSource::Credentials(credentials) = self {
            *credentials.current.write().expect("token lock") = Arc::from(&b""[..]);
            *credentials.last_refresh.lock().expect("token lock") =
                Instant::now() - CREDENTIALS_RECHECK;
        }
    }

    pub async fn verify(&self, presented: &[u8]) -> bool {
        match self {
            TokenSource::Fixed(token) => same(token, presented),
            TokenSource::File(file) => file.verify(presented),
            TokenSource::Credentials(credentials) => credentials.verify(presented).await,
        }
    }

    /// `verify` when it needs no waiting: `None` for a credentials token that does not match
    /// the one held (only `verify` may fetch the rotated one).
    pub fn verify_now(&self, presented: &[u8]) -> Option<bool> {
        match self {
            TokenSource::Fixed(token) => Some(same(token, presented)),
            TokenSource::File(file) => Some(file.verify(presented)),
            TokenSource::Credentials(credentials) => (credentials.is_container_token(presented)
                || same(&credentials.current(), presented))
            .then_some(true),
        }
    }
}

async fn session_token(source: &dyn CredentialSource) -> Option<String> {
    source.credentials().await?.session_token
}

fn read_token_file(path: &PathBuf) -> std::io::Result<(Arc<[u8]>, Option<SystemTime>)> {
    let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let contents = std::fs::read_to_string(path)?;
    Ok((Arc::from(contents.trim().as_bytes()), mtime))
}

impl FileToken {
    fn verify(&self, presented: &[u8]) -> bool {
        let matches = same(&self.current(), presented);
        let due = {
            let mut last = self.last_check.lock().expect("token lock");
            let due = !matches || last.elapsed() >= FILE_RECHECK;
            if due {
                *last = Instant::now();
            }
            due
        };
        if due && self.reload_if_changed() {
            return same(&self.current(), presented);
        }
        matches
    }

    fn current(&self) -> Arc<[u8]> {
        self.state.read().expect("token lock").0.clone()
    }

    /// Re-reads the file when its modification time changed; keeps the old token if the file
    /// is briefly missing or empty (mid-rotation), rather than locking every caller out.
    fn reload_if_changed(&self) -> bool {
        let mtime = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        if mtime == self.state.read().expect("token lock").1 {
            return false;
        }
        match read_token_file(&self.path) {
            Ok((token, mtime)) if !token.is_empty() => {
                *self.state.write().expect("token lock") = (token, mtime);
                tracing::info!(path = %self.path.display(), "token file changed; reloaded");
                true
            }
            _ => false,
        }
    }
}

impl CredentialsToken {
    fn is_container_token(&self, presented: &[u8]) -> bool {
        self.container
            .as_deref()
            .is_some_and(|token| same(token, presented))
    }

    async fn verify(&self, presented: &[u8]) -> bool {
        if self.is_container_token(presented) || same(&self.current(), presented) {
            return true;
        }
        {
            let mut last = self.last_refresh.lock().expect("token lock");
            if last.elapsed() < CREDENTIALS_RECHECK {
                return false;
            }
            *last = Instant::now();
        }
        // Credentials rotate (containers, SnapStart restore): the caller may hold the new one.
        match session_token(&*self.source).await {
            Some(token) => {
                let token: Arc<[u8]> = Arc::from(token.into_bytes());
                *self.current.write().expect("token lock") = token.clone();
                same(&token, presented)
            }
            None => false,
        }
    }

    fn current(&self) -> Arc<[u8]> {
        self.current.read().expect("token lock").clone()
    }
}

/// Why a request was turned away before it reached the cache; `error.rs` turns it into the
/// answer each API gives (kept here as its own type so the authorizer does not depend on the
/// error module that renders it).
#[derive(Debug)]
pub enum Denied {
    /// It carried `X-Forwarded-For`: sidecache serves local callers only.
    Forwarded,
    MissingToken,
    InvalidToken,
    /// A SigV4 signature that is malformed or does not verify.
    Signature(Refusal),
}

/// The proofs a request carries, found in one pass over its few headers, comparing names,
/// instead of hashed look-ups (hashing the 30-byte token header name alone cost ~285
/// instructions).
#[derive(Default)]
pub struct Proofs<'a> {
    pub token: Option<&'a HeaderValue>,
    pub authorization: Option<&'a HeaderValue>,
    pub amz_date: Option<&'a HeaderValue>,
    pub security_token: Option<&'a HeaderValue>,
}

impl<'a> Proofs<'a> {
    /// The first value of each, unless the request was forwarded.
    pub fn of(headers: &'a HeaderMap) -> Result<Self, Denied> {
        let mut proofs = Proofs::default();
        for (name, value) in headers {
            let slot = if *name == FORWARDED_HEADER {
                return Err(Denied::Forwarded);
            } else if *name == TOKEN_HEADER {
                &mut proofs.token
            } else if *name == header::AUTHORIZATION {
                &mut proofs.authorization
            } else if *name == AMZ_DATE {
                &mut proofs.amz_date
            } else if *name == SECURITY_TOKEN {
                &mut proofs.security_token
            } else {
                continue;
            };
            slot.get_or_insert(value);
        }
        Ok(proofs)
    }

    /// The SigV4 `Authorization` header, read.
    pub fn signature(&self) -> Option<Result<sigv4::Authorization<'a>, Denied>> {
        let value = self.authorization?;
        Some(
            value
                .to_str()
                .map_err(|_| sigv4::SigV4Error::Malformed("the header is not visible ASCII"))
                .and_then(sigv4::parse_authorization)
                .map_err(|e| Denied::Signature(Refusal::Malformed(e))),
        )
    }
}

/// A request as the authorizer sees it: its line, its headers and the hash of its body.
pub struct Asked<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// Hex SHA-256 of the body ([`EMPTY_SHA256`] for a GET), or what `x-amz-content-sha256`
    /// says for S3.
    pub payload_hash: &'a str,
}

/// For every endpoint but `/ping`: no forwarded request, and the right token or a valid
/// signature. The token, when present, decides.
pub async fn authorize(auth: &Auth, asked: &Asked<'_>) -> Result<Caller, Denied> {
    let proofs = Proofs::of(asked.headers)?;
    if let Some(token) = proofs.token {
        return if auth.token.verify(token.as_bytes()).await {
            Ok(Caller::default())
        } else {
            tracing::debug!(path = asked.path, "rejected request with a wrong token");
            Err(Denied::InvalidToken)
        };
    }
    let Some(signature) = proofs.signature() else {
        return Err(Denied::MissingToken);
    };
    let signature = signature?;
    let request = SignedRequest {
        method: asked.method,
        path: asked.path,
        query: asked.query,
        headers: asked.headers,
        payload_hash: asked.payload_hash,
    };
    let amz_date = proofs.amz_date.and_then(|v| v.to_str().ok());
    let security_token = proofs.security_token.map(HeaderValue::as_bytes);
    match auth
        .signatures
        .verify(&request, &signature, amz_date, security_token)
        .await
    {
        Ok(()) => Ok(Caller {
            signed_region: Some(signature.scope.region.to_owned()),
            signed_service: Some(signature.scope.service.to_owned()),
        }),
        Err(refusal) => {
            // The reason only: never the signature, the key or the token.
            tracing::debug!(path = asked.path, %refusal, "rejected a signed request");
            Err(Denied::Signature(refusal))
        }
    }
}

/// `authorize` decided without waiting, for a GET's token; `false` also when it cannot be
/// (a signed request, a token that may have rotated: then `authorize` decides, and says why).
pub fn authorized_now(token: &TokenSource, headers: &HeaderMap) -> bool {
    let mut presented = None;
    for (name, value) in headers {
        if *name == FORWARDED_HEADER || *name == header::AUTHORIZATION {
            return false;
        }
        if *name == TOKEN_HEADER && presented.is_none() {
            presented = Some(value);
        }
    }
    presented.is_some_and(|presented| token.verify_now(presented.as_bytes()) == Some(true))
}

/// For endpoints without a token (`/ping`): still no forwarded requests.
pub fn not_forwarded(headers: &HeaderMap) -> Result<(), Denied> {
    if headers.contains_key(&FORWARDED_HEADER) {
        return Err(Denied::Forwarded);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fixed_token_must_match_exactly() {
        let source = TokenSource::Fixed(Box::from(&b"secret-token"[..]));
        assert!(source.verify(b"secret-token").await);
        assert!(!source.verify(b"secret-toke").await);
        assert!(!source.verify(b"secret-tokeN").await);
        assert!(!source.verify(b"").await);
    }

    #[test]
    fn every_byte_of_a_long_token_counts() {
        let token: Vec<u8> = (0..1000u32).map(|i| b'A' + (i % 26) as u8).collect();
        assert!(same(&token, &token.clone()));
        for at in [0, 7, 8, 500, 991, 992, 999] {
            let mut other = token.clone();
            other[at] ^= 1;
            assert!(
                !same(&token, &other),
                "a difference at byte {at} was missed"
            );
        }
        assert!(!same(&token, &token[..999]));
        assert!(!same(b"", b""), "an empty expected token never matches");
    }

    #[tokio::test]
    async fn token_file_is_reread_when_it_changes() {
        let dir = std::env::temp_dir().join(format!("sidecache-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        std::fs::write(&path, "first\n").unwrap();
        let source = TokenSource::file(path.clone()).unwrap();
        assert!(source.verify(b"first").await);
        // A different mtime is what marks the change; set one explicitly.
        std::fs::write(&path, "second").unwrap();
        let later = SystemTime::now() + Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert!(source.verify(b"second").await);
        assert!(!source.verify(b"first").await);
        std::fs::remove_dir_all(dir).unwrap();
    }

    struct Rotating(Mutex<Vec<&'static str>>);

    impl CredentialSource for Rotating {
        fn credentials(&self) -> Pin<Box<dyn Future<Output = Option<Identity>> + Send + '_>> {
            let next = self.0.lock().unwrap().pop().map(|token| Identity {
                access_key_id: "AKID".into(),
                secret_access_key: "secret".into(),
                session_token: Some(token.to_owned()),
            });
            Box::pin(async move { next })
        }
    }

    #[tokio::test]
    async fn credential_tokens_refresh_on_mismatch() {
        let source = Arc::new(Rotating(Mutex::new(vec!["rotated", "initial"])));
        let token = TokenSource::credentials(source, None).await.unwrap();
        assert!(token.verify(b"initial").await);
        // Within the recheck interval a mismatch does not call out again.
        assert!(!token.verify(b"rotated").await);
        if let TokenSource::Credentials(c) = &token {
            *c.last_refresh.lock().unwrap() = Instant::now() - CREDENTIALS_RECHECK;
        }
        assert!(token.verify(b"rotated").await);
    }

    #[tokio::test]
    async fn snapstart_accepts_the_container_token_and_the_session_token_only() {
        let source = Arc::new(Rotating(Mutex::new(vec!["after-restore", "session"])));
        let token = TokenSource::credentials(source.clone(), Some("container-uuid"))
            .await
            .unwrap();
        // Nothing was resolved at start-up.
        assert_eq!(source.0.lock().unwrap().len(), 2);
        assert_eq!(token.verify_now(b"container-uuid"), Some(true));
        assert!(token.verify(b"container-uuid").await);
        assert_eq!(token.verify_now(b"session"), None, "not resolved yet");
        assert!(token.verify(b"session").await);
        assert_eq!(token.verify_now(b"session"), Some(true));
        assert!(!token.verify(b"anything-else").await);
        assert!(!token.verify(b"").await);
        // A restore forgets the old session token; the new one is resolved when presented.
        token.restored();
        assert_eq!(token.verify_now(b"session"), None);
        assert!(token.verify(b"after-restore").await);
        assert!(!token.verify(b"session").await);
        assert!(token.verify(b"container-uuid").await);
    }
}
