//! A call without a phone: drives a [`Runtime`] with caller turns given as text and keys,
//! answers lookups from mocks, and records what the caller heard, the path, the transfer
//! and the hangup. The engine under `hotline simulate` and `hotline test`.

use super::actions::{Action, Listen, PlayItem, SkillRequirement, TransferContext};
use super::events::{Event, LookupResult, NO_AGENTS, QUEUE_CLOSED};
use super::format::Priority;
use super::plan::Dialplan;
use super::runtime::{CallState, Runtime};
use super::template::ReadAs;
use super::variables::MASK;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A scripted lookup answer.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum MockAnswer {
    /// Found, with the result fields.
    Found(BTreeMap<String, String>),
    NotFound,
    /// The data source failed, with a reason.
    Error(String),
}

impl MockAnswer {
    pub fn to_result(&self) -> LookupResult {
        match self {
            MockAnswer::Found(fields) => LookupResult::Found(fields.clone()),
            MockAnswer::NotFound => LookupResult::NotFound,
            MockAnswer::Error(e) => LookupResult::Error(e.clone()),
        }
    }
}

/// How a transfer ends, in a script or flow test.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ScriptedTransfer {
    /// An agent answers: the dialplan is done, the call belongs to the bridge.
    Answered,
    /// The caller waits the transfer's `max_wait` (or the queue's limit) unanswered.
    TimedOut,
    /// Nobody is staffed in the queue (the transfer fails).
    NoAgents,
    /// The queue is closed (the transfer fails).
    QueueClosed,
    /// The transfer fails for this reason (e.g. agents not answering).
    Failed(String),
    /// The caller asks to be called back, keeping their place.
    Callback,
}

/// Answers per data source, used in order; the last one repeats.
pub type Mocks = BTreeMap<String, Vec<MockAnswer>>;

/// One thing the caller heard, as shown to a person.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    /// The prompt id, for prompts.
    pub prompt: Option<String>,
    /// The text (a prompt's text from the lists, or rendered text and readbacks).
    pub text: String,
}

/// Where a transfer went.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferRecord {
    pub queue: String,
    pub priority: Priority,
    pub skills: Vec<SkillRequirement>,
    pub max_wait_secs: Option<u32>,
    pub callback: bool,
    pub context: TransferContext,
}

/// Seconds a scripted transfer outcome takes when the dialplan gives no wait.
const SCRIPTED_WAIT_SECS: u32 = 30;

/// One line of what happened, in order, for display.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    Caller(String),
    Heard(Heard),
    Listening(String),
    Lookup {
        source: String,
        args: String,
        answer: String,
    },
    Transfer(String),
    Hangup(String),
}

/// One simulated call.
pub struct Session {
    runtime: Runtime,
    now: DateTime<Utc>,
    mocks: Mocks,
    used: HashMap<String, usize>,
    pub lines: Vec<Line>,
    pub heard: Vec<Heard>,
    pub listening: Option<Listen>,
    pub transfer: Option<TransferRecord>,
    pub hangup: Option<String>,
    /// A lookup with no mock to answer it (interactive mode asks the person).
    pub pending_lookup: Option<(String, String)>,
}

