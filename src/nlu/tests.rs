//! End-to-end tests of `understand` and `understand_dtmf`: a gather's expectations in,
//! an understanding out.

use super::*;
use chrono::NaiveDate;

fn intent(name: &str, examples: &[&str], keywords: &[&str], global: bool) -> IntentDef {
    IntentDef {
        name: name.to_string(),
        examples: examples.iter().map(|s| s.to_string()).collect(),
        keywords: keywords.iter().map(|s| s.to_string()).collect(),
        global,
    }
}

fn model() -> IntentModel {
    IntentModel::new(vec![
        intent(
            "balance",
            &["what's my balance", "check my account balance"],
            &["balance"],
            false,
        ),
        intent(
            "lost_card",
            &["I lost my card", "my card was stolen"],
            &["lost", "stolen"],
            false,
        ),
        intent(
            "dispute",
            &["dispute a charge", "I don't recognise this charge"],
            &["dispute"],
            false,
        ),
        intent(
            "agent",
            &["talk to an agent", "speak to a representative"],
            &["agent"],
            true,
        ),
    ])
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

fn expect<'a>(intents: &'a [String], entity: Option<&'a EntityDef>) -> Expectation<'a> {
    Expectation {
        intents,
        include_global: true,
        entity,
        today: today(),
        threshold: DEFAULT_THRESHOLD,
    }
}

fn menu() -> Vec<String> {
    ["balance", "lost_card", "dispute"]
        .map(String::from)
        .to_vec()
}

#[test]
fn recognises_an_intent_with_runner_up() {
    let intents = menu();
    let u = understand(
        &model(),
        "um I think my card got stolen",
        &expect(&intents, None),
    );
    assert_eq!(
        u.intent.as_ref().map(|i| i.name.as_str()),
        Some("lost_card")
    );
    assert!(u.runner_up.is_some());
    assert!(u.no_match_reason.is_none());
}

#[test]
fn global_intents_compete_only_when_included() {
    let intents = vec!["balance".to_string()];
    let mut e = expect(&intents, None);
    let u = understand(&model(), "let me talk to an agent", &e);
    assert_eq!(u.intent.map(|i| i.name), Some("agent".to_string()));
    e.include_global = false;
    let u = understand(&model(), "let me talk to an agent", &e);
    assert_ne!(u.intent.map(|i| i.name), Some("agent".to_string()));
}

#[test]
fn intents_outside_the_step_do_not_compete() {
    let intents = vec!["balance".to_string()];
    let u = understand(&model(), "I lost my card", &expect(&intents, None));
    assert!(u.intent.is_none_or(|i| i.name != "lost_card"));
}

#[test]
fn out_of_scope_is_a_no_match_with_reason() {
    let intents = menu();
    let u = understand(&model(), "do you sell pizza", &expect(&intents, None));
    assert!(u.intent.is_none());
    assert!(u.no_match_reason.is_some());
}

#[test]
fn bad_input_is_a_reason_not_a_panic() {
    let intents = menu();
    let e = expect(&intents, None);
    for text in [
        "",
        "   ",
        "¿Dónde está mi tarjeta?",
        "日本語のテキスト",
        "\u{0}\u{1}\u{7f}",
    ] {
        let u = understand(&model(), text, &e);
        assert!(u.intent.is_none(), "{text}");
        assert!(u.no_match_reason.is_some(), "{text}");
    }
    let long = "balance ".repeat(1000);
    let u = understand(&model(), &long, &e);
    assert!(u.no_match_reason.unwrap().contains("too long"));
}

#[test]
fn fills_the_expected_entity_and_masks_sensitive_ones() {
    let pin = EntityDef {
        name: "pin".to_string(),
        kind: EntityKind::Digits {
            min_len: 4,
            max_len: 4,
        },
        sensitive: true,
    };
    let none: Vec<String> = Vec::new();
    let u = understand(
        &model(),
        "it's for five double seven",
        &expect(&none, Some(&pin)),
    );
    assert_eq!(u.entities.len(), 1);
    assert_eq!(u.entities[0].value, Value::Digits("4577".to_string()));
    assert_eq!(u.entities[0].masked(), "****");
    assert_eq!(
        u.transcript, "it's **** **** **** ****",
        "the PIN must not survive in the transcript"
    );
    let x = explain(&model(), "it's 4577", &expect(&none, Some(&pin)));
    assert!(x.words.iter().all(|w| !w.contains("4577")));

    let u = understand(&model(), "one two three", &expect(&none, Some(&pin)));
    assert!(u.entities.is_empty());
    let reason = u.no_match_reason.unwrap();
    assert_eq!(reason, "pin: heard 3 digits, expected 4");
}

#[test]
fn numbers_too_long_for_the_entity_are_a_reason() {
    let account = EntityDef {
        name: "account".to_string(),
        kind: EntityKind::Digits {
            min_len: 8,
            max_len: 8,
        },
        sensitive: false,
    };
    let none: Vec<String> = Vec::new();
    let u = understand(&model(), &"9".repeat(500), &expect(&none, Some(&account)));
    assert!(u.entities.is_empty());
    assert!(u.no_match_reason.unwrap().contains("500 digits"));
}

#[test]
fn a_confirmation_step_hears_yes_no_and_still_hears_agent() {
    let confirm = EntityDef {
        name: "confirm".to_string(),
        kind: EntityKind::YesNo,
        sensitive: false,
    };
    let none: Vec<String> = Vec::new();
    let u = understand(
        &model(),
        "yeah that's right",
        &expect(&none, Some(&confirm)),
    );
    assert_eq!(u.entities[0].value, Value::YesNo(true));
    assert!(u.intent.is_none());
    assert!(u.no_match_reason.is_none());
    let u = understand(
        &model(),
        "no just get me an agent",
        &expect(&none, Some(&confirm)),
    );
    assert_eq!(u.intent.map(|i| i.name), Some("agent".to_string()));
}

#[test]
fn dtmf_fills_the_same_entities() {
    let pin = EntityDef {
        name: "pin".to_string(),
        kind: EntityKind::Digits {
            min_len: 4,
            max_len: 4,
        },
        sensitive: true,
    };
    let none: Vec<String> = Vec::new();
    let u = understand_dtmf("4577#", &expect(&none, Some(&pin)));
    assert_eq!(u.entities[0].value, Value::Digits("4577".to_string()));
    assert!(u.entities[0].sensitive);
    assert!(
        u.transcript.is_empty(),
        "keypad digits never land in the transcript"
    );
    let u = understand_dtmf("45", &expect(&none, Some(&pin)));
    assert!(u.no_match_reason.is_some());
    let u = understand_dtmf("1", &expect(&none, None));
    assert!(u.no_match_reason.is_some());
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    fn every_kind() -> Vec<EntityDef> {
        [
            EntityKind::Digits {
                min_len: 4,
                max_len: 8,
            },
            EntityKind::CardNumber,
            EntityKind::Money,
            EntityKind::Date,
            EntityKind::YesNo,
            EntityKind::Ordinal,
        ]
        .into_iter()
        .map(|kind| EntityDef {
            name: "e".to_string(),
            kind,
            sensitive: true,
        })
        .collect()
    }

    /// Words the parsers care about, so that random text reaches deep into them.
    const VOCAB: &[&str] = &[
        "one", "two", "oh", "double", "hundred", "thousand", "million", "and", "twenty", "ninety",
        "nine", "for", "dollars", "cents", "point", "$", ".", "/", "march", "the", "third", "of",
        "last", "tuesday", "ago", "days", "yes", "no", "not", "right", "card", "lost", "agent",
        "99", "2024", "3rd", "a", "couple",
    ];

    proptest! {
        #[test]
        fn understand_never_panics_on_unicode(text in "\\PC{0,300}") {
            let intents = menu();
            for def in every_kind() {
                let _ = understand(&model(), &text, &expect(&intents, Some(&def)));
            }
        }

        #[test]
        fn understand_never_panics_on_number_soup(
            words in proptest::collection::vec(proptest::sample::select(VOCAB), 0..40)
        ) {
            let text = words.join(" ");
            let intents = menu();
            for def in every_kind() {
                let _ = understand(&model(), &text, &expect(&intents, Some(&def)));
            }
        }

        #[test]
        fn understand_dtmf_never_panics(keys in "[0-9*#a]{0,40}") {
            let none: Vec<String> = Vec::new();
            for def in every_kind() {
                let _ = understand_dtmf(&keys, &expect(&none, Some(&def)));
            }
        }
    }
}
