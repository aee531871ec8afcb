//! A shared pacing engine: many call legs driven by a few tasks instead of one task each.
//!
//! Each shard task ticks every millisecond and owns 20 buckets of legs, one per
//! millisecond of the 20 ms frame; a tick serves one bucket (its commands, the datagrams
//! that arrived, the frame due), so a shard wakes 1000 times a second whatever the number
//! of legs, and sends are spread evenly over the frame instead of bursting. New legs go to
//! the least loaded bucket of the next shard (round robin). The handle and events are the
//! same as [`MediaSocket::start`]'s: a [`MediaSession`] and a receiver of
//! [`MediaEvents`]. Commands (stop_playback included) take effect at the leg's next frame.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::time::{Instant, MissedTickBehavior};

use super::events::MediaEvents;
use super::sdp::NegotiatedMedia;
use super::session::{Command, LegState, MediaSession, MediaSocket, SessionConfig, SessionError};

/// Buckets per shard: one per millisecond of a 20 ms frame.
const BUCKETS: usize = 20;
/// The shard's tick.
const TICK: Duration = Duration::from_millis(1);

type NewLeg = (LegState, mpsc::UnboundedReceiver<Command>);

/// The engine: a handle to its shard tasks. Legs keep running until their handles are
/// dropped or closed, even if the engine itself is dropped first.
#[derive(Debug)]
pub struct MediaEngine {
    shards: Vec<mpsc::UnboundedSender<NewLeg>>,
    next_shard: AtomicUsize,
}

impl MediaEngine {
    /// Spawns `shards` shard tasks on the current tokio runtime (one per worker thread is
    /// a good start).
    pub fn spawn(shards: usize) -> Arc<Self> {
        let shards = (0..shards.max(1))
            .map(|_| {
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(run_shard(rx));
                tx
            })
            .collect();
        Arc::new(MediaEngine {
            shards,
            next_shard: AtomicUsize::new(0),
        })
    }

    /// Starts a leg on the engine: same contract as [`MediaSocket::start`].
    pub fn start(
        &self,
        socket: MediaSocket,
        media: &NegotiatedMedia,
        config: SessionConfig,
    ) -> Result<(MediaSession, MediaEvents), SessionError> {
        let (leg, commands, session, events) = socket.prepare(media, config)?;
        let shard = self.next_shard.fetch_add(1, Ordering::Relaxed) % self.shards.len();
        self.shards[shard]
            .send((leg, commands))
            .map_err(|_| SessionError::Io(std::io::Error::other("media engine stopped")))?;
        Ok((session, events))
    }
}

struct Entry {
    leg: LegState,
    commands: mpsc::UnboundedReceiver<Command>,
}

async fn run_shard(mut incoming: mpsc::UnboundedReceiver<NewLeg>) {
    let mut buckets: Vec<Vec<Entry>> = (0..BUCKETS).map(|_| Vec::new()).collect();
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let started = Instant::now();
    // Buckets served so far; bucket n is due at `started + n ms`.
    let mut served: u64 = 0;
    let mut open = true;
    let mut out = [0u8; 256];
    loop {
        tokio::select! {
            biased;
            new = incoming.recv(), if open => match new {
                Some((leg, commands)) => {
                    let emptiest = (0..BUCKETS)
                        .min_by_key(|b| buckets[*b].len())
                        .unwrap_or(0);
                    buckets[emptiest].push(Entry { leg, commands });
                }
                None => open = false,
            },
            _ = interval.tick() => {
                // A late wake-up (a busy machine) serves every bucket whose time has come,
                // each at most once, so no leg waits more than its frame.
                let target = started.elapsed().as_millis() as u64 + 1;
                let first = served.max(target.saturating_sub(BUCKETS as u64));
                for n in first..target {
                    serve_bucket(&mut buckets[(n % BUCKETS as u64) as usize], &mut out);
                }
                served = target;
                if !open && buckets.iter().all(Vec::is_empty) {
                    break;
                }
            }
        }
    }
}

/// Serves every leg of one bucket: commands, then one step.
fn serve_bucket(bucket: &mut Vec<Entry>, out: &mut [u8]) {
    let now = Instant::now();
    let mut index = 0;
    while index < bucket.len() {
        let entry = &mut bucket[index];
        let mut closed = false;
        loop {
            match entry.commands.try_recv() {
                Ok(command) => entry.leg.handle_command(command),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        if closed {
            // Dropping the leg closes its sockets and tells `close()`.
            bucket.swap_remove(index);
            continue;
        }
        let late = entry
            .leg
            .next_deadline()
            .map_or(Duration::ZERO, |deadline| {
                now.saturating_duration_since(deadline)
            });
        // The bucket comes round every 20 ms: send a frame due within the next tick now
        // rather than a whole frame late.
        entry.leg.step(now + TICK, late, out);
        index += 1;
    }
}
