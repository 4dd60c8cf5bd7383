//! How services call each other without depending on each other's internals: executions
//! publish events (status changes, the `events:putEvents` task), rules start executions
//! (state machine targets) and invoke functions, SQS targets and tasks send messages,
//! event source mappings consume queues. Each trait is implemented by the service that
//! owns the behaviour; `baton serve` wires the real implementations together.
//!
//! Architecture Invariant: a service crate reaches another only through these traits;
//! the values that cross them are defined here, once.

pub mod events;
pub mod executions;
pub mod functions;
pub mod queues;

pub use events::{EventRejected, EventSink, OutgoingEvent};
pub use executions::ExecutionStarter;
pub use functions::{FunctionInvoker, FunctionResult, InvokeOptions};
pub use queues::{MessageSender, QueueConsumer, SqsError};

/// A failed cross-half call: an AWS error name and message the caller reports as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct BridgeError {
    pub code: String,
    pub message: String,
}
