//! Caller understanding: spoken-number normalisation, intents and entities. Pure: no I/O.
//!
//! The contract other modules rely on is in `types.rs` and the two functions below; the
//! dialplan runtime calls them with the current gather's expectations.

mod types;

pub use types::*;

/// Understands one transcript for one gather step.
///
/// Placeholder until the classifier lands: exact example match only.
pub fn understand(
    model: &IntentModel,
    transcript: &str,
    expect: &Expectation<'_>,
) -> Understanding {
    let text = transcript.trim().to_lowercase();
    let intent = model
        .intents()
        .iter()
        .filter(|i| expect.competes(&i.name))
        .find(|i| i.examples.iter().any(|e| e.to_lowercase() == text))
        .map(|i| IntentMatch {
            name: i.name.clone(),
            confidence: 1.0,
        });
    Understanding {
        transcript: transcript.to_string(),
        intent,
        runner_up: None,
        entities: Vec::new(),
        no_match_reason: None,
    }
}

/// Understands keypad input for one gather step (fills the expected entity).
///
/// Placeholder until the entity extractors land.
pub fn understand_dtmf(digits: &str, expect: &Expectation<'_>) -> Understanding {
    let entities = expect
        .entity
        .map(|def| {
            vec![EntityValue {
                name: def.name.clone(),
                value: Value::Digits(digits.to_string()),
                sensitive: def.sensitive,
            }]
        })
        .unwrap_or_default();
    Understanding {
        transcript: String::new(),
        intent: None,
        runner_up: None,
        entities,
        no_match_reason: None,
    }
}
