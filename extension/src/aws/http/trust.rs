//! Which certificate authorities upstream TLS trusts, and building the rustls configuration
//! from them once.
//!
//! Order (SPEC): the bundle named by `AWS_CA_BUNDLE` or `SSL_CERT_FILE` (the configuration
//! resolves which), else the system bundle (the first of `SYSTEM_BUNDLES` that holds a
//! certificate), else the roots built into the binary (`webpki-roots`). A source that cannot
//! be read or holds no usable certificate is skipped with a warning, never a panic.
//!
//! Why not the SDK's loader: it decodes PEM with a constant-time base64 decoder (~80
//! instructions a byte; the system bundle is ~220 KB) and reads the certificate directory too.
//! Certificates are public: here the PEM is decoded with an ordinary decoder, one file only, and
//! each certificate is reduced to the trust anchor a verification needs (subject, key, name
//! constraints), as the SDK's store does.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;

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

/// Where the trusted roots came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Source {
    /// `AWS_CA_BUNDLE` or `SSL_CERT_FILE`.
    Named(PathBuf),
    System(PathBuf),
    BuiltIn,
}

/// The client configuration for every upstream TLS connection: ring, TLS 1.2 and 1.3,
/// HTTP/1.1 by ALPN (the pool speaks HTTP/1 only), the roots of the first usable source.
pub(super) fn client_config(named: Option<&Path>) -> Arc<ClientConfig> {
    let system: Vec<&Path> = SYSTEM_BUNDLES.iter().map(Path::new).collect();
    let (roots, source) = select_roots(named, &system);
    tracing::debug!(roots = roots.len(), source = ?source, "upstream TLS roots loaded");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// The first usable source in SPEC order; paths are parameters so the order is testable.
pub(super) fn select_roots(named: Option<&Path>, system: &[&Path]) -> (RootCertStore, Source) {
    if let Some(path) = named {
        match roots_from_file(path) {
            Ok(roots) => return (roots, Source::Named(path.to_owned())),
            Err(reason) => tracing::warn!(
                path = %path.display(),
                reason,
                "unusable CA bundle; falling back to the system roots"
            ),
        }
    }
    for path in system.iter().filter(|path| path.is_file()) {
        match roots_from_file(path) {
            Ok(roots) => return (roots, Source::System(path.to_path_buf())),
            Err(reason) => tracing::warn!(
                path = %path.display(),
                reason,
                "unusable system CA bundle; trying the next"
            ),
        }
    }
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    (roots, Source::BuiltIn)
}

/// Trust anchors of every parsable certificate in a PEM file; an error if there are none.
fn roots_from_file(path: &Path) -> Result<RootCertStore, &'static str> {
    let pem = std::fs::read(path).map_err(|_| "cannot read the file")?;
    let mut roots = RootCertStore::empty();
    let (valid, invalid) = roots.add_parsable_certificates(pem_certificates(&pem));
    if invalid > 0 {
        tracing::debug!(path = %path.display(), invalid, "CA certificates skipped as unparsable");
    }
    if valid == 0 {
        return Err("no usable PEM certificate in the file");
    }
    Ok(roots)
}

const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const END: &[u8] = b"-----END CERTIFICATE-----";

/// The DER of each `CERTIFICATE` block; blocks that are not base64 are skipped, and so is
/// everything outside the blocks (comments, other PEM types), as OpenSSL does.
///
/// Line by line with `memchr`: a system bundle is ~3,400 lines of 64 base64 characters, each
/// copied whole (profiled: scanning and filtering byte by byte cost more than the decoding).
pub(super) fn pem_certificates(pem: &[u8]) -> Vec<CertificateDer<'static>> {
    let mut certificates = Vec::with_capacity(pem.len() / 1500);
    let mut base64 = Vec::with_capacity(4096);
    let begin = memchr::memmem::Finder::new(BEGIN);
    let mut rest = pem;
    while let Some(start) = begin.find(rest) {
        rest = &rest[start + BEGIN.len()..];
        base64.clear();
        let mut ended = false;
        while !rest.is_empty() {
            let end_of_line = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
            let line = rest[..end_of_line].trim_ascii();
            if line.starts_with(b"-----") {
                ended = line.starts_with(END);
                if ended {
                    rest = &rest[end_of_line..];
                }
                // Otherwise a block without its END: the next search starts at this line.
                break;
            }
            base64.extend_from_slice(line);
            rest = &rest[end_of_line..];
        }
        if !ended {
            continue;
        }
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(&base64) {
            certificates.push(CertificateDer::from(der));
        }
    }
    certificates
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed P-256 CA (`openssl req -x509`), valid to 2126; public test data.
    const TEST_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBmjCCAT+gAwIBAgIUcPkL4bxGglktfcZBGvhgaiDGCh0wCgYIKoZIzj0EAwIw
