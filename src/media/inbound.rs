//! The receiving half of a call's media as a sans-IO value: datagrams in, 20 ms PCM frames
//! and DTMF digits out.
//!
//! Valid RTP goes through the jitter buffer, then PCMU/PCMA payloads are decoded and cut
//! into 160-sample frames (a peer sending 30 ms packets still yields 20 ms frames) and
//! telephone-event payloads become digits. Comfort noise (PT 13) is ignored; junk, unknown
//! payload types and packets from a stream we no longer follow are counted and dropped.

use std::time::{Duration, Instant};

use super::dtmf_receiver::DtmfReceiver;
use super::events::{AudioFrame, FRAME_SAMPLES};
use super::g711::G711Law;
use super::jitter::{JitterBuffer, JitterStats, MAX_PAYLOAD, PushOutcome};
use super::rtp_packet::parse_rtp;

/// Static payload type of PCMU.
pub const PT_PCMU: u8 = 0;
/// Static payload type of PCMA.
pub const PT_PCMA: u8 = 8;
/// Static payload type of comfort noise (RFC 3389).
pub const PT_COMFORT_NOISE: u8 = 13;

/// Jitter buffer settings for inbound audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveConfig {
    /// The negotiated telephone-event payload type, if any.
    pub dtmf_payload_type: Option<u8>,
    /// A dynamic payload type negotiated for PCMU or PCMA (`a=rtpmap:96 PCMU/8000`);
    /// the static types 0 and 8 are always understood.
    pub dynamic_audio: Option<(u8, G711Law)>,
    /// Packets the jitter buffer reorders across (1..=8).
    pub jitter_depth: usize,
    /// Longest a packet waits for a missing predecessor.
    pub jitter_max_delay: Duration,
}

impl Default for ReceiveConfig {
    fn default() -> Self {
        ReceiveConfig {
            dtmf_payload_type: None,
            dynamic_audio: None,
            jitter_depth: 3,
            jitter_max_delay: Duration::from_millis(60),
        }
    }
}

/// Why a datagram was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Not parseable as RTP.
    Junk,
    /// A payload type we did not negotiate.
    UnknownPayloadType(u8),
    /// Comfort noise, ignored on purpose.
    ComfortNoise,
    /// Dropped by the jitter buffer (late, duplicate, oversize, probation).
    Jitter(PushOutcome),
}

/// Counters for reports and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiveStats {
    /// Valid RTP packets accepted.
    pub packets: u64,
    /// Datagrams that were not RTP.
    pub junk: u64,
    /// Packets with a payload type we do not handle.
    pub unknown_payload_type: u64,
    /// SSRC changes followed.
    pub ssrc_changes: u64,
    /// The jitter buffer's counters.
    pub jitter: JitterStats,
}

/// One decoded unit leaving the receiver.
// Frames travel inline: boxing them would allocate per packet.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// 20 ms of audio.
    Audio(AudioFrame),
    /// A DTMF digit.
    Dtmf(char),
}

/// The receiving state of one call leg.
pub struct AudioReceiver {
    config: ReceiveConfig,
    jitter: JitterBuffer,
    dtmf: DtmfReceiver,
    ssrc: Option<u32>,
    decoded: [i16; FRAME_SAMPLES + MAX_PAYLOAD],
    decoded_len: usize,
    read_position: usize,
    stats: ReceiveStats,
    last_packet: Option<Instant>,
}

impl AudioReceiver {
    /// A receiver that has seen nothing.
    pub fn new(config: ReceiveConfig) -> Self {
        AudioReceiver {
            config,
            jitter: JitterBuffer::new(config.jitter_depth, config.jitter_max_delay),
            dtmf: DtmfReceiver::new(),
            ssrc: None,
            decoded: [0; FRAME_SAMPLES + MAX_PAYLOAD],
            decoded_len: 0,
            read_position: 0,
            stats: ReceiveStats::default(),
            last_packet: None,
        }
    }

    /// Changes the telephone-event payload type after a re-INVITE.
    pub fn set_dtmf_payload_type(&mut self, payload_type: Option<u8>) {
        self.config.dtmf_payload_type = payload_type;
    }

    /// Changes the dynamic audio payload type after a re-INVITE.
    pub fn set_dynamic_audio(&mut self, dynamic_audio: Option<(u8, G711Law)>) {
        self.config.dynamic_audio = dynamic_audio;
    }

