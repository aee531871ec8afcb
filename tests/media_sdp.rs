//! SDP offer/answer against offers shaped like real phones and servers send them.

use std::net::SocketAddr;

use hotline::media::sdp::{
    AudioCodec, Direction, MediaCapabilities, NegotiatedMedia, SdpError, SdpSession,
};

fn local() -> SdpSession {
    let addr: SocketAddr = "198.51.100.10:20000".parse().unwrap();
    SdpSession::new(addr, MediaCapabilities::default(), 4242)
}

fn addr(s: &str) -> Option<SocketAddr> {
    Some(s.parse().unwrap())
}

/// Answers and checks that what we wrote parses again and has as many m= lines.
fn answer(offer: &str) -> (String, NegotiatedMedia) {
    let (body, media) = local().answer(offer).expect("acceptable offer");
    let reparsed =
        rtc_sdp::SessionDescription::unmarshal(&mut std::io::Cursor::new(body.as_bytes()))
            .expect("our answer parses");
    let offered_lines = offer.lines().filter(|l| l.starts_with("m=")).count();
    assert_eq!(reparsed.media_descriptions.len(), offered_lines, "{body}");
    (body, media)
}

const BARESIP: &str = "v=0\r\n\
o=- 1753452178 2417846232 IN IP4 192.0.2.20\r\n\
s=-\r\n\
c=IN IP4 192.0.2.20\r\n\
t=0 0\r\n\
m=audio 10000 RTP/AVP 96 0 8 101\r\n\
b=AS:64\r\n\
a=rtpmap:96 opus/48000/2\r\n\
a=fmtp:96 stereo=1;sprop-stereo=1\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=rtcp-rsize\r\n\
a=sendrecv\r\n\
a=label:1\r\n\
a=ssrc:2734210598 cname:78f1b5e3-0c2e-4a1b\r\n\
a=ptime:20\r\n";

// LF-only line endings, several telephone-event rates, session-level a= lines.
const LINPHONE: &str = "v=0\n\
o=alice 3019 1844 IN IP4 192.0.2.8\n\
s=Talk\n\
c=IN IP4 192.0.2.8\n\
t=0 0\n\
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\n\
m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100\n\
a=rtpmap:96 opus/48000/2\n\
a=fmtp:96 useinbandfec=1\n\
a=rtpmap:97 speex/16000\n\
a=fmtp:97 vbr=on\n\
a=rtpmap:98 speex/8000\n\
a=fmtp:98 vbr=on\n\
a=fmtp:18 annexb=yes\n\
a=rtpmap:101 telephone-event/48000\n\
a=rtpmap:99 telephone-event/16000\n\
a=rtpmap:100 telephone-event/8000\n\
a=rtcp-fb:* trr-int 1000\n\
a=rtcp-fb:* ccm tmmbr\n";

const ASTERISK: &str = "v=0\r\n\
o=- 1500000000 1500000000 IN IP4 203.0.113.5\r\n\
s=Asterisk\r\n\
c=IN IP4 203.0.113.5\r\n\
t=0 0\r\n\
m=audio 14062 RTP/AVP 8 0 3 101\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:3 GSM/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=maxptime:150\r\n\
a=sendrecv\r\n";

// c= only at media level, b= lines, a=rtcp with an address, ptime 30.
const YEALINK: &str = "v=0\r\n\
o=- 20001 20001 IN IP4 192.0.2.50\r\n\
s=SDP data\r\n\
t=0 0\r\n\
m=audio 11780 RTP/AVP 0 8 18 9 101\r\n\
c=IN IP4 192.0.2.50\r\n\
b=AS:84\r\n\
b=TIAS:64000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:18 G729/8000\r\n\
a=fmtp:18 annexb=no\r\n\
a=rtpmap:9 G722/8000\r\n\
a=ptime:30\r\n\
a=sendrecv\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=rtcp:11791 IN IP4 192.0.2.51\r\n";

