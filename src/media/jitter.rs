//! A small reordering jitter buffer for one inbound RTP stream.
//!
//! Packets that arrive in order leave at once (no added delay in the common case). A packet
//! that arrives after a gap is held until the gap fills, until `depth` packets wait, or
//! until the oldest has waited `max_delay`; then the gap is declared lost and delivery goes
//! on. Late and duplicate packets are dropped. Sequence numbers wrap at 2^16; a large jump
//! is treated as a stream restart once two consecutive packets confirm it (RFC 3550 A.1).
//! Storage is a fixed array of slots: no allocation per packet. Time comes in as `now`.

use std::time::{Duration, Instant};

use super::rtp_packet::RtpPacket;

/// Largest payload the buffer stores (60 ms of G.711).
pub const MAX_PAYLOAD: usize = 480;
/// Slots in the buffer; `depth` must not exceed this.
const CAPACITY: usize = 8;
/// A forward jump larger than this (in packets) is not a gap but a restart.
const MAX_DROPOUT: i32 = 3000;
/// A backward jump larger than this is not a late packet but a restart.
const MAX_MISORDER: i32 = 100;

/// One packet held in (and returned by) the buffer, payload copied in place.
#[derive(Debug, Clone, Copy)]
pub struct BufferedPacket {
    /// Payload type.
    pub payload_type: u8,
    /// Marker bit.
    pub marker: bool,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp.
    pub timestamp: u32,
    arrived: Instant,
    len: u16,
    data: [u8; MAX_PAYLOAD],
}

impl BufferedPacket {
    /// The payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.data[..usize::from(self.len)]
    }
}

/// What happened to a pushed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Stored for delivery.
    Accepted,
    /// Its sequence number was already delivered or skipped.
    Late,
    /// The same sequence number is already waiting.
    Duplicate,
    /// Payload larger than [`MAX_PAYLOAD`].
    TooLarge,
    /// No free slot (the caller is not popping).
    Overflow,
    /// A far jump, held back until a second packet confirms a restart.
    Probation,
}

/// Counters for reports and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Packets delivered in order.
    pub delivered: u64,
    /// Sequence numbers skipped as lost.
    pub lost: u64,
    /// Late packets dropped.
    pub late: u64,
    /// Duplicates dropped.
    pub duplicate: u64,
    /// Packets dropped for size or overflow.
    pub dropped: u64,
    /// Stream restarts followed.
    pub restarts: u64,
}

/// The jitter buffer. See the module documentation for the policy.
#[derive(Debug)]
pub struct JitterBuffer {
    slots: [Option<BufferedPacket>; CAPACITY],
    held: usize,
    depth: usize,
    max_delay: Duration,
    next_sequence: Option<u16>,
    restart_candidate: Option<u16>,
    stats: JitterStats,
}

/// Signed distance from `from` to `to` in sequence space.
fn seq_distance(from: u16, to: u16) -> i32 {
    i32::from(to.wrapping_sub(from) as i16)
}

