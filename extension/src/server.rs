//! The HTTP server: accepting connections, serving each with hyper, and stopping.
//!
//! `serve` takes listeners bound by the caller (port 0 in tests) and a shutdown future, in the
//! manner of mini-redis's `run(listener, shutdown)`. The accept loop is our own (as in axum's
//! `serve-with-hyper` example) so that each connection gets the header and idle timeouts, the
//! connection cap and no per-request layer above `routes::dispatch`.

mod connection_state;
mod give_way;
mod memory;
mod stop;
mod timeouts;

use crate::app::App;
use crate::awsapi;
use crate::config::Config;
use crate::restore::Restores;
use crate::routes::{self, Door, Reply};
use connection_state::{ConnectionState, Phase};
use futures_util::future::Either;
use give_way::{AtCap, Tracked, GIVE_WAY_AFTER, RECHECK};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::{Future, Ready};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use stop::{Slot, Slots, Stop};
use timeouts::TimedIo;
use tokio::net::TcpListener;

/// How long a client may hold a connection without progress, and how many it may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// From accepting a connection, or the first byte of a request, to its complete headers.
    pub header_timeout: Duration,
    /// From a response to the first byte of the next request on a keep-alive connection.
    pub idle_timeout: Duration,
    /// Concurrent connections; more wait in the listen queue.
    pub max_connections: usize,
}

impl Limits {
    pub fn from_config(config: &Config) -> Self {
        Limits {
            header_timeout: config.header_timeout,
            idle_timeout: config.idle_timeout,
            max_connections: config.max_client_connections,
        }
    }
}

/// Serves on every listener until `shutdown` completes, then stops accepting, lets in-flight
/// requests finish (closing idle connections at once) and returns when every connection has
/// closed (the caller bounds that wait).
pub async fn serve(
    listeners: Vec<(TcpListener, Door)>,
    app: Arc<App>,
    restores: Arc<Restores>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Slots::new(limits.max_connections);
    let stop = Arc::new(Stop::default());
    let server = Server {
        app,
        restores,
        limits,
        slots: slots.clone(),
        memory: Arc::new(memory::BurstTrim::default()),
        stop: stop.clone(),
    };
    let accepting = tokio::spawn(server.accept_loop(listeners));
    shutdown.await;
    stop.stop();
    accepting.await.map_err(std::io::Error::other)?;
    // Every connection holds a slot until it closes.
    slots.all_free().await;
    Ok(())
}

struct Server {
    app: Arc<App>,
    restores: Arc<Restores>,
    limits: Limits,
    slots: Arc<Slots>,
    memory: Arc<memory::BurstTrim>,
    stop: Arc<Stop>,
}

impl Server {
    /// One loop for every listener, so that the one slot it waits with is for whichever
    /// listener has a connection first.
    async fn accept_loop(self, listeners: Vec<(TcpListener, Door)>) {
        // One wait for the stop signal for the whole loop, not one per select.
        let stop = self.stop.clone();
        let stop = stop.stopped();
        tokio::pin!(stop);
        let any = || {
            std::future::poll_fn(|cx| {
                for (listener, door) in &listeners {
                    if let Poll::Ready(accepted) = listener.poll_accept(cx) {
                        return Poll::Ready(accepted.map(|(stream, _)| (stream, *door)));
                    }
                }
                Poll::Pending
            })
        };
        let mut tracked = Tracked::new(self.limits.max_connections);
        loop {
            // The slot first: beyond the cap, connections wait in the kernel's listen queue
            // while an idle connection is asked to give way (`give_way`).
            let slot = tokio::select! {
                slot = self.slot(&mut tracked) => slot,
                _ = &mut stop => return,
            };
            let (stream, door) = tokio::select! {
                accepted = any() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of descriptors or a connection reset before accept: not fatal.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = &mut stop => return,
            };
            let connection = self.connection(tracked.add(), door);
            tokio::spawn(async move {
                connection.run(stream).await;
                drop(slot);
            });
        }
    }

