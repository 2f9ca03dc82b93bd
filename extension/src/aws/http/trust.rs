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

use rustls::crypto::ring::kx_group::{SECP256R1, SECP384R1, X25519};
use rustls::crypto::{CryptoProvider, SupportedKxGroup};
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

/// The key exchange groups offered, in order: the first is the one whose key share the
/// ClientHello carries. P-256 rather than ring's default X25519: on the x86_64 machine of
/// docs/performance.md a P-256 key share plus agreement costs 71 us of CPU, X25519's 143 us,
/// and a function pays one per new upstream connection, starting with its first value. Every
/// TLS 1.3 server must support P-256 (RFC 8446, 9.1), and AWS's TLS (s2n) takes the share a
/// client sent for a group it supports rather than asking for another (s2n-tls#1556).
const KX_GROUPS: &[&dyn SupportedKxGroup] = &[SECP256R1, X25519, SECP384R1];

/// The client configuration for every upstream TLS connection: ring, TLS 1.2 and 1.3,
/// HTTP/1.1 by ALPN (the pool speaks HTTP/1 only), the roots of the first usable source.
pub(super) fn client_config(named: Option<&Path>) -> Arc<ClientConfig> {
    let system: Vec<&Path> = SYSTEM_BUNDLES.iter().map(Path::new).collect();
    let provider = Arc::new(CryptoProvider {
        kx_groups: KX_GROUPS.to_vec(),
        ..rustls::crypto::ring::default_provider()
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_hello_carries_a_p256_key_share_and_offers_every_ring_group() {
        let config = client_config(None);
        let groups: Vec<_> = config
            .crypto_provider()
            .kx_groups
            .iter()
            .map(|g| g.name())
            .collect();
        assert_eq!(groups[0], rustls::NamedGroup::secp256r1);
        let mut offered = groups.clone();
        offered.sort_by_key(|g| u16::from(*g));
        let mut all: Vec<_> = rustls::crypto::ring::default_provider()
            .kx_groups
            .iter()
            .map(|g| g.name())
            .collect();
        all.sort_by_key(|g| u16::from(*g));
        assert_eq!(offered, all);
    }
}
