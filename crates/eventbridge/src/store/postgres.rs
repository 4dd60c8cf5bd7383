//! The event bus contracts (`store`) on PostgreSQL.
//!
//! The same tables as the SQLite store: records as JSON text next to the few columns
//! queries need (due times, states, cursors), which are the truth and override the JSON
//! copy on read. Read-modify-write operations lock the row they change (`FOR UPDATE`)
//! so two nodes changing one rule, replay or target list serialise; deliveries are
//! claimed with `FOR UPDATE SKIP LOCKED`, so workers on several nodes never wait on, nor
//! receive, the same delivery.

use crate::store::*;
use async_trait::async_trait;
use baton_platform::store::StoreError;
use deadpool_postgres::GenericClient;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_postgres::types::ToSql;

use baton_platform::store::postgres::Database;
use baton_platform::store::postgres::{big, is_unique_violation, pg};

/// The event bus store over a [`Database`].
#[derive(Clone)]
pub struct PostgresEventsStore {
    db: Database,
}

impl PostgresEventsStore {
    pub fn new(db: Database) -> Self {
        PostgresEventsStore { db }
    }
}

fn encode<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(StoreError::backend)
}

fn decode<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Backend(format!("corrupt record: {e}")))
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Rows of one text column, decoded.
async fn query_records<T: DeserializeOwned>(
    client: &impl GenericClient,
    query: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<T>, StoreError> {
    let rows = client.query(query, params).await.map_err(pg)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let text: String = row.try_get(0).map_err(pg)?;
        out.push(decode(&text)?);
    }
    Ok(out)
}

async fn exists(
    client: &impl GenericClient,
    query: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<bool, StoreError> {
    Ok(client.query_opt(query, params).await.map_err(pg)?.is_some())
}

/// Writes everything an ingest carries: one statement per table, however many rows.
async fn insert_ingest(client: &impl GenericClient, ingest: &Ingest) -> Result<(), StoreError> {
    if !ingest.deliveries.is_empty() {
        // The first of repeated ids wins, as with row-by-row inserts.
        let mut seen = std::collections::HashSet::new();
        let mut ids = Vec::new();
        let mut due = Vec::new();
        let mut attempts = Vec::new();
        let mut errors = Vec::new();
        let mut records = Vec::new();
        for d in &ingest.deliveries {
            if !seen.insert(d.id.as_str()) {
                continue;
            }
            ids.push(d.id.as_str());
            due.push(d.due_ms);
            attempts.push(i64::from(d.attempts));
            errors.push(d.last_error.as_deref());
            records.push(encode(d)?);
        }
        let stmt = client
            .prepare_cached(
                "INSERT INTO event_deliveries (id, due_ms, attempts, last_error, record)
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[],
                                      $5::text[])
                 ON CONFLICT (id) DO NOTHING",
            )
            .await
            .map_err(pg)?;
        client
            .execute(&stmt, &[&ids, &due, &attempts, &errors, &records])
            .await
            .map_err(pg)?;
    }
    if !ingest.archived.is_empty() {
        let archives: Vec<&str> = ingest.archived.iter().map(|a| a.archive.as_str()).collect();
        let events: Vec<&str> = ingest
            .archived
            .iter()
            .map(|a| a.event_id.as_str())
            .collect();
        let at: Vec<i64> = ingest.archived.iter().map(|a| a.ingested_ms).collect();
        let bodies: Vec<&str> = ingest.archived.iter().map(|a| a.event.as_str()).collect();
        let stmt = client
            .prepare_cached(
                "INSERT INTO event_archived (archive, event_id, ingested_ms, event)
                 SELECT a, e, i, v
                 FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[])
                      WITH ORDINALITY AS u(a, e, i, v, n)
                 WHERE EXISTS (SELECT 1 FROM event_archives WHERE name = u.a)
                 ORDER BY n
                 ON CONFLICT (archive, event_id) DO NOTHING",
            )
            .await
            .map_err(pg)?;
        client
            .execute(&stmt, &[&archives, &events, &at, &bodies])
            .await
            .map_err(pg)?;
    }
    Ok(())
}

