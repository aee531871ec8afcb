//! `hotline transcribe FILE.wav...`: recognise WAV files (any rate, telephone band welcome)
//! with the local Whisper model and print text, confidence and time per file.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use hotline::asr::bench::BenchInput;
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
    /// Smallest encoder context in 20 ms frames (default: the server's setting). Smaller is
    /// cheaper; too small makes the model repeat itself (docs/speech.md).
    #[arg(long)]
    pub audio_ctx: Option<usize>,
    /// Words the caller is expected to say (repeatable), fed as the initial prompt.
    #[arg(long = "hint")]
    pub hints: Vec<String>,
    /// Print JSON (an array with one object per file).
    #[arg(long)]
    pub json: bool,
    /// Measure instead of printing transcripts: latency p50/p95, CPU per utterance and
    /// utterances per second per core, decoding the files `--repeat` times.
    #[arg(long)]
    pub bench: bool,
    /// Parallel recognisers for `--bench` (each with its own state, one shared model).
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// How many times `--bench` decodes each file.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
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
        audio_ctx_floor: args
            .audio_ctx
            .unwrap_or(WhisperOptions::default().audio_ctx_floor),
        ..WhisperOptions::default()
    };
    let hints = RecognitionHints::new(args.hints.iter().cloned());
    if args.bench {
        return bench(&args, &model, &options, &hints);
    }
    let mut recognizer = model.recognizer(options)?;
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
                    if result.text.is_empty() {
                        "(no speech)"
                    } else {
                        &result.text
                    }
                ),
            }
        }
        results.push(result);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    }
    Ok(if failures > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn bench(
    args: &Args,
    model: &WhisperModel,
    options: &WhisperOptions,
    hints: &RecognitionHints,
) -> anyhow::Result<ExitCode> {
    let mut inputs = Vec::new();
    for file in &args.files {
        let audio = read_wav_mono(file)?;
        let pcm_16k = ToWhisperRate::new(audio.rate)?.process(&audio.samples)?;
        inputs.push(BenchInput {
            name: file.display().to_string(),
            pcm_16k,
        });
    }
    let report =
        hotline::asr::bench::run(model, options, &inputs, args.workers, args.repeat, hints)?;
    println!(
        "| model | workers | threads | utterances | mean audio ms | p50 ms | p95 ms | CPU ms/utt | utt/s | utt/s/core |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {} | {} | {:.0} | {:.0} | {:.0} | {} | {:.2} | {:.2} |",
        args.model,
        report.workers,
        report.threads_per_worker,
        report.utterances,
        report.mean_audio_ms,
        report.p50_ms,
        report.p95_ms,
        report
            .cpu_ms_per_utterance
            .map_or("n/a".to_string(), |c| format!("{c:.0}")),
        report.utterances_per_second(),
        report.utterances_per_second_per_core()
    );
    Ok(ExitCode::SUCCESS)
}
