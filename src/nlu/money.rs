//! Amounts of money in a transcript, in cents: "$49.99", "forty nine dollars and ninety
//! nine cents", "fifty bucks", "49.99 dollars", "forty nine point nine nine", and, because
//! the gather expects money, bare "forty nine ninety nine" (dollars then cents).
//!
//! Recognisers repeat the cents ("$49.99.99"): the first amount wins.

use super::entities::Miss;
use super::numbers::{NumberForm, Token};

const DOLLAR_WORDS: &[&str] = &[
    "dollar", "dollars", "bucks", "buck", "usd", "pounds", "euros",
];
const CENT_WORDS: &[&str] = &["cent", "cents", "pence"];

/// Finds the amount a caller said, in cents.
pub fn extract(tokens: &[Token]) -> Result<i64, Miss> {
    if let Some(found) = explicit(tokens) {
        return found;
    }
    bare(tokens)
}

fn is_word(token: Option<&Token>, words: &[&str]) -> bool {
    matches!(token, Some(Token::Word(w)) if words.contains(&w.as_str()))
}

fn number_at(tokens: &[Token], i: usize) -> Option<&super::numbers::Number> {
    match tokens.get(i) {
        Some(Token::Number(n)) => Some(n),
        _ => None,
    }
}

/// Consecutive number groups from `i`, joined as digits, and how many tokens they use.
fn groups_from(tokens: &[Token], i: usize) -> (String, usize) {
    let mut digits = String::new();
    let mut j = i;
    while let Some(n) = number_at(tokens, j) {
        digits.push_str(&n.digits);
        j += 1;
    }
    (digits, j - i)
}

/// Digits after a decimal point as cents: "9" is 90, "99" is 99, "999" is 99.
fn fraction_cents(digits: &str) -> i64 {
    let mut cents = 0;
    for (k, c) in digits.chars().take(2).enumerate() {
        let d = i64::from(c.to_digit(10).unwrap_or(0));
        cents += if k == 0 { d * 10 } else { d };
    }
    cents
}

fn amount(dollars: &str, cents: i64) -> Result<i64, Miss> {
    let whole: i64 = dollars.parse().map_err(|_| Miss::TooLarge)?;
    whole
        .checked_mul(100)
        .and_then(|c| c.checked_add(cents))
        .ok_or(Miss::TooLarge)
}

/// Cents said after the dollars: "and ninety nine cents", "ninety nine", ".99".
fn cents_after(tokens: &[Token], mut i: usize) -> Result<i64, Miss> {
    if matches!(tokens.get(i), Some(Token::Word(w)) if w == "and") {
        i += 1;
    }
    if is_point(tokens.get(i)) {
        let (digits, _) = groups_from(tokens, i + 1);
        return Ok(fraction_cents(&digits));
    }
    let (digits, used) = groups_from(tokens, i);
    if used == 0 {
        return Ok(0);
    }
    let cents: i64 = digits.parse().map_err(|_| Miss::TooLarge)?;
    if cents < 100 {
        Ok(cents)
    } else {
        Err(Miss::Unclear("more than 99 cents".to_string()))
    }
}

fn is_point(token: Option<&Token>) -> bool {
    matches!(token, Some(Token::Point)) || matches!(token, Some(Token::Word(w)) if w == "point")
}

/// An amount with a currency sign or word.
fn explicit(tokens: &[Token]) -> Option<Result<i64, Miss>> {
    for i in 0..tokens.len() {
        if matches!(tokens[i], Token::Dollar) {
            let (dollars, used) = groups_from(tokens, i + 1);
            if used == 0 {
                continue;
            }
            let after = i + 1 + used;
            let cents = if is_point(tokens.get(after)) {
                Ok(fraction_cents(&groups_from(tokens, after + 1).0))
            } else if is_word(tokens.get(after), DOLLAR_WORDS) {
                cents_after(tokens, after + 1)
            } else {
                Ok(0)
            };
            return Some(cents.and_then(|c| amount(&dollars, c)));
        }
        if number_at(tokens, i).is_some() && (i == 0 || number_at(tokens, i - 1).is_none()) {
            let (dollars, used) = groups_from(tokens, i);
            let mut after = i + used;
            let mut fraction = None;
            if is_point(tokens.get(after)) && number_at(tokens, after + 1).is_some() {
                let (digits, used) = groups_from(tokens, after + 1);
                fraction = Some(fraction_cents(&digits));
                after += 1 + used;
            }
            if is_word(tokens.get(after), DOLLAR_WORDS) {
                let cents = match fraction {
                    Some(c) => Ok(c),
                    None => cents_after(tokens, after + 1),
                };
                return Some(cents.and_then(|c| amount(&dollars, c)));
            }
            if fraction.is_none() && is_word(tokens.get(after), CENT_WORDS) {
                return Some(match dollars.parse::<i64>() {
                    Ok(c) if c < 100 => Ok(c),
                    Ok(_) => Err(Miss::Unclear("more than 99 cents".to_string())),
                    Err(_) => Err(Miss::TooLarge),
                });
            }
        }
    }
    None
}

