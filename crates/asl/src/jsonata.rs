//! JSONata expressions with AWS's additions (`$states`, `$partition`, `$range`, `$hash`,
//! `$random`, `$uuid`, `$parse`), on the `jsonata-core` engine.
//!
//! The engine's values are `Rc`-based and so are its evaluators, but its syntax tree is
//! plain data (`Send + Sync`). An [`Expression`] therefore keeps the parsed tree behind
//! an `Arc`, shared by every thread that runs the state machine, and each evaluation
//! builds a small evaluator of its own on the calling thread. Nothing is re-parsed.
//!
//! Step Functions differs from plain JSONata in what an expression can see: no input
//! document (`$` is undefined; the input is `$states.input`), the workflow variables as
//! `$name`, six functions of AWS's own, and no `$eval` (AWS: "$eval is not available —
//! use $parse instead"; calling it fails like calling any non-function, `T1006`).

mod access;
mod convert;
mod functions;
mod names;
mod random;
pub mod reference;
mod wording;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorOptions};
use jsonata_core::value::{JMap, JValue};
use serde_json::Value;

use crate::eval::{Bindings, Entropy, EvalError};

use convert::{Unrepresentable, to_json, to_jvalue};
use functions::{Session, SharedSession};
use random::SplitMix64;

/// A bound on one evaluation's running time, the only guard against an expression that
/// never ends (`($f := function(){ $f() }; $f())` is a loop under tail-call
/// optimisation). The engine checks it while it evaluates; this crate itself reads no
/// clock, and a result that arrives in time does not depend on it. AWS bounds
/// evaluation too but does not document the figure.
pub const EVALUATION_TIME_LIMIT_MS: u64 = 10_000;

/// How an evaluation runs; tests change it, [`Expression::evaluate`] uses the default.
#[derive(Debug, Clone, Copy)]
struct Tuning {
    time_limit_ms: u64,
    /// Convert only what the expression can read (see [`access`]).
    prune: bool,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            time_limit_ms: EVALUATION_TIME_LIMIT_MS,
            prune: true,
        }
    }
}

/// A compiled JSONata expression. `Send + Sync`: a state machine is shared across threads.
#[derive(Clone)]
pub struct Expression {
    inner: Arc<Compiled>,
}

// The engine's values are `Rc`, its syntax tree is not: keep it that way on upgrades.
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<Expression>();
};

struct Compiled {
    /// As written between the delimiters, trimmed; AWS quotes it this way in causes.
    source: String,
    ast: AstNode,
    /// Every `$name` the source mentions (see [`names`]).
    names: Vec<String>,
    /// What the expression can read of each value it mentions (see [`access`]).
    reads: access::Reads,
}

impl std::fmt::Debug for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Expression")
            .field(&self.inner.source)
            .finish()
    }
}

impl Expression {
    /// If `text` is a `{% … %}` template, returns the expression inside it, trimmed.
    /// The delimiters must be the very first and last characters, as AWS requires.
    pub fn strip_template(text: &str) -> Option<&str> {
        let t = text.strip_prefix("{%")?.strip_suffix("%}")?;
        Some(t.trim())
    }

    /// Compiles the expression (without the `{% %}` delimiters). The error is AWS's
    /// message for an `INVALID_JSONATA_EXPRESSION` diagnostic: the engine's message
    /// without its JSONata code (`Expected "]", got ","`).
    pub fn parse(source: &str) -> Result<Expression, String> {
        let source = source.trim();
        let ast = guarded(|| jsonata_core::parser::parse(source))
            .ok_or_else(|| "The expression could not be parsed (internal parser error)".to_owned())?
            .map_err(|e| parse_error_message(&e))?;
        Ok(Expression {
            inner: Arc::new(Compiled {
                source: source.to_owned(),
                reads: access::Reads::of(&ast),
                ast,
                names: names::referenced_names(source),
            }),
        })
    }

    /// The expression as written, for error messages.
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// Field names (and `$`, `$$`) the expression reads at its top level, where Step
    /// Functions has no context item. AWS refuses each at definition time:
    /// `UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level is not
    /// supported.` (wording measured on AWS for names; not known for `$` and `$$`).
    pub fn top_level_references(&self) -> Vec<String> {
        access::top_level_references(&self.inner.ast)
    }

    /// Whether evaluating may read `$states.context`, so the interpreter can skip
    /// building the context object for expressions that never look at it.
    pub fn uses_context(&self) -> bool {
        if !self.inner.names.iter().any(|n| n == "states") {
            return false;
        }
        match self.inner.reads.of_name("states") {
            None => true,
            Some(reads) => reads.child("context").is_some(),
        }
    }

    /// Evaluates; `Ok(None)` means the result is undefined. Errors are
    /// `States.QueryEvaluationError` with AWS's cause text for `field`.
    pub fn evaluate(
        &self,
        bindings: &Bindings<'_>,
        entropy: &mut dyn Entropy,
        field: &str,
    ) -> Result<Option<Value>, EvalError> {
        self.evaluate_within(bindings, entropy, field, Tuning::default())
            .map_err(|e| e.at(field))
    }

    fn evaluate_within(
        &self,
        bindings: &Bindings<'_>,
        entropy: &mut dyn Entropy,
        field: &str,
        tuning: Tuning,
    ) -> Result<Option<Value>, EvalError> {
        guarded(|| self.evaluate_unguarded(bindings, entropy, field, tuning)).unwrap_or_else(
            || {
                Err(EvalError::query_evaluation(format!(
                    "The JSONata expression '{}' specified for the field '{field}' threw an internal error during evaluation.",
                    self.inner.source
                )))
            },
        )
    }

