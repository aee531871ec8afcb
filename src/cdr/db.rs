//! The CDR tables (migration 5 of the embedded database): writing a call as it starts and
//! as it ends, closing what a crash left open, retention, and the queries behind
//! `hotline cdr`. Every function takes the connection it works on, so the writer can put
//! many of them in one transaction.

use super::record::{CallRecord, CallStart, stamp};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// The end reason of a call a crash interrupted.
pub const SERVER_STOPPED: &str = "server stopped";

/// Inserts a starting call and its caller leg; returns the call's row id.
pub fn insert_start(conn: &Connection, start: &CallStart) -> rusqlite::Result<i64> {
    let started = stamp(start.started_at);
    conn.prepare_cached(
        "INSERT INTO cdr_calls (call_id, direction, caller, dialled, started_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        start.call_id,
        start.direction.as_str(),
        start.caller,
        start.dialled,
        started
    ])?;
    let row = conn.last_insert_rowid();
    conn.prepare_cached(
        "INSERT INTO cdr_legs (call, kind, party, started_at) VALUES (?1, 'caller', ?2, ?3)",
    )?
    .execute(params![row, start.caller, started])?;
    Ok(row)
}

/// Completes the row `row` (from [`insert_start`]) with the finished call, or inserts the
/// whole call when `row` is `None` (its start was never written).
pub fn finish(conn: &Connection, row: Option<i64>, record: &CallRecord) -> rusqlite::Result<i64> {
    let row = match row {
        Some(row) => row,
        None => {
            let row = insert_start(conn, &record.start)?;
            conn.prepare_cached("DELETE FROM cdr_legs WHERE call = ?1")?
                .execute([row])?;
            row
        }
    };
    let millis = |d: Option<std::time::Duration>| d.map(|d| d.as_millis() as i64);
    let duration = (record.ended_at - record.start.started_at)
        .num_milliseconds()
        .max(0);
    conn.prepare_cached(
        "UPDATE cdr_calls SET answered_at = ?2, ended_at = ?3, end_reason = ?4, dialplan = ?5,
            dialplan_version = ?6, path = ?7, intent = ?8, queue = ?9, agent = ?10,
            wait_ms = ?11, talk_ms = ?12, duration_ms = ?13
         WHERE id = ?1",
    )?
    .execute(params![
        row,
        record.answered_at.map(stamp),
        stamp(record.ended_at),
        record.end_reason,
        record.dialplan,
        record.dialplan_version,
        (!record.path.is_empty()).then(|| record.path.join(" > ")),
        record.intent,
        record.queue,
        record.agent,
        millis(record.wait),
        millis(record.talk),
        duration,
    ])?;
    // The legs as they ended replace the caller leg written at the start.
    conn.prepare_cached("DELETE FROM cdr_legs WHERE call = ?1")?
        .execute([row])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO cdr_legs (call, kind, party, started_at, answered_at, ended_at, end_reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for leg in &record.legs {
        insert.execute(params![
            row,
            leg.kind.as_str(),
            leg.party,
            stamp(leg.started_at),
            leg.answered_at.map(stamp),
            stamp(leg.ended_at),
            leg.end_reason,
        ])?;
    }
    Ok(row)
}

/// Notes that the writer is alive at `at`.
pub fn heartbeat(conn: &Connection, at: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO cdr_heartbeat (id, at) VALUES (1, ?1)")?
        .execute([stamp(at)])?;
    Ok(())
}

/// Closes every call (and leg) left open by a server that stopped without closing them
/// (a crash, `kill -9`, a power cut), as [`SERVER_STOPPED`], at the writer's last
/// heartbeat (or `now` when there was none; never before the call started). Returns how
/// many calls it closed.
pub fn recover(conn: &Connection, now: DateTime<Utc>) -> rusqlite::Result<usize> {
    // One transaction: a reader never sees a call closed with its legs still open.
    let tx = conn.unchecked_transaction()?;
    let closed = close_open(&tx, now)?;
    tx.commit()?;
    Ok(closed)
}

fn close_open(conn: &Connection, now: DateTime<Utc>) -> rusqlite::Result<usize> {
    let last_seen: Option<String> = conn
        .query_row("SELECT at FROM cdr_heartbeat WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    let at = last_seen.unwrap_or_else(|| stamp(now));
    let open: Vec<(i64, String)> = conn
        .prepare("SELECT id, started_at FROM cdr_calls WHERE ended_at IS NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (row, started) in &open {
        // Both are our own RFC 3339 stamps, which sort as text.
        let ended = if at.as_str() > started.as_str() {
            at.clone()
        } else {
            started.clone()
        };
        let duration = match (parse(started), parse(&ended)) {
            (Some(s), Some(e)) => (e - s).num_milliseconds().max(0),
            _ => 0,
        };
        conn.execute(
            "UPDATE cdr_calls SET ended_at = ?2, end_reason = ?3, duration_ms = ?4 WHERE id = ?1",
            params![row, ended, SERVER_STOPPED, duration],
        )?;
        conn.execute(
            "UPDATE cdr_legs SET ended_at = ?2, end_reason = ?3
             WHERE call = ?1 AND ended_at IS NULL",
            params![row, ended, SERVER_STOPPED],
        )?;
    }
    Ok(open.len())
}

/// Deletes the calls (and their legs) that started before `before`; returns how many.
pub fn purge(conn: &Connection, before: DateTime<Utc>) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM cdr_legs WHERE call IN (SELECT id FROM cdr_calls WHERE started_at < ?1)",
        [stamp(before)],
    )?;
    conn.execute(
        "DELETE FROM cdr_calls WHERE started_at < ?1",
        [stamp(before)],
    )
}

fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// One stored call, as `hotline cdr` shows and exports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CdrRow {
    pub call_id: String,
    pub direction: String,
    pub caller: String,
    pub dialled: String,
    pub started_at: String,
    pub answered_at: Option<String>,
    pub ended_at: Option<String>,
    pub end_reason: Option<String>,
    pub dialplan: Option<String>,
    pub dialplan_version: Option<String>,
    pub path: Option<String>,
    pub intent: Option<String>,
    pub queue: Option<String>,
    pub agent: Option<String>,
    pub wait_ms: Option<i64>,
    pub talk_ms: Option<i64>,
    pub duration_ms: Option<i64>,
    /// The agent's wrap-up code, from the call's ticket.
    pub disposition: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub legs: Vec<LegRow>,
}

/// One stored leg.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegRow {
    pub kind: String,
    pub party: String,
    pub started_at: String,
    pub answered_at: Option<String>,
    pub ended_at: Option<String>,
    pub end_reason: Option<String>,
}

/// Which calls to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Calls that started at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// At most this many, newest first (`None`: all, oldest first, for exports).
    pub limit: Option<usize>,
}

const CALL_COLUMNS: &str = "c.id, c.call_id, c.direction, c.caller, c.dialled, c.started_at,
    c.answered_at, c.ended_at, c.end_reason, c.dialplan, c.dialplan_version, c.path, c.intent,
    c.queue, c.agent, c.wait_ms, c.talk_ms, c.duration_ms,
    (SELECT t.disposition FROM tickets t
      WHERE t.call_id = c.call_id AND t.disposition IS NOT NULL
      ORDER BY t.id DESC LIMIT 1)";

fn call_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, CdrRow)> {
    Ok((
        r.get(0)?,
        CdrRow {
            call_id: r.get(1)?,
            direction: r.get(2)?,
            caller: r.get(3)?,
            dialled: r.get(4)?,
            started_at: r.get(5)?,
            answered_at: r.get(6)?,
            ended_at: r.get(7)?,
            end_reason: r.get(8)?,
            dialplan: r.get(9)?,
            dialplan_version: r.get(10)?,
            path: r.get(11)?,
            intent: r.get(12)?,
            queue: r.get(13)?,
            agent: r.get(14)?,
            wait_ms: r.get(15)?,
            talk_ms: r.get(16)?,
            duration_ms: r.get(17)?,
            disposition: r.get(18)?,
            legs: Vec::new(),
        },
    ))
}

