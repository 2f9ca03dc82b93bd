//! After a SnapStart restore, and before the first request under SnapStart: the work that
//! belongs to no request.
//!
//! Most of what a restore invalidates is caught up with where it is used, before the first use
//! after the restore: cached entries count as expired (`cache`, through `timeline`), SDK clients,
//! credentials and pooled connections are made anew (`aws::clients`), the TTL jitter is drawn
//! again (`cache::renewal`). Left here: the session token held from before is forgotten, and the
//! prefetch list is fetched again, in the background, so that the restored function's first
//! reads are hits again.

use crate::app::App;
use crate::config::PrefetchItem;
use crate::{prefetch, timeline};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use tokio::sync::Notify;

/// Starts the prefetch (now, or at the first request or restore when `at_init` is false) and
/// watches for restores for the life of the process.
pub fn watch(app: Arc<App>, items: Vec<PrefetchItem>, at_init: bool) {
    if at_init {
        prefetch::spawn(app.clone(), items.clone());
    } else if !items.is_empty() {
        tracing::info!(
            items = items.len(),
            "prefetch waits for the first request or a SnapStart restore (nothing is fetched into the snapshot)"
        );
    }
    tokio::spawn(async move {
        if !at_init {
            tokio::select! {
                _ = app.first_request.fired() => prefetch::spawn(app.clone(), items.clone()),
                _ = timeline::restored() => restored(&app, &items),
            }
        }
        loop {
            timeline::restored().await;
            restored(&app, &items);
        }
    });
}

fn restored(app: &Arc<App>, items: &[PrefetchItem]) {
    app.auth.restored();
    prefetch::spawn(app.clone(), items.to_vec());
}

/// Fires once, at the first read request, for a prefetch that waits for one (SnapStart). A
/// request pays one relaxed load for it.
#[derive(Default)]
pub struct FirstRequest {
    pending: AtomicBool,
    fired: Notify,
}

impl FirstRequest {
    /// One that fires at the first request; `Default` never fires.
    pub fn armed() -> Self {
        FirstRequest {
            pending: AtomicBool::new(true),
            fired: Notify::new(),
        }
    }

    pub fn on_request(&self) {
        if self.pending.load(Relaxed) && self.pending.swap(false, Relaxed) {
            self.fired.notify_one();
        }
    }

    async fn fired(&self) {
        self.fired.notified().await
    }
}
