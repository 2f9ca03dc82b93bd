//! When entries are renewed: refresh-ahead (a hit on an ageing entry refreshes it in the
//! background) and TTL jitter (each entry's TTL shortened at random, so environments that
//! started together do not refresh together). Also the two shapes of fetch `get_or_fetch`
//! accepts: a borrowing closure for the request path only, or [`Refreshable`], which can also
//! build an owned fetch that outlives the request.

use super::Entry;
use crate::error::AppError;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// A fetch that owns everything it needs, run detached for a refresh-ahead.
pub type BackgroundFetch = Pin<Box<dyn Future<Output = Result<Entry, AppError>> + Send>>;

/// How a read fetches its value on a miss, and whether it can be refreshed ahead.
pub trait Fetch {
    type Fut: Future<Output = Result<Entry, AppError>>;
    /// Whether `background` can give a fetch (checked before any lock is taken).
    const REFRESHABLE: bool = false;
    /// The fetch on the request path; `previous` is the expired entry, if any.
    fn fetch(self, previous: Option<Arc<Entry>>) -> Self::Fut;
    /// An owned fetch for a background refresh; `None`: never refreshed ahead.
    fn background(&self) -> Option<BackgroundFetch> {
        None
    }
}

impl<F, Fut> Fetch for F
where
    F: FnOnce(Option<Arc<Entry>>) -> Fut,
    Fut: Future<Output = Result<Entry, AppError>>,
{
    type Fut = Fut;
    fn fetch(self, previous: Option<Arc<Entry>>) -> Fut {
        self(previous)
    }
}

/// A fetch built by `make`, which returns an owned (`'static`) future each time: called once
/// on a miss, or once more for a refresh-ahead. Nothing is cloned on a plain hit, because
/// `make` only runs when a fetch is due.
pub struct Refreshable<M>(pub M);

impl<M, Fut> Fetch for Refreshable<M>
where
    M: Fn() -> Fut,
    Fut: Future<Output = Result<Entry, AppError>> + Send + 'static,
{
    type Fut = Fut;
    const REFRESHABLE: bool = true;
    fn fetch(self, _previous: Option<Arc<Entry>>) -> Fut {
        (self.0)()
    }
    fn background(&self) -> Option<BackgroundFetch> {
        Some(Box::pin((self.0)()))
    }
}

/// Shortens TTLs by a random share up to `percent`; never lengthens them.
///
/// The share is drawn once per process (from `seed`, so tests can fix it), and again after a
/// SnapStart restore ([`TtlJitter::redraw`]: every restored copy of a snapshot starts with the
/// same share), and applied to every entry. A fleet's environments get different shares, so those that started together stop
/// expiring together; within one environment the values read together keep expiring together,
/// so a `get-many` still refreshes them in one call. A share drawn per entry was measured first:
/// it scattered one environment's values over the jitter window, and batch reads then fetched
/// them one expiry at a time (40 % more upstream calls in the fleet simulation).
#[derive(Debug)]
pub struct TtlJitter {
    percent: u64,
    /// The share of the TTL taken off every entry, from 0 to `percent` / 100 (`f64` bits).
    share: AtomicU64,
}

impl TtlJitter {
    pub fn new(percent: u64, seed: u64) -> Self {
        let jitter = TtlJitter {
            percent: percent.min(100),
            share: AtomicU64::new(0),
        };
        jitter.redraw(seed);
        jitter
    }

    /// Draws the share again from `seed`.
    pub fn redraw(&self, seed: u64) {
        // A uniform fraction in [0, 1) from the top 53 bits of one splitmix64 step.
        let fraction = (splitmix64(seed) >> 11) as f64 / (1u64 << 53) as f64;
        let share = fraction * self.percent as f64 / 100.0;
        self.share.store(share.to_bits(), Relaxed);
    }

    /// A seed that differs between processes (and so between environments of one fleet), and
    /// between the copies restored from one SnapStart snapshot: it comes from the kernel, which
    /// reseeds its generator at a restore, where any state of this process's own (std's hash
    /// keys included) is the snapshot's.
    pub fn random_seed() -> u64 {
        let mut seed = [0u8; 8];
        // The system call, not glibc's wrapper: the layer links against glibc 2.17, which has
        // none (2.25 added it).
        // SAFETY: getrandom writes at most `seed.len()` bytes into the buffer it is given.
        let filled =
            unsafe { libc::syscall(libc::SYS_getrandom, seed.as_mut_ptr(), seed.len(), 0) };
        if filled == seed.len() as libc::c_long {
            return u64::from_ne_bytes(seed);
        }
        // No getrandom (a kernel older than 3.17): the clock and the process id still differ.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        nanos ^ u64::from(std::process::id()).rotate_left(32)
    }

