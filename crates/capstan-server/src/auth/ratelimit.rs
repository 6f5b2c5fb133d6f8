//! Login rate limiting per user name and per source address.
//!
//! Failures are counted in a sliding window. Every failure is answered after a delay that grows with
//! the number of failures of that user or address; after `max_failures` for a user (or
//! `max_source_failures` for an address) further attempts are refused without checking the password
//! until the window has passed. The per-user table is bounded: when it is full, entries with failures are
//! never evicted to make room, so a flood of random user names cannot reset the count of a real user
//! (new names are then only limited through their source address).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Failures of one user within `window` before attempts are refused.
    pub max_failures: u32,
    /// Failures from one address within `window` before attempts are refused.
    pub max_source_failures: u32,
    /// Window.
    pub window: Duration,
    /// Delay after the first failure; doubles with each further one.
    pub base_delay: Duration,
    /// Largest delay.
    pub max_delay: Duration,
    /// Most user names tracked at once.
    pub max_users: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_failures: 5,
            max_source_failures: 20,
            window: Duration::from_secs(300),
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(3),
            max_users: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: Instant,
}

/// The limiter state.
#[derive(Debug)]
pub struct LoginLimiter {
    limits: Limits,
    users: Mutex<HashMap<String, Entry>>,
    sources: Mutex<HashMap<IpAddr, Entry>>,
}

impl LoginLimiter {
    /// A limiter with these limits.
    pub fn new(limits: Limits) -> LoginLimiter {
        LoginLimiter {
            limits,
            users: Mutex::new(HashMap::new()),
            sources: Mutex::new(HashMap::new()),
        }
    }

    fn live<K: std::hash::Hash + Eq>(&self, map: &HashMap<K, Entry>, key: &K) -> u32 {
        map.get(key)
            .filter(|e| e.last.elapsed() < self.limits.window)
            .map_or(0, |e| e.failures)
    }

    /// `Err(message)` when attempts for this user or address are currently refused.
    pub fn check(&self, user: &str, source: IpAddr) -> Result<(), String> {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        if self.live(&users, &user.to_string()) >= self.limits.max_failures {
            return Err(format!(
                "too many failed login attempts for {user}; try again later"
            ));
        }
        drop(users);
        let sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        if self.live(&sources, &source) >= self.limits.max_source_failures {
            return Err("too many failed login attempts from this address; try again later".into());
        }
        Ok(())
    }

    /// Records a failure and returns how long to wait before answering.
    pub fn failure(&self, user: &str, source: IpAddr) -> Duration {
        let now = Instant::now();
        let window = self.limits.window;
        let bump = |e: &mut Entry| {
            if e.last.elapsed() >= window {
                e.failures = 0;
            }
            e.failures = e.failures.saturating_add(1);
            e.last = now;
            e.failures
        };
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        if users.len() >= self.limits.max_users && !users.contains_key(user) {
            // make room only from expired entries; live failures are never dropped
            users.retain(|_, e| e.last.elapsed() < window);
        }
        let user_failures = if users.len() < self.limits.max_users || users.contains_key(user) {
            bump(users.entry(user.to_string()).or_insert(Entry {
                failures: 0,
                last: now,
            }))
        } else {
            0
        };
        drop(users);
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        if sources.len() >= self.limits.max_users && !sources.contains_key(&source) {
            sources.retain(|_, e| e.last.elapsed() < window);
        }
        let source_failures = bump(sources.entry(source).or_insert(Entry {
            failures: 0,
            last: now,
        }));
        drop(sources);
        let n = user_failures.max(source_failures).max(1);
        let factor = 1u32
            .checked_shl(n.saturating_sub(1).min(16))
            .unwrap_or(u32::MAX);
        self.limits
            .base_delay
            .saturating_mul(factor)
            .min(self.limits.max_delay)
    }

    /// A successful login clears the user's count (not the address's).
    pub fn success(&self, user: &str) {
        self.users
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(user);
    }

    /// Current failure count of a user.
    pub fn user_failures(&self, user: &str) -> u32 {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        self.live(&users, &user.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_failures: 3,
            max_source_failures: 10,
            window: Duration::from_secs(60),
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
            max_users: 4,
        }
    }

    #[test]
    fn delays_grow_then_attempts_are_refused() {
        let l = LoginLimiter::new(limits());
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(l.check("alice", ip).is_ok());
        assert_eq!(l.failure("alice", ip), Duration::from_millis(10));
        assert_eq!(l.failure("alice", ip), Duration::from_millis(20));
        assert_eq!(l.failure("alice", ip), Duration::from_millis(40));
        assert!(l.check("alice", ip).unwrap_err().contains("alice"));
        // another user from another address is unaffected
        assert!(l.check("bob", "10.0.0.2".parse().unwrap()).is_ok());
    }

    #[test]
    fn random_names_do_not_reset_a_user() {
        let l = LoginLimiter::new(limits());
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..3 {
            l.failure("alice", ip);
        }
        for i in 0..100 {
            l.failure(
                &format!("random-{i}"),
                format!("10.1.{}.{}", i / 250, i % 250).parse().unwrap(),
            );
        }
        assert_eq!(l.user_failures("alice"), 3);
        assert!(l.check("alice", "10.9.9.9".parse().unwrap()).is_err());
    }

    #[test]
    fn source_limit_applies_across_names() {
        let l = LoginLimiter::new(limits());
        let ip: IpAddr = "10.0.0.7".parse().unwrap();
        for i in 0..10 {
            l.failure(&format!("user{i}"), ip);
        }
        assert!(l.check("fresh", ip).unwrap_err().contains("address"));
    }
}
