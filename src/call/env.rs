//! What a call needs from the server it runs in, built once by the server and shared by
//! every call: the SIP dialogs, the RTP ports, prompts, data sources, the recogniser,
//! text-to-speech, the dialplan and the call settings. Calls receive this and nothing
//! else, so `call` does not know the server that owns it.

use super::machine::CallSettings;
use crate::acd::{AcdHandle, ContextBoard};
use crate::asr::Pool;
use crate::data::DataSources;
use crate::dialplan::DialplanStore;
use crate::media::engine::MediaEngine;
use crate::media::port_allocator::PortAllocator;
use crate::media::session::SessionConfig;
use crate::prompts::PromptCatalog;
use crate::sip::DialogLayer;
use crate::tts::Tts;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Everything a call uses.
pub struct CallEnv {
    /// The SIP stack's dialogs (each call registers and removes its own).
    pub dialogs: Arc<DialogLayer>,
    /// Our Contact URI for the 200 OK.
    pub contact: crate::sip::message::Uri,
    /// The RTP port range.
    pub ports: PortAllocator,
    /// Drives every leg's RTP from a few shared tasks (one per worker thread).
    pub media: Arc<MediaEngine>,
    /// The address written into SDP instead of the bound one (NAT, a public address).
    pub rtp_public_address: Option<IpAddr>,
    /// Media session settings (latching, jitter buffer, RTP timeout).
    pub session: SessionConfig,
    pub prompts: PromptCatalog,
    /// Data sources for dialplan lookups (`None` in demo mode).
    pub data: Option<Arc<DataSources>>,
    /// Speech recognition (`None`: keypad only).
    pub asr: Option<Arc<Pool>>,
    /// Text-to-speech for free text (`None`: free text is skipped).
    pub tts: Option<Arc<Tts>>,
    /// The dialplan calls run (`None`: the built-in demo).
    pub dialplans: Option<Arc<DialplanStore>>,
    /// How long the demo runs before it hangs up.
    pub demo_hangup_after: Duration,
    /// Answer delay, maximum duration, listening settings.
    pub settings: CallSettings,
    /// Cancelled when the server starts draining: calls hang up.
    pub draining: CancellationToken,
    /// The agent queues (`None`: transfers fail with "agent queues are not available").
    pub acd: Option<AcdHandle>,
    /// The context envelopes agents fetch over HTTP.
    pub contexts: Arc<ContextBoard>,
    /// Where agents fetch them: `http://HOST:PORT` (`None`: the HTTP API is off).
    pub http_base: std::sync::OnceLock<String>,
    /// Tickets, one per transfer (`None`: no database).
    pub tickets: Option<crate::data::Tickets>,
    /// Call detail records (`None`: `[cdr] enabled = false`).
    pub cdr: Option<crate::cdr::CdrWriter>,
    /// The figures `GET /metrics` shows.
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl CallEnv {
    /// Hands a call's start to the CDR writer.
    pub fn call_started(&self, start: crate::cdr::CallStart) {
        if let Some(cdr) = &self.cdr {
            cdr.call_started(start);
        }
    }

    /// Counts a finished call and hands its record to the CDR writer.
    pub fn call_ended(&self, record: crate::cdr::CallRecord) {
        self.metrics.call_ended(
            &record.end_reason,
            record.answered_at.is_some(),
            record.queue.is_some(),
        );
        if let Some(cdr) = &self.cdr {
            cdr.call_ended(record);
        }
    }

    /// A fresh behaviour for a new call: the current dialplan version, or the demo.
    pub fn behaviour(&self) -> Box<dyn super::Behaviour> {
        match &self.dialplans {
            Some(store) => Box::new(super::DialplanCall::new(crate::dialplan::Runtime::new(
                store.current(),
            ))),
            None => Box::new(super::Demo::new(self.demo_hangup_after)),
        }
    }
}
