//! Where entries live: moka, which bounds them (LRU by entries and bytes) and expires them,
//! and in front of it a plain map that answers hits.
//!
//! A moka `get` cost ~1,300 instructions per hit (its concurrent map's epoch pin, recording the
//! read for the LRU, the expiry clock), as much as the rest of our hit path. A hit here is a
//! read lock, a hash and one `Arc` clone. moka still sees every read, later and in order: a hit
//! stamps its slot, and before moka next evicts (an insert, maintenance) the keys read since
//! are replayed into it, oldest read first, so its LRU order is the order of last reads.
//!
//! The map mirrors moka: an entry goes into the map before moka (so an immediate eviction finds
//! it), and leaves it when moka removes it (the eviction listener: size, expiry, replacement,
//! invalidation) or is invalidated here.

use super::{CacheKey, Entry, Hasher, KeyView};
use hashbrown::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};

pub type Moka = moka::sync::Cache<CacheKey, Arc<Entry>, Hasher>;

/// An entry and when it was last read (a stamp from `Index::reads`; 0: not since the replay).
struct Slot {
    entry: Arc<Entry>,
    last_read: AtomicU64,
}

pub struct Index {
    map: RwLock<HashMap<CacheKey, Slot, Hasher>>,
    /// The read clock: every hit takes the next stamp.
    reads: AtomicU64,
    /// Keys read since the last replay, each once.
    read_since: Mutex<Vec<CacheKey>>,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            map: RwLock::new(HashMap::with_hasher(Hasher::default())),
            reads: AtomicU64::new(0),
            read_since: Mutex::new(Vec::new()),
        }
    }
}

impl Index {
    /// For moka's eviction listener: forgets `key` if it still maps to `entry` (a replaced
    /// entry's notification must not remove its successor).
    pub fn forget(&self, key: &CacheKey, entry: &Arc<Entry>) {
        let mut map = self.map.write().expect("index lock");
        if map.get(key).is_some_and(|s| Arc::ptr_eq(&s.entry, entry)) {
            map.remove(key);
        }
    }
}

#[derive(Clone)]
pub struct Store {
    moka: Moka,
    index: Arc<Index>,
}

impl Store {
    /// `moka` must tell `index` of every removal ([`Index::forget`] in its eviction listener).
    pub fn new(moka: Moka, index: Arc<Index>) -> Self {
        Store { moka, index }
    }

    pub fn get(&self, key: KeyView) -> Option<Arc<Entry>> {
        let map = self.index.map.read().expect("index lock");
        let slot = map.get(&key)?;
        let stamp = self.index.reads.fetch_add(1, Relaxed) + 1;
        if slot.last_read.swap(stamp, Relaxed) == 0 {
            // First read since the replay: remembered once, so later hits only stamp.
            self.index
                .read_since
                .lock()
                .expect("index lock")
                .push(key.to_key());
        }
        Some(slot.entry.clone())
    }

    pub fn insert(&self, key: CacheKey, entry: Arc<Entry>) {
        self.replay_reads();
        let slot = Slot {
            entry: entry.clone(),
            last_read: AtomicU64::new(0),
        };
        self.index
            .map
            .write()
            .expect("index lock")
            .insert(key.clone(), slot);
        self.moka.insert(key, entry);
    }

    pub fn invalidate(&self, key: &CacheKey) {
        self.index.map.write().expect("index lock").remove(key);
        self.moka.invalidate(key);
    }

    /// Applies moka's pending work (evictions, expiry) after telling it the reads since the
    /// last time.
    pub fn run_pending_tasks(&self) {
        self.replay_reads();
        self.moka.run_pending_tasks();
    }

    pub fn keys(&self) -> Vec<Arc<CacheKey>> {
        self.moka.iter().map(|(k, _)| k).collect()
    }

    pub fn entry_count(&self) -> u64 {
        self.run_pending_tasks();
        self.moka.entry_count()
    }

    /// Reads moka has not seen, in the order they last happened: moka's `get` records each.
    fn replay_reads(&self) {
        let keys = std::mem::take(&mut *self.index.read_since.lock().expect("index lock"));
        if keys.is_empty() {
            return;
        }
        let mut read: Vec<(u64, CacheKey)> = {
            let map = self.index.map.read().expect("index lock");
            keys.into_iter()
                .filter_map(|key| {
                    let stamp = map.get(&key)?.last_read.swap(0, Relaxed);
                    Some((stamp, key))
                })
                .collect()
        };
        read.sort_unstable_by_key(|(stamp, _)| *stamp);
        for (_, key) in read {
            self.moka.get(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::tests::key;
    use bytes::Bytes;
    use moka::notification::RemovalCause;
    use moka::policy::EvictionPolicy;

    fn entry(text: &'static str) -> Arc<Entry> {
        Arc::new(Entry::new(
            Bytes::from_static(text.as_bytes()),
            Bytes::new(),
            axum::http::HeaderValue::from_static("text/plain"),
        ))
    }

    /// What moka removed, and why.
    type Removed = Arc<Mutex<Vec<(String, RemovalCause)>>>;

    /// A store of at most `capacity` entries.
    fn store(capacity: u64) -> (Store, Removed) {
        let index = Arc::new(Index::default());
        let removed = Arc::new(Mutex::new(Vec::new()));
        let (listener_index, listener_removed) = (index.clone(), removed.clone());
        let moka = moka::sync::Cache::builder()
            .max_capacity(capacity)
            .eviction_policy(EvictionPolicy::lru())
            .eviction_listener(move |key: Arc<CacheKey>, entry, cause| {
                listener_index.forget(&key, &entry);
                let name = key.name.to_string();
                listener_removed.lock().unwrap().push((name, cause));
            })
            .build_with_hasher(Hasher::default());
        (Store::new(moka, index), removed)
    }

    #[test]
    fn moka_evicts_the_least_recently_read_although_hits_bypass_it() {
        let (store, removed) = store(3);
        for name in ["a", "b", "c"] {
            store.insert(key(name), entry("v"));
            store.run_pending_tasks();
        }
        // Read in the order c, a, c, b: `a` is now the least recently read.
        for name in ["c", "a", "c", "b"] {
            assert!(store.get(key(name).view()).is_some());
        }
        store.insert(key("d"), entry("v"));
        store.run_pending_tasks();
        let removed = removed.lock().unwrap().clone();
        assert_eq!(removed, vec![("a".to_owned(), RemovalCause::Size)]);
        assert!(
            store.get(key("a").view()).is_none(),
            "the evicted key left the index"
        );
        for name in ["b", "c", "d"] {
            assert!(store.get(key(name).view()).is_some(), "{name} stays");
        }
    }

    #[test]
    fn a_replaced_entry_leaves_its_successor_in_the_index() {
        let (store, removed) = store(10);
        store.insert(key("a"), entry("old"));
        store.insert(key("a"), entry("new"));
        store.run_pending_tasks();
        assert_eq!(
            removed.lock().unwrap().clone(),
            vec![("a".to_owned(), RemovalCause::Replaced)]
        );
        assert_eq!(&store.get(key("a").view()).unwrap().json[..], b"new");
    }

    #[test]
    fn invalidated_keys_stop_answering_at_once() {
        let (store, _) = store(10);
        store.insert(key("a"), entry("v"));
        store.invalidate(&key("a"));
        assert!(store.get(key("a").view()).is_none());
        assert_eq!(store.entry_count(), 0);
    }
}