fn rule_from_row(row: &tokio_postgres::Row) -> Result<RuleRecord, StoreError> {
    let text: String = row.try_get(0).map_err(pg)?;
    let next: Option<i64> = row.try_get(1).map_err(pg)?;
    let mut rule: RuleRecord = decode(&text)?;
    rule.next_fire_ms = next;
    Ok(rule)
}

fn replay_from_row(row: &tokio_postgres::Row) -> Result<ReplayRecord, StoreError> {
    let text: String = row.try_get(0).map_err(pg)?;
    let state: String = row.try_get(1).map_err(pg)?;
    let cursor: i64 = row.try_get(2).map_err(pg)?;
    let mut replay: ReplayRecord = decode(&text)?;
    replay.state = ReplayState::parse(&state)
        .ok_or_else(|| StoreError::Backend(format!("corrupt replay state {state}")))?;
    replay.cursor = cursor;
    Ok(replay)
}

/// Inserts one named record; a taken name is `AlreadyExists(what)`.
async fn insert_named(
    db: &Database,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    what: String,
) -> Result<(), StoreError> {
    let conn = db.conn().await?;
    match conn.execute(sql, params).await {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(StoreError::AlreadyExists(what)),
        Err(e) => Err(pg(e)),
    }
}

/// Updates one named record; a missing one is `NotFound(what)`.
async fn update_named(
    db: &Database,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    what: String,
) -> Result<(), StoreError> {
    let conn = db.conn().await?;
    let n = conn.execute(sql, params).await.map_err(pg)?;
    if n == 0 {
        return Err(StoreError::NotFound(what));
    }
    Ok(())
}

async fn delete_named(db: &Database, sql: &str, name: &str) -> Result<bool, StoreError> {
    let conn = db.conn().await?;
    Ok(conn.execute(sql, &[&name]).await.map_err(pg)? > 0)
}

#[async_trait]
impl BusStore for PostgresEventsStore {
    async fn create_bus(&self, bus: BusRecord) -> Result<(), StoreError> {
        insert_named(
            &self.db,
            "INSERT INTO event_buses (name, record) VALUES ($1, $2)",
            &[&bus.name, &encode(&bus)?],
            format!("event bus {}", bus.name),
        )
        .await
    }

    async fn update_bus(&self, bus: BusRecord) -> Result<(), StoreError> {
        update_named(
            &self.db,
            "UPDATE event_buses SET record = $2 WHERE name = $1",
            &[&bus.name, &encode(&bus)?],
            format!("event bus {}", bus.name),
        )
        .await
    }

    async fn delete_bus(&self, name: &str) -> Result<bool, StoreError> {
        delete_named(&self.db, "DELETE FROM event_buses WHERE name = $1", name).await
    }

    async fn list_buses(&self) -> Result<Vec<BusRecord>, StoreError> {
        let conn = self.db.conn().await?;
        query_records(&conn, "SELECT record FROM event_buses ORDER BY name", &[]).await
    }
}

#[async_trait]
impl RuleStore for PostgresEventsStore {
    async fn put_rule(&self, rule: RuleRecord) -> Result<(), StoreError> {
        let mut conn = self.db.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        // Locking the bus keeps it from being deleted under the new rule.
        if !exists(
            &tx,
            "SELECT 1 FROM event_buses WHERE name = $1 FOR SHARE",
            &[&rule.bus],
        )
        .await?
        {
            return Err(StoreError::NotFound(format!("event bus {}", rule.bus)));
        }
        let mut rule = rule;
        let old = tx
            .query_opt(
                "SELECT record, next_fire_ms FROM event_rules WHERE bus = $1 AND name = $2
                 FOR UPDATE",
                &[&rule.bus, &rule.name],
            )
            .await
            .map_err(pg)?;
        if let Some(row) = old {
            let old = rule_from_row(&row)?;
            rule.created_ms = old.created_ms;
            rule.created_by = old.created_by;
        }
        tx.execute(
            "INSERT INTO event_rules (bus, name, record, next_fire_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT (bus, name) DO UPDATE SET record = excluded.record,
                                                   next_fire_ms = excluded.next_fire_ms",
            &[&rule.bus, &rule.name, &encode(&rule)?, &rule.next_fire_ms],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)
    }

