//! `sip-testbench`: call the server as a caller bot (`call`), or benchmark it (`bench`,
//! `bench-bridge`, `listen`).

mod bench;

use clap::{Parser, Subcommand};
use hotline::media::port_allocator::PortAllocator;
use sip_testbench::caller::{CallPlan, place_call, read_wav, write_wav};
use sip_testbench::uac::{SipTransport, Uac};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "sip-testbench",
    about = "Caller bot and benchmarks for Hotline"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Place one call: speak a WAV file, press keys, record what the server says.
    Call(CallArgs),
    /// Benchmark a server: setup rate (SIPp), concurrent calls with RTP, jitter, CPU, memory.
    Bench(bench::BenchArgs),
    /// Benchmark bridged calls: caller bots through the server's queue to agent bots, RTP
    /// both ways; server CPU per bridged call and the relay's jitter.
    BenchBridge(bench::bridged::BridgeArgs),
    /// Benchmark listening: end of speech to answer through real calls, and recognition
    /// throughput with several callers at once.
    Listen(bench::listening::ListenArgs),
}

#[derive(clap::Args)]
struct CallArgs {
    /// The server's SIP address.
    #[arg(long, default_value = "127.0.0.1:5060")]
    server: SocketAddr,
    /// Dial over TCP instead of UDP.
    #[arg(long)]
    tcp: bool,
    /// A 16-bit mono 8 kHz WAV file to speak once the call is answered.
    #[arg(long)]
    speak: Option<PathBuf>,
    /// Keys to press (RFC 4733), one every `--key-gap-ms`, starting `--keys-at-ms` after answer.
    #[arg(long, default_value = "")]
    keys: String,
    #[arg(long, default_value_t = 3000)]
    keys_at_ms: u64,
    #[arg(long, default_value_t = 700)]
    key_gap_ms: u64,
    /// Hang up after this many seconds unless the server does first.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Write what the caller heard to this WAV file.
    #[arg(long)]
    record: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::Call(args) => runtime.block_on(call(args)),
        Command::Bench(args) => bench::run(args, &runtime),
        Command::BenchBridge(args) => bench::bridged::run(args, &runtime),
        Command::Listen(args) => bench::listening::run(args, &runtime),
    }
}

async fn call(args: CallArgs) -> anyhow::Result<()> {
    let ip = std::net::IpAddr::from([127, 0, 0, 1]);
    let uac = Uac::start(ip).await?;
    let ports = PortAllocator::new(ip, 40000, 49999)?;
    let speak = args
        .speak
        .as_deref()
        .map(read_wav)
        .transpose()?
        .map(Arc::from);
    let keys = args
        .keys
        .chars()
        .enumerate()
        .map(|(i, key)| {
            (
                Duration::from_millis(args.keys_at_ms + i as u64 * args.key_gap_ms),
                key,
            )
        })
        .collect();
    let plan = CallPlan {
        server: args.server,
        transport: if args.tcp {
            SipTransport::Tcp
        } else {
            SipTransport::Udp
        },
        speak,
        keys,
        hangup_after: Duration::from_secs_f64(args.seconds),
        record: args.record.is_some(),
    };
    let report = place_call(&uac, &ports, &plan).await?;
    println!(
        "status {} setup {:?} ended by {:?}, heard {} frames",
        report.status, report.setup, report.ended_by, report.frames_heard
    );
    if let Some(path) = &args.record {
        write_wav(path, &report.heard)?;
        println!("recorded {}", path.display());
    }
    Ok(())
}
