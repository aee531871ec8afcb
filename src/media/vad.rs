//! Voice activity and end-pointing on a call's 8 kHz stream: a pure, frame-fed state machine.
//!
//! Feed 20 ms frames of 8 kHz 16-bit PCM with each frame's media time; poll events:
//! speech started, barge-in (speech long enough to interrupt a prompt), speech ended with
//! the utterance, maximum length reached, or no input. Each frame is scored by `earshot`
//! (a small neural VAD that ignores tones and steady noise) after a 2× FFT upsampling to
//! the 16 kHz it was trained on. No clocks, threads or sockets: time comes in with the frame.

use std::collections::VecDeque;
use std::time::Duration;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Telephone audio rate.
pub const RATE: u32 = 8000;
/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;
const FRAME: Duration = Duration::from_millis(20);
/// earshot's frame: 256 samples at 16 kHz (16 ms).
const DETECTOR_FRAME: usize = 256;

/// How a gather step listens. Every duration is rounded to whole 20 ms frames.
#[derive(Debug, Clone, PartialEq)]
pub struct VadParams {
    /// earshot score (0..1) at or above which a frame starts speech.
    pub threshold: f32,
    /// Once speaking, frames stay speech down to this lower score (hysteresis).
    pub continue_threshold: f32,
    /// Frames quieter than this (dBFS) are never speech: line hiss, comfort noise.
    pub floor_dbfs: f32,
    /// Speech must stand this far (dB) above the line's tracked noise floor: steady noise
    /// and hum that earshot scores as speech do not.
    pub min_snr_db: f32,
    /// Speech must add up to this before it counts: clicks, coughs and DTMF digits
    /// (50–150 ms) do not.
    pub min_speech: Duration,
    /// A pause this long inside a would-be start abandons it.
    pub max_start_gap: Duration,
    /// Silence after speech that ends the utterance (the gather's end-of-speech timeout).
    pub end_silence: Duration,
    /// Silence after speech at which the utterance so far is offered early
    /// ([`VadEvent::Paused`]) so recognition can start before `end_silence`; `None`: never.
    pub early_silence: Option<Duration>,
    /// An utterance is cut here and delivered as [`VadEvent::MaxLength`].
    pub max_utterance: Duration,
    /// No speech this long after listening starts gives [`VadEvent::NoInput`].
    pub no_input: Duration,
    /// Audio kept before the detected start, so the first syllable is not clipped.
    pub pre_roll: Duration,
    /// Silence kept after the last speech frame.
    pub tail: Duration,
    pub barge_in: BargeIn,
}

/// Whether, and when, caller speech interrupts the prompt being played.
#[derive(Debug, Clone, PartialEq)]
pub struct BargeIn {
    /// Off for steps whose prompt must be heard whole (legal notices).
    pub enabled: bool,
    /// Speech needed before interrupting: longer than a backchannel ("mm", "uh-huh"),
    /// short enough to feel responsive.
    pub min_speech: Duration,
}

impl Default for BargeIn {
    fn default() -> Self {
        Self {
            enabled: true,
            min_speech: Duration::from_millis(400),
        }
    }
}

impl Default for VadParams {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            continue_threshold: 0.3,
            floor_dbfs: -55.0,
            min_snr_db: 5.0,
            min_speech: Duration::from_millis(200),
            max_start_gap: Duration::from_millis(150),
            end_silence: Duration::from_millis(800),
            early_silence: None,
            max_utterance: Duration::from_secs(15),
            no_input: Duration::from_secs(5),
            pre_roll: Duration::from_millis(300),
            tail: Duration::from_millis(200),
            barge_in: BargeIn::default(),
        }
    }
}

/// One caller utterance, 8 kHz PCM with its media times.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    pub pcm: Vec<i16>,
    /// Start of the first speech frame.
    pub speech_start: Duration,
    /// End of the last speech frame.
    pub speech_end: Duration,
    /// Media time of `pcm[0]` (speech start minus the pre-roll that was available).
    pub audio_start: Duration,
}

