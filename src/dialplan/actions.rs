//! What the runtime asks its shell to do: play, listen, look up, transfer, hang up.
//! Actions are carried out in order; a `Play` finishes before the next action starts,
//! except that a `Listen` with `barge_in` may start listening while the play before it
//! is still running.

use super::format::{InputMode, Priority};
use super::template::ReadAs;
use super::variables::MASK;
use crate::nlu::EntityDef;
use serde::Serialize;
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

/// What the agent receives with a transferred call. Sensitive values are already masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransferContext {
    pub dialplan: String,
    pub caller_id: String,
    pub intent: Option<String>,
    pub intent_confidence: Option<f32>,
    /// The variables the transfer step attached, masked where sensitive.
    pub fields: BTreeMap<String, String>,
    /// Steps walked, `flow.step`.
    pub path: Vec<String>,
    /// What the caller said or keyed, turn by turn (sensitive turns masked).
    pub transcript: Vec<String>,
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
    Transfer {
        queue: String,
        priority: Priority,
        context: TransferContext,
    },
    Hangup {
        reason: String,
    },
}
