//! One connection's state, shared by the three parties that look at it: the connection's socket
//! (`timeouts.rs`: which timeout applies), its service (`server.rs`: a request is being served)
//! and the accept loop (`give_way.rs`: which idle connection to close at the cap). Its own module
//! so that neither of those two depends on the other.

use super::stop::StopRequest;
use std::sync::atomic::{AtomicU64, Ordering};

/// Kept in the connection's [`ConnectionState`], shared with the service (which sets `Serving`
/// when it is called) and the accept loop (which closes idle connections at the cap).
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Headers = 0,
    Serving = 1,
    Idle = 2,
    Fresh = 3,
}

impl Phase {
    pub fn from_u8(value: u8) -> Phase {
        match value {
            0 => Phase::Headers,
            1 => Phase::Serving,
            2 => Phase::Idle,
            _ => Phase::Fresh,
        }
    }
}

/// The order in which connections went idle, across the process.
static IDLE_ORDER: AtomicU64 = AtomicU64::new(1);

/// What a connection shares with the accept loop.
pub struct ConnectionState {
    /// The phase in the low byte; for `Idle` and `Fresh`, the idle order above it.
    word: AtomicU64,
    /// Set by the accept loop: close at the next opportunity.
    give_way: StopRequest,
}

impl Default for ConnectionState {
    fn default() -> Self {
        let state = ConnectionState {
            word: AtomicU64::new(0),
            give_way: StopRequest::default(),
        };
        state.enter(Phase::Fresh);
        state
    }
}

impl ConnectionState {
    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.word.load(Ordering::Relaxed) as u8)
    }

    pub fn enter(&self, phase: Phase) {
        let order = match phase {
            Phase::Idle | Phase::Fresh => IDLE_ORDER.fetch_add(1, Ordering::Relaxed) << 8,
            Phase::Headers | Phase::Serving => 0,
        };
        self.word.store(order | phase as u64, Ordering::Relaxed);
    }

    /// When this connection went idle, as an order; `None` while a request is in progress.
    pub(super) fn idle_order(&self) -> Option<u64> {
        let word = self.word.load(Ordering::Relaxed);
        match Phase::from_u8(word as u8) {
            Phase::Idle | Phase::Fresh => Some(word >> 8),
            Phase::Headers | Phase::Serving => None,
        }
    }

    /// The request the accept loop makes to close this connection (`Stop::request`).
    pub fn give_way(&self) -> &StopRequest {
        &self.give_way
    }
}
