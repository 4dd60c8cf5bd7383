//! JSONata expressions with AWS's additions (`$states`, `$partition`, `$range`, `$hash`,
//! `$random`, `$uuid`, `$parse`).
//!
//! STUB: the JSONata work replaces the bodies; the signatures are the contract.

use serde_json::Value;

use crate::eval::{Bindings, Entropy, EvalError};

/// A compiled JSONata expression. `Send + Sync`: a state machine is shared across threads.
#[derive(Debug, Clone)]
pub struct Expression {
    source: String,
}

impl Expression {
    /// If `text` is a `{% … %}` template, returns the expression inside it.
    pub fn strip_template(text: &str) -> Option<&str> {
        let t = text.strip_prefix("{%")?.strip_suffix("%}")?;
        Some(t)
    }

    /// Compiles the expression (without the `{% %}` delimiters). The error is worded
    /// for a diagnostic.
    pub fn parse(source: &str) -> Result<Expression, String> {
        Ok(Expression {
            source: source.to_owned(),
        })
    }

    /// The expression as written, for error messages.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates; `Ok(None)` means the result is undefined. Errors are
    /// `States.QueryEvaluationError` with AWS's cause text for `field`.
    pub fn evaluate(
        &self,
        bindings: &Bindings<'_>,
        entropy: &mut dyn Entropy,
        field: &str,
    ) -> Result<Option<Value>, EvalError> {
        let _ = (bindings, entropy, field);
        Err(EvalError::query_evaluation("JSONata is not built yet"))
    }
}
