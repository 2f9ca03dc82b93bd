//! CloudWatch Embedded Metric Format (EMF) lines on stdout (`SIDECACHE_METRICS=emf`).
//!
//! Lambda sends stdout to CloudWatch Logs, which turns EMF lines into metrics with no API call
//! and no agent. Each line holds the counts since the previous one: Hits, Misses, Stale,
//! UpstreamCalls, UpstreamErrors, Throttles. Nothing else: no name, no value.
//!
//! When: at most once a minute, written by the first request after the minute has passed, and
//! once at shutdown. Lambda freezes the process between invocations, so a timer cannot be
//! trusted to write on time; it only raises a flag (late after a freeze, which is fine), and the
//! request path reads that flag: one relaxed atomic load and compare, nothing more.

use crate::stats::Stats;
use serde::Serialize;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Shortest interval between two lines (shutdown aside).
const INTERVAL: Duration = Duration::from_secs(60);
const NAMES: [&str; 6] = [
    "Hits",
    "Misses",
    "Stale",
    "UpstreamCalls",
    "UpstreamErrors",
    "Throttles",
];

/// Totals at one moment, in the order of `NAMES`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Totals([u64; 6]);

impl Totals {
    fn of(stats: &Stats) -> Self {
        let services = [&stats.ssm, &stats.secrets_manager, &stats.s3];
        let sum =
            |f: fn(&crate::stats::UpstreamCounters) -> u64| services.iter().map(|c| f(c)).sum();
        Totals([
            stats.hits.get(),
            stats.misses.get(),
            stats.stale.get(),
            sum(|c| c.calls.get()),
            sum(|c| c.errors.get()),
            sum(|c| c.throttles.get()),
        ])
    }

    fn since(&self, earlier: &Totals) -> Totals {
        Totals(std::array::from_fn(|i| {
            self.0[i].saturating_sub(earlier.0[i])
        }))
    }
}

#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "_aws")]
    aws: Aws<'a>,
    #[serde(rename = "FunctionName", skip_serializing_if = "Option::is_none")]
    function_name: Option<&'a str>,
    #[serde(rename = "Hits")]
    hits: u64,
    #[serde(rename = "Misses")]
    misses: u64,
    #[serde(rename = "Stale")]
    stale: u64,
    #[serde(rename = "UpstreamCalls")]
    upstream_calls: u64,
    #[serde(rename = "UpstreamErrors")]
    upstream_errors: u64,
    #[serde(rename = "Throttles")]
    throttles: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Aws<'a> {
    /// Milliseconds since the epoch.
    timestamp: u64,
    #[serde(rename = "CloudWatchMetrics")]
    cloudwatch_metrics: [Directive<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Directive<'a> {
    namespace: &'a str,
    /// `[["FunctionName"]]` inside Lambda, else one empty set (metrics without dimensions).
    dimensions: [&'a [&'a str]; 1],
    metrics: Vec<MetricName>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MetricName {
    name: &'static str,
    unit: &'static str,
}

/// Writes EMF lines; when off, every method does nothing.
pub struct Metrics {
    enabled: bool,
    namespace: String,
    function_name: Option<String>,
    due: AtomicBool,
    stats: Arc<Stats>,
    /// Totals at the previous line, and where lines go (stdout; a buffer in tests).
    written: Mutex<(Totals, Box<dyn Write + Send>)>,
}

impl Metrics {
    pub fn new(
        enabled: bool,
        namespace: String,
        function_name: Option<String>,
        stats: Arc<Stats>,
        out: Box<dyn Write + Send>,
    ) -> Self {
        Metrics {
            enabled,
            namespace,
            function_name,
            due: AtomicBool::new(false),
            stats,
            written: Mutex::new((Totals::default(), out)),
        }
    }

