//! The TestState request, typed, and the checks AWS makes before running anything.
//!
//! [`TestStateRequest::validate`] turns a request into a [`TestStatePlan`] or the API
//! error AWS answers with (`InvalidDefinition`, `ValidationException`), in AWS's words.
//! The order of the checks matters when a request breaks several rules; it follows the
//! recorded answers (a definition error first, then the mock's own shape, then what the
//! mock means for the state type, then the mocked result's content).
//!
//! Messages marked "wording not recorded" are Baton's, for cases the conformance corpus
//! has no AWS answer for.

use baton_asl::model::{ScopeId, StateId, StateKind, TaskTarget};
use baton_asl::parse::{ParseOptions, parse_definition, parse_state_definition};
use baton_asl::{Diagnostics, StateMachine};
use serde_json::{Map, Value};

use crate::execution::Failure;
use crate::test_state::mock_schema;

/// How much of the state's data flow the response shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InspectionLevel {
    /// Status, output, error and next state only.
    #[default]
    Info,
    /// Plus `inspectionData` (each data-flow stage).
    Debug,
    /// Like DEBUG, plus the raw HTTP exchange of an HTTP Task.
    Trace,
}

impl InspectionLevel {
    /// The wire name (`INFO`, `DEBUG`, `TRACE`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "INFO" => Some(InspectionLevel::Info),
            "DEBUG" => Some(InspectionLevel::Debug),
            "TRACE" => Some(InspectionLevel::Trace),
            _ => None,
        }
    }
}

/// How strictly a mocked service result is checked against the service's API model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidationMode {
    /// Types, limits and required fields.
    #[default]
    Strict,
    /// Types and limits of the fields that are present.
    Present,
    /// Only that the result is JSON.
    None,
}

impl FieldValidationMode {
    /// The wire name (`STRICT`, `PRESENT`, `NONE`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "STRICT" => Some(FieldValidationMode::Strict),
            "PRESENT" => Some(FieldValidationMode::Present),
            "NONE" => Some(FieldValidationMode::None),
            _ => None,
        }
    }
}

/// A TestState request. JSON-valued fields hold JSON text, as on the wire.
#[derive(Debug, Clone, Default)]
pub struct TestStateRequest {
    /// One state's definition, or a whole machine when `state_name` is set.
    pub definition: String,
    pub role_arn: Option<String>,
    /// The state input (JSON text); `{}` when absent.
    pub input: Option<String>,
    pub inspection_level: InspectionLevel,
    pub reveal_secrets: bool,
    /// Workflow variables visible to the state (a JSON object's text).
    pub variables: Option<String>,
    /// Which state of a whole-machine definition to run.
    pub state_name: Option<String>,
    pub mock: Option<Mock>,
    /// A context object to use instead of the generated one (JSON object text).
    pub context: Option<String>,
    pub state_configuration: Option<StateConfiguration>,
}

/// What the state's task (or Map/Parallel children) answers instead of running.
#[derive(Debug, Clone, Default)]
pub struct Mock {
    /// The result, as JSON text.
    pub result: Option<String>,
    pub error_output: Option<MockErrorOutput>,
    pub field_validation_mode: FieldValidationMode,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MockErrorOutput {
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// Where in its life the tested state is.
#[derive(Debug, Clone, Default)]
pub struct StateConfiguration {
    /// Retries already made by the retrier that matches the mocked error.
    pub retrier_retry_count: Option<u64>,
    /// The state inside a Map or Parallel that the mocked error comes from.
    pub error_caused_by_state: Option<String>,
    /// How many of a mocked Map's iterations failed.
    pub map_iteration_failure_count: Option<u64>,
    /// What a Map's `ItemReader` would read, as found in its source.
    pub map_item_reader_data: Option<String>,
}

/// The API error codes TestState answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStateErrorCode {
    InvalidDefinition,
    ValidationException,
}

impl TestStateErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            TestStateErrorCode::InvalidDefinition => "InvalidDefinition",
            TestStateErrorCode::ValidationException => "ValidationException",
        }
    }
}

