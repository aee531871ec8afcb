//! Listening for speech in a gather: the end-pointer (`media::vad`) over the caller's
//! frames, barge-in, and the hand-off of each utterance to the recognition pool.
//!
//! Early recognition: once the caller has been quiet for `early_recognition_ms`, the
//! utterance so far goes to the recogniser at once. If the dialplan accepts that transcript
//! the turn ends there, without waiting for the gather's full end-of-speech silence; if not,
//! it is kept and stands for the finished utterance (the same audio) when the silence runs
//! out; speech that resumes throws it away.

use crate::asr::{Pool, PoolFull, PoolResult, RecognitionHints, Transcript};
use crate::dialplan::Listen;
use crate::media::events::AudioFrame;
use crate::media::vad::{BargeIn, Endpointer, Utterance, VadEvent, VadParams, is_backchannel};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// The length of one frame of media time.
const FRAME: Duration = Duration::from_millis(20);

/// Recognition ids are unique in the process, so a late result can never be taken for one
/// of a later gather's.
static NEXT_RECOGNITION: AtomicU64 = AtomicU64::new(1);

/// What the listener noticed in a frame.
#[derive(Debug)]
pub enum Heard {
    /// The caller started talking (the gather's no-input timer pauses).
    SpeechStarted,
    /// Enough speech to interrupt the prompt.
    BargeIn,
    /// Audio went to the recogniser; hand its result back to [`SpeechListener::recognised`]
    /// with this id.
    Recognising {
        id: u64,
        pending: oneshot::Receiver<PoolResult>,
    },
    /// The caller's turn is over: here is what they said.
    Turn(Turn),
    /// The recogniser is saturated: the utterance was dropped.
    Saturated,
}

/// One finished caller turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// Empty when nothing usable was said (noise, a backchannel, a failed decode).
    pub text: String,
    pub confidence: f32,
    /// Taken from early recognition, before the full end-of-speech silence.
    pub early: bool,
    /// From the end of the caller's speech to this turn being known.
    pub after_speech: Duration,
    /// Time the recogniser spent decoding.
    pub decode_ms: u32,
    /// The gather collects a sensitive entity: the text must not be logged.
    pub sensitive: bool,
}

/// A recognition in flight or done.
#[derive(Debug)]
struct Recognition {
    id: u64,
    /// When the caller's speech ended (wall clock).
    speech_ended: Instant,
    result: Option<Transcript>,
}

/// One gather's speech listening.
pub struct SpeechListener {
    endpointer: Endpointer,
    hints: RecognitionHints,
    sensitive: bool,
    /// Media time: frames seen since listening started.
    clock: Duration,
    /// Early recognition of the current pause, until speech resumes.
    early: Option<Recognition>,
    /// The recognition whose result ends the turn.
    last: Option<Recognition>,
    done: bool,
}

impl SpeechListener {
    /// Starts listening for `listen`; `prompt_playing` holds the no-input timer.
    /// `early_recognition` of `None` waits for the full end-of-speech silence.
    pub fn new(listen: &Listen, prompt_playing: bool, early_recognition: Option<Duration>) -> Self {
        let params = VadParams {
            barge_in: BargeIn {
                enabled: listen.barge_in,
                ..BargeIn::default()
            },
            end_silence: Duration::from_millis(u64::from(listen.end_silence_ms)),
            early_silence: early_recognition,
            // The gather's own timer decides about silence; the end-pointer only finds speech.
            no_input: Duration::from_secs(3600),
            ..VadParams::default()
        };
        let mut endpointer = Endpointer::new(params, Duration::ZERO);
        if prompt_playing {
            endpointer.prompt_started();
        }
        Self {
            endpointer,
            hints: hints(listen),
            sensitive: listen.entity.as_ref().is_some_and(|e| e.sensitive),
            clock: Duration::ZERO,
            early: None,
            last: None,
            done: false,
        }
    }

    pub fn prompt_finished(&mut self) {
        self.endpointer.prompt_finished(self.clock);
    }

