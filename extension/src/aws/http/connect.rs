//! Opening one upstream connection: TCP, then TLS for `https://` with the one rustls
//! configuration of the process (its roots parsed on the first TLS connection, never again).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use http::uri::Scheme;
use http::Uri;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use tokio::net::TcpStream;
use tower_service::Service;

use super::errors::TimedOut;
use super::trust;

pub(super) type Stream = MaybeHttpsStream<TokioIo<TcpStream>>;

/// The TLS client configuration, built once on first use and shared by every pool, so
/// retiring connections never costs a roots re-parse.
#[derive(Debug)]
pub(super) struct Tls {
    /// `AWS_CA_BUNDLE` or `SSL_CERT_FILE`, as the configuration resolved it.
    named_bundle: Option<PathBuf>,
    config: OnceLock<Arc<ClientConfig>>,
}

impl Tls {
    pub(super) fn new(named_bundle: Option<PathBuf>) -> Tls {
        Tls {
            named_bundle,
            config: OnceLock::new(),
        }
    }

    fn config(&self) -> Arc<ClientConfig> {
        self.config
            .get_or_init(|| trust::client_config(self.named_bundle.as_deref()))
            .clone()
    }
}

/// A `hyper-util` connector: plain TCP for `http://`, TCP + TLS for `https://`, the whole
/// of it bounded by the connect timeout (as the SDK's own connector bounds it).
#[derive(Clone)]
pub(super) struct Connector {
    tcp: HttpConnector,
    tls: Arc<Tls>,
    connect_timeout: Option<Duration>,
}

impl Connector {
    pub(super) fn new(tls: Arc<Tls>, connect_timeout: Option<Duration>) -> Connector {
        let mut tcp = HttpConnector::new();
        // `https://` URIs are handed to the TCP connector too; TLS is layered on top here.
        tcp.enforce_http(false);
        // Requests are written in small pieces; Nagle would hold one for an ACK.
        tcp.set_nodelay(true);
        Connector {
            tcp,
            tls,
            connect_timeout,
        }
    }
}

impl Service<Uri> for Connector {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // `HttpConnector` is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let mut tcp = self.tcp.clone();
        let tls = (uri.scheme() == Some(&Scheme::HTTPS)).then(|| self.tls.config());
        let connect_timeout = self.connect_timeout;
        Box::pin(async move {
            let connecting = async move {
                match tls {
                    None => Ok(MaybeHttpsStream::Http(tcp.call(uri).await?)),
                    Some(config) => HttpsConnector::from((tcp, config)).call(uri).await,
                }
            };
            match connect_timeout {
                Some(limit) => tokio::time::timeout(limit, connecting)
                    .await
                    .map_err(|_| Box::new(TimedOut("connect")) as BoxError)?,
                None => connecting.await,
            }
        })
    }
}
