//! What the call machine notes for the call's detail record as the call goes: when it was
//! answered, which queue it went to, each ring of an agent's phone and how it ended, the
//! bridge. Kept on the machine's one clock; turned into wall times only when the record
//! is made, so the record agrees with the call's own timers.

use super::end::EndReason;
use crate::acd::LegFailure;
use crate::cdr::{CallRecord, CallStart, LegKind, LegRecord};
use chrono::{DateTime, Utc};
use std::time::Instant;

/// One ring of an agent's phone.
#[derive(Debug, Clone)]
struct AgentRing {
    id: u64,
    agent: String,
    started: Instant,
    answered: Option<Instant>,
    ended: Option<(Instant, &'static str)>,
}

/// The facts of one call so far.
#[derive(Debug, Clone, Default)]
pub(super) struct Ledger {
    answered: Option<Instant>,
    queue: Option<String>,
    queued_at: Option<Instant>,
    bridged: Option<(String, Instant)>,
    rings: Vec<AgentRing>,
}

/// Why an agent leg ended, as the record says it.
pub(super) fn failure_reason(cause: LegFailure) -> &'static str {
    match cause {
        LegFailure::NoAnswer => "no answer",
        LegFailure::Busy => "busy",
        LegFailure::Declined => "declined",
        LegFailure::Error => "failed",
        LegFailure::HungUp => "agent hung up while ringing",
    }
}

impl Ledger {
    pub fn answered(&mut self, now: Instant) {
        self.answered.get_or_insert(now);
    }

    /// Handed to `queue` (the first queue stays the call's queue through re-queues and
    /// overflows: that is where the caller asked to go).
    pub fn queued(&mut self, queue: &str, now: Instant) {
        self.queue.get_or_insert_with(|| queue.to_string());
        self.queued_at.get_or_insert(now);
    }

    pub fn ringing(&mut self, leg: u64, agent: &str, now: Instant) {
        self.rings.push(AgentRing {
            id: leg,
            agent: agent.to_string(),
            started: now,
            answered: None,
            ended: None,
        });
    }

    pub fn leg_answered(&mut self, leg: u64, now: Instant) {
        if let Some(ring) = self.ring(leg) {
            ring.answered.get_or_insert(now);
        }
    }

    pub fn leg_ended(&mut self, leg: u64, now: Instant, why: &'static str) {
        if let Some(ring) = self.ring(leg)
            && ring.ended.is_none()
        {
            ring.ended = Some((now, why));
        }
    }

    /// The caller and `agent` are talking (the first bridge counts for the wait; a
    /// caller re-queued after their agent vanished keeps the first agent on record).
    pub fn bridged(&mut self, agent: &str, now: Instant) {
        self.bridged.get_or_insert_with(|| (agent.to_string(), now));
    }

    fn ring(&mut self, leg: u64) -> Option<&mut AgentRing> {
        self.rings.iter_mut().rev().find(|r| r.id == leg)
    }

    /// The record of the call that started as `start` and ended at `end` for `why`;
    /// `wall` turns an instant of the call's clock into wall time.
    pub fn record(
        &self,
        start: CallStart,
        end: Instant,
        why: EndReason,
        summary: super::behaviour::Summary,
        wall: impl Fn(Instant) -> DateTime<Utc>,
    ) -> CallRecord {
        let ended_at = wall(end);
        let mut legs = vec![LegRecord {
            kind: LegKind::Caller,
            party: start.caller.clone(),
            started_at: start.started_at,
            answered_at: self.answered.map(&wall),
            ended_at,
            end_reason: why.as_str().to_string(),
        }];
        legs.extend(self.rings.iter().map(|ring| {
            let (ended, reason) = ring.ended.unwrap_or((end, why.as_str()));
            LegRecord {
                kind: LegKind::Agent,
                party: ring.agent.clone(),
                started_at: wall(ring.started),
                answered_at: ring.answered.map(&wall),
                ended_at: wall(ended),
                end_reason: reason.to_string(),
            }
        }));
        let wait = self.queued_at.map(|queued| {
            let until = self.bridged.as_ref().map_or(end, |(_, at)| *at);
            until.saturating_duration_since(queued)
        });
        let talk = self
            .bridged
            .as_ref()
            .map(|(_, at)| end.saturating_duration_since(*at));
        CallRecord {
            answered_at: self.answered.map(&wall),
            ended_at,
            end_reason: why.as_str().to_string(),
            dialplan: summary.dialplan,
            dialplan_version: summary.version,
            path: summary.path,
            intent: summary.intent,
            queue: self.queue.clone(),
            agent: self.bridged.as_ref().map(|(agent, _)| agent.clone()),
            wait,
            talk,
            legs,
            start,
        }
    }
}
