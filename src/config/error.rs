//! Configuration errors that point at file:line:column.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

impl ConfigError {
    pub(crate) fn syntax(path: &Path, text: &str, err: &toml::de::Error) -> Self {
        let (line, column) = err
            .span()
            .map(|s| line_column(text, s.start))
            .unwrap_or((1, 1));
        ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message: err.message().trim().to_string(),
        }
    }

    /// A semantic error about `key`: points at the key's first occurrence in the file.
    pub(crate) fn value(path: &Path, text: &str, key: &str, message: String) -> Self {
        Self::at(path, text, find_key(text, key).unwrap_or(0), message)
    }

    /// A semantic error about `key` inside the TOML table `table` (`acd.queues.cards`):
    /// points at the key within that table, else at the table's header, else at the start.
    pub(crate) fn value_in_table(
        path: &Path,
        text: &str,
        table: &str,
        key: &str,
        message: String,
    ) -> Self {
        Self::at(
            path,
            text,
            locate_in_table(text, table, key).unwrap_or(0),
            message,
        )
    }

    /// An error at byte `offset` of the file.
    fn at(path: &Path, text: &str, offset: usize, message: String) -> Self {
        let (line, column) = line_column(text, offset);
        ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    }
}

/// Where `key` of `table` is written: in `[table]` itself; else where the table is an
/// inline table or dotted key of its parent (`overflow = { to = .. }` in
/// `[acd.queues.cards]`); else at the `[table]` header.
fn locate_in_table(text: &str, table: &str, key: &str) -> Option<usize> {
    let (found, header) = find_key_in_table(text, table, key);
    found
        .or_else(|| {
            let (parent, last) = table.rsplit_once('.')?;
            locate_in_table(text, parent, last)
        })
        .or(header)
}

/// Where `key` is set inside `[table]`, and where that table's header is.
fn find_key_in_table(text: &str, table: &str, key: &str) -> (Option<usize>, Option<usize>) {
    let mut offset = 0;
    let mut header = None;
    let mut inside = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.starts_with('[') {
            let name: String = trimmed
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '"')
                .collect();
            inside = name == table;
            if inside && header.is_none() {
                header = Some(offset + indent);
            }
        } else if inside
            && let Some(rest) = trimmed.strip_prefix(key)
            && matches!(rest.trim_start().chars().next(), Some('=' | '.'))
        {
            return (Some(offset + indent), header);
        }
        offset += line.len();
    }
    (None, header)
}

fn find_key(text: &str, key: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return Some(offset + (line.len() - trimmed.len()));
        }
        offset += line.len();
    }
    None
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}
