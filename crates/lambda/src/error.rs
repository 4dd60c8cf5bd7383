//! Why a functions operation did not happen. Each variant is one AWS error name; the
//! API layer picks the status and wire shape.

use baton_platform::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FunctionsError {
    /// `ResourceNotFoundException` (404).
    #[error("{0}")]
    NotFound(String),
    /// `ResourceConflictException` (409): the name is taken, or the function changed.
    #[error("{0}")]
    Conflict(String),
    /// `PreconditionFailedException` (412): a `RevisionId` that is no longer current.
    #[error("{0}")]
    PreconditionFailed(String),
    /// `InvalidParameterValueException` (400).
    #[error("{0}")]
    InvalidParameter(String),
    /// `ValidationException` (400): a field breaks its declared constraint.
    #[error("{0}")]
    Validation(String),
    /// `TooManyRequestsException` (429), with Lambda's `Reason`.
    #[error("{message}")]
    Throttled {
        reason: &'static str,
        message: String,
    },
    /// `RequestTooLargeException` (413).
    #[error("{0}")]
    TooLarge(String),
    /// `ServiceException` (500): Baton itself failed (the details are logged).
    #[error("{0}")]
    Internal(String),
}

impl FunctionsError {
    /// The AWS error name.
    pub fn code(&self) -> &'static str {
        match self {
            FunctionsError::NotFound(_) => "ResourceNotFoundException",
            FunctionsError::Conflict(_) => "ResourceConflictException",
            FunctionsError::PreconditionFailed(_) => "PreconditionFailedException",
            FunctionsError::InvalidParameter(_) => "InvalidParameterValueException",
            FunctionsError::Validation(_) => "ValidationException",
            FunctionsError::Throttled { .. } => "TooManyRequestsException",
            FunctionsError::TooLarge(_) => "RequestTooLargeException",
            FunctionsError::Internal(_) => "ServiceException",
        }
    }

    pub(crate) fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "functions: internal error");
        FunctionsError::Internal(
            "The request processing has failed because of an unknown error.".into(),
        )
    }
}

impl From<StoreError> for FunctionsError {
    fn from(e: StoreError) -> Self {
        FunctionsError::internal(e)
    }
}
