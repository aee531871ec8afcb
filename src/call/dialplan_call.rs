//! A dialplan running in a live call: turns the runtime's actions into what the call shell
//! does (play, listen, look up, hang up) and the call's happenings (keys, speech, silence,
//! playback ending, lookup answers) into runtime events.
//!
//! It keeps no sockets and reads no clock: the call machine passes the [`Moment`] (`now`
//! for gather timers, `wall` for the dialplan's time conditions) with every happening.

use super::behaviour::{Behaviour, Cue, Moment, Parties, Sound};
use super::end::EndReason;
use crate::dialplan::format::InputMode;
use crate::dialplan::template::ReadAs;
use crate::dialplan::{Action, Event, Listen, LookupResult, PlayItem, Runtime};
use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// After the last key of an entry with no terminator and no fixed length, the entry ends
/// after this much quiet.
const INTER_DIGIT_TIMEOUT: Duration = Duration::from_secs(3);

/// The gather being listened to.
#[derive(Debug)]
struct Gather {
    listen: Listen,
    /// Input is taken (barge-in allowed, or the prompts before it have finished).
    armed: bool,
    digits: String,
    deadline: Option<Instant>,
    /// The caller is talking or being recognised: the no-input timer waits.
    speaking: bool,
    /// What was left of the no-input timer when it was paused for speech: sound that turns
    /// out to be no words (music, a cough) resumes it rather than starting it over, so a
    /// noisy line still reaches its no-input.
    paused_remaining: Option<Duration>,
}

/// One call's dialplan, from answer to hangup.
pub struct DialplanCall {
    runtime: Runtime,
    /// Playbacks queued and not yet reported finished.
    playing: usize,
    /// Actions that wait for the queued audio to finish (transfer, hangup).
    after_playback: VecDeque<Action>,
    gather: Option<Gather>,
    ended: bool,
    /// The latest intent understood, for the call's record (a later turn that
    /// understands none, a yes or a PIN, does not erase it).
    intent: Option<String>,
}

impl DialplanCall {
    pub fn new(runtime: Runtime) -> Self {
        Self {
            runtime,
            playing: 0,
            after_playback: VecDeque::new(),
            gather: None,
            ended: false,
            intent: None,
        }
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    pub fn is_ended(&self) -> bool {
        self.ended
    }

    fn feed(&mut self, event: Event, now: Instant, wall: DateTime<Utc>) -> Vec<Cue> {
        let actions = self.runtime.handle(event, wall);
        if let Some(intent) = &self.runtime.last_understood().intent {
            self.intent = Some(intent.clone());
        }
        let mut out = Vec::new();
        for action in actions {
            out.extend(self.apply(action, now));
        }
        out
    }

    fn apply(&mut self, action: Action, now: Instant) -> Vec<Cue> {
        match action {
            Action::Play { items, .. } => {
                let sounds = sounds(&items);
                if sounds.is_empty() {
                    return Vec::new();
                }
                self.playing += 1;
                let ids: Option<Vec<String>> = sounds
                    .iter()
                    .map(|s| match s {
                        Sound::Prompt(id) => Some(id.clone()),
                        Sound::Text(_) => None,
                    })
                    .collect();
                match ids {
                    Some(ids) => vec![Cue::Play(ids)],
                    None => vec![Cue::Speak(sounds)],
                }
            }
            Action::Listen(listen) => {
                let armed = listen.barge_in || self.playing == 0;
                let deadline = (self.playing == 0)
                    .then(|| now + Duration::from_secs(u64::from(listen.timeout_secs)));
                let speech = armed.then(|| listening(&listen, self.playing > 0));
                self.gather = Some(Gather {
                    listen,
                    armed,
                    digits: String::new(),
                    deadline,
                    speaking: false,
                    paused_remaining: None,
                });
                speech.into_iter().collect()
            }
            Action::Lookup { source, args } => vec![Cue::Lookup { source, args }],
            action @ (Action::Transfer { .. } | Action::Hangup { .. }) if self.playing > 0 => {
                self.after_playback.push_back(action);
                Vec::new()
            }
            Action::Transfer {
                queue,
                context,
                max_wait_secs,
                callback,
                ..
            } => vec![Cue::Transfer {
                queue,
                context: Box::new(context),
                max_wait: max_wait_secs.map(|s| std::time::Duration::from_secs(u64::from(s))),
                callback,
            }],
            Action::Hangup { reason } => {
                self.ended = true;
                tracing::info!(%reason, "dialplan hangs up");
                vec![Cue::Hangup {
                    why: EndReason::DialplanHangup,
                }]
            }
        }
    }
}

impl Behaviour for DialplanCall {
    fn summary(&self) -> super::behaviour::Summary {
        let plan = self.runtime.plan();
        super::behaviour::Summary {
            dialplan: Some(plan.doc.name.value.clone()),
            version: Some(plan.version.clone()),
            path: self.runtime.path().to_vec(),
            intent: self.intent.clone(),
        }
    }

