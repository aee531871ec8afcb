//! Corpus evaluation: runs every labelled utterance through `understand` and measures
//! intent accuracy, per-intent precision and recall, the confusion between intents, and
//! entity exact-match rates, for the development and held-out sets apart.

use super::corpus::{Case, Corpus, NONE_LABEL, Split};
use super::understand;
use serde::Serialize;
use std::collections::BTreeMap;

/// Precision and recall of one intent label (including `none`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LabelScore {
    /// Cases labelled with this intent.
    pub expected: usize,
    /// Cases where this intent was returned.
    pub predicted: usize,
    pub correct: usize,
}

impl LabelScore {
    pub fn precision(&self) -> f64 {
        ratio(self.correct, self.predicted)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.correct, self.expected)
    }
}

/// Exact matches of one entity.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EntityScore {
    pub total: usize,
    pub correct: usize,
}

impl EntityScore {
    pub fn exact_match(&self) -> f64 {
        ratio(self.correct, self.total)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Metrics over a set of cases.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metrics {
    pub intent_cases: usize,
    pub intent_correct: usize,
    pub per_intent: BTreeMap<String, LabelScore>,
    /// expected label -> returned label -> count.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
    pub entity_cases: usize,
    pub entity_correct: usize,
    pub per_entity: BTreeMap<String, EntityScore>,
}

impl Metrics {
    pub fn intent_accuracy(&self) -> f64 {
        ratio(self.intent_correct, self.intent_cases)
    }
    pub fn entity_exact_match(&self) -> f64 {
        ratio(self.entity_correct, self.entity_cases)
    }

    fn add(&mut self, outcome: &Outcome) {
        if let Some(expected) = &outcome.expected_intent {
            let got = &outcome.got_intent;
            self.intent_cases += 1;
            self.per_intent
                .entry(expected.clone())
                .or_default()
                .expected += 1;
            self.per_intent.entry(got.clone()).or_default().predicted += 1;
            if expected == got {
                self.intent_correct += 1;
                self.per_intent.entry(expected.clone()).or_default().correct += 1;
            }
            *self
                .confusion
                .entry(expected.clone())
                .or_default()
                .entry(got.clone())
                .or_default() += 1;
        }
        if let (Some(expected), Some(entity)) = (&outcome.expected_value, &outcome.entity) {
            self.entity_cases += 1;
            let score = self.per_entity.entry(entity.clone()).or_default();
            score.total += 1;
            if *expected == outcome.got_value_raw {
                self.entity_correct += 1;
                score.correct += 1;
            }
        }
    }
}

/// What happened to one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub split: Split,
    pub number: usize,
    pub step: String,
    /// The case's text, masked at steps collecting a sensitive entity.
    pub text: String,
    pub expected_intent: Option<String>,
    /// The returned intent or `none`.
    pub got_intent: String,
    pub confidence: f32,
    pub runner_up: Option<String>,
    /// The entity the step collects.
    pub entity: Option<String>,
    /// Expected value, masked when the entity is sensitive.
    pub expected_value_shown: Option<String>,
    /// Returned value, masked when the entity is sensitive.
    pub got_value: String,
    pub no_match_reason: Option<String>,
    #[serde(skip)]
    expected_value: Option<String>,
    #[serde(skip)]
    got_value_raw: String,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        let intent_ok = self
            .expected_intent
            .as_ref()
            .is_none_or(|e| *e == self.got_intent);
        let value_ok = self
            .expected_value
            .as_ref()
            .is_none_or(|e| *e == self.got_value_raw);
        intent_ok && value_ok
    }
}

/// The evaluation of a whole corpus.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub dev: Metrics,
    pub heldout: Metrics,
    pub all: Metrics,
    pub outcomes: Vec<Outcome>,
}

impl Report {
    pub fn failures(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| !o.passed())
    }
}

/// Runs every case of a corpus.
pub fn evaluate(corpus: &Corpus) -> Report {
    let mut report = Report {
        dev: Metrics::default(),
        heldout: Metrics::default(),
        all: Metrics::default(),
        outcomes: Vec::with_capacity(corpus.cases.len()),
    };
    for case in &corpus.cases {
        let outcome = run_case(corpus, case);
        match case.split {
            Split::Dev => report.dev.add(&outcome),
            Split::Heldout => report.heldout.add(&outcome),
        }
        report.all.add(&outcome);
        report.outcomes.push(outcome);
    }
    report
}

