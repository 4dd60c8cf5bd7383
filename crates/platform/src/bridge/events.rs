//! The bus half of the bridges: how other services put events on a bus (Step Functions
//! status changes and `events:putEvents` tasks).

use async_trait::async_trait;
use serde_json::Value;

use super::BridgeError;

/// One event to put on a bus: the PutEvents entry fields.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingEvent {
    /// Bus name or ARN; `None` is the default bus.
    pub event_bus: Option<String>,
    pub source: String,
    pub detail_type: String,
    /// The `Detail` JSON object.
    pub detail: Value,
    pub resources: Vec<String>,
}

/// Why an event was not accepted, per entry, as PutEvents reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRejected {
    pub error_code: String,
    pub error_message: String,
}

/// Puts events on a bus. Implemented by the event bus runtime.
#[async_trait]
pub trait EventSink: Send + Sync + 'static {
    /// # Contract
    /// An `Ok(Ok(event_id))` entry is durable when this returns (an acknowledged event is
    /// delivered to every matching target eventually). Results are in entry order.
    async fn put_events(
        &self,
        events: Vec<OutgoingEvent>,
    ) -> Result<Vec<Result<String, EventRejected>>, BridgeError>;
}
