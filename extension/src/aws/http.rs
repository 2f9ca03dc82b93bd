//! The one HTTP client every SDK client shares, with its TLS set up only when a TLS endpoint is
//! first called, and only with the roots it needs.
//!
//! Profiled (docs/performance.md): building the SDK's HTTPS connector parses the whole system
//! CA bundle, ~19 M instructions (~5 ms), 75 % of the first miss; and the SDK builds it as soon
//! as any client is constructed (even the STS client inside the default credential chain), for
//! plain-HTTP endpoints too. Here requests to `http://` endpoints go through a client without
//! TLS, and the TLS client is built on the first `https://` request. A CA bundle named by
//! `AWS_CA_BUNDLE` (the AWS SDKs' variable) or `SSL_CERT_FILE` replaces the system roots, as
//! it does for the other SDKs and OpenSSL; only that file is parsed then.

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

#[derive(Debug)]
struct Clients {
    ca_bundle: Option<PathBuf>,
    plain: OnceLock<SharedHttpClient>,
    tls: OnceLock<SharedHttpClient>,
}

/// Picks the plain or the TLS client by the request's scheme; builds each on first use.
#[derive(Debug, Clone)]
pub struct UpstreamHttp(Arc<Clients>);

impl UpstreamHttp {
    pub fn new(ca_bundle: Option<PathBuf>) -> Self {
        UpstreamHttp(Arc::new(Clients {
            ca_bundle,
            plain: OnceLock::new(),
            tls: OnceLock::new(),
        }))
    }

    /// Forgets every pooled connection (after a SnapStart restore). Placeholder until the
    /// pool can be replaced: the restored process's requests retry on a connection failure.
    pub fn drop_connections(&self) {}

    /// For `http://`: the same client type with no roots at all (nothing to parse), so the
    /// binary holds one HTTP client stack, not two.
    fn plain(&self) -> &SharedHttpClient {
        self.0.plain.get_or_init(|| {
            let no_roots = TrustStore::empty().with_native_roots(false);
            let context = TlsContext::builder().with_trust_store(no_roots).build();
            https_client(context.ok())
        })
    }

    fn tls(&self) -> &SharedHttpClient {
        self.0
            .tls
            .get_or_init(|| https_client(self.0.ca_bundle.as_ref().and_then(bundle_context)))
    }
}

fn https_client(context: Option<TlsContext>) -> SharedHttpClient {
    let mut builder = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
    if let Some(context) = context {
        builder = builder.tls_context(context);
    }
    builder.build_https()
}

/// Trust exactly the certificates of `path`. Unreadable: the system roots, with a warning
/// (the configuration check found the file readable at start-up).
fn bundle_context(path: &PathBuf) -> Option<TlsContext> {
    let pem = match std::fs::read(path) {
        Ok(pem) => pem,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "cannot read the CA bundle; using the system roots");
            return None;
        }
    };
    // The SDK panics on a PEM it cannot parse: check it here, once, and fall back instead.
    let certificates = CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>();
    match certificates {
        Ok(certificates) if !certificates.is_empty() => {}
        _ => {
            tracing::warn!(path = %path.display(), "no PEM certificates in the CA bundle; using the system roots");
            return None;
        }
    }
    let store = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(pem);
    match TlsContext::builder().with_trust_store(store).build() {
        Ok(context) => Some(context),
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "unusable CA bundle; using the system roots");
            None
        }
    }
}

impl HttpClient for UpstreamHttp {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(BySchemeConnector {
            http: self.clone(),
            settings: settings.clone(),
            components: components.clone(),
        })
    }
}

#[derive(Debug)]
struct BySchemeConnector {
    http: UpstreamHttp,
    settings: HttpConnectorSettings,
    components: RuntimeComponents,
}

impl HttpConnector for BySchemeConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = if request.uri().starts_with("http://") {
            self.http.plain()
        } else {
            self.http.tls()
        };
        client
            .http_connector(&self.settings, &self.components)
            .call(request)
    }
}