#[test]
fn baresip_offer_gets_pcmu_and_dtmf() {
    let (body, media) = answer(BARESIP);
    assert_eq!(media.codec, AudioCodec::Pcmu);
    assert_eq!(media.payload_type, 0);
    assert_eq!(media.dtmf_payload_type, Some(101));
    assert_eq!(media.remote_rtp, addr("192.0.2.20:10000"));
    assert_eq!(media.remote_rtcp, addr("192.0.2.20:10001"));
    assert_eq!(media.direction, Direction::SendRecv);
    assert!(body.contains("m=audio 20000 RTP/AVP 0 101\r\n"), "{body}");
    assert!(body.contains("c=IN IP4 198.51.100.10\r\n"));
    assert!(body.contains("a=rtpmap:101 telephone-event/8000\r\n"));
    assert!(body.contains("a=ptime:20\r\n") && body.contains("a=sendrecv\r\n"));
    assert!(!body.contains("opus"));
}

#[test]
fn linphone_lf_only_offer_picks_the_8khz_telephone_event() {
    let (_, media) = answer(LINPHONE);
    assert_eq!(media.codec, AudioCodec::Pcmu);
    assert_eq!(media.dtmf_payload_type, Some(100));
    assert_eq!(media.remote_rtp, addr("192.0.2.8:7078"));
}

#[test]
fn asterisk_offer_order_is_respected() {
    let (body, media) = answer(ASTERISK);
    assert_eq!(media.codec, AudioCodec::Pcma);
    assert_eq!(media.payload_type, 8);
    assert!(body.contains("m=audio 20000 RTP/AVP 8 101\r\n"), "{body}");
}

#[test]
fn yealink_media_level_connection_and_rtcp_attribute() {
    let (_, media) = answer(YEALINK);
    assert_eq!(media.codec, AudioCodec::Pcmu);
    assert_eq!(media.remote_rtp, addr("192.0.2.50:11780"));
    assert_eq!(media.remote_rtcp, addr("192.0.2.51:11791"));
    assert_eq!(media.remote_ptime_ms, Some(30));
}

#[test]
fn best_effort_crypto_on_plain_rtp_is_answered_without_crypto() {
    let offer = "v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n\
m=audio 10002 RTP/AVP 0 101\r\n\
a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\r\n\
a=sendrecv\r\n";
    let (body, media) = answer(offer);
    assert_eq!(media.codec, AudioCodec::Pcmu);
    assert!(!body.contains("crypto"));
}

#[test]
fn srtp_only_offer_is_not_acceptable_for_now() {
    let offer = "v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n\
m=audio 10002 RTP/SAVP 0\r\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";
    let err = local().answer(offer).unwrap_err();
    assert!(
        matches!(&err, SdpError::NotAcceptable(r) if r.contains("RTP/SAVP")),
        "{err}"
    );
}

#[test]
fn video_is_declined_and_audio_accepted_in_place() {
    let offer = "v=0\r\no=- 1 1 IN IP4 192.0.2.8\r\ns=-\r\nc=IN IP4 192.0.2.8\r\nt=0 0\r\n\
m=video 9078 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n\
m=audio 0 RTP/AVP 0\r\n\
m=audio 7078 RTP/AVP 8\r\n";
    let (body, media) = answer(offer);
    assert_eq!(media.codec, AudioCodec::Pcma);
    assert_eq!(media.remote_rtp, addr("192.0.2.8:7078"));
    assert_eq!(media.dtmf_payload_type, None);
    let m_lines: Vec<&str> = body.lines().filter(|l| l.starts_with("m=")).collect();
    assert_eq!(
        m_lines,
        vec![
            "m=video 0 RTP/AVP 96",
            "m=audio 0 RTP/AVP 0",
            "m=audio 20000 RTP/AVP 8"
        ]
    );
    assert!(!body.contains("telephone-event"));
}

#[test]
fn offers_without_usable_audio_are_not_acceptable() {
    let video_only = "v=0\r\no=- 1 1 IN IP4 192.0.2.8\r\ns=-\r\nc=IN IP4 192.0.2.8\r\nt=0 0\r\n\
m=video 9078 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n";
    let unsupported = "v=0\r\no=- 1 1 IN IP4 192.0.2.8\r\ns=-\r\nc=IN IP4 192.0.2.8\r\nt=0 0\r\n\
m=audio 9000 RTP/AVP 18 96 101\r\na=rtpmap:18 G729/8000\r\na=rtpmap:96 opus/48000/2\r\n\
a=rtpmap:101 telephone-event/8000\r\n";
    let no_media = "v=0\r\no=- 1 1 IN IP4 192.0.2.8\r\ns=-\r\nc=IN IP4 192.0.2.8\r\nt=0 0\r\n";
    let declined = "v=0\r\no=- 1 1 IN IP4 192.0.2.8\r\ns=-\r\nc=IN IP4 192.0.2.8\r\nt=0 0\r\n\
m=audio 0 RTP/AVP 0\r\n";
    let no_address =
        "v=0\r\no=- 1 1 IN IP4 192.0.2.8\r\ns=-\r\nt=0 0\r\nm=audio 9000 RTP/AVP 0\r\n";
    for offer in [video_only, unsupported, no_media, declined, no_address] {
        let result = local().answer(offer);
        assert!(
            matches!(result, Err(SdpError::NotAcceptable(_))),
            "{result:?} for {offer}"
        );
    }
}

