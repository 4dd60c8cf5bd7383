//! What an expression can see when it is evaluated, and how evaluation fails.
//!
//! The evaluators in this crate are pure: everything that varies between runs (the
//! clock, random draws) comes in through [`Entropy`], so the interpreter can record and
//! replay a run exactly.

use serde_json::Value;

/// The values an expression reads.
#[derive(Clone, Copy)]
pub struct Bindings<'a> {
    /// `$` in JSONPath; `$states.input` in JSONata. For `ResultSelector` this is the task
    /// result, for `Parameters` the effective input (after `InputPath`).
    pub input: &'a Value,
    /// The context object: `$$` in JSONPath, `$states.context` in JSONata.
    pub context: &'a Value,
    /// Workflow variables visible to the state (`$name`).
    pub variables: &'a dyn Variables,
    /// `$states.result` (JSONata `Output`/`Assign` after a Task, Parallel or Map).
    pub result: Option<&'a Value>,
    /// `$states.errorOutput` (JSONata in a `Catch`).
    pub error_output: Option<&'a Value>,
}

/// Read access to the workflow variables in scope.
pub trait Variables {
    fn get(&self, name: &str) -> Option<&Value>;
    /// Every visible variable, inner scopes shadowing outer ones; JSONata binds them all.
    fn for_each(&self, f: &mut dyn FnMut(&str, &Value));
}

/// No variables at all.
pub struct NoVariables;

impl Variables for NoVariables {
    fn get(&self, _name: &str) -> Option<&Value> {
        None
    }
    fn for_each(&self, _f: &mut dyn FnMut(&str, &Value)) {}
}

impl Variables for serde_json::Map<String, Value> {
    fn get(&self, name: &str) -> Option<&Value> {
        serde_json::Map::get(self, name)
    }
    fn for_each(&self, f: &mut dyn FnMut(&str, &Value)) {
        for (k, v) in self {
            f(k, v);
        }
    }
}

/// Injected nondeterminism: `States.UUID`, `States.MathRandom`, JSONata `$random`,
/// `$uuid`, `$now`, `$millis`.
pub trait Entropy {
    /// A uniformly distributed 64-bit draw.
    fn next_u64(&mut self) -> u64;
    /// The instant the expression is evaluated at, in milliseconds since the Unix epoch.
    fn now_millis(&self) -> i64;
}

/// An error raised while evaluating a state's data flow: an ASL error name
/// (`States.Runtime`, `States.QueryEvaluationError`, `States.IntrinsicFailure`, …) and a
/// cause in AWS's wording. The interpreter prefixes the cause with
/// "An error occurred while executing the state '…' (entered at the event id #…). ".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct EvalError {
    pub error: String,
    pub cause: String,
    /// The field the error is about (`Output/result`, `Items`, `Timestamp`), which AWS
    /// reports as `EvaluationFailed.location` for query errors.
    pub location: Option<String>,
}

impl EvalError {
    pub fn runtime(cause: impl Into<String>) -> Self {
        EvalError {
            error: crate::error_name::STATES_RUNTIME.to_owned(),
            cause: cause.into(),
            location: None,
        }
    }

    pub fn query_evaluation(cause: impl Into<String>) -> Self {
        EvalError {
            error: crate::error_name::STATES_QUERY_EVALUATION_ERROR.to_owned(),
            cause: cause.into(),
            location: None,
        }
    }

    /// Names the field the error is about, unless a more precise one is already set.
    pub fn at(mut self, location: &str) -> Self {
        if self.location.is_none() {
            self.location = Some(location.to_owned());
        }
        self
    }
}

/// Formats a JSON value the way AWS quotes it in error causes (compact JSON).
pub fn to_json_text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
