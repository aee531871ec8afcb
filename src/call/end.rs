//! Why a call ended, for the log and the CDR.

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    CallerHungUp,
    Cancelled,
    MaxDuration,
    DemoFinished,
    MediaTimeout,
    Shutdown,
    NoAck,
    Refused,
    DialplanHangup,
    /// The agent hung up a bridged call.
    AgentHungUp,
}

impl EndReason {
    /// Whether the far end ended the dialog (no BYE of ours is needed).
    pub fn by_caller(self) -> bool {
        matches!(
            self,
            EndReason::CallerHungUp | EndReason::NoAck | EndReason::Cancelled
        )
    }

    /// The record's wording.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::CallerHungUp => "caller hung up",
            EndReason::Cancelled => "cancelled",
            EndReason::MaxDuration => "maximum duration",
            EndReason::DemoFinished => "demo finished",
            EndReason::MediaTimeout => "media timeout",
            EndReason::Shutdown => "server shutting down",
            EndReason::NoAck => "no ACK",
            EndReason::Refused => "refused",
            EndReason::DialplanHangup => "dialplan hung up",
            EndReason::AgentHungUp => "agent hung up",
        }
    }
}
