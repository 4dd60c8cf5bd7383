//! The Step Functions half of the bridges: how other services start executions (rule
//! targets, and later pipes and schedules).

use async_trait::async_trait;

use super::BridgeError;

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
