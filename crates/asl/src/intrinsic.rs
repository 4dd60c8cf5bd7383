//! The 18 intrinsic functions (`States.Format`, `States.Array`, …, `States.UUID`).
//!
//! STUB: the data-flow work replaces the bodies; the signatures are the contract.

use serde_json::Value;

use crate::eval::{Bindings, Entropy, EvalError};
use crate::path::PathSyntaxError;

/// A parsed intrinsic function call, arguments included (nested calls, paths, literals).
#[derive(Debug, Clone)]
pub struct Intrinsic {
    text: String,
}

impl Intrinsic {
    /// Whether `text` is written as an intrinsic call (`States.` prefix), as opposed to a path.
    pub fn looks_like_call(text: &str) -> bool {
        text.trim_start().starts_with("States.")
    }

    pub fn parse(text: &str) -> Result<Intrinsic, PathSyntaxError> {
        Ok(Intrinsic {
            text: text.to_owned(),
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn evaluate(
        &self,
        bindings: &Bindings<'_>,
        entropy: &mut dyn Entropy,
    ) -> Result<Value, EvalError> {
        let _ = (bindings, entropy);
        Err(EvalError::runtime("intrinsic functions are not built yet"))
    }
}
