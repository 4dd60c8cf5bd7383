//! How the orchestration and choreography halves call each other without depending on
//! each other's internals: executions publish events (status changes, the
//! `events:putEvents` task) and rules start executions (state machine targets).
//! `baton serve` wires the real implementations together.

use async_trait::async_trait;
use serde_json::Value;

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

/// Starts executions. Implemented by the Step Functions runtime.
#[async_trait]
pub trait ExecutionStarter: Send + Sync + 'static {
    /// Starts an execution of `state_machine_arn` with `input` (JSON text).
    ///
    /// # Contract
    /// Idempotent by `name` as StartExecution is: the same name and input return the same
    /// execution ARN. When this returns `Ok`, the execution is durable.
    async fn start_execution(
        &self,
        state_machine_arn: &str,
        input: &str,
        name: Option<&str>,
    ) -> Result<String, BridgeError>;
}

/// A failed cross-half call: an AWS error name and message the caller reports as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct BridgeError {
    pub code: String,
    pub message: String,
}

/// Invokes functions. Implemented by the functions runtime; the Step Functions runtime
/// calls it for Lambda tasks, the bus for Lambda targets.
#[async_trait]
pub trait FunctionInvoker: Send + Sync + 'static {
    /// Runs `function` (a name, ARN or partial ARN, with an optional `:qualifier`)
    /// synchronously with `payload` (the request body bytes) and returns what the
    /// function produced; `request_id` identifies the invocation in logs.
    ///
    /// # Contract
    /// `Ok(FunctionResult::Raised { .. })` is the function's own error (including
    /// `Sandbox.Timedout` and init failures); `Err` is a failure to invoke at all
    /// (unknown function → `ResourceNotFoundException`, throttled →
    /// `TooManyRequestsException`), with AWS's error name.
    async fn invoke(
        &self,
        function: &str,
        payload: Vec<u8>,
        request_id: &str,
    ) -> Result<crate::lambda::FunctionResult, BridgeError>;

    /// [`FunctionInvoker::invoke`] with Invoke's options (`LogType`, `ClientContext`);
    /// also returns the base64 log tail when `options.log_tail` asks for it.
    ///
    /// # Contract
    /// As `invoke`. The default ignores the options.
    async fn invoke_with(
        &self,
        function: &str,
        payload: Vec<u8>,
        request_id: &str,
        options: InvokeOptions,
    ) -> Result<(crate::lambda::FunctionResult, Option<String>), BridgeError> {
        let _ = options;
        Ok((self.invoke(function, payload, request_id).await?, None))
    }

    /// Queues an asynchronous (`Event`) invocation; it is durable when this returns.
    async fn invoke_async(&self, function: &str, payload: Vec<u8>) -> Result<String, BridgeError>;
}

/// Invoke's options a Lambda task may set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvokeOptions {
    /// `LogType: Tail`: return the last 4 KB of the invocation's log.
    pub log_tail: bool,
    /// `ClientContext`: base64 JSON handed to the function as is.
    pub client_context: Option<String>,
}

/// Sends messages to SQS queues. Implemented by the queues runtime; the buses call it
/// for SQS targets and dead-letter queues, Step Functions for `sqs:sendMessage`.
#[async_trait]
pub trait MessageSender: Send + Sync + 'static {
    /// Sends one message to `queue` (a queue URL or ARN of this server's account).
    ///
    /// # Contract
    /// `Ok` means the message is stored (durable) and visible to receives once its delay
    /// ends. `Err` is SendMessage's own error for the same request, with SQS's names.
    async fn send_message(
        &self,
        queue: &str,
        message: crate::queues::messages::SendRequest,
    ) -> Result<crate::queues::messages::SendResult, crate::queues::SqsError>;
}
