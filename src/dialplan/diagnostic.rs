//! Problems found in a dialplan, each at file:line:column with the offending source line,
//! a caret under the bad value and a hint; errors apart from warnings.

use super::located::Pos;
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A short stable code, e.g. `unknown-target` (documented in docs/dialplan.md).
    pub code: &'static str,
    pub pos: Pos,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, pos: Pos, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            pos,
            message: message.into(),
            hint: None,
        }
    }

    pub fn warning(code: &'static str, pos: Pos, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            code,
            pos,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Every problem of one file, with the file's text for snippets.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub file: String,
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn new(file: impl Into<String>, source: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            source: source.into(),
            diagnostics: Vec::new(),
        }
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// Errors first, then warnings, each in file order.
    pub fn sort(&mut self) {
        self.diagnostics
            .sort_by_key(|d| (d.severity, d.pos.line, d.pos.column));
    }

    /// Renders every diagnostic (rustc style, no colours).
    pub fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.diagnostics {
            out.push_str(&render_one(&self.file, &self.source, d));
            out.push('\n');
        }
        out
    }
}

/// Renders one diagnostic with its snippet:
///
/// ```text
/// error[unknown-target]: step `balanse` does not exist in flow `main`
///   --> dialplans/acme-bank.yaml:42:17
///    |
/// 42 |           next: balanse
///    |                 ^^^^^^^
///    = hint: did you mean `balance`?
/// ```
pub fn render_one(file: &str, source: &str, d: &Diagnostic) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}[{}]: {}", d.severity.as_str(), d.code, d.message);
    if !d.pos.is_known() {
        let _ = writeln!(out, "  --> {file}");
    } else {
        let _ = writeln!(out, "  --> {file}:{}:{}", d.pos.line, d.pos.column);
        if let Some(line) = source.lines().nth(d.pos.line as usize - 1) {
            let number = d.pos.line.to_string();
            let pad = " ".repeat(number.len());
            let line = line.replace('\t', " ");
            let col = d.pos.column.max(1) as usize - 1;
            let available = line.chars().count().saturating_sub(col).max(1);
            let width = (d.pos.len as usize).clamp(1, available);
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{number} | {line}");
            let _ = writeln!(out, "{pad} | {}{}", " ".repeat(col), "^".repeat(width));
        }
    }
    if let Some(hint) = &d.hint {
        let _ = writeln!(out, "   = hint: {hint}");
    }
    out
}

/// The closest candidate to `name` (by edit distance), for "did you mean" hints.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| *d <= (c.len().max(name.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// A "did you mean" hint, or a list of what exists.
pub fn suggest<'a>(
    name: &str,
    what: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    let all: Vec<&str> = candidates.into_iter().collect();
    match closest(name, all.iter().copied()) {
        Some(c) => format!("did you mean `{c}`?"),
        None => {
            if all.is_empty() {
                format!("no {what} is declared")
            } else {
                format!("declared {what}: {}", all.join(", "))
            }
        }
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_snippet_caret_and_hint() {
        let source = "a: 1\nnext: balanse\n";
        let d = Diagnostic::error("unknown-target", Pos::new(2, 7, 7), "no step `balanse`")
            .with_hint("did you mean `balance`?");
        let text = render_one("x.yaml", source, &d);
        assert!(text.contains("error[unknown-target]: no step `balanse`"));
        assert!(text.contains("--> x.yaml:2:7"));
        assert!(
            text.contains("2 | next: balanse\n  |       ^^^^^^^\n"),
            "{text}"
        );
        assert!(text.contains("hint: did you mean `balance`?"));
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(closest("balanse", ["balance", "cards"]), Some("balance"));
        assert_eq!(closest("zzz", ["balance", "cards"]), None);
        assert_eq!(
            suggest("zzz", "queues", ["a", "b"]),
            "declared queues: a, b"
        );
    }
}
