//! The event bus contracts (`store`) on SQLite.
//!
//! Records are stored as JSON text next to the few columns queries need (due times,
//! states, cursors); those columns are the truth and override the JSON copy on read.
//! Every write is one job on the writer thread, so read-modify-write inside a job is
//! atomic and many callers' jobs share a commit.

use crate::store::*;
use async_trait::async_trait;
use baton_platform::store::StoreError;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use baton_platform::store::sqlite::Database;

/// The event bus store over a [`Database`].
#[derive(Clone)]
pub struct SqliteEventsStore {
    db: Database,
}

impl SqliteEventsStore {
    pub fn new(db: Database) -> Self {
        SqliteEventsStore { db }
    }
}

fn encode<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(StoreError::backend)
}

fn decode<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Backend(format!("corrupt record: {e}")))
}

fn sql(e: rusqlite::Error) -> StoreError {
    StoreError::backend(e)
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

/// Rows of one text column, decoded.
fn query_records<T: DeserializeOwned>(
    conn: &Connection,
    query: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(query).map_err(sql)?;
    let rows = stmt
        .query_map(params, |r| r.get::<_, String>(0))
        .map_err(sql)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(decode(&row.map_err(sql)?)?);
    }
    Ok(out)
}

fn exists(
    conn: &Connection,
    query: &str,
    params: impl rusqlite::Params,
) -> Result<bool, StoreError> {
    conn.query_row(query, params, |_| Ok(()))
        .optional()
        .map(|o| o.is_some())
        .map_err(sql)
}

fn insert_ingest(conn: &Connection, ingest: &Ingest) -> Result<(), StoreError> {
    if !ingest.deliveries.is_empty() {
        let mut stmt = conn
            .prepare_cached(
                "INSERT OR IGNORE INTO event_deliveries (id, due_ms, attempts, last_error, record)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(sql)?;
        for d in &ingest.deliveries {
            stmt.execute(params![
                d.id,
                d.due_ms,
                d.attempts,
                d.last_error,
                encode(d)?
            ])
            .map_err(sql)?;
        }
    }
    if !ingest.archived.is_empty() {
        let mut stmt = conn
            .prepare_cached(
                "INSERT OR IGNORE INTO event_archived (archive, event_id, ingested_ms, event)
                 SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM event_archives WHERE name = ?1)",
            )
            .map_err(sql)?;
        for a in &ingest.archived {
            stmt.execute(params![a.archive, a.event_id, a.ingested_ms, a.event])
                .map_err(sql)?;
        }
    }
    Ok(())
}

fn read_rule(conn: &Connection, bus: &str, name: &str) -> Result<Option<RuleRecord>, StoreError> {
    conn.query_row(
        "SELECT record, next_fire_ms FROM event_rules WHERE bus = ?1 AND name = ?2",
        params![bus, name],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?)),
    )
    .optional()
    .map_err(sql)?
    .map(|(text, next)| {
        let mut rule: RuleRecord = decode(&text)?;
        rule.next_fire_ms = next;
        Ok(rule)
    })
    .transpose()
}

fn read_replay(conn: &Connection, name: &str) -> Result<Option<ReplayRecord>, StoreError> {
    conn.query_row(
        "SELECT record, state, cursor FROM event_replays WHERE name = ?1",
        [name],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        },
    )
    .optional()
    .map_err(sql)?
    .map(|(text, state, cursor)| replay_from_row(&text, &state, cursor))
    .transpose()
}

fn replay_from_row(text: &str, state: &str, cursor: i64) -> Result<ReplayRecord, StoreError> {
    let mut replay: ReplayRecord = decode(text)?;
    replay.state = ReplayState::parse(state)
        .ok_or_else(|| StoreError::Backend(format!("corrupt replay state {state}")))?;
    replay.cursor = cursor;
    Ok(replay)
}

#[async_trait]
impl BusStore for SqliteEventsStore {
    async fn create_bus(&self, bus: BusRecord) -> Result<(), StoreError> {
        self.db
            .write(move |tx| {
                match tx.execute(
                    "INSERT INTO event_buses (name, record) VALUES (?1, ?2)",
                    params![bus.name, encode(&bus)?],
                ) {
                    Ok(_) => Ok(()),
                    Err(e) if is_unique_violation(&e) => {
                        Err(StoreError::AlreadyExists(format!("event bus {}", bus.name)))
                    }
                    Err(e) => Err(sql(e)),
                }
            })
            .await
    }

