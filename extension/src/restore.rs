//! "The world changed under us": a SnapStart restore, and everything it resets, in one place.
//!
//! A SnapStart function is snapshotted after INIT and restored later, with no event for
//! extensions; the restore is seen in the clocks by the first reading after it (`timeline`).
//! This module owns what follows. It sits above what it resets (it uses `App`, the prefetch and
//! `awsapi`; none of them knows it), and the server asks it at the start of every request,
//! before anything reads the clock, so the reset has run before any request uses what it resets:
//! - credentials, the session token and the signing credentials, SDK clients and their base
//!   configuration, pooled connections (`App::restored`: auth and `aws::clients`);
//! - random state every copy of the snapshot would otherwise share: each cache's TTL jitter,
//!   the base of request ids;
//! - AppConfig sessions: every profile starts a new session (copies of one snapshot must not
//!   spend one token twice);
//! - the prefetch lists, fetched again in the background so the restored function's first reads
//!   are hits.
//!
//! Cached values are not dropped: an entry stored before a restore never counts as fresh after
//! it (its timeline epoch), but stale-if-error may still serve it.
//!
//! Under SnapStart nothing is prefetched during INIT (it would be written into the snapshot):
//! the prefetch waits for the first read request or the first restore, whichever comes first.

use crate::app::App;
use crate::config::{PrefetchItem, ProfileId};
use crate::{awsapi, prefetch, timeline};
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::Arc;

/// What is fetched ahead of the first reads: `SIDECACHE_PREFETCH` and the AppConfig Agent's
/// `AWS_APPCONFIG_EXTENSION_PREFETCH_LIST`.
#[derive(Debug, Clone, Default)]
pub struct Prefetch {
    pub values: Vec<PrefetchItem>,
    pub profiles: Vec<ProfileId>,
}

impl Prefetch {
    fn is_empty(&self) -> bool {
        self.values.is_empty() && self.profiles.is_empty()
    }

    fn spawn(&self, app: &Arc<App>) {
        prefetch::spawn(app.clone(), self.values.clone());
        app.appconfig.prefetch(&self.profiles);
    }
}

pub struct Restores {
    app: Arc<App>,
    prefetch: Prefetch,
    /// The restores caught up with so far.
    seen: AtomicU32,
}

impl Restores {
    /// Starts the prefetch (now, or at the first read request when `at_init` is false) and
    /// returns the owner the server asks at every request.
    pub fn start(app: Arc<App>, prefetch: Prefetch, at_init: bool) -> Arc<Self> {
        let restores = Arc::new(Restores {
            app: app.clone(),
            prefetch: prefetch.clone(),
            seen: AtomicU32::new(timeline::now().restores()),
        });
        if at_init {
            prefetch.spawn(&app);
        } else if !prefetch.is_empty() {
            tracing::info!(
                items = prefetch.values.len() + prefetch.profiles.len(),
                "prefetch waits for the first request or a SnapStart restore (nothing is fetched into the snapshot)"
            );
            let owner = restores.clone();
            tokio::spawn(async move {
                owner.app.first_request.fired().await;
                // A restore before the first request has prefetched already.
                if owner.seen.load(Relaxed) == 0 {
                    owner.prefetch.spawn(&owner.app);
                }
            });
        }
        restores
    }

    /// At the start of every request: one clock reading, and the reset when it shows a restore
    /// not caught up with yet.
    pub fn catch_up(&self) {
        let epoch = timeline::now().restores();
        if self.seen.load(Relaxed) != epoch && self.seen.swap(epoch, Relaxed) != epoch {
            self.reset();
        }
    }

    fn reset(&self) {
        tracing::info!("SnapStart restore: credentials, clients, connections and random state made anew; prefetching again");
        self.app.restored();
        awsapi::draw_request_ids();
        self.prefetch.spawn(&self.app);
    }
}
