//! Flow tests: files of scripted calls (caller turns in; expected prompts, variables,
//! transfer queue and context out), run against a dialplan by `hotline test`.

use super::diagnostic::{Diagnostic, Report};
use super::format::Priority;
use super::loader;
use super::plan::Dialplan;
use super::session::{Line, MockAnswer, Mocks, ScriptedTransfer, Session, parse_time};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A flow-test file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// The dialplan under test, relative to this file.
    pub dialplan: String,
    /// Default call time for the tests (RFC 3339, or `YYYY-MM-DD HH:MM` in the dialplan's timezone).
    #[serde(default)]
    pub at: Option<String>,
    /// Default caller id.
    #[serde(default)]
    pub caller_id: Option<String>,
    /// Default lookup answers, per data source.
    #[serde(default)]
    pub lookups: Mocks,
    pub tests: Vec<FlowTest>,
}

/// One scripted call.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowTest {
    pub name: String,
    #[serde(default)]
    pub at: Option<String>,
    #[serde(default)]
    pub caller_id: Option<String>,
    /// Lookup answers for this test (replacing the file's for the same source).
    #[serde(default)]
    pub lookups: Mocks,
    #[serde(default)]
    pub turns: Vec<Turn>,
    /// Checked at the end of the call, over the whole call.
    #[serde(default)]
    pub expect: Option<Expect>,
}

/// One caller turn, or a check in the middle of the call.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Turn {
    /// The caller says this.
    Say(String),
    /// The caller presses these keys.
    Press(String),
    /// The caller says nothing until the gather times out.
    Silence,
    /// The caller hangs up.
    HangUp,
    /// The transfer fails with this reason.
    TransferFails(String),
    /// The transfer ends: `answered`, `timed_out`, `no_agents`, `queue_closed`,
    /// `{ failed: reason }` or `callback`.
    Transfer(ScriptedTransfer),
    /// Checks what happened since the previous `expect` turn.
    Expect(Box<Expect>),
}

/// What must have happened.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Prompt ids that were played, in this order (others may come between).
    #[serde(default)]
    pub prompts: Vec<String>,
    /// Prompt ids that were not played.
    #[serde(default)]
    pub not_played: Vec<String>,
    /// Text the caller heard (substrings of rendered text and readbacks, e.g. "$1,234.56").
    #[serde(default)]
    pub heard: Vec<String>,
    /// Variables and their values as shown (sensitive ones as `****`).
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Steps walked (`flow.step`), in this order.
    #[serde(default)]
    pub path: Vec<String>,
    /// The gather now listening (`flow.step`).
    #[serde(default)]
    pub listening: Option<String>,
    /// The transfer made; `transfer: none` for no transfer.
    #[serde(default)]
    pub transfer: Option<ExpectTransfer>,
    /// The call was hung up (true), or not (false).
    #[serde(default)]
    pub hangup: Option<bool>,
    /// The hangup reason contains this.
    #[serde(default)]
    pub hangup_reason: Option<String>,
    /// The dialplan is over for a reason containing this: `answered by an agent`,
    /// `callback requested`, a hangup reason, `caller hung up`.
    #[serde(default)]
    pub ended: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ExpectTransfer {
    /// No transfer.
    None,
    To(ExpectQueue),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectQueue {
    pub queue: String,
    #[serde(default)]
    pub priority: Option<Priority>,
    /// The intent attached.
    #[serde(default)]
    pub intent: Option<String>,
    /// Context fields attached, as shown (sensitive ones masked).
    #[serde(default)]
    pub context: BTreeMap<String, String>,
    /// Context fields that must not be attached.
    #[serde(default)]
    pub context_absent: Vec<String>,
    /// The skills asked for, each with its lowest level (1 when the dialplan gives none).
    #[serde(default)]
    pub skills: Option<BTreeMap<String, u8>>,
    /// The transfer's `max_wait` in seconds.
    #[serde(default)]
    pub max_wait: Option<u32>,
    /// Whether the caller may ask for a callback.
    #[serde(default)]
    pub callback: Option<bool>,
}

/// The result of one test.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    pub name: String,
    pub failures: Vec<String>,
    /// What happened, for a failing test's report.
    pub transcript: Vec<String>,
}

