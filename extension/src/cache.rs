//! The value cache: rendered responses keyed by what identifies a value upstream.
//!
//! moka bounds the cache (LRU; TinyLFU refuses new keys when full, see shared notes) and
//! forgets entries once even stale-if-error could not use them. Freshness itself is decided
//! here, from the `fetched_at` stored with each entry, because moka's own expiry makes an
//! entry invisible and we still need expired entries for stale-if-error and for `Age`.
//!
//! A hit is one map lookup and one `Arc` clone: entries hold the response bytes ready to send.

use crate::error::AppError;
use crate::stats::{Counter, Stats};
use crate::timeline::{self, Moment};
use axum::http::StatusCode;
use moka::notification::RemovalCause;
use moka::policy::EvictionPolicy;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

mod background;
mod entry;
mod key;
mod renewal;
mod store;

pub use entry::{ApiShape, Entry, Freshness, Outcome, TreeItems};
pub use key::{CacheKey, KeyView};
pub use renewal::{Fetch, Refreshable, Renewal, TtlJitter, GIVE_UP_AFTER};
use store::{Index, Store};

/// One upstream fetch of a key, shared by every caller that joins it.
#[derive(Default)]
struct FlightState {
    answer: OnceCell<Result<Arc<Entry>, AppError>>,
    /// A write or invalidation of the key happened while this fetch was in flight: what it read
    /// may predate the write, so it answers the callers that joined it and is not stored.
    superseded: AtomicBool,
}
type Flight = Arc<FlightState>;
/// foldhash instead of SipHash: keys are ours, not attacker-chosen in bulk, and hashing is a
/// measurable share of a hit (about 570 instructions with SipHash).
type Hasher = foldhash::fast::RandomState;
type Entries = Store;

/// How long answers other than fresh values may be used.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// Past its TTL, a value may still answer a refresh that failed transiently this long.
    pub stale_if_error: Duration,
    /// A not-found answer is cached this long (0: never).
    pub negative_ttl: Duration,
}

/// How many invalidations the cache had seen when a batch read began (see [`ValueCache::insert`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epoch(u64);

pub struct ValueCache {
    entries: Option<Entries>,
    inflight: Mutex<HashMap<CacheKey, Flight>>,
    /// Invalidations so far, counted under the in-flight lock.
    invalidations: AtomicU64,
    stale_if_error: Duration,
    negative_ttl: Duration,
    renewal: Renewal,
    /// Hits, misses and stale answers, shared with the other cache for `/stats`.
    stats: Arc<Stats>,
    bytes: Arc<Counter>,
    evictions: Arc<Counter>,
}

struct KeepFor;

impl moka::Expiry<CacheKey, Arc<Entry>> for KeepFor {
    fn expire_after_create(&self, _: &CacheKey, e: &Arc<Entry>, _: Instant) -> Option<Duration> {
        Some(e.keep_for)
    }
    fn expire_after_update(
        &self,
        _: &CacheKey,
        e: &Arc<Entry>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(e.keep_for)
    }
}

impl ValueCache {
    /// `max_entries == Some(0)` disables caching: every request is one upstream call.
    /// `max_entries == None` bounds by bytes alone.
    pub fn new(
        max_entries: Option<u64>,
        max_bytes: u64,
        lifetimes: Lifetimes,
        renewal: Renewal,
        stats: Arc<Stats>,
    ) -> Self {
        let bytes = Arc::new(Counter::default());
        let evictions = Arc::new(Counter::default());
        let entries = (max_entries != Some(0)).then(|| {
            let (capacity, min_weight) = weights(max_entries, max_bytes);
            let (bytes, evictions) = (bytes.clone(), evictions.clone());
            let index = Arc::new(Index::default());
            let listener_index = index.clone();
            let moka = moka::sync::Cache::builder()
                .max_capacity(capacity)
                .eviction_policy(EvictionPolicy::lru())
                .weigher(move |_: &CacheKey, e: &Arc<Entry>| -> u32 {
                    e.size().clamp(min_weight, u32::MAX as u64) as u32
                })
                .expire_after(KeepFor)
                .eviction_listener(move |key, entry: Arc<Entry>, cause| {
                    listener_index.forget(&key, &entry);
                    bytes.sub(entry.size());
                    if cause == RemovalCause::Size {
                        evictions.incr();
                    }
                    // A replacing entry owns the same path (renamed over it, or renewed).
                    if cause != RemovalCause::Replaced {
                        if let Some(file) = &entry.file {
                            file.remove_if_current();
                        }
                    }
                })
                .build_with_hasher(Hasher::default());
            Store::new(moka, index)
        });
        ValueCache {
            entries,
            inflight: Mutex::new(HashMap::new()),
            invalidations: AtomicU64::new(0),
            stale_if_error: lifetimes.stale_if_error,
            negative_ttl: lifetimes.negative_ttl,
            renewal,
            stats,
            bytes,
            evictions,
        }
    }

