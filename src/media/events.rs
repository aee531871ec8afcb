//! What a media session reports to its owner (the call, or the caller bot).

/// Samples in one 20 ms frame at 8000 Hz.
pub const FRAME_SAMPLES: usize = 160;

/// One 20 ms frame of decoded 8 kHz mono audio.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AudioFrame {
    /// The samples, 16-bit linear.
    pub samples: [i16; FRAME_SAMPLES],
}

impl std::fmt::Debug for AudioFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let peak = self.samples.iter().map(|s| s.unsigned_abs()).max();
        write!(f, "AudioFrame(peak {})", peak.unwrap_or(0))
    }
}

/// Identifies one queued playback.
pub type PlaybackId = u64;

/// An event from a media session.
// Frames travel inline: boxing them would allocate 50 times a second per call.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// 20 ms of caller audio, in order, after the jitter buffer.
    Audio(AudioFrame),
    /// A DTMF digit (`0-9 * # A-D`) from RFC 4733 events.
    Dtmf(char),
    /// A queued playback left the queue: `completed` is false when `stop_playback` cut it.
    PlaybackFinished {
        /// The id `play` returned.
        id: PlaybackId,
        /// True when every sample was sent (or consumed while on hold).
        completed: bool,
    },
    /// No RTP from the peer for the configured timeout (a peer that vanished). Sent once
    /// per silence; the session keeps running, the owner decides to hang up.
    RtpTimeout,
}

/// The events that must not be lost, as they travel from the session to its owner: kept
/// apart from [`MediaEvent`] so the channel's slots are a few bytes, not a frame each
/// (a channel allocates its first block of slots when it is made, for every leg).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ControlEvent {
    Dtmf(char),
    PlaybackFinished { id: PlaybackId, completed: bool },
    RtpTimeout,
}

impl From<ControlEvent> for MediaEvent {
    fn from(event: ControlEvent) -> Self {
        match event {
            ControlEvent::Dtmf(digit) => MediaEvent::Dtmf(digit),
            ControlEvent::PlaybackFinished { id, completed } => {
                MediaEvent::PlaybackFinished { id, completed }
            }
            ControlEvent::RtpTimeout => MediaEvent::RtpTimeout,
        }
    }
}

/// The owner's end of a session's events, on two channels so that audio can never crowd
/// out what must not be lost: control events (digits, playback ends, RTP timeout) travel
/// on an unbounded channel and are never dropped; audio frames on a bounded one that drops
/// frames (counted) when the owner falls behind. [`recv`](Self::recv) gives control events
/// first. An owner that is not listening turns audio off ([`set_audio`](Self::set_audio)):
/// the session then decodes nothing for it, which is most of a call's life.
#[derive(Debug)]
pub struct MediaEvents {
    control: tokio::sync::mpsc::UnboundedReceiver<ControlEvent>,
    audio: tokio::sync::mpsc::Receiver<AudioFrame>,
    audio_wanted: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl MediaEvents {
    pub(super) fn new(
        control: tokio::sync::mpsc::UnboundedReceiver<ControlEvent>,
        audio: tokio::sync::mpsc::Receiver<AudioFrame>,
        audio_wanted: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> Self {
        MediaEvents {
            control,
            audio,
            audio_wanted,
        }
    }

    /// The next event; `None` once the session has ended.
    pub async fn recv(&mut self) -> Option<MediaEvent> {
        tokio::select! {
            biased;
            event = self.control.recv() => event.map(MediaEvent::from),
            Some(frame) = self.audio.recv() => Some(MediaEvent::Audio(frame)),
        }
    }

    /// The next event if one is waiting (control events first).
    pub fn try_recv(&mut self) -> Result<MediaEvent, tokio::sync::mpsc::error::TryRecvError> {
        match self.control.try_recv() {
            Ok(event) => Ok(event.into()),
            Err(closed @ tokio::sync::mpsc::error::TryRecvError::Disconnected) => self
                .audio
                .try_recv()
                .map(MediaEvent::Audio)
                .map_err(|_| closed),
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {
                self.audio.try_recv().map(MediaEvent::Audio)
            }
        }
    }

    /// Whether the owner wants caller audio. Off: no frames are queued (frames already
    /// queued are discarded), digits and the other control events still come.
    pub fn set_audio(&mut self, wanted: bool) {
        self.audio_wanted
            .store(wanted, std::sync::atomic::Ordering::Relaxed);
        if !wanted {
            while self.audio.try_recv().is_ok() {}
        }
    }

    /// Whether audio is on.
    pub fn audio_wanted(&self) -> bool {
        self.audio_wanted.load(std::sync::atomic::Ordering::Relaxed)
    }
}