/// The calls `filter` selects; with `legs`, each with its legs.
pub fn list(conn: &Connection, filter: &Filter, legs: bool) -> rusqlite::Result<Vec<CdrRow>> {
    // One read transaction: calls and legs from the same moment of the writer's work.
    let snapshot = conn.unchecked_transaction()?;
    let conn = &*snapshot;
    let since = filter
        .since
        .map(stamp)
        .unwrap_or_else(|| "0000".to_string());
    let (order, limit) = match filter.limit {
        Some(n) => ("DESC", n as i64),
        None => ("ASC", -1),
    };
    let sql = format!(
        "SELECT {CALL_COLUMNS} FROM cdr_calls c WHERE c.started_at >= ?1
         ORDER BY c.started_at {order}, c.id {order} LIMIT ?2"
    );
    let rows: Vec<(i64, CdrRow)> = conn
        .prepare(&sql)?
        .query_map(params![since, limit], call_row)?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(id, mut row)| {
            if legs {
                row.legs = legs_of(conn, id)?;
            }
            Ok(row)
        })
        .collect()
}

/// Every record of `call_id` (a SIP Call-ID may come back, so there may be several),
/// with their legs, oldest first.
pub fn show(conn: &Connection, call_id: &str) -> rusqlite::Result<Vec<CdrRow>> {
    let snapshot = conn.unchecked_transaction()?;
    let conn = &*snapshot;
    let sql = format!("SELECT {CALL_COLUMNS} FROM cdr_calls c WHERE c.call_id = ?1 ORDER BY c.id");
    let rows: Vec<(i64, CdrRow)> = conn
        .prepare(&sql)?
        .query_map([call_id], call_row)?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(id, mut row)| {
            row.legs = legs_of(conn, id)?;
            Ok(row)
        })
        .collect()
}

