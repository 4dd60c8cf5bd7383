//! The Step Functions tables (`migrations/sqlite/1000_sfn.sql`) behind the `store`
//! traits.
//!
//! Every write goes through the writer thread's group commit: a step is one savepoint
//! in a shared transaction, so thousands of executions' steps share one fsync. Statements
//! are prepared once per connection (`prepare_cached`).

use crate::store::{
    ActivityRecord, ActivityStore, ActivityTask, ExecutionFilter, ExecutionId, ExecutionRecord,
    ExecutionStore, HistoryRow, MachineType, Millis, NewExecution, ParentLink, Revision,
    RevisionRecord, RunStatus, Snapshot, SnapshotChange, StateMachineRecord, StateMachineStore,
    Step, Tag, TagStore, WorkItem, WorkKey, WorkStore,
};
use async_trait::async_trait;
use baton_platform::store::StoreError;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use baton_platform::store::sqlite::Database;

fn db_err(e: rusqlite::Error) -> StoreError {
    StoreError::backend(e)
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

fn json_opt(v: &Option<serde_json::Value>) -> Option<String> {
    v.as_ref().map(|v| v.to_string())
}

fn parse_json_opt(s: Option<String>) -> Option<serde_json::Value> {
    s.and_then(|s| serde_json::from_str(&s).ok())
}

fn machine_type(s: &str) -> Result<MachineType, StoreError> {
    MachineType::parse(s).ok_or_else(|| StoreError::Backend(format!("bad machine type {s:?}")))
}

const MACHINE_COLUMNS: &str = "m.arn, m.name, m.machine_type, m.created_millis, r.revision_id, \
     r.definition, r.role_arn, r.logging_configuration, r.tracing_configuration, r.created_millis";

fn machine_from_row(row: &Row<'_>) -> rusqlite::Result<(StateMachineRecord, String)> {
    let kind: String = row.get(2)?;
    Ok((
        StateMachineRecord {
            arn: row.get(0)?,
            name: row.get(1)?,
            machine_type: MachineType::Standard,
            created_millis: row.get(3)?,
            revision: Revision {
                revision_id: row.get(4)?,
                definition: row.get(5)?,
                role_arn: row.get(6)?,
                logging_configuration: parse_json_opt(row.get(7)?),
                tracing_configuration: parse_json_opt(row.get(8)?),
                created_millis: row.get(9)?,
            },
        },
        kind,
    ))
}

fn finish_machine(pair: (StateMachineRecord, String)) -> Result<StateMachineRecord, StoreError> {
    let (mut m, kind) = pair;
    m.machine_type = machine_type(&kind)?;
    Ok(m)
}

fn insert_revision(
    tx: &Transaction<'_>,
    arn: &str,
    name: &str,
    kind: MachineType,
    r: &Revision,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO sfn_revisions (revision_id, state_machine_arn, name, machine_type, \
         definition, role_arn, logging_configuration, tracing_configuration, created_millis) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            r.revision_id,
            arn,
            name,
            kind.as_str(),
            r.definition,
            r.role_arn,
            json_opt(&r.logging_configuration),
            json_opt(&r.tracing_configuration),
            r.created_millis
        ])
    })
    .map_err(db_err)?;
    Ok(())
}

fn put_tags(tx: &Transaction<'_>, arn: &str, tags: &[Tag]) -> Result<(), StoreError> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO sfn_tags (resource_arn, key, value) VALUES (?1, ?2, ?3) \
             ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value",
        )
        .map_err(db_err)?;
    for t in tags {
        stmt.execute(params![arn, t.key, t.value]).map_err(db_err)?;
    }
    Ok(())
}

fn read_machine(conn: &Connection, arn: &str) -> Result<Option<StateMachineRecord>, StoreError> {
    let sql = format!(
        "SELECT {MACHINE_COLUMNS} FROM sfn_state_machines m \
         JOIN sfn_revisions r ON r.revision_id = m.revision_id WHERE m.arn = ?1"
    );
    let pair = conn
        .prepare_cached(&sql)
        .and_then(|mut s| s.query_row([arn], machine_from_row).optional())
        .map_err(db_err)?;
    pair.map(finish_machine).transpose()
}

