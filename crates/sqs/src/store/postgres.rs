//! `QueueStore` on PostgreSQL: one transaction per call. A standard queue's receive
//! claims rows with `FOR UPDATE SKIP LOCKED`, so receives on several nodes take disjoint
//! messages without waiting for each other. FIFO receives and sends lock the queue's row
//! instead: whether a group may give a message depends on its other messages, and
//! sequence order must match send order. The rules themselves come from
//! `crate::store::plan_receive`, shared with SQLite.

use std::collections::BTreeMap;

use crate::store::{
    MessageRecord, Millis, NewMessage, QueueCounts, QueueRecord, QueueStore, ReceiveRequest,
    Received, Redrive, SentMessage, Verdict, VisibilityChange, plan_receive,
};
use async_trait::async_trait;
use baton_platform::store::StoreError;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use baton_platform::store::postgres::Database;
use baton_platform::store::postgres::{big, pg};

/// Rows claimed per page when a standard queue's receive looks for visible messages.
const PAGE: i64 = 100;

const MESSAGE_COLUMNS: &str = "message_id, body, attributes, md5_of_body, md5_of_attributes, seq,
     sent_ms, enqueued_ms, visible_at_ms, receive_count, first_receive_ms, receipt_handle,
     group_id, dedup_id";

fn count_u32(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn message_from_row(row: &Row) -> Result<MessageRecord, StoreError> {
    let read = || -> Result<MessageRecord, tokio_postgres::Error> {
        Ok(MessageRecord {
            message_id: row.try_get(0)?,
            body: row.try_get(1)?,
            attributes: row.try_get(2)?,
            md5_of_body: row.try_get(3)?,
            md5_of_attributes: row.try_get(4)?,
            sequence: row.try_get(5)?,
            sent_ms: row.try_get(6)?,
            enqueued_ms: row.try_get(7)?,
            visible_at_ms: row.try_get(8)?,
            receive_count: count_u32(row.try_get(9)?),
            first_receive_ms: row.try_get(10)?,
            receipt_handle: row.try_get(11)?,
            group_id: row.try_get(12)?,
            dedup_id: row.try_get(13)?,
        })
    };
    read().map_err(pg)
}

fn map_json(text: &str, queue: &str) -> Result<BTreeMap<String, String>, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("queue {queue}: stored map: {e}")))
}

fn to_json(map: &BTreeMap<String, String>) -> Result<String, StoreError> {
    serde_json::to_string(map).map_err(StoreError::backend)
}

/// The queue's FIFO flag, or `NotFound`; `lock` is `""`, `FOR SHARE` or `FOR UPDATE`.
async fn queue_fifo(
    client: &impl GenericClient,
    queue: &str,
    lock: &str,
) -> Result<bool, StoreError> {
    let sql = format!("SELECT fifo FROM queues WHERE name = $1 {lock}");
    client
        .query_opt(&sql, &[&queue])
        .await
        .map_err(pg)?
        .map(|r| r.try_get::<_, bool>(0).map_err(pg))
        .transpose()?
        .ok_or_else(|| StoreError::NotFound(queue.to_owned()))
}

/// A FIFO queue's messages outside groups with a message in flight, in sequence order,
/// page by page until they give `wanted` claims (or run out): enough for
/// `plan_receive` without reading the whole queue. (The caller holds the queue's row
/// lock, so no other receive changes these rows meanwhile.)
async fn fifo_candidates(
    client: &impl GenericClient,
    req: &ReceiveRequest,
    redrive: Option<&Redrive>,
    wanted: usize,
) -> Result<Vec<MessageRecord>, StoreError> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM queue_messages
         WHERE queue = $1 AND seq > $2 AND COALESCE(group_id, '') NOT IN
           (SELECT COALESCE(group_id, '') FROM queue_messages
            WHERE queue = $1 AND receive_count > 0 AND visible_at_ms > $3)
         ORDER BY seq LIMIT $4"
    );
    let mut rows = Vec::new();
    let mut after_seq = 0i64;
    loop {
        let page = client
            .query(&sql, &[&req.queue, &after_seq, &req.now_ms, &PAGE])
            .await
            .map_err(pg)?
            .iter()
            .map(message_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let full = big(page.len()) >= PAGE;
        after_seq = page.last().map_or(after_seq, |m| m.sequence);
        rows.extend(page);
        let claims = plan_receive(true, &rows, req.now_ms, redrive, wanted)
            .iter()
            .filter(|(_, v)| *v == Verdict::Claim)
            .count();
        if claims >= wanted || !full {
            return Ok(rows);
        }
    }
}

