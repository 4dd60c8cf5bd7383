//! The AWS JSON protocol: `POST /`, `X-Amz-Target: <Prefix>.<Operation>`, a JSON body,
//! a JSON answer.

use async_trait::async_trait;
use serde_json::Value;

use super::error::ApiError;

/// A service spoken over the AWS JSON protocol.
#[async_trait]
pub trait JsonService: Send + Sync + 'static {
    /// The `X-Amz-Target` prefix: `AWSStepFunctions`, `AWSEvents`, `AmazonSQS`.
    fn target_prefix(&self) -> &'static str;

    /// `application/x-amz-json-1.0` or `-1.1`, as the service's SDKs expect.
    fn content_type(&self) -> &'static str {
        "application/x-amz-json-1.0"
    }

    /// Runs one operation. `body` is the parsed request (an object).
    async fn call(&self, operation: &str, body: Value) -> Result<Value, ApiError>;
}

/// Splits `AWSStepFunctions.StartExecution` into prefix and operation.
pub fn split_target(target: &str) -> Option<(&str, &str)> {
    let (prefix, op) = target.rsplit_once('.')?;
    if prefix.is_empty() || op.is_empty() {
        return None;
    }
    Some((prefix, op))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_at_the_last_dot() {
        assert_eq!(
            split_target("AWSStepFunctions.StartExecution"),
            Some(("AWSStepFunctions", "StartExecution"))
        );
        assert_eq!(split_target("NoDot"), None);
        assert_eq!(split_target("Trailing."), None);
    }
}
