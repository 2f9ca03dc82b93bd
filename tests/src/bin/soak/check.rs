//! The model of what upstream held when, and the checker every answer goes through.
//!
//! Each parameter, secret, S3 object and AppConfig profile has a history of versions, each
//! written by the soak at a known time (`start`..`end` of the write call). A version "may have
//! been current" from the start of its write until the end of the next write that certainly
//! landed; a failed write may or may not have landed, so it stays a candidate and does not end
//! its predecessor. An answer is correct when it is a version of the name asked that may have
//! been current at some instant of the window sidecache is allowed to serve from:
//! - a hit (or a stale answer) with `Age: a`: from `a + 1` s before the request;
//! - a miss or refresh: from the request's start (less a joined flight's head start);
//! - a batch (`get-many`, GetParameters, BatchGetSecretValue), whose entries have no `Age`:
//!   from TTL + 1 s before the request;
//! - AppConfig: the poll interval plus the poll timeout; a stale configuration from the start
//!   of the AppConfig fault that excuses it;
//!
//! each less a slack of 1.5 s plus the longest latency injected around the request (a fetch
//! reads upstream after the latency, and stamps its time around it). Two floors come on top:
//! - read-your-writes: after a write through sidecache completed, no older version;
//! - after an invalidation completed, no value already superseded when it began.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::content;
use crate::faults::{self, Up};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Param,
    Secret,
    Object,
    Config,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteState {
    Pending,
    Ok,
    /// The call failed: the write may or may not have landed.
    Failed,
}

#[derive(Clone, Debug)]
pub struct Version {
    pub n: u32,
    pub nonce: u64,
    pub start: Instant,
    pub end: Option<Instant>,
    pub state: WriteState,
    pub via_sidecache: bool,
    /// S3: the ETag moto answered the upload with.
    pub etag: Option<String>,
    /// S3: the object's size.
    pub size: u64,
}

#[derive(Clone, Copy, Debug)]
struct Invalidation {
    start: Instant,
    end: Instant,
    /// `all=true` (by-path trees dropped too).
    all: bool,
}

pub struct Item {
    pub kind: Kind,
    pub versions: Vec<Version>,
    /// S3: the first version's size (`content::object_size`).
    pub base_size: u64,
    invalidations: VecDeque<Invalidation>,
}

/// Lifetimes sidecache runs with.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub ttl: Duration,
    pub s3_ttl: Duration,
    pub stale_if_error: Duration,
    pub ac_interval: Duration,
    pub ac_timeout: Duration,
    pub upstream_timeout: Duration,
}

/// `X-Cache`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cache {
    Hit,
    Miss,
    Refresh,
    Stale,
    Absent,
}

impl Cache {
    pub fn parse(header: Option<&str>) -> Cache {
        match header {
            Some("hit") => Cache::Hit,
            Some("miss") => Cache::Miss,
            Some("refresh") => Cache::Refresh,
            Some("stale") => Cache::Stale,
            _ => Cache::Absent,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Cache::Hit => "hit",
            Cache::Miss => "miss",
            Cache::Refresh => "refresh",
            Cache::Stale => "stale",
            Cache::Absent => "-",
        }
    }
}

/// How an answer holds its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One cached entry with its `X-Cache` and `Age`.
    Single,
    /// Several entries, each its own age, none given.
    Batch,
    /// A by-path tree: one entry, not dropped by a single name's invalidation.
    Tree,
}

/// What the checker knows of one answer.
#[derive(Clone, Copy, Debug)]
pub struct Seen {
    pub r0: Instant,
    pub r1: Instant,
    pub cache: Cache,
    pub age: Option<u64>,
    pub shape: Shape,
}

/// An error answer's family, to match it with the faults that may cause it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Timeout,
    Throttle,
    Server,
    Other,
}

impl Family {
    pub fn of(status: Option<u16>, code: &str) -> Family {
        let code = code.to_ascii_lowercase();
        // sidecache's own disk, never an upstream fault's doing.
        if code.contains("storageerror") || code.contains("insufficientstorage") {
            return Family::Other;
        }
        if status == Some(504) || code.contains("timeout") {
            Family::Timeout
        } else if status == Some(429)
            || code.contains("throttl")
            || code.contains("slowdown")
            || code.contains("toomanyrequests")
        {
            Family::Throttle
        } else if status.is_some_and(|s| (500..600).contains(&s)) {
            Family::Server
        } else {
            Family::Other
        }
    }
}

