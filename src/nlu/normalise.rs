//! Transcript normalisation: lower case, punctuation, fillers, and the split into lexemes
//! (words, written digits, decimal points, currency signs) that the number parser and the
//! classifier read.
//!
//! Whisper writes the same speech many ways ("$49.99", "49 dollars 99", "forty-nine
//! ninety-nine", "4,471", "3rd"); this is where those spellings become one shape.

/// One piece of a transcript after lexing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lexeme {
    /// A lower-case word with apostrophes removed ("that's" is "thats").
    Word(String),
    /// Written digits as the recogniser printed them, thousands separators removed.
    Digits(String),
    /// A decimal point between written digits ("49.99").
    Point,
    /// A currency sign ("$").
    Dollar,
    /// A slash between written digits ("3/14").
    Slash,
}

/// Words callers and recognisers add that carry no meaning for understanding.
const FILLERS: &[&str] = &[
    "um", "umm", "ummm", "uh", "uhh", "uhm", "er", "erm", "ah", "ahh", "hmm", "hm", "mmm",
    "please", "like", "pls", "plz",
];

/// Backchannel sounds that mean "yes"; merged into one word before fillers are dropped
/// because "uh" alone is a filler.
const ASSENT_PAIRS: &[(&str, &str)] = &[("uh", "huh"), ("mm", "hmm"), ("mhm", "hmm"), ("mm", "hm")];

/// Lexes and cleans a transcript: lower case, punctuation dropped, fillers removed.
pub fn lex(transcript: &str) -> Vec<Lexeme> {
    let raw = split(transcript);
    drop_fillers(raw)
}

/// The words of a transcript as the intent classifier sees them (fillers removed,
/// written numbers kept as their digits).
pub fn words(lexemes: &[Lexeme]) -> Vec<String> {
    lexemes
        .iter()
        .filter_map(|l| match l {
            Lexeme::Word(w) => Some(w.clone()),
            Lexeme::Digits(d) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

fn split(transcript: &str) -> Vec<Lexeme> {
    let chars: Vec<char> = transcript.chars().flat_map(char::to_lowercase).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev_digit = i > 0 && chars[i - 1].is_ascii_digit();
        let next_digit = chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if c.is_ascii_digit() {
            let mut digits = String::new();
            while i < chars.len() {
                let d = chars[i];
                if d.is_ascii_digit() {
                    digits.push(d);
                } else if d == ',' && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                    // "4,471": a thousands separator, not a pause.
                } else {
                    break;
                }
                i += 1;
            }
            out.push(Lexeme::Digits(digits));
            continue;
        }
        if c.is_alphabetic() {
            let mut word = String::new();
            while i < chars.len() {
                let d = chars[i];
                if d.is_alphabetic() {
                    word.push(d);
                } else if is_apostrophe(d) && chars.get(i + 1).is_some_and(|n| n.is_alphabetic()) {
                    // "that's" -> "thats": contractions stay one word.
                } else {
                    break;
                }
                i += 1;
            }
            out.push(Lexeme::Word(word));
            continue;
        }
        match c {
            '.' if prev_digit && next_digit => out.push(Lexeme::Point),
            '/' if prev_digit && next_digit => out.push(Lexeme::Slash),
            '$' | '£' | '€' => out.push(Lexeme::Dollar),
            '&' => out.push(Lexeme::Word("and".to_string())),
            '%' => out.push(Lexeme::Word("percent".to_string())),
            _ => {}
        }
        i += 1;
    }
    out
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | '`')
}

fn drop_fillers(raw: Vec<Lexeme>) -> Vec<Lexeme> {
    let mut out: Vec<Lexeme> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if let (Lexeme::Word(a), Some(Lexeme::Word(b))) = (&raw[i], raw.get(i + 1))
            && ASSENT_PAIRS.iter().any(|(x, y)| a == x && b == y)
        {
            out.push(Lexeme::Word("mhm".to_string()));
            i += 2;
            continue;
        }
        match &raw[i] {
            Lexeme::Word(w) if FILLERS.contains(&w.as_str()) => {}
            // "you know" as a filler; "do you know my balance" keeps it.
            Lexeme::Word(w)
                if w == "you"
                    && matches!(raw.get(i + 1), Some(Lexeme::Word(n)) if n == "know")
                    && !matches!(out.last(), Some(Lexeme::Word(p)) if p == "do" || p == "did") =>
            {
                i += 1;
            }
            other => out.push(other.clone()),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Lexeme {
        Lexeme::Word(s.to_string())
    }
    fn d(s: &str) -> Lexeme {
        Lexeme::Digits(s.to_string())
    }

    #[test]
    fn lower_cases_and_drops_punctuation_and_fillers() {
        assert_eq!(
            lex("Um, I'd LIKE to check my balance, please!"),
            vec![w("id"), w("to"), w("check"), w("my"), w("balance")]
        );
    }

    #[test]
    fn keeps_money_shapes() {
        assert_eq!(
            lex("$49.99."),
            vec![Lexeme::Dollar, d("49"), Lexeme::Point, d("99")]
        );
        assert_eq!(lex("$1,200"), vec![Lexeme::Dollar, d("1200")]);
        assert_eq!(
            lex("$49.99.99"),
            vec![
                Lexeme::Dollar,
                d("49"),
                Lexeme::Point,
                d("99"),
                Lexeme::Point,
                d("99")
            ]
        );
    }

    #[test]
    fn splits_digits_from_letters_and_hyphens() {
        assert_eq!(lex("March 3rd"), vec![w("march"), d("3"), w("rd")]);
        assert_eq!(lex("forty-nine"), vec![w("forty"), w("nine")]);
        assert_eq!(
            lex("3/14/2024"),
            vec![d("3"), Lexeme::Slash, d("14"), Lexeme::Slash, d("2024")]
        );
    }

    #[test]
    fn merges_backchannel_assent_before_dropping_uh() {
        assert_eq!(lex("Uh-huh."), vec![w("mhm")]);
        assert_eq!(lex("uh yes"), vec![w("yes")]);
    }

    #[test]
    fn you_know_is_a_filler_only_outside_questions() {
        assert_eq!(
            lex("it was, you know, stolen"),
            vec![w("it"), w("was"), w("stolen")]
        );
        assert_eq!(lex("do you know"), vec![w("do"), w("you"), w("know")]);
    }

    #[test]
    fn survives_non_english_and_empty_input() {
        assert!(lex("").is_empty());
        assert!(lex("  ... !!! ").is_empty());
        assert_eq!(lex("Grüße 日本"), vec![w("grüße"), w("日本")]);
    }
}
