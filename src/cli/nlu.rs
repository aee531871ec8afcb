//! `hotline nlu eval CORPUS`: runs a labelled corpus through caller understanding and
//! prints accuracy, per-intent precision and recall, the confusion table, entity
//! exact-match rates and the cases that failed (sensitive values masked).

use anyhow::Context;
use hotline::nlu::corpus::{Corpus, Split};
use hotline::nlu::eval::{Metrics, Report, evaluate};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Evaluate a labelled corpus (format: docs/nlu.md).
    Eval(EvalArgs),
}

#[derive(clap::Args, Debug)]
struct EvalArgs {
    /// The corpus file, e.g. sip-testbench/nlu/corpus.yaml.
    corpus: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Also list held-out failures (by default only development failures are listed, so
    /// the held-out set stays unseen while tuning).
    #[arg(long)]
    show_heldout: bool,
    /// Exit with failure when intent accuracy (all cases) is below this.
    #[arg(long, value_name = "RATIO")]
    min_intent: Option<f64>,
    /// Exit with failure when entity exact match (all cases) is below this.
    #[arg(long, value_name = "RATIO")]
    min_entity: Option<f64>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Eval(eval) => run_eval(eval),
    }
}

fn run_eval(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.corpus)
        .with_context(|| format!("cannot read {}", args.corpus.display()))?;
    let corpus = Corpus::from_yaml(&text)
        .with_context(|| format!("{} is not a valid corpus", args.corpus.display()))?;
    let report = evaluate(&corpus);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&args, &corpus, &report));
    }
    let intent_ok = args
        .min_intent
        .is_none_or(|m| report.all.intent_accuracy() >= m);
    let entity_ok = args
        .min_entity
        .is_none_or(|m| report.all.entity_exact_match() >= m);
    if intent_ok && entity_ok {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: below the required accuracy");
        Ok(ExitCode::FAILURE)
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn render(args: &EvalArgs, corpus: &Corpus, report: &Report) -> String {
    let mut out = String::new();
    let dev = corpus
        .cases
        .iter()
        .filter(|c| c.split == Split::Dev)
        .count();
    let _ = writeln!(
        out,
        "corpus {}: {} cases ({} development, {} held-out), threshold {:.2}\n",
        args.corpus.display(),
        corpus.cases.len(),
        dev,
        corpus.cases.len() - dev,
        corpus.threshold
    );
    let _ = writeln!(
        out,
        "{:<22}{:>16}{:>16}{:>16}",
        "", "development", "held-out", "all"
    );
    let row = |m: &Metrics, intent: bool| {
        if intent {
            format!("{} of {}", pct(m.intent_accuracy()), m.intent_cases)
        } else {
            format!("{} of {}", pct(m.entity_exact_match()), m.entity_cases)
        }
    };
    for (label, intent) in [("intent accuracy", true), ("entity exact match", false)] {
        let _ = writeln!(
            out,
            "{:<22}{:>16}{:>16}{:>16}",
            label,
            row(&report.dev, intent),
            row(&report.heldout, intent),
            row(&report.all, intent)
        );
    }

    let all = &report.all;
    let _ = writeln!(out, "\nper intent (all cases)");
    let _ = writeln!(
        out,
        "{:<16}{:>10}{:>10}{:>10}{:>10}",
        "intent", "precision", "recall", "expected", "returned"
    );
    for (name, score) in &all.per_intent {
        let _ = writeln!(
            out,
            "{:<16}{:>10}{:>10}{:>10}{:>10}",
            name,
            pct(score.precision()),
            pct(score.recall()),
            score.expected,
            score.predicted
        );
    }

    let labels: Vec<&String> = all.per_intent.keys().collect();
    let _ = writeln!(out, "\nconfusion (rows: expected, columns: returned)");
    let _ = write!(out, "{:<16}", "");
    for l in &labels {
        let _ = write!(out, "{:>14}", truncate(l, 13));
    }
    let _ = writeln!(out);
    for expected in &labels {
        let _ = write!(out, "{:<16}", truncate(expected, 15));
        for got in &labels {
            let n = all
                .confusion
                .get(*expected)
                .and_then(|row| row.get(*got))
                .copied()
                .unwrap_or(0);
            let cell = if n == 0 {
                ".".to_string()
            } else {
                n.to_string()
            };
            let _ = write!(out, "{cell:>14}");
        }
        let _ = writeln!(out);
    }

    let _ = writeln!(out, "\nper entity (all cases)");
    let _ = writeln!(out, "{:<16}{:>12}{:>8}", "entity", "exact", "cases");
    for (name, score) in &all.per_entity {
        let _ = writeln!(
            out,
            "{:<16}{:>12}{:>8}",
            name,
            pct(score.exact_match()),
            score.total
        );
    }

    let heldout_failures = report
        .failures()
        .filter(|o| o.split == Split::Heldout)
        .count();
    let listed: Vec<_> = report
        .failures()
        .filter(|o| args.show_heldout || o.split == Split::Dev)
        .collect();
    let _ = writeln!(
        out,
        "\nfailures: {} development, {} held-out{}",
        report.failures().count() - heldout_failures,
        heldout_failures,
        if args.show_heldout {
            ""
        } else {
            " (not listed; --show-heldout)"
        }
    );
    for o in listed {
        let split = if o.split == Split::Dev {
            "dev"
        } else {
            "heldout"
        };
        let _ = writeln!(out, "  {split} #{} [{}] {:?}", o.number, o.step, o.text);
        if let Some(expected) = &o.expected_intent
            && *expected != o.got_intent
        {
            let _ = writeln!(
                out,
                "      intent: expected {expected}, got {} ({:.2}){}",
                o.got_intent,
                o.confidence,
                o.runner_up
                    .as_ref()
                    .map(|r| format!(", runner-up {r}"))
                    .unwrap_or_default()
            );
        }
        if let Some(expected) = &o.expected_value_shown
            && o.entity.is_some()
        {
            let _ = writeln!(
                out,
                "      {}: expected {expected}, got {}",
                o.entity.as_deref().unwrap_or("entity"),
                o.got_value
            );
        }
        if let Some(reason) = &o.no_match_reason {
            let _ = writeln!(out, "      reason: {reason}");
        }
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}
