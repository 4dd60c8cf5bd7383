//! Choice rules: the JSONPath comparison operators, `And`/`Or`/`Not`, and JSONata
//! `Condition`.
//!
//! STUB: the data-flow work replaces the bodies; the signatures are the contract.

use serde_json::Value;

use crate::diagnostic::Diagnostics;
use crate::eval::{Bindings, Entropy, EvalError};
use crate::template::Template;

#[derive(Debug, Clone)]
pub enum ChoiceRule {
    /// JSONPath rules (`Variable` + one operator, or `And`/`Or`/`Not`).
    Rule(Box<Value>),
    /// JSONata `Condition`: a `{% %}` expression or a literal boolean.
    Condition(Template),
}

impl ChoiceRule {
    /// Compiles one element of `Choices` (JSONPath form), without its `Next`/`Assign`/
    /// `Comment`/`Output`, which the caller handles.
    pub fn compile_jsonpath(
        rule: &serde_json::Map<String, Value>,
        pointer: &str,
        diagnostics: &mut Diagnostics,
    ) -> ChoiceRule {
        let _ = (pointer, diagnostics);
        ChoiceRule::Rule(Box::new(Value::Object(rule.clone())))
    }

    /// Compiles a JSONata `Condition` value.
    pub fn compile_jsonata(
        condition: &Value,
        pointer: &str,
        diagnostics: &mut Diagnostics,
    ) -> ChoiceRule {
        ChoiceRule::Condition(Template::compile_jsonata(condition, pointer, diagnostics))
    }

    pub fn evaluate(
        &self,
        bindings: &Bindings<'_>,
        entropy: &mut dyn Entropy,
    ) -> Result<bool, EvalError> {
        let _ = (bindings, entropy);
        Err(EvalError::runtime("choice rules are not built yet"))
    }
}
