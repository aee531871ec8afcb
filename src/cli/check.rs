//! `hotline check [PATHS]`: loads and checks dialplans (files, or folders of `*.yaml`),
//! printing every problem at file:line:column with a snippet and a hint. Exits non-zero
//! when any file has an error; warnings alone pass. With `--config hotline.toml` the
//! transfers' queues are checked against the configured ones.

use hotline::dialplan::{self, CheckOptions, Report};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// Dialplan files or folders (default: dialplans/). Folders are searched for *.yaml,
    /// not recursing into tests/.
    pub paths: Vec<PathBuf>,
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Print only the summary line per file.
    #[arg(long, short)]
    pub quiet: bool,
    /// The server's configuration: transfers must name a queue it configures
    /// (`[acd.queues.NAME]`). Without it, the dialplan's own `queues:` list is checked.
    #[arg(long, value_name = "hotline.toml")]
    pub config: Option<PathBuf>,
}

/// The queue names a hotline.toml configures: its `[acd.queues.NAME]` tables, or the
/// three default queues when it writes none. The whole file is checked as the server would.
pub fn configured_queues(path: &Path) -> anyhow::Result<BTreeSet<String>> {
    let config = hotline::config::Config::load(path)?;
    Ok(config.acd.queue_names().map(str::to_string).collect())
}

/// Dialplan files under `paths` (folders: their *.yaml and *.yml, sorted).
pub fn dialplan_files(paths: &[PathBuf], default: &str) -> anyhow::Result<Vec<PathBuf>> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(default)]
    } else {
        paths.to_vec()
    };
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(&path)
                .map_err(|e| anyhow::anyhow!("cannot read folder {}: {e}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_yaml(p))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let files = dialplan_files(&args.paths, "dialplans")?;
    if files.is_empty() {
        anyhow::bail!("no dialplan files found");
    }
    let options = CheckOptions {
        known_queues: args.config.as_deref().map(configured_queues).transpose()?,
    };
    let (mut errors, mut warnings, mut failed_files) = (0, 0, 0);
    for file in &files {
        let report: Report = match dialplan::load_path_with(file, &options) {
            Ok((_, report)) => report,
            Err(report) => report,
        };
        let file_errors = report.errors().count();
        let file_warnings = report.warnings().count();
        if !args.quiet && !report.diagnostics.is_empty() {
            print!("{}", report.render());
        }
        let verdict = if file_errors > 0 || (args.deny_warnings && file_warnings > 0) {
            failed_files += 1;
            "FAILED"
        } else {
            "ok"
        };
        let counts = format!(
            "{}, {}",
            count(file_errors, "error"),
            count(file_warnings, "warning")
        );
        println!("{}: {verdict} ({counts})", file.display());
        errors += file_errors;
        warnings += file_warnings;
    }
    if files.len() > 1 {
        let counts = format!("{}, {}", count(errors, "error"), count(warnings, "warning"));
        println!("{} files checked: {counts}", files.len());
    }
    Ok(if failed_files > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
