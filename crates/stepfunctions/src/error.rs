//! Errors the Step Functions runtime answers with: AWS's error names and messages, so the
//! API layer only picks an HTTP status.

use baton_platform::store::StoreError;

/// An AWS Step Functions error: `code` is the `__type` AWS sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct SfnError {
    pub code: &'static str,
    pub message: String,
    /// The engine itself failed (the store, a bug): HTTP 500, not the caller's fault.
    pub internal: bool,
}

impl SfnError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        SfnError {
            code,
            message: message.into(),
            internal: false,
        }
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        SfnError {
            code: "InternalFailure",
            message: detail.to_string(),
            internal: true,
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        SfnError::new("ValidationException", message)
    }

    pub fn invalid_arn(arn: &str, reason: &str) -> Self {
        let _ = arn;
        SfnError::new("InvalidArn", format!("Invalid Arn: '{reason}'"))
    }

    pub fn invalid_name(name: &str) -> Self {
        SfnError::new("InvalidName", format!("Invalid Name: '{name}'"))
    }

    pub fn state_machine_does_not_exist(arn: &str) -> Self {
        SfnError::new(
            "StateMachineDoesNotExist",
            format!("State Machine Does Not Exist: '{arn}'"),
        )
    }

    pub fn execution_does_not_exist(arn: &str) -> Self {
        SfnError::new(
            "ExecutionDoesNotExist",
            format!("Execution Does Not Exist: '{arn}'"),
        )
    }

    pub fn activity_does_not_exist(arn: &str) -> Self {
        SfnError::new(
            "ActivityDoesNotExist",
            format!("Activity Does Not Exist: '{arn}'"),
        )
    }

    pub fn resource_not_found(arn: &str) -> Self {
        SfnError::new("ResourceNotFound", format!("Resource not found: '{arn}'"))
    }

    pub fn invalid_token(detail: &str) -> Self {
        SfnError::new("InvalidToken", format!("Invalid Token: '{detail}'"))
    }

    pub fn task_timed_out() -> Self {
        SfnError::new(
            "TaskTimedOut",
            "Task Timed Out: 'Provided task does not exist anymore'",
        )
    }

    pub fn invalid_execution_input(detail: &str) -> Self {
        SfnError::new(
            "InvalidExecutionInput",
            format!("Invalid State Machine Execution Input: '{detail}'"),
        )
    }
}

impl From<StoreError> for SfnError {
    fn from(e: StoreError) -> Self {
        SfnError::internal(e)
    }
}