    async fn delete_rule(&self, bus: &str, name: &str, force: bool) -> Result<bool, StoreError> {
        let mut conn = self.db.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let found = tx
            .query_opt(
                "SELECT 1 FROM event_rules WHERE bus = $1 AND name = $2 FOR UPDATE",
                &[&bus, &name],
            )
            .await
            .map_err(pg)?;
        if found.is_none() {
            return Ok(false);
        }
        if !force
            && exists(
                &tx,
                "SELECT 1 FROM event_targets WHERE bus = $1 AND rule = $2 LIMIT 1",
                &[&bus, &name],
            )
            .await?
        {
            return Err(StoreError::Conflict(format!("rule {name} has targets")));
        }
        let n = tx
            .execute(
                "DELETE FROM event_rules WHERE bus = $1 AND name = $2",
                &[&bus, &name],
            )
            .await
            .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        Ok(n > 0)
    }

    async fn list_rules(&self) -> Result<Vec<RuleRecord>, StoreError> {
        let conn = self.db.conn().await?;
        let rows = conn
            .query(
                "SELECT record, next_fire_ms FROM event_rules ORDER BY bus, name",
                &[],
            )
            .await
            .map_err(pg)?;
        rows.iter().map(rule_from_row).collect()
    }

    async fn due_schedules(
        &self,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<RuleRecord>, StoreError> {
        let conn = self.db.conn().await?;
        let rows = conn
            .query(
                "SELECT record, next_fire_ms FROM event_rules
                 WHERE next_fire_ms IS NOT NULL AND next_fire_ms <= $1
                 ORDER BY next_fire_ms LIMIT $2",
                &[&now, &big(limit)],
            )
            .await
            .map_err(pg)?;
        rows.iter().map(rule_from_row).collect()
    }

    async fn next_schedule_ms(&self) -> Result<Option<Millis>, StoreError> {
        let conn = self.db.conn().await?;
        let row = conn
            .query_one("SELECT MIN(next_fire_ms) FROM event_rules", &[])
            .await
            .map_err(pg)?;
        row.try_get(0).map_err(pg)
    }

    async fn fire_schedule(
        &self,
        bus: &str,
        rule: &str,
        expected: Millis,
        next: Option<Millis>,
        ingest: Ingest,
    ) -> Result<bool, StoreError> {
        let mut conn = self.db.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        // The compare-and-set: of two nodes firing together, the second waits for the
        // first's row lock, then finds the fire time moved and changes nothing.
        let n = tx
            .execute(
                "UPDATE event_rules SET next_fire_ms = $4
                 WHERE bus = $1 AND name = $2 AND next_fire_ms = $3",
                &[&bus, &rule, &expected, &next],
            )
            .await
            .map_err(pg)?;
        if n == 0 {
            return Ok(false);
        }
        insert_ingest(&tx, &ingest).await?;
        tx.commit().await.map_err(pg)?;
        Ok(true)
    }
}

#[async_trait]
impl TargetStore for PostgresEventsStore {
    async fn put_targets(
        &self,
        bus: &str,
        rule: &str,
        targets: Vec<TargetRecord>,
        max_targets: usize,
    ) -> Result<(), StoreError> {
        let mut conn = self.db.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        // The rule's lock serialises changes to its target list (positions, the count).
        if !exists(
            &tx,
            "SELECT 1 FROM event_rules WHERE bus = $1 AND name = $2 FOR UPDATE",
            &[&bus, &rule],
        )
        .await?
        {
            return Err(StoreError::NotFound(format!("rule {rule}")));
        }
        let mut position: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(position), 0)::bigint FROM event_targets
                 WHERE bus = $1 AND rule = $2",
                &[&bus, &rule],
            )
            .await
            .map_err(pg)?
            .try_get(0)
            .map_err(pg)?;
        for t in &targets {
            position += 1;
            // Replacing a target keeps its place in the list.
            tx.execute(
                "INSERT INTO event_targets (bus, rule, id, position, record)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (bus, rule, id) DO UPDATE SET record = excluded.record",
                &[&bus, &rule, &t.id, &position, &encode(t)?],
            )
            .await
            .map_err(pg)?;
        }
        let n: i64 = tx
            .query_one(
                "SELECT COUNT(*) FROM event_targets WHERE bus = $1 AND rule = $2",
                &[&bus, &rule],
            )
            .await
            .map_err(pg)?
            .try_get(0)
            .map_err(pg)?;
        if usize::try_from(n).unwrap_or(usize::MAX) > max_targets {
            // Dropping the transaction rolls the inserts back.
            return Err(StoreError::Conflict(format!(
                "rule {rule} would have {n} targets"
            )));
        }
        tx.commit().await.map_err(pg)
    }

    async fn remove_targets(
        &self,
        bus: &str,
        rule: &str,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let mut conn = self.db.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        if !exists(
            &tx,
            "SELECT 1 FROM event_rules WHERE bus = $1 AND name = $2 FOR UPDATE",
            &[&bus, &rule],
        )
        .await?
        {
            return Err(StoreError::NotFound(format!("rule {rule}")));
        }
        let removed = tx
            .query(
                "DELETE FROM event_targets WHERE bus = $1 AND rule = $2 AND id = ANY($3)
                 RETURNING id",
                &[&bus, &rule, &ids],
            )
            .await
            .map_err(pg)?;
        let removed: std::collections::HashSet<String> = removed
            .iter()
            .map(|r| r.try_get::<_, String>(0))
            .collect::<Result<_, _>>()
            .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        let mut seen = std::collections::HashSet::new();
        Ok(ids
            .iter()
            .filter(|id| !removed.contains(*id) || !seen.insert(id.as_str()))
            .cloned()
            .collect())
    }

    async fn list_all_targets(&self) -> Result<Vec<(String, String, TargetRecord)>, StoreError> {
        let conn = self.db.conn().await?;
        let rows = conn
            .query(
                "SELECT bus, rule, record FROM event_targets ORDER BY bus, rule, position",
                &[],
            )
            .await
            .map_err(pg)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let bus: String = r.try_get(0).map_err(pg)?;
            let rule: String = r.try_get(1).map_err(pg)?;
            let text: String = r.try_get(2).map_err(pg)?;
            out.push((bus, rule, decode(&text)?));
        }
        Ok(out)
    }
}

