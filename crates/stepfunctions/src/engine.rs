//! The durable step: load (or reuse) an execution, apply inputs with the pure core,
//! commit the resulting [`Step`] atomically, then carry out its effects.
//!
//! Each Standard execution that is running has an entry in [`LiveExecutions`]: its
//! snapshot and store version behind an async lock, so inputs for one execution apply
//! one at a time while different executions proceed in parallel (and their commits
//! share the SQLite writer's batches). An entry is a cache: dropping it is always safe,
//! the next input reloads the snapshot. A failed commit drops it, so memory never runs
//! ahead of the store.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::store::{
    ExecutionId, Lease, NewActivityTask, NewExecution, NewWork, ParentLink, RunStatus,
    SnapshotChange, StateMachineRecord, Step, WorkKey,
};
use baton_asl::StateMachine;
use baton_exec::history::EventDetails;
use baton_exec::{
    Effect, Execution, ExecutionIdentity, ExecutionStatus, Input, Outcome, TaskKind, TaskRequest,
    apply,
};
use baton_platform::store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Mutex as AsyncMutex;

use crate::entropy::DriverEntropy;
use crate::work::{self, WorkPayload};
use crate::{Inner, SfnError, status_events};

/// A running Standard execution, as cached in memory.
pub(crate) struct Live {
    pub id: ExecutionId,
    pub arn: Arc<str>,
    /// The store version this snapshot was committed with.
    pub version: i64,
    pub exec: Execution,
    pub machine: Arc<StateMachine>,
    pub meta: Arc<Meta>,
    /// Child executions started by `.sync` tasks that are still waited for (task id →
    /// child ARN), so stopping this execution stops them too.
    pub children: BTreeMap<u64, String>,
    /// After a failure, timeout or abort: the execution as it was before the step that
    /// ended it, which RedriveExecution continues from.
    pub redrive_base: Option<Execution>,
}

/// What does not change during an execution's life.
pub(crate) struct Meta {
    pub name: String,
    pub state_machine_arn: String,
    /// The input as JSON text, as the client sent it.
    pub input: String,
    pub start_millis: i64,
    pub parent: Option<ParentLink>,
}

/// The snapshot format: the core's execution plus the runtime's own bookkeeping.
#[derive(Serialize)]
struct SnapshotOut<'a> {
    exec: &'a Execution,
    children: &'a BTreeMap<u64, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redrive_base: Option<&'a Execution>,
}

#[derive(Deserialize)]
struct SnapshotIn {
    exec: Execution,
    #[serde(default)]
    children: BTreeMap<u64, String>,
    #[serde(default)]
    redrive_base: Option<Execution>,
}

type Slot = Arc<AsyncMutex<Option<Live>>>;

/// Running executions by ARN.
#[derive(Default)]
pub(crate) struct LiveExecutions {
    slots: Mutex<HashMap<Arc<str>, Slot>>,
}

/// Cached executions beyond which idle entries are dropped (they reload on demand).
const MAX_LIVE: usize = 100_000;

impl LiveExecutions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn slot(&self, arn: &str) -> Slot {
        let mut map = self.lock();
        if let Some(s) = map.get(arn) {
            return s.clone();
        }
        if map.len() >= MAX_LIVE {
            trim(&mut map);
        }
        let slot: Slot = Arc::new(AsyncMutex::new(None));
        map.insert(Arc::from(arn), slot.clone());
        slot
    }

    fn insert(&self, live: Live) {
        let arn = live.arn.clone();
        let mut map = self.lock();
        if map.len() >= MAX_LIVE {
            trim(&mut map);
        }
        map.insert(arn, Arc::new(AsyncMutex::new(Some(live))));
    }

    fn forget(&self, arn: &str) {
        self.lock().remove(arn);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Drops entries nobody is using, down to three quarters of the cap.
fn trim(map: &mut HashMap<Arc<str>, Slot>) {
    let target = MAX_LIVE / 4 * 3;
    let idle: Vec<Arc<str>> = map
        .iter()
        .filter(|(_, s)| Arc::strong_count(s) == 1 && s.try_lock().is_ok())
        .map(|(k, _)| k.clone())
        .take(map.len().saturating_sub(target))
        .collect();
    for k in idle {
        map.remove(&k);
    }
}

/// What an input consumes when it is applied: the work item that delivered it, the
/// activity task a worker took.
#[derive(Debug, Default, Clone)]
pub(crate) struct Consume {
    pub work: Vec<WorkKey>,
    pub activity_task: Option<u64>,
}

impl Consume {
    pub fn work(key: WorkKey) -> Consume {
        Consume {
            work: vec![key],
            activity_task: None,
        }
    }
}

/// How a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Committed (possibly with no effect: the input was stale).
    Applied {
        finished: bool,
        stop_millis: Option<i64>,
    },
    /// The execution had already finished; nothing was applied.
    Finished(ExecutionRecordLite),
    /// No such execution.
    Missing,
}

