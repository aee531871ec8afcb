//! The sending half of a call's media as a sans-IO value: paced 20 ms RTP frames from a
//! queue of PCM playbacks and DTMF digits.
//!
//! `poll_transmit(now, buf)` writes the packet due at `now` (if any) into `buf`;
//! `next_deadline()` says when to call again. A per-call task or a shared ticker can drive
//! it. Sequence numbers step by one per packet, timestamps by 160 per 20 ms of wall time
//! (so they stay true across idle gaps and holds), and the marker bit is set on the first
//! packet of each talkspurt: the first packet, the first after a gap in sending, and the
//! first frame of a playback after idle. Playbacks are shared `Arc<[i16]>` slices, so a
//! cached prompt is never copied; a frame is encoded on the stack: no allocation per packet.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::dtmf_sender::DtmfSender;
use super::events::{FRAME_SAMPLES, PlaybackId};
use super::g711::G711Law;
use super::rtp_packet::{OutgoingHeader, write_rtp};

/// The pacing period.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);
/// When the driver falls further behind than this many frames, the missed frames are
/// skipped (timestamps jump, a marker is set) instead of sent in a burst.
const MAX_FRAMES_BEHIND: u32 = 3;

/// What to send when no playback is queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdlePolicy {
    /// Keep sending silence frames, so NAT bindings stay open and latching peers keep
    /// their latch (the default).
    #[default]
    Silence,
    /// Send nothing until there is audio or a digit.
    Nothing,
}

/// How to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendConfig {
    /// The codec.
    pub law: G711Law,
    /// Its payload type (0 for PCMU, 8 for PCMA).
    pub payload_type: u8,
    /// The negotiated telephone-event payload type, if any.
    pub dtmf_payload_type: Option<u8>,
    /// What to send when idle.
    pub idle: IdlePolicy,
}

/// Why a digit cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendDtmfError {
    /// The peer did not negotiate telephone-event.
    #[error("the peer did not negotiate telephone-event")]
    NotNegotiated,
    /// Not one of `0-9 * # A-D`.
    #[error("{0:?} is not a DTMF symbol")]
    NotADigit(char),
}

/// Counters for RTCP sender reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendStats {
    /// RTP packets sent.
    pub packets: u32,
    /// Payload octets sent.
    pub octets: u32,
    /// Relayed frames dropped because the bridged leg sent faster than we send.
    pub relay_dropped: u32,
}

struct Playback {
    id: PlaybackId,
    samples: Arc<[i16]>,
    position: usize,
}

/// The sending state of one RTP stream. See the module documentation.
pub struct AudioSender {
    config: SendConfig,
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    next_due: Option<Instant>,
    in_talkspurt: bool,
    was_idle: bool,
    paused: bool,
    queue: VecDeque<Playback>,
    next_id: PlaybackId,
    digits: VecDeque<(char, u32)>,
    dtmf: Option<DtmfSender>,
    finished: VecDeque<(PlaybackId, bool)>,
    /// Frames from the bridged leg, sent when no playback is queued.
    relayed: VecDeque<[i16; FRAME_SAMPLES]>,
    stats: SendStats,
}

/// Relayed frames kept at most: the two legs' 20 ms clocks are not in phase, so a frame
/// may wait up to one tick; more than this means the far leg bursts, and the oldest go
/// so that the bridge's delay stays bounded.
pub const RELAY_DEPTH: usize = 3;

impl AudioSender {
    /// A sender with the given identifiers (tests, or the caller's own randomness).
    pub fn new(
        config: SendConfig,
        ssrc: u32,
        initial_sequence: u16,
        initial_timestamp: u32,
    ) -> Self {
        AudioSender {
            config,
            ssrc,
            sequence: initial_sequence,
            timestamp: initial_timestamp,
            next_due: None,
            in_talkspurt: false,
            was_idle: true,
            paused: false,
            queue: VecDeque::new(),
            next_id: 1,
            digits: VecDeque::new(),
            dtmf: None,
            finished: VecDeque::new(),
            relayed: VecDeque::with_capacity(RELAY_DEPTH + 1),
            stats: SendStats::default(),
        }
    }

