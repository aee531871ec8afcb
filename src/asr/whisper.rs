//! The whisper-rs engine behind the `Recognizer` seam: one shared model, one decoding state
//! per worker, and the settings that keep latency flat on telephone utterances (greedy,
//! English, no context carried over, an audio-context floor, a token cap, no temperature
//! fallback).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

use super::catalog::{ModelError, check_ggml_file};
use super::{AsrError, RecognitionHints, Recognizer, Transcript, WHISPER_RATE};

/// Tuning of one recogniser. The defaults are the settings measured in docs/models.md.
#[derive(Debug, Clone)]
pub struct WhisperOptions {
    /// Threads whisper.cpp uses for one utterance.
    pub threads: usize,
    /// Smallest encoder context (in 20 ms frames). The context is sized to the utterance
    /// plus `AUDIO_CTX_SLACK`; the encoder's cost grows with it (about 1.5 ms of CPU per
    /// frame here), so a floor only buys safety against the repetition that a tight context
    /// invites (docs/speech.md has the measurements behind the default of 0).
    pub audio_ctx_floor: usize,
    /// Token cap: `tokens_per_second × seconds + token_margin`; stops runaway loops.
    pub tokens_per_second: f32,
    pub token_margin: usize,
    /// Utterances quieter than this RMS (dBFS) are reported as empty without decoding:
    /// Whisper invents text ("Thank you.") on silence.
    pub silence_dbfs: f32,
    /// Segments the model itself thinks hold no speech above this probability are dropped.
    pub no_speech_threshold: f32,
}

impl Default for WhisperOptions {
    fn default() -> Self {
        Self {
            threads: 1,
            audio_ctx_floor: 0,
            tokens_per_second: 6.0,
            token_margin: 10,
            silence_dbfs: -50.0,
            no_speech_threshold: 0.6,
        }
    }
}

/// Below this confidence, a transcript that is a known hallucination is dropped.
const HALLUCINATION_CONFIDENCE: f32 = 0.6;

/// Whisper's window: audio longer than this is recognised in consecutive pieces.
const WINDOW_SECONDS: usize = 28;
const FULL_AUDIO_CTX: usize = 1500;
/// Encoder frames of padding past the end of the audio (1.28 s): without it the model
/// misses the last word or repeats itself.
const AUDIO_CTX_SLACK: usize = 64;

/// A loaded model, shared by every worker (whisper.cpp keeps the weights once).
#[derive(Clone)]
pub struct WhisperModel {
    context: Arc<WhisperContext>,
}

impl std::fmt::Debug for WhisperModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WhisperModel")
    }
}

impl WhisperModel {
    /// Loads a ggml model after checking its structure, so a truncated or foreign file is a
    /// clear error rather than an abort inside whisper.cpp.
    pub fn load(path: &Path) -> Result<Self, AsrError> {
        check_ggml_file(path).map_err(|reason| ModelError::Corrupt {
            path: path.to_path_buf(),
            reason,
            command: "hotline models fetch".into(),
        })?;
        whisper_rs::install_logging_hooks();
        let mut params = WhisperContextParameters::default();
        params.use_gpu(false);
        params.flash_attn(false);
        let shown = path.display().to_string();
        let context = WhisperContext::new_with_params(&shown, params)
            .map_err(|e| AsrError::Engine(format!("loading {shown}: {e}")))?;
        Ok(Self {
            context: Arc::new(context),
        })
    }

    /// A recogniser with its own decoding state.
    pub fn recognizer(&self, options: WhisperOptions) -> Result<WhisperRecognizer, AsrError> {
        let state = self
            .context
            .create_state()
            .map_err(|e| AsrError::Engine(format!("creating a decoding state: {e}")))?;
        Ok(WhisperRecognizer { state, options })
    }
}

/// One worker's recogniser.
pub struct WhisperRecognizer {
    state: WhisperState,
    options: WhisperOptions,
}

impl std::fmt::Debug for WhisperRecognizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperRecognizer")
            .field("options", &self.options)
            .finish()
    }
}

fn rms_dbfs(pcm: &[f32]) -> f32 {
    if pcm.is_empty() {
        return f32::NEG_INFINITY;
    }
    let mean_square = pcm
        .iter()
        .map(|x| f64::from(*x) * f64::from(*x))
        .sum::<f64>()
        / pcm.len() as f64;
    (10.0 * mean_square.max(1e-20).log10()) as f32
}