#[async_trait]
impl StateMachineStore for Database {
    async fn insert_state_machine(
        &self,
        machine: &StateMachineRecord,
        tags: &[Tag],
    ) -> Result<(), StoreError> {
        let m = machine.clone();
        let tags = tags.to_vec();
        self.write(move |tx| {
            let exists: bool = tx
                .query_row(
                    "SELECT EXISTS(SELECT 1 FROM sfn_state_machines WHERE arn = ?1)",
                    [&m.arn],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            if exists {
                return Err(StoreError::AlreadyExists(m.arn.clone()));
            }
            insert_revision(tx, &m.arn, &m.name, m.machine_type, &m.revision)?;
            tx.execute(
                "INSERT INTO sfn_state_machines (arn, name, machine_type, created_millis, \
                 revision_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    m.arn,
                    m.name,
                    m.machine_type.as_str(),
                    m.created_millis,
                    m.revision.revision_id
                ],
            )
            .map_err(db_err)?;
            put_tags(tx, &m.arn, &tags)
        })
        .await
    }

    async fn state_machine(&self, arn: &str) -> Result<Option<StateMachineRecord>, StoreError> {
        let arn = arn.to_owned();
        self.read(move |c| read_machine(c, &arn)).await
    }

    async fn update_state_machine(
        &self,
        arn: &str,
        revision: &Revision,
    ) -> Result<StateMachineRecord, StoreError> {
        let arn = arn.to_owned();
        let r = revision.clone();
        self.write(move |tx| {
            let found: Option<(String, String)> = tx
                .query_row(
                    "SELECT name, machine_type FROM sfn_state_machines WHERE arn = ?1",
                    [&arn],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(db_err)?;
            let Some((name, kind)) = found else {
                return Err(StoreError::NotFound(arn.clone()));
            };
            insert_revision(tx, &arn, &name, machine_type(&kind)?, &r)?;
            tx.execute(
                "UPDATE sfn_state_machines SET revision_id = ?2 WHERE arn = ?1",
                params![arn, r.revision_id],
            )
            .map_err(db_err)?;
            read_machine(tx, &arn)?.ok_or_else(|| StoreError::NotFound(arn.clone()))
        })
        .await
    }

    async fn delete_state_machine(&self, arn: &str) -> Result<bool, StoreError> {
        let arn = arn.to_owned();
        self.write(move |tx| {
            let n = tx
                .execute("DELETE FROM sfn_state_machines WHERE arn = ?1", [&arn])
                .map_err(db_err)?;
            tx.execute("DELETE FROM sfn_tags WHERE resource_arn = ?1", [&arn])
                .map_err(db_err)?;
            Ok(n > 0)
        })
        .await
    }

    async fn list_state_machines(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StateMachineRecord>, StoreError> {
        let after = after.unwrap_or("").to_owned();
        self.read(move |c| {
            let sql = format!(
                "SELECT {MACHINE_COLUMNS} FROM sfn_state_machines m \
                 JOIN sfn_revisions r ON r.revision_id = m.revision_id \
                 WHERE m.arn > ?1 ORDER BY m.arn LIMIT ?2"
            );
            let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
            let rows = stmt
                .query_map(params![after, limit as i64], machine_from_row)
                .map_err(db_err)?;
            let mut out = Vec::new();
            for r in rows {
                out.push(finish_machine(r.map_err(db_err)?)?);
            }
            Ok(out)
        })
        .await
    }

    async fn revision(&self, revision_id: &str) -> Result<Option<RevisionRecord>, StoreError> {
        let id = revision_id.to_owned();
        self.read(move |c| {
            let row = c
                .prepare_cached(
                    "SELECT state_machine_arn, name, machine_type, definition, role_arn, \
                     logging_configuration, tracing_configuration, created_millis \
                     FROM sfn_revisions WHERE revision_id = ?1",
                )
                .and_then(|mut s| {
                    s.query_row([&id], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            Revision {
                                revision_id: id.clone(),
                                definition: r.get(3)?,
                                role_arn: r.get(4)?,
                                logging_configuration: parse_json_opt(r.get(5)?),
                                tracing_configuration: parse_json_opt(r.get(6)?),
                                created_millis: r.get(7)?,
                            },
                        ))
                    })
                    .optional()
                })
                .map_err(db_err)?;
            row.map(|(arn, name, kind, revision)| {
                Ok(RevisionRecord {
                    state_machine_arn: arn,
                    name,
                    machine_type: machine_type(&kind)?,
                    revision,
                })
            })
            .transpose()
        })
        .await
    }
}

