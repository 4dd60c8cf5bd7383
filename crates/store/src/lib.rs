//! Storage contracts.
//!
//! Each area of Baton (state machines and executions, event buses, …) has narrow traits
//! here, each method with a `# Contract` section that every backend honours. Backends
//! (`store-sqlite`, the embedded default; `store-postgres`, for several nodes) implement
//! them, and `conformance` holds the one test suite all of them run.
//!
//! Architecture Invariant: the runtime sees only these traits; no SQL leaves a backend.

pub mod error;
pub mod event_sources;
pub mod event_sources_conformance;
pub mod functions;
pub mod functions_conformance;
pub mod queues;
pub mod queues_conformance;
pub mod sfn;
pub mod sfn_conformance;

pub use error::StoreError;
pub mod events;
pub mod events_conformance;
