//! History events in the shape `GetExecutionHistory` returns them.
//!
//! The interpreter emits typed events; [`HistoryEvent::to_aws_json`] renders one as AWS
//! does (`id`, `previousEventId`, `timestamp`, `type`, one `<camelCaseType>EventDetails`
//! object). Payloads stay [`Value`]s until rendered so that the hot path never formats
//! JSON text it may not need.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::execution::Payload;

/// One history event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub id: u64,
    pub previous_event_id: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp_millis: i64,
    pub details: EventDetails,
}

/// How a task resource is described in task events (`resourceType`, `resource`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskResource {
    /// e.g. `lambda`, `states`, `sqs`, `aws-sdk:s3`.
    pub resource_type: String,
    /// e.g. `invoke`, `startExecution.sync`, `sendMessage.waitForTaskToken`.
    pub resource: String,
}

/// A state's `Type`, as event type names spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StateType {
    Pass,
    Task,
    Choice,
    Wait,
    Succeed,
    Fail,
    Parallel,
    Map,
}

impl StateType {
    pub fn of(kind: &baton_asl::model::StateKind) -> StateType {
        use baton_asl::model::StateKind as K;
        match kind {
            K::Pass(_) => StateType::Pass,
            K::Task(_) => StateType::Task,
            K::Choice(_) => StateType::Choice,
            K::Wait(_) => StateType::Wait,
            K::Succeed => StateType::Succeed,
            K::Fail(_) => StateType::Fail,
            K::Parallel(_) => StateType::Parallel,
            K::Map(_) => StateType::Map,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StateType::Pass => "Pass",
            StateType::Task => "Task",
            StateType::Choice => "Choice",
            StateType::Wait => "Wait",
            StateType::Succeed => "Succeed",
            StateType::Fail => "Fail",
            StateType::Parallel => "Parallel",
            StateType::Map => "Map",
        }
    }
}

/// The event types Step Functions records, with their details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EventDetails {
    ExecutionStarted {
        input: Payload,
        role_arn: String,
    },
    ExecutionSucceeded {
        output: Payload,
    },
    ExecutionFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    ExecutionAborted {
        error: Option<String>,
        cause: Option<String>,
    },
    ExecutionTimedOut {
        error: Option<String>,
        cause: Option<String>,
    },
    /// RedriveExecution restarted the execution.
    ExecutionRedriven {
        redrive_count: u64,
    },
    /// `<Type>StateEntered`.
    StateEntered {
        state_type: StateType,
        name: Arc<str>,
        input: Payload,
    },
    /// `<Type>StateExited`.
    StateExited {
        state_type: StateType,
        name: Arc<str>,
        output: Payload,
        /// Variables assigned by the state (`Assign`), rendered as JSON text per name.
        assigned_variables: Option<Vec<(String, Value)>>,
    },
    TaskStateAborted,
    MapStateStarted {
        length: u64,
    },
    MapStateSucceeded,
    MapStateFailed,
    MapStateAborted,
    MapIterationStarted {
        name: Arc<str>,
        index: u64,
    },
    MapIterationSucceeded {
        name: Arc<str>,
        index: u64,
    },
    MapIterationFailed {
        name: Arc<str>,
        index: u64,
    },
    MapIterationAborted {
        name: Arc<str>,
        index: u64,
    },
    MapRunStarted {
        map_run_arn: String,
    },
    MapRunSucceeded,
    MapRunFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
    ParallelStateAborted,
    EvaluationFailed {
        error: String,
        cause: String,
        location: Option<String>,
        state: String,
    },
    TaskScheduled {
        resource: TaskResource,
        region: String,
        parameters: Payload,
        timeout_in_seconds: Option<u64>,
        heartbeat_in_seconds: Option<u64>,
        task_credentials: Option<Value>,
    },
    TaskStarted {
        resource: TaskResource,
    },
    TaskSubmitted {
        resource: TaskResource,
        output: Payload,
    },
    TaskSucceeded {
        resource: TaskResource,
        output: Payload,
    },
    TaskFailed {
        resource: TaskResource,
        error: Option<String>,
        cause: Option<String>,
    },
    TaskTimedOut {
        resource: TaskResource,
        error: Option<String>,
        cause: Option<String>,
    },
    LambdaFunctionScheduled {
        resource: String,
        input: Payload,
        timeout_in_seconds: Option<u64>,
        task_credentials: Option<Value>,
    },
    LambdaFunctionStarted,
    LambdaFunctionSucceeded {
        output: Payload,
    },
    LambdaFunctionFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    LambdaFunctionTimedOut {
        error: Option<String>,
        cause: Option<String>,
    },
    ActivityScheduled {
        resource: String,
        input: Payload,
        timeout_in_seconds: Option<u64>,
        heartbeat_in_seconds: Option<u64>,
    },
    ActivityStarted {
        worker_name: Option<String>,
    },
    ActivitySucceeded {
        output: Payload,
    },
    ActivityFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    ActivityTimedOut {
        error: Option<String>,
        cause: Option<String>,
    },
}

