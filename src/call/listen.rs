//! Listening for speech in a gather: the end-pointer (`media::vad`) over the caller's
//! frames, barge-in, and the hand-off of each utterance to the recognition pool.

use crate::asr::{Pool, PoolResult, RecognitionHints};
use crate::dialplan::Listen;
use crate::media::events::AudioFrame;
use crate::media::vad::{BargeIn, Endpointer, VadEvent, VadParams};
use std::time::Duration;
use tokio::sync::oneshot;

/// The length of one frame of media time.
const FRAME: Duration = Duration::from_millis(20);

/// What the listener noticed in a frame.
#[derive(Debug)]
pub enum Heard {
    /// The caller started talking (the gather's no-input timer pauses).
    SpeechStarted,
    /// Enough speech to interrupt the prompt.
    BargeIn,
    /// An utterance went to the recogniser; its transcript comes on this receiver.
    Recognising(oneshot::Receiver<PoolResult>),
    /// The recogniser is saturated: the utterance was dropped.
    Saturated,
}

/// One gather's speech listening.
pub struct SpeechListener {
    endpointer: Endpointer,
    hints: RecognitionHints,
    /// Media time: frames seen since listening started.
    clock: Duration,
}

impl SpeechListener {
    /// Starts listening for `listen`; `prompt_playing` holds the no-input timer.
    pub fn new(listen: &Listen, prompt_playing: bool) -> Self {
        let params = VadParams {
            barge_in: BargeIn {
                enabled: listen.barge_in,
                ..BargeIn::default()
            },
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
            clock: Duration::ZERO,
        }
    }

    pub fn prompt_finished(&mut self) {
        self.endpointer.prompt_finished(self.clock);
    }

    /// Feeds one frame; returns what it led to.
    pub fn push(&mut self, frame: &AudioFrame, pool: Option<&Pool>) -> Vec<Heard> {
        self.endpointer.push_frame(&frame.samples, self.clock);
        self.clock += FRAME;
        let mut heard = Vec::new();
        while let Some(event) = self.endpointer.poll_event() {
            match event {
                VadEvent::SpeechStarted { .. } => heard.push(Heard::SpeechStarted),
                VadEvent::BargeIn { .. } => heard.push(Heard::BargeIn),
                VadEvent::SpeechEnded { utterance } | VadEvent::MaxLength { utterance } => {
                    let submitted = pool.map(|p| p.submit(utterance.pcm, self.hints.clone()));
                    match submitted {
                        Some(Ok(receiver)) => heard.push(Heard::Recognising(receiver)),
                        Some(Err(full)) => {
                            tracing::warn!(%full, "speech recognition saturated: utterance dropped");
                            heard.push(Heard::Saturated);
                        }
                        None => heard.push(Heard::Saturated),
                    }
                }
                VadEvent::NoInput { .. } => {}
            }
        }
        heard
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
