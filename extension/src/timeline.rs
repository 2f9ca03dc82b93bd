//! Time as the caches count it, and the SnapStart restores that break ordinary time.
//!
//! A SnapStart function is initialised, snapshotted and restored minutes or days later, with no
//! Extensions API event for it; after the restore the monotonic clock does not count the
//! snapshot's age (Firecracker resumes the guest clock). Entries aged by `Instant` alone would be
//! served as fresh days later. The wall clock is right after a restore (SigV4 needs it) but NTP
//! may step it either way, so ages are not read from it either. Every reading compares the two:
//! when wall time has moved more than [`JUMP`] further than monotonic time since the previous
//! reading, the process was restored (or its wall clock stepped forward). Then the gap is added to
//! every later reading, so ages include the time the snapshot slept, and the epoch goes up: every
//! entry stored in an earlier epoch counts as expired, however young it looks. A wall clock
//! stepped back only moves the baseline: readings never go back, so no entry outlives its TTL.
//!
//! One reading is two clock reads (monotonic and wall, both vDSO calls) and three relaxed loads.

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::Duration;

/// A wall clock that gained this much on the monotonic clock between two readings means a
/// restore (nanoseconds). NTP slews far slower; a step this large is worth a refresh anyway.
const JUMP: i64 = 1_000_000_000;
/// Smaller differences (slewing, a small step) move the baseline without a restore, so they
/// never add up to a false one (nanoseconds).
const DRIFT: i64 = 100_000_000;

static TIMELINE: LazyLock<Timeline> = LazyLock::new(Timeline::new);

/// A point on the timeline: monotonic time since start plus what restores skipped, and how
/// many restores came before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Moment {
    nanos: u64,
    epoch: u32,
}

impl Moment {
    /// The time from `earlier` to `self`; zero if `earlier` is not earlier.
    pub fn since(self, earlier: Moment) -> Duration {
        Duration::from_nanos(self.nanos.saturating_sub(earlier.nanos))
    }

    /// Whether no restore happened between `earlier` and `self`.
    pub fn same_epoch(self, earlier: Moment) -> bool {
        self.epoch == earlier.epoch
    }

    /// Restores detected before this moment.
    pub fn restores(self) -> u32 {
        self.epoch
    }
}

/// Now, detecting a restore if one happened since the last reading.
pub fn now() -> Moment {
    TIMELINE.now()
}

/// Restores detected since start.
pub fn restores() -> u32 {
    TIMELINE.epoch.load(Ordering::Relaxed)
}

struct Timeline {
    /// The monotonic clock at start (nanoseconds).
    origin: i64,
    /// Wall minus monotonic time at the baseline (nanoseconds).
    offset: AtomicI64,
    /// What the monotonic clock missed, summed over restores (nanoseconds).
    skipped: AtomicU64,
    epoch: AtomicU32,
}

impl Timeline {
    fn new() -> Self {
        let origin = nanos(libc::CLOCK_MONOTONIC);
        Timeline {
            origin,
            offset: AtomicI64::new(nanos(libc::CLOCK_REALTIME)),
            skipped: AtomicU64::new(0),
            epoch: AtomicU32::new(0),
        }
    }

    fn now(&self) -> Moment {
        let mono = nanos(libc::CLOCK_MONOTONIC) - self.origin;
        self.observe(mono, nanos(libc::CLOCK_REALTIME))
    }

    /// The reading at monotonic time `mono` (since `origin`) and wall time `wall`.
    fn observe(&self, mono: i64, wall: i64) -> Moment {
        let offset = wall - mono;
        let base = self.offset.load(Ordering::Relaxed);
        let gained = offset - base;
        if gained > JUMP {
            self.restore(base, offset);
        } else if gained.abs() > DRIFT {
            let _ =
                self.offset
                    .compare_exchange(base, offset, Ordering::Relaxed, Ordering::Relaxed);
        }
        Moment {
            nanos: mono as u64 + self.skipped.load(Ordering::Acquire),
            epoch: self.epoch.load(Ordering::Acquire),
        }
    }

    /// Only the reader that moves the baseline counts the restore.
    fn restore(&self, base: i64, offset: i64) {
        if self
            .offset
            .compare_exchange(base, offset, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let gap = (offset - base) as u64;
        self.skipped.fetch_add(gap, Ordering::AcqRel);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        tracing::info!(
            skipped_s = gap / 1_000_000_000,
            "restore detected (the wall clock moved on while the monotonic clock did not): every cached value counts as expired"
        );
    }
}

/// `clock` in nanoseconds: `clock_gettime` as `Instant` and `SystemTime` read it, without
/// their conversions (two clocks on every hit: the instructions count).
fn nanos(clock: libc::clockid_t) -> i64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given; both clocks always exist on Linux.
    unsafe { libc::clock_gettime(clock, &mut now) };
    now.tv_sec * 1_000_000_000 + now.tv_nsec
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    /// A timeline whose baseline is wall time `wall0` at monotonic time 0.
    fn timeline(wall0: i64) -> Timeline {
        Timeline {
            origin: 0,
            offset: AtomicI64::new(wall0),
            skipped: AtomicU64::new(0),
            epoch: AtomicU32::new(0),
        }
    }

    #[test]
    fn ordinary_time_counts_the_monotonic_clock() {
        let t = timeline(1_000 * S);
        let a = t.observe(10 * S, 1_010 * S);
        let b = t.observe(70 * S, 1_070 * S);
        assert_eq!(b.since(a), Duration::from_secs(60));
        assert!(b.same_epoch(a));
    }

    #[test]
    fn a_restore_adds_the_gap_and_starts_an_epoch() {
        let t = timeline(1_000 * S);
        let cached = t.observe(10 * S, 1_010 * S);
        // Two days in a snapshot: the monotonic clock moved 5 s, the wall clock two days.
        let restored = t.observe(15 * S, 1_015 * S + 172_800 * S);
        assert!(!restored.same_epoch(cached));
        assert_eq!(restored.since(cached), Duration::from_secs(172_805));
        assert_eq!(t.epoch.load(Ordering::Relaxed), 1);
        // Later readings stay in the new epoch and keep counting from there.
        let later = t.observe(16 * S, 1_016 * S + 172_800 * S);
        assert!(later.same_epoch(restored));
        assert_eq!(later.since(restored), Duration::from_secs(1));
    }

    #[test]
    fn a_wall_clock_stepped_back_never_shortens_ages() {
        let t = timeline(1_000 * S);
        let cached = t.observe(10 * S, 1_010 * S);
        // NTP steps the wall clock back an hour.
        let stepped = t.observe(20 * S, 1_020 * S - 3_600 * S);
        assert!(stepped.same_epoch(cached));
        assert_eq!(stepped.since(cached), Duration::from_secs(10));
        // Stepping forward again to where it was is caught as a jump: expiry, never longevity.
        let back = t.observe(30 * S, 1_030 * S);
        assert!(!back.same_epoch(cached));
        assert!(back.since(cached) >= Duration::from_secs(20));
    }

    #[test]
    fn slewing_and_small_steps_are_not_restores() {
        let t = timeline(1_000 * S);
        let first = t.observe(0, 1_000 * S);
        let mut last = first;
        // 200 ms of drift in 50 ms steps over a day: the baseline follows, no epoch.
        for i in 1..=4 {
            last = t.observe(i * 21_600 * S, 1_000 * S + i * 21_600 * S + i * 50_000_000);
        }
        assert!(last.same_epoch(first));
        assert_eq!(t.epoch.load(Ordering::Relaxed), 0);
    }
}
