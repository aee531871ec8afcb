//! `hotline simulate FILE`: walks a dialplan without a phone. Interactive by default
//! (type what the caller says, `#1234` for keys, an empty line for silence), or from a
//! script with `--script`. Shows what the caller hears, what the runtime listens for,
//! lookups, the transfer with its context envelope, variables (masked) and the path.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use hotline::acd::envelope::ContextEnvelope;
use hotline::dialplan::flow_test::{Script, Turn, check_expect, transcript_lines};
use hotline::dialplan::session::{MockAnswer, ScriptedTransfer, Session, parse_time};
use hotline::dialplan::{self, Dialplan};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// The dialplan file.
    pub dialplan: PathBuf,
    /// Run the turns of this script file instead of reading the keyboard.
    #[arg(long)]
    pub script: Option<PathBuf>,
    /// Time of the call: `2026-11-23 10:00` (dialplan timezone) or RFC 3339. Default: now.
    #[arg(long)]
    pub at: Option<String>,
    /// Caller id presented.
    #[arg(long)]
    pub caller_id: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let plan = match dialplan::load_path(&args.dialplan) {
        Ok((plan, report)) => {
            eprint!("{}", report.render());
            Arc::new(plan)
        }
        Err(report) => {
            eprint!("{}", report.render());
            anyhow::bail!(
                "{} has errors: fix them first (`hotline check`)",
                args.dialplan.display()
            );
        }
    };
    let script = match &args.script {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let script: Script = serde_saphyr::from_str(&text).map_err(|e| {
                let diagnostic = dialplan::loader::yaml_diagnostic(&e);
                anyhow::anyhow!(
                    "{}",
                    dialplan::diagnostic::render_one(
                        &path.display().to_string(),
                        &text,
                        &diagnostic
                    )
                )
            })?;
            Some(script)
        }
        None => None,
    };
    let at = args
        .at
        .clone()
        .or_else(|| script.as_ref().and_then(|s| s.at.clone()));
    let now: DateTime<Utc> = match at {
        Some(at) => parse_time(&at, plan.timezone).map_err(anyhow::Error::msg)?,
        None => Utc::now(),
    };
    let caller_id = args
        .caller_id
        .clone()
        .or_else(|| script.as_ref().and_then(|s| s.caller_id.clone()))
        .unwrap_or_else(|| "anonymous".into());
    let mocks = script
        .as_ref()
        .map(|s| s.lookups.clone())
        .unwrap_or_default();
    println!(
        "Simulating {} ({}), caller {caller_id}, at {}",
        plan.name(),
        args.dialplan.display(),
        now.with_timezone(&plan.timezone)
            .format("%a %Y-%m-%d %H:%M %Z")
    );
    let mut session = Session::start(Arc::clone(&plan), &caller_id, now, mocks);
    let mut shown = 0;
    match script {
        Some(script) => run_script(&mut session, &script, &mut shown),
        None => run_interactive(&mut session, &mut shown)?,
    }
    show_new(&session, &mut shown);
    summary(&plan, &session);
    Ok(ExitCode::SUCCESS)
}

fn show_new(session: &Session, shown: &mut usize) {
    for line in transcript_lines(&session.lines[*shown..]) {
        println!("{line}");
    }
    *shown = session.lines.len();
}

fn run_script(session: &mut Session, script: &Script, shown: &mut usize) {
    for turn in &script.turns {
        if session.is_ended() {
            break;
        }
        if session.pending_lookup.is_some() {
            show_new(session, shown);
            println!("          (no mock for this lookup: answering error)");
            session.answer_lookup(&MockAnswer::Error("no mock in script".into()));
        }
        match turn {
            Turn::Say(text) => session.say(text),
            Turn::Press(keys) => session.press(keys),
            Turn::Silence => session.silence(),
            Turn::HangUp => session.hang_up(),
            Turn::TransferFails(reason) => session.transfer_fails(reason),
            Turn::Transfer(outcome) => session.transfer_ends(outcome),
            Turn::Expect(expect) => {
                show_new(session, shown);
                let failures = check_expect(session, expect);
                if failures.is_empty() {
                    println!("          (expect: ok)");
                }
                for f in failures {
                    println!("          (expect FAILED: {f})");
                }
            }
        }
        show_new(session, shown);
    }
}