    /// The cached value when fresh enough, else one upstream call shared by every concurrent
    /// caller of the same key. `fetch` runs at most once per flight. A hit on an entry past its
    /// refresh-ahead point also starts one background refresh when `fetch` can run detached.
    pub async fn get_or_fetch<F: Fetch>(
        self: &Arc<Self>,
        key: CacheKey,
        freshness: Freshness,
        fetch: F,
    ) -> Result<(Arc<Entry>, Outcome), AppError> {
        let Some(entries) = self.entries.as_ref().filter(|_| !freshness.ttl.is_zero()) else {
            // Pass-through: no coalescing either, one call per request.
            self.stats.misses.incr();
            return Box::pin(fetch.fetch(None))
                .await
                .map(|e| (Arc::new(e), Outcome::Miss));
        };
        let requested_at = timeline::now();
        let cached = find(entries, key.view());
        if let Some(entry) = &cached {
            // The age at the request, from the clock read above (one read fewer per hit).
            let age = requested_at.since(entry.fetched_at);
            if let Some(answer) = self.answer(entry, requested_at, freshness) {
                self.stats.hits.incr();
                if F::REFRESHABLE && age > entry.refresh_after {
                    self.refresh_ahead(&key, entry, freshness.ttl, &fetch);
                }
                return answer.map(|e| (e, Outcome::Hit));
            }
        }
        self.stats.misses.incr();
        let outcome = if cached.is_some() {
            Outcome::Refresh
        } else {
            Outcome::Miss
        };
        // Boxed: only a miss pays for the flight's state, and every request's future (the
        // connection boxes one per request) stays small enough for the allocator's fast bins.
        let flight = Box::pin(self.fly(
            entries,
            &key,
            requested_at,
            freshness.ttl,
            cached.clone(),
            |previous| fetch.fetch(previous),
        ));
        match flight.await {
            Ok(entry) => Ok((entry, outcome)),
            Err(error) => match cached {
                Some(old)
                    if error.may_serve_stale()
                        && old.not_found.is_none()
                        && self.within_stale_window(&old) =>
                {
                    self.stats.stale.incr();
                    tracing::warn!(service = ?key.service, name = %key.name, error = %error, "serving stale value");
                    Ok((old, Outcome::Stale))
                }
                _ => Err(error),
            },
        }
    }

    fn within_stale_window(&self, entry: &Entry) -> bool {
        !self.stale_if_error.is_zero() && entry.age() <= entry.ttl + self.stale_if_error
    }

    /// Stores a fetched entry with its (jittered) TTL and refresh-ahead point, where [`find`]
    /// looks for it first: a decryption-neutral value fetched with decryption goes under the key
    /// without it (one copy answers both spellings), and an older entry under the decrypting key
    /// (the parameter was a SecureString then) is dropped so it does not shadow the new one.
    fn store(&self, entries: &Entries, key: &CacheKey, entry: Entry, ttl: Duration) -> Arc<Entry> {
        let entry = Arc::new(self.stamped(entry, ttl));
        self.bytes.add(entry.size());
        let mut key = key.clone();
        if key.decrypt && entry.decryption_neutral {
            entries.invalidate(&key);
            key.decrypt = false;
        }
        entries.insert(key, entry.clone());
        entry
    }

