//! What the interpreter asks the shell to do, and what the shell tells it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::history::HistoryEvent;
use crate::task::TaskRequest;

/// Something the shell must carry out after committing the step that produced it.
// History events dominate; boxing them would cost an allocation per event on the hot path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    /// Append to the execution history.
    History(HistoryEvent),
    ScheduleTask(Box<TaskRequest>),
    /// The task's answer is no longer wanted (branch failed, execution stopped…).
    CancelTask {
        task_id: u64,
    },
    /// Deliver `Input::TimerFired { timer_id }` at or after `fire_at_millis`.
    StartTimer {
        timer_id: u64,
        fire_at_millis: i64,
    },
    CancelTimer {
        timer_id: u64,
    },
    /// The execution reached a terminal status; its outcome is on the `Execution`.
    Finished,
}

/// Something that happened outside the interpreter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// Begin the execution (its input is on the `Execution`).
    Start,
    /// A worker picked the task up (history `TaskStarted` / `ActivityStarted` / …).
    TaskStarted {
        task_id: u64,
        worker_name: Option<String>,
    },
    /// A `.sync`/`.waitForTaskToken` call was made; `output` is the call's response.
    TaskSubmitted {
        task_id: u64,
        output: Value,
    },
    TaskSucceeded {
        task_id: u64,
        output: Value,
    },
    TaskFailed {
        task_id: u64,
        error: Option<String>,
        cause: Option<String>,
    },
    TaskHeartbeat {
        task_id: u64,
    },
    TimerFired {
        timer_id: u64,
    },
    /// StopExecution.
    Stop {
        error: Option<String>,
        cause: Option<String>,
    },
}
