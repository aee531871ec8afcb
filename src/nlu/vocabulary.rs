//! The words intents are declared with: light stemming, content-free words, and a
//! character-trigram index so that a misheard word ("ballance") still finds the word it
//! was meant to be ("balance").

use super::normalise::{lex, words};
use std::collections::HashMap;

/// Two words are similar when their trigram Dice coefficient reaches this.
const FUZZY_MIN: f32 = 0.6;
/// Words shorter than this match only exactly: their trigrams say too little.
const FUZZY_MIN_LEN: usize = 4;

/// Words that carry no intent: pronouns, articles, auxiliaries and the talk around a
/// request ("hi, I was calling because I wanted to ...").
const CONTENT_FREE: &[&str] = &[
    "a",
    "an",
    "the",
    "i",
    "im",
    "id",
    "ive",
    "ill",
    "me",
    "my",
    "mine",
    "myself",
    "to",
    "of",
    "for",
    "and",
    "or",
    "but",
    "is",
    "it",
    "its",
    "this",
    "that",
    "thats",
    "these",
    "those",
    "be",
    "been",
    "being",
    "was",
    "were",
    "am",
    "are",
    "do",
    "does",
    "did",
    "can",
    "could",
    "would",
    "will",
    "should",
    "shall",
    "may",
    "might",
    "must",
    "want",
    "wanted",
    "wanna",
    "need",
    "needed",
    "just",
    "so",
    "on",
    "in",
    "at",
    "with",
    "about",
    "from",
    "by",
    "into",
    "you",
    "your",
    "youre",
    "we",
    "our",
    "us",
    "they",
    "them",
    "their",
    "he",
    "she",
    "his",
    "her",
    "have",
    "has",
    "had",
    "hi",
    "hello",
    "hey",
    "yes",
    "yeah",
    "okay",
    "ok",
    "oh",
    "well",
    "some",
    "there",
    "theres",
    "here",
    "if",
    "then",
    "than",
    "now",
    "right",
    "today",
    "calling",
    "call",
    "because",
    "cause",
    "think",
    "thought",
    "guess",
    "wondering",
    "trying",
    "try",
    "help",
    "thank",
    "thanks",
    "sorry",
    "good",
    "morning",
    "afternoon",
    "evening",
    "actually",
    "really",
    "kind",
    "sort",
    "also",
    "too",
    "very",
    "um",
    "uh",
    "please",
    "know",
    "get",
    "got",
    "gonna",
    "going",
    "go",
    "see",
    "let",
    "lets",
    "something",
    "thing",
    "up",
    "out",
    "any",
    "anything",
    "all",
    "what",
    "whats",
    "which",
    "who",
    "how",
    "when",
    "where",
    "why",
    "one",
    "yet",
    "again",
    "still",
    "bit",
    "little",
    "maybe",
    "hoping",
    "hope",
    "able",
    "way",
    "like",
    "as",
    "dont",
    "not",
    "no",
];

fn is_content_free(word: &str) -> bool {
    CONTENT_FREE.contains(&word)
}

/// Irregular verb forms that suffix stripping cannot join.
const IRREGULAR: &[(&str, &str)] = &[
    ("stole", "steal"),
    ("stolen", "steal"),
    ("lost", "lose"),
    ("took", "take"),
    ("taken", "take"),
    ("spoke", "speak"),
    ("spoken", "speak"),
    ("paid", "pay"),
    ("bought", "buy"),
    ("made", "make"),
    ("found", "find"),
    ("sent", "send"),
    ("spent", "spend"),
    ("owe", "owe"),
    ("gave", "give"),
    ("given", "give"),
];

/// Reduces a word to a stem: irregular forms first, then common suffixes.
pub fn stem(word: &str) -> String {
    if let Some((_, base)) = IRREGULAR.iter().find(|(w, _)| *w == word) {
        return light_stem(base);
    }
    light_stem(word)
}

fn light_stem(word: &str) -> String {
    let n = word.chars().count();
    let mut s = word.to_string();
    if n > 4 && s.ends_with("ies") {
        s.truncate(s.len() - 3);
        s.push('y');
    } else if n > 5 && s.ends_with("ing") {
        s.truncate(s.len() - 3);
    } else if n > 4 && s.ends_with("ed") {
        s.truncate(s.len() - 2);
    } else if n > 3 && s.ends_with('s') && !s.ends_with("ss") {
        s.truncate(s.len() - 1);
    }
    if s.chars().count() > 3 && s.ends_with('e') {
        s.truncate(s.len() - 1);
    }
    s
}

/// The stems of a transcript's content words.
pub fn stem_content_words(words: &[String]) -> Vec<String> {
    words
        .iter()
        .filter(|w| !is_content_free(w))
        .map(|w| stem(w))
        .collect()
}

fn trigrams(word: &str) -> Vec<u64> {
    let chars: Vec<char> = std::iter::once('^')
        .chain(word.chars())
        .chain(std::iter::once('$'))
        .collect();
    let mut grams: Vec<u64> = chars
        .windows(3)
        .map(|w| (u64::from(w[0]) << 42) | (u64::from(w[1]) << 21) | u64::from(w[2]))
        .collect();
    grams.sort_unstable();
    grams.dedup();
    grams
}

/// The distinct stems of every intent's examples and keywords.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    terms: Vec<String>,
    ids: HashMap<String, usize>,
    trigram_counts: Vec<usize>,
    index: HashMap<u64, Vec<usize>>,
}