    /// `ttl` less this process's share (drawn again at a SnapStart restore, `restore.rs`:
    /// copies of one snapshot would otherwise share it).
    pub fn shorten(&self, ttl: Duration) -> Duration {
        let share = f64::from_bits(self.share.load(Relaxed));
        ttl.saturating_sub(ttl.mul_f64(share))
    }
}

fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// How a cache renews its entries.
#[derive(Debug)]
pub struct Renewal {
    /// Fraction of an entry's TTL after which a hit also refreshes it in the background;
    /// 0 = never.
    pub refresh_ahead: f64,
    pub jitter: TtlJitter,
    /// A background refresh still unfinished after this long (a Lambda freeze mid-call, a dead
    /// pooled connection) gives up, so that misses joining its flight are not held forever.
    pub give_up_after: Duration,
}

/// `Renewal::give_up_after` in production.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(30);

impl Renewal {
    /// Neither refresh-ahead nor jitter.
    pub fn off() -> Self {
        Renewal {
            refresh_ahead: 0.0,
            jitter: TtlJitter::new(0, 0),
            give_up_after: GIVE_UP_AFTER,
        }
    }

    /// (effective TTL, age after which a hit refreshes ahead) of an entry stored now.
    pub(super) fn stamp(&self, ttl: Duration) -> (Duration, Duration) {
        let ttl = self.jitter.shorten(ttl);
        let ahead = if self.refresh_ahead > 0.0 && self.refresh_ahead < 1.0 {
            ttl.mul_f64(self.refresh_ahead)
        } else {
            Duration::MAX
        };
        (ttl, ahead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_only_shortens_and_stays_within_the_percent() {
        // Seeds stand for the environments of a fleet.
        let ttl = Duration::from_secs(300);
        let ttls: Vec<Duration> = (0..10_000u64)
            .map(|seed| TtlJitter::new(10, seed).shorten(ttl))
            .collect();
        let floor = Duration::from_secs(270);
        assert!(ttls.iter().all(|t| *t <= ttl && *t >= floor));
        // Spread over the range, not stuck at one value.
        let below_mid = ttls
            .iter()
            .filter(|t| **t < Duration::from_secs(285))
            .count();
        assert!((4_000..6_000).contains(&below_mid), "{below_mid}");
        let at_most_50: Vec<Duration> = (0..1_000u64)
            .map(|seed| TtlJitter::new(50, seed).shorten(ttl))
            .collect();
        assert!(at_most_50.iter().all(|t| *t >= ttl / 2 && *t <= ttl));
        assert!(at_most_50.iter().any(|t| *t < Duration::from_secs(160)));
    }

    #[test]
    fn one_process_shortens_every_entry_alike_and_zero_is_exact() {
        let jitter = TtlJitter::new(50, 7);
        let first = jitter.shorten(Duration::from_secs(60));
        assert!(first >= Duration::from_secs(30) && first <= Duration::from_secs(60));
        for _ in 0..100 {
            assert_eq!(jitter.shorten(Duration::from_secs(60)), first);
        }
        assert_eq!(
            TtlJitter::new(50, 7).shorten(Duration::from_secs(60)),
            first
        );
        for seed in 0..100 {
            let off = TtlJitter::new(0, seed);
            assert_eq!(
                off.shorten(Duration::from_secs(60)),
                Duration::from_secs(60)
            );
        }
    }

    #[test]
    fn a_redraw_takes_a_new_share_and_os_seeds_differ() {
        let jitter = TtlJitter::new(50, 7);
        let before = jitter.shorten(Duration::from_secs(1000));
        let seeds: Vec<u64> = (0..8).map(|_| TtlJitter::random_seed()).collect();
        assert!(seeds.windows(2).all(|w| w[0] != w[1]), "{seeds:?}");
        let after: Vec<Duration> = seeds
            .iter()
            .map(|seed| {
                jitter.redraw(*seed);
                jitter.shorten(Duration::from_secs(1000))
            })
            .collect();
        assert!(after.iter().any(|t| *t != before), "{after:?}");
        assert!(after.iter().all(|t| *t >= Duration::from_secs(500)));
    }

    #[test]
    fn refresh_ahead_point_is_a_fraction_of_the_jittered_ttl() {
        let renewal = Renewal {
            refresh_ahead: 0.5,
            jitter: TtlJitter::new(20, 3),
            give_up_after: GIVE_UP_AFTER,
        };
        for _ in 0..100 {
            let (ttl, ahead) = renewal.stamp(Duration::from_secs(100));
            assert!(ttl <= Duration::from_secs(100) && ttl >= Duration::from_secs(80));
            assert_eq!(ahead, ttl.mul_f64(0.5));
        }
        let (_, never) = Renewal::off().stamp(Duration::from_secs(100));
        assert_eq!(never, Duration::MAX);
    }
}
