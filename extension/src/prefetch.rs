//! `SIDECACHE_PREFETCH`: values fetched at start-up, so that the first invocation is a hit.
//!
//! Runs in the background from the moment the server listens: it overlaps registration and the
//! function's own INIT instead of delaying them, and a handler asking for a value still in flight joins that flight
//! (single-flight) rather than fetching it again. Failures are logged, never fatal.

use crate::app::App;
use crate::config::PrefetchItem;
use crate::model::{ObjectRequest, ParameterRequest, PathRequest, SecretRequest, Target};
use crate::query::{split_selector, Format, ReadOptions};
use std::sync::Arc;
use std::time::Instant;

const OPTIONS: ReadOptions = ReadOptions {
    format: Format::Json,
    max_age: None,
};

pub fn spawn(app: Arc<App>, items: Vec<PrefetchItem>) {
    if items.is_empty() {
        return;
    }
    tokio::spawn(async move {
        let started = Instant::now();
        let count = items.len();
        let mut fetches = tokio::task::JoinSet::new();
        for item in items {
            let app = app.clone();
            fetches.spawn(async move { fetch(&app, &item).await });
        }
        let failed = fetches.join_all().await.iter().filter(|ok| !**ok).count();
        tracing::info!(
            items = count,
            failed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "prefetch done"
        );
    });
}

/// One item; `true` when it is now cached.
async fn fetch(app: &App, item: &PrefetchItem) -> bool {
    let result = match item {
        // With decryption: a handler reading a SecureString asks with `withDecryption=true`;
        // a String or StringList is stored so that reads without the flag find it too.
        PrefetchItem::Parameter(full_name) => match split_selector(full_name) {
            Ok((name, selector)) => {
                let request = ParameterRequest {
                    name: name.to_owned(),
                    selector,
                    with_decryption: true,
                    target: Target::default(),
                };
                app.parameter(&request, OPTIONS).await.map(|_| ())
            }
            Err(error) => Err(error),
        },
        PrefetchItem::Secret(id) => {
            let request = SecretRequest {
                secret_id: id.clone(),
                version_id: None,
                version_stage: None,
                target: Target::default(),
            };
            app.secret(&request, OPTIONS).await.map(|_| ())
        }
        // One BatchGetSecretValue (all pages) for every matching secret, cached by name.
        PrefetchItem::SecretsFilter { key, value } => app
            .prefetch_secrets(key, value)
            .await
            .map(|count| tracing::info!(filter = %key, count, "prefetched secrets by filter")),
        PrefetchItem::S3 { bucket, key } => {
            let request = ObjectRequest {
                bucket: bucket.clone(),
                key: key.clone(),
                version_id: None,
                target: Target::default(),
            };
            app.object(&request, OPTIONS).await.map(|_| ())
        }
        // The whole tree, decrypted: what `by-path?path=..&recursive=true&withDecryption=true`
        // then answers from the cache (and, with no SecureString under it, the same read
        // without `withDecryption`).
        PrefetchItem::ParameterPath(path) => {
            let request = PathRequest {
                path: path.clone(),
                recursive: true,
                with_decryption: true,
                target: Target::default(),
            };
            app.parameters_by_path(&request, OPTIONS).await.map(|_| ())
        }
    };
    match result {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(item = ?item, code = error.code(), %error, "prefetch failed");
            false
        }
    }
}
