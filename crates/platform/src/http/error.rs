//! AWS error responses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::protocol::WireError;

/// An error as AWS returns it: status, error code (`__type`) and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    /// AWS's error name: `InvalidDefinition`, `ExecutionDoesNotExist`, …
    pub code: String,
    pub message: String,
    /// The Query protocol's code and fault (`AWS.SimpleQueueService.NonExistentQueue;Sender`),
    /// sent as `x-amzn-query-error` by JSON services whose SDKs still read Query codes (SQS).
    pub query_error: Option<String>,
}

impl ApiError {
    /// A client error (HTTP 400), the status of nearly every AWS service error.
    pub fn client(code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: code.into(),
            message: message.into(),
            query_error: None,
        }
    }

    /// A server-side failure (HTTP 500). The message is generic: details go to the log.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "InternalFailure".into(),
            message: "The request processing has failed because of an unknown error.".into(),
            query_error: None,
        }
    }

    /// The request body is not the JSON the operation expects.
    pub fn serialization(message: impl Into<String>) -> Self {
        ApiError::client("SerializationException", message)
    }

    /// A parameter is missing or malformed.
    pub fn validation(message: impl Into<String>) -> Self {
        ApiError::client("ValidationException", message)
    }

    /// An operation Baton does not serve, of a service it may or may not serve. Every
    /// such answer names both, so a user sees at once what is missing.
    pub fn unknown_operation(service: &str, operation: &str) -> Self {
        ApiError::client(
            "UnknownOperationException",
            format!("Baton does not serve the operation {operation} of {service}"),
        )
    }

    /// The same error, to render in another protocol than JSON.
    pub fn to_wire(&self) -> WireError {
        WireError {
            status: self.status,
            code: self.code.clone(),
            message: self.message.clone(),
            sender_fault: self.status.is_client_error(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"__type": self.code, "message": self.message});
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/x-amz-json-1.0"),
        );
        if let Ok(v) = axum::http::HeaderValue::from_str(&self.code) {
            headers.insert("x-amzn-errortype", v);
        }
        if let Some(v) = self
            .query_error
            .as_deref()
            .and_then(|q| axum::http::HeaderValue::from_str(q).ok())
        {
            headers.insert("x-amzn-query-error", v);
        }
        response
    }
}