/// A request AWS would refuse, with its code and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct TestStateError {
    pub code: TestStateErrorCode,
    pub message: String,
}

impl TestStateError {
    fn validation(message: impl Into<String>) -> Self {
        TestStateError {
            code: TestStateErrorCode::ValidationException,
            message: message.into(),
        }
    }

    fn invalid_definition(message: impl Into<String>) -> Self {
        TestStateError {
            code: TestStateErrorCode::InvalidDefinition,
            message: message.into(),
        }
    }
}

/// What the mocked task or children answer.
pub(crate) type MockOutcome = Result<Value, Failure>;

/// A validated request, ready to run (see [`TestStatePlan::run`]).
#[derive(Debug, Clone)]
pub struct TestStatePlan {
    pub(crate) machine: StateMachine,
    pub(crate) scope: ScopeId,
    pub(crate) state: StateId,
    pub(crate) input: Value,
    pub(crate) variables: Map<String, Value>,
    pub(crate) context: Option<Value>,
    pub(crate) mock: Option<MockOutcome>,
    pub(crate) level: InspectionLevel,
    pub(crate) role_arn: Option<String>,
    pub(crate) retrier_retry_count: u64,
    pub(crate) map_iteration_failure_count: u64,
    pub(crate) reader_items: Vec<Value>,
}

impl TestStatePlan {
    /// The parsed definition (a single state is the root scope's first state).
    pub fn machine(&self) -> &StateMachine {
        &self.machine
    }

    /// The name of the state that runs.
    pub fn state_name(&self) -> &str {
        &self.machine.state(self.scope, self.state).name
    }
}

const MAP_OR_PARALLEL_NEED_A_MOCK: &str = "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]";

