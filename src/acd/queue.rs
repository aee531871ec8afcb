//! One queue's running state: its configuration, whether it is open, its counters, the
//! handle-time average its estimates use and where round robin stopped last.

use super::config::QueueConfig;
use super::estimate::HandleTimeAverage;
use super::figures::QueueCounters;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct QueueState {
    pub name: String,
    pub config: QueueConfig,
    /// Closed queues refuse new callers; those already in line stay.
    pub open: bool,
    pub counters: QueueCounters,
    pub handle_time: HandleTimeAverage,
    /// The `seq` of the agent round robin offered last.
    pub round_robin_last: Option<u64>,
}

impl QueueState {
    pub fn new(name: &str, config: QueueConfig, initial_handle_time: Duration) -> Self {
        Self {
            name: name.to_string(),
            config,
            open: true,
            counters: QueueCounters::default(),
            handle_time: HandleTimeAverage::new(initial_handle_time),
            round_robin_last: None,
        }
    }
}
