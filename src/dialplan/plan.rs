//! A checked dialplan, ready to run: the parsed document plus what the runtime needs
//! prepared once at load (timezone, schedules, parsed conditions, the intent model and
//! entity definitions for caller understanding, the prompt catalog).

use super::condition::Condition;
use super::format::{DialplanDoc, Flow, Step};
use super::prompt_catalog::PromptCatalog;
use super::schedule::BusinessHours;
use crate::nlu::{EntityDef, IntentModel};
use chrono_tz::Tz;
use std::collections::HashMap;
use std::fmt;

/// A step of a flow.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StepRef {
    pub flow: String,
    pub step: String,
}

impl StepRef {
    pub fn new(flow: impl Into<String>, step: impl Into<String>) -> Self {
        Self {
            flow: flow.into(),
            step: step.into(),
        }
    }
}

impl fmt::Display for StepRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.flow, self.step)
    }
}

/// A loaded, checked dialplan. Immutable: calls share it through an `Arc`.
#[derive(Debug, Clone)]
pub struct Dialplan {
    pub doc: DialplanDoc,
    /// The file it was loaded from (for messages).
    pub file: String,
    /// A hash of the text it was loaded from (the loader sets it; CDRs record it).
    pub version: String,
    pub language: String,
    pub timezone: Tz,
    pub start_flow: String,
    pub fallback: Option<StepRef>,
    /// Default minimum intent confidence.
    pub confidence: f32,
    pub intent_model: IntentModel,
    pub entities: HashMap<String, EntityDef>,
    pub schedules: HashMap<String, BusinessHours>,
    /// Every branch and route condition, parsed, by its text.
    pub conditions: HashMap<String, Condition>,
    /// Global intents and where they lead.
    pub global_intents: Vec<(String, StepRef)>,
    pub prompts: PromptCatalog,
}

impl Dialplan {
    pub fn name(&self) -> &str {
        &self.doc.name.value
    }

    pub fn flow(&self, name: &str) -> Option<&Flow> {
        self.doc.flows.get(name)
    }

    pub fn step(&self, at: &StepRef) -> Option<&Step> {
        self.flow(&at.flow)?.steps.get(&at.step)
    }

    /// The first step of a flow.
    pub fn first_step(&self, flow: &str) -> Option<StepRef> {
        let (name, _) = self.flow(flow)?.steps.entries.first()?;
        Some(StepRef::new(flow, name.value.clone()))
    }

    /// The step written after `at` in its flow (where a step without `next` goes).
    pub fn following(&self, at: &StepRef) -> Option<StepRef> {
        let steps = &self.flow(&at.flow)?.steps.entries;
        let index = steps.iter().position(|(k, _)| k.value == at.step)?;
        steps
            .get(index + 1)
            .map(|(k, _)| StepRef::new(at.flow.clone(), k.value.clone()))
    }

    /// The text of a prompt id, if a prompt list has it.
    pub fn prompt_text(&self, id: &str) -> Option<&str> {
        self.prompts.text(id)
    }
}
