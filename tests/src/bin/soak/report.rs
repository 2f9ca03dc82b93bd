//! The soak's report (Markdown), and its verdict.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::check::Cache;
use crate::faults::Phase;
use crate::record::{percentile_ms, Totals, IFACES, TIMED, UNEXPLAINED};
use crate::{Options, Sample};

pub struct Report<'a> {
    pub opts: &'a Options,
    pub binary: &'a Path,
    pub settings: &'a [(String, String)],
    pub t0: Instant,
    pub elapsed: Duration,
    pub phase_len: Duration,
    pub phases: Vec<Phase>,
    pub totals: Totals,
    pub samples: &'a [Sample],
    pub last: &'a Sample,
    /// After sidecache's idle timeout closed the pooled client connections.
    pub idle: &'a Sample,
    pub leftovers: &'a [String],
    pub exit: Option<String>,
    pub exited_ok: bool,
    pub logs: &'a str,
    pub fake_violations: Vec<String>,
    pub fake_sessions: usize,
    pub fake_polls: usize,
    pub proxy_calls: usize,
    pub proxy_log: Vec<(String, u16)>,
    /// CPU seconds this program used (load, checks, moto's proxy, the fake AppConfig).
    pub soak_cpu_s: f64,
}

/// A resource sampled each minute: its name, how to read it, and how much growth is allowed
/// (factor, plus an absolute amount).
type Resource<'a> = (&'static str, &'a dyn Fn(&Sample) -> f64, f64, f64);

/// Growth of one resource between the first and second half of the run after warm-up.
struct Growth {
    what: &'static str,
    first_mean: f64,
    first_max: f64,
    second_mean: f64,
    second_max: f64,
    grew: bool,
}

/// Sidecache bugs the soak found, by a marker in the wrong answer's kind or the error's text
/// (docs/reliability.md, "Soak", "Findings").
const KNOWN_BUGS: [(&str, &str); 6] = [
    (
        "read-your-writes",
        "sidecache bug (finding 1): a fetch in flight when a write through sidecache drops the \
         value stores its older answer afterwards, served for a TTL",
    ),
    (
        "after invalidation",
        "sidecache bug (finding 1): a fetch in flight when POST /cache/invalidate drops the value \
         stores its older answer afterwards",
    ),
    (
        "not returned by the batch refresh",
        "sidecache bug (finding 2): a failed batch refresh-ahead answers the reads that joined \
         it 404 NotFound \"not returned by the batch refresh\"",
    ),
    (
        "cached object file unavailable",
        "sidecache bug (finding 3): GET /s3/get format=raw answers 500 when the object's file is \
         evicted or invalidated between the look-up and the open",
    ),
    (
        "changed twice while it was being opened",
        "sidecache bug (finding 3): S3 GetObject answers 500 when the object's file is evicted \
         twice while the request opens it",
    ),
    (
        "client timeout",
        "likely sidecache bug (finding 4): a read waits for a connection permit outside the \
         upstream timeout",
    ),
];

/// What identifies one event among wrong answers: the kind, the name, the version answered.
fn event_of(detail: &str) -> String {
    let kind = kind_of(detail);
    let rest = detail.split_once("] ").map(|(_, r)| r).unwrap_or(detail);
    let name = rest.split(':').next().unwrap_or_default();
    let answered = rest
        .split_once("answered ")
        .map(|(_, r)| r.split([',', ';', ' ']).next().unwrap_or_default())
        .unwrap_or_default();
    format!("{kind} {name} {answered}")
}

/// The `[kind]` a wrong answer's detail starts with.
fn kind_of(detail: &str) -> String {
    match detail.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((kind, _)) => format!("[{kind}]"),
        None => "[shape]".into(),
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}

fn ms(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into())
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

