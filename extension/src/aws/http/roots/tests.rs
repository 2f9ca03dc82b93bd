//! The source order of SPEC, and verdicts equal to webpki's over the whole store, with a test
//! chain (testdata/: a root, an intermediate, a leaf for `upstream.test`, P-256, valid to 2126).

use std::sync::Arc;
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;

use super::*;
use crate::aws::http::trust::SYSTEM_BUNDLES;

const ROOT: &str = include_str!("../testdata/root.pem");
const INTERMEDIATE: &str = include_str!("../testdata/intermediate.pem");
const LEAF: &str = include_str!("../testdata/leaf.pem");

struct Files(PathBuf);

impl Files {
    fn new(name: &str) -> Files {
        let dir =
            std::env::temp_dir().join(format!("sidecache-roots-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Files(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn missing(&self) -> PathBuf {
        self.0.join("missing.pem")
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn der(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
}

fn algorithms() -> WebPkiSupportedAlgorithms {
    rustls::crypto::ring::default_provider().signature_verification_algorithms
}

fn lazy(named: Option<&Path>, system: &[&Path]) -> LazyRoots {
    LazyRoots::new(named, system, algorithms())
}

impl LazyRoots {
    /// The source chosen, once a verification has chosen it.
    fn source(&self) -> Option<Source> {
        self.state.lock().unwrap().source.clone()
    }
}

/// 2030, inside the test chain's validity.
fn now() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(1_900_000_000))
}

fn verify(
    verifier: &dyn ServerCertVerifier,
    chain: &[&str],
    name: &'static str,
) -> Result<(), Error> {
    let certificates: Vec<_> = chain.iter().map(|pem| der(pem)).collect();
    let name = ServerName::try_from(name).unwrap();
    verifier
        .verify_server_cert(&certificates[0], &certificates[1..], &name, &[], now())
        .map(|_| ())
}

fn good(verifier: &dyn ServerCertVerifier) -> Result<(), Error> {
    verify(verifier, &[LEAF, INTERMEDIATE], "upstream.test")
}

#[test]
fn a_named_bundle_comes_first() {
    let files = Files::new("named");
    let named = files.write("named.pem", ROOT);
    let system = files.write("system.pem", &format!("{ROOT}{ROOT}"));
    let roots = lazy(Some(&named), &[&system]);
    assert_eq!(roots.source(), None, "nothing is read before a handshake");
    good(&roots).unwrap();
    assert_eq!(roots.source(), Some(Source::Named(named)));
}

#[test]
fn an_unusable_named_bundle_falls_back_to_the_system_bundle() {
    let files = Files::new("fallback");
    let garbage = files.write("garbage.pem", "not a certificate\n");
    let system = files.write("system.pem", ROOT);
    for named in [garbage, files.missing()] {
        let roots = lazy(Some(&named), &[&system]);
        good(&roots).unwrap_or_else(|e| panic!("named {named:?}: {e}"));
        assert_eq!(roots.source(), Some(Source::System(system.clone())));
    }
}

#[test]
fn without_a_named_bundle_the_first_usable_system_bundle_is_used() {
    let files = Files::new("system");
    let empty = files.write("empty.pem", "");
    let second = files.write("second.pem", LEAF);
    let third = files.write("third.pem", ROOT);
    let candidates = [files.missing(), empty, second.clone(), third];
    let candidates: Vec<&Path> = candidates.iter().map(PathBuf::as_path).collect();
    let roots = lazy(None, &candidates);
    // The second holds a certificate, so it is the source; no issuer of the chain is in it.
    assert_eq!(
        good(&roots),
        Err(Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer
        ))
    );
    assert_eq!(roots.source(), Some(Source::System(second)));
}

#[test]
fn without_any_bundle_the_built_in_roots_are_used() {
    let files = Files::new("builtin");
    let garbage = files.write(
        "garbage.pem",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    let roots = lazy(Some(&garbage), &[&files.missing(), &garbage]);
    assert!(good(&roots).is_err(), "the test root is not built in");
    assert_eq!(roots.source(), Some(Source::BuiltIn));
    // A built-in root is found by subject like any other.
    let anchor = &webpki_roots::TLS_SERVER_ROOTS[0];
    assert_eq!(roots.anchors_for(&[anchor.subject.as_ref()]).roots.len(), 1);
}

#[test]
fn verdicts_are_webpkis_with_the_whole_store() {
    let files = Files::new("verdicts");
    // The machine's system bundle, as on Lambda, plus the test root (or the root alone).
    let system = SYSTEM_BUNDLES
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    for (label, bundle) in [
        ("system + root", format!("{system}\n{ROOT}")),
        ("system only", system.clone()),
        ("root only", ROOT.to_owned()),
    ] {
        if bundle.trim().is_empty() {
            continue;
        }
        let path = files.write("bundle.pem", &bundle);
        let mut whole = RootCertStore::empty();
        whole.add_parsable_certificates(
            CertificateDer::pem_slice_iter(bundle.as_bytes()).map(Result::unwrap),
        );
        let reference = WebPkiServerVerifier::builder_with_provider(
            Arc::new(whole),
            Arc::new(rustls::crypto::ring::default_provider()),
        )
        .build()
        .unwrap();
        let roots = lazy(Some(&path), &[]);
        for (chain, name) in [
            (&[LEAF, INTERMEDIATE][..], "upstream.test"),
            (&[LEAF][..], "upstream.test"),
            (&[LEAF, INTERMEDIATE][..], "other.test"),
            (&[INTERMEDIATE][..], "upstream.test"),
            (&[ROOT][..], "upstream.test"),
        ] {
            // As text: webpki's `Other` errors compare by pointer.
            assert_eq!(
                format!("{:?}", verify(&roots, chain, name)),
                format!("{:?}", verify(reference.as_ref(), chain, name)),
                "{label}: chain of {} for {name}",
                chain.len()
            );
        }
    }
}

#[test]
fn only_the_anchors_a_chain_names_are_kept_and_kept_once() {
    let files = Files::new("once");
    let system = SYSTEM_BUNDLES
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let path = files.write("bundle.pem", &format!("{system}\n{ROOT}"));
    let roots = lazy(Some(&path), &[]);
    good(&roots).unwrap();
    {
        let state = roots.state.lock().unwrap();
        // Asked: the leaf's issuer (the intermediate, not in the bundle) and the root.
        assert_eq!(state.by_subject.len(), 2);
        let kept: usize = state.by_subject.values().map(Vec::len).sum();
        assert_eq!(kept, 1);
    }
    // The file is not read again for the same chain.
    std::fs::remove_file(&path).unwrap();
    good(&roots).unwrap();
}
