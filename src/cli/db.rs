//! `hotline db init [--demo] [--dir DIR]`: creates and migrates the embedded database,
//! and with `--demo` seeds the demo bank customers (skipping any already there).

use anyhow::Context;
use hotline::config::Config;
use hotline::data::{Store, seed};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: DbCommand,
}

#[derive(clap::Subcommand, Debug)]
enum DbCommand {
    /// Create the database (and its folder) and apply schema migrations.
    Init {
        /// Also add the demo bank customers (accounts, balances, cards, PINs, caller ids).
        #[arg(long)]
        demo: bool,
        /// Data folder (default: `[data] dir` of the configuration, else `data/`).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Configuration file (default: ./hotline.toml when it exists).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        DbCommand::Init { demo, dir, config } => init(demo, dir, config),
    }
}

fn init(demo: bool, dir: Option<PathBuf>, config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let config_path = config.or_else(|| Some(PathBuf::from("hotline.toml")).filter(|p| p.exists()));
    let config = match &config_path {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let data = config.data;
    let path = dir.unwrap_or_else(|| data.dir.clone()).join(&data.database);
    let store = Store::open(&path, Duration::from_millis(data.busy_timeout_ms))?;
    let version = store.schema_version()?;
    println!("{}: schema version {version}", path.display());
    if demo {
        let added = seed::seed_demo(&store, chrono::Local::now().date_naive()).context("cannot seed the demo customers")?;
        println!("{added} demo customers added ({} already present)", seed::DEMO_CUSTOMERS.len() - added);
    }
    let customers: i64 = store.with(|c| c.query_row("SELECT count(*) FROM customers", [], |r| r.get(0)))?;
    println!("{customers} customers in the database");
    Ok(ExitCode::SUCCESS)
}