impl Session {
    /// Starts a call from `caller_id` at `now`.
    pub fn start(plan: Arc<Dialplan>, caller_id: &str, now: DateTime<Utc>, mocks: Mocks) -> Self {
        let mut session = Session {
            runtime: Runtime::new(plan),
            now,
            mocks,
            used: HashMap::new(),
            lines: Vec::new(),
            heard: Vec::new(),
            listening: None,
            transfer: None,
            hangup: None,
            pending_lookup: None,
        };
        session.feed(
            Event::CallStarted {
                caller_id: caller_id.to_string(),
                called: "hotline".into(),
            },
            0,
        );
        session
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The caller says something.
    pub fn say(&mut self, text: &str) {
        self.lines.push(Line::Caller(format!("\"{text}\"")));
        self.feed(
            Event::Speech {
                transcript: text.to_string(),
                asr_confidence: 1.0,
            },
            3,
        );
    }

    /// The caller presses keys.
    pub fn press(&mut self, keys: &str) {
        let masked = self
            .listening
            .as_ref()
            .and_then(|l| l.entity.as_ref())
            .is_some_and(|e| e.sensitive);
        self.lines.push(Line::Caller(if masked {
            format!("#{MASK}")
        } else {
            format!("#{keys}")
        }));
        self.feed(
            Event::Dtmf {
                digits: keys.to_string(),
            },
            3,
        );
    }

    /// The caller stays silent until the gather times out.
    pub fn silence(&mut self) {
        self.lines.push(Line::Caller("(silence)".into()));
        let wait = self.listening.as_ref().map(|l| l.timeout_secs).unwrap_or(5);
        self.feed(Event::Timeout, i64::from(wait));
    }

    pub fn hang_up(&mut self) {
        self.lines.push(Line::Caller("(hangs up)".into()));
        self.feed(Event::HungUp, 1);
    }

    /// The transfer fails (nobody staffed, the queue closed, agents not answering).
    pub fn transfer_fails(&mut self, reason: &str) {
        self.lines.push(Line::Transfer(format!("failed: {reason}")));
        self.transfer = None;
        self.feed(
            Event::TransferFailed {
                reason: reason.to_string(),
            },
            i64::from(SCRIPTED_WAIT_SECS),
        );
    }

    /// An agent answers the transfer: the dialplan is done.
    pub fn transfer_answered(&mut self, agent: &str) {
        self.lines
            .push(Line::Transfer(format!("answered by agent {agent}")));
        self.feed(
            Event::TransferAnswered {
                agent: agent.to_string(),
            },
            20,
        );
    }

    /// The caller waits the transfer's `max_wait` unanswered.
    pub fn transfer_times_out(&mut self) {
        let waited = self
            .transfer
            .as_ref()
            .and_then(|t| t.max_wait_secs)
            .unwrap_or(SCRIPTED_WAIT_SECS);
        self.lines
            .push(Line::Transfer(format!("timed out after {waited} s")));
        self.transfer = None;
        self.feed(Event::TransferTimedOut, i64::from(waited));
    }

    /// The caller, waiting, asks to be called back (ignored by a transfer that offers no
    /// callback, as the runtime ignores it).
    pub fn callback_accepted(&mut self) {
        let offered = self.transfer.as_ref().is_some_and(|t| t.callback);
        self.lines.push(Line::Transfer(if offered {
            "callback accepted: the caller keeps their place".into()
        } else {
            "callback asked for, but this transfer offers none".into()
        }));
        self.feed(Event::CallbackAccepted, i64::from(SCRIPTED_WAIT_SECS));
    }

    /// Ends the transfer in progress as scripted.
    pub fn transfer_ends(&mut self, outcome: &ScriptedTransfer) {
        match outcome {
            ScriptedTransfer::Answered => self.transfer_answered("agent-1"),
            ScriptedTransfer::TimedOut => self.transfer_times_out(),
            ScriptedTransfer::NoAgents => self.transfer_fails(NO_AGENTS),
            ScriptedTransfer::QueueClosed => self.transfer_fails(QUEUE_CLOSED),
            ScriptedTransfer::Failed(reason) => self.transfer_fails(reason),
            ScriptedTransfer::Callback => self.callback_accepted(),
        }
    }

    /// Why the dialplan is over (hung up, answered by an agent, callback), if it is.
    pub fn end_reason(&self) -> Option<&str> {
        match self.runtime.state() {
            CallState::Ended { reason } => Some(reason),
            _ => None,
        }
    }

    /// Answers the pending lookup (interactive mode).
    pub fn answer_lookup(&mut self, answer: &MockAnswer) {
        if let Some((source, args)) = self.pending_lookup.take() {
            self.lines.push(Line::Lookup {
                source,
                args,
                answer: describe(answer),
            });
            self.feed(Event::LookupResult(answer.to_result()), 0);
        }
    }

    pub fn is_ended(&self) -> bool {
        self.runtime.is_ended()
    }

    fn feed(&mut self, event: Event, seconds: i64) {
        self.now += Duration::seconds(seconds);
        let mut queue = std::collections::VecDeque::from([event]);
        // Bounded: each lookup answer is one more event; a runaway is cut off.
        let mut budget = 1000;
        while let Some(event) = queue.pop_front() {
            budget -= 1;
            if budget == 0 {
                break;
            }
            if matches!(
                event,
                Event::Speech { .. } | Event::Dtmf { .. } | Event::Timeout
            ) {
                self.listening = None;
            }
            let actions = self.runtime.handle(event, self.now);
            for action in actions {
                if let Some(next) = self.apply(action) {
                    queue.push_back(next);
                }
            }
        }
    }

    fn apply(&mut self, action: Action) -> Option<Event> {
        match action {
            Action::Play { items, .. } => {
                for item in items {
                    let heard = self.hear(&item);
                    self.lines.push(Line::Heard(heard.clone()));
                    self.heard.push(heard);
                }
                None
            }
            Action::Listen(listen) => {
                let mut what: Vec<String> = listen.intents.clone();
                if let Some(e) = &listen.entity {
                    what.push(format!("<{}>", e.name));
                }
                self.lines.push(Line::Listening(format!(
                    "{} [{}]",
                    listen.step,
                    what.join(", ")
                )));
                self.listening = Some(listen);
                None
            }
            Action::Lookup { source, args } => {
                let shown = args
                    .iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let answers = self.mocks.get(&source).filter(|a| !a.is_empty());
                match answers {
                    Some(answers) => {
                        let used = self.used.entry(source.clone()).or_insert(0);
                        let answer = answers[(*used).min(answers.len() - 1)].clone();
                        *used += 1;
                        self.lines.push(Line::Lookup {
                            source,
                            args: shown,
                            answer: describe(&answer),
                        });
                        Some(Event::LookupResult(answer.to_result()))
                    }
                    None => {
                        self.pending_lookup = Some((source, shown));
                        None
                    }
                }
            }
            Action::Transfer {
                queue,
                priority,
                skills,
                max_wait_secs,
                callback,
                context,
            } => {
                self.lines.push(Line::Transfer(format!(
                    "to `{queue}`, priority {}",
                    priority.as_str()
                )));
                let mut terms = Vec::new();
                if !skills.is_empty() {
                    let listed: Vec<String> = skills
                        .iter()
                        .map(|s| format!("{} {}+", s.skill, s.min_level))
                        .collect();
                    terms.push(format!("skills {}", listed.join(", ")));
                }
                if let Some(wait) = max_wait_secs {
                    terms.push(format!("waits up to {wait} s"));
                }
                if callback {
                    terms.push("callback offered".to_string());
                }
                if !terms.is_empty() {
                    self.lines.push(Line::Transfer(terms.join("; ")));
                }
                self.transfer = Some(TransferRecord {
                    queue,
                    priority,
                    skills,
                    max_wait_secs,
                    callback,
                    context,
                });
                None
            }
            Action::Hangup { reason } => {
                self.lines.push(Line::Hangup(reason.clone()));
                self.hangup = Some(reason);
                None
            }
        }
    }

    fn hear(&self, item: &PlayItem) -> Heard {
        match item {
            PlayItem::Prompt(id) => Heard {
                prompt: Some(id.clone()),
                text: self
                    .runtime
                    .plan()
                    .prompt_text(id)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("[{id}]")),
            },
            PlayItem::Text(text) => Heard {
                prompt: None,
                text: text.clone(),
            },
            PlayItem::Readback {
                read_as,
                value,
                sensitive,
                ..
            } => Heard {
                prompt: None,
                text: if *sensitive {
                    MASK.to_string()
                } else {
                    readback_text(*read_as, value)
                },
            },
        }
    }
}

