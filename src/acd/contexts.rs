//! The context envelopes agents fetch: one per offer, under a random token that travels
//! in the INVITE (`User-to-User`, `Call-Info`). Only the agent offered the call may read
//! it, and only for a while: the token is a key to a caller's masked details, so it
//! expires (and the board never holds more than a bounded number).

use super::ids::AgentId;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an agent can fetch the context after the offer.
pub const CONTEXT_TTL: Duration = Duration::from_secs(4 * 3600);
/// Envelopes kept at most (the oldest go first).
const MAX_CONTEXTS: usize = 100_000;

struct Posted {
    agent: AgentId,
    json: String,
    at: Instant,
}

/// Why a context cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextRefusal {
    /// No such token (or it expired).
    Unknown,
    /// The token belongs to another agent's offer.
    NotYours,
}

/// The posted envelopes, by token.
#[derive(Default)]
pub struct ContextBoard {
    inner: Mutex<(HashMap<String, Posted>, VecDeque<String>)>,
}

impl ContextBoard {
    /// Posts `json` for `agent` at `now` and returns its token (32 hex digits).
    pub fn post(&self, agent: &AgentId, json: String, now: Instant) -> String {
        let token = format!("{:032x}", rand::random::<u128>());
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (posted, order) = &mut *guard;
        while order.len() >= MAX_CONTEXTS {
            if let Some(old) = order.pop_front() {
                posted.remove(&old);
            }
        }
        posted.insert(
            token.clone(),
            Posted {
                agent: agent.clone(),
                json,
                at: now,
            },
        );
        order.push_back(token.clone());
        token
    }

    /// The envelope under `token`, for `agent`, at `now`.
    pub fn read(
        &self,
        token: &str,
        agent: &AgentId,
        now: Instant,
    ) -> Result<String, ContextRefusal> {
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let posted = guard
            .0
            .get(token)
            .filter(|p| now.saturating_duration_since(p.at) < CONTEXT_TTL)
            .ok_or(ContextRefusal::Unknown)?;
        if &posted.agent != agent {
            return Err(ContextRefusal::NotYours);
        }
        Ok(posted.json.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_offered_agent_reads_the_context_and_only_until_it_expires() {
        let board = ContextBoard::default();
        let t0 = Instant::now();
        let alice = AgentId::from("alice");
        let token = board.post(&alice, "{\"intent\":\"lost_card\"}".into(), t0);
        assert_eq!(token.len(), 32);
        assert_eq!(
            board.read(&token, &alice, t0).as_deref(),
            Ok("{\"intent\":\"lost_card\"}")
        );
        assert_eq!(
            board.read(&token, &AgentId::from("bob"), t0),
            Err(ContextRefusal::NotYours)
        );
        assert_eq!(board.read("feed", &alice, t0), Err(ContextRefusal::Unknown));
        let later = t0 + CONTEXT_TTL;
        assert_eq!(
            board.read(&token, &alice, later),
            Err(ContextRefusal::Unknown)
        );
    }
}
