//! The caller bot: dials the server, plays audio as its microphone, presses keys as
//! RFC 4733 events, records what it hears, and hangs up (or notices the server did).

use crate::uac::{SipTransport, Uac, is_terminated};
use hotline::media::events::{FRAME_SAMPLES, MediaEvent};
use hotline::media::port_allocator::PortAllocator;
use hotline::media::sdp::{MediaCapabilities, SdpSession};
use hotline::media::session::{MediaSocket, SessionConfig};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, sleep_until};

/// What one call does.
#[derive(Debug, Clone)]
pub struct CallPlan {
    pub server: SocketAddr,
    pub transport: SipTransport,
    /// Audio to send as the caller's voice (8 kHz mono), starting when the call is answered.
    pub speak: Option<Arc<[i16]>>,
    /// When to send DTMF digits, counted from the answer.
    pub keys: Vec<(Duration, char)>,
    /// Hang up this long after the answer, unless the server hangs up first.
    pub hangup_after: Duration,
    /// Keep what we hear.
    pub record: bool,
}

/// Who ended the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndedBy {
    Caller,
    Server,
    NotAnswered,
}

/// What happened.
#[derive(Debug, Clone)]
pub struct CallReport {
    /// The final response to the INVITE.
    pub status: u16,
    /// The dialog's Call-ID (as the server logs it).
    pub call_id: String,
    /// When the call was answered, which is when the bot started to speak `plan.speak`.
    pub answered: Option<Instant>,
    /// INVITE sent to final response received.
    pub setup: Duration,
    /// What the caller heard, 8 kHz mono (empty unless `record`).
    pub heard: Vec<i16>,
    /// When each frame of `heard` came out of the jitter buffer (empty unless `record`).
    pub arrivals: Vec<Instant>,
    pub ended_by: EndedBy,
    pub frames_heard: u64,
}

/// Places one call following `plan`.
pub async fn place_call(
    uac: &Uac,
    ports: &PortAllocator,
    plan: &CallPlan,
) -> anyhow::Result<CallReport> {
    place_call_with(uac, ports, plan, &Dial::default()).await
}

/// Who the bot dials and how it listens.
#[derive(Debug, Clone)]
pub struct Dial {
    /// The user part of the request URI (the dialplan's `called`).
    pub called: String,
    /// Jitter buffer depth in packets: 3 (60 ms) like a desk phone on a LAN; a benchmark
    /// timing packets as they arrive uses 1.
    pub jitter_depth: usize,
    /// Extra INVITE headers, as (name, value).
    pub headers: Vec<(String, String)>,
}

impl Default for Dial {
    fn default() -> Self {
        Self {
            called: "hotline".into(),
            jitter_depth: 3,
            headers: Vec::new(),
        }
    }
}

