//! What the call machine asks its shell to do. The shell carries each command out and
//! reports what came of it as a `CallEvent`; it decides nothing itself.

use super::behaviour::Sound;
use super::event::RequestId;
use crate::acd::{AcdEvent, AgentContact, Arrival};
use crate::asr::RecognitionHints;
use crate::dialplan::{LookupArg, TransferContext};
use crate::media::sdp::NegotiatedMedia;

/// One thing for the shell to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// 180 Ringing to the INVITE.
    Ring,
    /// 200 OK to the INVITE with this SDP (our answer, or our offer when it had none).
    Answer { sdp: String },
    /// A final error response to the INVITE; the call is over.
    Refuse { status: u16 },
    /// The final response to an in-dialog request.
    Respond {
        request: RequestId,
        status: u16,
        sdp: Option<String>,
    },
    /// Start RTP with what the offer/answer gave.
    StartMedia(Box<NegotiatedMedia>),
    /// Apply a new negotiation to the running media (hold, resume, new address or codec).
    UpdateMedia(Box<NegotiatedMedia>),
    /// Whether caller audio should reach the machine (only while it listens for speech).
    Audio(bool),
    /// Play these prompt ids, in order, after whatever is queued; a `PlaybackFinished`
    /// follows (at once when nothing could be played).
    Play(Vec<String>),
    /// Play recordings and free text (text-to-speech), in order; one `PlaybackFinished`.
    Speak(Vec<Sound>),
    /// Cut all playback.
    StopPlayback,
    /// Recognise this 8 kHz utterance; `early` ones may be declined (an error result).
    Recognise {
        id: u64,
        pcm: Vec<i16>,
        hints: RecognitionHints,
        early: bool,
    },
    /// Ask a data source.
    Lookup {
        id: u64,
        source: String,
        args: Vec<LookupArg>,
    },
    /// Queue the caller (the ACD answers with `CallEvent::Queue` notices) and keep a
    /// ticket and a context envelope for the agent.
    Enqueue {
        arrival: Arrival,
        context: Box<TransferContext>,
    },
    /// Queue the caller again (their agent vanished mid-call); the envelope stays.
    Requeue(Arrival),
    /// The waiting caller asks to be called back at their own number.
    RequestCallback,
    /// Tell the ACD what happened to this call or its agent leg.
    ReportAcd(AcdEvent),
    /// Music on hold to the caller, looping without a gap, until turned off.
    HoldMusic(bool),
    /// Cut the hold music for these prompts, then let it carry on.
    Announce(Vec<String>),
    /// Place leg number `leg` to the agent at `contacts` with the call's context.
    DialAgent {
        leg: u64,
        agent: String,
        contacts: Vec<AgentContact>,
        waited_secs: u64,
    },
    /// End agent leg `leg`: CANCEL while it rings, BYE once answered.
    HangUpAgent { leg: u64 },
    /// Relay the media of the caller and of agent leg `leg` both ways.
    Bridge { leg: u64 },
    /// Send a key the caller pressed to the agent's leg.
    DigitToAgent(char),
    /// Send a key the agent pressed to the caller.
    CallerDigit(char),
    /// Send BYE.
    Bye,
    /// The call is over: stop the media, forget the dialog, cancel every task the call
    /// started. Always the last command.
    Release,
}
