//! What every service's store tests share: the PostgreSQL server `.ci/run` starts, and a
//! fresh schema of its own for each test. Test support only; nothing calls this at run
//! time.

#![allow(clippy::print_stderr)]

use super::Migration;
use super::postgres::{Database, create_schema};

/// Set by `.ci/run`, which starts a real PostgreSQL; without it the PostgreSQL tests are
/// skipped (and say so), as a developer machine may have none running.
pub fn postgres_url() -> Option<String> {
    let url = std::env::var("BATON_TEST_POSTGRES_URL").ok();
    if url.is_none() {
        eprintln!("skipped: BATON_TEST_POSTGRES_URL is not set");
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
    let url = postgres_url()?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() % 1_000_000_000);
    let schema = format!("t_{test}_{}_{nanos}", std::process::id());
    let url = create_schema(&url, &schema)
        .await
        .expect("creating a test schema on BATON_TEST_POSTGRES_URL");
    Some(
        Database::open_with_pool(&url, 4, services)
            .await
            .expect("opening the test schema"),
    )
}
