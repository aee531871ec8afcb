//! RTCP for a call leg: building basic sender reports and reading whatever the peer sends.
//!
//! We send an SR with an SDES CNAME every few seconds (RFC 3550 §6.4.1, §6.5.1) so peers
//! and monitoring see a live stream; reception-report blocks are left out for now. What
//! arrives is parsed with `rtc-rtcp` and summarised; malformed RTCP is counted, never fatal.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rtc_rtcp::goodbye::Goodbye;
use rtc_rtcp::packet::Packet;
use rtc_rtcp::receiver_report::ReceiverReport;
use rtc_rtcp::sender_report::SenderReport;
use rtc_rtcp::source_description::{
    SdesType, SourceDescription, SourceDescriptionChunk, SourceDescriptionItem,
};

/// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

/// The 64-bit NTP timestamp of a wall-clock time (RFC 3550 §4).
pub fn ntp_timestamp(time: SystemTime) -> u64 {
    let since_unix = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_unix.as_secs() + NTP_UNIX_OFFSET_SECS;
    let fraction = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
    (seconds << 32) | fraction
}

/// What goes into one sender report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderReportInfo {
    /// Our SSRC.
    pub ssrc: u32,
    /// Wall-clock time of the report, NTP format.
    pub ntp_time: u64,
    /// The RTP timestamp corresponding to `ntp_time`.
    pub rtp_time: u32,
    /// Packets sent so far.
    pub packet_count: u32,
    /// Payload octets sent so far.
    pub octet_count: u32,
    /// Our canonical name (for example `hotline@host`).
    pub cname: String,
}

/// Builds a compound SR + SDES(CNAME) packet; `None` if the CNAME is too long to encode.
pub fn build_sender_report(info: &SenderReportInfo) -> Option<Vec<u8>> {
    let sr = SenderReport {
        ssrc: info.ssrc,
        ntp_time: info.ntp_time,
        rtp_time: info.rtp_time,
        packet_count: info.packet_count,
        octet_count: info.octet_count,
        ..SenderReport::default()
    };
    let sdes = SourceDescription {
        chunks: vec![SourceDescriptionChunk {
            source: info.ssrc,
            items: vec![SourceDescriptionItem {
                sdes_type: SdesType::SdesCname,
                text: Bytes::from(info.cname.clone().into_bytes()),
            }],
        }],
    };
    let packets: Vec<Box<dyn Packet>> = vec![Box::new(sr), Box::new(sdes)];
    rtc_rtcp::packet::marshal(&packets).ok().map(|b| b.to_vec())
}

/// What a received RTCP datagram said, as far as we care.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RtcpSummary {
    /// Sender reports in it.
    pub sender_reports: u32,
    /// Receiver reports in it.
    pub receiver_reports: u32,
    /// True when the peer said BYE.
    pub bye: bool,
}

/// Reads an RTCP datagram; `None` when it is not valid RTCP.
pub fn parse_rtcp(datagram: &[u8]) -> Option<RtcpSummary> {
    let mut reader = datagram;
    let packets = rtc_rtcp::packet::unmarshal(&mut reader).ok()?;
    let mut summary = RtcpSummary::default();
    for packet in &packets {
        let any = packet.as_any();
        if any.is::<SenderReport>() {
            summary.sender_reports += 1;
        } else if any.is::<ReceiverReport>() {
            summary.receiver_reports += 1;
        } else if any.is::<Goodbye>() {
            summary.bye = true;
        }
    }
    Some(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sender_report_is_a_valid_compound_packet() {
        let info = SenderReportInfo {
            ssrc: 0xABCD,
            ntp_time: ntp_timestamp(UNIX_EPOCH + Duration::from_millis(1500)),
            rtp_time: 16_000,
            packet_count: 100,
            octet_count: 16_000,
            cname: "hotline@test".into(),
        };
        let bytes = build_sender_report(&info).unwrap();
        assert_eq!(bytes[0] >> 6, 2);
        assert_eq!(bytes[1], 200);
        let summary = parse_rtcp(&bytes).unwrap();
        assert_eq!(summary.sender_reports, 1);
        assert!(!summary.bye);
        let mut reader = &bytes[..];
        let packets = rtc_rtcp::packet::unmarshal(&mut reader).unwrap();
        let sr = packets[0].as_any().downcast_ref::<SenderReport>().unwrap();
        assert_eq!(
            (sr.ssrc, sr.rtp_time, sr.packet_count),
            (0xABCD, 16_000, 100)
        );
        // 1.5 s after the Unix epoch: seconds part, then half of 2^32 as the fraction.
        assert_eq!(sr.ntp_time >> 32, NTP_UNIX_OFFSET_SECS + 1);
        assert_eq!(sr.ntp_time & 0xFFFF_FFFF, 1 << 31);
    }

    #[test]
    fn bye_and_receiver_reports_are_recognised() {
        let packets: Vec<Box<dyn Packet>> = vec![
            Box::new(ReceiverReport {
                ssrc: 5,
                ..Default::default()
            }),
            Box::new(Goodbye {
                sources: vec![5],
                reason: Bytes::new(),
            }),
        ];
        let bytes = rtc_rtcp::packet::marshal(&packets).unwrap();
        let summary = parse_rtcp(&bytes).unwrap();
        assert_eq!((summary.receiver_reports, summary.bye), (1, true));
    }

    #[test]
    fn junk_is_refused_quietly() {
        assert_eq!(parse_rtcp(&[]), None);
        assert_eq!(parse_rtcp(&[0x80, 200, 0xFF, 0xFF, 1, 2, 3, 4]), None);
        assert_eq!(parse_rtcp(b"not rtcp at all"), None);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let mut bytes = bytes;
            if bytes.len() > 1 { bytes[0] = 0x80 | (bytes[0] & 0x3F); bytes[1] = 200 + bytes[1] % 8; }
            let _ = parse_rtcp(&bytes);
        }
    }
}
