//! The pure dialplan runtime: one call's position in a dialplan. Events go in (with the
//! time they happened), actions come out. No sockets, threads or clocks: the same runtime
//! runs inside a call, in the simulator and in flow tests.
//!
//! Every waiting state has an exit: a gather ends in an intent, an entity, or (after
//! `max_attempts` no-inputs/no-matches) its `exhausted` step; a lookup ends found, not found
//! or in error; a transfer ends answered by an agent (the dialplan is done), timed out
//! (`on_timeout`, else `on_failure`), failed (`on_failure`) or with a callback accepted
//! (`on_callback`, else a hangup); where a step names no exit the dialplan's `fallback` is
//! taken, and without one the call is hung up, never left waiting.

use super::actions::{Action, Listen, LookupArg, PlayItem, SkillRequirement, TransferContext};
use super::events::{Event, LookupResult};
use super::format::{GatherStep, InputMode, Priority, SayItem, Step, TransferStep};
use super::plan::{Dialplan, StepRef};
use super::schedule::OpenState;
use super::template::{self, Piece, ReadAs};
use super::variables::{MASK, VarValue, Variables};
use crate::nlu::{self, EntityDef, EntityKind, Expectation, Understanding};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;

/// More steps than this in answer to one event is a runaway loop: the call is ended.
pub const MAX_STEPS_PER_EVENT: usize = 1000;
/// Gather defaults.
pub const DEFAULT_TIMEOUT_SECS: u32 = 5;
pub const DEFAULT_END_SILENCE_MS: u32 = 800;
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Why the dialplan ended when an agent answered.
pub const ANSWERED_BY_AGENT: &str = "answered by an agent";
/// Why the dialplan ended (or `last_outcome`) when the caller accepted a callback.
pub const CALLBACK: &str = "callback requested";

/// Where the call is.
#[derive(Debug, Clone, PartialEq)]
pub enum CallState {
    /// Waiting for `CallStarted`.
    Idle,
    /// In a gather, after `attempts` failed tries.
    Listening { at: StepRef, attempts: u32 },
    /// Waiting for a `LookupResult`.
    LookingUp { at: StepRef },
    /// Handed to a queue; a timeout, a failure or an accepted callback brings the call back.
    Transferred { at: StepRef, queue: String },
    /// The call is over.
    Ended { reason: String },
}

enum Next {
    Go(StepRef),
    Wait,
}

enum Input {
    Speech(String),
    Dtmf(String),
    Timeout,
}

/// One call walking one dialplan version.
#[derive(Debug, Clone)]
pub struct Runtime {
    plan: Arc<Dialplan>,
    vars: Variables,
    state: CallState,
    /// Call steps of the sub-flows in progress (innermost last).
    stack: Vec<StepRef>,
    path: Vec<String>,
    transcript: Vec<String>,
    understood: Understood,
}

/// What the understanding module made of the caller's latest turn, for the log: names
/// only, never entity values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Understood {
    pub intent: Option<String>,
    pub confidence: f32,
    /// Names of the entities found.
    pub entities: Vec<String>,
}

impl Runtime {
    /// A call on this dialplan version; it keeps the `Arc` so that a reload does not
    /// change a call in progress.
    pub fn new(plan: Arc<Dialplan>) -> Self {
        Self {
            plan,
            vars: Variables::default(),
            state: CallState::Idle,
            stack: Vec::new(),
            path: Vec::new(),
            transcript: Vec::new(),
            understood: Understood::default(),
        }
    }

    /// The understanding of the caller's latest speech or keypad turn.
    pub fn last_understood(&self) -> &Understood {
        &self.understood
    }

    pub fn plan(&self) -> &Arc<Dialplan> {
        &self.plan
    }

    pub fn state(&self) -> &CallState {
        &self.state
    }

    pub fn variables(&self) -> &Variables {
        &self.vars
    }

    /// Steps walked, as `flow.step`.
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// The caller's turns (sensitive ones masked).
    pub fn transcript(&self) -> &[String] {
        &self.transcript
    }

