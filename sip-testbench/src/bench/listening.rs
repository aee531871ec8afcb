//! `sip-testbench listen`: the listening benchmark. It starts the server on a speech
//! dialplan (sip-testbench/dialplans/listening.yaml), has the caller bot speak each speech
//! fixture of sip-testbench/utterances into a real call, and prints Markdown tables:
//!
//! - latency, one call at a time: from the caller's end of speech (known from the fixture
//!   manifest and the moment the bot started speaking) to the end of recognition (the
//!   server's `recognised` log line) and to the first packet of the answer prompt at the
//!   bot (found sample-exact in what it heard, timed on arrival with a one-packet jitter
//!   buffer);
//! - throughput, with several callers at once: utterances recognised per second, server
//!   CPU per utterance and what that makes per core, and the latency under that load.

use super::proc_stats;
use super::server_process::{Script, ServerProcess, ServerSettings};
use super::setup_rate::Percentiles;
use super::table;
use anyhow::{Context, bail};
use hotline::media::events::FRAME_SAMPLES;
use hotline::media::port_allocator::PortAllocator;
use sip_testbench::caller::{
    CallPlan, CallReport, Dial, find_exact, place_call_with, prompt_as_heard, read_wav,
};
use sip_testbench::uac::{SipTransport, Uac};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Targets from issue 5, item 8.
const TARGET_P50: Duration = Duration::from_millis(600);
const TARGET_P95: Duration = Duration::from_millis(900);
const TARGET_UTTERANCES_PER_CORE: f64 = 4.0;

/// The prompt the benchmark dialplan answers with.
const ANSWER_PROMPT: &str = "one";

#[derive(clap::Args, Debug)]
pub struct ListenArgs {
    /// The hotline binary to start.
    #[arg(long, default_value = "target/release/hotline")]
    hotline: PathBuf,
    #[arg(long, default_value = "prompts")]
    prompts: PathBuf,
    #[arg(long, default_value = "sip-testbench/dialplans/listening.yaml")]
    dialplan: PathBuf,
    /// Speech fixtures and their manifest.tsv.
    #[arg(long, default_value = "sip-testbench/utterances")]
    utterances: PathBuf,
    #[arg(long, default_value = "models")]
    model_dir: PathBuf,
    #[arg(long, default_value = "tiny.en-q8_0")]
    model: String,
    /// Recognition workers of the server (0: one per core).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// The server's `[asr] max_threads` (threads for a lone utterance; 0: every core).
    #[arg(long, default_value_t = 1)]
    max_threads: usize,
    /// The server's `[asr] early_recognition_ms` (0: off).
    #[arg(long, default_value_t = 250)]
    early_ms: u64,
    /// When the caller starts speaking, after the answer: during the welcome prompt, so
    /// it barges in, as callers who know what they want do.
    #[arg(long, default_value_t = 1000)]
    speak_at_ms: u64,
    /// Passes over the fixtures in the one-call-at-a-time latency phase.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Callers at once in the throughput phase, in order.
    #[arg(long, value_delimiter = ',', default_value = "2,4,8,16")]
    callers: Vec<usize>,
    /// Calls each caller places in a throughput step.
    #[arg(long, default_value_t = 3)]
    calls_per_caller: usize,
}

/// One speech fixture.
#[derive(Debug, Clone)]
struct Fixture {
    file: String,
    text: String,
    speech_end: Duration,
    voice: Arc<[i16]>,
}

impl Fixture {
    /// Yes/no answers go to the dialplan's yes/no question (the bot dials `confirm`).
    fn called(&self) -> &'static str {
        let lower = self.text.to_lowercase();
        if lower.starts_with("yes") || lower.starts_with("no") {
            "confirm"
        } else {
            "hotline"
        }
    }
}

/// What the server logged for one recognised turn.
#[derive(Debug, Clone)]
struct Recognised {
    after_speech: Duration,
    decode: Duration,
    early: bool,
}

/// One measured call.
#[derive(Debug, Clone)]
struct Measured {
    fixture: String,
    /// End of speech to the first packet of the answer, at the bot.
    answer: Option<Duration>,
    recognised: Option<Recognised>,
}