/// What a caller needs from a finished execution's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExecutionRecordLite {
    pub stop_millis: Option<i64>,
}

/// Effects to carry out once a step is committed.
#[derive(Default)]
pub(crate) struct After {
    pub timers: Vec<(i64, u64)>,
    pub cancelled_timers: Vec<u64>,
    pub tasks: Vec<TaskRequest>,
    pub activities: Vec<String>,
    pub events: Vec<(String, status_events::EventOut)>,
    pub notify_parent: Option<ParentLink>,
    pub cancel_children: Vec<(u64, String)>,
}

enum Loaded {
    Live(Box<Live>),
    /// Finished, with its stop time.
    Finished(Option<i64>),
    Missing,
}

async fn load(inner: &Arc<Inner>, arn: &str) -> Result<Loaded, SfnError> {
    let Some(record) = inner.store.execution(arn).await? else {
        return Ok(Loaded::Missing);
    };
    if record.status.is_terminal() {
        return Ok(Loaded::Finished(record.stop_millis));
    }
    let Some(snapshot) = inner.store.snapshot(arn).await? else {
        return Ok(Loaded::Missing);
    };
    let Some(data) = snapshot.data else {
        return Ok(Loaded::Finished(record.stop_millis));
    };
    let stored: SnapshotIn = serde_json::from_str(&data)
        .map_err(|e| SfnError::internal(format!("snapshot of {arn}: {e}")))?;
    let machine = inner.machines.get(inner, &record.revision_id).await?;
    Ok(Loaded::Live(Box::new(Live {
        id: snapshot.id,
        arn: Arc::from(arn),
        version: snapshot.version,
        exec: stored.exec,
        machine,
        meta: Arc::new(Meta {
            name: record.name,
            state_machine_arn: record.state_machine_arn,
            input: record.input,
            start_millis: record.start_millis,
            parent: record.parent,
        }),
        children: stored.children,
        redrive_base: stored.redrive_base,
    })))
}

/// How many times a delivery reloads and re-plans after another node committed first.
/// Each retry follows a step that did commit, so running out means a storm of peers on
/// one execution; the caller's work item stays and is handed out again.
const MAX_DELIVER_ATTEMPTS: usize = 8;

/// Applies the inputs `plan` chooses (it sees the execution under its lock) and commits
/// the step. `consume` is deleted in the same transaction, or on its own when the
/// execution is already finished.
///
/// `plan` may run more than once: when the cached copy is behind the store (another node
/// sharing a PostgreSQL database committed a step), the commit is refused with
/// `Conflict`, the execution is reloaded and `plan` decides again on the fresh copy. A
/// cached copy that finds nothing to do (or refuses the input) is checked against the
/// store the same way before the input is dropped, so a peer's newer state is never
/// mistaken for a stale input.
pub(crate) async fn deliver<F>(
    inner: &Arc<Inner>,
    arn: &str,
    consume: Consume,
    mut plan: F,
) -> Result<Delivery, SfnError>
where
    F: FnMut(&mut Live) -> Result<Vec<Input>, SfnError>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let last = attempt >= MAX_DELIVER_ATTEMPTS;
        match deliver_once(inner, arn, &consume, &mut plan, last).await? {
            Attempt::Done(delivery) => return Ok(delivery),
            Attempt::Retry(reason) if last => return Err(reason.into()),
            Attempt::Retry(reason) => {
                tracing::debug!(%arn, attempt, %reason, "execution changed elsewhere; reloading");
            }
        }
    }
}

