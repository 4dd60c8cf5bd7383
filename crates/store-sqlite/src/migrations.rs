//! Schema migrations: `.sql` files compiled in, applied once each, in name order.
//!
//! Names carry a range per area (`0xxx` core, `1xxx` state machines and executions,
//! `2xxx` event buses, …) so areas add migrations without renumbering each other's.

use baton_store::StoreError;
use rusqlite::Connection;

/// Every migration, in the order it applies.
const MIGRATIONS: &[(&str, &str)] = &[
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

/// Applies the migrations not yet recorded in `schema_migrations`.
pub fn apply(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            name TEXT PRIMARY KEY,
            applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );",
    )
    .map_err(StoreError::backend)?;
    let mut sorted: Vec<&(&str, &str)> = MIGRATIONS.iter().collect();
    sorted.sort_by_key(|(name, _)| *name);
    for (name, sql) in sorted {
        let tx = conn.transaction().map_err(StoreError::backend)?;
        let done: bool = tx
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE name = ?1)",
                [name],
                |r| r.get(0),
            )
            .map_err(StoreError::backend)?;
        if !done {
            tx.execute_batch(sql)
                .map_err(|e| StoreError::Backend(format!("migration {name}: {e}")))?;
            tx.execute("INSERT INTO schema_migrations (name) VALUES (?1)", [name])
                .map_err(StoreError::backend)?;
        }
        tx.commit().map_err(StoreError::backend)?;
    }
    Ok(())
}
