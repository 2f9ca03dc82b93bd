//! SigV4 as a proof of who asks: a request signed with the credentials the extension itself runs
//! with (in Lambda the function's role, which the handler's SDK signs with) is the function's.
//!
//! The credentials are resolved on the first signed request, not at start-up, and again (at
//! most once a second) when a request names another access key: after a SnapStart restore or a
//! container's credential rotation the handler may already hold the new ones. Signing keys are
//! derived once per (day, region, service) and kept with the credentials they came from.

use super::sigv4::{self, Authorization, SigV4Error, SignedRequest, SigningKey};
use super::{same, CredentialSource, Identity};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Resolving credentials again on an unknown key is bounded, as it may call out.
const RESOLVE_AGAIN_AFTER: Duration = Duration::from_secs(1);
/// Signing keys kept: a handful of (day, region, service) scopes are in use at once.
const KEYS_KEPT: usize = 8;

/// Why a signed request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Malformed(SigV4Error),
    #[error("{0}")]
    Expired(SigV4Error),
    #[error("the access key id is not that of the credentials sidecache runs with")]
    UnknownAccessKey,
    #[error(
        "the X-Amz-Security-Token is not the session token of the credentials sidecache runs with"
    )]
    InvalidSecurityToken,
    #[error(
        "the request signature does not match the one sidecache calculates with its credentials"
    )]
    Mismatch,
    #[error("sidecache has no credentials to check signatures with")]
    NoCredentials,
    #[error("the request is signed for service `{signed}`, but the operation is {expected}'s")]
    WrongService {
        signed: String,
        expected: &'static str,
    },
}

/// The credentials signatures are checked against, and the keys derived from them.
struct Held {
    identity: Identity,
    keys: Mutex<Vec<Derived>>,
}

/// A signing key and the scope (date, region, service) it signs for.
struct Derived {
    scope: [String; 3],
    key: Arc<SigningKey>,
}

impl Held {
    /// Whether a request names these credentials: the access key id, and the session token
    /// (compared in constant time) when they have one; none when they have none.
    fn check(&self, access_key_id: &str, security_token: Option<&[u8]>) -> Result<(), Refusal> {
        if self.identity.access_key_id != access_key_id {
            return Err(Refusal::UnknownAccessKey);
        }
        match (&self.identity.session_token, security_token) {
            (Some(expected), Some(presented)) if same(expected.as_bytes(), presented) => Ok(()),
            (None, None) => Ok(()),
            _ => Err(Refusal::InvalidSecurityToken),
        }
    }

    fn key(&self, scope: &sigv4::Scope) -> Arc<SigningKey> {
        let wanted = [scope.date, scope.region, scope.service];
        let mut keys = self.keys.lock().expect("signing keys lock");
        if let Some(derived) = keys.iter().find(|d| d.scope == wanted) {
            return derived.key.clone();
        }
        let key = Arc::new(SigningKey::derive(&self.identity.secret_access_key, scope));
        if keys.len() == KEYS_KEPT {
            keys.remove(0);
        }
        keys.push(Derived {
            scope: wanted.map(str::to_owned),
            key: key.clone(),
        });
        key
    }
}

pub struct Signatures {
    source: Arc<dyn CredentialSource>,
    held: RwLock<Option<Arc<Held>>>,
    last_resolved: Mutex<Option<Instant>>,
}

impl Signatures {
    pub fn new(source: Arc<dyn CredentialSource>) -> Self {
        Signatures {
            source,
            held: RwLock::new(None),
            last_resolved: Mutex::new(None),
        }
    }

    /// After a SnapStart restore Lambda has swapped the credentials: forget the old ones.
    pub fn restored(&self) {
        *self.held.write().expect("credentials lock") = None;
        *self.last_resolved.lock().expect("credentials lock") = None;
    }

