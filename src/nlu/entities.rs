//! Entity extraction: sends a transcript (or keypad input) to the extractor of the entity
//! a gather expects, and says why when nothing fits.
//!
//! Keypad conventions, so that DTMF fills the same entities as speech: `#` ends input;
//! for money `*` is the decimal point (`49*99` is $49.99, `120` is $120.00); dates are
//! `MMDDYYYY`, `MMDDYY` or `MMDD`; yes/no is `1` for yes and `2` for no; a choice is its
//! number.

use super::cards::{self, Card};
use super::numbers::Token;
use super::types::{EntityDef, EntityKind, EntityValue, Value};
use super::yesno::YesNoMatcher;
use super::{dates, digits, money, ordinals};
use chrono::{Datelike, NaiveDate};
use std::fmt;
use std::sync::LazyLock;

/// Why an expected entity was not filled. Never holds the digits heard: reasons are shown
/// to engineers and may be logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Miss {
    #[error("no {0} heard")]
    NotFound(&'static str),
    #[error("{}", WrongLengthText { found: *found, min: *min, max: *max })]
    WrongLength {
        found: usize,
        min: usize,
        max: usize,
    },
    #[error("the card number fails its check digit (Luhn)")]
    CardCheckFailed,
    #[error("the amount is too large")]
    TooLarge,
    #[error("no such calendar date")]
    InvalidDate,
    #[error("keypad input has keys other than 0-9, * and #")]
    InvalidKeys,
    #[error("{0}")]
    Unclear(String),
}

struct WrongLengthText {
    found: usize,
    min: usize,
    max: usize,
}

impl fmt::Display for WrongLengthText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = if self.found == 1 { "digit" } else { "digits" };
        if self.min == self.max {
            write!(f, "heard {} {digits}, expected {}", self.found, self.min)
        } else {
            write!(
                f,
                "heard {} {digits}, expected {} to {}",
                self.found, self.min, self.max
            )
        }
    }
}

static YES_NO: LazyLock<YesNoMatcher> = LazyLock::new(YesNoMatcher::default);

/// Extracts the entity `def` from a parsed transcript (`tokens`) and its words.
pub fn from_speech(
    def: &EntityDef,
    tokens: &[Token],
    words: &[String],
    today: NaiveDate,
) -> Result<EntityValue, Miss> {
    let value = match def.kind {
        EntityKind::Digits { min_len, max_len } => {
            Value::Digits(digits::extract(tokens, min_len, max_len)?)
        }
        EntityKind::CardNumber => card_value(cards::extract(tokens)?),
        EntityKind::Money => Value::Money {
            cents: money::extract(tokens)?,
        },
        EntityKind::Date => Value::Date(dates::extract(tokens, today)?),
        EntityKind::YesNo => Value::YesNo(YES_NO.extract(words)?),
        EntityKind::Ordinal => Value::Ordinal(ordinals::extract(tokens)?),
    };
    Ok(entity(def, value))
}

/// Extracts the entity `def` from keypad input.
pub fn from_dtmf(def: &EntityDef, keys: &str, today: NaiveDate) -> Result<EntityValue, Miss> {
    let keys = keys.trim().trim_end_matches('#');
    if keys.is_empty() {
        return Err(Miss::NotFound("keypad input"));
    }
    if !keys.bytes().all(|b| b.is_ascii_digit() || b == b'*') {
        return Err(Miss::InvalidKeys);
    }
    let digits_only = || {
        if keys.contains('*') {
            Err(Miss::InvalidKeys)
        } else {
            Ok(keys)
        }
    };
    let value = match def.kind {
        EntityKind::Digits { min_len, max_len } => {
            let d = digits_only()?;
            if !(min_len..=max_len).contains(&d.len()) {
                return Err(Miss::WrongLength {
                    found: d.len(),
                    min: min_len,
                    max: max_len,
                });
            }
            Value::Digits(d.to_string())
        }
        EntityKind::CardNumber => card_value(Card::parse(digits_only()?)?),
        EntityKind::Money => Value::Money {
            cents: dtmf_money(keys)?,
        },
        EntityKind::Date => Value::Date(dtmf_date(digits_only()?, today)?),
        EntityKind::YesNo => match digits_only()? {
            "1" => Value::YesNo(true),
            "2" => Value::YesNo(false),
            _ => return Err(Miss::Unclear("press 1 for yes or 2 for no".to_string())),
        },
        EntityKind::Ordinal => match digits_only()?.parse::<u32>() {
            Ok(n) if (1..=20).contains(&n) => Value::Ordinal(n),
            _ => return Err(Miss::Unclear("not one choice between 1 and 20".to_string())),
        },
    };
    Ok(entity(def, value))
}

fn entity(def: &EntityDef, value: Value) -> EntityValue {
    EntityValue {
        name: def.name.clone(),
        value,
        sensitive: def.sensitive,
    }
}

fn card_value(card: Card) -> Value {
    Value::Card {
        number: card.number,
        last4: card.last4,
    }
}

fn dtmf_money(keys: &str) -> Result<i64, Miss> {
    let (whole, fraction) = keys.split_once('*').unwrap_or((keys, ""));
    if fraction.contains('*') || fraction.len() > 2 {
        return Err(Miss::Unclear(
            "use * once, before at most two cents digits".to_string(),
        ));
    }
    let dollars: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| Miss::TooLarge)?
    };
    let cents: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().map_err(|_| Miss::InvalidKeys)? * 10,
        _ => fraction.parse().map_err(|_| Miss::InvalidKeys)?,
    };
    dollars
        .checked_mul(100)
        .and_then(|c| c.checked_add(cents))
        .ok_or(Miss::TooLarge)
}

