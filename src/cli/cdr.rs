//! `hotline cdr list|show|export`: the call detail records of the embedded database.
//! `--since` takes a time (`2026-12-01`, `2026-12-01T08:00:00Z`) or an age (`30m`, `24h`,
//! `7d`).

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, Utc};
use hotline::cdr::db::{self, CdrRow, Filter};
use hotline::cdr::export::{self, Format};
use hotline::config::Config;
use hotline::data::Store;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: CdrCommand,
    /// Configuration file (default: ./hotline.toml when it exists).
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    /// Data folder (default: `[data] dir` of the configuration, else `data/`).
    #[arg(long, global = true)]
    dir: Option<PathBuf>,
}

#[derive(clap::Subcommand, Debug)]
enum CdrCommand {
    /// The latest calls, newest first, one line each.
    List {
        /// Only calls that started at or after this time or within this age.
        #[arg(long)]
        since: Option<String>,
        /// At most this many calls.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One call with its legs.
    Show {
        /// The call's SIP Call-ID.
        call_id: String,
    },
    /// Every call (oldest first) as CSV or JSON on standard output.
    Export {
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        /// Only calls that started at or after this time or within this age.
        #[arg(long)]
        since: Option<String>,
        /// CSV only: one line per leg instead of one per call.
        #[arg(long)]
        legs: bool,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let store = open(args.config, args.dir)?;
    match args.command {
        CdrCommand::List { since, limit } => {
            let filter = Filter {
                since: since.as_deref().map(parse_since).transpose()?,
                limit: Some(limit),
            };
            let rows = store.with(|c| db::list(c, &filter, false))?;
            print_table(&rows);
        }
        CdrCommand::Show { call_id } => {
            let rows = store.with(|c| db::show(c, &call_id))?;
            if rows.is_empty() {
                eprintln!("no call record for {call_id}");
                return Ok(ExitCode::FAILURE);
            }
            for row in &rows {
                print_call(row);
            }
        }
        CdrCommand::Export {
            format,
            since,
            legs,
        } => {
            let filter = Filter {
                since: since.as_deref().map(parse_since).transpose()?,
                limit: None,
            };
            let with_legs = legs || format == Format::Json;
            let rows = store.with(|c| db::list(c, &filter, with_legs))?;
            let out = std::io::stdout().lock();
            match (format, legs) {
                (Format::Csv, false) => export::calls_csv(&rows, out)?,
                (Format::Csv, true) => export::legs_csv(&rows, out)?,
                (Format::Json, _) => export::json(&rows, out)?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn open(config: Option<PathBuf>, dir: Option<PathBuf>) -> anyhow::Result<Store> {
    let config_path = config.or_else(|| Some(PathBuf::from("hotline.toml")).filter(|p| p.exists()));
    let config = match &config_path {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let data = config.data;
    let path = dir.unwrap_or_else(|| data.dir.clone()).join(&data.database);
    if !path.exists() {
        bail!(
            "no database at {}: the server creates it on its first start",
            path.display()
        );
    }
    Store::open(&path, Duration::from_millis(data.busy_timeout_ms))
        .with_context(|| format!("cannot open {}", path.display()))
}

/// A time (`2026-12-01`, RFC 3339) or an age before now (`90s`, `30m`, `24h`, `7d`).
fn parse_since(text: &str) -> anyhow::Result<DateTime<Utc>> {
    parse_since_at(text, Utc::now())
}

fn parse_since_at(text: &str, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(midnight) = day.and_hms_opt(0, 0, 0)
    {
        return Ok(midnight.and_utc());
    }
    let unit_at = text.len().saturating_sub(1);
    let (number, unit) = (text.get(..unit_at), text.get(unit_at..));
    let seconds = match unit {
        Some("s") => 1,
        Some("m") => 60,
        Some("h") => 3600,
        Some("d") => 86_400,
        _ => 0,
    };
    match number.and_then(|n| n.parse::<i64>().ok()) {
        Some(n) if seconds > 0 && n >= 0 => n
            .checked_mul(seconds)
            .and_then(chrono::Duration::try_seconds)
            .and_then(|age| now.checked_sub_signed(age))
            .context("that age reaches before the calendar"),
        _ => bail!(
            "--since {text:?}: expected a date (2026-12-01), a time (2026-12-01T08:00:00Z) \
             or an age (30m, 24h, 7d)"
        ),
    }
}

fn dash(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("-")
}

fn seconds(ms: Option<i64>) -> String {
    ms.map(|ms| format!("{:.0}s", ms as f64 / 1000.0))
        .unwrap_or_else(|| "-".into())
}

fn print_table(rows: &[CdrRow]) {
    println!(
        "{:<24} {:<28} {:<16} {:>7} {:<20} {:<14} {:<10} {:<10}",
        "started", "call id", "caller", "length", "end", "intent", "queue", "agent"
    );
    for row in rows {
        println!(
            "{:<24} {:<28} {:<16} {:>7} {:<20} {:<14} {:<10} {:<10}",
            row.started_at,
            truncate(&row.call_id, 28),
            truncate(&row.caller, 16),
            seconds(row.duration_ms),
            dash(&row.end_reason),
            dash(&row.intent),
            dash(&row.queue),
            dash(&row.agent),
        );
    }
    if rows.is_empty() {
        println!("(no calls)");
    }
}

fn truncate(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}

fn print_call(row: &CdrRow) {
    println!("call        {} ({})", row.call_id, row.direction);
    println!("caller      {} -> {}", row.caller, row.dialled);
    println!("started     {}", row.started_at);
    println!("answered    {}", dash(&row.answered_at));
    println!(
        "ended       {} ({})",
        dash(&row.ended_at),
        dash(&row.end_reason)
    );
    println!("length      {}", seconds(row.duration_ms));
    if let Some(plan) = &row.dialplan {
        println!("dialplan    {plan} version {}", dash(&row.dialplan_version));
    }
    println!("path        {}", dash(&row.path));
    println!("intent      {}", dash(&row.intent));
    if row.queue.is_some() {
        println!(
            "queue       {} (waited {})",
            dash(&row.queue),
            seconds(row.wait_ms)
        );
        println!(
            "agent       {} (talked {})",
            dash(&row.agent),
            seconds(row.talk_ms)
        );
        println!("disposition {}", dash(&row.disposition));
    }
    println!("legs");
    for leg in &row.legs {
        println!(
            "  {:<6} {:<16} {} answered {} ended {} ({})",
            leg.kind,
            leg.party,
            leg.started_at,
            dash(&leg.answered_at),
            dash(&leg.ended_at),
            dash(&leg.end_reason)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_dates_times_and_ages_and_refuses_the_rest() {
        let now = DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let at = |t: &str| parse_since_at(t, now).unwrap().to_rfc3339();
        assert_eq!(at("2026-12-01"), "2026-12-01T00:00:00+00:00");
        assert_eq!(at("2026-12-04T08:00:00+02:00"), "2026-12-04T06:00:00+00:00");
        assert_eq!(at("24h"), "2026-12-03T12:00:00+00:00");
        assert_eq!(at("30m"), "2026-12-04T11:30:00+00:00");
        for bad in ["yesterday", "7w", "", "h", "-3d", "99999999999999999d"] {
            assert!(parse_since_at(bad, now).is_err(), "{bad}");
        }
    }
}
