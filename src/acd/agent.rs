//! An agent as the ACD sees them: which queues they serve, their skills, and where they are
//! in their working cycle.
//!
//! ```text
//!  logged_out ──login──► available ──offer──► offered ──answer──► on_call ──end──► wrap_up
//!                          ▲  ▲                 │ miss/fail/cancel                 │ timer or
//!                          │  └─────────────────┘ (away "no answer" after          │ "ready"
//!                          │                      rona_misses in a row)            │
//!                          └──────────────── ready ◄── away (reason) ◄─────────────┘
//! ```
//!
//! **Who is offered calls.** An agent is offered a call only when they are logged in, in
//! `available`, and have a registered phone (`registered`): a plain SIP phone that is logged
//! in but not registered (unplugged, registration expired) is skipped, never rung into a
//! void; re-registering makes them offerable again without logging in anew. Login and
//! registration are separate facts the shell reports (`AgentLoggedIn` carries the phone's
//! registration at that moment; `AgentRegistered`/`AgentUnregistered` follow it).

use super::ids::{AgentId, QueuedCallId};
use super::timers::TimerKey;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Where an agent is in their working cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AgentState {
    LoggedOut,
    /// Free for the next call (offered one only with a registered phone).
    Available,
    /// Reserved for `call`: their phone rings, or, for a callback, the caller is being
    /// called back first.
    Offered {
        call: QueuedCallId,
    },
    /// Talking to `call`'s caller.
    OnCall {
        call: QueuedCallId,
    },
    /// After-call work until `until` (or until the agent says they are ready).
    WrapUp {
        #[serde(serialize_with = "super::clock::as_rfc3339")]
        until: DateTime<Utc>,
    },
    /// Not taking calls, with the reason they gave (or "no answer" after missed offers).
    Away {
        reason: String,
    },
}

/// The reason an agent is put away after too many missed offers in a row.
pub const NO_ANSWER: &str = "no answer";

impl AgentState {
    pub fn name(&self) -> &'static str {
        match self {
            AgentState::LoggedOut => "logged_out",
            AgentState::Available => "available",
            AgentState::Offered { .. } => "offered",
            AgentState::OnCall { .. } => "on_call",
            AgentState::WrapUp { .. } => "wrap_up",
            AgentState::Away { .. } => "away",
        }
    }
}

/// The call an agent is wrapping up, kept so its handle time (talk + wrap-up) is counted
/// once, when the wrap-up ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedCall {
    pub queue: String,
    pub talk: Duration,
    pub ended: DateTime<Utc>,
}

/// One agent's routing record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcdAgent {
    pub id: AgentId,
    /// Stable number given at first login: round-robin order and index tie-breaks.
    pub seq: u64,
    /// Queues they serve.
    pub queues: Vec<String>,
    /// Skill name → proficiency 1 (learning) to 5 (expert).
    pub skills: BTreeMap<String, u8>,
    pub state: AgentState,
    /// Whether their phone is registered (see the module comment).
    pub registered: bool,
    /// When they last became free: longest-idle routing serves the smallest first.
    pub idle_since: DateTime<Utc>,
    /// Offers missed or failed in a row (reset by an answered call or by coming back).
    pub misses: u32,
    /// The call being wrapped up, and the deadline that ends the wrap-up.
    pub wrapping: Option<FinishedCall>,
    pub wrap_up_timer: Option<TimerKey>,
    /// Asked to log out or go away while talking: where they go when the call ends (the
    /// call is never cut, and they are never offered another one meanwhile).
    pub after_call: Option<AgentState>,
}

impl AcdAgent {
    pub fn new(id: AgentId, seq: u64, now: DateTime<Utc>) -> Self {
        Self {
            id,
            seq,
            queues: Vec::new(),
            skills: BTreeMap::new(),
            state: AgentState::LoggedOut,
            registered: false,
            idle_since: now,
            misses: 0,
            wrapping: None,
            wrap_up_timer: None,
            after_call: None,
        }
    }

    /// May be offered a call right now.
    pub fn offerable(&self) -> bool {
        self.state == AgentState::Available && self.registered
    }

    pub fn logged_in(&self) -> bool {
        self.state != AgentState::LoggedOut
    }

    pub fn serves(&self, queue: &str) -> bool {
        self.queues.iter().any(|q| q == queue)
    }

    /// The agent's level for a set of skills: their weakest proficiency among them (5 when
    /// none are asked), `None` when they lack one.
    pub fn level(&self, skills: &[String]) -> Option<u8> {
        skills.iter().try_fold(5u8, |level, skill| {
            self.skills.get(skill).map(|p| level.min(*p))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_is_the_weakest_asked_skill_and_none_without_one() {
        let mut agent = AcdAgent::new("ann".into(), 1, DateTime::<Utc>::UNIX_EPOCH);
        agent.skills = BTreeMap::from([("cards".into(), 4), ("spanish".into(), 2)]);
        assert_eq!(agent.level(&[]), Some(5));
        assert_eq!(agent.level(&["cards".into()]), Some(4));
        assert_eq!(agent.level(&["cards".into(), "spanish".into()]), Some(2));
        assert_eq!(agent.level(&["french".into()]), None);
    }

    #[test]
    fn an_available_agent_without_a_registered_phone_is_not_offerable() {
        let mut agent = AcdAgent::new("ann".into(), 1, DateTime::<Utc>::UNIX_EPOCH);
        agent.state = AgentState::Available;
        assert!(!agent.offerable());
        agent.registered = true;
        assert!(agent.offerable());
        agent.state = AgentState::Away {
            reason: "lunch".into(),
        };
        assert!(!agent.offerable());
    }
}
