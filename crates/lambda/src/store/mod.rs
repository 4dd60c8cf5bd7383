//! Lambda's durable tables: functions (definitions, code, the asynchronous invocation
//! queue and its final failures) and event source mappings, each a store trait with its
//! `# Contract` docs ([`functions`], [`event_sources`]), its conformance suite
//! ([`conformance`]) and its SQLite and PostgreSQL implementations.

pub mod conformance;
pub mod event_sources;
pub mod functions;
mod postgres;
mod sqlite;

use baton_platform::store::{Migration, Migrations};

/// The function and event source mapping tables, for each backend.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        Migration {
            name: "3000_functions",
            sql: include_str!("migrations/sqlite/3000_functions.sql"),
        },
        Migration {
            name: "3001_function_async_claim_owner",
            sql: include_str!("migrations/sqlite/3001_function_async_claim_owner.sql"),
        },
        Migration {
            name: "3100_event_source_mappings",
            sql: include_str!("migrations/sqlite/3100_event_source_mappings.sql"),
        },
    ],
    postgres: &[
        Migration {
            name: "3000_functions",
            sql: include_str!("migrations/postgres/3000_functions.sql"),
        },
        Migration {
            name: "3001_function_async_claim_owner",
            sql: include_str!("migrations/postgres/3001_function_async_claim_owner.sql"),
        },
        Migration {
            name: "3100_event_source_mappings",
            sql: include_str!("migrations/postgres/3100_event_source_mappings.sql"),
        },
    ],
};
