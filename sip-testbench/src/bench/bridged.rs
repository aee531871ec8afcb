//! `sip-testbench bench-bridge`: bridged calls end to end. Caller bots call the release
//! server, whose dialplan sends every caller straight to queue `cards`; the server rings
//! a registered agent phone (one agent per call, each takes one call at a time) and
//! bridges the two legs, relaying decoded frames task to task. RTP flows both ways for a
//! measured window: the callers' audio must come out at the agents and the agents' at the
//! callers.
//!
//! Both sides' RTP is the cheap shared kind of the concurrency benchmark
//! ([`RtpLoad`]): callers offer one of a few caller sockets, agent phones answer naming
//! one of a few agent sockets ([`AgentAnswer::AnswerElsewhere`]) instead of running a
//! media session each, so 500 calls' audio costs the bot two sender threads. Each side's
//! receiving threads time every packet by its kernel arrival stamp: the relay's jitter
//! is the deviation of those intervals from 20 ms, per direction.
//!
//! Agents are added to the server's data directory (`hotline agents add`, an argon2 hash
//! each: slow) before anything is timed, and can be kept between runs (`--data-dir`).

use super::held_calls::{self, Held, HeldPlan, ResourceUse};
use super::proc_stats;
use super::rtp_load::{Outgoing, RtpLoad, WindowReport};
use super::server_process::{Script, ServerProcess, ServerSettings};
use super::setup_rate::Percentiles;
use super::table;
use anyhow::{Context, bail};
use futures::StreamExt;
use hotline::media::g711::G711Law;
use sip_testbench::agent::{AgentPhone, ContactChoice};
use sip_testbench::agent_call::{AgentAnswer, AgentBehaviour, AgentEnd, MediaElsewhere};
use sip_testbench::uac::Uac;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// Targets from the issue item.
const TARGET_BRIDGED_CALLS: usize = 500;
const TARGET_PERCENT_CORE_PER_BRIDGED_CALL: f64 = 0.05;
const TARGET_JITTER_P99_MICROS: u64 = 2000;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const PASSWORD: &str = "bench-Agent-Passw0rd";
/// Packets per second each call sends each way (20 ms ptime).
const PACKETS_PER_SECOND: f64 = 50.0;
/// Share of the expected packets (and of voice among them) a healthy step delivers.
const DELIVERY_NEEDED: f64 = 0.95;
/// REGISTER exchanges in flight at once (the registrar answers 503 beyond 16 secret
/// lookups in flight).
const REGISTERING_AT_ONCE: usize = 8;
/// REGISTERs refused with 503 are tried again (after their Retry-After) this many times.
const REGISTER_TRIES: usize = 5;
/// Records in the data directory how many bench agents it holds.
const AGENTS_MARKER: &str = "bench-agents-added";

/// The agent-queue tests' dialplan: every caller straight to `cards`.
const DIALPLAN: &str = r#"
name: bench-bridge
language: en-US
timezone: UTC
queues: [cards]
flows:
  main:
    steps:
      to_cards:
        transfer:
          queue: cards
          on_timeout: waited_too_long
          on_failure: nobody_there
      waited_too_long:
        hangup: { play: [prompt: goodbye], reason: waited too long }
      nobody_there:
        hangup: { play: [prompt: sorry], reason: no agent }
"#;

#[derive(clap::Args, Debug)]
pub struct BridgeArgs {
    /// The hotline binary to start (also runs `agents add`).
    #[arg(long, default_value = "target/release/hotline")]
    hotline: PathBuf,
    /// Prompts directory for the started server.
    #[arg(long, default_value = "prompts")]
    prompts: PathBuf,
    /// Bridged calls to hold, in order (as many agents are registered); stops after the
    /// first step that loses a call.
    #[arg(long, value_delimiter = ',', default_value = "100,250,500")]
    calls: Vec<usize>,
    /// New caller calls per second while ramping up to a step.
    #[arg(long, default_value_t = 50)]
    ramp_cps: u32,
    /// Seconds of measurement at each step.
    #[arg(long, default_value_t = 10)]
    measure_seconds: u64,
    /// Pause between the last bridge of a step and its window.
    #[arg(long, default_value_t = 3)]
    settle_seconds: u64,
    /// The agent phones ring this long before answering.
    #[arg(long, default_value_t = 200)]
    answer_after_ms: u64,
    /// The queue's ring timeout (an unanswered offer moves on after it).
    #[arg(long, default_value_t = 10)]
    ring_timeout_secs: u64,
    /// Longest wait, after a step's last call is placed, for all its calls to be bridged.
    #[arg(long, default_value_t = 30)]
    bridge_wait_seconds: u64,
    /// Bot RTP sockets per side (callers, agents), one receiving thread each.
    #[arg(long, default_value_t = 2)]
    bot_sockets: usize,
    /// The server hangs up calls whose RTP stops this long (proves it arrives).
    #[arg(long, default_value_t = 5)]
    media_timeout_secs: u64,
    /// Keep the server's data directory (with its agents) here and reuse it: agents it
    /// already holds are not added again. Default: a temporary directory, removed.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// `hotline agents add` processes at once.
    #[arg(long, default_value_t = 2)]
    adders: usize,
    /// Profile the server (`perf record -g`) during the last step's window into this file
    /// (perf's own cost lands in that window's figures: do not quote a profiled run).
    #[arg(long)]
    perf_output: Option<PathBuf>,
}

