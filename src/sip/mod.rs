//! SIP signalling: a thin adapter over rsipstack (pinned exactly in Cargo.toml).
//!
//! Only this module names rsipstack types in its own logic; the call shell uses the
//! stack through `SipStack`, and requests the stack must not see are refused in `guard`.

pub mod admission;
mod contact;
pub mod digest;
pub mod dtmf_relay;
mod guard;
mod log_limit;
pub mod registrar;
pub mod reject;
mod stack;
mod stream_guard;
mod stream_limit;
pub mod tidy;

pub use guard::GuardStats;
pub use stack::{SipError, SipStack};

/// Re-exported so the call shell can name dialogs and transactions without depending on
/// rsipstack's module layout.
pub use rsipstack::dialog::dialog::{DialogState, TerminatedReason, TransactionHandle};
pub use rsipstack::dialog::dialog_layer::DialogLayer;
pub use rsipstack::dialog::invite_dialog::InviteDialog;
pub use rsipstack::sip as message;
pub use rsipstack::transaction::transaction::Transaction;
