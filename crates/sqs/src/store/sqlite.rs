//! `QueueStore` on SQLite. Every call that changes messages runs on the single writer,
//! so a receive's claim is atomic without row locks; the FIFO and redrive rules come
//! from `crate::store::plan_receive`.

use std::collections::BTreeMap;

use crate::store::{
    MessageRecord, Millis, NewMessage, QueueCounts, QueueRecord, QueueStore, ReceiveRequest,
    Received, Redrive, SentMessage, Verdict, VisibilityChange, plan_receive,
};
use async_trait::async_trait;
use baton_platform::store::StoreError;
use rusqlite::{OptionalExtension, Row, Transaction, params};

use baton_platform::store::sqlite::Database;

/// Rows read per page when a standard queue's receive looks for visible messages.
const PAGE: i64 = 100;

const MESSAGE_COLUMNS: &str = "message_id, body, attributes, md5_of_body, md5_of_attributes, seq,
     sent_ms, enqueued_ms, visible_at_ms, receive_count, first_receive_ms, receipt_handle,
     group_id, dedup_id";

fn message_from_row(row: &Row<'_>) -> rusqlite::Result<MessageRecord> {
    Ok(MessageRecord {
        message_id: row.get(0)?,
        body: row.get(1)?,
        attributes: row.get(2)?,
        md5_of_body: row.get(3)?,
        md5_of_attributes: row.get(4)?,
        sequence: row.get(5)?,
        sent_ms: row.get(6)?,
        enqueued_ms: row.get(7)?,
        visible_at_ms: row.get(8)?,
        receive_count: row.get(9)?,
        first_receive_ms: row.get(10)?,
        receipt_handle: row.get(11)?,
        group_id: row.get(12)?,
        dedup_id: row.get(13)?,
    })
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn map_json(text: &str, queue: &str) -> Result<BTreeMap<String, String>, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("queue {queue}: stored map: {e}")))
}

fn to_json(map: &BTreeMap<String, String>) -> Result<String, StoreError> {
    serde_json::to_string(map).map_err(StoreError::backend)
}

/// The queue's FIFO flag, or `NotFound`.
fn queue_fifo(tx: &rusqlite::Connection, queue: &str) -> Result<bool, StoreError> {
    tx.query_row("SELECT fifo FROM queues WHERE name = ?1", [queue], |r| {
        r.get::<_, bool>(0)
    })
    .optional()
    .map_err(StoreError::backend)?
    .ok_or_else(|| StoreError::NotFound(queue.to_owned()))
}

