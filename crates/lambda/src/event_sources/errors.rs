//! Why an event source mapping operation did not happen: Lambda's error name, message
//! and HTTP status.

/// A Lambda error as the API layer sends it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct MappingError {
    pub code: &'static str,
    pub message: String,
    pub status: u16,
}

impl MappingError {
    /// `InvalidParameterValueException` (400).
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        MappingError {
            code: "InvalidParameterValueException",
            message: message.into(),
            status: 400,
        }
    }

    /// `ValidationException` (400): a field breaks its declared constraint.
    pub fn validation(message: impl Into<String>) -> Self {
        MappingError {
            code: "ValidationException",
            message: message.into(),
            status: 400,
        }
    }

    /// `ResourceNotFoundException` (404): no mapping with that UUID.
    pub fn not_found() -> Self {
        MappingError {
            code: "ResourceNotFoundException",
            message: "The resource you requested does not exist.".into(),
            status: 404,
        }
    }

    /// `ResourceConflictException` (409).
    pub fn conflict(message: impl Into<String>) -> Self {
        MappingError {
            code: "ResourceConflictException",
            message: message.into(),
            status: 409,
        }
    }

    /// `ServiceException` (500): Baton itself failed; the detail is logged.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "event source mappings: internal error");
        MappingError {
            code: "ServiceException",
            message: "The request processing has failed because of an unknown error.".into(),
            status: 500,
        }
    }
}

impl From<baton_platform::store::StoreError> for MappingError {
    fn from(e: baton_platform::store::StoreError) -> Self {
        MappingError::internal(e)
    }
}
