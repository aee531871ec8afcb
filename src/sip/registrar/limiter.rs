//! Failed-authentication counting per key (a source address, an agent login): after
//! `max` failures within a window the key is refused unheard until the window that began
//! with its first failure ends. Bounded memory: expired windows are swept, and a full
//! table stops tracking new keys rather than growing.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

struct Window {
    started: Instant,
    failures: u32,
}

pub struct FailureLimiter<K> {
    max: u32,
    window: Duration,
    capacity: usize,
    keys: HashMap<K, Window>,
}

impl<K: Hash + Eq + Clone> FailureLimiter<K> {
    pub fn new(max: u32, window: Duration, capacity: usize) -> Self {
        Self {
            max: max.max(1),
            window,
            capacity: capacity.max(1),
            keys: HashMap::new(),
        }
    }

    /// Whether `key` has used up its failures in the current window.
    pub fn is_blocked(&self, key: &K, now: Instant) -> bool {
        self.keys
            .get(key)
            .is_some_and(|w| self.current(w, now) && w.failures >= self.max)
    }

    /// Counts one failure; returns whether the key is now blocked.
    pub fn fail(&mut self, key: &K, now: Instant) -> bool {
        if !self.keys.contains_key(key) && self.keys.len() >= self.capacity {
            self.sweep(now);
            if self.keys.len() >= self.capacity {
                return false;
            }
        }
        let window = self.window;
        let entry = self.keys.entry(key.clone()).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now.saturating_duration_since(entry.started) >= window {
            *entry = Window {
                started: now,
                failures: 0,
            };
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.failures >= self.max
    }

    /// Forgets `key`'s failures (after it authenticated).
    pub fn clear(&mut self, key: &K) {
        self.keys.remove(key);
    }

    /// Drops keys whose window has ended.
    pub fn sweep(&mut self, now: Instant) {
        let window = self.window;
        self.keys
            .retain(|_, w| now.saturating_duration_since(w.started) < window);
    }

    pub fn tracked(&self) -> usize {
        self.keys.len()
    }

    fn current(&self, w: &Window, now: Instant) -> bool {
        now.saturating_duration_since(w.started) < self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_blocked_at_its_limit_and_free_again_after_the_window() {
        let t0 = Instant::now();
        let mut limiter = FailureLimiter::new(3, Duration::from_secs(60), 100);
        assert!(!limiter.fail(&"a", t0));
        assert!(!limiter.fail(&"a", t0 + Duration::from_secs(1)));
        assert!(!limiter.is_blocked(&"a", t0 + Duration::from_secs(1)));
        assert!(limiter.fail(&"a", t0 + Duration::from_secs(2)));
        assert!(limiter.is_blocked(&"a", t0 + Duration::from_secs(59)));
        assert!(!limiter.is_blocked(&"b", t0), "keys are independent");
        assert!(!limiter.is_blocked(&"a", t0 + Duration::from_secs(60)));
        assert!(
            !limiter.fail(&"a", t0 + Duration::from_secs(61)),
            "a new window starts counting from one"
        );
    }

    #[test]
    fn clearing_a_key_forgets_its_failures() {
        let t0 = Instant::now();
        let mut limiter = FailureLimiter::new(2, Duration::from_secs(60), 100);
        limiter.fail(&"a", t0);
        limiter.clear(&"a");
        assert!(!limiter.fail(&"a", t0));
    }

    #[test]
    fn a_full_table_sweeps_expired_keys_and_never_grows_past_its_capacity() {
        let t0 = Instant::now();
        let mut limiter = FailureLimiter::new(1, Duration::from_secs(10), 2);
        limiter.fail(&1, t0);
        limiter.fail(&2, t0);
        assert!(!limiter.fail(&3, t0), "untracked when full");
        assert_eq!(limiter.tracked(), 2);
        assert!(limiter.is_blocked(&1, t0), "tracked keys keep their block");
        assert!(limiter.fail(&3, t0 + Duration::from_secs(10)));
        assert_eq!(limiter.tracked(), 1, "expired windows were swept");
    }
}