    /// Feeds one frame that arrived at `now`; returns what it led to.
    pub fn push(&mut self, frame: &AudioFrame, pool: Option<&Pool>, now: Instant) -> Vec<Heard> {
        if self.done {
            return Vec::new();
        }
        self.endpointer.push_frame(&frame.samples, self.clock);
        self.clock += FRAME;
        let mut heard = Vec::new();
        while let Some(event) = self.endpointer.poll_event() {
            match event {
                VadEvent::SpeechStarted { .. } => heard.push(Heard::SpeechStarted),
                VadEvent::BargeIn { .. } => heard.push(Heard::BargeIn),
                VadEvent::Paused { utterance } => {
                    // Early decodes are a bet: placed only with a worker idle, so that a busy
                    // pool spends its cores on utterances that are surely finished.
                    let idle = pool.filter(|p| {
                        let stats = p.stats();
                        stats.pending < stats.workers
                    });
                    if let Some(Ok((early, recognising))) =
                        idle.map(|p| self.submit(utterance, p, now))
                    {
                        self.early = Some(early);
                        heard.push(recognising);
                    }
                }
                VadEvent::Resumed { .. } => self.early = None,
                VadEvent::SpeechEnded { utterance } => match self.early.take() {
                    Some(early) if early.result.is_some() => {
                        heard.push(Heard::Turn(self.finish(early, false, now, |_| false)));
                    }
                    Some(early) => self.last = Some(early),
                    None => heard.push(self.submit_last(utterance, pool, now)),
                },
                VadEvent::MaxLength { utterance } => {
                    self.early = None;
                    heard.push(self.submit_last(utterance, pool, now));
                }
                VadEvent::NoInput { .. } => {}
            }
        }
        heard
    }

    /// A recognition's result came back at `now`. Returns the turn when it ends one:
    /// the last utterance's result always does, an early one when `accepts` its text.
    pub fn recognised(
        &mut self,
        id: u64,
        result: Result<Transcript, String>,
        now: Instant,
        accepts: impl Fn(&str) -> bool,
    ) -> Option<Turn> {
        if self.done {
            return None;
        }
        if let Some(mut last) = self.last.take_if(|r| r.id == id) {
            last.result = Some(result.unwrap_or_else(|_| empty_transcript()));
            return Some(self.finish(last, false, now, accepts));
        }
        let early = self.early.as_mut().filter(|r| r.id == id)?;
        let Ok(transcript) = result else {
            // The finished utterance will be recognised afresh.
            self.early = None;
            return None;
        };
        if accepts(&transcript.text) {
            let mut early = self.early.take()?;
            early.result = Some(transcript);
            return Some(self.finish(early, true, now, accepts));
        }
        early.result = Some(transcript);
        None
    }

    /// Sends `utterance` to the pool: the recognition to wait for, and what to tell the shell.
    fn submit(
        &self,
        utterance: Utterance,
        pool: &Pool,
        now: Instant,
    ) -> Result<(Recognition, Heard), PoolFull> {
        let speech_ended = self.speech_ended(&utterance, now);
        let pending = pool.submit(utterance.pcm, self.hints.clone())?;
        let id = NEXT_RECOGNITION.fetch_add(1, Ordering::Relaxed);
        let recognition = Recognition {
            id,
            speech_ended,
            result: None,
        };
        Ok((recognition, Heard::Recognising { id, pending }))
    }

    fn submit_last(&mut self, utterance: Utterance, pool: Option<&Pool>, now: Instant) -> Heard {
        match pool.map(|p| self.submit(utterance, p, now)) {
            Some(Ok((last, recognising))) => {
                self.last = Some(last);
                recognising
            }
            Some(Err(full)) => {
                tracing::warn!(%full, "speech recognition saturated: utterance dropped");
                self.listen_again();
                Heard::Saturated
            }
            None => {
                self.listen_again();
                Heard::Saturated
            }
        }
    }

    /// The gather goes on after a turn that gave no answer: find the next utterance.
    fn listen_again(&mut self) {
        let params = self.endpointer.params().clone();
        self.endpointer.restart(params, self.clock);
        self.early = None;
        self.last = None;
    }

    /// Ends the turn with `recognition`'s result. A backchannel ("uh-huh") the gather does
    /// not take as an answer is no answer at all.
    fn finish(
        &mut self,
        recognition: Recognition,
        early: bool,
        now: Instant,
        accepts: impl Fn(&str) -> bool,
    ) -> Turn {
        let transcript = recognition.result.unwrap_or_else(empty_transcript);
        let usable = !is_backchannel(&transcript.text) || accepts(&transcript.text);
        if usable && !transcript.text.trim().is_empty() {
            self.done = true;
        } else {
            // Noise, a cough or a backchannel: the gather keeps listening.
            self.listen_again();
        }
        Turn {
            text: if usable {
                transcript.text
            } else {
                String::new()
            },
            confidence: if usable { transcript.confidence } else { 0.0 },
            early,
            after_speech: now.saturating_duration_since(recognition.speech_ended),
            decode_ms: transcript.decode_ms,
            sensitive: self.sensitive,
        }
    }

    /// The wall-clock time at which `utterance`'s speech ended, from its media time.
    fn speech_ended(&self, utterance: &Utterance, now: Instant) -> Instant {
        let ago = self.clock.saturating_sub(utterance.speech_end);
        now.checked_sub(ago).unwrap_or(now)
    }
}

fn empty_transcript() -> Transcript {
    Transcript {
        text: String::new(),
        confidence: 0.0,
        audio_ms: 0,
        decode_ms: 0,
    }
}

