//! Storage contracts for Step Functions: state machines, activities, tags, executions
//! with their history, and the work an execution leaves for later (timers, task calls,
//! events to emit, notifications to a parent execution).
//!
//! The runtime drives an execution one *step* at a time: it applies one input to the
//! execution's snapshot with the pure core, then hands the store a [`Step`] — the new
//! snapshot, the history events, the work added and the work consumed — which the store
//! commits atomically. That single commit is what makes a `kill -9` harmless: either the
//! whole transition is there after a restart, or none of it is, and a consumed input (a
//! fired timer, a delivered task result) disappears in the same transaction that applies
//! it.
//!
//! Several nodes may share one database (PostgreSQL). Two mechanisms keep them apart:
//!
//! * **Versions.** Every execution row carries a version; [`ExecutionStore::commit_step`]
//!   applies only when the caller's version is current (optimistic concurrency), so two
//!   nodes that race on one execution cannot both apply a step.
//! * **Leases.** Work items carry an owner and an expiry. A node claims due work with
//!   [`WorkStore::claim_work`] (`FOR UPDATE SKIP LOCKED` on PostgreSQL); the work a step
//!   creates can be leased to the committing node in the same transaction, so the hot
//!   path needs no claim. When a node dies, its leases expire and other nodes claim the
//!   work.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use baton_platform::clock::Millis;
use baton_platform::store::{Migration, Migrations, StoreError};

pub mod conformance;
mod postgres;
mod sqlite;

/// The Step Functions tables, for each backend.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[Migration {
        name: "1000_sfn",
        sql: include_str!("migrations/sqlite/1000_sfn.sql"),
    }],
    postgres: &[Migration {
        name: "1000_sfn",
        sql: include_str!("migrations/postgres/1000_sfn.sql"),
    }],
};

/// A store-assigned number for an execution: compact in history and work rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ExecutionId(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MachineType {
    Standard,
    Express,
}

impl MachineType {
    pub fn as_str(self) -> &'static str {
        match self {
            MachineType::Standard => "STANDARD",
            MachineType::Express => "EXPRESS",
        }
    }

    pub fn parse(s: &str) -> Option<MachineType> {
        match s {
            "STANDARD" => Some(MachineType::Standard),
            "EXPRESS" => Some(MachineType::Express),
            _ => None,
        }
    }
}

/// What a state machine runs: one revision of its definition and settings. Executions
/// keep the revision they started with (DescribeStateMachineForExecution).
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    pub revision_id: String,
    pub definition: String,
    pub role_arn: String,
    /// The configuration objects as the API received them; opaque to the store.
    pub logging_configuration: Option<Value>,
    pub tracing_configuration: Option<Value>,
    pub created_millis: Millis,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StateMachineRecord {
    pub arn: String,
    pub name: String,
    pub machine_type: MachineType,
    pub created_millis: Millis,
    /// The current revision.
    pub revision: Revision,
}

/// A revision together with the machine it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionRecord {
    pub state_machine_arn: String,
    pub name: String,
    pub machine_type: MachineType,
    pub revision: Revision,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityRecord {
    pub arn: String,
    pub name: String,
    pub created_millis: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// An execution's status as the API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Succeeded => "SUCCEEDED",
            RunStatus::Failed => "FAILED",
            RunStatus::TimedOut => "TIMED_OUT",
            RunStatus::Aborted => "ABORTED",
        }
    }

    pub fn parse(s: &str) -> Option<RunStatus> {
        Some(match s {
            "RUNNING" => RunStatus::Running,
            "SUCCEEDED" => RunStatus::Succeeded,
            "FAILED" => RunStatus::Failed,
            "TIMED_OUT" => RunStatus::TimedOut,
            "ABORTED" => RunStatus::Aborted,
            _ => return None,
        })
    }

    pub fn is_terminal(self) -> bool {
        self != RunStatus::Running
    }
}

/// The execution that started this one with a `states:startExecution` task and waits
/// for it (`.sync`, `.sync:2`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentLink {
    pub execution_arn: String,
    pub task_id: u64,
}

/// A new Standard execution.
#[derive(Debug, Clone, PartialEq)]
pub struct NewExecution {
    pub arn: String,
    pub name: String,
    pub state_machine_arn: String,
    pub revision_id: String,
    /// The input as JSON text.
    pub input: String,
    pub start_millis: Millis,
    pub parent: Option<ParentLink>,
}

/// An execution's summary row (DescribeExecution, ListExecutions).
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionRecord {
    pub id: ExecutionId,
    pub arn: String,
    pub name: String,
    pub state_machine_arn: String,
    pub revision_id: String,
    pub status: RunStatus,
    pub start_millis: Millis,
    pub stop_millis: Option<Millis>,
    pub input: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub redrive_count: u32,
    pub redrive_millis: Option<Millis>,
    pub parent: Option<ParentLink>,
    /// Bumped by every committed step.
    pub version: i64,
}