    /// A sender with a random SSRC, initial sequence number and timestamp (RFC 3550 §5.1).
    pub fn with_random_ids(config: SendConfig) -> Self {
        Self::new(config, rand::random(), rand::random(), rand::random())
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Packet and octet counts.
    pub fn stats(&self) -> SendStats {
        self.stats
    }

    /// Changes codec or payload types after a re-INVITE; the stream itself continues.
    pub fn set_config(&mut self, config: SendConfig) {
        self.config = config;
    }

    /// Stops (true) or resumes (false) sending, for hold. Playback keeps being consumed in
    /// real time while paused, so prompts finish and the dialplan does not stall.
    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }

    /// True while paused.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Queues samples for playback after anything already queued.
    pub fn play(&mut self, samples: Arc<[i16]>) -> PlaybackId {
        let id = self.next_id;
        self.next_id += 1;
        self.enqueue(id, samples);
        id
    }

    /// Queues samples under an id chosen by the caller (a session handle numbers its own
    /// playbacks; do not mix with [`AudioSender::play`] on one sender).
    pub fn enqueue(&mut self, id: PlaybackId, samples: Arc<[i16]>) {
        self.queue.push_back(Playback {
            id,
            samples,
            position: 0,
        });
    }

    /// True while any playback is queued.
    pub fn is_playing(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Drops every queued playback (barge-in); the next frame is already silence.
    pub fn stop_playback(&mut self) {
        for playback in self.queue.drain(..) {
            self.finished.push_back((playback.id, false));
        }
    }

    /// Queues an RFC 4733 digit lasting `duration_ms`; audio waits while digits are sent.
    pub fn send_dtmf(&mut self, digit: char, duration_ms: u32) -> Result<(), SendDtmfError> {
        if self.config.dtmf_payload_type.is_none() {
            return Err(SendDtmfError::NotNegotiated);
        }
        if super::dtmf::digit_to_event(digit).is_none() {
            return Err(SendDtmfError::NotADigit(digit));
        }
        self.digits.push_back((digit, duration_ms));
        Ok(())
    }

    /// Queues one frame heard on the bridged leg, dropping the oldest beyond
    /// [`RELAY_DEPTH`]; it is sent in the next frame slot that no playback takes.
    pub fn push_relayed(&mut self, frame: [i16; FRAME_SAMPLES]) {
        if self.relayed.len() >= RELAY_DEPTH {
            self.relayed.pop_front();
            self.stats.relay_dropped = self.stats.relay_dropped.wrapping_add(1);
        }
        self.relayed.push_back(frame);
    }

    /// Forgets relayed frames not yet sent (the bridge ended).
    pub fn clear_relayed(&mut self) {
        self.relayed.clear();
    }

    /// A playback that left the queue since the last call: `(id, completed)`.
    pub fn poll_finished(&mut self) -> Option<(PlaybackId, bool)> {
        self.finished.pop_front()
    }

    /// When `poll_transmit` next has something to do; `None` before the first call.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.next_due
    }

    /// The RTP timestamp that corresponds to `now` (for RTCP sender reports).
    pub fn rtp_timestamp_at(&self, now: Instant) -> u32 {
        match self.next_due {
            Some(due) if due > now => {
                let ahead = (due - now).as_micros() * 8 / 1000;
                self.timestamp.wrapping_sub(ahead as u32)
            }
            Some(due) => {
                let behind = (now - due).as_micros() * 8 / 1000;
                self.timestamp.wrapping_add(behind as u32)
            }
            None => self.timestamp,
        }
    }

    /// Writes the packet due at `now` into `out` and returns its length; `None` when no
    /// packet is due or nothing is to be sent for this frame. `out` needs 172 bytes.
    pub fn poll_transmit(&mut self, now: Instant, out: &mut [u8]) -> Option<usize> {
        let due = *self.next_due.get_or_insert(now);
        if now < due {
            return None;
        }
        let behind = ((now - due).as_micros() / FRAME_DURATION.as_micros()) as u32;
        if behind > MAX_FRAMES_BEHIND {
            // The driver stalled: skip the missed frames rather than burst them.
            self.skip_frames(behind);
            self.in_talkspurt = false;
        }
        let frame_timestamp = self.timestamp;
        self.timestamp = self.timestamp.wrapping_add(FRAME_SAMPLES as u32);
        self.next_due = self.next_due.map(|d| d + FRAME_DURATION);

        if let Some(len) = self.dtmf_frame(frame_timestamp, out) {
            return Some(len);
        }
        let mut pcm = [0i16; FRAME_SAMPLES];
        let had_audio = self.fill_frame(&mut pcm);
        if self.paused || (!had_audio && self.config.idle == IdlePolicy::Nothing) {
            self.in_talkspurt = false;
            self.was_idle = !had_audio;
            return None;
        }
        let marker = !self.in_talkspurt || (had_audio && self.was_idle);
        self.in_talkspurt = true;
        self.was_idle = !had_audio;
        let mut payload = [0u8; FRAME_SAMPLES];
        self.config.law.encode_into(&pcm, &mut payload);
        self.emit(
            self.config.payload_type,
            marker,
            frame_timestamp,
            &payload,
            out,
        )
    }

