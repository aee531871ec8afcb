//! A budget for log lines a peer can trigger at will (every refused datagram would be
//! one): a few lines per window, then silence, and the first line of the next window says
//! how many were held back. Time comes in as an argument.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lines per window.
const BURST: u32 = 10;
/// How long a window lasts.
const WINDOW: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct LogLimit {
    burst: u32,
    window: Duration,
    state: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    start: Option<Instant>,
    logged: u32,
    held_back: u64,
}

impl Default for LogLimit {
    fn default() -> Self {
        Self::new(BURST, WINDOW)
    }
}

impl LogLimit {
    pub fn new(burst: u32, window: Duration) -> Self {
        Self {
            burst,
            window,
            state: Mutex::new(Window {
                start: None,
                logged: 0,
                held_back: 0,
            }),
        }
    }

    /// Whether a line may be logged at `now`: `Some(n)` with the number of lines held back
    /// since the last one logged, `None` to stay quiet.
    pub fn admit(&self, now: Instant) -> Option<u64> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let expired = state
            .start
            .is_none_or(|start| now.saturating_duration_since(start) >= self.window);
        if expired {
            state.start = Some(now);
            state.logged = 0;
        }
        if state.logged >= self.burst {
            state.held_back += 1;
            return None;
        }
        state.logged += 1;
        Some(std::mem::take(&mut state.held_back))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_silence_then_a_count_of_what_was_held_back() {
        let limit = LogLimit::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        let first: Vec<Option<u64>> = (0..5).map(|_| limit.admit(t0)).collect();
        assert_eq!(first, vec![Some(0), Some(0), Some(0), None, None]);
        assert_eq!(limit.admit(t0 + Duration::from_secs(9)), None);
        assert_eq!(limit.admit(t0 + Duration::from_secs(10)), Some(3));
        assert_eq!(limit.admit(t0 + Duration::from_secs(10)), Some(0));
    }
}
