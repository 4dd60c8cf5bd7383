//! The embedded store: one SQLite file under the data directory.
//!
//! `db` is the engine room (writer thread with group commit, read pool, migrations);
//! each area's tables and trait implementations live in their own module.

mod db;
mod event_sources;
mod functions;
mod migrations;
mod queues;
mod sfn;

pub use db::{Database, MAX_BATCH_JOBS};
pub mod events;
pub use events::SqliteEventsStore;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use baton_store::StoreError;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_are_batched_and_a_failing_job_does_not_undo_others() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("baton.db")).unwrap();
        db.write(|tx| {
            tx.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
                .map_err(StoreError::backend)
        })
        .await
        .unwrap();

        let mut handles = Vec::new();
        for k in 0..200i64 {
            let db = db.clone();
            handles.push(tokio::spawn(async move {
                db.write(move |tx| {
                    tx.execute("INSERT INTO t (k, v) VALUES (?1, 'x')", [k])
                        .map_err(StoreError::backend)?;
                    if k % 10 == 0 {
                        return Err(StoreError::Conflict(format!("job {k}")));
                    }
                    Ok(k)
                })
                .await
            }));
        }
        let mut ok = 0;
        for h in handles {
            if h.await.unwrap().is_ok() {
                ok += 1;
            }
        }
        assert_eq!(ok, 180);
        let count: i64 = db
            .read(|c| {
                c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
                    .map_err(StoreError::backend)
            })
            .await
            .unwrap();
        assert_eq!(count, 180, "failed jobs are rolled back, the rest kept");
        db.close();

        // Reopening applies no migration twice and sees the committed rows.
        let db = Database::open(&dir.path().join("baton.db")).unwrap();
        let count: i64 = db
            .read(|c| {
                c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
                    .map_err(StoreError::backend)
            })
            .await
            .unwrap();
        assert_eq!(count, 180);
        db.close();
    }
}
