//! Names the ACD gives the things it routes: a queued call, an agent, a caller's priority.
//!
//! Ids are opaque strings chosen by the shell (the call's Hotline id, the agent's login),
//! so the same ids appear in decisions, queue records and the agent store.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One caller's stay in the ACD, from the transfer until they are bridged, abandon, time
/// out or give up on a callback. The shell uses the call's own id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QueuedCallId(pub String);

/// An agent, by the login the agent store knows them by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AgentId(pub String);

/// How urgent a caller is: higher is served first; callers of equal priority are served
/// in arrival order. The transfer chooses it (the dialplan's `low`/`normal`/`high`/
/// `urgent` map to 0/1/2/3, or any integer an expression yields).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct CallerPriority(pub i32);

impl CallerPriority {
    /// The dialplan's named levels, lowest first.
    pub const LEVELS: [(&'static str, i32); 4] =
        [("low", 0), ("normal", 1), ("high", 2), ("urgent", 3)];

    /// The priority of a named level (`"normal"` → 1), `None` for an unknown name.
    pub fn from_level(name: &str) -> Option<Self> {
        Self::LEVELS
            .iter()
            .find(|(level, _)| *level == name)
            .map(|(_, value)| CallerPriority(*value))
    }
}

impl From<&str> for QueuedCallId {
    fn from(id: &str) -> Self {
        QueuedCallId(id.to_string())
    }
}

impl From<&str> for AgentId {
    fn from(id: &str) -> Self {
        AgentId(id.to_string())
    }
}

impl fmt::Display for QueuedCallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
