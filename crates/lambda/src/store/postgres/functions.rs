//! `FunctionStore` on PostgreSQL: definitions and code in one transaction, the
//! asynchronous queue claimed with `FOR UPDATE SKIP LOCKED` under leases, so several
//! nodes share `Event` invocations and a dead node's claims come back when they expire.

use crate::store::functions::{AsyncFailure, AsyncInvocation, FunctionRecord, FunctionStore};
use async_trait::async_trait;
use baton_platform::store::StoreError;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use baton_platform::store::postgres::Database;
use baton_platform::store::postgres::{big, pg};

fn to_record(row: &Row) -> Result<FunctionRecord, StoreError> {
    let name: String = row.try_get(0).map_err(pg)?;
    let config: String = row.try_get(2).map_err(pg)?;
    let config = serde_json::from_str(&config)
        .map_err(|e| StoreError::Backend(format!("function {name}: stored config: {e}")))?;
    Ok(FunctionRecord {
        name,
        revision: row.try_get(1).map_err(pg)?,
        config,
        code_sha256: row.try_get(3).map_err(pg)?,
    })
}

fn attempts(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn async_from_row(row: &Row) -> Result<AsyncInvocation, StoreError> {
    let read = || -> Result<AsyncInvocation, tokio_postgres::Error> {
        Ok(AsyncInvocation {
            id: row.try_get(0)?,
            function: row.try_get(1)?,
            payload: row.try_get(2)?,
            attempts: attempts(row.try_get(3)?),
            accepted_at_ms: row.try_get(4)?,
            due_at_ms: row.try_get(5)?,
        })
    };
    read().map_err(pg)
}

async fn put_code(
    client: &impl GenericClient,
    record: &FunctionRecord,
    code: Option<Vec<u8>>,
) -> Result<(), StoreError> {
    if let (Some(sha), Some(bytes)) = (&record.code_sha256, code) {
        client
            .execute(
                "INSERT INTO function_code (sha256, bytes) VALUES ($1, $2)
                 ON CONFLICT (sha256) DO NOTHING",
                &[sha, &bytes],
            )
            .await
            .map_err(pg)?;
    }
    Ok(())
}

async fn drop_unused_code(client: &impl GenericClient) -> Result<(), StoreError> {
    client
        .execute(
            "DELETE FROM function_code WHERE sha256 NOT IN
               (SELECT code_sha256 FROM functions WHERE code_sha256 IS NOT NULL)",
            &[],
        )
        .await
        .map_err(pg)?;
    Ok(())
}

#[async_trait]
impl FunctionStore for Database {
    async fn create_function(
        &self,
        record: FunctionRecord,
        code: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let inserted = tx
            .execute(
                "INSERT INTO functions (name, revision, config, code_sha256)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
                &[
                    &record.name,
                    &record.revision,
                    &record.config.to_string(),
                    &record.code_sha256,
                ],
            )
            .await
            .map_err(pg)?;
        if inserted == 0 {
            return Err(StoreError::AlreadyExists(record.name.clone()));
        }
        put_code(&tx, &record, code).await?;
        tx.commit().await.map_err(pg)
    }

    async fn get_function(&self, name: &str) -> Result<Option<FunctionRecord>, StoreError> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                "SELECT name, revision, config, code_sha256 FROM functions WHERE name = $1",
                &[&name],
            )
            .await
            .map_err(pg)?;
        row.as_ref().map(to_record).transpose()
    }

    async fn list_functions(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FunctionRecord>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT name, revision, config, code_sha256 FROM functions
                 WHERE name > $1 ORDER BY name LIMIT $2",
                &[&after.unwrap_or(""), &big(limit)],
            )
            .await
            .map_err(pg)?;
        rows.iter().map(to_record).collect()
    }

    async fn update_function(
        &self,
        record: FunctionRecord,
        expected_revision: i64,
        code: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let current = tx
            .query_opt(
                "SELECT revision FROM functions WHERE name = $1 FOR UPDATE",
                &[&record.name],
            )
            .await
            .map_err(pg)?;
        match current {
            None => return Err(StoreError::NotFound(record.name.clone())),
            Some(row) => {
                let r: i64 = row.try_get(0).map_err(pg)?;
                if r != expected_revision {
                    return Err(StoreError::Conflict(record.name.clone()));
                }
            }
        }
        put_code(&tx, &record, code).await?;
        tx.execute(
            "UPDATE functions SET revision = $2, config = $3, code_sha256 = $4 WHERE name = $1",
            &[
                &record.name,
                &record.revision,
                &record.config.to_string(),
                &record.code_sha256,
            ],
        )
        .await
        .map_err(pg)?;
        drop_unused_code(&tx).await?;
        tx.commit().await.map_err(pg)
    }

    async fn delete_function(&self, name: &str) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let n = tx
            .execute("DELETE FROM functions WHERE name = $1", &[&name])
            .await
            .map_err(pg)?;
        if n == 0 {
            return Err(StoreError::NotFound(name.to_owned()));
        }
        drop_unused_code(&tx).await?;
        tx.commit().await.map_err(pg)
    }

    async fn get_code(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                "SELECT bytes FROM function_code WHERE sha256 = $1",
                &[&sha256],
            )
            .await
            .map_err(pg)?;
        row.map(|r| r.try_get(0)).transpose().map_err(pg)
    }

    async fn enqueue_async(&self, invocation: AsyncInvocation) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        conn.execute(
            "INSERT INTO function_async_queue
               (id, function, payload, attempts, accepted_at_ms, due_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
            &[
                &invocation.id,
                &invocation.function,
                &invocation.payload,
                &i64::from(invocation.attempts),
                &invocation.accepted_at_ms,
                &invocation.due_at_ms,
            ],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }

    async fn claim_async(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<AsyncInvocation>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "UPDATE function_async_queue q SET claimed_until_ms = $1 + $2, claimed_by = $4
                 FROM (SELECT id FROM function_async_queue
                       WHERE due_at_ms <= $1
                         AND (claimed_until_ms IS NULL OR claimed_until_ms <= $1)
                       ORDER BY due_at_ms LIMIT $3 FOR UPDATE SKIP LOCKED) c
                 WHERE q.id = c.id
                 RETURNING q.id, q.function, q.payload, q.attempts, q.accepted_at_ms,
                           q.due_at_ms",
                &[&now_ms, &lease_ms, &big(limit), &owner],
            )
            .await
            .map_err(pg)?;
        let mut out = rows
            .iter()
            .map(async_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        // RETURNING keeps no order.
        out.sort_by_key(|i| i.due_at_ms);
        Ok(out)
    }

    async fn renew_async_claim(
        &self,
        id: &str,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let conn = self.conn().await?;
        // A claim taken by another node changed `claimed_by` under the row lock, so the
        // condition cannot pass for a claim this owner lost.
        let n = conn
            .execute(
                "UPDATE function_async_queue SET claimed_until_ms = $3
                 WHERE id = $1 AND claimed_by = $2 AND claimed_until_ms IS NOT NULL",
                &[&id, &owner, &now_ms.saturating_add(lease_ms)],
            )
            .await
            .map_err(pg)?;
        Ok(n == 1)
    }

    async fn release_async_claims(&self) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        conn.execute(
            "UPDATE function_async_queue SET claimed_until_ms = NULL, claimed_by = NULL
             WHERE claimed_until_ms IS NOT NULL OR claimed_by IS NOT NULL",
            &[],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }

    async fn retry_async(&self, id: &str, attempts: u32, due_at_ms: i64) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        conn.execute(
            "UPDATE function_async_queue
             SET attempts = $2, due_at_ms = $3, claimed_until_ms = NULL, claimed_by = NULL
             WHERE id = $1",
            &[&id, &i64::from(attempts), &due_at_ms],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }

    async fn finish_async(
        &self,
        id: &str,
        failure: Option<AsyncFailure>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let n = tx
            .execute("DELETE FROM function_async_queue WHERE id = $1", &[&id])
            .await
            .map_err(pg)?;
        // A repeat (after a lease ran out) must not record the failure twice.
        if n == 1
            && let Some(f) = failure
        {
            tx.execute(
                "INSERT INTO function_async_failures
                   (id, function, payload, attempts, error_type, error_payload, failed_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &f.id,
                    &f.function,
                    &f.payload,
                    &i64::from(f.attempts),
                    &f.error_type,
                    &f.error_payload,
                    &f.failed_at_ms,
                ],
            )
            .await
            .map_err(pg)?;
        }
        tx.commit().await.map_err(pg)
    }

    async fn list_async_failures(
        &self,
        function: Option<&str>,
    ) -> Result<Vec<AsyncFailure>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT id, function, payload, attempts, error_type, error_payload, failed_at_ms
                 FROM function_async_failures
                 WHERE $1::text IS NULL OR function = $1 ORDER BY seq",
                &[&function],
            )
            .await
            .map_err(pg)?;
        rows.iter()
            .map(|row| {
                Ok(AsyncFailure {
                    id: row.try_get(0)?,
                    function: row.try_get(1)?,
                    payload: row.try_get(2)?,
                    attempts: attempts(row.try_get(3)?),
                    error_type: row.try_get(4)?,
                    error_payload: row.try_get(5)?,
                    failed_at_ms: row.try_get(6)?,
                })
            })
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(pg)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    use crate::store::postgres::tests::fresh;
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
        let Some(db) = fresh("functions").await else {
            return;
        };
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
    }

    #[tokio::test]
    async fn postgres_passes_the_async_invocation_conformance_suite() {
        let Some(db) = fresh("functions_queue").await else {
            return;
        };
        crate::store::conformance::functions::run(&db).await;
        db.close();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_async_claims_never_share_an_invocation() {
        let Some(db) = fresh("functions_claims").await else {
            return;
        };
        for i in 0..200 {
            db.enqueue_async(AsyncInvocation {
                id: format!("r{i}"),
                function: "f".into(),
                payload: Vec::new(),
                attempts: 0,
                accepted_at_ms: 0,
                due_at_ms: i,
            })
            .await
            .unwrap();
        }
        let mut handles = Vec::new();
        for _ in 0..4 {
            let db = db.clone();
            handles.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = db.claim_async("node", 1_000, 1_000_000, 9).await.unwrap();
                    if got.is_empty() {
                        break;
                    }
                    mine.extend(got.into_iter().map(|i| i.id));
                }
                mine
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.unwrap());
        }
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!((n, all.len()), (200, 200), "each claimed exactly once");
    }
}