/// Where a request went: which upstream its errors can come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upstream {
    /// SSM or Secrets Manager through the GET endpoints.
    Values,
    /// SSM or Secrets Manager through the JSON 1.1 API (a timeout may answer a 5xx).
    ValuesJson,
    /// S3 (no timeout configured).
    S3,
    AppConfig,
}

pub struct Model {
    items: Mutex<HashMap<String, Item>>,
    faults: Arc<faults::Log>,
    pub timing: Timing,
    pub t0: Instant,
}

const SLACK: Duration = Duration::from_millis(1500);
/// How long before a request a flight it joined (or a fault that failed it) may have begun.
const LOOKBEHIND: Duration = Duration::from_secs(5);

impl Model {
    pub fn new(faults: Arc<faults::Log>, timing: Timing, t0: Instant) -> Self {
        Model {
            items: Mutex::default(),
            faults,
            timing,
            t0,
        }
    }

    /// Seconds since the soak began, for messages.
    pub fn at(&self, t: Instant) -> String {
        format!("{:.2}s", t.saturating_duration_since(self.t0).as_secs_f64())
    }

    pub fn add(&self, name: &str, kind: Kind, base_size: u64) {
        self.items.lock().unwrap().insert(
            name.to_owned(),
            Item {
                kind,
                versions: Vec::new(),
                base_size,
                invalidations: VecDeque::new(),
            },
        );
    }

    /// A write begins: its version number, nonce and (S3) size.
    pub fn begin_write(&self, name: &str, via_sidecache: bool, nonce: u64) -> (u32, u64) {
        let mut items = self.items.lock().unwrap();
        let item = items.get_mut(name).expect("known name");
        let n = item.versions.len() as u32;
        let size = content::object_size(item.base_size, n);
        item.versions.push(Version {
            n,
            nonce,
            start: Instant::now(),
            end: None,
            state: WriteState::Pending,
            via_sidecache,
            etag: None,
            size,
        });
        (n, size)
    }

    pub fn finish_write(&self, name: &str, n: u32, ok: bool, etag: Option<String>) {
        let mut items = self.items.lock().unwrap();
        let version = &mut items.get_mut(name).expect("known name").versions[n as usize];
        version.end = Some(Instant::now());
        version.state = if ok {
            WriteState::Ok
        } else {
            WriteState::Failed
        };
        version.etag = etag;
    }

    /// Records an invalidation that took effect between `start` and `end` for every name
    /// `matches` accepts.
    pub fn invalidated(
        &self,
        start: Instant,
        end: Instant,
        all: bool,
        matches: impl Fn(&str, Kind) -> bool,
    ) {
        let mut items = self.items.lock().unwrap();
        for (name, item) in items.iter_mut() {
            if all || matches(name, item.kind) {
                item.invalidations
                    .push_back(Invalidation { start, end, all });
                if item.invalidations.len() > 8 {
                    item.invalidations.pop_front();
                }
            }
        }
    }

    /// The latest version (for writers and messages).
    pub fn latest(&self, name: &str) -> Option<Version> {
        self.items
            .lock()
            .unwrap()
            .get(name)
            .and_then(|i| i.versions.last().cloned())
    }

    pub fn version(&self, name: &str, n: u32) -> Option<Version> {
        self.items
            .lock()
            .unwrap()
            .get(name)
            .and_then(|i| i.versions.get(n as usize).cloned())
    }

    fn slack(&self, seen: &Seen) -> Duration {
        SLACK
            + self.faults.up_latency(
                seen.r0
                    .checked_sub(Duration::from_secs(20))
                    .unwrap_or(seen.r0),
                seen.r1,
            )
    }

    fn ttl(&self, kind: Kind) -> Duration {
        match kind {
            Kind::Object => self.timing.s3_ttl,
            _ => self.timing.ttl,
        }
    }