    pub fn is_ended(&self) -> bool {
        matches!(self.state, CallState::Ended { .. })
    }

    /// Handles one event that happened at `now` and returns what to do, in order.
    pub fn handle(&mut self, event: Event, now: DateTime<Utc>) -> Vec<Action> {
        let mut out = Vec::new();
        let state = self.state.clone();
        match (state, event) {
            (CallState::Ended { .. }, _) => {}
            (_, Event::HungUp) => {
                self.state = CallState::Ended {
                    reason: "caller hung up".into(),
                };
            }
            (_, Event::PlaybackFinished) => {}
            (CallState::Idle, Event::CallStarted { caller_id, called }) => {
                self.vars.set("caller_id", VarValue::Text(caller_id), false);
                self.vars.set("called", VarValue::Text(called), false);
                match self.plan.first_step(&self.plan.start_flow) {
                    Some(first) => self.run(first, now, &mut out),
                    None => self.end(&mut out, "dialplan has no start step"),
                }
            }
            (CallState::Listening { at, attempts }, Event::Speech { transcript, .. }) => {
                self.on_input(at, attempts, Input::Speech(transcript), now, &mut out)
            }
            (CallState::Listening { at, attempts }, Event::Dtmf { digits }) => {
                self.on_input(at, attempts, Input::Dtmf(digits), now, &mut out)
            }
            (CallState::Listening { at, attempts }, Event::Timeout) => {
                self.on_input(at, attempts, Input::Timeout, now, &mut out)
            }
            (CallState::LookingUp { at }, Event::LookupResult(result)) => {
                self.on_lookup(at, result, now, &mut out)
            }
            (CallState::Transferred { .. }, Event::TransferAnswered { .. }) => {
                self.vars
                    .set("last_outcome", VarValue::Text("answered".into()), false);
                self.state = CallState::Ended {
                    reason: ANSWERED_BY_AGENT.into(),
                };
            }
            (CallState::Transferred { at, .. }, Event::TransferTimedOut) => {
                let target = match self.plan.step(&at) {
                    Some(Step::Transfer(t)) => t
                        .on_timeout
                        .as_ref()
                        .or(t.on_failure.as_ref())
                        .map(|f| self.local(&at, f)),
                    _ => None,
                };
                let why = "transfer timed out";
                self.leave_transfer(at, target, why.into(), why, now, &mut out);
            }
            (CallState::Transferred { at, .. }, Event::TransferFailed { reason }) => {
                let target = match self.plan.step(&at) {
                    Some(Step::Transfer(t)) => t.on_failure.as_ref().map(|f| self.local(&at, f)),
                    _ => None,
                };
                let outcome = format!("transfer failed: {reason}");
                self.leave_transfer(at, target, outcome, "transfer failed", now, &mut out);
            }
            (CallState::Transferred { at, .. }, Event::CallbackAccepted) => {
                // Only offered where the step allows it; a stray acceptance changes nothing.
                if let Some(Step::Transfer(t)) = self.plan.step(&at)
                    && t.callback
                {
                    let target = t.on_callback.as_ref().map(|c| self.local(&at, c));
                    self.vars
                        .set("last_outcome", VarValue::Text(CALLBACK.into()), false);
                    match target {
                        Some(step) => self.run(step, now, &mut out),
                        None => self.end(&mut out, CALLBACK),
                    }
                }
            }
            // Anything else (a late DTMF while a lookup runs, a duplicate start...) does
            // not concern the current state.
            _ => {}
        }
        out
    }

    /// A transfer that did not reach an agent: on to `target`, else the fallback, else
    /// hang up.
    fn leave_transfer(
        &mut self,
        at: StepRef,
        target: Option<StepRef>,
        outcome: String,
        why: &str,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        self.vars
            .set("last_outcome", VarValue::Text(outcome), false);
        // A fallback that is the failed transfer itself would retry forever.
        if target.is_none() && self.plan.fallback.as_ref() == Some(&at) {
            self.end(out, why);
        } else {
            self.go_or_fallback(target, now, out, why);
        }
    }

