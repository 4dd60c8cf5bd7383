//! The serialisable state of one execution: a tree of frames (the root, Parallel
//! branches, Map iterations), each positioned at a state, plus the outstanding tasks and
//! timers the shell must answer.
//!
//! Everything here is plain data so a snapshot can be stored after each committed step
//! and loaded to continue after a crash.

use std::collections::BTreeMap;
use std::sync::Arc;

use baton_asl::model::{ScopeId, StateId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::task::TaskKind;

/// A JSON payload shared between the frame that carries it and the history events
/// that record it: passing a value through a state costs a reference count, not a copy.
pub type Payload = Arc<Value>;

/// Names and ARNs the context object and history need; fixed for the execution's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ExecutionIdentity {
    pub execution_arn: String,
    pub execution_name: String,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    pub role_arn: String,
    pub region: String,
    pub account: String,
    pub redrive_count: u64,
    /// Started by StartSyncExecution: such executions cannot be redriven and their
    /// context object has no `RedriveCount`.
    #[serde(default)]
    pub started_sync: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExecutionStatus {
    /// Created, `Input::Start` not applied yet.
    Pending,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Pending | ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        }
    }

    pub fn is_terminal(self) -> bool {
        !matches!(self, ExecutionStatus::Pending | ExecutionStatus::Running)
    }
}

/// How an execution, a branch or an iteration ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    Succeeded { output: Payload },
    Failed(Failure),
}

/// An ASL error: name and cause, either of which AWS allows to be absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Failure {
    pub error: Option<String>,
    pub cause: Option<String>,
}

impl Failure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure {
            error: Some(error.into()),
            cause: Some(cause.into()),
        }
    }

    pub fn error_name(&self) -> &str {
        self.error.as_deref().unwrap_or("")
    }

    /// The `{"Error": …, "Cause": …}` object a Catch passes on.
    pub fn to_error_output(&self) -> Value {
        let mut m = Map::new();
        // A failure reported with neither (SendTaskFailure without `error` or `cause`)
        // reaches the catcher as two nulls, as AWS's recording shows.
        if self.error.is_none() && self.cause.is_none() {
            m.insert("Error".into(), Value::Null);
            m.insert("Cause".into(), Value::Null);
            return Value::Object(m);
        }
        if let Some(e) = &self.error {
            m.insert("Error".into(), Value::String(e.clone()));
        }
        // AWS's error output always carries a Cause, empty when the error had none.
        m.insert(
            "Cause".into(),
            Value::String(self.cause.clone().unwrap_or_default()),
        );
        Value::Object(m)
    }
}

pub type FrameId = u64;

/// One thread of control: the root machine, a Parallel branch or a Map iteration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Frame {
    pub scope: ScopeId,
    /// The frame waiting for this one, and which branch/iteration slot this is.
    pub parent: Option<ParentLink>,
    /// Variables assigned in this scope. Outer scopes' variables are read through the
    /// parent chain, which is stable while this frame runs (its ancestors are waiting).
    pub variables: Map<String, Value>,
    pub position: Position,
    /// Id of the last history event this frame recorded; the next one points back to it.
    pub last_event_id: u64,
    /// False for distributed-map children: their events live in child executions that
    /// AWS keeps out of the parent history.
    pub records_history: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentLink {
    pub frame: FrameId,
    pub slot: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Position {
    /// About to enter `state` with `input`.
    Enter { state: StateId, input: Payload },
    /// Inside a state that waits for something outside the frame.
    Active(Box<Active>),
    /// Finished; kept only until the parent has taken the outcome.
    Done,
}

/// A state that has been entered and waits for a task, a timer or its children.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Active {
    pub state: StateId,
    /// The state's input as received (before `InputPath`): `ResultPath` merges into it.
    pub raw_input: Payload,
    pub entered_event_id: u64,
    /// The `previousEventId` of the entered event; a top-level `EvaluationFailed`
    /// points back to it.
    #[serde(default)]
    pub entered_previous_event_id: u64,
    pub entered_millis: i64,
    /// Attempts used per retrier (index = position in `Retry`).
    pub retry_attempts: Vec<u64>,
    /// Total retries so far (`$$.State.RetryCount`).
    pub retry_count: u64,
    pub waiting: Waiting,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Waiting {
    /// A Wait state's timer; `output` and `assigned` are what the state emits when it
    /// fires (computed on entry, as AWS evaluates them before waiting).
    WaitTimer {
        timer: u64,
        output: Payload,
        assigned: Option<Vec<(String, Value)>>,
    },
    /// The backoff before retry number `retry_count`.
    RetryTimer {
        timer: u64,
    },
    Task(Box<TaskWait>),
    Children(Box<Children>),
}

/// A task handed to the shell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskWait {
    pub task_id: u64,
    pub kind: TaskKind,
    pub timeout_timer: Option<u64>,
    pub heartbeat_timer: Option<u64>,
    pub heartbeat_seconds: Option<u64>,
    /// The task token (`$$.Task.Token`), for `.waitForTaskToken` tasks and activities.
    pub token: Option<String>,
    /// Whether the shell has reported the task started (history `TaskStarted`).
    pub started: bool,
}