    /// A free slot; at the cap, the one an idle connection gives back once asked to.
    async fn slot(&self, tracked: &mut Tracked) -> Slot {
        loop {
            if let Some(slot) = self.slots.try_take() {
                return slot;
            }
            let now = std::time::Instant::now();
            // An idle connection asked to give way closes at once; one that began a request
            // meanwhile finishes it first, and another may then be asked.
            let look_again = match tracked.pick(&self.stop, now, GIVE_WAY_AFTER) {
                AtCap::AskedOneToGiveWay => now + RECHECK,
                AtCap::LookAgainAt(at) => at,
            };
            tokio::select! {
                slot = self.slots.take() => return slot,
                _ = tokio::time::sleep_until(look_again.into()) => {}
            }
        }
    }

    fn connection(&self, state: Arc<ConnectionState>, door: Door) -> Connection {
        Connection {
            door,
            app: self.app.clone(),
            restores: self.restores.clone(),
            limits: self.limits,
            memory: self.memory.clone(),
            stop: self.stop.clone(),
            state,
        }
    }
}

struct Connection {
    /// The listener it came in on.
    door: Door,
    app: Arc<App>,
    restores: Arc<Restores>,
    limits: Limits,
    memory: Arc<memory::BurstTrim>,
    stop: Arc<Stop>,
    state: Arc<ConnectionState>,
}

impl Connection {
    async fn run(self, stream: tokio::net::TcpStream) {
        let _open = self.memory.opened();
        let io = TimedIo::new(
            stream,
            self.state.clone(),
            self.limits.header_timeout,
            self.limits.idle_timeout,
        );
        let service = Dispatch {
            door: self.door,
            app: self.app.clone(),
            restores: self.restores.clone(),
            state: self.state.clone(),
        };
        let connection = http1::Builder::new()
            .writev(false)
            .serve_connection(TokioIo::new(io), service);
        tokio::pin!(connection);
        let result = tokio::select! {
            biased;
            result = connection.as_mut() => result,
            // The server stops, or this connection, idle at the cap, is asked to give way.
            _ = self.stop.stopped_or(self.state.give_way()) => {
                // Finishes the request in flight, if any, then closes; an idle one closes now.
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(error) = result {
            // Timeouts, resets and malformed requests: the client's business, not an error of ours.
            tracing::debug!(%error, "connection ended");
        }
    }
}

/// One connection's requests: marks them as being served (for the timeouts), catches up with a
/// SnapStart restore, then `awsapi::serve`, `routes::answer_hit` or `routes::dispatch`.
#[derive(Clone)]
struct Dispatch {
    door: Door,
    app: Arc<App>,
    restores: Arc<Restores>,
    state: Arc<ConnectionState>,
}

impl hyper::service::Service<http::Request<Incoming>> for Dispatch {
    type Response = Reply;
    type Error = Infallible;
    type Future = Either<Ready<Result<Reply, Infallible>>, BoxedReply>;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        self.state.enter(Phase::Serving);
        self.restores.catch_up();
        let (app, door) = (self.app.clone(), self.door);
        // AWS's own APIs (a stock SDK's requests) in a future of their own size.
        if let Some(api) = awsapi::recognise(&request).filter(|_| door != Door::Agent) {
            return Either::Right(Box::pin(async move {
                Ok(awsapi::serve(&app, door, api, request).await)
            }));
        }
        // A fresh hit needs no future of its own: no allocation, no state machine.
        if let Some(reply) = routes::answer_hit(&app, door, &request) {
            return Either::Left(std::future::ready(Ok(reply)));
        }
        Either::Right(Box::pin(async move {
            Ok(routes::dispatch(&app, door, &request).await)
        }))
    }
}

type BoxedReply = Pin<Box<dyn Future<Output = Result<Reply, Infallible>> + Send>>;