impl EventDetails {
    /// The AWS `type` of the event.
    pub fn type_name(&self) -> String {
        use EventDetails::*;
        let fixed = match self {
            ExecutionStarted { .. } => "ExecutionStarted",
            ExecutionSucceeded { .. } => "ExecutionSucceeded",
            ExecutionFailed { .. } => "ExecutionFailed",
            ExecutionAborted { .. } => "ExecutionAborted",
            ExecutionTimedOut { .. } => "ExecutionTimedOut",
            ExecutionRedriven { .. } => "ExecutionRedriven",
            StateEntered { state_type, .. } => {
                return format!("{}StateEntered", state_type.as_str());
            }
            StateExited { state_type, .. } => return format!("{}StateExited", state_type.as_str()),
            TaskStateAborted => "TaskStateAborted",
            MapStateStarted { .. } => "MapStateStarted",
            MapStateSucceeded => "MapStateSucceeded",
            MapStateFailed => "MapStateFailed",
            MapStateAborted => "MapStateAborted",
            MapIterationStarted { .. } => "MapIterationStarted",
            MapIterationSucceeded { .. } => "MapIterationSucceeded",
            MapIterationFailed { .. } => "MapIterationFailed",
            MapIterationAborted { .. } => "MapIterationAborted",
            MapRunStarted { .. } => "MapRunStarted",
            MapRunSucceeded => "MapRunSucceeded",
            MapRunFailed { .. } => "MapRunFailed",
            ParallelStateStarted => "ParallelStateStarted",
            ParallelStateSucceeded => "ParallelStateSucceeded",
            ParallelStateFailed => "ParallelStateFailed",
            ParallelStateAborted => "ParallelStateAborted",
            EvaluationFailed { .. } => "EvaluationFailed",
            TaskScheduled { .. } => "TaskScheduled",
            TaskStarted { .. } => "TaskStarted",
            TaskSubmitted { .. } => "TaskSubmitted",
            TaskSucceeded { .. } => "TaskSucceeded",
            TaskFailed { .. } => "TaskFailed",
            TaskTimedOut { .. } => "TaskTimedOut",
            LambdaFunctionScheduled { .. } => "LambdaFunctionScheduled",
            LambdaFunctionStarted => "LambdaFunctionStarted",
            LambdaFunctionSucceeded { .. } => "LambdaFunctionSucceeded",
            LambdaFunctionFailed { .. } => "LambdaFunctionFailed",
            LambdaFunctionTimedOut { .. } => "LambdaFunctionTimedOut",
            ActivityScheduled { .. } => "ActivityScheduled",
            ActivityStarted { .. } => "ActivityStarted",
            ActivitySucceeded { .. } => "ActivitySucceeded",
            ActivityFailed { .. } => "ActivityFailed",
            ActivityTimedOut { .. } => "ActivityTimedOut",
        };
        fixed.to_owned()
    }