async fn receive(
    client: &impl GenericClient,
    req: &ReceiveRequest,
) -> Result<Received, StoreError> {
    // Standard receives share the queue row (a delete waits for them); FIFO ones take it.
    // The kind is read unlocked first: upgrading a shared lock could deadlock two callers.
    let fifo = queue_fifo(client, &req.queue, "").await?;
    queue_fifo(
        client,
        &req.queue,
        if fifo { "FOR UPDATE" } else { "FOR SHARE" },
    )
    .await?;
    let expired_at = req.now_ms.saturating_sub(req.retention_ms);
    client
        .execute(
            "DELETE FROM queue_messages WHERE queue = $1 AND enqueued_ms <= $2",
            &[&req.queue, &expired_at],
        )
        .await
        .map_err(pg)?;
    let dlq_exists = match &req.redrive {
        Some(r) => queue_fifo(client, &r.dead_letter_queue, "").await.is_ok(),
        None => false,
    };
    let redrive = req.redrive.as_ref().filter(|_| dlq_exists);
    let wanted = req.receipt_handles.len();
    let mut received = Received::default();
    let mut after_seq = 0i64;
    loop {
        let rows = if fifo {
            fifo_candidates(client, req, redrive, wanted).await?
        } else {
            let sql = format!(
                "SELECT {MESSAGE_COLUMNS} FROM queue_messages
                 WHERE queue = $1 AND visible_at_ms <= $2 AND seq > $3
                 ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED"
            );
            client
                .query(&sql, &[&req.queue, &req.now_ms, &after_seq, &PAGE])
                .await
                .map_err(pg)?
                .iter()
                .map(message_from_row)
                .collect::<Result<Vec<_>, _>>()?
        };

        let still_wanted = wanted - received.messages.len();
        for (i, verdict) in plan_receive(fifo, &rows, req.now_ms, redrive, still_wanted) {
            let m = &rows[i];
            match verdict {
                Verdict::DeadLetter => {
                    let Some(r) = redrive else { continue };
                    let enqueued = if fifo { req.now_ms } else { m.enqueued_ms };
                    client
                        .execute(
                            "INSERT INTO queue_messages (queue, message_id, body, attributes,
                               md5_of_body, md5_of_attributes, sent_ms, enqueued_ms,
                               visible_at_ms, receive_count, group_id, dedup_id)
                             SELECT $2, message_id, body, attributes, md5_of_body,
                               md5_of_attributes, sent_ms, $3, $4, 0, group_id, dedup_id
                             FROM queue_messages WHERE seq = $1",
                            &[&m.sequence, &r.dead_letter_queue, &enqueued, &req.now_ms],
                        )
                        .await
                        .map_err(pg)?;
                    client
                        .execute("DELETE FROM queue_messages WHERE seq = $1", &[&m.sequence])
                        .await
                        .map_err(pg)?;
                    received.dead_lettered += 1;
                }
                Verdict::Claim => {
                    let handle = &req.receipt_handles[received.messages.len()];
                    let mut claimed = m.clone();
                    claimed.receive_count = claimed.receive_count.saturating_add(1);
                    claimed.first_receive_ms = Some(m.first_receive_ms.unwrap_or(req.now_ms));
                    claimed.visible_at_ms = req.now_ms.saturating_add(req.visibility_ms);
                    claimed.receipt_handle = Some(handle.clone());
                    client
                        .execute(
                            "UPDATE queue_messages SET receive_count = $2, first_receive_ms = $3,
                               visible_at_ms = $4, receipt_handle = $5 WHERE seq = $1",
                            &[
                                &m.sequence,
                                &i64::from(claimed.receive_count),
                                &claimed.first_receive_ms,
                                &claimed.visible_at_ms,
                                handle,
                            ],
                        )
                        .await
                        .map_err(pg)?;
                    received.messages.push(claimed);
                }
            }
        }
        let exhausted = fifo || big(rows.len()) < PAGE;
        if exhausted || received.messages.len() >= wanted {
            break;
        }
        after_seq = rows.last().map_or(after_seq, |m| m.sequence);
    }
    received.next_visible_ms = client
        .query_one(
            "SELECT MIN(visible_at_ms) FROM queue_messages WHERE queue = $1 AND visible_at_ms > $2",
            &[&req.queue, &req.now_ms],
        )
        .await
        .map_err(pg)?
        .try_get(0)
        .map_err(pg)?;
    Ok(received)
}

