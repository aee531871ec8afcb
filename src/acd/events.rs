//! What the shell tells the ACD: callers arriving and leaving, agents' legs ringing,
//! answering and failing, agents logging in and changing state, and plain ticks of time.

use super::ids::{AgentId, CallerPriority, QueuedCallId};
use std::collections::BTreeMap;
use std::time::Duration;

/// A transfer asking for a place in a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    pub call: QueuedCallId,
    pub queue: String,
    pub priority: CallerPriority,
    /// Skills the agent needs beyond the queue's own (the transfer's `skills`).
    pub skills: Vec<String>,
    /// The transfer allows the caller to ask for a callback (the queue must allow it too).
    pub callback: bool,
    /// The transfer's own maximum wait, replacing the queue's `max_wait_secs`.
    pub max_wait: Option<Duration>,
}

/// Why an agent's leg failed before it was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LegFailure {
    /// Not answered within the ring timeout (the ACD's own timer).
    NoAnswer,
    /// 486 Busy Here / 600 Busy Everywhere.
    Busy,
    /// 603 Decline, or the agent pressed "decline" on the desktop.
    Declined,
    /// Any other failure: no contact, 4xx/5xx, a transport error, garbage SDP.
    Error,
    /// The agent hung up (CANCEL/BYE from their side) while it was ringing.
    HungUp,
}

/// One input to `Acd::handle`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcdEvent {
    /// Nothing happened but time passed (call at `next_deadline()`).
    Tick,
    Enqueue(Arrival),
    /// The caller hung up: while waiting or ringing an agent this is an abandon; while
    /// talking it ends the call like `CallEnded`.
    CallerHungUp {
        call: QueuedCallId,
    },
    /// The caller asked to be called back and is leaving the line, keeping their place.
    CallbackRequested {
        call: QueuedCallId,
    },
    /// The caller answered a callback: the reserved agent's phone may ring now.
    CallbackConnected {
        call: QueuedCallId,
    },
    /// A callback did not reach the caller (no answer, busy, error).
    CallbackFailed {
        call: QueuedCallId,
    },
    /// The offered agent answered.
    OfferAnswered {
        call: QueuedCallId,
        agent: AgentId,
    },
    /// The offered agent's leg failed before being answered.
    OfferFailed {
        call: QueuedCallId,
        agent: AgentId,
        cause: LegFailure,
    },
    /// A bridged call ended (either side hung up).
    CallEnded {
        call: QueuedCallId,
    },
    /// The agent logged in (or changed queues or skills while logged in). `registered`
    /// says whether their phone is registered at this moment.
    AgentLoggedIn {
        agent: AgentId,
        queues: Vec<String>,
        skills: BTreeMap<String, u8>,
        registered: bool,
    },
    AgentLoggedOut {
        agent: AgentId,
    },
    AgentRegistered {
        agent: AgentId,
    },
    /// The agent's last registered contact expired or was removed.
    AgentUnregistered {
        agent: AgentId,
    },
    /// The agent is ready: back from away, or ending their wrap-up early.
    AgentReady {
        agent: AgentId,
    },
    AgentAway {
        agent: AgentId,
        reason: String,
    },
    /// A supervisor opens or closes a queue to new callers (those waiting stay).
    QueueOpened {
        queue: String,
    },
    QueueClosed {
        queue: String,
    },
}
