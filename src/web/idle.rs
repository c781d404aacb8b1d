//! The connections waiting for a request head (a new one, TLS handshake included, a
//! slow-loris one still sending its head, a kept-alive one between requests), longest idle
//! first. When the connection cap is full, a new connection takes the place of the one idle
//! longest, as nginx reuses idle keep-alive connections: a flood of idle or slow-loris
//! connections then cannot keep `/healthz` or the scrape out. A connection serving a request
//! or writing a response is never in the queue, so no request in flight is cut.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

/// `Seat::key` of a connection serving a request or writing its response.
const BUSY: u64 = 0;
/// `Seat::key` of a connection told to close.
const EVICTED: u64 = u64::MAX;

/// The idle connections of one server, longest idle first.
pub(crate) struct Idle {
    queue: Mutex<Queue>,
}

struct Queue {
    /// The key the next connection to become idle gets (keys only grow: 1, 2, …).
    next: u64,
    /// The idle connections by the key they got when they became idle.
    waiting: BTreeMap<u64, Arc<Seat>>,
}

/// One connection's place.
struct Seat {
    /// Its key in `Queue::waiting` while idle, else `BUSY` or `EVICTED`; only changed with
    /// the queue locked.
    key: AtomicU64,
    /// Told once the connection is evicted.
    evicted: Notify,
}

impl Idle {
    /// No connection yet.
    pub(crate) fn new() -> Arc<Idle> {
        Arc::new(Idle {
            queue: Mutex::new(Queue {
                next: 1,
                waiting: BTreeMap::new(),
            }),
        })
    }

    /// A new connection: idle (last in line) until its first request head is complete.
    pub(crate) fn join(self: &Arc<Self>) -> Member {
        let member = Member {
            idle: Arc::clone(self),
            seat: Arc::new(Seat {
                key: AtomicU64::new(BUSY),
                evicted: Notify::new(),
            }),
        };
        member.waiting();
        member
    }

    /// Tells the connection idle longest to close, and forgets it: false if there is none
    /// (every connection is busy).
    pub(crate) fn evict(&self) -> bool {
        let mut queue = self.lock();
        let Some((_, seat)) = queue.waiting.pop_first() else {
            return false;
        };
        seat.key.store(EVICTED, Ordering::Relaxed);
        seat.evicted.notify_one();
        true
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // The queue is consistent after each statement: a panic elsewhere leaves it usable.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A connection's membership: it leaves the queue when dropped.
pub(crate) struct Member {
    idle: Arc<Idle>,
    seat: Arc<Seat>,
}

impl Member {
    /// The connection waits for a request head: it joins the end of the line, unless it is
    /// already in it (its place is kept) or evicted.
    pub(crate) fn waiting(&self) {
        let mut queue = self.idle.lock();
        if self.seat.key.load(Ordering::Relaxed) == BUSY {
            let key = queue.next;
            queue.next += 1;
            queue.waiting.insert(key, Arc::clone(&self.seat));
            self.seat.key.store(key, Ordering::Relaxed);
        }
    }

    /// A request begins: the connection leaves the line. False if it was evicted first (it
    /// is closing, and must not start the request).
    pub(crate) fn busy(&self) -> bool {
        let mut queue = self.idle.lock();
        match self.seat.key.load(Ordering::Relaxed) {
            EVICTED => false,
            BUSY => true,
            key => {
                queue.waiting.remove(&key);
                self.seat.key.store(BUSY, Ordering::Relaxed);
                true
            }
        }
    }

    /// Returns once the connection is evicted (at once if it already was).
    pub(crate) async fn evicted(&self) {
        self.seat.evicted.notified().await;
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let mut queue = self.idle.lock();
        let key = self.seat.key.load(Ordering::Relaxed);
        if key != BUSY && key != EVICTED {
            queue.waiting.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn is_evicted(member: &Member) -> bool {
        let now = std::pin::pin!(member.evicted());
        futures_util::FutureExt::now_or_never(now).is_some()
    }

    #[test]
    fn the_connection_idle_longest_is_evicted_first() {
        let idle = Idle::new();
        let (first, second, third) = (idle.join(), idle.join(), idle.join());
        // The first serves a request and goes back to waiting: it is now idle the shortest.
        assert!(first.busy());
        first.waiting();
        // Waiting again (a request head armed a second time) keeps its place.
        second.waiting();
        assert!(idle.evict());
        assert!(is_evicted(&second));
        assert!(!is_evicted(&third) && !is_evicted(&first));
        assert!(idle.evict());
        assert!(is_evicted(&third));
        assert!(idle.evict());
        assert!(is_evicted(&first));
        assert!(!idle.evict(), "no idle connection left");
    }

    #[test]
    fn a_busy_connection_is_never_evicted() {
        let idle = Idle::new();
        let serving = idle.join();
        assert!(serving.busy());
        assert!(serving.busy(), "busy twice is still busy");
        assert!(!idle.evict());
        assert!(!is_evicted(&serving));
        // A connection that closes leaves the line.
        drop(idle.join());
        assert!(!idle.evict());
    }

    #[test]
    fn a_request_completed_after_its_connection_was_evicted_is_not_started() {
        let idle = Idle::new();
        let member = idle.join();
        assert!(idle.evict());
        assert!(!member.busy());
        member.waiting();
        assert!(!idle.evict(), "an evicted connection does not wait again");
        drop(member);
    }

    #[tokio::test]
    async fn an_eviction_wakes_its_waiting_connection() {
        let idle = Idle::new();
        let member = Arc::new(idle.join());
        let waiting = Arc::clone(&member);
        let closed = tokio::spawn(async move { waiting.evicted().await });
        tokio::task::yield_now().await;
        assert!(idle.evict());
        tokio::time::timeout(Duration::from_secs(1), closed)
            .await
            .expect("woken")
            .expect("task");
    }
}