fn describe(answer: &MockAnswer) -> String {
    match answer {
        MockAnswer::Found(fields) => {
            let shown: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("found {{{}}}", shown.join(", "))
        }
        MockAnswer::NotFound => "not found".into(),
        MockAnswer::Error(e) => format!("error: {e}"),
    }
}

/// How a readback sounds, as text: `$1,234.56`, `March 3, 2026`, `1 2 3 4`.
pub fn readback_text(read_as: ReadAs, value: &str) -> String {
    match read_as {
        ReadAs::Money => match value.parse::<f64>() {
            Ok(amount) => {
                let cents = (amount * 100.0).round() as i64;
                let sign = if cents < 0 { "-" } else { "" };
                let (units, rest) = (cents.unsigned_abs() / 100, cents.unsigned_abs() % 100);
                let digits = units.to_string();
                let mut grouped = String::new();
                for (i, c) in digits.chars().enumerate() {
                    if i > 0 && (digits.len() - i) % 3 == 0 {
                        grouped.push(',');
                    }
                    grouped.push(c);
                }
                format!("{sign}${grouped}.{rest:02}")
            }
            Err(_) => value.to_string(),
        },
        ReadAs::Date => match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
            Ok(d) => d.format("%B %-d, %Y").to_string(),
            Err(_) => value.to_string(),
        },
        ReadAs::Digits => value
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(String::from)
            .collect::<Vec<_>>()
            .join(" "),
        ReadAs::Number | ReadAs::Text => value.to_string(),
    }
}

/// Parses a call time: RFC 3339 (`2026-11-23T10:00:00-05:00`), or a local
/// `YYYY-MM-DD HH:MM` / `YYYY-MM-DDTHH:MM` in the dialplan's timezone.
pub fn parse_time(text: &str, timezone: Tz) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(local) = NaiveDateTime::parse_from_str(text, format) {
            return timezone
                .from_local_datetime(&local)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| format!("{text} does not exist in {timezone} (a clock change)"));
        }
    }
    Err(format!(
        "`{text}` is not a time: use `2026-11-23 10:00` (dialplan timezone) or RFC 3339"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readbacks_render_like_speech() {
        assert_eq!(readback_text(ReadAs::Money, "1234.5"), "$1,234.50");
        assert_eq!(readback_text(ReadAs::Money, "-0.07"), "-$0.07");
        assert_eq!(readback_text(ReadAs::Date, "2026-03-03"), "March 3, 2026");
        assert_eq!(readback_text(ReadAs::Digits, "1234"), "1 2 3 4");
    }

    #[test]
    fn times_parse_in_the_dialplan_timezone() {
        let t = parse_time("2026-11-23 10:00", chrono_tz::America::New_York).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-23T15:00:00+00:00");
        assert!(parse_time("tomorrow", chrono_tz::UTC).is_err());
    }
}