async fn send(
    client: &impl GenericClient,
    queue: &str,
    messages: Vec<NewMessage>,
    now_ms: Millis,
) -> Result<Vec<SentMessage>, StoreError> {
    let fifo = queue_fifo(client, queue, "").await?;
    queue_fifo(client, queue, if fifo { "FOR UPDATE" } else { "FOR SHARE" }).await?;
    let mut out = Vec::with_capacity(messages.len());
    for m in messages {
        if let Some((key, _)) = &m.dedup {
            let seen = client
                .query_opt(
                    "SELECT message_id, seq FROM queue_dedup
                     WHERE queue = $1 AND dedup_key = $2 AND until_ms > $3",
                    &[&queue, key, &now_ms],
                )
                .await
                .map_err(pg)?;
            if let Some(row) = seen {
                out.push(SentMessage {
                    message_id: row.try_get(0).map_err(pg)?,
                    sequence: row.try_get(1).map_err(pg)?,
                    duplicate: true,
                });
                continue;
            }
        }
        let row = client
            .query_one(
                "INSERT INTO queue_messages (queue, message_id, body, attributes, md5_of_body,
                   md5_of_attributes, sent_ms, enqueued_ms, visible_at_ms, receive_count,
                   group_id, dedup_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, 0, $9, $10) RETURNING seq",
                &[
                    &queue,
                    &m.message_id,
                    &m.body,
                    &m.attributes,
                    &m.md5_of_body,
                    &m.md5_of_attributes,
                    &now_ms,
                    &m.visible_at_ms,
                    &m.group_id,
                    &m.dedup_id,
                ],
            )
            .await
            .map_err(pg)?;
        let sequence: i64 = row.try_get(0).map_err(pg)?;
        if let Some((key, until)) = &m.dedup {
            client
                .execute(
                    "INSERT INTO queue_dedup (queue, dedup_key, message_id, seq, until_ms)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (queue, dedup_key) DO UPDATE
                     SET message_id = EXCLUDED.message_id, seq = EXCLUDED.seq,
                         until_ms = EXCLUDED.until_ms",
                    &[&queue, key, &m.message_id, &sequence, until],
                )
                .await
                .map_err(pg)?;
        }
        out.push(SentMessage {
            message_id: m.message_id,
            sequence,
            duplicate: false,
        });
    }
    Ok(out)
}

