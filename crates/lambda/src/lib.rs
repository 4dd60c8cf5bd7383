//! Lambda-style functions run as real processes on this machine.
//!
//! A function is a stored definition plus a code package (a zip in the store, or —
//! Baton-only — a local directory run in place). Invoking it takes a warm execution
//! environment from the function's pool or starts one: a process tree running the
//! function's runtime (the package's `bootstrap`, or Baton's Python / Node.js shim),
//! speaking the AWS Lambda Runtime API to an endpoint Baton serves for it.
//!
//! - `model` — the definition; `code` — zip checks and unpacking; `shims` — the
//!   runtime shims compiled into the binary.
//! - `environment` — one environment: its process, running one invocation with the
//!   timeout; `runtime_api` — the Runtime API endpoint it serves the process; `pool` — one function's environments, bounded by
//!   its concurrency; `logs` — per-invocation logs with Lambda's REPORT lines.
//! - `service` — `Functions`: definitions through the store, synchronous invocation;
//!   `async_invoke` — durable `Event` invocations with retries and destinations;
//!   `invoker` — `FunctionInvoker` for Step Functions and EventBridge.
//! - `event_sources` — event source mappings: SQS queues polled through the
//!   `QueueConsumer` bridge, batches invoked through `FunctionInvoker`.
//! - `wire` — Lambda's REST API; `store` — the durable tables.
//!
//! Architecture Invariant: environments are per node and in memory; everything that
//! must survive a crash (definitions, code, accepted `Event` invocations, final
//! failures) is in the store before it is acknowledged.

pub mod async_invoke;
pub mod code;
pub mod environment;
pub mod error;
pub mod event_sources;
mod ids;
pub mod invoker;
pub mod logs;
pub mod model;
pub mod pool;
mod runtime_api;
pub mod service;
pub mod shims;
pub mod store;
pub mod wire;

pub use error::FunctionsError;
pub use service::{
    CodeInput, ConfigPatch, CreateFunction, Functions, InvokeOutcome, InvokeOutput, InvokeRequest,
    Settings,
};