/// One step's outcome.
#[derive(Debug, Clone)]
struct BridgedStep {
    target: usize,
    /// Caller calls answered by the server so far (the IVR answers before the transfer).
    placed: usize,
    setup_failed: u64,
    /// Agent phones that answered so far.
    bridged: u64,
    /// Caller calls the server hung up so far.
    caller_dropped: u64,
    /// Agent calls that ended before the bot hung up, so far.
    agent_ended: u64,
    /// Bridged calls still up during the window.
    up: usize,
    setup_latency: Option<Percentiles>,
    /// From the step's first INVITE until every call placed was bridged.
    all_bridged_after: Option<Duration>,
    window: Duration,
    /// What the agents received (the callers' audio through the bridge).
    to_agents: WindowReport,
    /// What the callers received (the agents' audio through the bridge).
    to_callers: WindowReport,
    server: Option<ResourceUse>,
    /// Server RSS at the window's end.
    server_rss_bytes: u64,
    bot_cores: f64,
    load_average: String,
}

impl BridgedStep {
    fn expected_packets(&self) -> f64 {
        (self.up as f64 * PACKETS_PER_SECOND * self.window.as_secs_f64()).max(1.0)
    }

    /// Packets received ÷ what `up` calls at 50 packets/s should bring.
    fn delivery(&self, report: &WindowReport) -> f64 {
        report.packets_received as f64 / self.expected_packets()
    }

    /// Received packets carrying voice (not the bridge's silence) ÷ expected.
    fn relayed(&self, report: &WindowReport) -> f64 {
        report
            .packets_received
            .saturating_sub(report.packets_silent) as f64
            / self.expected_packets()
    }

    fn worst_jitter_p99(&self) -> u64 {
        self.to_agents
            .jitter_micros
            .value_at_quantile(0.99)
            .max(self.to_callers.jitter_micros.value_at_quantile(0.99))
    }

    fn healthy(&self) -> bool {
        self.setup_failed == 0
            && self.caller_dropped == 0
            && self.agent_ended == 0
            && self.up == self.target
            && [&self.to_agents, &self.to_callers].iter().all(|r| {
                r.silent_streams == 0
                    && self.delivery(r) >= DELIVERY_NEEDED
                    && self.relayed(r) >= DELIVERY_NEEDED
            })
    }
}

/// The agent side: phones, and what they report.
struct Agents {
    phones: Vec<AgentPhone>,
    bridged: Arc<AtomicU64>,
    ended: Arc<AtomicU64>,
}

pub fn run(args: BridgeArgs, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    let mut steps: Vec<usize> = args.calls.iter().copied().filter(|&n| n > 0).collect();
    steps.sort_unstable();
    steps.dedup();
    let most = *steps.last().context("no --calls step")?;
    println!(
        "# Hotline bridged calls benchmark\n\nmachine: {} cores, load average at start {}\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        proc_stats::load_average()
    );
    let work = WorkDir::new(args.data_dir.as_deref())?;
    let added = std::time::Instant::now();
    let new = add_agents(&args.hotline, &work.data, most, args.adders.max(1))?;
    eprintln!(
        "{new} agents added ({most} wanted) in {:.1} s",
        added.elapsed().as_secs_f64()
    );
    let dialplan = work.root.join("bench-bridge.yaml");
    std::fs::write(&dialplan, DIALPLAN)?;
    let server = ServerProcess::start(&ServerSettings {
        binary: args.hotline.clone(),
        prompts: args.prompts.clone(),
        max_calls: most * 2,
        media_timeout_secs: args.media_timeout_secs,
        script: Script::Queue {
            dialplan,
            data_dir: work.data.clone(),
            ring_timeout_secs: args.ring_timeout_secs,
        },
    })?;
    let result = runtime.block_on(measure(&args, &server, &steps));
    if result.is_err() {
        eprintln!("server log tail:\n{}", server.log_tail());
    }
    let measured = result?;
    print_tables(&measured);
    print_summary(&measured);
    let log = server.log();
    let problems: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("WARN"))
        .collect();
    if !problems.is_empty() {
        println!(
            "\nserver warnings/errors: {} lines, first ones:\n",
            problems.len()
        );
        for line in problems.iter().take(10) {
            println!("    {line}");
        }
    }
    drop(server);
    Ok(())
}