    /// The call was answered.
    fn start(&mut self, parties: &Parties, at: Moment) -> Vec<Cue> {
        let event = Event::CallStarted {
            caller_id: parties.from.clone(),
            called: parties.to.clone(),
        };
        self.feed(event, at.now, at.wall)
    }

    /// One keypad key (RFC 4733).
    fn on_key(&mut self, key: char, at: Moment) -> Vec<Cue> {
        let (now, wall) = (at.now, at.wall);
        let mut out = Vec::new();
        let Some(gather) = self.gather.as_mut() else {
            return out;
        };
        if !gather.armed || gather.listen.input == InputMode::Speech {
            return out;
        }
        if gather.digits.is_empty() && self.playing > 0 {
            out.push(Cue::StopPlayback);
        }
        let listen = &gather.listen;
        let ends_entry = key == listen.terminator && !gather.digits.is_empty();
        if key != listen.terminator {
            gather.digits.push(key);
        }
        let max = listen
            .max_digits
            .map(|m| m as usize)
            .unwrap_or(if listen.entity.is_none() {
                1
            } else {
                usize::MAX
            });
        if ends_entry
            || gather.digits.len() >= max
            || (key == listen.terminator && gather.digits.is_empty())
        {
            let digits = std::mem::take(&mut gather.digits);
            self.gather = None;
            out.push(Cue::StopListening);
            out.extend(self.feed(Event::Dtmf { digits }, now, wall));
        } else {
            gather.deadline = Some(now + INTER_DIGIT_TIMEOUT);
        }
        out
    }

    fn on_speech_activity(&mut self, at: Moment) {
        let now = at.now;
        if let Some(gather) = self.gather.as_mut() {
            gather.speaking = true;
            if let Some(deadline) = gather.deadline.take() {
                gather.paused_remaining = Some(deadline.saturating_duration_since(now));
            }
        }
    }

    fn on_speech(&mut self, transcript: &str, confidence: f32, at: Moment) -> Vec<Cue> {
        let (now, wall) = (at.now, at.wall);
        let playing = self.playing;
        match self.gather.as_mut() {
            Some(g) if g.armed && g.listen.input != InputMode::Dtmf && g.digits.is_empty() => {
                if transcript.trim().is_empty() {
                    g.speaking = false;
                    if playing == 0 {
                        let timeout = Duration::from_secs(u64::from(g.listen.timeout_secs));
                        g.deadline = Some(now + g.paused_remaining.take().unwrap_or(timeout));
                    }
                    return Vec::new();
                }
            }
            _ => return Vec::new(),
        }
        self.gather = None;
        let mut out = vec![Cue::StopListening];
        let event = Event::Speech {
            transcript: transcript.to_string(),
            asr_confidence: confidence,
        };
        out.extend(self.feed(event, now, wall));
        let understood = self.runtime.last_understood();
        tracing::info!(
            intent = %understood.intent.as_deref().unwrap_or("-"),
            intent_confidence = understood.confidence,
            entities = %understood.entities.join(","),
            "understood"
        );
        out
    }

    /// The caller started speaking in a barge-in gather: the prompt stops.
    fn on_barge_in(&mut self) -> Vec<Cue> {
        match &self.gather {
            Some(g) if g.armed && g.listen.barge_in && self.playing > 0 => {
                vec![Cue::StopPlayback]
            }
            _ => Vec::new(),
        }
    }

    /// A queued playback finished (or was cut).
    fn on_playback_finished(&mut self, at: Moment) -> Vec<Cue> {
        let now = at.now;
        self.playing = self.playing.saturating_sub(1);
        let mut out = Vec::new();
        if self.playing > 0 {
            return out;
        }
        if let Some(gather) = self.gather.as_mut() {
            if gather.armed {
                out.push(Cue::PromptFinished);
            } else {
                gather.armed = true;
                out.push(listening(&gather.listen, false));
            }
            if gather.deadline.is_none() && !gather.speaking {
                gather.deadline =
                    Some(now + Duration::from_secs(u64::from(gather.listen.timeout_secs)));
            }
        }
        while self.playing == 0 {
            let Some(action) = self.after_playback.pop_front() else {
                break;
            };
            out.extend(self.apply(action, now));
        }
        out
    }

    /// The answer to a `Lookup` command.
    fn on_lookup_result(&mut self, result: LookupResult, at: Moment) -> Vec<Cue> {
        self.feed(Event::LookupResult(result), at.now, at.wall)
    }

    /// A transfer could not be completed.
    fn on_transfer_failed(&mut self, reason: &str, at: Moment) -> Vec<Cue> {
        let (now, wall) = (at.now, at.wall);
        self.feed(
            Event::TransferFailed {
                reason: reason.to_string(),
            },
            now,
            wall,
        )
    }

    fn on_transfer_answered(&mut self, agent: &str, at: Moment) -> Vec<Cue> {
        let event = Event::TransferAnswered {
            agent: agent.to_string(),
        };
        self.feed(event, at.now, at.wall)
    }

