//! Which certificate authorities upstream TLS trusts, and the rustls configuration built on
//! them once.
//!
//! Order (SPEC): the bundle named by `AWS_CA_BUNDLE` or `SSL_CERT_FILE` (the configuration
//! resolves which), else the system bundle (the first of `SYSTEM_BUNDLES` that holds a
//! certificate), else the roots built into the binary (`webpki-roots`). A source that cannot
//! be read or holds no usable certificate is skipped with a warning, never a panic.
//!
//! Nothing is read here: the source is chosen, and only the anchors a chain needs are decoded,
//! when the first handshake verifies a certificate (`roots.rs`). Why not the SDK's loader: it
//! decodes every certificate of the bundle and the certificate directory too, with a
//! constant-time base64 decoder (~80 instructions a byte; the system bundle is ~220 KB).

use std::path::Path;
use std::sync::Arc;

use rustls::ClientConfig;

use super::roots::LazyRoots;

/// System CA bundles, first match wins: Amazon Linux (Lambda's runtimes) and RHEL/Fedora;
/// Debian/Ubuntu; the extracted p11-kit bundle; SUSE; Alpine. One file, as OpenSSL's default
/// `SSL_CERT_FILE`; the hashed certificate directory is not read (it repeats the bundle).
pub(super) const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// The client configuration for every upstream TLS connection: ring, TLS 1.2 and 1.3,
/// HTTP/1.1 by ALPN (the pool speaks HTTP/1 only), the roots of the first usable source.
pub(super) fn client_config(named: Option<&Path>) -> Arc<ClientConfig> {
    let system: Vec<&Path> = SYSTEM_BUNDLES.iter().map(Path::new).collect();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = LazyRoots::new(named, &system, provider.signature_verification_algorithms);
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(roots))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}
