//! The two signals the accept loop and its connections share, each costing a request nothing:
//! the stop signal (`Stop`) and the connection cap (`Slots`).
//!
//! tokio's `watch` and `Semaphore` would do, but each takes a lock where these take none: a
//! connection task polls its stop future every time it wakes (once or twice per request), and
//! `watch`'s future re-registers under the channel's lock on every poll; a semaphore permit
//! takes the waiters' lock when released (once per connection). Here a poll is one atomic load
//! and a waker comparison, and a connection's slot is two atomic operations.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use tokio::sync::Notify;

/// One connection's own stop request, besides the server's: the accept loop asks an idle
/// connection to give way at the cap (`give_way`). Waking it goes through the same waiter list.
#[derive(Default)]
pub struct StopRequest {
    requested: AtomicBool,
    /// The connection's slot in `Stop::waiters`, plus one (0: not registered yet).
    waiter: AtomicUsize,
}

impl StopRequest {
    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }
}

/// Set once, when the server stops; every connection waits for it.
#[derive(Default)]
pub struct Stop {
    stopped: AtomicBool,
    /// The wakers of the tasks waiting now, by slot; freed slots are `None` and reused.
    waiters: Mutex<Vec<Option<Waker>>>,
}

impl Stop {
    /// Sets the signal and wakes every waiter.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let waiters = std::mem::take(&mut *self.waiters.lock().expect("stop lock"));
        for waker in waiters.into_iter().flatten() {
            waker.wake();
        }
    }

    /// Completes once `stop` has been called (at once if it already was).
    pub fn stopped(&self) -> Stopped<'_> {
        Stopped {
            stop: self,
            own: None,
            slot: None,
        }
    }

    /// `stopped`, or `own` requested (`request`), whichever comes first.
    pub fn stopped_or<'a>(&'a self, own: &'a StopRequest) -> Stopped<'a> {
        Stopped {
            stop: self,
            own: Some(own),
            slot: None,
        }
    }

    /// Asks the one connection waiting with `own` to stop, and wakes it.
    pub fn request(&self, own: &StopRequest) {
        own.requested.store(true, Ordering::SeqCst);
        let waiters = self.waiters.lock().expect("stop lock");
        // Registered under this lock before it was released: either the waiter sees the flag
        // or its slot is here. A slot since reused by another connection is woken in vain.
        if let Some(slot) = own.waiter.load(Ordering::SeqCst).checked_sub(1) {
            if let Some(Some(waker)) = waiters.get(slot) {
                waker.wake_by_ref();
            }
        }
    }
}

/// Registers its task's waker on the first poll and again only if the task's waker changes, so
/// the usual poll is one atomic load.
pub struct Stopped<'a> {
    stop: &'a Stop,
    own: Option<&'a StopRequest>,
    slot: Option<(usize, Waker)>,
}

impl Stopped<'_> {
    fn done(&self) -> bool {
        self.stop.stopped.load(Ordering::SeqCst) || self.own.is_some_and(StopRequest::is_requested)
    }
}

impl Future for Stopped<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.done() {
            return Poll::Ready(());
        }
        if matches!(&self.slot, Some((_, waker)) if waker.will_wake(cx.waker())) {
            return Poll::Pending;
        }
        let mut waiters = self.stop.waiters.lock().expect("stop lock");
        // Checked again under the lock: `stop` and `request` set their flag before they take
        // the waiters, so either they see this waker or this sees the flag.
        if self.done() {
            return Poll::Ready(());
        }
        let waker = cx.waker().clone();
        let slot = match self.slot {
            Some((slot, _)) => slot,
            None => match waiters.iter().position(Option::is_none) {
                Some(free) => free,
                None => {
                    waiters.push(None);
                    waiters.len() - 1
                }
            },
        };
        waiters[slot] = Some(waker.clone());
        if let Some(own) = self.own {
            own.waiter.store(slot + 1, Ordering::SeqCst);
        }
        drop(waiters);
        self.slot = Some((slot, waker));
        Poll::Pending
    }
}

impl Drop for Stopped<'_> {
    fn drop(&mut self) {
        if let Some((slot, _)) = self.slot.take() {
            let mut waiters = self.stop.waiters.lock().expect("stop lock");
            // After `stop` the list is empty: nothing of ours is left to clear.
            if let Some(waiter) = waiters.get_mut(slot) {
                *waiter = None;
            }
        }
    }
}

