//! Loading a dialplan file: size limit, UTF-8, YAML parsing with exact positions, then the
//! semantic checks. Every failure becomes a [`Report`] of diagnostics; nothing panics on
//! bad input.

use super::checker::{self, CheckOptions};
use super::diagnostic::{Diagnostic, Report};
use super::format::DialplanDoc;
use super::located::Pos;
use super::plan::Dialplan;
use super::prompt_catalog::PromptCatalog;
use std::path::{Path, PathBuf};

/// Dialplans larger than this are refused (a real one is a few tens of KiB).
pub const MAX_DIALPLAN_BYTES: usize = 1024 * 1024;

/// Loads, parses and checks a dialplan file. `Ok` carries the warnings; `Err` has at
/// least one error.
pub fn load_path(path: &Path) -> Result<(Dialplan, Report), Report> {
    load_path_with(path, &CheckOptions::default())
}

/// [`load_path`] with what the checker knows beyond the file (the configured queues).
pub fn load_path_with(path: &Path, options: &CheckOptions) -> Result<(Dialplan, Report), Report> {
    let file = path.display().to_string();
    let bytes = match read_limited(path) {
        Ok(bytes) => bytes,
        Err(diagnostic) => {
            let mut report = Report::new(file, "");
            report.push(diagnostic);
            return Err(report);
        }
    };
    load_source_with(
        &file,
        &bytes,
        path.parent().or(Some(Path::new("."))),
        options,
    )
}

fn read_limited(path: &Path) -> Result<Vec<u8>, Diagnostic> {
    let too_big = |size: u64| {
        Diagnostic::error(
            "too-large",
            Pos::UNKNOWN,
            format!("the file is {size} bytes, over the {MAX_DIALPLAN_BYTES}-byte limit"),
        )
        .with_hint("split it, or check that this is the right file")
    };
    let meta = std::fs::metadata(path)
        .map_err(|e| Diagnostic::error("io", Pos::UNKNOWN, format!("cannot read the file: {e}")))?;
    if meta.len() > MAX_DIALPLAN_BYTES as u64 {
        return Err(too_big(meta.len()));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| Diagnostic::error("io", Pos::UNKNOWN, format!("cannot read the file: {e}")))?;
    if bytes.len() > MAX_DIALPLAN_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Parses and checks dialplan text. `base_dir` is the file's folder (prompt ids are
/// checked against `<base_dir>/<prompts_dir>/<language>/`); without it prompts are not
/// checked.
pub fn load_source(
    file: &str,
    bytes: &[u8],
    base_dir: Option<&Path>,
) -> Result<(Dialplan, Report), Report> {
    load_source_with(file, bytes, base_dir, &CheckOptions::default())
}

/// [`load_source`] with what the checker knows beyond the file (the configured queues).
pub fn load_source_with(
    file: &str,
    bytes: &[u8],
    base_dir: Option<&Path>,
    options: &CheckOptions,
) -> Result<(Dialplan, Report), Report> {
    let mut report = Report::new(file, "");
    if bytes.len() > MAX_DIALPLAN_BYTES {
        report.push(
            Diagnostic::error(
                "too-large",
                Pos::UNKNOWN,
                format!(
                    "the text is {} bytes, over the {MAX_DIALPLAN_BYTES}-byte limit",
                    bytes.len()
                ),
            )
            .with_hint("split it, or check that this is the right file"),
        );
        return Err(report);
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = &bytes[..e.valid_up_to()];
            let valid = std::str::from_utf8(valid).unwrap_or_default();
            let line = valid.matches('\n').count() + 1;
            let column = valid
                .rsplit('\n')
                .next()
                .map(|l| l.chars().count())
                .unwrap_or(0)
                + 1;
            report.source = String::from_utf8_lossy(bytes).into_owned();
            report.push(
                Diagnostic::error(
                    "not-utf8",
                    Pos::new(line as u32, column as u32, 1),
                    "the file is not valid UTF-8",
                )
                .with_hint("save the file as UTF-8"),
            );
            return Err(report);
        }
    };
    report.source = text.to_string();
    let doc = match parse(text) {
        Ok(doc) => doc,
        Err(diagnostic) => {
            report.push(diagnostic);
            return Err(report);
        }
    };
    let prompts = match base_dir {
        Some(dir) => {
            let folder = doc
                .prompts_dir
                .as_ref()
                .map(|d| d.value.as_str())
                .unwrap_or("../prompts");
            let language = doc
                .language
                .as_ref()
                .map(|l| l.value.as_str())
                .unwrap_or("en-US");
            let path: PathBuf = dir.join(folder).join(language);
            let catalog = PromptCatalog::load(&path);
            if !catalog.is_available() {
                let pos = doc
                    .prompts_dir
                    .as_ref()
                    .map(|d| d.pos)
                    .unwrap_or(Pos::UNKNOWN);
                report.push(
                    Diagnostic::warning(
                        "no-prompts",
                        pos,
                        format!(
                            "prompt folder {} not found: prompt ids are not checked",
                            path.display()
                        ),
                    )
                    .with_hint("set `prompts_dir:` relative to this file"),
                );
            }
            catalog
        }
        None => PromptCatalog::default(),
    };
    let (diagnostics, plan) = checker::check_with(doc, file, text, prompts, options);
    report.diagnostics.extend(diagnostics);
    report.sort();
    match plan {
        Some(mut plan) => {
            plan.version = version_of(bytes);
            Ok((plan, report))
        }
        None => Err(report),
    }
}