impl TestStateRequest {
    /// Checks the request as AWS does and prepares the run.
    pub fn validate(&self) -> Result<TestStatePlan, TestStateError> {
        let (machine, scope, state) = self.definition()?;
        let input =
            json_field(self.input.as_deref(), "input")?.unwrap_or(Value::Object(Map::new()));
        let variables = match json_field(self.variables.as_deref(), "variables")? {
            None => Map::new(),
            Some(Value::Object(m)) => m,
            // Wording not recorded.
            Some(_) => {
                return Err(TestStateError::validation(
                    "variables must be a JSON object",
                ));
            }
        };
        let context = match json_field(self.context.as_deref(), "context")? {
            None => None,
            Some(v @ Value::Object(_)) => Some(v),
            // Wording not recorded.
            Some(_) => return Err(TestStateError::validation("context must be a JSON object")),
        };
        let config = self.state_configuration.clone().unwrap_or_default();
        let target = machine.state(scope, state);

        if let Some(mock) = &self.mock {
            match (&mock.result, &mock.error_output) {
                (Some(_), Some(_)) => {
                    return Err(TestStateError::validation(
                        "A test mock should have only one of the following fields: [result, errorOutput].",
                    ));
                }
                // Wording not recorded.
                (None, None) => {
                    return Err(TestStateError::validation(
                        "A test mock should have one of the following fields: [result, errorOutput].",
                    ));
                }
                _ => {}
            }
            if self.reveal_secrets {
                return Err(TestStateError::validation(
                    "TestState does not support RevealSecrets when a mock is specified.",
                ));
            }
        } else if config.map_iteration_failure_count.is_some() {
            return Err(TestStateError::validation(
                "TestState does not support MapIterationFailureCount when a mock is not specified.",
            ));
        }

        match (&target.kind, &self.mock) {
            (StateKind::Map(_) | StateKind::Parallel(_), None) => {
                return Err(TestStateError::invalid_definition(
                    MAP_OR_PARALLEL_NEED_A_MOCK,
                ));
            }
            (StateKind::Task(_) | StateKind::Map(_) | StateKind::Parallel(_), Some(_)) => {}
            (kind, Some(_)) => {
                return Err(TestStateError::validation(format!(
                    "State type '{}' is not supported when a mock is specified",
                    kind.type_name()
                )));
            }
            (StateKind::Task(t), None) => {
                let needs_mock = match &t.target {
                    TaskTarget::Activity { .. } => true,
                    TaskTarget::Service { pattern, .. } => {
                        *pattern != baton_asl::model::IntegrationPattern::RequestResponse
                    }
                    _ => false,
                };
                if needs_mock {
                    // Wording not recorded.
                    return Err(TestStateError::validation(
                        "TestState supports Activity tasks and the .sync and .waitForTaskToken integration patterns only when a mock is specified.",
                    ));
                }
                if self.role_arn.is_none() {
                    return Err(TestStateError::validation(
                        "RoleArn must be specified when testing a Task state",
                    ));
                }
            }
            (_, None) => {}
        }

        let mock = match &self.mock {
            None => None,
            Some(m) => Some(mock_outcome(m, &target.kind)?),
        };

        if let (Some(Ok(result)), Some(failures)) = (&mock, config.map_iteration_failure_count)
            && let Some(items) = result.as_array()
            && failures > items.len() as u64
        {
            return Err(TestStateError::validation(
                "Map iteration failure count must be less than or equal to the number of Map iterations",
            ));
        }
        if let Some(name) = &config.error_caused_by_state
            && !nested_state_names(&machine, &target.kind).any(|n| n == name)
        {
            // Wording not recorded.
            return Err(TestStateError::validation(format!(
                "State '{name}' passed as errorCausedByState is not a state within the tested Map or Parallel state."
            )));
        }
        let reader_items = match (&target.kind, &config.map_item_reader_data) {
            (StateKind::Map(m), Some(data)) => reader_items(m, data)?,
            _ => Vec::new(),
        };

        Ok(TestStatePlan {
            machine,
            scope,
            state,
            input,
            variables,
            context,
            mock,
            level: self.inspection_level,
            role_arn: self.role_arn.clone(),
            retrier_retry_count: config.retrier_retry_count.unwrap_or(0),
            map_iteration_failure_count: config.map_iteration_failure_count.unwrap_or(0),
            reader_items,
        })
    }

    /// Parses the definition and finds the state to run.
    fn definition(&self) -> Result<(StateMachine, ScopeId, StateId), TestStateError> {
        let options = ParseOptions::default();
        let invalid =
            |ds: Diagnostics| TestStateError::invalid_definition(ds.invalid_definition_message());
        match &self.state_name {
            Some(name) => {
                let machine = parse_definition(&self.definition, options).map_err(invalid)?;
                let found = machine
                    .scopes
                    .iter()
                    .enumerate()
                    .find_map(|(i, scope)| scope.find(name).map(|s| (ScopeId(i as u32), s)));
                match found {
                    Some((scope, state)) => Ok((machine, scope, state)),
                    // Wording not recorded.
                    None => Err(TestStateError::validation(format!(
                        "State '{name}' does not exist in the state machine definition."
                    ))),
                }
            }
            None => {
                let value: Value = match serde_json::from_str(&self.definition) {
                    Ok(v) => v,
                    // The text parser words JSON syntax errors as AWS does.
                    Err(_) => {
                        return Err(match parse_definition(&self.definition, options) {
                            Err(ds) => invalid(ds),
                            Ok(_) => TestStateError::invalid_definition(
                                "Invalid State Machine Definition",
                            ),
                        });
                    }
                };
                let machine = parse_state_definition(&value, options).map_err(invalid)?;
                let start = machine.root().start_at;
                Ok((machine, ScopeId::ROOT, start))
            }
        }
    }
}

/// Parses an optional JSON-text request field.
fn json_field(text: Option<&str>, field: &str) -> Result<Option<Value>, TestStateError> {
    match text {
        None => Ok(None),
        Some(t) => serde_json::from_str(t)
            .map(Some)
            // Wording not recorded.
            .map_err(|e| TestStateError::validation(format!("{field} must be valid JSON: {e}"))),
    }
}

