//! Giving a burst's memory back. Each open connection holds hyper's read and write buffers
//! (8-16 KiB and more) and its task; once a burst of hundreds of connections has closed, the
//! allocator keeps the freed pages unless asked to return them. When the last connection of a
//! burst closes, they are returned to the system (docs/performance.md: the RSS row).

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// A burst is this many connections open at once; below it there is nothing worth trimming,
/// and a client opening one connection per request must not pay a trim each time.
const BURST: usize = 32;
/// The burst is over when this few are left: a handler's pooled keep-alive connection may stay
/// open for the life of the environment.
const LEFT_AFTER_BURST: usize = 4;

#[derive(Default)]
pub struct BurstTrim {
    open: AtomicUsize,
    /// Most connections open at once since the last trim.
    peak: AtomicUsize,
}

/// Counts one open connection until dropped.
pub struct Open<'a>(&'a BurstTrim);

impl BurstTrim {
    pub fn opened(&self) -> Open<'_> {
        let open = self.open.fetch_add(1, Relaxed) + 1;
        self.peak.fetch_max(open, Relaxed);
        Open(self)
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        let left = self.0.open.fetch_sub(1, Relaxed) - 1;
        if left <= LEFT_AFTER_BURST
            && self.0.peak.load(Relaxed) >= BURST
            && self.0.peak.swap(left, Relaxed) >= BURST
        {
            release_free_memory();
        }
    }
}

fn release_free_memory() {
    crate::allocator::release_free_memory();
    tracing::debug!("connection burst over: returned free heap pages");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_resets_only_after_a_burst() {
        let trim = BurstTrim::default();
        {
            let _one = trim.opened();
        }
        assert_eq!(
            trim.peak.load(Relaxed),
            1,
            "a single connection is no burst"
        );
        let burst: Vec<_> = (0..BURST).map(|_| trim.opened()).collect();
        assert_eq!(trim.peak.load(Relaxed), BURST);
        drop(burst);
        assert_eq!(trim.open.load(Relaxed), 0);
        assert!(
            trim.peak.load(Relaxed) <= LEFT_AFTER_BURST,
            "the burst's end trims and starts over"
        );
    }
}
