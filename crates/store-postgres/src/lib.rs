//! The multi-node store: several `baton serve` processes share one PostgreSQL database.
//! Work is claimed in batches with `FOR UPDATE SKIP LOCKED` under leases with expiry, so
//! a node that dies has its work taken over when its leases lapse.
//!
//! `db` is the engine room (pool, migrations, transactions); each area's tables and
//! trait implementations live in their own module.

mod db;
mod migrations;

pub use db::Database;