impl Report<'_> {
    fn growth(&self) -> Option<Vec<Growth>> {
        // Minute 1 is warm-up; the rest is split in two halves.
        let warm: Vec<&Sample> = self.samples.iter().filter(|s| s.minute >= 2).collect();
        if warm.len() < 4 {
            return None;
        }
        let (a, b) = warm.split_at(warm.len() / 2);
        let series =
            |f: &dyn Fn(&Sample) -> f64, s: &[&Sample]| s.iter().map(|x| f(x)).collect::<Vec<_>>();
        let mut out = Vec::new();
        let resources: [Resource; 4] = [
            ("RSS (MB)", &|s| s.rss_kb as f64 / 1024.0, 1.10, 1.0),
            ("open fds", &|s| s.fds as f64, 1.0, 4.0),
            // tokio's blocking pool (file work of the S3 cache) starts threads as the load asks
            // and ends each after 10 s idle, so a sample counts the file work of its last
            // seconds: a margin like the fds'. A leak would also stay after the load stops, which
            // the idle sample shows (1 thread, as at the start, in every run so far).
            ("threads", &|s| s.threads as f64, 1.0, 4.0),
            ("S3 files", &|s| s.s3_files as f64, 1.0, 2.0),
        ];
        for (what, f, ratio, plus) in resources {
            let (x, y) = (series(f, a), series(f, b));
            let grew = max(&y) > max(&x) * ratio + plus && mean(&y) > mean(&x) * ratio + plus / 2.0;
            out.push(Growth {
                what,
                first_mean: mean(&x),
                first_max: max(&x),
                second_mean: mean(&y),
                second_max: max(&y),
                grew,
            });
        }
        Some(out)
    }

    /// The report and whether the run passed.
    pub fn render(&self) -> (String, bool) {
        let t = &self.totals;
        let mut out = String::new();
        let w = &mut out;
        let unexplained: u64 = t
            .errors
            .iter()
            .filter(|((_, _, why), _)| why == UNEXPLAINED)
            .map(|(_, (n, _))| n)
            .sum();
        let explained: u64 = t
            .errors
            .iter()
            .filter(|((_, _, why), _)| why != UNEXPLAINED)
            .map(|(_, (n, _))| n)
            .sum();
        let requests: u64 = t.requests.iter().sum();
        let growth = self.growth();
        let grew = growth.as_ref().is_some_and(|g| g.iter().any(|g| g.grew));
        let panics = self.logs.matches("panicked").count();
        let warns = self.logs.lines().filter(|l| l.contains("WARN")).count();
        let errors_logged = self.logs.lines().filter(|l| l.contains("ERROR")).count();
        let max_s3_bytes = self.samples.iter().map(|s| s.s3_bytes).max().unwrap_or(0);
        let max_s3_files = self.samples.iter().map(|s| s.s3_files).max().unwrap_or(0);
        let budget: u64 = self
            .settings
            .iter()
            .find(|(k, _)| k == "SIDECACHE_S3_MAX_BYTES")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(u64::MAX);
        let over_budget = max_s3_bytes > budget;
        let ok = t.wrong_total == 0
            && unexplained == 0
            && t.slow_total == 0
            && !grew
            && self.leftovers.is_empty()
            && self.exited_ok
            && panics == 0
            && self.fake_violations.is_empty()
            && !over_budget;

        let _ = writeln!(
            w,
            "# sidecache soak: {:.1} minutes",
            self.elapsed.as_secs_f64() / 60.0
        );
        let _ = writeln!(w);
        let _ = writeln!(
            w,
            "Binary `{}`; {:.0} requests/s asked of the well-behaved load; {} fault phases of {:.0} s; \
             {} stalled connections and {} slow readers kept going, a reset about every second.",
            self.binary.display(),
            self.opts.rate,
            self.phases.len(),
            self.phase_len.as_secs_f64(),
            self.opts.stalled,
            self.opts.slow_readers
        );
        let settings: Vec<String> = self
            .settings
            .iter()
            .map(|(k, v)| format!("`{k}={v}`"))
            .collect();
        let _ = writeln!(w, "sidecache ran with {}.", settings.join(", "));
        let _ = writeln!(w);
        let _ = writeln!(w, "## Verdict: {}", if ok { "PASS" } else { "FAIL" });
        let _ = writeln!(w);
        let _ = writeln!(
            w,
            "- requests: {requests} ({} answered correctly)",
            t.ok.iter().sum::<u64>()
        );
        let _ = writeln!(w, "- wrong answers: {}", t.wrong_total);
        let _ = writeln!(
            w,
            "- errors: {} explained by injected faults, {unexplained} unexplained",
            explained
        );
        let slowest = t.slow.iter().map(|s| s.seconds).fold(0.0, f64::max);
        let _ = writeln!(
            w,
            "- reads of parameters and secrets answered later than twice the upstream timeout and a \
             second: {}{}",
            t.slow_total,
            if t.slow_total > 0 {
                format!(" (up to {slowest:.1} s; {})", KNOWN_BUGS[5].1)
            } else {
                String::new()
            }
        );
        match &growth {
            Some(g) => {
                let parts: Vec<String> = g
                    .iter()
                    .map(|g| {
                        format!(
                            "{} {:.1} -> {:.1} (mean), {:.1} -> {:.1} (max){}",
                            g.what,
                            g.first_mean,
                            g.second_mean,
                            g.first_max,
                            g.second_max,
                            if g.grew { " GREW" } else { "" }
                        )
                    })
                    .collect();
                let _ = writeln!(
                    w,
                    "- growth after warm-up (first half -> second half of minutes 2..): {}",
                    parts.join("; ")
                );
            }
            None => {
                let _ = writeln!(
                    w,
                    "- growth after warm-up: too short a run to compare halves"
                );
            }
        }
        let _ = writeln!(
            w,
            "- S3 directory: at most {max_s3_files} files, {} KiB (budget {} KiB){}; temp files left at the end: {}{}",
            max_s3_bytes / 1024,
            budget / 1024,
            if over_budget { " OVER BUDGET" } else { "" },
            self.leftovers.len(),
            if self.leftovers.is_empty() { String::new() } else { format!(" ({})", self.leftovers.join(", ")) }
        );
        let _ = writeln!(
            w,
            "- after the load stopped: RSS {:.1} MB, {} fds, {} threads 5 s later; {:.1} MB, {} fds, {} threads \
             65 s later, idle connections timed out (at start: {:.1} MB, {} fds, {} threads)",
            self.last.rss_kb as f64 / 1024.0,
            self.last.fds,
            self.last.threads,
            self.idle.rss_kb as f64 / 1024.0,
            self.idle.fds,
            self.idle.threads,
            self.samples[0].rss_kb as f64 / 1024.0,
            self.samples[0].fds,
            self.samples[0].threads
        );
        let _ = writeln!(
            w,
            "- sidecache exit: {} ; its log: {warns} WARN lines, {errors_logged} ERROR lines, {panics} panics",
            self.exit.clone().unwrap_or_else(|| "killed (did not stop in 5 s)".into())
        );
        let _ = writeln!(
            w,
            "- CPU: sidecache {:.0} s, the soak itself {:.0} s (moto, a Python process, not counted)",
            self.last.cpu_s,
            self.soak_cpu_s
        );
        let _ = writeln!(
            w,
            "- fake AppConfig Data: {} sessions, {} polls answered, {} client violations{}",
            self.fake_sessions,
            self.fake_polls,
            self.fake_violations.len(),
            if self.fake_violations.is_empty() {
                String::new()
            } else {
                format!(
                    ": {}",
                    self.fake_violations
                        .iter()
                        .take(5)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            }
        );
        let _ = writeln!(w);

        // Per interface.
        let _ = writeln!(w, "## Requests by interface");
        let _ = writeln!(w);
        let _ = writeln!(w, "| interface | requests | correct | errors (explained) | errors (unexplained) | wrong | hit | miss | refresh | stale |");
        let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for iface in IFACES {
            let i = IFACES.iter().position(|x| *x == iface).unwrap();
            let errs = |unexp: bool| -> u64 {
                t.errors
                    .iter()
                    .filter(|((f, _, why), _)| *f == iface && (why == UNEXPLAINED) == unexp)
                    .map(|(_, (n, _))| n)
                    .sum()
            };
            let wrong: u64 = t.minutes.iter().map(|m| m.wrong[i]).sum();
            let cache = |c: Cache| t.caches.get(&(iface, c)).copied().unwrap_or(0);
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                iface.label(),
                t.requests[i],
                t.ok[i],
                errs(false),
                errs(true),
                wrong,
                cache(Cache::Hit),
                cache(Cache::Miss),
                cache(Cache::Refresh),
                cache(Cache::Stale)
            );
        }
        let _ = writeln!(w);

        // Wrong answers.
        let _ = writeln!(w, "## Wrong answers: {}", t.wrong_total);
        let _ = writeln!(w);
        if !t.wrong.is_empty() {
            let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
            for wrong in &t.wrong {
                *kinds.entry(kind_of(&wrong.detail)).or_default() += 1;
            }
            let _ = writeln!(w, "By kind (of the first {} kept):", t.wrong.len());
            let _ = writeln!(w);
            for (kind, n) in &kinds {
                let bug = KNOWN_BUGS
                    .iter()
                    .find(|(marker, _)| kind.contains(marker))
                    .map(|(_, what)| format!(": {what}"))
                    .unwrap_or_default();
                let _ = writeln!(w, "- `{kind}`: {n}{bug}");
            }
            let _ = writeln!(w);
        }
        // One line per event (a name answered with one wrong version), not per answer.
        let mut events: Vec<(String, Vec<&crate::record::Wrong>)> = Vec::new();
        for wrong in &t.wrong {
            let key = event_of(&wrong.detail);
            match events.iter_mut().find(|(k, _)| *k == key) {
                Some((_, list)) => list.push(wrong),
                None => events.push((key, vec![wrong])),
            }
        }
        if !events.is_empty() {
            let _ = writeln!(
                w,
                "By event (a name answered with one wrong version), with the first answer's details:"
            );
            let _ = writeln!(w);
        }
        for (_, list) in &events {
            let first = list[0];
            let last = list[list.len() - 1];
            let mut ops: Vec<String> = list
                .iter()
                .map(|x| format!("{} {}", x.iface.short(), x.op))
                .collect();
            ops.sort();
            ops.dedup();
            let _ = writeln!(
                w,
                "- {} answer(s) from {:.1} s to {:.1} s ({}): {}",
                list.len(),
                first.at,
                last.at,
                ops.join(", "),
                first.detail
            );
        }
        if t.wrong_total as usize > t.wrong.len() {
            let _ = writeln!(
                w,
                "- ... and {} more answers not kept",
                t.wrong_total as usize - t.wrong.len()
            );
        }
        let _ = writeln!(w);

        // Known bugs among the unexplained errors.
        let mut known: BTreeMap<&str, u64> = BTreeMap::new();
        for ((_, cause, why), (n, detail)) in &t.errors {
            if why != UNEXPLAINED {
                continue;
            }
            for (marker, what) in KNOWN_BUGS {
                if cause.contains(marker) || detail.contains(marker) {
                    *known.entry(what).or_default() += n;
                }
            }
        }
        for (what, n) in known {
            let _ = writeln!(w, "Unexplained errors matching a known bug ({n}): {what}");
            let _ = writeln!(w);
        }

        // Errors by cause.
        let _ = writeln!(w, "## Errors by cause");
        let _ = writeln!(w);
        if t.errors.is_empty() {
            let _ = writeln!(w, "None.");
        } else {
            let _ = writeln!(
                w,
                "| interface | answer (request) | explained by | count | first example |"
            );
            let _ = writeln!(w, "|---|---|---|---:|---|");
            let mut rows: Vec<_> = t.errors.iter().collect();
            rows.sort_by_key(|((iface, cause, why), (n, _))| {
                (
                    why != UNEXPLAINED,
                    *iface,
                    std::cmp::Reverse(*n),
                    cause.clone(),
                )
            });
            for ((iface, cause, why), (n, detail)) in rows {
                let example: String = if why == UNEXPLAINED {
                    detail.chars().take(240).collect()
                } else {
                    String::new()
                };
                let _ = writeln!(
                    w,
                    "| {} | {} | {} | {} | {} |",
                    iface.short(),
                    cell(cause),
                    cell(why),
                    n,
                    cell(&example)
                );
            }
        }
        let _ = writeln!(w);

        // Slow reads.
        if t.slow_total > 0 {
            let _ = writeln!(w, "## Slow reads: {}", t.slow_total);
            let _ = writeln!(w);
            let mut by_op: BTreeMap<String, (u64, f64, f64)> = BTreeMap::new();
            for s in &t.slow {
                let e = by_op
                    .entry(format!("{} {}", s.iface.short(), s.op))
                    .or_insert((0, f64::MAX, 0.0));
                e.0 += 1;
                e.1 = e.1.min(s.at);
                e.2 = e.2.max(s.seconds);
            }
            let _ = writeln!(
                w,
                "Reads of parameters and secrets answered after more than twice the upstream \
                 timeout and a second (of the first {} kept):",
                t.slow.len()
            );
            let _ = writeln!(w);
            for (op, (n, first, max)) in by_op {
                let _ = writeln!(
                    w,
                    "- {op}: {n}, the first at {first:.1} s, the slowest {max:.1} s"
                );
            }
            let _ = writeln!(w);
        }

        // Latency.
        let minutes = (self.elapsed.as_secs() / 60).max(1) as usize;
        let first = t.minutes.first();
        let last = t.minutes.get(minutes - 1);
        let _ = writeln!(w, "## Latency per interface (ms)");
        let _ = writeln!(w);
        let _ = writeln!(
            w,
            "Client-side, request sent to answer read, in calm phases at both ends (minute 1 includes the first misses)."
        );
        let _ = writeln!(w);
        let _ = writeln!(w, "| interface | minute 1 p50 | minute 1 p99 | minute {minutes} p50 | minute {minutes} p99 | whole run p50 | whole run p99 |");
        let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|");
        for (k, iface) in TIMED.iter().enumerate() {
            let all: Vec<u32> = t
                .minutes
                .iter()
                .flat_map(|m| m.latencies[k].iter().copied())
                .collect();
            let at = |m: Option<&crate::record::Minute>, p| {
                m.and_then(|m| percentile_ms(&m.latencies[k], p))
            };
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} | {} | {} |",
                iface.label(),
                ms(at(first, 50.0)),
                ms(at(first, 99.0)),
                ms(at(last, 50.0)),
                ms(at(last, 99.0)),
                ms(percentile_ms(&all, 50.0)),
                ms(percentile_ms(&all, 99.0))
            );
        }
        let _ = writeln!(w);

        // Per minute.
        let _ = writeln!(w, "## Per minute");
        let _ = writeln!(w);
        let _ = writeln!(w, "Phase: upstream faults / AppConfig faults during the minute. Latencies p50/p99 in ms. CPU: sidecache's user + system seconds during the minute. Resources sampled at the minute's end.");
        let _ = writeln!(w);
        let _ = writeln!(w, "| min | phases | requests | errors (unexpl.) | wrong | slow | GET | SDK | S3 REST | AppConfig | CPU s | RSS MB | fds | threads | S3 files | S3 KiB | temp |");
        let _ = writeln!(
            w,
            "|---:|---|---:|---:|---:|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|"
        );
        let mut cpu_before = 0.0;
        for s in self.samples.iter() {
            let cpu = s.cpu_s - cpu_before;
            cpu_before = s.cpu_s;
            let m = s.minute;
            let (phase, counts, lat) = if m == 0 {
                (
                    "start".to_owned(),
                    String::from("| | | | "),
                    vec![String::new(); 4],
                )
            } else {
                let from = self.t0 + Duration::from_secs(60 * (m as u64 - 1));
                let to = from + Duration::from_secs(60);
                let mut labels: Vec<String> = Vec::new();
                for p in self
                    .phases
                    .iter()
                    .filter(|p| p.start < to && p.end.is_none_or(|e| e > from))
                {
                    let l = format!("{} / {}", p.up.label(), p.ac.label());
                    if !labels.contains(&l) {
                        labels.push(l);
                    }
                }
                let row = t.minutes.get(m - 1).cloned().unwrap_or_default();
                let lat = (0..4)
                    .map(|k| {
                        format!(
                            "{}/{}",
                            ms(percentile_ms(&row.latencies[k], 50.0)),
                            ms(percentile_ms(&row.latencies[k], 99.0))
                        )
                    })
                    .collect();
                (
                    labels.join("; "),
                    format!(
                        "{} | {} ({}) | {} | {} | ",
                        row.requests.iter().sum::<u64>(),
                        row.errors.iter().sum::<u64>(),
                        row.unexplained.iter().sum::<u64>(),
                        row.wrong.iter().sum::<u64>(),
                        row.slow
                    ),
                    lat,
                )
            };
            let _ = writeln!(
                w,
                "| {m} | {} | {counts}{} | {cpu:.1} | {:.1} | {} | {} | {} | {} | {} |",
                cell(&phase),
                lat.join(" | "),
                s.rss_kb as f64 / 1024.0,
                s.fds,
                s.threads,
                s.s3_files,
                s.s3_bytes / 1024,
                s.s3_temp
            );
        }
        let _ = writeln!(
            w,
            "| end | load stopped, 5 s later | | | | | | | | | | {:.1} | {} | {} | {} | {} | {} |",
            self.last.rss_kb as f64 / 1024.0,
            self.last.fds,
            self.last.threads,
            self.last.s3_files,
            self.last.s3_bytes / 1024,
            self.last.s3_temp
        );
        let _ = writeln!(
            w,
            "| idle | 65 s later (idle connections closed) | | | | | | | | | | {:.1} | {} | {} | {} | {} | {} |",
            self.idle.rss_kb as f64 / 1024.0,
            self.idle.fds,
            self.idle.threads,
            self.idle.s3_files,
            self.idle.s3_bytes / 1024,
            self.idle.s3_temp
        );
        let _ = writeln!(w);

        // Requests by operation.
        let _ = writeln!(w, "## Requests by operation");
        let _ = writeln!(w);
        let _ = writeln!(w, "| interface | operation | requests |");
        let _ = writeln!(w, "|---|---|---:|");
        for ((iface, op), n) in &t.ops {
            let _ = writeln!(w, "| {} | {} | {n} |", iface.short(), cell(op));
        }
        let _ = writeln!(w);

        // Misbehaviour measurements.
        if !t.notes.is_empty() {
            let _ = writeln!(w, "## Client misbehaviour, measured");
            let _ = writeln!(w);
            let _ = writeln!(w, "| measurement | count | min | median | max |");
            let _ = writeln!(w, "|---|---:|---:|---:|---:|");
            for (kind, values) in &t.notes {
                let mut v = values.clone();
                v.sort_by(f64::total_cmp);
                let _ = writeln!(
                    w,
                    "| {kind} | {} | {:.1} | {:.1} | {:.1} |",
                    v.len(),
                    v[0],
                    v[v.len() / 2],
                    v[v.len() - 1]
                );
            }
            let _ = writeln!(w);
        }

        // Upstream and sidecache's own counters.
        let _ = writeln!(w, "## Upstream");
        let _ = writeln!(w);
        let mut by_op: BTreeMap<(String, u16), usize> = BTreeMap::new();
        for (op, status) in &self.proxy_log {
            *by_op.entry((op.clone(), *status)).or_default() += 1;
        }
        let _ = writeln!(
            w,
            "Calls through the fault proxy: {} (operation, status (0: dropped): count):",
            self.proxy_calls
        );
        let parts: Vec<String> = by_op
            .iter()
            .map(|((op, s), n)| format!("{op} {s}: {n}"))
            .collect();
        let _ = writeln!(w, "{}.", parts.join(", "));
        let _ = writeln!(w);
        if let Some(stats) = self.idle.stats.as_ref() {
            let pick = |p: &str| stats.pointer(p).cloned().unwrap_or(Value::Null);
            let _ = writeln!(
                w,
                "sidecache's `/stats` at the end: cache {}, upstream {}, s3 {}.",
                pick("/cache"),
                pick("/upstream"),
                pick("/s3")
            );
            let _ = writeln!(w);
        }
        (out, ok)
    }
}
