//! The labelled corpus format (docs/nlu.md): intent and entity declarations as a dialplan
//! makes them, the gather steps that use them, and utterances labelled with what each step
//! should understand. Parsed from text here; reading the file is the caller's business.

use super::intents::{IntentDefError, IntentModel};
use super::types::{EntityDef, EntityKind, Expectation, IntentDef};
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::BTreeMap;
use thiserror::Error;

/// The label for "nothing should be understood" (no intent, or no entity value).
pub const NONE_LABEL: &str = "none";

/// Why a corpus could not be loaded.
#[derive(Debug, Error)]
pub enum CorpusError {
    #[error("{0}")]
    Yaml(#[from] serde_saphyr::Error),
    #[error("{0}")]
    Intents(#[from] IntentDefError),
    #[error("{0}")]
    Invalid(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorpusFile {
    today: String,
    #[serde(default)]
    threshold: Option<f32>,
    intents: Vec<IntentSpec>,
    #[serde(default)]
    entities: Vec<EntitySpec>,
    steps: BTreeMap<String, StepSpec>,
    #[serde(default)]
    cases: Vec<CaseSpec>,
    #[serde(default)]
    heldout: Vec<CaseSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntentSpec {
    name: String,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    global: bool,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum KindName {
    Digits,
    CardNumber,
    Money,
    Date,
    YesNo,
    Ordinal,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntitySpec {
    name: String,
    kind: KindName,
    #[serde(default)]
    min_len: Option<usize>,
    #[serde(default)]
    max_len: Option<usize>,
    #[serde(default)]
    sensitive: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepSpec {
    #[serde(default)]
    intents: Vec<String>,
    #[serde(default)]
    entity: Option<String>,
    #[serde(default = "yes")]
    include_global: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseSpec {
    step: String,
    text: String,
    #[serde(default)]
    intent: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    today: Option<String>,
}

/// A gather step of the corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub intents: Vec<String>,
    pub include_global: bool,
    /// Index into [`Corpus::entities`].
    pub entity: Option<usize>,
}

/// Which part of the corpus a case belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Cases the classifier may be tuned on.
    Dev,
    /// Cases kept aside to check that tuning generalises.
    Heldout,
}

/// One labelled utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub split: Split,
    /// 1-based position within its split, for reports.
    pub number: usize,
    pub step: String,
    pub text: String,
    /// The intent the step should return, or [`NONE_LABEL`]; `None` when not labelled.
    pub intent: Option<String>,
    /// The entity value as displayed, or [`NONE_LABEL`]; `None` when not labelled.
    pub value: Option<String>,
    pub today: NaiveDate,
}

/// A loaded, checked corpus.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub threshold: f32,
    pub model: IntentModel,
    pub entities: Vec<EntityDef>,
    pub steps: BTreeMap<String, Step>,
    pub cases: Vec<Case>,
}

fn date(text: &str, what: &str) -> Result<NaiveDate, CorpusError> {
    text.trim()
        .parse()
        .map_err(|_| CorpusError::Invalid(format!("{what}: `{text}` is not a date (YYYY-MM-DD)")))
}

impl Corpus {
    /// Parses and checks a corpus.
    pub fn from_yaml(text: &str) -> Result<Self, CorpusError> {
        let file: CorpusFile = serde_saphyr::from_str(text)?;
        let today = date(&file.today, "today")?;
        let threshold = file.threshold.unwrap_or(super::DEFAULT_THRESHOLD);
        if !(0.0..=1.0).contains(&threshold) {
            return Err(CorpusError::Invalid(format!(
                "threshold {threshold} is not between 0 and 1"
            )));
        }
        if file.intents.iter().any(|i| i.name == NONE_LABEL) {
            return Err(CorpusError::Invalid(format!(
                "`{NONE_LABEL}` is reserved for no-match and cannot name an intent"
            )));
        }
        let model = IntentModel::try_new(
            file.intents
                .into_iter()
                .map(|i| IntentDef {
                    name: i.name,
                    examples: i.examples,
                    keywords: i.keywords,
                    global: i.global,
                })
                .collect(),
        )?;
        let entities = file
            .entities
            .into_iter()
            .map(entity_def)
            .collect::<Result<Vec<_>, _>>()?;

        let mut steps = BTreeMap::new();
        for (name, spec) in file.steps {
            for intent in &spec.intents {
                if !model.intents().iter().any(|i| &i.name == intent) {
                    return Err(CorpusError::Invalid(format!(
                        "step `{name}` lists intent `{intent}`, which is not declared"
                    )));
                }
            }
            let entity = match &spec.entity {
                Some(e) => Some(entities.iter().position(|d| &d.name == e).ok_or_else(|| {
                    CorpusError::Invalid(format!(
                        "step `{name}` collects entity `{e}`, which is not declared"
                    ))
                })?),
                None => None,
            };
            steps.insert(
                name,
                Step {
                    intents: spec.intents,
                    include_global: spec.include_global,
                    entity,
                },
            );
        }

        let mut cases = Vec::new();
        for (split, specs) in [(Split::Dev, file.cases), (Split::Heldout, file.heldout)] {
            for (k, spec) in specs.into_iter().enumerate() {
                let where_ = format!("{} case {} (\"{}\")", split_name(split), k + 1, spec.text);
                let Some(step) = steps.get(&spec.step) else {
                    return Err(CorpusError::Invalid(format!(
                        "{where_}: step `{}` is not declared",
                        spec.step
                    )));
                };
                if spec.intent.is_none() && spec.value.is_none() {
                    return Err(CorpusError::Invalid(format!(
                        "{where_}: label it with `intent` or `value` (or both)"
                    )));
                }
                if let Some(intent) = &spec.intent
                    && intent != NONE_LABEL
                    && !model.intents().iter().any(|i| &i.name == intent)
                {
                    return Err(CorpusError::Invalid(format!(
                        "{where_}: intent `{intent}` is not declared"
                    )));
                }
                if spec.value.is_some() && step.entity.is_none() {
                    return Err(CorpusError::Invalid(format!(
                        "{where_}: has a `value` but step `{}` collects no entity",
                        spec.step
                    )));
                }
                let today = match &spec.today {
                    Some(t) => date(t, &where_)?,
                    None => today,
                };
                cases.push(Case {
                    split,
                    number: k + 1,
                    step: spec.step,
                    text: spec.text,
                    intent: spec.intent,
                    value: spec.value,
                    today,
                });
            }
        }
        Ok(Self {
            threshold,
            model,
            entities,
            steps,
            cases,
        })
    }

    /// What a step expects on a given day.
    pub fn expectation<'a>(&'a self, step: &'a Step, today: NaiveDate) -> Expectation<'a> {
        Expectation {
            intents: &step.intents,
            include_global: step.include_global,
            entity: step.entity.and_then(|i| self.entities.get(i)),
            today,
            threshold: self.threshold,
        }
    }
}

pub(crate) fn split_name(split: Split) -> &'static str {
    match split {
        Split::Dev => "dev",
        Split::Heldout => "heldout",
    }
}

fn entity_def(spec: EntitySpec) -> Result<EntityDef, CorpusError> {
    let kind = match spec.kind {
        KindName::Digits => {
            let (Some(min_len), Some(max_len)) = (spec.min_len, spec.max_len) else {
                return Err(CorpusError::Invalid(format!(
                    "entity `{}`: a digits entity needs min_len and max_len",
                    spec.name
                )));
            };
            if min_len == 0 || min_len > max_len {
                return Err(CorpusError::Invalid(format!(
                    "entity `{}`: min_len {min_len} and max_len {max_len} make no range",
                    spec.name
                )));
            }
            EntityKind::Digits { min_len, max_len }
        }
        other => {
            if spec.min_len.is_some() || spec.max_len.is_some() {
                return Err(CorpusError::Invalid(format!(
                    "entity `{}`: min_len and max_len apply to digits entities only",
                    spec.name
                )));
            }
            match other {
                KindName::CardNumber => EntityKind::CardNumber,
                KindName::Money => EntityKind::Money,
                KindName::Date => EntityKind::Date,
                KindName::YesNo => EntityKind::YesNo,
                _ => EntityKind::Ordinal,
            }
        }
    };
    Ok(EntityDef {
        name: spec.name,
        kind,
        sensitive: spec.sensitive,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
today: 2026-11-20
intents:
  - {name: balance, examples: ["what's my balance"]}
  - {name: agent, examples: ["agent"], global: true}
entities:
  - {name: pin, kind: digits, min_len: 4, max_len: 4, sensitive: true}
steps:
  menu: {intents: [balance]}
  pin: {entity: pin}
cases:
  - {step: menu, intent: balance, text: "balance"}
  - {step: pin, value: "1234", text: "1234", today: 2026-01-01}
heldout:
  - {step: menu, intent: none, text: "pizza"}
"#;

    #[test]
    fn loads_a_small_corpus() {
        let c = Corpus::from_yaml(SMALL).unwrap();
        assert_eq!(c.cases.len(), 3);
        assert_eq!(
            c.cases[1].today,
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
        );
        assert_eq!(c.cases[2].split, Split::Heldout);
        assert_eq!(c.threshold, crate::nlu::DEFAULT_THRESHOLD);
        let step = &c.steps["pin"];
        let e = c.expectation(step, c.cases[1].today);
        assert!(e.entity.is_some_and(|d| d.sensitive));
    }

    #[test]
    fn mistakes_are_named() {
        let bad_step = SMALL.replace(
            "{step: menu, intent: balance",
            "{step: menus, intent: balance",
        );
        let err = Corpus::from_yaml(&bad_step).unwrap_err().to_string();
        assert!(err.contains("step `menus` is not declared"), "{err}");

        let bad_intent = SMALL.replace("intent: balance, text", "intent: balanse, text");
        let err = Corpus::from_yaml(&bad_intent).unwrap_err().to_string();
        assert!(err.contains("intent `balanse` is not declared"), "{err}");

        let bad_kind = SMALL.replace("kind: digits", "kind: digit");
        assert!(matches!(
            Corpus::from_yaml(&bad_kind),
            Err(CorpusError::Yaml(_))
        ));

        let no_len = SMALL.replace("min_len: 4, ", "");
        let err = Corpus::from_yaml(&no_len).unwrap_err().to_string();
        assert!(err.contains("needs min_len and max_len"), "{err}");

        let bad_date = SMALL.replace("today: 2026-01-01", "today: yesterday");
        let err = Corpus::from_yaml(&bad_date).unwrap_err().to_string();
        assert!(err.contains("is not a date"), "{err}");

        let value_without_entity = SMALL.replace("intent: none, text", "value: \"1\", text");
        let err = Corpus::from_yaml(&value_without_entity)
            .unwrap_err()
            .to_string();
        assert!(err.contains("collects no entity"), "{err}");
    }
}
