//! A fixed-bucket histogram of how late paced sends happen, for metrics and benchmarks.
//!
//! Buckets are 250 µs wide up to 10 ms, plus one overflow bucket: enough resolution for
//! the "send jitter p99 under 2 ms" target, and cheap enough to update on every frame.

use std::time::Duration;

const BUCKET_MICROS: u64 = 250;
const BUCKETS: usize = 40;

/// Send lateness histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatenessHistogram {
    counts: [u32; BUCKETS + 1],
}

impl Default for LatenessHistogram {
    fn default() -> Self {
        LatenessHistogram {
            counts: [0; BUCKETS + 1],
        }
    }
}

impl LatenessHistogram {
    /// Records one send that happened `late` after its deadline.
    pub fn record(&mut self, late: Duration) {
        let bucket = (late.as_micros() / u128::from(BUCKET_MICROS)).min(BUCKETS as u128) as usize;
        self.counts[bucket] = self.counts[bucket].saturating_add(1);
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &LatenessHistogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine = mine.saturating_add(theirs);
        }
    }

    /// The counts recorded since `earlier`, a previous snapshot of this histogram.
    pub fn since(&self, earlier: &LatenessHistogram) -> LatenessHistogram {
        let mut counts = self.counts;
        for (count, before) in counts.iter_mut().zip(earlier.counts) {
            *count = count.saturating_sub(before);
        }
        LatenessHistogram { counts }
    }

    /// Number of sends recorded.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| u64::from(*c)).sum()
    }

    /// The upper bound of the bucket holding quantile `q` (0.0..=1.0); `None` when empty,
    /// `Duration::MAX` when it falls in the overflow bucket (10 ms or more).
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((total as f64) * q.clamp(0.0, 1.0)).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (bucket, count) in self.counts.iter().enumerate() {
            seen += u64::from(*count);
            if seen >= rank {
                if bucket == BUCKETS {
                    return Some(Duration::MAX);
                }
                return Some(Duration::from_micros((bucket as u64 + 1) * BUCKET_MICROS));
            }
        }
        Some(Duration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_bucket_upper_bounds() {
        let mut h = LatenessHistogram::default();
        assert_eq!(h.quantile(0.5), None);
        for _ in 0..98 {
            h.record(Duration::from_micros(100));
        }
        h.record(Duration::from_micros(1800));
        h.record(Duration::from_millis(50));
        assert_eq!(h.count(), 100);
        assert_eq!(h.quantile(0.5), Some(Duration::from_micros(250)));
        assert_eq!(h.quantile(0.99), Some(Duration::from_micros(2000)));
        assert_eq!(h.quantile(1.0), Some(Duration::MAX));
        let mut other = LatenessHistogram::default();
        other.merge(&h);
        assert_eq!(other, h);
        other.record(Duration::from_micros(10));
        assert_eq!(other.since(&h).count(), 1);
        assert_eq!(
            other.since(&h).quantile(1.0),
            Some(Duration::from_micros(250))
        );
    }
}
