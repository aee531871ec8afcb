//! Hotline's test bench: a caller bot (a small SIP user agent client of our own that dials,
//! plays a WAV file, records what it hears, sends RFC 4733 digits and hangs up), used by
//! the integration tests and by the `sip-testbench` benchmark command.

pub mod caller;
pub mod uac;
