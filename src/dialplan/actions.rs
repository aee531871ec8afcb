//! What the runtime asks its shell to do: play, listen, look up, transfer, hang up.
//! Actions are carried out in order; a `Play` finishes before the next action starts,
//! except that a `Listen` with `barge_in` may start listening while the play before it
//! is still running.

use super::format::{InputMode, Priority};
use super::template::ReadAs;
use super::variables::MASK;
use crate::nlu::EntityDef;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// One piece of audio to play.
#[derive(Clone, PartialEq)]
pub enum PlayItem {
    /// A recorded prompt (`prompts/<language>/<id>.wav`).
    Prompt(String),
    /// Literal text (rendered by the prompts module or a TTS).
    Text(String),
    /// A variable read back by type: the prompts module turns it into a prompt sequence
    /// ("one hundred twenty dollars and fifty cents").
    Readback {
        var: String,
        read_as: ReadAs,
        value: String,
        sensitive: bool,
    },
}

impl fmt::Debug for PlayItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlayItem::Prompt(id) => write!(f, "Prompt({id})"),
            PlayItem::Text(t) => write!(f, "Text({t:?})"),
            PlayItem::Readback {
                var,
                read_as,
                value,
                sensitive,
            } => {
                let shown = if *sensitive { MASK } else { value.as_str() };
                write!(f, "Readback({var}:{read_as}={shown})")
            }
        }
    }
}

/// What a gather listens for.
#[derive(Debug, Clone, PartialEq)]
pub struct Listen {
    /// The gather step (`flow.step`).
    pub step: String,
    pub input: InputMode,
    /// Intents expected in this step (global intents also compete).
    pub intents: Vec<String>,
    /// The entity collected, if any.
    pub entity: Option<EntityDef>,
    pub timeout_secs: u32,
    /// Silence that ends an utterance.
    pub end_silence_ms: u32,
    pub barge_in: bool,
    pub min_digits: Option<u32>,
    pub max_digits: Option<u32>,
    pub terminator: char,
    /// 0 for the first try.
    pub attempt: u32,
}

/// One lookup argument.
#[derive(Clone, PartialEq)]
pub struct LookupArg {
    pub name: String,
    pub value: String,
    pub sensitive: bool,
}

impl fmt::Debug for LookupArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = if self.sensitive {
            MASK
        } else {
            self.value.as_str()
        };
        write!(f, "{}={shown}", self.name)
    }
}

/// A skill the chosen agent must have, at `min_level` (1-5) or better.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillRequirement {
    pub skill: String,
    pub min_level: u8,
}

/// Everything the dialplan learnt that the agent receives with a transferred call.
/// Sensitive values are already masked. `acd::envelope` turns it into the JSON document
/// the agent fetches, adding what only the shell knows (call id, time waited, ticket).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransferContext {
    pub dialplan: String,
    pub caller_id: String,
    /// The `caller_name` variable, when the dialplan set it.
    pub caller_name: Option<String>,
    /// The `verified` variable is true.
    pub verified: bool,
    /// How (the `verified_by` variable), e.g. `caller_id+pin`.
    pub verified_by: Option<String>,
    pub intent: Option<String>,
    pub intent_confidence: Option<f32>,
    /// Every value gathers collected (`into` or the entity's name), masked where sensitive.
    pub entities: BTreeMap<String, String>,
    /// The variables the transfer step attached, masked where sensitive.
    pub fields: BTreeMap<String, String>,
    /// Steps walked, `flow.step`.
    pub path: Vec<String>,
    /// What the caller said or keyed, turn by turn (sensitive turns masked).
    pub transcript: Vec<String>,
    pub queue: String,
    pub priority: Priority,
    pub skills: Vec<SkillRequirement>,
}

/// One thing for the shell to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Play {
        items: Vec<PlayItem>,
        barge_in: bool,
    },
    Listen(Listen),
    Lookup {
        source: String,
        args: Vec<LookupArg>,
    },
    /// Queue the call. The shell answers with `TransferAnswered`, `TransferTimedOut`,
    /// `TransferFailed` or (only when `callback`) `CallbackAccepted`.
    Transfer {
        queue: String,
        priority: Priority,
        skills: Vec<SkillRequirement>,
        /// The dialplan's limit on the wait; the queue's own limit applies too.
        max_wait_secs: Option<u32>,
        /// The caller may be offered a callback while waiting.
        callback: bool,
        context: TransferContext,
    },
    Hangup {
        reason: String,
    },
}
