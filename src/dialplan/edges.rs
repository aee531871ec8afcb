//! The step graph: where each step can lead and on what (intent, outcome, condition).
//! Shared by the checker (unknown targets, unreachable steps, traps) and the graph export.

use super::format::{DialplanDoc, Name, Step};
use super::located::Pos;

/// Where an edge goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A step in the same flow (or, for `global`, in the start flow).
    Step {
        name: String,
        pos: Pos,
        global: bool,
    },
    /// The step written after this one (a step without `next`).
    Following,
}

/// One way out of a step.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub label: String,
    pub target: Target,
    /// True for edges the runtime adds everywhere (global intents, fallback).
    pub implicit: bool,
}

fn to(label: impl Into<String>, name: &Name) -> Edge {
    Edge {
        label: label.into(),
        target: Target::Step {
            name: name.value.clone(),
            pos: name.pos,
            global: false,
        },
        implicit: false,
    }
}

fn to_global(label: impl Into<String>, name: &Name, implicit: bool) -> Edge {
    Edge {
        label: label.into(),
        target: Target::Step {
            name: name.value.clone(),
            pos: name.pos,
            global: true,
        },
        implicit,
    }
}

fn next_or_following(label: &str, next: &Option<Name>) -> Edge {
    match next {
        Some(n) => to(label, n),
        None => Edge {
            label: label.into(),
            target: Target::Following,
            implicit: false,
        },
    }
}

/// How a step ends the call or leaves its flow, when it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Hangup.
    Hangup,
    /// A transfer to an agent.
    Transfer,
    /// A sub-flow's `return`.
    Return,
}

/// The exit a step itself makes, if any.
pub fn exit_of(step: &Step) -> Option<Exit> {
    match step {
        Step::Hangup(_) => Some(Exit::Hangup),
        Step::Transfer(_) => Some(Exit::Transfer),
        Step::Return(_) => Some(Exit::Return),
        _ => None,
    }
}

/// Every edge out of a step. Fallback edges (to the dialplan's `fallback`) and global
/// intents are included as implicit edges where the runtime would take them.
pub fn edges(doc: &DialplanDoc, step: &Step) -> Vec<Edge> {
    let fallback = |label: &str| doc.fallback.as_ref().map(|f| to_global(label, f, true));
    let mut out = Vec::new();
    match step {
        Step::Say(s) => out.push(next_or_following("", &s.next)),
        Step::Set(s) => out.push(next_or_following("", &s.next)),
        Step::Goto(target) => out.push(to("", target)),
        Step::Gather(g) => {
            for (intent, target) in g.intents.iter() {
                out.push(to(intent.value.clone(), target));
            }
            if let Some(entity) = &g.entity {
                out.push(next_or_following(&entity.value, &g.next));
            }
            match &g.exhausted {
                Some(t) => out.push(to("exhausted", t)),
                None => out.extend(fallback("exhausted")),
            }
            for (name, intent) in doc.intents.iter() {
                if let Some(target) = &intent.anywhere {
                    out.push(to_global(name.value.clone(), target, true));
                }
            }
        }
        Step::Branch(b) => {
            for case in &b.cases {
                out.push(to(case.when.value.clone(), &case.goto));
            }
            out.push(to("otherwise", &b.otherwise));
        }
        Step::Lookup(l) => {
            out.push(next_or_following("found", &l.found));
            out.push(to("not found", &l.not_found));
            match &l.error {
                Some(t) => out.push(to("error", t)),
                None => out.extend(fallback("error")),
            }
        }
        Step::Transfer(t) => {
            match &t.on_failure {
                Some(f) => out.push(to("failed", f)),
                None => out.extend(fallback("failed")),
            }
            // Without `on_timeout` a timeout goes where a failure goes: no second edge.
            if let Some(t) = &t.on_timeout {
                out.push(to("timed out", t));
            }
            if let Some(c) = &t.on_callback {
                out.push(to("callback", c));
            }
        }
        Step::Hangup(_) | Step::Return(_) => {}
        Step::Hours(h) => {
            out.push(to("open", &h.open));
            out.push(to("closed", &h.closed));
            if let Some(holiday) = &h.holiday {
                out.push(to("holiday", holiday));
            }
        }
        Step::Call(c) => {
            for (outcome, target) in c.outcomes.iter() {
                out.push(to(outcome.value.clone(), target));
            }
        }
    }
    out
}

/// A short name of the step kind, for messages and graphs.
pub fn kind_name(step: &Step) -> &'static str {
    match step {
        Step::Say(_) => "say",
        Step::Gather(_) => "gather",
        Step::Branch(_) => "branch",
        Step::Set(_) => "set",
        Step::Lookup(_) => "lookup",
        Step::Transfer(_) => "transfer",
        Step::Hangup(_) => "hangup",
        Step::Goto(_) => "goto",
        Step::Hours(_) => "hours",
        Step::Call(_) => "call",
        Step::Return(_) => "return",
    }
}