/// Where the dialplan and the data directory live.
struct WorkDir {
    root: PathBuf,
    data: PathBuf,
    remove: bool,
}

impl WorkDir {
    fn new(keep: Option<&Path>) -> anyhow::Result<Self> {
        let (root, remove) = match keep {
            Some(dir) => (dir.to_path_buf(), false),
            None => (
                std::env::temp_dir().join(format!(
                    "hotline-bridge-{}-{}",
                    std::process::id(),
                    rand::random::<u32>()
                )),
                true,
            ),
        };
        let data = root.join("data");
        std::fs::create_dir_all(&data)
            .with_context(|| format!("cannot create {}", data.display()))?;
        Ok(WorkDir { root, data, remove })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

fn login(index: usize) -> String {
    format!("bench{index:04}")
}

/// Adds agents `bench0000`.. up to `count` to `data` (those a previous run added are
/// kept), `at_once` processes at a time. Returns how many were added now.
fn add_agents(hotline: &Path, data: &Path, count: usize, at_once: usize) -> anyhow::Result<usize> {
    let marker = data.join(AGENTS_MARKER);
    let have: usize = std::fs::read_to_string(&marker)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0);
    if have >= count {
        return Ok(0);
    }
    // The first one alone: it creates the database.
    add_agent(hotline, data, have)?;
    std::fs::write(&marker, (have + 1).to_string())?;
    let mut next = have + 1;
    while next < count {
        let batch: Vec<usize> = (next..count.min(next + at_once)).collect();
        let children = batch
            .iter()
            .map(|&index| spawn_add(hotline, data, index))
            .collect::<anyhow::Result<Vec<_>>>()?;
        for (child, &index) in children.into_iter().zip(&batch) {
            finish_add(child, index)?;
        }
        next += batch.len();
        std::fs::write(&marker, next.to_string())?;
    }
    Ok(count - have)
}

fn add_agent(hotline: &Path, data: &Path, index: usize) -> anyhow::Result<()> {
    let child = spawn_add(hotline, data, index)?;
    finish_add(child, index)
}

fn spawn_add(hotline: &Path, data: &Path, index: usize) -> anyhow::Result<std::process::Child> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let login = login(index);
    let mut child = Command::new(hotline)
        .args([
            "agents", "add", &login, "--name", &login, "--skill", "cards=3",
        ])
        .args(["--password-stdin", "--dir"])
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {} agents add", hotline.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{PASSWORD}")?;
    }
    Ok(child)
}

fn finish_add(child: std::process::Child, index: usize) -> anyhow::Result<()> {
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "hotline agents add {} failed: {}",
            login(index),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// G.711-exact noise (no digital silence, so relayed audio is told from the bridge's
/// silence on arrival).
fn noise(seed: u32, seconds: usize) -> Vec<i16> {
    let mut state = seed;
    (0..8000 * seconds)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            G711Law::Ulaw.decode(G711Law::Ulaw.encode(((state >> 16) as i16) / 8))
        })
        .collect()
}

