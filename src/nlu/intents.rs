//! The intent classifier: every intent's examples and keywords, prepared once at load,
//! scored against a transcript by weighted word coverage with fuzzy word matching.
//!
//! Why this shape: a dialplan declares a handful of example phrases per intent, far too
//! few to train a model, and the transcripts come from a recogniser that misspells domain
//! words ("ballance", "stollen", "this pute") and surrounds them with talk. So:
//! - words are stemmed lightly and matched exactly or by character-trigram similarity
//!   (and adjacent pairs are joined, for words the recogniser split);
//! - a word's weight is its rarity across intents (a word every intent uses says nothing);
//! - an intent's score is mostly how much of its best example the caller said, partly how
//!   much of what the caller said belongs to the intent, plus a boost for keywords.

use super::types::{IntentDef, IntentMatch};
use super::vocabulary::Vocabulary;
use std::collections::HashSet;
use thiserror::Error;

/// A recommended no-match threshold for dialplans that do not set one.
pub const DEFAULT_THRESHOLD: f32 = 0.5;

/// Share of the score from the best example's coverage (the rest: how much of the
/// caller's words the intent explains).
const EXAMPLE_SHARE: f32 = 0.7;
/// Added when a keyword of the intent is heard.
const KEYWORD_BOOST: f32 = 0.25;
/// A keyword counts as heard at this word similarity or above.
const KEYWORD_MIN_SIMILARITY: f32 = 0.75;

/// A problem in intent definitions.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IntentDefError {
    #[error("an intent has an empty name")]
    EmptyName,
    #[error("intent `{0}` is declared twice")]
    Duplicate(String),
    #[error("intent `{0}` has no examples and no keywords, so it can never match")]
    Unmatchable(String),
}

#[derive(Debug, Clone)]
struct PreparedIntent {
    /// Each example as (term, weight) pairs.
    examples: Vec<Vec<(usize, f32)>>,
    /// Each keyword as the terms it is made of, with its boost.
    keywords: Vec<(Vec<usize>, f32)>,
    /// Every term this intent uses.
    terms: HashSet<usize>,
}

/// Every intent of a dialplan, prepared once at load for fast classification.
#[derive(Debug, Clone, Default)]
pub struct IntentModel {
    intents: Vec<IntentDef>,
    prepared: Vec<PreparedIntent>,
    vocabulary: Vocabulary,
}

impl IntentModel {
    /// Prepares intents. Intents without examples or keywords never match; use
    /// [`IntentModel::try_new`] to reject such definitions.
    pub fn new(intents: Vec<IntentDef>) -> Self {
        let mut vocabulary = Vocabulary::default();
        let mut example_terms: Vec<Vec<Vec<usize>>> = Vec::with_capacity(intents.len());
        let mut keyword_terms: Vec<Vec<Vec<usize>>> = Vec::with_capacity(intents.len());
        for intent in &intents {
            let examples = intent
                .examples
                .iter()
                .map(|e| vocabulary.add_phrase(e))
                .filter(|terms| !terms.is_empty())
                .collect();
            let keywords = intent
                .keywords
                .iter()
                .map(|k| vocabulary.add_phrase(k))
                .filter(|terms| !terms.is_empty())
                .collect();
            example_terms.push(examples);
            keyword_terms.push(keywords);
        }
        vocabulary.build_index();

        // Rarity across intents: in how many intents does each term appear?
        let mut intents_using = vec![0usize; vocabulary.term_count()];
        let term_sets: Vec<HashSet<usize>> = example_terms
            .iter()
            .zip(&keyword_terms)
            .map(|(ex, kw)| ex.iter().chain(kw).flatten().copied().collect())
            .collect();
        for set in &term_sets {
            for &t in set {
                intents_using[t] += 1;
            }
        }
        let n = intents.len().max(1) as f32;
        let weight = |t: usize| (1.0 + n / intents_using[t].max(1) as f32).ln();

        let prepared = example_terms
            .into_iter()
            .zip(keyword_terms)
            .zip(term_sets)
            .map(|((examples, keywords), terms)| {
                let examples: Vec<Vec<usize>> = examples.into_iter().map(dedup).collect();
                // Centrality: a word most of an intent's examples repeat ("card" for a lost
                // card) is its core; a word one example uses ("block") is a detail.
                let count = examples.len().max(1) as f32;
                let centrality =
                    |t: usize| examples.iter().filter(|ex| ex.contains(&t)).count() as f32 / count;
                let examples = examples
                    .iter()
                    .map(|ex| {
                        ex.iter()
                            .map(|&t| (t, weight(t) * (1.0 + centrality(t))))
                            .collect()
                    })
                    .collect();
                PreparedIntent {
                    examples,
                    keywords: keywords
                        .into_iter()
                        .map(|kw| {
                            // A keyword other intents also use is weaker evidence.
                            let used = kw.iter().map(|&t| intents_using[t]).max().unwrap_or(1);
                            (kw, KEYWORD_BOOST / used.max(1) as f32)
                        })
                        .collect(),
                    terms,
                }
            })
            .collect();
        Self {
            intents,
            prepared,
            vocabulary,
        }
    }

