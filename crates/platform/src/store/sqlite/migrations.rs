//! The SQLite migration runner: the platform's and every service's `.sql` files
//! (compiled into their crates), applied once each, in name order.

use rusqlite::Connection;

use crate::store::{Migration, StoreError};

/// Applies the migrations not yet recorded in `schema_migrations`.
pub(super) fn apply(
    conn: &mut Connection,
    services: &[&'static [Migration]],
) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            name TEXT PRIMARY KEY,
            applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );",
    )
    .map_err(StoreError::backend)?;
    for Migration { name, sql } in crate::store::ordered(services)? {
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