    fn local(&self, at: &StepRef, name: &str) -> StepRef {
        StepRef::new(at.flow.clone(), name)
    }

    fn end(&mut self, out: &mut Vec<Action>, reason: &str) {
        out.push(Action::Hangup {
            reason: reason.to_string(),
        });
        self.state = CallState::Ended {
            reason: reason.to_string(),
        };
    }

    /// Goes to `target`, else to the dialplan's fallback, else hangs up.
    fn go_or_fallback(
        &mut self,
        target: Option<StepRef>,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
        why: &str,
    ) {
        match target {
            Some(t) => self.run(t, now, out),
            None => match self.plan.fallback.clone() {
                Some(fallback) => {
                    self.stack.clear();
                    self.run(fallback, now, out);
                }
                None => self.end(out, why),
            },
        }
    }

    /// Runs steps from `at` until one waits for the outside world or the call ends.
    fn run(&mut self, mut at: StepRef, now: DateTime<Utc>, out: &mut Vec<Action>) {
        for _ in 0..MAX_STEPS_PER_EVENT {
            self.path.push(at.to_string());
            match self.exec(&at, now, out) {
                Next::Go(next) => at = next,
                Next::Wait => return,
            }
        }
        self.end(
            out,
            "dialplan loop: too many steps without waiting for the caller",
        );
    }

    /// The step after `at` in its flow, or the fallback when the flow ends (the checker
    /// rejects flows that fall off their end, so this is a safety net).
    fn following(&mut self, at: &StepRef, out: &mut Vec<Action>) -> Next {
        match self
            .plan
            .following(at)
            .or_else(|| self.plan.fallback.clone())
        {
            Some(next) => Next::Go(next),
            None => {
                self.end(out, "dialplan error: flow ended without hangup");
                Next::Wait
            }
        }
    }

    fn next_or_following(
        &mut self,
        at: &StepRef,
        next: Option<&str>,
        out: &mut Vec<Action>,
    ) -> Next {
        match next {
            Some(n) => Next::Go(self.local(at, n)),
            None => self.following(at, out),
        }
    }

    fn fallback_or_end(&mut self, out: &mut Vec<Action>, why: &str) -> Next {
        match self.plan.fallback.clone() {
            Some(f) => {
                self.stack.clear();
                Next::Go(f)
            }
            None => {
                self.end(out, why);
                Next::Wait
            }
        }
    }

