//! The multi-node store: several `baton serve` processes share one PostgreSQL database.
//! Work is claimed in batches with `FOR UPDATE SKIP LOCKED` under leases with expiry, so
//! a node that dies has its work taken over when its leases lapse.
//!
//! `db` is the engine room (pool, migrations, shared helpers); each area's tables and
//! trait implementations live in their own module, mirroring the SQLite store.

mod db;
mod event_sources;
pub mod events;
mod functions;
mod migrations;
mod queues;
mod sfn;

pub use db::{Database, POOL_SIZE, create_schema};
pub use events::PostgresEventsStore;
