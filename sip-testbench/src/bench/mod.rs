//! `sip-testbench bench`: drives a Hotline server with SIPp (call setup rate) and the
//! caller bot (concurrent calls with RTP both ways) and prints Markdown tables: setups per
//! second with zero failures, INVITE-to-200 latency, calls held, the server's RTP send
//! jitter as seen on arrival, packet loss, CPU per call and memory per call.
//!
//! It starts the release `hotline` binary itself (a fresh process per phase, so memory
//! figures are not inflated by the previous phase), or targets `--server` when given.

mod arrival_stamp;
pub mod bridged;
mod held_calls;
pub mod listening;
mod proc_stats;
mod rtp_load;
mod send_batch;
mod server_process;
mod setup_rate;
mod table;

use anyhow::Context;
use held_calls::{HeldPlan, HeldStep};
use server_process::{ServerProcess, ServerSettings};
use setup_rate::{Percentiles, SetupStep, StepPlan};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Targets from issue 2, item 9.
const TARGET_SETUPS_PER_SECOND: f64 = 1000.0;
const TARGET_CONCURRENT_CALLS: usize = 3000;
const TARGET_JITTER_P99_MICROS: u64 = 2000;
const TARGET_PERCENT_CORE_PER_CALL: f64 = 0.035;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// The hotline binary to start (unless --server is given).
    #[arg(long, default_value = "target/release/hotline")]
    hotline: PathBuf,
    /// Benchmark a server already listening on this SIP UDP address instead.
    #[arg(long)]
    server: Option<SocketAddr>,
    /// With --server: its process id, for CPU and memory figures.
    #[arg(long, requires = "server")]
    server_pid: Option<u32>,
    /// Prompts directory for the started server.
    #[arg(long, default_value = "prompts")]
    prompts: PathBuf,
    /// SIPp scenario for the setup-rate phase.
    #[arg(long, default_value = "sip-testbench/sipp/bench_setup.xml")]
    scenario: PathBuf,
    /// Call rates to try, calls per second, in order; stops after the first failing step.
    #[arg(long, value_delimiter = ',', default_value = "200,500,1000,1500,2000")]
    rates: Vec<u32>,
    /// Seconds of calls at each rate.
    #[arg(long, default_value_t = 5)]
    rate_seconds: u32,
    /// How long SIPp holds each call before its BYE, in milliseconds.
    #[arg(long, default_value_t = 0)]
    hold_ms: u32,
    /// Concurrent calls to hold, in order; stops after the first step with a failed call.
    #[arg(long, value_delimiter = ',', default_value = "100,500,1000,2000,3000")]
    calls: Vec<usize>,
    /// Upper bound on concurrent calls, whatever --calls says.
    #[arg(long, default_value_t = 3000)]
    max_calls: usize,
    /// New calls per second while ramping up to a concurrency step.
    #[arg(long, default_value_t = 200)]
    ramp_cps: u32,
    /// Seconds of measurement at each concurrency step.
    #[arg(long, default_value_t = 10)]
    measure_seconds: u64,
    /// 8 kHz mono WAV every bot call says, looped.
    #[arg(long, default_value = "prompts/en-US/welcome.wav")]
    speak: PathBuf,
    /// Bot RTP sockets (one receiving thread each) shared by all calls.
    #[arg(long, default_value_t = 4)]
    bot_sockets: usize,
    /// The started server hangs up calls whose RTP stops this long (proves it arrives).
    #[arg(long, default_value_t = 5)]
    media_timeout_secs: u64,
    /// Profile the server (`perf record -g`) during the last concurrency window into this file.
    #[arg(long)]
    perf_output: Option<PathBuf>,
    #[arg(long)]
    skip_setup_rate: bool,
    #[arg(long)]
    skip_concurrency: bool,
}

/// The server under test for one phase.
struct Target {
    sip: SocketAddr,
    pid: Option<u32>,
    _process: Option<ServerProcess>,
}

impl BenchArgs {
    fn target(&self) -> anyhow::Result<Target> {
        if let Some(sip) = self.server {
            return Ok(Target {
                sip,
                pid: self.server_pid,
                _process: None,
            });
        }
        let process = ServerProcess::start(&ServerSettings {
            binary: self.hotline.clone(),
            prompts: self.prompts.clone(),
            max_calls: self.max_calls,
            media_timeout_secs: self.media_timeout_secs,
            script: server_process::Script::Demo,
        })?;
        Ok(Target {
            sip: process.sip_udp(),
            pid: Some(process.pid()),
            _process: Some(process),
        })
    }
}

