//! The Step Functions tables (`migrations/postgres/1000_sfn.sql`) behind the `store`
//! traits, for several nodes on one database.
//!
//! How nodes stay apart:
//! * `commit_step` updates the execution row only `WHERE version = $expected`; a second
//!   node racing on the same execution waits for the first one's row lock, then finds
//!   the version moved and gets `Conflict`, and its whole transaction rolls back.
//! * Work and activity tasks are claimed with `FOR UPDATE SKIP LOCKED` inside one
//!   `UPDATE … RETURNING`, so concurrent claims never wait on, nor return, the same row;
//!   the claim leases each row (owner, expiry) and an expired lease frees it for others.
//!
//! Why pipelining: a step writes several tables. Each statement is prepared once per
//! connection and the step's statements are sent together; PostgreSQL runs them in
//! order inside the transaction, and the answers are checked afterwards (a failed check
//! rolls everything back). `BEGIN` and `COMMIT` travel in the same pipeline: a check
//! that fails raises an error (`baton_check`), which aborts the transaction, so the
//! `COMMIT` behind it rolls back. A step costs one round trip however many history
//! events, work items and tasks it carries — rows of one kind go in one statement
//! (`unnest` over arrays).

use crate::store::{
    ActivityRecord, ActivityStore, ActivityTask, ExecutionFilter, ExecutionId, ExecutionRecord,
    ExecutionStore, HistoryRow, MachineType, Millis, NewExecution, ParentLink, Revision,
    RevisionRecord, RunStatus, Snapshot, SnapshotChange, StateMachineRecord, StateMachineStore,
    Step, Tag, TagStore, WorkItem, WorkKey, WorkStore,
};
use async_trait::async_trait;
use baton_platform::store::StoreError;
use deadpool_postgres::GenericClient;
use futures_util::future::join_all;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use baton_platform::store::postgres::Database;
use baton_platform::store::postgres::{big, is_unique_violation, pg};

type PgResult<T> = Result<T, tokio_postgres::Error>;

fn json_opt(v: &Option<serde_json::Value>) -> Option<String> {
    v.as_ref().map(|v| v.to_string())
}

fn parse_json_opt(s: Option<String>) -> Option<serde_json::Value> {
    s.and_then(|s| serde_json::from_str(&s).ok())
}

fn machine_type(s: &str) -> Result<MachineType, StoreError> {
    MachineType::parse(s).ok_or_else(|| StoreError::Backend(format!("bad machine type {s:?}")))
}

fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

const MACHINE_COLUMNS: &str = "m.arn, m.name, m.machine_type, m.created_millis, r.revision_id, \
     r.definition, r.role_arn, r.logging_configuration, r.tracing_configuration, r.created_millis";

fn machine_from_row(row: &Row) -> Result<StateMachineRecord, StoreError> {
    let read = || -> PgResult<(StateMachineRecord, String)> {
        Ok((
            StateMachineRecord {
                arn: row.try_get(0)?,
                name: row.try_get(1)?,
                machine_type: MachineType::Standard,
                created_millis: row.try_get(3)?,
                revision: Revision {
                    revision_id: row.try_get(4)?,
                    definition: row.try_get(5)?,
                    role_arn: row.try_get(6)?,
                    logging_configuration: parse_json_opt(row.try_get(7)?),
                    tracing_configuration: parse_json_opt(row.try_get(8)?),
                    created_millis: row.try_get(9)?,
                },
            },
            row.try_get(2)?,
        ))
    };
    let (mut m, kind) = read().map_err(pg)?;
    m.machine_type = machine_type(&kind)?;
    Ok(m)
}

async fn insert_revision(
    tx: &deadpool_postgres::Transaction<'_>,
    arn: &str,
    name: &str,
    kind: MachineType,
    r: &Revision,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO sfn_revisions (revision_id, state_machine_arn, name, machine_type, \
         definition, role_arn, logging_configuration, tracing_configuration, created_millis) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &r.revision_id,
            &arn,
            &name,
            &kind.as_str(),
            &r.definition,
            &r.role_arn,
            &json_opt(&r.logging_configuration),
            &json_opt(&r.tracing_configuration),
            &r.created_millis,
        ],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

async fn put_tags(client: &impl GenericClient, arn: &str, tags: &[Tag]) -> Result<(), StoreError> {
    if tags.is_empty() {
        return Ok(());
    }
    // Later keys win, as when each tag is written in turn.
    let mut by_key = std::collections::BTreeMap::new();
    for t in tags {
        by_key.insert(t.key.as_str(), t.value.as_str());
    }
    let keys: Vec<&str> = by_key.keys().copied().collect();
    let values: Vec<&str> = by_key.values().copied().collect();
    client
        .execute(
            "INSERT INTO sfn_tags (resource_arn, key, value) \
             SELECT $1, k, v FROM unnest($2::text[], $3::text[]) AS u(k, v) \
             ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value",
            &[&arn, &keys, &values],
        )
        .await
        .map_err(pg)?;
    Ok(())
}