/// Checks a mock against the state it stands in for and turns it into an outcome.
fn mock_outcome(mock: &Mock, kind: &StateKind) -> Result<MockOutcome, TestStateError> {
    let text = match (&mock.result, &mock.error_output) {
        (_, Some(e)) => {
            return Ok(Err(Failure {
                error: e.error.clone(),
                cause: e.cause.clone(),
            }));
        }
        (Some(t), None) => t,
        (None, None) => return Ok(Ok(Value::Null)),
    };
    let result: Value = serde_json::from_str(text)
        .map_err(|_| TestStateError::validation("Mocked result must be valid JSON"))?;
    match kind {
        StateKind::Parallel(p) => {
            let Some(items) = result.as_array() else {
                return Err(TestStateError::validation(
                    "Mocked result must be an array.",
                ));
            };
            if items.len() != p.branches.len() {
                return Err(TestStateError::validation(
                    "Mocked result must contain the same number of items as number of Parallel branches.",
                ));
            }
        }
        StateKind::Map(m) => {
            if m.result_writer.is_some() {
                if !result.is_object() {
                    return Err(TestStateError::validation(
                        "Mocked result must be a JSON object.",
                    ));
                }
            } else if !result.is_array() {
                return Err(TestStateError::validation(
                    "Mocked result must be an array.",
                ));
            }
        }
        StateKind::Task(t) => {
            if let TaskTarget::Service {
                service,
                action,
                pattern: baton_asl::model::IntegrationPattern::RequestResponse,
            } = &t.target
                && mock.field_validation_mode != FieldValidationMode::None
            {
                let strict = mock.field_validation_mode == FieldValidationMode::Strict;
                mock_schema::check(&format!("{service}:{action}"), &result, strict).map_err(
                    |detail| {
                        TestStateError::validation(format!(
                            "Mock result schema validation error: {detail}"
                        ))
                    },
                )?;
            }
        }
        _ => {}
    }
    Ok(Ok(result))
}

/// Names of the states nested in a Map's processor or a Parallel's branches.
fn nested_state_names<'m>(
    machine: &'m StateMachine,
    kind: &StateKind,
) -> impl Iterator<Item = &'m str> {
    let mut scopes: Vec<ScopeId> = match kind {
        StateKind::Map(m) => vec![m.processor],
        StateKind::Parallel(p) => p.branches.clone(),
        _ => Vec::new(),
    };
    // Deeper scopes name their parent; collect every scope under the tested state.
    let mut i = 0;
    while i < scopes.len() {
        let parent = scopes[i];
        for (id, scope) in machine.scopes.iter().enumerate() {
            let id = ScopeId(id as u32);
            if scope.parent == Some(parent) && !scopes.contains(&id) {
                scopes.push(id);
            }
        }
        i += 1;
    }
    scopes
        .into_iter()
        .flat_map(move |s| machine.scope(s).states.iter().map(|st| &*st.name))
}

/// The items an `ItemReader` would read from `data`, by its `ReaderConfig.InputType`.
fn reader_items(map: &baton_asl::model::Map, data: &str) -> Result<Vec<Value>, TestStateError> {
    let input_type = map
        .item_reader
        .as_ref()
        .and_then(|r| r.reader_config.as_ref())
        .and_then(|c| c.get("InputType"))
        .and_then(Value::as_str)
        .unwrap_or("JSON");
    // Wording not recorded, for all three errors.
    let bad =
        || TestStateError::validation(format!("mapItemReaderData is not valid {input_type} data"));
    match input_type {
        "JSON" => match serde_json::from_str(data) {
            Ok(Value::Array(items)) => Ok(items),
            _ => Err(bad()),
        },
        "JSONL" => data
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|_| bad()))
            .collect(),
        other => Err(TestStateError::validation(format!(
            "mapItemReaderData with InputType {other} is not supported by Baton yet"
        ))),
    }
}
