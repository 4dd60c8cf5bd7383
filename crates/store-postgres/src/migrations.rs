//! Schema migrations: `.sql` files compiled in, applied once each, in name order, under
//! an advisory lock so nodes starting together do not race.

use baton_store::StoreError;
use deadpool_postgres::Object;

/// Every migration, in the order it applies. Same name ranges as the SQLite store
/// (`0xxx` core, `1xxx` Step Functions, `2xxx` event buses, `3xxx` functions, `4xxx` queues).
pub(crate) const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0000_schema_migrations",
        include_str!("../migrations/0000_schema_migrations.sql"),
    ),
    ("1000_sfn", include_str!("../migrations/1000_sfn.sql")),
    (
        "2000_event_buses",
        include_str!("../migrations/2000_event_buses.sql"),
    ),
    (
        "3000_functions",
        include_str!("../migrations/3000_functions.sql"),
    ),
    (
        "3001_function_async_claim_owner",
        include_str!("../migrations/3001_function_async_claim_owner.sql"),
    ),
    (
        "3100_event_source_mappings",
        include_str!("../migrations/3100_event_source_mappings.sql"),
    ),
    ("4000_queues", include_str!("../migrations/4000_queues.sql")),
];

/// Arbitrary, fixed: the key of the advisory lock that serialises migrations.
const MIGRATION_LOCK: i64 = 0x6261_746f_6e00;

pub async fn apply(conn: &mut Object) -> Result<(), StoreError> {
    conn.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            name TEXT PRIMARY KEY,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );",
    )
    .await
    .map_err(StoreError::backend)?;
    let mut sorted: Vec<&(&str, &str)> = MIGRATIONS.iter().collect();
    sorted.sort_by_key(|(name, _)| *name);
    for (name, sql) in sorted {
        let tx = conn.transaction().await.map_err(StoreError::backend)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(StoreError::backend)?;
        let done = tx
            .query_opt("SELECT 1 FROM schema_migrations WHERE name = $1", &[name])
            .await
            .map_err(StoreError::backend)?
            .is_some();
        if !done {
            tx.batch_execute(sql)
                .await
                .map_err(|e| StoreError::Backend(format!("migration {name}: {e}")))?;
            tx.execute("INSERT INTO schema_migrations (name) VALUES ($1)", &[name])
                .await
                .map_err(StoreError::backend)?;
        }
        tx.commit().await.map_err(StoreError::backend)?;
    }
    Ok(())
}