    fn evaluate_unguarded(
        &self,
        bindings: &Bindings<'_>,
        entropy: &mut dyn Entropy,
        field: &str,
        tuning: Tuning,
    ) -> Result<Option<Value>, EvalError> {
        let compiled = &*self.inner;
        let reads = |name: &str| {
            if tuning.prune {
                compiled.reads.of_name(name)
            } else {
                None
            }
        };
        let mut context = Context::new();
        let mut functions: Vec<&str> = Vec::new();
        let (mut reads_clock, mut draws_random) = (false, false);
        for name in &compiled.names {
            if name == "states" {
                context.bind(name.clone(), states_value(bindings, reads(name)));
            } else if let Some(value) = bindings.variables.get(name) {
                // A workflow variable shadows a function of the same name, as any
                // JSONata binding does.
                context.bind(name.clone(), access::bind(value, reads(name)));
            } else if name == "eval" {
                // Binding the name to nothing makes `$eval(…)` a call of a non-function.
                context.bind(name.clone(), JValue::Undefined);
            } else {
                reads_clock |= functions::reads_clock(name);
                draws_random |= functions::draws_random(name);
                functions.push(name);
            }
        }
        let session: SharedSession = Rc::new(RefCell::new(Session {
            now_millis: if reads_clock { entropy.now_millis() } else { 0 },
            rng: SplitMix64::new(if draws_random { entropy.next_u64() } else { 0 }),
        }));
        let options = EvaluatorOptions {
            timeout_ms: Some(tuning.time_limit_ms),
            ..EvaluatorOptions::default()
        };
        let mut evaluator = Evaluator::with_options(context, options);
        for name in functions {
            functions::register(&mut evaluator, name, &session)
                .map_err(|e| self.threw(field, e.message()))?;
        }
        let result = evaluator
            .evaluate(&compiled.ast, &JValue::Undefined)
            .map_err(|e| self.threw(field, e.message()))?;
        to_json(&result).map_err(|e| self.unrepresentable(field, e))
    }

    fn threw(&self, field: &str, message: &str) -> EvalError {
        EvalError::query_evaluation(threw_cause(
            &self.inner.source,
            field,
            &wording::reference_wording_for(message, self.inner.reads.sole_builtin()),
        ))
    }

    fn unrepresentable(&self, field: &str, why: Unrepresentable) -> EvalError {
        let source = &self.inner.source;
        match why {
            Unrepresentable::Function => EvalError::query_evaluation(format!(
                "The JSONata expression '{source}' specified for the field '{field}' returned an unsupported result type."
            )),
            Unrepresentable::NonFinite(spelled) => {
                self.threw(field, &format!("D1001: Number out of range: {spelled}"))
            }
            Unrepresentable::TooDeep => self.threw(
                field,
                &format!(
                    "The result is nested more than {} levels deep",
                    convert::MAX_RESULT_DEPTH
                ),
            ),
        }
    }
}

/// Runs `f`, turning a panic into `None`.
///
/// The last line of defence that "no panic is reachable from user input" needs here:
/// the engine is a large third-party crate, and fuzzing it found inputs that panic
/// inside it (`$fromMillis(0, "[Y,*-99999999]")` overflows an integer multiplication in
/// its picture parser). Everything an evaluation builds (evaluator, bindings, values) is
/// created inside `f` and dropped while unwinding, so no state with broken invariants
/// survives the panic. This relies on unwinding: a build with `panic = "abort"` would
/// lose the guard.
pub(crate) fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok()
}

/// `$states`: `input`, then `result` and `errorOutput` where the state has them, then
/// `context`, the order AWS's documentation lists them in. With `reads`, only the parts
/// the expression can reach.
fn states_value(bindings: &Bindings<'_>, reads: Option<&access::Trie>) -> JValue {
    let parts = [
        ("input", Some(bindings.input)),
        ("result", bindings.result),
        ("errorOutput", bindings.error_output),
        ("context", Some(bindings.context)),
    ];
    let mut states = JMap::default();
    for (key, value) in parts {
        let Some(value) = value else { continue };
        let bound = match reads {
            None => to_jvalue(value),
            Some(trie) => match trie.child(key) {
                Some(sub) => access::bind(value, Some(sub)),
                None => continue,
            },
        };
        states.insert(key.to_owned(), bound);
    }
    JValue::Object(Rc::new(states))
}

/// AWS's cause for an expression that raised an error (`message` already in the
/// reference's words). A JSONata error is
/// `CODE: message` and follows as a sentence of its own; anything else follows a colon.
fn threw_cause(source: &str, field: &str, message: &str) -> String {
    let separator = if wording::code_of(message).is_some() {
        ". "
    } else {
        ": "
    };
    format!(
        "The JSONata expression '{source}' specified for the field '{field}' threw an error during evaluation{separator}{message}"
    )
}

/// `S0202: Expected …` → `Expected …`: AWS reports parse errors without the code.
fn parse_error_message(error: &jsonata_core::parser::ParserError) -> String {
    let message = wording::reference_wording(&error.to_string());
    match wording::code_of(&message) {
        Some(code) => message[code.len() + 1..].trim_start().to_owned(),
        None => message,
    }
}

#[cfg(test)]
mod tests;
