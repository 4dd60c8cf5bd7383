//! The Lambda half of the bridges: how other services invoke functions (Lambda tasks,
//! Lambda rule targets, event source mappings) and what an invocation produced.

use async_trait::async_trait;

use super::BridgeError;

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
    ) -> Result<FunctionResult, BridgeError>;

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
    ) -> Result<(FunctionResult, Option<String>), BridgeError> {
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

/// What a function invocation produced.
#[derive(Debug, Clone, PartialEq)]
pub enum FunctionResult {
    /// The response payload bytes.
    Returned(Vec<u8>),
    /// The function raised: the error payload (`{"errorMessage", "errorType", …}`) and
    /// its `errorType`.
    Raised {
        error_type: String,
        payload: Vec<u8>,
    },
    /// No function by that name.
    NotFound { function_arn: String },
}
