//! Per-endpoint state that outlives table swaps: in-flight count, passive health, drain.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Passive health of one endpoint: consecutive connect failures and the ejection they
/// earned.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Health {
    failures: u32,
    ejected_until: Option<Instant>,
}

impl Health {
    /// Whether new connections should avoid this endpoint at `now`.
    pub(crate) fn is_ejected(&self, now: Instant) -> bool {
        self.ejected_until.is_some_and(|until| now < until)
    }

    /// Records a failed connect at `now` and returns the ejection it earns:
    /// `base × 2^(failures-1)`, capped at `max`.
    pub(crate) fn fail(&mut self, now: Instant, base: Duration, max: Duration) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let exp = self.failures.saturating_sub(1).min(20);
        let backoff = base.saturating_mul(1u32 << exp).min(max);
        self.ejected_until = Some(now + backoff);
        backoff
    }

    /// Records a successful connect: the endpoint is healthy again.
    pub(crate) fn succeed(&mut self) {
        *self = Self::default();
    }

    /// When the current ejection ends (for ordering ejected endpoints).
    pub(crate) fn ejected_until(&self) -> Option<Instant> {
        self.ejected_until
    }
}

/// One backend address of one frontend.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) addr: SocketAddr,
    active: AtomicUsize,
    health: Mutex<Health>,
    /// Cancelled as soon as the endpoint leaves the frontend's backend set: UDP flows
    /// (which have no connection the client could notice) move away at once, as kube-proxy
    /// clears the conntrack entries of a removed UDP endpoint.
    pub(crate) removed: CancellationToken,
    /// Cancelled when the drain deadline after removal has passed: established TCP
    /// connections are reset then.
    pub(crate) gone: CancellationToken,
}

impl Endpoint {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            active: AtomicUsize::new(0),
            health: Mutex::new(Health::default()),
            removed: CancellationToken::new(),
            gone: CancellationToken::new(),
        }
    }

    /// In-flight connections (or UDP flows) through this endpoint.
    pub(crate) fn active(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    /// Counts one in-flight connection until the guard is dropped.
    pub(crate) fn acquire(self: &std::sync::Arc<Self>) -> InFlight {
        self.active.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    pub(crate) fn health(&self) -> Health {
        *self.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn fail(&self, now: Instant, base: Duration, max: Duration) -> Duration {
        self.health
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .fail(now, base, max)
    }

    pub(crate) fn succeed(&self) {
        self.health
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .succeed();
    }
}

/// An in-flight connection on an [`Endpoint`]; decrements its count on drop.
#[derive(Debug)]
pub(crate) struct InFlight(std::sync::Arc<Endpoint>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn backoff_doubles_to_the_cap_and_resets_on_success() {
        let base = Duration::from_secs(1);
        let max = Duration::from_secs(30);
        let mut h = Health::default();
        let now = Instant::now();
        assert!(!h.is_ejected(now));
        let backoffs: Vec<u64> = (0..8).map(|_| h.fail(now, base, max).as_secs()).collect();
        assert_eq!(backoffs, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert!(h.is_ejected(now + Duration::from_secs(29)));
        assert!(!h.is_ejected(now + Duration::from_secs(30)));
        h.succeed();
        assert!(!h.is_ejected(now));
        assert_eq!(h.fail(now, base, max), base);
    }

    #[tokio::test(start_paused = true)]
    async fn ejection_expires_with_time() {
        let ep = Endpoint::new("127.0.0.1:1".parse().expect("addr"));
        ep.fail(
            Instant::now(),
            Duration::from_secs(1),
            Duration::from_secs(30),
        );
        assert!(ep.health().is_ejected(Instant::now()));
        tokio::time::advance(Duration::from_millis(1001)).await;
        assert!(!ep.health().is_ejected(Instant::now()));
    }

    #[test]
    fn in_flight_guard_counts() {
        let ep = std::sync::Arc::new(Endpoint::new("127.0.0.1:1".parse().expect("addr")));
        let a = ep.acquire();
        let b = ep.acquire();
        assert_eq!(ep.active(), 2);
        drop(a);
        assert_eq!(ep.active(), 1);
        drop(b);
        assert_eq!(ep.active(), 0);
    }
}
