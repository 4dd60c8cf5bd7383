//! `SqsError`: an SQS error as AWS names it. SQS speaks JSON but its SDKs still read the
//! old Query protocol's codes (`AWS.SimpleQueueService.NonExistentQueue`) from the
//! `x-amzn-query-error` header, so every error carries both names.

use crate::store::StoreError;

/// One SQS error: the JSON shape name (`__type` is `com.amazonaws.sqs#<shape>`), the
/// Query code the SDKs surface, and AWS's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{shape}: {message}")]
pub struct SqsError {
    pub shape: &'static str,
    pub query_code: &'static str,
    pub message: String,
    /// `false` only for Baton's own failures (a store error): HTTP 500.
    pub sender_fault: bool,
}

impl SqsError {
    fn new(shape: &'static str, query_code: &'static str, message: impl Into<String>) -> Self {
        SqsError {
            shape,
            query_code,
            message: message.into(),
            sender_fault: true,
        }
    }

    pub fn no_queue() -> Self {
        Self::new(
            "QueueDoesNotExist",
            "AWS.SimpleQueueService.NonExistentQueue",
            "The specified queue does not exist.",
        )
    }

    pub fn queue_exists(message: impl Into<String>) -> Self {
        Self::new("QueueNameExists", "QueueAlreadyExists", message)
    }

    pub fn deleted_recently() -> Self {
        Self::new(
            "QueueDeletedRecently",
            "AWS.SimpleQueueService.QueueDeletedRecently",
            "You must wait 60 seconds after deleting a queue before you can create another with the same name.",
        )
    }

    pub fn invalid_attribute_name(name: &str) -> Self {
        Self::new(
            "InvalidAttributeName",
            "InvalidAttributeName",
            format!("Unknown Attribute {name}."),
        )
    }

    pub fn invalid_attribute_value(message: impl Into<String>) -> Self {
        Self::new("InvalidAttributeValue", "InvalidAttributeValue", message)
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterValue", "InvalidParameterValue", message)
    }

    /// `Value <v> for parameter <p> is invalid. Reason: <reason>`.
    pub fn invalid_value(parameter: &str, value: impl std::fmt::Display, reason: &str) -> Self {
        Self::invalid_parameter(format!(
            "Value {value} for parameter {parameter} is invalid. Reason: {reason}"
        ))
    }

    pub fn missing(parameter: &str) -> Self {
        Self::new(
            "MissingParameter",
            "MissingParameter",
            format!("The request must contain the parameter {parameter}."),
        )
    }

    pub fn invalid_receipt_handle(handle: &str) -> Self {
        Self::new(
            "ReceiptHandleIsInvalid",
            "ReceiptHandleIsInvalid",
            format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
        )
    }

    pub fn not_in_flight() -> Self {
        Self::new(
            "MessageNotInflight",
            "AWS.SimpleQueueService.MessageNotInflight",
            "The message referred to isn't in flight.",
        )
    }

    pub fn purge_in_progress(queue: &str) -> Self {
        Self::new(
            "PurgeQueueInProgress",
            "AWS.SimpleQueueService.PurgeQueueInProgress",
            format!("Only one PurgeQueue operation on {queue} is allowed every 60 seconds."),
        )
    }

    pub fn invalid_contents(message: impl Into<String>) -> Self {
        Self::new("InvalidMessageContents", "InvalidMessageContents", message)
    }

    pub fn empty_batch(entry_shape: &str) -> Self {
        Self::new(
            "EmptyBatchRequest",
            "AWS.SimpleQueueService.EmptyBatchRequest",
            format!("There should be at least one {entry_shape} in the request."),
        )
    }

    pub fn too_many_entries(n: usize) -> Self {
        Self::new(
            "TooManyEntriesInBatchRequest",
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            format!("Maximum number of entries per request are 10. You have sent {n}."),
        )
    }

    pub fn ids_not_distinct(id: &str) -> Self {
        Self::new(
            "BatchEntryIdsNotDistinct",
            "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            format!("Id {id} repeated."),
        )
    }

    pub fn invalid_batch_id() -> Self {
        Self::new(
            "InvalidBatchEntryId",
            "AWS.SimpleQueueService.InvalidBatchEntryId",
            "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
        )
    }

    pub fn batch_too_long(limit: usize, got: usize) -> Self {
        Self::new(
            "BatchRequestTooLong",
            "AWS.SimpleQueueService.BatchRequestTooLong",
            format!(
                "Batch requests cannot be longer than {limit} bytes. You have sent {got} bytes."
            ),
        )
    }

    pub fn unsupported(operation: &str) -> Self {
        Self::new(
            "UnsupportedOperation",
            "AWS.SimpleQueueService.UnsupportedOperation",
            format!("{operation} is not supported."),
        )
    }

    /// Baton's own failure: logged, and answered as AWS's generic internal error.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "sqs internal error");
        SqsError {
            shape: "InternalFailure",
            query_code: "InternalFailure",
            message: "The request processing has failed because of an unknown error.".into(),
            sender_fault: false,
        }
    }
}

impl From<StoreError> for SqsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => SqsError::no_queue(),
            other => SqsError::internal(other),
        }
    }
}
