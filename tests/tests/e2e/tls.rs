//! AWS over TLS: the sidecar reaches moto through a TLS-terminating proxy whose throw-away CA
//! is trusted only through the standard variables. Exercises rustls and ring for real (also on
//! aarch64 under qemu) and the CA-bundle handling.

use sidecache_tests::moto;
use sidecache_tests::util::unique;
use sidecache_tests::{FaultProxy, Sidecar, SidecarBuilder, TlsProxy};

use super::common::{param, secret, value_of};

/// A fault proxy (counting calls) behind a TLS proxy, and a sidecar sent to the TLS side.
async fn over_tls(
    configure: impl FnOnce(SidecarBuilder, &TlsProxy) -> SidecarBuilder,
) -> (FaultProxy, TlsProxy, Sidecar) {
    let proxy = FaultProxy::start().await;
    let tls = TlsProxy::start(&proxy.url());
    let builder = Sidecar::builder(&proxy).env("AWS_ENDPOINT_URL", tls.url());
    let sidecar = configure(builder, &tls).spawn().await;
    (proxy, tls, sidecar)
}

async fn reads_a_parameter_and_a_secret(variable: &str) {
    let (name, secret_name) = (unique("tls-param"), unique("tls-secret"));
    moto::put_parameter(&name, "over-tls", aws_sdk_ssm::types::ParameterType::String).await;
    moto::create_secret(&secret_name, "secret-over-tls").await;
    let (proxy, _tls, sc) =
        over_tls(|b, tls| b.env(variable, tls.ca_file().display().to_string())).await;

    assert_eq!(value_of(&sc.get(&param(&name, "")).await), "over-tls");
    let body = sc.get(&secret(&secret_name, "")).await.ok_json();
    assert_eq!(body["SecretString"], "secret-over-tls");
    // Both went upstream through the TLS proxy to the counting proxy behind it.
    assert_eq!(proxy.total(), 2, "upstream calls: {:?}", proxy.log());
}

#[tokio::test]
async fn ca_from_aws_ca_bundle_is_trusted() {
    reads_a_parameter_and_a_secret("AWS_CA_BUNDLE").await;
}

#[tokio::test]
async fn ca_from_ssl_cert_file_is_trusted() {
    reads_a_parameter_and_a_secret("SSL_CERT_FILE").await;
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_clear_502() {
    let name = unique("tls-untrusted");
    moto::put_parameter(
        &name,
        "never-served",
        aws_sdk_ssm::types::ParameterType::String,
    )
    .await;
    let (proxy, _tls, sc) = over_tls(|b, _| b).await;

    let resp = sc.get(&param(&name, "")).await;
    assert_eq!(resp.status, 502, "body: {}", resp.text());
    let body: serde_json::Value = serde_json::from_slice(&resp.body).expect("JSON error body");
    assert_eq!(body["__type"], "UpstreamUnreachable", "body: {body}");
    assert!(!resp.text().contains("never-served"));
    // The handshake failed: nothing reached the service.
    assert_eq!(proxy.total(), 0, "upstream calls: {:?}", proxy.log());
}

#[tokio::test]
async fn s3_object_is_downloaded_over_tls_byte_for_byte() {
    // Large enough for many TLS records (16 KiB each): the bulk decryption path, not only the
    // handshake, runs in the binary's crypto (ring's aarch64 code under `make test-arm64`).
    let bucket = super::s3_support::new_bucket("tls-s3").await;
    let body: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    super::s3_support::put(&bucket, "blob.bin", body.clone(), None).await;
    let (proxy, _tls, sc) =
        over_tls(|b, tls| b.env("SSL_CERT_FILE", tls.ca_file().display().to_string())).await;

    let resp = sc
        .get(&super::s3_support::obj(&bucket, "blob.bin", ""))
        .await;
    let path = super::s3_support::path_of(&resp);
    let written = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(
        written == body,
        "the file differs from the object ({} bytes, expected {})",
        written.len(),
        body.len()
    );
    assert_eq!(
        proxy.count("GetObject"),
        1,
        "upstream calls: {:?}",
        proxy.log()
    );
}
