//! What the interpreter consults and fills in while it runs a TestState state.
//!
//! `Run::test` holds a `TestHooks` only for TestState; the hooks in `run.rs`,
//! `steps.rs` are one `if let Some` each, so real executions pay a branch on `None`.

use baton_asl::model::Transition;
use serde_json::{Map, Value};

use crate::execution::Failure;
use crate::test_state::request::{InspectionLevel, MockOutcome, TestStatePlan};
use crate::test_state::response::{ErrorDetails, InspectionData};

/// The name AWS gives the tested state in the context object, whatever it is called in
/// the definition.
const CONTEXT_STATE_NAME: &str = "StateName";

pub(crate) struct TestHooks {
    /// Filled in at DEBUG and TRACE; `None` at INFO (nothing is cloned then).
    inspection: Option<InspectionData>,
    /// What a mocked Map or Parallel answers instead of running its children.
    children: Option<MockOutcome>,
    retrier_retry_count: u64,
    pub(crate) map_iteration_failure_count: u64,
    pub(crate) reader_items: Vec<Value>,
    /// The request's context object, used as is.
    context: Option<Value>,
    has_role: bool,
    /// Set when the state completed: where it would go next.
    pub(crate) next: Option<Transition>,
    /// Set when a catcher handled the state's error.
    pub(crate) caught: Option<Failure>,
    /// Set when a retrier would retry the state's error.
    pub(crate) retriable: Option<Failure>,
}

impl TestHooks {
    pub(crate) fn new(plan: &TestStatePlan) -> Self {
        TestHooks {
            inspection: (plan.level != InspectionLevel::Info).then(InspectionData::default),
            children: plan.mock.clone(),
            retrier_retry_count: plan.retrier_retry_count,
            map_iteration_failure_count: plan.map_iteration_failure_count,
            reader_items: plan.reader_items.clone(),
            context: plan.context.clone(),
            has_role: plan.role_arn.is_some(),
            next: None,
            caught: None,
            retriable: None,
        }
    }

    pub(crate) fn inspection(&mut self) -> Option<&mut InspectionData> {
        self.inspection.as_mut()
    }

    pub(crate) fn into_inspection(self) -> Option<InspectionData> {
        self.inspection
    }

    pub(crate) fn take_children_mock(&mut self) -> Option<MockOutcome> {
        self.children.take()
    }

    /// The state completed; `variables` are its frame's after `Assign`.
    pub(crate) fn exited(&mut self, next: Transition, variables: Option<&Map<String, Value>>) {
        self.next = Some(next);
        if let (Some(i), Some(vars)) = (self.inspection.as_mut(), variables)
            && !vars.is_empty()
        {
            i.variables = Some(vars.clone());
        }
    }

    /// Retrier `index` matched the error; returns the retries it has already made.
    pub(crate) fn retrier_matched(&mut self, index: usize) -> u64 {
        self.error_details(|d| d.retry_index = Some(index));
        self.retrier_retry_count
    }

    /// The matched retrier would retry after `delay_millis`.
    pub(crate) fn retriable(&mut self, delay_millis: u64, failure: &Failure) {
        self.error_details(|d| d.retry_backoff_interval_seconds = Some(delay_millis / 1000));
        self.retriable = Some(failure.clone());
    }

    /// Catcher `index` handles the error.
    pub(crate) fn caught(&mut self, index: usize, failure: &Failure) {
        self.error_details(|d| d.catch_index = Some(index));
        self.caught = Some(failure.clone());
    }

    fn error_details(&mut self, f: impl FnOnce(&mut ErrorDetails)) {
        if let Some(i) = self.inspection.as_mut() {
            f(i.error_details.get_or_insert_with(ErrorDetails::default));
        }
    }

    /// The request's context object replaces the generated one. Without one, AWS names
    /// the state `StateName` and shows a missing role as `null`.
    pub(crate) fn adjust_context(&self, ctx: &mut Value) {
        if let Some(given) = &self.context {
            *ctx = given.clone();
            return;
        }
        if let Some(state) = ctx.get_mut("State").and_then(Value::as_object_mut) {
            state.insert("Name".into(), Value::String(CONTEXT_STATE_NAME.into()));
        }
        if !self.has_role
            && let Some(exec) = ctx.get_mut("Execution").and_then(Value::as_object_mut)
        {
            exec.insert("RoleArn".into(), Value::Null);
        }
    }
}
