//! Spoken numbers to digits: "four four seven one", "oh" as zero, "double five",
//! "twenty three", "one hundred and five", "two thousand twenty four", ordinals
//! ("third", "twenty first", "3rd"), and the homophones recognisers put in digit runs
//! ("for four seven one").
//!
//! The output keeps each spoken group apart (a [`Number`] per group) so that callers can
//! read "forty nine ninety nine" as the digits 4999 or as $49.99 depending on what the
//! gather expects.

use super::normalise::Lexeme;

/// How a number was said or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberForm {
    /// Digits the recogniser printed ("4471").
    Written,
    /// One spoken digit, or a run from "double"/"triple" ("double five").
    SpokenDigit,
    /// A spoken cardinal of one or more words ("twenty three", "one hundred and five").
    SpokenCardinal,
}

/// One number group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number {
    /// The group as digits ("oh" is "0", "double five" is "55", "twenty three" is "23").
    pub digits: String,
    pub form: NumberForm,
}

impl Number {
    /// The numeric value, `None` when it does not fit in a u64.
    pub fn value(&self) -> Option<u64> {
        self.digits.parse().ok()
    }
}

/// A lexeme after number parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Word(String),
    Number(Number),
    /// An ordinal ("third", "twenty first", "3rd").
    Ordinal(u32),
    Point,
    Dollar,
    Slash,
}

const UNITS: &[(&str, u64)] = &[
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
];
const TEENS: &[(&str, u64)] = &[
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("thirteen", 13),
    ("fourteen", 14),
    ("fifteen", 15),
    ("sixteen", 16),
    ("seventeen", 17),
    ("eighteen", 18),
    ("nineteen", 19),
];
const TENS: &[(&str, u64)] = &[
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fourty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("seventy", 70),
    ("eighty", 80),
    ("ninety", 90),
];
const SCALES: &[(&str, u64)] = &[("thousand", 1_000), ("million", 1_000_000)];
const ORDINALS: &[(&str, u32)] = &[
    ("first", 1),
    ("second", 2),
    ("third", 3),
    ("fourth", 4),
    ("fifth", 5),
    ("sixth", 6),
    ("seventh", 7),
    ("eighth", 8),
    ("ninth", 9),
    ("tenth", 10),
    ("eleventh", 11),
    ("twelfth", 12),
    ("thirteenth", 13),
    ("fourteenth", 14),
    ("fifteenth", 15),
    ("sixteenth", 16),
    ("seventeenth", 17),
    ("eighteenth", 18),
    ("nineteenth", 19),
    ("twentieth", 20),
    ("thirtieth", 30),
];
/// Words recognisers print for a digit inside a run of digits ("for four seven one").
const HOMOPHONES: &[(&str, u64)] = &[
    ("for", 4),
    ("fore", 4),
    ("to", 2),
    ("too", 2),
    ("won", 1),
    ("ate", 8),
];
const ZEROS: &[&str] = &["zero", "oh", "o", "nought", "naught"];

fn lookup<T: Copy>(table: &[(&str, T)], word: &str) -> Option<T> {
    table.iter().find(|(w, _)| *w == word).map(|(_, v)| *v)
}

fn unit(word: &str) -> Option<u64> {
    lookup(UNITS, word)
}

fn is_zero(word: &str) -> bool {
    ZEROS.contains(&word)
}

/// Whether a word is unambiguously a number word (not "oh", "a" or a homophone).
pub fn is_strict_number_word(word: &str) -> bool {
    unit(word).is_some()
        || lookup(TEENS, word).is_some()
        || lookup(TENS, word).is_some()
        || word == "zero"
        || word == "hundred"
        || lookup(SCALES, word).is_some()
}

fn starts_number(lexeme: Option<&Lexeme>) -> bool {
    match lexeme {
        Some(Lexeme::Digits(_)) => true,
        Some(Lexeme::Word(w)) => {
            is_strict_number_word(w) || w == "double" || w == "triple" || w == "oh"
        }
        _ => false,
    }
}

