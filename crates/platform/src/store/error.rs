//! Errors a store reports. Domain outcomes (a missing execution, a name already taken)
//! are variants the API layer maps to AWS error names; everything else is `Backend`.

/// What went wrong in a store call.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("{0} does not exist")]
    NotFound(String),
    /// A uniqueness rule was broken (a name or id already used).
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// An optimistic-concurrency check failed: someone else changed the row first.
    #[error("conflicting update to {0}")]
    Conflict(String),
    /// The backend could not do its job (I/O, corruption, lost connection).
    #[error("store backend failed: {0}")]
    Backend(String),
}

impl StoreError {
    pub fn backend(e: impl std::fmt::Display) -> Self {
        StoreError::Backend(e.to_string())
    }
}
