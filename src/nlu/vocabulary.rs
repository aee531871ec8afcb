//! The words intents are declared with: light stemming, content-free words, and a
//! character-trigram index so that a misheard word ("ballance") still finds the word it
//! was meant to be ("balance").

use super::normalise::{lex, words};
use super::numbers::is_strict_number_word;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// Two words are similar when their trigram Dice coefficient reaches this.
const FUZZY_MIN: f32 = 0.6;
/// Words shorter than this match only exactly: their trigrams say too little.
const FUZZY_MIN_LEN: usize = 4;
/// Edit-distance similarity (1 - edits / length) needed when trigrams find nothing close.
const EDIT_MIN: f32 = 0.75;
/// Words shorter than this are not compared by edit distance.
const EDIT_MIN_LEN: usize = 6;
/// Nor longer than this: no declared word is that long, and the buffers are fixed.
const EDIT_MAX_LEN: usize = 24;

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

static CONTENT_FREE_SET: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| CONTENT_FREE.iter().copied().collect());

fn is_content_free(word: &str) -> bool {
    CONTENT_FREE_SET.contains(word)
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

/// The stems of a transcript's content words (digits are not content either).
pub fn stem_content_words(words: &[String]) -> Vec<String> {
    words
        .iter()
        .filter(|w| is_content(w))
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
    /// Terms long enough for edit-distance matching, by length in characters, as chars.
    by_length: Vec<Vec<(usize, Vec<char>)>>,
}

/// How strongly each vocabulary term was heard in one transcript.
#[derive(Debug, Clone)]
pub struct Matches {
    strength: Vec<f32>,
    /// For each heard word, the terms it resembles and how much.
    per_word: Vec<Vec<(usize, f32)>>,
}

/// Weight, in the share of a transcript an intent explains, of a word that resembles
/// nothing any intent declares: such words are more often talk around a request than
/// evidence against it; words of other intents count fully.
const UNKNOWN_WORD_WEIGHT: f32 = 0.5;

impl Matches {
    /// The content words heard, words unknown to every intent counting part.
    pub fn heard_weight(&self) -> f32 {
        self.per_word
            .iter()
            .map(|c| {
                if c.is_empty() {
                    UNKNOWN_WORD_WEIGHT
                } else {
                    1.0
                }
            })
            .sum()
    }

    /// 0.0 (not heard) ..= 1.0 (heard exactly).
    pub fn strength(&self, term: usize) -> f32 {
        self.strength.get(term).copied().unwrap_or(0.0)
    }

    /// How many heard words (fractionally) resemble a term in `terms`.
    pub fn words_explained_by(&self, terms: &HashSet<usize>) -> f32 {
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
        self.by_length.clear();
        for (id, term) in self.terms.iter().enumerate() {
            let chars: Vec<char> = term.chars().collect();
            if (EDIT_MIN_LEN..=EDIT_MAX_LEN).contains(&chars.len()) {
                if self.by_length.len() <= chars.len() {
                    self.by_length.resize_with(chars.len() + 1, Vec::new);
                }
                self.by_length[chars.len()].push((id, chars));
            }
        }
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

    /// Matches a transcript's words against the vocabulary. Content words are matched
    /// exactly or fuzzily; adjacent words are also tried joined, content-free ones
    /// included ("a gent" for "agent", "dis pute" for "dispute").
    pub fn match_words(&self, words: &[String]) -> Matches {
        let mut strength = vec![0.0f32; self.terms.len()];
        let mut shared = vec![0usize; self.terms.len()];
        let stems: Vec<String> = words.iter().map(|w| stem(w)).collect();
        let content: Vec<bool> = words.iter().map(|w| is_content(w)).collect();
        // per_word slots exist for content words only; `slot[i]` maps word i to its slot.
        let mut slot = vec![None; words.len()];
        let mut per_word: Vec<Vec<(usize, f32)>> = Vec::new();
        for (i, word) in stems.iter().enumerate() {
            if !content[i] {
                continue;
            }
            let cands = self.similar_terms(word, true, &mut shared);
            for &(t, s) in &cands {
                strength[t] = strength[t].max(s);
            }
            slot[i] = Some(per_word.len());
            per_word.push(cands);
        }
        for i in 1..words.len() {
            if !(content[i - 1] || content[i]) {
                continue;
            }
            let joined = stem(&format!("{}{}", words[i - 1], words[i]));
            // Joined words are matched by trigrams only: they are for split words, and
            // edit distance on every pair would cost more than it finds.
            for (t, s) in self.similar_terms(&joined, false, &mut shared) {
                if strength[t] < s {
                    strength[t] = s;
                    for k in [i - 1, i] {
                        if let Some(j) = slot[k]
                            && !per_word[j].iter().any(|(x, _)| *x == t)
                        {
                            per_word[j].push((t, s));
                        }
                    }
                }
            }
        }
        Matches { strength, per_word }
    }

    /// Terms resembling `word`; `shared` is scratch space of vocabulary length, all zero.
    fn similar_terms(
        &self,
        word: &str,
        allow_edit: bool,
        shared: &mut [usize],
    ) -> Vec<(usize, f32)> {
        let mut out = Vec::new();
        if let Some(&id) = self.ids.get(word) {
            out.push((id, 1.0));
            return out;
        }
        let len = word.chars().count();
        if len < FUZZY_MIN_LEN {
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
            if dice >= FUZZY_MIN {
                out.push((id, dice));
            }
        }
        if allow_edit && !out.iter().any(|(_, s)| *s >= EDIT_MIN) {
            self.add_edit_neighbours(word, &mut out);
        }
        out
    }

    /// One slip per four letters, for mishearings trigrams miss ("despute").
    fn add_edit_neighbours(&self, word: &str, out: &mut Vec<(usize, f32)>) {
        let chars: Vec<char> = word.chars().collect();
        let len = chars.len();
        if !(EDIT_MIN_LEN..=EDIT_MAX_LEN).contains(&len) {
            return;
        }
        for bucket in self
            .by_length
            .iter()
            .take(len + 3)
            .skip(len.saturating_sub(2))
        {
            for (id, term) in bucket {
                if term.first() != chars.first() && term.last() != chars.last() {
                    continue;
                }
                let longest = term.len().max(len) as f32;
                let sim = 1.0 - levenshtein(&chars, term) as f32 / longest;
                if sim >= EDIT_MIN {
                    match out.iter_mut().find(|(t, _)| t == id) {
                        Some(existing) => existing.1 = existing.1.max(sim),
                        None => out.push((*id, sim)),
                    }
                }
            }
        }
    }
}

/// Content words carry intent; numbers (written or spoken) belong to entities.
fn is_content(word: &str) -> bool {
    !is_content_free(word)
        && !word.chars().all(|c| c.is_ascii_digit())
        && !is_strict_number_word(word)
}

/// Edit distance of two words of at most `EDIT_MAX_LEN` characters (on the stack).
fn levenshtein(a: &[char], b: &[char]) -> usize {
    let b = &b[..b.len().min(EDIT_MAX_LEN)];
    let mut prev = [0usize; EDIT_MAX_LEN + 1];
    let mut cur = [0usize; EDIT_MAX_LEN + 1];
    for (j, p) in prev.iter_mut().enumerate().take(b.len() + 1) {
        *p = j;
    }
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != cb);
            cur[j + 1] = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
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
        let m = v.match_words(&["ballance".to_string()]);
        assert!(m.strength(balance) >= FUZZY_MIN);
        let m = v.match_words(&["valance".to_string()]);
        assert!(m.strength(balance) >= EDIT_MIN);
        let m = v.match_words(&["weather".to_string()]);
        assert_eq!(m.strength(balance), 0.0);
    }

    #[test]
    fn split_words_are_joined() {
        let mut v = Vocabulary::default();
        let ids = v.add_phrase("dispute");
        v.build_index();
        let m = v.match_words(&["dis".to_string(), "pute".to_string()]);
        assert!(m.strength(ids[0]) > 0.9);
        let m = v.match_words(&["despute".to_string()]);
        assert!(m.strength(ids[0]) >= EDIT_MIN);
    }
}

#[cfg(test)]
mod edit_tests {
    #[test]
    fn levenshtein_counts_edits() {
        let d = |a: &str, b: &str| {
            super::levenshtein(
                &a.chars().collect::<Vec<_>>(),
                &b.chars().collect::<Vec<_>>(),
            )
        };
        assert_eq!(d("disput", "desput"), 1);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("", "abc"), 3);
    }
}