async fn measure(
    args: &BridgeArgs,
    server: &ServerProcess,
    steps: &[usize],
) -> anyhow::Result<Vec<BridgedStep>> {
    let most = steps.last().copied().unwrap_or(0);
    let callers = RtpLoad::start(LOOPBACK, args.bot_sockets, &noise(1, 10))?;
    let agent_load = RtpLoad::start(LOOPBACK, args.bot_sockets, &noise(2, 10))?;
    let hanging_up = Arc::new(AtomicBool::new(false));
    let registered = std::time::Instant::now();
    let agents = register_agents(args, server, &agent_load, most, &hanging_up).await?;
    eprintln!(
        "{} agent phones registered in {:.1} s",
        agents.phones.len(),
        registered.elapsed().as_secs_f64()
    );
    // The registrar logs the agents in to their queues as it answers; a moment for that.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let pid = server.pid();
    let uac = Arc::new(Uac::start(LOOPBACK).await.context("caller bot")?);
    let plan = HeldPlan {
        server: server.sip_udp(),
        server_pid: Some(pid),
        steps: steps.to_vec(),
        ramp_cps: args.ramp_cps,
        settle: Duration::from_secs(args.settle_seconds),
        measure: Duration::from_secs(args.measure_seconds),
        perf_output: None,
    };
    // What the server costs with the agents registered and no call, for reference.
    let idle_before = proc_stats::sample(pid)?;
    let idle_window = Duration::from_secs(args.measure_seconds.clamp(1, 5));
    tokio::time::sleep(idle_window).await;
    let baseline = proc_stats::sample(pid)?;
    println!(
        "server with {} agents registered and no call: {:.1} % of a core over {} s, RSS {:.1} MiB\n",
        agents.phones.len(),
        held_calls::cores(idle_before, baseline, idle_window) * 100.0,
        idle_window.as_secs(),
        baseline.rss_bytes as f64 / 1048576.0
    );
    let caller_dropped = Arc::new(AtomicU64::new(0));
    let mut held: Vec<Held> = Vec::new();
    let mut setup_failed = 0;
    let mut results = Vec::new();
    for &target in steps {
        let started = Instant::now();
        let wanted = target.saturating_sub(held.len());
        let dialled = held_calls::dial(
            &plan,
            &uac,
            &callers,
            held.len(),
            wanted,
            &caller_dropped,
            &hanging_up,
        )
        .await;
        setup_failed += dialled.failed;
        held.extend(dialled.held);
        let deadline = Instant::now() + Duration::from_secs(args.bridge_wait_seconds);
        while (agents.bridged.load(Ordering::Relaxed) as usize) < held.len()
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let all_bridged_after = ((agents.bridged.load(Ordering::Relaxed) as usize) >= held.len())
            .then(|| started.elapsed());
        tokio::time::sleep(plan.settle).await;

        let server_before = proc_stats::sample(pid)?;
        let wait_before = proc_stats::run_queue_wait(pid)?;
        let bot_before = proc_stats::sample_self()?;
        let profiler = match &args.perf_output {
            Some(output) if Some(&target) == steps.last() => {
                Some(held_calls::start_perf(output, pid, plan.measure)?)
            }
            _ => None,
        };
        callers.begin_window();
        agent_load.begin_window();
        let window_start = Instant::now();
        tokio::time::sleep(plan.measure).await;
        if let Some(profiler) = profiler {
            held_calls::finish_perf(profiler).await;
        }
        let to_callers = callers.window();
        let to_agents = agent_load.window();
        let window = window_start.elapsed();
        let server_after = proc_stats::sample(pid)?;
        let wait_after = proc_stats::run_queue_wait(pid)?;
        let bot_after = proc_stats::sample_self()?;

        let bridged = agents.bridged.load(Ordering::Relaxed);
        let dropped = caller_dropped.load(Ordering::Relaxed);
        let ended = agents.ended.load(Ordering::Relaxed);
        let up = (bridged as usize)
            .min(held.len())
            .saturating_sub(dropped.max(ended) as usize);
        let step = BridgedStep {
            target,
            placed: held.len(),
            setup_failed,
            bridged,
            caller_dropped: dropped,
            agent_ended: ended,
            up,
            setup_latency: Percentiles::of(dialled.setup_times),
            all_bridged_after,
            window,
            to_agents,
            to_callers,
            server: Some(held_calls::resource_use(
                baseline,
                server_before,
                server_after,
                wait_after.saturating_sub(wait_before),
                window,
            )),
            server_rss_bytes: server_after.rss_bytes,
            bot_cores: held_calls::cores(bot_before, bot_after, window),
            load_average: proc_stats::load_average(),
        };
        eprintln!(
            "{target} calls: {} placed, {bridged} bridged, {up} up, jitter p99 to agents {} µs, to callers {} µs, server {:.2} cores",
            step.placed,
            step.to_agents.jitter_micros.value_at_quantile(0.99),
            step.to_callers.jitter_micros.value_at_quantile(0.99),
            step.server.map_or(0.0, |s| s.cores)
        );
        let failing = !step.healthy();
        results.push(step);
        if failing {
            break;
        }
    }
    hanging_up.store(true, Ordering::Relaxed);
    held_calls::hang_up(held).await;
    drop(agents);
    Ok(results)
}