fn legs_of(conn: &Connection, call: i64) -> rusqlite::Result<Vec<LegRow>> {
    conn.prepare_cached(
        "SELECT kind, party, started_at, answered_at, ended_at, end_reason FROM cdr_legs
         WHERE call = ?1 ORDER BY id",
    )?
    .query_map([call], |r| {
        Ok(LegRow {
            kind: r.get(0)?,
            party: r.get(1)?,
            started_at: r.get(2)?,
            answered_at: r.get(3)?,
            ended_at: r.get(4)?,
            end_reason: r.get(5)?,
        })
    })?
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdr::record::{Direction, LegKind, LegRecord};
    use crate::data::Store;
    use std::time::Duration;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("h.db"), Duration::from_secs(1)).unwrap();
        (dir, store)
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn record(start: CallStart) -> CallRecord {
        CallRecord {
            answered_at: Some(at(1)),
            ended_at: at(90),
            end_reason: "caller hung up".into(),
            dialplan: Some("acme-bank".into()),
            dialplan_version: Some("0123456789ab".into()),
            path: vec!["main.greet".into(), "main.menu".into()],
            intent: Some("balance".into()),
            queue: Some("cards".into()),
            agent: Some("alice".into()),
            wait: Some(Duration::from_secs(20)),
            talk: Some(Duration::from_secs(60)),
            legs: vec![
                LegRecord {
                    kind: LegKind::Caller,
                    party: start.caller.clone(),
                    started_at: at(0),
                    answered_at: Some(at(1)),
                    ended_at: at(90),
                    end_reason: "caller hung up".into(),
                },
                LegRecord {
                    kind: LegKind::Agent,
                    party: "alice".into(),
                    started_at: at(25),
                    answered_at: Some(at(30)),
                    ended_at: at(90),
                    end_reason: "caller hung up".into(),
                },
            ],
            start,
        }
    }

    #[test]
    fn a_call_written_at_start_and_end_reads_back_with_its_legs() {
        let (_dir, store) = store();
        let start = CallStart::new("c1", Direction::Inbound, "+15551234567", "100", at(0));
        let rows = store
            .with(|c| {
                let row = insert_start(c, &start)?;
                let open = show(c, "c1")?;
                assert_eq!(open[0].ended_at, None, "in progress until it ends");
                assert_eq!(open[0].legs.len(), 1);
                finish(c, Some(row), &record(start.clone()))?;
                show(c, "c1")
            })
            .unwrap();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.end_reason.as_deref(), Some("caller hung up"));
        assert_eq!(row.path.as_deref(), Some("main.greet > main.menu"));
        assert_eq!(
            (row.wait_ms, row.talk_ms, row.duration_ms),
            (Some(20_000), Some(60_000), Some(90_000))
        );
        let kinds: Vec<&str> = row.legs.iter().map(|l| l.kind.as_str()).collect();
        assert_eq!(kinds, ["caller", "agent"]);
        assert_eq!(row.legs[1].party, "alice");
    }

    #[test]
    fn an_interrupted_call_is_closed_at_the_last_heartbeat_and_a_finished_one_is_kept() {
        let (_dir, store) = store();
        store
            .with(|c| {
                let done = CallStart::new("done", Direction::Inbound, "1", "100", at(0));
                let row = insert_start(c, &done)?;
                finish(c, Some(row), &record(done))?;
                insert_start(
                    c,
                    &CallStart::new("cut", Direction::Inbound, "2", "100", at(100)),
                )?;
                heartbeat(c, at(130))?;
                assert_eq!(recover(c, at(500))?, 1);
                assert_eq!(recover(c, at(600))?, 0, "closed once");
                Ok(())
            })
            .unwrap();
        let cut = store.with(|c| show(c, "cut")).unwrap();
        assert_eq!(cut[0].end_reason.as_deref(), Some(SERVER_STOPPED));
        assert_eq!(cut[0].ended_at.as_deref(), Some(stamp(at(130)).as_str()));
        assert_eq!(cut[0].duration_ms, Some(30_000));
        assert_eq!(cut[0].legs[0].end_reason.as_deref(), Some(SERVER_STOPPED));
        let done = store.with(|c| show(c, "done")).unwrap();
        assert_eq!(done[0].end_reason.as_deref(), Some("caller hung up"));
    }

    #[test]
    fn a_call_whose_start_was_never_written_is_inserted_whole() {
        let (_dir, store) = store();
        let start = CallStart::new("late", Direction::Callback, "3", "hotline", at(0));
        store.with(|c| finish(c, None, &record(start))).unwrap();
        let rows = store.with(|c| show(c, "late")).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].direction, "callback");
        assert_eq!(rows[0].legs.len(), 2, "the caller leg is not doubled");
    }

    #[test]
    fn listing_filters_by_start_and_purging_keeps_the_recent_calls() {
        let (_dir, store) = store();
        store
            .with(|c| {
                for (i, secs) in [0, 3600, 7200].into_iter().enumerate() {
                    let start =
                        CallStart::new(&format!("c{i}"), Direction::Inbound, "1", "2", at(secs));
                    insert_start(c, &start)?;
                }
                Ok(())
            })
            .unwrap();
        let since = Filter {
            since: Some(at(3600)),
            limit: None,
        };
        let ids = |rows: Vec<CdrRow>| rows.into_iter().map(|r| r.call_id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.with(|c| list(c, &since, false)).unwrap()),
            ["c1", "c2"]
        );
        let newest = Filter {
            since: None,
            limit: Some(1),
        };
        assert_eq!(
            ids(store.with(|c| list(c, &newest, false)).unwrap()),
            ["c2"]
        );
        assert_eq!(store.with(|c| purge(c, at(3600))).unwrap(), 1);
        assert_eq!(
            ids(store.with(|c| list(c, &Filter::default(), true)).unwrap()),
            ["c1", "c2"]
        );
    }
}