    /// Checks a signed request: its date, access key, session token and signature.
    pub async fn verify(
        &self,
        request: &SignedRequest<'_>,
        authorization: &Authorization<'_>,
        amz_date: Option<&str>,
        security_token: Option<&[u8]>,
    ) -> Result<(), Refusal> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let amz_date = amz_date.ok_or(Refusal::Malformed(SigV4Error::MissingDate))?;
        sigv4::check_date(amz_date, &authorization.scope, now).map_err(|e| match e {
            SigV4Error::Expired(_) => Refusal::Expired(e),
            other => Refusal::Malformed(other),
        })?;
        let held = self
            .held_for(authorization.access_key_id, security_token)
            .await?;
        let canonical =
            sigv4::canonical_request(request, authorization).map_err(Refusal::Malformed)?;
        let key = held.key(&authorization.scope);
        let computed = sigv4::signature(&key, amz_date, &authorization.scope, &canonical);
        if sigv4::same_signature(&computed, authorization.signature) {
            Ok(())
        } else {
            Err(Refusal::Mismatch)
        }
    }

    /// The credentials held when they have this access key and session token; else resolved
    /// again (at most once a second), since the caller may hold newer ones than we do.
    async fn held_for(
        &self,
        access_key_id: &str,
        security_token: Option<&[u8]>,
    ) -> Result<Arc<Held>, Refusal> {
        let held = self.held.read().expect("credentials lock").clone();
        let refused = match &held {
            Some(held) => match held.check(access_key_id, security_token) {
                Ok(()) => return Ok(held.clone()),
                Err(refusal) => refusal,
            },
            None => Refusal::NoCredentials,
        };
        {
            let mut last = self.last_resolved.lock().expect("credentials lock");
            if last.is_some_and(|at| at.elapsed() < RESOLVE_AGAIN_AFTER) {
                return Err(refused);
            }
            *last = Some(Instant::now());
        }
        let identity = self
            .source
            .credentials()
            .await
            .ok_or(Refusal::NoCredentials)?;
        let held = Arc::new(Held {
            identity,
            keys: Mutex::new(Vec::new()),
        });
        *self.held.write().expect("credentials lock") = Some(held.clone());
        held.check(access_key_id, security_token)?;
        Ok(held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::sigv4::{parse_authorization, sha256_hex};
    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Hands out the identities in turn (the last one for ever), counting the calls.
    struct Rotating {
        identities: Vec<(&'static str, &'static str, Option<&'static str>)>,
        calls: AtomicUsize,
    }

    impl CredentialSource for Rotating {
        fn credentials(&self) -> Pin<Box<dyn Future<Output = Option<Identity>> + Send + '_>> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let (key, secret, token) = self.identities[n.min(self.identities.len() - 1)];
            Box::pin(async move {
                Some(Identity {
                    access_key_id: key.into(),
                    secret_access_key: secret.into(),
                    session_token: token.map(str::to_owned),
                })
            })
        }
    }

    fn source(
        identities: Vec<(&'static str, &'static str, Option<&'static str>)>,
    ) -> Arc<Rotating> {
        Arc::new(Rotating {
            identities,
            calls: AtomicUsize::new(0),
        })
    }

    /// A GetParameter signed by the SDK's signer with these credentials, at `time`.
    fn signed(key: &str, secret: &str, token: Option<&str>, time: SystemTime) -> http::Request<()> {
        let body = br#"{"Name":"/a"}"#;
        let identity = Credentials::new(key, secret, token.map(str::to_owned), None, "t").into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("ssm")
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let headers = [
            ("host", "localhost:2773"),
            ("x-amz-target", "AmazonSSM.GetParameter"),
        ];
        let signable = SignableRequest::new(
            "POST",
            "http://localhost:2773/",
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let mut request = http::Request::builder()
            .method("POST")
            .uri("http://localhost:2773/");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let mut request = request.body(()).unwrap();
        instructions.apply_to_request_http1x(&mut request);
        request
    }

    async fn check(signatures: &Signatures, request: &http::Request<()>) -> Result<(), Refusal> {
        let headers = request.headers();
        let authorization =
            parse_authorization(headers["authorization"].to_str().unwrap()).unwrap();
        let hash = sha256_hex(br#"{"Name":"/a"}"#);
        let signed = SignedRequest {
            method: "POST",
            path: "/",
            query: None,
            headers,
            payload_hash: &hash,
        };
        let date = headers.get("x-amz-date").and_then(|v| v.to_str().ok());
        let token = headers.get("x-amz-security-token").map(|v| v.as_bytes());
        signatures
            .verify(&signed, &authorization, date, token)
            .await
    }

    #[tokio::test]
    async fn our_credentials_verify_and_others_are_refused_by_reason() {
        let source = source(vec![("AKID", "secret", Some("token"))]);
        let signatures = Signatures::new(source.clone());
        let now = SystemTime::now();
        assert_eq!(
            check(&signatures, &signed("AKID", "secret", Some("token"), now)).await,
            Ok(())
        );
        assert_eq!(
            check(
                &signatures,
                &signed("AKID", "other secret", Some("token"), now)
            )
            .await,
            Err(Refusal::Mismatch)
        );
        let late = now - Duration::from_secs(600);
        assert!(matches!(
            check(&signatures, &signed("AKID", "secret", Some("token"), late)).await,
            Err(Refusal::Expired(_))
        ));
        // Resolved once; the refusals above needed nothing new.
        assert_eq!(source.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_unknown_key_or_token_resolves_the_credentials_again_once() {
        let source = source(vec![("OLD", "old", Some("t1")), ("NEW", "new", Some("t2"))]);
        let signatures = Signatures::new(source.clone());
        let now = SystemTime::now();
        assert_eq!(
            check(&signatures, &signed("OLD", "old", Some("t1"), now)).await,
            Ok(())
        );
        // Rotated (a container's credentials) a while later: the caller holds the new ones first.
        *signatures.last_resolved.lock().unwrap() = Some(Instant::now() - RESOLVE_AGAIN_AFTER);
        assert_eq!(
            check(&signatures, &signed("NEW", "new", Some("t2"), now)).await,
            Ok(())
        );
        assert_eq!(source.calls.load(Ordering::SeqCst), 2);
        // Another unknown key within the second: refused without calling out again.
        assert_eq!(
            check(&signatures, &signed("OTHER", "x", Some("t2"), now)).await,
            Err(Refusal::UnknownAccessKey)
        );
        assert_eq!(
            check(&signatures, &signed("NEW", "new", Some("t3"), now)).await,
            Err(Refusal::InvalidSecurityToken)
        );
        assert_eq!(
            check(&signatures, &signed("NEW", "new", None, now)).await,
            Err(Refusal::InvalidSecurityToken)
        );
        assert_eq!(source.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_restore_forgets_the_credentials() {
        let source = source(vec![("A", "a", None), ("B", "b", None)]);
        let signatures = Signatures::new(source.clone());
        let now = SystemTime::now();
        assert_eq!(
            check(&signatures, &signed("A", "a", None, now)).await,
            Ok(())
        );
        signatures.restored();
        // Resolved again at once, whatever the last resolution's age.
        assert_eq!(
            check(&signatures, &signed("A", "a", None, now)).await,
            Err(Refusal::UnknownAccessKey)
        );
        assert_eq!(
            check(&signatures, &signed("B", "b", None, now)).await,
            Ok(())
        );
        assert_eq!(source.calls.load(Ordering::SeqCst), 2);
    }
}