    fn exec(&mut self, at: &StepRef, now: DateTime<Utc>, out: &mut Vec<Action>) -> Next {
        let plan = Arc::clone(&self.plan);
        let Some(step) = plan.step(at) else {
            self.end(out, "dialplan error: unknown step");
            return Next::Wait;
        };
        match step {
            Step::Say(s) => {
                let items = self.render(&s.play);
                out.push(Action::Play {
                    items,
                    barge_in: s.barge_in.unwrap_or(false),
                });
                self.next_or_following(at, s.next.as_deref().map(String::as_str), out)
            }
            Step::Set(s) => {
                for (name, value) in s.values.iter() {
                    let (value, sensitive) = self.evaluate(value);
                    self.vars.set(name.value.clone(), value, sensitive);
                }
                for counter in &s.increment {
                    let current = self
                        .vars
                        .value(counter)
                        .and_then(VarValue::as_number)
                        .unwrap_or(0.0) as i64;
                    self.vars.set(
                        counter.value.clone(),
                        VarValue::Number(current.saturating_add(1)),
                        false,
                    );
                }
                self.next_or_following(at, s.next.as_deref().map(String::as_str), out)
            }
            Step::Goto(target) => Next::Go(self.local(at, target)),
            Step::Branch(b) => {
                let target = b
                    .cases
                    .iter()
                    .find(|case| self.condition_holds(&case.when))
                    .map(|case| &case.goto)
                    .unwrap_or(&b.otherwise);
                Next::Go(self.local(at, target))
            }
            Step::Hours(h) => {
                let state = plan
                    .schedules
                    .get(&h.schedule.value)
                    .map(|s| s.state_at(now))
                    .unwrap_or(OpenState::Closed);
                let target = match state {
                    OpenState::Open => &h.open,
                    OpenState::Closed => &h.closed,
                    OpenState::Holiday => h.holiday.as_ref().unwrap_or(&h.closed),
                };
                Next::Go(self.local(at, target))
            }
            Step::Gather(g) => {
                self.vars.set("attempts", VarValue::Number(0), false);
                let items = self.render(&g.play);
                if !items.is_empty() {
                    out.push(Action::Play {
                        items,
                        barge_in: g.barge_in.unwrap_or(true),
                    });
                }
                out.push(Action::Listen(self.listen_spec(at, g, 0)));
                self.state = CallState::Listening {
                    at: at.clone(),
                    attempts: 0,
                };
                Next::Wait
            }
            Step::Lookup(l) => {
                let args = l
                    .args
                    .iter()
                    .map(|(name, value)| {
                        let (value, sensitive) = self.evaluate(value);
                        LookupArg {
                            name: name.value.clone(),
                            value: value.to_string(),
                            sensitive,
                        }
                    })
                    .collect();
                out.push(Action::Lookup {
                    source: l.source.value.clone(),
                    args,
                });
                self.state = CallState::LookingUp { at: at.clone() };
                Next::Wait
            }
            Step::Transfer(t) => {
                let queue = t
                    .route
                    .iter()
                    .find(|rule| rule.when.as_ref().is_none_or(|w| self.condition_holds(w)))
                    .map(|rule| rule.queue.value.clone())
                    .or_else(|| t.queue.as_ref().map(|q| q.value.clone()));
                let Some(queue) = queue else {
                    self.vars.set(
                        "last_outcome",
                        VarValue::Text("transfer failed: no queue matched".into()),
                        false,
                    );
                    return match &t.on_failure {
                        Some(f) => Next::Go(self.local(at, f)),
                        None => self.fallback_or_end(out, "transfer failed: no queue matched"),
                    };
                };
                let items = self.render(&t.play);
                if !items.is_empty() {
                    out.push(Action::Play {
                        items,
                        barge_in: false,
                    });
                }
                let priority = self.priority_of(t);
                let skills: Vec<SkillRequirement> = t
                    .skills
                    .iter()
                    .map(|s| SkillRequirement {
                        skill: s.name.value.clone(),
                        min_level: s
                            .min_level
                            .as_ref()
                            .map_or(1, |l| l.value.clamp(1, 5) as u8),
                    })
                    .collect();
                let fields: Vec<String> = t.context.iter().map(|c| c.value.clone()).collect();
                let context = self.context(&fields, &queue, priority, &skills);
                out.push(Action::Transfer {
                    queue: queue.clone(),
                    priority,
                    skills,
                    max_wait_secs: t.max_wait.as_ref().map(|m| m.value),
                    callback: t.callback,
                    context,
                });
                self.state = CallState::Transferred {
                    at: at.clone(),
                    queue,
                };
                Next::Wait
            }
            Step::Hangup(h) => {
                let items = self.render(&h.play);
                if !items.is_empty() {
                    out.push(Action::Play {
                        items,
                        barge_in: false,
                    });
                }
                self.end(out, h.reason.as_deref().unwrap_or("completed"));
                Next::Wait
            }
            Step::Call(c) => {
                self.stack.push(at.clone());
                match plan.first_step(&c.flow) {
                    Some(first) => Next::Go(first),
                    None => self.fallback_or_end(out, "dialplan error: empty sub-flow"),
                }
            }
            Step::Return(outcome) => {
                let target = self
                    .stack
                    .pop()
                    .and_then(|call_at| match plan.step(&call_at) {
                        Some(Step::Call(c)) => {
                            c.outcomes.get(outcome).map(|t| self.local(&call_at, t))
                        }
                        _ => None,
                    });
                self.vars
                    .set("last_outcome", VarValue::Text(outcome.value.clone()), false);
                match target {
                    Some(t) => Next::Go(t),
                    None => self.fallback_or_end(out, "dialplan error: unhandled return"),
                }
            }
        }
    }