    /// Raises the "a minute has passed" flag every minute. A timer stalls while Lambda has the
    /// process frozen; it then fires late, and the next request writes.
    pub fn start_clock(self: &Arc<Self>) {
        if !self.enabled {
            return;
        }
        let metrics = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(metrics) = metrics.upgrade() else {
                    return;
                };
                metrics.due.store(true, Relaxed);
            }
        });
    }

    /// Called by every request: writes a line when a minute has passed since the last one.
    #[inline]
    pub fn on_request(&self) {
        if self.due.load(Relaxed) {
            self.write_line();
        }
    }

    /// Writes the counts since the previous line now (at shutdown).
    pub fn flush(&self) {
        if self.enabled {
            self.write_line();
        }
    }

    #[cold]
    fn write_line(&self) {
        self.due.store(false, Relaxed);
        let Ok(mut written) = self.written.lock() else {
            return;
        };
        let now = Totals::of(&self.stats);
        let counts = now.since(&written.0);
        written.0 = now;
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let dimensions: &[&str] = match self.function_name {
            Some(_) => &["FunctionName"],
            None => &[],
        };
        let [hits, misses, stale, upstream_calls, upstream_errors, throttles] = counts.0;
        let line = Line {
            aws: Aws {
                timestamp,
                cloudwatch_metrics: [Directive {
                    namespace: &self.namespace,
                    dimensions: [dimensions],
                    metrics: NAMES
                        .iter()
                        .map(|&name| MetricName {
                            name,
                            unit: "Count",
                        })
                        .collect(),
                }],
            },
            function_name: self.function_name.as_deref(),
            hits,
            misses,
            stale,
            upstream_calls,
            upstream_errors,
            throttles,
        };
        let Ok(mut json) = serde_json::to_vec(&line) else {
            return;
        };
        json.push(b'\n');
        // One write call per line, so it is not interleaved with log lines.
        let out = &mut written.1;
        if out.write_all(&json).and_then(|()| out.flush()).is_err() {
            tracing::debug!("could not write the metrics line");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` whose bytes the test can read.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines(out: &Captured) -> Vec<serde_json::Value> {
        String::from_utf8(out.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn lines_hold_counts_since_the_previous_line() {
        let stats = Arc::new(Stats::default());
        let out = Captured::default();
        let metrics = Metrics::new(
            true,
            "ns".into(),
            Some("fn".into()),
            stats.clone(),
            Box::new(out.clone()),
        );
        stats.hits.add(3);
        stats.misses.incr();
        stats.ssm.calls.add(2);
        stats.secrets_manager.calls.incr();
        stats.ssm.errors.incr();
        stats.ssm.throttles.incr();
        // Not due yet: a request writes nothing.
        metrics.on_request();
        assert!(lines(&out).is_empty());
        metrics.due.store(true, Relaxed);
        metrics.on_request();
        metrics.on_request();
        stats.hits.add(2);
        metrics.flush();
        let lines = lines(&out);
        assert_eq!(lines.len(), 2, "{lines:?}");
        let first = &lines[0];
        let directive = &first["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "ns");
        assert_eq!(
            directive["Dimensions"],
            serde_json::json!([["FunctionName"]])
        );
        assert_eq!(directive["Metrics"].as_array().unwrap().len(), 6);
        assert!(first["_aws"]["Timestamp"].as_u64().unwrap() > 1_600_000_000_000);
        assert_eq!(first["FunctionName"], "fn");
        for (name, count) in [
            ("Hits", 3),
            ("Misses", 1),
            ("Stale", 0),
            ("UpstreamCalls", 3),
            ("UpstreamErrors", 1),
            ("Throttles", 1),
        ] {
            assert_eq!(first[name], count, "{name}");
        }
        assert_eq!(lines[1]["Hits"], 2);
        assert_eq!(lines[1]["UpstreamCalls"], 0);
    }

    #[test]
    fn off_writes_nothing() {
        let out = Captured::default();
        let metrics = Metrics::new(
            false,
            "ns".into(),
            None,
            Arc::new(Stats::default()),
            Box::new(out.clone()),
        );
        metrics.on_request();
        metrics.flush();
        assert!(lines(&out).is_empty());
    }
}