    async fn update_bus(&self, bus: BusRecord) -> Result<(), StoreError> {
        self.db
            .write(move |tx| {
                let n = tx
                    .execute(
                        "UPDATE event_buses SET record = ?2 WHERE name = ?1",
                        params![bus.name, encode(&bus)?],
                    )
                    .map_err(sql)?;
                if n == 0 {
                    return Err(StoreError::NotFound(format!("event bus {}", bus.name)));
                }
                Ok(())
            })
            .await
    }

    async fn delete_bus(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.db
            .write(move |tx| {
                let n = tx
                    .execute("DELETE FROM event_buses WHERE name = ?1", [&name])
                    .map_err(sql)?;
                Ok(n > 0)
            })
            .await
    }

    async fn list_buses(&self) -> Result<Vec<BusRecord>, StoreError> {
        self.db
            .read(|c| query_records(c, "SELECT record FROM event_buses ORDER BY name", []))
            .await
    }
}

#[async_trait]
impl RuleStore for SqliteEventsStore {
    async fn put_rule(&self, rule: RuleRecord) -> Result<(), StoreError> {
        self.db
            .write(move |tx| {
                if !exists(tx, "SELECT 1 FROM event_buses WHERE name = ?1", [&rule.bus])? {
                    return Err(StoreError::NotFound(format!("event bus {}", rule.bus)));
                }
                let mut rule = rule;
                if let Some(old) = read_rule(tx, &rule.bus, &rule.name)? {
                    rule.created_ms = old.created_ms;
                    rule.created_by = old.created_by;
                }
                tx.execute(
                    "INSERT INTO event_rules (bus, name, record, next_fire_ms) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (bus, name) DO UPDATE SET record = excluded.record,
                                                           next_fire_ms = excluded.next_fire_ms",
                    params![rule.bus, rule.name, encode(&rule)?, rule.next_fire_ms],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn delete_rule(&self, bus: &str, name: &str, force: bool) -> Result<bool, StoreError> {
        let (bus, name) = (bus.to_owned(), name.to_owned());
        self.db
            .write(move |tx| {
                if !force
                    && exists(
                        tx,
                        "SELECT 1 FROM event_targets WHERE bus = ?1 AND rule = ?2",
                        [&bus, &name],
                    )?
                {
                    return Err(StoreError::Conflict(format!("rule {name} has targets")));
                }
                let n = tx
                    .execute(
                        "DELETE FROM event_rules WHERE bus = ?1 AND name = ?2",
                        [&bus, &name],
                    )
                    .map_err(sql)?;
                Ok(n > 0)
            })
            .await
    }

    async fn list_rules(&self) -> Result<Vec<RuleRecord>, StoreError> {
        self.db
            .read(|c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT record, next_fire_ms FROM event_rules ORDER BY bus, name",
                    )
                    .map_err(sql)?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
                    })
                    .map_err(sql)?;
                let mut out = Vec::new();
                for row in rows {
                    let (text, next) = row.map_err(sql)?;
                    let mut rule: RuleRecord = decode(&text)?;
                    rule.next_fire_ms = next;
                    out.push(rule);
                }
                Ok(out)
            })
            .await
    }

    async fn due_schedules(
        &self,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<RuleRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .read(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT record, next_fire_ms FROM event_rules
                         WHERE next_fire_ms IS NOT NULL AND next_fire_ms <= ?1
                         ORDER BY next_fire_ms LIMIT ?2",
                    )
                    .map_err(sql)?;
                let rows = stmt
                    .query_map(params![now, limit], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
                    })
                    .map_err(sql)?;
                let mut out = Vec::new();
                for row in rows {
                    let (text, next) = row.map_err(sql)?;
                    let mut rule: RuleRecord = decode(&text)?;
                    rule.next_fire_ms = next;
                    out.push(rule);
                }
                Ok(out)
            })
            .await
    }

    async fn next_schedule_ms(&self) -> Result<Option<Millis>, StoreError> {
        self.db
            .read(|c| {
                c.query_row("SELECT MIN(next_fire_ms) FROM event_rules", [], |r| {
                    r.get::<_, Option<i64>>(0)
                })
                .map_err(sql)
            })
            .await
    }

    async fn fire_schedule(
        &self,
        bus: &str,
        rule: &str,
        expected: Millis,
        next: Option<Millis>,
        ingest: Ingest,
    ) -> Result<bool, StoreError> {
        let (bus, rule) = (bus.to_owned(), rule.to_owned());
        self.db
            .write(move |tx| {
                let n = tx
                    .execute(
                        "UPDATE event_rules SET next_fire_ms = ?4
                         WHERE bus = ?1 AND name = ?2 AND next_fire_ms = ?3",
                        params![bus, rule, expected, next],
                    )
                    .map_err(sql)?;
                if n == 0 {
                    return Ok(false);
                }
                insert_ingest(tx, &ingest)?;
                Ok(true)
            })
            .await
    }
}

