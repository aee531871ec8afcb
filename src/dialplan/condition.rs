//! Branch and routing conditions: `var`, `not var`, `var == value`, `var != value`,
//! `var < n` (also `>`, `<=`, `>=`), joined with `and` (binds tighter) and `or`.
//! Parsed when a dialplan loads, evaluated against call variables.

use super::template::is_var_name;
use super::variables::{VarValue, Variables};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Number(f64),
    Bool(bool),
    Text(String),
}

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The variable is set and truthy.
    Truthy(String),
    Not(Box<Condition>),
    Compare {
        var: String,
        op: Op,
        value: Literal,
    },
    And(Vec<Condition>),
    Or(Vec<Condition>),
}

/// A condition that does not parse, with the character offset of the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ConditionError {
    pub message: String,
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Number(f64),
    Quoted(String),
    Op(Op),
}

fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, ConditionError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let op = match two.as_str() {
            "==" => Some((Op::Eq, 2)),
            "!=" => Some((Op::Ne, 2)),
            "<=" => Some((Op::Le, 2)),
            ">=" => Some((Op::Ge, 2)),
            _ if c == '<' => Some((Op::Lt, 1)),
            _ if c == '>' => Some((Op::Gt, 1)),
            _ => None,
        };
        if let Some((op, len)) = op {
            tokens.push((Token::Op(op), start));
            i += len;
        } else if c == '\'' || c == '"' {
            let Some(len) = chars[i + 1..].iter().position(|&q| q == c) else {
                return Err(ConditionError {
                    message: format!("unclosed {c} quote"),
                    offset: start,
                });
            };
            tokens.push((
                Token::Quoted(chars[i + 1..i + 1 + len].iter().collect()),
                start,
            ));
            i += len + 2;
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let number = text.parse().map_err(|_| ConditionError {
                message: format!("`{text}` is not a number"),
                offset: start,
            })?;
            tokens.push((Token::Number(number), start));
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            while i < chars.len()
                && (chars[i].is_alphanumeric()
                    || chars[i] == '_'
                    || chars[i] == '.'
                    || chars[i] == '-')
            {
                i += 1;
            }
            tokens.push((Token::Word(chars[start..i].iter().collect()), start));
        } else {
            return Err(ConditionError {
                message: format!("unexpected `{c}` in condition"),
                offset: start,
            });
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    at: usize,
    end: usize,
}

impl Parser {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some((Token::Word(w), _)) if w == word)
    }

    fn offset(&self) -> usize {
        self.tokens
            .get(self.at)
            .map(|(_, o)| *o)
            .unwrap_or(self.end)
    }

    fn or(&mut self) -> Result<Condition, ConditionError> {
        let mut parts = vec![self.and()?];
        while self.peek_word("or") {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Condition, ConditionError> {
        let mut parts = vec![self.atom()?];
        while self.peek_word("and") {
            self.at += 1;
            parts.push(self.atom()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::And(parts)
        })
    }

    fn atom(&mut self) -> Result<Condition, ConditionError> {
        if self.peek_word("not") {
            self.at += 1;
            return Ok(Condition::Not(Box::new(self.atom()?)));
        }
        let offset = self.offset();
        let var = match self.tokens.get(self.at) {
            Some((Token::Word(w), _)) if is_var_name(w) && !matches!(w.as_str(), "and" | "or") => {
                w.clone()
            }
            Some(_) => {
                return Err(ConditionError {
                    message: "expected a variable name".into(),
                    offset,
                });
            }
            None => {
                return Err(ConditionError {
                    message: "condition ends too early".into(),
                    offset,
                });
            }
        };
        self.at += 1;
        let Some((Token::Op(op), _)) = self.tokens.get(self.at) else {
            return Ok(Condition::Truthy(var));
        };
        let op = *op;
        self.at += 1;
        let offset = self.offset();
        let value = match self.tokens.get(self.at) {
            Some((Token::Number(n), _)) => Literal::Number(*n),
            Some((Token::Word(w), _)) if w == "true" => Literal::Bool(true),
            Some((Token::Word(w), _)) if w == "false" => Literal::Bool(false),
            Some((Token::Word(w), _)) | Some((Token::Quoted(w), _)) => Literal::Text(w.clone()),
            _ => {
                return Err(ConditionError {
                    message: "expected a value after the comparison".into(),
                    offset,
                });
            }
        };
        if matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge) && !matches!(value, Literal::Number(_)) {
            return Err(ConditionError {
                message: "`<`, `>`, `<=` and `>=` compare with numbers".into(),
                offset,
            });
        }
        self.at += 1;
        Ok(Condition::Compare { var, op, value })
    }
}