#[async_trait]
impl EventLog for PostgresEventsStore {
    async fn ingest(&self, ingest: Ingest) -> Result<(), StoreError> {
        if ingest.is_empty() {
            return Ok(());
        }
        let mut conn = self.db.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        insert_ingest(&tx, &ingest).await?;
        tx.commit().await.map_err(pg)
    }
}

#[async_trait]
impl DeliveryQueue for PostgresEventsStore {
    async fn claim_due(
        &self,
        now: Millis,
        limit: usize,
        lease_until: Millis,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let conn = self.db.conn().await?;
        let stmt = conn
            .prepare_cached(
                "UPDATE event_deliveries d SET due_ms = $2, leased = TRUE
                 FROM (SELECT id FROM event_deliveries WHERE due_ms <= $1
                       ORDER BY due_ms LIMIT $3 FOR UPDATE SKIP LOCKED) c
                 WHERE d.id = c.id
                 RETURNING d.record, d.attempts, d.last_error",
            )
            .await
            .map_err(pg)?;
        let rows = conn
            .query(&stmt, &[&now, &lease_until, &big(limit)])
            .await
            .map_err(pg)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let text: String = r.try_get(0).map_err(pg)?;
            let attempts: i64 = r.try_get(1).map_err(pg)?;
            let mut d: DeliveryRecord = decode(&text)?;
            d.attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
            d.last_error = r.try_get(2).map_err(pg)?;
            out.push(d);
        }
        // RETURNING gives rows in no particular order.
        out.sort_by_key(|d| d.due_ms);
        Ok(out)
    }

    async fn retry_later(
        &self,
        id: &str,
        attempts: u32,
        due_ms: Millis,
        last_error: &str,
    ) -> Result<(), StoreError> {
        let conn = self.db.conn().await?;
        conn.execute(
            "UPDATE event_deliveries SET due_ms = $2, leased = FALSE, attempts = $3,
                                         last_error = $4
             WHERE id = $1",
            &[&id, &due_ms, &i64::from(attempts), &last_error],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }

    async fn finish(&self, id: &str, finish: Finish) -> Result<bool, StoreError> {
        let mut conn = self.db.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let n = tx
            .execute("DELETE FROM event_deliveries WHERE id = $1", &[&id])
            .await
            .map_err(pg)?;
        if n == 0 {
            return Ok(false);
        }
        if let Some(letter) = &finish.dead_letter {
            tx.execute(
                "INSERT INTO event_dead_letters (queue_arn, record) VALUES ($1, $2)",
                &[&letter.queue_arn, &encode(letter)?],
            )
            .await
            .map_err(pg)?;
        }
        insert_ingest(&tx, &finish.follow_up).await?;
        tx.commit().await.map_err(pg)?;
        Ok(true)
    }

    async fn next_due_ms(&self) -> Result<Option<Millis>, StoreError> {
        let conn = self.db.conn().await?;
        let row = conn
            .query_one("SELECT MIN(due_ms) FROM event_deliveries", &[])
            .await
            .map_err(pg)?;
        row.try_get(0).map_err(pg)
    }

    async fn release_leases(&self, now: Millis) -> Result<u64, StoreError> {
        let conn = self.db.conn().await?;
        conn.execute(
            "UPDATE event_deliveries SET due_ms = $1, leased = FALSE WHERE leased",
            &[&now],
        )
        .await
        .map_err(pg)
    }

    async fn pending_deliveries(&self) -> Result<u64, StoreError> {
        let conn = self.db.conn().await?;
        let row = conn
            .query_one("SELECT COUNT(*) FROM event_deliveries", &[])
            .await
            .map_err(pg)?;
        Ok(count(row.try_get(0).map_err(pg)?))
    }
}