fn dtmf_date(keys: &str, today: NaiveDate) -> Result<NaiveDate, Miss> {
    let num =
        |range: std::ops::Range<usize>| keys[range].parse::<u32>().map_err(|_| Miss::InvalidKeys);
    let (month, day) = match keys.len() {
        4 | 6 | 8 => (num(0..2)?, num(2..4)?),
        _ => return Err(Miss::Unclear("enter the date as MMDDYYYY".to_string())),
    };
    let year = match keys.len() {
        8 => num(4..8)? as i32,
        6 => {
            let yy = num(4..6)? as i32;
            let century = today.year() / 100 * 100;
            if century + yy <= today.year() {
                century + yy
            } else {
                century - 100 + yy
            }
        }
        _ => {
            let this_year = NaiveDate::from_ymd_opt(today.year(), month, day);
            return match this_year {
                Some(d) if d <= today => Ok(d),
                _ => NaiveDate::from_ymd_opt(today.year() - 1, month, day).ok_or(Miss::InvalidDate),
            };
        }
    };
    NaiveDate::from_ymd_opt(year, month, day).ok_or(Miss::InvalidDate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(kind: EntityKind, sensitive: bool) -> EntityDef {
        EntityDef {
            name: "x".to_string(),
            kind,
            sensitive,
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
    }

    fn keys(kind: EntityKind, k: &str) -> Result<String, Miss> {
        from_dtmf(&def(kind, false), k, today()).map(|e| e.value.to_string())
    }

    #[test]
    fn keypad_fills_every_kind() {
        let pin = EntityKind::Digits {
            min_len: 4,
            max_len: 4,
        };
        assert_eq!(keys(pin.clone(), "1234#").unwrap(), "1234");
        assert_eq!(keys(EntityKind::Money, "49*99#").unwrap(), "49.99");
        assert_eq!(keys(EntityKind::Money, "120").unwrap(), "120.00");
        assert_eq!(keys(EntityKind::Money, "*5").unwrap(), "0.50");
        assert_eq!(keys(EntityKind::Date, "03142024").unwrap(), "2024-03-14");
        assert_eq!(keys(EntityKind::Date, "031485").unwrap(), "1985-03-14");
        assert_eq!(keys(EntityKind::Date, "1225").unwrap(), "2025-12-25");
        assert_eq!(keys(EntityKind::YesNo, "1").unwrap(), "yes");
        assert_eq!(keys(EntityKind::YesNo, "2").unwrap(), "no");
        assert_eq!(keys(EntityKind::Ordinal, "3").unwrap(), "3");
        assert_eq!(
            keys(EntityKind::CardNumber, "4111111111111111#").unwrap(),
            "4111111111111111"
        );
    }

    #[test]
    fn keypad_mistakes_are_reasons() {
        let pin = EntityKind::Digits {
            min_len: 4,
            max_len: 4,
        };
        assert_eq!(
            keys(pin.clone(), "123"),
            Err(Miss::WrongLength {
                found: 3,
                min: 4,
                max: 4
            })
        );
        assert_eq!(keys(pin.clone(), "12*4"), Err(Miss::InvalidKeys));
        assert_eq!(keys(pin.clone(), "12a4"), Err(Miss::InvalidKeys));
        assert_eq!(keys(pin, "#"), Err(Miss::NotFound("keypad input")));
        assert_eq!(
            keys(EntityKind::CardNumber, "4111111111111112"),
            Err(Miss::CardCheckFailed)
        );
        assert_eq!(keys(EntityKind::Date, "02302024"), Err(Miss::InvalidDate));
        assert_eq!(
            keys(EntityKind::Money, &"9".repeat(30)),
            Err(Miss::TooLarge)
        );
        assert!(keys(EntityKind::Money, "1*2*3").is_err());
        assert!(keys(EntityKind::YesNo, "9").is_err());
    }

    #[test]
    fn sensitive_values_are_flagged_and_masked() {
        let card = from_dtmf(
            &def(EntityKind::CardNumber, true),
            "4111111111111111",
            today(),
        )
        .unwrap();
        assert!(card.sensitive);
        assert_eq!(card.masked(), "****1111");
        let pin = from_dtmf(
            &def(
                EntityKind::Digits {
                    min_len: 4,
                    max_len: 4,
                },
                true,
            ),
            "9876",
            today(),
        )
        .unwrap();
        assert_eq!(pin.masked(), "****");
    }

    #[test]
    fn reasons_name_lengths_plainly() {
        assert_eq!(
            Miss::WrongLength {
                found: 7,
                min: 8,
                max: 8
            }
            .to_string(),
            "heard 7 digits, expected 8"
        );
        assert_eq!(
            Miss::WrongLength {
                found: 3,
                min: 4,
                max: 6
            }
            .to_string(),
            "heard 3 digits, expected 4 to 6"
        );
        assert_eq!(
            Miss::WrongLength {
                found: 1,
                min: 4,
                max: 4
            }
            .to_string(),
            "heard 1 digit, expected 4"
        );
    }
}
