//! The built-in demo behaviour, used until a dialplan is configured: welcome the caller,
//! read back every key they press, and hang up after a while. Pure: the call machine
//! feeds it happenings.

use super::behaviour::{Behaviour, Cue, Moment, Parties};
use super::end::EndReason;
use std::time::{Duration, Instant};

/// The prompt that reads back one keypad key (the readback module's digit prompts).
pub fn digit_prompt(key: char) -> Option<&'static str> {
    let mut buf = [0u8; 4];
    let prompts = crate::prompts::readback::digits(key.encode_utf8(&mut buf))?;
    prompts.first().copied()
}

/// Every prompt the demo can play: checked at start-up so a missing file is an error
/// then, not silence in a call.
pub fn required_prompts() -> impl Iterator<Item = &'static str> {
    std::iter::once("welcome").chain("0123456789*#".chars().filter_map(digit_prompt))
}

/// The demo's state: which keys were read back, and when it hangs up.
#[derive(Debug)]
pub struct Demo {
    digits: String,
    hangup_after: Duration,
    hangup_at: Option<Instant>,
}

impl Demo {
    /// A demo that hangs up `hangup_after` the call was answered.
    pub fn new(hangup_after: Duration) -> Self {
        Demo {
            digits: String::new(),
            hangup_after,
            hangup_at: None,
        }
    }

    /// Every key read back so far, in order.
    pub fn digits(&self) -> &str {
        &self.digits
    }
}

impl Behaviour for Demo {
    fn start(&mut self, _parties: &Parties, at: Moment) -> Vec<Cue> {
        self.hangup_at = Some(at.now + self.hangup_after);
        vec![Cue::Play(vec!["welcome".to_string()])]
    }

    fn on_key(&mut self, key: char, _at: Moment) -> Vec<Cue> {
        // The demo reads keys back anyway; a dialplan's keys may be a PIN.
        tracing::info!(digit = %key, "DTMF");
        let Some(prompt) = digit_prompt(key) else {
            return Vec::new();
        };
        self.digits.push(key);
        vec![Cue::Play(vec![prompt.to_string()])]
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.hangup_at
    }

    fn on_timer(&mut self, at: Moment) -> Vec<Cue> {
        match self.hangup_at {
            Some(due) if due <= at.now => {
                self.hangup_at = None;
                vec![Cue::Hangup {
                    why: EndReason::DemoFinished,
                }]
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn at(now: Instant) -> Moment {
        Moment {
            now,
            wall: Utc::now(),
        }
    }

    #[test]
    fn welcomes_then_reads_back_keys() {
        let mut demo = Demo::new(Duration::from_secs(30));
        let t0 = Instant::now();
        assert_eq!(
            demo.start(&Parties::default(), at(t0)),
            [Cue::Play(vec!["welcome".into()])]
        );
        assert_eq!(demo.on_key('4', at(t0)), [Cue::Play(vec!["four".into()])]);
        assert_eq!(demo.on_key('#', at(t0)), [Cue::Play(vec!["hash".into()])]);
        assert!(
            demo.on_key('A', at(t0)).is_empty(),
            "RFC 4733 A-D have no prompt"
        );
        assert_eq!(demo.digits(), "4#");
    }

    #[test]
    fn hangs_up_when_its_time_is_up_and_not_before() {
        let mut demo = Demo::new(Duration::from_secs(30));
        let t0 = Instant::now();
        demo.start(&Parties::default(), at(t0));
        assert_eq!(demo.next_deadline(), Some(t0 + Duration::from_secs(30)));
        assert!(demo.on_timer(at(t0 + Duration::from_secs(29))).is_empty());
        assert_eq!(
            demo.on_timer(at(t0 + Duration::from_secs(30))),
            [Cue::Hangup {
                why: EndReason::DemoFinished
            }]
        );
        assert_eq!(demo.next_deadline(), None);
    }

    #[test]
    fn required_prompts_cover_every_key() {
        let all: Vec<_> = required_prompts().collect();
        assert_eq!(all.len(), 13);
        assert!(all.contains(&"welcome") && all.contains(&"hash") && all.contains(&"zero"));
    }
}