/// Parses numbers in a lexed transcript.
pub fn parse(lexemes: &[Lexeme]) -> Vec<Token> {
    let mut out = Vec::with_capacity(lexemes.len());
    let mut i = 0;
    while i < lexemes.len() {
        let after_number = matches!(out.last(), Some(Token::Number(_)));
        let (token, used) = parse_at(lexemes, i, after_number);
        out.push(token);
        i += used.max(1);
    }
    out
}

fn word_at(lexemes: &[Lexeme], i: usize) -> Option<&str> {
    match lexemes.get(i) {
        Some(Lexeme::Word(w)) => Some(w.as_str()),
        _ => None,
    }
}

/// Parses the token at `i`; `after_number` says whether the previous token was a number
/// (so that "oh" there is a zero, as in "five one oh oh").
fn parse_at(lexemes: &[Lexeme], i: usize, after_number: bool) -> (Token, usize) {
    let word = match &lexemes[i] {
        Lexeme::Word(w) => w.as_str(),
        Lexeme::Digits(d) => {
            if let Some(n) = word_at(lexemes, i + 1).and_then(ordinal_suffix_value(d)) {
                return (Token::Ordinal(n), 2);
            }
            return (written(d), 1);
        }
        Lexeme::Point => return (Token::Point, 1),
        Lexeme::Dollar => return (Token::Dollar, 1),
        Lexeme::Slash => return (Token::Slash, 1),
    };
    let next = lexemes.get(i + 1);

    if let Some(n) = lookup(ORDINALS, word) {
        return (Token::Ordinal(n), 1);
    }
    if let (Some(tens), Some(n)) = (
        lookup(TENS, word),
        word_at(lexemes, i + 1).and_then(|w| lookup(ORDINALS, w)),
    ) && n < 10
    {
        return (Token::Ordinal(tens as u32 + n), 2);
    }
    if (word == "double" || word == "triple")
        && let Some(digit) = single_digit_at(lexemes, i + 1)
    {
        let times = if word == "double" { 2 } else { 3 };
        return (spoken_digits(digit.to_string().repeat(times)), 2);
    }
    if is_zero(word) && (word == "zero" || after_number || starts_number(next)) {
        return (spoken_digits("0".to_string()), 1);
    }
    if let Some(d) = lookup(HOMOPHONES, word)
        && starts_number(next)
    {
        return (spoken_digits(d.to_string()), 1);
    }
    if let Some((value, used)) = cardinal(lexemes, i) {
        let form = if used == 1 && value < 10 {
            NumberForm::SpokenDigit
        } else {
            NumberForm::SpokenCardinal
        };
        return (
            Token::Number(Number {
                digits: value.to_string(),
                form,
            }),
            used,
        );
    }
    (Token::Word(word.to_string()), 1)
}

fn written(digits: &str) -> Token {
    Token::Number(Number {
        digits: digits.to_string(),
        form: NumberForm::Written,
    })
}

fn spoken_digits(digits: String) -> Token {
    Token::Number(Number {
        digits,
        form: NumberForm::SpokenDigit,
    })
}

/// "3" + "rd" is the ordinal 3 when the suffix fits the number.
fn ordinal_suffix_value(digits: &str) -> impl Fn(&str) -> Option<u32> + '_ {
    move |suffix| {
        if !matches!(suffix, "st" | "nd" | "rd" | "th") || digits.len() > 3 {
            return None;
        }
        digits.parse().ok()
    }
}

fn single_digit_at(lexemes: &[Lexeme], i: usize) -> Option<u64> {
    match lexemes.get(i)? {
        Lexeme::Digits(d) if d.len() == 1 => d.parse().ok(),
        Lexeme::Word(w) if is_zero(w) => Some(0),
        Lexeme::Word(w) => unit(w),
        _ => None,
    }
}

/// What the previous word of a cardinal was; decides what may follow.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Last {
    Start,
    Unit,
    Teen,
    Tens,
    Hundred,
    Scale,
    And,
}