/// Words the step expects, as a recognition prompt: its intents and entity.
fn hints(listen: &Listen) -> RecognitionHints {
    let mut phrases: Vec<String> = listen.intents.iter().map(|i| i.replace('_', " ")).collect();
    if let Some(entity) = &listen.entity {
        phrases.push(entity.name.replace('_', " "));
        if matches!(entity.kind, crate::nlu::EntityKind::YesNo) {
            phrases.extend(["yes".to_string(), "no".to_string()]);
        }
    }
    RecognitionHints::new(phrases)
}

#[cfg(test)]
mod tests {
    //! The listener's bookkeeping of early and final recognitions, on fixture audio through
    //! the real end-pointer. The recogniser behind the pool is a stand-in that answers with
    //! the length of what it was given, so each result says which audio it came from.

    use super::*;
    use crate::asr::{AsrError, Recognizer};
    use crate::dialplan::format::InputMode;
    use crate::media::events::FRAME_SAMPLES;
    use std::sync::Arc;

    struct Lengths;

    impl Recognizer for Lengths {
        fn transcribe(
            &mut self,
            pcm: &[f32],
            _hints: &RecognitionHints,
        ) -> Result<Transcript, AsrError> {
            Ok(Transcript {
                text: format!("balance {}", pcm.len() / 16),
                confidence: 0.9,
                audio_ms: (pcm.len() / 16) as u32,
                decode_ms: 1,
            })
        }
    }

    fn listen() -> Listen {
        Listen {
            step: "main.question".into(),
            input: InputMode::Both,
            intents: vec!["check_balance".into()],
            entity: None,
            timeout_secs: 5,
            end_silence_ms: 800,
            barge_in: true,
            min_digits: None,
            max_digits: None,
            terminator: '#',
            attempt: 0,
        }
    }

