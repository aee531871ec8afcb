//! Digit strings with length rules (account numbers, PINs), read from spoken or written
//! digits in groups ("four four seven one, twenty three", "4471 23").
//!
//! When several runs of digits are heard, the last one of an acceptable length wins:
//! callers correct themselves ("1234, no, 1243").

use super::entities::Miss;
use super::numbers::{Token, digit_runs};

/// Finds a digit string of `min_len..=max_len` digits.
pub fn extract(tokens: &[Token], min_len: usize, max_len: usize) -> Result<String, Miss> {
    let runs = digit_runs(tokens);
    if runs.is_empty() {
        return Err(Miss::NotFound("digits"));
    }
    let fits = |s: &String| (min_len..=max_len).contains(&s.len());
    if let Some(run) = runs.iter().rev().find(|r| fits(r)) {
        return Ok(run.clone());
    }
    // Digits split by a word the recogniser inserted ("4471 and 2345").
    let joined: String = runs.concat();
    if fits(&joined) {
        return Ok(joined);
    }
    let found = runs.iter().map(String::len).max().unwrap_or(0);
    Err(Miss::WrongLength {
        found,
        min: min_len,
        max: max_len,
    })
}

#[cfg(test)]
mod tests {
    use super::super::normalise::lex;
    use super::super::numbers::parse;
    use super::*;

    fn digits(text: &str, min: usize, max: usize) -> Result<String, Miss> {
        extract(&parse(&lex(text)), min, max)
    }

    #[test]
    fn account_numbers_in_groups() {
        assert_eq!(
            digits(
                "my account number is four four seven one two three oh nine",
                8,
                8
            )
            .unwrap(),
            "44712309"
        );
        assert_eq!(digits("4471 2309", 8, 8).unwrap(), "44712309");
        assert_eq!(
            digits("forty four seventy one twenty three oh nine", 8, 8).unwrap(),
            "44712309"
        );
        assert_eq!(digits("4471 and 2309", 8, 8).unwrap(), "44712309");
    }

    #[test]
    fn pins_and_corrections() {
        assert_eq!(digits("1234", 4, 4).unwrap(), "1234");
        assert_eq!(
            digits("one two three four no sorry one two four three", 4, 4).unwrap(),
            "1243"
        );
        assert_eq!(digits("double five six seven", 4, 4).unwrap(), "5567");
    }

    #[test]
    fn wrong_lengths_say_so_without_echoing_digits() {
        let miss = digits("one two three", 4, 4).unwrap_err();
        assert_eq!(
            miss,
            Miss::WrongLength {
                found: 3,
                min: 4,
                max: 4
            }
        );
        assert!(!miss.to_string().contains("123"));
        assert!(matches!(
            digits(&"7".repeat(300), 4, 8),
            Err(Miss::WrongLength { found: 300, .. })
        ));
        assert_eq!(digits("I forgot it", 4, 4), Err(Miss::NotFound("digits")));
    }
}
