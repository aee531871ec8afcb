//! A bounded pool of recognition workers: one OS thread and one recogniser state per worker,
//! a bounded queue in front. Submitting never waits: when every worker is busy and the
//! queue is full the caller gets [`PoolFull`] at once and degrades (keypad input, an agent).
//!
//! Decoding threads come out of a budget of the machine's cores: a decode takes one core,
//! and up to `max_threads` when nothing else waits, so a lone caller is answered sooner
//! while a busy pool keeps one thread per utterance (the most utterances per core).
//! whisper.cpp's threads spin at every barrier, so a decode never runs more threads than
//! it holds cores: one that finds no free core waits for one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::resample::{ToWhisperRate, i16_to_f32};
use super::{AsrError, RecognitionHints, Recognizer, Transcript};

/// What a submitted utterance comes back as.
pub type PoolResult = Result<Transcript, AsrError>;

/// Every worker is busy and the queue is full: recognise nothing, degrade now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("speech recognition is saturated ({workers} workers busy, {queued} utterances queued)")]
pub struct PoolFull {
    pub workers: usize,
    pub queued: usize,
}

struct Job {
    pcm_8k: Vec<i16>,
    hints: RecognitionHints,
    reply: oneshot::Sender<PoolResult>,
}

/// Load figures for metrics and admission decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub workers: usize,
    pub queue_capacity: usize,
    /// Accepted and not yet answered (queued plus being decoded).
    pub pending: usize,
    pub rejected: usize,
}

/// Cores the workers' decoding threads may use at once.
struct CoreBudget {
    free: Mutex<usize>,
    freed: Condvar,
}

impl CoreBudget {
    fn new(cores: usize) -> Self {
        Self {
            free: Mutex::new(cores.max(1)),
            freed: Condvar::new(),
        }
    }

    /// Waits for a free core, then takes up to `wanted` of those free.
    fn take(&self, wanted: usize) -> usize {
        let Ok(mut free) = self.free.lock() else {
            return 1;
        };
        while *free == 0 {
            free = match self.freed.wait(free) {
                Ok(guard) => guard,
                Err(_) => return 1,
            };
        }
        let taken = wanted.clamp(1, *free);
        *free -= taken;
        taken
    }

    fn give(&self, cores: usize) {
        if let Ok(mut free) = self.free.lock() {
            *free += cores;
            self.freed.notify_all();
        }
    }
}

pub struct Pool {
    sender: Option<SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
    queue_capacity: usize,
    pending: Arc<AtomicUsize>,
    rejected: AtomicUsize,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("stats", &self.stats())
            .finish()
    }
}

/// The default pool size: one worker per core (each whisper.cpp decode uses one thread).
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

impl Pool {
    /// Starts `workers` threads, each with a recogniser made by `factory` (called here, on
    /// the caller's thread, so a model that fails to load fails start-up). `queue_len`
    /// utterances may wait beyond those being decoded. Each decode uses one thread.
    pub fn new<R, F>(factory: F, workers: usize, queue_len: usize) -> Result<Self, AsrError>
    where
        R: Recognizer + 'static,
        F: Fn() -> Result<R, AsrError>,
    {
        Self::with_threads(factory, workers, queue_len, 1)
    }

    /// [`Pool::new`] where a decode may use up to `max_threads` threads when no other
    /// utterance is waiting or being decoded and that many cores are free.
    pub fn with_threads<R, F>(
        factory: F,
        workers: usize,
        queue_len: usize,
        max_threads: usize,
    ) -> Result<Self, AsrError>
    where
        R: Recognizer + 'static,
        F: Fn() -> Result<R, AsrError>,
    {
        let workers = workers.max(1);
        let budget = Arc::new(CoreBudget::new(default_workers().max(workers)));
        let max_threads = max_threads.max(1);
        let (sender, receiver) = mpsc::sync_channel::<Job>(queue_len);
        let receiver = Arc::new(Mutex::new(receiver));
        let pending = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::with_capacity(workers);
        for index in 0..workers {
            let recognizer = factory()?;
            let receiver = Arc::clone(&receiver);
            let pending = Arc::clone(&pending);
            let budget = Arc::clone(&budget);
            let handle = std::thread::Builder::new()
                .name(format!("asr-worker-{index}"))
                .spawn(move || worker_loop(recognizer, &receiver, &pending, &budget, max_threads))
                .map_err(|e| AsrError::Engine(format!("starting a recognition worker: {e}")))?;
            handles.push(handle);
        }
        Ok(Self {
            sender: Some(sender),
            workers: handles,
            queue_capacity: queue_len,
            pending,
            rejected: AtomicUsize::new(0),
        })
    }

