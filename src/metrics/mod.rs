//! The server's figures for Prometheus (`GET /metrics`, text format 0.0.4): what calls
//! count as they go (setups by SIP status, ends by reason, self-service or transferred,
//! lookups by source and outcome, recognition and turn times) and what is read at scrape
//! time from the parts that already keep it (active calls, the recogniser pool, circuit
//! breakers, the agent queues' figures, the CDR writer).
//!
//! Labels only ever hold names the configuration chose (sources, queues), our own
//! status codes and reasons: never a caller id or anything a caller said.

use crate::acd::QueueFigures;
use crate::asr::pool::PoolStats;
use crate::cdr::CdrStats;
use crate::data::breaker::BreakerState;
use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::atomic::Ordering;

/// Errors building or encoding the figures (a programming error, not a peer's).
#[derive(Debug, thiserror::Error)]
#[error("metrics: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

/// Every figure the server exposes.
pub struct Metrics {
    registry: Registry,
    /// Final answers to INVITEs, by status code (200, 486, 488, 503 ...).
    pub call_setups: IntCounterVec,
    /// Calls ended, by the CDR's end reason.
    pub calls_ended: IntCounterVec,
    /// Answered calls that ended without being handed to an agent queue.
    pub self_service: IntCounter,
    /// Answered calls the dialplan handed to an agent queue.
    pub transferred: IntCounter,
    /// From an utterance's hand-over to the recogniser to the first prompt of the answer.
    pub turn_response: Histogram,
    /// One recognition, from submission to transcript.
    pub recognition: Histogram,
    /// From the answer to the transfer to an agent queue.
    pub answer_to_transfer: Histogram,
    /// Lookups, by source and outcome (`found`, `not_found`, `error`).
    pub lookups: IntCounterVec,
    active_calls: IntGauge,
    recogniser_pending: IntGauge,
    recogniser_capacity: IntGauge,
    recogniser_rejected: IntCounter,
    breaker_state: IntGaugeVec,
    queue_waiting: IntGaugeVec,
    queue_answered: IntCounterVec,
    queue_abandoned: IntCounterVec,
    queue_timed_out: IntCounterVec,
    queue_service_level: GaugeVec,
    queue_agents_available: IntGaugeVec,
    cdr_waiting: IntGauge,
    cdr_dropped: IntCounter,
    cdr_failures: IntCounter,
    cdr_written: IntCounter,
    /// Every family's name, also those with no series yet.
    names: Vec<String>,
}

/// What the scrape reads from the rest of the server.
#[derive(Default)]
pub struct Snapshot<'a> {
    pub active_calls: usize,
    pub pool: Option<PoolStats>,
    pub breakers: Vec<(String, BreakerState)>,
    pub queues: Vec<QueueFigures>,
    pub cdr: Option<&'a CdrStats>,
}

/// Seconds buckets for times a caller waits through: 50 ms to about 100 s.
fn caller_buckets() -> Vec<f64> {
    vec![
        0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0,
    ]
}