fn run_case(corpus: &Corpus, case: &Case) -> Outcome {
    // Loading checked that every case's step exists.
    let step = &corpus.steps[&case.step];
    let expect = corpus.expectation(step, case.today);
    let understood = understand(&corpus.model, &case.text, &expect);
    let sensitive = expect.entity.is_some_and(|d| d.sensitive);
    let got = understood.entities.first();
    let mask = |v: &str| {
        if sensitive && v != NONE_LABEL {
            "****".to_string()
        } else {
            v.to_string()
        }
    };
    Outcome {
        split: case.split,
        number: case.number,
        step: case.step.clone(),
        // The corpus may hold real calls: a sensitive step's text carries the value.
        text: understood.transcript.clone(),
        expected_intent: case.intent.clone(),
        got_intent: understood
            .intent
            .as_ref()
            .map_or(NONE_LABEL.to_string(), |i| i.name.clone()),
        confidence: understood
            .intent
            .as_ref()
            .or(understood.runner_up.as_ref())
            .map_or(0.0, |i| i.confidence),
        runner_up: understood.runner_up.as_ref().map(|i| i.name.clone()),
        entity: expect.entity.map(|d| d.name.clone()),
        expected_value_shown: case.value.as_deref().map(mask),
        got_value: got.map_or(NONE_LABEL.to_string(), |e| e.masked()),
        no_match_reason: understood.no_match_reason.clone(),
        expected_value: case.value.clone(),
        got_value_raw: got.map_or(NONE_LABEL.to_string(), |e| e.value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CORPUS: &str = r#"
today: 2026-11-20
intents:
  - {name: balance, examples: ["what's my balance"], keywords: [balance]}
  - {name: lost_card, examples: ["I lost my card"], keywords: [lost]}
entities:
  - {name: pin, kind: digits, min_len: 4, max_len: 4, sensitive: true}
steps:
  menu: {intents: [balance, lost_card]}
  pin: {entity: pin}
cases:
  - {step: menu, intent: balance, text: "what's my balance"}
  - {step: menu, intent: lost_card, text: "what's my balance"}
  - {step: menu, intent: none, text: "pizza"}
  - {step: pin, value: "1234", text: "one two three four"}
  - {step: pin, value: "9999", text: "one two three four"}
heldout:
  - {step: menu, intent: lost_card, text: "I lost my card"}
"#;

    #[test]
    fn counts_hits_misses_and_confusions() {
        let corpus = Corpus::from_yaml(CORPUS).unwrap();
        let report = evaluate(&corpus);
        assert_eq!(report.dev.intent_cases, 3);
        assert_eq!(report.dev.intent_correct, 2);
        assert_eq!(report.dev.confusion["lost_card"]["balance"], 1);
        assert_eq!(report.dev.per_intent["balance"].predicted, 2);
        assert_eq!(report.dev.per_intent["balance"].precision(), 0.5);
        assert_eq!(report.dev.per_intent["lost_card"].recall(), 0.0);
        assert_eq!(report.dev.entity_cases, 2);
        assert_eq!(report.dev.entity_correct, 1);
        assert_eq!(report.heldout.intent_accuracy(), 1.0);
        assert_eq!(report.all.intent_cases, 4);
        assert_eq!(report.failures().count(), 2);
    }

    #[test]
    fn sensitive_values_are_masked_in_outcomes() {
        let corpus = Corpus::from_yaml(CORPUS).unwrap();
        let report = evaluate(&corpus);
        let pin_failure = report.failures().find(|o| o.step == "pin").unwrap();
        assert_eq!(pin_failure.got_value, "****");
        assert_eq!(pin_failure.expected_value_shown.as_deref(), Some("****"));
        let json = serde_json::to_string(&report).unwrap();
        assert!(!json.contains("\"1234\""));
        assert_eq!(pin_failure.text, "**** **** **** ****");
        assert!(!json.contains("9999"));
    }
}
