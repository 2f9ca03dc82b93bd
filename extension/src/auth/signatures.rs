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
    keys: Mutex<Vec<(String, Arc<SigningKey>)>>,
}

impl Held {
    fn key(&self, scope: &sigv4::Scope) -> Arc<SigningKey> {
        let name = format!("{}/{}/{}", scope.date, scope.region, scope.service);
        let mut keys = self.keys.lock().expect("signing keys lock");
        if let Some((_, key)) = keys.iter().find(|(n, _)| *n == name) {
            return key.clone();
        }
        let key = Arc::new(SigningKey::derive(&self.identity.secret_access_key, scope));
        if keys.len() == KEYS_KEPT {
            keys.remove(0);
        }
        keys.push((name, key.clone()));
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
        let held = self.held_for(authorization.access_key_id).await?;
        let token_ok = match (&held.identity.session_token, security_token) {
            (Some(expected), Some(presented)) => same(expected.as_bytes(), presented),
            (None, None) => true,
            _ => false,
        };
        if !token_ok {
            return Err(Refusal::InvalidSecurityToken);
        }
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

    /// The credentials held when they have this access key; else resolved again (at most once
    /// a second), since the caller may hold newer ones than we do.
    async fn held_for(&self, access_key_id: &str) -> Result<Arc<Held>, Refusal> {
        let held = self.held.read().expect("credentials lock").clone();
        if let Some(held) = &held {
            if held.identity.access_key_id == access_key_id {
                return Ok(held.clone());
            }
        }
        {
            let mut last = self.last_resolved.lock().expect("credentials lock");
            if last.is_some_and(|at| at.elapsed() < RESOLVE_AGAIN_AFTER) {
                return Err(if held.is_some() {
                    Refusal::UnknownAccessKey
                } else {
                    Refusal::NoCredentials
                });
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
        if held.identity.access_key_id == access_key_id {
            Ok(held)
        } else {
            Err(Refusal::UnknownAccessKey)
        }
    }
}
