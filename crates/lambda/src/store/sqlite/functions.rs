//! `FunctionStore` on SQLite: definitions and code in one transaction, the asynchronous
//! queue with leases.

use crate::store::functions::{AsyncFailure, AsyncInvocation, FunctionRecord, FunctionStore};
use async_trait::async_trait;
use baton_platform::store::StoreError;
use rusqlite::{OptionalExtension, Row, Transaction, params};

use baton_platform::store::sqlite::Database;

fn record_from_row(row: &Row<'_>) -> rusqlite::Result<(String, i64, String, Option<String>)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn to_record(
    (name, revision, config, code_sha256): (String, i64, String, Option<String>),
) -> Result<FunctionRecord, StoreError> {
    let config = serde_json::from_str(&config)
        .map_err(|e| StoreError::Backend(format!("function {name}: stored config: {e}")))?;
    Ok(FunctionRecord {
        name,
        revision,
        config,
        code_sha256,
    })
}

fn put_code(
    tx: &Transaction<'_>,
    record: &FunctionRecord,
    code: Option<Vec<u8>>,
) -> Result<(), StoreError> {
    if let (Some(sha), Some(bytes)) = (&record.code_sha256, code) {
        tx.execute(
            "INSERT OR IGNORE INTO function_code (sha256, bytes) VALUES (?1, ?2)",
            params![sha, bytes],
        )
        .map_err(StoreError::backend)?;
    }
    Ok(())
}

fn drop_unused_code(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM function_code WHERE sha256 NOT IN
           (SELECT code_sha256 FROM functions WHERE code_sha256 IS NOT NULL)",
        [],
    )
    .map_err(StoreError::backend)?;
    Ok(())
}

fn async_from_row(row: &Row<'_>) -> rusqlite::Result<AsyncInvocation> {
    Ok(AsyncInvocation {
        id: row.get(0)?,
        function: row.get(1)?,
        payload: row.get(2)?,
        attempts: row.get(3)?,
        accepted_at_ms: row.get(4)?,
        due_at_ms: row.get(5)?,
    })
}

