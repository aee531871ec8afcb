//! Tickets: each agent transfer opens one, holding the context envelope the agent
//! received ("a ticket with context, so nobody repeats themselves"); the agent's wrap-up
//! closes it with a disposition and notes. A caller's recent tickets are what the agent's
//! card shows as their recent contacts.
//!
//! Calls block on SQLite: async callers run them on a blocking thread
//! (`tokio::task::spawn_blocking`), as [`Store::run`] does for lookups.

use super::error::DataError;
use super::store::Store;
use crate::acd::envelope::ContextEnvelope;
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{OptionalExtension, Row, params};

/// Longest disposition code accepted.
pub const MAX_DISPOSITION_CHARS: usize = 64;
/// Longest wrap-up notes accepted.
pub const MAX_NOTES_CHARS: usize = 4000;
/// Longest agent login accepted.
pub const MAX_AGENT_CHARS: usize = 128;
/// Caller ids with fewer digits (anonymous, an extension) have no recent contacts.
const MIN_CALLER_DIGITS: usize = 7;

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketStatus {
    Open,
    Closed,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Open => "open",
            TicketStatus::Closed => "closed",
        }
    }
}

/// One ticket as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub id: i64,
    pub call_id: String,
    /// RFC 3339, UTC.
    pub opened_at: String,
    pub queue: String,
    pub intent: Option<String>,
    /// The caller id as presented.
    pub caller: String,
    /// What the agent received; its `ticket_id` is this ticket's.
    pub envelope: ContextEnvelope,
    pub status: TicketStatus,
    pub disposition: Option<String>,
    pub notes: Option<String>,
    /// The agent who closed it.
    pub agent: Option<String>,
    pub closed_at: Option<String>,
}

/// The agent's wrap-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closing {
    /// The agent's login.
    pub agent: String,
    /// A short code (`resolved`, `card_blocked`, `escalated`...).
    pub disposition: String,
    pub notes: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    #[error("ticket {0} does not exist")]
    NotFound(i64),
    #[error("ticket {0} is already closed")]
    AlreadyClosed(i64),
    /// A wrap-up field is empty or too long (the message names the field, not its value).
    #[error("{0}")]
    BadInput(String),
    /// The stored envelope does not read back (a damaged database).
    #[error("ticket {id}: the stored context does not read: {message}")]
    Corrupt { id: i64, message: String },
    #[error(transparent)]
    Data(#[from] DataError),
}

/// The tickets of the embedded database.
#[derive(Debug, Clone)]
pub struct Tickets {
    store: Store,
}

