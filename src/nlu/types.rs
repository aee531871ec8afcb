//! The data that flows in and out of caller understanding: intent and entity
//! definitions (declared in dialplans), expectations of a gather step, and results.

use chrono::NaiveDate;
use std::fmt;

/// An intent as a dialplan declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentDef {
    pub name: String,
    /// Example phrases a caller might say.
    pub examples: Vec<String>,
    /// Words that strongly indicate this intent (boosted).
    pub keywords: Vec<String>,
    /// Global intents (such as "agent") compete in every gather.
    pub global: bool,
}

/// The kinds of entity the extractors know.
#[derive(Debug, Clone, PartialEq)]
pub enum EntityKind {
    /// A digit string with a length range (account numbers, PINs).
    Digits { min_len: usize, max_len: usize },
    /// A payment card number: Luhn-checked; last four kept apart.
    CardNumber,
    /// An amount of money.
    Money,
    /// A calendar date, relative expressions resolved against `Expectation::today`.
    Date,
    /// Yes or no.
    YesNo,
    /// An ordinal choice ("the second one").
    Ordinal,
}

/// An entity as a dialplan declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityDef {
    pub name: String,
    pub kind: EntityKind,
    /// Sensitive values (PINs, card numbers, dates of birth) are masked everywhere downstream.
    pub sensitive: bool,
}

/// What the current gather step expects.
#[derive(Debug, Clone)]
pub struct Expectation<'a> {
    /// Intents that compete in this step (global intents always compete too).
    pub intents: &'a [String],
    /// Include global intents.
    pub include_global: bool,
    /// The one entity this step collects, if any.
    pub entity: Option<&'a EntityDef>,
    /// Today's date in the dialplan's timezone, for relative dates.
    pub today: NaiveDate,
    /// Below this confidence an intent is a no-match.
    pub threshold: f32,
}

impl Expectation<'_> {
    /// Whether `intent` may be returned in this step (global intents are checked by the model).
    pub fn competes(&self, intent: &str) -> bool {
        self.intents.iter().any(|i| i == intent)
    }
}

/// One intent candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentMatch {
    pub name: String,
    /// 0.0 ..= 1.0
    pub confidence: f32,
}

/// A typed entity value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Digits(String),
    /// Amount in cents (negative allowed).
    Money {
        cents: i64,
    },
    Date(NaiveDate),
    YesNo(bool),
    Ordinal(u32),
    /// A Luhn-valid card number; `last4` is safe to show.
    Card {
        number: String,
        last4: String,
    },
}

/// One extracted entity.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityValue {
    pub name: String,
    pub value: Value,
    pub sensitive: bool,
}

impl EntityValue {
    /// The value as it may appear in logs, CDRs and agent context.
    pub fn masked(&self) -> String {
        if !self.sensitive {
            return self.value.to_string();
        }
        match &self.value {
            Value::Card { last4, .. } => format!("****{last4}"),
            _ => "****".to_string(),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Digits(d) => f.write_str(d),
            Value::Money { cents } => {
                let sign = if *cents < 0 { "-" } else { "" };
                let abs = cents.unsigned_abs();
                write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
            }
            Value::Date(d) => write!(f, "{d}"),
            Value::YesNo(b) => f.write_str(if *b { "yes" } else { "no" }),
            Value::Ordinal(n) => write!(f, "{n}"),
            Value::Card { number, .. } => f.write_str(number),
        }
    }
}

/// What one transcript (or keypad input) meant in one gather step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Understanding {
    /// What the caller said; masked at steps collecting a sensitive entity.
    pub transcript: String,
    /// The best intent at or above the threshold; `None` is a no-match.
    pub intent: Option<IntentMatch>,
    /// The second-best intent; when `intent` is `None`, the best candidate below the
    /// threshold (so a dialplan can confirm it).
    pub runner_up: Option<IntentMatch>,
    pub entities: Vec<EntityValue>,
    /// Why nothing matched, for engineers (`hotline understand`).
    pub no_match_reason: Option<String>,
}
