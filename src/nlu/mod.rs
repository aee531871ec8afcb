//! Caller understanding: spoken-number normalisation, intents and entities. Pure: no I/O.
//!
//! The contract other modules rely on is in `types.rs` and the two functions below; the
//! dialplan runtime calls them with the current gather's expectations. `explain` gives the
//! same answer with the working shown, for `hotline understand`.

mod cards;
pub mod corpus;
mod dates;
mod digits;
mod entities;
pub mod eval;
mod intents;
mod masking;
mod money;
mod normalise;
mod numbers;
mod ordinals;
#[cfg(test)]
mod spoken;
mod types;
mod vocabulary;
mod yesno;

pub use cards::luhn_valid;
pub use entities::Miss as EntityMiss;
pub use intents::{DEFAULT_THRESHOLD, IntentDefError, IntentModel};
pub use types::*;

/// Longer transcripts are not a caller's answer to a prompt (a recogniser looping on
/// noise, a pocket dial): they are a no-match with this reason rather than slow work.
pub const MAX_TRANSCRIPT_CHARS: usize = 2000;

/// An understanding with the working shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The transcript's words after normalisation (lower case, fillers removed).
    pub words: Vec<String>,
    /// Every competing intent with its confidence, best first.
    pub candidates: Vec<IntentMatch>,
    /// Why the expected entity was not filled, if it was not.
    pub entity_miss: Option<EntityMiss>,
    pub understanding: Understanding,
}

/// Understands one transcript for one gather step.
///
/// At a step that collects a sensitive entity, `Understanding::transcript` is masked
/// (numbers, number words, ordinals and month names become `****`).
///
/// Only the step's intents (and global ones when `include_global`) compete. When no intent
/// reaches the threshold, `intent` is `None` and `runner_up` holds the best candidate, so
/// a dialplan can confirm it ("Did you say you lost your card?").
pub fn understand(
    model: &IntentModel,
    transcript: &str,
    expect: &Expectation<'_>,
) -> Understanding {
    explain(model, transcript, expect).understanding
}

/// Understands one transcript and shows why.
pub fn explain(model: &IntentModel, transcript: &str, expect: &Expectation<'_>) -> Explanation {
    // At a step collecting a sensitive entity the transcript itself carries the value.
    let sensitive = expect.entity.is_some_and(|d| d.sensitive);
    let mut understanding = Understanding {
        transcript: if sensitive {
            masking::mask_transcript(transcript)
        } else {
            transcript.to_string()
        },
        ..Understanding::default()
    };
    let rejected = |understanding: Understanding, reason: String| Explanation {
        words: Vec::new(),
        candidates: Vec::new(),
        entity_miss: None,
        understanding: Understanding {
            no_match_reason: Some(reason),
            ..understanding
        },
    };
    if transcript.trim().is_empty() {
        return rejected(understanding, "empty transcript".to_string());
    }
    let chars = transcript.chars().count();
    if chars > MAX_TRANSCRIPT_CHARS {
        return rejected(
            understanding,
            format!(
                "transcript too long ({chars} characters; the limit is {MAX_TRANSCRIPT_CHARS})"
            ),
        );
    }

    let lexemes = normalise::lex(transcript);
    let words = normalise::words(&lexemes);
    let tokens = numbers::parse(&lexemes);
    let mut reasons = Vec::new();

    let mut entity_miss = None;
    if let Some(def) = expect.entity {
        match entities::from_speech(def, &tokens, &words, expect.today) {
            Ok(entity) => understanding.entities.push(entity),
            Err(miss) => {
                reasons.push(format!("{}: {miss}", def.name));
                entity_miss = Some(miss);
            }
        }
    }

    let candidates = model.score(&words, |def| {
        expect.competes(&def.name) || (def.global && expect.include_global)
    });
    match candidates.first() {
        Some(best) if best.confidence >= expect.threshold && best.confidence > 0.0 => {
            understanding.intent = Some(best.clone());
            understanding.runner_up = candidates.get(1).cloned();
        }
        Some(best) if best.confidence > 0.0 => {
            reasons.push(format!(
                "best intent `{}` at {:.2} is below the threshold {:.2}",
                best.name, best.confidence, expect.threshold
            ));
            understanding.runner_up = Some(best.clone());
        }
        // Global intents alone (an entity step) need no word when nothing resembles them.
        Some(_) if !expect.intents.is_empty() => {
            reasons.push("nothing heard resembles the expected intents".to_string())
        }
        Some(_) => {}
        None => {}
    }
    if understanding.intent.is_none() && understanding.entities.is_empty() {
        if reasons.is_empty() {
            reasons.push("this step expects no intent and no entity".to_string());
        }
        understanding.no_match_reason = Some(reasons.join("; "));
    }
    let words = if sensitive {
        masking::mask_words(&words)
    } else {
        words
    };
    Explanation {
        words,
        candidates,
        entity_miss,
        understanding,
    }
}

/// Understands keypad input for one gather step (fills the expected entity; see
/// `entities.rs` for the keypad conventions).
pub fn understand_dtmf(digits: &str, expect: &Expectation<'_>) -> Understanding {
    let mut understanding = Understanding::default();
    match expect.entity {
        Some(def) => match entities::from_dtmf(def, digits, expect.today) {
            Ok(entity) => understanding.entities.push(entity),
            Err(miss) => understanding.no_match_reason = Some(format!("{}: {miss}", def.name)),
        },
        None => {
            understanding.no_match_reason = Some("this step expects no keypad entity".to_string())
        }
    }
    understanding
}

#[cfg(test)]
mod tests;
