//! Masking of what a caller said at a step that collects a sensitive entity (a PIN, a card
//! number, a date of birth): the transcript itself would carry the value, so numbers,
//! number words, ordinals and month names in it become `****` before it leaves `nlu`.

use super::numbers::is_strict_number_word;

const MASK: &str = "****";

/// Words that spell a sensitive value besides numbers proper.
const REVEALING: &[&str] = &[
    "oh",
    "o",
    "zero",
    "double",
    "triple",
    "for",
    "fore",
    "to",
    "too",
    "won",
    "ate",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
    "twentieth",
    "thirtieth",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
];

fn reveals(token: &str) -> bool {
    if token.chars().any(|c| c.is_ascii_digit()) {
        return true;
    }
    let word: String = token
        .chars()
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_lowercase)
        .collect();
    is_strict_number_word(&word) || REVEALING.contains(&word.as_str())
}

/// The transcript with every revealing token replaced by `****`. Hyphenated and
/// punctuated tokens ("forty-two,") are masked whole.
pub fn mask_transcript(transcript: &str) -> String {
    transcript
        .split_whitespace()
        .map(|token| {
            if token.split(['-', '/', '.', ',']).any(reveals) {
                MASK
            } else {
                token
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Normalised words with revealing ones replaced by `****`.
pub fn mask_words(words: &[String]) -> Vec<String> {
    words
        .iter()
        .map(|w| {
            if reveals(w) {
                MASK.to_string()
            } else {
                w.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_numbers_in_every_spelling() {
        assert_eq!(mask_transcript("It's 4471, thanks."), "It's **** thanks.");
        assert_eq!(mask_transcript("for four seven-seven"), "**** **** ****");
        assert_eq!(mask_transcript("double five oh one"), "**** **** **** ****");
        assert_eq!(
            mask_transcript("June fifth, nineteen eighty-five"),
            "**** **** **** ****"
        );
        assert_eq!(mask_transcript("my PIN is 12-34"), "my PIN is ****");
    }

    #[test]
    fn keeps_other_words() {
        assert_eq!(mask_transcript("I forgot it"), "I forgot it");
        assert_eq!(
            mask_words(&["my".to_string(), "pin".to_string(), "1234".to_string()]),
            ["my", "pin", "****"]
        );
    }
}
