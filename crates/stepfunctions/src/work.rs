//! Work that outlives a step: timers, calls to make, events to emit, a finished child's
//! notice to its parent, a child to stop. Each is a row committed with the step that
//! created it and deleted in the step (or the call) that completes it.
//!
//! In-process, a committed step hands its work straight to the timer wheel, the task
//! performer or the event dispatcher — no polling on the hot path. The scanner only
//! claims what nobody in this process holds: everything at startup (recovery), timers
//! that came within the in-memory horizon, and work whose lease expired.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::store::{ExecutionId, ExecutionRecord, ParentLink, RunStatus, WorkItem, WorkKey};
use baton_exec::{Input, TaskKind, TaskRequest};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};

use crate::engine::{self, Consume, task_wait};
use crate::status_events::EventOut;
use crate::{Inner, SfnError, integrations, sdk_metadata};

pub const PARENT_KEY: &str = "parent";

pub fn timer_key(timer_id: u64) -> String {
    format!("timer:{timer_id}")
}

pub fn task_key(task_id: u64) -> String {
    format!("task:{task_id}")
}

pub fn cancel_key(task_id: u64) -> String {
    format!("cancel:{task_id}")
}

pub fn event_key(kind: &str, event_id: u64) -> String {
    format!("event:{kind}:{event_id}")
}

/// What a work item asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum WorkPayload {
    Timer {
        timer_id: u64,
    },
    /// Make the call a Task state scheduled.
    Task(Box<TaskRequest>),
    Event(EventOut),
    /// This (finished) execution was started by `parent`'s task, which waits for it.
    NotifyParent {
        parent: ParentLink,
    },
    /// Stop a child execution whose parent no longer waits for it.
    CancelChild {
        child_arn: String,
    },
}

impl WorkPayload {
    pub fn encode(&self) -> Result<String, SfnError> {
        serde_json::to_string(self).map_err(|e| SfnError::internal(format!("work payload: {e}")))
    }

    fn decode(text: &str) -> Result<WorkPayload, SfnError> {
        serde_json::from_str(text).map_err(|e| SfnError::internal(format!("work payload: {e}")))
    }
}

// ----- the timer wheel --------------------------------------------------------------------

/// Timers due soon, in memory. The store holds every timer; this holds the near ones so
/// a Wait wakes its execution on time without polling.
#[derive(Default)]
pub(crate) struct TimerWheel {
    state: Mutex<Wheel>,
    notify: Notify,
}

#[derive(Default)]
struct Wheel {
    due: BTreeMap<(i64, u64), TimerEntry>,
    index: HashMap<(Arc<str>, u64), (i64, u64)>,
    seq: u64,
}

#[derive(Clone)]
struct TimerEntry {
    arn: Arc<str>,
    timer_id: u64,
    execution: ExecutionId,
}

impl TimerWheel {
    fn lock(&self) -> std::sync::MutexGuard<'_, Wheel> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn insert(&self, fire_at: i64, arn: Arc<str>, timer_id: u64, execution: ExecutionId) {
        let mut w = self.lock();
        let k = (arn.clone(), timer_id);
        if w.index.contains_key(&k) {
            return;
        }
        w.seq += 1;
        let slot = (fire_at, w.seq);
        let earliest = w.due.keys().next().is_none_or(|first| slot < *first);
        w.due.insert(
            slot,
            TimerEntry {
                arn,
                timer_id,
                execution,
            },
        );
        w.index.insert(k, slot);
        drop(w);
        if earliest {
            self.notify.notify_one();
        }
    }

    pub fn cancel(&self, arn: &Arc<str>, timer_id: u64) {
        let mut w = self.lock();
        if let Some(slot) = w.index.remove(&(arn.clone(), timer_id)) {
            w.due.remove(&slot);
        }
    }

    fn next_due(&self) -> Option<i64> {
        self.lock().due.keys().next().map(|(t, _)| *t)
    }

    fn pop_due(&self, now: i64) -> Vec<TimerEntry> {
        let mut w = self.lock();
        let mut out = Vec::new();
        while let Some((&slot, _)) = w.due.iter().next() {
            if slot.0 > now {
                break;
            }
            if let Some(e) = w.due.remove(&slot) {
                w.index.remove(&(e.arn.clone(), e.timer_id));
                out.push(e);
            }
        }
        out
    }

    pub fn len(&self) -> usize {
        self.lock().due.len()
    }
}

async fn run_timers(inner: Arc<Inner>) {
    loop {
        let now = inner.now();
        match inner.timers.next_due() {
            Some(t) if t <= now => {
                for entry in inner.timers.pop_due(now) {
                    let inner = inner.clone();
                    tokio::spawn(async move { fire_timer(&inner, entry).await });
                }
            }
            Some(t) => {
                let wait = Duration::from_millis((t - now).clamp(1, 60_000) as u64);
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = inner.timers.notify.notified() => {}
                }
            }
            None => inner.timers.notify.notified().await,
        }
    }
}