    /// An entry's TTL, refresh-ahead point and how long the store may keep it.
    fn stamped(&self, mut entry: Entry, ttl: Duration) -> Entry {
        (entry.ttl, entry.refresh_after) = self.renewal.stamp(ttl);
        entry.keep_for = entry.ttl + self.stale_if_error;
        entry
    }

    /// Stores what `flight` fetched, unless a write or invalidation superseded the flight; then
    /// the entry only answers the flight's own callers. Checked and stored under the in-flight
    /// lock, which [`ValueCache::invalidate`] holds while it marks flights: a flight stores
    /// either before the mark (and the invalidation then drops the entry) or not at all.
    fn store_flight(
        &self,
        entries: &Entries,
        key: &CacheKey,
        flight: &Flight,
        entry: Entry,
        ttl: Duration,
    ) -> Arc<Entry> {
        let _inflight = self.inflight.lock().expect("inflight lock");
        if flight.superseded.load(Ordering::Relaxed) {
            return Arc::new(self.stamped(entry, ttl));
        }
        self.store(entries, key, entry, ttl)
    }

    /// A flight has ended: forget it unless a newer one took its place.
    fn land(&self, key: &CacheKey, flight: &Flight) {
        let mut inflight = self.inflight.lock().expect("inflight lock");
        if inflight.get(key).is_some_and(|f| Arc::ptr_eq(f, flight)) {
            inflight.remove(key);
        }
    }

    async fn fly<F, Fut>(
        &self,
        entries: &Entries,
        key: &CacheKey,
        requested_at: Moment,
        ttl: Duration,
        previous: Option<Arc<Entry>>,
        fetch: F,
    ) -> Result<Arc<Entry>, AppError>
    where
        F: FnOnce(Option<Arc<Entry>>) -> Fut,
        Fut: Future<Output = Result<Entry, AppError>>,
    {
        let flight = self
            .inflight
            .lock()
            .expect("inflight lock")
            .entry(key.clone())
            .or_default()
            .clone();
        let result = flight
            .answer
            .get_or_init(|| async {
                // A flight that ended between our lookup and now already has what we need.
                if let Some(entry) =
                    find(entries, key.view()).filter(|e| e.fetched_at >= requested_at)
                {
                    return Ok(entry);
                }
                if let Some(answer) = self.join_decrypting_flight(key).await {
                    return answer;
                }
                let previous = previous.filter(|p| p.not_found.is_none());
                let entry = match fetch(previous).await {
                    Ok(entry) => entry,
                    Err(error)
                        if error.status() == StatusCode::NOT_FOUND
                            && !self.negative_ttl.is_zero() =>
                    {
                        let mut entry = Entry::not_found(error.clone());
                        entry.keep_for = self.negative_ttl;
                        let _inflight = self.inflight.lock().expect("inflight lock");
                        if !flight.superseded.load(Ordering::Relaxed) {
                            entries.insert(key.clone(), Arc::new(entry));
                        }
                        return Err(error);
                    }
                    Err(error) => return Err(error),
                };
                let entry = self.store_flight(entries, key, &flight, entry, ttl);
                // moka evicts lazily; enforce the bounds (and delete evicted files) now, on the
                // miss path, rather than whenever maintenance next happens to run.
                entries.run_pending_tasks();
                Ok(entry)
            })
            .await
            .clone();
        self.land(key, &flight);
        result
    }

