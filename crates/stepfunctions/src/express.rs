//! Express executions: in memory, never stored. StartSyncExecution runs one to the end
//! and answers with its result; StartExecution on an Express machine runs it in the
//! background. Waits sleep on the real clock; tasks call out as Standard ones do.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::store::{MachineType, StateMachineRecord};
use baton_asl::StateMachine;
use baton_exec::{
    Effect, Execution, ExecutionIdentity, ExecutionStatus, Failure, Input, Outcome, apply,
};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::arn::{self, ArnKind};
use crate::engine::json_text;
use crate::entropy::DriverEntropy;
use crate::executions::{new_execution_name, parse_input};
use crate::integrations::{self, CallOutcome, Caller};
use crate::{Inner, SfnError, StepFunctions};

/// StartSyncExecution's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncExecutionResult {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub start_millis: i64,
    pub stop_millis: i64,
    /// `SUCCEEDED`, `FAILED` or `TIMED_OUT`.
    pub status: &'static str,
    pub input: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

impl SyncExecutionResult {
    /// Billed duration: AWS rounds up to the next 100 ms.
    pub fn billed_duration_millis(&self) -> i64 {
        let d = (self.stop_millis - self.start_millis).max(1);
        (d + 99) / 100 * 100
    }

    /// The result as a `.sync` parent task reports its child.
    pub(crate) fn describe_for_parent(&self, sync2: bool) -> Value {
        let data = |t: &str| {
            if sync2 {
                serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_owned()))
            } else {
                Value::String(t.to_owned())
            }
        };
        let mut m = serde_json::Map::new();
        if let Some(c) = &self.cause {
            m.insert("Cause".into(), Value::String(c.clone()));
        }
        if let Some(e) = &self.error {
            m.insert("Error".into(), Value::String(e.clone()));
        }
        m.insert("ExecutionArn".into(), json!(self.execution_arn));
        m.insert("Input".into(), data(&self.input));
        m.insert("InputDetails".into(), json!({"Included": true}));
        m.insert("Name".into(), json!(self.name));
        if let Some(o) = &self.output {
            m.insert("Output".into(), data(o));
            m.insert("OutputDetails".into(), json!({"Included": true}));
        }
        m.insert("StartDate".into(), json!(self.start_millis));
        m.insert("StateMachineArn".into(), json!(self.state_machine_arn));
        m.insert("Status".into(), json!(self.status));
        m.insert("StopDate".into(), json!(self.stop_millis));
        Value::Object(m)
    }
}

fn identity(
    inner: &Inner,
    machine: &StateMachineRecord,
    name: &str,
    started_sync: bool,
) -> ExecutionIdentity {
    let id = uuid::Uuid::new_v4().to_string();
    ExecutionIdentity {
        execution_arn: inner.scope.express_execution_arn(&machine.name, name, &id),
        execution_name: name.to_owned(),
        state_machine_arn: machine.arn.clone(),
        state_machine_name: machine.name.clone(),
        role_arn: machine.revision.role_arn.clone(),
        region: inner.config.region.clone(),
        account: inner.config.account.clone(),
        redrive_count: 0,
        started_sync,
    }
}

impl StepFunctions {
    /// StartSyncExecution: runs an Express execution to the end.
    pub async fn start_sync_execution(
        &self,
        state_machine_arn: &str,
        name: Option<&str>,
        input: Option<&str>,
    ) -> Result<SyncExecutionResult, SfnError> {
        arn::parse(state_machine_arn, &[ArnKind::StateMachine])?;
        let name = match name {
            Some(n) => {
                arn::check_name(n)?;
                n.to_owned()
            }
            None => new_execution_name(),
        };
        let (text, value) = parse_input(input)?;
        let machine = self.machine_for_start(state_machine_arn).await?;
        if machine.machine_type != MachineType::Express {
            return Err(SfnError::new(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            ));
        }
        let parsed = self
            .inner
            .machines
            .get(&self.inner, &machine.revision.revision_id)
            .await?;
        let identity = identity(&self.inner, &machine, &name, true);
        let execution_arn = identity.execution_arn.clone();
        let exec = run(&self.inner, parsed, identity, value).await;
        let stop_millis = exec.stop_millis.unwrap_or_else(|| self.now());
        let (status, output, error, cause) = match (exec.status, exec.outcome) {
            (ExecutionStatus::Succeeded, Some(Outcome::Succeeded { output })) => {
                ("SUCCEEDED", Some(json_text(&output)), None, None)
            }
            (ExecutionStatus::TimedOut, Some(Outcome::Failed(f))) => {
                ("TIMED_OUT", None, f.error, f.cause)
            }
            (_, Some(Outcome::Failed(f))) => ("FAILED", None, f.error, f.cause),
            (_, _) => ("FAILED", None, Some("States.Runtime".to_owned()), None),
        };
        Ok(SyncExecutionResult {
            execution_arn,
            state_machine_arn: machine.arn.clone(),
            name,
            start_millis: exec.start_millis,
            stop_millis,
            status,
            input: text,
            output,
            error,
            cause,
        })
    }