ITEfMB0GA1UEAwwWc2lkZWNhY2hlIHVuaXQgdGVzdCBDQTAgFw0yNjEyMDQxMzM2
MzFaGA8yMTI2MTExMDEzMzYzMVowITEfMB0GA1UEAwwWc2lkZWNhY2hlIHVuaXQg
dGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABH8bIvEYOfMXYF9siiiD
cQs2i6jxuJqdYHp6Kk6p5u1rZr+2ZdcLBjQeFsE42T5Vx3UZ2dYSqrxfv5SpCXzO
C16jUzBRMB0GA1UdDgQWBBTfOrHNdhdwU3035FYIsa4ibeI/ejAfBgNVHSMEGDAW
gBTfOrHNdhdwU3035FYIsa4ibeI/ejAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49
BAMCA0kAMEYCIQCQ6mTfSnMb6pear4ZQZZm5GgcgcQbv58ENZPnZogD8TAIhANrN
LlFnGf+4Jo4JFvG649Ib/PzjNFGHgAGMDQ9mouyg
-----END CERTIFICATE-----
";

    struct Files(PathBuf);

    impl Files {
        fn new(name: &str) -> Files {
            let dir =
                std::env::temp_dir().join(format!("sidecache-trust-{}-{name}", std::process::id()));
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

    fn two_cas() -> String {
        format!("# a comment line\n{TEST_CA}\n{TEST_CA}")
    }

    #[test]
    fn decodes_each_certificate_block_and_skips_the_rest() {
        let text = format!(
            "junk\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{}\
             -----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n",
            two_cas()
        );
        let certificates = pem_certificates(text.as_bytes());
        assert_eq!(certificates.len(), 2);
        // The same DER as the SDK's (constant-time) PEM reader produces.
        use rustls_pki_types::pem::PemObject;
        let reference = CertificateDer::from_pem_slice(TEST_CA.as_bytes()).unwrap();
        assert_eq!(certificates[0], reference);
        assert!(pem_certificates(b"").is_empty());
        assert!(pem_certificates(b"-----BEGIN CERTIFICATE-----\nAAAA").is_empty());
        // A block cut short does not swallow the next one.
        let cut = format!("-----BEGIN CERTIFICATE-----\nAAAA\n{TEST_CA}");
        assert_eq!(pem_certificates(cut.as_bytes()), vec![reference]);
    }

    #[test]
    fn a_named_bundle_comes_first() {
        let files = Files::new("named");
        let named = files.write("named.pem", TEST_CA);
        let system = files.write("system.pem", &two_cas());
        let (roots, source) = select_roots(Some(&named), &[&system]);
        assert_eq!(source, Source::Named(named));
        assert_eq!(roots.len(), 1);
    }

    #[test]
    fn an_unusable_named_bundle_falls_back_to_the_system_bundle() {
        let files = Files::new("fallback");
        let garbage = files.write("garbage.pem", "not a certificate\n");
        let system = files.write("system.pem", &two_cas());
        for named in [garbage, files.missing()] {
            let (roots, source) = select_roots(Some(&named), &[&system]);
            assert_eq!(source, Source::System(system.clone()), "named {named:?}");
            assert_eq!(roots.len(), 2);
        }
    }

    #[test]
    fn without_a_named_bundle_the_first_usable_system_bundle_is_used() {
        let files = Files::new("system");
        let empty = files.write("empty.pem", "");
        let second = files.write("second.pem", TEST_CA);
        let third = files.write("third.pem", &two_cas());
        let candidates = [files.missing(), empty, second.clone(), third];
        let candidates: Vec<&Path> = candidates.iter().map(PathBuf::as_path).collect();
        let (roots, source) = select_roots(None, &candidates);
        assert_eq!(source, Source::System(second));
        assert_eq!(roots.len(), 1);
    }

    #[test]
    fn without_any_bundle_the_built_in_roots_are_used() {
        let files = Files::new("builtin");
        let garbage = files.write(
            "garbage.pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        );
        let (roots, source) = select_roots(Some(&garbage), &[&files.missing(), &garbage]);
        assert_eq!(source, Source::BuiltIn);
        assert!(roots.len() > 100, "built-in roots: {}", roots.len());
    }

    #[test]
    fn the_system_bundle_of_this_machine_parses_like_the_sdk_reader() {
        // Whatever bundle this machine has: every block decodes as the reference reader does.
        let Some(path) = SYSTEM_BUNDLES.iter().map(Path::new).find(|p| p.is_file()) else {
            return;
        };
        let pem = std::fs::read(path).unwrap();
        use rustls_pki_types::pem::PemObject;
        let reference: Vec<_> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(pem_certificates(&pem), reference, "{}", path.display());
    }
}