    /// The `…EventDetails` key and object, or `None` for event types AWS records without
    /// details.
    fn details_json(&self) -> Option<(&'static str, Value)> {
        use EventDetails::*;
        let with_error = |error: &Option<String>, cause: &Option<String>| {
            let mut m = Map::new();
            if let Some(e) = error {
                m.insert("error".into(), Value::String(e.clone()));
            }
            if let Some(c) = cause {
                m.insert("cause".into(), Value::String(c.clone()));
            }
            Value::Object(m)
        };
        let task_error = |r: &TaskResource, error: &Option<String>, cause: &Option<String>| {
            let mut v = with_error(error, cause);
            if let Value::Object(m) = &mut v {
                m.insert(
                    "resourceType".into(),
                    Value::String(r.resource_type.clone()),
                );
                m.insert("resource".into(), Value::String(r.resource.clone()));
            }
            v
        };
        Some(match self {
            ExecutionStarted { input, role_arn } => (
                "executionStartedEventDetails",
                json!({"input": json_text(input), "inputDetails": {"truncated": false}, "roleArn": role_arn}),
            ),
            ExecutionSucceeded { output } => (
                "executionSucceededEventDetails",
                json!({"output": json_text(output), "outputDetails": {"truncated": false}}),
            ),
            ExecutionFailed { error, cause } => {
                ("executionFailedEventDetails", with_error(error, cause))
            }
            ExecutionAborted { error, cause } => {
                ("executionAbortedEventDetails", with_error(error, cause))
            }
            ExecutionTimedOut { error, cause } => {
                ("executionTimedOutEventDetails", with_error(error, cause))
            }
            ExecutionRedriven { redrive_count } => (
                "executionRedrivenEventDetails",
                json!({"redriveCount": redrive_count}),
            ),
            StateEntered { name, input, .. } => (
                "stateEnteredEventDetails",
                json!({"name": name, "input": json_text(input), "inputDetails": {"truncated": false}}),
            ),
            StateExited {
                name,
                output,
                assigned_variables,
                ..
            } => {
                let mut m = Map::new();
                m.insert("name".into(), Value::String(name.to_string()));
                m.insert("output".into(), Value::String(json_text(output)));
                m.insert("outputDetails".into(), json!({"truncated": false}));
                if let Some(vars) = assigned_variables {
                    let mut vm = Map::new();
                    for (k, v) in vars {
                        vm.insert(k.clone(), Value::String(json_text(v)));
                    }
                    m.insert("assignedVariables".into(), Value::Object(vm));
                    m.insert(
                        "assignedVariablesDetails".into(),
                        json!({"truncated": false}),
                    );
                }
                ("stateExitedEventDetails", Value::Object(m))
            }
            MapStateStarted { length } => {
                ("mapStateStartedEventDetails", json!({"length": length}))
            }
            MapIterationStarted { name, index } => (
                "mapIterationStartedEventDetails",
                json!({"name": name, "index": index}),
            ),
            MapIterationSucceeded { name, index } => (
                "mapIterationSucceededEventDetails",
                json!({"name": name, "index": index}),
            ),
            MapIterationFailed { name, index } => (
                "mapIterationFailedEventDetails",
                json!({"name": name, "index": index}),
            ),
            MapIterationAborted { name, index } => (
                "mapIterationAbortedEventDetails",
                json!({"name": name, "index": index}),
            ),
            MapRunStarted { map_run_arn } => (
                "mapRunStartedEventDetails",
                json!({"mapRunArn": map_run_arn}),
            ),
            MapRunFailed { error, cause } => ("mapRunFailedEventDetails", with_error(error, cause)),
            EvaluationFailed {
                error,
                cause,
                location,
                state,
            } => {
                let mut m = Map::new();
                m.insert("error".into(), Value::String(error.clone()));
                m.insert("cause".into(), Value::String(cause.clone()));
                if let Some(l) = location {
                    m.insert("location".into(), Value::String(l.clone()));
                }
                m.insert("state".into(), Value::String(state.clone()));
                ("evaluationFailedEventDetails", Value::Object(m))
            }
            TaskScheduled {
                resource,
                region,
                parameters,
                timeout_in_seconds,
                heartbeat_in_seconds,
                task_credentials,
            } => {
                let mut m = Map::new();
                m.insert(
                    "resourceType".into(),
                    Value::String(resource.resource_type.clone()),
                );
                m.insert("resource".into(), Value::String(resource.resource.clone()));
                m.insert("region".into(), Value::String(region.clone()));
                m.insert("parameters".into(), Value::String(json_text(parameters)));
                if let Some(t) = timeout_in_seconds {
                    m.insert("timeoutInSeconds".into(), json!(t));
                }
                if let Some(h) = heartbeat_in_seconds {
                    m.insert("heartbeatInSeconds".into(), json!(h));
                }
                if let Some(c) = task_credentials {
                    m.insert("taskCredentials".into(), c.clone());
                }
                ("taskScheduledEventDetails", Value::Object(m))
            }
            TaskStarted { resource } => (
                "taskStartedEventDetails",
                json!({"resourceType": resource.resource_type, "resource": resource.resource}),
            ),
            TaskSubmitted { resource, output } => (
                "taskSubmittedEventDetails",
                json!({"resourceType": resource.resource_type, "resource": resource.resource,
                       "output": json_text(output), "outputDetails": {"truncated": false}}),
            ),
            TaskSucceeded { resource, output } => (
                "taskSucceededEventDetails",
                json!({"resourceType": resource.resource_type, "resource": resource.resource,
                       "output": json_text(output), "outputDetails": {"truncated": false}}),
            ),
            TaskFailed {
                resource,
                error,
                cause,
            } => ("taskFailedEventDetails", task_error(resource, error, cause)),
            TaskTimedOut {
                resource,
                error,
                cause,
            } => (
                "taskTimedOutEventDetails",
                task_error(resource, error, cause),
            ),
            LambdaFunctionScheduled {
                resource,
                input,
                timeout_in_seconds,
                task_credentials,
            } => {
                let mut m = Map::new();
                m.insert("resource".into(), Value::String(resource.clone()));
                m.insert("input".into(), Value::String(json_text(input)));
                m.insert("inputDetails".into(), json!({"truncated": false}));
                if let Some(t) = timeout_in_seconds {
                    m.insert("timeoutInSeconds".into(), json!(t));
                }
                if let Some(c) = task_credentials {
                    m.insert("taskCredentials".into(), c.clone());
                }
                ("lambdaFunctionScheduledEventDetails", Value::Object(m))
            }
            LambdaFunctionSucceeded { output } => (
                "lambdaFunctionSucceededEventDetails",
                json!({"output": json_text(output), "outputDetails": {"truncated": false}}),
            ),
            LambdaFunctionFailed { error, cause } => {
                ("lambdaFunctionFailedEventDetails", with_error(error, cause))
            }
            LambdaFunctionTimedOut { error, cause } => (
                "lambdaFunctionTimedOutEventDetails",
                with_error(error, cause),
            ),
            ActivityScheduled {
                resource,
                input,
                timeout_in_seconds,
                heartbeat_in_seconds,
            } => {
                let mut m = Map::new();
                m.insert("resource".into(), Value::String(resource.clone()));
                m.insert("input".into(), Value::String(json_text(input)));
                m.insert("inputDetails".into(), json!({"truncated": false}));
                if let Some(t) = timeout_in_seconds {
                    m.insert("timeoutInSeconds".into(), json!(t));
                }
                if let Some(h) = heartbeat_in_seconds {
                    m.insert("heartbeatInSeconds".into(), json!(h));
                }
                ("activityScheduledEventDetails", Value::Object(m))
            }
            ActivityStarted { worker_name } => {
                let mut m = Map::new();
                if let Some(w) = worker_name {
                    m.insert("workerName".into(), Value::String(w.clone()));
                }
                ("activityStartedEventDetails", Value::Object(m))
            }
            ActivitySucceeded { output } => (
                "activitySucceededEventDetails",
                json!({"output": json_text(output), "outputDetails": {"truncated": false}}),
            ),
            ActivityFailed { error, cause } => {
                ("activityFailedEventDetails", with_error(error, cause))
            }
            ActivityTimedOut { error, cause } => {
                ("activityTimedOutEventDetails", with_error(error, cause))
            }
            TaskStateAborted
            | MapStateSucceeded
            | MapStateFailed
            | MapStateAborted
            | MapRunSucceeded
            | ParallelStateStarted
            | ParallelStateSucceeded
            | ParallelStateFailed
            | ParallelStateAborted
            | LambdaFunctionStarted => return None,
        })
    }
}

impl HistoryEvent {
    /// The event as `GetExecutionHistory` returns it; `timestamp` is rendered by the
    /// caller's choice of format (epoch seconds as a number, the AWS JSON protocol's form).
    pub fn to_aws_json(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "timestamp".into(),
            json!(self.timestamp_millis as f64 / 1000.0),
        );
        m.insert("type".into(), Value::String(self.details.type_name()));
        m.insert("id".into(), json!(self.id));
        m.insert("previousEventId".into(), json!(self.previous_event_id));
        if let Some((key, details)) = self.details.details_json() {
            m.insert(key.into(), details);
        }
        Value::Object(m)
    }
}

/// Compact JSON text of a payload, as AWS stores `input`/`output` fields.
pub fn json_text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
