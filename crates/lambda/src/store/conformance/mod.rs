//! The suites every backend of Lambda's stores runs on a fresh, empty store.

pub mod event_sources;
pub mod functions;