    /// The window's start for an answer of `kind`, before the floors.
    fn lower(&self, kind: Kind, seen: &Seen) -> Instant {
        let slack = self.slack(seen);
        let ttl = self.ttl(kind);
        let back = match (seen.shape, seen.cache, seen.age) {
            (Shape::Batch, _, _) => ttl + Duration::from_secs(1),
            (_, _, Some(age)) => Duration::from_secs(age + 1),
            (_, Cache::Miss | Cache::Refresh, None) => Duration::ZERO,
            (_, Cache::Stale, None) => ttl + self.timing.stale_if_error + Duration::from_secs(1),
            (_, _, None) => ttl + Duration::from_secs(1),
        };
        sub(seen.r0, back + slack)
    }

    /// Checks `Age` against the TTL (and stale-if-error): an entry served past them is wrong
    /// whatever its value.
    fn check_age(&self, kind: Kind, seen: &Seen) -> Result<(), String> {
        let (Some(age), Shape::Single | Shape::Tree) = (seen.age, seen.shape) else {
            return Ok(());
        };
        let ttl = self.ttl(kind).as_secs();
        let limit = match seen.cache {
            Cache::Hit => ttl + 1,
            Cache::Stale => ttl + self.timing.stale_if_error.as_secs() + 1,
            _ => return Ok(()),
        };
        if age > limit {
            return Err(format!(
                "[age] X-Cache: {} with Age {age} s, beyond the allowed {limit} s",
                seen.cache.label()
            ));
        }
        Ok(())
    }

    /// Checks a parameter's or secret's value.
    pub fn check_value(&self, name: &str, got: &str, seen: &Seen) -> Result<u32, String> {
        let items = self.items.lock().unwrap();
        let item = items
            .get(name)
            .ok_or_else(|| format!("asked an unknown name {name}"))?;
        self.check_age(item.kind, seen)?;
        let Some((of, n, nonce)) = content::parse(got) else {
            return Err(format!(
                "[not written] {name}: got {got:?}, not a value the soak wrote"
            ));
        };
        if of != name {
            return Err(format!(
                "[other name] {name}: got the value of another name: {got:?}"
            ));
        }
        let Some(version) = item.versions.get(n as usize) else {
            return Err(format!(
                "[not written] {name}: got v{n}, never written ({got:?})"
            ));
        };
        if version.nonce != nonce {
            return Err(format!(
                "[not written] {name}: got v{n} with a nonce never written ({got:?})"
            ));
        }
        let lower = self.floored(item, seen, self.lower(item.kind, seen));
        self.in_window(name, item, n, lower, seen)?;
        Ok(n)
    }

    /// Checks an AppConfig configuration's version label.
    pub fn check_config(&self, name: &str, got: &str, seen: &Seen) -> Result<u32, String> {
        let items = self.items.lock().unwrap();
        let item = items
            .get(name)
            .ok_or_else(|| format!("asked an unknown profile {name}"))?;
        let Some((of, n, nonce)) = content::parse(got) else {
            return Err(format!(
                "[not written] {name}: got {got:?}, not a configuration the soak deployed"
            ));
        };
        let version = item.versions.get(n as usize);
        if of != name || version.is_none_or(|v| v.nonce != nonce) {
            return Err(format!(
                "[not written] {name}: got {got:?}, never deployed for it"
            ));
        }
        let look = sub(seen.r0, Duration::from_secs(20));
        let slack = self.timing.ac_interval
            + self.timing.ac_timeout
            + self.faults.ac_latency(look, seen.r1)
            + SLACK;
        let from = match seen.cache {
            Cache::Stale => self
                .faults
                .ac_fault_since(sub(seen.r0, slack), seen.r1)
                .unwrap_or(seen.r0),
            _ => seen.r0,
        };
        self.in_window(name, item, n, sub(from, slack), seen)?;
        Ok(n)
    }

    /// Checks S3 metadata (ETag, size) against the versions the window allows.
    pub fn check_object_meta(
        &self,
        key: &str,
        etag: Option<&str>,
        size: Option<u64>,
        seen: &Seen,
    ) -> Result<u32, String> {
        self.check_object(key, None, etag, size, seen)
    }

