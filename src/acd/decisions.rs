//! What the ACD asks the shell to do, and the queue records it keeps for CDRs.
//!
//! Every decision is final when it is returned: the ACD has already changed its state as
//! if the shell had carried it out, and the shell reports what actually happened with the
//! next event (an offered agent answers or fails, a callback connects or fails).

use super::agent::AgentState;
use super::estimate::WaitEstimate;
use super::events::LegFailure;
use super::ids::{AgentId, CallerPriority, QueuedCallId};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;

/// How the shell reaches the caller for an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferReach {
    /// The caller is on the line: ring the agent and bridge on answer.
    OnTheLine,
    /// The caller is off the line: the agent is reserved; call the caller back (their own
    /// number, from the original call) and report `CallbackConnected` or `CallbackFailed`;
    /// ring the agent only once connected.
    CallBack { attempt: u32 },
}

/// Why a caller was not queued: the shell takes the transfer's `on_failure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotQueuedReason {
    /// No agent of the queue is logged in, registered and not away.
    NobodyStaffed,
    /// A supervisor closed the queue.
    Closed,
    /// The queue is not configured.
    UnknownQueue,
}

/// Why the ACD ignored an event (it changes nothing; the shell may log it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum Ignored {
    UnknownCall {
        call: QueuedCallId,
    },
    UnknownAgent {
        agent: AgentId,
    },
    UnknownQueue {
        queue: String,
    },
    /// The caller is already in the ACD.
    AlreadyQueued {
        call: QueuedCallId,
    },
    /// The event does not fit the call's state (an answer for an offer that was withdrawn,
    /// a callback request from a caller who is ringing an agent ...).
    NotNow {
        call: Option<QueuedCallId>,
        agent: Option<AgentId>,
        state: &'static str,
    },
    /// The queue or the transfer does not allow callbacks.
    CallbackNotAllowed {
        call: QueuedCallId,
    },
    /// A proficiency outside 1-5 in an agent's skills.
    BadProficiency {
        agent: AgentId,
        skill: String,
    },
}

/// One instruction for the shell.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Offer `call` to `agent` (ring their phone, or first call the caller back).
    Offer {
        call: QueuedCallId,
        agent: AgentId,
        queue: String,
        reach: OfferReach,
        /// How long the ACD lets it ring before counting a miss.
        #[serde(serialize_with = "super::clock::as_secs")]
        ring_timeout: Duration,
    },
    /// Withdraw an offer: stop ringing the agent's leg (and stop calling the caller back).
    CancelOffer {
        call: QueuedCallId,
        agent: AgentId,
    },
    /// The agent answered: bridge the caller and the agent.
    Bridge {
        call: QueuedCallId,
        agent: AgentId,
    },
    /// The agent answered an offer that no longer stands (the caller hung up at the same
    /// moment): hang up the agent's leg.
    HangUpAgentLeg {
        call: QueuedCallId,
        agent: AgentId,
    },
    /// Tell the waiting caller their position and expected wait.
    Announce {
        call: QueuedCallId,
        estimate: WaitEstimate,
    },
    /// The caller waited `max_wait`: hand them back to the dialplan (`on_timeout`).
    TimedOut {
        call: QueuedCallId,
        queue: String,
    },
    /// The caller was not queued: hand them back to the dialplan (`on_failure`).
    NotQueued {
        call: QueuedCallId,
        queue: String,
        reason: NotQueuedReason,
    },
    /// A callback failed its last attempt: nobody will call the caller back.
    CallbackGaveUp {
        call: QueuedCallId,
    },
    /// An agent's state changed (for their desktop and the wallboard).
    AgentChanged {
        agent: AgentId,
        state: AgentState,
    },
    /// A queue record for the CDRs.
    Record(QueueRecord),
    Ignored(Ignored),
}

/// One line of a queue's history, for the CDRs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueRecord {
    #[serde(serialize_with = "super::clock::as_rfc3339")]
    pub at: DateTime<Utc>,
    pub queue: String,
    pub call: QueuedCallId,
    #[serde(flatten)]
    pub kind: RecordKind,
}

/// What happened to a caller in a queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RecordKind {
    Enqueued {
        priority: CallerPriority,
    },
    Offered {
        agent: AgentId,
        callback: bool,
    },
    Answered {
        agent: AgentId,
        #[serde(serialize_with = "super::clock::as_secs")]
        waited: Duration,
    },
    /// The caller hung up waiting (`agent` set when an agent was ringing).
    Abandoned {
        #[serde(serialize_with = "super::clock::as_secs")]
        waited: Duration,
        agent: Option<AgentId>,
    },
    /// An offer failed and the caller is back in their place.
    /// `cause` is `None` when the offer was withdrawn (the agent logged out or went away).
    Requeued {
        agent: AgentId,
        cause: Option<LegFailure>,
    },
    Overflowed {
        to: String,
    },
    TimedOut {
        #[serde(serialize_with = "super::clock::as_secs")]
        waited: Duration,
    },
    NotQueued {
        reason: NotQueuedReason,
    },
    CallbackRequested,
    CallbackFailed {
        attempt: u32,
    },
    CallbackGaveUp,
    /// A bridged call ended after `talk`.
    Completed {
        agent: AgentId,
        #[serde(serialize_with = "super::clock::as_secs")]
        talk: Duration,
    },
}
