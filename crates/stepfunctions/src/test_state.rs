//! TestState: one state run through `baton_exec::test_state`, with tasks that are not
//! mocked calling out for real (HTTP Task, `events:putEvents`, `states:startExecution`).

use baton_exec::Failure;
use baton_exec::test_state::{TestEnv, TestStateRequest, TestStateResponse};

use crate::entropy::DriverEntropy;
use crate::integrations::{self, CallOutcome, Caller};
use crate::{SfnError, StepFunctions};

/// The names TestState's context object shows (AWS runs the state in a throwaway
/// execution of a throwaway machine).
const TEST_MACHINE: &str = "TestStateMachine";
const TEST_EXECUTION: &str = "test-state-run";

impl StepFunctions {
    pub async fn test_state(
        &self,
        request: TestStateRequest,
    ) -> Result<TestStateResponse, SfnError> {
        let plan = request.validate().map_err(|e| SfnError {
            code: e.code.as_str(),
            message: e.message,
            internal: false,
        })?;
        let inner = self.inner.clone();
        let env = TestEnv {
            region: inner.config.region.clone(),
            account: inner.config.account.clone(),
            state_machine_name: TEST_MACHINE.to_owned(),
            execution_name: TEST_EXECUTION.to_owned(),
        };
        let handle = tokio::runtime::Handle::current();
        // The interpreter is synchronous; real calls are async. Run the state on a
        // blocking thread that waits for each call.
        tokio::task::spawn_blocking(move || {
            let mut entropy = DriverEntropy::new(inner.now(), inner.next_seed());
            let arn = format!(
                "arn:aws:states:{}:{}:execution:{TEST_MACHINE}:{TEST_EXECUTION}",
                inner.config.region, inner.config.account
            );
            let mut tasks = |task: &baton_exec::TaskRequest| {
                let caller = Caller {
                    execution_arn: &arn,
                    standard: false,
                };
                match handle.block_on(integrations::call(&inner, task, &caller)) {
                    CallOutcome::Done(result) => result,
                    CallOutcome::Refused(f) => Err(f),
                    CallOutcome::Submitted { .. } | CallOutcome::AwaitToken => Err(Failure::new(
                        "States.Runtime",
                        "TestState does not wait for callbacks or child executions",
                    )),
                }
            };
            plan.run(&env, &mut entropy, &mut tasks)
        })
        .await
        .map_err(SfnError::internal)
    }
}