/// One try of [`deliver`].
enum Attempt {
    Done(Delivery),
    /// The cached copy was behind the store; it has been dropped.
    Retry(StoreError),
}

async fn deliver_once<F>(
    inner: &Arc<Inner>,
    arn: &str,
    consume: &Consume,
    plan: &mut F,
    last: bool,
) -> Result<Attempt, SfnError>
where
    F: FnMut(&mut Live) -> Result<Vec<Input>, SfnError>,
{
    let slot = inner.live.slot(arn);
    let mut guard = slot.lock().await;
    let mut fresh = false;
    if guard.is_none() {
        fresh = true;
        match load(inner, arn).await? {
            Loaded::Live(l) => *guard = Some(*l),
            Loaded::Finished(stop_millis) => {
                drop(guard);
                inner.live.forget(arn);
                finish_consume(inner, consume).await?;
                return Ok(Attempt::Done(Delivery::Finished(ExecutionRecordLite {
                    stop_millis,
                })));
            }
            Loaded::Missing => {
                drop(guard);
                inner.live.forget(arn);
                return Ok(Attempt::Done(Delivery::Missing));
            }
        }
    }
    let Some(live) = guard.as_mut() else {
        return Err(SfnError::internal("execution slot emptied under its lock"));
    };
    if live.exec.is_finished() {
        let stop = live.exec.stop_millis;
        drop(guard);
        inner.live.forget(arn);
        finish_consume(inner, consume).await?;
        return Ok(Attempt::Done(Delivery::Finished(ExecutionRecordLite {
            stop_millis: stop,
        })));
    }
    let planned = plan(live);
    let stale_cache = |guard: &mut Option<Live>| {
        *guard = None;
        inner.live.forget(arn);
    };
    let inputs = match planned {
        Ok(inputs) => inputs,
        Err(e) if fresh || last || !behind_store(inner, arn, live.version).await? => {
            return Err(e);
        }
        Err(_) => {
            stale_cache(&mut guard);
            return Ok(Attempt::Retry(StoreError::Conflict(arn.to_owned())));
        }
    };
    let now = inner.now();
    let mut entropy = DriverEntropy::new(now, inner.next_seed());
    // Kept in case this step ends the execution unsuccessfully (redrive starts here).
    let before = (!inputs.is_empty()).then(|| live.exec.clone());
    let mut effects = Vec::new();
    for input in inputs {
        if live.exec.is_finished() {
            break;
        }
        effects.extend(apply(&mut live.exec, &live.machine, input, &mut entropy));
    }
    if effects.is_empty() && consume.activity_task.is_none() {
        if !fresh && !last && behind_store(inner, arn, live.version).await? {
            stale_cache(&mut guard);
            return Ok(Attempt::Retry(StoreError::Conflict(arn.to_owned())));
        }
        // Stale input: nothing changes but what delivered it.
        finish_consume(inner, consume).await?;
        return Ok(Attempt::Done(Delivery::Applied {
            finished: false,
            stop_millis: None,
        }));
    }
    let (step, after) = build_step(inner, live, effects, consume.clone(), now, false, before)?;
    if let Err(e) = inner.store.commit_step(live.id, live.version, step).await {
        // Memory is ahead of the store now: forget it, the next input reloads.
        stale_cache(&mut guard);
        drop(guard);
        return match e {
            StoreError::Conflict(_) => Ok(Attempt::Retry(e)),
            e => Err(e.into()),
        };
    }
    live.version += 1;
    let finished = live.exec.is_finished();
    let stop_millis = live.exec.stop_millis;
    let id = live.id;
    let arc_arn = live.arn.clone();
    drop(guard);
    if finished {
        inner.live.forget(arn);
    }
    dispatch(inner, id, arc_arn, after);
    Ok(Attempt::Done(Delivery::Applied {
        finished,
        stop_millis,
    }))
}