async fn fire_timer(inner: &Arc<Inner>, e: TimerEntry) {
    let key = WorkKey {
        execution: e.execution,
        key: timer_key(e.timer_id),
    };
    let timer_id = e.timer_id;
    if let Err(err) = engine::deliver(inner, &e.arn, Consume::work(key), |_| {
        Ok(vec![Input::TimerFired { timer_id }])
    })
    .await
    {
        // The row stays; the scanner hands it out again when its lease expires.
        tracing::warn!(arn = %e.arn, timer_id, error = %err, "timer could not be applied");
    }
}

// ----- events -----------------------------------------------------------------------------

/// Status-change events waiting to be put on the bus.
#[derive(Default)]
pub(crate) struct EventQueue {
    tx: OnceLock<mpsc::UnboundedSender<(WorkKey, EventOut)>>,
}

/// Events sent to the sink in one call, at most.
const EVENT_BATCH: usize = 100;

impl EventQueue {
    pub fn push(&self, key: WorkKey, event: EventOut) {
        if let Some(tx) = self.tx.get() {
            let _ = tx.send((key, event));
        }
    }
}

async fn run_events(inner: Arc<Inner>, mut rx: mpsc::UnboundedReceiver<(WorkKey, EventOut)>) {
    let Some(sink) = inner.sink.clone() else {
        return;
    };
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < EVENT_BATCH {
            match rx.try_recv() {
                Ok(x) => batch.push(x),
                Err(_) => break,
            }
        }
        let (keys, events): (Vec<WorkKey>, Vec<EventOut>) = batch.into_iter().unzip();
        let outgoing = events.into_iter().map(EventOut::into_outgoing).collect();
        match sink.put_events(outgoing).await {
            Ok(_) => {
                if let Err(e) = inner.store.delete_work(&keys).await {
                    tracing::warn!(error = %e, "could not mark status events as sent");
                }
            }
            Err(e) => {
                // The rows stay leased; after the lease the scanner sends them again.
                tracing::warn!(error = %e, "the event bus refused status events");
            }
        }
    }
}

// ----- startup and the scanner ------------------------------------------------------------

/// Items claimed per scan.
const CLAIM_BATCH: usize = 500;

pub(crate) async fn start(inner: &Arc<Inner>) -> Result<(), SfnError> {
    let (tx, rx) = mpsc::unbounded_channel();
    if inner.events.tx.set(tx).is_ok() {
        tokio::spawn(run_events(inner.clone(), rx));
    }
    tokio::spawn(run_timers(inner.clone()));
    // Recovery: everything this node held before it stopped, and anything free.
    loop {
        let n = scan(inner, true).await?;
        if n < CLAIM_BATCH {
            break;
        }
    }
    let inner = inner.clone();
    tokio::spawn(async move {
        let every = Duration::from_millis(inner.config.scan_interval_millis.max(10));
        loop {
            tokio::time::sleep(every).await;
            loop {
                match scan(&inner, false).await {
                    Ok(n) if n >= CLAIM_BATCH => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "work scan failed");
                        break;
                    }
                }
            }
        }
    });
    Ok(())
}

async fn scan(inner: &Arc<Inner>, reclaim_own: bool) -> Result<usize, SfnError> {
    let now = inner.now();
    let items = inner
        .store
        .claim_work(
            &inner.config.node_id,
            now,
            now.saturating_add(inner.config.timer_horizon_millis),
            inner.config.lease_millis,
            reclaim_own,
            CLAIM_BATCH,
        )
        .await?;
    let n = items.len();
    for item in items {
        dispatch_item(inner, item);
    }
    Ok(n)
}

fn dispatch_item(inner: &Arc<Inner>, item: WorkItem) {
    let payload = match WorkPayload::decode(&item.payload) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(key = %item.key, error = %e, "unreadable work item");
            return;
        }
    };
    let arn: Arc<str> = Arc::from(item.execution_arn.as_str());
    let id = item.execution;
    match payload {
        WorkPayload::Timer { timer_id } => inner.timers.insert(item.due_millis, arn, timer_id, id),
        WorkPayload::Task(request) => {
            let inner = inner.clone();
            tokio::spawn(async move { integrations::perform(&inner, id, arn, *request).await });
        }
        WorkPayload::Event(event) => {
            if inner.sink.is_some() {
                inner.events.push(item.work_key(), event);
            } else {
                let inner = inner.clone();
                let key = item.work_key();
                tokio::spawn(async move {
                    let _ = inner.store.delete_work(&[key]).await;
                });
            }
        }
        WorkPayload::NotifyParent { parent } => {
            let inner = inner.clone();
            tokio::spawn(async move { notify_parent(&inner, id, &arn, &parent).await });
        }
        WorkPayload::CancelChild { child_arn } => {
            let task_id = item
                .key
                .strip_prefix("cancel:")
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let inner = inner.clone();
            tokio::spawn(async move { cancel_child(&inner, id, task_id, &child_arn).await });
        }
    }
}

// ----- nested executions ------------------------------------------------------------------

