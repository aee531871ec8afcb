//! Phase 2, concurrent calls with RTP both ways: the caller bot dials up to each step's
//! call count (one SIP endpoint; audio from the shared [`RtpLoad`]), holds the calls, and
//! measures a window: the server's packet timing at our sockets, loss, the server's and
//! the bot's CPU time, and the server's memory.
//!
//! RTP reaching the server is checked by the server itself: it is started with a short
//! media timeout, so a call whose audio does not arrive is hung up and counted as dropped.

use super::proc_stats::{self, ProcessSample};
use super::rtp_load::{Outgoing, RtpLoad, WindowReport};
use super::setup_rate::Percentiles;
use anyhow::Context;
use hotline::media::sdp::{MediaCapabilities, SdpSession};
use rsipstack::dialog::invite_dialog::InviteDialog;
use sip_testbench::uac::{SipTransport, Uac, is_terminated};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// INVITEs in flight at once while ramping up.
const MAX_IN_FLIGHT: usize = 256;
/// Longest wait for one call's BYE at the end.
const BYE_TIMEOUT: Duration = Duration::from_secs(5);

/// What phase 2 does.
#[derive(Debug, Clone)]
pub struct HeldPlan {
    pub server: SocketAddr,
    pub server_pid: Option<u32>,
    /// Call counts to hold, in increasing order.
    pub steps: Vec<usize>,
    /// New calls per second while ramping up to a step.
    pub ramp_cps: u32,
    /// Pause after the ramp before measuring.
    pub settle: Duration,
    pub measure: Duration,
    /// Record the server with `perf record -g` into this file during the last window.
    pub perf_output: Option<std::path::PathBuf>,
}

/// CPU and memory of one process over a window.
#[derive(Debug, Clone, Copy)]
pub struct ResourceUse {
    /// CPU seconds per wall-clock second (1.0 = one core busy).
    pub cores: f64,
    /// Resident memory now minus before the first call.
    pub rss_growth_bytes: i64,
    /// Seconds its threads waited for a core per wall-clock second (starved when high).
    pub waiting_cores: f64,
}

/// Packets per second each call sends each way (20 ms ptime).
const PACKETS_PER_SECOND: f64 = 50.0;

/// Share of the expected packets that must arrive for a step to count as flowing.
const DELIVERY_NEEDED: f64 = 0.95;

/// One concurrency step's outcome.
#[derive(Debug, Clone)]
pub struct HeldStep {
    pub target: usize,
    /// Calls up during the window (established minus dropped).
    pub up: usize,
    /// Cumulative calls refused or failed while dialling.
    pub setup_failed: u64,
    /// Cumulative calls the server hung up (media timeout, errors).
    pub dropped: u64,
    /// INVITE-to-200 of the calls dialled for this step (caller bot, µs resolution).
    pub setup_latency: Option<Percentiles>,
    pub window: Duration,
    pub rtp: WindowReport,
    pub server: Option<ResourceUse>,
    pub bot_cores: f64,
    pub load_average: String,
}

impl HeldStep {
    /// Server packets received ÷ what `up` calls at 50 packets/s should have sent.
    pub fn server_delivery(&self) -> f64 {
        self.rtp.packets_received as f64 / self.expected_packets()
    }

    /// Bot packets sent ÷ what `up` calls at 50 packets/s should have sent.
    pub fn bot_delivery(&self) -> f64 {
        self.rtp.packets_sent as f64 / self.expected_packets()
    }

    fn expected_packets(&self) -> f64 {
        (self.up as f64 * PACKETS_PER_SECOND * self.window.as_secs_f64()).max(1.0)
    }

    /// Every call up, none failed or dropped, and both directions within 5 % of 50/s.
    pub fn healthy(&self) -> bool {
        self.setup_failed == 0
            && self.dropped == 0
            && self.rtp.silent_streams == 0
            && self.up == self.target
            && self.server_delivery() >= DELIVERY_NEEDED
            && self.bot_delivery() >= DELIVERY_NEEDED
    }
}

pub(super) struct Held {
    dialog: InviteDialog,
}