/// The runtime's serialised execution state and the version it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub id: ExecutionId,
    pub version: i64,
    /// `None` once the execution succeeded (nothing more can happen to it).
    pub data: Option<String>,
}

/// One history event: its id (1, 2, …) and its serialised body.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    pub event_id: u64,
    pub body: String,
}

/// Who holds a work item, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub owner: String,
    pub until_millis: Millis,
}

/// Work a step leaves for later, keyed within its execution (`timer:3`, `task:5`,
/// `event:1`, `parent`). The payload is the runtime's; the store never reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWork {
    pub key: String,
    /// When the work may be done (a timer's fire time; `now` for calls to make).
    pub due_millis: Millis,
    pub payload: String,
    /// Held by the committing node from the start, so no other node claims it.
    pub lease: Option<Lease>,
}

/// A work item's identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkKey {
    pub execution: ExecutionId,
    pub key: String,
}

/// A stored work item.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkItem {
    pub execution: ExecutionId,
    pub execution_arn: String,
    pub key: String,
    pub due_millis: Millis,
    pub payload: String,
}

impl WorkItem {
    pub fn work_key(&self) -> WorkKey {
        WorkKey {
            execution: self.execution,
            key: self.key.clone(),
        }
    }
}

/// An activity task waiting for a worker (GetActivityTask).
#[derive(Debug, Clone, PartialEq)]
pub struct NewActivityTask {
    pub activity_arn: String,
    pub task_id: u64,
    /// The task's input as JSON text.
    pub input: String,
    pub token: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActivityTask {
    pub execution: ExecutionId,
    pub execution_arn: String,
    pub activity_arn: String,
    pub task_id: u64,
    pub input: String,
    pub token: String,
}

/// What a new snapshot looks like after a step.
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotChange {
    Replace(String),
    /// Drop it: the execution succeeded and can never run again.
    Clear,
}

/// One committed transition of an execution.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub status: RunStatus,
    pub stop_millis: Option<Millis>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub snapshot: SnapshotChange,
    /// New history events, ids ascending; they continue the stored history.
    pub history: Vec<HistoryRow>,
    pub work_added: Vec<NewWork>,
    /// Work consumed by this step, possibly another execution's (a child's `parent`
    /// notification consumed by the parent).
    pub work_done: Vec<WorkKey>,
    pub activity_tasks_added: Vec<NewActivityTask>,
    /// Activity tasks started or abandoned by this step (by task id).
    pub activity_tasks_done: Vec<u64>,
    /// Set by a redrive: the new redrive count and when it happened.
    pub redrive: Option<(u32, Millis)>,
}

/// Which executions ListExecutions wants.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionFilter {
    pub state_machine_arn: Option<String>,
    pub status: Option<RunStatus>,
    /// `Some(true)`: only redriven executions; `Some(false)`: only never redriven.
    pub redriven: Option<bool>,
}

/// State machines and their revisions.
#[async_trait]
pub trait StateMachineStore: Send + Sync {
    /// Stores a new state machine with its first revision and tags.
    ///
    /// # Contract
    /// `AlreadyExists` when a machine with this ARN exists (nothing is changed). On `Ok`
    /// the machine, its revision and its tags are durable.
    async fn insert_state_machine(
        &self,
        machine: &StateMachineRecord,
        tags: &[Tag],
    ) -> Result<(), StoreError>;

    /// # Contract
    /// The machine with its current revision, or `None`.
    async fn state_machine(&self, arn: &str) -> Result<Option<StateMachineRecord>, StoreError>;

    /// Makes `revision` the machine's current one; earlier revisions stay readable.
    ///
    /// # Contract
    /// `NotFound` when the machine does not exist. Returns the updated machine.
    async fn update_state_machine(
        &self,
        arn: &str,
        revision: &Revision,
    ) -> Result<StateMachineRecord, StoreError>;

    /// # Contract
    /// Removes the machine and its tags; returns whether it existed. Revisions stay, so
    /// executions that ran it still describe their definition.
    async fn delete_state_machine(&self, arn: &str) -> Result<bool, StoreError>;

    /// # Contract
    /// Machines in ARN order, starting after `after` (exclusive), at most `limit`.
    async fn list_state_machines(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StateMachineRecord>, StoreError>;

    /// # Contract
    /// The revision with this id, even after its machine was updated or deleted.
    async fn revision(&self, revision_id: &str) -> Result<Option<RevisionRecord>, StoreError>;
}

/// Activities (the definitions; their queued tasks are in [`WorkStore`]).
#[async_trait]
pub trait ActivityStore: Send + Sync {
    /// # Contract
    /// `AlreadyExists` when an activity with this ARN exists; on `Ok` it and its tags are
    /// durable.
    async fn insert_activity(
        &self,
        activity: &ActivityRecord,
        tags: &[Tag],
    ) -> Result<(), StoreError>;

    async fn activity(&self, arn: &str) -> Result<Option<ActivityRecord>, StoreError>;

    /// # Contract
    /// Removes the activity and its tags; returns whether it existed.
    async fn delete_activity(&self, arn: &str) -> Result<bool, StoreError>;