impl Utterance {
    pub fn speech_duration(&self) -> Duration {
        self.speech_end.saturating_sub(self.speech_start)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum VadEvent {
    /// Speech confirmed; `at` is its onset (earlier than the frame that confirmed it).
    SpeechStarted { at: Duration },
    /// Speech has lasted long enough to stop the prompt (only when barge-in is enabled);
    /// `at` is the end of the frame that decided it.
    BargeIn { at: Duration },
    /// The caller has been quiet for `early_silence`: the utterance so far (cut like a
    /// finished one). It may still go on: a [`VadEvent::Resumed`] says it did.
    Paused { utterance: Utterance },
    /// Speech came back after a [`VadEvent::Paused`]: the early utterance was not the end.
    Resumed { at: Duration },
    /// The caller stopped talking.
    SpeechEnded { utterance: Utterance },
    /// The caller talked past the maximum: here is what they said so far.
    MaxLength { utterance: Utterance },
    /// Nothing was said in time.
    NoInput { at: Duration },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Speaking,
    Finished,
}

/// A would-be speech start that has not yet lasted `min_speech`.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    onset: Duration,
    speech: Duration,
    gap: Duration,
}

/// Steady tones (dial and ringback tones, DTMF, hold-music chords) score as speech in
/// earshot after a few hundred milliseconds. This guard tells them apart on each 20 ms frame:
/// a tone's spectrum stays put from one 100 ms to the next while speech moves on within a
/// syllable, and a DTMF digit puts nearly all its energy on one low-group and one high-group
/// frequency.
struct ToneGuard {
    fft: std::sync::Arc<dyn realfft::RealToComplex<f32>>,
    input: Vec<f32>,
    spectrum: Vec<realfft::num_complex::Complex<f32>>,
    window: Vec<f32>,
    /// Magnitude spectra of recent frames, oldest first.
    recent: VecDeque<Vec<f32>>,
    steadiness: VecDeque<f32>,
}

/// FFT length for one 20 ms frame (zero-padded): 31.25 Hz bins at 8 kHz.
const TONE_FFT: usize = 256;
/// Frames back to compare the spectrum with (100 ms).
const TONE_LAG: usize = 5;
/// Frames whose steadiness is averaged.
const STEADY_FRAMES: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneMeasure {
    /// Cosine similarity of the magnitude spectrum with 100 ms earlier (steady: near 1).
    pub steadiness: f32,
    /// Mean steadiness of the last 4 frames: music and tones stay above 0.9, speech's
    /// spectrum moves on within a syllable.
    pub steady_mean: f32,
    /// Share of the energy in one DTMF low-group and one high-group frequency.
    pub dtmf: f32,
}

impl ToneMeasure {
    /// A frame of a steady tone, a held chord or a DTMF digit.
    pub fn is_tonal(&self) -> bool {
        self.steady_mean >= 0.91 || self.dtmf >= 0.75
    }
}

impl ToneGuard {
    fn new() -> Self {
        let mut planner = realfft::RealFftPlanner::<f32>::new();
        let fft = planner.plan_fft_forward(TONE_FFT);
        let input = fft.make_input_vec();
        let spectrum = fft.make_output_vec();
        let window = (0..FRAME_SAMPLES)
            .map(|i| {
                let x = std::f32::consts::PI * 2.0 * i as f32 / (FRAME_SAMPLES - 1) as f32;
                0.5 - 0.5 * x.cos()
            })
            .collect();
        Self {
            fft,
            input,
            spectrum,
            window,
            recent: VecDeque::with_capacity(TONE_LAG + 1),
            steadiness: VecDeque::with_capacity(STEADY_FRAMES + 1),
        }
    }