    /// A read without decryption that misses while the same value is being fetched with
    /// decryption (the prefetch does that) waits for that flight: a decryption-neutral answer
    /// serves it too. Only this direction waits, so two flights never wait on each other.
    /// A transient failure (timeout, throttling, 5xx: what would fail this read's own fetch
    /// too) answers it as well, so that it is served stale or fails at once: fetching again
    /// after the wait took up to two upstream timeouts (found by the soak, reads of 5.6-7 s
    /// for a 2 s timeout). Anything else (a decryption refusal, a secret) leaves the read to
    /// fetch on its own.
    async fn join_decrypting_flight(&self, key: &CacheKey) -> Option<Result<Arc<Entry>, AppError>> {
        if key.decrypt {
            return None;
        }
        let mut decrypting = key.clone();
        decrypting.decrypt = true;
        let flight = self
            .inflight
            .lock()
            .expect("inflight lock")
            .get(&decrypting)
            .cloned()?;
        // Waits for the flight's result without ever running its fetch: an initialiser that
        // fails leaves the cell to the flight's own callers.
        match flight.answer.get_or_try_init(|| async { Err(()) }).await {
            Ok(Ok(entry)) if entry.decryption_neutral => Some(Ok(entry.clone())),
            Ok(Err(error)) if error.may_serve_stale() => Some(Err(error.clone())),
            _ => None,
        }
    }

    /// Entry count after moka's pending maintenance, for `/stats` and tests.
    pub fn entry_count(&self) -> u64 {
        self.entries.as_ref().map_or(0, Store::entry_count)
    }

    /// The cached answer for `key` when fresh enough, without fetching (batch reads look up
    /// each name, then fetch the missing ones together). Counts a hit when it answers.
    pub fn lookup(
        &self,
        key: &CacheKey,
        freshness: Freshness,
    ) -> Option<Result<Arc<Entry>, AppError>> {
        self.lookup_ageing(key, freshness).map(|(answer, _)| answer)
    }

    /// `lookup`, also telling whether the entry is past its refresh-ahead point (a batch read
    /// then refreshes its ageing entries together, with `refresh_many_ahead`).
    pub fn lookup_ageing(
        &self,
        key: &CacheKey,
        freshness: Freshness,
    ) -> Option<(Result<Arc<Entry>, AppError>, bool)> {
        let entries = self.entries.as_ref().filter(|_| !freshness.ttl.is_zero())?;
        let entry = find(entries, key.view())?;
        let now = timeline::now();
        let answer = self.answer(&entry, now, freshness)?;
        self.stats.hits.incr();
        Some((answer, now.since(entry.fetched_at) > entry.refresh_after))
    }

    /// A fresh cached value for `key`, answered without waiting: `None` when it is missing,
    /// too old, a cached not-found, or due for refresh-ahead (which `get_or_fetch` starts).
    /// Counts a hit only when it answers; answers the entry's age too (one clock read a hit).
    pub fn fresh(&self, key: KeyView, freshness: Freshness) -> Option<(Arc<Entry>, Duration)> {
        let entries = self.entries.as_ref().filter(|_| !freshness.ttl.is_zero())?;
        let entry = find(entries, key)?;
        let now = timeline::now();
        let age = now.since(entry.fetched_at);
        if age > entry.refresh_after {
            return None;
        }
        let entry = self.answer(&entry, now, freshness)?.ok()?;
        self.stats.hits.incr();
        Some((entry, age))
    }

    /// What a cached entry may still answer at `now`: its value within the freshness limit, or
    /// its not-found within the negative TTL; `None` when it must be fetched again, as is
    /// everything stored before a restore (`timeline`), whatever its age.
    fn answer(
        &self,
        entry: &Arc<Entry>,
        now: Moment,
        freshness: Freshness,
    ) -> Option<Result<Arc<Entry>, AppError>> {
        if !now.same_epoch(entry.fetched_at) {
            return None;
        }
        let age = now.since(entry.fetched_at);
        match &entry.not_found {
            None if age <= freshness.limit_for(entry.ttl) => Some(Ok(entry.clone())),
            Some(error) if age <= self.negative_ttl.min(freshness.limit()) => {
                Some(Err(error.clone()))
            }
            _ => None,
        }
    }

    /// Where the invalidations stand, read before a batch read asks upstream.
    pub fn epoch(&self) -> Epoch {
        Epoch(self.invalidations.load(Ordering::Relaxed))
    }

