//! Plain JSONata, without anything Step Functions adds or takes away: an input document,
//! variable bindings, `$eval`. This is how the reference implementation's test suite
//! runs expressions, so the conformance suite (`tests/integration/jsonata_suite.rs`)
//! checks the engine through the same conversions Step Functions evaluation uses.

use jsonata_core::evaluator::{Context, Evaluator, EvaluatorOptions};
use jsonata_core::value::JValue;
use serde_json::{Map, Value};

use super::convert::{Unrepresentable, to_json, to_jvalue};

/// Guards for one evaluation, as the reference suite's harness sets them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// Wall-clock limit; exceeding it fails with `D1012`.
    pub time_limit_ms: Option<u64>,
    /// Evaluation nesting limit; exceeding it fails with `D1011`.
    pub max_depth: Option<usize>,
}

/// How an evaluation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Whether the expression did not even parse.
    pub at_parse: bool,
    /// The JSONata code (`T2001`), when the message has one.
    pub code: Option<String>,
    /// The whole message, code first.
    pub message: String,
}

/// Evaluates `expression` against `input` (`None`: no input at all, JSONata's
/// undefined) with `bindings` bound as variables. `Ok(None)` is an undefined result.
pub fn evaluate(
    expression: &str,
    input: Option<&Value>,
    bindings: &Map<String, Value>,
    limits: Limits,
) -> Result<Option<Value>, Failure> {
    super::guarded(|| evaluate_unguarded(expression, input, bindings, limits)).unwrap_or_else(
        || {
            Err(Failure {
                at_parse: false,
                code: None,
                message: "the engine panicked".to_owned(),
            })
        },
    )
}

fn evaluate_unguarded(
    expression: &str,
    input: Option<&Value>,
    bindings: &Map<String, Value>,
    limits: Limits,
) -> Result<Option<Value>, Failure> {
    let ast = jsonata_core::parser::parse(expression).map_err(|e| {
        let message = super::wording::reference_wording(&e.to_string());
        Failure {
            at_parse: true,
            code: code_of(&message),
            message,
        }
    })?;
    let mut context = Context::new();
    for (name, value) in bindings {
        context.bind(name.clone(), to_jvalue(value));
    }
    let options = EvaluatorOptions {
        timeout_ms: limits.time_limit_ms,
        max_stack_depth: limits.max_depth,
        ..EvaluatorOptions::default()
    };
    let input = input.map_or(JValue::Undefined, to_jvalue);
    let function = super::access::Reads::of(&ast)
        .sole_builtin()
        .map(str::to_owned);
    let result = Evaluator::with_options(context, options)
        .evaluate(&ast, &input)
        .map_err(|e| {
            let message = super::wording::reference_wording_for(e.message(), function.as_deref());
            Failure {
                at_parse: false,
                code: code_of(&message),
                message,
            }
        })?;
    to_json(&result).map_err(|why| {
        let message = match why {
            Unrepresentable::Function => "the result is a function".to_owned(),
            Unrepresentable::NonFinite(spelled) => {
                format!("D1001: Number out of range: {spelled}")
            }
            Unrepresentable::TooDeep => "the result is nested too deeply".to_owned(),
        };
        Failure {
            at_parse: false,
            code: code_of(&message),
            message,
        }
    })
}

fn code_of(message: &str) -> Option<String> {
    super::wording::code_of(message).map(str::to_owned)
}