    fn skip_frames(&mut self, frames: u32) {
        self.timestamp = self
            .timestamp
            .wrapping_add(frames.wrapping_mul(FRAME_SAMPLES as u32));
        self.next_due = self.next_due.map(|d| d + FRAME_DURATION * frames);
    }

    /// Sends the current digit's packet for this frame, if a digit is active.
    fn dtmf_frame(&mut self, frame_timestamp: u32, out: &mut [u8]) -> Option<usize> {
        let payload_type = self.config.dtmf_payload_type?;
        if self.dtmf.as_ref().is_none_or(|d| d.is_finished()) {
            self.dtmf = None;
            let (digit, duration_ms) = self.digits.pop_front()?;
            self.dtmf = Some(DtmfSender::new(digit, duration_ms, frame_timestamp)?);
        }
        let packet = self.dtmf.as_mut()?.next_packet()?;
        // Audio after the event starts a new talkspurt.
        self.in_talkspurt = false;
        if self.paused {
            return None;
        }
        self.emit(
            payload_type,
            packet.marker,
            packet.timestamp,
            &packet.payload,
            out,
        )
    }

    /// Takes one frame of queued audio into `pcm` (zero padded); false when none was queued.
    fn fill_frame(&mut self, pcm: &mut [i16; FRAME_SAMPLES]) -> bool {
        let mut filled = 0;
        while filled < FRAME_SAMPLES {
            let Some(current) = self.queue.front_mut() else {
                break;
            };
            let remaining = &current.samples[current.position..];
            let take = remaining.len().min(FRAME_SAMPLES - filled);
            pcm[filled..filled + take].copy_from_slice(&remaining[..take]);
            filled += take;
            current.position += take;
            if current.position >= current.samples.len() {
                self.finished.push_back((current.id, true));
                self.queue.pop_front();
            }
        }
        if filled == 0
            && let Some(frame) = self.relayed.pop_front()
        {
            *pcm = frame;
            return true;
        }
        filled > 0
    }