#[async_trait]
impl DeadLetterStore for PostgresEventsStore {
    async fn list_dead_letters(
        &self,
        queue_arn: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let conn = self.db.conn().await?;
        query_records(
            &conn,
            "SELECT record FROM event_dead_letters
             WHERE $1::text IS NULL OR queue_arn = $1 ORDER BY seq LIMIT $2",
            &[&queue_arn, &big(limit)],
        )
        .await
    }
}

#[async_trait]
impl ArchiveStore for PostgresEventsStore {
    async fn create_archive(&self, archive: ArchiveRecord) -> Result<(), StoreError> {
        let mut conn = self.db.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        if !exists(
            &tx,
            "SELECT 1 FROM event_buses WHERE name = $1 FOR SHARE",
            &[&archive.bus],
        )
        .await?
        {
            return Err(StoreError::NotFound(format!("event bus {}", archive.bus)));
        }
        let n = tx
            .execute(
                "INSERT INTO event_archives (name, bus, record) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO NOTHING",
                &[&archive.name, &archive.bus, &encode(&archive)?],
            )
            .await
            .map_err(pg)?;
        if n == 0 {
            return Err(StoreError::AlreadyExists(format!(
                "archive {}",
                archive.name
            )));
        }
        tx.commit().await.map_err(pg)
    }

    async fn update_archive(&self, archive: ArchiveRecord) -> Result<(), StoreError> {
        update_named(
            &self.db,
            "UPDATE event_archives SET record = $2 WHERE name = $1",
            &[&archive.name, &encode(&archive)?],
            format!("archive {}", archive.name),
        )
        .await
    }

    async fn delete_archive(&self, name: &str) -> Result<bool, StoreError> {
        delete_named(&self.db, "DELETE FROM event_archives WHERE name = $1", name).await
    }

    async fn list_archives(&self) -> Result<Vec<ArchiveRecord>, StoreError> {
        let conn = self.db.conn().await?;
        query_records(
            &conn,
            "SELECT record FROM event_archives ORDER BY name",
            &[],
        )
        .await
    }