#[test]
fn garbage_is_malformed_not_a_panic() {
    for body in [
        "",
        "hello",
        "v=0\r\nm=audio\r\n",
        "v=0\r\no=- 1 1 IN IP4 192.0.2.8\r\ns=-\r\nt=0 0\r\nm=audio x RTP/AVP 0\r\n",
    ] {
        assert!(local().answer(body).is_err(), "{body:?}");
    }
}

#[test]
fn hold_and_resume_from_the_peer() {
    let mut ours = local();
    let (_, media) = ours.answer(ASTERISK).unwrap();
    assert!(media.direction.sends());
    let version = ours.version();

    let hold = ASTERISK.replace("a=sendrecv", "a=sendonly");
    let (body, media) = ours.answer(&hold).unwrap();
    assert_eq!(media.direction, Direction::RecvOnly);
    assert!(body.contains("a=recvonly\r\n"));
    assert_eq!(ours.version(), version + 1);

    let inactive = ASTERISK.replace("a=sendrecv", "a=inactive");
    assert_eq!(
        ours.answer(&inactive).unwrap().1.direction,
        Direction::Inactive
    );

    // RFC 2543 hold: c=0.0.0.0, no direction attribute.
    let old_hold = ASTERISK
        .replace("c=IN IP4 203.0.113.5", "c=IN IP4 0.0.0.0")
        .replace("a=sendrecv\r\n", "");
    let media = ours.answer(&old_hold).unwrap().1;
    assert_eq!(media.remote_rtp, None);
    assert!(!media.direction.sends());

    let (_, media) = ours.answer(ASTERISK).unwrap();
    assert_eq!(media.direction, Direction::SendRecv);
    assert_eq!(media.remote_rtp, addr("203.0.113.5:14062"));
}

#[test]
fn reinvite_with_a_new_address_and_unchanged_answers_keep_the_version() {
    let mut ours = local();
    ours.answer(ASTERISK).unwrap();
    let v1 = ours.version();
    ours.answer(ASTERISK).unwrap();
    assert_eq!(ours.version(), v1, "identical answer keeps its version");
    let moved = ASTERISK
        .replace("203.0.113.5", "203.0.113.77")
        .replace("14062", "16000");
    let (_, media) = ours.answer(&moved).unwrap();
    assert_eq!(media.remote_rtp, addr("203.0.113.77:16000"));
    assert_eq!(ours.version(), v1, "our own description did not change");
}

#[test]
fn our_offer_and_the_answer_to_it() {
    let mut ours = local();
    let offer = ours.offer();
    assert!(
        offer.contains("m=audio 20000 RTP/AVP 0 8 101\r\n"),
        "{offer}"
    );
    assert!(offer.contains("a=rtpmap:8 PCMA/8000\r\n"));
    // The far end (another SdpSession here) answers it.
    let far_addr: SocketAddr = "192.0.2.99:30000".parse().unwrap();
    let mut far = SdpSession::new(far_addr, MediaCapabilities::default(), 7);
    let (answer_body, far_media) = far.answer(&offer).unwrap();
    assert_eq!(far_media.remote_rtp, addr("198.51.100.10:20000"));
    let media = ours.accept_answer(&answer_body).unwrap();
    assert_eq!(media.codec, AudioCodec::Pcmu);
    assert_eq!(media.dtmf_payload_type, Some(101));
    assert_eq!(media.remote_rtp, Some(far_addr));
    assert_eq!(media.direction, Direction::SendRecv);

    // We put the peer on hold: a sendonly re-offer with a bumped version.
    let v = ours.version();
    ours.set_holding(true);
    let hold_offer = ours.offer();
    assert!(hold_offer.contains("a=sendonly\r\n"));
    assert_eq!(ours.version(), v + 1);
    let (hold_answer, far_media) = far.answer(&hold_offer).unwrap();
    assert_eq!(far_media.direction, Direction::RecvOnly);
    assert_eq!(
        ours.accept_answer(&hold_answer).unwrap().direction,
        Direction::SendOnly
    );
}