fn select_messages(
    tx: &Transaction<'_>,
    sql_tail: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<MessageRecord>, StoreError> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM queue_messages {sql_tail}");
    let mut stmt = tx.prepare_cached(&sql).map_err(StoreError::backend)?;
    stmt.query_map(params, message_from_row)
        .map_err(StoreError::backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(StoreError::backend)
}

/// A FIFO queue's messages outside groups with a message in flight, in sequence order,
/// page by page until they give `wanted` claims (or run out): enough for
/// `plan_receive` without reading the whole queue.
fn fifo_candidates(
    tx: &Transaction<'_>,
    req: &ReceiveRequest,
    redrive: Option<&Redrive>,
    wanted: usize,
) -> Result<Vec<MessageRecord>, StoreError> {
    let mut rows = Vec::new();
    let mut after_seq = 0i64;
    loop {
        let page = select_messages(
            tx,
            "WHERE queue = ?1 AND seq > ?2 AND COALESCE(group_id, '') NOT IN
               (SELECT COALESCE(group_id, '') FROM queue_messages
                WHERE queue = ?1 AND receive_count > 0 AND visible_at_ms > ?3)
             ORDER BY seq LIMIT ?4",
            params![req.queue, after_seq, req.now_ms, PAGE],
        )?;
        let full = i64::try_from(page.len()).unwrap_or(i64::MAX) >= PAGE;
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

fn receive(tx: &Transaction<'_>, req: &ReceiveRequest) -> Result<Received, StoreError> {
    let fifo = queue_fifo(tx, &req.queue)?;
    let expired_at = req.now_ms.saturating_sub(req.retention_ms);
    tx.execute(
        "DELETE FROM queue_messages WHERE queue = ?1 AND enqueued_ms <= ?2",
        params![req.queue, expired_at],
    )
    .map_err(StoreError::backend)?;
    let dlq_exists = match &req.redrive {
        Some(r) => queue_fifo(tx, &r.dead_letter_queue).is_ok(),
        None => false,
    };
    // A dead-letter queue that does not exist: nothing moves.
    let redrive = req.redrive.as_ref().filter(|_| dlq_exists);
    let wanted = req.receipt_handles.len();
    let mut received = Received::default();
    let mut after_seq = 0i64;
    loop {
        let rows = if fifo {
            fifo_candidates(tx, req, redrive, wanted)?
        } else {
            select_messages(
                tx,
                "WHERE queue = ?1 AND visible_at_ms <= ?2 AND seq > ?3 ORDER BY seq LIMIT ?4",
                params![req.queue, req.now_ms, after_seq, PAGE],
            )?
        };
        let still_wanted = wanted - received.messages.len();
        let plan = plan_receive(fifo, &rows, req.now_ms, redrive, still_wanted);
        for (i, verdict) in plan {
            let m = &rows[i];
            match verdict {
                Verdict::DeadLetter => {
                    let Some(r) = redrive else { continue };
                    let enqueued = if fifo { req.now_ms } else { m.enqueued_ms };
                    tx.execute(
                        "INSERT INTO queue_messages (queue, message_id, body, attributes,
                           md5_of_body, md5_of_attributes, sent_ms, enqueued_ms, visible_at_ms,
                           receive_count, group_id, dedup_id)
                         SELECT ?2, message_id, body, attributes, md5_of_body,
                           md5_of_attributes, sent_ms, ?3, ?4, 0, group_id, dedup_id
                         FROM queue_messages WHERE seq = ?1",
                        params![m.sequence, r.dead_letter_queue, enqueued, req.now_ms],
                    )
                    .map_err(StoreError::backend)?;
                    tx.execute("DELETE FROM queue_messages WHERE seq = ?1", [m.sequence])
                        .map_err(StoreError::backend)?;
                    received.dead_lettered += 1;
                }
                Verdict::Claim => {
                    let handle = &req.receipt_handles[received.messages.len()];
                    let mut claimed = m.clone();
                    claimed.receive_count += 1;
                    claimed.first_receive_ms = Some(m.first_receive_ms.unwrap_or(req.now_ms));
                    claimed.visible_at_ms = req.now_ms.saturating_add(req.visibility_ms);
                    claimed.receipt_handle = Some(handle.clone());
                    tx.execute(
                        "UPDATE queue_messages SET receive_count = ?2, first_receive_ms = ?3,
                           visible_at_ms = ?4, receipt_handle = ?5 WHERE seq = ?1",
                        params![
                            m.sequence,
                            claimed.receive_count,
                            claimed.first_receive_ms,
                            claimed.visible_at_ms,
                            handle
                        ],
                    )
                    .map_err(StoreError::backend)?;
                    received.messages.push(claimed);
                }
            }
        }
        let exhausted = fifo || (rows.len() as i64) < PAGE;
        if exhausted || received.messages.len() >= wanted {
            break;
        }
        after_seq = rows.last().map_or(after_seq, |m| m.sequence);
    }
    received.next_visible_ms = tx
        .query_row(
            "SELECT MIN(visible_at_ms) FROM queue_messages WHERE queue = ?1 AND visible_at_ms > ?2",
            params![req.queue, req.now_ms],
            |r| r.get(0),
        )
        .map_err(StoreError::backend)?;
    Ok(received)
}

fn send(
    tx: &Transaction<'_>,
    queue: &str,
    messages: Vec<NewMessage>,
    now_ms: Millis,
) -> Result<Vec<SentMessage>, StoreError> {
    queue_fifo(tx, queue)?;
    let mut out = Vec::with_capacity(messages.len());
    for m in messages {
        if let Some((key, _)) = &m.dedup {
            let seen: Option<(String, i64)> = tx
                .query_row(
                    "SELECT message_id, seq FROM queue_dedup
                     WHERE queue = ?1 AND dedup_key = ?2 AND until_ms > ?3",
                    params![queue, key, now_ms],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(StoreError::backend)?;
            if let Some((message_id, sequence)) = seen {
                out.push(SentMessage {
                    message_id,
                    sequence,
                    duplicate: true,
                });
                continue;
            }
        }
        tx.execute(
            "INSERT INTO queue_messages (queue, message_id, body, attributes, md5_of_body,
               md5_of_attributes, sent_ms, enqueued_ms, visible_at_ms, receive_count, group_id,
               dedup_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, 0, ?9, ?10)",
            params![
                queue,
                m.message_id,
                m.body,
                m.attributes,
                m.md5_of_body,
                m.md5_of_attributes,
                now_ms,
                m.visible_at_ms,
                m.group_id,
                m.dedup_id
            ],
        )
        .map_err(StoreError::backend)?;
        let sequence = tx.last_insert_rowid();
        if let Some((key, until)) = &m.dedup {
            tx.execute(
                "INSERT OR REPLACE INTO queue_dedup (queue, dedup_key, message_id, seq, until_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![queue, key, m.message_id, sequence, until],
            )
            .map_err(StoreError::backend)?;
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
        self.write(move |tx| {
            let n = tx
                .execute(
                    "INSERT OR IGNORE INTO queues (name, fifo, attributes, tags, created_ms, modified_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        queue.name,
                        queue.fifo,
                        to_json(&queue.attributes)?,
                        to_json(&queue.tags)?,
                        queue.created_ms,
                        queue.modified_ms
                    ],
                )
                .map_err(StoreError::backend)?;
            if n == 0 {
                return Err(StoreError::AlreadyExists(queue.name.clone()));
            }
            Ok(())
        })
        .await
    }

    async fn get_queue(&self, name: &str) -> Result<Option<QueueRecord>, StoreError> {
        let name = name.to_owned();
        let row = self
            .read(move |c| {
                c.query_row(
                    "SELECT name, fifo, attributes, tags, created_ms, modified_ms
                     FROM queues WHERE name = ?1",
                    [&name],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, bool>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, i64>(4)?,
                            r.get::<_, i64>(5)?,
                        ))
                    },
                )
                .optional()
                .map_err(StoreError::backend)
            })
            .await?;
        row.map(|(name, fifo, attributes, tags, created_ms, modified_ms)| {
            Ok(QueueRecord {
                attributes: map_json(&attributes, &name)?,
                tags: map_json(&tags, &name)?,
                name,
                fifo,
                created_ms,
                modified_ms,
            })
        })
        .transpose()
    }

    async fn list_queues(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let prefix = prefix.to_owned();
        let after = after.unwrap_or("").to_owned();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT name FROM queues WHERE substr(name, 1, length(?1)) = ?1
                     AND name > ?2 ORDER BY name LIMIT ?3",
                )
                .map_err(StoreError::backend)?;
            stmt.query_map(params![prefix, after, limit], |r| r.get(0))
                .map_err(StoreError::backend)?
                .collect::<Result<Vec<String>, _>>()
                .map_err(StoreError::backend)
        })
        .await
    }

    async fn update_queue(&self, queue: QueueRecord) -> Result<(), StoreError> {
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE queues SET attributes = ?2, tags = ?3, modified_ms = ?4 WHERE name = ?1",
                    params![
                        queue.name,
                        to_json(&queue.attributes)?,
                        to_json(&queue.tags)?,
                        queue.modified_ms
                    ],
                )
                .map_err(StoreError::backend)?;
            if n == 0 {
                return Err(StoreError::NotFound(queue.name.clone()));
            }
            Ok(())
        })
        .await
    }

    async fn delete_queue(&self, name: &str) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.write(move |tx| {
            let n = tx
                .execute("DELETE FROM queues WHERE name = ?1", [&name])
                .map_err(StoreError::backend)?;
            if n == 0 {
                return Err(StoreError::NotFound(name.clone()));
            }
            tx.execute("DELETE FROM queue_messages WHERE queue = ?1", [&name])
                .map_err(StoreError::backend)?;
            tx.execute("DELETE FROM queue_dedup WHERE queue = ?1", [&name])
                .map_err(StoreError::backend)?;
            Ok(())
        })
        .await
    }

    async fn send_messages(
        &self,
        queue: &str,
        messages: Vec<NewMessage>,
        now_ms: Millis,
    ) -> Result<Vec<SentMessage>, StoreError> {
        let queue = queue.to_owned();
        self.write(move |tx| send(tx, &queue, messages, now_ms))
            .await
    }

    async fn receive_messages(&self, request: ReceiveRequest) -> Result<Received, StoreError> {
        self.write(move |tx| receive(tx, &request)).await
    }

    async fn delete_messages(
        &self,
        queue: &str,
        receipt_handles: Vec<String>,
        in_flight_at: Option<Millis>,
    ) -> Result<Vec<bool>, StoreError> {
        let queue = queue.to_owned();
        self.write(move |tx| {
            queue_fifo(tx, &queue)?;
            let mut out = Vec::with_capacity(receipt_handles.len());
            for h in &receipt_handles {
                let n = tx
                    .execute(
                        "DELETE FROM queue_messages WHERE queue = ?1 AND receipt_handle = ?2
                         AND (?3 IS NULL OR visible_at_ms > ?3)",
                        params![queue, h, in_flight_at],
                    )
                    .map_err(StoreError::backend)?;
                out.push(n > 0);
            }
            Ok(out)
        })
        .await
    }

    async fn change_visibility(
        &self,
        queue: &str,
        changes: Vec<(String, Millis)>,
        now_ms: Millis,
    ) -> Result<Vec<VisibilityChange>, StoreError> {
        let queue = queue.to_owned();
        self.write(move |tx| {
            queue_fifo(tx, &queue)?;
            let mut out = Vec::with_capacity(changes.len());
            for (handle, timeout_ms) in &changes {
                let deadline: Option<i64> = tx
                    .query_row(
                        "SELECT visible_at_ms FROM queue_messages
                         WHERE queue = ?1 AND receipt_handle = ?2",
                        params![queue, handle],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(StoreError::backend)?;
                out.push(match deadline {
                    None => VisibilityChange::NoSuchHandle,
                    Some(d) if d <= now_ms => VisibilityChange::NotInFlight,
                    Some(_) => {
                        tx.execute(
                            "UPDATE queue_messages SET visible_at_ms = ?3
                             WHERE queue = ?1 AND receipt_handle = ?2",
                            params![queue, handle, now_ms.saturating_add(*timeout_ms)],
                        )
                        .map_err(StoreError::backend)?;
                        VisibilityChange::Changed
                    }
                });
            }
            Ok(out)
        })
        .await
    }

    async fn purge_queue(&self, queue: &str) -> Result<(), StoreError> {
        let queue = queue.to_owned();
        self.write(move |tx| {
            queue_fifo(tx, &queue)?;
            tx.execute("DELETE FROM queue_messages WHERE queue = ?1", [&queue])
                .map_err(StoreError::backend)?;
            Ok(())
        })
        .await
    }

    async fn queue_counts(
        &self,
        queue: &str,
        now_ms: Millis,
        retention_ms: Millis,
    ) -> Result<QueueCounts, StoreError> {
        let queue = queue.to_owned();
        self.read(move |c| {
            queue_fifo(c, &queue)?;
            let expired_at = now_ms.saturating_sub(retention_ms);
            c.query_row(
                "SELECT
                   COALESCE(SUM(visible_at_ms <= ?2), 0),
                   COALESCE(SUM(visible_at_ms > ?2 AND receive_count > 0), 0),
                   COALESCE(SUM(visible_at_ms > ?2 AND receive_count = 0), 0)
                 FROM queue_messages WHERE queue = ?1 AND enqueued_ms > ?3",
                params![queue, now_ms, expired_at],
                |r| {
                    Ok(QueueCounts {
                        visible: count(r.get(0)?),
                        in_flight: count(r.get(1)?),
                        delayed: count(r.get(2)?),
                    })
                },
            )
            .map_err(StoreError::backend)
        })
        .await
    }

    async fn dead_letter_sources(
        &self,
        dead_letter_queue: &str,
    ) -> Result<Vec<String>, StoreError> {
        let pattern = format!(":{dead_letter_queue}\"");
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached("SELECT name, attributes FROM queues ORDER BY name")
                .map_err(StoreError::backend)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(StoreError::backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(StoreError::backend)?;
            let mut out = Vec::new();
            for (name, attributes) in rows {
                let attributes = map_json(&attributes, &name)?;
                if attributes
                    .get("RedrivePolicy")
                    .is_some_and(|p| p.contains(&pattern))
                {
                    out.push(name);
                }
            }
            Ok(out)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_passes_the_queue_store_conformance_suite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Database::open(
            &dir.path().join("baton.db"),
            &[crate::store::MIGRATIONS.sqlite],
        )
        .expect("open");
        crate::store::conformance::run(&db).await;
        db.close();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_receives_never_claim_the_same_message() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Database::open(
            &dir.path().join("baton.db"),
            &[crate::store::MIGRATIONS.sqlite],
        )
        .expect("open");
        let q = baton_store_queue("c");
        db.create_queue(q).await.expect("create");
        let messages = (0..200)
            .map(|i| NewMessage {
                message_id: format!("m{i}"),
                body: "b".into(),
                attributes: "{}".into(),
                md5_of_body: "x".into(),
                md5_of_attributes: None,
                visible_at_ms: 0,
                group_id: None,
                dedup: None,
                dedup_id: None,
            })
            .collect();
        db.send_messages("c", messages, 0).await.expect("send");
        let mut handles = Vec::new();
        for w in 0..8 {
            let db = db.clone();
            handles.push(tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let r = db
                        .receive_messages(ReceiveRequest {
                            queue: "c".into(),
                            now_ms: 1,
                            visibility_ms: 60_000,
                            retention_ms: 1_000_000,
                            redrive: None,
                            receipt_handles: (0..10)
                                .map(|i| format!("w{w}-{}-{i}", got.len()))
                                .collect(),
                        })
                        .await
                        .expect("receive");
                    if r.messages.is_empty() {
                        return got;
                    }
                    got.extend(r.messages.into_iter().map(|m| m.message_id));
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
        assert_eq!(n, 200, "every message once");
        assert_eq!(all.len(), 200);
        db.close();
    }

    fn baton_store_queue(name: &str) -> QueueRecord {
        QueueRecord {
            name: name.into(),
            fifo: false,
            attributes: BTreeMap::new(),
            tags: BTreeMap::new(),
            created_ms: 0,
            modified_ms: 0,
        }
    }
}