async fn read_machine(
    client: &impl GenericClient,
    arn: &str,
) -> Result<Option<StateMachineRecord>, StoreError> {
    let sql = format!(
        "SELECT {MACHINE_COLUMNS} FROM sfn_state_machines m \
         JOIN sfn_revisions r ON r.revision_id = m.revision_id WHERE m.arn = $1"
    );
    let row = client.query_opt(&sql, &[&arn]).await.map_err(pg)?;
    row.as_ref().map(machine_from_row).transpose()
}

#[async_trait]
impl StateMachineStore for Database {
    async fn insert_state_machine(
        &self,
        machine: &StateMachineRecord,
        tags: &[Tag],
    ) -> Result<(), StoreError> {
        let m = machine;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let exists = tx
            .query_opt("SELECT 1 FROM sfn_state_machines WHERE arn = $1", &[&m.arn])
            .await
            .map_err(pg)?
            .is_some();
        if exists {
            return Err(StoreError::AlreadyExists(m.arn.clone()));
        }
        insert_revision(&tx, &m.arn, &m.name, m.machine_type, &m.revision).await?;
        // A concurrent insert of the same ARN: the loser's transaction (with its
        // revision) rolls back.
        let inserted = tx
            .execute(
                "INSERT INTO sfn_state_machines (arn, name, machine_type, created_millis, \
                 revision_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (arn) DO NOTHING",
                &[
                    &m.arn,
                    &m.name,
                    &m.machine_type.as_str(),
                    &m.created_millis,
                    &m.revision.revision_id,
                ],
            )
            .await
            .map_err(pg)?;
        if inserted == 0 {
            return Err(StoreError::AlreadyExists(m.arn.clone()));
        }
        put_tags(&tx, &m.arn, tags).await?;
        tx.commit().await.map_err(pg)
    }

    async fn state_machine(&self, arn: &str) -> Result<Option<StateMachineRecord>, StoreError> {
        let conn = self.conn().await?;
        read_machine(&conn, arn).await
    }

    async fn update_state_machine(
        &self,
        arn: &str,
        revision: &Revision,
    ) -> Result<StateMachineRecord, StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let found = tx
            .query_opt(
                "SELECT name, machine_type FROM sfn_state_machines WHERE arn = $1 FOR UPDATE",
                &[&arn],
            )
            .await
            .map_err(pg)?;
        let Some(row) = found else {
            return Err(StoreError::NotFound(arn.to_owned()));
        };
        let name: String = row.try_get(0).map_err(pg)?;
        let kind: String = row.try_get(1).map_err(pg)?;
        insert_revision(&tx, arn, &name, machine_type(&kind)?, revision).await?;
        tx.execute(
            "UPDATE sfn_state_machines SET revision_id = $2 WHERE arn = $1",
            &[&arn, &revision.revision_id],
        )
        .await
        .map_err(pg)?;
        let m = read_machine(&tx, arn)
            .await?
            .ok_or_else(|| StoreError::NotFound(arn.to_owned()))?;
        tx.commit().await.map_err(pg)?;
        Ok(m)
    }

    async fn delete_state_machine(&self, arn: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let n = tx
            .execute("DELETE FROM sfn_state_machines WHERE arn = $1", &[&arn])
            .await
            .map_err(pg)?;
        tx.execute("DELETE FROM sfn_tags WHERE resource_arn = $1", &[&arn])
            .await
            .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        Ok(n > 0)
    }

    async fn list_state_machines(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StateMachineRecord>, StoreError> {
        let conn = self.conn().await?;
        let sql = format!(
            "SELECT {MACHINE_COLUMNS} FROM sfn_state_machines m \
             JOIN sfn_revisions r ON r.revision_id = m.revision_id \
             WHERE m.arn > $1 ORDER BY m.arn LIMIT $2"
        );
        let rows = conn
            .query(&sql, &[&after.unwrap_or(""), &big(limit)])
            .await
            .map_err(pg)?;
        rows.iter().map(machine_from_row).collect()
    }

    async fn revision(&self, revision_id: &str) -> Result<Option<RevisionRecord>, StoreError> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                "SELECT state_machine_arn, name, machine_type, definition, role_arn, \
                 logging_configuration, tracing_configuration, created_millis \
                 FROM sfn_revisions WHERE revision_id = $1",
                &[&revision_id],
            )
            .await
            .map_err(pg)?;
        let Some(r) = row else {
            return Ok(None);
        };
        let read = || -> PgResult<(String, String, String, Revision)> {
            Ok((
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                Revision {
                    revision_id: revision_id.to_owned(),
                    definition: r.try_get(3)?,
                    role_arn: r.try_get(4)?,
                    logging_configuration: parse_json_opt(r.try_get(5)?),
                    tracing_configuration: parse_json_opt(r.try_get(6)?),
                    created_millis: r.try_get(7)?,
                },
            ))
        };
        let (arn, name, kind, revision) = read().map_err(pg)?;
        Ok(Some(RevisionRecord {
            state_machine_arn: arn,
            name,
            machine_type: machine_type(&kind)?,
            revision,
        }))
    }
}

fn activity_from_row(r: &Row) -> PgResult<ActivityRecord> {
    Ok(ActivityRecord {
        arn: r.try_get(0)?,
        name: r.try_get(1)?,
        created_millis: r.try_get(2)?,
    })
}