#[async_trait]
impl ActivityStore for Database {
    async fn insert_activity(
        &self,
        activity: &ActivityRecord,
        tags: &[Tag],
    ) -> Result<(), StoreError> {
        let a = activity.clone();
        let tags = tags.to_vec();
        self.write(move |tx| {
            match tx.execute(
                "INSERT INTO sfn_activities (arn, name, created_millis) VALUES (?1, ?2, ?3)",
                params![a.arn, a.name, a.created_millis],
            ) {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    return Err(StoreError::AlreadyExists(a.arn.clone()));
                }
                Err(e) => return Err(db_err(e)),
            }
            put_tags(tx, &a.arn, &tags)
        })
        .await
    }

    async fn activity(&self, arn: &str) -> Result<Option<ActivityRecord>, StoreError> {
        let arn = arn.to_owned();
        self.read(move |c| {
            c.prepare_cached("SELECT arn, name, created_millis FROM sfn_activities WHERE arn = ?1")
                .and_then(|mut s| {
                    s.query_row([&arn], |r| {
                        Ok(ActivityRecord {
                            arn: r.get(0)?,
                            name: r.get(1)?,
                            created_millis: r.get(2)?,
                        })
                    })
                    .optional()
                })
                .map_err(db_err)
        })
        .await
    }

    async fn delete_activity(&self, arn: &str) -> Result<bool, StoreError> {
        let arn = arn.to_owned();
        self.write(move |tx| {
            let n = tx
                .execute("DELETE FROM sfn_activities WHERE arn = ?1", [&arn])
                .map_err(db_err)?;
            tx.execute("DELETE FROM sfn_tags WHERE resource_arn = ?1", [&arn])
                .map_err(db_err)?;
            Ok(n > 0)
        })
        .await
    }

    async fn list_activities(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ActivityRecord>, StoreError> {
        let after = after.unwrap_or("").to_owned();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT arn, name, created_millis FROM sfn_activities WHERE arn > ?1 \
                     ORDER BY arn LIMIT ?2",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params![after, limit as i64], |r| {
                    Ok(ActivityRecord {
                        arn: r.get(0)?,
                        name: r.get(1)?,
                        created_millis: r.get(2)?,
                    })
                })
                .map_err(db_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
        })
        .await
    }
}

#[async_trait]
impl TagStore for Database {
    async fn tag_resource(&self, arn: &str, tags: &[Tag]) -> Result<(), StoreError> {
        let arn = arn.to_owned();
        let tags = tags.to_vec();
        self.write(move |tx| put_tags(tx, &arn, &tags)).await
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), StoreError> {
        let arn = arn.to_owned();
        let keys = keys.to_vec();
        self.write(move |tx| {
            let mut stmt = tx
                .prepare_cached("DELETE FROM sfn_tags WHERE resource_arn = ?1 AND key = ?2")
                .map_err(db_err)?;
            for k in &keys {
                stmt.execute(params![arn, k]).map_err(db_err)?;
            }
            Ok(())
        })
        .await
    }

    async fn tags(&self, arn: &str) -> Result<Vec<Tag>, StoreError> {
        let arn = arn.to_owned();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT key, value FROM sfn_tags WHERE resource_arn = ?1 ORDER BY key",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map([&arn], |r| {
                    Ok(Tag {
                        key: r.get(0)?,
                        value: r.get(1)?,
                    })
                })
                .map_err(db_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
        })
        .await
    }
}

const EXECUTION_COLUMNS: &str = "id, arn, name, state_machine_arn, revision_id, status, \
     start_millis, stop_millis, input, output, error, cause, redrive_count, redrive_millis, \
     parent_arn, parent_task_id, version";

