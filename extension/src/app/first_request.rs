//! The first read request, as a signal: under SnapStart the prefetch waits for it (values fetched
//! during INIT would be written into the snapshot). A request pays one relaxed load for it.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use tokio::sync::Notify;

#[derive(Default)]
pub struct FirstRequest {
    pending: AtomicBool,
    fired: Notify,
}

impl FirstRequest {
    /// One that fires at the first read request; `Default` never fires.
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

    /// Completes at the first read request (at once if it already came).
    pub async fn fired(&self) {
        self.fired.notified().await
    }
}
