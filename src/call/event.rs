//! What the call machine is told: dialog events, media events, results of the work it
//! asked for, and the passing of time. The shell turns every happening into one of these.

use crate::acd::{LegFailure, QueueNotice};
use crate::asr::Transcript;
use crate::dialplan::LookupResult;
use crate::media::events::AudioFrame;

/// Names an in-dialog request the shell holds open until the machine answers it.
pub type RequestId = u64;

/// How the far end ended the dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogEnd {
    /// BYE (or any other teardown by the peer).
    Bye,
    /// CANCEL before the answer.
    Cancel,
    /// Our 200 OK was never acknowledged.
    NoAck,
}

/// One happening in a call.
#[derive(Debug)]
// Frames travel inline: boxing them would allocate 50 times a second per listening call.
#[allow(clippy::large_enum_variant)]
pub enum CallEvent {
    /// The ACK arrived (for the INVITE or for a re-INVITE), with its body: the answer when
    /// we made the offer.
    Acked { answer: Option<Vec<u8>> },
    /// The far end ended the dialog.
    DialogEnded(DialogEnd),
    /// A re-INVITE or UPDATE: a new offer, or none (then it wants ours).
    ReOffer { request: RequestId, offer: Vec<u8> },
    /// An in-dialog INFO (DTMF relay, or anything else).
    Info {
        request: RequestId,
        content_type: Option<String>,
        body: Vec<u8>,
    },
    /// An in-dialog OPTIONS.
    Options { request: RequestId },
    /// 20 ms of caller audio (only while the machine asked for audio).
    Frame(AudioFrame),
    /// An RFC 4733 digit.
    Digit(char),
    /// A playback the machine asked for left the queue (played, cut, or nothing to play).
    PlaybackFinished,
    /// No RTP from the caller for the media timeout, or the media session ended.
    MediaTimeout,
    /// The answer to a `Command::Recognise` (an error: declined, saturated or failed).
    Recognised {
        id: u64,
        result: Result<Transcript, String>,
    },
    /// The answer to a `Command::Lookup`.
    LookupDone { id: u64, result: LookupResult },
    /// A `Command::Transfer` could not be carried out.
    TransferFailed { reason: String },
    /// Our INVITE (a callback) was answered with this SDP.
    Answered { answer: Vec<u8> },
    /// What the ACD decided for this queued call.
    Queue(QueueNotice),
    /// What became of the agent leg numbered `leg` (stale numbers are ignored).
    AgentLeg { leg: u64, event: AgentLegEvent },
    /// The server is shutting down.
    Draining,
    /// Nothing happened but the time: the deadline the machine gave has come.
    Timer,
}

/// What happens to the leg towards an agent's phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentLegEvent {
    /// The agent's phone answered and its media runs.
    Answered,
    /// The leg ended before an answer (busy, declined, error, the phone hung up).
    Failed(LegFailure),
    /// The agent hung up (BYE) after answering.
    Ended,
    /// The agent's phone went silent after answering (no RTP for the media timeout): it
    /// vanished, and the caller must not go with it.
    Lost,
    /// A key the agent pressed (passed through to the caller while bridged).
    Digit(char),
}