/// The `StartExecution` response a `states:startExecution` task records (its
/// `TaskSubmitted` output, or its result for request-response), with the SDK metadata
/// AWS's integration adds.
pub(crate) fn start_response(inner: &Inner, execution_arn: &str, start_millis: i64) -> Value {
    let request_id = uuid::Uuid::new_v4().to_string();
    let body = json!({"executionArn": execution_arn, "startDate": start_millis as f64 / 1000.0});
    let mut out = serde_json::Map::new();
    out.insert("ExecutionArn".into(), json!(execution_arn));
    sdk_metadata::add(&mut out, &body.to_string(), &request_id, inner.now());
    out.insert("StartDate".into(), json!(start_millis));
    Value::Object(out)
}

/// A finished child as `.sync` reports it: DescribeExecution's fields, with `Input` and
/// `Output` as JSON text (`.sync`) or as JSON (`.sync:2`).
pub(crate) fn describe_child(child: &ExecutionRecord, sync2: bool) -> Value {
    let data = |text: &str| -> Value {
        if sync2 {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
        } else {
            Value::String(text.to_owned())
        }
    };
    let mut m = serde_json::Map::new();
    if child.status != RunStatus::Succeeded {
        if let Some(c) = &child.cause {
            m.insert("Cause".into(), Value::String(c.clone()));
        }
        if let Some(e) = &child.error {
            m.insert("Error".into(), Value::String(e.clone()));
        }
    }
    m.insert("ExecutionArn".into(), Value::String(child.arn.clone()));
    m.insert("Input".into(), data(&child.input));
    m.insert("InputDetails".into(), json!({"Included": true}));
    m.insert("Name".into(), Value::String(child.name.clone()));
    if let Some(out) = &child.output {
        m.insert("Output".into(), data(out));
        m.insert("OutputDetails".into(), json!({"Included": true}));
    }
    m.insert("StartDate".into(), json!(child.start_millis));
    m.insert(
        "StateMachineArn".into(),
        Value::String(child.state_machine_arn.clone()),
    );
    m.insert(
        "Status".into(),
        Value::String(child.status.as_str().to_owned()),
    );
    if let Some(stop) = child.stop_millis {
        m.insert("StopDate".into(), json!(stop));
    }
    Value::Object(m)
}

/// A child started by a `.sync` task finished: answer the parent's task.
pub(crate) async fn notify_parent(
    inner: &Arc<Inner>,
    child_id: ExecutionId,
    child_arn: &str,
    parent: &ParentLink,
) {
    let key = WorkKey {
        execution: child_id,
        key: PARENT_KEY.to_owned(),
    };
    let child = match inner.store.execution_by_id(child_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(child = child_arn, error = %e, "reading a finished child failed");
            return;
        }
    };
    let task_id = parent.task_id;
    let inner2 = inner.clone();
    let result = engine::deliver(
        inner,
        &parent.execution_arn,
        Consume::work(key),
        move |live| {
            let Some(wait) = task_wait(&live.exec, task_id) else {
                return Ok(Vec::new());
            };
            let resource = match &wait.kind {
                TaskKind::Service { resource, .. } => resource.resource.clone(),
                _ => String::new(),
            };
            if !resource.contains(".sync") {
                return Ok(Vec::new());
            }
            let sync2 = resource.ends_with(".sync:2");
            let mut inputs = Vec::new();
            if !wait.started {
                // The child finished before its parent recorded the call: record it first.
                inputs.push(Input::TaskStarted {
                    task_id,
                    worker_name: None,
                });
                inputs.push(Input::TaskSubmitted {
                    task_id,
                    output: start_response(&inner2, &child.arn, child.start_millis),
                });
            }
            let described = describe_child(&child, sync2);
            inputs.push(if child.status == RunStatus::Succeeded {
                Input::TaskSucceeded {
                    task_id,
                    output: described,
                }
            } else {
                Input::TaskFailed {
                    task_id,
                    error: Some("States.TaskFailed".to_owned()),
                    cause: Some(engine::json_text(&described)),
                }
            });
            Ok(inputs)
        },
    )
    .await;
    if let Err(e) = result {
        tracing::warn!(parent = %parent.execution_arn, error = %e, "could not answer the parent");
    }
}

/// The parent stopped waiting for a child (it was stopped, or the branch failed): stop
/// the child too, as AWS does for `.sync` children.
pub(crate) async fn cancel_child(
    inner: &Arc<Inner>,
    parent: ExecutionId,
    task_id: u64,
    child: &str,
) {
    let stop = engine::deliver(inner, child, Consume::default(), |_| {
        Ok(vec![Input::Stop {
            error: None,
            cause: None,
        }])
    })
    .await;
    if let Err(e) = stop {
        tracing::warn!(child, error = %e, "could not stop a child execution");
        return;
    }
    let key = WorkKey {
        execution: parent,
        key: cancel_key(task_id),
    };
    if let Err(e) = inner.store.delete_work(&[key]).await {
        tracing::warn!(child, error = %e, "could not mark a child as stopped");
    }
}
