//! SDP offer/answer for one call leg (RFC 3264), audio only: PCMU, PCMA, telephone-event.
//!
//! `SdpSession` is a pure value holding our side: local address, capabilities, the `o=`
//! session id and version, and whether we hold the peer. It answers offers (initial INVITE
//! or re-INVITE), builds offers (INVITE without SDP, the caller bot, re-offers) and
//! accepts answers. Parsing is `rtc-sdp`'s; what we write is small enough to print here.
//!
//! What is accepted: the first `m=audio` line with a non-zero port, profile `RTP/AVP` or
//! `RTP/AVPF`, and PCMU or PCMA (static or by `a=rtpmap`), picked in the offerer's order;
//! `telephone-event/8000` is answered when offered. Every other `m=` line is declined with
//! port 0. `RTP/SAVP` (SRTP) is declined until SRTP lands. `c=` at media level overrides the
//! session level; `c=0.0.0.0` is the old hold and means the peer receives nothing.
//! Nothing usable gives `SdpError::NotAcceptable` (SIP 488).

use std::fmt::Write as _;
use std::io::Cursor;
use std::net::{IpAddr, SocketAddr};

use rtc_sdp::MediaDescription;
use rtc_sdp::SessionDescription;

use super::g711::G711Law;

/// Payload type we use for telephone-event in our offers.
pub const OUR_DTMF_PAYLOAD_TYPE: u8 = 101;
/// Packetisation time we send and ask for.
pub const PTIME_MS: u32 = 20;

/// An audio codec we speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    /// G.711 µ-law.
    Pcmu,
    /// G.711 A-law.
    Pcma,
}

impl AudioCodec {
    /// The static RTP payload type.
    pub fn static_payload_type(self) -> u8 {
        match self {
            AudioCodec::Pcmu => 0,
            AudioCodec::Pcma => 8,
        }
    }

    /// The `a=rtpmap` encoding name.
    pub fn encoding_name(self) -> &'static str {
        match self {
            AudioCodec::Pcmu => "PCMU",
            AudioCodec::Pcma => "PCMA",
        }
    }

    /// The G.711 law.
    pub fn law(self) -> G711Law {
        match self {
            AudioCodec::Pcmu => G711Law::Ulaw,
            AudioCodec::Pcma => G711Law::Alaw,
        }
    }

    fn from_static(payload_type: u8) -> Option<Self> {
        match payload_type {
            0 => Some(AudioCodec::Pcmu),
            8 => Some(AudioCodec::Pcma),
            _ => None,
        }
    }

    fn from_encoding_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("PCMU") {
            Some(AudioCodec::Pcmu)
        } else if name.eq_ignore_ascii_case("PCMA") {
            Some(AudioCodec::Pcma)
        } else {
            None
        }
    }
}

/// A media direction (RFC 3264 §5.1), always from the point of view of the side that
/// wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Both ways.
    #[default]
    SendRecv,
    /// Only sends (puts the other side on hold).
    SendOnly,
    /// Only receives.
    RecvOnly,
    /// Neither.
    Inactive,
}

impl Direction {
    /// From send and receive flags.
    pub fn from_flags(sends: bool, receives: bool) -> Self {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// True when this side sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// True when this side receives media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The same stream seen from the other side.
    pub fn reversed(self) -> Self {
        Direction::from_flags(self.receives(), self.sends())
    }

    /// What both allow.
    pub fn intersect(self, other: Direction) -> Self {
        Direction::from_flags(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }

    fn attribute(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
}

/// What we offer and accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaCapabilities {
    /// Codecs we accept, in our preference order (used when we offer).
    pub codecs: Vec<AudioCodec>,
    /// Whether we offer and answer RFC 4733 telephone-event.
    pub telephone_event: bool,
}

impl Default for MediaCapabilities {
    fn default() -> Self {
        MediaCapabilities {
            codecs: vec![AudioCodec::Pcmu, AudioCodec::Pcma],
            telephone_event: true,
        }
    }
}

/// The outcome of a negotiation: what the RTP session needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedMedia {
    /// Where the peer receives RTP; `None` for `c=0.0.0.0` (old-style hold).
    pub remote_rtp: Option<SocketAddr>,
    /// Where the peer receives RTCP (`a=rtcp`, else RTP port + 1).
    pub remote_rtcp: Option<SocketAddr>,
    /// The codec both sides use.
    pub codec: AudioCodec,
    /// Its payload type.
    pub payload_type: u8,
    /// The telephone-event payload type we send with (the one in the peer's SDP), when
    /// both sides support it.
    pub dtmf_payload_type: Option<u8>,
    /// The telephone-event payload type the peer sends with: the one in *our* SDP
    /// (RFC 3264 §5.1). Equal to `dtmf_payload_type` when we answered; may differ when we
    /// offered and the answer renumbered it.
    pub receive_dtmf_payload_type: Option<u8>,
    /// Our direction: whether we send and whether we receive.
    pub direction: Direction,
    /// The peer's requested packetisation time, if it gave one (we always send 20 ms).
    pub remote_ptime_ms: Option<u32>,
}

/// Why negotiation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// The body is not SDP we can parse.
    #[error("malformed SDP: {0}")]
    Malformed(String),
    /// Nothing in it we can use: answer 488 Not Acceptable Here.
    #[error("no acceptable media: {0}")]
    NotAcceptable(String),
}

