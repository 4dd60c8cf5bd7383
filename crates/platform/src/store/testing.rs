//! What every service's store tests share: the PostgreSQL server `.ci/run` starts, and a
//! fresh schema of its own for each test. Test support only; nothing calls this at run
//! time.

#![allow(clippy::print_stderr)]

use std::sync::atomic::{AtomicU64, Ordering};

use super::Migration;
use super::postgres::{Database, create_schema};

/// Set by `.ci/run`, which starts a real PostgreSQL; without it the PostgreSQL tests are
/// skipped (and say so, naming `test`), as a developer machine may have none running.
pub fn postgres_url(test: &str) -> Option<String> {
    let url = std::env::var("BATON_TEST_POSTGRES_URL").ok();
    if url.is_none() {
        eprintln!("skipped {test}: BATON_TEST_POSTGRES_URL is not set");
    }
    url
}

/// A fresh, empty PostgreSQL store of its own for one test (a new schema, with
/// `services`' migrations applied), so tests run in parallel on one server. `None` when
/// no server is configured.
///
/// # Panics
/// When the configured server cannot be reached: a test that should run must not pass
/// by skipping.
pub async fn fresh_postgres(test: &str, services: &[&'static [Migration]]) -> Option<Database> {
    let url = fresh_schema_url(&format!("t_{test}")).await?;
    Some(
        Database::open_with_pool(&url, 4, services)
            .await
            .expect("opening the test schema"),
    )
}

/// A URL whose connections use a new, empty schema named after `test` (unique within
/// the server: process id, time and a counter), for a store or a whole `baton serve`.
/// `None` when no server is configured.
///
/// # Panics
/// When the configured server cannot be reached.
pub async fn fresh_schema_url(test: &str) -> Option<String> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let url = postgres_url(test)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() % 1_000_000_000);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let schema = format!("{test}_{}_{nanos}_{seq}", std::process::id());
    Some(
        create_schema(&url, &schema)
            .await
            .unwrap_or_else(|e| panic!("creating schema {schema}: {e}")),
    )
}