impl JitterBuffer {
    /// A buffer that reorders across up to `depth` packets (clamped to 1..=8) and holds a
    /// packet at most `max_delay` waiting for a gap to fill.
    pub fn new(depth: usize, max_delay: Duration) -> Self {
        JitterBuffer {
            slots: [None; CAPACITY],
            held: 0,
            depth: depth.clamp(1, CAPACITY),
            max_delay,
            next_sequence: None,
            restart_candidate: None,
            stats: JitterStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Forgets the stream (new SSRC, re-INVITE); counters are kept.
    pub fn reset(&mut self) {
        self.slots = [None; CAPACITY];
        self.held = 0;
        self.next_sequence = None;
        self.restart_candidate = None;
    }

    /// Offers a received packet.
    pub fn push(&mut self, packet: &RtpPacket<'_>, now: Instant) -> PushOutcome {
        if packet.payload.len() > MAX_PAYLOAD {
            self.stats.dropped += 1;
            return PushOutcome::TooLarge;
        }
        let next = *self.next_sequence.get_or_insert(packet.sequence);
        let distance = seq_distance(next, packet.sequence);
        if !(-MAX_MISORDER..MAX_DROPOUT).contains(&distance) {
            if self.restart_candidate == Some(packet.sequence) {
                self.reset();
                self.stats.restarts += 1;
                self.next_sequence = Some(packet.sequence);
            } else {
                self.restart_candidate = Some(packet.sequence.wrapping_add(1));
                self.stats.dropped += 1;
                return PushOutcome::Probation;
            }
        } else if distance < 0 {
            self.stats.late += 1;
            return PushOutcome::Late;
        }
        self.restart_candidate = None;
        if self
            .slots
            .iter()
            .flatten()
            .any(|p| p.sequence == packet.sequence)
        {
            self.stats.duplicate += 1;
            return PushOutcome::Duplicate;
        }
        let Some(free) = self.slots.iter_mut().find(|s| s.is_none()) else {
            self.stats.dropped += 1;
            return PushOutcome::Overflow;
        };
        let mut data = [0u8; MAX_PAYLOAD];
        data[..packet.payload.len()].copy_from_slice(packet.payload);
        *free = Some(BufferedPacket {
            payload_type: packet.payload_type,
            marker: packet.marker,
            sequence: packet.sequence,
            timestamp: packet.timestamp,
            arrived: now,
            len: packet.payload.len() as u16,
            data,
        });
        self.held += 1;
        PushOutcome::Accepted
    }

    /// The next packet to play, if one may leave now. Call until it returns `None`.
    pub fn pop(&mut self, now: Instant) -> Option<BufferedPacket> {
        let next = self.next_sequence?;
        if self.held == 0 {
            return None;
        }
        let mut earliest: Option<(usize, i32)> = None;
        let mut oldest_arrival = now;
        for (index, slot) in self.slots.iter().enumerate() {
            if let Some(p) = slot {
                let distance = seq_distance(next, p.sequence);
                if earliest.is_none_or(|(_, best)| distance < best) {
                    earliest = Some((index, distance));
                }
                oldest_arrival = oldest_arrival.min(p.arrived);
            }
        }
        let (index, distance) = earliest?;
        let waited_enough = now.saturating_duration_since(oldest_arrival) >= self.max_delay;
        if distance > 0 && self.held < self.depth && !waited_enough {
            return None;
        }
        let packet = self.slots[index].take()?;
        self.held -= 1;
        self.stats.lost += distance.max(0) as u64;
        self.stats.delivered += 1;
        self.next_sequence = Some(packet.sequence.wrapping_add(1));
        Some(packet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn packet(sequence: u16, payload: &[u8]) -> RtpPacket<'_> {
        RtpPacket {
            payload_type: 0,
            marker: false,
            sequence,
            timestamp: u32::from(sequence) * 160,
            ssrc: 1,
            payload,
        }
    }

    fn drain(buffer: &mut JitterBuffer, now: Instant) -> Vec<u16> {
        std::iter::from_fn(|| buffer.pop(now))
            .map(|p| p.sequence)
            .collect()
    }

    #[test]
    fn in_order_packets_leave_immediately_with_payload() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(4, 60 * MS);
        for seq in 10..13u16 {
            assert_eq!(
                jb.push(&packet(seq, &[seq as u8; 3]), t0),
                PushOutcome::Accepted
            );
            let out = jb.pop(t0).unwrap();
            assert_eq!(out.sequence, seq);
            assert_eq!(out.payload(), &[seq as u8; 3]);
            assert!(jb.pop(t0).is_none());
        }
    }

    #[test]
    fn swapped_packets_are_reordered() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(4, 60 * MS);
        jb.push(&packet(1, b"a"), t0);
        assert_eq!(drain(&mut jb, t0), vec![1]);
        jb.push(&packet(3, b"c"), t0);
        assert_eq!(drain(&mut jb, t0), Vec::<u16>::new());
        jb.push(&packet(2, b"b"), t0 + 5 * MS);
        assert_eq!(drain(&mut jb, t0 + 5 * MS), vec![2, 3]);
        assert_eq!(jb.stats().lost, 0);
    }

    #[test]
    fn gap_is_skipped_after_max_delay_or_when_depth_is_reached() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(3, 60 * MS);
        jb.push(&packet(1, b"a"), t0);
        drain(&mut jb, t0);
        jb.push(&packet(3, b"c"), t0);
        assert!(jb.pop(t0 + 59 * MS).is_none());
        assert_eq!(drain(&mut jb, t0 + 60 * MS), vec![3]);
        assert_eq!(jb.stats().lost, 1);
        // Depth: 5 missing, 6 7 8 waiting → released without waiting.
        jb.push(&packet(4, b"d"), t0);
        for seq in 6..9 {
            jb.push(&packet(seq, b"x"), t0 + 61 * MS);
        }
        assert_eq!(drain(&mut jb, t0 + 61 * MS), vec![4, 6, 7, 8]);
        assert_eq!(jb.stats().lost, 2);
        // The lost packet arriving now is late.
        assert_eq!(jb.push(&packet(5, b"e"), t0 + 62 * MS), PushOutcome::Late);
    }

