//! CPU time and resident memory of a process, read from /proc (Linux), plus the machine's
//! load average to print beside the figures.

use anyhow::Context;
use std::time::Duration;

/// One reading of a process's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessSample {
    /// User plus system CPU time of all its threads so far.
    pub cpu: Duration,
    /// Resident set size.
    pub rss_bytes: u64,
}

/// Reads `/proc/PID/stat` and `/proc/PID/status`.
pub fn sample(pid: u32) -> anyhow::Result<ProcessSample> {
    read(&format!("/proc/{pid}"))
}

/// Reads this process's own counters (the bot's share of the machine).
pub fn sample_self() -> anyhow::Result<ProcessSample> {
    read("/proc/self")
}

fn read(dir: &str) -> anyhow::Result<ProcessSample> {
    let stat = std::fs::read_to_string(format!("{dir}/stat"))
        .with_context(|| format!("cannot read {dir}/stat"))?;
    let status = std::fs::read_to_string(format!("{dir}/status"))
        .with_context(|| format!("cannot read {dir}/status"))?;
    let ticks = cpu_ticks(&stat).with_context(|| format!("unexpected {dir}/stat: {stat}"))?;
    let rss_kib = vm_rss_kib(&status).with_context(|| format!("no VmRSS in {dir}/status"))?;
    Ok(ProcessSample {
        cpu: ticks_to_duration(ticks, clock_ticks_per_second()),
        rss_bytes: rss_kib * 1024,
    })
}

/// utime + stime, in clock ticks, from the text of `/proc/PID/stat`.
fn cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may itself hold spaces or ')'.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The `VmRSS:` line of `/proc/PID/status`, in KiB.
fn vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn ticks_to_duration(ticks: u64, per_second: u64) -> Duration {
    Duration::from_nanos(ticks.saturating_mul(1_000_000_000) / per_second.max(1))
}

fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|t| *t > 0).unwrap_or(100)
}

/// Time the process's threads spent runnable but waiting for a core, so far (the second
/// field of each `/proc/PID/task/*/schedstat`): large when the machine is oversubscribed.
pub fn run_queue_wait(pid: u32) -> anyhow::Result<Duration> {
    let mut nanos: u64 = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        // Threads may end between the listing and the read.
        let Ok(text) = std::fs::read_to_string(task?.path().join("schedstat")) else {
            continue;
        };
        nanos += schedstat_wait_nanos(&text).unwrap_or(0);
    }
    Ok(Duration::from_nanos(nanos))
}

fn schedstat_wait_nanos(text: &str) -> Option<u64> {
    text.split_whitespace().nth(1)?.parse().ok()
}

/// The 1, 5 and 15 minute load averages, as `/proc/loadavg` writes them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_survive_a_command_name_with_spaces_and_parentheses() {
        let stat = "4242 (hot line) (x)) S 1 4242 4242 0 -1 4194560 1200 0 0 0 \
                    731 269 0 0 20 0 9 0 12345 999999 2500 18446744073709551615";
        assert_eq!(cpu_ticks(stat), Some(731 + 269));
    }

    #[test]
    fn truncated_stat_is_refused() {
        assert_eq!(cpu_ticks("4242 (hotline) S 1 2 3"), None);
    }

    #[test]
    fn schedstat_gives_the_run_queue_wait() {
        assert_eq!(
            schedstat_wait_nanos("21494900000 29318900000 81234\n"),
            Some(29_318_900_000)
        );
        assert_eq!(schedstat_wait_nanos("12"), None);
    }

    #[test]
    fn vm_rss_is_read_in_kib() {
        let status = "Name:\thotline\nVmPeak:\t  90000 kB\nVmRSS:\t   52344 kB\nThreads:\t3\n";
        assert_eq!(vm_rss_kib(status), Some(52_344));
    }

    #[test]
    fn ticks_convert_at_the_clock_rate() {
        assert_eq!(ticks_to_duration(250, 100), Duration::from_millis(2500));
    }
}
