//! At the connection cap, idle connections give way to new ones, as nginx reuses its idle
//! keep-alive connections when it runs out.
//!
//! Without this, a thousand keep-alive clients that stay connected after their reads (or
//! connections that never send a request) hold every slot, and every new reader waits in the
//! listen queue until an idle timeout fires. Here each connection shares a [`ConnectionState`]
//! with the accept loop: its phase, and for an idle one (kept alive after a response, or never
//! having sent a request) its place in the order connections went idle. When the accept loop
//! finds every slot taken, [`Tracked::pick`] chooses the connection idle longest, provided the
//! loop has seen it idle for at least [`GIVE_WAY_AFTER`] (a client between two back-to-back
//! requests is never cut off), and asks it to close through the stop signal every connection
//! already waits on (`Stop::request`); the connection then shuts down gracefully,
//! so a request that arrived meanwhile is still answered. New connections wait only while no
//! slot qualifies.
//!
//! The request path pays one relaxed store per phase change and one atomic increment when a
//! connection goes idle; clocks are read only by the accept loop, only at the cap.

use super::connection_state::ConnectionState;
use super::stop::Stop;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the accept loop must have seen a connection idle before closing it for a new one.
pub const GIVE_WAY_AFTER: Duration = Duration::from_secs(1);
/// How often the accept loop looks again while every slot is busy.
pub const RECHECK: Duration = Duration::from_millis(200);

/// The accept loop's view of its connections: which are idle, and since when it has seen them so.
#[derive(Default)]
pub struct Tracked {
    connections: Vec<Seen>,
    /// Reap closed connections once the list is this long (twice the cap).
    reap_at: usize,
}

struct Seen {
    state: Arc<ConnectionState>,
    /// The idle order last seen, and when it was first seen.
    idle: Option<(u64, Instant)>,
}

/// What the accept loop does at the cap.
#[derive(Debug, PartialEq, Eq)]
pub enum AtCap {
    /// A connection was asked to close: its slot frees shortly.
    AskedOneToGiveWay,
    /// None qualifies yet: look again at this moment (or when a slot frees).
    LookAgainAt(Instant),
}

impl Tracked {
    pub fn new(max_connections: usize) -> Self {
        Tracked {
            connections: Vec::new(),
            reap_at: max_connections.saturating_mul(2).max(16),
        }
    }

    /// A new connection's state, tracked until it closes.
    pub fn add(&mut self) -> Arc<ConnectionState> {
        if self.connections.len() >= self.reap_at {
            self.reap();
        }
        let state = Arc::new(ConnectionState::default());
        self.connections.push(Seen {
            state: state.clone(),
            idle: None,
        });
        state
    }

    /// Forgets connections that have closed (they dropped their half of the state).
    fn reap(&mut self) {
        self.connections.retain(|c| Arc::strong_count(&c.state) > 1);
    }

    /// At the cap: asks the connection idle longest, seen idle for `after` at least, to close
    /// (through `stop`, which every connection waits on).
    pub fn pick(&mut self, stop: &Stop, now: Instant, after: Duration) -> AtCap {
        self.reap();
        let mut oldest: Option<(u64, usize)> = None;
        let mut next_look = now + RECHECK;
        for (i, seen) in self.connections.iter_mut().enumerate() {
            if seen.state.give_way().is_requested() {
                continue; // already closing
            }
            let Some(order) = seen.state.idle_order() else {
                seen.idle = None;
                continue;
            };
            let since = match seen.idle {
                Some((seen_order, since)) if seen_order == order => since,
                _ => {
                    seen.idle = Some((order, now));
                    now
                }
            };
            if now.duration_since(since) >= after {
                if oldest.is_none_or(|(o, _)| order < o) {
                    oldest = Some((order, i));
                }
            } else {
                next_look = next_look.min(since + after);
            }
        }
        match oldest {
            Some((_, i)) => {
                stop.request(self.connections[i].state.give_way());
                AtCap::AskedOneToGiveWay
            }
            None => AtCap::LookAgainAt(next_look),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::connection_state::Phase;

    #[test]
    fn the_longest_idle_gives_way_once_seen_idle_long_enough() {
        let stop = Stop::default();
        let mut tracked = Tracked::new(4);
        let busy = tracked.add();
        busy.enter(Phase::Serving);
        let first_idle = tracked.add();
        let second_idle = tracked.add();
        let silent = tracked.add(); // never sent a request: idle since it was accepted
        first_idle.enter(Phase::Idle);
        second_idle.enter(Phase::Idle);
        let t0 = Instant::now();
        // Seen idle just now: nobody qualifies yet.
        assert!(matches!(
            tracked.pick(&stop, t0, GIVE_WAY_AFTER),
            AtCap::LookAgainAt(at) if at <= t0 + GIVE_WAY_AFTER
        ));
        // A second later the silent connection (idle first) goes, then the first idle one.
        let t1 = t0 + GIVE_WAY_AFTER;
        assert_eq!(
            tracked.pick(&stop, t1, GIVE_WAY_AFTER),
            AtCap::AskedOneToGiveWay
        );
        assert!(silent.give_way().is_requested());
        assert_eq!(
            tracked.pick(&stop, t1, GIVE_WAY_AFTER),
            AtCap::AskedOneToGiveWay
        );
        assert!(first_idle.give_way().is_requested());
        // The second idle one made a request meanwhile and is idle again: its clock restarts.
        second_idle.enter(Phase::Headers);
        second_idle.enter(Phase::Serving);
        second_idle.enter(Phase::Idle);
        assert!(matches!(
            tracked.pick(&stop, t1, GIVE_WAY_AFTER),
            AtCap::LookAgainAt(_)
        ));
        assert!(!second_idle.give_way().is_requested());
        // A connection busy with a request never gives way, however long.
        let t2 = t1 + Duration::from_secs(3600);
        assert_eq!(
            tracked.pick(&stop, t2, GIVE_WAY_AFTER),
            AtCap::AskedOneToGiveWay
        );
        assert!(second_idle.give_way().is_requested());
        assert!(matches!(
            tracked.pick(&stop, t2, GIVE_WAY_AFTER),
            AtCap::LookAgainAt(_)
        ));
        assert!(!busy.give_way().is_requested());
    }

    #[test]
    fn closed_connections_are_forgotten() {
        let mut tracked = Tracked::new(2);
        for _ in 0..100 {
            drop(tracked.add());
        }
        assert!(
            tracked.connections.len() <= 16,
            "{}",
            tracked.connections.len()
        );
        let kept = tracked.add();
        tracked.reap();
        assert_eq!(tracked.connections.len(), 1);
        drop(kept);
    }

    #[tokio::test]
    async fn asking_wakes_the_waiting_connection_and_no_other() {
        let stop = Arc::new(Stop::default());
        let states: Vec<_> = (0..2)
            .map(|_| Arc::new(ConnectionState::default()))
            .collect();
        let waiting: Vec<_> = states
            .iter()
            .map(|state| {
                let (stop, state) = (stop.clone(), state.clone());
                tokio::spawn(async move { stop.stopped_or(state.give_way()).await })
            })
            .collect();
        tokio::task::yield_now().await;
        stop.request(states[1].give_way());
        let mut waiting = waiting.into_iter();
        let first = waiting.next().unwrap();
        tokio::time::timeout(Duration::from_secs(5), waiting.next().unwrap())
            .await
            .expect("woken")
            .unwrap();
        assert!(!first.is_finished(), "the other connection stopped too");
        stop.stop();
        tokio::time::timeout(Duration::from_secs(5), first)
            .await
            .expect("woken by the server's stop")
            .unwrap();
    }
}
