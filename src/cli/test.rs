//! `hotline test [PATHS]`: runs dialplan flow tests (files, or folders of `*.yaml`) and
//! prints results like a test runner; exits non-zero when a test fails or a file is broken.

use super::check::dialplan_files;
use hotline::dialplan::flow_test::{FileOutcome, run_file};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// Test files or folders (default: dialplans/tests/).
    pub paths: Vec<PathBuf>,
    /// Print the call transcript of passing tests too.
    #[arg(long, short)]
    pub verbose: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let files = dialplan_files(&args.paths, "dialplans/tests")?;
    if files.is_empty() {
        anyhow::bail!("no flow-test files found");
    }
    let (mut passed, mut failed, mut broken) = (0, 0, 0);
    for file in &files {
        match run_file(file) {
            FileOutcome::Broken(report) => {
                broken += 1;
                println!("{}: cannot run", file.display());
                print!("{}", report.render());
            }
            FileOutcome::Ran { dialplan, outcomes } => {
                println!("{} ({} tests, dialplan {})", file.display(), outcomes.len(), dialplan.display());
                for outcome in outcomes {
                    if outcome.passed() {
                        passed += 1;
                        println!("  ok    {}", outcome.name);
                    } else {
                        failed += 1;
                        println!("  FAIL  {}", outcome.name);
                        for failure in &outcome.failures {
                            println!("        - {failure}");
                        }
                    }
                    if !outcome.passed() || args.verbose {
                        for line in &outcome.transcript {
                            println!("        | {line}");
                        }
                    }
                }
            }
        }
    }
    println!();
    if broken > 0 {
        println!("{broken} test files could not run");
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed > 0 || broken > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
