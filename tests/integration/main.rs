//! One integration-test binary: conformance corpora and end-to-end tests.

mod asl_conformance;
mod asl_test_state;
mod asl_validation;
mod cli_run;
mod events_api_archives;
mod events_api_buses;
mod events_api_connections;
mod events_api_crash;
mod events_api_support;
mod events_conformance;
mod functions_api;
mod functions_invoke;
mod functions_support;
mod jsonata_suite;
mod multi_node;
mod server;
mod server_basics;
mod sfn_api;
mod sfn_cli;
mod sfn_crash;
mod sfn_integrations;
mod sfn_support;
mod support;