const HELP: &str = "Type what the caller says; `#1234` presses keys; an empty line is silence (timeout).\n\
Commands: /vars, /path, /hangup, /help, /quit; a transfer ends with /answer (an agent answers),\n\
/timeout (the wait runs out), /noagents, /closed, /fail REASON, /callback (the caller asks to be called back).";

fn run_interactive(session: &mut Session, shown: &mut usize) -> anyhow::Result<()> {
    println!("{HELP}");
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        show_new(session, shown);
        if session.is_ended() {
            return Ok(());
        }
        if let Some((source, args)) = session.pending_lookup.clone() {
            print!(
                "lookup {source}({args}): answer `found k=v ...`, `notfound` or `error REASON` > "
            );
            std::io::stdout().flush()?;
            let Some(line) = lines.next().transpose()? else {
                return Ok(());
            };
            if matches!(line.trim(), "/quit" | "/q") {
                return Ok(());
            }
            match parse_answer(&line) {
                Some(answer) => session.answer_lookup(&answer),
                None => println!("not understood: {line}"),
            }
            continue;
        }
        print!("caller> ");
        std::io::stdout().flush()?;
        let Some(line) = lines.next().transpose()? else {
            return Ok(());
        };
        let line = line.trim();
        match line {
            "/quit" | "/q" => return Ok(()),
            "/help" => println!("{HELP}"),
            "/vars" => {
                for (name, value) in session.runtime().variables().masked() {
                    println!("  {name} = {value}");
                }
            }
            "/path" => println!("  {}", session.runtime().path().join(" -> ")),
            "/hangup" => session.hang_up(),
            "/answer" => session.transfer_ends(&ScriptedTransfer::Answered),
            "/timeout" => session.transfer_ends(&ScriptedTransfer::TimedOut),
            "/noagents" => session.transfer_ends(&ScriptedTransfer::NoAgents),
            "/closed" => session.transfer_ends(&ScriptedTransfer::QueueClosed),
            "/callback" => session.transfer_ends(&ScriptedTransfer::Callback),
            "" => session.silence(),
            _ if line.starts_with("/fail") => {
                session.transfer_fails(line.trim_start_matches("/fail").trim())
            }
            _ if line.starts_with('#') => session.press(&line[1..]),
            _ => session.say(line),
        }
    }
}

fn parse_answer(line: &str) -> Option<MockAnswer> {
    let line = line.trim();
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    match word {
        "notfound" | "not_found" => Some(MockAnswer::NotFound),
        "error" => Some(MockAnswer::Error(rest.trim().to_string())),
        "found" => {
            let mut fields = BTreeMap::new();
            for pair in rest.split_whitespace() {
                let (k, v) = pair.split_once('=')?;
                fields.insert(k.to_string(), v.to_string());
            }
            Some(MockAnswer::Found(fields))
        }
        _ => None,
    }
}

fn summary(plan: &Dialplan, session: &Session) {
    println!();
    println!("path: {}", session.runtime().path().join(" -> "));
    println!("variables:");
    for (name, value) in session.runtime().variables().masked() {
        println!("  {name} = {value}");
    }
    if let Some(t) = &session.transfer {
        println!(
            "transfer: queue `{}`, priority {}",
            t.queue,
            t.priority.as_str()
        );
        if !t.skills.is_empty() {
            let skills: Vec<String> = t
                .skills
                .iter()
                .map(|s| format!("{} (level {}+)", s.skill, s.min_level))
                .collect();
            println!("skills: {}", skills.join(", "));
        }
        if let Some(wait) = t.max_wait_secs {
            println!("max wait: {wait} s");
        }
        if t.callback {
            println!("callback: offered while waiting");
        }
        println!("context envelope (as the agent receives it):");
        let envelope = ContextEnvelope::from_transfer("simulated", &t.context, session.now());
        match serde_json::to_string_pretty(&envelope) {
            Ok(json) => println!("{json}"),
            Err(e) => println!("  (cannot show: {e})"),
        }
    }
    match (&session.hangup, session.end_reason()) {
        (Some(reason), _) => println!("call ended: {reason}"),
        (None, Some(reason)) => println!("dialplan ended: {reason}"),
        (None, None) if session.transfer.is_none() => {
            println!("call still in progress in {}", plan.name())
        }
        (None, None) => println!(
            "waiting in queue `{}`",
            session.transfer.as_ref().map_or("", |t| t.queue.as_str())
        ),
    }
}