#[test]
fn pcma_only_capabilities_refuse_pcmu_offers() {
    let addr: SocketAddr = "198.51.100.10:20000".parse().unwrap();
    let caps = MediaCapabilities {
        codecs: vec![AudioCodec::Pcma],
        telephone_event: false,
    };
    let mut ours = SdpSession::new(addr, caps, 1);
    let (body, media) = ours.answer(BARESIP).unwrap();
    assert_eq!(media.codec, AudioCodec::Pcma);
    assert_eq!(media.dtmf_payload_type, None);
    assert!(!body.contains("telephone-event"));
    let pcmu_only = BARESIP.replace("96 0 8 101", "0");
    assert!(matches!(
        ours.answer(&pcmu_only),
        Err(SdpError::NotAcceptable(_))
    ));
}

#[test]
fn ipv6_offer_is_answered() {
    let offer = "v=0\r\no=- 1 1 IN IP6 2001:db8::5\r\ns=-\r\nc=IN IP6 2001:db8::5\r\nt=0 0\r\nm=audio 9000 RTP/AVP 0\r\n";
    let (_, media) = answer(offer);
    assert_eq!(media.remote_rtp, addr("[2001:db8::5]:9000"));
}

#[test]
fn g711_under_a_dynamic_payload_type_is_answered_with_that_type() {
    let offer = "v=0\r\no=- 1 1 IN IP4 192.0.2.8\r\ns=-\r\nc=IN IP4 192.0.2.8\r\nt=0 0\r\n\
m=audio 9000 RTP/AVP 96 97\r\na=rtpmap:96 PCMA/8000\r\na=rtpmap:97 telephone-event/8000\r\n";
    let (body, media) = answer(offer);
    assert_eq!(
        (media.codec, media.payload_type, media.dtmf_payload_type),
        (AudioCodec::Pcma, 96, Some(97))
    );
    assert!(
        body.contains("m=audio 20000 RTP/AVP 96 97\r\na=rtpmap:96 PCMA/8000\r\n"),
        "{body}"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// Whatever a peer sends as SDP, negotiation returns a result instead of panicking.
    #[test]
    fn mangled_offers_never_panic(
        cut in 0usize..700,
        flips in proptest::collection::vec((0usize..700, proptest::num::u8::ANY), 0..6),
        which in 0usize..4,
    ) {
        let base = [BARESIP, LINPHONE, ASTERISK, YEALINK][which];
        let mut bytes = base.as_bytes().to_vec();
        for (at, byte) in flips {
            if let Some(b) = bytes.get_mut(at) {
                *b = byte;
            }
        }
        bytes.truncate(cut.min(bytes.len()));
        let text = String::from_utf8_lossy(&bytes);
        let mut ours = local();
        let _ = ours.answer(&text);
        let _ = ours.accept_answer(&text);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = local().answer(&text);
        let _ = local().answer(&format!("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n{text}"));
    }
}

#[test]
fn renumbered_telephone_event_in_an_answer_is_sent_with_theirs_and_received_with_ours() {
    let mut ours = local();
    ours.offer();
    let answer = "v=0\r\no=- 1 1 IN IP4 192.0.2.8\r\ns=-\r\nc=IN IP4 192.0.2.8\r\nt=0 0\r\n\
m=audio 9000 RTP/AVP 0 96\r\na=rtpmap:96 telephone-event/8000\r\n";
    let media = ours.accept_answer(answer).unwrap();
    assert_eq!(media.dtmf_payload_type, Some(96));
    assert_eq!(media.receive_dtmf_payload_type, Some(101));
    let (_, answered) = local().answer(BARESIP).unwrap();
    assert_eq!(
        answered.receive_dtmf_payload_type,
        answered.dtmf_payload_type
    );
}
