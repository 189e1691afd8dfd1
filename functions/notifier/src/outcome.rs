//! What delivering one event to one channel came to.

/// What happened for one channel of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelOutcome {
    Delivered {
        attempts: u32,
    },
    /// An earlier delivery of this event already reached the channel.
    AlreadyDelivered,
    /// Another invocation holds the claim for this (event, channel) right now.
    InProgressElsewhere,
    Rejected {
        attempts: u32,
        reason: String,
    },
    GaveUp {
        attempts: u32,
        reason: String,
    },
    /// The idempotency store could not be read or written.
    StoreFailed {
        reason: String,
    },
}

impl ChannelOutcome {
    /// Worth another delivery of the record.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ChannelOutcome::InProgressElsewhere
                | ChannelOutcome::GaveUp { .. }
                | ChannelOutcome::StoreFailed { .. }
        )
    }
}
