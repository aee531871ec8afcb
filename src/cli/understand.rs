//! `hotline understand`: shows what a gather step would understand from a transcript (or
//! keypad input): the normalised words, every competing intent's confidence, the intent and
//! runner-up, the entity (sensitive values masked) and the reason for a no-match.
//!
//! Intents, entities and steps come from a dialplan (`--dialplan FILE --step [FLOW.]STEP`,
//! the gather's intents, entity and confidence exactly as the runtime builds them) or from
//! a corpus file's declarations (`--corpus-intents`, docs/nlu.md).

use anyhow::{Context, bail};
use chrono::NaiveDate;
use hotline::dialplan::format::Step;
use hotline::dialplan::{self, Dialplan};
use hotline::nlu::corpus::Corpus;
use hotline::nlu::{
    EntityDef, EntityKind, Expectation, Explanation, IntentModel, explain, understand_dtmf,
};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["dialplan", "corpus_intents"])))]
pub struct Args {
    /// A dialplan: its intents, entities and gather steps.
    #[arg(long, value_name = "FILE")]
    dialplan: Option<PathBuf>,
    /// A corpus file whose intent, entity and step declarations to use (docs/nlu.md).
    #[arg(long, value_name = "FILE")]
    corpus_intents: Option<PathBuf>,
    /// A gather step: `FLOW.STEP`, or `STEP` when one flow has it (dialplan); a step of
    /// the corpus file. Its intents, entity and confidence apply.
    #[arg(long, conflicts_with_all = ["intents", "entity"])]
    step: Option<String>,
    /// Intents that compete, comma-separated (global intents always compete).
    #[arg(long, value_delimiter = ',')]
    intents: Vec<String>,
    /// The entity to collect: a name declared in the file, or a kind: digits:MIN-MAX,
    /// digits:LEN, card_number, money, date, yes_no, ordinal.
    #[arg(long)]
    entity: Option<String>,
    /// Today's date for relative dates (default: today in the dialplan's timezone, or
    /// the local date).
    #[arg(long, value_name = "YYYY-MM-DD")]
    today: Option<NaiveDate>,
    /// No-match threshold (default: the step's or the file's).
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

/// What the chosen step expects, before today's date is known.
struct StepExpectation {
    intents: Vec<String>,
    entity: Option<EntityDef>,
    threshold: f32,
}

/// Where intents, entities and steps come from.
enum Source {
    Dialplan(Box<Dialplan>),
    Corpus(Box<Corpus>),
}

impl Source {
    fn load(args: &Args) -> anyhow::Result<Self> {
        if let Some(path) = &args.dialplan {
            return match dialplan::load_path(path) {
                Ok((plan, _warnings)) => Ok(Self::Dialplan(Box::new(plan))),
                Err(report) => bail!("{} does not load:\n{}", path.display(), report.render()),
            };
        }
        let Some(path) = &args.corpus_intents else {
            bail!("give --dialplan FILE or --corpus-intents FILE");
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let corpus = Corpus::from_yaml(&text)
            .with_context(|| format!("{} is not a valid corpus file", path.display()))?;
        Ok(Self::Corpus(Box::new(corpus)))
    }

    fn model(&self) -> &IntentModel {
        match self {
            Self::Dialplan(plan) => &plan.intent_model,
            Self::Corpus(corpus) => &corpus.model,
        }
    }

    fn entity(&self, name: &str) -> Option<&EntityDef> {
        match self {
            Self::Dialplan(plan) => plan.entities.get(name),
            Self::Corpus(corpus) => corpus.entities.iter().find(|d| d.name == name),
        }
    }

    fn default_threshold(&self) -> f32 {
        match self {
            Self::Dialplan(plan) => plan.confidence,
            Self::Corpus(corpus) => corpus.threshold,
        }
    }

    fn today(&self) -> NaiveDate {
        match self {
            Self::Dialplan(plan) => chrono::Utc::now()
                .with_timezone(&plan.timezone)
                .date_naive(),
            Self::Corpus(_) => chrono::Local::now().date_naive(),
        }
    }

    fn step(&self, name: &str) -> anyhow::Result<StepExpectation> {
        match self {
            Self::Corpus(corpus) => {
                let Some(step) = corpus.steps.get(name) else {
                    let known: Vec<&str> = corpus.steps.keys().map(String::as_str).collect();
                    bail!(
                        "no step `{name}` in the corpus file; steps: {}",
                        known.join(", ")
                    );
                };
                Ok(StepExpectation {
                    intents: step.intents.clone(),
                    entity: step.entity.and_then(|i| corpus.entities.get(i)).cloned(),
                    threshold: corpus.threshold,
                })
            }
            Self::Dialplan(plan) => dialplan_step(plan, name),
        }
    }
}

/// A gather of a dialplan, found by `FLOW.STEP` or by a step name only one flow has.
fn dialplan_step(plan: &Dialplan, name: &str) -> anyhow::Result<StepExpectation> {
    let gathers: Vec<(String, String)> = plan
        .doc
        .flows
        .iter()
        .flat_map(|(flow, f)| {
            f.steps
                .iter()
                .filter(|(_, step)| matches!(step, Step::Gather(_)))
                .map(move |(step, _)| (flow.value.clone(), step.value.clone()))
        })
        .collect();
    let matching: Vec<&(String, String)> = gathers
        .iter()
        .filter(|(flow, step)| match name.split_once('.') {
            Some((f, s)) => f == flow && s == step,
            None => step == name,
        })
        .collect();
    let (flow, step) = match matching.as_slice() {
        [one] => *one,
        [] => {
            let known: Vec<String> = gathers.iter().map(|(f, s)| format!("{f}.{s}")).collect();
            bail!(
                "no gather step `{name}` in {}; gathers: {}",
                plan.file,
                known.join(", ")
            );
        }
        many => {
            let names: Vec<String> = many.iter().map(|(f, s)| format!("{f}.{s}")).collect();
            bail!(
                "`{name}` is a step of several flows; say which: {}",
                names.join(", ")
            );
        }
    };
    let Some(Step::Gather(g)) = plan.flow(flow).and_then(|f| f.steps.get(step)) else {
        bail!("`{flow}.{step}` is not a gather step");
    };
    Ok(StepExpectation {
        intents: g.intents.keys().map(|k| k.value.clone()).collect(),
        entity: g
            .entity
            .as_ref()
            .and_then(|e| plan.entities.get(&e.value))
            .cloned(),
        threshold: g.confidence.unwrap_or(plan.confidence),
    })
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let source = Source::load(&args)?;
    let today = args.today.unwrap_or_else(|| source.today());
    let step = match &args.step {
        Some(step) => source.step(step)?,
        None => {
            for name in &args.intents {
                if !source.model().contains(name) {
                    bail!("intent `{name}` is not declared");
                }
            }
            let entity = args
                .entity
                .as_deref()
                .map(|e| entity_arg(&source, e))
                .transpose()?;
            StepExpectation {
                intents: args.intents.clone(),
                entity,
                threshold: source.default_threshold(),
            }
        }
    };
    let expect = Expectation {
        intents: &step.intents,
        include_global: true,
        entity: step.entity.as_ref(),
        today,
        threshold: args.threshold.unwrap_or(step.threshold),
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
        shown(explain(source.model(), &args.input, &expect))
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&shown)?);
    } else {
        print_text(&shown, step.entity.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}

fn entity_arg(source: &Source, arg: &str) -> anyhow::Result<EntityDef> {
    if let Some(def) = source.entity(arg) {
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
                    "`{arg}` is neither a declared entity nor a kind \
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
