//! A circuit breaker per webhook source: after `threshold` failed lookups in a row the
//! source is skipped (answering its fallback at once) for `cooldown`; then one trial
//! lookup is let through, and its result closes or re-opens the breaker. Pure: the
//! caller passes `now`.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    /// Cooled down: one trial is allowed (or in flight).
    HalfOpen,
}

#[derive(Debug, Clone)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    failures: u32,
    open_until: Option<Instant>,
    trial_in_flight: bool,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Breaker {
            threshold: threshold.max(1),
            cooldown,
            failures: 0,
            open_until: None,
            trial_in_flight: false,
        }
    }

    pub fn state(&self, now: Instant) -> BreakerState {
        match self.open_until {
            None => BreakerState::Closed,
            Some(until) if now < until => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }

    /// Whether a lookup may go out now; in half-open state only one at a time.
    pub fn allow(&mut self, now: Instant) -> bool {
        match self.state(now) {
            BreakerState::Closed => true,
            BreakerState::Open => false,
            BreakerState::HalfOpen if self.trial_in_flight => false,
            BreakerState::HalfOpen => {
                self.trial_in_flight = true;
                true
            }
        }
    }

    /// Records how an allowed lookup went.
    pub fn record(&mut self, success: bool, now: Instant) {
        self.trial_in_flight = false;
        if success {
            self.failures = 0;
            self.open_until = None;
            return;
        }
        self.failures += 1;
        if self.open_until.is_some() || self.failures >= self.threshold {
            self.open_until = Some(now + self.cooldown);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_half_opens_after_cooldown() {
        let t0 = Instant::now();
        let mut b = Breaker::new(2, Duration::from_secs(10));
        assert!(b.allow(t0));
        b.record(false, t0);
        assert_eq!(b.state(t0), BreakerState::Closed);
        assert!(b.allow(t0));
        b.record(false, t0);
        assert_eq!(b.state(t0), BreakerState::Open);
        assert!(!b.allow(t0 + Duration::from_secs(9)));
        let later = t0 + Duration::from_secs(10);
        assert!(b.allow(later), "one trial after the cooldown");
        assert!(!b.allow(later), "only one");
        b.record(false, later);
        assert_eq!(
            b.state(later),
            BreakerState::Open,
            "a failed trial re-opens at once"
        );
        let much_later = later + Duration::from_secs(10);
        assert!(b.allow(much_later));
        b.record(true, much_later);
        assert_eq!(b.state(much_later), BreakerState::Closed);
        assert!(b.allow(much_later) && b.allow(much_later));
    }

    #[test]
    fn a_success_resets_the_count() {
        let t0 = Instant::now();
        let mut b = Breaker::new(2, Duration::from_secs(1));
        b.record(false, t0);
        b.record(true, t0);
        b.record(false, t0);
        assert_eq!(b.state(t0), BreakerState::Closed);
    }
}
