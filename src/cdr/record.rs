//! What a call detail record holds: the call as a whole ([`CallRecord`]) and each of its
//! legs ([`LegRecord`]), as plain values the call machine fills in and the writer stores.
//! Everything a peer chose (caller id, dialled number) is scrubbed of card numbers here,
//! once, so no store, export or metric downstream can see one.

use chrono::{DateTime, SecondsFormat, Utc};
use std::time::Duration;

/// Which way the call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A caller dialled in.
    Inbound,
    /// We called a waiting caller back.
    Callback,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Callback => "callback",
        }
    }
}

/// A call as it starts: written at once, so a crash leaves a row to close.
#[derive(Debug, Clone, PartialEq)]
pub struct CallStart {
    pub call_id: String,
    pub direction: Direction,
    pub caller: String,
    pub dialled: String,
    pub started_at: DateTime<Utc>,
}

impl CallStart {
    /// The start of a call; caller and dialled number are scrubbed.
    pub fn new(
        call_id: &str,
        direction: Direction,
        caller: &str,
        dialled: &str,
        started_at: DateTime<Utc>,
    ) -> Self {
        CallStart {
            call_id: call_id.to_string(),
            direction,
            caller: scrub(caller),
            dialled: scrub(dialled),
            started_at,
        }
    }
}

/// Which side of the call a leg is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegKind {
    Caller,
    Agent,
}

impl LegKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LegKind::Caller => "caller",
            LegKind::Agent => "agent",
        }
    }
}

/// One leg: the caller's, or one ring of an agent's phone.
#[derive(Debug, Clone, PartialEq)]
pub struct LegRecord {
    pub kind: LegKind,
    /// The caller's number, or the agent's login.
    pub party: String,
    pub started_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: DateTime<Utc>,
    pub end_reason: String,
}

/// A finished call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub start: CallStart,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: DateTime<Utc>,
    pub end_reason: String,
    /// The dialplan's name and version (a hash of its file), `None` in demo mode.
    pub dialplan: Option<String>,
    pub dialplan_version: Option<String>,
    /// The steps walked, as `flow.step`, in order.
    pub path: Vec<String>,
    /// The last intent understood (a name, never what was said).
    pub intent: Option<String>,
    /// The agent queue the caller was handed to, the agent who took them.
    pub queue: Option<String>,
    pub agent: Option<String>,
    /// From queueing to an agent's answer (or to the end, if nobody answered).
    pub wait: Option<Duration>,
    /// Bridged to the agent.
    pub talk: Option<Duration>,
    pub legs: Vec<LegRecord>,
}

impl CallRecord {
    /// A call that ended at `ended_at` for `why` before anything happened in it (refused,
    /// a callback nobody answered).
    pub fn unanswered(start: CallStart, ended_at: DateTime<Utc>, why: &str) -> Self {
        CallRecord {
            answered_at: None,
            ended_at,
            end_reason: why.to_string(),
            dialplan: None,
            dialplan_version: None,
            path: Vec::new(),
            intent: None,
            queue: None,
            agent: None,
            wait: None,
            talk: None,
            legs: vec![LegRecord {
                kind: LegKind::Caller,
                party: start.caller.clone(),
                started_at: start.started_at,
                answered_at: None,
                ended_at,
                end_reason: why.to_string(),
            }],
            start,
        }
    }
}

/// The record's times as stored: RFC 3339 UTC with milliseconds (sorts as text).
pub fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A value a peer chose, with every digit run that reads as a card number cut to its
/// last four digits.
fn scrub(text: &str) -> String {
    crate::acd::envelope::scrub(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_number_given_as_caller_id_is_cut_to_its_last_four_digits() {
        let start = CallStart::new(
            "c1",
            Direction::Inbound,
            "4111111111111111",
            "5551000",
            Utc::now(),
        );
        assert!(
            !start.caller.contains("4111111111111111"),
            "{}",
            start.caller
        );
        assert!(start.caller.ends_with("1111"), "{}", start.caller);
        assert_eq!(start.dialled, "5551000", "other numbers are kept");
    }
}
