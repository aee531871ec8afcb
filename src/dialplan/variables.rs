//! Call variables: what the runtime knows about a call (caller id, collected entities,
//! lookup results, values set by the dialplan), each flagged sensitive or not so that
//! masking happens in one place.

use crate::nlu::Value;
use std::collections::BTreeMap;
use std::fmt;

/// The mask shown instead of a sensitive value.
pub const MASK: &str = "****";

/// A variable's value.
#[derive(Debug, Clone, PartialEq)]
pub enum VarValue {
    Text(String),
    Number(i64),
    Bool(bool),
    /// A typed entity value from caller understanding.
    Typed(Value),
}

impl VarValue {
    /// Parses a `set` value: `true`/`false` and integers are typed, the rest is text.
    pub fn from_literal(text: &str) -> Self {
        match text {
            "true" => VarValue::Bool(true),
            "false" => VarValue::Bool(false),
            _ => text
                .parse::<i64>()
                .map(VarValue::Number)
                .unwrap_or_else(|_| VarValue::Text(text.to_string())),
        }
    }

    /// The value as a number when it has one (money in units, digits, numeric text).
    pub fn as_number(&self) -> Option<f64> {
        match self {
            VarValue::Number(n) => Some(*n as f64),
            VarValue::Typed(Value::Money { cents }) => Some(*cents as f64 / 100.0),
            VarValue::Typed(Value::Ordinal(n)) => Some(f64::from(*n)),
            VarValue::Typed(Value::Digits(d)) => d.parse().ok(),
            VarValue::Text(t) => t.trim().parse().ok(),
            _ => None,
        }
    }

    /// Whether the value counts as true in a condition.
    pub fn is_truthy(&self) -> bool {
        match self {
            VarValue::Bool(b) | VarValue::Typed(Value::YesNo(b)) => *b,
            VarValue::Number(n) => *n != 0,
            VarValue::Text(t) => !matches!(t.trim(), "" | "false" | "no" | "0"),
            VarValue::Typed(_) => true,
        }
    }
}

impl fmt::Display for VarValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VarValue::Text(t) => f.write_str(t),
            VarValue::Number(n) => write!(f, "{n}"),
            VarValue::Bool(b) => write!(f, "{b}"),
            VarValue::Typed(v) => v.fmt(f),
        }
    }
}

/// One variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub value: VarValue,
    pub sensitive: bool,
}

impl Variable {
    /// The value as it may appear in logs, output and agent context.
    pub fn masked(&self) -> String {
        if !self.sensitive {
            return self.value.to_string();
        }
        match &self.value {
            VarValue::Typed(Value::Card { last4, .. }) => format!("{MASK}{last4}"),
            _ => MASK.to_string(),
        }
    }
}

/// The variables of one call, sorted by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Variables {
    vars: BTreeMap<String, Variable>,
}

impl Variables {
    pub fn get(&self, name: &str) -> Option<&Variable> {
        self.vars.get(name)
    }

    pub fn value(&self, name: &str) -> Option<&VarValue> {
        self.vars.get(name).map(|v| &v.value)
    }

    pub fn set(&mut self, name: impl Into<String>, value: VarValue, sensitive: bool) {
        self.vars.insert(name.into(), Variable { value, sensitive });
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Variable)> {
        self.vars.iter()
    }

    /// Every variable with sensitive values masked.
    pub fn masked(&self) -> BTreeMap<String, String> {
        self.vars
            .iter()
            .map(|(k, v)| (k.clone(), v.masked()))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.vars.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_values_are_masked_and_cards_keep_last_four() {
        let pin = Variable {
            value: VarValue::Typed(Value::Digits("1234".into())),
            sensitive: true,
        };
        assert_eq!(pin.masked(), "****");
        let card = Variable {
            value: VarValue::Typed(Value::Card {
                number: "4111111111111111".into(),
                last4: "1111".into(),
            }),
            sensitive: true,
        };
        assert_eq!(card.masked(), "****1111");
        let plain = Variable {
            value: VarValue::Number(7),
            sensitive: false,
        };
        assert_eq!(plain.masked(), "7");
    }

    #[test]
    fn literals_are_typed_and_money_is_numeric() {
        assert_eq!(VarValue::from_literal("true"), VarValue::Bool(true));
        assert_eq!(VarValue::from_literal("42"), VarValue::Number(42));
        assert_eq!(VarValue::from_literal("hi"), VarValue::Text("hi".into()));
        assert_eq!(
            VarValue::Typed(Value::Money { cents: 12_050 }).as_number(),
            Some(120.5)
        );
        assert!(!VarValue::Text("no".into()).is_truthy());
    }
}