pub fn run(args: ListenArgs, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    let fixtures = load_fixtures(&args.utterances)?;
    let answer = prompt_as_heard(&args.prompts, "en-US", ANSWER_PROMPT)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let server = ServerProcess::start(&ServerSettings {
        binary: args.hotline.clone(),
        prompts: args.prompts.clone(),
        max_calls: 200,
        media_timeout_secs: 30,
        script: Script::Dialplan {
            path: args.dialplan.clone(),
            model_dir: args.model_dir.clone(),
            model: args.model.clone(),
            workers: args.workers,
            max_threads: args.max_threads,
            early_recognition_ms: args.early_ms,
        },
    })?;
    println!(
        "# Hotline listening benchmark\n\nmachine: {cores} cores, load average at start {}; \
         model {}, workers {}, threads for a lone utterance {}, early recognition {} ms, caller \
         speaks {} ms after the answer\n",
        proc_stats::load_average(),
        args.model,
        if args.workers == 0 {
            "one per core".to_string()
        } else {
            args.workers.to_string()
        },
        args.max_threads,
        args.early_ms,
        args.speak_at_ms,
    );
    runtime.block_on(async {
        let bot = Bot::start(&server, &args, answer).await?;
        latency_phase(&bot, &server, &fixtures, args.rounds).await?;
        throughput_phase(
            &bot,
            &server,
            &fixtures,
            &args.callers,
            args.calls_per_caller,
            cores,
        )
        .await
    })?;
    println!("load average at the end: {}", proc_stats::load_average());
    Ok(())
}

/// The caller side: one SIP user agent and media ports shared by all calls.
struct Bot {
    uac: Uac,
    ports: PortAllocator,
    server: std::net::SocketAddr,
    speak_at: Duration,
    answer: Vec<i16>,
}

impl Bot {
    async fn start(
        server: &ServerProcess,
        args: &ListenArgs,
        answer: Vec<i16>,
    ) -> anyhow::Result<Self> {
        let ip = IpAddr::from([127, 0, 0, 1]);
        Ok(Self {
            uac: Uac::start(ip).await?,
            ports: PortAllocator::new(ip, 40000, 49999)?,
            server: server.sip_udp(),
            speak_at: Duration::from_millis(args.speak_at_ms),
            answer,
        })
    }

    /// Calls, speaks `fixture` and times the answer; the server's figures are joined later.
    async fn call(&self, fixture: &Fixture) -> anyhow::Result<(CallReport, Measured)> {
        let mut speak = vec![0i16; (self.speak_at.as_millis() as usize) * 8];
        speak.extend_from_slice(&fixture.voice);
        let plan = CallPlan {
            server: self.server,
            transport: SipTransport::Udp,
            speak: Some(Arc::from(speak)),
            keys: Vec::new(),
            hangup_after: Duration::from_secs(30),
            record: true,
        };
        let dial = Dial {
            called: fixture.called().to_string(),
            jitter_depth: 1,
            ..Dial::default()
        };
        let report = place_call_with(&self.uac, &self.ports, &plan, &dial).await?;
        if report.status != 200 {
            bail!("call for {} got {}", fixture.file, report.status);
        }
        let answer = report.answered.and_then(|answered| {
            let speech_end = answered + self.speak_at + fixture.speech_end;
            let at = find_exact(&report.heard, &self.answer)?;
            let arrived = *report.arrivals.get(at / FRAME_SAMPLES)?;
            Some(arrived.saturating_duration_since(speech_end))
        });
        let measured = Measured {
            fixture: fixture.file.clone(),
            answer,
            recognised: None,
        };
        Ok((report, measured))
    }
}

