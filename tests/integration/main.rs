//! One integration-test binary: conformance corpora and end-to-end tests.
mod events_conformance;
