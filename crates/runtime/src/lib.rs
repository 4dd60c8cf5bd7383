//! The imperative shell around the pure cores.
//!
//! For now it holds the in-process driver that `baton run` and the conformance tests
//! use: a virtual (or real) clock, task handlers (mocked responses, in-process
//! functions), and the Lambda integration's result shapes.

pub mod entropy;
pub mod lambda;
pub mod local;
pub mod mock;