#[async_trait]
impl TargetStore for SqliteEventsStore {
    async fn put_targets(
        &self,
        bus: &str,
        rule: &str,
        targets: Vec<TargetRecord>,
        max_targets: usize,
    ) -> Result<(), StoreError> {
        let (bus, rule) = (bus.to_owned(), rule.to_owned());
        self.db
            .write(move |tx| {
                if read_rule(tx, &bus, &rule)?.is_none() {
                    return Err(StoreError::NotFound(format!("rule {rule}")));
                }
                let mut position: i64 = tx
                    .query_row(
                        "SELECT COALESCE(MAX(position), 0) FROM event_targets
                         WHERE bus = ?1 AND rule = ?2",
                        [&bus, &rule],
                        |r| r.get(0),
                    )
                    .map_err(sql)?;
                for t in &targets {
                    position += 1;
                    // Replacing a target keeps its place in the list.
                    tx.execute(
                        "INSERT INTO event_targets (bus, rule, id, position, record)
                         VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (bus, rule, id) DO UPDATE SET record = excluded.record",
                        params![bus, rule, t.id, position, encode(t)?],
                    )
                    .map_err(sql)?;
                }
                let count: i64 = tx
                    .query_row(
                        "SELECT COUNT(*) FROM event_targets WHERE bus = ?1 AND rule = ?2",
                        [&bus, &rule],
                        |r| r.get(0),
                    )
                    .map_err(sql)?;
                if usize::try_from(count).unwrap_or(usize::MAX) > max_targets {
                    // The job's savepoint rolls the inserts back.
                    return Err(StoreError::Conflict(format!(
                        "rule {rule} would have {count} targets"
                    )));
                }
                Ok(())
            })
            .await
    }

    async fn remove_targets(
        &self,
        bus: &str,
        rule: &str,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let (bus, rule, ids) = (bus.to_owned(), rule.to_owned(), ids.to_vec());
        self.db
            .write(move |tx| {
                if read_rule(tx, &bus, &rule)?.is_none() {
                    return Err(StoreError::NotFound(format!("rule {rule}")));
                }
                let mut missing = Vec::new();
                for id in ids {
                    let n = tx
                        .execute(
                            "DELETE FROM event_targets WHERE bus = ?1 AND rule = ?2 AND id = ?3",
                            [&bus, &rule, &id],
                        )
                        .map_err(sql)?;
                    if n == 0 {
                        missing.push(id);
                    }
                }
                Ok(missing)
            })
            .await
    }

    async fn list_all_targets(&self) -> Result<Vec<(String, String, TargetRecord)>, StoreError> {
        self.db
            .read(|c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT bus, rule, record FROM event_targets ORDER BY bus, rule, position",
                    )
                    .map_err(sql)?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                        ))
                    })
                    .map_err(sql)?;
                let mut out = Vec::new();
                for row in rows {
                    let (bus, rule, text) = row.map_err(sql)?;
                    out.push((bus, rule, decode(&text)?));
                }
                Ok(out)
            })
            .await
    }
}

#[async_trait]
impl EventLog for SqliteEventsStore {
    async fn ingest(&self, ingest: Ingest) -> Result<(), StoreError> {
        if ingest.is_empty() {
            return Ok(());
        }
        self.db.write(move |tx| insert_ingest(tx, &ingest)).await
    }
}

