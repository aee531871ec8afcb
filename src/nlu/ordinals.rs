//! Ordinal choices from a list the caller just heard: "the second one", "the 3rd",
//! "number two", "option three", or a bare "two".

use super::entities::Miss;
use super::numbers::Token;

/// The largest choice a spoken menu plausibly offers.
const MAX_CHOICE: u64 = 20;

/// Finds which choice a caller picked (1-based).
pub fn extract(tokens: &[Token]) -> Result<u32, Miss> {
    let ordinals: Vec<u32> = tokens
        .iter()
        .filter_map(|t| match t {
            Token::Ordinal(n) if u64::from(*n) <= MAX_CHOICE => Some(*n),
            _ => None,
        })
        .collect();
    if let Some(&n) = ordinals.last() {
        return Ok(n);
    }
    if tokens
        .iter()
        .any(|t| matches!(t, Token::Word(w) if w == "last"))
    {
        return Err(Miss::Unclear(
            "\"the last one\" needs the number of choices".to_string(),
        ));
    }
    let numbers: Vec<u64> = tokens
        .iter()
        .filter_map(|t| match t {
            Token::Number(n) => n.value(),
            _ => None,
        })
        .collect();
    match numbers.as_slice() {
        [n] if (1..=MAX_CHOICE).contains(n) => Ok(*n as u32),
        [] => Err(Miss::NotFound("choice")),
        _ => Err(Miss::Unclear("not one choice between 1 and 20".to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::super::normalise::lex;
    use super::super::numbers::parse;
    use super::*;

    fn choice(text: &str) -> Result<u32, Miss> {
        extract(&parse(&lex(text)))
    }

    #[test]
    fn choices() {
        assert_eq!(choice("the second one"), Ok(2));
        assert_eq!(choice("the 3rd"), Ok(3));
        assert_eq!(choice("number two please"), Ok(2));
        assert_eq!(choice("option 4"), Ok(4));
        assert_eq!(choice("um the first one I guess"), Ok(1));
        assert_eq!(choice("no wait the third"), Ok(3));
    }

    #[test]
    fn not_a_choice() {
        assert_eq!(choice("whichever"), Err(Miss::NotFound("choice")));
        assert!(choice("the last one").is_err());
        assert!(choice("forty two").is_err());
        assert!(choice("one or two").is_err());
    }
}
