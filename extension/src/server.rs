//! The HTTP server: routes, and serving on bound listeners until told to stop.
//!
//! `serve` takes listeners bound by the caller (port 0 in tests) and a shutdown future, in the
//! manner of mini-redis's `run(listener, shutdown)`.

use crate::app::App;
use crate::routes;
use axum::routing::{get, post};
use axum::Router;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/ping", get(routes::ping))
        .route("/systemsmanager/parameters/get", get(routes::get_parameter))
        .route(
            "/systemsmanager/parameters/get/",
            get(routes::get_parameter),
        )
        .route(
            "/systemsmanager/parameters/get-many",
            get(routes::get_parameters_many),
        )
        .route(
            "/systemsmanager/parameters/get-many/",
            get(routes::get_parameters_many),
        )
        .route(
            "/systemsmanager/parameters/by-path",
            get(routes::get_parameters_by_path),
        )
        .route(
            "/systemsmanager/parameters/by-path/",
            get(routes::get_parameters_by_path),
        )
        .route("/secretsmanager/get", get(routes::get_secret))
        .route("/secretsmanager/get/", get(routes::get_secret))
        .route("/secretsmanager/get-many", get(routes::get_secrets_many))
        .route("/secretsmanager/get-many/", get(routes::get_secrets_many))
        .route("/s3/get", get(routes::get_object))
        .route("/s3/get/", get(routes::get_object))
        .route("/stats", get(routes::stats))
        .route("/cache/invalidate", post(routes::invalidate))
        .fallback(routes::unknown_endpoint)
        .with_state(app)
}

/// Serves on every listener until `shutdown` completes, then stops accepting and waits for
/// in-flight requests to finish (the caller bounds that wait).
pub async fn serve(
    listeners: Vec<TcpListener>,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let router = router(app);
    let (stop_tx, stop_rx) = watch::channel(false);
    let servers: Vec<_> = listeners
        .into_iter()
        .map(|listener| {
            let mut stop = stop_rx.clone();
            let router = router.clone();
            tokio::spawn(async move {
                axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|stopped| *stopped).await;
                    })
                    .await
            })
        })
        .collect();
    shutdown.await;
    let _ = stop_tx.send(true);
    for server in servers {
        server.await.map_err(std::io::Error::other)??;
    }
    Ok(())
}
