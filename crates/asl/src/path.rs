//! JSONPath as ASL uses it.
//!
//! A [`Path`] selects values: `$…` from the input, `$$…` from the context object, and
//! `$name…` from a workflow variable. A [`ReferencePath`] is the restricted form used by
//! `ResultPath`: it names a single location and can create it.
//!
//! STUB: the data-flow work replaces this module; the signatures are the contract.

use serde_json::Value;

use crate::eval::Bindings;

/// Where a path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathRoot {
    /// `$` — the state input (or whatever `$` means for the field).
    Input,
    /// `$$` — the context object.
    Context,
    /// `$name` — a workflow variable.
    Variable(String),
}

/// A syntax error in a path, worded for a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PathSyntaxError(pub String);

/// A compiled JSONPath query.
#[derive(Debug, Clone)]
pub struct Path {
    text: String,
    root: PathRoot,
}

impl Path {
    /// Compiles `text`; the error explains what is wrong (used in diagnostics).
    pub fn parse(text: &str) -> Result<Path, PathSyntaxError> {
        if !text.starts_with('$') {
            return Err(PathSyntaxError(format!("'{text}' is not a valid JSONPath")));
        }
        Ok(Path {
            text: text.to_owned(),
            root: PathRoot::Input,
        })
    }

    /// The path as written, for error messages.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn root(&self) -> &PathRoot {
        &self.root
    }

    /// Whether the path can select at most one node (no wildcards, filters, slices or
    /// unions): such paths yield the node itself, others yield an array of matches.
    pub fn is_definite(&self) -> bool {
        true
    }

    /// Selects from `bindings`. `None` when a definite path matches nothing (an
    /// indefinite path that matches nothing yields `Some([])`).
    pub fn select(&self, bindings: &Bindings<'_>) -> Option<Value> {
        let _ = bindings;
        None
    }
}

/// A compiled reference path (`ResultPath`): `$`, or `$` followed by field names and
/// array indices only.
#[derive(Debug, Clone)]
pub struct ReferencePath {
    text: String,
}

impl ReferencePath {
    pub fn parse(text: &str) -> Result<ReferencePath, PathSyntaxError> {
        Ok(ReferencePath {
            text: text.to_owned(),
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Places `value` into `target` at this path, creating missing objects on the way.
    /// The error is the cause AWS reports (`States.Runtime`).
    pub fn set(&self, target: Value, value: Value) -> Result<Value, crate::eval::EvalError> {
        let _ = target;
        Ok(value)
    }
}
