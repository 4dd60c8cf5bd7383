//! Payload templates: `Parameters`, `ResultSelector`, `ItemSelector`, `Assign`,
//! `Arguments`, `Output`, …
//!
//! One compiled form serves both query languages. In JSONPath mode a key ending in `.$`
//! takes its value from a path or an intrinsic function; in JSONata mode a string
//! `{% … %}` is an expression. Everything else is a constant.
//!
//! STUB: the data-flow work replaces the bodies; the signatures are the contract.

use serde_json::Value;

use crate::diagnostic::Diagnostics;
use crate::eval::{Bindings, Entropy, EvalError};
use crate::intrinsic::Intrinsic;
use crate::jsonata::Expression;
use crate::path::Path;

#[derive(Debug, Clone)]
pub enum Template {
    /// A value with nothing dynamic inside.
    Const(Value),
    /// An object; keys are final (the `.$` suffix is already removed).
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    /// `"key.$": "$.path"` (or `$$.…`, `$var.…`).
    Path(Path),
    /// `"key.$": "States.Format(…)"`.
    Intrinsic(Intrinsic),
    /// `"{% expr %}"` (JSONata).
    Jsonata(Expression),
}

impl Template {
    /// Compiles a JSONPath-mode template; problems are added to `diagnostics` with
    /// pointers under `pointer`.
    pub fn compile_jsonpath(
        value: &Value,
        pointer: &str,
        diagnostics: &mut Diagnostics,
    ) -> Template {
        let _ = (pointer, diagnostics);
        Template::Const(value.clone())
    }

    /// Compiles a JSONata-mode template (`{% … %}` strings anywhere inside).
    pub fn compile_jsonata(
        value: &Value,
        pointer: &str,
        diagnostics: &mut Diagnostics,
    ) -> Template {
        let _ = (pointer, diagnostics);
        Template::Const(value.clone())
    }

    /// Evaluates the template. `field` names the definition field for error causes
    /// (`Parameters`, `Output`, `Assign`, …); nested keys extend it the way AWS
    /// reports them (`Output/result`, `value.$`).
    pub fn evaluate(
        &self,
        bindings: &Bindings<'_>,
        entropy: &mut dyn Entropy,
        field: &str,
    ) -> Result<Value, EvalError> {
        let _ = (bindings, entropy, field);
        match self {
            Template::Const(v) => Ok(v.clone()),
            _ => Err(EvalError::runtime("template evaluation is not built yet")),
        }
    }

    /// Whether evaluating needs the context object (lets the interpreter skip building it).
    pub fn uses_context(&self) -> bool {
        true
    }
}