/// Our side of the SDP exchange for one call leg.
#[derive(Debug, Clone)]
pub struct SdpSession {
    local: SocketAddr,
    capabilities: MediaCapabilities,
    session_id: u64,
    version: u64,
    holding: bool,
    last_body: Option<String>,
}

/// One m= line found usable in a description.
struct UsableAudio {
    index: usize,
    codec: AudioCodec,
    payload_type: u8,
    dtmf_payload_type: Option<u8>,
    direction: Direction,
    remote_rtp: Option<SocketAddr>,
    remote_rtcp: Option<SocketAddr>,
    ptime: Option<u32>,
}

impl SdpSession {
    /// Our side, with RTP at `local` (the address written in `c=` and `m=`): it must be
    /// an address the peer can reach, never `0.0.0.0` (which means hold in SDP).
    pub fn new(local: SocketAddr, capabilities: MediaCapabilities, session_id: u64) -> Self {
        SdpSession {
            local,
            capabilities,
            session_id,
            version: 1,
            holding: false,
            last_body: None,
        }
    }

    /// The current `o=` version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Puts the peer on hold (we offer `sendonly`) or takes it off hold, for later offers.
    pub fn set_holding(&mut self, holding: bool) {
        self.holding = holding;
    }

    fn local_direction(&self) -> Direction {
        if self.holding {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        }
    }

    /// Answers an offer (initial or re-INVITE). `NotAcceptable` means SIP 488.
    pub fn answer(&mut self, offer: &str) -> Result<(String, NegotiatedMedia), SdpError> {
        let description = parse(offer)?;
        let usable = self.find_usable(&description)?;
        let direction = usable
            .direction
            .reversed()
            .intersect(self.local_direction());
        let mut media = String::new();
        for (index, m) in description.media_descriptions.iter().enumerate() {
            if index == usable.index {
                let dtmf = usable.dtmf_payload_type;
                write_audio_media(
                    &mut media,
                    self.local.port(),
                    "RTP/AVP",
                    usable.codec,
                    usable.payload_type,
                    dtmf,
                    &[],
                    direction,
                );
            } else {
                write_declined_media(&mut media, m);
            }
        }
        let body = self.finish(&media);
        let negotiated = NegotiatedMedia {
            remote_rtp: usable.remote_rtp,
            remote_rtcp: usable.remote_rtcp,
            codec: usable.codec,
            payload_type: usable.payload_type,
            dtmf_payload_type: usable.dtmf_payload_type,
            receive_dtmf_payload_type: usable.dtmf_payload_type,
            direction,
            remote_ptime_ms: usable.ptime,
        };
        Ok((body, negotiated))
    }

    /// Builds our offer (INVITE without SDP, the caller bot, a re-offer for hold/resume).
    pub fn offer(&mut self) -> String {
        let mut media = String::new();
        let codecs = &self.capabilities.codecs;
        let first = codecs.first().copied().unwrap_or(AudioCodec::Pcmu);
        let dtmf = self
            .capabilities
            .telephone_event
            .then_some(OUR_DTMF_PAYLOAD_TYPE);
        let others: Vec<AudioCodec> = codecs.iter().skip(1).copied().collect();
        write_audio_media(
            &mut media,
            self.local.port(),
            "RTP/AVP",
            first,
            first.static_payload_type(),
            dtmf,
            &others,
            self.local_direction(),
        );
        self.finish(&media)
    }

    /// Accepts the answer to our offer (a 200 OK, or the ACK after an offer in our 200).
    pub fn accept_answer(&mut self, answer: &str) -> Result<NegotiatedMedia, SdpError> {
        let description = parse(answer)?;
        let usable = self.find_usable(&description)?;
        Ok(NegotiatedMedia {
            remote_rtp: usable.remote_rtp,
            remote_rtcp: usable.remote_rtcp,
            codec: usable.codec,
            payload_type: usable.payload_type,
            dtmf_payload_type: usable.dtmf_payload_type,
            receive_dtmf_payload_type: usable.dtmf_payload_type.and(
                self.capabilities
                    .telephone_event
                    .then_some(OUR_DTMF_PAYLOAD_TYPE),
            ),
            direction: usable
                .direction
                .reversed()
                .intersect(self.local_direction()),
            remote_ptime_ms: usable.ptime,
        })
    }