    async fn archive_stats(&self, name: &str) -> Result<ArchiveStats, StoreError> {
        let conn = self.db.conn().await?;
        let row = conn
            .query_one(
                "SELECT COUNT(*), COALESCE(SUM(octet_length(event)), 0)::bigint
                 FROM event_archived WHERE archive = $1",
                &[&name],
            )
            .await
            .map_err(pg)?;
        Ok(ArchiveStats {
            event_count: count(row.try_get(0).map_err(pg)?),
            size_bytes: count(row.try_get(1).map_err(pg)?),
        })
    }

    async fn archived_events(
        &self,
        archive: &str,
        start: Millis,
        end: Millis,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, ArchivedEvent)>, StoreError> {
        let conn = self.db.conn().await?;
        let rows = conn
            .query(
                "SELECT seq, event_id, ingested_ms, event FROM event_archived
                 WHERE archive = $1 AND ingested_ms >= $2 AND ingested_ms <= $3
                   AND seq > $4
                 ORDER BY seq LIMIT $5",
                &[&archive, &start, &end, &after, &big(limit)],
            )
            .await
            .map_err(pg)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    ArchivedEvent {
                        archive: archive.to_owned(),
                        event_id: r.try_get(1)?,
                        ingested_ms: r.try_get(2)?,
                        event: r.try_get(3)?,
                    },
                ))
            })
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(pg)
    }

    async fn purge_expired(&self, now: Millis) -> Result<u64, StoreError> {
        let archives = self.list_archives().await?;
        let mut names = Vec::new();
        let mut cutoffs = Vec::new();
        for a in archives.iter().filter(|a| a.retention_days > 0) {
            names.push(a.name.as_str());
            cutoffs
                .push(now.saturating_sub(i64::from(a.retention_days).saturating_mul(86_400_000)));
        }
        if names.is_empty() {
            return Ok(0);
        }
        let conn = self.db.conn().await?;
        conn.execute(
            "DELETE FROM event_archived e USING unnest($1::text[], $2::bigint[]) AS c(a, t)
             WHERE e.archive = c.a AND e.ingested_ms < c.t",
            &[&names, &cutoffs],
        )
        .await
        .map_err(pg)
    }
}

#[async_trait]
impl ReplayStore for PostgresEventsStore {
    async fn create_replay(&self, replay: ReplayRecord) -> Result<(), StoreError> {
        insert_named(
            &self.db,
            "INSERT INTO event_replays (name, state, cursor, record) VALUES ($1, $2, $3, $4)",
            &[
                &replay.name,
                &replay.state.as_str(),
                &replay.cursor,
                &encode(&replay)?,
            ],
            format!("replay {}", replay.name),
        )
        .await
    }

    async fn get_replay(&self, name: &str) -> Result<Option<ReplayRecord>, StoreError> {
        let conn = self.db.conn().await?;
        let row = conn
            .query_opt(
                "SELECT record, state, cursor FROM event_replays WHERE name = $1",
                &[&name],
            )
            .await
            .map_err(pg)?;
        row.as_ref().map(replay_from_row).transpose()
    }

    async fn list_replays(&self) -> Result<Vec<ReplayRecord>, StoreError> {
        let conn = self.db.conn().await?;
        let rows = conn
            .query(
                "SELECT record, state, cursor FROM event_replays ORDER BY name",
                &[],
            )
            .await
            .map_err(pg)?;
        rows.iter().map(replay_from_row).collect()
    }

    async fn set_replay_state(
        &self,
        name: &str,
        from: &[ReplayState],
        state: ReplayState,
        reason: Option<String>,
        end_ms: Option<Millis>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.db.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let row = tx
            .query_opt(
                "SELECT record, state, cursor FROM event_replays WHERE name = $1 FOR UPDATE",
                &[&name],
            )
            .await
            .map_err(pg)?;
        let Some(row) = row else {
            return Ok(false);
        };
        let mut replay = replay_from_row(&row)?;
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
            "UPDATE event_replays SET state = $2, record = $3 WHERE name = $1",
            &[&name, &state.as_str(), &encode(&replay)?],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        Ok(true)
    }

