//! Login rate limiting per user name and per source address.
//!
//! Every attempt counts as a failure from the moment it starts (it is reserved before the password
//! is checked, atomically with the check of the limits), so a burst of parallel attempts cannot all
//! pass the check before the first failure is recorded; a successful login gives its reservation
//! back. Failures are counted in a window; every failure is answered after a delay that grows with
//! the number of failures of that user or address; after `max_failures` for a user (or
//! `max_source_failures` for an address) further attempts are refused without checking the password
//! until the window has passed.
//!
//! Memory is bounded: at most `max_users` user names and `max_users` addresses are tracked. Entries
//! with live failures are never evicted to make room (only expired ones), so a flood of random user
//! names cannot reset the count of a real user. While a table is full of live entries, every name
//! (or address) not in it shares one overflow entry with the same limit, so untracked names are
//! throttled together instead of not at all. Configured local accounts (`known`) are always
//! tracked on their own: their number is bounded by the configuration.

use std::collections::HashMap;
use std::hash::Hash;
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

/// A bounded table of failure counts with a shared overflow entry.
#[derive(Debug)]
struct Table<K> {
    entries: HashMap<K, Entry>,
    overflow: Option<Entry>,
}

impl<K: Hash + Eq + Clone> Table<K> {
    fn new() -> Self {
        Table {
            entries: HashMap::new(),
            overflow: None,
        }
    }

    fn live(entry: Option<&Entry>, window: Duration) -> u32 {
        entry
            .filter(|e| e.last.elapsed() < window)
            .map_or(0, |e| e.failures)
    }

    /// The entry of `key`: its own (made when there is room, or when `always`), else the overflow.
    fn slot(&mut self, key: &K, max: usize, window: Duration, always: bool) -> &mut Entry {
        let now = Instant::now();
        if !self.entries.contains_key(key) && self.entries.len() >= max && !always {
            // make room only from expired entries; live failures are never dropped
            self.entries.retain(|_, e| e.last.elapsed() < window);
        }
        if self.entries.contains_key(key) || self.entries.len() < max || always {
            return self.entries.entry(key.clone()).or_insert(Entry {
                failures: 0,
                last: now,
            });
        }
        self.overflow.get_or_insert(Entry {
            failures: 0,
            last: now,
        })
    }

    fn count(&self, key: &K) -> u32 {
        match self.entries.get(key) {
            Some(e) => e.failures,
            None => self.overflow.map_or(0, |e| e.failures),
        }
    }
}

fn bump(e: &mut Entry, window: Duration) -> u32 {
    if e.last.elapsed() >= window {
        e.failures = 0;
    }
    e.failures = e.failures.saturating_add(1);
    e.last = Instant::now();
    e.failures
}

/// The limiter state.
#[derive(Debug)]
pub struct LoginLimiter {
    limits: Limits,
    state: Mutex<(Table<String>, Table<IpAddr>)>,
}

impl LoginLimiter {
    /// A limiter with these limits.
    pub fn new(limits: Limits) -> LoginLimiter {
        LoginLimiter {
            limits,
            state: Mutex::new((Table::new(), Table::new())),
        }
    }

    /// Checks the limits of this user and address and, when the attempt may go ahead, counts it as a
    /// failure at once (in the same critical section) until [`LoginLimiter::success`] gives it back.
    /// `known` says whether `user` is a configured local account (always tracked on its own).
    /// `Err(message)` when attempts for this user or address are currently refused.
    pub fn reserve(&self, user: &str, source: IpAddr, known: bool) -> Result<(), String> {
        let window = self.limits.window;
        let max = self.limits.max_users;
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (users, sources) = &mut *guard;
        let user_key = user.to_string();
        let u = users.slot(&user_key, max, window, known);
        if Table::<String>::live(Some(u), window) >= self.limits.max_failures {
            return Err(format!(
                "too many failed login attempts for {user}; try again later"
            ));
        }
        let s = sources.slot(&source, max, window, false);
        if Table::<IpAddr>::live(Some(s), window) >= self.limits.max_source_failures {
            return Err("too many failed login attempts from this address; try again later".into());
        }
        bump(s, window);
        bump(users.slot(&user_key, max, window, known), window);
        Ok(())
    }

    /// `Err(message)` when attempts for this user or address are currently refused (no reservation).
    pub fn check(&self, user: &str, source: IpAddr) -> Result<(), String> {
        let guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (users, sources) = &*guard;
        let window = self.limits.window;
        let user_key = user.to_string();
        let u = users.entries.get(&user_key).or(users
            .overflow
            .as_ref()
            .filter(|_| users.entries.len() >= self.limits.max_users));
        if Table::<String>::live(u, window) >= self.limits.max_failures {
            return Err(format!(
                "too many failed login attempts for {user}; try again later"
            ));
        }
        let s = sources.entries.get(&source).or(sources
            .overflow
            .as_ref()
            .filter(|_| sources.entries.len() >= self.limits.max_users));
        if Table::<IpAddr>::live(s, window) >= self.limits.max_source_failures {
            return Err("too many failed login attempts from this address; try again later".into());
        }
        Ok(())
    }