/// [`place_call`] dialling `dial.called` with its jitter buffer depth.
pub async fn place_call_with(
    uac: &Uac,
    ports: &PortAllocator,
    plan: &CallPlan,
    dial: &Dial,
) -> anyhow::Result<CallReport> {
    let socket = MediaSocket::bind(ports)?;
    let mut sdp = SdpSession::new(
        socket.local_addr(),
        MediaCapabilities::default(),
        rand::random::<u32>().into(),
    );
    let offer = sdp.offer();
    let started = Instant::now();
    let mut dialled = uac
        .invite_with_headers(
            &dial.called,
            plan.server,
            plan.transport,
            Some(offer.into_bytes()),
            &dial.headers,
        )
        .await?;
    let setup = started.elapsed();
    let status = dialled
        .response
        .as_ref()
        .map(|r| u16::from(r.status_code.clone()))
        .unwrap_or(0);
    if !(200..300).contains(&status) {
        return Ok(CallReport {
            status,
            call_id: dialled.dialog.id().call_id.clone(),
            answered: None,
            setup,
            heard: Vec::new(),
            arrivals: Vec::new(),
            ended_by: EndedBy::NotAnswered,
            frames_heard: 0,
        });
    }
    let answer = dialled
        .response
        .as_ref()
        .map(|r| r.body.clone())
        .unwrap_or_default();
    let negotiated = sdp.accept_answer(std::str::from_utf8(&answer)?)?;
    let config = SessionConfig {
        latching: false,
        rtp_timeout: None,
        jitter_depth: dial.jitter_depth.max(1),
        ..SessionConfig::default()
    };
    let (session, mut events) = socket.start(&negotiated, config)?;
    if let Some(voice) = &plan.speak {
        session.play(voice.clone());
    }
    let answered = Instant::now();
    let hangup_at = answered + plan.hangup_after;
    let mut keys = plan.keys.clone();
    keys.sort_by_key(|(at, _)| *at);
    let mut keys = keys.into_iter().peekable();
    let mut heard = Vec::new();
    let mut arrivals = Vec::new();
    let mut frames_heard = 0;
    let ended_by = loop {
        let next_key_at = keys
            .peek()
            .map(|(at, _)| answered + *at)
            .unwrap_or(hangup_at);
        tokio::select! {
            _ = sleep_until(hangup_at) => break EndedBy::Caller,
            _ = sleep_until(next_key_at), if next_key_at < hangup_at => {
                if let Some((_, key)) = keys.next() {
                    session.send_dtmf(key, 120)?;
                }
            }
            state = dialled.states.recv() => match state {
                Some(state) if is_terminated(&state) => break EndedBy::Server,
                Some(_) => {}
                None => break EndedBy::Server,
            },
            event = events.recv() => match event {
                Some(MediaEvent::Audio(frame)) => {
                    frames_heard += 1;
                    if plan.record {
                        heard.extend_from_slice(&frame.samples[..FRAME_SAMPLES]);
                        arrivals.push(Instant::now());
                    }
                }
                Some(_) => {}
                None => break EndedBy::Server,
            },
        }
    };
    if ended_by == EndedBy::Caller {
        dialled.dialog.bye().await.ok();
    } else {
        // Like a phone, play out what is still in the jitter buffer after the BYE.
        let drain_until = Instant::now() + Duration::from_millis(150);
        while let Ok(Some(event)) = tokio::time::timeout_at(drain_until, events.recv()).await {
            if let MediaEvent::Audio(frame) = event {
                frames_heard += 1;
                if plan.record {
                    heard.extend_from_slice(&frame.samples[..FRAME_SAMPLES]);
                    arrivals.push(Instant::now());
                }
            }
        }
    }
    session.close().await;
    Ok(CallReport {
        status,
        call_id: dialled.dialog.id().call_id.clone(),
        answered: Some(answered),
        setup,
        heard,
        arrivals,
        ended_by,
        frames_heard,
    })
}

/// A recorded prompt as a caller hears it: through G.711 µ-law and back.
pub fn prompt_as_heard(prompts: &Path, language: &str, id: &str) -> anyhow::Result<Vec<i16>> {
    use anyhow::Context;
    use hotline::media::g711::G711Law;
    let catalog = hotline::prompts::PromptCatalog::load(prompts, language)
        .with_context(|| format!("loading prompts from {}", prompts.display()))?;
    let samples = catalog
        .samples(id)
        .with_context(|| format!("prompt {id} not found"))?;
    Ok(samples
        .iter()
        .map(|s| G711Law::Ulaw.decode(G711Law::Ulaw.encode(*s)))
        .collect())
}

/// Reads a WAV file as 8 kHz mono samples (16-bit PCM only).
pub fn read_wav(path: &Path) -> anyhow::Result<Vec<i16>> {
    let mut reader = hound::WavReader::open(path)?;
    let spec = reader.spec();
    anyhow::ensure!(
        spec.channels == 1 && spec.sample_rate == 8000 && spec.bits_per_sample == 16,
        "{}: expected 16-bit mono 8000 Hz, found {} channel(s) at {} Hz, {} bits",
        path.display(),
        spec.channels,
        spec.sample_rate,
        spec.bits_per_sample
    );
    Ok(reader.samples::<i16>().collect::<Result<_, _>>()?)
}

/// Writes 8 kHz mono samples to a 16-bit PCM WAV file.
pub fn write_wav(path: &Path, samples: &[i16]) -> anyhow::Result<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec)?;
    for s in samples {
        writer.write_sample(*s)?;
    }
    writer.finalize()?;
    Ok(())
}

/// Where `needle` appears in `haystack` sample for sample, if it does.
pub fn find_exact(haystack: &[i16], needle: &[i16]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}
