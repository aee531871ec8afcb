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
}
