//! Every request's outcome: counts and latencies per interface and per minute, errors by
//! cause, and every wrong answer with its details.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::check::Cache;

/// The interfaces whose latencies are reported, then the other kinds of request the soak makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Iface {
    /// The GET endpoints on the main port (parameters, secrets, `/s3/get`).
    Get,
    /// AWS JSON 1.1 reads by the SDK (signed).
    Sdk,
    /// S3's REST API by the SDK (signed): GetObject (ranges, conditions), HeadObject.
    S3,
    /// The AppConfig Agent's route.
    AppConfig,
    /// Writes by the SDK through sidecache (forwarded).
    SdkWrite,
    /// `POST /cache/invalidate`.
    Invalidate,
    /// Misbehaving clients.
    Misbehave,
}

pub const IFACES: [Iface; 7] = [
    Iface::Get,
    Iface::Sdk,
    Iface::S3,
    Iface::AppConfig,
    Iface::SdkWrite,
    Iface::Invalidate,
    Iface::Misbehave,
];

/// The interfaces whose latency is a figure of the report.
pub const TIMED: [Iface; 4] = [Iface::Get, Iface::Sdk, Iface::S3, Iface::AppConfig];

impl Iface {
    pub fn label(self) -> &'static str {
        match self {
            Iface::Get => "GET endpoints",
            Iface::Sdk => "SDK JSON 1.1",
            Iface::S3 => "S3 REST",
            Iface::AppConfig => "AppConfig agent",
            Iface::SdkWrite => "SDK writes (forwarded)",
            Iface::Invalidate => "invalidations",
            Iface::Misbehave => "misbehaving clients",
        }
    }

    pub fn short(self) -> &'static str {
        match self {
            Iface::Get => "get",
            Iface::Sdk => "sdk",
            Iface::S3 => "s3",
            Iface::AppConfig => "appconfig",
            Iface::SdkWrite => "sdk-write",
            Iface::Invalidate => "invalidate",
            Iface::Misbehave => "misbehave",
        }
    }

    fn index(self) -> usize {
        IFACES.iter().position(|i| *i == self).unwrap()
    }
}

/// How one request ended.
pub enum Outcome {
    /// A correct answer.
    Ok(Cache),
    /// An answer whose value is wrong.
    Wrong(String),
    /// No answer, or an error answer. `cause` groups (e.g. `502 UpstreamUnreachable`),
    /// `explained` names the injected fault or misbehaviour that explains it (None: a bug).
    Error {
        cause: String,
        explained: Option<String>,
        detail: String,
    },
    /// A correct answer that is stale while no fault explains it.
    UnexplainedStale(String),
}

#[derive(Default, Clone)]
pub struct Minute {
    pub requests: [u64; 7],
    pub errors: [u64; 7],
    pub unexplained: [u64; 7],
    pub wrong: [u64; 7],
    /// Latencies in microseconds, per timed interface.
    pub latencies: [Vec<u32>; 4],
    /// Reads of parameters and secrets answered later than the upstream timeout allows.
    pub slow: u64,
}

#[derive(Clone)]
pub struct Wrong {
    pub at: f64,
    pub iface: Iface,
    pub op: String,
    pub detail: String,
}

#[derive(Default)]
struct State {
    minutes: Vec<Minute>,
    requests: [u64; 7],
    ok: [u64; 7],
    caches: BTreeMap<(Iface, Cache), u64>,
    /// (interface, cause, explanation or "UNEXPLAINED") -> (count, first detail).
    errors: BTreeMap<(Iface, String, String), (u64, String)>,
    wrong: Vec<Wrong>,
    wrong_total: u64,
    /// Per-op request counts.
    ops: BTreeMap<(Iface, String), u64>,
    /// Misbehaviour notes (e.g. how long a stalled connection stayed open), by kind.
    notes: BTreeMap<String, Vec<f64>>,
    slow: Vec<Slow>,
    slow_total: u64,
}

pub struct Recorder {
    t0: Instant,
    /// A read of a parameter or secret answered later than this is slow: past the upstream
    /// timeout, a read gets the value, a stale one or an error.
    slow_after: Duration,
    state: Mutex<State>,
}

/// A read answered later than the upstream timeout allows.
#[derive(Clone)]
pub struct Slow {
    pub at: f64,
    pub iface: Iface,
    pub op: String,
    pub seconds: f64,
}

pub const UNEXPLAINED: &str = "UNEXPLAINED";
const KEEP_WRONG: usize = 200;

pub struct Totals {
    pub requests: [u64; 7],
    pub ok: [u64; 7],
    pub caches: BTreeMap<(Iface, Cache), u64>,
    pub errors: BTreeMap<(Iface, String, String), (u64, String)>,
    pub wrong: Vec<Wrong>,
    pub wrong_total: u64,
    pub ops: BTreeMap<(Iface, String), u64>,
    pub notes: BTreeMap<String, Vec<f64>>,
    pub minutes: Vec<Minute>,
    pub slow: Vec<Slow>,
    pub slow_total: u64,
}

