//! Phase 1, call setup rate: SIPp places calls at a fixed rate for a few seconds (INVITE,
//! 200, ACK, BYE; no RTP from SIPp), and we read back how many failed and how long each
//! INVITE waited for its 200 (SIPp's `-trace_rtt`, millisecond resolution).

use super::proc_stats;
use anyhow::{Context, bail};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// One rate step's outcome.
#[derive(Debug, Clone)]
pub struct SetupStep {
    /// Calls per second asked of SIPp.
    pub requested_cps: u32,
    /// Calls per second SIPp actually answered (first to last 200 OK).
    pub achieved_cps: f64,
    pub attempted: u64,
    pub successful: u64,
    pub failed: u64,
    pub retransmissions: u64,
    /// INVITE-to-200 response times.
    pub latency: Option<Percentiles>,
    /// Server CPU time per call set up and torn down, when the server's pid is known.
    pub server_cpu_per_call: Option<Duration>,
}

impl SetupStep {
    /// Zero failures and no shortfall against the requested rate (within 5 %).
    pub fn sustained(&self) -> bool {
        self.failed == 0
            && self.successful == self.attempted
            && self.achieved_cps >= 0.95 * f64::from(self.requested_cps)
    }
}

/// p50/p95/p99/max of a set of durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percentiles {
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Percentiles {
    /// Nearest-rank percentiles; `None` for no samples.
    pub fn of(mut samples: Vec<Duration>) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let rank = |q: f64| {
            let index = ((samples.len() as f64) * q).ceil() as usize;
            samples[index.clamp(1, samples.len()) - 1]
        };
        Some(Percentiles {
            p50: rank(0.50),
            p95: rank(0.95),
            p99: rank(0.99),
            max: samples[samples.len() - 1],
        })
    }
}

/// What a rate step needs.
#[derive(Debug, Clone)]
pub struct StepPlan {
    pub server: SocketAddr,
    pub server_pid: Option<u32>,
    pub scenario: PathBuf,
    pub cps: u32,
    pub seconds: u32,
    pub hold_ms: u32,
}

