//! Media load benchmark: many concurrent call legs on loopback, each sending and receiving
//! 50 packets/s, driven two ways, printing CPU per leg and send lateness percentiles.
//!
//! - `session`: the real `MediaSession`, one tokio task per leg (plus one task per leg
//!   draining its events, as a call task would).
//! - `ticker`: the same sans-IO `AudioSender`/`AudioReceiver` values driven by one shared
//!   20 ms ticker per runtime worker, sockets read non-blocking once per tick, frames sent
//!   to a consumer task per leg like the session's events.
//!
//! Legs are made in pairs talking to each other, so every leg both sends and receives.
//! Run: `cargo bench --bench media_load -- [--legs 200,1000,3000] [--seconds 10] [--mode session,ticker]`

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hotline::media::events::MediaEvent;
use hotline::media::g711::G711Law;
use hotline::media::inbound::{AudioReceiver, ReceiveConfig, Received};
use hotline::media::lateness::LatenessHistogram;
use hotline::media::outbound::{AudioSender, FRAME_DURATION, IdlePolicy, SendConfig};
use hotline::media::port_allocator::PortAllocator;
use hotline::media::sdp::{AudioCodec, Direction, NegotiatedMedia};
use hotline::media::session::{MediaSession, MediaSocket, SessionConfig};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const WARM_UP: Duration = Duration::from_secs(2);

struct Options {
    legs: Vec<usize>,
    seconds: u64,
    modes: Vec<String>,
}

fn options() -> Options {
    let mut options = Options {
        legs: vec![200, 1000, 3000],
        seconds: 10,
        modes: vec!["session".into(), "ticker".into()],
    };
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--legs" => options.legs = value.split(',').filter_map(|v| v.parse().ok()).collect(),
            "--seconds" => options.seconds = value.parse().unwrap_or(10),
            "--mode" => options.modes = value.split(',').map(str::to_owned).collect(),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    options
}

/// Process CPU time (user + system) from /proc/self/stat, in clock ticks of 10 ms.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Fields 14 and 15 of the file are utime and stime; after the name they are 11 and 12.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn media_to(remote: SocketAddr) -> NegotiatedMedia {
    NegotiatedMedia {
        remote_rtp: Some(remote),
        remote_rtcp: Some(SocketAddr::new(remote.ip(), remote.port() + 1)),
        codec: AudioCodec::Pcmu,
        payload_type: 0,
        dtmf_payload_type: Some(101),
        receive_dtmf_payload_type: Some(101),
        direction: Direction::SendRecv,
        remote_ptime_ms: None,
    }
}

struct Outcome {
    cpu: Duration,
    wall: Duration,
    lateness: LatenessHistogram,
    packets_received: u64,
}