#[async_trait]
impl ActivityStore for Database {
    async fn insert_activity(
        &self,
        activity: &ActivityRecord,
        tags: &[Tag],
    ) -> Result<(), StoreError> {
        let a = activity;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let n = tx
            .execute(
                "INSERT INTO sfn_activities (arn, name, created_millis) VALUES ($1, $2, $3) \
                 ON CONFLICT (arn) DO NOTHING",
                &[&a.arn, &a.name, &a.created_millis],
            )
            .await
            .map_err(pg)?;
        if n == 0 {
            return Err(StoreError::AlreadyExists(a.arn.clone()));
        }
        put_tags(&tx, &a.arn, tags).await?;
        tx.commit().await.map_err(pg)
    }

    async fn activity(&self, arn: &str) -> Result<Option<ActivityRecord>, StoreError> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                "SELECT arn, name, created_millis FROM sfn_activities WHERE arn = $1",
                &[&arn],
            )
            .await
            .map_err(pg)?;
        row.as_ref().map(activity_from_row).transpose().map_err(pg)
    }

    async fn delete_activity(&self, arn: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let n = tx
            .execute("DELETE FROM sfn_activities WHERE arn = $1", &[&arn])
            .await
            .map_err(pg)?;
        tx.execute("DELETE FROM sfn_tags WHERE resource_arn = $1", &[&arn])
            .await
            .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        Ok(n > 0)
    }

    async fn list_activities(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ActivityRecord>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT arn, name, created_millis FROM sfn_activities WHERE arn > $1 \
                 ORDER BY arn LIMIT $2",
                &[&after.unwrap_or(""), &big(limit)],
            )
            .await
            .map_err(pg)?;
        rows.iter()
            .map(activity_from_row)
            .collect::<PgResult<_>>()
            .map_err(pg)
    }
}

#[async_trait]
impl TagStore for Database {
    async fn tag_resource(&self, arn: &str, tags: &[Tag]) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        put_tags(&conn, arn, tags).await
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        conn.execute(
            "DELETE FROM sfn_tags WHERE resource_arn = $1 AND key = ANY($2)",
            &[&arn, &keys],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }

    async fn tags(&self, arn: &str) -> Result<Vec<Tag>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT key, value FROM sfn_tags WHERE resource_arn = $1 ORDER BY key",
                &[&arn],
            )
            .await
            .map_err(pg)?;
        rows.iter()
            .map(|r| {
                Ok(Tag {
                    key: r.try_get(0)?,
                    value: r.try_get(1)?,
                })
            })
            .collect::<PgResult<_>>()
            .map_err(pg)
    }
}

const EXECUTION_COLUMNS: &str = "id, arn, name, state_machine_arn, revision_id, status, \
     start_millis, stop_millis, input, output, error, cause, redrive_count, redrive_millis, \
     parent_arn, parent_task_id, version";

fn execution_from_row(r: &Row) -> Result<ExecutionRecord, StoreError> {
    let read = || -> PgResult<(ExecutionRecord, String)> {
        let parent_arn: Option<String> = r.try_get(14)?;
        let parent_task: Option<i64> = r.try_get(15)?;
        Ok((
            ExecutionRecord {
                id: ExecutionId(r.try_get(0)?),
                arn: r.try_get(1)?,
                name: r.try_get(2)?,
                state_machine_arn: r.try_get(3)?,
                revision_id: r.try_get(4)?,
                status: RunStatus::Running,
                start_millis: r.try_get(6)?,
                stop_millis: r.try_get(7)?,
                input: r.try_get(8)?,
                output: r.try_get(9)?,
                error: r.try_get(10)?,
                cause: r.try_get(11)?,
                redrive_count: r.try_get::<_, i64>(12)?.try_into().unwrap_or(u32::MAX),
                redrive_millis: r.try_get(13)?,
                parent: match (parent_arn, parent_task) {
                    (Some(execution_arn), Some(t)) => Some(ParentLink {
                        execution_arn,
                        task_id: unsigned(t),
                    }),
                    _ => None,
                },
                version: r.try_get(16)?,
            },
            r.try_get(5)?,
        ))
    };
    let (mut e, status) = read().map_err(pg)?;
    e.status = RunStatus::parse(&status)
        .ok_or_else(|| StoreError::Backend(format!("bad status {status:?}")))?;
    Ok(e)
}

fn snapshot_text(step: &Step) -> Option<&str> {
    match &step.snapshot {
        SnapshotChange::Replace(s) => Some(s.as_str()),
        SnapshotChange::Clear => None,
    }
}

fn already_recorded(id: i64, event_id: u64) -> StoreError {
    StoreError::Conflict(format!(
        "history event {event_id} of execution {id} is already recorded"
    ))
}

/// The step's history ids must ascend; returns the first and last (0, 0 when empty).
fn history_bounds(id: i64, after: u64, step: &Step) -> Result<(u64, u64), StoreError> {
    let mut last = after;
    for h in &step.history {
        if h.event_id <= last {
            return Err(already_recorded(id, h.event_id));
        }
        last = h.event_id;
    }
    Ok((step.history.first().map_or(0, |h| h.event_id), last))
}