/// Starts and registers `count` agent phones; each answers (naming one of the agent
/// sockets) after `--answer-after-ms` and starts that socket's stream to the server.
async fn register_agents(
    args: &BridgeArgs,
    server: &ServerProcess,
    load: &RtpLoad,
    count: usize,
    hanging_up: &Arc<AtomicBool>,
) -> anyhow::Result<Agents> {
    let bridged = Arc::new(AtomicU64::new(0));
    let ended = Arc::new(AtomicU64::new(0));
    let sip = server.sip_udp();
    let after = Duration::from_millis(args.answer_after_ms);
    let results: Vec<anyhow::Result<AgentPhone>> = futures::stream::iter(0..count)
        .map(|index| {
            let (socket, rtp) = load.address(index);
            let streams = load.stream_sender();
            let (bridged, ended, hanging_up) = (bridged.clone(), ended.clone(), hanging_up.clone());
            async move {
                let phone = AgentPhone::start(LOOPBACK, &login(index)).await?;
                let (answered, mut answers) = tokio::sync::mpsc::unbounded_channel();
                let mut calls = phone.take_calls(AgentBehaviour {
                    answer: AgentAnswer::AnswerElsewhere(MediaElsewhere {
                        after,
                        rtp,
                        answered,
                    }),
                    speak: None,
                    hangup_after: None,
                    vanish_after: None,
                });
                tokio::spawn(async move {
                    while let Some((call_id, media)) = answers.recv().await {
                        let Some(destination) = media.remote_rtp else {
                            tracing::warn!("agent call {call_id}: offer without RTP address");
                            continue;
                        };
                        // At once: the server hangs up a leg whose audio does not come.
                        let _ = streams.send(Outgoing {
                            socket,
                            destination,
                            payload_type: media.payload_type,
                            law: media.codec.law(),
                        });
                        bridged.fetch_add(1, Ordering::Relaxed);
                    }
                });
                tokio::spawn(async move {
                    while let Some(call) = calls.recv().await {
                        if !hanging_up.load(Ordering::Relaxed) {
                            ended.fetch_add(1, Ordering::Relaxed);
                            if call.ended_by != AgentEnd::ServerBye || !call.answered {
                                eprintln!("agent call {} ended: {:?}", call.call_id, call.ended_by);
                            }
                        }
                    }
                });
                let mut tries = 0;
                let ok = loop {
                    let (_, ok) = phone
                        .register(sip, PASSWORD, "SHA-256", ContactChoice::Own, Some(3600))
                        .await?;
                    tries += 1;
                    if ok.status_code.code() != 503 || tries >= REGISTER_TRIES {
                        break ok;
                    }
                    tokio::time::sleep(retry_after(&ok)).await;
                };
                anyhow::ensure!(
                    ok.status_code.code() == 200,
                    "REGISTER of {} answered {}",
                    login(index),
                    ok.status_code
                );
                Ok(phone)
            }
        })
        .buffer_unordered(REGISTERING_AT_ONCE)
        .collect()
        .await;
    let phones = results.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Agents {
        phones,
        bridged,
        ended,
    })
}

/// A 503's Retry-After (seconds), 1 s without one, at most 10 s.
fn retry_after(response: &rsipstack::sip::Response) -> Duration {
    let seconds = response
        .headers
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case("Retry-After"))
        .and_then(|h| h.value().split(';').next()?.trim().parse::<u64>().ok())
        .unwrap_or(1);
    Duration::from_secs(seconds.clamp(1, 10))
}

fn micros(v: u64) -> String {
    format!("{v} µs")
}