/// Branches or iterations a Parallel or Map state is running.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Children {
    pub kind: ChildrenKind,
    /// Running children: slot → frame.
    pub running: BTreeMap<u32, FrameId>,
    /// One result per slot, filled as children finish.
    pub results: Vec<Option<Payload>>,
    pub finished: u32,
    pub failed: u32,
    /// Id of the last event recorded by the child that finished last; the next
    /// iteration's `MapIterationStarted` points back to it.
    pub last_child_event_id: u64,
    /// Id of the last `MapIterationSucceeded`/`MapIterationFailed` recorded.
    pub last_iteration_event_id: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ChildrenKind {
    Parallel,
    Map(Box<MapRun>),
}

/// What a running Map needs to start its remaining iterations.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MapRun {
    /// Items not started yet (each is taken when its iteration starts).
    pub items: Vec<Value>,
    /// The effective input `ItemSelector` reads (`$`).
    pub selector_input: Payload,
    pub next_index: u32,
    /// 0 = unlimited.
    pub max_concurrency: u64,
    pub tolerated_count: Option<u64>,
    pub tolerated_percentage: Option<f64>,
    pub distributed: bool,
    pub map_run_arn: Option<String>,
    pub map_run_started_event_id: u64,
}

/// What a timer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimerPurpose {
    /// A Wait state or a retry backoff of the frame's active state.
    Resume {
        frame: FrameId,
    },
    TaskTimeout {
        frame: FrameId,
        task_id: u64,
    },
    HeartbeatTimeout {
        frame: FrameId,
        task_id: u64,
    },
    ExecutionTimeout,
}

/// The whole execution.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Execution {
    pub identity: ExecutionIdentity,
    pub input: Payload,
    pub start_millis: i64,
    pub status: ExecutionStatus,
    /// Final output (SUCCEEDED) or error (FAILED, TIMED_OUT, ABORTED).
    pub outcome: Option<Outcome>,
    pub stop_millis: Option<i64>,
    /// Id the next history event gets.
    pub next_event_id: u64,
    pub next_frame_id: FrameId,
    pub next_task_id: u64,
    pub next_timer_id: u64,
    pub frames: BTreeMap<FrameId, Frame>,
    /// Outstanding timers and what each is for. A fired timer not found here is stale.
    pub timers: BTreeMap<u64, TimerPurpose>,
    /// Outstanding tasks → the frame waiting for each. An answer not found here is stale.
    pub tasks: BTreeMap<u64, FrameId>,
    /// Express executions keep no history (saves the work on the fast lane).
    pub records_history: bool,
    /// State transitions so far (entered states), for metrics and limits.
    pub transitions: u64,
}

impl Execution {
    /// A new execution, not yet started (apply `Input::Start`).
    pub fn new(identity: ExecutionIdentity, input: Value, start_millis: i64) -> Self {
        Execution {
            identity,
            input: Arc::new(input),
            start_millis,
            status: ExecutionStatus::Pending,
            outcome: None,
            stop_millis: None,
            next_event_id: 1,
            next_frame_id: 0,
            next_task_id: 1,
            next_timer_id: 1,
            frames: BTreeMap::new(),
            timers: BTreeMap::new(),
            tasks: BTreeMap::new(),
            records_history: true,
            transitions: 0,
        }
    }

    pub fn is_finished(&self) -> bool {
        self.status.is_terminal()
    }
}
