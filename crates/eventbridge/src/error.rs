//! Errors of event bus operations: AWS's error name and message, which the API layer
//! sends as they are (HTTP 400, or 500 for `InternalException`).

use baton_platform::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct BusError {
    pub code: &'static str,
    pub message: String,
}

impl BusError {
    pub fn new(code: &'static str, message: impl Into<String>) -> BusError {
        BusError {
            code,
            message: message.into(),
        }
    }

    pub fn validation(message: impl Into<String>) -> BusError {
        BusError::new("ValidationException", message)
    }

    pub fn not_found(message: impl Into<String>) -> BusError {
        BusError::new("ResourceNotFoundException", message)
    }

    pub fn already_exists(message: impl Into<String>) -> BusError {
        BusError::new("ResourceAlreadyExistsException", message)
    }

    pub fn limit_exceeded(message: impl Into<String>) -> BusError {
        BusError::new("LimitExceededException", message)
    }

    pub fn bus_not_found(bus: &str) -> BusError {
        BusError::not_found(format!("Event bus {bus} does not exist."))
    }

    pub fn rule_not_found(rule: &str, bus: &str) -> BusError {
        BusError::not_found(format!("Rule {rule} does not exist on EventBus {bus}."))
    }

    /// A failure of Baton itself; the detail goes to the log, not to the caller.
    pub fn internal(detail: impl std::fmt::Display) -> BusError {
        tracing::error!(%detail, "event bus internal error");
        BusError::new(
            "InternalException",
            "Service encountered unexpected problem. Please try again.",
        )
    }

    pub fn is_internal(&self) -> bool {
        self.code == "InternalException"
    }
}

impl From<StoreError> for BusError {
    fn from(e: StoreError) -> Self {
        BusError::internal(e)
    }
}
