//! Two media sessions on loopback: playback, DTMF, barge-in, latching, hold, junk, timeout.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use hotline::media::events::{MediaEvent, MediaEvents};
use hotline::media::g711::G711Law;
use hotline::media::port_allocator::PortAllocator;
use hotline::media::sdp::{Direction, MediaCapabilities, NegotiatedMedia, SdpSession};
use hotline::media::session::{MediaSession, MediaSocket, SessionConfig};
use hotline::prompts::PromptCatalog;
use tokio::time::{Instant, timeout};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Upper bound for anything awaited: generous, only hit when something is broken.
const PATIENCE: Duration = Duration::from_secs(60);

/// A port range of its own for every call: a port freed by one test and bound again by
/// another would otherwise receive the first test's stray packets.
fn ports() -> PortAllocator {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % 20;
    // The process id spreads parallel test binaries apart.
    let start = 20000 + (std::process::id() % 20) as u16 * 2000 + n * 100;
    PortAllocator::new(LOOPBACK, start, start + 99).unwrap()
}

struct Leg {
    session: MediaSession,
    events: MediaEvents,
    media: NegotiatedMedia,
}

/// A offers, B answers, both start: what a real call set-up does.
fn connect(config_a: SessionConfig, config_b: SessionConfig) -> (Leg, Leg) {
    let ports = ports();
    let socket_a = MediaSocket::bind(&ports).unwrap();
    let socket_b = MediaSocket::bind(&ports).unwrap();
    let mut sdp_a = SdpSession::new(socket_a.local_addr(), MediaCapabilities::default(), 1);
    let mut sdp_b = SdpSession::new(socket_b.local_addr(), MediaCapabilities::default(), 2);
    let (answer, media_b) = sdp_b.answer(&sdp_a.offer()).unwrap();
    let media_a = sdp_a.accept_answer(&answer).unwrap();
    let (session_a, events_a) = socket_a.start(&media_a, config_a).unwrap();
    let (session_b, events_b) = socket_b.start(&media_b, config_b).unwrap();
    (
        Leg {
            session: session_a,
            events: events_a,
            media: media_a,
        },
        Leg {
            session: session_b,
            events: events_b,
            media: media_b,
        },
    )
}

/// Waits for the first event matching `want`, collecting audio frames seen meanwhile.
async fn wait_for(
    events: &mut MediaEvents,
    audio: &mut Vec<i16>,
    want: impl Fn(&MediaEvent) -> bool,
) -> MediaEvent {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let event = timeout(deadline - Instant::now(), events.recv())
            .await
            .expect("event in time")
            .expect("session alive");
        if let MediaEvent::Audio(frame) = &event {
            audio.extend_from_slice(&frame.samples);
        }
        if want(&event) {
            return event;
        }
    }
}

/// Collects audio until `frames` more frames arrived.
async fn collect_frames(events: &mut MediaEvents, audio: &mut Vec<i16>, frames: usize) {
    let target = audio.len() + frames * 160;
    while audio.len() < target {
        wait_for(events, audio, |e| matches!(e, MediaEvent::Audio(_))).await;
    }
}

fn g711_round_trip(samples: &[i16]) -> Vec<i16> {
    samples
        .iter()
        .map(|s| G711Law::Ulaw.decode(G711Law::Ulaw.encode(*s)))
        .collect()
}

fn find_at_frame_boundary(haystack: &[i16], needle: &[i16]) -> Option<usize> {
    if haystack.len() < needle.len() {
        return None;
    }
    (0..=haystack.len() - needle.len())
        .step_by(160)
        .find(|start| haystack[*start..start + needle.len()] == *needle)
}

#[tokio::test]
async fn prompt_played_by_one_leg_is_heard_exactly_by_the_other() {
    let catalog = PromptCatalog::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts"),
        "en-US",
    )
    .unwrap();
    let prompt = catalog.samples("hash").unwrap();
    let (mut a, mut b) = connect(SessionConfig::default(), SessionConfig::default());
    assert_eq!(a.media.codec, hotline::media::sdp::AudioCodec::Pcmu);

    let id = a.session.play(Arc::clone(&prompt));
    let mut ignored = Vec::new();
    let finished = wait_for(&mut a.events, &mut ignored, |e| {
        matches!(e, MediaEvent::PlaybackFinished { .. })
    })
    .await;
    assert_eq!(
        finished,
        MediaEvent::PlaybackFinished {
            id,
            completed: true
        }
    );

    let expected = g711_round_trip(&prompt);
    let mut heard = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while find_at_frame_boundary(&heard, &expected).is_none() {
        assert!(
            Instant::now() < deadline,
            "prompt not heard in {} samples",
            heard.len()
        );
        collect_frames(&mut b.events, &mut heard, 1).await;
    }
    let stats = a.session.stats().await.unwrap();
    assert!(stats.sent.packets as usize >= prompt.len() / 160);
    a.session.close().await;
    b.session.close().await;
}