    /// Checks S3 bytes (`body` at `offset`), with the ETag and full size when the answer gave
    /// them: some version the window allows must match all of them.
    pub fn check_object(
        &self,
        key: &str,
        body: Option<(u64, &[u8])>,
        etag: Option<&str>,
        size: Option<u64>,
        seen: &Seen,
    ) -> Result<u32, String> {
        let items = self.items.lock().unwrap();
        let item = items
            .get(key)
            .ok_or_else(|| format!("asked an unknown object {key}"))?;
        self.check_age(item.kind, seen)?;
        let lower = self.floored(item, seen, self.lower(item.kind, seen));
        let floor = ryw_floor(item, seen.r0);
        let etag = etag.map(|e| e.trim_matches('"'));
        let matches = |v: &Version| {
            let etag_ok = match (etag, &v.etag) {
                (Some(got), Some(want)) => got == want.trim_matches('"'),
                _ => true,
            };
            let size_ok = size.is_none_or(|s| s == v.size);
            let body_ok = body.is_none_or(|(offset, bytes)| {
                bytes
                    == content::object_bytes(key, v.n, v.nonce, v.size, offset, bytes.len() as u64)
            });
            etag_ok && size_ok && body_ok
        };
        let mut candidates = Vec::new();
        for v in &item.versions {
            if v.n >= floor && possible(item, v.n, lower, seen.r1) {
                if matches(v) {
                    return Ok(v.n);
                }
                candidates.push(v.n);
            }
        }
        // Wrong: say which version it was, if any.
        let which = item
            .versions
            .iter()
            .filter(|v| matches(v))
            .map(|v| format!("v{}", v.n))
            .collect::<Vec<_>>();
        let which = if which.is_empty() {
            "no version the soak wrote".to_owned()
        } else {
            format!("{} (outside the window)", which.join(","))
        };
        let tag = if which.contains("outside the window") {
            "[too old]"
        } else {
            "[not written]"
        };
        Err(format!(
            "{tag} {key}: {} answered (etag {etag:?}, size {size:?}, {} bytes at {}) matches {which}; \
             allowed: {} from {} (read-your-writes floor v{floor}); {}",
            seen.cache.label(),
            body.map(|b| b.1.len()).unwrap_or(0),
            body.map(|b| b.0).unwrap_or(0),
            fmt_versions(&candidates),
            self.at(lower),
            self.history(item, lower, seen)
        ))
    }

    /// The window's start raised by the invalidation floor.
    fn floored(&self, item: &Item, seen: &Seen, lower: Instant) -> Instant {
        let slack = self.slack(seen);
        item.invalidations
            .iter()
            .filter(|i| i.end < seen.r0 && (seen.shape != Shape::Tree || i.all))
            .map(|i| sub(i.start, slack))
            .fold(lower, Instant::max)
    }

    fn in_window(
        &self,
        name: &str,
        item: &Item,
        n: u32,
        lower: Instant,
        seen: &Seen,
    ) -> Result<(), String> {
        let floor = ryw_floor(item, seen.r0);
        if n < floor {
            return Err(format!(
                "[read-your-writes] {name}: {} (Age {:?}) answered v{n}, older than v{floor} written through \
                 sidecache (completed at {}) before the request ({}); {}",
                seen.cache.label(),
                seen.age,
                self.at(item.versions[floor as usize].end.unwrap_or(seen.r0)),
                self.at(seen.r0),
                self.history(item, lower, seen)
            ));
        }
        if !possible(item, n, lower, seen.r1) {
            // Without the invalidation floor, would it have passed?
            let unfloored = self.lower(item.kind, seen);
            let tag = if item.kind != Kind::Config && possible(item, n, unfloored, seen.r1) {
                "[after invalidation]"
            } else {
                "[too old]"
            };
            return Err(format!(
                "{tag} {name}: {} (Age {:?}) answered v{n}, not current at any time in [{}, {}]; {}",
                seen.cache.label(),
                seen.age,
                self.at(lower),
                self.at(seen.r1),
                self.history(item, lower, seen)
            ));
        }
        Ok(())
    }

