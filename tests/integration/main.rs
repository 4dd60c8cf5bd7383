//! One integration-test binary: conformance corpora and end-to-end tests.

mod asl_conformance;
mod asl_test_state;
mod asl_validation;
mod cli_run;
mod events_conformance;
mod functions_api;
mod functions_invoke;
mod functions_support;
mod jsonata_suite;
mod server;
mod server_basics;
mod support;
