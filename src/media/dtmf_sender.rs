//! Produces the RFC 4733 packet train for one DTMF digit (used by the caller bot).
//!
//! One packet per 20 ms frame: the first carries the marker bit, every packet carries the
//! event's start timestamp and the duration so far, and the end is sent three times with
//! the final duration (RFC 4733 §2.5.1.4). The caller supplies sequence numbers.

use super::dtmf::{TelephoneEvent, digit_to_event};

/// Timestamp units per 20 ms frame at 8000 Hz.
const FRAME_SAMPLES: u32 = 160;
/// How many times the end packet is sent.
const END_REPEATS: u8 = 3;
/// Volume sent, in -dBm0 (a typical keypad level).
const VOLUME: u8 = 10;

/// One packet of the train.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPacket {
    /// Marker bit (first packet of the event only).
    pub marker: bool,
    /// RTP timestamp: the event's start, the same for every packet.
    pub timestamp: u32,
    /// The 4-byte payload.
    pub payload: [u8; 4],
}

/// The sending state of one digit.
#[derive(Debug, Clone)]
pub struct DtmfSender {
    event: u8,
    start_timestamp: u32,
    total: u32,
    elapsed: u32,
    ends_sent: u8,
}

impl DtmfSender {
    /// A digit lasting `duration_ms` (at least one frame) starting at `start_timestamp`;
    /// `None` when `digit` is not a DTMF symbol.
    pub fn new(digit: char, duration_ms: u32, start_timestamp: u32) -> Option<Self> {
        let event = digit_to_event(digit)?;
        let total = (duration_ms.saturating_mul(8)).clamp(FRAME_SAMPLES, u32::from(u16::MAX));
        Some(DtmfSender {
            event,
            start_timestamp,
            total,
            elapsed: 0,
            ends_sent: 0,
        })
    }

    /// True once every packet has been produced.
    pub fn is_finished(&self) -> bool {
        self.ends_sent >= END_REPEATS
    }

    /// How much media time the event covers, in timestamp units.
    pub fn duration_samples(&self) -> u32 {
        self.total
    }

    /// The packet for the next 20 ms frame, `None` when finished.
    pub fn next_packet(&mut self) -> Option<DtmfPacket> {
        if self.is_finished() {
            return None;
        }
        let marker = self.elapsed == 0;
        self.elapsed = (self.elapsed + FRAME_SAMPLES).min(self.total);
        let end = self.elapsed >= self.total;
        if end {
            self.ends_sent += 1;
        }
        let event = TelephoneEvent {
            event: self.event,
            end,
            volume: VOLUME,
            duration: self.elapsed as u16,
        };
        Some(DtmfPacket {
            marker,
            timestamp: self.start_timestamp,
            payload: event.to_bytes(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::dtmf_receiver::DtmfReceiver;

    #[test]
    fn train_has_marker_first_growing_duration_and_three_ends() {
        let mut tx = DtmfSender::new('7', 100, 4242).unwrap();
        let packets: Vec<_> = std::iter::from_fn(|| tx.next_packet()).collect();
        // 100 ms = 800 samples = 5 frames, the 5th being the first end, then 2 repeats.
        assert_eq!(packets.len(), 7);
        assert!(packets[0].marker);
        assert!(packets[1..].iter().all(|p| !p.marker));
        assert!(packets.iter().all(|p| p.timestamp == 4242));
        let events: Vec<_> = packets
            .iter()
            .map(|p| TelephoneEvent::parse(&p.payload).unwrap())
            .collect();
        let durations: Vec<u16> = events.iter().map(|e| e.duration).collect();
        assert_eq!(durations, vec![160, 320, 480, 640, 800, 800, 800]);
        assert_eq!(events.iter().filter(|e| e.end).count(), 3);
        assert!(events.iter().all(|e| e.event == 7));
        assert!(tx.is_finished());
    }

    #[test]
    fn receiver_hears_the_sender_once() {
        let mut tx = DtmfSender::new('*', 60, 0).unwrap();
        let mut rx = DtmfReceiver::new();
        let digits: String = std::iter::from_fn(|| tx.next_packet())
            .filter_map(|p| rx.handle(p.timestamp, &p.payload))
            .collect();
        assert_eq!(digits, "*");
        assert!(DtmfSender::new('x', 100, 0).is_none());
    }
}