/// A dialplan version's name: the first 12 hex digits of the SHA-256 of its text, so the
/// CDRs of calls before and after a reload say which text each call walked.
fn version_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses dialplan YAML into the document types (no semantic checks).
pub fn parse(text: &str) -> Result<DialplanDoc, Diagnostic> {
    serde_saphyr::from_str::<DialplanDoc>(text).map_err(|e| yaml_diagnostic(&e))
}

/// Turns a YAML reader error into a diagnostic at its position.
pub fn yaml_diagnostic(err: &serde_saphyr::Error) -> Diagnostic {
    let location = err.location();
    let pos = location.map(Pos::from).unwrap_or(Pos::UNKNOWN);
    let options = serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off };
    let mut message = err.render_with_options(options);
    if let Some(loc) = location {
        let suffix = format!(" at line {}, column {}", loc.line(), loc.column());
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = stripped.to_string();
        }
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        message = format!("`{key}` is defined twice here");
    }
    let hint = if message.contains("unknown variant") {
        "not a known step or value: see docs/dialplan.md (`hotline schema` lets editors complete them)"
    } else if message.contains("unknown field") {
        "not a field of this item: see the fields it accepts above, and docs/dialplan.md"
    } else if message.contains("missing field") {
        "this item needs that field: see docs/dialplan.md"
    } else if message.contains("defined twice") {
        "step, flow, intent and other names must be unique: rename or remove one"
    } else {
        "see docs/dialplan.md for the format"
    };
    Diagnostic::error("syntax", pos, message).with_hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "name: t\ntimezone: UTC\nflows:\n  main:\n    steps:\n      hi:\n        say:\n          play: [text: \"Hello {caller_id}\"]\n      bye:\n        hangup: {}\n";

    fn errors_of(text: &str) -> Vec<Diagnostic> {
        match load_source("t.yaml", text.as_bytes(), None) {
            Ok((_, report)) => panic!("expected errors, got {:?}", report.diagnostics),
            Err(report) => report.errors().cloned().collect(),
        }
    }

    #[test]
    fn minimal_dialplan_loads_without_warnings() {
        let (plan, report) = load_source("t.yaml", MINIMAL.as_bytes(), None).unwrap();
        assert_eq!(plan.name(), "t");
        assert!(report.diagnostics.is_empty(), "{}", report.render());
    }

    #[test]
    fn unknown_step_kind_points_at_the_key() {
        let text = MINIMAL.replace("        hangup: {}", "        hangupp: {}");
        let errors = errors_of(&text);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            (errors[0].pos.line, errors[0].pos.column),
            (10, 9),
            "{:?}",
            errors[0]
        );
        assert!(
            errors[0].message.contains("hangupp"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn wrong_type_points_at_the_value() {
        let text = MINIMAL.replace("name: t", "name: t\nconfidence: high");
        let errors = errors_of(&text);
        assert_eq!(
            (errors[0].pos.line, errors[0].pos.column),
            (2, 13),
            "{:?}",
            errors[0]
        );
    }

    #[test]
    fn non_utf8_and_oversized_input_are_errors() {
        let mut bytes = b"name: t\ntimezone: U".to_vec();
        bytes.push(0xff);
        let report = load_source("t.yaml", &bytes, None).unwrap_err();
        assert_eq!(report.diagnostics[0].code, "not-utf8");
        assert_eq!(
            (
                report.diagnostics[0].pos.line,
                report.diagnostics[0].pos.column
            ),
            (2, 12)
        );
        let big = vec![b'#'; MAX_DIALPLAN_BYTES + 1];
        assert_eq!(
            load_source("t.yaml", &big, None).unwrap_err().diagnostics[0].code,
            "too-large"
        );
    }

    #[test]
    fn duplicate_step_ids_are_errors() {
        let text = MINIMAL.replace("      bye:\n", "      hi:\n");
        let errors = errors_of(&text);
        assert_eq!(errors[0].pos.line, 9, "{:?}", errors[0]);
        assert!(
            errors[0].message.contains("defined twice"),
            "{}",
            errors[0].message
        );
    }
}
