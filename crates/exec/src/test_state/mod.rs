//! TestState: one state run in isolation, as AWS's TestState API does it.
//!
//! The state runs through the same interpreter as executions. [`TestStatePlan::run`]
//! builds a one-frame execution positioned at the tested state and drives it with
//! `apply`'s own code; `Run` carries [`hooks::TestHooks`], which the interpreter
//! consults at a few marked points:
//!
//! * each data-flow stage is recorded for `inspectionData` (DEBUG/TRACE);
//! * when the state completes, its transition is reported (`nextState`), not taken;
//! * a retrier that matches reports RETRIABLE (with the request's retry count applied)
//!   instead of waiting, and a catcher's index is reported;
//! * a Map or Parallel state's children do not run: the mock stands for their result;
//! * the context object is the request's, or AWS's TestState one.
//!
//! A mocked Task is answered by the driver exactly as the shell answers real tasks, so
//! the task's result goes through `task_succeeded`/`task_failed` like any other.

mod hooks;
mod mock_schema;
mod mocked;
mod request;
mod response;

use baton_asl::eval::Entropy;
use baton_asl::model::Transition;
use serde_json::Value;

use crate::effect::{Effect, Input};
use crate::execution::{
    Execution, ExecutionIdentity, ExecutionStatus, Failure, Frame, Outcome, Position, TimerPurpose,
};
use crate::run::{apply_with, run_frame};
use crate::task::TaskRequest;

pub(crate) use hooks::TestHooks;
pub(crate) use mocked::{mocked_map, mocked_parallel, reader_items};
pub use request::{
    FieldValidationMode, InspectionLevel, Mock, MockErrorOutput, StateConfiguration,
    TestStateError, TestStateErrorCode, TestStatePlan, TestStateRequest,
};
pub use response::{ErrorDetails, InspectionData, TestStateResponse, TestStateStatus};

/// Where the test "execution" runs: the names its context object shows.
#[derive(Debug, Clone)]
pub struct TestEnv {
    pub region: String,
    pub account: String,
    pub state_machine_name: String,
    pub execution_name: String,
}

/// How a task the state schedules (when no mock answers it) ended.
pub type TaskResult = Result<Value, Failure>;

/// More inputs than any one state needs (a task answer, a Wait's timer); a bound so a
/// state that never settles cannot loop.
const MAX_INPUTS: usize = 64;

impl TestStatePlan {
    /// Runs the state. A Task without a mock is handed to `tasks` (which performs the
    /// call); a Wait state's timer fires at once.
    pub fn run(
        &self,
        env: &TestEnv,
        entropy: &mut dyn Entropy,
        tasks: &mut dyn FnMut(&TaskRequest) -> TaskResult,
    ) -> TestStateResponse {
        let mut exec = self.execution(env, entropy.now_millis());
        let frame = exec.next_frame_id;
        exec.next_frame_id += 1;
        exec.frames.insert(
            frame,
            Frame {
                scope: self.scope,
                parent: None,
                variables: self.variables.clone(),
                position: Position::Enter {
                    state: self.state,
                    input: self.input.clone().into(),
                },
                last_event_id: 0,
                records_history: false,
            },
        );
        let mut hooks = TestHooks::new(self);
        let mut effects = run_frame(&mut exec, &self.machine, frame, entropy, &mut hooks);
        for _ in 0..MAX_INPUTS {
            if exec.is_finished() || hooks.retriable.is_some() {
                break;
            }
            let Some(input) = self.next_input(&exec, &effects, tasks) else {
                break;
            };
            effects = apply_with(&mut exec, &self.machine, input, entropy, Some(&mut hooks));
        }
        self.response(exec, hooks)
    }

    fn execution(&self, env: &TestEnv, now: i64) -> Execution {
        let TestEnv {
            region,
            account,
            state_machine_name,
            execution_name,
        } = env;
        let identity = ExecutionIdentity {
            execution_arn: format!(
                "arn:aws:states:{region}:{account}:express:{state_machine_name}:{execution_name}"
            ),
            execution_name: execution_name.clone(),
            state_machine_arn: format!(
                "arn:aws:states:{region}:{account}:stateMachine:{state_machine_name}"
            ),
            state_machine_name: state_machine_name.clone(),
            role_arn: self.role_arn.clone().unwrap_or_default(),
            region: region.clone(),
            account: account.clone(),
            redrive_count: 0,
            // TestState's context object has no RedriveCount, like a synchronous express run.
            started_sync: true,
        };
        let mut exec = Execution::new(identity, self.input.clone(), now);
        exec.status = ExecutionStatus::Running;
        exec.records_history = false;
        exec
    }

    /// The answer to what the state waits for: its task (the mock, or `tasks`), else the
    /// earliest Wait timer.
    fn next_input(
        &self,
        exec: &Execution,
        effects: &[Effect],
        tasks: &mut dyn FnMut(&TaskRequest) -> TaskResult,
    ) -> Option<Input> {
        let scheduled = effects.iter().find_map(|e| match e {
            Effect::ScheduleTask(r) if exec.tasks.contains_key(&r.task_id) => Some(r),
            _ => None,
        });
        if let Some(request) = scheduled {
            let answer = match &self.mock {
                Some(mock) => mock.clone(),
                None => tasks(request),
            };
            return Some(match answer {
                Ok(output) => Input::TaskSucceeded {
                    task_id: request.task_id,
                    output,
                },
                Err(f) => Input::TaskFailed {
                    task_id: request.task_id,
                    error: f.error,
                    cause: f.cause,
                },
            });
        }
        exec.timers
            .iter()
            .find(|(_, purpose)| matches!(purpose, TimerPurpose::Resume { .. }))
            .map(|(timer_id, _)| Input::TimerFired {
                timer_id: *timer_id,
            })
    }

    fn response(&self, exec: Execution, mut hooks: TestHooks) -> TestStateResponse {
        let next_state = match hooks.next {
            Some(Transition::Next(id)) => Some(self.machine.state(self.scope, id).name.clone()),
            _ => None,
        };
        let (caught, retriable) = (hooks.caught.take(), hooks.retriable.take());
        let (status, output, failure) = match (retriable, exec.outcome) {
            (Some(f), _) => (TestStateStatus::Retriable, None, Some(f)),
            (None, Some(Outcome::Succeeded { output })) => match caught {
                Some(f) => (TestStateStatus::CaughtError, Some(output), Some(f)),
                None => (TestStateStatus::Succeeded, Some(output), None),
            },
            (None, Some(Outcome::Failed(f))) => (TestStateStatus::Failed, None, Some(f)),
            // The state never settled (a task that was not answered).
            (None, None) => (
                TestStateStatus::Failed,
                None,
                Some(Failure {
                    error: Some(baton_asl::error_name::STATES_TIMEOUT.to_owned()),
                    cause: None,
                }),
            ),
        };
        let (error, cause) = failure.map(|f| (f.error, f.cause)).unwrap_or_default();
        let mut inspection_data = hooks.into_inspection();
        if let Some(i) = inspection_data.as_mut()
            && i.variables.is_none()
            && !self.variables.is_empty()
        {
            i.variables = Some(self.variables.clone());
        }
        TestStateResponse {
            status,
            output: output.map(|o| (*o).clone()),
            error,
            cause,
            next_state: next_state
                .filter(|_| status != TestStateStatus::Failed)
                .map(|n| n.to_string()),
            inspection_data,
        }
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