    fn measure(&mut self, frame: &[i16]) -> ToneMeasure {
        self.input.fill(0.0);
        for ((slot, s), w) in self.input.iter_mut().zip(frame).zip(&self.window) {
            *slot = f32::from(*s) / 32768.0 * w;
        }
        let ok = self
            .fft
            .process(&mut self.input, &mut self.spectrum)
            .is_ok();
        let dtmf = if ok { dtmf_share(&self.spectrum) } else { 0.0 };
        // Skip DC and the lowest bin (mains hum, offsets).
        let magnitudes: Vec<f32> = if ok {
            self.spectrum[2..].iter().map(|c| c.norm()).collect()
        } else {
            vec![0.0; TONE_FFT / 2 - 1]
        };
        let steadiness = match self.recent.front() {
            Some(old) if self.recent.len() >= TONE_LAG => {
                let dot: f32 = old.iter().zip(&magnitudes).map(|(a, b)| a * b).sum();
                let na: f32 = old.iter().map(|a| a * a).sum::<f32>().sqrt();
                let nb: f32 = magnitudes.iter().map(|b| b * b).sum::<f32>().sqrt();
                if na > 0.0 && nb > 0.0 {
                    dot / (na * nb)
                } else {
                    0.0
                }
            }
            _ => 0.0,
        };
        self.recent.push_back(magnitudes);
        while self.recent.len() > TONE_LAG {
            self.recent.pop_front();
        }
        self.steadiness.push_back(steadiness);
        while self.steadiness.len() > STEADY_FRAMES {
            self.steadiness.pop_front();
        }
        let steady_mean = self.steadiness.iter().sum::<f32>() / STEADY_FRAMES as f32;
        ToneMeasure {
            steadiness,
            steady_mean,
            dtmf,
        }
    }
}

/// Share of a frame's energy (above 62 Hz) held by its strongest DTMF low-group frequency
/// (697–941 Hz) and strongest high-group frequency (1209–1633 Hz), ±1 bin each.
fn dtmf_share(spectrum: &[realfft::num_complex::Complex<f32>]) -> f32 {
    let power = |k: usize| spectrum.get(k).map_or(0.0, |c| c.norm_sqr());
    let total: f32 = (2..spectrum.len()).map(power).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let peak_with_neighbours = |lo: usize, hi: usize| {
        (lo..=hi)
            .max_by(|a, b| power(*a).total_cmp(&power(*b)))
            .map_or(0.0, |k| power(k - 1) + power(k) + power(k + 1))
    };
    (peak_with_neighbours(22, 30) + peak_with_neighbours(38, 53)) / total
}

/// Lowest noise floor tracked (dBFS), about G.711's idle-channel noise.
const FLOOR_MIN_DBFS: f32 = -70.0;
/// Share of the gap the noise floor climbs per frame when the line gets louder (a time
/// constant of about 0.7 s): slow enough that a held vowel does not become the floor, fast
/// enough that hiss arriving with the first word is floor again soon after the last one.
const FLOOR_RISE: f32 = 0.03;

/// What the gates in front of earshot made of the latest frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Loud enough and not a tone: earshot decides.
    Open,
    /// Below the absolute floor or too close to the line's noise floor.
    Quiet,
    /// A steady tone, chord or DTMF.
    Tonal,
}

/// The end-pointer for one gather. Reuse it across gathers with [`Endpointer::restart`].
pub struct Endpointer {
    params: VadParams,
    detector: Box<earshot::Detector>,
    upsampler: Fft<f32>,
    pending_8k: Vec<f32>,
    pending_16k: Vec<f32>,
    upsampled: Vec<f32>,
    tone_guard: ToneGuard,
    /// Tracked noise floor of the line (dBFS): follows the quietest frames at once and
    /// rises slowly, so it settles on steady noise but not on speech.
    noise_floor: Option<f32>,
    last_score: f32,
    last_tone: ToneMeasure,
    last_gate: Gate,
    phase: Phase,
    listen_start: Duration,
    no_input_armed: bool,
    /// Recent audio while waiting, for the pre-roll; (frame start, samples).
    history: VecDeque<(Duration, Vec<i16>)>,
    candidate: Option<Candidate>,
    utterance: Vec<i16>,
    audio_start: Duration,
    speech_start: Duration,
    speech_end: Duration,
    speech_total: Duration,
    silence: Duration,
    /// A `Paused` was sent for the current silence.
    paused_sent: bool,
    barge_in_sent: bool,
    events: VecDeque<VadEvent>,
}

impl std::fmt::Debug for Endpointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpointer")
            .field("phase", &self.phase)
            .field("params", &self.params)
            .finish()
    }
}

fn rms_dbfs(frame: &[i16]) -> f32 {
    if frame.is_empty() {
        return f32::NEG_INFINITY;
    }
    let ms = frame
        .iter()
        .map(|s| f64::from(*s) * f64::from(*s))
        .sum::<f64>()
        / frame.len() as f64;
    (10.0 * (ms / (32768.0 * 32768.0)).max(1e-20).log10()) as f32
}