impl Tickets {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Opens a ticket for a transfer at `now` and returns its id. The stored envelope
    /// carries the id (written in the same transaction).
    pub fn open(&self, envelope: &ContextEnvelope, now: DateTime<Utc>) -> Result<i64, TicketError> {
        if envelope.call_id.trim().is_empty() {
            return Err(TicketError::BadInput("a ticket needs the call's id".into()));
        }
        let mut stored = envelope.clone();
        let opened_at = timestamp(now);
        let intent = envelope.intent.as_ref().map(|i| i.name.clone());
        let caller_key = caller_key(&envelope.caller.number);
        let id = self.store.with(|conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO tickets (call_id, opened_at, queue, intent, caller, caller_key, envelope)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, '{}')",
                params![
                    envelope.call_id,
                    opened_at,
                    envelope.queue,
                    intent,
                    envelope.caller.number,
                    caller_key
                ],
            )?;
            let id = tx.last_insert_rowid();
            stored.ticket_id = Some(id);
            let json = stored
                .to_json()
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            tx.execute(
                "UPDATE tickets SET envelope = ?1 WHERE id = ?2",
                params![json, id],
            )?;
            tx.commit()?;
            Ok(id)
        })?;
        Ok(id)
    }

    /// Replaces the envelope of an open ticket (the shell fills the time waited once an
    /// agent answers). The ticket id inside is kept this ticket's.
    pub fn update_envelope(&self, id: i64, envelope: &ContextEnvelope) -> Result<(), TicketError> {
        let stored = envelope.clone().with_ticket(id);
        let json = stored.to_json().map_err(|e| TicketError::Corrupt {
            id,
            message: e.to_string(),
        })?;
        let changed = self.store.with(|conn| {
            conn.execute(
                "UPDATE tickets SET envelope = ?1 WHERE id = ?2 AND status = 'open'",
                params![json, id],
            )
        })?;
        if changed == 0 {
            return Err(self.why_not_open(id)?);
        }
        Ok(())
    }

    /// Closes an open ticket with the agent's wrap-up at `now`; returns it as closed.
    pub fn close(
        &self,
        id: i64,
        closing: &Closing,
        now: DateTime<Utc>,
    ) -> Result<Ticket, TicketError> {
        check_field("agent", &closing.agent, MAX_AGENT_CHARS, false)?;
        check_field(
            "disposition",
            &closing.disposition,
            MAX_DISPOSITION_CHARS,
            false,
        )?;
        check_field("notes", &closing.notes, MAX_NOTES_CHARS, true)?;
        let changed = self.store.with(|conn| {
            conn.execute(
                "UPDATE tickets SET status = 'closed', agent = ?1, disposition = ?2, notes = ?3,
                     closed_at = ?4
                 WHERE id = ?5 AND status = 'open'",
                params![
                    closing.agent.trim(),
                    closing.disposition.trim(),
                    closing.notes,
                    timestamp(now),
                    id
                ],
            )
        })?;
        if changed == 0 {
            return Err(self.why_not_open(id)?);
        }
        self.get(id)?.ok_or(TicketError::NotFound(id))
    }

    pub fn get(&self, id: i64) -> Result<Option<Ticket>, TicketError> {
        let row = self.store.with(|conn| {
            conn.query_row(
                &format!("SELECT {COLUMNS} FROM tickets WHERE id = ?1"),
                [id],
                RawTicket::from_row,
            )
            .optional()
        })?;
        row.map(RawTicket::into_ticket).transpose()
    }

    /// The tickets of the caller with this number (compared on its last ten digits),
    /// newest first, at most `limit`.
    pub fn recent_for_caller(
        &self,
        number: &str,
        limit: usize,
    ) -> Result<Vec<Ticket>, TicketError> {
        let key = caller_key(number);
        if key.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.store.with(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM tickets WHERE caller_key = ?1
                 ORDER BY opened_at DESC, id DESC LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![key, limit], RawTicket::from_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(RawTicket::into_ticket).collect()
    }

    /// Why an update matched no open ticket.
    fn why_not_open(&self, id: i64) -> Result<TicketError, TicketError> {
        let exists: bool = self.store.with(|conn| {
            conn.query_row(
                "SELECT count(*) > 0 FROM tickets WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
        })?;
        Ok(if exists {
            TicketError::AlreadyClosed(id)
        } else {
            TicketError::NotFound(id)
        })
    }
}

const COLUMNS: &str = "id, call_id, opened_at, queue, intent, caller, envelope, status, \
                       disposition, notes, agent, closed_at";

/// A row before its envelope is parsed.
struct RawTicket {
    id: i64,
    call_id: String,
    opened_at: String,
    queue: String,
    intent: Option<String>,
    caller: String,
    envelope: String,
    status: String,
    disposition: Option<String>,
    notes: Option<String>,
    agent: Option<String>,
    closed_at: Option<String>,
}

impl RawTicket {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawTicket> {
        Ok(RawTicket {
            id: row.get(0)?,
            call_id: row.get(1)?,
            opened_at: row.get(2)?,
            queue: row.get(3)?,
            intent: row.get(4)?,
            caller: row.get(5)?,
            envelope: row.get(6)?,
            status: row.get(7)?,
            disposition: row.get(8)?,
            notes: row.get(9)?,
            agent: row.get(10)?,
            closed_at: row.get(11)?,
        })
    }

    fn into_ticket(self) -> Result<Ticket, TicketError> {
        let envelope =
            ContextEnvelope::from_json(&self.envelope).map_err(|e| TicketError::Corrupt {
                id: self.id,
                message: e.to_string(),
            })?;
        let status = match self.status.as_str() {
            "open" => TicketStatus::Open,
            "closed" => TicketStatus::Closed,
            other => {
                return Err(TicketError::Corrupt {
                    id: self.id,
                    message: format!("unknown status `{other}`"),
                });
            }
        };
        Ok(Ticket {
            id: self.id,
            call_id: self.call_id,
            opened_at: self.opened_at,
            queue: self.queue,
            intent: self.intent,
            caller: self.caller,
            envelope,
            status,
            disposition: self.disposition,
            notes: self.notes,
            agent: self.agent,
            closed_at: self.closed_at,
        })
    }
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The last ten digits of a caller id (`+1 555-123-0003`, `sip:15551230003@host`), or
/// nothing for one too short to tell callers apart.
fn caller_key(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < MIN_CALLER_DIGITS {
        return String::new();
    }
    digits[digits.len().saturating_sub(10)..].iter().collect()
}

fn check_field(name: &str, value: &str, max: usize, may_be_empty: bool) -> Result<(), TicketError> {
    if !may_be_empty && value.trim().is_empty() {
        return Err(TicketError::BadInput(format!("the wrap-up needs a {name}")));
    }
    let length = value.chars().count();
    if length > max {
        return Err(TicketError::BadInput(format!(
            "the {name} is {length} characters, over the {max}-character limit"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acd::envelope::{CallerInfo, IntentInfo};
    use crate::dialplan::Priority;
    use chrono::TimeZone;
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn tickets() -> (tempfile::TempDir, Tickets) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("hotline.db"), Duration::from_secs(1)).unwrap();
        (dir, Tickets::new(store))
    }

    fn envelope(call_id: &str, caller: &str) -> ContextEnvelope {
        ContextEnvelope {
            version: 1,
            call_id: call_id.into(),
            dialplan: "acme-bank".into(),
            caller: CallerInfo {
                number: caller.into(),
                name: Some("Carol Diaz".into()),
            },
            verified: true,
            verified_by: Some("caller_id+pin".into()),
            intent: Some(IntentInfo {
                name: "lost_card".into(),
                confidence: Some(0.92),
            }),
            entities: BTreeMap::from([("pin".into(), "****".into())]),
            fields: BTreeMap::new(),
            path: vec!["main.main_menu".into(), "main.lost_card_transfer".into()],
            transcript: vec!["I lost my card".into(), "#****".into()],
            queue: "cards".into(),
            priority: Priority::Urgent,
            skills: Vec::new(),
            transferred_at: "2026-11-23T15:00:00.000Z".into(),
            waited_secs: None,
            ticket_id: None,
        }
    }

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 15, minute, 0).unwrap()
    }

    fn closing(disposition: &str) -> Closing {
        Closing {
            agent: "alice".into(),
            disposition: disposition.into(),
            notes: "blocked the card, new one posted".into(),
        }
    }

    #[test]
    fn a_transfer_opens_a_ticket_holding_its_envelope_and_id() {
        let (_dir, tickets) = tickets();
        let sent = envelope("call-1", "+15551230003");
        let id = tickets.open(&sent, at(0)).unwrap();
        let ticket = tickets.get(id).unwrap().expect("stored");
        assert_eq!(ticket.status, TicketStatus::Open);
        assert_eq!(
            (
                ticket.call_id.as_str(),
                ticket.queue.as_str(),
                ticket.intent.as_deref()
            ),
            ("call-1", "cards", Some("lost_card"))
        );
        assert_eq!(ticket.caller, "+15551230003");
        assert_eq!(ticket.opened_at, "2026-11-23T15:00:00.000Z");
        assert_eq!(ticket.envelope, sent.clone().with_ticket(id));
        assert_eq!((ticket.agent, ticket.closed_at), (None, None));
        let second = tickets
            .open(&envelope("call-2", "+15551230003"), at(1))
            .unwrap();
        assert_ne!(id, second, "each transfer gets its own ticket");
    }

    #[test]
    fn the_wrap_up_closes_a_ticket_once() {
        let (_dir, tickets) = tickets();
        let id = tickets
            .open(&envelope("call-1", "+15551230003"), at(0))
            .unwrap();
        let waited = envelope("call-1", "+15551230003").with_wait(Duration::from_secs(42));
        tickets.update_envelope(id, &waited).unwrap();
        let closed = tickets.close(id, &closing("card_blocked"), at(9)).unwrap();
        assert_eq!(closed.status, TicketStatus::Closed);
        assert_eq!(closed.agent.as_deref(), Some("alice"));
        assert_eq!(closed.disposition.as_deref(), Some("card_blocked"));
        assert_eq!(
            closed.notes.as_deref(),
            Some("blocked the card, new one posted")
        );
        assert_eq!(
            closed.closed_at.as_deref(),
            Some("2026-11-23T15:09:00.000Z")
        );
        assert_eq!(closed.envelope.waited_secs, Some(42));
        assert_eq!(closed.envelope.ticket_id, Some(id));
        assert!(matches!(
            tickets.close(id, &closing("resolved"), at(10)),
            Err(TicketError::AlreadyClosed(i)) if i == id
        ));
        assert!(matches!(
            tickets.update_envelope(id, &waited),
            Err(TicketError::AlreadyClosed(_))
        ));
        let again = tickets.get(id).unwrap().unwrap();
        assert_eq!(
            again.disposition.as_deref(),
            Some("card_blocked"),
            "the first wrap-up stays"
        );
        assert!(matches!(
            tickets.close(999, &closing("resolved"), at(10)),
            Err(TicketError::NotFound(999))
        ));
        assert_eq!(tickets.get(999).unwrap(), None);
    }

    #[test]
    fn a_bad_wrap_up_is_refused_and_changes_nothing() {
        let (_dir, tickets) = tickets();
        let id = tickets
            .open(&envelope("call-1", "+15551230003"), at(0))
            .unwrap();
        let mut bad = closing(" ");
        assert!(matches!(
            tickets.close(id, &bad, at(1)),
            Err(TicketError::BadInput(_))
        ));
        bad = closing(&"x".repeat(MAX_DISPOSITION_CHARS + 1));
        assert!(matches!(
            tickets.close(id, &bad, at(1)),
            Err(TicketError::BadInput(_))
        ));
        bad = closing("resolved");
        bad.notes = "n".repeat(MAX_NOTES_CHARS + 1);
        assert!(matches!(
            tickets.close(id, &bad, at(1)),
            Err(TicketError::BadInput(_))
        ));
        bad = closing("resolved");
        bad.agent = String::new();
        assert!(matches!(
            tickets.close(id, &bad, at(1)),
            Err(TicketError::BadInput(_))
        ));
        assert_eq!(tickets.get(id).unwrap().unwrap().status, TicketStatus::Open);
        assert!(matches!(
            tickets.open(&envelope(" ", "+15551230003"), at(0)),
            Err(TicketError::BadInput(_))
        ));
    }

    #[test]
    fn a_callers_recent_contacts_match_their_number_in_any_shape_newest_first() {
        let (_dir, tickets) = tickets();
        let first = tickets
            .open(&envelope("call-1", "+15551230003"), at(0))
            .unwrap();
        let other = tickets
            .open(&envelope("call-2", "+15551230002"), at(1))
            .unwrap();
        let second = tickets
            .open(&envelope("call-3", "sip:15551230003@pbx"), at(2))
            .unwrap();
        let third = tickets
            .open(&envelope("call-4", "(555) 123-0003"), at(3))
            .unwrap();
        let ids = |number: &str, limit| -> Vec<i64> {
            tickets
                .recent_for_caller(number, limit)
                .unwrap()
                .iter()
                .map(|t| t.id)
                .collect()
        };
        assert_eq!(ids("+1 555 123 0003", 10), vec![third, second, first]);
        assert_eq!(ids("15551230003", 2), vec![third, second]);
        assert_eq!(ids("+15551230002", 10), vec![other]);
        assert!(ids("anonymous", 10).is_empty());
        assert!(ids("100", 10).is_empty(), "an extension is nobody's number");
        assert!(ids("+15551230009", 10).is_empty());
    }

    #[test]
    fn tickets_survive_a_reopened_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hotline.db");
        let store = Store::open(&path, Duration::from_secs(1)).unwrap();
        let id = Tickets::new(store)
            .open(&envelope("call-1", "+15551230003"), at(0))
            .unwrap();
        let reopened = Tickets::new(Store::open(&path, Duration::from_secs(1)).unwrap());
        assert_eq!(reopened.get(id).unwrap().unwrap().call_id, "call-1");
    }

    #[test]
    fn a_damaged_envelope_is_reported_not_a_panic() {
        let (_dir, tickets) = tickets();
        let id = tickets
            .open(&envelope("call-1", "+15551230003"), at(0))
            .unwrap();
        tickets
            .store
            .with(|c| {
                c.execute(
                    "UPDATE tickets SET envelope = '{not json' WHERE id = ?1",
                    [id],
                )
            })
            .unwrap();
        assert!(matches!(tickets.get(id), Err(TicketError::Corrupt { id: i, .. }) if i == id));
    }
}