    /// StartExecution on an Express machine: runs in the background, leaves no record.
    pub(crate) async fn start_express_async(
        &self,
        machine: &StateMachineRecord,
        name: &str,
        input: Value,
    ) -> Result<(String, i64), SfnError> {
        let parsed = self
            .inner
            .machines
            .get(&self.inner, &machine.revision.revision_id)
            .await?;
        let identity = identity(&self.inner, machine, name, false);
        let arn = identity.execution_arn.clone();
        let start = self.now();
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let exec = run(&inner, parsed, identity, input).await;
            tracing::debug!(arn = %exec.identity.execution_arn, status = exec.status.as_str(), "express execution finished");
        });
        Ok((arn, start))
    }
}

/// Runs an Express execution to its end (or to the Express time limit).
async fn run(
    inner: &Arc<Inner>,
    machine: Arc<StateMachine>,
    identity: ExecutionIdentity,
    input: Value,
) -> Execution {
    let start = inner.now();
    let mut exec = Execution::new(identity, input, start);
    exec.records_history = false;
    let deadline = start.saturating_add(inner.config.express_max_millis as i64);
    let mut timers: BTreeMap<(i64, u64), u64> = BTreeMap::new();
    let mut tasks: JoinSet<(u64, CallOutcome)> = JoinSet::new();
    let mut queue = vec![Input::Start];
    loop {
        for input in std::mem::take(&mut queue) {
            if exec.is_finished() {
                break;
            }
            let mut entropy = DriverEntropy::new(inner.now(), inner.next_seed());
            for effect in apply(&mut exec, &machine, input, &mut entropy) {
                match effect {
                    Effect::ScheduleTask(request) => {
                        let inner = inner.clone();
                        let arn = exec.identity.execution_arn.clone();
                        tasks.spawn(async move {
                            let caller = Caller {
                                execution_arn: &arn,
                                standard: false,
                            };
                            let outcome = integrations::call(&inner, &request, &caller).await;
                            (request.task_id, outcome)
                        });
                    }
                    Effect::StartTimer {
                        timer_id,
                        fire_at_millis,
                    } => {
                        timers.insert((fire_at_millis, timer_id), timer_id);
                    }
                    Effect::CancelTimer { timer_id } => {
                        timers.retain(|_, t| *t != timer_id);
                    }
                    Effect::History(_) | Effect::CancelTask { .. } | Effect::Finished => {}
                }
            }
        }
        if exec.is_finished() {
            tasks.abort_all();
            return exec;
        }
        let next_timer = timers.keys().next().map(|(at, _)| *at);
        let wake_at = next_timer.unwrap_or(deadline).min(deadline);
        let sleep = Duration::from_millis((wake_at - inner.now()).max(0) as u64);
        if tasks.is_empty() && next_timer.is_none() {
            // Nothing can ever answer: fail rather than hang.
            queue.push(Input::Stop {
                error: Some("States.Runtime".to_owned()),
                cause: Some("The execution waits for something that cannot happen".to_owned()),
            });
            continue;
        }
        tokio::select! {
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                if let Ok((task_id, outcome)) = joined {
                    queue.extend(task_inputs(task_id, outcome));
                }
            }
            () = tokio::time::sleep(sleep) => {
                let now = inner.now();
                if now >= deadline {
                    let mut timed_out = exec.clone();
                    timed_out.status = ExecutionStatus::TimedOut;
                    timed_out.outcome = Some(Outcome::Failed(Failure {
                        error: Some("States.Timeout".to_owned()),
                        cause: None,
                    }));
                    timed_out.stop_millis = Some(now);
                    tasks.abort_all();
                    return timed_out;
                }
                while let Some((&(at, id), _)) = timers.iter().next() {
                    if at > now {
                        break;
                    }
                    timers.remove(&(at, id));
                    queue.push(Input::TimerFired { timer_id: id });
                }
            }
        }
    }
}

fn task_inputs(task_id: u64, outcome: CallOutcome) -> Vec<Input> {
    let started = Input::TaskStarted {
        task_id,
        worker_name: None,
    };
    let fail = |f: Failure| Input::TaskFailed {
        task_id,
        error: f.error,
        cause: f.cause,
    };
    match outcome {
        CallOutcome::Done(Ok(output)) => vec![started, Input::TaskSucceeded { task_id, output }],
        CallOutcome::Done(Err(f)) | CallOutcome::Refused(f) => vec![started, fail(f)],
        // Express machines cannot wait for children or callbacks (refused at creation).
        CallOutcome::Submitted { .. } | CallOutcome::AwaitToken => vec![
            started,
            fail(Failure::new(
                "States.Runtime",
                "Express executions cannot wait for a callback",
            )),
        ],
    }
}