fn execution_from_row(r: &Row<'_>) -> rusqlite::Result<(ExecutionRecord, String)> {
    let status: String = r.get(5)?;
    let parent_arn: Option<String> = r.get(14)?;
    let parent_task: Option<i64> = r.get(15)?;
    Ok((
        ExecutionRecord {
            id: ExecutionId(r.get(0)?),
            arn: r.get(1)?,
            name: r.get(2)?,
            state_machine_arn: r.get(3)?,
            revision_id: r.get(4)?,
            status: RunStatus::Running,
            start_millis: r.get(6)?,
            stop_millis: r.get(7)?,
            input: r.get(8)?,
            output: r.get(9)?,
            error: r.get(10)?,
            cause: r.get(11)?,
            redrive_count: r.get::<_, i64>(12)?.try_into().unwrap_or(u32::MAX),
            redrive_millis: r.get(13)?,
            parent: match (parent_arn, parent_task) {
                (Some(execution_arn), Some(t)) => Some(ParentLink {
                    execution_arn,
                    task_id: t as u64,
                }),
                _ => None,
            },
            version: r.get(16)?,
        },
        status,
    ))
}

fn finish_execution(pair: (ExecutionRecord, String)) -> Result<ExecutionRecord, StoreError> {
    let (mut e, status) = pair;
    e.status = RunStatus::parse(&status)
        .ok_or_else(|| StoreError::Backend(format!("bad status {status:?}")))?;
    Ok(e)
}

fn query_executions(
    c: &Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<ExecutionRecord>, StoreError> {
    let mut stmt = c.prepare_cached(sql).map_err(db_err)?;
    let rows = stmt.query_map(params, execution_from_row).map_err(db_err)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(finish_execution(r.map_err(db_err)?)?);
    }
    Ok(out)
}

/// Writes everything in a step except the execution row's own columns.
fn write_step_rows(
    tx: &Transaction<'_>,
    id: ExecutionId,
    last_event_id: u64,
    step: &Step,
) -> Result<u64, StoreError> {
    let mut last = last_event_id;
    if !step.history.is_empty() {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO sfn_history (execution_id, event_id, body) VALUES (?1, ?2, ?3)",
            )
            .map_err(db_err)?;
        for h in &step.history {
            if h.event_id <= last {
                return Err(StoreError::Conflict(format!(
                    "history event {} of execution {} is already recorded",
                    h.event_id, id.0
                )));
            }
            last = h.event_id;
            stmt.execute(params![id.0, h.event_id as i64, h.body])
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Conflict(format!(
                            "history event {} of execution {} is already recorded",
                            h.event_id, id.0
                        ))
                    } else {
                        db_err(e)
                    }
                })?;
        }
    }
    if !step.work_done.is_empty() {
        let mut stmt = tx
            .prepare_cached("DELETE FROM sfn_work WHERE execution_id = ?1 AND key = ?2")
            .map_err(db_err)?;
        for w in &step.work_done {
            stmt.execute(params![w.execution.0, w.key])
                .map_err(db_err)?;
        }
    }
    if !step.work_added.is_empty() {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO sfn_work (execution_id, key, due_millis, payload, lease_owner, \
                 lease_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (execution_id, key) DO UPDATE SET due_millis = excluded.due_millis, \
                 payload = excluded.payload, lease_owner = excluded.lease_owner, \
                 lease_until = excluded.lease_until",
            )
            .map_err(db_err)?;
        for w in &step.work_added {
            let (owner, until) = match &w.lease {
                Some(l) => (Some(l.owner.as_str()), Some(l.until_millis)),
                None => (None, None),
            };
            stmt.execute(params![id.0, w.key, w.due_millis, w.payload, owner, until])
                .map_err(db_err)?;
        }
    }
    if !step.activity_tasks_done.is_empty() {
        let mut stmt = tx
            .prepare_cached(
                "DELETE FROM sfn_activity_tasks WHERE execution_id = ?1 AND task_id = ?2",
            )
            .map_err(db_err)?;
        for t in &step.activity_tasks_done {
            stmt.execute(params![id.0, *t as i64]).map_err(db_err)?;
        }
    }
    if !step.activity_tasks_added.is_empty() {
        let mut stmt = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO sfn_activity_tasks (activity_arn, execution_id, task_id, \
                 input, token) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(db_err)?;
        for t in &step.activity_tasks_added {
            stmt.execute(params![
                t.activity_arn,
                id.0,
                t.task_id as i64,
                t.input,
                t.token
            ])
            .map_err(db_err)?;
        }
    }
    Ok(last)
}