    /// The versions around the window, for messages.
    fn history(&self, item: &Item, lower: Instant, seen: &Seen) -> String {
        let around = sub(lower, Duration::from_secs(60));
        let mut parts: Vec<String> = item
            .versions
            .iter()
            .filter(|v| v.end.is_none_or(|e| e >= around))
            .map(|v| {
                format!(
                    "v{} {:?}{} {}..{}",
                    v.n,
                    v.state,
                    if v.via_sidecache {
                        " via sidecache"
                    } else {
                        ""
                    },
                    self.at(v.start),
                    v.end.map(|e| self.at(e)).unwrap_or_else(|| "?".into())
                )
            })
            .collect();
        if parts.len() > 8 {
            parts.drain(..parts.len() - 8);
        }
        let invalidations: Vec<String> = item
            .invalidations
            .iter()
            .filter(|i| i.end >= around)
            .map(|i| format!("{}..{}", self.at(i.start), self.at(i.end)))
            .collect();
        format!(
            "request {}..{}; writes: {}; invalidations: [{}]",
            self.at(seen.r0),
            self.at(seen.r1),
            parts.join(", "),
            invalidations.join(", ")
        )
    }

    /// Whether a stale answer of SSM, Secrets Manager or S3 at `[r0, r1]` is explained by an
    /// upstream fault (a latency short of the timeout explains nothing).
    pub fn stale_explained(&self, r0: Instant, r1: Instant) -> Option<String> {
        self.faults
            .overlapping(sub(r0, LOOKBEHIND), r1)
            .into_iter()
            .find(|p| match p.up {
                Up::Calm => false,
                Up::Latency(ms) => Duration::from_millis(ms) >= self.timing.upstream_timeout,
                _ => true,
            })
            .map(|p| p.up.label())
    }

    /// Whether a stale AppConfig answer at `[r0, r1]` is explained by an AppConfig fault.
    pub fn ac_stale_explained(&self, r0: Instant, r1: Instant) -> bool {
        let slack = self.timing.ac_interval + self.timing.ac_timeout + SLACK;
        self.faults.ac_fault_since(sub(r0, slack), r1).is_some()
    }

    /// The fault that explains an error answer of `family` at `[r0, r1]`, if one does.
    pub fn explain(
        &self,
        to: Upstream,
        family: Family,
        r0: Instant,
        r1: Instant,
    ) -> Option<String> {
        let phases = self.faults.overlapping(sub(r0, LOOKBEHIND), r1);
        if to == Upstream::AppConfig {
            return phases
                .iter()
                .rev()
                .find(|p| p.ac.excuses() && family != Family::Other)
                .map(|p| format!("AppConfig {}", p.ac.label()));
        }
        // The latest phase first: the one the request most likely met.
        phases
            .iter()
            .rev()
            .find(|p| match p.up {
                Up::Calm => false,
                Up::Latency(ms) => {
                    Duration::from_millis(ms) >= self.timing.upstream_timeout
                        && to != Upstream::S3
                        && (family == Family::Timeout
                            || (to == Upstream::ValuesJson && family == Family::Server))
                }
                // sidecache's SDK retries these with backoff: the budget may run out first.
                Up::Status500 | Up::Flap | Up::Refuse => {
                    family == Family::Server || family == Family::Timeout
                }
                Up::Throttle => {
                    family == Family::Throttle
                        || family == Family::Timeout
                        || (to == Upstream::S3 && family == Family::Server)
                }
            })
            .map(|p| format!("upstream {}", p.up.label()))
    }
}

fn sub(t: Instant, d: Duration) -> Instant {
    t.checked_sub(d).unwrap_or(t)
}

/// The oldest version a read starting at `r0` may see: the latest write through sidecache
/// that completed before it.
fn ryw_floor(item: &Item, r0: Instant) -> u32 {
    item.versions
        .iter()
        .filter(|v| v.via_sidecache && v.state == WriteState::Ok && v.end.is_some_and(|e| e < r0))
        .map(|v| v.n)
        .max()
        .unwrap_or(0)
}

/// Whether version `n` may have been current at some instant of `[a, b]`.
fn possible(item: &Item, n: u32, a: Instant, b: Instant) -> bool {
    let v = &item.versions[n as usize];
    if v.start > b {
        return false;
    }
    let superseded = item.versions[n as usize + 1..]
        .iter()
        .find(|w| w.state == WriteState::Ok)
        .and_then(|w| w.end);
    superseded.is_none_or(|s| s >= a)
}

fn fmt_versions(ns: &[u32]) -> String {
    if ns.is_empty() {
        return "none".into();
    }
    ns.iter()
        .map(|n| format!("v{n}"))
        .collect::<Vec<_>>()
        .join(",")
}
