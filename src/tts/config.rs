//! The `[tts]` section of hotline.toml: the command that turns a text into a WAV file,
//! where its results are cached, and how long it may take. No command: no text-to-speech.

use serde::Deserialize;
use std::path::PathBuf;

/// Placeholder replaced by the text to say.
pub const TEXT_PLACEHOLDER: &str = "{text}";
/// Placeholder replaced by the WAV file the command must write.
pub const OUT_PLACEHOLDER: &str = "{out}";

/// The `[tts]` section.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TtsConfig {
    /// The program and its arguments, run without a shell; `{text}` and `{out}` are
    /// replaced inside any argument. Empty (the default): text-to-speech is off.
    pub command: Vec<String>,
    /// Where synthesised prompts are kept, one WAV per command and text.
    pub cache_dir: PathBuf,
    /// How long one run of the command may take before it is killed, milliseconds.
    pub timeout_ms: u64,
    /// Longest text sent to the command, in characters; longer texts are skipped.
    pub max_chars: usize,
}

impl Default for TtsConfig {
    fn default() -> Self {
        TtsConfig {
            command: Vec::new(),
            cache_dir: PathBuf::from("data/tts-cache"),
            timeout_ms: 5000,
            max_chars: 1000,
        }
    }
}

impl TtsConfig {
    /// Whether a command is configured.
    pub fn enabled(&self) -> bool {
        !self.command.is_empty()
    }

    /// What is wrong with the section, as (key, message).
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if !self.enabled() {
            return None;
        }
        let uses = |p: &str| self.command.iter().any(|arg| arg.contains(p));
        if self.command[0].trim().is_empty() {
            return Some(("command", "the first item must name the program".into()));
        }
        if !uses(OUT_PLACEHOLDER) {
            return Some((
                "command",
                format!("no argument contains {OUT_PLACEHOLDER}: where should the WAV go?"),
            ));
        }
        if !uses(TEXT_PLACEHOLDER) {
            return Some((
                "command",
                format!("no argument contains {TEXT_PLACEHOLDER}: what should be said?"),
            ));
        }
        if self.timeout_ms == 0 {
            return Some(("timeout_ms", "must be at least 1 millisecond".into()));
        }
        if self.max_chars == 0 {
            return Some(("max_chars", "must be at least 1".into()));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_and_checked_when_on() {
        let config: TtsConfig = toml::from_str("").unwrap();
        assert!(!config.enabled() && config.problem().is_none());
        let config: TtsConfig =
            toml::from_str("command = [\"flite\", \"-t\", \"{text}\", \"-o\", \"{out}\"]").unwrap();
        assert!(config.enabled() && config.problem().is_none());
        assert_eq!(config.cache_dir, PathBuf::from("data/tts-cache"));
        let config: TtsConfig =
            toml::from_str("command = [\"flite\", \"-t\", \"{text}\"]").unwrap();
        assert_eq!(config.problem().map(|p| p.0), Some("command"));
        assert!(toml::from_str::<TtsConfig>("voice = \"slt\"").is_err());
    }
}
