//! RFC 4733 telephone-event payloads: the 4-byte event record and the digit mapping.
//!
//! The receiving and sending state machines live beside this file in `dtmf_receiver.rs`
//! and `dtmf_sender.rs`.

/// A telephone-event payload (RFC 4733 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code: 0–9 digits, 10 `*`, 11 `#`, 12–15 `A`–`D`, 16 flash.
    pub event: u8,
    /// The E bit: this packet ends the event.
    pub end: bool,
    /// Power level in -dBm0, 0..=63.
    pub volume: u8,
    /// Duration so far in timestamp units (8000 Hz).
    pub duration: u16,
}

impl TelephoneEvent {
    /// Wire length of one event record.
    pub const LEN: usize = 4;

    /// Parses the first record of a payload; `None` when shorter than 4 bytes.
    pub fn parse(payload: &[u8]) -> Option<Self> {
        let bytes: [u8; 4] = payload.get(..Self::LEN)?.try_into().ok()?;
        Some(TelephoneEvent {
            event: bytes[0],
            end: bytes[1] & 0x80 != 0,
            volume: bytes[1] & 0x3F,
            duration: u16::from_be_bytes([bytes[2], bytes[3]]),
        })
    }

    /// The 4 wire bytes.
    pub fn to_bytes(self) -> [u8; 4] {
        let [d0, d1] = self.duration.to_be_bytes();
        let flags = if self.end { 0x80 } else { 0 } | (self.volume & 0x3F);
        [self.event, flags, d0, d1]
    }
}

/// The DTMF character for an event code (`0-9 * # A-D`), `None` for other events.
pub fn event_to_digit(event: u8) -> Option<char> {
    match event {
        0..=9 => char::from_digit(u32::from(event), 10),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + (event - 12))),
        _ => None,
    }
}

/// The event code for a DTMF character (case-insensitive letters).
pub fn digit_to_event(digit: char) -> Option<u8> {
    match digit.to_ascii_uppercase() {
        d @ '0'..='9' => Some(d as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        d @ 'A'..='D' => Some(d as u8 - b'A' + 12),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_and_matches_rfc_layout() {
        let event = TelephoneEvent {
            event: 11,
            end: true,
            volume: 10,
            duration: 800,
        };
        let bytes = event.to_bytes();
        assert_eq!(bytes, [11, 0x8A, 0x03, 0x20]);
        assert_eq!(TelephoneEvent::parse(&bytes), Some(event));
        assert_eq!(TelephoneEvent::parse(&bytes[..3]), None);
        // The R bit is ignored, volume is 6 bits.
        assert_eq!(
            TelephoneEvent::parse(&[5, 0x7F, 0, 0]).map(|e| (e.end, e.volume)),
            Some((false, 63))
        );
    }

    #[test]
    fn every_dtmf_symbol_maps_both_ways() {
        for (code, ch) in "0123456789*#ABCD".chars().enumerate() {
            assert_eq!(event_to_digit(code as u8), Some(ch));
            assert_eq!(digit_to_event(ch), Some(code as u8));
        }
        assert_eq!(digit_to_event('b'), Some(13));
        assert_eq!(event_to_digit(16), None);
        assert_eq!(digit_to_event('x'), None);
    }
}
