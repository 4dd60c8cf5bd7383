//! The connection pool, migrations and the helpers every area's module shares.
//!
//! Why no writer thread as in SQLite: PostgreSQL takes concurrent writers and batches
//! their commits' WAL flushes itself (group commit across connections), so each store
//! call runs its own transaction on a pooled connection. Hot paths send their
//! statements pipelined (prepared once per connection, then sent together without
//! waiting for each answer) so a step costs a few round trips, not one per row.

use crate::store::{Migration, StoreError};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

mod migrations;

/// Connections kept in the pool by default.
pub const POOL_SIZE: usize = 16;

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
}

impl Database {
    /// Connects to `url` (`postgres://user@host:port/db`, optionally with
    /// `?options=-c%20search_path%3Dschema`) and applies the platform's and the given
    /// services' pending migrations.
    pub async fn open(
        url: &str,
        services: &[&'static [Migration]],
    ) -> Result<Database, StoreError> {
        Database::open_with_pool(url, POOL_SIZE, services).await
    }

    /// [`Database::open`] with at most `pool_size` connections.
    pub async fn open_with_pool(
        url: &str,
        pool_size: usize,
        services: &[&'static [Migration]],
    ) -> Result<Database, StoreError> {
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
        migrations::apply(&mut conn, services).await?;
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
pub fn pg(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Backend(format!("postgres: {}", db.message())),
        None => StoreError::backend(e),
    }
}

pub fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// Limits and counts as PostgreSQL's BIGINT.
pub fn big(n: usize) -> i64 {
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::store::testing::postgres_url;

    const SAMPLE: &[Migration] = &[Migration {
        name: "9000_sample",
        sql: "CREATE TABLE sample (k INTEGER PRIMARY KEY);",
    }];

    #[tokio::test]
    async fn opens_migrates_twice_and_round_trips() {
        let Some(url) = postgres_url("opens_migrates_twice_and_round_trips") else {
            return;
        };
        let url = create_schema(&url, &format!("t_migrate_{}", std::process::id()))
            .await
            .unwrap();
        let db = Database::open(&url, &[SAMPLE]).await.unwrap();
        // A second open must find every migration applied.
        let db2 = Database::open(&url, &[SAMPLE]).await.unwrap();
        let conn = db2.conn().await.unwrap();
        let n: i64 = conn
            .query_one("SELECT COUNT(*) FROM schema_migrations", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            n, 2,
            "each migration recorded once (the core one and the sample)"
        );
        let conn = db.conn().await.unwrap();
        let v: i32 = conn.query_one("SELECT 41 + 1", &[]).await.unwrap().get(0);
        assert_eq!(v, 42);
    }
}
