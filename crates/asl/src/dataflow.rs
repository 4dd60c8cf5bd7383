//! The JSONPath data-flow steps of a state, each failing with AWS's error and wording:
//! InputPath → Parameters → (task) → ResultSelector → ResultPath → OutputPath.
//!
//! STUB: the data-flow work replaces the bodies; the signatures are the contract.

use serde_json::Value;

use crate::eval::{Bindings, EvalError};
use crate::model::{OptionalPath, OptionalReferencePath};

/// Applies `InputPath` to the raw state input (`bindings.input`).
pub fn apply_input_path(path: &OptionalPath, bindings: &Bindings<'_>) -> Result<Value, EvalError> {
    match path {
        OptionalPath::Default => Ok(bindings.input.clone()),
        OptionalPath::Null => Ok(Value::Object(Default::default())),
        OptionalPath::Path(p) => p
            .select(bindings)
            .ok_or_else(|| EvalError::runtime(format!("Invalid path '{}'", p.text()))),
    }
}

/// Applies `OutputPath` to the state output (`bindings.input` is that output).
pub fn apply_output_path(path: &OptionalPath, bindings: &Bindings<'_>) -> Result<Value, EvalError> {
    apply_input_path(path, bindings)
}

/// Combines the raw state input and the (selected) result according to `ResultPath`.
pub fn apply_result_path(
    path: &OptionalReferencePath,
    raw_input: Value,
    result: Value,
) -> Result<Value, EvalError> {
    match path {
        OptionalReferencePath::Default => Ok(result),
        OptionalReferencePath::Null => Ok(raw_input),
        OptionalReferencePath::Path(p) => p.set(raw_input, result),
    }
}
