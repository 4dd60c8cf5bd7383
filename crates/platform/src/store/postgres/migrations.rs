//! Schema migrations: `.sql` files compiled in, applied once each, in name order, under
//! an advisory lock so nodes starting together do not race.

use deadpool_postgres::Object;

use crate::store::{Migration, StoreError};

/// Arbitrary, fixed: the key of the advisory lock that serialises migrations.
const MIGRATION_LOCK: i64 = 0x6261_746f_6e00;

pub(super) async fn apply(
    conn: &mut Object,
    services: &[&'static [Migration]],
) -> Result<(), StoreError> {
    conn.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            name TEXT PRIMARY KEY,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );",
    )
    .await
    .map_err(StoreError::backend)?;
    for Migration { name, sql } in crate::store::ordered(services)? {
        let tx = conn.transaction().await.map_err(StoreError::backend)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(StoreError::backend)?;
        let done = tx
            .query_opt("SELECT 1 FROM schema_migrations WHERE name = $1", &[&name])
            .await
            .map_err(StoreError::backend)?
            .is_some();
        if !done {
            tx.batch_execute(sql)
                .await
                .map_err(|e| StoreError::Backend(format!("migration {name}: {e}")))?;
            tx.execute("INSERT INTO schema_migrations (name) VALUES ($1)", &[&name])
                .await
                .map_err(StoreError::backend)?;
        }
        tx.commit().await.map_err(StoreError::backend)?;
    }
    Ok(())
}
