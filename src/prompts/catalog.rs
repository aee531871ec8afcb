//! The prompt catalog: prompt id → 8 kHz samples and text, loaded and checked at start-up.
//!
//! Layout: `<root>/<language>/<id>.wav` holds the audio, and any number of list files
//! `<root>/<language>/*.txt` give each prompt's text, one `id<TAB>text` per line (`#`
//! starts a comment). Every WAV must be 16-bit integer PCM, mono, 8000 Hz: anything else is
//! refused with the file named, so a bad prompt stops the server at start-up rather than in
//! the middle of a call. A listed id without its WAV is an error too (render it with
//! `prompts/render.sh`). Samples are cached once as `Arc<[i16]>` and shared by every call.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The sample rate every prompt must have.
pub const PROMPT_SAMPLE_RATE: u32 = 8000;

/// Why the catalog could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// A directory or file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A WAV file could not be decoded.
    #[error("{path}: not a readable WAV file: {source}")]
    Wav {
        /// The file.
        path: PathBuf,
        /// hound's error.
        source: hound::Error,
    },
    /// A WAV file in a format we do not play.
    #[error(
        "{path}: expected 16-bit PCM mono 8000 Hz, found {found} (convert it with sox, or re-render with prompts/render.sh)"
    )]
    Format {
        /// The file.
        path: PathBuf,
        /// What it is.
        found: String,
    },
    /// A WAV file with no samples.
    #[error("{path}: the WAV file has no samples")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A list line that is not `id<TAB>text`.
    #[error("{path}:{line}: {message}")]
    ListSyntax {
        /// The list file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A listed prompt without its WAV.
    #[error("{list}:{line}: prompt {id:?} has no recording at {wav} (run prompts/render.sh)")]
    MissingWav {
        /// The list file.
        list: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The prompt id.
        id: String,
        /// The WAV path expected.
        wav: PathBuf,
    },
}

/// One prompt.
#[derive(Debug, Clone)]
pub struct Prompt {
    /// Its id (the WAV file stem).
    pub id: String,
    /// The words, when a list file gives them.
    pub text: Option<String>,
    /// The samples, 8 kHz mono.
    pub samples: Arc<[i16]>,
    /// The WAV file it came from.
    pub path: PathBuf,
}

impl Prompt {
    /// Playing time in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.samples.len() as u64 * 1000 / u64::from(PROMPT_SAMPLE_RATE)
    }
}

/// Every prompt of one language.
#[derive(Debug, Clone, Default)]
pub struct PromptCatalog {
    language: String,
    prompts: BTreeMap<String, Prompt>,
}

impl PromptCatalog {
    /// Loads `<root>/<language>`: every WAV, validated, and every list file's texts.
    pub fn load(root: &Path, language: &str) -> Result<Self, PromptError> {
        let dir = root.join(language);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PromptError::Io { path, source }
        };
        let mut wavs = Vec::new();
        let mut lists = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let path = entry.map_err(io(&dir))?.path();
            match path.extension().and_then(|e| e.to_str()) {
                Some("wav") => wavs.push(path),
                Some("txt") => lists.push(path),
                _ => {}
            }
        }
        wavs.sort();
        lists.sort();

        let mut prompts = BTreeMap::new();
        for path in wavs {
            let Some(id) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
                continue;
            };
            let samples = read_prompt_wav(&path)?;
            prompts.insert(
                id.clone(),
                Prompt {
                    id,
                    text: None,
                    samples,
                    path,
                },
            );
        }
        for list in lists {
            let content = std::fs::read_to_string(&list).map_err(io(&list))?;
            for ListEntry { line, id, text } in parse_list(&list, &content)? {
                match prompts.get_mut(&id) {
                    Some(prompt) => prompt.text = Some(text),
                    None => {
                        return Err(PromptError::MissingWav {
                            wav: dir.join(format!("{id}.wav")),
                            list,
                            line,
                            id,
                        });
                    }
                }
            }
        }
        Ok(PromptCatalog {
            language: language.to_owned(),
            prompts,
        })
    }

    /// The language directory this catalog came from.
    pub fn language(&self) -> &str {
        &self.language
    }

    /// A prompt by id.
    pub fn get(&self, id: &str) -> Option<&Prompt> {
        self.prompts.get(id)
    }

    /// A prompt's samples, shared (no copy).
    pub fn samples(&self, id: &str) -> Option<Arc<[i16]>> {
        self.prompts.get(id).map(|p| Arc::clone(&p.samples))
    }

    /// A prompt's text, if listed.
    pub fn text(&self, id: &str) -> Option<&str> {
        self.prompts.get(id).and_then(|p| p.text.as_deref())
    }

    /// Every id, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.prompts.keys().map(String::as_str)
    }

    /// How many prompts.
    pub fn len(&self) -> usize {
        self.prompts.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.prompts.is_empty()
    }
}

/// Reads one prompt WAV, refusing anything but 16-bit PCM mono 8000 Hz.
pub fn read_prompt_wav(path: &Path) -> Result<Arc<[i16]>, PromptError> {
    let wav_error = |source| PromptError::Wav {
        path: path.to_path_buf(),
        source,
    };
    let reader = hound::WavReader::open(path).map_err(wav_error)?;
    let spec = reader.spec();
    let ok = spec.channels == 1
        && spec.sample_rate == PROMPT_SAMPLE_RATE
        && spec.bits_per_sample == 16
        && spec.sample_format == hound::SampleFormat::Int;
    if !ok {
        let format = match spec.sample_format {
            hound::SampleFormat::Int => "PCM",
            hound::SampleFormat::Float => "float",
        };
        return Err(PromptError::Format {
            path: path.to_path_buf(),
            found: format!(
                "{}-bit {format}, {} channel(s), {} Hz",
                spec.bits_per_sample, spec.channels, spec.sample_rate
            ),
        });
    }
    let samples = reader
        .into_samples::<i16>()
        .collect::<Result<Arc<[i16]>, _>>()
        .map_err(wav_error)?;
    if samples.is_empty() {
        return Err(PromptError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(samples)
}

/// One `id<TAB>text` line of a list file.
struct ListEntry {
    line: usize,
    id: String,
    text: String,
}

/// Parses a list file.
fn parse_list(path: &Path, content: &str) -> Result<Vec<ListEntry>, PromptError> {
    let mut entries = Vec::new();
    for (index, raw) in content.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let syntax = |message: String| PromptError::ListSyntax {
            path: path.to_path_buf(),
            line: index + 1,
            message,
        };
        let (id, text) = line
            .split_once('\t')
            .ok_or_else(|| syntax("expected id<TAB>text".into()))?;
        let valid_id = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !valid_id {
            return Err(syntax(format!(
                "prompt id {id:?} must use only a-z, 0-9, '-' and '_'"
            )));
        }
        if text.trim().is_empty() {
            return Err(syntax(format!("prompt {id:?} has no text")));
        }
        entries.push(ListEntry {
            line: index + 1,
            id: id.to_owned(),
            text: text.trim().to_owned(),
        });
    }
    Ok(entries)
}