impl TestOutcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The results of one file, or why it could not run.
#[derive(Debug)]
pub enum FileOutcome {
    Ran {
        dialplan: PathBuf,
        outcomes: Vec<TestOutcome>,
    },
    /// The test file or its dialplan did not load.
    Broken(Report),
}

/// Loads and runs one test file.
pub fn run_file(path: &Path) -> FileOutcome {
    match load_file(path) {
        Ok((tests, plan, dialplan)) => {
            let outcomes = tests
                .tests
                .iter()
                .map(|t| run_test(&plan, &tests, t))
                .collect();
            FileOutcome::Ran { dialplan, outcomes }
        }
        Err(report) => FileOutcome::Broken(report),
    }
}

/// Reads a test file and loads the dialplan it names.
pub fn load_file(path: &Path) -> Result<(TestFile, Arc<Dialplan>, PathBuf), Report> {
    let file = path.display().to_string();
    let text = match std::fs::read(path) {
        Ok(bytes) if bytes.len() <= loader::MAX_DIALPLAN_BYTES => bytes,
        Ok(_) => {
            return Err(broken(
                &file,
                "",
                Diagnostic::error(
                    "too-large",
                    Default::default(),
                    "test file over the size limit",
                ),
            ));
        }
        Err(e) => {
            return Err(broken(
                &file,
                "",
                Diagnostic::error("io", Default::default(), format!("cannot read: {e}")),
            ));
        }
    };
    let Ok(text) = String::from_utf8(text) else {
        return Err(broken(
            &file,
            "",
            Diagnostic::error(
                "not-utf8",
                Default::default(),
                "the file is not valid UTF-8",
            ),
        ));
    };
    let tests: TestFile = match serde_saphyr::from_str(&text) {
        Ok(t) => t,
        Err(e) => return Err(broken(&file, &text, loader::yaml_diagnostic(&e))),
    };
    let dialplan_path = path
        .parent()
        .unwrap_or(Path::new("."))
        .join(&tests.dialplan);
    let plan = loader::load_path(&dialplan_path).map(|(plan, _)| Arc::new(plan))?;
    Ok((tests, plan, dialplan_path))
}

fn broken(file: &str, source: &str, diagnostic: Diagnostic) -> Report {
    let mut report = Report::new(file, source);
    report.push(diagnostic);
    report
}

/// Runs one scripted call.
pub fn run_test(plan: &Arc<Dialplan>, file: &TestFile, test: &FlowTest) -> TestOutcome {
    let mut failures = Vec::new();
    let at = test.at.as_ref().or(file.at.as_ref());
    let now = match at.map(|a| parse_time(a, plan.timezone)) {
        Some(Ok(now)) => now,
        Some(Err(e)) => {
            return TestOutcome {
                name: test.name.clone(),
                failures: vec![e],
                transcript: Vec::new(),
            };
        }
        None => {
            let message = "no call time: give `at:` in the test or the file".to_string();
            return TestOutcome {
                name: test.name.clone(),
                failures: vec![message],
                transcript: Vec::new(),
            };
        }
    };
    let mut mocks = file.lookups.clone();
    mocks.extend(test.lookups.clone());
    let caller_id = test
        .caller_id
        .as_ref()
        .or(file.caller_id.as_ref())
        .map(String::as_str)
        .unwrap_or("anonymous");
    let mut session = Session::start(Arc::clone(plan), caller_id, now, mocks);
    let mut window_start = (0, 0, 0);
    for (i, turn) in test.turns.iter().enumerate() {
        if session.pending_lookup.is_some() {
            let (source, _) = session.pending_lookup.clone().unwrap_or_default();
            failures.push(format!(
                "turn {}: lookup `{source}` has no mock answer (add it under `lookups:`)",
                i + 1
            ));
            session.answer_lookup(&MockAnswer::Error("no mock".into()));
        }
        match turn {
            Turn::Say(text) => session.say(text),
            Turn::Press(keys) => session.press(keys),
            Turn::Silence => session.silence(),
            Turn::HangUp => session.hang_up(),
            Turn::TransferFails(reason) => session.transfer_fails(reason),
            Turn::Transfer(outcome) => session.transfer_ends(outcome),
            Turn::Expect(expect) => {
                for f in check(&session, expect, window_start) {
                    failures.push(format!("turn {} (expect): {f}", i + 1));
                }
                window_start = (session.heard.len(), session.runtime().path().len(), 0);
            }
        }
    }
    if let Some((source, _)) = &session.pending_lookup {
        failures.push(format!(
            "lookup `{source}` has no mock answer (add it under `lookups:`)"
        ));
    }
    if let Some(expect) = &test.expect {
        for f in check(&session, expect, (0, 0, 0)) {
            failures.push(format!("at the end: {f}"));
        }
    }
    TestOutcome {
        name: test.name.clone(),
        failures,
        transcript: transcript_lines(&session.lines),
    }
}

