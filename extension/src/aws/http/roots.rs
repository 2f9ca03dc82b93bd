//! Upstream certificate verification with trust anchors found when a handshake needs them.
//!
//! The trusted roots' source is chosen on the first verification, in SPEC order (the list is
//! `trust.rs`'s); then each chain asks only for the anchors whose subject is the issuer of one
//! of its certificates (the end entity or an intermediate the server sent), and those are
//! decoded once and kept, found or known absent. The verdict is webpki's with the whole store: its path
//! building only ever uses an anchor whose subject equals, byte for byte, the issuer of a
//! certificate in the path, and every such anchor is handed to it.
//!
//! Why: parsing the ~140 roots of a system bundle was ~40 % of the CPU of a function's first
//! value, which must fit a 128 MB function's quota of one scheduler period (issue 24).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

use super::{names, pem};

/// Where the trusted roots came from (the order is SPEC's: trust.rs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Source {
    /// `AWS_CA_BUNDLE` or `SSL_CERT_FILE`.
    Named(PathBuf),
    System(PathBuf),
    BuiltIn,
}

/// A `ServerCertVerifier` over bundle files read lazily.
pub(super) struct LazyRoots {
    /// `AWS_CA_BUNDLE` or `SSL_CERT_FILE`, tried first.
    named: Option<PathBuf>,
    /// The system bundles, first usable one wins.
    system: Vec<PathBuf>,
    algorithms: WebPkiSupportedAlgorithms,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Chosen on the first verification.
    source: Option<Source>,
    /// Anchors by subject, for every subject asked so far (empty when the source has none).
    by_subject: HashMap<Box<[u8]>, Vec<TrustAnchor<'static>>>,
}

impl LazyRoots {
    pub(super) fn new(
        named: Option<&Path>,
        system: &[&Path],
        algorithms: WebPkiSupportedAlgorithms,
    ) -> LazyRoots {
        LazyRoots {
            named: named.map(Path::to_owned),
            system: system.iter().map(|p| p.to_path_buf()).collect(),
            algorithms,
            state: Mutex::default(),
        }
    }

    /// The anchors a chain whose certificates name `issuers` can use.
    fn anchors_for(&self, issuers: &[&[u8]]) -> RootCertStore {
        let mut state = self.state.lock().expect("roots lock");
        let missing: Vec<&[u8]> = issuers
            .iter()
            .copied()
            .filter(|name| !state.by_subject.contains_key(*name))
            .collect();
        if !missing.is_empty() {
            let found = self.find(&mut state, &missing);
            for name in &missing {
                state.by_subject.insert(Box::from(*name), Vec::new());
            }
            for anchor in found {
                let subject: Box<[u8]> = Box::from(anchor.subject.as_ref());
                state.by_subject.entry(subject).or_default().push(anchor);
            }
        }
        let mut roots = RootCertStore::empty();
        for name in issuers {
            if let Some(anchors) = state.by_subject.get(*name) {
                roots.roots.extend(anchors.iter().cloned());
            }
        }
        roots
    }

    /// Anchors with one of the `subjects`, from the source (chosen now if not yet).
    fn find(&self, state: &mut State, subjects: &[&[u8]]) -> Vec<TrustAnchor<'static>> {
        match &state.source {
            Some(Source::Named(path) | Source::System(path)) => {
                match pem::scan_file(path, subjects) {
                    Ok(found) => anchors(found.matches),
                    Err(error) => {
                        tracing::warn!(path = %path.display(), %error, "CA bundle no longer readable");
                        Vec::new()
                    }
                }
            }
            Some(Source::BuiltIn) => built_in(subjects),
            None => {
                let (source, found) = self.choose(subjects);
                state.source = Some(source);
                found
            }
        }
    }

    /// The first usable source in SPEC order, and the anchors with `subjects` in it.
    fn choose(&self, subjects: &[&[u8]]) -> (Source, Vec<TrustAnchor<'static>>) {
        if let Some(path) = &self.named {
            match usable(path, subjects) {
                Ok(found) => return (Source::Named(path.clone()), found),
                Err(reason) => tracing::warn!(
                    path = %path.display(),
                    reason,
                    "unusable CA bundle; falling back to the system roots"
                ),
            }
        }
        for path in self.system.iter().filter(|path| path.is_file()) {
            match usable(path, subjects) {
                Ok(found) => return (Source::System(path.clone()), found),
                Err(reason) => tracing::warn!(
                    path = %path.display(),
                    reason,
                    "unusable system CA bundle; trying the next"
                ),
            }
        }
        (Source::BuiltIn, built_in(subjects))
    }
}

/// The anchors with a wanted subject in the bundle at `path`, or why it cannot serve.
fn usable(path: &Path, subjects: &[&[u8]]) -> Result<Vec<TrustAnchor<'static>>, &'static str> {
    let found = pem::scan_file(path, subjects).map_err(|_| "cannot read the file")?;
    if found.certificates == 0 {
        return Err("no usable PEM certificate in the file");
    }
    tracing::debug!(
        path = %path.display(),
        certificates = found.certificates,
        decoded = found.decoded_whole,
        laid_out = found.laid_out,
        "upstream TLS roots indexed"
    );
    Ok(anchors(found.matches))
}

/// webpki's trust anchors of the certificates it can parse.
fn anchors(certificates: Vec<CertificateDer<'static>>) -> Vec<TrustAnchor<'static>> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(certificates);
    roots.roots
}

fn built_in(subjects: &[&[u8]]) -> Vec<TrustAnchor<'static>> {
    webpki_roots::TLS_SERVER_ROOTS
        .iter()
        .filter(|anchor| subjects.contains(&anchor.subject.as_ref()))
        .cloned()
        .collect()
}

impl ServerCertVerifier for LazyRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let certificate = ParsedCertificate::try_from(end_entity)?;
        // A certificate whose issuer cannot be read cannot be in a path webpki accepts.
        let mut issuers: Vec<&[u8]> = Vec::with_capacity(1 + intermediates.len());
        for der in std::iter::once(end_entity).chain(intermediates) {
            if let Ok(issuer) = names::issuer(der) {
                if !issuers.contains(&issuer) {
                    issuers.push(issuer);
                }
            }
        }
        let roots = self.anchors_for(&issuers);
        verify_server_cert_signed_by_trust_anchor(
            &certificate,
            &roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        verify_server_name(&certificate, server_name)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

impl std::fmt::Debug for LazyRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyRoots")
            .field("named", &self.named)
            .field("system", &self.system)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