/// An amount without a currency word, read as money because money is expected.
fn bare(tokens: &[Token]) -> Result<i64, Miss> {
    let Some(start) = tokens.iter().position(|t| matches!(t, Token::Number(_))) else {
        return Err(Miss::NotFound("amount"));
    };
    let first = number_at(tokens, start).ok_or(Miss::NotFound("amount"))?;
    if is_point(tokens.get(start + 1)) && number_at(tokens, start + 2).is_some() {
        let (digits, _) = groups_from(tokens, start + 2);
        return amount(&first.digits, fraction_cents(&digits));
    }
    // "forty nine ninety nine": a spoken pair is dollars and cents.
    if let Some(second) = number_at(tokens, start + 1)
        && second.digits.len() == 2
        && second.form != NumberForm::SpokenDigit
        && number_at(tokens, start + 2).is_none()
    {
        let cents: i64 = second.digits.parse().map_err(|_| Miss::TooLarge)?;
        return amount(&first.digits, cents);
    }
    let (digits, _) = groups_from(tokens, start);
    amount(&digits, 0)
}

#[cfg(test)]
mod tests {
    use super::super::normalise::lex;
    use super::super::numbers::parse;
    use super::super::spoken::spell;
    use super::*;
    use proptest::prelude::*;

    fn cents(text: &str) -> Result<i64, Miss> {
        extract(&parse(&lex(text)))
    }

    #[test]
    fn written_amounts() {
        assert_eq!(cents("$49.99"), Ok(4999));
        assert_eq!(cents("it was $49.99.99"), Ok(4999));
        assert_eq!(cents("$1,200"), Ok(120_000));
        assert_eq!(cents("$5"), Ok(500));
        assert_eq!(cents("$49.9"), Ok(4990));
        assert_eq!(cents("49.99 dollars"), Ok(4999));
        assert_eq!(cents("49.99"), Ok(4999));
    }

    #[test]
    fn spoken_amounts() {
        assert_eq!(cents("forty nine dollars and ninety nine cents"), Ok(4999));
        assert_eq!(cents("forty nine dollars ninety nine"), Ok(4999));
        assert_eq!(cents("fifty bucks"), Ok(5000));
        assert_eq!(cents("a hundred and twenty dollars"), Ok(12_000));
        assert_eq!(cents("ninety nine cents"), Ok(99));
        assert_eq!(cents("forty nine point nine nine"), Ok(4999));
        assert_eq!(cents("two thousand dollars"), Ok(200_000));
    }

    #[test]
    fn bare_amounts_when_money_is_expected() {
        assert_eq!(cents("forty nine ninety nine"), Ok(4999));
        assert_eq!(cents("um it was like twelve fifty"), Ok(1250));
        assert_eq!(cents("forty nine"), Ok(4900));
        assert_eq!(cents("one thousand two hundred"), Ok(120_000));
    }

    #[test]
    fn no_amount_or_absurd_amounts() {
        assert_eq!(cents("I don't know"), Err(Miss::NotFound("amount")));
        assert_eq!(cents(""), Err(Miss::NotFound("amount")));
        assert_eq!(cents(&format!("${}", "9".repeat(40))), Err(Miss::TooLarge));
        assert!(cents("five hundred cents").is_err());
    }

    proptest! {
        #[test]
        fn spoken_dollars_and_cents_parse_back(dollars in 1u64..10_000_000, cents in 1u64..100) {
            let text = format!("{} dollars and {} cents", spell(dollars, true), spell(cents, false));
            prop_assert_eq!(extract(&parse(&lex(&text))), Ok((dollars * 100 + cents) as i64), "{}", text);
        }

        #[test]
        fn written_amounts_parse_back(dollars in 0u64..10_000_000, cents in 0u64..100) {
            let text = format!("${dollars}.{cents:02}");
            prop_assert_eq!(extract(&parse(&lex(&text))), Ok((dollars * 100 + cents) as i64), "{}", text);
        }
    }
}