#[async_trait]
impl DeliveryQueue for SqliteEventsStore {
    async fn claim_due(
        &self,
        now: Millis,
        limit: usize,
        lease_until: Millis,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .write(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "UPDATE event_deliveries SET due_ms = ?2, leased = 1
                         WHERE id IN (SELECT id FROM event_deliveries WHERE due_ms <= ?1
                                      ORDER BY due_ms LIMIT ?3)
                         RETURNING record, attempts, last_error",
                    )
                    .map_err(sql)?;
                let rows = stmt
                    .query_map(params![now, lease_until, limit], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, u32>(1)?,
                            r.get::<_, Option<String>>(2)?,
                        ))
                    })
                    .map_err(sql)?;
                let mut out = Vec::new();
                for row in rows {
                    let (text, attempts, last_error) = row.map_err(sql)?;
                    let mut d: DeliveryRecord = decode(&text)?;
                    d.attempts = attempts;
                    d.last_error = last_error;
                    out.push(d);
                }
                // RETURNING gives rows in no particular order.
                out.sort_by_key(|d| d.due_ms);
                Ok(out)
            })
            .await
    }

    async fn retry_later(
        &self,
        id: &str,
        attempts: u32,
        due_ms: Millis,
        last_error: &str,
    ) -> Result<(), StoreError> {
        let (id, last_error) = (id.to_owned(), last_error.to_owned());
        self.db
            .write(move |tx| {
                tx.execute(
                    "UPDATE event_deliveries SET due_ms = ?2, leased = 0, attempts = ?3,
                                                 last_error = ?4
                     WHERE id = ?1",
                    params![id, due_ms, attempts, last_error],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn finish(&self, id: &str, finish: Finish) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.db
            .write(move |tx| {
                let n = tx
                    .execute("DELETE FROM event_deliveries WHERE id = ?1", [&id])
                    .map_err(sql)?;
                if n == 0 {
                    return Ok(false);
                }
                if let Some(letter) = &finish.dead_letter {
                    tx.execute(
                        "INSERT INTO event_dead_letters (queue_arn, record) VALUES (?1, ?2)",
                        params![letter.queue_arn, encode(letter)?],
                    )
                    .map_err(sql)?;
                }
                insert_ingest(tx, &finish.follow_up)?;
                Ok(true)
            })
            .await
    }

    async fn next_due_ms(&self) -> Result<Option<Millis>, StoreError> {
        self.db
            .read(|c| {
                c.query_row("SELECT MIN(due_ms) FROM event_deliveries", [], |r| {
                    r.get::<_, Option<i64>>(0)
                })
                .map_err(sql)
            })
            .await
    }

    async fn release_leases(&self, now: Millis) -> Result<u64, StoreError> {
        self.db
            .write(move |tx| {
                let n = tx
                    .execute(
                        "UPDATE event_deliveries SET due_ms = ?1, leased = 0 WHERE leased = 1",
                        [now],
                    )
                    .map_err(sql)?;
                Ok(n as u64)
            })
            .await
    }

    async fn pending_deliveries(&self) -> Result<u64, StoreError> {
        self.db
            .read(|c| {
                c.query_row("SELECT COUNT(*) FROM event_deliveries", [], |r| {
                    r.get::<_, i64>(0)
                })
                .map(|n| u64::try_from(n).unwrap_or(0))
                .map_err(sql)
            })
            .await
    }
}

#[async_trait]
impl DeadLetterStore for SqliteEventsStore {
    async fn list_dead_letters(
        &self,
        queue_arn: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let queue_arn = queue_arn.map(str::to_owned);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .read(move |c| match &queue_arn {
                Some(q) => query_records(
                    c,
                    "SELECT record FROM event_dead_letters WHERE queue_arn = ?1
                     ORDER BY seq LIMIT ?2",
                    params![q, limit],
                ),
                None => query_records(
                    c,
                    "SELECT record FROM event_dead_letters ORDER BY seq LIMIT ?1",
                    [limit],
                ),
            })
            .await
    }
}

#[async_trait]
impl ArchiveStore for SqliteEventsStore {
    async fn create_archive(&self, archive: ArchiveRecord) -> Result<(), StoreError> {
        self.db
            .write(move |tx| {
                if !exists(
                    tx,
                    "SELECT 1 FROM event_buses WHERE name = ?1",
                    [&archive.bus],
                )? {
                    return Err(StoreError::NotFound(format!("event bus {}", archive.bus)));
                }
                match tx.execute(
                    "INSERT INTO event_archives (name, bus, record) VALUES (?1, ?2, ?3)",
                    params![archive.name, archive.bus, encode(&archive)?],
                ) {
                    Ok(_) => Ok(()),
                    Err(e) if is_unique_violation(&e) => Err(StoreError::AlreadyExists(format!(
                        "archive {}",
                        archive.name
                    ))),
                    Err(e) => Err(sql(e)),
                }
            })
            .await
    }

    async fn update_archive(&self, archive: ArchiveRecord) -> Result<(), StoreError> {
        self.db
            .write(move |tx| {
                let n = tx
                    .execute(
                        "UPDATE event_archives SET record = ?2 WHERE name = ?1",
                        params![archive.name, encode(&archive)?],
                    )
                    .map_err(sql)?;
                if n == 0 {
                    return Err(StoreError::NotFound(format!("archive {}", archive.name)));
                }
                Ok(())
            })
            .await
    }

    async fn delete_archive(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.db
            .write(move |tx| {
                let n = tx
                    .execute("DELETE FROM event_archives WHERE name = ?1", [&name])
                    .map_err(sql)?;
                Ok(n > 0)
            })
            .await
    }

    async fn list_archives(&self) -> Result<Vec<ArchiveRecord>, StoreError> {
        self.db
            .read(|c| query_records(c, "SELECT record FROM event_archives ORDER BY name", []))
            .await
    }

    async fn archive_stats(&self, name: &str) -> Result<ArchiveStats, StoreError> {
        let name = name.to_owned();
        self.db
            .read(move |c| {
                c.query_row(
                    "SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(event AS BLOB))), 0)
                     FROM event_archived WHERE archive = ?1",
                    [&name],
                    |r| {
                        Ok(ArchiveStats {
                            event_count: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                            size_bytes: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                        })
                    },
                )
                .map_err(sql)
            })
            .await
    }

    async fn archived_events(
        &self,
        archive: &str,
        start: Millis,
        end: Millis,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, ArchivedEvent)>, StoreError> {
        let archive = archive.to_owned();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .read(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT seq, event_id, ingested_ms, event FROM event_archived
                         WHERE archive = ?1 AND ingested_ms >= ?2 AND ingested_ms <= ?3
                           AND seq > ?4
                         ORDER BY seq LIMIT ?5",
                    )
                    .map_err(sql)?;
                let rows = stmt
                    .query_map(params![archive, start, end, after, limit], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            ArchivedEvent {
                                archive: archive.clone(),
                                event_id: r.get(1)?,
                                ingested_ms: r.get(2)?,
                                event: r.get(3)?,
                            },
                        ))
                    })
                    .map_err(sql)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql)
            })
            .await
    }

    async fn purge_expired(&self, now: Millis) -> Result<u64, StoreError> {
        let archives = self.list_archives().await?;
        self.db
            .write(move |tx| {
                let mut total = 0u64;
                for a in archives.iter().filter(|a| a.retention_days > 0) {
                    let cutoff =
                        now.saturating_sub(i64::from(a.retention_days).saturating_mul(86_400_000));
                    let n = tx
                        .execute(
                            "DELETE FROM event_archived WHERE archive = ?1 AND ingested_ms < ?2",
                            params![a.name, cutoff],
                        )
                        .map_err(sql)?;
                    total += n as u64;
                }
                Ok(total)
            })
            .await
    }
}

