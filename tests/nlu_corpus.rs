//! CI gate on caller understanding: the labelled corpus must reach 95% intent accuracy and
//! 95% entity exact match (development and held-out cases together).

use hotline::nlu::corpus::{Corpus, Split};
use hotline::nlu::eval::evaluate;

const CORPUS_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sip-testbench/nlu/corpus.yaml");

fn load() -> Corpus {
    let text = std::fs::read_to_string(CORPUS_PATH).expect("corpus file is in the repository");
    Corpus::from_yaml(&text).unwrap_or_else(|e| panic!("{CORPUS_PATH}: {e}"))
}

#[test]
fn corpus_is_large_enough_and_covers_every_intent_and_entity() {
    let corpus = load();
    assert!(
        corpus.cases.len() >= 400,
        "only {} cases",
        corpus.cases.len()
    );
    for intent in corpus.model.intents() {
        let n = corpus
            .cases
            .iter()
            .filter(|c| c.intent.as_deref() == Some(intent.name.as_str()))
            .count();
        assert!(n >= 10, "intent {} has {n} cases", intent.name);
    }
    assert!(
        corpus
            .cases
            .iter()
            .filter(|c| c.intent.as_deref() == Some("none"))
            .count()
            >= 20
    );
    for (name, step) in &corpus.steps {
        let n = corpus.cases.iter().filter(|c| &c.step == name).count();
        assert!(n >= 8 || step.entity.is_none(), "step {name} has {n} cases");
    }
}

#[test]
fn corpus_meets_the_accuracy_bar() {
    let report = evaluate(&load());
    // Held-out failures are counted but not listed: they are not for tuning.
    let heldout_failures = report
        .failures()
        .filter(|o| o.split == Split::Heldout)
        .count();
    let failures: Vec<String> = report
        .failures()
        .filter(|o| o.split == Split::Dev)
        .map(|o| {
            format!(
                "#{} [{}] {:?}: intent {:?} -> {} ({:.2}); value {:?} -> {} ({})",
                o.number,
                o.step,
                o.text,
                o.expected_intent,
                o.got_intent,
                o.confidence,
                o.expected_value_shown,
                o.got_value,
                o.no_match_reason.as_deref().unwrap_or("")
            )
        })
        .collect();
    let intent = report.all.intent_accuracy();
    let entity = report.all.entity_exact_match();
    assert!(
        intent >= 0.95 && entity >= 0.95,
        "intent accuracy {intent:.3}, entity exact match {entity:.3}; \
         {heldout_failures} held-out failures; development failures:\n{}",
        failures.join("\n")
    );
}
