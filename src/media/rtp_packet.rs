//! Reading and writing single RTP packets (RFC 3550 §5.1) without allocating.
//!
//! Parsing uses `rtc_rtp::header::Header` and then validates what that crate leaves to the
//! caller (version 2, padding length). The result borrows the payload from the datagram.
//! Writing fills a caller-provided buffer so the send path can reuse one buffer per call.

use bytes::Buf;
use rtc_rtp::header::Header;
use rtc_shared::marshal::{Marshal, MarshalSize, Unmarshal};

/// Size of the fixed RTP header we write (no CSRC, no extension).
pub const RTP_HEADER_LEN: usize = 12;

/// Why a datagram is not a usable RTP packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtpParseError {
    /// Fewer bytes than the header claims.
    #[error("truncated RTP packet ({len} bytes)")]
    Truncated {
        /// Datagram length.
        len: usize,
    },
    /// Version field other than 2 (STUN, junk, another protocol on the port).
    #[error("not RTP version 2 (version {version})")]
    BadVersion {
        /// The two version bits found.
        version: u8,
    },
    /// Padding length larger than the payload.
    #[error("invalid RTP padding")]
    BadPadding,
}

/// A parsed RTP packet borrowing its payload from the received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Marker bit: start of a talkspurt for audio, first packet of a DTMF event.
    pub marker: bool,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp in clock-rate units (8000 Hz for G.711 and telephone-event).
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Payload with any padding removed.
    pub payload: &'a [u8],
}

/// True when a datagram on an RTP port looks like RTCP multiplexed on it (RFC 5761 §4:
/// second octet 192..=223 covers RTCP packet types SR, RR, SDES, BYE, APP and feedback).
pub fn looks_like_rtcp(datagram: &[u8]) -> bool {
    datagram.len() >= 8 && datagram[0] >> 6 == 2 && (192..=223).contains(&datagram[1])
}

/// Parses one RTP packet. Never panics, whatever the bytes.
pub fn parse_rtp(datagram: &[u8]) -> Result<RtpPacket<'_>, RtpParseError> {
    let truncated = RtpParseError::Truncated {
        len: datagram.len(),
    };
    if datagram.len() < RTP_HEADER_LEN {
        return Err(truncated);
    }
    let version = datagram[0] >> 6;
    if version != 2 {
        return Err(RtpParseError::BadVersion { version });
    }
    let mut reader: &[u8] = datagram;
    let header = Header::unmarshal(&mut reader).map_err(|_| truncated.clone())?;
    let header_len = datagram.len() - reader.remaining();
    let mut payload = &datagram[header_len..];
    if header.padding {
        let pad = usize::from(*payload.last().ok_or(RtpParseError::BadPadding)?);
        if pad == 0 || pad > payload.len() {
            return Err(RtpParseError::BadPadding);
        }
        payload = &payload[..payload.len() - pad];
    }
    Ok(RtpPacket {
        payload_type: header.payload_type,
        marker: header.marker,
        sequence: header.sequence_number,
        timestamp: header.timestamp,
        ssrc: header.ssrc,
        payload,
    })
}

/// The header fields of a packet to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutgoingHeader {
    /// Payload type.
    pub payload_type: u8,
    /// Marker bit.
    pub marker: bool,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp.
    pub timestamp: u32,
    /// Our synchronisation source.
    pub ssrc: u32,
}

/// Writes a 12-byte header followed by `payload` into `out`; returns the packet length,
/// or `None` when `out` is too small.
pub fn write_rtp(header: &OutgoingHeader, payload: &[u8], out: &mut [u8]) -> Option<usize> {
    let rtp_header = Header {
        version: 2,
        marker: header.marker,
        payload_type: header.payload_type & 0x7F,
        sequence_number: header.sequence,
        timestamp: header.timestamp,
        ssrc: header.ssrc,
        ..Header::default()
    };
    let header_len = rtp_header.marshal_size();
    let total = header_len + payload.len();
    if out.len() < total {
        return None;
    }
    let written = rtp_header.marshal_to(&mut out[..header_len]).ok()?;
    out[written..written + payload.len()].copy_from_slice(payload);
    Some(written + payload.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_header() -> OutgoingHeader {
        OutgoingHeader {
            payload_type: 0,
            marker: true,
            sequence: 65535,
            timestamp: 0xDEAD_BEEF,
            ssrc: 0x1234_5678,
        }
    }

    #[test]
    fn written_packet_parses_back() {
        let mut buf = [0u8; 200];
        let payload = [0xFFu8; 160];
        let len = write_rtp(&sample_header(), &payload, &mut buf).unwrap();
        assert_eq!(len, 172);
        assert_eq!(&buf[..2], &[0x80, 0x80]);
        let packet = parse_rtp(&buf[..len]).unwrap();
        assert_eq!(packet.payload_type, 0);
        assert!(packet.marker);
        assert_eq!(packet.sequence, 65535);
        assert_eq!(packet.timestamp, 0xDEAD_BEEF);
        assert_eq!(packet.ssrc, 0x1234_5678);
        assert_eq!(packet.payload, &payload[..]);
    }

    #[test]
    fn too_small_output_buffer_is_refused() {
        let mut buf = [0u8; 20];
        assert_eq!(write_rtp(&sample_header(), &[0u8; 160], &mut buf), None);
    }

    #[test]
    fn csrc_extension_and_padding_are_skipped() {
        // V=2 P=1 X=1 CC=1, PT 8, then CSRC, a one-word extension, payload, 3 padding bytes.
        let mut pkt = vec![0xB1, 0x08, 0, 1, 0, 0, 0, 160, 0, 0, 0, 9];
        pkt.extend_from_slice(&[1, 2, 3, 4]); // CSRC
        pkt.extend_from_slice(&[0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0]); // extension
        pkt.extend_from_slice(&[7, 7, 7, 7, 7]); // payload
        pkt.extend_from_slice(&[0, 0, 3]); // padding
        let packet = parse_rtp(&pkt).unwrap();
        assert_eq!(packet.payload_type, 8);
        assert_eq!(packet.payload, &[7, 7, 7, 7, 7]);
    }

    #[test]
    fn junk_is_rejected_not_panicking() {
        assert!(matches!(
            parse_rtp(&[]),
            Err(RtpParseError::Truncated { .. })
        ));
        assert!(matches!(
            parse_rtp(&[0x80; 11]),
            Err(RtpParseError::Truncated { .. })
        ));
        assert_eq!(
            parse_rtp(&[0x00; 20]),
            Err(RtpParseError::BadVersion { version: 0 })
        );
        // CC=15 claims 60 bytes of CSRC in a 20-byte datagram.
        assert!(matches!(
            parse_rtp(&[0x8F; 20]),
            Err(RtpParseError::Truncated { .. })
        ));
        // Padding byte larger than the payload.
        let mut pkt = vec![0xA0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 200];
        assert_eq!(parse_rtp(&pkt), Err(RtpParseError::BadPadding));
        pkt.truncate(12);
        assert_eq!(parse_rtp(&pkt), Err(RtpParseError::BadPadding));
    }

    #[test]
    fn rtcp_is_told_apart_from_rtp() {
        let sr = [0x80, 200, 0, 6, 0, 0, 0, 1];
        assert!(looks_like_rtcp(&sr));
        let mut buf = [0u8; 200];
        let len = write_rtp(&sample_header(), &[0u8; 160], &mut buf).unwrap();
        assert!(!looks_like_rtcp(&buf[..len]));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            let _ = parse_rtp(&bytes);
            let _ = looks_like_rtcp(&bytes);
        }
    }
}