fn snapshot_text(step: &Step) -> Option<&str> {
    match &step.snapshot {
        SnapshotChange::Replace(s) => Some(s.as_str()),
        SnapshotChange::Clear => None,
    }
}

#[async_trait]
impl ExecutionStore for Database {
    async fn start_execution(
        &self,
        execution: NewExecution,
        first_step: Step,
    ) -> Result<ExecutionId, StoreError> {
        self.write(move |tx| {
            let e = &execution;
            let step = &first_step;
            let (parent_arn, parent_task) = match &e.parent {
                Some(p) => (Some(p.execution_arn.as_str()), Some(p.task_id as i64)),
                None => (None, None),
            };
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO sfn_executions (arn, name, state_machine_arn, revision_id, \
                     status, start_millis, stop_millis, input, output, error, cause, \
                     parent_arn, parent_task_id, version, snapshot) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 1, ?14)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        e.arn,
                        e.name,
                        e.state_machine_arn,
                        e.revision_id,
                        step.status.as_str(),
                        e.start_millis,
                        step.stop_millis,
                        e.input,
                        step.output,
                        step.error,
                        step.cause,
                        parent_arn,
                        parent_task,
                        snapshot_text(step),
                    ])
                });
            match inserted {
                Ok(_) => {}
                Err(err) if is_unique_violation(&err) => {
                    return Err(StoreError::AlreadyExists(e.arn.clone()));
                }
                Err(err) => return Err(db_err(err)),
            }
            let id = ExecutionId(tx.last_insert_rowid());
            let last = write_step_rows(tx, id, 0, step)?;
            if last > 0 {
                tx.prepare_cached("UPDATE sfn_executions SET last_event_id = ?2 WHERE id = ?1")
                    .and_then(|mut s| s.execute(params![id.0, last as i64]))
                    .map_err(db_err)?;
            }
            Ok(id)
        })
        .await
    }

    async fn commit_step(
        &self,
        execution: ExecutionId,
        version: i64,
        step: Step,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            let found: Option<(i64, i64)> = tx
                .prepare_cached("SELECT version, last_event_id FROM sfn_executions WHERE id = ?1")
                .and_then(|mut s| {
                    s.query_row([execution.0], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })
                .map_err(db_err)?;
            let Some((stored, last_event)) = found else {
                return Err(StoreError::NotFound(format!("execution {}", execution.0)));
            };
            if stored != version {
                return Err(StoreError::Conflict(format!(
                    "execution {} is at version {stored}, not {version}",
                    execution.0
                )));
            }
            let last = write_step_rows(tx, execution, last_event.max(0) as u64, &step)?;
            tx.prepare_cached(
                "UPDATE sfn_executions SET version = version + 1, status = ?2, stop_millis = ?3, \
                 output = ?4, error = ?5, cause = ?6, snapshot = ?7, last_event_id = ?8, \
                 redrive_count = COALESCE(?9, redrive_count), \
                 redrive_millis = COALESCE(?10, redrive_millis) WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![
                    execution.0,
                    step.status.as_str(),
                    step.stop_millis,
                    step.output,
                    step.error,
                    step.cause,
                    snapshot_text(&step),
                    last as i64,
                    step.redrive.map(|(c, _)| i64::from(c)),
                    step.redrive.map(|(_, at)| at),
                ])
            })
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn execution(&self, arn: &str) -> Result<Option<ExecutionRecord>, StoreError> {
        let arn = arn.to_owned();
        self.read(move |c| {
            let sql = format!("SELECT {EXECUTION_COLUMNS} FROM sfn_executions WHERE arn = ?1");
            Ok(query_executions(c, &sql, &[&arn])?.into_iter().next())
        })
        .await
    }

    async fn execution_by_id(
        &self,
        id: ExecutionId,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        self.read(move |c| {
            let sql = format!("SELECT {EXECUTION_COLUMNS} FROM sfn_executions WHERE id = ?1");
            Ok(query_executions(c, &sql, &[&id.0])?.into_iter().next())
        })
        .await
    }

    async fn snapshot(&self, arn: &str) -> Result<Option<Snapshot>, StoreError> {
        let arn = arn.to_owned();
        self.read(move |c| {
            c.prepare_cached("SELECT id, version, snapshot FROM sfn_executions WHERE arn = ?1")
                .and_then(|mut s| {
                    s.query_row([&arn], |r| {
                        Ok(Snapshot {
                            id: ExecutionId(r.get(0)?),
                            version: r.get(1)?,
                            data: r.get(2)?,
                        })
                    })
                    .optional()
                })
                .map_err(db_err)
        })
        .await
    }

    async fn list_executions(
        &self,
        filter: &ExecutionFilter,
        before: Option<ExecutionId>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>, StoreError> {
        let filter = filter.clone();
        self.read(move |c| {
            let mut sql = format!("SELECT {EXECUTION_COLUMNS} FROM sfn_executions WHERE id < ?1");
            let before = before.map(|b| b.0).unwrap_or(i64::MAX);
            let machine = filter.state_machine_arn.clone().unwrap_or_default();
            let status = filter.status.map(|s| s.as_str()).unwrap_or("");
            if filter.state_machine_arn.is_some() {
                sql.push_str(" AND state_machine_arn = ?2");
            } else {
                sql.push_str(" AND ?2 = ?2");
            }
            if filter.status.is_some() {
                sql.push_str(" AND status = ?3");
            } else {
                sql.push_str(" AND ?3 = ?3");
            }
            match filter.redriven {
                Some(true) => sql.push_str(" AND redrive_count > 0"),
                Some(false) => sql.push_str(" AND redrive_count = 0"),
                None => {}
            }
            sql.push_str(" ORDER BY id DESC LIMIT ?4");
            let limit = limit as i64;
            query_executions(c, &sql, &[&before, &machine, &status, &limit])
        })
        .await
    }

    async fn history(
        &self,
        execution: ExecutionId,
        cursor: Option<u64>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<HistoryRow>, StoreError> {
        self.read(move |c| {
            let (sql, bound) = if reverse {
                (
                    "SELECT event_id, body FROM sfn_history WHERE execution_id = ?1 \
                     AND event_id < ?2 ORDER BY event_id DESC LIMIT ?3",
                    cursor.map(|c| c as i64).unwrap_or(i64::MAX),
                )
            } else {
                (
                    "SELECT event_id, body FROM sfn_history WHERE execution_id = ?1 \
                     AND event_id > ?2 ORDER BY event_id LIMIT ?3",
                    cursor.map(|c| c as i64).unwrap_or(0),
                )
            };
            let mut stmt = c.prepare_cached(sql).map_err(db_err)?;
            let rows = stmt
                .query_map(params![execution.0, bound, limit as i64], |r| {
                    Ok(HistoryRow {
                        event_id: r.get::<_, i64>(0)? as u64,
                        body: r.get(1)?,
                    })
                })
                .map_err(db_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
        })
        .await
    }

    async fn child_execution(
        &self,
        parent_arn: &str,
        task_id: u64,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        let parent = parent_arn.to_owned();
        self.read(move |c| {
            let sql = format!(
                "SELECT {EXECUTION_COLUMNS} FROM sfn_executions \
                 WHERE parent_arn = ?1 AND parent_task_id = ?2 ORDER BY id DESC LIMIT 1"
            );
            let task = task_id as i64;
            Ok(query_executions(c, &sql, &[&parent, &task])?
                .into_iter()
                .next())
        })
        .await
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
        let owner = owner.to_owned();
        self.write(move |tx| {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT w.execution_id, e.arn, w.key, w.due_millis, w.payload \
                     FROM sfn_work w JOIN sfn_executions e ON e.id = w.execution_id \
                     WHERE w.due_millis <= ?1 AND (w.lease_until IS NULL OR w.lease_until < ?2 \
                     OR (?3 AND w.lease_owner = ?4)) ORDER BY w.due_millis LIMIT ?5",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map(
                    params![due_by, now, reclaim_own, owner, limit as i64],
                    |r| {
                        Ok(WorkItem {
                            execution: ExecutionId(r.get(0)?),
                            execution_arn: r.get(1)?,
                            key: r.get(2)?,
                            due_millis: r.get(3)?,
                            payload: r.get(4)?,
                        })
                    },
                )
                .map_err(db_err)?;
            let items = rows.collect::<Result<Vec<_>, _>>().map_err(db_err)?;
            let mut lease = tx
                .prepare_cached(
                    "UPDATE sfn_work SET lease_owner = ?3, lease_until = ?4 \
                     WHERE execution_id = ?1 AND key = ?2",
                )
                .map_err(db_err)?;
            for w in &items {
                let until = w.due_millis.max(now).saturating_add(lease_millis);
                lease
                    .execute(params![w.execution.0, w.key, owner, until])
                    .map_err(db_err)?;
            }
            Ok(items)
        })
        .await
    }

    async fn delete_work(&self, keys: &[WorkKey]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let keys = keys.to_vec();
        self.write(move |tx| {
            let mut stmt = tx
                .prepare_cached("DELETE FROM sfn_work WHERE execution_id = ?1 AND key = ?2")
                .map_err(db_err)?;
            for k in &keys {
                stmt.execute(params![k.execution.0, k.key])
                    .map_err(db_err)?;
            }
            Ok(())
        })
        .await
    }

    async fn claim_activity_task(
        &self,
        activity_arn: &str,
        owner: &str,
        now: Millis,
        lease_millis: i64,
    ) -> Result<Option<ActivityTask>, StoreError> {
        let activity = activity_arn.to_owned();
        let owner = owner.to_owned();
        self.write(move |tx| {
            let found = tx
                .prepare_cached(
                    "SELECT t.seq, t.execution_id, e.arn, t.task_id, t.input, t.token \
                     FROM sfn_activity_tasks t JOIN sfn_executions e ON e.id = t.execution_id \
                     WHERE t.activity_arn = ?1 AND (t.lease_until IS NULL OR t.lease_until < ?2) \
                     ORDER BY t.seq LIMIT 1",
                )
                .and_then(|mut s| {
                    s.query_row(params![activity, now], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            ActivityTask {
                                execution: ExecutionId(r.get(1)?),
                                execution_arn: r.get(2)?,
                                activity_arn: activity.clone(),
                                task_id: r.get::<_, i64>(3)? as u64,
                                input: r.get(4)?,
                                token: r.get(5)?,
                            },
                        ))
                    })
                    .optional()
                })
                .map_err(db_err)?;
            let Some((seq, task)) = found else {
                return Ok(None);
            };
            tx.prepare_cached(
                "UPDATE sfn_activity_tasks SET lease_owner = ?2, lease_until = ?3 WHERE seq = ?1",
            )
            .and_then(|mut s| s.execute(params![seq, owner, now.saturating_add(lease_millis)]))
            .map_err(db_err)?;
            Ok(Some(task))
        })
        .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_passes_the_step_functions_store_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(
            &dir.path().join("baton.db"),
            &[crate::store::MIGRATIONS.sqlite],
        )
        .unwrap();
        crate::store::conformance::run_all(&db).await;
        db.close();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn committed_steps_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("baton.db");
        let db = Database::open(&path, &[crate::store::MIGRATIONS.sqlite]).unwrap();
        let arn = crate::store::conformance::start_sample_execution(&db, "reopen").await;
        db.close();
        let db = Database::open(&path, &[crate::store::MIGRATIONS.sqlite]).unwrap();
        let e = db.execution(&arn).await.unwrap().unwrap();
        assert_eq!(e.version, 1);
        let h = db.history(e.id, None, false, 100).await.unwrap();
        assert_eq!(h.len(), 2);
        db.close();
    }
}