/// Reads one cardinal starting at `start`: returns its value and the lexemes used.
///
/// A new group starts whenever the next word could not continue this one in ordinary
/// speech: "four four" is two groups, "forty nine ninety nine" is 49 then 99, "twenty
/// twenty four" is 20 then 24; "one hundred and five" and "two thousand twenty four" are
/// one group each.
fn cardinal(lexemes: &[Lexeme], start: usize) -> Option<(u64, usize)> {
    let mut total: u64 = 0;
    let mut current: u64 = 0;
    let mut last = Last::Start;
    let mut smallest_scale = u64::MAX;
    let mut i = start;
    while let Some(word) = word_at(lexemes, i) {
        let next = lexemes.get(i + 1);
        let step = if let Some(u) = unit(word) {
            match last {
                Last::Start | Last::Tens | Last::Hundred | Last::Scale | Last::And => {
                    Some((u, Last::Unit))
                }
                _ => None,
            }
        } else if let Some(t) = lookup(TEENS, word).or_else(|| lookup(TENS, word)) {
            let kind = if t < 20 { Last::Teen } else { Last::Tens };
            match last {
                Last::Start | Last::Hundred | Last::Scale | Last::And => Some((t, kind)),
                _ => None,
            }
        } else if word == "a" && last == Last::Start {
            // "a hundred", "a thousand": only then is "a" a number.
            match word_at(lexemes, i + 1) {
                Some("hundred") => Some((1, Last::Unit)),
                Some(w) if lookup(SCALES, w).is_some() => Some((1, Last::Unit)),
                _ => None,
            }
        } else if word == "hundred" {
            match last {
                Last::Start => Some((100, Last::Hundred)),
                Last::Unit | Last::Teen | Last::Tens if (1..100).contains(&current) => {
                    current *= 100;
                    last = Last::Hundred;
                    i += 1;
                    continue;
                }
                _ => None,
            }
        } else if let Some(scale) = lookup(SCALES, word) {
            let allowed = scale < smallest_scale
                && match last {
                    Last::Start => true,
                    Last::And | Last::Scale => false,
                    _ => current > 0,
                };
            if !allowed {
                None
            } else {
                let group = if last == Last::Start { 1 } else { current };
                total = total.checked_add(group.checked_mul(scale)?)?;
                current = 0;
                smallest_scale = scale;
                last = Last::Scale;
                i += 1;
                continue;
            }
        } else if word == "and"
            && matches!(last, Last::Hundred | Last::Scale)
            && starts_cardinal_word(next)
        {
            last = Last::And;
            i += 1;
            continue;
        } else {
            None
        };
        match step {
            Some((v, kind)) => {
                current = current.checked_add(v)?;
                last = kind;
                i += 1;
            }
            None => break,
        }
    }
    if i == start || last == Last::And {
        return None;
    }
    Some((total.checked_add(current)?, i - start))
}

fn starts_cardinal_word(lexeme: Option<&Lexeme>) -> bool {
    matches!(lexeme, Some(Lexeme::Word(w)) if unit(w).is_some() || lookup(TEENS, w).is_some() || lookup(TENS, w).is_some())
}