    fn fixture(name: &str) -> Vec<i16> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("sip-testbench/utterances")
            .join(name);
        hound::WavReader::open(&path)
            .and_then(|reader| reader.into_samples::<i16>().collect())
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// `pcm` as 20 ms frames, the last one padded with silence.
    fn frames(pcm: &[i16]) -> impl Iterator<Item = AudioFrame> + '_ {
        pcm.chunks(FRAME_SAMPLES).map(|chunk| {
            let mut samples = [0i16; FRAME_SAMPLES];
            samples[..chunk.len()].copy_from_slice(chunk);
            AudioFrame { samples }
        })
    }

    /// Feeds `pcm` then a second of silence; every recognition is answered as soon as it is
    /// asked for unless `hold` keeps it, and `accepts` judges early transcripts.
    async fn run(pcm: &[i16], hold_first: bool, accepts: fn(&str) -> bool) -> (usize, Vec<Turn>) {
        let pool = Pool::new(|| Ok(Lengths), 1, 4).expect("pool");
        let mut listener = SpeechListener::new(&listen(), false, Some(Duration::from_millis(250)));
        let mut audio = pcm.to_vec();
        audio.extend(std::iter::repeat_n(0, 8000));
        let (mut asked, mut turns, mut held) = (0, Vec::new(), None);
        for frame in frames(&audio) {
            for heard in listener.push(&frame, Some(&pool), Instant::now()) {
                match heard {
                    Heard::Recognising { id, pending } => {
                        asked += 1;
                        let result = pending.await.expect("answer").map_err(|e| e.to_string());
                        if hold_first && asked == 1 {
                            held = Some((id, result));
                            continue;
                        }
                        turns.extend(listener.recognised(id, result, Instant::now(), accepts));
                    }
                    Heard::Turn(turn) => turns.push(turn),
                    _ => {}
                }
            }
            // A held early result comes back once the caller has started talking again.
            if let Some((id, result)) = held.take_if(|_| asked >= 2 || listener.early.is_none()) {
                turns.extend(listener.recognised(id, result, Instant::now(), accepts));
            }
        }
        (asked, turns)
    }

    /// Hears nothing in the first utterance (a cough), then lengths as [`Lengths`].
    struct CoughFirst(usize);

    impl Recognizer for CoughFirst {
        fn transcribe(
            &mut self,
            pcm: &[f32],
            hints: &RecognitionHints,
        ) -> Result<Transcript, AsrError> {
            self.0 += 1;
            let mut t = Lengths.transcribe(pcm, hints)?;
            if self.0 == 1 {
                t.text.clear();
            }
            Ok(t)
        }
    }

    #[tokio::test]
    async fn after_an_utterance_with_no_words_the_gather_still_hears_the_next() {
        let pool = Pool::new(|| Ok(CoughFirst(0)), 1, 4).expect("pool");
        let mut listener = SpeechListener::new(&listen(), false, Some(Duration::from_millis(250)));
        let mut audio = fixture("balance-slt.wav");
        audio.extend(std::iter::repeat_n(0, 8000));
        audio.extend(fixture("lost-card-rms.wav"));
        audio.extend(std::iter::repeat_n(0, 8000));
        let mut turns = Vec::new();
        for frame in frames(&audio) {
            for heard in listener.push(&frame, Some(&pool), Instant::now()) {
                match heard {
                    Heard::Recognising { id, pending } => {
                        let result = pending.await.expect("answer").map_err(|e| e.to_string());
                        let accepts = |t: &str| !t.is_empty();
                        turns.extend(listener.recognised(id, result, Instant::now(), accepts));
                    }
                    Heard::Turn(turn) => turns.push(turn),
                    _ => {}
                }
            }
        }
        let [nothing, answer] = turns.as_slice() else {
            panic!("{turns:?}")
        };
        assert!(nothing.text.is_empty(), "{nothing:?}");
        assert!(
            answer.text.starts_with("balance") && answer.early,
            "{answer:?}"
        );
    }

    /// Waits for a go signal before answering like [`Lengths`].
    struct Gated(Arc<std::sync::Mutex<std::sync::mpsc::Receiver<()>>>);

    impl Recognizer for Gated {
        fn transcribe(
            &mut self,
            pcm: &[f32],
            hints: &RecognitionHints,
        ) -> Result<Transcript, AsrError> {
            if let Ok(go) = self.0.lock() {
                let _ = go.recv();
            }
            Lengths.transcribe(pcm, hints)
        }
    }

    #[tokio::test]
    async fn a_busy_pool_gets_no_early_decodes() {
        let (go, gate) = std::sync::mpsc::channel();
        let gate = Arc::new(std::sync::Mutex::new(gate));
        let pool = Pool::new(|| Ok(Gated(Arc::clone(&gate))), 1, 4).expect("pool");
        // Another call's utterance keeps the only worker busy.
        let other = pool
            .submit(vec![0; 8000], RecognitionHints::default())
            .expect("queued");
        let mut listener = SpeechListener::new(&listen(), false, Some(Duration::from_millis(250)));
        let mut audio = fixture("balance-slt.wav");
        audio.extend(std::iter::repeat_n(0, 8000));
        let mut asked = Vec::new();
        for frame in frames(&audio) {
            for heard in listener.push(&frame, Some(&pool), Instant::now()) {
                if let Heard::Recognising { id, pending } = heard {
                    asked.push((id, pending));
                }
            }
        }
        go.send(()).expect("go");
        go.send(()).expect("go");
        other.await.expect("answer").expect("transcript");
        let Ok([(id, pending)]) = <[_; 1]>::try_from(asked) else {
            panic!("only the finished utterance is recognised")
        };
        let result = pending.await.expect("answer").map_err(|e| e.to_string());
        let turn = listener.recognised(id, result, Instant::now(), |_| true);
        assert!(
            turn.is_some_and(|t| !t.early),
            "the finished utterance answers"
        );
    }

    #[tokio::test]
    async fn an_accepted_early_transcript_ends_the_turn() {
        let (asked, turns) = run(&fixture("balance-slt.wav"), false, |_| true).await;
        assert_eq!(asked, 1);
        let [turn] = turns.as_slice() else {
            panic!("{turns:?}")
        };
        assert!(turn.early && turn.text.starts_with("balance"), "{turn:?}");
    }

    #[tokio::test]
    async fn a_refused_early_transcript_stands_for_the_finished_utterance() {
        let (asked, turns) = run(&fixture("balance-slt.wav"), false, |_| false).await;
        assert_eq!(asked, 1, "the finished utterance is not decoded again");
        let [turn] = turns.as_slice() else {
            panic!("{turns:?}")
        };
        assert!(!turn.early && turn.text.starts_with("balance"), "{turn:?}");
        assert!(turn.after_speech >= Duration::ZERO);
    }

    #[tokio::test]
    async fn speech_after_the_pause_discards_the_early_transcript() {
        let first = fixture("balance-slt.wav");
        let second = fixture("lost-card-rms.wav");
        // 500 ms after the first speech ends (1536 ms), then the second from 400 ms in.
        let mut pcm = first[..(1536 + 500) * 8].to_vec();
        pcm.extend_from_slice(&second[400 * 8..]);
        let (asked, turns) = run(&pcm, true, |_| true).await;
        assert!(asked >= 2, "the finished utterance was recognised afresh");
        let [turn] = turns.as_slice() else {
            panic!("{turns:?}")
        };
        let heard_ms: u32 = turn
            .text
            .trim_start_matches("balance ")
            .parse()
            .expect("a length");
        // The first part alone is about 1.5 s with its pre-roll and tail.
        assert!(heard_ms > 3000, "both parts: {turn:?}");
    }
}
