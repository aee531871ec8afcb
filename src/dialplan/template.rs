//! Text templates: literal text with `{variable}` and typed readback `{variable:type}`
//! (`money`, `digits`, `date`, `number`, `text`), as used by `text:` items, `set` values
//! and lookup arguments. `{{` and `}}` are literal braces.

use std::fmt;

/// How a variable is read back to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAs {
    /// As it is (plain text; numbers spoken as numbers by the prompt module).
    Text,
    /// An amount of money: "one hundred twenty dollars and fifty cents".
    Money,
    /// Digit by digit: "one two three four".
    Digits,
    /// A calendar date: "March third".
    Date,
    /// A whole number: "one hundred twenty".
    Number,
}

impl ReadAs {
    pub const NAMES: &'static [&'static str] = &["text", "money", "digits", "date", "number"];

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "text" => ReadAs::Text,
            "money" => ReadAs::Money,
            "digits" => ReadAs::Digits,
            "date" => ReadAs::Date,
            "number" => ReadAs::Number,
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            ReadAs::Text => "text",
            ReadAs::Money => "money",
            ReadAs::Digits => "digits",
            ReadAs::Date => "date",
            ReadAs::Number => "number",
        }
    }
}

impl fmt::Display for ReadAs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Literal(String),
    Var {
        name: String,
        read_as: Option<ReadAs>,
        /// Character offset of the variable name inside the template, for diagnostics.
        offset: usize,
    },
}

/// A template error with the character offset inside the template text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    pub message: String,
    pub offset: usize,
    pub hint: Option<String>,
}

/// Whether `name` is a valid variable name: letters, digits, `_`, with `.` between parts
/// (lookup results are `account.balance`).
pub fn is_var_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// Splits a template into literal text and variable references.
pub fn parse(text: &str) -> Result<Vec<Piece>, TemplateError> {
    let chars: Vec<char> = text.chars().collect();
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' if chars.get(i + 1) == Some(&'{') => {
                literal.push('{');
                i += 2;
            }
            '}' if chars.get(i + 1) == Some(&'}') => {
                literal.push('}');
                i += 2;
            }
            '}' => {
                return Err(TemplateError {
                    message: "unmatched `}` in text".into(),
                    offset: i,
                    hint: Some("write `}}` for a literal brace".into()),
                });
            }
            '{' => {
                let start = i + 1;
                let Some(len) = chars[start..].iter().position(|&c| c == '}') else {
                    return Err(TemplateError {
                        message: "unclosed `{` in text".into(),
                        offset: i,
                        hint: Some(
                            "close the variable with `}`, or write `{{` for a literal brace".into(),
                        ),
                    });
                };
                let inner: String = chars[start..start + len].iter().collect();
                let (name, read_as) = match inner.split_once(':') {
                    Some((name, kind)) => {
                        let kind = kind.trim();
                        let Some(read_as) = ReadAs::parse(kind) else {
                            return Err(TemplateError {
                                message: format!("unknown readback type `{kind}`"),
                                offset: start + name.chars().count() + 1,
                                hint: Some(format!("use one of: {}", ReadAs::NAMES.join(", "))),
                            });
                        };
                        (name.trim().to_string(), Some(read_as))
                    }
                    None => (inner.trim().to_string(), None),
                };
                if !is_var_name(&name) {
                    return Err(TemplateError {
                        message: format!("`{name}` is not a variable name"),
                        offset: start,
                        hint: Some("variables are letters, digits and `_`, like `{balance}` or `{account.balance:money}`".into()),
                    });
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Var {
                    name,
                    read_as,
                    offset: start,
                });
                i = start + len + 1;
            }
            c => {
                literal.push(c);
                i += 1;
            }
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}

/// The variable names a template refers to (empty if it does not parse).
pub fn variables(text: &str) -> Vec<String> {
    parse(text)
        .map(|pieces| {
            pieces
                .into_iter()
                .filter_map(|p| match p {
                    Piece::Var { name, .. } => Some(name),
                    Piece::Literal(_) => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_literals_and_typed_variables() {
        let pieces = parse("Your balance is {balance:money}, {name}.").unwrap();
        assert_eq!(
            pieces,
            vec![
                Piece::Literal("Your balance is ".into()),
                Piece::Var {
                    name: "balance".into(),
                    read_as: Some(ReadAs::Money),
                    offset: 17
                },
                Piece::Literal(", ".into()),
                Piece::Var {
                    name: "name".into(),
                    read_as: None,
                    offset: 34
                },
                Piece::Literal(".".into()),
            ]
        );
    }

    #[test]
    fn doubled_braces_are_literal() {
        assert_eq!(
            parse("a {{b}} c").unwrap(),
            vec![Piece::Literal("a {b} c".into())]
        );
    }

    #[test]
    fn reports_unknown_type_and_unclosed_brace_with_offsets() {
        let err = parse("x {n:euros}").unwrap_err();
        assert!(err.message.contains("euros"));
        assert_eq!(err.offset, 5);
        assert_eq!(parse("ab {oops").unwrap_err().offset, 3);
        assert!(parse("{1abc}").is_err());
        assert!(parse("a } b").is_err());
    }

    #[test]
    fn dotted_names_are_variables() {
        assert_eq!(
            variables("{account.balance:money} and {x}"),
            vec!["account.balance", "x"]
        );
    }
}