#[async_trait]
impl QueueStore for Database {
    async fn create_queue(&self, queue: QueueRecord) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        let n = conn
            .execute(
                "INSERT INTO queues (name, fifo, attributes, tags, created_ms, modified_ms)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
                &[
                    &queue.name,
                    &queue.fifo,
                    &to_json(&queue.attributes)?,
                    &to_json(&queue.tags)?,
                    &queue.created_ms,
                    &queue.modified_ms,
                ],
            )
            .await
            .map_err(pg)?;
        if n == 0 {
            return Err(StoreError::AlreadyExists(queue.name));
        }
        Ok(())
    }

    async fn get_queue(&self, name: &str) -> Result<Option<QueueRecord>, StoreError> {
        let conn = self.conn().await?;
        let Some(row) = conn
            .query_opt(
                "SELECT name, fifo, attributes, tags, created_ms, modified_ms
                 FROM queues WHERE name = $1",
                &[&name],
            )
            .await
            .map_err(pg)?
        else {
            return Ok(None);
        };
        let attributes: String = row.try_get(2).map_err(pg)?;
        let tags: String = row.try_get(3).map_err(pg)?;
        Ok(Some(QueueRecord {
            name: row.try_get(0).map_err(pg)?,
            fifo: row.try_get(1).map_err(pg)?,
            attributes: map_json(&attributes, name)?,
            tags: map_json(&tags, name)?,
            created_ms: row.try_get(4).map_err(pg)?,
            modified_ms: row.try_get(5).map_err(pg)?,
        }))
    }

    async fn list_queues(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT name FROM queues WHERE left(name, length($1)) = $1 AND name > $2
                 ORDER BY name COLLATE \"C\" LIMIT $3",
                &[&prefix, &after.unwrap_or(""), &big(limit)],
            )
            .await
            .map_err(pg)?;
        rows.iter()
            .map(|r| r.try_get::<_, String>(0).map_err(pg))
            .collect()
    }

    async fn update_queue(&self, queue: QueueRecord) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        let n = conn
            .execute(
                "UPDATE queues SET attributes = $2, tags = $3, modified_ms = $4 WHERE name = $1",
                &[
                    &queue.name,
                    &to_json(&queue.attributes)?,
                    &to_json(&queue.tags)?,
                    &queue.modified_ms,
                ],
            )
            .await
            .map_err(pg)?;
        if n == 0 {
            return Err(StoreError::NotFound(queue.name));
        }
        Ok(())
    }

    async fn delete_queue(&self, name: &str) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let n = tx
            .execute("DELETE FROM queues WHERE name = $1", &[&name])
            .await
            .map_err(pg)?;
        if n == 0 {
            return Err(StoreError::NotFound(name.to_owned()));
        }
        tx.execute("DELETE FROM queue_messages WHERE queue = $1", &[&name])
            .await
            .map_err(pg)?;
        tx.execute("DELETE FROM queue_dedup WHERE queue = $1", &[&name])
            .await
            .map_err(pg)?;
        tx.commit().await.map_err(pg)
    }

    async fn send_messages(
        &self,
        queue: &str,
        messages: Vec<NewMessage>,
        now_ms: Millis,
    ) -> Result<Vec<SentMessage>, StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let out = send(&tx, queue, messages, now_ms).await?;
        tx.commit().await.map_err(pg)?;
        Ok(out)
    }

    async fn receive_messages(&self, request: ReceiveRequest) -> Result<Received, StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let out = receive(&tx, &request).await?;
        tx.commit().await.map_err(pg)?;
        Ok(out)
    }

    async fn delete_messages(
        &self,
        queue: &str,
        receipt_handles: Vec<String>,
        in_flight_at: Option<Millis>,
    ) -> Result<Vec<bool>, StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        queue_fifo(&tx, queue, "FOR SHARE").await?;
        let mut out = Vec::with_capacity(receipt_handles.len());
        for h in &receipt_handles {
            let n = tx
                .execute(
                    "DELETE FROM queue_messages WHERE queue = $1 AND receipt_handle = $2
                     AND ($3::BIGINT IS NULL OR visible_at_ms > $3)",
                    &[&queue, h, &in_flight_at],
                )
                .await
                .map_err(pg)?;
            out.push(n > 0);
        }
        tx.commit().await.map_err(pg)?;
        Ok(out)
    }

    async fn change_visibility(
        &self,
        queue: &str,
        changes: Vec<(String, Millis)>,
        now_ms: Millis,
    ) -> Result<Vec<VisibilityChange>, StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        queue_fifo(&tx, queue, "FOR SHARE").await?;
        let mut out = Vec::with_capacity(changes.len());
        for (handle, timeout_ms) in &changes {
            let deadline: Option<i64> = tx
                .query_opt(
                    "SELECT visible_at_ms FROM queue_messages
                     WHERE queue = $1 AND receipt_handle = $2 FOR UPDATE",
                    &[&queue, handle],
                )
                .await
                .map_err(pg)?
                .map(|r| r.try_get(0).map_err(pg))
                .transpose()?;
            out.push(match deadline {
                None => VisibilityChange::NoSuchHandle,
                Some(d) if d <= now_ms => VisibilityChange::NotInFlight,
                Some(_) => {
                    tx.execute(
                        "UPDATE queue_messages SET visible_at_ms = $3
                         WHERE queue = $1 AND receipt_handle = $2",
                        &[&queue, handle, &now_ms.saturating_add(*timeout_ms)],
                    )
                    .await
                    .map_err(pg)?;
                    VisibilityChange::Changed
                }
            });
        }
        tx.commit().await.map_err(pg)?;
        Ok(out)
    }

    async fn purge_queue(&self, queue: &str) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        queue_fifo(&tx, queue, "FOR SHARE").await?;
        tx.execute("DELETE FROM queue_messages WHERE queue = $1", &[&queue])
            .await
            .map_err(pg)?;
        tx.commit().await.map_err(pg)
    }

    async fn queue_counts(
        &self,
        queue: &str,
        now_ms: Millis,
        retention_ms: Millis,
    ) -> Result<QueueCounts, StoreError> {
        let conn = self.conn().await?;
        queue_fifo(&conn, queue, "").await?;
        let expired_at = now_ms.saturating_sub(retention_ms);
        let row = conn
            .query_one(
                "SELECT
                   COUNT(*) FILTER (WHERE visible_at_ms <= $2),
                   COUNT(*) FILTER (WHERE visible_at_ms > $2 AND receive_count > 0),
                   COUNT(*) FILTER (WHERE visible_at_ms > $2 AND receive_count = 0)
                 FROM queue_messages WHERE queue = $1 AND enqueued_ms > $3",
                &[&queue, &now_ms, &expired_at],
            )
            .await
            .map_err(pg)?;
        let n = |i: usize| -> Result<u64, StoreError> {
            let v: i64 = row.try_get(i).map_err(pg)?;
            Ok(u64::try_from(v).unwrap_or(0))
        };
        Ok(QueueCounts {
            visible: n(0)?,
            in_flight: n(1)?,
            delayed: n(2)?,
        })
    }

    async fn dead_letter_sources(
        &self,
        dead_letter_queue: &str,
    ) -> Result<Vec<String>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT name, attributes FROM queues ORDER BY name COLLATE \"C\"",
                &[],
            )
            .await
            .map_err(pg)?;
        let pattern = format!(":{dead_letter_queue}\"");
        let mut out = Vec::new();
        for row in rows {
            let name: String = row.try_get(0).map_err(pg)?;
            let attributes: String = row.try_get(1).map_err(pg)?;
            if map_json(&attributes, &name)?
                .get("RedrivePolicy")
                .is_some_and(|p| p.contains(&pattern))
            {
                out.push(name);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh schema of this test's own with this service's migrations.
    async fn fresh(test: &str) -> Option<Database> {
        baton_platform::store::testing::fresh_postgres(test, &[crate::store::MIGRATIONS.postgres])
            .await
    }

    fn queue(name: &str) -> QueueRecord {
        QueueRecord {
            name: name.into(),
            fifo: name.ends_with(".fifo"),
            attributes: BTreeMap::new(),
            tags: BTreeMap::new(),
            created_ms: 0,
            modified_ms: 0,
        }
    }

    /// Receivers on separate connections (as on separate nodes) never share a message.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_receives_never_claim_the_same_message() {
        let Some(db) = fresh("queues_concurrent").await else {
            return;
        };
        for name in ["c", "c.fifo"] {
            db.create_queue(queue(name)).await.expect("create");
            let fifo = name.ends_with(".fifo");
            let messages = (0..100)
                .map(|i| NewMessage {
                    message_id: format!("m{i}"),
                    body: "b".into(),
                    attributes: "{}".into(),
                    md5_of_body: "x".into(),
                    md5_of_attributes: None,
                    visible_at_ms: 0,
                    group_id: fifo.then(|| format!("g{}", i % 7)),
                    dedup: fifo.then(|| (format!("d{i}"), 1_000_000)),
                    dedup_id: None,
                })
                .collect();
            db.send_messages(name, messages, 0).await.expect("send");
            let mut handles = Vec::new();
            for w in 0..4 {
                let db = db.clone();
                let name = name.to_owned();
                handles.push(tokio::spawn(async move {
                    let mut got = Vec::new();
                    let mut round = 0;
                    loop {
                        round += 1;
                        let r = db
                            .receive_messages(ReceiveRequest {
                                queue: name.clone(),
                                now_ms: 1,
                                visibility_ms: 60_000,
                                retention_ms: 1_000_000,
                                redrive: None,
                                receipt_handles: (0..10)
                                    .map(|i| format!("{name}-w{w}-{round}-{i}"))
                                    .collect(),
                            })
                            .await
                            .expect("receive");
                        if r.messages.is_empty() {
                            // Others may hold every group; done only when nothing is left.
                            let left = db.queue_counts(&name, 1, 1_000_000).await.expect("counts");
                            if left == QueueCounts::default() {
                                return got;
                            }
                            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                            continue;
                        }
                        // FIFO: free the groups again by deleting what was received.
                        let handles = r
                            .messages
                            .iter()
                            .filter_map(|m| m.receipt_handle.clone())
                            .collect();
                        got.extend(r.messages.into_iter().map(|m| m.message_id));
                        db.delete_messages(&name, handles, None)
                            .await
                            .expect("delete");
                    }
                }));
            }
            let mut all = Vec::new();
            for h in handles {
                all.extend(h.await.expect("join"));
            }
            let n = all.len();
            all.sort();
            all.dedup();
            assert_eq!((n, all.len()), (100, 100), "{name}: every message once");
        }
        db.close();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_passes_the_queue_store_conformance_suite() {
        let Some(db) = fresh("queues_conformance").await else {
            return;
        };
        crate::store::conformance::run(&db).await;
        db.close();
    }
}
