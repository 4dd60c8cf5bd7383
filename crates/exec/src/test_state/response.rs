//! What TestState answers, typed, and AWS's JSON shape for it.

use baton_asl::eval::to_json_text;
use serde_json::{Map, Value};

/// How the tested state ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStateStatus {
    Succeeded,
    Failed,
    /// The state failed and a retrier would try it again.
    Retriable,
    /// The state failed and a catcher handled the error.
    CaughtError,
}

impl TestStateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TestStateStatus::Succeeded => "SUCCEEDED",
            TestStateStatus::Failed => "FAILED",
            TestStateStatus::Retriable => "RETRIABLE",
            TestStateStatus::CaughtError => "CAUGHT_ERROR",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestStateResponse {
    pub status: TestStateStatus,
    /// The state's output (SUCCEEDED, CAUGHT_ERROR).
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// Where the execution would go next (the transition, or the catcher's `Next`).
    pub next_state: Option<String>,
    /// Present at DEBUG and TRACE.
    pub inspection_data: Option<InspectionData>,
}

/// The state's data flow, stage by stage; a stage the state does not have stays `None`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InspectionData {
    /// The raw state input.
    pub input: Option<Value>,
    pub after_input_path: Option<Value>,
    pub after_parameters: Option<Value>,
    /// JSONata `Arguments`, evaluated.
    pub after_arguments: Option<Value>,
    /// The task's (or Pass state's `Result`) raw result.
    pub result: Option<Value>,
    pub after_result_selector: Option<Value>,
    /// The result merged into the input by `ResultPath` (before `OutputPath`).
    pub after_result_path: Option<Value>,
    /// Map: the items `ItemsPath` selected.
    pub after_items_path: Option<Value>,
    /// Map: each item as its iteration would receive it (`ItemSelector`).
    pub after_item_selector: Option<Value>,
    pub max_concurrency: Option<u64>,
    pub tolerated_failure_count: Option<u64>,
    pub tolerated_failure_percentage: Option<f64>,
    /// The workflow variables after the state ran (omitted when there are none).
    pub variables: Option<Map<String, Value>>,
    pub error_details: Option<ErrorDetails>,
}

/// Which retrier or catcher handled the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ErrorDetails {
    pub retry_index: Option<usize>,
    /// The delay before the retry (RETRIABLE only).
    pub retry_backoff_interval_seconds: Option<u64>,
    pub catch_index: Option<usize>,
}

impl TestStateResponse {
    /// AWS's JSON shape: camelCase names, and JSON values as JSON text, as AWS returns
    /// them (`"output": "{\"a\":1}"`).
    pub fn to_aws_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(o) = &self.output {
            m.insert("output".into(), text(o));
        }
        if let Some(e) = &self.error {
            m.insert("error".into(), Value::String(e.clone()));
        }
        if let Some(c) = &self.cause {
            m.insert("cause".into(), Value::String(c.clone()));
        }
        if let Some(d) = &self.inspection_data {
            m.insert("inspectionData".into(), d.to_aws_json());
        }
        if let Some(n) = &self.next_state {
            m.insert("nextState".into(), Value::String(n.clone()));
        }
        m.insert("status".into(), Value::String(self.status.as_str().into()));
        Value::Object(m)
    }
}

impl InspectionData {
    pub fn to_aws_json(&self) -> Value {
        let mut m = Map::new();
        let texts = [
            ("input", &self.input),
            ("afterArguments", &self.after_arguments),
            ("afterInputPath", &self.after_input_path),
            ("afterParameters", &self.after_parameters),
            ("result", &self.result),
            ("afterResultSelector", &self.after_result_selector),
            ("afterResultPath", &self.after_result_path),
        ];
        for (name, v) in texts {
            if let Some(v) = v {
                m.insert(name.into(), text(v));
            }
        }
        if let Some(vars) = &self.variables {
            m.insert(
                "variables".into(),
                Value::String(to_json_text(&Value::Object(vars.clone()))),
            );
        }
        if let Some(d) = &self.error_details {
            let mut e = Map::new();
            if let Some(i) = d.retry_index {
                e.insert("retryIndex".into(), Value::from(i));
            }
            if let Some(s) = d.retry_backoff_interval_seconds {
                e.insert("retryBackoffIntervalSeconds".into(), Value::from(s));
            }
            if let Some(i) = d.catch_index {
                e.insert("catchIndex".into(), Value::from(i));
            }
            m.insert("errorDetails".into(), Value::Object(e));
        }
        if let Some(v) = &self.after_items_path {
            m.insert("afterItemsPath".into(), text(v));
        }
        if let Some(v) = &self.after_item_selector {
            m.insert("afterItemSelector".into(), text(v));
        }
        if let Some(n) = self.tolerated_failure_count {
            m.insert("toleratedFailureCount".into(), Value::from(n));
        }
        if let Some(p) = self.tolerated_failure_percentage {
            m.insert("toleratedFailurePercentage".into(), Value::from(p));
        }
        if let Some(n) = self.max_concurrency {
            m.insert("maxConcurrency".into(), Value::from(n));
        }
        Value::Object(m)
    }
}

fn text(v: &Value) -> Value {
    Value::String(to_json_text(v))
}
