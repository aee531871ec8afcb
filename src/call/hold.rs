//! Music on hold and queue announcements for a waiting caller, kept by the shell: the loop
//! is queued two recordings ahead so it never has a gap, an announcement cuts it and the
//! music carries on after it. The playbacks are tracked by id so that their ends never
//! reach the call machine as the end of a dialplan prompt.

use super::media_leg::MediaLeg;
use crate::media::events::PlaybackId;
use crate::prompts::PromptCatalog;
use std::collections::HashSet;
use std::sync::Arc;
use tracing::warn;

/// The recording that loops while a caller waits.
pub const HOLD_MUSIC: &str = "hold-music";

/// Copies of the loop queued ahead of the one playing.
const AHEAD: usize = 2;

#[derive(Default)]
pub(super) struct HoldMusic {
    on: bool,
    /// Playbacks we queued and whose end is ours to swallow.
    ours: HashSet<PlaybackId>,
}

impl HoldMusic {
    /// Starts or stops the music (stopping cuts it at once).
    pub fn set(&mut self, on: bool, leg: &MediaLeg, prompts: &PromptCatalog) {
        if self.on == on {
            return;
        }
        self.on = on;
        leg.stop_playback();
        if on {
            self.queue_loop(leg, prompts, AHEAD);
        }
    }

    /// Cuts the music for `ids` (joined without gaps), then lets it carry on.
    pub fn announce(&mut self, ids: &[String], leg: &MediaLeg, prompts: &PromptCatalog) {
        let parts: Vec<Arc<[i16]>> = ids.iter().filter_map(|id| prompts.samples(id)).collect();
        if parts.len() != ids.len() {
            warn!(prompts = %ids.join(","), "an announcement prompt is missing: not announced");
            return;
        }
        leg.stop_playback();
        if let Some(id) = leg.play_tracked(crate::prompts::gapless::join(&parts).into()) {
            self.ours.insert(id);
        }
        if self.on {
            self.queue_loop(leg, prompts, AHEAD);
        }
    }

    /// A playback ended: `true` when it was ours (the machine must not hear of it).
    pub fn finished(
        &mut self,
        id: PlaybackId,
        completed: bool,
        leg: &MediaLeg,
        prompts: &PromptCatalog,
    ) -> bool {
        if !self.ours.remove(&id) {
            return false;
        }
        if self.on && completed {
            self.queue_loop(leg, prompts, 1);
        }
        true
    }

    fn queue_loop(&mut self, leg: &MediaLeg, prompts: &PromptCatalog, copies: usize) {
        let Some(music) = prompts.samples(HOLD_MUSIC) else {
            warn!(
                prompt = HOLD_MUSIC,
                "no hold music: the caller waits in silence"
            );
            return;
        };
        for _ in 0..copies {
            if let Some(id) = leg.play_tracked(music.clone()) {
                self.ours.insert(id);
            }
        }
    }
}