/// Drops what Whisper writes for non-speech: `[BLANK_AUDIO]`, `(music)`, `*coughs*`, `♪`.
fn strip_annotations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut brackets = 0usize;
    let mut starred = false;
    for ch in text.chars() {
        match ch {
            '[' | '(' => brackets += 1,
            ']' | ')' => brackets = brackets.saturating_sub(1),
            '*' => starred = !starred,
            _ if brackets == 0 && !starred => out.push(ch),
            _ => {}
        }
    }
    if !out.chars().any(char::is_alphanumeric) {
        return String::new();
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What Whisper says over noise, music and tones when it hears no words. Kept only when the
/// model was confident.
const HALLUCINATIONS: &[&str] = &[
    "you",
    "thank you",
    "thanks for watching",
    "thank you for watching",
    "i'm so sorry",
    "bye",
    "so",
    "oh",
    // A tight encoder context (sized to the clip) turns tones and hiss into these.
    "i'm",
    "i am",
    "i'm so",
    "i am so",
    // Tones (DTMF, dial tone) come out as their sound.
    "beep",
    "beep beep",
    "beeping",
];

fn is_hallucination(text: &str) -> bool {
    let plain: String = text
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace() || *c == '\'')
        .collect::<String>()
        .to_lowercase();
    let plain = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    HALLUCINATIONS.contains(&plain.as_str())
}

/// Cuts a decoding loop ("three three three …", "1, 2, 3, 1, 2, 3, …") back to its first
/// pass. Only applied when decoding ran into the token cap, where such loops come from.
fn trim_loop(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let norm: Vec<String> = words
        .iter()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .collect();
    for i in 0..norm.len() {
        for n in 1..=8 {
            let repeats_needed = if n < 3 { 3 } else { 2 };
            if i + n * repeats_needed > norm.len() {
                break;
            }
            let unit = &norm[i..i + n];
            if (1..repeats_needed).all(|k| &norm[i + k * n..i + (k + 1) * n] == unit) {
                return words[..i + n].join(" ");
            }
        }
    }
    text.to_string()
}

/// "Yes, that's right. Yes, that's right." → "Yes, that's right.": a transcript that is one
/// phrase said twice over is, on a phone line, the model echoing itself (a tight encoder
/// context invites it) far more often than a caller repeating a whole phrase; either way
/// the phrase once means the same to the dialplan.
fn collapse_echo(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let norm: Vec<String> = words
        .iter()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .collect();
    let half = words.len() / 2;
    if half >= 2 && words.len().is_multiple_of(2) && norm[..half] == norm[half..] {
        words[..half].join(" ")
    } else {
        text.to_string()
    }
}

/// What one window decoded to.
struct Window {
    text: String,
    prob_sum: f32,
    tokens: usize,
    hit_cap: bool,
}

impl WhisperRecognizer {
    /// Loads a model and makes one recogniser: the simple path for one-off use (the CLI).
    pub fn load(path: &Path, options: WhisperOptions) -> Result<Self, AsrError> {
        WhisperModel::load(path)?.recognizer(options)
    }

    pub fn options(&self) -> &WhisperOptions {
        &self.options
    }

    /// One window (≤ 28 s): returns text, summed token probability and token count.
    fn decode_window(&mut self, pcm: &[f32], prompt: Option<&str>) -> Result<Window, AsrError> {
        let seconds = pcm.len() as f32 / WHISPER_RATE as f32;
        // 50 encoder frames per second, plus slack so the end of the audio is inside.
        let needed = (seconds * 50.0).ceil() as usize + AUDIO_CTX_SLACK;
        let audio_ctx = needed.clamp(self.options.audio_ctx_floor, FULL_AUDIO_CTX);
        let max_tokens =
            (self.options.tokens_per_second * seconds).ceil() as usize + self.options.token_margin;

        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_n_threads(self.options.threads.max(1) as i32);
        params.set_language(Some("en"));
        params.set_translate(false);
        params.set_no_context(true);
        params.set_single_segment(true);
        params.set_no_timestamps(true);
        params.set_audio_ctx(audio_ctx as i32);
        params.set_max_tokens(max_tokens as i32);
        params.set_temperature(0.0);
        params.set_temperature_inc(0.0);
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        if let Some(prompt) = prompt {
            params.set_initial_prompt(prompt);
        }
        // whisper.cpp refuses (or pads badly) clips under a second: pad with silence.
        let min_len = WHISPER_RATE as usize + WHISPER_RATE as usize / 10;
        let padded;
        let audio = if pcm.len() < min_len {
            let mut v = pcm.to_vec();
            v.resize(min_len, 0.0);
            padded = v;
            &padded[..]
        } else {
            pcm
        };
        self.state
            .full(params, audio)
            .map_err(|e| AsrError::Engine(format!("decoding: {e}")))?;

        let eot = self.state.full_n_segments();
        let mut text = String::new();
        let mut prob_sum = 0.0f32;
        let mut tokens = 0usize;
        let mut hit_cap = false;
        for i in 0..eot {
            let Some(segment) = self.state.get_segment(i) else {
                continue;
            };
            if segment.no_speech_probability() > self.options.no_speech_threshold {
                continue;
            }
            let piece = segment
                .to_str_lossy()
                .map_err(|e| AsrError::Engine(e.to_string()))?;
            let piece = strip_annotations(&piece);
            if piece.is_empty() {
                continue;
            }
            for t in 0..segment.n_tokens() {
                let Some(token) = segment.get_token(t) else {
                    continue;
                };
                let is_text = token
                    .to_str_lossy()
                    .map(|s| !(s.starts_with("[_") || s.starts_with("<|")))
                    .unwrap_or(false);
                if is_text {
                    prob_sum += token.token_probability();
                    tokens += 1;
                }
            }
            if segment.n_tokens() as usize >= max_tokens {
                hit_cap = true;
            }
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&piece);
        }
        if hit_cap {
            text = trim_loop(&text);
        }
        let text = collapse_echo(&text);
        Ok(Window {
            text,
            prob_sum,
            tokens,
            hit_cap,
        })
    }
}