impl Metrics {
    pub fn new() -> Result<Metrics, MetricsError> {
        let registry = Registry::new();
        let names = std::cell::RefCell::new(vec!["hotline_up".to_string()]);
        let named = |name: &str| names.borrow_mut().push(name.to_string());
        let counters =
            |name: &str, help: &str, labels: &[&str]| -> Result<IntCounterVec, MetricsError> {
                named(name);
                let metric = IntCounterVec::new(Opts::new(name, help), labels)?;
                registry.register(Box::new(metric.clone()))?;
                Ok(metric)
            };
        let counter = |name: &str, help: &str| -> Result<IntCounter, MetricsError> {
            named(name);
            let metric = IntCounter::new(name, help)?;
            registry.register(Box::new(metric.clone()))?;
            Ok(metric)
        };
        let gauges =
            |name: &str, help: &str, labels: &[&str]| -> Result<IntGaugeVec, MetricsError> {
                named(name);
                let metric = IntGaugeVec::new(Opts::new(name, help), labels)?;
                registry.register(Box::new(metric.clone()))?;
                Ok(metric)
            };
        let gauge = |name: &str, help: &str| -> Result<IntGauge, MetricsError> {
            named(name);
            let metric = IntGauge::new(name, help)?;
            registry.register(Box::new(metric.clone()))?;
            Ok(metric)
        };
        let histogram = |name: &str, help: &str| -> Result<Histogram, MetricsError> {
            named(name);
            let metric =
                Histogram::with_opts(HistogramOpts::new(name, help).buckets(caller_buckets()))?;
            registry.register(Box::new(metric.clone()))?;
            Ok(metric)
        };
        let queue_service_level = GaugeVec::new(
            Opts::new(
                "hotline_queue_service_level_ratio",
                "Share of answered callers answered within the queue's service-level threshold.",
            ),
            &["queue"],
        )?;
        registry.register(Box::new(queue_service_level.clone()))?;
        named("hotline_queue_service_level_ratio");
        let up = Gauge::new("hotline_up", "1 while the server runs.")?;
        registry.register(Box::new(up.clone()))?;
        up.set(1.0);
        Ok(Metrics {
            call_setups: counters(
                "hotline_call_setups_total",
                "Final answers to INVITEs, by SIP status code.",
                &["code"],
            )?,
            calls_ended: counters(
                "hotline_calls_ended_total",
                "Calls ended, by end reason.",
                &["reason"],
            )?,
            self_service: counter(
                "hotline_calls_self_service_total",
                "Answered calls that ended without reaching an agent queue (containment).",
            )?,
            transferred: counter(
                "hotline_calls_transferred_total",
                "Answered calls handed to an agent queue.",
            )?,
            turn_response: histogram(
                "hotline_turn_response_seconds",
                "From an utterance handed to the recogniser to the first prompt of the answer.",
            )?,
            recognition: histogram(
                "hotline_recognition_seconds",
                "One speech recognition, from submission to transcript.",
            )?,
            answer_to_transfer: histogram(
                "hotline_answer_to_transfer_seconds",
                "From the answer to the hand-over to an agent queue.",
            )?,
            lookups: counters(
                "hotline_lookups_total",
                "Dialplan lookups, by source and outcome.",
                &["source", "outcome"],
            )?,
            active_calls: gauge("hotline_active_calls", "Calls in progress.")?,
            recogniser_pending: gauge(
                "hotline_recogniser_queue_depth",
                "Utterances accepted by the recogniser pool and not yet answered.",
            )?,
            recogniser_capacity: gauge(
                "hotline_recogniser_queue_capacity",
                "How many utterances the recogniser pool queues at most.",
            )?,
            recogniser_rejected: counter(
                "hotline_recogniser_rejected_total",
                "Utterances the recogniser pool refused because it was full.",
            )?,
            breaker_state: gauges(
                "hotline_breaker_state",
                "Each webhook source's circuit breaker: 0 closed, 1 half-open, 2 open.",
                &["source"],
            )?,
            queue_waiting: gauges(
                "hotline_queue_waiting",
                "Callers waiting in the queue now (on the line or for a callback).",
                &["queue"],
            )?,
            queue_answered: counters(
                "hotline_queue_answered_total",
                "Queued callers an agent answered.",
                &["queue"],
            )?,
            queue_abandoned: counters(
                "hotline_queue_abandoned_total",
                "Queued callers who hung up before an agent answered.",
                &["queue"],
            )?,
            queue_timed_out: counters(
                "hotline_queue_timed_out_total",
                "Queued callers handed back to the dialplan after the longest wait.",
                &["queue"],
            )?,
            queue_service_level,
            queue_agents_available: gauges(
                "hotline_queue_agents_available",
                "Agents logged in to the queue and available now.",
                &["queue"],
            )?,
            cdr_waiting: gauge(
                "hotline_cdr_waiting",
                "Call records waiting in memory for the database.",
            )?,
            cdr_dropped: counter(
                "hotline_cdr_dropped_total",
                "Call records lost because the backlog was full.",
            )?,
            cdr_failures: counter(
                "hotline_cdr_write_failures_total",
                "Failed attempts to open or write the call records' database.",
            )?,
            cdr_written: counter(
                "hotline_cdr_records_written_total",
                "Call record writes (starts and ends) that reached the database.",
            )?,
            registry,
            names: Vec::new(),
        }
        .named(names.into_inner()))
    }

    fn named(mut self, names: Vec<String>) -> Self {
        self.names = names;
        self
    }

    /// Every family's name, also those no call has given a series yet.
    pub fn family_names(&self) -> &[String] {
        &self.names
    }

    /// A call's INVITE got its final answer `code`.
    pub fn call_setup(&self, code: u16) {
        self.call_setups
            .with_label_values(&[&code.to_string()])
            .inc();
    }

    /// A lookup of `source` answered with `outcome`.
    pub fn lookup(&self, source: &str, outcome: &str) {
        self.lookups.with_label_values(&[source, outcome]).inc();
    }