/// The digits of consecutive number tokens, joined: the way a caller reads out an
/// account number in groups ("four four seven one, twenty three").
pub fn digit_runs(tokens: &[Token]) -> Vec<String> {
    let mut runs = Vec::new();
    let mut current = String::new();
    for token in tokens {
        match token {
            Token::Number(n) => current.push_str(&n.digits),
            _ => {
                if !current.is_empty() {
                    runs.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::super::normalise::lex;
    use super::super::spoken::{DIGIT_WORDS, spell};
    use super::*;
    use proptest::prelude::*;

    fn digits_of(text: &str) -> Vec<String> {
        digit_runs(&parse(&lex(text)))
    }

    fn groups(text: &str) -> Vec<String> {
        parse(&lex(text))
            .into_iter()
            .filter_map(|t| match t {
                Token::Number(n) => Some(n.digits),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn spoken_digit_strings() {
        assert_eq!(digits_of("four four seven one"), ["4471"]);
        assert_eq!(digits_of("five oh two"), ["502"]);
        assert_eq!(digits_of("five one oh oh"), ["5100"]);
        assert_eq!(digits_of("double five six"), ["556"]);
        assert_eq!(digits_of("triple seven"), ["777"]);
        assert_eq!(digits_of("for four seven one"), ["4471"]);
        assert_eq!(digits_of("it's 4471 thanks"), ["4471"]);
        assert_eq!(digits_of("4 4 7 1"), ["4471"]);
    }

    #[test]
    fn cardinals() {
        assert_eq!(groups("twenty three"), ["23"]);
        assert_eq!(groups("one hundred and five"), ["105"]);
        assert_eq!(groups("two thousand twenty four"), ["2024"]);
        assert_eq!(groups("two thousand and five"), ["2005"]);
        assert_eq!(groups("a hundred and twenty"), ["120"]);
        assert_eq!(groups("twelve hundred"), ["1200"]);
        assert_eq!(groups("five hundred thousand"), ["500000"]);
        assert_eq!(groups("three million two hundred thousand"), ["3200000"]);
    }

    #[test]
    fn adjacent_groups_stay_apart() {
        assert_eq!(groups("forty nine ninety nine"), ["49", "99"]);
        assert_eq!(groups("twenty twenty four"), ["20", "24"]);
        assert_eq!(groups("nineteen eighty five"), ["19", "85"]);
        assert_eq!(groups("four four"), ["4", "4"]);
    }

    #[test]
    fn words_that_only_sometimes_mean_numbers() {
        assert!(groups("oh no I lost it").is_empty());
        assert!(groups("I want to check a balance for my account").is_empty());
        assert_eq!(
            groups("talk to one person"),
            ["2", "1"].map(String::from).to_vec()
        );
        assert!(groups("and").is_empty());
        assert_eq!(groups("one hundred and"), ["100"]);
    }

    #[test]
    fn ordinals() {
        let t = parse(&lex("the third of March, the twenty first, 3rd, 22nd"));
        let ords: Vec<u32> = t
            .iter()
            .filter_map(|t| match t {
                Token::Ordinal(n) => Some(*n),
                _ => None,
            })
            .collect();
        assert_eq!(ords, [3, 21, 3, 22]);
    }

    #[test]
    fn overflowing_numbers_do_not_panic() {
        let long = "9".repeat(400);
        assert_eq!(digits_of(&long), std::slice::from_ref(&long));
        assert_eq!(
            Number {
                digits: long,
                form: NumberForm::Written
            }
            .value(),
            None
        );
        let many = "million ".repeat(10);
        let _ = parse(&lex(&many));
    }

    proptest! {
        #[test]
        fn spoken_cardinals_parse_back(n in 0u64..1_000_000_000, with_and in any::<bool>()) {
            let text = spell(n, with_and);
            prop_assert_eq!(groups(&text), vec![n.to_string()], "{}", text);
        }

        #[test]
        fn spoken_digit_strings_parse_back(
            digits in proptest::collection::vec(0usize..10, 1..20),
            say_oh in any::<bool>(),
            pair_style in any::<bool>(),
        ) {
            let mut words = Vec::new();
            let mut i = 0;
            while i < digits.len() {
                let d = digits[i];
                if pair_style && digits.get(i + 1) == Some(&d) {
                    words.push("double".to_string());
                    i += 1;
                }
                words.push(if d == 0 && say_oh && digits.len() > 1 { "oh" } else { DIGIT_WORDS[d] }.to_string());
                i += 1;
            }
            let text = words.join(" ");
            let expected: String = digits.iter().map(|d| d.to_string()).collect();
            prop_assert_eq!(digits_of(&text), vec![expected], "{}", text);
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = parse(&lex(&text));
        }
    }
}