#[tokio::test]
async fn rfc4733_digits_arrive_once_each() {
    let (mut a, b) = connect(SessionConfig::default(), SessionConfig::default());
    for digit in ['1', '#', '1', '9'] {
        b.session.send_dtmf(digit, 80).unwrap();
    }
    assert!(b.session.send_dtmf('x', 80).is_err());
    let mut audio = Vec::new();
    let mut digits = String::new();
    while digits.len() < 4 {
        if let MediaEvent::Dtmf(d) = wait_for(&mut a.events, &mut audio, |e| {
            matches!(e, MediaEvent::Dtmf(_))
        })
        .await
        {
            digits.push(d);
        }
    }
    assert_eq!(digits, "1#19");
    // Give straggling end packets time to arrive: none may become a digit.
    collect_frames(&mut a.events, &mut audio, 10).await;
    while let Ok(event) = a.events.try_recv() {
        assert!(!matches!(event, MediaEvent::Dtmf(_)), "extra {event:?}");
    }
}

#[tokio::test]
async fn stop_playback_cuts_the_prompt_short() {
    let (mut a, mut b) = connect(SessionConfig::default(), SessionConfig::default());
    let long: Arc<[i16]> = (0..8000 * 10)
        .map(|i| if i % 20 < 10 { 8000 } else { -8000 })
        .collect();
    let id = a.session.play(long);
    let mut heard = Vec::new();
    collect_frames(&mut b.events, &mut heard, 10).await;
    a.session.stop_playback();
    let mut ignored = Vec::new();
    let finished = wait_for(&mut a.events, &mut ignored, |e| {
        matches!(e, MediaEvent::PlaybackFinished { .. })
    })
    .await;
    assert_eq!(
        finished,
        MediaEvent::PlaybackFinished {
            id,
            completed: false
        }
    );
    // Frames already in flight may still be loud; then silence must follow for good.
    let loud = |heard: &[i16]| {
        heard
            .chunks(160)
            .filter(|f| f.iter().any(|s| *s != 0))
            .count()
    };
    let deadline = Instant::now() + PATIENCE;
    loop {
        collect_frames(&mut b.events, &mut heard, 1).await;
        let frames = heard.len() / 160;
        if frames > 10 && loud(&heard[(frames - 10) * 160..]) == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no silence after stop_playback");
    }
    let loud_frames = loud(&heard);
    assert!(
        loud_frames < 100,
        "{loud_frames} loud frames of a 500-frame prompt"
    );
}

#[tokio::test]
async fn latching_sends_to_where_the_peer_really_is() {
    let ports = ports();
    let socket_a = MediaSocket::bind(&ports).unwrap();
    let socket_b = MediaSocket::bind(&ports).unwrap();
    let mut sdp_a = SdpSession::new(socket_a.local_addr(), MediaCapabilities::default(), 1);
    let mut sdp_b = SdpSession::new(socket_b.local_addr(), MediaCapabilities::default(), 2);
    let (answer, media_b) = sdp_b.answer(&sdp_a.offer()).unwrap();
    let mut media_a = sdp_a.accept_answer(&answer).unwrap();
    // B's SDP lies (a private address behind NAT): A must learn B's real source.
    let unreachable: SocketAddr = "127.0.0.1:9".parse().unwrap();
    media_a.remote_rtp = Some(unreachable);
    let latching = SessionConfig {
        latching: true,
        ..SessionConfig::default()
    };
    let (a, _events_a) = socket_a.start(&media_a, latching).unwrap();
    let (b, mut events_b) = socket_b.start(&media_b, SessionConfig::default()).unwrap();
    let mut heard = Vec::new();
    collect_frames(&mut events_b, &mut heard, 5).await;
    let stats = a.stats().await.unwrap();
    assert_eq!(stats.destination, Some(b.local_addr()));
    assert!(stats.received.packets > 0);
}

