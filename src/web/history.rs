//! The wallboard's chart data: every queue's waiting callers and service level, sampled
//! once a minute from the ACD's figures and kept for the last 24 hours.

use crate::acd::{AcdHandle, QueueFigures};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Samples kept: a day of minutes.
const POINTS: usize = 24 * 60;
const EVERY: Duration = Duration::from_secs(60);

/// One queue at one sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueSample {
    pub waiting: usize,
    pub service_level: Option<f64>,
}

/// Every queue at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub at: String,
    pub queues: BTreeMap<String, QueueSample>,
}

/// The samples, oldest first. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct History {
    points: Arc<Mutex<VecDeque<Point>>>,
}

impl History {
    /// Adds the figures seen at `at`, dropping what is older than a day.
    pub fn record(&self, at: chrono::DateTime<chrono::Utc>, figures: &[QueueFigures]) {
        let point = Point {
            at: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            queues: figures
                .iter()
                .map(|f| {
                    let sample = QueueSample {
                        waiting: f.waiting,
                        service_level: f.service_level,
                    };
                    (f.queue.clone(), sample)
                })
                .collect(),
        };
        let mut points = self.points.lock().unwrap_or_else(|p| p.into_inner());
        while points.len() >= POINTS {
            points.pop_front();
        }
        points.push_back(point);
    }

    pub fn points(&self) -> Vec<Point> {
        let points = self.points.lock().unwrap_or_else(|p| p.into_inner());
        points.iter().cloned().collect()
    }
}

/// Samples the ACD's figures into `history` every minute (the first at once) until the
/// ACD stops.
pub fn start_sampling(history: History, acd: AcdHandle) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(EVERY);
        loop {
            every.tick().await;
            match acd.figures().await {
                Some(figures) => history.record(chrono::Utc::now(), &figures),
                None => return,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_of_samples_is_kept_and_no_more() {
        let history = History::default();
        let t0 = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        for minute in 0..(POINTS as i64 + 5) {
            history.record(t0 + chrono::TimeDelta::minutes(minute), &[]);
        }
        let points = history.points();
        assert_eq!(points.len(), POINTS);
        assert_eq!(
            points[0].at, "1970-01-01T00:05:00Z",
            "the oldest went first"
        );
    }
}