impl Recognizer for WhisperRecognizer {
    fn transcribe(
        &mut self,
        pcm_16k: &[f32],
        hints: &RecognitionHints,
    ) -> Result<Transcript, AsrError> {
        let audio_ms = (pcm_16k.len() as u64 * 1000 / u64::from(WHISPER_RATE)) as u32;
        let started = Instant::now();
        if rms_dbfs(pcm_16k) < self.options.silence_dbfs {
            return Ok(Transcript {
                text: String::new(),
                confidence: 0.0,
                audio_ms,
                decode_ms: 0,
            });
        }
        let prompt = hints.initial_prompt();
        let mut text = String::new();
        let (mut prob_sum, mut tokens, mut looped) = (0.0f32, 0usize, false);
        for window in pcm_16k.chunks(WINDOW_SECONDS * WHISPER_RATE as usize) {
            let w = self.decode_window(window, prompt.as_deref())?;
            if !w.text.is_empty() {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(&w.text);
            }
            prob_sum += w.prob_sum;
            tokens += w.tokens;
            looped |= w.hit_cap;
        }
        let mut confidence = if text.is_empty() || tokens == 0 {
            0.0
        } else {
            (prob_sum / tokens as f32).clamp(0.0, 1.0)
        };
        // A transcript cut out of a loop is a guess at best.
        if looped {
            confidence *= 0.5;
        }
        if confidence < HALLUCINATION_CONFIDENCE && is_hallucination(&text) {
            text.clear();
            confidence = 0.0;
        }
        Ok(Transcript {
            text,
            confidence,
            audio_ms,
            decode_ms: started.elapsed().as_millis() as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_are_removed() {
        assert_eq!(strip_annotations(" [BLANK_AUDIO]"), "");
        assert_eq!(
            strip_annotations("(music) I lost my card."),
            "I lost my card."
        );
        assert_eq!(strip_annotations("yes *coughs* please"), "yes please");
        assert_eq!(strip_annotations("♪ ♪"), "");
    }

    #[test]
    fn loops_are_cut_back_to_the_first_pass() {
        assert_eq!(trim_loop("Two three three three three three"), "Two three");
        assert_eq!(
            trim_loop("1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 1, 2"),
            "1, 2, 3, 4, 5, 6,"
        );
        assert_eq!(trim_loop("four four seven one"), "four four seven one");
    }

    #[test]
    fn a_phrase_said_twice_over_is_kept_once() {
        assert_eq!(
            collapse_echo("Yes, that's right. Yes, that's right."),
            "Yes, that's right."
        );
        assert_eq!(collapse_echo("no no"), "no no");
        assert_eq!(
            collapse_echo("my card my card was stolen"),
            "my card my card was stolen"
        );
    }

    #[test]
    fn known_hallucinations() {
        assert!(is_hallucination("I'm so sorry."));
        assert!(is_hallucination(" You"));
        assert!(!is_hallucination("I lost my card"));
    }

    #[test]
    fn loudness_of_silence_and_full_scale() {
        assert!(rms_dbfs(&[0.0; 100]) < -150.0);
        assert!(rms_dbfs(&[1.0, -1.0]).abs() < 0.01);
    }
}