impl Endpointer {
    /// Starts listening at media time `now`.
    pub fn new(params: VadParams, now: Duration) -> Self {
        // 160 in, 320 out per call. Only constants go in, so this cannot fail at run time.
        let upsampler = Fft::<f32>::new(RATE as usize, 16_000, FRAME_SAMPLES, 1, FixedSync::Both)
            .expect("8 kHz to 16 kHz in 160-sample chunks is a valid rubato configuration");
        Self {
            params,
            detector: earshot::Detector::default_boxed(),
            upsampler,
            pending_8k: Vec::with_capacity(FRAME_SAMPLES * 2),
            pending_16k: Vec::with_capacity(DETECTOR_FRAME * 2),
            upsampled: vec![0.0; FRAME_SAMPLES * 4],
            tone_guard: ToneGuard::new(),
            noise_floor: None,
            last_score: 0.0,
            last_tone: ToneMeasure {
                steadiness: 0.0,
                steady_mean: 0.0,
                dtmf: 0.0,
            },
            last_gate: Gate::Quiet,
            phase: Phase::Waiting,
            listen_start: now,
            no_input_armed: true,
            history: VecDeque::new(),
            candidate: None,
            utterance: Vec::new(),
            audio_start: now,
            speech_start: now,
            speech_end: now,
            speech_total: Duration::ZERO,
            silence: Duration::ZERO,
            paused_sent: false,
            barge_in_sent: false,
            events: VecDeque::new(),
        }
    }

    /// A prompt is playing: listen (for barge-in) but hold the no-input timeout until
    /// [`Endpointer::prompt_finished`].
    pub fn prompt_started(&mut self) {
        self.no_input_armed = false;
    }

    /// The prompt has finished playing: the no-input timeout counts from `now`, while speech
    /// already under way (a barge-in) carries on.
    pub fn prompt_finished(&mut self, now: Duration) {
        self.no_input_armed = true;
        self.listen_start = now;
    }

    /// The caller pressed a key (RFC 4733 or in-band DTMF): it interrupts the prompt like
    /// speech does, when barge-in is enabled. Returns whether it barged in.
    pub fn key_pressed(&mut self, at: Duration) -> bool {
        if !self.params.barge_in.enabled || self.barge_in_sent || self.phase == Phase::Finished {
            return false;
        }
        self.barge_in_sent = true;
        self.events.push_back(VadEvent::BargeIn { at });
        true
    }

    /// Listens afresh (a new gather, or after a rejected backchannel), keeping the
    /// detector's recent context so a caller already talking is heard.
    pub fn restart(&mut self, params: VadParams, now: Duration) {
        self.params = params;
        self.phase = Phase::Waiting;
        self.listen_start = now;
        self.no_input_armed = true;
        self.history.clear();
        self.candidate = None;
        self.utterance.clear();
        self.speech_total = Duration::ZERO;
        self.silence = Duration::ZERO;
        self.barge_in_sent = false;
        self.paused_sent = false;
        self.events.clear();
    }

    pub fn params(&self) -> &VadParams {
        &self.params
    }

    /// True once the gather has its outcome (ended, cut or no input).
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    pub fn is_speaking(&self) -> bool {
        self.phase == Phase::Speaking
    }

    /// The detector's latest speech score (0..1), for diagnostics.
    pub fn last_score(&self) -> f32 {
        self.last_score
    }

    /// The floor never goes below this: digital silence would make any later hiss "speech".
    fn track_floor(&mut self, level: f32) -> f32 {
        let floor = match self.noise_floor {
            None => level,
            Some(f) if level < f => level,
            Some(f) => f + (level - f) * FLOOR_RISE,
        };
        self.noise_floor = Some(floor);
        floor
    }

    /// Why the latest frame was or was not allowed to be speech, for diagnostics.
    pub fn last_gate(&self) -> Gate {
        self.last_gate
    }