/// Whether the store holds a newer version of the execution than `version`: another
/// node sharing the database has moved it on.
async fn behind_store(inner: &Arc<Inner>, arn: &str, version: i64) -> Result<bool, SfnError> {
    Ok(match inner.store.snapshot(arn).await? {
        Some(snapshot) => snapshot.version != version,
        None => false,
    })
}

/// Deletes consumed work without a step (the execution is finished or the input stale).
async fn finish_consume(inner: &Arc<Inner>, consume: &Consume) -> Result<(), SfnError> {
    if !consume.work.is_empty() {
        inner.store.delete_work(&consume.work).await?;
    }
    Ok(())
}

/// The status, stop time, output and error of an execution for its summary row.
fn summary(
    exec: &Execution,
) -> (
    RunStatus,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
) {
    let status = match exec.status {
        ExecutionStatus::Pending | ExecutionStatus::Running => RunStatus::Running,
        ExecutionStatus::Succeeded => RunStatus::Succeeded,
        ExecutionStatus::Failed => RunStatus::Failed,
        ExecutionStatus::TimedOut => RunStatus::TimedOut,
        ExecutionStatus::Aborted => RunStatus::Aborted,
    };
    let (output, error, cause) = match &exec.outcome {
        Some(Outcome::Succeeded { output }) => (Some(json_text(output)), None, None),
        Some(Outcome::Failed(f)) => (None, f.error.clone(), f.cause.clone()),
        None => (None, None, None),
    };
    (status, exec.stop_millis, output, error, cause)
}

pub(crate) fn json_text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}

fn lease(inner: &Inner, until: i64) -> Option<Lease> {
    Some(Lease {
        owner: inner.config.node_id.clone(),
        until_millis: until,
    })
}