#[tokio::test]
async fn junk_unknown_payloads_and_rtcp_do_no_harm() {
    let no_latch = SessionConfig {
        latching: false,
        ..SessionConfig::default()
    };
    let (mut a, b) = connect(no_latch, SessionConfig::default());
    let stranger = std::net::UdpSocket::bind((LOOPBACK, 0)).unwrap();
    let target = a.session.local_addr();
    let rtcp_target = SocketAddr::new(target.ip(), target.port() + 1);
    let mut unknown_pt = vec![0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7];
    unknown_pt.extend_from_slice(&[0u8; 40]);
    let sr = hotline::media::rtcp::build_sender_report(&hotline::media::rtcp::SenderReportInfo {
        ssrc: 7,
        ntp_time: 0,
        rtp_time: 0,
        packet_count: 1,
        octet_count: 160,
        cname: "stranger".into(),
    })
    .unwrap();
    for datagram in [&b"hello"[..], &[0x80, 0, 0], &unknown_pt, &[0xFF; 300], &sr] {
        stranger.send_to(datagram, target).unwrap();
    }
    stranger.send_to(&sr, rtcp_target).unwrap();
    stranger.send_to(b"\x80\xc8junk", rtcp_target).unwrap();
    // The session still works: a digit from B arrives.
    b.session.send_dtmf('5', 60).unwrap();
    let mut audio = Vec::new();
    let digit = wait_for(&mut a.events, &mut audio, |e| {
        matches!(e, MediaEvent::Dtmf(_))
    })
    .await;
    assert_eq!(digit, MediaEvent::Dtmf('5'));
    // RTCP is read every half second: wait for it.
    let deadline = Instant::now() + PATIENCE;
    let stats = loop {
        let stats = a.session.stats().await.unwrap();
        if stats.rtcp_received >= 2 && stats.rtcp_malformed >= 1 {
            break stats;
        }
        assert!(Instant::now() < deadline, "RTCP not counted: {stats:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(stats.received.junk >= 3, "{stats:?}");
    assert!(stats.received.unknown_payload_type >= 1, "{stats:?}");
    assert_eq!(stats.received.ssrc_changes, 0, "{stats:?}");
}

#[tokio::test]
async fn hold_stops_sending_and_resume_restarts_it() {
    let (a, _b) = connect(SessionConfig::default(), SessionConfig::default());
    let deadline = Instant::now() + PATIENCE;
    while a.session.stats().await.unwrap().sent.packets == 0 {
        assert!(Instant::now() < deadline, "nothing sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The peer sent a=sendonly: we answered recvonly.
    let held = NegotiatedMedia {
        direction: Direction::RecvOnly,
        ..a.media.clone()
    };
    a.session.update(&held);
    let paused_at = a.session.stats().await.unwrap().sent.packets;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(a.session.stats().await.unwrap().sent.packets, paused_at);
    a.session.update(&a.media);
    let deadline = Instant::now() + PATIENCE;
    while a.session.stats().await.unwrap().sent.packets == paused_at {
        assert!(Instant::now() < deadline, "sending did not resume");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_vanished_peer_is_reported_once() {
    let quick = SessionConfig {
        rtp_timeout: Some(Duration::from_millis(300)),
        ..SessionConfig::default()
    };
    let (mut a, b) = connect(quick, SessionConfig::default());
    let mut audio = Vec::new();
    collect_frames(&mut a.events, &mut audio, 3).await;
    b.session.close().await;
    let event = wait_for(&mut a.events, &mut audio, |e| {
        matches!(e, MediaEvent::RtpTimeout)
    })
    .await;
    assert_eq!(event, MediaEvent::RtpTimeout);
    // The session is still alive and answering.
    assert!(a.session.stats().await.is_some());
}

#[tokio::test]
async fn sender_reports_reach_the_peer() {
    let frequent = SessionConfig {
        rtcp_interval: Duration::from_millis(100),
        ..SessionConfig::default()
    };
    let (a, b) = connect(frequent, SessionConfig::default());
    let deadline = Instant::now() + PATIENCE;
    loop {
        let stats = b.session.stats().await.unwrap();
        if stats.rtcp_received > 0 {
            assert_eq!(stats.rtcp_malformed, 0);
            break;
        }
        assert!(Instant::now() < deadline, "no RTCP arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.session.close().await;
}

#[tokio::test]
async fn reinvite_moves_the_stream_to_the_new_address() {
    let (a, b) = connect(SessionConfig::default(), SessionConfig::default());
    // The peer moves its media (a new socket, as after a transfer or a new device).
    let moved_socket = MediaSocket::bind(&ports()).unwrap();
    let moved_media = NegotiatedMedia {
        remote_rtp: Some(a.session.local_addr()),
        ..b.media.clone()
    };
    let moved_addr = moved_socket.local_addr();
    b.session.close().await;
    let (moved, mut moved_events) = moved_socket
        .start(&moved_media, SessionConfig::default())
        .unwrap();
    a.session.update(&NegotiatedMedia {
        remote_rtp: Some(moved_addr),
        ..a.media.clone()
    });
    let mut heard = Vec::new();
    collect_frames(&mut moved_events, &mut heard, 10).await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let stats = a.session.stats().await.unwrap();
        if stats.destination == Some(moved_addr) && stats.received.packets > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{stats:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    moved.close().await;
}

/// The same call set-up as `connect`, both legs on a shared engine.
fn connect_on_engine(engine: &hotline::media::engine::MediaEngine) -> (Leg, Leg) {
    let ports = ports();
    let socket_a = MediaSocket::bind(&ports).unwrap();
    let socket_b = MediaSocket::bind(&ports).unwrap();
    let mut sdp_a = SdpSession::new(socket_a.local_addr(), MediaCapabilities::default(), 1);
    let mut sdp_b = SdpSession::new(socket_b.local_addr(), MediaCapabilities::default(), 2);
    let (answer, media_b) = sdp_b.answer(&sdp_a.offer()).unwrap();
    let media_a = sdp_a.accept_answer(&answer).unwrap();
    let (session_a, events_a) = engine
        .start(socket_a, &media_a, SessionConfig::default())
        .unwrap();
    let (session_b, events_b) = engine
        .start(socket_b, &media_b, SessionConfig::default())
        .unwrap();
    (
        Leg {
            session: session_a,
            events: events_a,
            media: media_a,
        },
        Leg {
            session: session_b,
            events: events_b,
            media: media_b,
        },
    )
}

#[tokio::test]
async fn engine_legs_play_exactly_exchange_digits_stop_and_close() {
    let engine = hotline::media::engine::MediaEngine::spawn(2);
    let (mut a, mut b) = connect_on_engine(&engine);
    let prompt: Arc<[i16]> = (0..1600).map(|i| ((i % 40) as i16 - 20) * 700).collect();
    let id = a.session.play(Arc::clone(&prompt));
    let expected = g711_round_trip(&prompt);
    let mut heard = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while find_at_frame_boundary(&heard, &expected).is_none() {
        assert!(Instant::now() < deadline, "prompt not heard");
        collect_frames(&mut b.events, &mut heard, 1).await;
    }
    let mut ignored = Vec::new();
    let finished = wait_for(&mut a.events, &mut ignored, |e| {
        matches!(e, MediaEvent::PlaybackFinished { .. })
    })
    .await;
    assert_eq!(
        finished,
        MediaEvent::PlaybackFinished {
            id,
            completed: true
        }
    );

    b.session.send_dtmf('7', 60).unwrap();
    let digit = wait_for(&mut a.events, &mut ignored, |e| {
        matches!(e, MediaEvent::Dtmf(_))
    })
    .await;
    assert_eq!(digit, MediaEvent::Dtmf('7'));

    let long = a.session.play(Arc::from(vec![9000i16; 8000 * 10]));
    a.session.stop_playback();
    let stopped = wait_for(&mut a.events, &mut ignored, |e| {
        matches!(e, MediaEvent::PlaybackFinished { .. })
    })
    .await;
    assert_eq!(
        stopped,
        MediaEvent::PlaybackFinished {
            id: long,
            completed: false
        }
    );

    let stats = a.session.stats().await.unwrap();
    assert!(stats.sent.packets > 0 && stats.send_lateness.count() > 0);
    let local = a.session.local_addr();
    timeout(PATIENCE, a.session.close())
        .await
        .expect("close in time");
    // The port is free again once close returns.
    std::net::UdpSocket::bind(local).expect("port released");
    b.session.close().await;
}