    /// Queues an utterance of 8 kHz PCM. Returns at once: a receiver for the transcript, or
    /// [`PoolFull`] when the pool cannot take more work.
    pub fn submit(
        &self,
        utterance_8k: Vec<i16>,
        hints: RecognitionHints,
    ) -> Result<oneshot::Receiver<PoolResult>, PoolFull> {
        let full = || PoolFull {
            workers: self.workers.len(),
            queued: self.queue_capacity,
        };
        let Some(sender) = self.sender.as_ref() else {
            return Err(full());
        };
        let (reply, receiver) = oneshot::channel();
        let job = Job {
            pcm_8k: utterance_8k,
            hints,
            reply,
        };
        self.pending.fetch_add(1, Ordering::SeqCst);
        match sender.try_send(job) {
            Ok(()) => Ok(receiver),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.pending.fetch_sub(1, Ordering::SeqCst);
                self.rejected.fetch_add(1, Ordering::Relaxed);
                Err(full())
            }
        }
    }

    pub fn stats(&self) -> PoolStats {
        PoolStats {
            workers: self.workers.len(),
            queue_capacity: self.queue_capacity,
            pending: self.pending.load(Ordering::SeqCst),
            rejected: self.rejected.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing the queue ends each worker after its current utterance.
        self.sender.take();
        for handle in self.workers.drain(..) {
            let _ = handle.join();
        }
    }
}

