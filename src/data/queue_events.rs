//! The agent queues' history in the database: one row per ACD queue record (a caller
//! enqueued, offered to an agent, answered, abandoned, re-queued, overflowed, timed out),
//! so that what happened to every caller who wanted a person is kept with the other call
//! records. Written by one writer task in batches, off the ACD's own task.

use super::error::DataError;
use super::store::Store;
use crate::acd::{QueueRecord, RecordKind};
use chrono::SecondsFormat;
use rusqlite::params;

/// One stored queue event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEventRow {
    pub at: String,
    pub call_id: String,
    pub queue: String,
    pub event: String,
    pub agent: Option<String>,
    pub detail: String,
}

/// The event name and the agent of a record.
fn event_and_agent(kind: &RecordKind) -> (&'static str, Option<String>) {
    let agent = |a: &crate::acd::AgentId| Some(a.0.clone());
    match kind {
        RecordKind::Enqueued { .. } => ("enqueued", None),
        RecordKind::Offered { agent: a, .. } => ("offered", agent(a)),
        RecordKind::Answered { agent: a, .. } => ("answered", agent(a)),
        RecordKind::Abandoned { agent: a, .. } => ("abandoned", a.as_ref().and_then(agent)),
        RecordKind::Requeued { agent: a, .. } => ("requeued", agent(a)),
        RecordKind::Overflowed { .. } => ("overflowed", None),
        RecordKind::TimedOut { .. } => ("timed_out", None),
        RecordKind::NotQueued { .. } => ("not_queued", None),
        RecordKind::CallbackRequested => ("callback_requested", None),
        RecordKind::CallbackFailed { .. } => ("callback_failed", None),
        RecordKind::CallbackGaveUp => ("callback_gave_up", None),
        RecordKind::Completed { agent: a, .. } => ("completed", agent(a)),
    }
}

/// Stores `records` in one transaction.
pub fn insert(store: &Store, records: &[QueueRecord]) -> Result<(), DataError> {
    store.with(|conn| {
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO queue_events (at, call_id, queue, event, agent, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for record in records {
                let (event, agent) = event_and_agent(&record.kind);
                let detail = serde_json::to_string(record).unwrap_or_default();
                insert.execute(params![
                    record.at.to_rfc3339_opts(SecondsFormat::Millis, true),
                    record.call.0,
                    record.queue,
                    event,
                    agent,
                    detail,
                ])?;
            }
        }
        tx.commit()
    })
}

/// Every event of one call, in order.
pub fn for_call(store: &Store, call_id: &str) -> Result<Vec<QueueEventRow>, DataError> {
    store.with(|conn| {
        let mut query = conn.prepare(
            "SELECT at, call_id, queue, event, agent, detail FROM queue_events
             WHERE call_id = ?1 ORDER BY id",
        )?;
        query
            .query_map([call_id], |r| {
                Ok(QueueEventRow {
                    at: r.get(0)?,
                    call_id: r.get(1)?,
                    queue: r.get(2)?,
                    event: r.get(3)?,
                    agent: r.get(4)?,
                    detail: r.get(5)?,
                })
            })?
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acd::{AgentId, CallerPriority, QueuedCallId};
    use std::time::Duration;

    #[test]
    fn records_are_stored_in_order_with_their_agent() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("h.db"), Duration::from_secs(1)).unwrap();
        let at = chrono::Utc::now();
        let call = QueuedCallId::from("c1");
        let record = |kind| QueueRecord {
            at,
            queue: "cards".into(),
            call: call.clone(),
            kind,
        };
        insert(
            &store,
            &[
                record(RecordKind::Enqueued {
                    priority: CallerPriority(1),
                }),
                record(RecordKind::Offered {
                    agent: AgentId::from("alice"),
                    callback: false,
                }),
                record(RecordKind::Answered {
                    agent: AgentId::from("alice"),
                    waited: Duration::from_secs(4),
                }),
            ],
        )
        .unwrap();
        let rows = for_call(&store, "c1").unwrap();
        let events: Vec<&str> = rows.iter().map(|r| r.event.as_str()).collect();
        assert_eq!(events, ["enqueued", "offered", "answered"]);
        assert_eq!(rows[1].agent.as_deref(), Some("alice"));
        assert!(
            rows[2].detail.contains("\"waited\":4"),
            "{}",
            rows[2].detail
        );
        assert!(for_call(&store, "other").unwrap().is_empty());
    }
}