#[async_trait]
impl ReplayStore for SqliteEventsStore {
    async fn create_replay(&self, replay: ReplayRecord) -> Result<(), StoreError> {
        self.db
            .write(move |tx| {
                match tx.execute(
                    "INSERT INTO event_replays (name, state, cursor, record) VALUES (?1, ?2, ?3, ?4)",
                    params![
                        replay.name,
                        replay.state.as_str(),
                        replay.cursor,
                        encode(&replay)?
                    ],
                ) {
                    Ok(_) => Ok(()),
                    Err(e) if is_unique_violation(&e) => {
                        Err(StoreError::AlreadyExists(format!("replay {}", replay.name)))
                    }
                    Err(e) => Err(sql(e)),
                }
            })
            .await
    }

    async fn get_replay(&self, name: &str) -> Result<Option<ReplayRecord>, StoreError> {
        let name = name.to_owned();
        self.db.read(move |c| read_replay(c, &name)).await
    }

    async fn list_replays(&self) -> Result<Vec<ReplayRecord>, StoreError> {
        self.db
            .read(|c| {
                let mut stmt = c
                    .prepare_cached("SELECT record, state, cursor FROM event_replays ORDER BY name")
                    .map_err(sql)?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, i64>(2)?,
                        ))
                    })
                    .map_err(sql)?;
                let mut out = Vec::new();
                for row in rows {
                    let (text, state, cursor) = row.map_err(sql)?;
                    out.push(replay_from_row(&text, &state, cursor)?);
                }
                Ok(out)
            })
            .await
    }

    async fn set_replay_state(
        &self,
        name: &str,
        from: &[ReplayState],
        state: ReplayState,
        reason: Option<String>,
        end_ms: Option<Millis>,
    ) -> Result<bool, StoreError> {
        let name = name.to_owned();
        let from = from.to_vec();
        self.db
            .write(move |tx| {
                let Some(mut replay) = read_replay(tx, &name)? else {
                    return Ok(false);
                };
                if !from.contains(&replay.state) {
                    return Ok(false);
                }
                replay.state = state;
                if reason.is_some() {
                    replay.state_reason = reason;
                }
                if end_ms.is_some() {
                    replay.replay_end_ms = end_ms;
                }
                tx.execute(
                    "UPDATE event_replays SET state = ?2, record = ?3 WHERE name = ?1",
                    params![name, state.as_str(), encode(&replay)?],
                )
                .map_err(sql)?;
                Ok(true)
            })
            .await
    }

    async fn advance_replay(
        &self,
        name: &str,
        expected: i64,
        cursor: i64,
        last_replayed_ms: Option<Millis>,
        ingest: Ingest,
    ) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.db
            .write(move |tx| {
                let Some(mut replay) = read_replay(tx, &name)? else {
                    return Ok(false);
                };
                if replay.cursor != expected
                    || !matches!(replay.state, ReplayState::Starting | ReplayState::Running)
                {
                    return Ok(false);
                }
                replay.cursor = cursor;
                if last_replayed_ms.is_some() {
                    replay.last_replayed_ms = last_replayed_ms;
                }
                tx.execute(
                    "UPDATE event_replays SET cursor = ?2, record = ?3 WHERE name = ?1",
                    params![name, cursor, encode(&replay)?],
                )
                .map_err(sql)?;
                insert_ingest(tx, &ingest)?;
                Ok(true)
            })
            .await
    }
}