    /// Prepares intents, rejecting empty or duplicate names and intents that can never
    /// match.
    pub fn try_new(intents: Vec<IntentDef>) -> Result<Self, IntentDefError> {
        let mut seen = HashSet::new();
        for intent in &intents {
            if intent.name.trim().is_empty() {
                return Err(IntentDefError::EmptyName);
            }
            if !seen.insert(intent.name.as_str()) {
                return Err(IntentDefError::Duplicate(intent.name.clone()));
            }
        }
        let model = Self::new(intents);
        for (def, prepared) in model.intents.iter().zip(&model.prepared) {
            if prepared.examples.is_empty() && prepared.keywords.is_empty() {
                return Err(IntentDefError::Unmatchable(def.name.clone()));
            }
        }
        Ok(model)
    }

    pub fn intents(&self) -> &[IntentDef] {
        &self.intents
    }

    /// Whether an intent of this name is declared (for validating a gather's list).
    pub fn contains(&self, name: &str) -> bool {
        self.intents.iter().any(|i| i.name == name)
    }

    /// Scores every intent for which `competes` is true against the words of a
    /// transcript; best first.
    pub fn score(
        &self,
        words: &[String],
        competes: impl Fn(&IntentDef) -> bool,
    ) -> Vec<IntentMatch> {
        let similarity = self.vocabulary.match_words(words);
        let heard_weight = similarity.heard_weight();
        let mut scores: Vec<IntentMatch> = self
            .intents
            .iter()
            .zip(&self.prepared)
            .filter(|(def, _)| competes(def))
            .map(|(def, prepared)| IntentMatch {
                name: def.name.clone(),
                confidence: score_intent(prepared, &similarity, heard_weight),
            })
            .collect();
        scores.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        scores
    }
}

fn dedup(terms: Vec<usize>) -> Vec<usize> {
    let mut seen = HashSet::new();
    terms.into_iter().filter(|t| seen.insert(*t)).collect()
}

