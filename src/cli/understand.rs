//! `hotline understand`: shows what a gather step would understand from a transcript (or
//! keypad input): the normalised words, every competing intent's confidence, the intent and
//! runner-up, the entity (sensitive values masked) and the reason for a no-match.
//!
//! Intents, entities and steps come from a corpus file's declarations (`--corpus-intents`,
//! docs/nlu.md) until the dialplan loader lands.

use anyhow::{Context, bail};
use chrono::NaiveDate;
use hotline::nlu::corpus::Corpus;
use hotline::nlu::{EntityDef, EntityKind, Expectation, Explanation, explain, understand_dtmf};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A corpus file whose intent, entity and step declarations to use (docs/nlu.md).
    #[arg(long, value_name = "FILE")]
    corpus_intents: PathBuf,
    /// A step declared in that file: its intents and entity compete.
    #[arg(long, conflicts_with_all = ["intents", "entity"])]
    step: Option<String>,
    /// Intents that compete, comma-separated (global intents always compete).
    #[arg(long, value_delimiter = ',')]
    intents: Vec<String>,
    /// The entity to collect: a name declared in the file, or a kind: digits:MIN-MAX,
    /// digits:LEN, card_number, money, date, yes_no, ordinal.
    #[arg(long)]
    entity: Option<String>,
    /// Today's date for relative dates (default: the local date).
    #[arg(long, value_name = "YYYY-MM-DD")]
    today: Option<NaiveDate>,
    /// No-match threshold (default: the file's).
    #[arg(long)]
    threshold: Option<f32>,
    /// Treat the input as keypad digits (DTMF) instead of a transcript.
    #[arg(long)]
    dtmf: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// The transcript (or keypad digits with --dtmf).
    input: String,
}

#[derive(Serialize)]
struct Shown {
    transcript: String,
    words: Vec<String>,
    candidates: Vec<Scored>,
    intent: Option<Scored>,
    runner_up: Option<Scored>,
    entities: Vec<ShownEntity>,
    no_match_reason: Option<String>,
}

#[derive(Serialize)]
struct Scored {
    name: String,
    confidence: f32,
}

#[derive(Serialize)]
struct ShownEntity {
    name: String,
    value: String,
    sensitive: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.corpus_intents)
        .with_context(|| format!("cannot read {}", args.corpus_intents.display()))?;
    let corpus = Corpus::from_yaml(&text).with_context(|| {
        format!(
            "{} is not a valid corpus file",
            args.corpus_intents.display()
        )
    })?;
    let today = args
        .today
        .unwrap_or_else(|| chrono::Local::now().date_naive());

    let (intents, entity): (Vec<String>, Option<EntityDef>) = match &args.step {
        Some(step) => {
            let Some(s) = corpus.steps.get(step) else {
                let known: Vec<&str> = corpus.steps.keys().map(String::as_str).collect();
                bail!(
                    "no step `{step}` in {}; steps: {}",
                    args.corpus_intents.display(),
                    known.join(", ")
                );
            };
            (
                s.intents.clone(),
                s.entity.and_then(|i| corpus.entities.get(i)).cloned(),
            )
        }
        None => {
            for name in &args.intents {
                if !corpus.model.intents().iter().any(|i| &i.name == name) {
                    bail!(
                        "intent `{name}` is not declared in {}",
                        args.corpus_intents.display()
                    );
                }
            }
            let entity = args
                .entity
                .as_deref()
                .map(|e| entity_arg(&corpus, e))
                .transpose()?;
            (args.intents.clone(), entity)
        }
    };
    let expect = Expectation {
        intents: &intents,
        include_global: true,
        entity: entity.as_ref(),
        today,
        threshold: args.threshold.unwrap_or(corpus.threshold),
    };

    let shown = if args.dtmf {
        let u = understand_dtmf(&args.input, &expect);
        Shown {
            transcript: String::new(),
            words: Vec::new(),
            candidates: Vec::new(),
            intent: None,
            runner_up: None,
            entities: shown_entities(&u.entities),
            no_match_reason: u.no_match_reason,
        }
    } else {
        shown(explain(&corpus.model, &args.input, &expect))
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&shown)?);
    } else {
        print_text(&shown, entity.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}

fn entity_arg(corpus: &Corpus, arg: &str) -> anyhow::Result<EntityDef> {
    if let Some(def) = corpus.entities.iter().find(|d| d.name == arg) {
        return Ok(def.clone());
    }
    let kind = match arg {
        "card_number" => EntityKind::CardNumber,
        "money" => EntityKind::Money,
        "date" => EntityKind::Date,
        "yes_no" => EntityKind::YesNo,
        "ordinal" => EntityKind::Ordinal,
        _ => {
            let Some(range) = arg.strip_prefix("digits:") else {
                bail!(
                    "`{arg}` is neither an entity of the file nor a kind \
                     (digits:MIN-MAX, card_number, money, date, yes_no, ordinal)"
                );
            };
            let (min, max) = range.split_once('-').unwrap_or((range, range));
            let min_len: usize = min.parse().with_context(|| format!("bad length `{min}`"))?;
            let max_len: usize = max.parse().with_context(|| format!("bad length `{max}`"))?;
            if min_len == 0 || min_len > max_len {
                bail!("digits:{range} is not a length range");
            }
            EntityKind::Digits { min_len, max_len }
        }
    };
    let sensitive = matches!(kind, EntityKind::CardNumber);
    Ok(EntityDef {
        name: arg.to_string(),
        kind,
        sensitive,
    })
}

fn shown_entities(entities: &[hotline::nlu::EntityValue]) -> Vec<ShownEntity> {
    entities
        .iter()
        .map(|e| ShownEntity {
            name: e.name.clone(),
            value: e.masked(),
            sensitive: e.sensitive,
        })
        .collect()
}

fn shown(x: Explanation) -> Shown {
    let scored = |m: &hotline::nlu::IntentMatch| Scored {
        name: m.name.clone(),
        confidence: m.confidence,
    };
    Shown {
        transcript: x.understanding.transcript.clone(),
        words: x.words.clone(),
        candidates: x.candidates.iter().map(scored).collect(),
        intent: x.understanding.intent.as_ref().map(scored),
        runner_up: x.understanding.runner_up.as_ref().map(scored),
        entities: shown_entities(&x.understanding.entities),
        no_match_reason: x.understanding.no_match_reason.clone(),
    }
}

fn print_text(s: &Shown, entity: Option<&EntityDef>) {
    if !s.transcript.is_empty() {
        println!("transcript:  {:?}", s.transcript);
        println!("normalised:  {}", s.words.join(" "));
    }
    if !s.candidates.is_empty() {
        let list: Vec<String> = s
            .candidates
            .iter()
            .map(|c| format!("{} {:.2}", c.name, c.confidence))
            .collect();
        println!("candidates:  {}", list.join(", "));
    }
    match &s.intent {
        Some(i) => println!("intent:      {} ({:.2})", i.name, i.confidence),
        None => println!("intent:      none"),
    }
    if let Some(r) = &s.runner_up {
        println!("runner-up:   {} ({:.2})", r.name, r.confidence);
    }
    for e in &s.entities {
        let note = if e.sensitive {
            " (sensitive, masked)"
        } else {
            ""
        };
        println!("entity:      {} = {}{note}", e.name, e.value);
    }
    if s.entities.is_empty()
        && let Some(def) = entity
    {
        println!("entity:      {} not filled", def.name);
    }
    if let Some(reason) = &s.no_match_reason {
        println!("no match:    {reason}");
    }
}