/// A step's rows as arrays, one per column, so each table takes one statement.
struct StepRows<'a> {
    event_ids: Vec<i64>,
    bodies: Vec<&'a str>,
    done_executions: Vec<i64>,
    done_keys: Vec<&'a str>,
    work_keys: Vec<&'a str>,
    work_due: Vec<i64>,
    work_payloads: Vec<&'a str>,
    work_owners: Vec<Option<&'a str>>,
    work_until: Vec<Option<i64>>,
    tasks_done: Vec<i64>,
    task_activities: Vec<&'a str>,
    task_ids: Vec<i64>,
    task_inputs: Vec<&'a str>,
    task_tokens: Vec<&'a str>,
}

impl<'a> StepRows<'a> {
    fn new(step: &'a Step) -> StepRows<'a> {
        // One row per key: the last one added wins, as it would row by row.
        let mut added: Vec<&crate::store::NewWork> = Vec::new();
        for w in &step.work_added {
            if let Some(i) = added.iter().position(|a| a.key == w.key) {
                added.remove(i);
            }
            added.push(w);
        }
        StepRows {
            event_ids: step.history.iter().map(|h| signed(h.event_id)).collect(),
            bodies: step.history.iter().map(|h| h.body.as_str()).collect(),
            done_executions: step.work_done.iter().map(|w| w.execution.0).collect(),
            done_keys: step.work_done.iter().map(|w| w.key.as_str()).collect(),
            work_keys: added.iter().map(|w| w.key.as_str()).collect(),
            work_due: added.iter().map(|w| w.due_millis).collect(),
            work_payloads: added.iter().map(|w| w.payload.as_str()).collect(),
            work_owners: added
                .iter()
                .map(|w| w.lease.as_ref().map(|l| l.owner.as_str()))
                .collect(),
            work_until: added
                .iter()
                .map(|w| w.lease.as_ref().map(|l| l.until_millis))
                .collect(),
            tasks_done: step
                .activity_tasks_done
                .iter()
                .map(|t| signed(*t))
                .collect(),
            task_activities: step
                .activity_tasks_added
                .iter()
                .map(|t| t.activity_arn.as_str())
                .collect(),
            task_ids: step
                .activity_tasks_added
                .iter()
                .map(|t| signed(t.task_id))
                .collect(),
            task_inputs: step
                .activity_tasks_added
                .iter()
                .map(|t| t.input.as_str())
                .collect(),
            task_tokens: step
                .activity_tasks_added
                .iter()
                .map(|t| t.token.as_str())
                .collect(),
        }
    }
}

/// Where a step's rows get their execution id: a parameter, or (for a new execution,
/// whose id the same pipeline assigns) the id sequence's value in this session.
const NEW_ID: &str = "currval('sfn_executions_id_seq')";

/// The statements that write a step's rows (all but the execution row itself), for an
/// execution id given as `id` (`$1` or [`NEW_ID`]). Shifts parameters when `id` is not
/// `$1`.
fn step_statements(id: &str) -> [String; 5] {
    let p = |n: usize| {
        if id == "$1" {
            format!("${n}")
        } else {
            format!("${}", n - 1)
        }
    };
    [
        format!(
            "INSERT INTO sfn_history (execution_id, event_id, body) \
             SELECT {id}, e, b FROM unnest({}::bigint[], {}::text[]) AS u(e, b)",
            p(2),
            p(3)
        ),
        // Work consumed may be another execution's: keys carry their execution.
        "DELETE FROM sfn_work w USING unnest($1::bigint[], $2::text[]) AS d(x, k) \
         WHERE w.execution_id = d.x AND w.key = d.k"
            .to_owned(),
        format!(
            "INSERT INTO sfn_work (execution_id, key, due_millis, payload, lease_owner, \
             lease_until) SELECT {id}, k, d, p, o, l \
             FROM unnest({}::text[], {}::bigint[], {}::text[], {}::text[], {}::bigint[]) \
             AS u(k, d, p, o, l) \
             ON CONFLICT (execution_id, key) DO UPDATE SET due_millis = excluded.due_millis, \
             payload = excluded.payload, lease_owner = excluded.lease_owner, \
             lease_until = excluded.lease_until",
            p(2),
            p(3),
            p(4),
            p(5),
            p(6)
        ),
        format!(
            "DELETE FROM sfn_activity_tasks WHERE execution_id = {id} AND task_id = ANY({})",
            p(2)
        ),
        format!(
            "INSERT INTO sfn_activity_tasks (activity_arn, execution_id, task_id, input, \
             token) SELECT a, {id}, t, i, k \
             FROM unnest({}::text[], {}::bigint[], {}::text[], {}::text[]) \
             WITH ORDINALITY AS u(a, t, i, k, n) \
             ORDER BY n ON CONFLICT (execution_id, task_id) DO NOTHING",
            p(2),
            p(3),
            p(4),
            p(5)
        ),
    ]
}

/// `id` (when the statement takes it as `$1`) followed by `rest`.
fn with_id<'b>(
    id: Option<&'b i64>,
    rest: &[&'b (dyn ToSql + Sync)],
) -> Vec<&'b (dyn ToSql + Sync)> {
    let mut v: Vec<&'b (dyn ToSql + Sync)> = Vec::with_capacity(rest.len() + 1);
    if let Some(id) = id {
        v.push(id);
    }
    v.extend_from_slice(rest);
    v
}

