//! One caller's place in the ACD: which queue, how urgent, since when, and whether they are
//! waiting, ringing an agent, or talking.
//!
//! A caller's place is the triple (priority, arrival, seq): higher priority first, then
//! earlier arrival, then the order the ACD saw them (`seq`, for callers arriving in the same
//! instant). It never changes while they are in the ACD: an agent who does not answer puts
//! the caller back exactly where they were (and since everyone behind came later, that is
//! the head of their priority), an overflow keeps the original arrival, a callback keeps the
//! place while the caller is off the line.

use super::clock::elapsed;
use super::ids::{AgentId, CallerPriority, QueuedCallId};
use super::timers::TimerKey;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Is the caller on the line, or waiting for us to call them back?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// On the line, hearing music and announcements.
    OnTheLine,
    /// Hung up and keeps their place; `failures` callback attempts failed so far.
    CallBack { failures: u32 },
}

/// What is happening to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryStatus {
    /// In line.
    Waiting,
    /// An agent is reserved: `connected` is false while a callback is still reaching the
    /// caller, true once the agent's phone rings with the caller on the line.
    Offered {
        agent: AgentId,
        since: DateTime<Utc>,
        connected: bool,
    },
    /// Talking to `agent` since `answered`.
    Bridged {
        agent: AgentId,
        answered: DateTime<Utc>,
    },
}

/// The timers an entry holds, so they can be cancelled when it leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryTimers {
    pub offer: Option<TimerKey>,
    pub overflow: Option<TimerKey>,
    pub max_wait: Option<TimerKey>,
    pub announce: Option<TimerKey>,
    pub rematch: Option<TimerKey>,
}

impl EntryTimers {
    pub fn all(&self) -> impl Iterator<Item = TimerKey> {
        [
            self.offer,
            self.overflow,
            self.max_wait,
            self.announce,
            self.rematch,
        ]
        .into_iter()
        .flatten()
    }
}

/// An agent passed over for this caller until a moment (they missed or refused them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassedOver {
    pub agent: AgentId,
    pub until: DateTime<Utc>,
}

/// One caller in the ACD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub call: QueuedCallId,
    /// The queue they are in now (after an overflow, the new one).
    pub queue: String,
    pub priority: CallerPriority,
    /// Skills the transfer asked for, beyond the queue's own.
    pub asked_skills: Vec<String>,
    /// Skills an agent needs for this caller: the queue's and the transfer's, sorted.
    pub skills: Vec<String>,
    /// First arrival in the ACD; kept through overflows, re-queues and callbacks.
    pub arrived: DateTime<Utc>,
    /// Arrival in the current queue (overflow timing counts from here).
    pub entered: DateTime<Utc>,
    pub seq: u64,
    pub status: EntryStatus,
    pub reach: Reach,
    /// Whether the transfer allows a callback (the queue must allow it too).
    pub callback_wanted: bool,
    /// The transfer's own maximum wait, replacing the queue's.
    pub max_wait: Option<Duration>,
    /// When the caller is handed back to the dialplan; `None` without a limit, and for
    /// callbacks (a caller off the line cannot be handed back, and one called back has
    /// waited long enough).
    pub deadline: Option<DateTime<Utc>>,
    pub passed_over: Vec<PassedOver>,
    /// A callback waiting for its retry delay is not served before this.
    pub not_before: Option<DateTime<Utc>>,
    pub timers: EntryTimers,
}

impl Entry {
    pub fn is_waiting(&self) -> bool {
        self.status == EntryStatus::Waiting
    }

    pub fn waited(&self, now: DateTime<Utc>) -> Duration {
        elapsed(self.arrived, now)
    }

    /// The sort key of their place: smaller is served first.
    pub fn place(&self) -> Place {
        Place {
            priority: std::cmp::Reverse(self.priority),
            arrived: self.arrived,
            seq: self.seq,
        }
    }

    /// Whether `agent` is passed over for this caller at `now`.
    pub fn passes_over(&self, agent: &AgentId, now: DateTime<Utc>) -> bool {
        self.passed_over
            .iter()
            .any(|p| &p.agent == agent && p.until > now)
    }

    /// Whether the caller may be offered at `now` (a callback may be waiting for its
    /// retry delay).
    pub fn ready(&self, now: DateTime<Utc>) -> bool {
        self.is_waiting() && self.not_before.is_none_or(|t| t <= now)
    }

    /// The offered agent, while an offer is out.
    pub fn offered_to(&self) -> Option<&AgentId> {
        match &self.status {
            EntryStatus::Offered { agent, .. } => Some(agent),
            _ => None,
        }
    }
}

/// A caller's place in line (see the module comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Place {
    pub priority: std::cmp::Reverse<CallerPriority>,
    pub arrived: DateTime<Utc>,
    pub seq: u64,
}
