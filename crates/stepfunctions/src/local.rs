//! Runs one execution in-process to the end: `baton run`, TestState-style checks and the
//! conformance tests.
//!
//! Time is virtual by default: a Wait of a day finishes at once while history timestamps
//! still advance by a day. With `RealTime` the driver sleeps until each timer is due.

use std::collections::BTreeMap;

use baton_asl::StateMachine;
use baton_exec::{
    Effect, Execution, ExecutionIdentity, ExecutionStatus, Failure, HistoryEvent, Input,
    TaskRequest, apply,
};
use serde_json::Value;

use crate::entropy::DriverEntropy;

/// How a task is answered.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskAnswer {
    Succeed(Value),
    Fail(Failure),
    /// Answer after a delay (the task runs that long).
    After(u64, Box<TaskAnswer>),
    /// The task starts and never answers (it ends by timeout or not at all).
    Never,
}

/// Decides how each scheduled task is answered.
pub trait TaskHandler {
    fn answer(&mut self, request: &TaskRequest) -> TaskAnswer;
}

impl<F: FnMut(&TaskRequest) -> TaskAnswer> TaskHandler for F {
    fn answer(&mut self, request: &TaskRequest) -> TaskAnswer {
        self(request)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Jump straight to the next due timer.
    Virtual,
    /// Sleep until it is due.
    RealTime,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub clock: Clock,
    pub start_millis: i64,
    pub seed: u64,
    /// Send `StopExecution` at this (virtual) instant if the execution is still running.
    pub stop_at_millis: Option<i64>,
    /// Express executions keep no history.
    pub record_history: bool,
    /// Upper bound on inputs applied, so a run that never ends cannot hang the caller.
    pub max_inputs: u64,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            clock: Clock::Virtual,
            start_millis: 1_700_000_000_000,
            seed: 0x5eed,
            stop_at_millis: None,
            record_history: true,
            max_inputs: 10_000_000,
        }
    }
}

/// The end state of a local run.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub execution: Execution,
    pub history: Vec<HistoryEvent>,
    /// Every task the execution scheduled, in order.
    pub tasks: Vec<TaskRequest>,
}

impl RunResult {
    pub fn status(&self) -> ExecutionStatus {
        self.execution.status
    }
}

/// Something due at a (virtual) instant.
#[derive(Debug, Clone)]
enum Due {
    Input(Input),
    Answer { task_id: u64, answer: TaskAnswer },
    Stop,
}

/// Runs `machine` on `input` until the execution finishes or nothing more can happen.
pub fn run_execution(
    machine: &StateMachine,
    identity: ExecutionIdentity,
    input: Value,
    handler: &mut dyn TaskHandler,
    options: &RunOptions,
) -> RunResult {
    let mut execution = Execution::new(identity, input, options.start_millis);
    execution.records_history = options.record_history;
    let mut entropy = DriverEntropy::new(options.start_millis, options.seed);
    let mut history = Vec::new();
    let mut tasks = Vec::new();
    // (due instant, sequence) → what is due; the sequence keeps same-instant order.
    let mut queue: BTreeMap<(i64, u64), Due> = BTreeMap::new();
    let mut timer_keys: BTreeMap<u64, (i64, u64)> = BTreeMap::new();
    let mut seq = 0u64;
    let mut push = |queue: &mut BTreeMap<(i64, u64), Due>, at: i64, due: Due| -> (i64, u64) {
        seq += 1;
        queue.insert((at, seq), due);
        (at, seq)
    };
    if let Some(at) = options.stop_at_millis {
        push(&mut queue, at, Due::Stop);
    }

    let mut next = Some(Input::Start);
    let mut applied = 0u64;
    while let Some(input) = next.take() {
        applied += 1;
        if applied > options.max_inputs {
            break;
        }
        let effects = apply(&mut execution, machine, input, &mut entropy);
        for effect in effects {
            match effect {
                Effect::History(e) => history.push(e),
                Effect::ScheduleTask(request) => {
                    let now = entropy.now_millis;
                    let answer = handler.answer(&request);
                    push(
                        &mut queue,
                        now,
                        Due::Input(Input::TaskStarted {
                            task_id: request.task_id,
                            worker_name: None,
                        }),
                    );
                    match answer {
                        TaskAnswer::Never => {}
                        TaskAnswer::After(ms, inner) => {
                            let at = now.saturating_add(ms as i64);
                            push(
                                &mut queue,
                                at,
                                Due::Answer {
                                    task_id: request.task_id,
                                    answer: *inner,
                                },
                            );
                        }
                        other => {
                            push(
                                &mut queue,
                                now,
                                Due::Answer {
                                    task_id: request.task_id,
                                    answer: other,
                                },
                            );
                        }
                    }
                    tasks.push(*request);
                }
                Effect::CancelTask { .. } => {}
                Effect::StartTimer {
                    timer_id,
                    fire_at_millis,
                } => {
                    let key = push(
                        &mut queue,
                        fire_at_millis,
                        Due::Input(Input::TimerFired { timer_id }),
                    );
                    timer_keys.insert(timer_id, key);
                }
                Effect::CancelTimer { timer_id } => {
                    if let Some(key) = timer_keys.remove(&timer_id) {
                        queue.remove(&key);
                    }
                }
                Effect::Finished => {}
            }
        }
        if execution.is_finished() {
            break;
        }
        // Next due item; stale answers are harmless (the core ignores them).
        while let Some(((at, _), due)) = queue.pop_first() {
            advance(&mut entropy, at, options.clock);
            let input = match due {
                Due::Input(i) => i,
                Due::Stop => Input::Stop {
                    error: None,
                    cause: None,
                },
                Due::Answer { task_id, answer } => match answer {
                    TaskAnswer::Succeed(output) => Input::TaskSucceeded { task_id, output },
                    TaskAnswer::Fail(f) => Input::TaskFailed {
                        task_id,
                        error: f.error,
                        cause: f.cause,
                    },
                    TaskAnswer::After(ms, inner) => {
                        let at = entropy.now_millis.saturating_add(ms as i64);
                        push(
                            &mut queue,
                            at,
                            Due::Answer {
                                task_id,
                                answer: *inner,
                            },
                        );
                        continue;
                    }
                    TaskAnswer::Never => continue,
                },
            };
            next = Some(input);
            break;
        }
    }
    RunResult {
        execution,
        history,
        tasks,
    }
}

fn advance(entropy: &mut DriverEntropy, at: i64, clock: Clock) {
    if at <= entropy.now_millis {
        return;
    }
    if clock == Clock::RealTime {
        let wait = (at - entropy.now_millis) as u64;
        std::thread::sleep(std::time::Duration::from_millis(wait));
    }
    entropy.now_millis = at;
}