/// Sends the statements for a step's rows on `tx` without waiting between them; returns
/// each statement's result in order. Empty parts send nothing.
async fn write_step_rows(
    tx: &impl GenericClient,
    statements: &[tokio_postgres::Statement; 5],
    id: Option<i64>,
    rows: &StepRows<'_>,
) -> Vec<PgResult<u64>> {
    let id = id.as_ref();
    let mut calls: Vec<(usize, Vec<&(dyn ToSql + Sync)>)> = Vec::new();
    if !rows.event_ids.is_empty() {
        calls.push((0, with_id(id, &[&rows.event_ids, &rows.bodies])));
    }
    if !rows.done_keys.is_empty() {
        calls.push((1, vec![&rows.done_executions, &rows.done_keys]));
    }
    if !rows.work_keys.is_empty() {
        calls.push((
            2,
            with_id(
                id,
                &[
                    &rows.work_keys,
                    &rows.work_due,
                    &rows.work_payloads,
                    &rows.work_owners,
                    &rows.work_until,
                ],
            ),
        ));
    }
    if !rows.tasks_done.is_empty() {
        calls.push((3, with_id(id, &[&rows.tasks_done])));
    }
    if !rows.task_ids.is_empty() {
        calls.push((
            4,
            with_id(
                id,
                &[
                    &rows.task_activities,
                    &rows.task_ids,
                    &rows.task_inputs,
                    &rows.task_tokens,
                ],
            ),
        ));
    }
    join_all(
        calls
            .iter()
            .map(|(i, params)| tx.execute(&statements[*i], params.as_slice())),
    )
    .await
}

/// Prepares (once per connection) the statements of [`step_statements`].
async fn prepare_step(
    tx: &impl GenericClient,
    id: &str,
) -> Result<[tokio_postgres::Statement; 5], StoreError> {
    let [a, b, c, d, e] = step_statements(id);
    Ok([
        tx.prepare_cached(&a).await.map_err(pg)?,
        tx.prepare_cached(&b).await.map_err(pg)?,
        tx.prepare_cached(&c).await.map_err(pg)?,
        tx.prepare_cached(&d).await.map_err(pg)?,
        tx.prepare_cached(&e).await.map_err(pg)?,
    ])
}

/// The first failure among pipelined results: a duplicate history row is a `Conflict`.
fn first_failure(id: i64, results: Vec<PgResult<u64>>, step: &Step) -> Result<(), StoreError> {
    for r in results {
        if let Err(e) = r {
            if is_unique_violation(&e) {
                let first = step.history.first().map_or(0, |h| h.event_id);
                return Err(already_recorded(id, first));
            }
            return Err(pg(e));
        }
    }
    Ok(())
}

