//! Optional text-to-speech for free text in dialplans (`text: "..."` items that no
//! recording can say): a configured command (`[tts]` in hotline.toml, off by default) is
//! run without a shell, its WAV output is converted to the prompts' 8 kHz mono 16-bit
//! format and cached on disk per command and text, so each text is synthesised once.
//! Documented in docs/configuration.md (`## [tts]`) and docs/dialplan.md.
//!
//! The call shell uses [`Tts`]: `Tts::new(&TtsConfig) -> Result<Tts, TtsError>` once at
//! start, then `speak(&self, text).await -> Result<Arc<[i16]>, TtsError>` for each text
//! to play. Sensitive values never reach it: the call refuses them before.

pub mod config;
pub mod convert;
pub mod error;
pub mod synth;

pub use config::TtsConfig;
pub use error::TtsError;
pub use synth::Tts;
