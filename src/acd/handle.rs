//! The message seam between the ACD's owner task and everyone else: calls queue
//! themselves and report their agent legs, the HTTP API logs agents in and asks for the
//! figures. Every request goes through one channel to the one task that owns [`super::Acd`],
//! so decisions stay atomic; what the ACD decides for a call comes back to that call as
//! [`QueueNotice`]s on the channel it gave when it queued. What the agent desktop and the
//! wallboard show (agents' states, offers) is broadcast as [`AcdUpdate`]s.

use super::agent::AgentState;
use super::decisions::NotQueuedReason;
use super::estimate::WaitEstimate;
use super::events::{AcdEvent, Arrival};
use super::figures::QueueFigures;
use super::ids::AgentId;
use serde::Serialize;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};

/// Where a call leg to an agent goes: one of their phone's registered contacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentContact {
    /// The Contact URI the phone registered (the INVITE's Request-URI).
    pub uri: String,
    /// Where the REGISTER came from: behind NAT this reaches the phone, not the URI.
    pub source: SocketAddr,
    /// The REGISTER came over TCP.
    pub tcp: bool,
}

/// What the ACD tells a queued call.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueNotice {
    /// The caller could not be queued: the dialplan's `on_failure`.
    NotQueued { reason: NotQueuedReason },
    /// Ring `agent` at `contacts` (the shell rings the first); the ACD counts a miss
    /// after `ring_timeout`, and the call reports the outcome with [`AcdHandle::report`].
    Offer {
        agent: AgentId,
        display_name: String,
        contacts: Vec<AgentContact>,
        ring_timeout: Duration,
    },
    /// Stop ringing `agent`.
    CancelOffer { agent: AgentId },
    /// `agent` answered and the offer stands: bridge the caller to their leg.
    Bridge { agent: AgentId },
    /// `agent` answered an offer that no longer stands: hang their leg up.
    HangUpAgentLeg { agent: AgentId },
    /// Tell the caller their place in line and the expected wait.
    Announce(WaitEstimate),
    /// The caller waited as long as allowed: the dialplan's `on_timeout`.
    TimedOut,
    /// The caller's callback request stands: they may hang up and keep their place.
    CallbackAccepted,
    /// The queue or the transfer allows no callback (or not now): they stay on the line.
    CallbackRefused,
}

/// Where the server calls a caller back: only ever the caller's own phone, as their
/// original INVITE named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackTarget {
    /// The Contact URI of the caller's INVITE.
    pub uri: String,
    /// The caller's number (From), for the log and the agent.
    pub caller: String,
}

/// What the server needs to call a caller back once the ACD has reserved an agent: the
/// ACD's first offer (the agent to ring once the caller answers) and the call's context.
#[derive(Debug)]
pub struct CallbackOrder {
    pub call: super::ids::QueuedCallId,
    pub queue: String,
    pub priority: super::ids::CallerPriority,
    pub attempt: u32,
    pub target: CallbackTarget,
    /// How long the caller's phone rings before the attempt fails.
    pub ring_timeout: Duration,
    /// The reserved agent, as an offer to carry out once the caller answers.
    pub offer: QueueNotice,
    pub envelope: Box<super::envelope::ContextEnvelope>,
    pub ticket: std::sync::Arc<std::sync::OnceLock<i64>>,
    /// The ACD's notices for the call from now on.
    pub notices: mpsc::UnboundedReceiver<QueueNotice>,
}

/// An agent as the API shows them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentView {
    pub agent: AgentId,
    #[serde(flatten)]
    pub state: AgentState,
    /// When they entered this state (`None`: not since this server started).
    pub since: Option<String>,
    pub queues: Vec<String>,
    pub registered: bool,
}

/// What the ACD decided that desktops and wallboards show, as it is decided.
#[derive(Debug, Clone, PartialEq)]
pub enum AcdUpdate {
    /// An agent's state changed.
    Agent {
        view: AgentView,
        decided_at: chrono::DateTime<chrono::Utc>,
    },
    /// `agent`'s phone is about to ring with `call` (the context follows when the call
    /// posts it).
    Offered {
        agent: AgentId,
        call: super::ids::QueuedCallId,
        queue: String,
        ring_timeout: Duration,
        decided_at: chrono::DateTime<chrono::Utc>,
    },
}