async fn latency_phase(
    bot: &Bot,
    server: &ServerProcess,
    fixtures: &[Fixture],
    rounds: usize,
) -> anyhow::Result<()> {
    println!("## End of speech to answer, one call at a time ({rounds} rounds)\n");
    let cpu_before = proc_stats::sample(server.pid())?.cpu;
    let mut calls = Vec::new();
    for _ in 0..rounds {
        for fixture in fixtures {
            calls.push(bot.call(fixture).await?);
        }
    }
    let cpu = proc_stats::sample(server.pid())?
        .cpu
        .saturating_sub(cpu_before);
    let measured = join_server_log(server, calls);
    let mut rows = Vec::new();
    for fixture in fixtures {
        let mine: Vec<&Measured> = measured
            .iter()
            .filter(|m| m.fixture == fixture.file)
            .collect();
        let answers: Vec<Duration> = mine.iter().filter_map(|m| m.answer).collect();
        let recognised: Vec<&Recognised> =
            mine.iter().filter_map(|m| m.recognised.as_ref()).collect();
        rows.push(vec![
            fixture.file.clone(),
            format!("{:?}", fixture.text),
            cell(
                Percentiles::of(recognised.iter().map(|r| r.after_speech).collect()).map(|p| p.p50),
            ),
            cell(Percentiles::of(answers).map(|p| p.p50)),
            cell(Percentiles::of(recognised.iter().map(|r| r.decode).collect()).map(|p| p.p50)),
            format!(
                "{}/{}",
                recognised.iter().filter(|r| r.early).count(),
                mine.len()
            ),
        ]);
    }
    println!(
        "{}",
        table::markdown(
            &[
                "fixture",
                "text",
                "→ recognised",
                "→ answer packet",
                "decode",
                "early"
            ],
            &rows
        )
    );
    let summary = summarise(&measured);
    println!(
        "{}",
        table::markdown(
            &[
                "calls",
                "answered",
                "→ recognised p50",
                "p95",
                "→ answer packet p50",
                "p95",
                "decode p50",
                "early turns",
                "server CPU per call",
                "target p50 ≤ 600 ms, p95 ≤ 900 ms",
            ],
            &[vec![
                measured.len().to_string(),
                summary.answered.to_string(),
                cell(summary.recognised.map(|p| p.p50)),
                cell(summary.recognised.map(|p| p.p95)),
                cell(summary.answer.map(|p| p.p50)),
                cell(summary.answer.map(|p| p.p95)),
                cell(summary.decode.map(|p| p.p50)),
                format!("{}/{}", summary.early, measured.len()),
                format!("{} ms", cpu.as_millis() / measured.len().max(1) as u128),
                summary
                    .answer
                    .map_or("no answers", |p| {
                        if p.p50 <= TARGET_P50 && p.p95 <= TARGET_P95 {
                            "met"
                        } else {
                            "NOT met"
                        }
                    })
                    .to_string(),
            ]]
        )
    );
    Ok(())
}

async fn throughput_phase(
    bot: &Bot,
    server: &ServerProcess,
    fixtures: &[Fixture],
    callers: &[usize],
    calls_per_caller: usize,
    cores: usize,
) -> anyhow::Result<()> {
    println!(
        "## Several callers at once ({calls_per_caller} calls each, one utterance per call)\n"
    );
    let mut rows = Vec::new();
    for &n in callers {
        let cpu_before = proc_stats::sample(server.pid())?.cpu;
        let started = Instant::now();
        let lanes = (0..n).map(|lane| {
            let mine: Vec<Fixture> = (0..calls_per_caller)
                .map(|i| fixtures[(lane * calls_per_caller + i) % fixtures.len()].clone())
                .collect();
            async move {
                let mut done = Vec::new();
                for fixture in &mine {
                    done.push(bot.call(fixture).await?);
                }
                anyhow::Ok(done)
            }
        });
        let mut calls = Vec::new();
        for lane in futures::future::join_all(lanes).await {
            calls.extend(lane?);
        }
        let wall = started.elapsed();
        let cpu = proc_stats::sample(server.pid())?
            .cpu
            .saturating_sub(cpu_before);
        let measured = join_server_log(server, calls);
        let summary = summarise(&measured);
        let utterances = measured.iter().filter(|m| m.recognised.is_some()).count();
        let cpu_per_utterance = cpu.as_secs_f64() * 1000.0 / utterances.max(1) as f64;
        let per_core = 1000.0 / cpu_per_utterance.max(1e-9);
        rows.push(vec![
            n.to_string(),
            measured.len().to_string(),
            utterances.to_string(),
            format!("{:.1}", wall.as_secs_f64()),
            format!("{:.2}", utterances as f64 / wall.as_secs_f64()),
            format!("{:.0} ms", cpu_per_utterance),
            format!("{per_core:.1}"),
            cell(summary.recognised.map(|p| p.p50)),
            cell(summary.answer.map(|p| p.p50)),
            cell(summary.answer.map(|p| p.p95)),
            format!("{}/{}", summary.early, measured.len()),
        ]);
        eprintln!("{n} callers: {utterances} utterances in {wall:?}");
    }
    println!(
        "{}",
        table::markdown(
            &[
                "callers",
                "calls",
                "utterances",
                "wall s",
                "utt/s",
                "server CPU/utt",
                "utt/s per core (1000 / CPU ms)",
                "→ recognised p50",
                "→ answer p50",
                "p95",
                "early turns",
            ],
            &rows
        )
    );
    println!(
        "Target: at least {TARGET_UTTERANCES_PER_CORE} short utterances per second per core \
         ({cores} cores here). Server CPU per utterance covers everything the server did \
         for the call (SIP, RTP both ways, voice activity, recognition).\n"
    );
    Ok(())
}