#[async_trait]
impl FunctionStore for Database {
    async fn create_function(
        &self,
        record: FunctionRecord,
        code: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            let config = record.config.to_string();
            let inserted = tx
                .execute(
                    "INSERT OR IGNORE INTO functions (name, revision, config, code_sha256)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![record.name, record.revision, config, record.code_sha256],
                )
                .map_err(StoreError::backend)?;
            if inserted == 0 {
                return Err(StoreError::AlreadyExists(record.name.clone()));
            }
            put_code(tx, &record, code)
        })
        .await
    }

    async fn get_function(&self, name: &str) -> Result<Option<FunctionRecord>, StoreError> {
        let name = name.to_owned();
        let row = self
            .read(move |c| {
                // Cached: a cold start after a definition changed reads it again.
                c.prepare_cached(
                    "SELECT name, revision, config, code_sha256 FROM functions WHERE name = ?1",
                )
                .and_then(|mut stmt| stmt.query_row([&name], record_from_row).optional())
                .map_err(StoreError::backend)
            })
            .await?;
        row.map(to_record).transpose()
    }

    async fn list_functions(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FunctionRecord>, StoreError> {
        let after = after.unwrap_or("").to_owned();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .read(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT name, revision, config, code_sha256 FROM functions
                         WHERE name > ?1 ORDER BY name LIMIT ?2",
                    )
                    .map_err(StoreError::backend)?;
                let rows = stmt
                    .query_map(params![after, limit], record_from_row)
                    .map_err(StoreError::backend)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(StoreError::backend)?;
                Ok(rows)
            })
            .await?;
        rows.into_iter().map(to_record).collect()
    }

    async fn update_function(
        &self,
        record: FunctionRecord,
        expected_revision: i64,
        code: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            let current: Option<i64> = tx
                .query_row(
                    "SELECT revision FROM functions WHERE name = ?1",
                    [&record.name],
                    |r| r.get(0),
                )
                .optional()
                .map_err(StoreError::backend)?;
            match current {
                None => return Err(StoreError::NotFound(record.name.clone())),
                Some(r) if r != expected_revision => {
                    return Err(StoreError::Conflict(record.name.clone()));
                }
                Some(_) => {}
            }
            put_code(tx, &record, code)?;
            tx.execute(
                "UPDATE functions SET revision = ?2, config = ?3, code_sha256 = ?4 WHERE name = ?1",
                params![
                    record.name,
                    record.revision,
                    record.config.to_string(),
                    record.code_sha256
                ],
            )
            .map_err(StoreError::backend)?;
            drop_unused_code(tx)
        })
        .await
    }

    async fn delete_function(&self, name: &str) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.write(move |tx| {
            let n = tx
                .execute("DELETE FROM functions WHERE name = ?1", [&name])
                .map_err(StoreError::backend)?;
            if n == 0 {
                return Err(StoreError::NotFound(name.clone()));
            }
            drop_unused_code(tx)
        })
        .await
    }

    async fn get_code(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let sha = sha256.to_owned();
        self.read(move |c| {
            c.query_row(
                "SELECT bytes FROM function_code WHERE sha256 = ?1",
                [&sha],
                |r| r.get(0),
            )
            .optional()
            .map_err(StoreError::backend)
        })
        .await
    }

    async fn enqueue_async(&self, invocation: AsyncInvocation) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.execute(
                "INSERT OR IGNORE INTO function_async_queue
                   (id, function, payload, attempts, accepted_at_ms, due_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    invocation.id,
                    invocation.function,
                    invocation.payload,
                    invocation.attempts,
                    invocation.accepted_at_ms,
                    invocation.due_at_ms
                ],
            )
            .map_err(StoreError::backend)?;
            Ok(())
        })
        .await
    }

    async fn claim_async(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<AsyncInvocation>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let owner = owner.to_owned();
        self.write(move |tx| {
            let claimed = {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT id, function, payload, attempts, accepted_at_ms, due_at_ms
                         FROM function_async_queue
                         WHERE due_at_ms <= ?1
                           AND (claimed_until_ms IS NULL OR claimed_until_ms <= ?1)
                         ORDER BY due_at_ms LIMIT ?2",
                    )
                    .map_err(StoreError::backend)?;
                stmt.query_map(params![now_ms, limit], async_from_row)
                    .map_err(StoreError::backend)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(StoreError::backend)?
            };
            let until = now_ms.saturating_add(lease_ms);
            for inv in &claimed {
                tx.execute(
                    "UPDATE function_async_queue SET claimed_until_ms = ?2, claimed_by = ?3
                     WHERE id = ?1",
                    params![inv.id, until, owner],
                )
                .map_err(StoreError::backend)?;
            }
            Ok(claimed)
        })
        .await
    }

    async fn renew_async_claim(
        &self,
        id: &str,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let id = id.to_owned();
        let owner = owner.to_owned();
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE function_async_queue SET claimed_until_ms = ?3
                     WHERE id = ?1 AND claimed_by = ?2 AND claimed_until_ms IS NOT NULL",
                    params![id, owner, now_ms.saturating_add(lease_ms)],
                )
                .map_err(StoreError::backend)?;
            Ok(n == 1)
        })
        .await
    }

    async fn release_async_claims(&self) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE function_async_queue SET claimed_until_ms = NULL, claimed_by = NULL
                 WHERE claimed_until_ms IS NOT NULL OR claimed_by IS NOT NULL",
                [],
            )
            .map_err(StoreError::backend)?;
            Ok(())
        })
        .await
    }

    async fn retry_async(&self, id: &str, attempts: u32, due_at_ms: i64) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |tx| {
            tx.execute(
                "UPDATE function_async_queue
                 SET attempts = ?2, due_at_ms = ?3, claimed_until_ms = NULL, claimed_by = NULL
                 WHERE id = ?1",
                params![id, attempts, due_at_ms],
            )
            .map_err(StoreError::backend)?;
            Ok(())
        })
        .await
    }

    async fn finish_async(
        &self,
        id: &str,
        failure: Option<AsyncFailure>,
    ) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |tx| {
            let n = tx
                .execute("DELETE FROM function_async_queue WHERE id = ?1", [&id])
                .map_err(StoreError::backend)?;
            // A repeat (after a lease ran out) must not record the failure twice.
            if n == 1
                && let Some(f) = failure
            {
                tx.execute(
                    "INSERT INTO function_async_failures
                       (id, function, payload, attempts, error_type, error_payload, failed_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        f.id,
                        f.function,
                        f.payload,
                        f.attempts,
                        f.error_type,
                        f.error_payload,
                        f.failed_at_ms
                    ],
                )
                .map_err(StoreError::backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn list_async_failures(
        &self,
        function: Option<&str>,
    ) -> Result<Vec<AsyncFailure>, StoreError> {
        let function = function.map(str::to_owned);
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT id, function, payload, attempts, error_type, error_payload, failed_at_ms
                     FROM function_async_failures
                     WHERE ?1 IS NULL OR function = ?1 ORDER BY seq",
                )
                .map_err(StoreError::backend)?;
            stmt.query_map([function], |row| {
                Ok(AsyncFailure {
                    id: row.get(0)?,
                    function: row.get(1)?,
                    payload: row.get(2)?,
                    attempts: row.get(3)?,
                    error_type: row.get(4)?,
                    error_payload: row.get(5)?,
                    failed_at_ms: row.get(6)?,
                })
            })
            .map_err(StoreError::backend)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::backend)
        })
        .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(name: &str, revision: i64, sha: Option<&str>) -> FunctionRecord {
        FunctionRecord {
            name: name.into(),
            revision,
            config: json!({"Runtime": "provided.al2023", "n": revision}),
            code_sha256: sha.map(str::to_owned),
        }
    }

    #[tokio::test]
    async fn functions_round_trip_with_code_and_optimistic_updates() {
        let dir = tempfile::tempdir().unwrap();
        let db =
            Database::open(&dir.path().join("b.db"), &[crate::store::MIGRATIONS.sqlite]).unwrap();
        db.create_function(record("f", 1, Some("aa")), Some(b"zip-a".to_vec()))
            .await
            .unwrap();
        assert!(matches!(
            db.create_function(record("f", 1, None), None).await,
            Err(StoreError::AlreadyExists(_))
        ));
        db.create_function(record("e", 1, Some("aa")), Some(b"zip-a".to_vec()))
            .await
            .unwrap();
        let got = db.get_function("f").await.unwrap().unwrap();
        assert_eq!(got, record("f", 1, Some("aa")));
        assert_eq!(db.get_code("aa").await.unwrap().unwrap(), b"zip-a");

        let names: Vec<String> = db
            .list_functions(None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["e", "f"]);
        assert_eq!(db.list_functions(Some("e"), 10).await.unwrap().len(), 1);

        db.update_function(record("f", 2, Some("bb")), 1, Some(b"zip-b".to_vec()))
            .await
            .unwrap();
        assert!(matches!(
            db.update_function(record("f", 3, None), 1, None).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            db.update_function(record("g", 2, None), 1, None).await,
            Err(StoreError::NotFound(_))
        ));
        // "aa" is still used by "e".
        assert!(db.get_code("aa").await.unwrap().is_some());
        db.delete_function("e").await.unwrap();
        assert!(
            db.get_code("aa").await.unwrap().is_none(),
            "unused code is dropped"
        );
        assert!(matches!(
            db.delete_function("e").await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(db.get_function("f").await.unwrap().unwrap().revision, 2);
        db.close();
    }

    #[tokio::test]
    async fn sqlite_passes_the_async_invocation_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        let db =
            Database::open(&dir.path().join("b.db"), &[crate::store::MIGRATIONS.sqlite]).unwrap();
        crate::store::conformance::functions::run(&db).await;
        db.close();
    }
}
