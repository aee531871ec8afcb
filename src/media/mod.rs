//! Media: SDP offer/answer, RTP sessions, G.711, RFC 4733 DTMF, jitter buffer, VAD, paced playback.
pub mod vad;