/// Dials, holds and measures each step in turn; `on_step` sees each step as it ends.
pub async fn run(
    plan: &HeldPlan,
    load: &RtpLoad,
    mut on_step: impl FnMut(&HeldStep),
) -> anyhow::Result<Vec<HeldStep>> {
    let uac = Arc::new(
        Uac::start(std::net::IpAddr::from([127, 0, 0, 1]))
            .await
            .context("cannot start the caller bot")?,
    );
    let baseline = plan.server_pid.map(proc_stats::sample).transpose()?;
    let dropped = Arc::new(AtomicU64::new(0));
    let hanging_up = Arc::new(AtomicBool::new(false));
    let mut held: Vec<Held> = Vec::new();
    let mut setup_failed = 0;
    let mut steps = Vec::new();
    for &target in &plan.steps {
        let wanted = target.saturating_sub(held.len());
        let dialled = dial(plan, &uac, load, held.len(), wanted, &dropped, &hanging_up).await;
        setup_failed += dialled.failed;
        held.extend(dialled.held);
        tokio::time::sleep(plan.settle).await;

        let server_before = plan.server_pid.map(proc_stats::sample).transpose()?;
        let wait_before = plan
            .server_pid
            .map(proc_stats::run_queue_wait)
            .transpose()?;
        let bot_before = proc_stats::sample_self()?;
        let last = Some(&target) == plan.steps.last();
        let profiler = match (&plan.perf_output, plan.server_pid) {
            (Some(output), Some(pid)) if last => Some(start_perf(output, pid, plan.measure)?),
            _ => None,
        };
        load.begin_window();
        let started = Instant::now();
        tokio::time::sleep(plan.measure).await;
        if let Some(profiler) = profiler {
            finish_perf(profiler).await;
        }
        let rtp = load.window();
        let window = started.elapsed();
        let server_after = plan.server_pid.map(proc_stats::sample).transpose()?;
        let wait_after = plan
            .server_pid
            .map(proc_stats::run_queue_wait)
            .transpose()?;
        let bot_after = proc_stats::sample_self()?;

        let dropped_now = dropped.load(Ordering::Relaxed);
        let step = HeldStep {
            target,
            up: held.len().saturating_sub(dropped_now as usize),
            setup_failed,
            dropped: dropped_now,
            setup_latency: Percentiles::of(dialled.setup_times),
            window,
            rtp,
            server: match (baseline, server_before, server_after) {
                (Some(base), Some(before), Some(after)) => {
                    let waited = match (wait_before, wait_after) {
                        (Some(before), Some(after)) => after.saturating_sub(before),
                        _ => Duration::ZERO,
                    };
                    Some(resource_use(base, before, after, waited, window))
                }
                _ => None,
            },
            bot_cores: cores(bot_before, bot_after, window),
            load_average: proc_stats::load_average(),
        };
        on_step(&step);
        let failing = step.dropped > 0 || step.setup_failed > 0;
        steps.push(step);
        if failing {
            // Piling more calls onto a server already failing these says nothing new.
            break;
        }
    }
    hanging_up.store(true, Ordering::Relaxed);
    hang_up(held).await;
    Ok(steps)
}

/// `perf record` on the server for one window (perf's own overhead lands in that window's
/// CPU figures too, so a profiled run's figures are not the ones to quote).
pub(super) fn start_perf(
    output: &std::path::Path,
    pid: u32,
    window: Duration,
) -> anyhow::Result<tokio::process::Child> {
    tokio::process::Command::new("perf")
        .args(["record", "-F", "499", "-g", "-p", &pid.to_string(), "-o"])
        .arg(output)
        .args(["--", "sleep", &window.as_secs().max(1).to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("cannot run perf")
}

pub(super) async fn finish_perf(mut profiler: tokio::process::Child) {
    if tokio::time::timeout(Duration::from_secs(30), profiler.wait())
        .await
        .is_err()
    {
        let _ = profiler.kill().await;
    }
}

pub(super) fn cores(before: ProcessSample, after: ProcessSample, window: Duration) -> f64 {
    after.cpu.saturating_sub(before.cpu).as_secs_f64() / window.as_secs_f64().max(1e-9)
}

pub(super) fn resource_use(
    baseline: ProcessSample,
    before: ProcessSample,
    after: ProcessSample,
    waited: Duration,
    window: Duration,
) -> ResourceUse {
    ResourceUse {
        cores: cores(before, after, window),
        rss_growth_bytes: after.rss_bytes as i64 - baseline.rss_bytes as i64,
        waiting_cores: waited.as_secs_f64() / window.as_secs_f64().max(1e-9),
    }
}

pub(super) struct Dialled {
    pub held: Vec<Held>,
    pub failed: u64,
    pub setup_times: Vec<Duration>,
}

/// Places `count` calls at `plan.ramp_cps`, numbering them from `first`.
pub(super) async fn dial(
    plan: &HeldPlan,
    uac: &Arc<Uac>,
    load: &RtpLoad,
    first: usize,
    count: usize,
    dropped: &Arc<AtomicU64>,
    hanging_up: &Arc<AtomicBool>,
) -> Dialled {
    let gap = Duration::from_secs(1) / plan.ramp_cps.max(1);
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut tasks = JoinSet::new();
    let mut next = Instant::now();
    for number in first..first + count {
        tokio::time::sleep_until(next).await;
        next += gap;
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        let (socket, address) = load.address(number);
        let uac = uac.clone();
        let server = plan.server;
        let watch = (dropped.clone(), hanging_up.clone());
        let streams = load.stream_sender();
        tasks.spawn(async move {
            let result = dial_one(&uac, server, socket, address, watch).await;
            if let Ok((_, _, outgoing)) = &result {
                // At once: the server hangs up a call whose audio does not come.
                let _ = streams.send(*outgoing);
            }
            drop(permit);
            result
        });
    }
    let mut dialled = Dialled {
        held: Vec::with_capacity(count),
        failed: 0,
        setup_times: Vec::with_capacity(count),
    };
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok((setup, held, _))) => {
                dialled.setup_times.push(setup);
                dialled.held.push(held);
            }
            Ok(Err(error)) => {
                dialled.failed += 1;
                tracing::warn!("call failed: {error:#}");
            }
            Err(_) => dialled.failed += 1,
        }
    }
    dialled
}

