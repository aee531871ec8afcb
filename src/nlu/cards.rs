//! Payment card numbers: 13 to 19 digits that pass the Luhn check, with the last four
//! kept apart because they are the only part that may be shown.

use super::entities::Miss;
use super::numbers::{Token, digit_runs};

const MIN_LEN: usize = 13;
const MAX_LEN: usize = 19;

/// Whether a digit string passes the Luhn check (ISO/IEC 7812-1).
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let twice = d * 2;
                if twice > 9 { twice - 9 } else { twice }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A card number and its last four digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub number: String,
    pub last4: String,
}

impl Card {
    /// Checks a digit string as a card number.
    pub fn parse(digits: &str) -> Result<Self, Miss> {
        if !(MIN_LEN..=MAX_LEN).contains(&digits.len()) {
            return Err(Miss::WrongLength {
                found: digits.len(),
                min: MIN_LEN,
                max: MAX_LEN,
            });
        }
        if !luhn_valid(digits) {
            return Err(Miss::CardCheckFailed);
        }
        Ok(Self {
            number: digits.to_string(),
            last4: digits[digits.len() - 4..].to_string(),
        })
    }
}

/// Finds a card number in a transcript.
pub fn extract(tokens: &[Token]) -> Result<Card, Miss> {
    let runs = digit_runs(tokens);
    if runs.is_empty() {
        return Err(Miss::NotFound("card number"));
    }
    let mut first_miss = None;
    for candidate in runs.iter().rev().chain(std::iter::once(&runs.concat())) {
        match Card::parse(candidate) {
            Ok(card) => return Ok(card),
            Err(miss) => {
                // A Luhn failure says more than a length problem.
                if first_miss.is_none() || miss == Miss::CardCheckFailed {
                    first_miss = Some(miss);
                }
            }
        }
    }
    Err(first_miss.unwrap_or(Miss::NotFound("card number")))
}

#[cfg(test)]
mod tests {
    use super::super::normalise::lex;
    use super::super::numbers::parse;
    use super::*;

    fn card(text: &str) -> Result<Card, Miss> {
        extract(&parse(&lex(text)))
    }

    #[test]
    fn luhn() {
        assert!(luhn_valid("4111111111111111"));
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("4111111111111112"));
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("41x1"));
    }

    #[test]
    fn reads_grouped_card_numbers() {
        let c = card("4111 1111 1111 1111").unwrap();
        assert_eq!(c.number, "4111111111111111");
        assert_eq!(c.last4, "1111");
        let c = card(
            "double five double five five five five five five five five five four four four four",
        )
        .unwrap();
        assert_eq!(c.number, "5555555555554444");
        assert_eq!(c.last4, "4444");
    }

    #[test]
    fn rejects_mistyped_and_short_numbers() {
        assert_eq!(card("4111 1111 1111 1112"), Err(Miss::CardCheckFailed));
        assert!(matches!(card("4111 1111"), Err(Miss::WrongLength { .. })));
        assert_eq!(card("I don't have it"), Err(Miss::NotFound("card number")));
    }
}