    fn audio_law(&self, payload_type: u8) -> Option<G711Law> {
        match payload_type {
            PT_PCMU => Some(G711Law::Ulaw),
            PT_PCMA => Some(G711Law::Alaw),
            _ => self
                .config
                .dynamic_audio
                .filter(|(pt, _)| *pt == payload_type)
                .map(|(_, law)| law),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> ReceiveStats {
        ReceiveStats {
            jitter: self.jitter.stats(),
            ..self.stats
        }
    }

    /// When the last valid packet arrived.
    pub fn last_packet_at(&self) -> Option<Instant> {
        self.last_packet
    }

    /// Takes one datagram from the peer. `Ok` means it was valid RTP we handle.
    pub fn handle_datagram(&mut self, datagram: &[u8], now: Instant) -> Result<(), Rejected> {
        let Ok(packet) = parse_rtp(datagram) else {
            self.stats.junk += 1;
            return Err(Rejected::Junk);
        };
        let pt = packet.payload_type;
        let known = self.audio_law(pt).is_some() || Some(pt) == self.config.dtmf_payload_type;
        if pt == PT_COMFORT_NOISE {
            self.last_packet = Some(now);
            return Err(Rejected::ComfortNoise);
        }
        if !known {
            self.stats.unknown_payload_type += 1;
            return Err(Rejected::UnknownPayloadType(pt));
        }
        if self.ssrc.is_some_and(|ssrc| ssrc != packet.ssrc) {
            // A new source (re-INVITE, a transfer upstream): follow it from its first packet.
            self.jitter.reset();
            self.stats.ssrc_changes += 1;
        }
        self.ssrc = Some(packet.ssrc);
        self.last_packet = Some(now);
        match self.jitter.push(&packet, now) {
            PushOutcome::Accepted => {
                self.stats.packets += 1;
                Ok(())
            }
            other => Err(Rejected::Jitter(other)),
        }
    }

    /// The next frame or digit ready at `now`. Call until `None`; call again on every
    /// send tick too, so a packet held for a gap leaves when its wait is over.
    pub fn poll(&mut self, now: Instant) -> Option<Received> {
        loop {
            if self.decoded_len - self.read_position >= FRAME_SAMPLES {
                let mut frame = AudioFrame {
                    samples: [0; FRAME_SAMPLES],
                };
                let start = self.read_position;
                frame
                    .samples
                    .copy_from_slice(&self.decoded[start..start + FRAME_SAMPLES]);
                self.read_position += FRAME_SAMPLES;
                return Some(Received::Audio(frame));
            }
            let packet = self.jitter.pop(now)?;
            let Some(law) = self.audio_law(packet.payload_type) else {
                if let Some(digit) = self.dtmf.handle(packet.timestamp, packet.payload()) {
                    return Some(Received::Dtmf(digit));
                }
                continue;
            };
            // Keep the partial frame, then append this payload after it.
            self.decoded
                .copy_within(self.read_position..self.decoded_len, 0);
            self.decoded_len -= self.read_position;
            self.read_position = 0;
            let payload = packet.payload();
            let end = self.decoded_len + payload.len();
            law.decode_into(payload, &mut self.decoded[self.decoded_len..end]);
            self.decoded_len = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::dtmf::TelephoneEvent;
    use crate::media::rtp_packet::{OutgoingHeader, write_rtp};

    fn rtp(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; 12 + payload.len()];
        let header = OutgoingHeader {
            payload_type: pt,
            marker: false,
            sequence: seq,
            timestamp: ts,
            ssrc,
        };
        let n = write_rtp(&header, payload, &mut buf).unwrap();
        buf.truncate(n);
        buf
    }

    fn drain(rx: &mut AudioReceiver, now: Instant) -> Vec<Received> {
        std::iter::from_fn(|| rx.poll(now)).collect()
    }

    fn config() -> ReceiveConfig {
        ReceiveConfig {
            dtmf_payload_type: Some(101),
            ..ReceiveConfig::default()
        }
    }

    #[test]
    fn pcmu_and_pcma_frames_are_decoded_in_order() {
        let t0 = Instant::now();
        let mut rx = AudioReceiver::new(config());
        let ulaw = [G711Law::Ulaw.encode(1000); 160];
        let alaw = [G711Law::Alaw.encode(-1000); 160];
        rx.handle_datagram(&rtp(0, 1, 0, 5, &ulaw), t0).unwrap();
        rx.handle_datagram(&rtp(8, 3, 320, 5, &alaw), t0).unwrap();
        rx.handle_datagram(&rtp(0, 2, 160, 5, &ulaw), t0).unwrap();
        let out = drain(&mut rx, t0);
        let levels: Vec<i16> = out
            .iter()
            .map(|r| match r {
                Received::Audio(frame) => {
                    assert!(frame.samples.iter().all(|s| *s == frame.samples[0]));
                    frame.samples[0]
                }
                Received::Dtmf(d) => panic!("unexpected digit {d}"),
            })
            .collect();
        let u = G711Law::Ulaw.decode(ulaw[0]);
        let a = G711Law::Alaw.decode(alaw[0]);
        assert_eq!(levels, vec![u, u, a]);
    }

    #[test]
    fn dynamic_pcmu_payload_type_is_decoded_when_negotiated() {
        let t0 = Instant::now();
        let mut rx = AudioReceiver::new(config());
        let payload = [G711Law::Ulaw.encode(500); 160];
        assert_eq!(
            rx.handle_datagram(&rtp(96, 1, 0, 5, &payload), t0),
            Err(Rejected::UnknownPayloadType(96))
        );
        rx.set_dynamic_audio(Some((96, G711Law::Ulaw)));
        rx.handle_datagram(&rtp(96, 2, 160, 5, &payload), t0)
            .unwrap();
        assert!(matches!(drain(&mut rx, t0)[..], [Received::Audio(_)]));
    }

    #[test]
    fn thirty_ms_packets_are_cut_into_twenty_ms_frames() {
        let t0 = Instant::now();
        let mut rx = AudioReceiver::new(config());
        let mut total = 0;
        for seq in 0..4u16 {
            let payload: Vec<u8> = (0..240)
                .map(|i| G711Law::Ulaw.encode((i * 10) as i16))
                .collect();
            rx.handle_datagram(&rtp(0, seq, u32::from(seq) * 240, 5, &payload), t0)
                .unwrap();
            total += drain(&mut rx, t0).len();
        }
        // 4 × 240 samples = 960 = 6 frames.
        assert_eq!(total, 6);
    }

    #[test]
    fn dtmf_events_become_one_digit_each() {
        let t0 = Instant::now();
        let mut rx = AudioReceiver::new(config());
        let ev = |end, d| {
            TelephoneEvent {
                event: 9,
                end,
                volume: 10,
                duration: d,
            }
            .to_bytes()
        };
        let mut digits = Vec::new();
        for (seq, (end, dur)) in (10u16..).zip([
            (false, 160),
            (false, 320),
            (true, 480),
            (true, 480),
            (true, 480),
        ]) {
            rx.handle_datagram(&rtp(101, seq, 8000, 5, &ev(end, dur)), t0)
                .unwrap();
            digits.extend(drain(&mut rx, t0));
        }
        assert_eq!(digits, vec![Received::Dtmf('9')]);
    }

    #[test]
    fn junk_unknown_types_and_comfort_noise_are_counted_and_dropped() {
        let t0 = Instant::now();
        let mut rx = AudioReceiver::new(ReceiveConfig::default());
        assert_eq!(rx.handle_datagram(b"hello", t0), Err(Rejected::Junk));
        assert_eq!(
            rx.handle_datagram(&rtp(96, 1, 0, 5, &[1; 20]), t0),
            Err(Rejected::UnknownPayloadType(96))
        );
        // 101 is unknown when telephone-event was not negotiated.
        assert_eq!(
            rx.handle_datagram(&rtp(101, 2, 0, 5, &[1; 4]), t0),
            Err(Rejected::UnknownPayloadType(101))
        );
        assert_eq!(
            rx.handle_datagram(&rtp(13, 3, 0, 5, &[40]), t0),
            Err(Rejected::ComfortNoise)
        );
        assert!(drain(&mut rx, t0).is_empty());
        let stats = rx.stats();
        assert_eq!(
            (stats.junk, stats.unknown_payload_type, stats.packets),
            (1, 2, 0)
        );
    }

    #[test]
    fn new_ssrc_is_followed_from_its_first_packet() {
        let t0 = Instant::now();
        let mut rx = AudioReceiver::new(config());
        rx.handle_datagram(&rtp(0, 500, 0, 1, &[0xFF; 160]), t0)
            .unwrap();
        rx.handle_datagram(&rtp(0, 7, 0, 2, &[0xFF; 160]), t0)
            .unwrap();
        assert_eq!(drain(&mut rx, t0).len(), 1);
        rx.handle_datagram(&rtp(0, 8, 160, 2, &[0xFF; 160]), t0)
            .unwrap();
        assert_eq!(drain(&mut rx, t0).len(), 1);
        assert_eq!(rx.stats().ssrc_changes, 1);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_datagrams_never_panic(
            datagrams in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..600), 0..30),
        ) {
            let t0 = Instant::now();
            let mut rx = AudioReceiver::new(config());
            for d in &datagrams {
                let mut d = d.clone();
                if let Some(first) = d.first_mut() { *first = 0x80 | (*first & 0x3F); }
                let _ = rx.handle_datagram(&d, t0);
                while rx.poll(t0 + Duration::from_secs(1)).is_some() {}
            }
        }
    }
}
