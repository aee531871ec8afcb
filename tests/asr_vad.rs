//! Voice activity on the utterance fixtures (sip-testbench/utterances): speech boundaries
//! against the manifest, non-speech that must stay silent, barge-in, end-of-speech per step,
//! maximum length.

use std::path::PathBuf;
use std::time::Duration;

use hotline::media::vad::{BargeIn, Endpointer, FRAME_SAMPLES, Utterance, VadEvent, VadParams};

const FRAME: Duration = Duration::from_millis(20);

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sip-testbench/utterances")
}

fn read_pcm(name: &str) -> Vec<i16> {
    hound::WavReader::open(fixture_dir().join(name))
        .expect("fixture opens")
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .expect("fixture decodes")
}

struct Entry {
    file: String,
    start_ms: u64,
    end_ms: u64,
}

fn speech_fixtures() -> Vec<Entry> {
    let manifest = std::fs::read_to_string(fixture_dir().join("manifest.tsv")).expect("manifest");
    manifest
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            Some(Entry {
                file: cols[0].to_string(),
                start_ms: cols.get(3)?.parse().ok()?,
                end_ms: cols.get(4)?.parse().ok()?,
            })
        })
        .collect()
}

/// Feeds audio then `trailing` of silence in 20 ms frames; returns the events with the end
/// time of the frame that produced them.
fn run(params: VadParams, pcm: &[i16], trailing: Duration) -> Vec<(Duration, VadEvent)> {
    let mut audio = pcm.to_vec();
    audio.extend(std::iter::repeat_n(
        0i16,
        (trailing.as_millis() as usize) * 8,
    ));
    let mut ep = Endpointer::new(params, Duration::ZERO);
    let mut events = Vec::new();
    for (i, frame) in audio.chunks(FRAME_SAMPLES).enumerate() {
        let at = FRAME * i as u32;
        ep.push_frame(frame, at);
        while let Some(e) = ep.poll_event() {
            events.push((at + FRAME, e));
        }
    }
    events
}

fn ended(events: &[(Duration, VadEvent)]) -> Option<&Utterance> {
    events.iter().find_map(|(_, e)| match e {
        VadEvent::SpeechEnded { utterance } | VadEvent::MaxLength { utterance } => Some(utterance),
        _ => None,
    })
}

fn ms(d: Duration) -> i64 {
    d.as_millis() as i64
}

#[test]
fn speech_boundaries_match_the_manifest() {
    let fixtures = speech_fixtures();
    assert!(fixtures.len() >= 10, "manifest lists the speech fixtures");
    for entry in fixtures {
        let events = run(
            VadParams::default(),
            &read_pcm(&entry.file),
            Duration::from_secs(1),
        );
        let started = events.iter().find_map(|(_, e)| match e {
            VadEvent::SpeechStarted { at } => Some(*at),
            _ => None,
        });
        let started =
            started.unwrap_or_else(|| panic!("{}: no speech start in {events:?}", entry.file));
        let start_error = ms(started) - entry.start_ms as i64;
        assert!(
            (-60..=120).contains(&start_error),
            "{}: start {start_error} ms off",
            entry.file
        );
        let utterance =
            ended(&events).unwrap_or_else(|| panic!("{}: no end in {events:?}", entry.file));
        let end_error = ms(utterance.speech_end) - entry.end_ms as i64;
        assert!(
            (-150..=150).contains(&end_error),
            "{}: end {end_error} ms off",
            entry.file
        );
        // The delivered audio starts before the speech (pre-roll) and covers all of it.
        assert!(
            utterance.audio_start < utterance.speech_start,
            "{}",
            entry.file
        );
        let covered_ms = ms(utterance.audio_start) + utterance.pcm.len() as i64 / 8;
        assert!(
            covered_ms >= entry.end_ms as i64,
            "{}: audio ends at {covered_ms}",
            entry.file
        );
        // The end is reported once the step's end silence has passed, not much later.
        let (reported, _) = events
            .iter()
            .find(|(_, e)| matches!(e, VadEvent::SpeechEnded { .. }))
            .expect("ended by silence");
        let delay = ms(*reported) - ms(utterance.speech_end);
        assert!(
            (800..=860).contains(&delay),
            "{}: end reported {delay} ms after speech",
            entry.file
        );
    }
}