async fn query_executions(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<ExecutionRecord>, StoreError> {
    let rows = client.query(sql, params).await.map_err(pg)?;
    rows.iter().map(execution_from_row).collect()
}

/// The pipelined statements' outcome: `BEGIN`, the statement that creates or versions
/// the execution row, the rows, and `COMMIT`.
struct Pipeline<T> {
    begin: PgResult<()>,
    head: PgResult<T>,
    rows: Vec<PgResult<u64>>,
    commit: PgResult<()>,
}

impl<T> Pipeline<T> {
    /// Sends `BEGIN`, `head`, the step's rows and `COMMIT` in one go and waits for all
    /// answers. A statement that fails aborts the transaction, so the `COMMIT` sent
    /// with it rolls back instead: nothing of a refused step is kept.
    async fn run(
        conn: &deadpool_postgres::Object,
        head: impl std::future::Future<Output = PgResult<T>>,
        statements: &[tokio_postgres::Statement; 5],
        id: Option<i64>,
        rows: &StepRows<'_>,
    ) -> Pipeline<T> {
        // `join4` polls in order, so the messages leave in this order.
        let (begin, head, rows, commit) = futures_util::future::join4(
            conn.batch_execute("BEGIN"),
            head,
            write_step_rows(conn, statements, id, rows),
            conn.batch_execute("COMMIT"),
        )
        .await;
        Pipeline {
            begin,
            head,
            rows,
            commit,
        }
    }
}

/// Raised by `baton_check` (migration `1000_sfn`): the version or history check failed.
fn is_refused(e: &tokio_postgres::Error) -> bool {
    e.code().map(|c| c.code()) == Some("BT001")
}

#[async_trait]
impl ExecutionStore for Database {
    async fn start_execution(
        &self,
        execution: NewExecution,
        first_step: Step,
    ) -> Result<ExecutionId, StoreError> {
        let e = &execution;
        let step = &first_step;
        let (_, last) = history_bounds(0, 0, step)?;
        let (parent_arn, parent_task) = match &e.parent {
            Some(p) => (Some(p.execution_arn.as_str()), Some(signed(p.task_id))),
            None => (None, None),
        };
        let rows = StepRows::new(step);
        let conn = self.conn().await?;
        let insert = conn
            .prepare_cached(
                "INSERT INTO sfn_executions (arn, name, state_machine_arn, revision_id, \
                 status, start_millis, stop_millis, input, output, error, cause, \
                 parent_arn, parent_task_id, version, snapshot, last_event_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $15) \
                 RETURNING id",
            )
            .await
            .map_err(pg)?;
        let statements = prepare_step(&conn, NEW_ID).await?;
        let last = signed(last);
        let params: [&(dyn ToSql + Sync); 15] = [
            &e.arn,
            &e.name,
            &e.state_machine_arn,
            &e.revision_id,
            &step.status.as_str(),
            &e.start_millis,
            &step.stop_millis,
            &e.input,
            &step.output,
            &step.error,
            &step.cause,
            &parent_arn,
            &parent_task,
            &snapshot_text(step),
            &last,
        ];
        // The step's rows find the new id with `currval`, set by the INSERT's default.
        let run = Pipeline::run(
            &conn,
            conn.query_one(&insert, &params),
            &statements,
            None,
            &rows,
        )
        .await;
        run.begin.map_err(pg)?;
        let row = match run.head {
            Ok(row) => row,
            Err(err) if is_unique_violation(&err) => {
                return Err(StoreError::AlreadyExists(e.arn.clone()));
            }
            Err(err) => return Err(pg(err)),
        };
        let id: i64 = row.try_get(0).map_err(pg)?;
        first_failure(id, run.rows, step)?;
        run.commit.map_err(pg)?;
        Ok(ExecutionId(id))
    }

    async fn commit_step(
        &self,
        execution: ExecutionId,
        version: i64,
        step: Step,
    ) -> Result<(), StoreError> {
        let id = execution.0;
        let (first, last) = history_bounds(id, 0, &step)?;
        let rows = StepRows::new(&step);
        let conn = self.conn().await?;
        // The version check and the history check in one statement that fails the
        // transaction when they do not hold. It locks the row, so a racing node waits
        // here and then finds the version moved.
        let update = conn
            .prepare_cached(
                "WITH u AS (UPDATE sfn_executions SET version = version + 1, status = $3, \
                 stop_millis = $4, output = $5, error = $6, cause = $7, snapshot = $8, \
                 last_event_id = GREATEST(last_event_id, $9), \
                 redrive_count = COALESCE($10, redrive_count), \
                 redrive_millis = COALESCE($11, redrive_millis) \
                 WHERE id = $1 AND version = $2 AND last_event_id < $12 RETURNING 1) \
                 SELECT baton_check(count(*) = 1) FROM u",
            )
            .await
            .map_err(pg)?;
        let statements = prepare_step(&conn, "$1").await?;
        let (last, first) = (
            signed(last),
            if first == 0 { i64::MAX } else { signed(first) },
        );
        let redrive_count = step.redrive.map(|(c, _)| i64::from(c));
        let redrive_at = step.redrive.map(|(_, at)| at);
        let params: [&(dyn ToSql + Sync); 12] = [
            &id,
            &version,
            &step.status.as_str(),
            &step.stop_millis,
            &step.output,
            &step.error,
            &step.cause,
            &snapshot_text(&step),
            &last,
            &redrive_count,
            &redrive_at,
            &first,
        ];
        let run = Pipeline::run(
            &conn,
            conn.execute(&update, &params),
            &statements,
            Some(id),
            &rows,
        )
        .await;
        run.begin.map_err(pg)?;
        match run.head {
            Ok(_) => {}
            Err(e) if is_refused(&e) => {
                // Rolled back; say why.
                let found = conn
                    .query_opt("SELECT version FROM sfn_executions WHERE id = $1", &[&id])
                    .await
                    .map_err(pg)?;
                return Err(match found {
                    None => StoreError::NotFound(format!("execution {id}")),
                    Some(row) => {
                        let stored: i64 = row.try_get(0).map_err(pg)?;
                        if stored == version {
                            already_recorded(id, unsigned(first))
                        } else {
                            StoreError::Conflict(format!(
                                "execution {id} is at version {stored}, not {version}"
                            ))
                        }
                    }
                });
            }
            Err(e) => return Err(pg(e)),
        }
        first_failure(id, run.rows, &step)?;
        run.commit.map_err(pg)
    }

    async fn execution(&self, arn: &str) -> Result<Option<ExecutionRecord>, StoreError> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {EXECUTION_COLUMNS} FROM sfn_executions WHERE arn = $1");
        Ok(query_executions(&conn, &sql, &[&arn])
            .await?
            .into_iter()
            .next())
    }

    async fn execution_by_id(
        &self,
        id: ExecutionId,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {EXECUTION_COLUMNS} FROM sfn_executions WHERE id = $1");
        Ok(query_executions(&conn, &sql, &[&id.0])
            .await?
            .into_iter()
            .next())
    }

    async fn snapshot(&self, arn: &str) -> Result<Option<Snapshot>, StoreError> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached("SELECT id, version, snapshot FROM sfn_executions WHERE arn = $1")
            .await
            .map_err(pg)?;
        let row = conn.query_opt(&stmt, &[&arn]).await.map_err(pg)?;
        row.map(|r| {
            Ok(Snapshot {
                id: ExecutionId(r.try_get(0)?),
                version: r.try_get(1)?,
                data: r.try_get(2)?,
            })
        })
        .transpose()
        .map_err(pg)
    }

    async fn list_executions(
        &self,
        filter: &ExecutionFilter,
        before: Option<ExecutionId>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>, StoreError> {
        let conn = self.conn().await?;
        let redriven = match filter.redriven {
            Some(true) => " AND redrive_count > 0",
            Some(false) => " AND redrive_count = 0",
            None => "",
        };
        let sql = format!(
            "SELECT {EXECUTION_COLUMNS} FROM sfn_executions WHERE id < $1 \
             AND ($2::text IS NULL OR state_machine_arn = $2) \
             AND ($3::text IS NULL OR status = $3){redriven} ORDER BY id DESC LIMIT $4"
        );
        let before = before.map(|b| b.0).unwrap_or(i64::MAX);
        let status = filter.status.map(|s| s.as_str());
        query_executions(
            &conn,
            &sql,
            &[&before, &filter.state_machine_arn, &status, &big(limit)],
        )
        .await
    }

    async fn history(
        &self,
        execution: ExecutionId,
        cursor: Option<u64>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<HistoryRow>, StoreError> {
        let conn = self.conn().await?;
        let (sql, bound) = if reverse {
            (
                "SELECT event_id, body FROM sfn_history WHERE execution_id = $1 \
                 AND event_id < $2 ORDER BY event_id DESC LIMIT $3",
                cursor.map(signed).unwrap_or(i64::MAX),
            )
        } else {
            (
                "SELECT event_id, body FROM sfn_history WHERE execution_id = $1 \
                 AND event_id > $2 ORDER BY event_id LIMIT $3",
                cursor.map(signed).unwrap_or(0),
            )
        };
        let stmt = conn.prepare_cached(sql).await.map_err(pg)?;
        let rows = conn
            .query(&stmt, &[&execution.0, &bound, &big(limit)])
            .await
            .map_err(pg)?;
        rows.iter()
            .map(|r| {
                Ok(HistoryRow {
                    event_id: unsigned(r.try_get(0)?),
                    body: r.try_get(1)?,
                })
            })
            .collect::<PgResult<_>>()
            .map_err(pg)
    }

    async fn child_execution(
        &self,
        parent_arn: &str,
        task_id: u64,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        let conn = self.conn().await?;
        let sql = format!(
            "SELECT {EXECUTION_COLUMNS} FROM sfn_executions \
             WHERE parent_arn = $1 AND parent_task_id = $2 ORDER BY id DESC LIMIT 1"
        );
        Ok(
            query_executions(&conn, &sql, &[&parent_arn, &signed(task_id)])
                .await?
                .into_iter()
                .next(),
        )
    }
}

#[async_trait]
impl WorkStore for Database {
    async fn claim_work(
        &self,
        owner: &str,
        now: Millis,
        due_by: Millis,
        lease_millis: i64,
        reclaim_own: bool,
        limit: usize,
    ) -> Result<Vec<WorkItem>, StoreError> {
        let conn = self.conn().await?;
        // One statement: pick due, free rows (skipping rows another claim or step holds
        // locked right now), lease them, return them.
        let stmt = conn
            .prepare_cached(
                "UPDATE sfn_work w SET lease_owner = $1, \
                 lease_until = GREATEST(w.due_millis, $2) + $3 \
                 FROM (SELECT execution_id, key FROM sfn_work \
                       WHERE due_millis <= $4 AND (lease_until IS NULL OR lease_until < $2 \
                       OR ($5 AND lease_owner = $1)) \
                       ORDER BY due_millis LIMIT $6 FOR UPDATE SKIP LOCKED) c, \
                      sfn_executions e \
                 WHERE w.execution_id = c.execution_id AND w.key = c.key \
                   AND e.id = w.execution_id \
                 RETURNING w.execution_id, e.arn, w.key, w.due_millis, w.payload",
            )
            .await
            .map_err(pg)?;
        let rows = conn
            .query(
                &stmt,
                &[
                    &owner,
                    &now,
                    &lease_millis,
                    &due_by,
                    &reclaim_own,
                    &big(limit),
                ],
            )
            .await
            .map_err(pg)?;
        let mut items = rows
            .iter()
            .map(|r| {
                Ok(WorkItem {
                    execution: ExecutionId(r.try_get(0)?),
                    execution_arn: r.try_get(1)?,
                    key: r.try_get(2)?,
                    due_millis: r.try_get(3)?,
                    payload: r.try_get(4)?,
                })
            })
            .collect::<PgResult<Vec<_>>>()
            .map_err(pg)?;
        // RETURNING keeps no order.
        items.sort_by(|a, b| (a.due_millis, &a.key).cmp(&(b.due_millis, &b.key)));
        Ok(items)
    }

    async fn delete_work(&self, keys: &[WorkKey]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let executions: Vec<i64> = keys.iter().map(|k| k.execution.0).collect();
        let names: Vec<&str> = keys.iter().map(|k| k.key.as_str()).collect();
        let conn = self.conn().await?;
        conn.execute(
            "DELETE FROM sfn_work w USING unnest($1::bigint[], $2::text[]) AS d(x, k) \
             WHERE w.execution_id = d.x AND w.key = d.k",
            &[&executions, &names],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }

    async fn claim_activity_task(
        &self,
        activity_arn: &str,
        owner: &str,
        now: Millis,
        lease_millis: i64,
    ) -> Result<Option<ActivityTask>, StoreError> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                "UPDATE sfn_activity_tasks t SET lease_owner = $2, lease_until = $3 + $4 \
                 FROM (SELECT seq FROM sfn_activity_tasks WHERE activity_arn = $1 \
                       AND (lease_until IS NULL OR lease_until < $3) \
                       ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED) c, sfn_executions e \
                 WHERE t.seq = c.seq AND e.id = t.execution_id \
                 RETURNING t.execution_id, e.arn, t.task_id, t.input, t.token",
                &[&activity_arn, &owner, &now, &lease_millis],
            )
            .await
            .map_err(pg)?;
        row.map(|r| {
            Ok(ActivityTask {
                execution: ExecutionId(r.try_get(0)?),
                execution_arn: r.try_get(1)?,
                activity_arn: activity_arn.to_owned(),
                task_id: unsigned(r.try_get(2)?),
                input: r.try_get(3)?,
                token: r.try_get(4)?,
            })
        })
        .transpose()
        .map_err(pg)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    use crate::store::{Lease, NewWork};

    /// A fresh schema of this test's own with this service's migrations.
    async fn fresh(test: &str) -> Option<Database> {
        baton_platform::store::testing::fresh_postgres(test, &[crate::store::MIGRATIONS.postgres])
            .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_passes_the_step_functions_store_conformance_suite() {
        let Some(db) = fresh("sfn_conformance").await else {
            return;
        };
        crate::store::conformance::run_all(&db).await;
    }

    fn step(history: std::ops::RangeInclusive<u64>, tag: &str) -> Step {
        Step {
            status: RunStatus::Running,
            stop_millis: None,
            output: None,
            error: None,
            cause: None,
            snapshot: SnapshotChange::Replace(format!("{{\"by\":\"{tag}\"}}")),
            history: history
                .map(|event_id| HistoryRow {
                    event_id,
                    body: format!("{{\"by\":\"{tag}\"}}"),
                })
                .collect(),
            work_added: vec![NewWork {
                key: format!("timer:{tag}"),
                due_millis: 0,
                payload: tag.to_owned(),
                lease: None,
            }],
            work_done: Vec::new(),
            activity_tasks_added: Vec::new(),
            activity_tasks_done: Vec::new(),
            redrive: None,
        }
    }

    /// Two nodes holding the same snapshot commit their next steps at once, many times
    /// over: exactly one wins each round, and the history never holds both.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn racing_nodes_never_both_apply_a_step() {
        let Some(db) = fresh("sfn_race").await else {
            return;
        };
        let arn = crate::store::conformance::start_sample_execution(&db, "race").await;
        let id = db.execution(&arn).await.unwrap().unwrap().id;
        let mut last = 2u64;
        for round in 0..50i64 {
            let version = round + 1;
            let a = db.commit_step(id, version, step(last + 1..=last + 3, "a"));
            let b = db.commit_step(id, version, step(last + 1..=last + 2, "b"));
            let (a, b) = futures_util::future::join(a, b).await;
            let winner = match (&a, &b) {
                (Ok(()), Err(StoreError::Conflict(_))) => 3,
                (Err(StoreError::Conflict(_)), Ok(())) => 2,
                other => panic!("round {round}: exactly one commit applies, got {other:?}"),
            };
            last += winner;
        }
        let e = db.execution(&arn).await.unwrap().unwrap();
        assert_eq!(e.version, 51);
        let history = db.history(id, None, false, 10_000).await.unwrap();
        let ids: Vec<u64> = history.iter().map(|h| h.event_id).collect();
        assert_eq!(ids, (1..=last).collect::<Vec<_>>(), "no gap, no repeat");
    }

    /// A node's leased work is not claimed by a peer until the lease expires; then the
    /// peer takes it over.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dead_nodes_work_is_taken_over_when_its_lease_expires() {
        let Some(db) = fresh("sfn_takeover").await else {
            return;
        };
        let arn = crate::store::conformance::start_sample_execution(&db, "takeover").await;
        let id = db.execution(&arn).await.unwrap().unwrap().id;
        let mut s = step(3..=3, "x");
        s.work_added = (0..20)
            .map(|i| NewWork {
                key: format!("task:{i}"),
                due_millis: 1_000,
                payload: String::new(),
                lease: Some(Lease {
                    owner: "node-a".into(),
                    until_millis: 31_000,
                }),
            })
            .collect();
        db.commit_step(id, 1, s).await.unwrap();
        let early = db
            .claim_work("node-b", 30_000, 30_000, 30_000, false, 100)
            .await
            .unwrap();
        assert!(early.is_empty(), "a live lease is respected: {early:?}");
        let late = db
            .claim_work("node-b", 31_001, 31_001, 30_000, false, 100)
            .await
            .unwrap();
        assert_eq!(late.len(), 20, "expired leases are taken over");
        assert!(
            db.claim_work("node-a", 31_002, 31_002, 30_000, true, 100)
                .await
                .unwrap()
                .is_empty(),
            "the old owner cannot take back work now leased to a peer"
        );
    }
}
