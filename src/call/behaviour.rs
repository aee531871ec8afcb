//! What drives a call once it is answered: the built-in demo or a dialplan, behind one
//! trait. A behaviour is pure: the call machine tells it what happened and when, and it
//! answers with [`Cue`]s; it never sees SIP, sockets or the clock.

use super::end::EndReason;
use crate::dialplan::{Listen, LookupArg, LookupResult, TransferContext};
use chrono::{DateTime, Utc};
use std::time::Instant;

/// A moment of the call, on its one clock: `now` for timers, `wall` (derived from `now`)
/// for the dialplan's opening hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moment {
    pub now: Instant,
    pub wall: DateTime<Utc>,
}

/// Who called whom (user parts of From and To).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parties {
    pub from: String,
    pub to: String,
}

/// What a behaviour asks of the call.
#[derive(Debug, Clone, PartialEq)]
pub enum Cue {
    /// Play these prompt ids, in order, after whatever is queued.
    Play(Vec<String>),
    /// Play recordings and synthesised free text, in order, after whatever is queued
    /// (only when the items include free text; otherwise `Play`).
    Speak(Vec<Sound>),
    /// Cut all playback (barge-in).
    StopPlayback,
    /// Ask a data source; answered with [`Behaviour::on_lookup_result`].
    Lookup {
        source: String,
        args: Vec<LookupArg>,
    },
    /// Hand the call to an agent queue; answered with [`Behaviour::on_transfer_failed`]
    /// when it cannot be done.
    Transfer {
        queue: String,
        context: Box<TransferContext>,
        /// The transfer's own limit on the wait (the queue's applies otherwise).
        max_wait: Option<std::time::Duration>,
        /// The caller may ask for a callback while waiting.
        callback: bool,
    },
    /// Start listening for speech with what the step expects; `prompt_playing` holds the
    /// no-input timer until the prompt ends.
    StartListening {
        listen: Box<Listen>,
        prompt_playing: bool,
    },
    /// The prompt before an open gather ended (the listener's timers start now).
    PromptFinished,
    /// Stop listening for speech.
    StopListening,
    /// End the call once what is playing has been heard.
    Hangup { why: EndReason },
}

/// One piece of what a play says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sound {
    /// A recorded prompt id.
    Prompt(String),
    /// Free text for text-to-speech (never a sensitive value).
    Text(String),
}

/// What a behaviour tells the call's detail record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// The dialplan's name and version (`None`: the demo).
    pub dialplan: Option<String>,
    pub version: Option<String>,
    /// The steps walked, as `flow.step`.
    pub path: Vec<String>,
    /// The latest intent understood.
    pub intent: Option<String>,
}

/// A call's behaviour from answer to hangup. Every method but `start` has a default that
/// ignores the happening, so a simple behaviour (the demo) implements only what it uses.
pub trait Behaviour: Send {
    /// The call was answered and confirmed.
    fn start(&mut self, parties: &Parties, at: Moment) -> Vec<Cue>;

    /// One keypad key (RFC 4733 or SIP INFO).
    fn on_key(&mut self, _key: char, _at: Moment) -> Vec<Cue> {
        Vec::new()
    }

    /// The caller started talking: a no-input timer waits for the transcript.
    fn on_speech_activity(&mut self, _at: Moment) {}

    /// The caller has talked long enough to interrupt the prompt.
    fn on_barge_in(&mut self) -> Vec<Cue> {
        Vec::new()
    }

    /// The recogniser's transcript of a turn (empty: it was not speech after all).
    fn on_speech(&mut self, _transcript: &str, _confidence: f32, _at: Moment) -> Vec<Cue> {
        Vec::new()
    }

    /// Whether `transcript` would be taken as the answer to the gather under way (early
    /// recognition ends the turn on it).
    fn would_accept(&self, _transcript: &str, _at: Moment) -> bool {
        false
    }

    /// A queued playback finished (or was cut).
    fn on_playback_finished(&mut self, _at: Moment) -> Vec<Cue> {
        Vec::new()
    }

    /// The answer to a [`Cue::Lookup`].
    fn on_lookup_result(&mut self, _result: LookupResult, _at: Moment) -> Vec<Cue> {
        Vec::new()
    }

    /// A [`Cue::Transfer`] could not be completed.
    fn on_transfer_failed(&mut self, _reason: &str, _at: Moment) -> Vec<Cue> {
        Vec::new()
    }

    /// An agent answered the transferred call: the call now belongs to the bridge.
    fn on_transfer_answered(&mut self, _agent: &str, _at: Moment) -> Vec<Cue> {
        Vec::new()
    }

    /// The caller waited as long as the transfer allows.
    fn on_transfer_timed_out(&mut self, at: Moment) -> Vec<Cue> {
        self.on_transfer_failed("timed out", at)
    }

    /// The caller's callback request stands: they leave the line keeping their place.
    fn on_callback_accepted(&mut self, _at: Moment) -> Vec<Cue> {
        Vec::new()
    }

    /// When [`on_timer`](Self::on_timer) is due next.
    fn next_deadline(&self) -> Option<Instant> {
        None
    }

    /// A deadline from [`next_deadline`](Self::next_deadline) has come.
    fn on_timer(&mut self, _at: Moment) -> Vec<Cue> {
        Vec::new()
    }

    /// The caller hung up.
    fn on_hangup(&mut self, _at: Moment) {}

    /// What the call's record says of it.
    fn summary(&self) -> Summary {
        Summary::default()
    }
}
