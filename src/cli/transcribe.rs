//! `hotline transcribe FILE.wav...`: recognise WAV files (any rate, telephone band welcome)
//! with the local Whisper model and print text, confidence and time per file.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use hotline::asr::resample::ToWhisperRate;
use hotline::asr::wav::read_wav_mono;
use hotline::asr::whisper::WhisperModel;
use hotline::asr::{DEFAULT_MODEL, RecognitionHints, Recognizer, WhisperOptions, ensure_model};

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// WAV files to transcribe.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Model name (tiny.en, tiny.en-q8_0).
    #[arg(long, default_value = DEFAULT_MODEL)]
    pub model: String,
    /// Model directory.
    #[arg(long, default_value = "models")]
    pub dir: PathBuf,
    /// Fail instead of fetching a missing model.
    #[arg(long)]
    pub no_fetch: bool,
    /// Threads per utterance.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Words the caller is expected to say (repeatable), fed as the initial prompt.
    #[arg(long = "hint")]
    pub hints: Vec<String>,
    /// Print JSON (an array with one object per file).
    #[arg(long)]
    pub json: bool,
}

#[derive(serde::Serialize)]
struct FileResult {
    file: String,
    text: String,
    confidence: f32,
    audio_ms: u32,
    decode_ms: u32,
    total_ms: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let path = ensure_model(&args.dir, &args.model, !args.no_fetch)?;
    let model = WhisperModel::load(&path).with_context(|| format!("loading {}", path.display()))?;
    let options = WhisperOptions {
        threads: args.threads.max(1),
        ..WhisperOptions::default()
    };
    let mut recognizer = model.recognizer(options)?;
    let hints = RecognitionHints::new(args.hints.iter().cloned());
    let mut results = Vec::new();
    let mut failures = 0;
    for file in &args.files {
        let started = Instant::now();
        let outcome = read_wav_mono(file)
            .map_err(anyhow::Error::from)
            .and_then(|audio| {
                let pcm = ToWhisperRate::new(audio.rate)?.process(&audio.samples)?;
                Ok(recognizer.transcribe(&pcm, &hints)?)
            });
        let total_ms = started.elapsed().as_millis() as u32;
        let shown = file.display().to_string();
        let result = match outcome {
            Ok(t) => FileResult {
                file: shown,
                text: t.text,
                confidence: t.confidence,
                audio_ms: t.audio_ms,
                decode_ms: t.decode_ms,
                total_ms,
                error: None,
            },
            Err(e) => {
                failures += 1;
                FileResult {
                    file: shown,
                    text: String::new(),
                    confidence: 0.0,
                    audio_ms: 0,
                    decode_ms: 0,
                    total_ms,
                    error: Some(format!("{e:#}")),
                }
            }
        };
        if !args.json {
            match &result.error {
                Some(e) => println!("{}\terror: {e}", result.file),
                None => println!(
                    "{}\t{:.2}\t{} ms audio\t{} ms\t{}",
                    result.file,
                    result.confidence,
                    result.audio_ms,
                    result.decode_ms,
                    if result.text.is_empty() { "(no speech)" } else { &result.text }
                ),
            }
        }
        results.push(result);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    }
    Ok(if failures > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