fn worker_loop<R: Recognizer>(
    mut recognizer: R,
    receiver: &Mutex<Receiver<Job>>,
    pending: &AtomicUsize,
    budget: &CoreBudget,
    max_threads: usize,
) {
    let mut resampler = ToWhisperRate::new(8000);
    loop {
        let job = {
            let Ok(guard) = receiver.lock() else { return };
            match guard.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        if job.reply.is_closed() {
            // The call hung up (or the turn moved on) while this waited: no work for nobody.
            pending.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        // Alone (nothing queued, no other decode): as many threads as cores are free.
        let wanted = if pending.load(Ordering::SeqCst) <= 1 {
            max_threads
        } else {
            1
        };
        let cores = budget.take(wanted);
        recognizer.set_threads(cores);
        let result = match resampler.as_mut() {
            Ok(rs) => rs
                .process(&i16_to_f32(&job.pcm_8k))
                .and_then(|pcm| recognizer.transcribe(&pcm, &job.hints)),
            Err(e) => Err(AsrError::Resample(e.to_string())),
        };
        budget.give(cores);
        pending.fetch_sub(1, Ordering::SeqCst);
        // The call may have hung up meanwhile: nobody to tell.
        let _ = job.reply.send(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::Receiver as StdReceiver;

    /// A recogniser that waits for a go signal, then reports what it was given.
    struct Gated {
        go: Arc<Mutex<StdReceiver<()>>>,
    }

    impl Recognizer for Gated {
        fn transcribe(
            &mut self,
            pcm: &[f32],
            hints: &RecognitionHints,
        ) -> Result<Transcript, AsrError> {
            let _ = self.go.lock().unwrap().recv();
            Ok(Transcript {
                text: format!("{} samples, {}", pcm.len(), hints.phrases.join("+")),
                confidence: 1.0,
                audio_ms: (pcm.len() / 16) as u32,
                decode_ms: 0,
            })
        }
    }

    #[tokio::test]
    async fn full_pool_rejects_at_once_and_recovers() {
        let (go_tx, go_rx) = mpsc::channel();
        let go = Arc::new(Mutex::new(go_rx));
        let pool = Pool::new(
            || {
                Ok(Gated {
                    go: Arc::clone(&go),
                })
            },
            1,
            1,
        )
        .unwrap();
        // Rebound after the pool so that, should an assertion fail, the go signal is dropped
        // first and the blocked worker ends instead of hanging the pool's drop.
        let go_tx = go_tx;
        let hints = RecognitionHints::new(["balance"]);
        let first = pool.submit(vec![0; 8000], hints.clone()).unwrap();
        // Wait (bounded) until the worker has taken the first job off the queue.
        let mut second = None;
        let mut refused_while_waiting = 0;
        for _ in 0..200 {
            match pool.submit(vec![0; 800], hints.clone()) {
                Ok(rx) => {
                    second = Some(rx);
                    break;
                }
                Err(_) => {
                    refused_while_waiting += 1;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            }
        }
        let second = second.expect("queue slot frees once the worker starts");
        let rejected = pool.submit(vec![0; 800], hints.clone()).unwrap_err();
        assert_eq!(
            rejected,
            PoolFull {
                workers: 1,
                queued: 1
            }
        );
        assert_eq!(pool.stats().pending, 2);
        assert_eq!(pool.stats().rejected, refused_while_waiting + 1);

        go_tx.send(()).unwrap();
        go_tx.send(()).unwrap();
        let t1 = first.await.unwrap().unwrap();
        let t2 = second.await.unwrap().unwrap();
        // 8 kHz in, 16 kHz to the recogniser.
        assert!(t1.text.starts_with("16000 samples, balance"), "{}", t1.text);
        assert!(t2.text.starts_with("1600 samples"), "{}", t2.text);
        assert_eq!(pool.stats().pending, 0);
    }

    /// Counts the utterances it was given.
    struct Counting(Arc<AtomicUsize>, Arc<Mutex<StdReceiver<()>>>);

    impl Recognizer for Counting {
        fn transcribe(
            &mut self,
            _pcm: &[f32],
            _hints: &RecognitionHints,
        ) -> Result<Transcript, AsrError> {
            let _ = self.1.lock().unwrap().recv();
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(Transcript {
                text: String::new(),
                confidence: 0.0,
                audio_ms: 0,
                decode_ms: 0,
            })
        }
    }

    #[tokio::test]
    async fn an_utterance_whose_call_has_gone_is_never_decoded() {
        let (go_tx, go_rx) = mpsc::channel();
        let go = Arc::new(Mutex::new(go_rx));
        let decoded = Arc::new(AtomicUsize::new(0));
        let pool = Pool::new(|| Ok(Counting(Arc::clone(&decoded), Arc::clone(&go))), 1, 4).unwrap();
        let go_tx = go_tx;
        let busy = pool
            .submit(vec![0; 800], RecognitionHints::default())
            .unwrap();
        let abandoned = pool
            .submit(vec![0; 800], RecognitionHints::default())
            .unwrap();
        let kept = pool
            .submit(vec![0; 800], RecognitionHints::default())
            .unwrap();
        // The caller of the second utterance hangs up while it waits in the queue.
        drop(abandoned);
        for _ in 0..3 {
            go_tx.send(()).ok();
        }
        busy.await.unwrap().unwrap();
        kept.await.unwrap().unwrap();
        assert_eq!(
            decoded.load(Ordering::SeqCst),
            2,
            "the abandoned one was skipped"
        );
        assert_eq!(pool.stats().pending, 0);
    }

    #[test]
    fn the_core_budget_gives_extra_threads_only_from_free_cores() {
        let budget = CoreBudget::new(2);
        assert_eq!(budget.take(2), 2, "alone: both cores");
        budget.give(2);
        assert_eq!(budget.take(1), 1);
        assert_eq!(budget.take(4), 1, "only one core left");
        let budget = Arc::new(budget);
        let waiter = {
            let budget = Arc::clone(&budget);
            std::thread::spawn(move || budget.take(2))
        };
        // The waiter cannot get a core until one is given back.
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!waiter.is_finished());
        budget.give(1);
        assert_eq!(waiter.join().unwrap(), 1);
    }

    #[test]
    fn factory_failure_fails_start_up() {
        let result = Pool::new(
            || Err::<Gated, _>(AsrError::Engine("no model".into())),
            2,
            4,
        );
        assert!(result.is_err());
    }
}