/// Turns the core's effects into the step to commit and the actions to take after it.
/// `redriven` marks the step of a RedriveExecution (a RUNNING event again).
pub(crate) fn build_step(
    inner: &Inner,
    live: &mut Live,
    effects: Vec<Effect>,
    consume: Consume,
    now: i64,
    redriven: bool,
    before: Option<Execution>,
) -> Result<(Step, After), SfnError> {
    let mut after = After::default();
    let mut history = Vec::new();
    let mut work_added = Vec::new();
    let mut work_done = consume.work;
    let mut activity_tasks_added = Vec::new();
    let mut activity_tasks_done: Vec<u64> = consume.activity_task.into_iter().collect();
    let mut started_event = None;
    let mut last_event = None;
    let horizon = now.saturating_add(inner.config.timer_horizon_millis);
    let lease_millis = inner.config.lease_millis;
    let id = live.id;
    let key = |k: String| WorkKey {
        execution: id,
        key: k,
    };
    for effect in effects {
        match effect {
            Effect::History(e) => {
                if matches!(e.details, EventDetails::ExecutionStarted { .. }) {
                    started_event = Some(e.id);
                }
                last_event = Some(e.id);
                let body = serde_json::to_string(&e)
                    .map_err(|err| SfnError::internal(format!("history event: {err}")))?;
                history.push(crate::store::HistoryRow {
                    event_id: e.id,
                    body,
                });
            }
            Effect::ScheduleTask(request) => match &request.kind {
                TaskKind::Activity { arn } => {
                    activity_tasks_added.push(NewActivityTask {
                        activity_arn: arn.clone(),
                        task_id: request.task_id,
                        input: json_text(&request.input),
                        token: request.task_token.clone().unwrap_or_default(),
                    });
                    after.activities.push(arn.clone());
                }
                _ => {
                    let payload = WorkPayload::Task(request.clone()).encode()?;
                    work_added.push(NewWork {
                        key: work::task_key(request.task_id),
                        due_millis: now,
                        payload,
                        lease: lease(inner, now.saturating_add(lease_millis)),
                    });
                    after.tasks.push(*request);
                }
            },
            Effect::CancelTask { task_id } => {
                activity_tasks_done.push(task_id);
                work_done.push(key(work::task_key(task_id)));
                if let Some(child) = live.children.remove(&task_id) {
                    let payload = WorkPayload::CancelChild {
                        child_arn: child.clone(),
                    }
                    .encode()?;
                    work_added.push(NewWork {
                        key: work::cancel_key(task_id),
                        due_millis: now,
                        payload,
                        lease: lease(inner, now.saturating_add(lease_millis)),
                    });
                    after.cancel_children.push((task_id, child));
                }
            }
            Effect::StartTimer {
                timer_id,
                fire_at_millis,
            } => {
                let near = fire_at_millis <= horizon;
                work_added.push(NewWork {
                    key: work::timer_key(timer_id),
                    due_millis: fire_at_millis,
                    payload: WorkPayload::Timer { timer_id }.encode()?,
                    lease: if near {
                        lease(inner, fire_at_millis.max(now).saturating_add(lease_millis))
                    } else {
                        None
                    },
                });
                if near {
                    after.timers.push((fire_at_millis, timer_id));
                }
            }
            Effect::CancelTimer { timer_id } => {
                work_done.push(key(work::timer_key(timer_id)));
                after.cancelled_timers.push(timer_id);
            }
            Effect::Finished => {}
        }
    }
    // Children whose task completed are no longer waited for.
    let exec = &live.exec;
    live.children
        .retain(|task, _| exec.tasks.contains_key(task));

    let (status, stop_millis, output, error, cause) = summary(&live.exec);
    let finished = status.is_terminal();
    if finished {
        live.redrive_base = before;
    }
    let snapshot = if status == RunStatus::Succeeded {
        SnapshotChange::Clear
    } else {
        let text = serde_json::to_string(&SnapshotOut {
            exec: &live.exec,
            children: &live.children,
            redrive_base: live.redrive_base.as_ref().filter(|_| finished),
        })
        .map_err(|e| SfnError::internal(format!("snapshot: {e}")))?;
        SnapshotChange::Replace(text)
    };

    if inner.sink.is_some() {
        let running_key = match (started_event, redriven) {
            (Some(id), _) => Some(id),
            (None, true) => last_event.or(Some(0)),
            _ => None,
        };
        if let Some(event_id) = running_key {
            let event = status_events::status_change(inner, live, RunStatus::Running);
            let key = work::event_key("running", event_id);
            push_event(&mut work_added, &mut after, inner, now, key, event)?;
        }
        if finished {
            let event = status_events::status_change(inner, live, status);
            let key = work::event_key("stopped", last_event.unwrap_or(0));
            push_event(&mut work_added, &mut after, inner, now, key, event)?;
        }
    }
    if finished && let Some(parent) = &live.meta.parent {
        work_added.push(NewWork {
            key: work::PARENT_KEY.to_owned(),
            due_millis: now,
            payload: WorkPayload::NotifyParent {
                parent: parent.clone(),
            }
            .encode()?,
            lease: lease(inner, now.saturating_add(lease_millis)),
        });
        after.notify_parent = Some(parent.clone());
    }
    let step = Step {
        status,
        stop_millis,
        output,
        error,
        cause,
        snapshot,
        history,
        work_added,
        work_done,
        activity_tasks_added,
        activity_tasks_done,
        redrive: None,
    };
    Ok((step, after))
}

fn push_event(
    work_added: &mut Vec<NewWork>,
    after: &mut After,
    inner: &Inner,
    now: i64,
    key: String,
    event: status_events::EventOut,
) -> Result<(), SfnError> {
    work_added.push(NewWork {
        key: key.clone(),
        due_millis: now,
        payload: WorkPayload::Event(event.clone()).encode()?,
        lease: lease(inner, now.saturating_add(inner.config.lease_millis)),
    });
    after.events.push((key, event));
    Ok(())
}

/// Carries out a committed step's effects.
pub(crate) fn dispatch(inner: &Arc<Inner>, id: ExecutionId, arn: Arc<str>, after: After) {
    for (fire_at, timer_id) in after.timers {
        inner.timers.insert(fire_at, arn.clone(), timer_id, id);
    }
    for timer_id in after.cancelled_timers {
        inner.timers.cancel(&arn, timer_id);
    }
    for request in after.tasks {
        let inner = inner.clone();
        let arn = arn.clone();
        tokio::spawn(async move {
            crate::integrations::perform(&inner, id, arn, request).await;
        });
    }
    for activity in after.activities {
        inner.activity_waiters.wake(&activity);
    }
    for (key, event) in after.events {
        inner.events.push(WorkKey { execution: id, key }, event);
    }
    for (task_id, child) in after.cancel_children {
        let inner = inner.clone();
        tokio::spawn(async move {
            work::cancel_child(&inner, id, task_id, &child).await;
        });
    }
    if let Some(parent) = after.notify_parent {
        let inner = inner.clone();
        tokio::spawn(async move {
            work::notify_parent(&inner, id, &arn, &parent).await;
        });
    }
}