    fn emit(
        &mut self,
        payload_type: u8,
        marker: bool,
        timestamp: u32,
        payload: &[u8],
        out: &mut [u8],
    ) -> Option<usize> {
        let header = OutgoingHeader {
            payload_type,
            marker,
            sequence: self.sequence,
            timestamp,
            ssrc: self.ssrc,
        };
        let len = write_rtp(&header, payload, out)?;
        self.sequence = self.sequence.wrapping_add(1);
        self.stats.packets = self.stats.packets.wrapping_add(1);
        self.stats.octets = self.stats.octets.wrapping_add(payload.len() as u32);
        Some(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::dtmf::TelephoneEvent;
    use crate::media::rtp_packet::{RtpPacket, parse_rtp};

    const CONFIG: SendConfig = SendConfig {
        law: G711Law::Ulaw,
        payload_type: 0,
        dtmf_payload_type: Some(101),
        idle: IdlePolicy::Silence,
    };

    /// Drives the sender frame by frame from `t0`, collecting owned copies of packets.
    fn run(sender: &mut AudioSender, t0: Instant, frames: u32) -> Vec<(Vec<u8>, Instant)> {
        let mut sent = Vec::new();
        let mut buf = [0u8; 256];
        for i in 0..frames {
            let now = t0 + FRAME_DURATION * i;
            while let Some(len) = sender.poll_transmit(now, &mut buf) {
                sent.push((buf[..len].to_vec(), now));
            }
        }
        sent
    }

    fn parsed(bytes: &[u8]) -> RtpPacket<'_> {
        parse_rtp(bytes).unwrap()
    }

    #[test]
    fn paces_one_packet_per_frame_with_continuous_sequence_and_timestamp() {
        let t0 = Instant::now();
        let mut tx = AudioSender::new(CONFIG, 77, 65534, u32::MAX - 159);
        let mut buf = [0u8; 256];
        assert!(tx.poll_transmit(t0, &mut buf).is_some());
        assert!(tx.poll_transmit(t0, &mut buf).is_none());
        assert!(
            tx.poll_transmit(t0 + Duration::from_millis(19), &mut buf)
                .is_none()
        );
        assert_eq!(tx.next_deadline(), Some(t0 + FRAME_DURATION));
        let sent = run(&mut tx, t0 + FRAME_DURATION, 3);
        let seqs: Vec<u16> = sent.iter().map(|(p, _)| parsed(p).sequence).collect();
        let stamps: Vec<u32> = sent.iter().map(|(p, _)| parsed(p).timestamp).collect();
        assert_eq!(seqs, vec![65535, 0, 1]);
        assert_eq!(stamps, vec![0, 160, 320]);
        assert!(
            sent.iter()
                .all(|(p, _)| parsed(p).ssrc == 77 && p.len() == 172)
        );
        assert_eq!(
            tx.stats(),
            SendStats {
                packets: 4,
                octets: 640,
                relay_dropped: 0,
            }
        );
    }

    #[test]
    fn relayed_frames_fill_the_slots_playback_leaves_and_stay_bounded() {
        let mut tx = AudioSender::new(CONFIG, 77, 0, 0);
        let frame = |v: i16| [v; FRAME_SAMPLES];
        for v in 1..=5 {
            tx.push_relayed(frame(v * 100));
        }
        assert_eq!(
            tx.stats().relay_dropped,
            2,
            "only the newest RELAY_DEPTH frames stay"
        );
        tx.play(Arc::from(vec![7i16; FRAME_SAMPLES]));
        let mut pcm = [0i16; FRAME_SAMPLES];
        assert!(tx.fill_frame(&mut pcm));
        assert_eq!(pcm[0], 7, "playback goes first");
        for expected in [300, 400, 500] {
            assert!(tx.fill_frame(&mut pcm));
            assert_eq!(pcm[0], expected);
        }
        assert!(!tx.fill_frame(&mut pcm), "nothing left: idle");
    }

    #[test]
    fn playback_is_sent_exactly_then_reported_finished() {
        let t0 = Instant::now();
        let mut tx = AudioSender::new(CONFIG, 1, 0, 0);
        let prompt: Arc<[i16]> = (0..400).map(|i| (i * 50 - 10_000) as i16).collect();
        let id = tx.play(prompt.clone());
        let sent = run(&mut tx, t0, 4);
        let mut decoded = Vec::new();
        for (p, _) in &sent {
            decoded.extend(parsed(p).payload.iter().map(|c| G711Law::Ulaw.decode(*c)));
        }
        let expected: Vec<i16> = prompt
            .iter()
            .map(|s| G711Law::Ulaw.decode(G711Law::Ulaw.encode(*s)))
            .collect();
        assert_eq!(&decoded[..400], &expected[..]);
        assert!(decoded[400..].iter().all(|s| *s == 0));
        assert_eq!(tx.poll_finished(), Some((id, true)));
        assert_eq!(tx.poll_finished(), None);
        // Marker on the first packet only (playback started the stream).
        let markers: Vec<bool> = sent.iter().map(|(p, _)| parsed(p).marker).collect();
        assert_eq!(markers, vec![true, false, false, false]);
    }

    #[test]
    fn playback_after_idle_silence_starts_a_talkspurt() {
        let t0 = Instant::now();
        let mut tx = AudioSender::new(CONFIG, 1, 0, 0);
        run(&mut tx, t0, 2);
        tx.play(Arc::from(vec![1000i16; 320]));
        let sent = run(&mut tx, t0 + FRAME_DURATION * 2, 3);
        let markers: Vec<bool> = sent.iter().map(|(p, _)| parsed(p).marker).collect();
        assert_eq!(markers, vec![true, false, false]);
    }

    #[test]
    fn stop_playback_silences_the_very_next_frame() {
        let t0 = Instant::now();
        let mut tx = AudioSender::new(CONFIG, 1, 0, 0);
        let id = tx.play(Arc::from(vec![8000i16; 8000]));
        run(&mut tx, t0, 2);
        tx.stop_playback();
        assert_eq!(tx.poll_finished(), Some((id, false)));
        let sent = run(&mut tx, t0 + FRAME_DURATION * 2, 1);
        assert!(
            parsed(&sent[0].0)
                .payload
                .iter()
                .all(|c| *c == G711Law::Ulaw.silence())
        );
    }

    #[test]
    fn idle_nothing_sends_nothing_and_keeps_timestamps_true() {
        let t0 = Instant::now();
        let mut tx = AudioSender::new(
            SendConfig {
                idle: IdlePolicy::Nothing,
                ..CONFIG
            },
            1,
            10,
            0,
        );
        assert!(run(&mut tx, t0, 5).is_empty());
        tx.play(Arc::from(vec![500i16; 160]));
        let sent = run(&mut tx, t0 + FRAME_DURATION * 5, 1);
        let packet = parsed(&sent[0].0);
        assert_eq!(
            (packet.sequence, packet.timestamp, packet.marker),
            (10, 800, true)
        );
    }

    #[test]
    fn hold_stops_sending_but_consumes_playback() {
        let t0 = Instant::now();
        let mut tx = AudioSender::new(CONFIG, 1, 0, 0);
        tx.set_paused(true);
        let id = tx.play(Arc::from(vec![500i16; 320]));
        assert!(run(&mut tx, t0, 3).is_empty());
        assert_eq!(tx.poll_finished(), Some((id, true)));
        tx.set_paused(false);
        let sent = run(&mut tx, t0 + FRAME_DURATION * 3, 1);
        let packet = parsed(&sent[0].0);
        assert_eq!(
            (packet.sequence, packet.timestamp, packet.marker),
            (0, 480, true)
        );
    }

    #[test]
    fn stalled_driver_skips_frames_instead_of_bursting() {
        let t0 = Instant::now();
        let mut tx = AudioSender::new(CONFIG, 1, 0, 0);
        run(&mut tx, t0, 1);
        let mut buf = [0u8; 256];
        let late = t0 + Duration::from_millis(200);
        let first = tx
            .poll_transmit(late, &mut buf)
            .map(|n| parsed(&buf[..n]).timestamp);
        assert_eq!(first, Some(1600));
        assert!(tx.poll_transmit(late, &mut buf).is_none());
        // A small delay is caught up by sending the due frames back to back.
        let slightly_late = t0 + Duration::from_millis(270);
        let mut caught_up = 0;
        while tx.poll_transmit(slightly_late, &mut buf).is_some() {
            caught_up += 1;
        }
        assert_eq!(caught_up, 3);
    }

    #[test]
    fn dtmf_interrupts_audio_with_event_packets_on_the_same_stream() {
        let t0 = Instant::now();
        let mut tx = AudioSender::new(CONFIG, 9, 100, 0);
        tx.play(Arc::from(vec![700i16; 160 * 20]));
        run(&mut tx, t0, 1);
        tx.send_dtmf('4', 60).unwrap();
        let sent = run(&mut tx, t0 + FRAME_DURATION, 6);
        let packets: Vec<RtpPacket<'_>> = sent.iter().map(|(p, _)| parsed(p)).collect();
        let types: Vec<u8> = packets.iter().map(|p| p.payload_type).collect();
        // 60 ms: 3 frames (the 3rd is the first end) + 2 repeated ends, then audio again.
        assert_eq!(types, vec![101, 101, 101, 101, 101, 0]);
        assert!(packets[0].marker && packets[5].marker);
        assert!(packets[..5].iter().all(|p| p.timestamp == 160));
        assert_eq!(
            TelephoneEvent::parse(packets[4].payload).map(|e| (e.event, e.end)),
            Some((4, true))
        );
        assert_eq!(packets[5].timestamp, 160 * 6);
        let seqs: Vec<u16> = packets.iter().map(|p| p.sequence).collect();
        assert_eq!(seqs, (101..107).collect::<Vec<u16>>());
        assert_eq!(
            AudioSender::new(
                SendConfig {
                    dtmf_payload_type: None,
                    ..CONFIG
                },
                1,
                0,
                0
            )
            .send_dtmf('1', 100),
            Err(SendDtmfError::NotNegotiated)
        );
        assert_eq!(tx.send_dtmf('z', 100), Err(SendDtmfError::NotADigit('z')));
    }
}