fn score_intent(
    intent: &PreparedIntent,
    heard: &super::vocabulary::Matches,
    heard_count: f32,
) -> f32 {
    let best_example = intent
        .examples
        .iter()
        .map(|example| {
            let total: f32 = example.iter().map(|(_, w)| w).sum();
            let covered: f32 = example.iter().map(|(t, w)| w * heard.strength(*t)).sum();
            if total > 0.0 { covered / total } else { 0.0 }
        })
        .fold(0.0f32, f32::max);
    let explained = if heard_count > 0.0 {
        heard.words_explained_by(&intent.terms) / heard_count
    } else {
        0.0
    };
    let boost = intent
        .keywords
        .iter()
        .filter(|(kw, _)| {
            kw.iter()
                .all(|t| heard.strength(*t) >= KEYWORD_MIN_SIMILARITY)
        })
        .map(|(_, boost)| *boost)
        .fold(0.0f32, f32::max);
    let base = EXAMPLE_SHARE * best_example + (1.0 - EXAMPLE_SHARE) * explained;
    (base + boost).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nlu::normalise::{lex, words};

    fn intent(name: &str, examples: &[&str], keywords: &[&str], global: bool) -> IntentDef {
        IntentDef {
            name: name.to_string(),
            examples: examples.iter().map(|s| s.to_string()).collect(),
            keywords: keywords.iter().map(|s| s.to_string()).collect(),
            global,
        }
    }

    fn bank() -> IntentModel {
        IntentModel::new(vec![
            intent(
                "balance",
                &[
                    "what's my balance",
                    "check my account balance",
                    "how much money do I have",
                ],
                &["balance"],
                false,
            ),
            intent(
                "lost_card",
                &[
                    "I lost my card",
                    "my card was stolen",
                    "report a stolen card",
                ],
                &["lost", "stolen"],
                false,
            ),
            intent(
                "dispute",
                &[
                    "dispute a charge",
                    "there's a charge I don't recognise",
                    "I was charged twice",
                ],
                &["dispute", "fraud"],
                false,
            ),
            intent(
                "agent",
                &["talk to an agent", "speak to a representative"],
                &["agent", "human"],
                true,
            ),
        ])
    }

    fn top(model: &IntentModel, text: &str) -> IntentMatch {
        model.score(&words(&lex(text)), |_| true).remove(0)
    }

    #[test]
    fn plain_examples_score_high() {
        let m = bank();
        let best = top(&m, "What's my balance?");
        assert_eq!(best.name, "balance");
        assert!(best.confidence > 0.9, "{best:?}");
    }

    #[test]
    fn misheard_and_wordy_requests() {
        let m = bank();
        assert_eq!(
            top(
                &m,
                "uh hi yeah I need to check the ballance on my checking account"
            )
            .name,
            "balance"
        );
        assert_eq!(
            top(
                &m,
                "somebody stole my card I think it was stollen at the gas station"
            )
            .name,
            "lost_card"
        );
        assert_eq!(top(&m, "I want to this pute a charge").name, "dispute");
        assert_eq!(top(&m, "can I talk to a human").name, "agent");
    }

    #[test]
    fn out_of_scope_scores_low() {
        let m = bank();
        let best = top(&m, "what's the weather going to be tomorrow");
        assert!(best.confidence < DEFAULT_THRESHOLD, "{best:?}");
        assert_eq!(top(&m, "").confidence, 0.0);
    }

    #[test]
    fn only_competing_intents_are_scored() {
        let m = bank();
        let scores = m.score(&words(&lex("my card was stolen")), |d| {
            d.name == "balance" || d.global
        });
        assert!(
            scores
                .iter()
                .all(|s| s.name == "balance" || s.name == "agent")
        );
    }

    #[test]
    fn definitions_are_checked() {
        let dup = vec![
            intent("a", &["x"], &[], false),
            intent("a", &["y"], &[], false),
        ];
        assert_eq!(
            IntentModel::try_new(dup).unwrap_err(),
            IntentDefError::Duplicate("a".into())
        );
        let empty = vec![intent("a", &["the a"], &[], false)];
        assert_eq!(
            IntentModel::try_new(empty).unwrap_err(),
            IntentDefError::Unmatchable("a".into())
        );
        assert_eq!(
            IntentModel::try_new(vec![intent(" ", &["x"], &[], false)]).unwrap_err(),
            IntentDefError::EmptyName
        );
        assert!(IntentModel::try_new(bank().intents().to_vec()).is_ok());
        assert!(bank().contains("agent"));
        assert!(!bank().contains("agents"));
    }
}