impl Recorder {
    pub fn new(t0: Instant, slow_after: Duration) -> Self {
        Recorder {
            t0,
            slow_after,
            state: Mutex::default(),
        }
    }

    pub fn record(&self, iface: Iface, op: &str, r0: Instant, r1: Instant, outcome: Outcome) {
        let minute = r1.saturating_duration_since(self.t0).as_secs() as usize / 60;
        let micros = r1
            .saturating_duration_since(r0)
            .as_micros()
            .min(u32::MAX as u128) as u32;
        let at = r1.saturating_duration_since(self.t0).as_secs_f64();
        let i = iface.index();
        let mut s = self.state.lock().unwrap();
        if s.minutes.len() <= minute {
            s.minutes.resize(minute + 1, Minute::default());
        }
        s.requests[i] += 1;
        *s.ops.entry((iface, op.to_owned())).or_default() += 1;
        // Single reads of parameters and secrets (not S3, not the paged by-path, which is several
        // requests): bounded by the upstream timeout.
        let elapsed = r1.saturating_duration_since(r0);
        if matches!(iface, Iface::Get | Iface::Sdk)
            && !op.starts_with("s3/")
            && !op.contains("paged")
            && elapsed > self.slow_after
        {
            s.slow_total += 1;
            s.minutes[minute].slow += 1;
            if s.slow.len() < KEEP_WRONG {
                s.slow.push(Slow {
                    at,
                    iface,
                    op: op.to_owned(),
                    seconds: elapsed.as_secs_f64(),
                });
            }
        }
        let m = &mut s.minutes[minute];
        m.requests[i] += 1;
        if let Some(t) = TIMED.iter().position(|t| *t == iface) {
            m.latencies[t].push(micros);
        }
        match outcome {
            Outcome::Ok(cache) => {
                s.ok[i] += 1;
                *s.caches.entry((iface, cache)).or_default() += 1;
            }
            Outcome::UnexplainedStale(detail) => {
                s.ok[i] += 1;
                *s.caches.entry((iface, Cache::Stale)).or_default() += 1;
                s.minutes[minute].unexplained[i] += 1;
                let e = s
                    .errors
                    .entry((iface, format!("200 stale ({op})"), UNEXPLAINED.to_owned()))
                    .or_insert((0, detail));
                e.0 += 1;
            }
            Outcome::Wrong(detail) => {
                s.minutes[minute].wrong[i] += 1;
                s.wrong_total += 1;
                eprintln!(
                    "soak: WRONG ANSWER at {at:.1}s {} {op}: {detail}",
                    iface.short()
                );
                if s.wrong.len() < KEEP_WRONG {
                    s.wrong.push(Wrong {
                        at,
                        iface,
                        op: op.to_owned(),
                        detail,
                    });
                }
            }
            Outcome::Error {
                cause,
                explained,
                detail,
            } => {
                s.minutes[minute].errors[i] += 1;
                if explained.is_none() {
                    s.minutes[minute].unexplained[i] += 1;
                    eprintln!(
                        "soak: unexplained error at {at:.1}s {} {op}: {cause}: {detail}",
                        iface.short()
                    );
                }
                let key = (
                    iface,
                    format!("{cause} ({op})"),
                    explained.unwrap_or_else(|| UNEXPLAINED.to_owned()),
                );
                let e = s.errors.entry(key).or_insert((0, detail));
                e.0 += 1;
            }
        }
    }

    /// A measurement about misbehaviour (seconds), summarised in the report.
    pub fn note(&self, kind: &str, value: f64) {
        self.state
            .lock()
            .unwrap()
            .notes
            .entry(kind.to_owned())
            .or_default()
            .push(value);
    }

    /// Requests recorded in minute `m` (for progress lines).
    pub fn minute(&self, m: usize) -> Minute {
        self.state
            .lock()
            .unwrap()
            .minutes
            .get(m)
            .cloned()
            .unwrap_or_default()
    }

    pub fn totals(&self) -> Totals {
        let s = self.state.lock().unwrap();
        Totals {
            requests: s.requests,
            ok: s.ok,
            caches: s.caches.clone(),
            errors: s.errors.clone(),
            wrong: s.wrong.clone(),
            wrong_total: s.wrong_total,
            ops: s.ops.clone(),
            notes: s.notes.clone(),
            minutes: s.minutes.clone(),
            slow: s.slow.clone(),
            slow_total: s.slow_total,
        }
    }
}

/// The `p`-th percentile (0..=100) of `values` in milliseconds.
pub fn percentile_ms(values: &[u32], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    Some(f64::from(sorted[rank]) / 1000.0)
}