/// Renders session lines for people.
pub fn transcript_lines(lines: &[Line]) -> Vec<String> {
    lines
        .iter()
        .map(|line| match line {
            Line::Caller(c) => format!("caller:   {c}"),
            Line::Heard(h) => match &h.prompt {
                Some(id) => format!("hotline:  {} [{id}]", h.text),
                None => format!("hotline:  {}", h.text),
            },
            Line::Listening(l) => format!("          (listening: {l})"),
            Line::Lookup {
                source,
                args,
                answer,
            } => format!("          (lookup {source}({args}) -> {answer})"),
            Line::Transfer(t) => format!("          (transfer {t})"),
            Line::Hangup(r) => format!("          (hangup: {r})"),
        })
        .collect()
}

/// Is `expected` an ordered subsequence of `actual`? Returns the first missing item.
fn first_missing<'a>(expected: &'a [String], actual: &[&str]) -> Option<&'a str> {
    let mut rest = actual.iter();
    expected
        .iter()
        .find(|e| !rest.any(|a| a == e))
        .map(String::as_str)
}

fn check(session: &Session, expect: &Expect, window: (usize, usize, usize)) -> Vec<String> {
    let mut failures = Vec::new();
    let heard = &session.heard[window.0.min(session.heard.len())..];
    let prompts: Vec<&str> = heard.iter().filter_map(|h| h.prompt.as_deref()).collect();
    if let Some(missing) = first_missing(&expect.prompts, &prompts) {
        failures.push(format!(
            "prompt `{missing}` was not played (in order); played: [{}]",
            prompts.join(", ")
        ));
    }
    for id in &expect.not_played {
        if prompts.contains(&id.as_str()) {
            failures.push(format!("prompt `{id}` was played"));
        }
    }
    let text: String = heard
        .iter()
        .map(|h| h.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    for wanted in &expect.heard {
        if !text.contains(wanted.as_str()) {
            failures.push(format!(
                "the caller did not hear \"{wanted}\"; heard: \"{text}\""
            ));
        }
    }
    let vars = session.runtime().variables();
    for (name, value) in &expect.variables {
        match vars.get(name) {
            Some(v) if v.masked() == *value => {}
            Some(v) => failures.push(format!(
                "variable `{name}` is `{}`, expected `{value}`",
                v.masked()
            )),
            None => failures.push(format!("variable `{name}` is not set, expected `{value}`")),
        }
    }
    let path = session.runtime().path();
    let path: Vec<&str> = path[window.1.min(path.len())..]
        .iter()
        .map(String::as_str)
        .collect();
    if let Some(missing) = first_missing(&expect.path, &path) {
        failures.push(format!(
            "step `{missing}` was not walked (in order); path: {}",
            path.join(" -> ")
        ));
    }
    if let Some(step) = &expect.listening {
        match &session.listening {
            Some(l) if l.step == *step => {}
            Some(l) => failures.push(format!("listening in `{}`, expected `{step}`", l.step)),
            None => failures.push(format!("not listening, expected `{step}`")),
        }
    }
    match (&expect.transfer, &session.transfer) {
        (None, _) => {}
        (Some(ExpectTransfer::None), None) => {}
        (Some(ExpectTransfer::None), Some(t)) => failures.push(format!(
            "transferred to `{}`, expected no transfer",
            t.queue
        )),
        (Some(ExpectTransfer::To(_)), None) => failures.push("no transfer was made".to_string()),
        (Some(ExpectTransfer::To(want)), Some(got)) => {
            if got.queue != want.queue {
                failures.push(format!(
                    "transferred to `{}`, expected `{}`",
                    got.queue, want.queue
                ));
            }
            if let Some(p) = want.priority
                && p != got.priority
            {
                failures.push(format!(
                    "priority {}, expected {}",
                    got.priority.as_str(),
                    p.as_str()
                ));
            }
            if let Some(intent) = &want.intent
                && got.context.intent.as_ref() != Some(intent)
            {
                failures.push(format!(
                    "context intent {:?}, expected `{intent}`",
                    got.context.intent
                ));
            }
            for (field, value) in &want.context {
                match got.context.fields.get(field) {
                    Some(v) if v == value => {}
                    Some(v) => {
                        failures.push(format!("context `{field}` is `{v}`, expected `{value}`"))
                    }
                    None => {
                        failures.push(format!("context `{field}` is missing, expected `{value}`"))
                    }
                }
            }
            for field in &want.context_absent {
                if got.context.fields.contains_key(field) {
                    failures.push(format!("context `{field}` is attached, expected absent"));
                }
            }
            if let Some(skills) = &want.skills {
                let asked: BTreeMap<String, u8> = got
                    .skills
                    .iter()
                    .map(|s| (s.skill.clone(), s.min_level))
                    .collect();
                if &asked != skills {
                    failures.push(format!("skills {asked:?}, expected {skills:?}"));
                }
            }
            if want.max_wait.is_some() && want.max_wait != got.max_wait_secs {
                failures.push(format!(
                    "max_wait {:?}, expected {:?}",
                    got.max_wait_secs, want.max_wait
                ));
            }
            if let Some(callback) = want.callback
                && callback != got.callback
            {
                failures.push(format!("callback {}, expected {callback}", got.callback));
            }
        }
    }
    if let Some(hangup) = expect.hangup
        && hangup != session.hangup.is_some()
    {
        failures.push(match &session.hangup {
            Some(r) => format!("the call was hung up ({r}), expected it not to be"),
            None => "the call was not hung up".to_string(),
        });
    }
    if let Some(reason) = &expect.ended {
        match session.end_reason() {
            Some(r) if r.contains(reason.as_str()) => {}
            Some(r) => failures.push(format!("the dialplan ended ({r}), expected `{reason}`")),
            None => failures.push(format!("the dialplan is not over, expected `{reason}`")),
        }
    }
    if let Some(reason) = &expect.hangup_reason {
        match &session.hangup {
            Some(r) if r.contains(reason.as_str()) => {}
            Some(r) => failures.push(format!("hangup reason `{r}`, expected `{reason}`")),
            None => failures.push(format!(
                "the call was not hung up, expected reason `{reason}`"
            )),
        }
    }
    failures
}

/// A simulation script (`hotline simulate --script`): one call's turns, without a name or
/// final expectations (`expect` turns are checked and reported).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Script {
    #[serde(default)]
    pub at: Option<String>,
    #[serde(default)]
    pub caller_id: Option<String>,
    #[serde(default)]
    pub lookups: Mocks,
    #[serde(default)]
    pub turns: Vec<Turn>,
}

/// Checks an `expect` turn against everything that happened so far (for scripts).
pub fn check_expect(session: &Session, expect: &Expect) -> Vec<String> {
    check(session, expect, (0, 0, 0))
}