    /// The tone guard's latest measure, for diagnostics.
    pub fn last_tone(&self) -> ToneMeasure {
        self.last_tone
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<VadEvent> {
        self.events.pop_front()
    }

    /// Scores the frame: the highest earshot score among detector frames it completed.
    fn score(&mut self, frame: &[i16]) -> f32 {
        self.pending_8k
            .extend(frame.iter().map(|s| f32::from(*s) / 32768.0));
        let mut best: Option<f32> = None;
        while self.pending_8k.len() >= FRAME_SAMPLES {
            let need_out = self.upsampler.output_frames_next();
            if self.upsampled.len() < need_out {
                self.upsampled.resize(need_out, 0.0);
            }
            let produced = {
                let input =
                    InterleavedSlice::new(&self.pending_8k[..FRAME_SAMPLES], 1, FRAME_SAMPLES);
                let output =
                    InterleavedSlice::new_mut(&mut self.upsampled[..need_out], 1, need_out);
                match (input, output) {
                    (Ok(input), Ok(mut output)) => self
                        .upsampler
                        .process_into_buffer(&input, &mut output, None)
                        .map_or(0, |(_, produced)| produced),
                    _ => 0,
                }
            };
            self.pending_8k.drain(..FRAME_SAMPLES);
            self.pending_16k.extend(
                self.upsampled[..produced]
                    .iter()
                    .map(|s| s.clamp(-1.0, 1.0)),
            );
            while self.pending_16k.len() >= DETECTOR_FRAME {
                let score = self
                    .detector
                    .predict_f32(&self.pending_16k[..DETECTOR_FRAME]);
                self.pending_16k.drain(..DETECTOR_FRAME);
                best = Some(best.map_or(score, |b: f32| b.max(score)));
            }
        }
        if let Some(score) = best {
            self.last_score = score;
        }
        self.last_score
    }

    /// Feeds one frame (normally 160 samples, 20 ms) that starts at media time `at`.
    pub fn push_frame(&mut self, frame: &[i16], at: Duration) {
        let score = self.score(frame);
        if self.phase == Phase::Finished {
            return;
        }
        let length = Duration::from_micros(frame.len() as u64 * 1_000_000 / u64::from(RATE));
        let end = at + length;
        self.last_tone = self.tone_guard.measure(frame);
        let tonal = self.last_tone.is_tonal();
        let level = rms_dbfs(frame).max(FLOOR_MIN_DBFS);
        let floor = self.track_floor(level);
        let loud =
            !tonal && level >= self.params.floor_dbfs && level - floor >= self.params.min_snr_db;
        self.last_gate = if tonal {
            Gate::Tonal
        } else if !loud {
            Gate::Quiet
        } else {
            Gate::Open
        };
        match self.phase {
            Phase::Waiting => {
                self.on_waiting(frame, at, end, loud && score >= self.params.threshold)
            }
            Phase::Speaking => self.on_speaking(
                frame,
                end,
                length,
                loud && score >= self.params.continue_threshold,
            ),
            Phase::Finished => {}
        }
    }

    fn on_waiting(&mut self, frame: &[i16], at: Duration, end: Duration, speech: bool) {
        self.history.push_back((at, frame.to_vec()));
        let keep =
            self.params.pre_roll + self.params.min_speech + self.params.max_start_gap + FRAME * 2;
        while self
            .history
            .front()
            .is_some_and(|(t, _)| end.saturating_sub(*t) > keep)
        {
            self.history.pop_front();
        }
        let length = end.saturating_sub(at);
        match (&mut self.candidate, speech) {
            (None, true) => {
                self.candidate = Some(Candidate {
                    onset: at,
                    speech: length,
                    gap: Duration::ZERO,
                });
            }
            (Some(c), true) => {
                c.speech += length;
                c.gap = Duration::ZERO;
            }
            (Some(c), false) => {
                c.gap += length;
                if c.gap > self.params.max_start_gap {
                    self.candidate = None;
                }
            }
            (None, false) => {}
        }
        if let Some(c) = self.candidate
            && c.speech >= self.params.min_speech
        {
            self.begin_speech(c, end);
            return;
        }
        if self.no_input_armed
            && self.candidate.is_none()
            && end.saturating_sub(self.listen_start) >= self.params.no_input
        {
            self.phase = Phase::Finished;
            self.events.push_back(VadEvent::NoInput { at: end });
        }
    }

    fn begin_speech(&mut self, c: Candidate, now: Duration) {
        self.phase = Phase::Speaking;
        self.speech_start = c.onset;
        self.speech_end = now;
        self.speech_total = c.speech;
        self.silence = Duration::ZERO;
        let from = c.onset.saturating_sub(self.params.pre_roll);
        self.utterance.clear();
        self.audio_start = now;
        for (t, samples) in &self.history {
            if *t + FRAME > from {
                if self.utterance.is_empty() {
                    self.audio_start = *t;
                }
                self.utterance.extend_from_slice(samples);
            }
        }
        self.history.clear();
        self.events
            .push_back(VadEvent::SpeechStarted { at: c.onset });
        self.check_barge_in(now);
    }

    fn check_barge_in(&mut self, now: Duration) {
        let b = &self.params.barge_in;
        if b.enabled && !self.barge_in_sent && self.speech_total >= b.min_speech {
            self.barge_in_sent = true;
            self.events.push_back(VadEvent::BargeIn { at: now });
        }
    }

    fn on_speaking(&mut self, frame: &[i16], end: Duration, length: Duration, speech: bool) {
        self.utterance.extend_from_slice(frame);
        if speech {
            self.speech_total += length;
            self.speech_end = end;
            self.silence = Duration::ZERO;
            if std::mem::take(&mut self.paused_sent) {
                self.events.push_back(VadEvent::Resumed {
                    at: end.saturating_sub(length),
                });
            }
            self.check_barge_in(end);
        } else {
            self.silence += length;
        }
        let early = self
            .params
            .early_silence
            .filter(|early| *early < self.params.end_silence);
        if let Some(early) = early
            && !self.paused_sent
            && self.silence >= early
            && self.silence < self.params.end_silence
        {
            self.paused_sent = true;
            let utterance = self.snapshot_utterance();
            self.events.push_back(VadEvent::Paused { utterance });
        }
        if self.silence >= self.params.end_silence {
            let utterance = self.take_utterance(true);
            self.events.push_back(VadEvent::SpeechEnded { utterance });
        } else if end.saturating_sub(self.speech_start) >= self.params.max_utterance {
            let utterance = self.take_utterance(false);
            self.events.push_back(VadEvent::MaxLength { utterance });
        }
    }

    /// Samples of the utterance up to the end of speech plus the tail.
    fn trimmed_len(&self) -> usize {
        let keep_until = self.speech_end + self.params.tail;
        let samples = keep_until.saturating_sub(self.audio_start).as_micros() as u64
            * u64::from(RATE)
            / 1_000_000;
        (samples as usize).min(self.utterance.len())
    }

    /// The utterance so far, trimmed like a finished one, while listening goes on.
    fn snapshot_utterance(&self) -> Utterance {
        Utterance {
            pcm: self.utterance[..self.trimmed_len()].to_vec(),
            speech_start: self.speech_start,
            speech_end: self.speech_end,
            audio_start: self.audio_start,
        }
    }

    fn take_utterance(&mut self, trim_silence: bool) -> Utterance {
        self.phase = Phase::Finished;
        let keep = self.trimmed_len();
        let mut pcm = std::mem::take(&mut self.utterance);
        if trim_silence {
            pcm.truncate(keep);
        } else {
            self.speech_end = self.audio_start
                + Duration::from_micros(pcm.len() as u64 * 1_000_000 / u64::from(RATE));
        }
        Utterance {
            pcm,
            speech_start: self.speech_start,
            speech_end: self.speech_end,
            audio_start: self.audio_start,
        }
    }
}

/// Words callers say to show they are listening, not to answer: transcripts made only of
/// these should not interrupt a prompt nor count as an answer.
pub fn is_backchannel(transcript: &str) -> bool {
    const WORDS: &[&str] = &[
        "mm", "mmm", "mhm", "hm", "hmm", "uh", "huh", "um", "uhhuh", "uh-huh", "mm-hmm", "aha",
        "ah", "oh", "ok", "okay", "right", "yeah", "yep", "sure", "alright",
    ];
    let words: Vec<String> = transcript
        .split(|c: char| c.is_whitespace() || c == ',' || c == '.' || c == '!' || c == '?')
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect();
    !words.is_empty() && words.len() <= 2 && words.iter().all(|w| WORDS.contains(&w.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `pcm` in 20 ms frames from media time `start`; returns events with frame times.
    fn run(ep: &mut Endpointer, pcm: &[i16], start: Duration) -> Vec<VadEvent> {
        let mut events = Vec::new();
        for (i, frame) in pcm.chunks(FRAME_SAMPLES).enumerate() {
            ep.push_frame(frame, start + FRAME * i as u32);
            while let Some(e) = ep.poll_event() {
                events.push(e);
            }
        }
        events
    }

    fn silence(ms: usize) -> Vec<i16> {
        vec![0; ms * 8]
    }

    /// A pseudo-random generator, so tests need no rand seed handling.
    fn noise(ms: usize, amplitude: f32, seed: u32) -> Vec<i16> {
        let mut x = seed.max(1);
        (0..ms * 8)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                ((x as f32 / u32::MAX as f32 - 0.5) * 2.0 * amplitude * 32767.0) as i16
            })
            .collect()
    }

    fn tones(ms: usize, freqs: &[f32], amplitude: f32) -> Vec<i16> {
        (0..ms * 8)
            .map(|i| {
                let t = i as f32 / 8000.0;
                let v: f32 = freqs
                    .iter()
                    .map(|f| (2.0 * std::f32::consts::PI * f * t).sin())
                    .sum();
                (v / freqs.len() as f32 * amplitude * 32767.0) as i16
            })
            .collect()
    }

    #[test]
    fn silence_gives_no_input_at_the_timeout_and_nothing_else() {
        let params = VadParams {
            no_input: Duration::from_millis(3000),
            ..VadParams::default()
        };
        let mut ep = Endpointer::new(params, Duration::from_secs(10));
        let events = run(&mut ep, &silence(4000), Duration::from_secs(10));
        assert_eq!(
            events,
            vec![VadEvent::NoInput {
                at: Duration::from_millis(13_000)
            }]
        );
        assert!(ep.is_finished());
    }

    #[test]
    fn tones_noise_and_dtmf_are_not_speech() {
        let mut signal = Vec::new();
        // A DTMF "4" (770 + 1209 Hz) for 120 ms, gaps, a "7", a long dial tone, hiss.
        signal.extend(tones(120, &[770.0, 1209.0], 0.5));
        signal.extend(silence(100));
        signal.extend(tones(120, &[852.0, 1209.0], 0.5));
        signal.extend(silence(100));
        signal.extend(tones(2000, &[350.0, 440.0], 0.3));
        signal.extend(noise(2000, 0.05, 7));
        // "Music": a chord progression of steady tones.
        for chord in [
            [261.6, 329.6, 392.0],
            [293.7, 370.0, 440.0],
            [329.6, 415.3, 493.9],
        ] {
            signal.extend(tones(700, &chord, 0.3));
        }
        let params = VadParams {
            no_input: Duration::from_secs(60),
            ..VadParams::default()
        };
        let mut ep = Endpointer::new(params, Duration::ZERO);
        let events = run(&mut ep, &signal, Duration::ZERO);
        assert!(events.is_empty(), "{events:?}");
    }

    #[test]
    fn no_input_counts_from_the_end_of_the_prompt() {
        let params = VadParams {
            no_input: Duration::from_millis(1000),
            ..VadParams::default()
        };
        let mut ep = Endpointer::new(params, Duration::ZERO);
        // A 3-second prompt: listening, but the caller gets their full second after it.
        let mut events = run(&mut ep, &silence(3000), Duration::ZERO);
        assert_eq!(
            events,
            vec![VadEvent::NoInput {
                at: Duration::from_millis(1000)
            }]
        );
        let mut ep = Endpointer::new(ep.params().clone(), Duration::ZERO);
        ep.prompt_started();
        events = run(&mut ep, &silence(2000), Duration::ZERO);
        assert!(events.is_empty(), "{events:?}");
        let mut events = Vec::new();
        ep.prompt_finished(Duration::from_millis(2000));
        for i in 0..100u32 {
            ep.push_frame(&[0; FRAME_SAMPLES], Duration::from_millis(2000) + FRAME * i);
            events.extend(std::iter::from_fn(|| ep.poll_event()));
        }
        assert_eq!(
            events,
            vec![VadEvent::NoInput {
                at: Duration::from_millis(3000)
            }]
        );
    }

    #[test]
    fn a_key_barges_in_once_and_not_when_disabled() {
        let mut ep = Endpointer::new(VadParams::default(), Duration::ZERO);
        assert!(ep.key_pressed(Duration::from_millis(300)));
        assert!(!ep.key_pressed(Duration::from_millis(400)));
        assert_eq!(
            ep.poll_event(),
            Some(VadEvent::BargeIn {
                at: Duration::from_millis(300)
            })
        );
        assert_eq!(ep.poll_event(), None);
        let mut params = VadParams::default();
        params.barge_in.enabled = false;
        let mut ep = Endpointer::new(params, Duration::ZERO);
        assert!(!ep.key_pressed(Duration::from_millis(300)));
        assert_eq!(ep.poll_event(), None);
    }

    #[test]
    fn backchannel_words() {
        assert!(is_backchannel("Mm-hmm."));
        assert!(is_backchannel("uh huh"));
        assert!(is_backchannel("Okay."));
        assert!(!is_backchannel("I lost my card"));
        assert!(!is_backchannel("agent"));
        assert!(!is_backchannel(""));
    }
}
