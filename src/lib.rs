//! Hotline: a telephony IVR and voice-routing server.
//!
//! The layout follows docs/architecture.md: protocol machines and business rules are pure
//! modules; `call` is the imperative shell that wires them to sockets and clocks.

pub mod acd;
pub mod asr;
pub mod call;
pub mod cdr;
pub mod config;
pub mod data;
pub mod dialplan;
pub mod media;
pub mod metrics;
pub mod nlu;
pub mod prompts;
pub mod server;
pub mod sip;
pub mod tts;
pub mod web;
