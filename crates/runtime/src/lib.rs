//! The imperative shell around the pure cores.
//!
//! `local` is the in-process driver that `baton run` and the conformance tests use: a
//! virtual (or real) clock, task handlers (mocked responses, in-process functions).
//! `lambda` holds the Lambda integration's result shapes; `bridge` the traits through
//! which executions and event buses call each other.

pub mod bridge;
pub mod bus;
pub mod entropy;
pub mod event_sources;
pub mod lambda;
pub mod local;
pub mod mock;
pub mod queues;
pub mod sfn;
