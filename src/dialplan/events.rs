//! What happens to a call, fed into the runtime by its shell (the call task, the simulator
//! or a flow test). Time comes with every event, never from a clock.

use std::collections::BTreeMap;
use std::fmt;

/// One thing that happened.
#[derive(Clone, PartialEq)]
pub enum Event {
    /// The call was answered.
    CallStarted { caller_id: String, called: String },
    /// The recogniser heard something (raw text: the runtime asks NLU what it means).
    Speech {
        transcript: String,
        asr_confidence: f32,
    },
    /// Keypad digits (a whole entry, terminator included or not).
    Dtmf { digits: String },
    /// The caller said nothing before the gather's timeout.
    Timeout,
    /// The answer to a `Lookup` action.
    LookupResult(LookupResult),
    /// The shell finished playing what it was asked to play.
    PlaybackFinished,
    /// The transfer could not be completed (no agent, queue closed, agent leg failed).
    TransferFailed { reason: String },
    /// The caller hung up.
    HungUp,
}

/// The outcome of a lookup.
#[derive(Clone, PartialEq)]
pub enum LookupResult {
    Found(BTreeMap<String, String>),
    NotFound,
    Error(String),
}

// Events can carry PINs and card numbers: their Debug form never shows caller input.
impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::CallStarted { caller_id, called } => {
                write!(f, "CallStarted({caller_id} -> {called})")
            }
            Event::Speech {
                transcript,
                asr_confidence,
            } => {
                write!(
                    f,
                    "Speech({} chars, asr {asr_confidence:.2})",
                    transcript.chars().count()
                )
            }
            Event::Dtmf { digits } => write!(f, "Dtmf({} keys)", digits.chars().count()),
            Event::Timeout => f.write_str("Timeout"),
            Event::LookupResult(r) => write!(f, "LookupResult({r:?})"),
            Event::PlaybackFinished => f.write_str("PlaybackFinished"),
            Event::TransferFailed { reason } => write!(f, "TransferFailed({reason})"),
            Event::HungUp => f.write_str("HungUp"),
        }
    }
}

impl fmt::Debug for LookupResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupResult::Found(fields) => write!(f, "Found({} fields)", fields.len()),
            LookupResult::NotFound => f.write_str("NotFound"),
            LookupResult::Error(e) => write!(f, "Error({e})"),
        }
    }
}
