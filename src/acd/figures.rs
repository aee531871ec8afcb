//! Queue figures kept as calls happen, and the snapshot `/api/queues` will serve.
//!
//! Counted once, at the event that decides them: `offered` when a caller enters the queue
//! (also by overflow), `answered` when an agent answers, `abandoned` when a waiting or
//! ringing caller hangs up, `timed_out` at the maximum wait, `overflowed` when a caller
//! leaves for another queue, `callbacks_failed` after a callback's last attempt. So for a
//! queue: offered = answered + abandoned + timed_out + overflowed + callbacks_failed +
//! those still in line.
//!
//! Service level = answered within the threshold / answered (callers who gave up are in
//! `abandoned`, not in the ratio). Waits count from the caller's first arrival, what they
//! lived through. Handle time = talk + wrap-up, counted when the wrap-up ends.

use serde::Serialize;
use std::time::Duration;

/// Running totals of one queue.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueCounters {
    pub offered: u64,
    pub answered: u64,
    pub answered_within_threshold: u64,
    pub abandoned: u64,
    pub timed_out: u64,
    pub overflowed: u64,
    pub not_queued: u64,
    /// Offers made to agents (rings), and those missed or failed.
    pub agent_offers: u64,
    pub missed_offers: u64,
    pub callbacks_requested: u64,
    pub callbacks_failed: u64,
    /// Sum of answered callers' waits.
    pub answered_wait: Duration,
    pub handled: u64,
    pub handle_time: Duration,
}

/// Agents of a queue by state; each agent is in exactly one bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AgentCounts {
    pub logged_out: usize,
    /// Available with a registered phone: can be offered a call now.
    pub available: usize,
    /// Available but without a registered phone.
    pub unregistered: usize,
    pub offered: usize,
    pub on_call: usize,
    pub wrap_up: usize,
    pub away: usize,
}

impl AgentCounts {
    /// Agents taking this queue's calls, now or after their current one.
    pub fn working(&self) -> usize {
        self.available + self.offered + self.on_call + self.wrap_up
    }
}

/// One queue's figures at a moment (serialised as JSON for `/api/queues`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueFigures {
    pub queue: String,
    pub open: bool,
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub timed_out: u64,
    pub overflowed: u64,
    pub not_queued: u64,
    pub answered_within_threshold: u64,
    pub service_level_threshold_secs: u64,
    /// answered within threshold / answered; `None` before the first answer.
    pub service_level: Option<f64>,
    /// Average speed of answer, seconds.
    pub average_speed_of_answer_secs: Option<f64>,
    /// Average handle time (talk + wrap-up), seconds.
    pub average_handle_time_secs: Option<f64>,
    /// The moving average the wait estimates use, seconds.
    pub estimate_handle_time_secs: f64,
    pub agent_offers: u64,
    pub missed_offers: u64,
    pub callbacks_requested: u64,
    pub callbacks_failed: u64,
    /// Callers in line now (on the line or waiting for a callback), and ringing agents.
    pub waiting: usize,
    pub waiting_for_callback: usize,
    pub ringing: usize,
    /// The longest current wait among those in line, seconds.
    pub longest_wait_secs: f64,
    pub agents: AgentCounts,
}

impl QueueCounters {
    /// Ratio of two counts, `None` when the divisor is zero.
    pub fn ratio(part: u64, whole: u64) -> Option<f64> {
        (whole > 0).then(|| part as f64 / whole as f64)
    }

    pub fn service_level(&self) -> Option<f64> {
        Self::ratio(self.answered_within_threshold, self.answered)
    }

    pub fn average_speed_of_answer(&self) -> Option<f64> {
        (self.answered > 0).then(|| self.answered_wait.as_secs_f64() / self.answered as f64)
    }

    pub fn average_handle_time(&self) -> Option<f64> {
        (self.handled > 0).then(|| self.handle_time.as_secs_f64() / self.handled as f64)
    }
}