    /// # Contract
    /// Activities in ARN order after `after` (exclusive), at most `limit`.
    async fn list_activities(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ActivityRecord>, StoreError>;
}

/// Tags on any resource, by ARN.
#[async_trait]
pub trait TagStore: Send + Sync {
    /// # Contract
    /// Adds or overwrites each key; other keys stay.
    async fn tag_resource(&self, arn: &str, tags: &[Tag]) -> Result<(), StoreError>;

    /// # Contract
    /// Removes the named keys; unknown keys are ignored.
    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), StoreError>;

    /// # Contract
    /// The resource's tags in key order (empty for an untagged or unknown resource).
    async fn tags(&self, arn: &str) -> Result<Vec<Tag>, StoreError>;
}

/// Standard executions, their snapshots and histories.
#[async_trait]
pub trait ExecutionStore: Send + Sync {
    /// Creates an execution and commits its first step in one transaction.
    ///
    /// # Contract
    /// `AlreadyExists` when an execution with this ARN exists (nothing is changed).
    /// On `Ok` the row, the step's history, snapshot and work are durable; the returned
    /// id names the execution from then on and its version is 1.
    async fn start_execution(
        &self,
        execution: NewExecution,
        first_step: Step,
    ) -> Result<ExecutionId, StoreError>;

    /// Commits one step of an existing execution.
    ///
    /// # Contract
    /// Applies only if the stored version equals `version`, then stores version + 1.
    /// `Conflict` when the version moved (another writer stepped first) and `NotFound`
    /// when the execution does not exist; in both cases nothing is changed. History
    /// rows must continue the stored history: an event id already stored is a
    /// `Conflict` (a transition is never recorded twice). Work in `work_done` that no
    /// longer exists is ignored. Everything in the step commits together or not at all.
    async fn commit_step(
        &self,
        execution: ExecutionId,
        version: i64,
        step: Step,
    ) -> Result<(), StoreError>;

    async fn execution(&self, arn: &str) -> Result<Option<ExecutionRecord>, StoreError>;

    async fn execution_by_id(&self, id: ExecutionId)
    -> Result<Option<ExecutionRecord>, StoreError>;

    /// # Contract
    /// The snapshot and the version it was committed with, or `None`.
    async fn snapshot(&self, arn: &str) -> Result<Option<Snapshot>, StoreError>;

    /// Executions newest first (by id, descending), strictly older than `before` when
    /// given, at most `limit`.
    ///
    /// # Contract
    /// Only rows matching every field of `filter`.
    async fn list_executions(
        &self,
        filter: &ExecutionFilter,
        before: Option<ExecutionId>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>, StoreError>;

    /// History events in id order (descending when `reverse`), strictly after (before,
    /// when `reverse`) `cursor` when given, at most `limit`.
    async fn history(
        &self,
        execution: ExecutionId,
        cursor: Option<u64>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<HistoryRow>, StoreError>;

    /// The execution a parent's task started, if any (to stop it with the parent).
    async fn child_execution(
        &self,
        parent_arn: &str,
        task_id: u64,
    ) -> Result<Option<ExecutionRecord>, StoreError>;
}

/// Work left by steps, and activity tasks waiting for workers.
#[async_trait]
pub trait WorkStore: Send + Sync {
    /// Claims work due at or before `due_by` for `owner`.
    ///
    /// # Contract
    /// Returns at most `limit` items, earliest due first, whose lease is absent or
    /// expired at `now` (or, when `reclaim_own`, held by `owner` — a node that restarts
    /// under the same name takes its work back at once). Each returned item is leased to
    /// `owner` until `max(due, now) + lease_millis` in the same transaction, so two
    /// concurrent claims never return the same item.
    async fn claim_work(
        &self,
        owner: &str,
        now: Millis,
        due_by: Millis,
        lease_millis: i64,
        reclaim_own: bool,
        limit: usize,
    ) -> Result<Vec<WorkItem>, StoreError>;

    /// Deletes work that was done outside a step (events emitted, stale notices).
    ///
    /// # Contract
    /// Missing items are ignored; on `Ok` the deletion is durable.
    async fn delete_work(&self, keys: &[WorkKey]) -> Result<(), StoreError>;

    /// Claims the oldest unclaimed task of an activity for a worker.
    ///
    /// # Contract
    /// A task whose lease is absent or expired at `now` is leased to `owner` until
    /// `now + lease_millis` and returned; concurrent claims never return the same task
    /// while its lease holds. The task stays stored until a step lists it in
    /// `activity_tasks_done`.
    async fn claim_activity_task(
        &self,
        activity_arn: &str,
        owner: &str,
        now: Millis,
        lease_millis: i64,
    ) -> Result<Option<ActivityTask>, StoreError>;
}

/// Everything Step Functions stores.
pub trait SfnStore:
    StateMachineStore + ActivityStore + TagStore + ExecutionStore + WorkStore
{
}

impl<T: StateMachineStore + ActivityStore + TagStore + ExecutionStore + WorkStore> SfnStore for T {}
