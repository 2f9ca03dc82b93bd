//! Which roots upstream TLS trusts, in the SPEC's order (docs/configuration.md, "Trust
//! sources"): `AWS_CA_BUNDLE`, else `SSL_CERT_FILE` (tls.rs shows it trusted alone), else the
//! system bundle, else built-in roots; an unusable bundle falls back with a warning. The
//! system bundle and the built-in roots cannot be pointed at a test CA from outside, so their
//! order is unit-tested (extension/src/aws/http/trust.rs).

use aws_sdk_ssm::types::ParameterType;
use sidecache_tests::moto;
use sidecache_tests::util::unique;
use sidecache_tests::{FaultProxy, Sidecar, SidecarBuilder, TlsProxy};

use super::common::{param, value_of};

/// Everything a test holds: the proxies stop when dropped.
struct Setup {
    proxy: FaultProxy,
    _tls: TlsProxy,
    _other: TlsProxy,
    sc: Sidecar,
    name: String,
}

/// A sidecar reaching moto through a TLS proxy, the environment adjusted by `configure`; also
/// a second, unrelated TLS proxy whose CA is a valid bundle that does not sign the first one.
async fn over_tls(
    configure: impl FnOnce(SidecarBuilder, &TlsProxy, &TlsProxy) -> SidecarBuilder,
) -> Setup {
    let name = format!("/{}/p", unique("trust"));
    moto::put_parameter(&name, "trusted", ParameterType::String).await;
    let proxy = FaultProxy::start().await;
    let tls = TlsProxy::start(&proxy.url());
    let other = TlsProxy::start(&proxy.url());
    let builder = Sidecar::builder(&proxy).env("AWS_ENDPOINT_URL", tls.url());
    let sc = configure(builder, &tls, &other).spawn().await;
    Setup {
        proxy,
        _tls: tls,
        _other: other,
        sc,
        name,
    }
}

fn path(tls: &TlsProxy) -> String {
    tls.ca_file().display().to_string()
}

/// The proxy answered, but its certificate was refused: a 502 that says so.
async fn assert_untrusted(s: &Setup) {
    let resp = s.sc.get(&param(&s.name, "")).await;
    assert_eq!(resp.status, 502, "body: {}", resp.text());
    let body: serde_json::Value = serde_json::from_slice(&resp.body).expect("JSON error body");
    assert_eq!(body["__type"], "UpstreamUnreachable", "body: {body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("certificate"),
        "a certificate failure, not another: {body}"
    );
    assert_eq!(
        s.proxy.total(),
        0,
        "the handshake failed: {:?}",
        s.proxy.log()
    );
}

#[tokio::test]
async fn aws_ca_bundle_is_trusted_before_ssl_cert_file() {
    let s = over_tls(|b, tls, other| {
        b.env("AWS_CA_BUNDLE", path(tls))
            .env("SSL_CERT_FILE", path(other))
    })
    .await;
    assert_eq!(value_of(&s.sc.get(&param(&s.name, "")).await), "trusted");
}

#[tokio::test]
async fn ssl_cert_file_is_not_consulted_when_aws_ca_bundle_is_set() {
    // The control for the test above: the bundles swapped, the endpoint is not trusted.
    let s = over_tls(|b, tls, other| {
        b.env("AWS_CA_BUNDLE", path(other))
            .env("SSL_CERT_FILE", path(tls))
    })
    .await;
    assert_untrusted(&s).await;
}

#[tokio::test]
async fn an_unusable_bundle_falls_back_to_the_system_roots_with_a_warning() {
    let s = over_tls(|b, _, other| {
        let garbage = other.dir().join("garbage.pem");
        std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
        b.env("AWS_CA_BUNDLE", garbage.display().to_string())
    })
    .await;
    // The system roots do not hold the test CA: a clear 502, not a panic or a hang.
    assert_untrusted(&s).await;
    let logs = s.sc.logs();
    assert!(
        logs.contains("unusable CA bundle") && logs.contains("garbage.pem"),
        "a warning naming the file:\n{logs}"
    );
    assert_eq!(s.sc.get("/ping").await.status, 200, "still serving");
}
