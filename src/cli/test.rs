//! `hotline test [PATHS]`: runs dialplan flow tests (files, or folders of `*.yaml`) and
//! prints results like a test runner; exits non-zero when a test fails or a file is broken.

use super::check::dialplan_files;
use hotline::dialplan::flow_test::{FileOutcome, load_file, run_file, run_test};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// Test files or folders (default: dialplans/tests/).
    pub paths: Vec<PathBuf>,
    /// Print the call transcript of passing tests too.
    #[arg(long, short)]
    pub verbose: bool,
    /// Benchmark instead of testing: load and run every file this many times and print
    /// a table of median timings.
    #[arg(long, value_name = "RUNS")]
    pub bench: Option<usize>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let files = dialplan_files(&args.paths, "dialplans/tests")?;
    if files.is_empty() {
        anyhow::bail!("no flow-test files found");
    }
    if let Some(runs) = args.bench {
        return bench(&files, runs.max(1));
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
                println!(
                    "{} ({} tests, dialplan {})",
                    file.display(),
                    outcomes.len(),
                    dialplan.display()
                );
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
    Ok(if failed > 0 || broken > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Times loading and running each file, `runs` times; prints medians.
fn bench(files: &[PathBuf], runs: usize) -> anyhow::Result<ExitCode> {
    println!(
        "| file | tests | runs | load + check (median) | all tests (median) | per call (median) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for file in files {
        let mut loads = Vec::with_capacity(runs);
        let mut rounds = Vec::with_capacity(runs);
        let mut count = 0;
        for _ in 0..runs {
            let started = Instant::now();
            let (tests, plan, _) =
                load_file(file).map_err(|r| anyhow::anyhow!("{}", r.render()))?;
            loads.push(started.elapsed());
            let started = Instant::now();
            for test in &tests.tests {
                std::hint::black_box(run_test(&plan, &tests, test));
            }
            rounds.push(started.elapsed());
            count = tests.tests.len();
        }
        let (load, round) = (median(loads), median(rounds));
        let per_call = round / u32::try_from(count.max(1)).unwrap_or(u32::MAX);
        println!(
            "| {} | {count} | {runs} | {load:.2?} | {round:.2?} | {per_call:.2?} |",
            file.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
