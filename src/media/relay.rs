//! The media half of a bridge: two legs pass each other's decoded frames directly, task
//! to task, without their owner in the path (a call machine at 50 frames a second per
//! direction would only add latency). Each direction is a small bounded channel: the
//! receiving leg sends a relayed frame in its next 20 ms slot, so the delay added is under
//! one frame, and G.711 laws may differ between the legs (the frame is linear in between).

use super::events::AudioFrame;
use super::session::MediaSession;
use tokio::sync::mpsc;

/// Frames in flight per direction before the sending leg drops (the receiving leg also
/// bounds what it keeps: `outbound::RELAY_DEPTH`).
const CHANNEL_DEPTH: usize = 8;

/// Where a leg puts the frames it hears for the other leg.
pub type RelaySink = mpsc::Sender<AudioFrame>;
/// Where a leg takes the frames it sends on behalf of the other leg.
pub type RelaySource = mpsc::Receiver<AudioFrame>;

/// Joins two running legs: what `a` hears `b` sends, and the other way round.
pub fn bridge(a: &MediaSession, b: &MediaSession) {
    let (a_to_b, b_from_a) = mpsc::channel(CHANNEL_DEPTH);
    let (b_to_a, a_from_b) = mpsc::channel(CHANNEL_DEPTH);
    a.relay(Some(a_to_b), Some(a_from_b));
    b.relay(Some(b_to_a), Some(b_from_a));
}

/// Ends a leg's part in a bridge (the other leg's frames stop at once).
pub fn unbridge(leg: &MediaSession) {
    leg.relay(None, None);
}