/// One call: offer our shared socket, wait for the 200, start its audio, watch for BYE.
async fn dial_one(
    uac: &Uac,
    server: SocketAddr,
    socket: usize,
    address: SocketAddr,
    (dropped, hanging_up): (Arc<AtomicU64>, Arc<AtomicBool>),
) -> anyhow::Result<(Duration, Held, Outgoing)> {
    let mut sdp = SdpSession::new(
        address,
        MediaCapabilities::default(),
        rand::random::<u32>().into(),
    );
    let offer = sdp.offer();
    let started = Instant::now();
    let dialled = uac
        .invite(server, SipTransport::Udp, Some(offer.into_bytes()))
        .await?;
    let setup = started.elapsed();
    let response = dialled.response.as_ref().context("no final response")?;
    let status = u16::from(response.status_code.clone());
    anyhow::ensure!((200..300).contains(&status), "the server answered {status}");
    let media = sdp.accept_answer(std::str::from_utf8(&response.body)?)?;
    let destination = media.remote_rtp.context("the answer has no RTP address")?;
    let mut states = dialled.states;
    tokio::spawn(async move {
        while let Some(state) = states.recv().await {
            if is_terminated(&state) {
                if !hanging_up.load(Ordering::Relaxed) {
                    dropped.fetch_add(1, Ordering::Relaxed);
                }
                break;
            }
        }
    });
    let outgoing = Outgoing {
        socket,
        destination,
        payload_type: media.payload_type,
        law: media.codec.law(),
    };
    Ok((
        setup,
        Held {
            dialog: dialled.dialog,
        },
        outgoing,
    ))
}

/// Sends BYE on every call, a bounded number at a time.
pub(super) async fn hang_up(held: Vec<Held>) {
    let mut tasks = JoinSet::new();
    for call in held {
        if tasks.len() >= MAX_IN_FLIGHT {
            tasks.join_next().await;
        }
        tasks.spawn(async move {
            let _ = tokio::time::timeout(BYE_TIMEOUT, call.dialog.bye()).await;
        });
    }
    while tasks.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(received: u64, sent: u64) -> HeldStep {
        let mut rtp = WindowReport::empty();
        rtp.packets_received = received;
        rtp.packets_sent = sent;
        HeldStep {
            target: 100,
            up: 100,
            setup_failed: 0,
            dropped: 0,
            setup_latency: None,
            window: Duration::from_secs(10),
            rtp,
            server: None,
            bot_cores: 0.0,
            load_average: String::new(),
        }
    }

    #[test]
    fn a_step_counts_only_when_both_directions_keep_50_packets_a_second() {
        assert!(step(50_000, 50_000).healthy());
        let server_behind = step(40_000, 50_000);
        assert!((server_behind.server_delivery() - 0.8).abs() < 1e-9);
        assert!(!server_behind.healthy());
        assert!(!step(50_000, 45_000).healthy(), "the bot fell behind");
        let dropped = HeldStep {
            dropped: 1,
            up: 99,
            ..step(49_500, 49_500)
        };
        assert!(!dropped.healthy());
    }
}