    /// Stores a value fetched outside `get_or_fetch` (a batch read), as if fetched now, unless
    /// an invalidation happened since the read began (`since`): what it read may predate a write,
    /// so then it only answers its own request. Writes through sidecache are rare; a batch that
    /// crosses one caches nothing rather than telling which of its keys the write touched.
    pub fn insert(&self, key: CacheKey, entry: Entry, ttl: Duration, since: Epoch) -> Arc<Entry> {
        match self.entries.as_ref().filter(|_| !ttl.is_zero()) {
            Some(entries) => {
                let _inflight = self.inflight.lock().expect("inflight lock");
                if self.epoch() != since {
                    return Arc::new(self.stamped(entry, ttl));
                }
                self.store(entries, &key, entry, ttl)
            }
            None => Arc::new(entry),
        }
    }

    /// Counts requests answered by an upstream call made outside `get_or_fetch`.
    pub fn count_misses(&self, n: u64) {
        self.stats.misses.add(n);
    }

    /// Drops every entry whose key matches (S3 files go with their entries); returns how many.
    /// Fetches of those keys still in flight began before the write that asks for this: they
    /// keep answering the callers that joined them but store nothing, and later reads start
    /// fetches of their own (read-your-writes, docs/sdk.md).
    pub fn invalidate(&self, matches: impl Fn(&CacheKey) -> bool) -> u64 {
        {
            let mut inflight = self.inflight.lock().expect("inflight lock");
            self.invalidations.fetch_add(1, Ordering::Relaxed);
            inflight.retain(|key, flight| {
                let superseded = matches(key);
                if superseded {
                    flight.superseded.store(true, Ordering::Relaxed);
                }
                !superseded
            });
        }
        let Some(entries) = &self.entries else {
            return 0;
        };
        let mut keys = entries.keys();
        keys.retain(|k| matches(k));
        for key in &keys {
            entries.invalidate(key.as_ref());
        }
        entries.run_pending_tasks();
        keys.len() as u64
    }

    /// After a SnapStart restore: this cache's random share of every TTL is drawn again.
    pub fn restored(&self) {
        self.renewal.jitter.redraw(TtlJitter::random_seed());
    }

    pub fn bytes(&self) -> u64 {
        self.bytes.get()
    }

    pub fn evictions(&self) -> u64 {
        self.evictions.get()
    }

    pub fn enabled(&self) -> bool {
        self.entries.is_some()
    }
}

/// The entry that answers `key`, if any. A decrypting read also accepts a value stored without
/// decryption when that value is decryption-neutral (no SecureString in it), so one fetch serves
/// both spellings; a SecureString fetched without decryption (ciphertext) never answers a
/// decrypting read. The common spelling, without decryption, stays one lookup.
fn find(entries: &Entries, key: KeyView) -> Option<Arc<Entry>> {
    if let Some(entry) = entries.get(key) {
        return Some(entry);
    }
    if !key.decrypt {
        return None;
    }
    let plain = KeyView {
        decrypt: false,
        ..key
    };
    entries.get(plain).filter(|e| e.decryption_neutral)
}

/// moka bounds one total weight; the weigher and capacity that make it keep two bounds.
///
/// Weighing each entry as `max(size, u)` with `u = ceil(max_bytes / max_entries)` against a
/// capacity of `max_entries * u`: every entry weighs at least `u`, so at most `max_entries` fit
/// (exactly that many when all are small); and the sizes sum to at most the capacity, which
/// exceeds `max_bytes` by less than `max_entries` bytes. Bytes alone: weight = size, exact.
/// Returns (capacity, minimum weight).
fn weights(max_entries: Option<u64>, max_bytes: u64) -> (u64, u64) {
    match max_entries {
        None => (max_bytes, 1),
        Some(n) => {
            let unit = max_bytes.div_ceil(n).max(1);
            (n.saturating_mul(unit), unit)
        }
    }
}

#[cfg(test)]
mod tests;
