//! Media: SDP offer/answer, RTP sessions, G.711, RFC 4733 DTMF, jitter buffer, VAD, paced playback.
//!
//! Pure, sans-IO pieces (time comes in as `now`):
//! - [`g711`]: `G711Law::{Ulaw, Alaw}` with `encode`/`decode`/`encode_into`/`decode_into`.
//! - [`rtp_packet`]: `parse_rtp(&[u8]) -> Result<RtpPacket<'_>, RtpParseError>`,
//!   `write_rtp(&OutgoingHeader, payload, &mut [u8]) -> Option<usize>`, `looks_like_rtcp`.
//! - [`jitter`]: `JitterBuffer::new(depth, max_delay)`, `push(&RtpPacket, now)`, `pop(now)`.
//! - [`dtmf`], [`dtmf_receiver`], [`dtmf_sender`]: RFC 4733 payloads, `DtmfReceiver::handle
//!   (timestamp, payload) -> Option<char>`, `DtmfSender::new(digit, ms, ts)` + `next_packet()`.
//! - [`outbound`]: `AudioSender`: `play(Arc<[i16]>) -> PlaybackId`, `stop_playback()`,
//!   `send_dtmf(char, ms)`, `set_paused(bool)`, `poll_transmit(now, &mut buf) -> Option<usize>`,
//!   `next_deadline()`, `poll_finished()`.
//! - [`inbound`]: `AudioReceiver`: `handle_datagram(&[u8], now)`, `poll(now) -> Option<Received>`.
//! - [`peer`]: `PeerAddress` (symmetric RTP latching).
//! - [`rtcp`]: `build_sender_report`, `parse_rtcp`.
//! - [`sdp`]: `SdpSession::new(local, MediaCapabilities, session_id)`, `answer(offer) ->
//!   Result<(String, NegotiatedMedia), SdpError>` (`SdpError::NotAcceptable` = 488),
//!   `offer() -> String`, `accept_answer(answer) -> Result<NegotiatedMedia, SdpError>`,
//!   `set_holding(bool)`.
//!
//! The tokio shell, [`session`]:
//! - `PortAllocator::new(ip, first, last)` (shared by all calls).
//! - `MediaSocket::bind(&ports)?` → `local_addr()` for the SDP → `start(&NegotiatedMedia,
//!   SessionConfig) -> (MediaSession, MediaEvents)`.
//! - `MediaSession`: `play(Arc<[i16]>) -> PlaybackId`, `stop_playback()`,
//!   `send_dtmf(char, ms)`, `update(&NegotiatedMedia)` (re-INVITE, hold), `stats().await`,
//!   `close().await`.
//! - [`engine::MediaEngine`]: `MediaEngine::spawn(shards) -> Arc<MediaEngine>`, then
//!   `engine.start(socket, &NegotiatedMedia, SessionConfig)`: the same handle and events,
//!   many legs per task (cheaper at thousands of calls).
//! - [`events::MediaEvent`]: `Audio(AudioFrame)`, `Dtmf(char)`, `PlaybackFinished { id,
//!   completed }`, `RtpTimeout`; [`events::MediaEvents`] `recv().await` (control events
//!   first, never dropped), `set_audio(bool)` (no frames while the owner does not listen).
//! - `MediaStats::send_lateness` ([`lateness::LatenessHistogram`]): how late each 20 ms
//!   tick ran, `quantile(0.99)`.
//! - [`recorder::WavRecorder`]: `create(path)`, `write_frame(&AudioFrame)`, `finish()`
//!   (the caller bot records what it hears).
//!
//! `NegotiatedMedia::dtmf_payload_type` is the telephone-event type to send with;
//! `receive_dtmf_payload_type` the one the peer sends with (they differ only when we
//! offered and the answer renumbered it).

pub mod dtmf;
pub mod dtmf_receiver;
pub mod dtmf_sender;
pub mod engine;
pub mod events;
pub mod g711;
pub mod inbound;
pub mod jitter;
pub mod lateness;
pub mod outbound;
pub mod peer;
pub mod port_allocator;
pub mod recorder;
pub mod relay;
pub mod rtcp;
pub mod rtp_packet;
pub mod sdp;
pub mod session;
pub mod udp_batch;
pub mod vad;
