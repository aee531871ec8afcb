//! Listening for speech in a gather: the end-pointer (`media::vad`) over the caller's
//! frames, barge-in, and which utterances go to the recogniser. Pure: it never touches the
//! pool; it asks for recognitions ([`Heard::Recognise`]) and is told their results.
//!
//! The end-pointer runs on time, not on frames: when the caller's RTP stops (silence
//! suppression, comfort noise only, a muted phone that sends nothing, a NAT that dropped
//! the stream), the missing frames count as silence once they are [`GAP`] overdue, so the
//! caller's speech still ends and the gather still reaches its outcome.
//!
//! Early recognition: once the caller has been quiet for `early_recognition_ms`, the
//! utterance so far is offered for recognition at once. If the dialplan accepts that
//! transcript the turn ends there, without waiting for the gather's full end-of-speech
//! silence; if not, it is kept and stands for the finished utterance (the same audio) when
//! the silence runs out; speech that resumes throws it away. The shell may decline an early
//! recognition (a busy pool): it answers with an error, and the finished utterance is
//! recognised instead.

use crate::asr::{RecognitionHints, Transcript};
use crate::dialplan::Listen;
use crate::media::events::{AudioFrame, FRAME_SAMPLES};
use crate::media::vad::{BargeIn, Endpointer, Utterance, VadEvent, VadParams, is_backchannel};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The length of one frame of media time.
const FRAME: Duration = Duration::from_millis(20);

/// How long frames may be late before the missing ones count as silence: longer than any
/// jitter buffer's delay, short enough that an end of speech is found about on time.
pub const GAP: Duration = Duration::from_millis(200);

/// While frames are missing, silence is counted in steps this long.
const FILL_STEP: Duration = Duration::from_millis(100);

/// Recognition ids are unique in the process, so a late result can never be taken for one
/// of a later gather's.
static NEXT_RECOGNITION: AtomicU64 = AtomicU64::new(1);

/// What the listener noticed.
#[derive(Debug)]
pub enum Heard {
    /// The caller started talking (the gather's no-input timer pauses).
    SpeechStarted,
    /// Enough speech to interrupt the prompt.
    BargeIn,
    /// Recognise this audio and hand the result back to [`SpeechListener::recognised`]
    /// with `id`. `early` ones are a bet that the caller has finished: the shell may
    /// decline them (an error result).
    Recognise {
        id: u64,
        pcm: Vec<i16>,
        hints: RecognitionHints,
        early: bool,
    },
    /// The caller's turn is over: here is what they said.
    Turn(Turn),
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
    /// When the caller's speech ended.
    speech_ended: Instant,
    result: Option<Transcript>,
}

/// One gather's speech listening.
pub struct SpeechListener {
    endpointer: Endpointer,
    hints: RecognitionHints,
    sensitive: bool,
    /// Media time: frames heard (or counted as silence) since listening started.
    clock: Duration,
    /// When media time last advanced.
    advanced_at: Instant,
    /// Frames are missing and silence is being counted.
    stalled: bool,
    /// Early recognition of the current pause, until speech resumes.
    early: Option<Recognition>,
    /// The recognition whose result ends the turn.
    last: Option<Recognition>,
    done: bool,
}