pub fn run(args: BenchArgs, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    println!(
        "# Hotline SIP/RTP benchmark\n\nmachine: {} cores, load average at start {}\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        proc_stats::load_average()
    );
    let setup = if args.skip_setup_rate {
        Vec::new()
    } else {
        setup_phase(&args)?
    };
    let held = if args.skip_concurrency {
        Vec::new()
    } else {
        runtime.block_on(concurrency_phase(&args))?
    };
    print_summary(&setup, &held);
    Ok(())
}

fn setup_phase(args: &BenchArgs) -> anyhow::Result<Vec<SetupStep>> {
    let target = args.target()?;
    println!(
        "## Call setup rate (SIPp, {} s per step, hold {} ms, no RTP from SIPp)\n",
        args.rate_seconds, args.hold_ms
    );
    let mut steps = Vec::new();
    for &cps in &args.rates {
        let step = setup_rate::run_step(&StepPlan {
            server: target.sip,
            server_pid: target.pid,
            scenario: args.scenario.clone(),
            cps,
            seconds: args.rate_seconds,
            hold_ms: args.hold_ms,
        })?;
        eprintln!(
            "setup rate {cps} cps: {} ok, {} failed",
            step.successful, step.failed
        );
        let sustained = step.sustained();
        steps.push(step);
        if !sustained {
            break;
        }
    }
    let rows: Vec<Vec<String>> = steps.iter().map(setup_row).collect();
    println!(
        "{}",
        table::markdown(
            &[
                "cps asked",
                "cps done",
                "calls",
                "failed",
                "retrans",
                "INVITE→200 p50",
                "p99",
                "max",
                "server CPU/call",
                "sustained",
            ],
            &rows
        )
    );
    println!("load average after: {}\n", proc_stats::load_average());
    Ok(steps)
}

fn setup_row(step: &SetupStep) -> Vec<String> {
    let (p50, p99, max) = percentile_cells(step.latency);
    vec![
        step.requested_cps.to_string(),
        format!("{:.0}", step.achieved_cps),
        step.attempted.to_string(),
        step.failed.to_string(),
        step.retransmissions.to_string(),
        p50,
        p99,
        max,
        step.server_cpu_per_call
            .map_or("-".into(), |cpu| format!("{} µs", cpu.as_micros())),
        if step.sustained() { "yes" } else { "no" }.into(),
    ]
}

fn percentile_cells(p: Option<Percentiles>) -> (String, String, String) {
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    match p {
        Some(p) => (ms(p.p50), ms(p.p99), ms(p.max)),
        None => ("-".into(), "-".into(), "-".into()),
    }
}

async fn concurrency_phase(args: &BenchArgs) -> anyhow::Result<Vec<HeldStep>> {
    let target = args.target()?;
    let voice = sip_testbench::caller::read_wav(&args.speak)
        .with_context(|| format!("cannot read {}", args.speak.display()))?;
    let load = rtp_load::RtpLoad::start(
        std::net::IpAddr::from([127, 0, 0, 1]),
        args.bot_sockets,
        &voice,
    )?;
    let mut steps: Vec<usize> = args
        .calls
        .iter()
        .map(|&n| n.min(args.max_calls))
        .filter(|&n| n > 0)
        .collect();
    steps.dedup();
    println!(
        "## Concurrent calls with RTP both ways (caller bot, ramp {} calls/s, {} s windows)\n",
        args.ramp_cps, args.measure_seconds
    );
    let plan = HeldPlan {
        server: target.sip,
        server_pid: target.pid,
        steps,
        ramp_cps: args.ramp_cps,
        settle: Duration::from_secs(2),
        measure: Duration::from_secs(args.measure_seconds),
        perf_output: args.perf_output.clone(),
    };
    let held = held_calls::run(&plan, &load, |step| {
        eprintln!(
            "{} calls: {} up, jitter p99 {} µs, server {:.2} cores",
            step.target,
            step.up,
            step.rtp.jitter_micros.value_at_quantile(0.99),
            step.server.map_or(0.0, |s| s.cores)
        );
    })
    .await?;
    drop(load);
    let rows: Vec<Vec<String>> = held.iter().map(held_row).collect();
    println!(
        "{}",
        table::markdown(
            &[
                "calls",
                "up",
                "setup fail",
                "dropped",
                "INVITE→200 p50",
                "p99",
                "rx pkt/s",
                "rx %",
                "tx %",
                "loss",
                "silent",
                "jitter p50",
                "p99",
                "p99.9",
                "max",
                "server CPU",
                "server waiting",
                "% core/call",
                "RSS/call",
                "bot CPU",
                "bot late p99",
                "load",
            ],
            &rows
        )
    );
    Ok(held)
}