    async fn advance_replay(
        &self,
        name: &str,
        expected: i64,
        cursor: i64,
        last_replayed_ms: Option<Millis>,
        ingest: Ingest,
    ) -> Result<bool, StoreError> {
        let mut conn = self.db.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let row = tx
            .query_opt(
                "SELECT record, state, cursor FROM event_replays WHERE name = $1 FOR UPDATE",
                &[&name],
            )
            .await
            .map_err(pg)?;
        let Some(row) = row else {
            return Ok(false);
        };
        let mut replay = replay_from_row(&row)?;
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
            "UPDATE event_replays SET cursor = $2, record = $3 WHERE name = $1",
            &[&name, &cursor, &encode(&replay)?],
        )
        .await
        .map_err(pg)?;
        insert_ingest(&tx, &ingest).await?;
        tx.commit().await.map_err(pg)?;
        Ok(true)
    }
}

#[async_trait]
impl ConnectionStore for PostgresEventsStore {
    async fn create_connection(&self, connection: ConnectionRecord) -> Result<(), StoreError> {
        insert_named(
            &self.db,
            "INSERT INTO event_connections (name, record) VALUES ($1, $2)",
            &[&connection.name, &encode(&connection)?],
            format!("connection {}", connection.name),
        )
        .await
    }

    async fn update_connection(&self, connection: ConnectionRecord) -> Result<(), StoreError> {
        update_named(
            &self.db,
            "UPDATE event_connections SET record = $2 WHERE name = $1",
            &[&connection.name, &encode(&connection)?],
            format!("connection {}", connection.name),
        )
        .await
    }

    async fn delete_connection(&self, name: &str) -> Result<bool, StoreError> {
        delete_named(
            &self.db,
            "DELETE FROM event_connections WHERE name = $1",
            name,
        )
        .await
    }

    async fn get_connection(&self, name: &str) -> Result<Option<ConnectionRecord>, StoreError> {
        let conn = self.db.conn().await?;
        Ok(query_records(
            &conn,
            "SELECT record FROM event_connections WHERE name = $1",
            &[&name],
        )
        .await?
        .pop())
    }

    async fn list_connections(&self) -> Result<Vec<ConnectionRecord>, StoreError> {
        let conn = self.db.conn().await?;
        query_records(
            &conn,
            "SELECT record FROM event_connections ORDER BY name",
            &[],
        )
        .await
    }
}

#[async_trait]
impl ApiDestinationStore for PostgresEventsStore {
    async fn create_api_destination(
        &self,
        destination: ApiDestinationRecord,
    ) -> Result<(), StoreError> {
        insert_named(
            &self.db,
            "INSERT INTO event_api_destinations (name, record) VALUES ($1, $2)",
            &[&destination.name, &encode(&destination)?],
            format!("api destination {}", destination.name),
        )
        .await
    }

    async fn update_api_destination(
        &self,
        destination: ApiDestinationRecord,
    ) -> Result<(), StoreError> {
        update_named(
            &self.db,
            "UPDATE event_api_destinations SET record = $2 WHERE name = $1",
            &[&destination.name, &encode(&destination)?],
            format!("api destination {}", destination.name),
        )
        .await
    }

    async fn delete_api_destination(&self, name: &str) -> Result<bool, StoreError> {
        delete_named(
            &self.db,
            "DELETE FROM event_api_destinations WHERE name = $1",
            name,
        )
        .await
    }

    async fn get_api_destination(
        &self,
        name: &str,
    ) -> Result<Option<ApiDestinationRecord>, StoreError> {
        let conn = self.db.conn().await?;
        Ok(query_records(
            &conn,
            "SELECT record FROM event_api_destinations WHERE name = $1",
            &[&name],
        )
        .await?
        .pop())
    }

    async fn list_api_destinations(&self) -> Result<Vec<ApiDestinationRecord>, StoreError> {
        let conn = self.db.conn().await?;
        query_records(
            &conn,
            "SELECT record FROM event_api_destinations ORDER BY name",
            &[],
        )
        .await
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_passes_the_event_store_conformance_suite() {
        let Some(db) = fresh("events_conformance").await else {
            return;
        };
        let store = PostgresEventsStore::new(db);
        crate::store::conformance::run(&store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_claims_never_return_the_same_delivery() {
        let Some(db) = fresh("events_claims").await else {
            return;
        };
        let store = PostgresEventsStore::new(db);
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
    }
}