async fn run_sessions(legs: usize, seconds: u64) -> Outcome {
    let ports = PortAllocator::new(LOOPBACK, 40000, 64000).expect("port range");
    let mut sessions: Vec<Arc<MediaSession>> = Vec::with_capacity(legs);
    let frames = Arc::new(AtomicU64::new(0));
    let config = SessionConfig {
        latching: false,
        rtp_timeout: None,
        ..SessionConfig::default()
    };
    let tone: Arc<[i16]> = (0..8000 * 60)
        .map(|i| ((i % 16) as i16 - 8) * 1000)
        .collect();
    for _ in 0..legs / 2 {
        let a = MediaSocket::bind(&ports).expect("bind");
        let b = MediaSocket::bind(&ports).expect("bind");
        let (a_addr, b_addr) = (a.local_addr(), b.local_addr());
        for (socket, remote) in [(a, b_addr), (b, a_addr)] {
            let (session, mut events) = socket
                .start(&media_to(remote), config.clone())
                .expect("start");
            session.play(Arc::clone(&tone));
            let frames = Arc::clone(&frames);
            tokio::spawn(async move {
                while let Some(event) = events.recv().await {
                    if matches!(event, MediaEvent::Audio(_)) {
                        frames.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
            sessions.push(Arc::new(session));
        }
    }
    tokio::time::sleep(WARM_UP).await;
    let before = lateness_of(&sessions).await;
    let (cpu0, wall0, frames0) = (cpu_time(), Instant::now(), frames.load(Ordering::Relaxed));
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (cpu1, wall1, frames1) = (cpu_time(), Instant::now(), frames.load(Ordering::Relaxed));
    let after = lateness_of(&sessions).await;
    for s in sessions {
        if let Ok(s) = Arc::try_unwrap(s) {
            s.close().await;
        }
    }
    Outcome {
        cpu: cpu1.saturating_sub(cpu0),
        wall: wall1 - wall0,
        lateness: after.since(&before),
        packets_received: frames1 - frames0,
    }
}

/// Every session's lateness histogram merged, asked of all sessions at once.
async fn lateness_of(sessions: &[Arc<MediaSession>]) -> LatenessHistogram {
    let mut requests = tokio::task::JoinSet::new();
    for s in sessions {
        let s = Arc::clone(s);
        requests.spawn(async move { s.stats().await });
    }
    let mut merged = LatenessHistogram::default();
    while let Some(result) = requests.join_next().await {
        if let Ok(Some(stats)) = result {
            merged.merge(&stats.send_lateness);
        }
    }
    merged
}

struct TickerLeg {
    socket: std::net::UdpSocket,
    remote: SocketAddr,
    sender: AudioSender,
    receiver: AudioReceiver,
    events: tokio::sync::mpsc::Sender<MediaEvent>,
}

async fn run_ticker(legs: usize, seconds: u64) -> Outcome {
    let workers = 2;
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let mut groups: Vec<Vec<TickerLeg>> = (0..workers).map(|_| Vec::new()).collect();
    let config = SendConfig {
        law: G711Law::Ulaw,
        payload_type: 0,
        dtmf_payload_type: Some(101),
        idle: IdlePolicy::Silence,
    };
    let tone: Arc<[i16]> = (0..8000 * 60)
        .map(|i| ((i % 16) as i16 - 8) * 1000)
        .collect();
    for pair in 0..legs / 2 {
        let a = std::net::UdpSocket::bind((LOOPBACK, 0)).expect("bind");
        let b = std::net::UdpSocket::bind((LOOPBACK, 0)).expect("bind");
        let (a_addr, b_addr) = (a.local_addr().expect("addr"), b.local_addr().expect("addr"));
        for (socket, remote) in [(a, b_addr), (b, a_addr)] {
            socket.set_nonblocking(true).expect("nonblocking");
            let mut sender = AudioSender::with_random_ids(config);
            sender.play(Arc::clone(&tone));
            // Frames go to a consumer task per leg, as in the session mode.
            let (events, mut consumer) = tokio::sync::mpsc::channel(512);
            let counted = Arc::clone(&received);
            let measuring = Arc::clone(&measuring);
            tokio::spawn(async move {
                while let Some(event) = consumer.recv().await {
                    if matches!(event, MediaEvent::Audio(_)) && measuring.load(Ordering::Relaxed) {
                        counted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
            groups[pair % workers].push(TickerLeg {
                socket,
                remote,
                sender,
                events,
                receiver: AudioReceiver::new(ReceiveConfig {
                    dtmf_payload_type: Some(101),
                    dynamic_audio: None,
                    ..ReceiveConfig::default()
                }),
            });
        }
    }
    let mut tasks = Vec::new();
    for mut group in groups {
        let (stop, measuring) = (Arc::clone(&stop), Arc::clone(&measuring));
        tasks.push(tokio::spawn(async move {
            let mut lateness = LatenessHistogram::default();
            let mut interval = tokio::time::interval(FRAME_DURATION);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut out = [0u8; 256];
            let mut buf = [0u8; 1500];
            while !stop.load(Ordering::Relaxed) {
                let deadline = interval.tick().await;
                let now = Instant::now();
                for leg in group.iter_mut() {
                    while let Some(len) = leg.sender.poll_transmit(now, &mut out) {
                        let _ = leg.socket.send_to(&out[..len], leg.remote);
                        if measuring.load(Ordering::Relaxed) {
                            lateness.record(
                                Instant::now().saturating_duration_since(deadline.into_std()),
                            );
                        }
                    }
                    while let Ok(len) = leg.socket.recv(&mut buf) {
                        let _ = leg.receiver.handle_datagram(&buf[..len], now);
                    }
                    while let Some(received) = leg.receiver.poll(now) {
                        if let Received::Audio(frame) = received {
                            let _ = leg.events.try_send(MediaEvent::Audio(frame));
                        }
                    }
                }
            }
            lateness
        }));
    }
    tokio::time::sleep(WARM_UP).await;
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    measuring.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    measuring.store(false, Ordering::Relaxed);
    let (cpu1, wall1) = (cpu_time(), Instant::now());
    stop.store(true, Ordering::Relaxed);
    let mut lateness = LatenessHistogram::default();
    for task in tasks {
        if let Ok(h) = task.await {
            lateness.merge(&h);
        }
    }
    Outcome {
        cpu: cpu1.saturating_sub(cpu0),
        wall: wall1 - wall0,
        lateness,
        packets_received: received.load(Ordering::Relaxed),
    }
}

fn fmt_quantile(h: &LatenessHistogram, q: f64) -> String {
    match h.quantile(q) {
        None => "-".into(),
        Some(d) if d == Duration::MAX => ">10 ms".into(),
        Some(d) => format!("≤{:.2} ms", d.as_secs_f64() * 1000.0),
    }
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "media_load: {}s windows after {}s warm-up, 2 worker threads",
        options.seconds,
        WARM_UP.as_secs()
    );
    println!(
        "| mode | legs | CPU % of one core per leg | total CPU % | send lateness p50 | p99 | p99.9 | frames received / expected |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for mode in &options.modes {
        for &legs in &options.legs {
            let outcome = runtime.block_on(async {
                match mode.as_str() {
                    "ticker" => run_ticker(legs, options.seconds).await,
                    _ => run_sessions(legs, options.seconds).await,
                }
            });
            let share = outcome.cpu.as_secs_f64() / outcome.wall.as_secs_f64();
            let expected = legs as f64 * 50.0 * outcome.wall.as_secs_f64();
            println!(
                "| {mode} | {legs} | {:.4}% | {:.1}% | {} | {} | {} | {:.3} |",
                share * 100.0 / legs as f64,
                share * 100.0,
                fmt_quantile(&outcome.lateness, 0.5),
                fmt_quantile(&outcome.lateness, 0.99),
                fmt_quantile(&outcome.lateness, 0.999),
                outcome.packets_received as f64 / expected,
            );
        }
    }
}
