//! The header and idle timeouts of one connection, enforced in its socket.
//!
//! hyper 1's own `header_read_timeout` starts when a keep-alive connection goes idle, so it
//! would close idle connections after the header timeout (10 s) instead of the idle timeout
//! (60 s). Here a connection is in one of four phases:
//! - `Fresh`: accepted, no byte received yet. Limited to the header timeout.
//! - `Headers`: from the first byte of a request until hyper has the whole head and calls the
//!   service. Limited to the header timeout in total (from accept for the first request),
//!   however slowly the bytes trickle in (slowloris).
//! - `Serving`: the service runs, until the response starts to be written. Never timed out here: a slow
//!   upstream call is bounded by the SDK's timeouts.
//! - `Idle`: from the response's first write until the next request's first byte. Limited to the idle
//!   timeout without any traffic.
//!
//! Time is counted in ticks (a quarter of the shorter timeout) of one timer per connection that
//! is only polled while a read waits, so a request costs no timer operation or clock read; a
//! connection closes between the timeout and the timeout plus one tick. When the timeout
//! expires the read fails with `TimedOut` and hyper closes the connection.

use super::connection_state::{ConnectionState, Phase};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

pub struct TimedIo<T> {
    io: T,
    state: Arc<ConnectionState>,
    /// Bytes moved since the last tick (idle connections only time out without traffic).
    active: bool,
    ticks: u32,
    header_ticks: u32,
    idle_ticks: u32,
    tick_len: Duration,
    /// Made the first time a read waits: a connection whose request is already in the socket
    /// when it is accepted (`Connection: close` clients) never needs a timer.
    tick: Option<Pin<Box<Sleep>>>,
}

impl<T> TimedIo<T> {
    pub fn new(io: T, state: Arc<ConnectionState>, header: Duration, idle: Duration) -> Self {
        let tick_len = (header.min(idle) / 4).max(Duration::from_millis(10));
        let ticks = |timeout: Duration| (timeout.as_nanos() / tick_len.as_nanos()) as u32 + 1;
        TimedIo {
            io,
            state,
            active: false,
            ticks: 0,
            header_ticks: ticks(header),
            idle_ticks: ticks(idle),
            tick_len,
            tick: None,
        }
    }

    fn phase(&self) -> Phase {
        self.state.phase()
    }

    fn enter(&mut self, phase: Phase) {
        self.state.enter(phase);
        self.ticks = 0;
    }

    /// The response is being written: the connection counts as idle from now on. hyper may
    /// not poll the read side again until the client sends something, so waiting for a read
    /// to notice would leave an answered connection `Serving` for a whole tick (and the
    /// accept loop, at the cap, unable to tell it is idle). A long response still being
    /// written when the accept loop asks the connection to give way is finished first
    /// (graceful shutdown), and its writes count as traffic for the idle timeout.
    fn on_write(&mut self) {
        self.active = true;
        if self.phase() == Phase::Serving {
            self.enter(Phase::Idle);
        }
    }

    fn on_read(&mut self) {
        self.active = true;
        match self.phase() {
            Phase::Idle => self.enter(Phase::Headers),
            // The first request's header time counts from accept: the ticks go on.
            Phase::Fresh => self.state.enter(Phase::Headers),
            _ => {}
        }
    }

    /// A read is waiting: counts the ticks that pass and fails the read when the phase's
    /// time is up.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let tick_len = self.tick_len;
        if self.tick.is_none() {
            self.tick = Some(Box::pin(tokio::time::sleep(tick_len)));
        }
        loop {
            let tick = self.tick.as_mut().expect("made above");
            ready!(tick.as_mut().poll(cx));
            // At most one tick per wake-up: after a Lambda freeze the connection gets a fresh
            // window instead of being closed at the instant the client may reuse it.
            tick.as_mut().reset(Instant::now() + tick_len);
            let limit = match self.phase() {
                Phase::Serving => {
                    self.ticks = 0;
                    continue;
                }
                Phase::Headers | Phase::Fresh => self.header_ticks,
                Phase::Idle if self.active => {
                    self.ticks = 0;
                    self.active = false;
                    continue;
                }
                Phase::Idle => self.idle_ticks,
            };
            self.active = false;
            self.ticks += 1;
            if self.ticks >= limit {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    match self.phase() {
                        Phase::Idle => "idle timeout",
                        _ => "header timeout",
                    },
                )));
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TimedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.on_read();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.poll_expired(cx),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TimedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = ready!(Pin::new(&mut this.io).poll_write(cx, buf))?;
        this.on_write();
        Poll::Ready(Ok(written))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = ready!(Pin::new(&mut this.io).poll_write_vectored(cx, bufs))?;
        this.on_write();
        Poll::Ready(Ok(written))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
