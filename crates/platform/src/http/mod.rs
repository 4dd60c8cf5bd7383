//! The HTTP edge: one port, every service.
//!
//! - `server` — the router services register with ([`Service`], [`Routes`]), JSON-protocol
//!   dispatch by `X-Amz-Target` prefix, and the answer for what nothing serves.
//! - `protocol` — the four AWS protocols told apart, and an error rendered in each.
//! - `json` — the AWS JSON protocol's service trait; `error` — AWS error responses;
//!   `sigv4` — signature checks for servers given credentials.
//!
//! Architecture Invariant: requests are parsed into typed values once, in a service's
//! `wire/` module; nothing below it sees raw request JSON. The edge itself names no
//! service.

pub mod error;
pub mod json;
pub mod protocol;
mod server;
pub mod sigv4;

pub use error::ApiError;
pub use json::JsonService;
pub use server::{Api, MAX_REQUEST_BYTES, Routes, Service, serve, unserved_error};