#[test]
fn silence_noise_music_tones_and_dtmf_never_start_speech() {
    for file in [
        "silence.wav",
        "line-noise.wav",
        "hold-music.wav",
        "dtmf-4471.wav",
        "dial-tone.wav",
    ] {
        let params = VadParams {
            no_input: Duration::from_millis(700),
            ..VadParams::default()
        };
        let pcm = read_pcm(file);
        let events = run(params, &pcm, Duration::from_millis(500));
        // No input at the timeout (a little later if a would-be start was still pending).
        assert!(
            matches!(events.as_slice(), [(_, VadEvent::NoInput { at })] if (700..=900).contains(&ms(*at))),
            "{file}: {events:?}"
        );
        // And over the whole file, even with a long no-input timeout.
        let params = VadParams {
            no_input: Duration::from_secs(60),
            ..VadParams::default()
        };
        let events = run(params, &pcm, Duration::from_millis(500));
        assert!(events.is_empty(), "{file}: {events:?}");
    }
}

#[test]
fn barge_in_fires_soon_after_the_minimum_speech_unless_disabled() {
    let pcm = read_pcm("dispute-awb.wav");
    let events = run(VadParams::default(), &pcm, Duration::from_secs(1));
    let (_, start) = events.first().expect("events");
    let VadEvent::SpeechStarted { at: onset } = start else {
        panic!("first event is the start: {events:?}")
    };
    let barge = events
        .iter()
        .find_map(|(_, e)| match e {
            VadEvent::BargeIn { at } => Some(*at),
            _ => None,
        })
        .expect("barge-in");
    // 400 ms of speech, then at most 100 ms to decide.
    let after = ms(barge) - ms(*onset);
    assert!(
        (400..=500).contains(&after),
        "barge-in {after} ms after onset"
    );

    let legal_notice = VadParams {
        barge_in: BargeIn {
            enabled: false,
            ..BargeIn::default()
        },
        ..VadParams::default()
    };
    let events = run(legal_notice, &pcm, Duration::from_secs(1));
    assert!(
        !events
            .iter()
            .any(|(_, e)| matches!(e, VadEvent::BargeIn { .. }))
    );
    assert!(ended(&events).is_some(), "still listens without barge-in");
}

#[test]
fn a_short_backchannel_does_not_barge_in() {
    // "Agent." is about 440 ms of speech: as long as an "uh-huh".
    let params = VadParams {
        barge_in: BargeIn {
            enabled: true,
            min_speech: Duration::from_millis(600),
        },
        ..VadParams::default()
    };
    let events = run(params, &read_pcm("agent-kal.wav"), Duration::from_secs(1));
    assert!(
        !events
            .iter()
            .any(|(_, e)| matches!(e, VadEvent::BargeIn { .. })),
        "{events:?}"
    );
    assert!(ended(&events).is_some());
}

#[test]
fn end_silence_is_per_step() {
    // "Yes, [pause] that's right.": a short end silence ends the utterance in the pause.
    let pcm = read_pcm("yes-awb.wav");
    let quick = VadParams {
        end_silence: Duration::from_millis(120),
        ..VadParams::default()
    };
    let short = ended(&run(quick, &pcm, Duration::from_secs(1)))
        .cloned()
        .expect("ends");
    let long = ended(&run(VadParams::default(), &pcm, Duration::from_secs(1)))
        .cloned()
        .expect("ends");
    assert!(
        ms(short.speech_end) < 1100,
        "quick step ends after 'yes': {:?}",
        short.speech_end
    );
    assert!(
        ms(long.speech_end) > 1700,
        "default step hears it all: {:?}",
        long.speech_end
    );
}