    fn condition_holds(&self, text: &str) -> bool {
        match self.plan.conditions.get(text) {
            Some(c) => c.eval(&self.vars),
            // Conditions are parsed at load; one that is missing is parsed here.
            None => super::condition::parse(text)
                .map(|c| c.eval(&self.vars))
                .unwrap_or(false),
        }
    }

    /// Evaluates a `set` value or lookup argument: a lone `{var}` copies the typed value;
    /// otherwise the text is filled in. Sensitive when it reads a sensitive variable.
    fn evaluate(&self, text: &str) -> (VarValue, bool) {
        let Ok(pieces) = template::parse(text) else {
            return (VarValue::Text(text.to_string()), false);
        };
        if let [Piece::Var { name, .. }] = pieces.as_slice()
            && let Some(var) = self.vars.get(name)
        {
            return (var.value.clone(), var.sensitive);
        }
        let mut sensitive = false;
        let mut rendered = String::new();
        for piece in pieces {
            match piece {
                Piece::Literal(l) => rendered.push_str(&l),
                Piece::Var { name, .. } => {
                    if let Some(var) = self.vars.get(&name) {
                        sensitive |= var.sensitive;
                        rendered.push_str(&var.value.to_string());
                    }
                }
            }
        }
        (VarValue::from_literal(&rendered), sensitive)
    }

    /// Turns say items into play items, filling variables.
    pub fn render(&self, items: &[SayItem]) -> Vec<PlayItem> {
        let mut out = Vec::new();
        for item in items {
            match item {
                SayItem::Prompt(id) => out.push(PlayItem::Prompt(id.value.clone())),
                SayItem::Text(text) => {
                    let pieces = template::parse(text)
                        .unwrap_or_else(|_| vec![Piece::Literal(text.value.clone())]);
                    let mut literal = String::new();
                    for piece in pieces {
                        match piece {
                            Piece::Literal(l) => literal.push_str(&l),
                            Piece::Var { name, read_as, .. } => {
                                let var = self.vars.get(&name);
                                let typed =
                                    matches!(var.map(|v| &v.value), Some(VarValue::Typed(_)));
                                let sensitive = var.is_some_and(|v| v.sensitive);
                                if read_as.is_none() && !typed && !sensitive {
                                    if let Some(v) = var {
                                        literal.push_str(&v.value.to_string());
                                    }
                                    continue;
                                }
                                if !literal.is_empty() {
                                    out.push(PlayItem::Text(std::mem::take(&mut literal)));
                                }
                                let read_as = read_as.unwrap_or_else(|| {
                                    var.map(|v| natural_readback(&v.value))
                                        .unwrap_or(ReadAs::Text)
                                });
                                out.push(PlayItem::Readback {
                                    var: name,
                                    read_as,
                                    value: var.map(|v| v.value.to_string()).unwrap_or_default(),
                                    sensitive,
                                });
                            }
                        }
                    }
                    if !literal.is_empty() {
                        out.push(PlayItem::Text(literal));
                    }
                }
            }
        }
        out
    }