/// One request to the owner task.
#[derive(Debug)]
pub enum AcdRequest {
    /// Queue a call; its notices go to `notices`.
    Enqueue {
        arrival: Arrival,
        notices: mpsc::UnboundedSender<QueueNotice>,
    },
    /// Anything else that happened (a leg answered or failed, a caller hung up, an agent
    /// logged in ...).
    Event(AcdEvent),
    /// An agent logs in with the skills the agent store gives them: they serve the
    /// configured queues named among their skills.
    LogIn {
        agent: AgentId,
        skills: Vec<(String, u8)>,
    },
    /// A queued caller asks to be called back at `target` (the answer comes as
    /// `CallbackAccepted` or `CallbackRefused`).
    Callback {
        call: super::ids::QueuedCallId,
        target: CallbackTarget,
        envelope: Box<super::envelope::ContextEnvelope>,
        ticket: std::sync::Arc<std::sync::OnceLock<i64>>,
    },
    /// The agent declined their ringing offer of `call` on the desktop: their phone stops
    /// ringing and the caller keeps their place.
    Decline {
        call: super::ids::QueuedCallId,
        agent: AgentId,
    },
    Figures(oneshot::Sender<Vec<QueueFigures>>),
    Agents(oneshot::Sender<Vec<AgentView>>),
}

/// The way to the ACD's owner task. Cheap to clone; every method returns at once.
#[derive(Debug, Clone)]
pub struct AcdHandle {
    requests: mpsc::UnboundedSender<AcdRequest>,
    updates: broadcast::Sender<AcdUpdate>,
}

/// Updates kept for a slow desktop before it misses some (it then asks for the states).
const UPDATES_BACKLOG: usize = 4096;

impl AcdHandle {
    /// A handle and the receiving end the owner task reads.
    pub fn channel() -> (AcdHandle, mpsc::UnboundedReceiver<AcdRequest>) {
        let (requests, rx) = mpsc::unbounded_channel();
        let (updates, _) = broadcast::channel(UPDATES_BACKLOG);
        (AcdHandle { requests, updates }, rx)
    }

    /// Every update from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<AcdUpdate> {
        self.updates.subscribe()
    }

    /// Sends an update to the desktops listening (none is fine).
    pub fn publish(&self, update: AcdUpdate) {
        let _ = self.updates.send(update);
    }

    /// Declines a ringing offer (see [`AcdRequest::Decline`]).
    pub fn decline(&self, call: super::ids::QueuedCallId, agent: AgentId) {
        let _ = self.requests.send(AcdRequest::Decline { call, agent });
    }

    /// Queues a call. `false` when the ACD has stopped (the server is going down).
    pub fn enqueue(&self, arrival: Arrival, notices: mpsc::UnboundedSender<QueueNotice>) -> bool {
        self.requests
            .send(AcdRequest::Enqueue { arrival, notices })
            .is_ok()
    }

    /// Reports what happened.
    pub fn report(&self, event: AcdEvent) {
        let _ = self.requests.send(AcdRequest::Event(event));
    }

    /// Logs an agent in with their skills (see [`AcdRequest::LogIn`]).
    pub fn log_in(&self, agent: AgentId, skills: Vec<(String, u8)>) {
        let _ = self.requests.send(AcdRequest::LogIn { agent, skills });
    }

    /// Asks for a callback (see [`AcdRequest::Callback`]).
    pub fn request_callback(
        &self,
        call: super::ids::QueuedCallId,
        target: CallbackTarget,
        envelope: Box<super::envelope::ContextEnvelope>,
        ticket: std::sync::Arc<std::sync::OnceLock<i64>>,
    ) {
        let _ = self.requests.send(AcdRequest::Callback {
            call,
            target,
            envelope,
            ticket,
        });
    }

    /// The queues' figures now; `None` when the ACD has stopped.
    pub async fn figures(&self) -> Option<Vec<QueueFigures>> {
        let (tx, rx) = oneshot::channel();
        self.requests.send(AcdRequest::Figures(tx)).ok()?;
        rx.await.ok()
    }

    /// Every agent the ACD knows; `None` when the ACD has stopped.
    pub async fn agents(&self) -> Option<Vec<AgentView>> {
        let (tx, rx) = oneshot::channel();
        self.requests.send(AcdRequest::Agents(tx)).ok()?;
        rx.await.ok()
    }
}
