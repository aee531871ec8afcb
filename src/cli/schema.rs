//! `hotline schema`: prints the JSON Schema of the dialplan format (or, with `--tests`,
//! of flow-test files) for editors; see docs/dialplan.md for wiring it into VS Code.

use anyhow::Context as _;
use hotline::dialplan::schema::{dialplan_schema, flow_test_schema};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// The schema of flow-test files instead of dialplans.
    #[arg(long)]
    pub tests: bool,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let schema = if args.tests {
        flow_test_schema()
    } else {
        dialplan_schema()
    };
    let text = serde_json::to_string_pretty(&schema)? + "\n";
    match args.output {
        Some(path) => std::fs::write(&path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
