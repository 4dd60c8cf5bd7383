//! The connection pool and migrations.

use baton_store::StoreError;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use crate::migrations;

/// Connections kept in the pool.
pub const POOL_SIZE: usize = 16;

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
}

impl Database {
    /// Connects to `url` (`postgres://user@host:port/db`) and applies pending migrations.
    pub async fn open(url: &str) -> Result<Database, StoreError> {
        let config: tokio_postgres::Config = url.parse().map_err(StoreError::backend)?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
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
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::print_stderr)]
mod tests {
    use super::*;

    /// Set by `.ci/run`, which starts a real PostgreSQL; without it the test is skipped
    /// (and says so), as a developer machine may have none running.
    fn url() -> Option<String> {
        std::env::var("BATON_TEST_POSTGRES_URL").ok()
    }

    #[tokio::test]
    async fn opens_migrates_twice_and_round_trips() {
        let Some(url) = url() else {
            eprintln!("skipped: BATON_TEST_POSTGRES_URL is not set");
            return;
        };
        let db = Database::open(&url).await.unwrap();
        // A second open must find every migration applied.
        let db2 = Database::open(&url).await.unwrap();
        let conn = db2.conn().await.unwrap();
        let n: i64 = conn
            .query_one(
                "SELECT COUNT(*) FROM schema_migrations WHERE name = '0000_schema_migrations'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 1);
        let conn = db.conn().await.unwrap();
        let v: i32 = conn.query_one("SELECT 41 + 1", &[]).await.unwrap().get(0);
        assert_eq!(v, 42);
    }
}
