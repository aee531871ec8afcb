//! Prompts: the catalog of recorded WAV prompts and readback of numbers, money, dates and digits.
//!
//! - [`catalog`]: `PromptCatalog::load(root, language) -> Result<PromptCatalog, PromptError>`
//!   loads and validates every `root/<language>/*.wav` (16-bit PCM, mono, 8000 Hz) at
//!   start-up and the texts from `root/<language>/*.txt` (`id<TAB>text`);
//!   `samples(id) -> Option<Arc<[i16]>>` hands out shared samples for `AudioSender::play`,
//!   `text(id)` the words (for the simulator).
//! - [`readback`]: `readback(ReadAs, value) -> Result<Vec<String>, ReadbackError>`, the
//!   prompt ids that speak a number, money, digits, a date (and ordinals, times).
//! - [`gapless`]: `join(&[samples]) -> Vec<i16>`, prompt samples as one buffer without
//!   gaps or clicks.

pub mod catalog;
pub mod gapless;
pub mod readback;

pub use catalog::{Prompt, PromptCatalog, PromptError};
