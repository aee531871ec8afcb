//! The context envelopes agents fetch: one per offer, under a random token that travels
//! in the INVITE (`User-to-User`, `Call-Info`). Only the agent offered the call may read
//! it, and only for a while: the token is a key to a caller's masked details, so it
//! expires (and the board never holds more than a bounded number). The agent desktop
//! hears of each posting (`subscribe`), so the page can show the card while the phone rings.

use super::envelope::ContextEnvelope;
use super::ids::AgentId;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long an agent can fetch the context after the offer.
pub const CONTEXT_TTL: Duration = Duration::from_secs(4 * 3600);
/// Envelopes kept at most (the oldest go first).
const MAX_CONTEXTS: usize = 100_000;

struct Posted {
    agent: AgentId,
    envelope: ContextEnvelope,
    /// The transfer's ticket, filled in when the database has given its number (the
    /// offer may go out before).
    ticket: Arc<OnceLock<i64>>,
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

/// A context was posted for `agent`'s offer: what the desktop is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextPosted {
    pub agent: AgentId,
    pub token: String,
    /// The call, as the ACD names it (`QueuedCallId`'s text).
    pub call: String,
}

/// The posted envelopes, by token.
pub struct ContextBoard {
    inner: Mutex<(HashMap<String, Posted>, VecDeque<String>)>,
    posted: tokio::sync::broadcast::Sender<ContextPosted>,
}

impl Default for ContextBoard {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            posted: tokio::sync::broadcast::channel(1024).0,
        }
    }
}

impl ContextBoard {
    /// Posts `envelope` for `agent` at `now` and returns its token (32 hex digits).
    pub fn post(
        &self,
        agent: &AgentId,
        envelope: ContextEnvelope,
        ticket: Arc<OnceLock<i64>>,
        now: Instant,
    ) -> String {
        let token = format!("{:032x}", rand::random::<u128>());
        let notice = ContextPosted {
            agent: agent.clone(),
            token: token.clone(),
            call: envelope.call_id.clone(),
        };
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
                envelope,
                ticket,
                at: now,
            },
        );
        order.push_back(token.clone());
        drop(guard);
        // Nobody listening (no desktop open) is the usual case, not an error.
        let _ = self.posted.send(notice);
        token
    }

    /// Every posting from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<ContextPosted> {
        self.posted.subscribe()
    }

    /// Whether `agent` was offered the call of ticket `ticket` (their wrap-up may close it).
    pub fn offered(&self, agent: &AgentId, ticket: i64) -> bool {
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .0
            .values()
            .any(|p| &p.agent == agent && p.ticket.get() == Some(&ticket))
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
        let mut envelope = posted.envelope.clone();
        if let Some(id) = posted.ticket.get() {
            envelope = envelope.with_ticket(*id);
        }
        Ok(envelope.to_json().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialplan::TransferContext;

    fn envelope() -> ContextEnvelope {
        let context = TransferContext {
            dialplan: "acme".into(),
            caller_id: "5551234".into(),
            caller_name: None,
            verified: true,
            verified_by: None,
            intent: Some("lost_card".into()),
            intent_confidence: Some(0.9),
            entities: Default::default(),
            fields: Default::default(),
            path: Vec::new(),
            transcript: Vec::new(),
            queue: "cards".into(),
            priority: Default::default(),
            skills: Vec::new(),
        };
        ContextEnvelope::from_transfer("c1", &context, chrono::Utc::now())
    }

    #[test]
    fn only_the_offered_agent_reads_the_context_and_only_until_it_expires() {
        let board = ContextBoard::default();
        let t0 = Instant::now();
        let alice = AgentId::from("alice");
        let ticket = Arc::new(OnceLock::new());
        let mut posted = board.subscribe();
        let token = board.post(&alice, envelope(), ticket.clone(), t0);
        assert_eq!(token.len(), 32);
        assert_eq!(
            posted.try_recv().ok(),
            Some(ContextPosted {
                agent: alice.clone(),
                token: token.clone(),
                call: "c1".into()
            }),
            "the desktop hears of the posting"
        );
        let read = board.read(&token, &alice, t0).expect("alice reads it");
        assert!(
            read.contains("lost_card") && read.contains("\"ticket_id\":null"),
            "{read}"
        );
        assert!(!board.offered(&alice, 42), "no ticket yet");
        ticket.set(42).expect("first set");
        assert!(board.offered(&alice, 42));
        assert!(!board.offered(&AgentId::from("bob"), 42));
        let read = board.read(&token, &alice, t0).expect("alice reads it");
        assert!(
            read.contains("\"ticket_id\":42"),
            "the ticket shows once known: {read}"
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
