//! Client-side rate limiting of requests to one cluster: a token bucket with a rate (QPS) and a burst,
//! as client-go's (`ARGOCD_K8S_CLIENT_QPS`, `ARGOCD_K8S_CLIENT_BURST`). Watches are not limited.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token bucket; a rate of zero or less means no limit.
#[derive(Debug)]
pub(crate) struct Throttle {
    qps: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl Throttle {
    pub(crate) fn new(qps: f64, burst: u32) -> Throttle {
        let burst = f64::from(burst.max(1));
        Throttle {
            qps,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Takes a token at `now`; returns how long the caller must wait before its request.
    pub(crate) fn reserve(&self, now: Instant) -> Duration {
        if self.qps <= 0.0 {
            return Duration::ZERO;
        }
        let Ok(mut state) = self.state.lock() else {
            return Duration::ZERO;
        };
        let (tokens, last) = *state;
        let refilled =
            (tokens + now.saturating_duration_since(last).as_secs_f64() * self.qps).min(self.burst);
        let left = refilled - 1.0;
        *state = (left, now);
        if left >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-left / self.qps)
        }
    }

    /// Waits for a token.
    pub(crate) async fn wait(&self) {
        let delay = self.reserve(Instant::now());
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_never_waits() {
        let t = Throttle::new(0.0, 1);
        let now = Instant::now();
        for _ in 0..1000 {
            assert_eq!(t.reserve(now), Duration::ZERO);
        }
    }

    #[test]
    fn burst_then_rate() {
        let t = Throttle::new(10.0, 3);
        let now = Instant::now();
        // three at once (the burst), then one every 100 ms
        for _ in 0..3 {
            assert_eq!(t.reserve(now), Duration::ZERO);
        }
        let fourth = t.reserve(now);
        assert!((fourth.as_secs_f64() - 0.1).abs() < 1e-6, "{fourth:?}");
        let fifth = t.reserve(now);
        assert!((fifth.as_secs_f64() - 0.2).abs() < 1e-6, "{fifth:?}");
        // after a quiet second the bucket is full again, never above the burst
        let later = now + Duration::from_secs(10);
        for _ in 0..3 {
            assert_eq!(t.reserve(later), Duration::ZERO);
        }
        assert!(t.reserve(later) > Duration::ZERO);
    }
}
