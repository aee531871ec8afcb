//! Recognition throughput and latency measurement (`hotline transcribe --bench`): N workers,
//! each with its own state on one shared model, decode a set of utterances; reports
//! latency percentiles, CPU per utterance and utterances per second per core.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::whisper::{WhisperModel, WhisperOptions};
use super::{AsrError, RecognitionHints, Recognizer};

/// One utterance to decode, already at 16 kHz.
pub struct BenchInput {
    pub name: String,
    pub pcm_16k: Vec<f32>,
}

#[derive(Debug, Clone)]
pub struct BenchReport {
    pub workers: usize,
    pub threads_per_worker: usize,
    pub utterances: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub mean_audio_ms: f64,
    /// Process CPU time per utterance (user + system), when the OS reports it.
    pub cpu_ms_per_utterance: Option<f64>,
    pub wall: Duration,
}

impl BenchReport {
    pub fn utterances_per_second(&self) -> f64 {
        self.utterances as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// Throughput divided by the cores the workers keep busy.
    pub fn utterances_per_second_per_core(&self) -> f64 {
        self.utterances_per_second() / (self.workers * self.threads_per_worker) as f64
    }
}

/// Process CPU time so far, from /proc (Linux); `None` elsewhere.
fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // Linux reports clock ticks of 1/100 s on every mainstream configuration.
    Some(Duration::from_millis((utime + stime) * 10))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Decodes every input `repeat` times across `workers` threads (after one untimed warm-up
/// utterance per worker).
pub fn run(
    model: &WhisperModel,
    options: &WhisperOptions,
    inputs: &[BenchInput],
    workers: usize,
    repeat: usize,
    hints: &RecognitionHints,
) -> Result<BenchReport, AsrError> {
    let workers = workers.max(1);
    let jobs: Vec<&BenchInput> = (0..repeat.max(1)).flat_map(|_| inputs.iter()).collect();
    let mut recognizers = Vec::with_capacity(workers);
    for _ in 0..workers {
        let mut r = model.recognizer(options.clone())?;
        if let Some(first) = inputs.first() {
            r.transcribe(&first.pcm_16k, hints)?;
        }
        recognizers.push(r);
    }
    let next = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(jobs.len()));
    let failure: Mutex<Option<AsrError>> = Mutex::new(None);
    let cpu_before = process_cpu_time();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for mut recognizer in recognizers {
            let (next, jobs, latencies, failure) = (&next, &jobs, &latencies, &failure);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(job) = jobs.get(i) else { break };
                    let t0 = Instant::now();
                    match recognizer.transcribe(&job.pcm_16k, hints) {
                        Ok(_) => {
                            if let Ok(mut l) = latencies.lock() {
                                l.push(t0.elapsed().as_secs_f64() * 1000.0);
                            }
                        }
                        Err(e) => {
                            if let Ok(mut f) = failure.lock() {
                                f.get_or_insert(e);
                            }
                            break;
                        }
                    }
                }
            });
        }
    });
    let wall = started.elapsed();
    let cpu = match (cpu_before, process_cpu_time()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    let mut latencies = latencies.into_inner().unwrap_or_default();
    latencies.sort_by(f64::total_cmp);
    let n = latencies.len();
    let audio_total: f64 = jobs.iter().map(|j| j.pcm_16k.len() as f64 / 16.0).sum();
    Ok(BenchReport {
        workers,
        threads_per_worker: options.threads.max(1),
        utterances: n,
        p50_ms: percentile(&latencies, 50.0),
        p95_ms: percentile(&latencies, 95.0),
        mean_audio_ms: audio_total / jobs.len().max(1) as f64,
        cpu_ms_per_utterance: cpu.map(|c| c.as_secs_f64() * 1000.0 / n.max(1) as f64),
        wall,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_small_sample() {
        let v = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0];
        assert_eq!(percentile(&v, 50.0), 60.0);
        assert_eq!(percentile(&v, 95.0), 100.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn cpu_time_is_readable_here() {
        if cfg!(target_os = "linux") {
            assert!(process_cpu_time().is_some());
        }
    }
}