    fn on_callback_accepted(&mut self, at: Moment) -> Vec<Cue> {
        self.feed(Event::CallbackAccepted, at.now, at.wall)
    }

    fn on_transfer_timed_out(&mut self, at: Moment) -> Vec<Cue> {
        self.feed(Event::TransferTimedOut, at.now, at.wall)
    }

    /// When `on_timer` should be called next.
    fn next_deadline(&self) -> Option<Instant> {
        self.gather.as_ref().and_then(|g| g.deadline)
    }

    /// Gather timers: a finished key entry, or no input at all.
    fn on_timer(&mut self, at: Moment) -> Vec<Cue> {
        let (now, wall) = (at.now, at.wall);
        let Some(gather) = self.gather.as_mut() else {
            return Vec::new();
        };
        if gather.deadline.is_none_or(|d| d > now) {
            return Vec::new();
        }
        let digits = std::mem::take(&mut gather.digits);
        self.gather = None;
        let mut out = vec![Cue::StopListening];
        let event = if digits.is_empty() {
            Event::Timeout
        } else {
            Event::Dtmf { digits }
        };
        out.extend(self.feed(event, now, wall));
        out
    }

    /// The caller hung up.
    fn on_hangup(&mut self, at: Moment) {
        self.feed(Event::HungUp, at.now, at.wall);
        self.ended = true;
    }

    fn would_accept(&self, transcript: &str, at: Moment) -> bool {
        self.runtime.would_accept(transcript, at.wall)
    }
}

fn listening(listen: &Listen, prompt_playing: bool) -> Cue {
    Cue::StartListening {
        listen: Box::new(listen.clone()),
        prompt_playing,
    }
}

/// What says `items`: typed readback becomes a prompt sequence; free text (and a plain
/// value that is not a number) is left for text-to-speech, except a sensitive value, which
/// is never sent to a command or a cache: it is skipped with a log line that names only
/// the variable.
pub fn sounds(items: &[PlayItem]) -> Vec<Sound> {
    let mut sounds = Vec::new();
    for item in items {
        match item {
            PlayItem::Prompt(id) => sounds.push(Sound::Prompt(id.clone())),
            PlayItem::Readback {
                var,
                read_as,
                value,
                sensitive,
            } => match crate::prompts::readback::readback(*read_as, value) {
                Ok(ids) => sounds.extend(ids.into_iter().map(Sound::Prompt)),
                Err(_) if *read_as == ReadAs::Text && *sensitive => tracing::warn!(
                    var = %var,
                    value = crate::dialplan::variables::MASK,
                    "a sensitive value is not sent to text-to-speech; skipped"
                ),
                Err(_) if *read_as == ReadAs::Text => {
                    if has_words(value) {
                        sounds.push(Sound::Text(value.clone()));
                    }
                }
                Err(err) => {
                    // The error names the type, never the value (it may be sensitive).
                    tracing::warn!(read_as = read_as.as_str(), error = %err, "cannot read this value back");
                }
            },
            PlayItem::Text(text) if has_words(text) => sounds.push(Sound::Text(text.clone())),
            PlayItem::Text(_) => {}
        }
    }
    sounds
}

/// Whether there is anything to say (not only spaces and punctuation).
fn has_words(text: &str) -> bool {
    text.chars().any(char::is_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readback(var: &str, read_as: ReadAs, value: &str, sensitive: bool) -> PlayItem {
        PlayItem::Readback {
            var: var.into(),
            read_as,
            value: value.into(),
            sensitive,
        }
    }

    #[test]
    fn free_text_goes_to_speech_in_place_between_recordings() {
        let items = [
            PlayItem::Prompt("acme-balance-is".into()),
            PlayItem::Text("Your branch is open until five.".into()),
            readback("bal", ReadAs::Money, "3", false),
            PlayItem::Text(", ".into()),
            readback("name", ReadAs::Text, "Ann Lee", false),
        ];
        assert_eq!(
            sounds(&items),
            [
                Sound::Prompt("acme-balance-is".into()),
                Sound::Text("Your branch is open until five.".into()),
                Sound::Prompt("three".into()),
                Sound::Prompt("dollars".into()),
                Sound::Text("Ann Lee".into()),
            ]
        );
    }

    #[test]
    fn a_sensitive_value_never_becomes_text_to_speech() {
        let items = [
            PlayItem::Text("Your code is".into()),
            readback("secret", ReadAs::Text, "open sesame", true),
            readback("pin", ReadAs::Text, "1234", true),
        ];
        let said = sounds(&items);
        assert_eq!(said[0], Sound::Text("Your code is".into()));
        assert!(
            !said
                .iter()
                .any(|s| matches!(s, Sound::Text(t) if t.contains("sesame"))),
            "{said:?}"
        );
        // A sensitive number is still spoken from recordings, which never leave the server.
        assert!(
            said.len() > 1 && said[1..].iter().all(|s| matches!(s, Sound::Prompt(_))),
            "{said:?}"
        );
    }
}