    fn listen_spec(&self, at: &StepRef, g: &GatherStep, attempt: u32) -> Listen {
        Listen {
            step: at.to_string(),
            input: g.input,
            intents: g.intents.keys().map(|k| k.value.clone()).collect(),
            entity: g
                .entity
                .as_ref()
                .and_then(|e| self.plan.entities.get(&e.value).cloned()),
            timeout_secs: g.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS),
            end_silence_ms: g.end_silence_ms.unwrap_or(DEFAULT_END_SILENCE_MS),
            barge_in: g.barge_in.unwrap_or(true),
            min_digits: g.min_digits,
            max_digits: g.max_digits,
            terminator: g
                .terminator
                .as_ref()
                .and_then(|t| t.chars().next())
                .unwrap_or('#'),
            attempt,
        }
    }

    /// The transfer's priority: the level of its first rule that holds (`normal` if none).
    pub fn priority_of(&self, t: &TransferStep) -> Priority {
        t.priority_rules()
            .into_iter()
            .find(|(when, _)| when.is_none_or(|w| self.condition_holds(w)))
            .map_or(Priority::Normal, |(_, level)| level)
    }

    /// The agent's view of the call: who is calling and how they were verified, what they
    /// want, every collected entity and the listed variables (masked), the path and the
    /// caller's turns.
    pub fn context(
        &self,
        fields: &[String],
        queue: &str,
        priority: Priority,
        skills: &[SkillRequirement],
    ) -> TransferContext {
        let text = |name: &str| self.vars.get(name).map(|v| v.masked());
        let intent = match self.vars.value("intent") {
            Some(VarValue::Text(t)) => Some(t.clone()),
            _ => None,
        };
        let mut entities = BTreeMap::new();
        for (_, flow) in self.plan.doc.flows.iter() {
            for (_, step) in flow.steps.iter() {
                if let Step::Gather(g) = step
                    && let Some(var) = g.into.as_ref().or(g.entity.as_ref())
                    && let Some(value) = text(var)
                {
                    entities.insert(var.value.clone(), value);
                }
            }
        }
        TransferContext {
            dialplan: self.plan.name().to_string(),
            caller_id: text("caller_id").unwrap_or_default(),
            caller_name: text("caller_name").filter(|n| !n.trim().is_empty()),
            verified: self.vars.value("verified").is_some_and(VarValue::is_truthy),
            verified_by: text("verified_by").filter(|v| !v.trim().is_empty()),
            intent,
            intent_confidence: self
                .vars
                .value("intent_confidence")
                .and_then(VarValue::as_number)
                .map(|c| c as f32),
            entities,
            fields: fields
                .iter()
                .filter_map(|name| self.vars.get(name).map(|v| (name.clone(), v.masked())))
                .collect(),
            path: self.path.clone(),
            transcript: self.transcript.clone(),
            queue: queue.to_string(),
            priority,
            skills: skills.to_vec(),
        }
    }

    fn on_input(
        &mut self,
        at: StepRef,
        attempts: u32,
        input: Input,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        let plan = Arc::clone(&self.plan);
        let Some(Step::Gather(g)) = plan.step(&at) else {
            self.end(out, "dialplan error: not in a gather");
            return;
        };
        let entity_def: Option<&EntityDef> =
            g.entity.as_ref().and_then(|e| plan.entities.get(&e.value));
        let sensitive_turn = entity_def.is_some_and(|e| e.sensitive);
        let intents: Vec<String> = g.intents.keys().map(|k| k.value.clone()).collect();
        let expect = expectation(&plan, g, &intents, now);
        let understanding = match input {
            Input::Timeout => return self.retry(at, g, attempts, true, now, out),
            Input::Speech(transcript) => {
                if g.input == InputMode::Dtmf {
                    return;
                }
                if transcript.trim().is_empty() {
                    return self.retry(at, g, attempts, true, now, out);
                }
                self.transcript.push(if sensitive_turn {
                    MASK.to_string()
                } else {
                    transcript.clone()
                });
                self.vars.set(
                    "transcript",
                    VarValue::Text(transcript.clone()),
                    sensitive_turn,
                );
                nlu::understand(&plan.intent_model, &transcript, &expect)
            }
            Input::Dtmf(digits) => {
                if g.input == InputMode::Speech {
                    return;
                }
                let terminator = g
                    .terminator
                    .as_ref()
                    .and_then(|t| t.chars().next())
                    .unwrap_or('#');
                let keys = digits.trim().trim_end_matches(terminator).to_string();
                if keys.is_empty() {
                    return self.retry(at, g, attempts, true, now, out);
                }
                self.transcript.push(if sensitive_turn {
                    format!("#{MASK}")
                } else {
                    format!("#{keys}")
                });
                if let Some(intent) = g.keys.get(&keys) {
                    Understanding {
                        transcript: String::new(),
                        intent: Some(nlu::IntentMatch {
                            name: intent.value.clone(),
                            confidence: 1.0,
                        }),
                        ..Understanding::default()
                    }
                } else {
                    let count = keys.chars().filter(char::is_ascii_digit).count() as u32;
                    let too_few = g.min_digits.is_some_and(|min| count < min);
                    let too_many = g.max_digits.is_some_and(|max| count > max);
                    if entity_def.is_none() || too_few || too_many {
                        return self.retry(at, g, attempts, false, now, out);
                    }
                    nlu::understand_dtmf(&keys, &expect)
                }
            }
        };
        self.understood = Understood {
            intent: understanding.intent.as_ref().map(|m| m.name.clone()),
            confidence: understanding.intent.as_ref().map_or(0.0, |m| m.confidence),
            entities: understanding
                .entities
                .iter()
                .map(|e| e.name.clone())
                .collect(),
        };
        if let Some(matched) = &understanding.intent {
            let local = g.intents.get(&matched.name).map(|t| self.local(&at, t));
            let global = plan
                .global_intents
                .iter()
                .find(|(name, _)| *name == matched.name)
                .map(|(_, t)| t.clone());
            if local.is_some() || global.is_some() {
                self.vars
                    .set("intent", VarValue::Text(matched.name.clone()), false);
                self.vars.set(
                    "intent_confidence",
                    VarValue::Text(format!("{:.2}", matched.confidence)),
                    false,
                );
                let target = match local {
                    Some(t) => t,
                    None => {
                        self.stack.clear();
                        global.unwrap_or_else(|| at.clone())
                    }
                };
                return self.run(target, now, out);
            }
        }
        if let (Some(def), Some(name)) = (entity_def, g.entity.as_ref())
            && let Some(found) = understanding.entities.iter().find(|e| e.name == name.value)
        {
            let var = g.into.as_ref().unwrap_or(name).value.clone();
            self.vars.set(
                var,
                VarValue::Typed(found.value.clone()),
                def.sensitive || found.sensitive,
            );
            let mut sink = Vec::new();
            let next =
                self.next_or_following(&at, g.next.as_deref().map(String::as_str), &mut sink);
            out.extend(sink);
            if let Next::Go(next) = next {
                self.run(next, now, out);
            }
            return;
        }
        self.retry(at, g, attempts, false, now, out);
    }

    /// Whether `transcript` is a complete answer to the gather being listened to: an intent
    /// that leads somewhere from here, or the entity it collects when that entity cannot be
    /// the first part of a longer answer (yes/no, an ordinal, a fixed-length digit string). Changes
    /// nothing: the call shell asks it of an early transcript to end the turn sooner.
    pub fn would_accept(&self, transcript: &str, now: DateTime<Utc>) -> bool {
        let CallState::Listening { at, .. } = &self.state else {
            return false;
        };
        let Some(Step::Gather(g)) = self.plan.step(at) else {
            return false;
        };
        if g.input == InputMode::Dtmf || transcript.trim().is_empty() {
            return false;
        }
        let intents: Vec<String> = g.intents.keys().map(|k| k.value.clone()).collect();
        let expect = expectation(&self.plan, g, &intents, now);
        let understanding = nlu::understand(&self.plan.intent_model, transcript, &expect);
        let intent_leads = understanding.intent.as_ref().is_some_and(|m| {
            g.intents.keys().any(|k| k.value == m.name)
                || self.plan.global_intents.iter().any(|(n, _)| *n == m.name)
        });
        // Only entities that cannot be a prefix of a longer answer: "two hundred" may go
        // on "and fifty dollars", a PIN of exactly four digits cannot go on.
        let complete = |def: &EntityDef| match def.kind {
            EntityKind::YesNo | EntityKind::Ordinal => true,
            EntityKind::Digits { min_len, max_len } => min_len == max_len,
            EntityKind::CardNumber | EntityKind::Money | EntityKind::Date => false,
        };
        let entity_found = g.entity.as_ref().is_some_and(|name| {
            self.plan.entities.get(&name.value).is_some_and(complete)
                && understanding.entities.iter().any(|e| e.name == name.value)
        });
        intent_leads || entity_found
    }

    /// A no-input or no-match: play the reprompt and listen again, or leave by `exhausted`.
    fn retry(
        &mut self,
        at: StepRef,
        g: &GatherStep,
        attempts: u32,
        no_input: bool,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        let attempts = attempts + 1;
        self.vars
            .set("attempts", VarValue::Number(i64::from(attempts)), false);
        let what = if no_input { "no input" } else { "no match" };
        self.vars
            .set("last_outcome", VarValue::Text(what.into()), false);
        if attempts >= g.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS) {
            let target = g.exhausted.as_ref().map(|e| self.local(&at, e));
            return self.go_or_fallback(target, now, out, "too many failed attempts");
        }
        let reprompt = if no_input { &g.no_input } else { &g.no_match };
        let items = self.render(reprompt.as_deref().unwrap_or_default());
        if !items.is_empty() {
            out.push(Action::Play {
                items,
                barge_in: g.barge_in.unwrap_or(true),
            });
        }
        out.push(Action::Listen(self.listen_spec(&at, g, attempts)));
        self.state = CallState::Listening { at, attempts };
    }

    fn on_lookup(
        &mut self,
        at: StepRef,
        result: LookupResult,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        let plan = Arc::clone(&self.plan);
        let Some(Step::Lookup(l)) = plan.step(&at) else {
            self.end(out, "dialplan error: not in a lookup");
            return;
        };
        match result {
            LookupResult::Found(fields) => {
                let sensitive = plan
                    .doc
                    .data_sources
                    .get(&l.source)
                    .map(|s| s.sensitive.clone())
                    .unwrap_or_default();
                for (field, value) in fields {
                    let is_sensitive = sensitive.iter().any(|s| s.value == field);
                    self.vars.set(
                        format!("{}.{field}", l.into.value),
                        VarValue::from_literal(&value),
                        is_sensitive,
                    );
                }
                self.vars
                    .set("last_outcome", VarValue::Text("found".into()), false);
                let mut sink = Vec::new();
                let next =
                    self.next_or_following(&at, l.found.as_deref().map(String::as_str), &mut sink);
                out.extend(sink);
                if let Next::Go(next) = next {
                    self.run(next, now, out);
                }
            }
            LookupResult::NotFound => {
                self.vars
                    .set("last_outcome", VarValue::Text("not found".into()), false);
                let target = self.local(&at, &l.not_found);
                self.run(target, now, out);
            }
            LookupResult::Error(reason) => {
                self.vars.set(
                    "last_outcome",
                    VarValue::Text(format!("lookup error: {reason}")),
                    false,
                );
                let target = l.error.as_ref().map(|e| self.local(&at, e));
                self.go_or_fallback(target, now, out, "lookup failed");
            }
        }
    }
}

/// How a typed value is read back when the text does not say.
/// What a gather expects, for the understanding module.
fn expectation<'a>(
    plan: &'a Dialplan,
    g: &'a GatherStep,
    intents: &'a [String],
    now: DateTime<Utc>,
) -> Expectation<'a> {
    Expectation {
        intents,
        include_global: true,
        entity: g.entity.as_ref().and_then(|e| plan.entities.get(&e.value)),
        today: now.with_timezone(&plan.timezone).date_naive(),
        threshold: g.confidence.unwrap_or(plan.confidence),
    }
}

fn natural_readback(value: &VarValue) -> ReadAs {
    match value {
        VarValue::Typed(nlu::Value::Money { .. }) => ReadAs::Money,
        VarValue::Typed(nlu::Value::Date(_)) => ReadAs::Date,
        VarValue::Typed(nlu::Value::Digits(_)) | VarValue::Typed(nlu::Value::Card { .. }) => {
            ReadAs::Digits
        }
        VarValue::Number(_) | VarValue::Typed(nlu::Value::Ordinal(_)) => ReadAs::Number,
        _ => ReadAs::Text,
    }
}