impl SpeechListener {
    /// Starts listening for `listen` at `now`; `prompt_playing` holds the no-input timer.
    /// `early_recognition` of `None` waits for the full end-of-speech silence.
    pub fn new(
        listen: &Listen,
        prompt_playing: bool,
        early_recognition: Option<Duration>,
        now: Instant,
    ) -> Self {
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
            advanced_at: now,
            stalled: false,
            early: None,
            last: None,
            done: false,
        }
    }

    pub fn prompt_finished(&mut self) {
        self.endpointer.prompt_finished(self.clock);
    }

    /// Feeds one frame that arrived at `now`; returns what it led to.
    pub fn push(&mut self, frame: &AudioFrame, now: Instant) -> Vec<Heard> {
        if self.done {
            return Vec::new();
        }
        self.stalled = false;
        self.advanced_at = now;
        self.step(&frame.samples, now)
    }

    /// Counts the frames that are [`GAP`] overdue at `now` as silence.
    pub fn advance(&mut self, now: Instant) -> Vec<Heard> {
        let mut heard = Vec::new();
        if self.done {
            return heard;
        }
        let missing = now.saturating_duration_since(self.advanced_at);
        if missing < GAP {
            return heard;
        }
        self.stalled = true;
        let frames = (missing.as_millis() / FRAME.as_millis()) as u32;
        self.advanced_at += FRAME * frames;
        let silence = [0i16; FRAME_SAMPLES];
        for _ in 0..frames {
            heard.extend(self.step(&silence, now));
            if self.done {
                break;
            }
        }
        heard
    }

    /// When missing frames should next be counted as silence.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.done {
            return None;
        }
        Some(self.advanced_at + if self.stalled { FILL_STEP } else { GAP })
    }

    fn step(&mut self, samples: &[i16], now: Instant) -> Vec<Heard> {
        self.endpointer.push_frame(samples, self.clock);
        self.clock += FRAME;
        let mut heard = Vec::new();
        while let Some(event) = self.endpointer.poll_event() {
            match event {
                VadEvent::SpeechStarted { .. } => heard.push(Heard::SpeechStarted),
                VadEvent::BargeIn { .. } => heard.push(Heard::BargeIn),
                VadEvent::Paused { utterance } => {
                    let (early, recognise) = self.recognition(utterance, true, now);
                    self.early = Some(early);
                    heard.push(recognise);
                }
                VadEvent::Resumed { .. } => self.early = None,
                VadEvent::SpeechEnded { utterance } => match self.early.take() {
                    Some(early) if early.result.is_some() => {
                        heard.push(Heard::Turn(self.finish(early, false, now, |_| false)));
                    }
                    Some(early) => self.last = Some(early),
                    None => {
                        let (last, recognise) = self.recognition(utterance, false, now);
                        self.last = Some(last);
                        heard.push(recognise);
                    }
                },
                VadEvent::MaxLength { utterance } => {
                    self.early = None;
                    let (last, recognise) = self.recognition(utterance, false, now);
                    self.last = Some(last);
                    heard.push(recognise);
                }
                VadEvent::NoInput { .. } => {}
            }
        }
        heard
    }

    /// A recognition's result came back at `now` (an error: declined, saturated or failed).
    /// Returns the turn when it ends one: the last utterance's result always does (a
    /// failure as a turn with no words), an early one when `accepts` its text.
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

    /// The request to recognise `utterance`, and its bookkeeping.
    fn recognition(&self, utterance: Utterance, early: bool, now: Instant) -> (Recognition, Heard) {
        let speech_ended = self.speech_ended(&utterance, now);
        let id = NEXT_RECOGNITION.fetch_add(1, Ordering::Relaxed);
        let recognition = Recognition {
            id,
            speech_ended,
            result: None,
        };
        let request = Heard::Recognise {
            id,
            pcm: utterance.pcm,
            hints: self.hints.clone(),
            early,
        };
        (recognition, request)
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

    /// The time at which `utterance`'s speech ended, from its media time.
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
    //! the real end-pointer. Recognitions are answered by a stand-in that gives the length
    //! of what it was asked to recognise, so each result says which audio it came from.

    use super::*;
    use crate::dialplan::format::InputMode;

    fn lengths(pcm: &[i16]) -> Transcript {
        Transcript {
            text: format!("balance {}", pcm.len() / 8),
            confidence: 0.9,
            audio_ms: (pcm.len() / 8) as u32,
            decode_ms: 1,
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

    /// What a run heard: recognitions asked for (early or not) and turns.
    #[derive(Default)]
    struct Run {
        asked: Vec<bool>,
        turns: Vec<Turn>,
    }

    /// Feeds `pcm` frame by frame in real time from `start`, then a second of silence;
    /// every recognition is answered at once unless `hold_first` keeps the first until
    /// the caller has gone on, and `accepts` judges early transcripts.
    fn run(pcm: &[i16], hold_first: bool, accepts: fn(&str) -> bool) -> Run {
        let start = Instant::now();
        let mut listener =
            SpeechListener::new(&listen(), false, Some(Duration::from_millis(250)), start);
        let mut audio = pcm.to_vec();
        audio.extend(std::iter::repeat_n(0, 8000));
        let (mut out, mut held) = (Run::default(), None);
        for (n, frame) in frames(&audio).enumerate() {
            let now = start + FRAME * (n as u32 + 1);
            for heard in listener.push(&frame, now) {
                match heard {
                    Heard::Recognise { id, pcm, early, .. } => {
                        out.asked.push(early);
                        if hold_first && out.asked.len() == 1 {
                            held = Some((id, lengths(&pcm)));
                            continue;
                        }
                        out.turns
                            .extend(listener.recognised(id, Ok(lengths(&pcm)), now, accepts));
                    }
                    Heard::Turn(turn) => out.turns.push(turn),
                    _ => {}
                }
            }
            // A held early result comes back once the caller has started talking again.
            if let Some((id, result)) =
                held.take_if(|_| out.asked.len() >= 2 || listener.early.is_none())
            {
                out.turns
                    .extend(listener.recognised(id, Ok(result), now, accepts));
            }
        }
        out
    }

    #[test]
    fn after_an_utterance_with_no_words_the_gather_still_hears_the_next() {
        let start = Instant::now();
        let mut listener =
            SpeechListener::new(&listen(), false, Some(Duration::from_millis(250)), start);
        let mut audio = fixture("balance-slt.wav");
        audio.extend(std::iter::repeat_n(0, 8000));
        audio.extend(fixture("lost-card-rms.wav"));
        audio.extend(std::iter::repeat_n(0, 8000));
        let (mut turns, mut asked) = (Vec::new(), 0);
        for (n, frame) in frames(&audio).enumerate() {
            let now = start + FRAME * (n as u32 + 1);
            for heard in listener.push(&frame, now) {
                match heard {
                    Heard::Recognise { id, pcm, .. } => {
                        asked += 1;
                        // The first utterance is a cough: no words.
                        let mut transcript = lengths(&pcm);
                        if asked == 1 {
                            transcript.text.clear();
                        }
                        let accepts = |t: &str| !t.is_empty();
                        turns.extend(listener.recognised(id, Ok(transcript), now, accepts));
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

    #[test]
    fn a_declined_early_recognition_leaves_the_finished_utterance_to_be_recognised() {
        let start = Instant::now();
        let mut listener =
            SpeechListener::new(&listen(), false, Some(Duration::from_millis(250)), start);
        let mut audio = fixture("balance-slt.wav");
        audio.extend(std::iter::repeat_n(0, 8000));
        let mut asked = Vec::new();
        let mut turns = Vec::new();
        for (n, frame) in frames(&audio).enumerate() {
            let now = start + FRAME * (n as u32 + 1);
            for heard in listener.push(&frame, now) {
                if let Heard::Recognise { id, pcm, early, .. } = heard {
                    asked.push(early);
                    // A busy pool declines the bet; the finished utterance is decoded.
                    let result = if early {
                        Err("busy".to_string())
                    } else {
                        Ok(lengths(&pcm))
                    };
                    turns.extend(listener.recognised(id, result, now, |_| true));
                }
            }
        }
        assert_eq!(
            asked,
            [true, false],
            "early first, then the finished utterance"
        );
        let [turn] = turns.as_slice() else {
            panic!("{turns:?}")
        };
        assert!(!turn.early && turn.text.starts_with("balance"), "{turn:?}");
    }

    #[test]
    fn an_accepted_early_transcript_ends_the_turn() {
        let out = run(&fixture("balance-slt.wav"), false, |_| true);
        assert_eq!(out.asked, [true]);
        let [turn] = out.turns.as_slice() else {
            panic!("{:?}", out.turns)
        };
        assert!(turn.early && turn.text.starts_with("balance"), "{turn:?}");
    }

    #[test]
    fn a_refused_early_transcript_stands_for_the_finished_utterance() {
        let out = run(&fixture("balance-slt.wav"), false, |_| false);
        assert_eq!(
            out.asked,
            [true],
            "the finished utterance is not decoded again"
        );
        let [turn] = out.turns.as_slice() else {
            panic!("{:?}", out.turns)
        };
        assert!(!turn.early && turn.text.starts_with("balance"), "{turn:?}");
    }

    #[test]
    fn speech_after_the_pause_discards_the_early_transcript() {
        let first = fixture("balance-slt.wav");
        let second = fixture("lost-card-rms.wav");
        // 500 ms after the first speech ends (1536 ms), then the second from 400 ms in.
        let mut pcm = first[..(1536 + 500) * 8].to_vec();
        pcm.extend_from_slice(&second[400 * 8..]);
        let out = run(&pcm, true, |_| true);
        assert!(
            out.asked.len() >= 2,
            "the finished utterance was recognised afresh"
        );
        let [turn] = out.turns.as_slice() else {
            panic!("{:?}", out.turns)
        };
        let heard_ms: u32 = turn
            .text
            .trim_start_matches("balance ")
            .parse()
            .expect("a length");
        // The first part alone is about 1.5 s with its pre-roll and tail.
        assert!(heard_ms > 3000, "both parts: {turn:?}");
    }

    /// Feeds `pcm` in real time, then nothing at all, and advances the clock in 20 ms
    /// steps for `after`; returns the recognitions asked for and when.
    fn speech_then_nothing(pcm: &[i16], after: Duration) -> Vec<(bool, Duration)> {
        let start = Instant::now();
        let mut listener = SpeechListener::new(&listen(), false, None, start);
        let mut asked = Vec::new();
        let mut n = 0u32;
        for frame in frames(pcm) {
            n += 1;
            for heard in listener.push(&frame, start + FRAME * n) {
                if let Heard::Recognise { early, .. } = heard {
                    asked.push((early, FRAME * n));
                }
            }
        }
        let end = FRAME * n + after;
        let mut t = FRAME * n;
        while t < end {
            t += FRAME;
            let now = start + t;
            if listener.next_deadline().is_some_and(|d| d <= now) {
                for heard in listener.advance(now) {
                    if let Heard::Recognise { early, .. } = heard {
                        asked.push((early, t));
                    }
                }
            }
        }
        asked
    }

    #[test]
    fn when_the_callers_rtp_stops_mid_utterance_the_missing_frames_end_the_speech() {
        let speech = fixture("balance-slt.wav");
        // The stream stops a few frames after the words end (a phone's silence suppression).
        let cut = (1536 + 60) * 8;
        let asked = speech_then_nothing(&speech[..cut], Duration::from_secs(3));
        let [(false, at)] = asked.as_slice() else {
            panic!("one finished utterance: {asked:?}")
        };
        // 800 ms of end silence after the words (some of it heard), plus at most the gap.
        let stopped = Duration::from_millis(1536 + 60);
        assert!(
            *at >= stopped + Duration::from_millis(600)
                && *at <= stopped + Duration::from_millis(1100),
            "ended at {at:?}, the stream stopped at {stopped:?}"
        );
    }

    #[test]
    fn no_frames_at_all_never_makes_an_utterance() {
        let asked = speech_then_nothing(&[], Duration::from_secs(5));
        assert!(asked.is_empty(), "{asked:?}");
    }

    #[test]
    fn frames_that_keep_coming_are_never_padded_with_silence() {
        let start = Instant::now();
        let mut listener = SpeechListener::new(&listen(), false, None, start);
        let speech = fixture("balance-slt.wav");
        for (n, frame) in frames(&speech).enumerate() {
            // Bursty arrival: three frames at once every 60 ms, as after a jitter buffer.
            let now = start + FRAME * (3 * (n as u32 / 3 + 1));
            listener.push(&frame, now);
            assert!(listener.advance(now).is_empty());
            assert!(
                listener
                    .next_deadline()
                    .is_some_and(|d| d >= now + Duration::from_millis(140))
            );
        }
        assert_eq!(listener.clock, FRAME * frames(&speech).count() as u32);
    }
}
