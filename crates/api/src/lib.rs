//! The HTTP edge: the only crate that knows AWS wire shapes.
//!
//! One port serves every API. AWS JSON-protocol services (Step Functions, EventBridge,
//! SQS) are `POST /` requests told apart by their `X-Amz-Target` header
//! (`AWSStepFunctions.StartExecution`); each registers a [`JsonService`]. Errors go out
//! as AWS does it: an HTTP status and `{"__type": Code, "message": …}`.
//!
//! Architecture Invariant: inside this crate requests are parsed into typed values once
//! and handed to the runtime; nothing below it sees raw request JSON.

pub mod error;
pub mod events;
pub mod json_protocol;
pub mod lambda;
pub mod server;
pub mod sfn;
pub mod sigv4;
pub mod sqs;

pub use error::ApiError;
pub use json_protocol::JsonService;
pub use server::{Api, serve};