    /// Adds the session-level lines; bumps the version when the body changed (RFC 3264 §8).
    fn finish(&mut self, media: &str) -> String {
        let (family, ip) = address_fields(self.local.ip());
        let mut rest = String::new();
        let _ = write!(rest, "s=Hotline\r\nc=IN {family} {ip}\r\nt=0 0\r\n{media}");
        if self.last_body.as_ref().is_some_and(|last| *last != rest) {
            self.version += 1;
        }
        let body = format!(
            "v=0\r\no=hotline {} {} IN {family} {ip}\r\n{rest}",
            self.session_id, self.version
        );
        self.last_body = Some(rest);
        body
    }

    /// The first acceptable audio stream (in an answer, the peer's telephone-event PT is
    /// used as given).
    fn find_usable(&self, description: &SessionDescription) -> Result<UsableAudio, SdpError> {
        if description.media_descriptions.is_empty() {
            return Err(SdpError::NotAcceptable("no m= line".into()));
        }
        let session_address = description
            .connection_information
            .as_ref()
            .and_then(|c| c.address.as_ref())
            .map(|a| a.address.as_str());
        let session_direction = direction_of(&description.attributes);
        let mut reasons = Vec::new();
        for (index, media) in description.media_descriptions.iter().enumerate() {
            match self.usable_audio(media, session_address, session_direction) {
                Ok(mut usable) => {
                    usable.index = index;
                    return Ok(usable);
                }
                Err(reason) => reasons.push(format!("m={} {reason}", media.media_name.media)),
            }
        }
        Err(SdpError::NotAcceptable(reasons.join("; ")))
    }

    fn usable_audio(
        &self,
        media: &MediaDescription,
        session_address: Option<&str>,
        session_direction: Option<Direction>,
    ) -> Result<UsableAudio, String> {
        let name = &media.media_name;
        if name.media != "audio" {
            return Err("is not audio".into());
        }
        let port = u16::try_from(name.port.value).map_err(|_| "has an invalid port".to_string())?;
        if port == 0 {
            return Err("is declined (port 0)".into());
        }
        let profile = name.protos.join("/");
        if profile != "RTP/AVP" && profile != "RTP/AVPF" {
            return Err(format!("uses {profile}, which we do not support"));
        }
        let rtpmaps: Vec<(u8, String)> = media
            .attributes
            .iter()
            .filter(|a| a.key == "rtpmap")
            .filter_map(|a| parse_rtpmap(a.value.as_deref()?))
            .collect();
        let mut chosen = None;
        let mut dtmf = None;
        for format in &name.formats {
            let Ok(payload_type) = format.parse::<u8>() else {
                continue;
            };
            let mapped = rtpmaps
                .iter()
                .find(|(pt, _)| *pt == payload_type)
                .map(|(_, enc)| enc.as_str());
            let codec = match mapped {
                Some(encoding) => encoding
                    .strip_suffix("/8000")
                    .or_else(|| encoding.strip_suffix("/8000/1"))
                    .and_then(AudioCodec::from_encoding_name),
                None => AudioCodec::from_static(payload_type),
            };
            if let Some(codec) = codec {
                if chosen.is_none() && self.capabilities.codecs.contains(&codec) {
                    chosen = Some((codec, payload_type));
                }
            } else if mapped.is_some_and(|e| e.eq_ignore_ascii_case("telephone-event/8000"))
                && self.capabilities.telephone_event
                && dtmf.is_none()
            {
                dtmf = Some(payload_type);
            }
        }
        let Some((codec, payload_type)) = chosen else {
            return Err(format!(
                "offers no PCMU or PCMA (formats {})",
                name.formats.join(" ")
            ));
        };
        let address = media
            .connection_information
            .as_ref()
            .and_then(|c| c.address.as_ref())
            .map(|a| a.address.as_str())
            .or(session_address)
            .ok_or_else(|| "has no c= address".to_string())?;
        // `c=` may carry a TTL or count after a slash (multicast); unicast has none.
        let ip: IpAddr = address
            .split('/')
            .next()
            .unwrap_or(address)
            .parse()
            .map_err(|_| format!("has an unusable address {address:?}"))?;
        let mut direction = direction_of(&media.attributes)
            .or(session_direction)
            .unwrap_or_default();
        let remote_rtp = if ip.is_unspecified() {
            // RFC 2543 hold: the peer will not receive.
            direction = Direction::from_flags(direction.sends(), false);
            None
        } else {
            Some(SocketAddr::new(ip, port))
        };
        let remote_rtcp = remote_rtp.map(|rtp| rtcp_address(media, rtp));
        let ptime = media
            .attribute("ptime")
            .flatten()
            .and_then(|v| v.trim().parse().ok());
        Ok(UsableAudio {
            index: 0,
            codec,
            payload_type,
            dtmf_payload_type: dtmf,
            direction,
            remote_rtp,
            remote_rtcp,
            ptime,
        })
    }
}

