//! Expected wait: computed afresh every time it is asked for, from the caller's position,
//! the queue's moving average of handle time and the agents working it. It is never a
//! number stored at arrival (the frozen estimates callers of other systems complain about).
//!
//! With `n` agents working the queue (available, ringing, talking or wrapping up) each
//! freeing up about once per average handle time `h`, the queue serves about `n / h` callers
//! a second, so a caller with `p` callers ahead waits about `(p + 1 − free) × h / n`, where
//! `free` agents are available right now. With nobody working the estimate is unknown.

use serde::Serialize;
use std::time::Duration;

/// Weight of the newest call in the handle-time moving average (Asterisk uses the same 1/4).
pub const NEWEST_WEIGHT: f64 = 0.25;

/// What a waiting caller is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WaitEstimate {
    /// 1 for the next caller to be served.
    pub position: usize,
    /// `None` when nobody is working the queue.
    #[serde(rename = "wait_secs", serialize_with = "super::clock::as_opt_secs")]
    pub wait: Option<Duration>,
}

/// The expected wait of a caller with `ahead` callers before them.
pub fn estimate(ahead: usize, handle_time: Duration, working: usize, free: usize) -> WaitEstimate {
    let wait = (working > 0).then(|| {
        let rounds = (ahead + 1).saturating_sub(free) as f64;
        Duration::from_secs_f64(rounds * handle_time.as_secs_f64() / working as f64)
    });
    WaitEstimate {
        position: ahead + 1,
        wait,
    }
}

/// An exponentially weighted moving average of handle time (talk + wrap-up).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HandleTimeAverage {
    secs: f64,
}

impl HandleTimeAverage {
    pub fn new(initial: Duration) -> Self {
        Self {
            secs: initial.as_secs_f64(),
        }
    }

    pub fn add(&mut self, handle: Duration) {
        self.secs = (1.0 - NEWEST_WEIGHT) * self.secs + NEWEST_WEIGHT * handle.as_secs_f64();
    }

    pub fn get(&self) -> Duration {
        Duration::from_secs_f64(self.secs.max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn the_estimate_grows_with_the_position_and_shrinks_with_the_agents() {
        let third = estimate(2, 2 * MINUTE, 2, 0);
        assert_eq!(third.position, 3);
        assert_eq!(third.wait, Some(3 * MINUTE), "3 callers × 2 min / 2 agents");
        assert_eq!(estimate(0, 2 * MINUTE, 2, 0).wait, Some(MINUTE));
        assert_eq!(
            estimate(2, 2 * MINUTE, 4, 0).wait,
            Some(Duration::from_secs(90))
        );
    }

    #[test]
    fn nobody_working_means_no_estimate_and_a_free_agent_means_none_to_wait() {
        assert_eq!(estimate(0, MINUTE, 0, 0).wait, None);
        assert_eq!(estimate(0, MINUTE, 3, 1).wait, Some(Duration::ZERO));
    }

    #[test]
    fn the_handle_time_average_moves_a_quarter_of_the_way_to_each_new_call() {
        let mut average = HandleTimeAverage::new(Duration::from_secs(100));
        average.add(Duration::from_secs(200));
        assert_eq!(average.get(), Duration::from_secs(125));
    }
}
