//! What happens to a call, fed into the runtime by its shell (the call task, the simulator
//! or a flow test). Time comes with every event, never from a clock.

use std::collections::BTreeMap;
use std::fmt;

/// The `TransferFailed` reason when no agent is staffed in the queue.
pub const NO_AGENTS: &str = "no agents staffed";
/// The `TransferFailed` reason when the queue is closed.
pub const QUEUE_CLOSED: &str = "queue closed";

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
    /// An agent answered the transferred call: the dialplan is done, the call now belongs
    /// to the bridge.
    TransferAnswered { agent: String },
    /// The caller waited the transfer's `max_wait` (or the queue's own limit) unanswered.
    TransferTimedOut,
    /// The transfer could not be completed: nobody staffed ([`NO_AGENTS`]), the queue
    /// closed ([`QUEUE_CLOSED`]), the queue unknown to the server, or another
    /// reason.
    TransferFailed { reason: String },
    /// The caller, while waiting, asked to be called back and keeps their place in line.
    CallbackAccepted,
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
            Event::TransferAnswered { agent } => write!(f, "TransferAnswered({agent})"),
            Event::TransferTimedOut => f.write_str("TransferTimedOut"),
            Event::TransferFailed { reason } => write!(f, "TransferFailed({reason})"),
            Event::CallbackAccepted => f.write_str("CallbackAccepted"),
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