fn held_row(step: &HeldStep) -> Vec<String> {
    let (p50, p99, _) = percentile_cells(step.setup_latency);
    let rtp = &step.rtp;
    let micros = |v: u64| format!("{v} µs");
    let expected = rtp.packets_received + rtp.packets_lost;
    let loss = if expected == 0 {
        "-".into()
    } else {
        format!("{:.3} %", 100.0 * rtp.packets_lost as f64 / expected as f64)
    };
    let (server_cpu, waiting, per_call, rss) = match step.server {
        Some(server) if step.up > 0 => (
            format!("{:.1} %", server.cores * 100.0),
            format!("{:.1} %", server.waiting_cores * 100.0),
            format!("{:.4} %", server.cores * 100.0 / step.up as f64),
            format!(
                "{:.1} KiB",
                server.rss_growth_bytes as f64 / 1024.0 / step.up as f64
            ),
        ),
        _ => ("-".into(), "-".into(), "-".into(), "-".into()),
    };
    vec![
        step.target.to_string(),
        step.up.to_string(),
        step.setup_failed.to_string(),
        step.dropped.to_string(),
        p50,
        p99,
        format!(
            "{:.0}",
            rtp.packets_received as f64 / step.window.as_secs_f64()
        ),
        format!("{:.1} %", step.server_delivery() * 100.0),
        format!("{:.1} %", step.bot_delivery() * 100.0),
        loss,
        rtp.silent_streams.to_string(),
        micros(rtp.jitter_micros.value_at_quantile(0.50)),
        micros(rtp.jitter_micros.value_at_quantile(0.99)),
        micros(rtp.jitter_micros.value_at_quantile(0.999)),
        micros(rtp.jitter_micros.max()),
        server_cpu,
        waiting,
        per_call,
        rss,
        format!("{:.1} %", step.bot_cores * 100.0),
        micros(rtp.bot_send_lateness_micros.value_at_quantile(0.99)),
        step.load_average.clone(),
    ]
}

/// One line per target: reached or not, with the figure.
fn print_summary(setup: &[SetupStep], held: &[HeldStep]) {
    println!("## Against the targets\n");
    if !setup.is_empty() {
        let best = setup
            .iter()
            .filter(|s| s.sustained())
            .map(|s| s.achieved_cps)
            .fold(0.0, f64::max);
        println!(
            "- call setups/s with zero failures: {best:.0} (target {TARGET_SETUPS_PER_SECOND:.0}): {}",
            verdict(best >= TARGET_SETUPS_PER_SECOND * 0.95)
        );
    }
    let clean: Vec<&HeldStep> = held.iter().filter(|s| s.healthy()).collect();
    if let Some(top) = clean.iter().max_by_key(|s| s.up) {
        let p99 = top.rtp.jitter_micros.value_at_quantile(0.99);
        println!(
            "- concurrent calls held with RTP both ways: {} (target {TARGET_CONCURRENT_CALLS}): {}",
            top.up,
            verdict(top.up >= TARGET_CONCURRENT_CALLS)
        );
        println!(
            "- send jitter p99 at {} calls: {p99} µs (target under {TARGET_JITTER_P99_MICROS} µs): {}",
            top.up,
            verdict(p99 < TARGET_JITTER_P99_MICROS)
        );
        if let Some(server) = top.server {
            let per_call = server.cores * 100.0 / top.up.max(1) as f64;
            println!(
                "- server CPU at {} calls: {per_call:.4} % of one core per call (target under {TARGET_PERCENT_CORE_PER_CALL} %): {}",
                top.up,
                verdict(per_call < TARGET_PERCENT_CORE_PER_CALL)
            );
        }
    } else if !held.is_empty() {
        println!("- no concurrency step kept every call up with RTP at 50 packets/s both ways");
    }
    if let Some(beyond) = held.iter().find(|s| !s.healthy()) {
        println!(
            "- first step short of that: {} calls, {} up, server sent {:.1} % and the bot {:.1} % of 50 packets/s per call",
            beyond.target,
            beyond.up,
            beyond.server_delivery() * 100.0,
            beyond.bot_delivery() * 100.0
        );
    }
    println!("\nload average at end: {}", proc_stats::load_average());
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}