#[async_trait]
impl ConnectionStore for SqliteEventsStore {
    async fn create_connection(&self, connection: ConnectionRecord) -> Result<(), StoreError> {
        self.db
            .write(move |tx| {
                match tx.execute(
                    "INSERT INTO event_connections (name, record) VALUES (?1, ?2)",
                    params![connection.name, encode(&connection)?],
                ) {
                    Ok(_) => Ok(()),
                    Err(e) if is_unique_violation(&e) => Err(StoreError::AlreadyExists(format!(
                        "connection {}",
                        connection.name
                    ))),
                    Err(e) => Err(sql(e)),
                }
            })
            .await
    }

    async fn update_connection(&self, connection: ConnectionRecord) -> Result<(), StoreError> {
        self.db
            .write(move |tx| {
                let n = tx
                    .execute(
                        "UPDATE event_connections SET record = ?2 WHERE name = ?1",
                        params![connection.name, encode(&connection)?],
                    )
                    .map_err(sql)?;
                if n == 0 {
                    return Err(StoreError::NotFound(format!(
                        "connection {}",
                        connection.name
                    )));
                }
                Ok(())
            })
            .await
    }

    async fn delete_connection(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.db
            .write(move |tx| {
                let n = tx
                    .execute("DELETE FROM event_connections WHERE name = ?1", [&name])
                    .map_err(sql)?;
                Ok(n > 0)
            })
            .await
    }

    async fn get_connection(&self, name: &str) -> Result<Option<ConnectionRecord>, StoreError> {
        let name = name.to_owned();
        self.db
            .read(move |c| {
                Ok(query_records(
                    c,
                    "SELECT record FROM event_connections WHERE name = ?1",
                    [&name],
                )?
                .pop())
            })
            .await
    }

