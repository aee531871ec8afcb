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
use super::session::{
    Command, LegState, MediaSession, MediaSocket, SessionConfig, SessionError, StepBuffers,
};

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
    let mut buffers = StepBuffers::default();
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
                    let slot = started + TICK * u32::try_from(n).unwrap_or(u32::MAX);
                    serve_bucket(&mut buckets[(n % BUCKETS as u64) as usize], slot, &mut buffers);
                }
                served = target;
                if !open && buckets.iter().all(Vec::is_empty) {
                    break;
                }
            }
        }
    }
}

/// Serves every leg of one bucket, scheduled for `slot`: commands, then one step. The
/// slot (not the wake-up time) paces sending, so each leg sends exactly one frame per
/// round of the buckets however early or late within its millisecond the shard woke.
fn serve_bucket(bucket: &mut Vec<Entry>, slot: Instant, buffers: &mut StepBuffers) {
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
        entry.leg.step(now, slot, buffers);
        index += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::port_allocator::PortAllocator;
    use crate::media::sdp::{MediaCapabilities, SdpSession};
    use std::net::UdpSocket;

    /// A leg whose peer is a plain socket, not latching (it sends to the SDP address).
    fn leg_towards(peer: &UdpSocket) -> (LegState, MediaSession) {
        // The process id keeps parallel test binaries' ranges apart.
        let first = 42_000 + (std::process::id() % 50) as u16 * 20;
        let ports = PortAllocator::new("127.0.0.1".parse().unwrap(), first, first + 19).unwrap();
        let socket = MediaSocket::bind(&ports).unwrap();
        let offer =
            SdpSession::new(peer.local_addr().unwrap(), MediaCapabilities::default(), 1).offer();
        let mut ours = SdpSession::new(socket.local_addr(), MediaCapabilities::default(), 2);
        let (_, media) = ours.answer(&offer).unwrap();
        let config = SessionConfig {
            latching: false,
            ..SessionConfig::default()
        };
        let (leg, _commands, session, _events) = socket.prepare(&media, config).unwrap();
        (leg, session)
    }

    fn packets_waiting(peer: &UdpSocket) -> usize {
        let mut buffer = [0u8; 512];
        let mut count = 0;
        while peer.recv_from(&mut buffer).is_ok() {
            count += 1;
        }
        count
    }

    #[tokio::test]
    async fn a_leg_sends_one_frame_per_round_however_late_its_bucket_is_served() {
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        peer.set_nonblocking(true).unwrap();
        let (mut leg, _session) = leg_towards(&peer);
        let mut buffers = StepBuffers::default();
        let t0 = Instant::now();
        let frame = Duration::from_millis(20);
        // The first round is served 0.9 ms after its slot, later ones 0.1 or 0.9 ms after:
        // pacing by the wake-up time would send none in a round and two in the next.
        for round in 0..40u32 {
            let slot = t0 + frame * round;
            let late = if round % 2 == 0 { 900 } else { 100 };
            leg.step(slot + Duration::from_micros(late), slot, &mut buffers);
            assert_eq!(packets_waiting(&peer), 1, "round {round}");
        }
    }
}
