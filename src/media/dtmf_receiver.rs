//! Turns received RFC 4733 telephone-event packets into DTMF digits.
//!
//! An event is identified by its RTP timestamp (RFC 4733 §2.5.1.2: all packets of one event
//! carry the timestamp of its start). The digit is reported on the first packet seen of an
//! event, so a lost start or lost end packets still yield the digit once; continuation
//! packets and the (usually three) retransmitted end packets are collapsed. The same key
//! pressed twice gives two events with different timestamps, hence two digits.

use super::dtmf::{TelephoneEvent, event_to_digit};

/// How many recent events are remembered to ignore stragglers of an earlier event.
const REMEMBERED: usize = 4;

/// The receiver state for one stream.
#[derive(Debug, Default)]
pub struct DtmfReceiver {
    recent: [Option<(u32, u8)>; REMEMBERED],
    next_slot: usize,
    malformed: u64,
}

impl DtmfReceiver {
    /// A receiver that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Payloads too short to be an event record.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Handles one telephone-event packet; returns a digit when a new DTMF event starts.
    pub fn handle(&mut self, timestamp: u32, payload: &[u8]) -> Option<char> {
        let Some(event) = TelephoneEvent::parse(payload) else {
            self.malformed += 1;
            return None;
        };
        let key = (timestamp, event.event);
        if self.recent.contains(&Some(key)) {
            return None;
        }
        self.recent[self.next_slot] = Some(key);
        self.next_slot = (self.next_slot + 1) % REMEMBERED;
        event_to_digit(event.event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(event: u8, end: bool, duration: u16) -> [u8; 4] {
        TelephoneEvent {
            event,
            end,
            volume: 10,
            duration,
        }
        .to_bytes()
    }

    #[test]
    fn one_press_with_three_end_packets_is_one_digit() {
        let mut rx = DtmfReceiver::new();
        let ts = 48_000;
        assert_eq!(rx.handle(ts, &payload(5, false, 160)), Some('5'));
        assert_eq!(rx.handle(ts, &payload(5, false, 320)), None);
        for _ in 0..3 {
            assert_eq!(rx.handle(ts, &payload(5, true, 800)), None);
        }
    }

    #[test]
    fn same_key_twice_is_two_digits() {
        let mut rx = DtmfReceiver::new();
        assert_eq!(rx.handle(1000, &payload(1, false, 160)), Some('1'));
        assert_eq!(rx.handle(1000, &payload(1, true, 800)), None);
        assert_eq!(rx.handle(3000, &payload(1, false, 160)), Some('1'));
    }

    #[test]
    fn lost_start_still_yields_the_digit_from_end_packets() {
        let mut rx = DtmfReceiver::new();
        assert_eq!(rx.handle(7, &payload(11, true, 800)), Some('#'));
        assert_eq!(rx.handle(7, &payload(11, true, 800)), None);
    }

    #[test]
    fn stragglers_of_previous_event_are_ignored_and_junk_counted() {
        let mut rx = DtmfReceiver::new();
        assert_eq!(rx.handle(100, &payload(2, false, 160)), Some('2'));
        assert_eq!(rx.handle(900, &payload(3, false, 160)), Some('3'));
        assert_eq!(rx.handle(100, &payload(2, true, 800)), None);
        assert_eq!(rx.handle(900, &[1, 2]), None);
        assert_eq!(rx.malformed(), 1);
        // Flash (16) is an event but not a digit.
        assert_eq!(rx.handle(2000, &payload(16, false, 160)), None);
    }
}