struct Summary {
    answered: usize,
    answer: Option<Percentiles>,
    recognised: Option<Percentiles>,
    decode: Option<Percentiles>,
    early: usize,
}

fn summarise(measured: &[Measured]) -> Summary {
    let answers: Vec<Duration> = measured.iter().filter_map(|m| m.answer).collect();
    let recognised: Vec<&Recognised> = measured
        .iter()
        .filter_map(|m| m.recognised.as_ref())
        .collect();
    Summary {
        answered: answers.len(),
        answer: Percentiles::of(answers),
        recognised: Percentiles::of(recognised.iter().map(|r| r.after_speech).collect()),
        decode: Percentiles::of(recognised.iter().map(|r| r.decode).collect()),
        early: recognised.iter().filter(|r| r.early).count(),
    }
}

/// Attaches each call's first `recognised` line from the server's JSON log, by Call-ID.
fn join_server_log(server: &ServerProcess, calls: Vec<(CallReport, Measured)>) -> Vec<Measured> {
    let mut by_call: HashMap<String, Recognised> = HashMap::new();
    for line in server.log().lines() {
        let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let fields = &entry["fields"];
        if fields["message"] != "recognised" {
            continue;
        }
        let Some(call_id) = entry["span"]["call_id"].as_str() else {
            continue;
        };
        let ms = |key: &str| Duration::from_millis(fields[key].as_u64().unwrap_or(0));
        by_call.entry(call_id.to_string()).or_insert(Recognised {
            after_speech: ms("after_speech_ms"),
            decode: ms("decode_ms"),
            early: fields["early"].as_bool().unwrap_or(false),
        });
    }
    calls
        .into_iter()
        .map(|(report, mut measured)| {
            measured.recognised = by_call.get(&report.call_id).cloned();
            measured
        })
        .collect()
}

fn cell(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{} ms", d.as_millis()))
}

/// The speech fixtures of `manifest.tsv` (file, voice, noise, start ms, end ms, text).
fn load_fixtures(dir: &Path) -> anyhow::Result<Vec<Fixture>> {
    let manifest = dir.join("manifest.tsv");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let mut fixtures = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (Some(file), Some(end), Some(said)) = (cols.first(), cols.get(4), cols.get(5)) else {
            continue;
        };
        let (Ok(end_ms), false) = (end.parse::<u64>(), said.trim().is_empty()) else {
            continue;
        };
        let voice = read_wav(&dir.join(file))?;
        fixtures.push(Fixture {
            file: file.to_string(),
            text: said.trim().to_string(),
            speech_end: Duration::from_millis(end_ms),
            voice: Arc::from(voice),
        });
    }
    if fixtures.is_empty() {
        bail!("no speech fixtures listed in {}", manifest.display());
    }
    Ok(fixtures)
}
