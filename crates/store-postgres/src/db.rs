//! The connection pool, migrations and the helpers every area's module shares.
//!
//! Why no writer thread as in SQLite: PostgreSQL takes concurrent writers and batches
//! their commits' WAL flushes itself (group commit across connections), so each store
//! call runs its own transaction on a pooled connection. Hot paths send their
//! statements pipelined (prepared once per connection, then sent together without
//! waiting for each answer) so a step costs a few round trips, not one per row.

use baton_store::StoreError;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use crate::migrations;

/// Connections kept in the pool by default.
pub const POOL_SIZE: usize = 16;

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
}

impl Database {
    /// Connects to `url` (`postgres://user@host:port/db`, optionally with
    /// `?options=-c%20search_path%3Dschema`) and applies pending migrations.
    pub async fn open(url: &str) -> Result<Database, StoreError> {
        Database::open_with_pool(url, POOL_SIZE).await
    }

    /// [`Database::open`] with at most `pool_size` connections.
    pub async fn open_with_pool(url: &str, pool_size: usize) -> Result<Database, StoreError> {
        let config: tokio_postgres::Config = url.parse().map_err(StoreError::backend)?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .build()
            .map_err(StoreError::backend)?;
        let db = Database { pool };
        let mut conn = db.conn().await?;
        migrations::apply(&mut conn).await?;
        Ok(db)
    }

    /// A pooled connection.
    pub async fn conn(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(StoreError::backend)
    }

    /// Closes the pool: idle connections are dropped, busy ones when they come back.
    pub fn close(&self) {
        self.pool.close();
    }
}

/// Any database error as a backend failure.
pub(crate) fn pg(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Backend(format!("postgres: {}", db.message())),
        None => StoreError::backend(e),
    }
}

pub(crate) fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// Limits and counts as PostgreSQL's BIGINT.
pub(crate) fn big(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Creates `schema` (if missing) in the database at `url` and returns a URL whose
/// connections use it, so tests (and several independent deployments) can share one
/// database without seeing each other's tables.
pub async fn create_schema(url: &str, schema: &str) -> Result<String, StoreError> {
    if schema.is_empty()
        || !schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(StoreError::Backend(format!(
            "schema name {schema:?}: use lowercase letters, digits and _"
        )));
    }
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(StoreError::backend)?;
    let driver = tokio::spawn(connection);
    let created = client
        .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .await
        .map_err(pg);
    drop(client);
    let _ = driver.await;
    created?;
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}options=-c%20search_path%3D{schema}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::print_stderr)]
pub(crate) mod tests {
    use super::*;

    /// Set by `.ci/run`, which starts a real PostgreSQL; without it the tests are skipped
    /// (and say so), as a developer machine may have none running.
    pub(crate) fn url() -> Option<String> {
        let url = std::env::var("BATON_TEST_POSTGRES_URL").ok();
        if url.is_none() {
            eprintln!("skipped: BATON_TEST_POSTGRES_URL is not set");
        }
        url
    }

    /// A fresh, empty store of its own for one test (a new schema), so tests run in
    /// parallel on one server.
    pub(crate) async fn fresh(test: &str) -> Option<Database> {
        let url = url()?;
        let schema = format!(
            "t_{test}_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
                % 1_000_000_000
        );
        let url = create_schema(&url, &schema).await.unwrap();
        Some(Database::open_with_pool(&url, 4).await.unwrap())
    }

    #[tokio::test]
    async fn opens_migrates_twice_and_round_trips() {
        let Some(url) = url() else {
            return;
        };
        let url = create_schema(&url, &format!("t_migrate_{}", std::process::id()))
            .await
            .unwrap();
        let db = Database::open(&url).await.unwrap();
        // A second open must find every migration applied.
        let db2 = Database::open(&url).await.unwrap();
        let conn = db2.conn().await.unwrap();
        let n: i64 = conn
            .query_one("SELECT COUNT(*) FROM schema_migrations", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            n,
            i64::try_from(crate::migrations::MIGRATIONS.len()).unwrap(),
            "each migration recorded once"
        );
        let conn = db.conn().await.unwrap();
        let v: i32 = conn.query_one("SELECT 41 + 1", &[]).await.unwrap().get(0);
        assert_eq!(v, 42);
    }
}
