//! The ACD's deadlines: ring timeouts, overflows, maximum waits, announcements, wrap-ups.
//!
//! The core never sleeps: each deadline is stored with what it is for, `next_deadline()`
//! tells the shell when to call back, and deadlines that are due are acted on at the start
//! of the next `handle`, in time order. A deadline is cancelled when what it guards ends, so
//! none fires for a caller or agent that has moved on.

use super::ids::{AgentId, QueuedCallId};
use chrono::{DateTime, Utc};

/// Identifies one stored deadline (its time and a unique number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerKey {
    pub at: DateTime<Utc>,
    pub seq: u64,
}

/// What a deadline is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timer {
    /// The offered agent did not answer in time (or a callback did not reach the caller).
    Offer(QueuedCallId),
    /// Time to move the caller to the overflow queue.
    Overflow(QueuedCallId),
    /// The caller has waited as long as the queue allows.
    MaxWait(QueuedCallId),
    /// Time to tell the caller their position and expected wait.
    Announce(QueuedCallId),
    /// The caller may now take agents they could not before: the skill range widened, a
    /// passed-over agent may be offered again, or a callback's retry delay ended.
    Rematch(QueuedCallId),
    /// The agent's wrap-up time is over.
    WrapUp(AgentId),
}