    #[test]
    fn duplicates_and_late_packets_are_dropped() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(4, 60 * MS);
        jb.push(&packet(100, b"a"), t0);
        jb.push(&packet(102, b"c"), t0);
        assert_eq!(jb.push(&packet(102, b"c"), t0), PushOutcome::Duplicate);
        assert_eq!(drain(&mut jb, t0), vec![100]);
        assert_eq!(jb.push(&packet(100, b"a"), t0), PushOutcome::Late);
        assert_eq!(jb.push(&packet(99, b"z"), t0), PushOutcome::Late);
        let stats = jb.stats();
        assert_eq!((stats.duplicate, stats.late), (1, 2));
    }

    #[test]
    fn sequence_wrap_is_continuous() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(4, 60 * MS);
        jb.push(&packet(65534, b"a"), t0);
        jb.push(&packet(0, b"c"), t0);
        jb.push(&packet(65535, b"b"), t0);
        jb.push(&packet(1, b"d"), t0);
        assert_eq!(drain(&mut jb, t0), vec![65534, 65535, 0, 1]);
        assert_eq!(jb.stats().lost, 0);
    }

    #[test]
    fn restart_needs_two_consecutive_packets() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(4, 60 * MS);
        jb.push(&packet(10, b"a"), t0);
        drain(&mut jb, t0);
        // One stray far packet is ignored; the stream goes on.
        assert_eq!(jb.push(&packet(40000, b"x"), t0), PushOutcome::Probation);
        assert_eq!(jb.push(&packet(11, b"b"), t0), PushOutcome::Accepted);
        assert_eq!(drain(&mut jb, t0), vec![11]);
        // Two consecutive far packets: the sender restarted.
        jb.push(&packet(50000, b"x"), t0);
        assert_eq!(jb.push(&packet(50001, b"y"), t0), PushOutcome::Accepted);
        assert_eq!(drain(&mut jb, t0), vec![50001]);
        assert_eq!(jb.stats().restarts, 1);
    }

    #[test]
    fn oversized_payload_is_refused() {
        let mut jb = JitterBuffer::new(4, 60 * MS);
        let big = [0u8; MAX_PAYLOAD + 1];
        assert_eq!(
            jb.push(&packet(1, &big), Instant::now()),
            PushOutcome::TooLarge
        );
    }

    proptest::proptest! {
        #[test]
        fn any_arrival_order_delivers_increasing_unique_sequences(
            order in proptest::collection::vec(0u16..40, 0..120),
        ) {
            let t0 = Instant::now();
            let mut jb = JitterBuffer::new(4, 60 * MS);
            let mut out = Vec::new();
            for (i, offset) in order.iter().enumerate() {
                let now = t0 + (i as u32) * 20 * MS;
                jb.push(&packet(65530u16.wrapping_add(*offset), b"p"), now);
                out.extend(drain(&mut jb, now));
            }
            out.extend(drain(&mut jb, t0 + 3600 * 1000 * MS));
            for pair in out.windows(2) {
                proptest::prop_assert!(seq_distance(pair[0], pair[1]) > 0);
            }
        }
    }
}