    async fn list_connections(&self) -> Result<Vec<ConnectionRecord>, StoreError> {
        self.db
            .read(|c| query_records(c, "SELECT record FROM event_connections ORDER BY name", []))
            .await
    }
}

#[async_trait]
impl ApiDestinationStore for SqliteEventsStore {
    async fn create_api_destination(
        &self,
        destination: ApiDestinationRecord,
    ) -> Result<(), StoreError> {
        self.db
            .write(move |tx| {
                match tx.execute(
                    "INSERT INTO event_api_destinations (name, record) VALUES (?1, ?2)",
                    params![destination.name, encode(&destination)?],
                ) {
                    Ok(_) => Ok(()),
                    Err(e) if is_unique_violation(&e) => Err(StoreError::AlreadyExists(format!(
                        "api destination {}",
                        destination.name
                    ))),
                    Err(e) => Err(sql(e)),
                }
            })
            .await
    }

    async fn update_api_destination(
        &self,
        destination: ApiDestinationRecord,
    ) -> Result<(), StoreError> {
        self.db
            .write(move |tx| {
                let n = tx
                    .execute(
                        "UPDATE event_api_destinations SET record = ?2 WHERE name = ?1",
                        params![destination.name, encode(&destination)?],
                    )
                    .map_err(sql)?;
                if n == 0 {
                    return Err(StoreError::NotFound(format!(
                        "api destination {}",
                        destination.name
                    )));
                }
                Ok(())
            })
            .await
    }

    async fn delete_api_destination(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.db
            .write(move |tx| {
                let n = tx
                    .execute(
                        "DELETE FROM event_api_destinations WHERE name = ?1",
                        [&name],
                    )
                    .map_err(sql)?;
                Ok(n > 0)
            })
            .await
    }

    async fn get_api_destination(
        &self,
        name: &str,
    ) -> Result<Option<ApiDestinationRecord>, StoreError> {
        let name = name.to_owned();
        self.db
            .read(move |c| {
                Ok(query_records(
                    c,
                    "SELECT record FROM event_api_destinations WHERE name = ?1",
                    [&name],
                )?
                .pop())
            })
            .await
    }

    async fn list_api_destinations(&self) -> Result<Vec<ApiDestinationRecord>, StoreError> {
        self.db
            .read(|c| {
                query_records(
                    c,
                    "SELECT record FROM event_api_destinations ORDER BY name",
                    [],
                )
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn passes_the_event_store_conformance_suite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Database::open(
            &dir.path().join("baton.db"),
            &[crate::store::MIGRATIONS.sqlite],
        )
        .expect("open");
        let store = SqliteEventsStore::new(db.clone());
        crate::store::conformance::run(&store).await;
        db.close();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_claims_never_return_the_same_delivery() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Database::open(
            &dir.path().join("baton.db"),
            &[crate::store::MIGRATIONS.sqlite],
        )
        .expect("open");
        let store = SqliteEventsStore::new(db.clone());
        let deliveries: Vec<DeliveryRecord> = (0..500)
            .map(|i| DeliveryRecord {
                id: format!("d{i}"),
                event_id: format!("e{i}"),
                bus: "default".into(),
                rule_arn: "r".into(),
                target_id: "t".into(),
                target_arn: "a".into(),
                http_parameters: None,
                body: "{}".into(),
                ingested_ms: 0,
                maximum_retry_attempts: 185,
                maximum_event_age_in_seconds: 86_400,
                dead_letter_arn: None,
                message_group_id: None,
                hops: 0,
                attempts: 0,
                due_ms: i,
                last_error: None,
            })
            .collect();
        store
            .ingest(Ingest {
                deliveries,
                archived: vec![],
            })
            .await
            .expect("ingest");
        let mut handles = Vec::new();
        for _ in 0..8 {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = store.claim_due(1_000, 7, 1_000_000).await.expect("claim");
                    if got.is_empty() {
                        break;
                    }
                    mine.extend(got.into_iter().map(|d| d.id));
                }
                mine
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.expect("join"));
        }
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(n, 500, "every delivery claimed once");
        assert_eq!(all.len(), 500);
        db.close();
    }
}