fn percent(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

fn loss(report: &WindowReport) -> String {
    let expected = report.packets_received + report.packets_lost;
    if expected == 0 {
        "-".into()
    } else {
        format!(
            "{:.3} %",
            100.0 * report.packets_lost as f64 / expected as f64
        )
    }
}

fn print_tables(steps: &[BridgedStep]) {
    println!("## Bridged calls: SIP, CPU and memory\n");
    let rows: Vec<Vec<String>> = steps
        .iter()
        .map(|step| {
            let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
            let (server_cpu, waiting, per_call, rss_per_call) = match step.server {
                Some(server) if step.up > 0 => (
                    percent(server.cores),
                    percent(server.waiting_cores),
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
                step.placed.to_string(),
                step.bridged.to_string(),
                step.up.to_string(),
                step.setup_failed.to_string(),
                format!("{}/{}", step.caller_dropped, step.agent_ended),
                step.setup_latency.map_or("-".into(), |p| ms(p.p50)),
                step.setup_latency.map_or("-".into(), |p| ms(p.p99)),
                step.all_bridged_after
                    .map_or("not all".into(), |d| format!("{:.1} s", d.as_secs_f64())),
                server_cpu,
                waiting,
                per_call,
                format!("{:.1} MiB", step.server_rss_bytes as f64 / 1048576.0),
                rss_per_call,
                percent(step.bot_cores),
                step.load_average.clone(),
            ]
        })
        .collect();
    println!(
        "{}",
        table::markdown(
            &[
                "calls",
                "placed",
                "bridged",
                "up",
                "setup fail",
                "dropped caller/agent",
                "INVITE→200 p50",
                "p99",
                "all bridged after",
                "server CPU",
                "server waiting",
                "% core/bridged call",
                "server RSS",
                "RSS/bridged call",
                "bot CPU",
                "load",
            ],
            &rows
        )
    );
    println!("## Bridged calls: relayed RTP, per direction (arrival at the receiving bot)\n");
    let mut rows = Vec::new();
    for step in steps {
        for (direction, report) in [
            ("caller → agent", &step.to_agents),
            ("agent → caller", &step.to_callers),
        ] {
            rows.push(vec![
                step.target.to_string(),
                direction.into(),
                report.streams.to_string(),
                format!(
                    "{:.0}",
                    report.packets_received as f64 / step.window.as_secs_f64()
                ),
                percent(step.delivery(report)),
                percent(step.relayed(report)),
                loss(report),
                report.silent_streams.to_string(),
                micros(report.jitter_micros.value_at_quantile(0.50)),
                micros(report.jitter_micros.value_at_quantile(0.99)),
                micros(report.jitter_micros.value_at_quantile(0.999)),
                micros(report.jitter_micros.max()),
                micros(report.bot_send_lateness_micros.value_at_quantile(0.99)),
            ]);
        }
    }
    println!(
        "{}",
        table::markdown(
            &[
                "calls",
                "direction",
                "streams",
                "rx pkt/s",
                "rx %",
                "voice %",
                "loss",
                "silent",
                "jitter p50",
                "p99",
                "p99.9",
                "max",
                "sender late p99",
            ],
            &rows
        )
    );
}

fn print_summary(steps: &[BridgedStep]) {
    println!("## Against the targets\n");
    let healthy: Vec<&BridgedStep> = steps.iter().filter(|s| s.healthy()).collect();
    match healthy.iter().max_by_key(|s| s.up) {
        Some(top) => {
            println!(
                "- bridged calls held with RTP both ways: {} (target {TARGET_BRIDGED_CALLS}): {}",
                top.up,
                verdict(top.up >= TARGET_BRIDGED_CALLS)
            );
            if let Some(server) = top.server {
                let per_call = server.cores * 100.0 / top.up.max(1) as f64;
                println!(
                    "- server CPU at {} bridged calls: {per_call:.4} % of one core per bridged call (target under {TARGET_PERCENT_CORE_PER_BRIDGED_CALL} %): {}",
                    top.up,
                    verdict(per_call < TARGET_PERCENT_CORE_PER_BRIDGED_CALL)
                );
            }
            let p99 = top.worst_jitter_p99();
            println!(
                "- relay jitter p99 at {} bridged calls (worse direction): {p99} µs (target under {TARGET_JITTER_P99_MICROS} µs): {}",
                top.up,
                verdict(p99 < TARGET_JITTER_P99_MICROS)
            );
        }
        None if !steps.is_empty() => {
            println!("- no step kept every call bridged with RTP at 50 packets/s both ways");
        }
        None => {}
    }
    if let Some(beyond) = steps.iter().find(|s| !s.healthy()) {
        println!(
            "- first step short of that: {} calls, {} bridged, {} up; to agents {:.1} % of packets ({:.1} % voice), to callers {:.1} % ({:.1} % voice)",
            beyond.target,
            beyond.bridged,
            beyond.up,
            beyond.delivery(&beyond.to_agents) * 100.0,
            beyond.relayed(&beyond.to_agents) * 100.0,
            beyond.delivery(&beyond.to_callers) * 100.0,
            beyond.relayed(&beyond.to_callers) * 100.0,
        );
    }
    println!("\nload average at end: {}", proc_stats::load_average());
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}
