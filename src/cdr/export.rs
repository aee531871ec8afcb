//! Call records as CSV (one line per call, or per leg) and JSON (an array of calls, each
//! with its legs), for `hotline cdr export` and for anything that reads them.

use super::db::CdrRow;
use std::io::Write;

/// The formats `hotline cdr export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

/// Writes `rows` as CSV, one line per call.
pub fn calls_csv(rows: &[CdrRow], out: impl Write) -> csv::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record([
        "call_id",
        "direction",
        "caller",
        "dialled",
        "started_at",
        "answered_at",
        "ended_at",
        "end_reason",
        "dialplan",
        "dialplan_version",
        "path",
        "intent",
        "queue",
        "agent",
        "wait_ms",
        "talk_ms",
        "duration_ms",
        "disposition",
    ])?;
    for row in rows {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let number = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
        writer.write_record([
            row.call_id.clone(),
            row.direction.clone(),
            row.caller.clone(),
            row.dialled.clone(),
            row.started_at.clone(),
            text(&row.answered_at),
            text(&row.ended_at),
            text(&row.end_reason),
            text(&row.dialplan),
            text(&row.dialplan_version),
            text(&row.path),
            text(&row.intent),
            text(&row.queue),
            text(&row.agent),
            number(row.wait_ms),
            number(row.talk_ms),
            number(row.duration_ms),
            text(&row.disposition),
        ])?;
    }
    writer.flush()?;
    Ok(())
}

/// Writes the legs of `rows` as CSV, one line per leg with its call's id.
pub fn legs_csv(rows: &[CdrRow], out: impl Write) -> csv::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record([
        "call_id",
        "kind",
        "party",
        "started_at",
        "answered_at",
        "ended_at",
        "end_reason",
    ])?;
    for row in rows {
        for leg in &row.legs {
            let text = |v: &Option<String>| v.clone().unwrap_or_default();
            writer.write_record([
                row.call_id.clone(),
                leg.kind.clone(),
                leg.party.clone(),
                leg.started_at.clone(),
                text(&leg.answered_at),
                text(&leg.ended_at),
                text(&leg.end_reason),
            ])?;
        }
    }
    writer.flush()?;
    Ok(())
}

/// Writes `rows` as one JSON array.
pub fn json(rows: &[CdrRow], mut out: impl Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut out, rows)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdr::db::LegRow;

    fn row() -> CdrRow {
        CdrRow {
            call_id: "c1".into(),
            direction: "inbound".into(),
            caller: "Smith, \"J\"".into(),
            dialled: "100".into(),
            started_at: "2026-12-04T10:00:00.000Z".into(),
            answered_at: None,
            ended_at: Some("2026-12-04T10:01:00.000Z".into()),
            end_reason: Some("caller hung up".into()),
            dialplan: None,
            dialplan_version: None,
            path: Some("main.greet > main.menu".into()),
            intent: None,
            queue: None,
            agent: None,
            wait_ms: None,
            talk_ms: None,
            duration_ms: Some(60_000),
            disposition: None,
            legs: vec![LegRow {
                kind: "caller".into(),
                party: "Smith, \"J\"".into(),
                started_at: "2026-12-04T10:00:00.000Z".into(),
                answered_at: None,
                ended_at: None,
                end_reason: None,
            }],
        }
    }

    #[test]
    fn csv_quotes_what_needs_it_and_reads_back_as_written() {
        let mut out = Vec::new();
        calls_csv(&[row()], &mut out).unwrap();
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let headers = reader.headers().unwrap().clone();
        let record = reader.records().next().unwrap().unwrap();
        let field = |name: &str| {
            let i = headers.iter().position(|h| h == name).unwrap();
            record.get(i).unwrap().to_string()
        };
        assert_eq!(field("caller"), "Smith, \"J\"");
        assert_eq!(field("duration_ms"), "60000");
        assert_eq!(field("answered_at"), "");

        let mut legs = Vec::new();
        legs_csv(&[row()], &mut legs).unwrap();
        assert_eq!(String::from_utf8(legs).unwrap().lines().count(), 2);
    }

    #[test]
    fn json_is_an_array_of_calls_with_their_legs() {
        let mut out = Vec::new();
        json(&[row()], &mut out).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value[0]["call_id"], "c1");
        assert_eq!(value[0]["legs"][0]["kind"], "caller");
    }
}
