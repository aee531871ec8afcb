//! `hotline db init [--demo] [--dir DIR]`: creates and migrates the embedded database,
//! and with `--demo` seeds the demo bank customers (skipping any already there).
//! `hotline db bench`: times lookups on a scratch demo database and prints a table.

use anyhow::Context;
use hotline::config::Config;
use hotline::data::{CallFacts, DataConfig, DataSources, Store, seed};
use hotline::dialplan::LookupArg;
use hotline::dialplan::template::ReadAs;
use hotline::prompts::{PromptCatalog, gapless, readback};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use std::time::Instant;

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
    /// Time lookups, PIN checks and readback on a scratch demo database; prints medians.
    Bench {
        /// Timed runs per row.
        #[arg(long, default_value_t = 200)]
        iterations: usize,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        DbCommand::Init { demo, dir, config } => init(demo, dir, config),
        DbCommand::Bench { iterations } => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(bench(iterations.max(1)))
        }
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
        let added = seed::seed_demo(&store, chrono::Local::now().date_naive())
            .context("cannot seed the demo customers")?;
        println!(
            "{added} demo customers added ({} already present)",
            seed::DEMO_CUSTOMERS.len() - added
        );
    }
    let customers: i64 =
        store.with(|c| c.query_row("SELECT count(*) FROM customers", [], |r| r.get(0)))?;
    println!("{customers} customers in the database");
    Ok(ExitCode::SUCCESS)
}

async fn bench(iterations: usize) -> anyhow::Result<ExitCode> {
    let dir = std::env::temp_dir().join(format!("hotline-db-bench-{}", std::process::id()));
    let result = bench_in(&dir, iterations).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn bench_in(dir: &std::path::Path, iterations: usize) -> anyhow::Result<ExitCode> {
    let data = DataSources::open(&DataConfig::default(), dir)?;
    let call = CallFacts {
        caller_id: "+15551230001".into(),
        call_id: "bench".into(),
    };
    let arg = |name: &str, value: &str| LookupArg {
        name: name.into(),
        value: value.into(),
        sensitive: name == "pin",
    };
    let prompts = PromptCatalog::load(std::path::Path::new("prompts"), "en-US")
        .context("readback rows need prompts/en-US (run from the repository root)")?;
    println!("| operation | runs | median | p90 |");
    println!("|---|---|---|---|");
    let lookups = [
        (
            "lookup balance (SQLite)",
            "balance",
            vec![arg("account", "12345678")],
        ),
        (
            "lookup accounts_by_phone",
            "accounts_by_phone",
            vec![arg("phone", "+15551230001")],
        ),
        (
            "lookup accounts_by_number (not found)",
            "accounts_by_number",
            vec![arg("account", "99999999")],
        ),
    ];
    for (label, source, args) in &lookups {
        let mut times = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let start = Instant::now();
            std::hint::black_box(data.lookup(source, args, &call).await);
            times.push(start.elapsed());
        }
        row(label, &mut times);
    }
    // argon2 is slow by design: fewer runs.
    let pin_runs = iterations.min(20);
    let mut times = Vec::with_capacity(pin_runs);
    for _ in 0..pin_runs {
        let start = Instant::now();
        std::hint::black_box(
            data.lookup(
                "verify_pin",
                &[arg("account", "12345678"), arg("pin", "1234")],
                &call,
            )
            .await,
        );
        times.push(start.elapsed());
    }
    row("verify_pin, right PIN (argon2id)", &mut times);
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        let ids = readback::readback(ReadAs::Money, "-1234567.89")?;
        let parts: Vec<_> = ids.iter().filter_map(|id| prompts.samples(id)).collect();
        std::hint::black_box(gapless::join(&parts));
        times.push(start.elapsed());
    }
    row("readback -1234567.89 as money + gapless join", &mut times);
    Ok(ExitCode::SUCCESS)
}

fn row(label: &str, times: &mut [Duration]) {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "| {label} | {} | {:.1?} | {:.1?} |",
        times.len(),
        at(0.5),
        at(0.9)
    );
}
