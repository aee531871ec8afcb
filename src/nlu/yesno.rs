//! Yes and no in their many spoken forms ("yeah", "yep", "correct", "that's right",
//! "nope", "not really", "that's not right").
//!
//! Phrases are matched longest first so that "not right" is a no before "right" can be a
//! yes. An answer holding both (other than a self-correction such as "no, yes it is") is
//! reported as unclear: a bank would rather ask again than guess.

use super::entities::Miss;

const YES: &[&str] = &[
    "yes",
    "yeah",
    "yea",
    "yep",
    "yup",
    "ya",
    "yah",
    "yas",
    "yess",
    "mhm",
    "sure",
    "correct",
    "right",
    "thats right",
    "that is right",
    "thats correct",
    "that is correct",
    "absolutely",
    "definitely",
    "certainly",
    "of course",
    "affirmative",
    "ok",
    "okay",
    "alright",
    "all right",
    "sounds good",
    "i do",
    "i did",
    "it is",
    "true",
    "exactly",
    "you got it",
    "go ahead",
    "do it",
    "please do",
    "i think so",
    "i guess so",
    "indeed",
    "yes sir",
    "yes maam",
    "no problem",
    "why not",
    "you bet",
    "that works",
    "perfect",
];

const NO: &[&str] = &[
    "no",
    "nope",
    "nah",
    "naw",
    "nay",
    "not really",
    "negative",
    "incorrect",
    "wrong",
    "thats wrong",
    "not right",
    "not correct",
    "thats not right",
    "thats not correct",
    "that is not right",
    "that is not correct",
    "isnt right",
    "isnt correct",
    "not at all",
    "no way",
    "i dont",
    "i didnt",
    "dont",
    "didnt",
    "do not",
    "did not",
    "not",
    "never",
    "i dont think so",
    "dont think so",
    "no thanks",
    "no thank you",
    "not quite",
    "absolutely not",
    "definitely not",
    "of course not",
    "cancel",
    "nothing",
    "not that",
    "it isnt",
    "it is not",
    "thats not it",
    "not it",
];

/// Phrases that mean neither: they use words above but are not an answer.
const NEITHER: &[&str] = &[
    "not sure",
    "im not sure",
    "dont know",
    "i dont know",
    "no idea",
    "no clue",
    "right now",
    "all right now",
    "is that right",
    "is that correct",
    "what",
];

/// A yes/no phrase table, longest first.
#[derive(Debug, Clone)]
pub struct YesNoMatcher {
    phrases: Vec<(Vec<&'static str>, Option<bool>)>,
}

impl Default for YesNoMatcher {
    fn default() -> Self {
        let mut phrases: Vec<(Vec<&'static str>, Option<bool>)> = YES
            .iter()
            .map(|p| (p.split(' ').collect(), Some(true)))
            .chain(NO.iter().map(|p| (p.split(' ').collect(), Some(false))))
            .chain(NEITHER.iter().map(|p| (p.split(' ').collect(), None)))
            .collect();
        phrases.sort_by_key(|(words, _)| std::cmp::Reverse(words.len()));
        Self { phrases }
    }
}

impl YesNoMatcher {
    /// Reads a yes or a no from normalised words.
    pub fn extract(&self, words: &[String]) -> Result<bool, Miss> {
        let mut answers = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let hit = self.phrases.iter().find(|(phrase, _)| {
                phrase.len() <= words.len() - i
                    && phrase.iter().zip(&words[i..]).all(|(p, w)| p == w)
            });
            match hit {
                Some((phrase, answer)) => {
                    if let Some(a) = answer {
                        answers.push(*a);
                    }
                    i += phrase.len();
                }
                None => i += 1,
            }
        }
        let Some(&first) = answers.first() else {
            return Err(Miss::NotFound("yes or no"));
        };
        if answers.iter().all(|a| *a == first) {
            return Ok(first);
        }
        // "no, sorry, yes": a caller correcting themselves starts with the other answer
        // and ends with a clear one said twice or after a correction word.
        let corrected = words
            .iter()
            .any(|w| matches!(w.as_str(), "sorry" | "wait" | "actually" | "mean"));
        if corrected && let Some(&last) = answers.last() {
            return Ok(last);
        }
        Err(Miss::Unclear("heard both yes and no".to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::normalise::{lex, words};
    use super::*;

    fn yn(text: &str) -> Result<bool, Miss> {
        YesNoMatcher::default().extract(&words(&lex(text)))
    }

    #[test]
    fn yes_variants() {
        for t in [
            "Yes.",
            "yeah",
            "Yep!",
            "yup",
            "correct",
            "That's right.",
            "Uh-huh.",
            "sure thing",
            "yes please",
            "Yeah, that's correct.",
            "absolutely",
            "of course",
            "mm-hmm",
            "Okay.",
            "yes it is",
        ] {
            assert_eq!(yn(t), Ok(true), "{t}");
        }
    }

    #[test]
    fn no_variants() {
        for t in [
            "No.",
            "nope",
            "Not really.",
            "nah",
            "That's not right.",
            "no that's wrong",
            "incorrect",
            "I don't think so",
            "no thank you",
            "absolutely not",
            "of course not",
            "that is not correct",
        ] {
            assert_eq!(yn(t), Ok(false), "{t}");
        }
    }

    #[test]
    fn neither_or_both() {
        assert_eq!(yn("I'm not sure"), Err(Miss::NotFound("yes or no")));
        assert_eq!(yn("what's my balance"), Err(Miss::NotFound("yes or no")));
        assert_eq!(yn(""), Err(Miss::NotFound("yes or no")));
        assert!(matches!(yn("yes no"), Err(Miss::Unclear(_))));
        assert_eq!(yn("no, sorry, yes"), Ok(true));
    }
}