/// At most `max` connections at once: the accept loop takes a slot before it accepts, and a
/// connection gives it back when it closes.
pub struct Slots {
    open: AtomicUsize,
    max: usize,
    /// Notified when a slot frees up while all were taken, and when the last one closes.
    freed: Notify,
}

/// One taken slot, given back when dropped.
pub struct Slot(Arc<Slots>);

impl Slots {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Slots {
            open: AtomicUsize::new(0),
            max: max.max(1),
            freed: Notify::new(),
        })
    }

    /// Waits for a free slot and takes it.
    pub async fn take(self: &Arc<Self>) -> Slot {
        loop {
            if let Some(slot) = self.try_take() {
                return slot;
            }
            self.wait_for(|open| open < self.max).await;
        }
    }

    /// A free slot, if there is one now.
    pub fn try_take(self: &Arc<Self>) -> Option<Slot> {
        let mut open = self.open.load(Ordering::Acquire);
        while open < self.max {
            match self
                .open
                .compare_exchange(open, open + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Some(Slot(self.clone())),
                Err(now) => open = now,
            }
        }
        None
    }

    /// Waits until every slot has been given back.
    pub async fn all_free(&self) {
        self.wait_for(|open| open == 0).await;
    }

    /// Waits until `ready(open connections)` holds. `notify_one` keeps a permit when nobody
    /// waits, so a slot freed between the check and the wait is not missed.
    async fn wait_for(&self, ready: impl Fn(usize) -> bool) {
        while !ready(self.open.load(Ordering::Acquire)) {
            self.freed.notified().await;
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let before = self.0.open.fetch_sub(1, Ordering::AcqRel);
        // Only the accept loop (all slots taken) or the final drain (the last one) can be
        // waiting; anyone else closing wakes nobody.
        if before == self.0.max || before == 1 {
            self.0.freed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn stop_wakes_every_waiter_and_later_ones_finish_at_once() {
        let stop = Arc::new(Stop::default());
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let stop = stop.clone();
                tokio::spawn(async move { stop.stopped().await })
            })
            .collect();
        tokio::task::yield_now().await;
        assert_eq!(stop.waiters.lock().unwrap().iter().flatten().count(), 3);
        stop.stop();
        for waiter in waiters {
            tokio::time::timeout(Duration::from_secs(5), waiter)
                .await
                .expect("woken")
                .unwrap();
        }
        stop.stopped().await;
    }

    #[tokio::test]
    async fn a_dropped_waiter_frees_its_slot_for_the_next() {
        let stop = Stop::default();
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut first = Box::pin(stop.stopped());
        assert!(first.as_mut().poll(&mut cx).is_pending());
        drop(first);
        assert_eq!(stop.waiters.lock().unwrap().iter().flatten().count(), 0);
        let mut second = Box::pin(stop.stopped());
        assert!(second.as_mut().poll(&mut cx).is_pending());
        assert_eq!(stop.waiters.lock().unwrap().len(), 1, "the slot was reused");
    }

    #[tokio::test]
    async fn slots_cap_connections_and_report_when_all_are_free() {
        let slots = Slots::new(2);
        let a = slots.take().await;
        let b = slots.take().await;
        assert_eq!(slots.open.load(Ordering::Acquire), 2);
        let third = tokio::spawn({
            let slots = slots.clone();
            async move { slots.take().await }
        });
        tokio::task::yield_now().await;
        assert!(!third.is_finished(), "a third slot is not free");
        drop(a);
        let c = tokio::time::timeout(Duration::from_secs(5), third)
            .await
            .expect("a freed slot is taken")
            .unwrap();
        assert_eq!(slots.open.load(Ordering::Acquire), 2);
        let drained = tokio::spawn({
            let slots = slots.clone();
            async move { slots.all_free().await }
        });
        drop(b);
        tokio::task::yield_now().await;
        assert!(!drained.is_finished(), "one is still open");
        drop(c);
        tokio::time::timeout(Duration::from_secs(5), drained)
            .await
            .expect("all free")
            .unwrap();
    }
}