/// Starts a Standard execution: the row, its first step (every pure state up to the
/// first wait) and its work commit together.
///
/// Idempotent by name: an execution already running with this name and the same input
/// is returned as is; otherwise the name is taken (`ExecutionAlreadyExists`). A child
/// started again by its own parent's task (after a crash) is returned as is too.
pub(crate) async fn start_standard(
    inner: &Arc<Inner>,
    machine: &StateMachineRecord,
    name: &str,
    input_text: &str,
    input: Value,
    parent: Option<ParentLink>,
) -> Result<(String, i64), SfnError> {
    let arn = inner.scope.execution_arn(&machine.name, name);
    let parsed = inner
        .machines
        .get(inner, &machine.revision.revision_id)
        .await?;
    let identity = ExecutionIdentity {
        execution_arn: arn.clone(),
        execution_name: name.to_owned(),
        state_machine_arn: machine.arn.clone(),
        state_machine_name: machine.name.clone(),
        role_arn: machine.revision.role_arn.clone(),
        region: inner.config.region.clone(),
        account: inner.config.account.clone(),
        redrive_count: 0,
        started_sync: false,
    };
    let now = inner.now();
    let mut exec = Execution::new(identity, input, now);
    let before = exec.clone();
    let mut entropy = DriverEntropy::new(now, inner.next_seed());
    let effects = apply(&mut exec, &parsed, Input::Start, &mut entropy);
    let mut live = Live {
        id: ExecutionId(0),
        arn: Arc::from(arn.as_str()),
        version: 1,
        exec,
        machine: parsed,
        meta: Arc::new(Meta {
            name: name.to_owned(),
            state_machine_arn: machine.arn.clone(),
            input: input_text.to_owned(),
            start_millis: now,
            parent: parent.clone(),
        }),
        children: BTreeMap::new(),
        redrive_base: None,
    };
    let (step, after) = build_step(
        inner,
        &mut live,
        effects,
        Consume::default(),
        now,
        false,
        Some(before),
    )?;
    let new = NewExecution {
        arn: arn.clone(),
        name: name.to_owned(),
        state_machine_arn: machine.arn.clone(),
        revision_id: machine.revision.revision_id.clone(),
        input: input_text.to_owned(),
        start_millis: now,
        parent: parent.clone(),
    };
    match inner.store.start_execution(new, step).await {
        Ok(id) => {
            live.id = id;
            let finished = live.exec.is_finished();
            let arc_arn = live.arn.clone();
            if !finished {
                inner.live.insert(live);
            }
            dispatch(inner, id, arc_arn, after);
            Ok((arn, now))
        }
        Err(StoreError::AlreadyExists(_)) => {
            let existing = inner
                .store
                .execution(&arn)
                .await?
                .ok_or_else(|| already_exists(&arn))?;
            let same_parent = parent.is_some() && existing.parent == parent;
            let same_request =
                existing.status == RunStatus::Running && existing.input == input_text;
            if same_parent || same_request {
                Ok((arn, existing.start_millis))
            } else {
                Err(already_exists(&arn))
            }
        }
        Err(e) => Err(e.into()),
    }
}

fn already_exists(arn: &str) -> SfnError {
    SfnError::new(
        "ExecutionAlreadyExists",
        format!("Execution Already Exists: '{arn}'"),
    )
}

/// The TaskWait of an outstanding task, if the execution still waits for it.
pub(crate) fn task_wait(
    exec: &Execution,
    task_id: u64,
) -> Option<&baton_exec::execution::TaskWait> {
    let fid = exec.tasks.get(&task_id)?;
    match &exec.frames.get(fid)?.position {
        baton_exec::execution::Position::Active(a) => match &a.waiting {
            baton_exec::execution::Waiting::Task(t) if t.task_id == task_id => Some(t),
            _ => None,
        },
        _ => None,
    }
}

