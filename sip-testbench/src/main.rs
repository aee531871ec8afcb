//! `sip-testbench`: call the server as a caller bot, or benchmark it.
fn main() {}
