//! The `hotline` command line: `serve`, `check`, `simulate`, `test`, `graph`, `models` …
//! Each subcommand lives in its own file under `src/cli/`; this file only dispatches.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "hotline",
    version,
    about = "Telephony IVR and voice-routing server"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default when no subcommand is given).
    Serve(cli::serve::Args),
    /// Check dialplans and report every problem at file:line:column.
    Check(cli::check::Args),
    /// Print the JSON Schema of the dialplan format.
    Schema(cli::schema::Args),
    /// Walk a dialplan interactively or from a script, without a phone.
    Simulate(cli::simulate::Args),
    /// Run dialplan flow tests.
    Test(cli::test::Args),
    /// Export a dialplan as a Mermaid or Graphviz diagram.
    Graph(cli::graph::Args),
    /// Show what a gather step would understand from a transcript.
    Understand(cli::understand::Args),
    /// Caller-understanding tools (corpus evaluation).
    Nlu(cli::nlu::Args),
    /// Whisper model files: fetch, list, verify.
    Models(cli::models::Args),
    /// Transcribe WAV files with the local Whisper model.
    Transcribe(cli::transcribe::Args),
    /// The embedded database: `db init [--demo]`.
    Db(cli::db::Args),
    /// Agents who take transferred calls: `agents add|list|remove|passwd`.
    Agents(cli::agents::Args),
    /// Call detail records: `cdr list|show|export`.
    Cdr(cli::cdr::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => cli::serve::run(cli::serve::Args::default()),
        Some(Command::Serve(args)) => cli::serve::run(args),
        Some(Command::Check(args)) => cli::check::run(args),
        Some(Command::Schema(args)) => cli::schema::run(args),
        Some(Command::Simulate(args)) => cli::simulate::run(args),
        Some(Command::Test(args)) => cli::test::run(args),
        Some(Command::Graph(args)) => cli::graph::run(args),
        Some(Command::Understand(args)) => cli::understand::run(args),
        Some(Command::Nlu(args)) => cli::nlu::run(args),
        Some(Command::Models(args)) => cli::models::run(args),
        Some(Command::Transcribe(args)) => cli::transcribe::run(args),
        Some(Command::Db(args)) => cli::db::run(args),
        Some(Command::Agents(args)) => cli::agents::run(args),
        Some(Command::Cdr(args)) => cli::cdr::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