    /// A call ended for `reason`; `answered` and `transferred` say whether it was
    /// answered and whether the dialplan handed it to an agent queue.
    pub fn call_ended(&self, reason: &str, answered: bool, transferred: bool) {
        self.calls_ended.with_label_values(&[reason]).inc();
        match (answered, transferred) {
            (true, false) => self.self_service.inc(),
            (_, true) => self.transferred.inc(),
            (false, false) => {}
        }
    }

    /// The figures as Prometheus text, with the scrape-time ones read from `snapshot`.
    pub fn render(&self, snapshot: &Snapshot<'_>) -> Result<String, MetricsError> {
        self.read(snapshot);
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// The content type of [`render`](Self::render)'s text.
    pub fn content_type() -> &'static str {
        prometheus::TEXT_FORMAT
    }

    fn read(&self, snapshot: &Snapshot<'_>) {
        self.active_calls.set(snapshot.active_calls as i64);
        if let Some(pool) = &snapshot.pool {
            self.recogniser_pending.set(pool.pending as i64);
            self.recogniser_capacity.set(pool.queue_capacity as i64);
            catch_up(&self.recogniser_rejected, pool.rejected as u64);
        }
        for (source, state) in &snapshot.breakers {
            let value = match state {
                BreakerState::Closed => 0,
                BreakerState::HalfOpen => 1,
                BreakerState::Open => 2,
            };
            self.breaker_state.with_label_values(&[source]).set(value);
        }
        for queue in &snapshot.queues {
            let name = [queue.queue.as_str()];
            self.queue_waiting
                .with_label_values(&name)
                .set(queue.waiting as i64);
            self.queue_agents_available
                .with_label_values(&name)
                .set(queue.agents.available as i64);
            catch_up(
                &self.queue_answered.with_label_values(&name),
                queue.answered,
            );
            catch_up(
                &self.queue_abandoned.with_label_values(&name),
                queue.abandoned,
            );
            catch_up(
                &self.queue_timed_out.with_label_values(&name),
                queue.timed_out,
            );
            if let Some(level) = queue.service_level {
                self.queue_service_level.with_label_values(&name).set(level);
            }
        }
        if let Some(cdr) = snapshot.cdr {
            self.cdr_waiting
                .set(cdr.waiting.load(Ordering::Relaxed) as i64);
            catch_up(&self.cdr_dropped, cdr.dropped.load(Ordering::Relaxed));
            catch_up(&self.cdr_failures, cdr.failures.load(Ordering::Relaxed));
            catch_up(&self.cdr_written, cdr.written.load(Ordering::Relaxed));
        }
    }
}

/// Brings a counter up to a total kept elsewhere (the totals only grow while the server
/// runs, and so does the counter).
fn catch_up(counter: &IntCounter, total: u64) {
    let seen = counter.get();
    if total > seen {
        counter.inc_by(total - seen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_has_every_family_with_its_type_and_the_scrape_figures() {
        let metrics = Metrics::new().unwrap();
        metrics.call_setup(200);
        metrics.call_setup(503);
        metrics.call_ended("caller hung up", true, false);
        metrics.call_ended("caller hung up", true, true);
        metrics.lookup("balance", "found");
        metrics.recognition.observe(0.4);
        let cdr = CdrStats::default();
        cdr.waiting.store(3, Ordering::Relaxed);
        cdr.dropped.store(2, Ordering::Relaxed);
        let snapshot = Snapshot {
            active_calls: 4,
            breakers: vec![("crm".into(), BreakerState::Open)],
            cdr: Some(&cdr),
            ..Snapshot::default()
        };
        let text = metrics.render(&snapshot).unwrap();
        for line in [
            "# TYPE hotline_call_setups_total counter",
            "hotline_call_setups_total{code=\"200\"} 1",
            "hotline_call_setups_total{code=\"503\"} 1",
            "hotline_calls_self_service_total 1",
            "hotline_calls_transferred_total 1",
            "hotline_lookups_total{outcome=\"found\",source=\"balance\"} 1",
            "hotline_recognition_seconds_count 1",
            "hotline_active_calls 4",
            "hotline_breaker_state{source=\"crm\"} 2",
            "hotline_cdr_waiting 3",
            "hotline_cdr_dropped_total 2",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from:\n{text}"
            );
        }
        // Totals read at scrape time are never counted twice.
        let again = metrics.render(&snapshot).unwrap();
        assert!(
            again.lines().any(|l| l == "hotline_cdr_dropped_total 2"),
            "{again}"
        );
    }
}