/// Runs SIPp once at `plan.cps` for `plan.seconds` and reads its statistics.
pub fn run_step(plan: &StepPlan) -> anyhow::Result<SetupStep> {
    let dir = std::env::temp_dir().join(format!(
        "hotline-bench-sipp-{}-{}",
        std::process::id(),
        plan.cps
    ));
    std::fs::create_dir_all(&dir)?;
    let result = run_sipp(plan, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_sipp(plan: &StepPlan, dir: &Path) -> anyhow::Result<SetupStep> {
    let scenario = std::fs::canonicalize(&plan.scenario)
        .with_context(|| format!("SIPp scenario {} not found", plan.scenario.display()))?;
    let calls = u64::from(plan.cps) * u64::from(plan.seconds);
    // Room for two seconds' worth of calls in progress before SIPp throttles itself.
    let limit = (plan.cps * 2).max(100);
    let before = plan.server_pid.map(proc_stats::sample).transpose()?;
    let started = Instant::now();
    let output = Command::new("sipp")
        .arg(plan.server.to_string())
        .arg("-sf")
        .arg(&scenario)
        .args(["-r", &plan.cps.to_string(), "-rp", "1000"])
        .args(["-m", &calls.to_string(), "-l", &limit.to_string()])
        .args(["-d", &plan.hold_ms.to_string()])
        .args(["-i", "127.0.0.1", "-mi", "127.0.0.1"])
        .args(["-p", &free_udp_port()?.to_string()])
        .args(["-mp", &(free_udp_port()? & !1).to_string()])
        .args(["-t", "u1", "-s", "hotline", "-nostdin"])
        .args(["-recv_timeout", "10000"])
        .args([
            "-timeout",
            &format!("{}s", plan.seconds + 40),
            "-timeout_error",
        ])
        .args(["-trace_rtt", "-rtt_freq", "1"])
        .args(["-trace_stat", "-stf", "stat.csv", "-fd", "1"])
        .current_dir(dir)
        .output()
        .context("cannot run sipp (Debian package sip-tester)")?;
    let elapsed = started.elapsed();
    let after = plan.server_pid.map(proc_stats::sample).transpose()?;
    let stat = std::fs::read_to_string(dir.join("stat.csv")).with_context(|| {
        format!(
            "SIPp wrote no statistics ({:?}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    let counters = last_counters(&stat)?;
    let rtt = read_rtt_file(dir)?;
    let successful = counters.get("SuccessfulCall(C)")?;
    let server_cpu_per_call = match (before, after) {
        (Some(before), Some(after)) if successful > 0 => Some(
            after.cpu.saturating_sub(before.cpu) / u32::try_from(successful).unwrap_or(u32::MAX),
        ),
        _ => None,
    };
    tracing::debug!(?elapsed, "sipp step done");
    Ok(SetupStep {
        requested_cps: plan.cps,
        achieved_cps: achieved_rate(&rtt),
        attempted: counters.get("OutgoingCall(C)")?,
        successful,
        failed: counters.get("FailedCall(C)")?,
        retransmissions: counters.get("Retransmissions(C)")?,
        latency: Percentiles::of(rtt.iter().map(|r| r.response_time).collect()),
        server_cpu_per_call,
    })
}

/// A free UDP port on loopback, for SIPp's signalling and media sockets.
fn free_udp_port() -> anyhow::Result<u16> {
    Ok(UdpSocket::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

/// The final row of SIPp's `-trace_stat` file, by column name.
struct Counters {
    names: Vec<String>,
    values: Vec<String>,
}

impl Counters {
    fn get(&self, name: &str) -> anyhow::Result<u64> {
        let index = self
            .names
            .iter()
            .position(|n| n == name)
            .with_context(|| format!("SIPp statistics have no {name} column"))?;
        let value = self.values.get(index).map(|v| v.trim()).unwrap_or("");
        value
            .parse()
            .with_context(|| format!("SIPp statistic {name} is {value:?}"))
    }
}

fn last_counters(stat: &str) -> anyhow::Result<Counters> {
    let mut lines = stat.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else {
        bail!("SIPp statistics file is empty");
    };
    let Some(last) = lines.next_back() else {
        bail!("SIPp statistics file has no data row");
    };
    let split = |line: &str| line.split(';').map(str::to_string).collect();
    Ok(Counters {
        names: split(header),
        values: split(last),
    })
}

/// One line of SIPp's `_rtt.csv`: when the 200 came, and how long after the INVITE.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ResponseTime {
    at_ms: f64,
    response_time: Duration,
}

fn read_rtt_file(dir: &Path) -> anyhow::Result<Vec<ResponseTime>> {
    let mut rows = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.to_string_lossy().ends_with("_rtt.csv") {
            rows.extend(parse_rtt(&std::fs::read_to_string(&path)?));
        }
    }
    Ok(rows)
}

/// `Date_ms;response_time_ms;rtd_no` rows for response time 1 (INVITE to 200).
fn parse_rtt(text: &str) -> Vec<ResponseTime> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split(';');
            let at_ms: f64 = fields.next()?.trim().parse().ok()?;
            let ms: f64 = fields.next()?.trim().parse().ok()?;
            let rtd = fields.next()?.trim();
            (rtd == "1" && ms >= 0.0).then(|| ResponseTime {
                at_ms,
                response_time: Duration::from_secs_f64(ms / 1000.0),
            })
        })
        .collect()
}

/// Answers per second from the first to the last 200 OK.
fn achieved_rate(rtt: &[ResponseTime]) -> f64 {
    let first = rtt.iter().map(|r| r.at_ms).fold(f64::INFINITY, f64::min);
    let last = rtt
        .iter()
        .map(|r| r.at_ms)
        .fold(f64::NEG_INFINITY, f64::max);
    if rtt.len() < 2 || last <= first {
        return 0.0;
    }
    (rtt.len() - 1) as f64 / ((last - first) / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_come_from_the_last_row() {
        let stat = "StartTime;OutgoingCall(C);SuccessfulCall(C);FailedCall(C);\n\
                    t0;10;9;0;\n\
                    t1;20;18;2;\n";
        let counters = last_counters(stat).unwrap();
        assert_eq!(counters.get("OutgoingCall(C)").unwrap(), 20);
        assert_eq!(counters.get("FailedCall(C)").unwrap(), 2);
        assert!(counters.get("Retransmissions(C)").is_err());
    }

    #[test]
    fn rtt_rows_give_response_times_and_rate() {
        let text = "Date_ms;response_time_ms;rtd_no\n1000;0.5;1\n1500;4;1\n1600;9;2\n2000;1;1\n";
        let rows = parse_rtt(text);
        assert_eq!(rows.len(), 3, "only response time 1 counts");
        assert_eq!(rows[1].response_time, Duration::from_millis(4));
        assert!((achieved_rate(&rows) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let p = Percentiles::of(samples).unwrap();
        assert_eq!(p.p50, Duration::from_millis(50));
        assert_eq!(p.p99, Duration::from_millis(99));
        assert_eq!(p.max, Duration::from_millis(100));
        assert_eq!(Percentiles::of(Vec::new()), None);
    }

    #[test]
    fn a_step_with_a_failure_or_a_shortfall_is_not_sustained() {
        let step = SetupStep {
            requested_cps: 1000,
            achieved_cps: 990.0,
            attempted: 5000,
            successful: 5000,
            failed: 0,
            retransmissions: 0,
            latency: None,
            server_cpu_per_call: None,
        };
        assert!(step.sustained());
        assert!(
            !SetupStep {
                failed: 1,
                successful: 4999,
                ..step.clone()
            }
            .sustained()
        );
        assert!(
            !SetupStep {
                achieved_cps: 700.0,
                ..step
            }
            .sustained()
        );
    }
}