/// RedriveExecution: continues a failed, timed-out or aborted execution from the states
/// it had not finished. Returns the redrive time.
pub(crate) async fn redrive(inner: &Arc<Inner>, arn: &str) -> Result<i64, SfnError> {
    // A conflict means another node moved the execution first (a concurrent redrive):
    // reading it again gives that request's outcome its proper error.
    for _ in 1..MAX_DELIVER_ATTEMPTS {
        if let Some(at) = redrive_once(inner, arn).await? {
            return Ok(at);
        }
    }
    Err(StoreError::Conflict(arn.to_owned()).into())
}

/// One try of [`redrive`]; `None` when the commit lost a race with another node.
async fn redrive_once(inner: &Arc<Inner>, arn: &str) -> Result<Option<i64>, SfnError> {
    let not_redrivable = |reason: String| SfnError::new("ExecutionNotRedrivable", reason);
    let slot = inner.live.slot(arn);
    let mut guard = slot.lock().await;
    let Some(record) = inner.store.execution(arn).await? else {
        return Err(SfnError::execution_does_not_exist(arn));
    };
    let now = inner.now();
    if let (crate::RedriveStatus::NotRedrivable, reason) =
        crate::queries::redrive_status(&record, now)
    {
        return Err(not_redrivable(
            reason.unwrap_or_else(|| "Execution cannot be redriven".to_owned()),
        ));
    }
    if record.redrive_count >= MAX_REDRIVES {
        return Err(SfnError::new(
            "ExecutionLimitExceeded",
            format!("Execution has been redriven {MAX_REDRIVES} times, the most allowed"),
        ));
    }
    let snapshot = inner
        .store
        .snapshot(arn)
        .await?
        .and_then(|s| s.data.map(|d| (s.id, s.version, d)));
    let Some((id, version, data)) = snapshot else {
        return Err(not_redrivable("Execution cannot be redriven".to_owned()));
    };
    let stored: SnapshotIn = serde_json::from_str(&data)
        .map_err(|e| SfnError::internal(format!("snapshot of {arn}: {e}")))?;
    let Some(base) = stored.redrive_base else {
        return Err(not_redrivable("Execution cannot be redriven".to_owned()));
    };
    let machine = inner.machines.get(inner, &record.revision_id).await?;
    let mut entropy = DriverEntropy::new(now, inner.next_seed());
    let Some((exec, effects)) =
        baton_exec::redrive::redrive(&base, &stored.exec, &machine, &mut entropy)
    else {
        return Err(not_redrivable("Execution cannot be redriven".to_owned()));
    };
    let count = exec.identity.redrive_count;
    let mut live = Live {
        id,
        arn: Arc::from(arn),
        version,
        exec,
        machine,
        meta: Arc::new(Meta {
            name: record.name,
            state_machine_arn: record.state_machine_arn,
            input: record.input,
            start_millis: record.start_millis,
            parent: record.parent,
        }),
        children: BTreeMap::new(),
        redrive_base: None,
    };
    let (mut step, after) = build_step(
        inner,
        &mut live,
        effects,
        Consume::default(),
        now,
        true,
        Some(base),
    )?;
    step.redrive = Some((u32::try_from(count).unwrap_or(u32::MAX), now));
    if let Err(e) = inner.store.commit_step(id, version, step).await {
        *guard = None;
        drop(guard);
        inner.live.forget(arn);
        return match e {
            StoreError::Conflict(_) => Ok(None),
            e => Err(e.into()),
        };
    }
    live.version += 1;
    let finished = live.exec.is_finished();
    let arc_arn = live.arn.clone();
    if finished {
        *guard = None;
    } else {
        *guard = Some(live);
    }
    drop(guard);
    if finished {
        inner.live.forget(arn);
    }
    dispatch(inner, id, arc_arn, after);
    Ok(Some(now))
}

/// How many times one execution may be redriven (AWS: 1,000).
const MAX_REDRIVES: u32 = 1_000;