fn parse(body: &str) -> Result<SessionDescription, SdpError> {
    let trimmed = body.trim_start();
    if trimmed.is_empty() {
        return Err(SdpError::Malformed("empty body".into()));
    }
    // rtc-sdp wants each line terminated; a body cut after its last line is common.
    let mut text = trimmed.to_string();
    if !text.ends_with('\n') {
        text.push_str("\r\n");
    }
    SessionDescription::unmarshal(&mut Cursor::new(text.as_bytes()))
        .map_err(|e| SdpError::Malformed(e.to_string()))
}

fn parse_rtpmap(value: &str) -> Option<(u8, String)> {
    let (pt, encoding) = value.trim().split_once(' ')?;
    Some((pt.parse().ok()?, encoding.trim().to_string()))
}

fn direction_of(attributes: &[rtc_sdp::description::common::Attribute]) -> Option<Direction> {
    attributes.iter().rev().find_map(|a| match a.key.as_str() {
        "sendrecv" => Some(Direction::SendRecv),
        "sendonly" => Some(Direction::SendOnly),
        "recvonly" => Some(Direction::RecvOnly),
        "inactive" => Some(Direction::Inactive),
        _ => None,
    })
}

/// `a=rtcp:port [IN IP4 addr]` (RFC 3605), else RTP port + 1.
fn rtcp_address(media: &MediaDescription, rtp: SocketAddr) -> SocketAddr {
    let parsed = media.attribute("rtcp").flatten().and_then(|value| {
        let mut parts = value.split_whitespace();
        let port: u16 = parts.next()?.parse().ok()?;
        let ip = match (parts.next(), parts.next(), parts.next()) {
            (Some("IN"), Some(_), Some(addr)) => addr.parse().ok()?,
            _ => rtp.ip(),
        };
        Some(SocketAddr::new(ip, port))
    });
    parsed.unwrap_or_else(|| SocketAddr::new(rtp.ip(), rtp.port().wrapping_add(1)))
}

fn address_fields(ip: IpAddr) -> (&'static str, String) {
    match ip {
        IpAddr::V4(v4) => ("IP4", v4.to_string()),
        IpAddr::V6(v6) => ("IP6", v6.to_string()),
    }
}

#[allow(clippy::too_many_arguments)]
fn write_audio_media(
    out: &mut String,
    port: u16,
    profile: &str,
    codec: AudioCodec,
    payload_type: u8,
    dtmf: Option<u8>,
    more_codecs: &[AudioCodec],
    direction: Direction,
) {
    let mut formats = payload_type.to_string();
    for extra in more_codecs {
        let _ = write!(formats, " {}", extra.static_payload_type());
    }
    if let Some(dtmf) = dtmf {
        let _ = write!(formats, " {dtmf}");
    }
    let _ = write!(out, "m=audio {port} {profile} {formats}\r\n");
    let _ = write!(
        out,
        "a=rtpmap:{payload_type} {}/8000\r\n",
        codec.encoding_name()
    );
    for extra in more_codecs {
        let _ = write!(
            out,
            "a=rtpmap:{} {}/8000\r\n",
            extra.static_payload_type(),
            extra.encoding_name()
        );
    }
    if let Some(dtmf) = dtmf {
        let _ = write!(
            out,
            "a=rtpmap:{dtmf} telephone-event/8000\r\na=fmtp:{dtmf} 0-16\r\n"
        );
    }
    let _ = write!(out, "a=ptime:{PTIME_MS}\r\na={}\r\n", direction.attribute());
}

/// A declined stream (RFC 3264 §6): same media and profile, port 0, one format.
fn write_declined_media(out: &mut String, media: &MediaDescription) {
    let name = &media.media_name;
    let profile = if name.protos.is_empty() {
        "RTP/AVP".to_string()
    } else {
        name.protos.join("/")
    };
    let format = name.formats.first().map(String::as_str).unwrap_or("0");
    let _ = write!(out, "m={} 0 {profile} {format}\r\n", name.media);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_algebra() {
        assert_eq!(Direction::SendOnly.reversed(), Direction::RecvOnly);
        assert_eq!(Direction::Inactive.reversed(), Direction::Inactive);
        assert_eq!(
            Direction::SendRecv.intersect(Direction::SendOnly),
            Direction::SendOnly
        );
        assert_eq!(
            Direction::RecvOnly.intersect(Direction::SendOnly),
            Direction::Inactive
        );
    }

    #[test]
    fn rtpmap_parsing() {
        assert_eq!(
            parse_rtpmap("101 telephone-event/8000"),
            Some((101, "telephone-event/8000".into()))
        );
        assert_eq!(parse_rtpmap("x PCMU/8000"), None);
    }
}