    /// A reserved attempt failed: how long to wait before answering (grows with the failures of the
    /// user or the address).
    pub fn failure(&self, user: &str, source: IpAddr) -> Duration {
        let guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (users, sources) = &*guard;
        let n = users
            .count(&user.to_string())
            .max(sources.count(&source))
            .max(1);
        drop(guard);
        let factor = 1u32
            .checked_shl(n.saturating_sub(1).min(16))
            .unwrap_or(u32::MAX);
        self.limits
            .base_delay
            .saturating_mul(factor)
            .min(self.limits.max_delay)
    }

    /// A reserved attempt succeeded: the user's count is cleared and the address's reservation given
    /// back.
    pub fn success(&self, user: &str, source: IpAddr) {
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (users, sources) = &mut *guard;
        users.entries.remove(user);
        if let Some(e) = sources.entries.get_mut(&source) {
            e.failures = e.failures.saturating_sub(1);
        } else if let Some(e) = sources.overflow.as_mut() {
            e.failures = e.failures.saturating_sub(1);
        }
    }

    /// Current failure count of a user (its own entry).
    pub fn user_failures(&self, user: &str) -> u32 {
        let guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        Table::<String>::live(guard.0.entries.get(user), self.limits.window)
    }

    /// How many user names and addresses are tracked (bounded by `max_users` each, plus the
    /// configured accounts).
    pub fn tracked(&self) -> (usize, usize) {
        let guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        (guard.0.entries.len(), guard.1.entries.len())
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

    fn fail(l: &LoginLimiter, user: &str, ip: IpAddr) -> Result<Duration, String> {
        l.reserve(user, ip, false)?;
        Ok(l.failure(user, ip))
    }

    #[test]
    fn delays_grow_then_attempts_are_refused() {
        let l = LoginLimiter::new(limits());
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(l.check("alice", ip).is_ok());
        assert_eq!(fail(&l, "alice", ip), Ok(Duration::from_millis(10)));
        assert_eq!(fail(&l, "alice", ip), Ok(Duration::from_millis(20)));
        assert_eq!(fail(&l, "alice", ip), Ok(Duration::from_millis(40)));
        assert!(l.check("alice", ip).unwrap_err().contains("alice"));
        assert!(l.reserve("alice", ip, false).unwrap_err().contains("alice"));
        // another user from another address is unaffected
        assert!(l.check("bob", "10.0.0.2".parse().unwrap()).is_ok());
    }

    #[test]
    fn parallel_attempts_are_counted_before_the_password_is_checked() {
        let l = LoginLimiter::new(limits());
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        // three attempts in flight (none finished yet): the fourth is refused
        for _ in 0..3 {
            l.reserve("alice", ip, true).unwrap();
        }
        assert!(l.reserve("alice", ip, true).is_err());
        // a success gives its reservation back and clears the user
        l.success("alice", ip);
        assert!(l.reserve("alice", ip, true).is_ok());
    }

    #[test]
    fn random_names_do_not_reset_a_user() {
        let l = LoginLimiter::new(limits());
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..3 {
            fail(&l, "alice", ip).unwrap();
        }
        for i in 0..100 {
            let _ = fail(
                &l,
                &format!("random-{i}"),
                format!("10.1.{}.{}", i / 250, i % 250).parse().unwrap(),
            );
        }
        assert_eq!(l.user_failures("alice"), 3);
        assert!(l.check("alice", "10.9.9.9".parse().unwrap()).is_err());
        // memory stays bounded
        let (users, sources) = l.tracked();
        assert!(users <= 4 && sources <= 4, "{users} {sources}");
    }

    #[test]
    fn a_full_table_throttles_untracked_names_together() {
        let l = LoginLimiter::new(limits());
        for i in 0..4 {
            fail(
                &l,
                &format!("filler-{i}"),
                format!("10.2.0.{i}").parse().unwrap(),
            )
            .unwrap();
        }
        // the table is full of live entries: new names share the overflow entry
        let mut refused = false;
        for i in 0..10 {
            if fail(
                &l,
                &format!("new-{i}"),
                format!("10.3.0.{i}").parse().unwrap(),
            )
            .is_err()
            {
                refused = true;
                break;
            }
        }
        assert!(refused, "untracked names were never throttled");
        // a configured account is always tracked on its own
        let ip: IpAddr = "10.4.0.1".parse().unwrap();
        assert!(l.reserve("admin", ip, true).is_ok());
        assert_eq!(l.user_failures("admin"), 1);
    }

    #[test]
    fn source_limit_applies_across_names() {
        let l = LoginLimiter::new(Limits {
            max_users: 100,
            ..limits()
        });
        let ip: IpAddr = "10.0.0.7".parse().unwrap();
        for i in 0..10 {
            assert!(fail(&l, &format!("user{i}"), ip).is_ok());
        }
        assert!(l.check("fresh", ip).unwrap_err().contains("address"));
    }
}