/// How strongly each vocabulary term was heard in one transcript.
#[derive(Debug, Clone)]
pub struct Matches {
    strength: Vec<f32>,
    /// For each heard word, the terms it resembles and how much.
    per_word: Vec<Vec<(usize, f32)>>,
}

impl Matches {
    /// 0.0 (not heard) ..= 1.0 (heard exactly).
    pub fn strength(&self, term: usize) -> f32 {
        self.strength.get(term).copied().unwrap_or(0.0)
    }

    /// How many heard words (fractionally) resemble a term in `terms`.
    pub fn words_explained_by(&self, terms: &std::collections::HashSet<usize>) -> f32 {
        self.per_word
            .iter()
            .map(|cands| {
                cands
                    .iter()
                    .filter(|(t, _)| terms.contains(t))
                    .map(|(_, s)| *s)
                    .fold(0.0f32, f32::max)
            })
            .sum()
    }
}

impl Vocabulary {
    /// Adds a phrase's content words; returns their term ids.
    pub fn add_phrase(&mut self, phrase: &str) -> Vec<usize> {
        stem_content_words(&words(&lex(phrase)))
            .into_iter()
            .map(|s| self.intern(s))
            .collect()
    }

    fn intern(&mut self, stem: String) -> usize {
        if let Some(&id) = self.ids.get(&stem) {
            return id;
        }
        let id = self.terms.len();
        self.ids.insert(stem.clone(), id);
        self.terms.push(stem);
        id
    }

    /// Builds the trigram index; call after the last `add_phrase`.
    pub fn build_index(&mut self) {
        self.index.clear();
        self.trigram_counts = self.terms.iter().map(|t| trigrams(t).len()).collect();
        for (id, term) in self.terms.iter().enumerate() {
            if term.chars().count() < FUZZY_MIN_LEN {
                continue;
            }
            for g in trigrams(term) {
                self.index.entry(g).or_default().push(id);
            }
        }
    }

    pub fn term_count(&self) -> usize {
        self.terms.len()
    }

    /// Matches heard stems against the vocabulary, exactly and fuzzily; adjacent heard
    /// stems are also tried joined ("this pute" for "dispute").
    pub fn match_words(&self, heard: &[String]) -> Matches {
        let mut strength = vec![0.0f32; self.terms.len()];
        let mut shared = vec![0usize; self.terms.len()];
        let mut per_word: Vec<Vec<(usize, f32)>> = Vec::with_capacity(heard.len());
        for word in heard {
            let cands = self.similar_terms(word, &mut shared);
            for &(t, s) in &cands {
                strength[t] = strength[t].max(s);
            }
            per_word.push(cands);
        }
        for i in 1..heard.len() {
            let joined = stem(&format!("{}{}", heard[i - 1], heard[i]));
            for (t, s) in self.similar_terms(&joined, &mut shared) {
                if strength[t] < s {
                    strength[t] = s;
                    for k in [i - 1, i] {
                        if !per_word[k].iter().any(|(x, _)| *x == t) {
                            per_word[k].push((t, s));
                        }
                    }
                }
            }
        }
        Matches { strength, per_word }
    }

    /// Terms resembling `word`; `shared` is scratch space of vocabulary length, all zero.
    fn similar_terms(&self, word: &str, shared: &mut [usize]) -> Vec<(usize, f32)> {
        let mut out = Vec::new();
        if let Some(&id) = self.ids.get(word) {
            out.push((id, 1.0));
        }
        if word.chars().count() < FUZZY_MIN_LEN {
            return out;
        }
        let grams = trigrams(word);
        let mut touched = Vec::new();
        for g in &grams {
            if let Some(ids) = self.index.get(g) {
                for &id in ids {
                    if shared[id] == 0 {
                        touched.push(id);
                    }
                    shared[id] += 1;
                }
            }
        }
        for id in touched {
            let dice = 2.0 * shared[id] as f32 / (grams.len() + self.trigram_counts[id]) as f32;
            shared[id] = 0;
            if dice >= FUZZY_MIN && !out.iter().any(|(t, _)| *t == id) {
                out.push((id, dice));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_join_word_forms() {
        assert_eq!(stem("charged"), stem("charge"));
        assert_eq!(stem("charges"), stem("charge"));
        assert_eq!(stem("stolen"), stem("steal"));
        assert_eq!(stem("stole"), stem("steal"));
        assert_eq!(stem("lost"), stem("lose"));
        assert_eq!(stem("cards"), "card");
        assert_eq!(stem("balances"), stem("balance"));
    }

    #[test]
    fn misheard_words_find_their_term() {
        let mut v = Vocabulary::default();
        let ids = v.add_phrase("check my balance");
        v.build_index();
        let balance = ids[1];
        let m = v.match_words(&[stem("ballance")]);
        assert!(m.strength(balance) >= FUZZY_MIN);
        let m = v.match_words(&[stem("weather")]);
        assert_eq!(m.strength(balance), 0.0);
    }

    #[test]
    fn split_words_are_joined() {
        let mut v = Vocabulary::default();
        let ids = v.add_phrase("dispute");
        v.build_index();
        let m = v.match_words(&["dis".to_string(), "pute".to_string()]);
        assert!(m.strength(ids[0]) > 0.9);
    }
}