#[test]
fn a_monologue_is_cut_at_the_maximum_length() {
    let mut pcm = Vec::new();
    for file in [
        "transfer-rms.wav",
        "statement-kal.wav",
        "dispute-awb.wav",
        "transfer-rms.wav",
    ] {
        let speech = read_pcm(file);
        // Only the speech part, back to back, so there is no pause to end on.
        pcm.extend_from_slice(&speech[4000..speech.len() - 6400]);
    }
    let params = VadParams {
        max_utterance: Duration::from_secs(4),
        ..VadParams::default()
    };
    let events = run(params, &pcm, Duration::from_secs(1));
    let cut = events.iter().find_map(|(_, e)| match e {
        VadEvent::MaxLength { utterance } => Some(utterance),
        _ => None,
    });
    let cut = cut.unwrap_or_else(|| panic!("no max-length cut in {events:?}"));
    let length = ms(cut.speech_end) - ms(cut.speech_start);
    assert!((3980..=4100).contains(&length), "cut after {length} ms");
    assert!(
        !events
            .iter()
            .any(|(_, e)| matches!(e, VadEvent::SpeechEnded { .. }))
    );
}

/// Early end-pointing: a pause of `early_silence` offers the utterance so far; when the
/// caller stays quiet, the finished utterance is the same audio, so its early transcript
/// can stand for it.
#[test]
fn a_pause_offers_the_utterance_early_and_it_matches_the_finished_one() {
    let params = VadParams {
        early_silence: Some(Duration::from_millis(250)),
        ..VadParams::default()
    };
    for entry in speech_fixtures() {
        let events = run(
            params.clone(),
            &read_pcm(&entry.file),
            Duration::from_secs(1),
        );
        let paused: Vec<_> = events
            .iter()
            .filter_map(|(at, e)| match e {
                VadEvent::Paused { utterance } => Some((*at, utterance)),
                _ => None,
            })
            .collect();
        let [(paused_at, early)] = paused.as_slice() else {
            panic!("{}: one pause expected in {events:?}", entry.file);
        };
        let delay = ms(*paused_at) - ms(early.speech_end);
        assert!(
            (250..=290).contains(&delay),
            "{}: pause reported {delay} ms after speech",
            entry.file
        );
        let finished = ended(&events).expect("ended");
        assert!(*early == finished, "{}: same utterance", entry.file);
        assert!(
            !events
                .iter()
                .any(|(_, e)| matches!(e, VadEvent::Resumed { .. })),
            "{}",
            entry.file
        );
    }
}

/// A caller who pauses mid-sentence ("my account number is … 1 2 3") resumes: the early
/// offer is withdrawn and the finished utterance holds both parts.
#[test]
fn speech_after_a_pause_withdraws_the_early_offer() {
    let params = VadParams {
        early_silence: Some(Duration::from_millis(250)),
        ..VadParams::default()
    };
    let first = read_pcm("balance-slt.wav");
    let second = read_pcm("lost-card-rms.wav");
    let fixtures = speech_fixtures();
    let end_of = |name: &str| fixtures.iter().find(|e| e.file == name).expect("listed");
    // The first utterance up to 500 ms after its speech, then the second from its start
    // minus 100 ms: a 600 ms gap, under the 800 ms end silence.
    let cut_first = ((end_of("balance-slt.wav").end_ms + 500) * 8) as usize;
    let skip_second = ((end_of("lost-card-rms.wav").start_ms - 100) * 8) as usize;
    let mut pcm = first[..cut_first.min(first.len())].to_vec();
    pcm.extend_from_slice(&second[skip_second..]);
    let events = run(params, &pcm, Duration::from_secs(1));
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|(_, e)| match e {
            VadEvent::Paused { .. } => Some("paused"),
            VadEvent::Resumed { .. } => Some("resumed"),
            VadEvent::SpeechEnded { .. } => Some("ended"),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        ["paused", "resumed", "paused", "ended"],
        "{events:?}"
    );
    let finished = ended(&events).expect("ended");
    let first_end = end_of("balance-slt.wav").end_ms as i64;
    assert!(
        ms(finished.speech_end) > first_end + 600,
        "the finished utterance runs into the second part: {finished:?}"
    );
}