/// Parses a condition.
pub fn parse(text: &str) -> Result<Condition, ConditionError> {
    let tokens = tokenize(text)?;
    let end = text.chars().count();
    let mut parser = Parser { tokens, at: 0, end };
    let condition = parser.or()?;
    if parser.at < parser.tokens.len() {
        return Err(ConditionError {
            message: "unexpected text after the condition".into(),
            offset: parser.offset(),
        });
    }
    Ok(condition)
}

impl Condition {
    /// The variable names the condition reads.
    pub fn variables(&self) -> Vec<&str> {
        match self {
            Condition::Truthy(v) | Condition::Compare { var: v, .. } => vec![v.as_str()],
            Condition::Not(inner) => inner.variables(),
            Condition::And(parts) | Condition::Or(parts) => {
                parts.iter().flat_map(|p| p.variables()).collect()
            }
        }
    }

    /// Evaluates against call variables; an unset variable is false and equals nothing.
    pub fn eval(&self, vars: &Variables) -> bool {
        match self {
            Condition::Truthy(name) => vars.value(name).is_some_and(VarValue::is_truthy),
            Condition::Not(inner) => !inner.eval(vars),
            Condition::And(parts) => parts.iter().all(|p| p.eval(vars)),
            Condition::Or(parts) => parts.iter().any(|p| p.eval(vars)),
            Condition::Compare { var, op, value } => match vars.value(var) {
                None => *op == Op::Ne,
                Some(current) => compare(current, *op, value),
            },
        }
    }
}

fn compare(current: &VarValue, op: Op, value: &Literal) -> bool {
    let equal = match value {
        Literal::Number(n) => {
            let Some(x) = current.as_number() else {
                return op == Op::Ne;
            };
            return match op {
                Op::Eq => x == *n,
                Op::Ne => x != *n,
                Op::Lt => x < *n,
                Op::Le => x <= *n,
                Op::Gt => x > *n,
                Op::Ge => x >= *n,
            };
        }
        Literal::Bool(b) => current.is_truthy() == *b,
        Literal::Text(t) => current.to_string().eq_ignore_ascii_case(t),
    };
    match op {
        Op::Eq => equal,
        Op::Ne => !equal,
        // Ordering with a non-number is refused by the parser.
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nlu::Value;

    fn vars() -> Variables {
        let mut v = Variables::default();
        v.set("intent", VarValue::Text("lost_card".into()), false);
        v.set(
            "amount",
            VarValue::Typed(Value::Money { cents: 60_000 }),
            false,
        );
        v.set("verified", VarValue::Bool(true), false);
        v.set("tries", VarValue::Number(2), false);
        v
    }

    #[test]
    fn evaluates_comparisons_and_logic() {
        let v = vars();
        let cases = [
            ("intent == lost_card", true),
            ("intent != lost_card", false),
            ("amount > 500", true),
            ("amount <= 500", false),
            ("verified", true),
            ("not verified", false),
            ("verified == false", false),
            ("tries >= 3 or intent == 'lost_card'", true),
            ("tries >= 3 and verified", false),
            ("missing", false),
            ("missing == 1", false),
            ("missing != 1", true),
            ("tries==2", true),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).unwrap().eval(&v), expected, "{text}");
        }
    }

    #[test]
    fn rejects_malformed_conditions_with_offsets() {
        assert_eq!(parse("amount >").unwrap_err().offset, 8);
        assert_eq!(parse("amount > big").unwrap_err().offset, 9);
        assert_eq!(parse("== 3").unwrap_err().offset, 0);
        assert!(parse("a == 'x").is_err());
        assert!(parse("a b").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn lists_variables_read() {
        assert_eq!(
            parse("a and not b or c == 1").unwrap().variables(),
            vec!["a", "b", "c"]
        );
    }
}
