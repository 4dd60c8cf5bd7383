//! The 18 intrinsic functions (`States.Format`, `States.Array`, …, `States.UUID`).
//!
//! A call is parsed once into a tree ([`Intrinsic`]); evaluation walks the tree and never
//! looks at the text again. Arguments are literals (`'text'` with `\'`, `\{`, `\}`, `\\`
//! escapes, numbers, `true`/`false`/`null`), paths (`$.x`, `$$.x`, `$var`) or nested
//! calls, at most 10 deep as on AWS.
//!
//! Failures of a function on its data (wrong argument type, index out of range, limits)
//! are `States.IntrinsicFailure`; a path argument that selects nothing is `States.Runtime`,
//! like any other path in a payload template.

mod functions;
pub(crate) mod java;
mod parse;

use serde_json::Value;

use crate::eval::{Bindings, Entropy, EvalError};
use crate::path::{Path, PathNotFound, PathSyntaxError};

/// How deep calls may nest inside one field (AWS's limit).
pub const MAX_NESTING: usize = 10;

/// A parsed intrinsic function call, arguments included (nested calls, paths, literals).
#[derive(Debug, Clone)]
pub struct Intrinsic {
    text: String,
    call: Call,
}

/// The functions, by their `States.` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Function {
    const ALL: [Function; 18] = [
        Function::Format,
        Function::StringToJson,
        Function::JsonToString,
        Function::Array,
        Function::ArrayPartition,
        Function::ArrayContains,
        Function::ArrayRange,
        Function::ArrayGetItem,
        Function::ArrayLength,
        Function::ArrayUnique,
        Function::Base64Encode,
        Function::Base64Decode,
        Function::Hash,
        Function::JsonMerge,
        Function::MathRandom,
        Function::MathAdd,
        Function::StringSplit,
        Function::Uuid,
    ];

    /// The full name, `States.Format`.
    pub fn name(self) -> &'static str {
        match self {
            Function::Format => "States.Format",
            Function::StringToJson => "States.StringToJson",
            Function::JsonToString => "States.JsonToString",
            Function::Array => "States.Array",
            Function::ArrayPartition => "States.ArrayPartition",
            Function::ArrayContains => "States.ArrayContains",
            Function::ArrayRange => "States.ArrayRange",
            Function::ArrayGetItem => "States.ArrayGetItem",
            Function::ArrayLength => "States.ArrayLength",
            Function::ArrayUnique => "States.ArrayUnique",
            Function::Base64Encode => "States.Base64Encode",
            Function::Base64Decode => "States.Base64Decode",
            Function::Hash => "States.Hash",
            Function::JsonMerge => "States.JsonMerge",
            Function::MathRandom => "States.MathRandom",
            Function::MathAdd => "States.MathAdd",
            Function::StringSplit => "States.StringSplit",
            Function::Uuid => "States.UUID",
        }
    }

    fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Allowed argument counts: (min, max); `None` is unbounded.
    fn arity(self) -> (usize, Option<usize>) {
        match self {
            Function::Format => (1, None),
            Function::Array => (0, None),
            Function::Uuid => (0, Some(0)),
            Function::StringToJson
            | Function::JsonToString
            | Function::ArrayLength
            | Function::ArrayUnique
            | Function::Base64Encode
            | Function::Base64Decode => (1, Some(1)),
            Function::ArrayPartition
            | Function::ArrayContains
            | Function::ArrayGetItem
            | Function::Hash
            | Function::MathAdd
            | Function::StringSplit => (2, Some(2)),
            Function::ArrayRange | Function::JsonMerge => (3, Some(3)),
            Function::MathRandom => (2, Some(3)),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Call {
    function: Function,
    args: Vec<Arg>,
}

#[derive(Debug, Clone)]
pub(crate) enum Arg {
    /// A number, boolean or null literal.
    Literal(Value),
    /// A quoted string; `pieces` keeps which `{}` were written unescaped, for
    /// `States.Format`.
    Text {
        value: Value,
        pieces: Vec<Piece>,
    },
    Path(Path),
    Call(Box<Call>),
}

/// A part of a `States.Format` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Text(String),
    /// `{}`: the next argument goes here.
    Hole,
}

/// Why evaluation stopped: a path that selected nothing (worded by the caller, who knows
/// the field), or an error ready to report.
pub(crate) enum Failure {
    PathNotFound(Path, PathNotFound),
    Error(EvalError),
}

impl From<EvalError> for Failure {
    fn from(e: EvalError) -> Self {
        Failure::Error(e)
    }
}

impl Intrinsic {
    /// Whether `text` is written as an intrinsic call (`States.` prefix), as opposed to a path.
    pub fn looks_like_call(text: &str) -> bool {
        text.trim_start().starts_with("States.")
    }

    pub fn parse(text: &str) -> Result<Intrinsic, PathSyntaxError> {
        let call = parse::parse(text)?;
        Ok(Intrinsic {
            text: text.to_owned(),
            call,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The outermost function.
    pub fn function(&self) -> Function {
        self.call.function
    }

    /// Whether any argument, at any depth, reads the context object (`$$`).
    pub fn uses_context(&self) -> bool {
        fn call_uses(call: &Call) -> bool {
            call.args.iter().any(|a| match a {
                Arg::Path(p) => p.uses_context(),
                Arg::Call(c) => call_uses(c),
                Arg::Literal(_) | Arg::Text { .. } => false,
            })
        }
        call_uses(&self.call)
    }

    pub fn evaluate(
        &self,
        bindings: &Bindings<'_>,
        entropy: &mut dyn Entropy,
    ) -> Result<Value, EvalError> {
        self.evaluate_for_field(bindings, entropy, &self.text)
    }

    /// Evaluates as the value of `field` (`key.$`, `ErrorPath`, …), which names the
    /// field in the error when a path argument selects nothing.
    pub fn evaluate_for_field(
        &self,
        bindings: &Bindings<'_>,
        entropy: &mut dyn Entropy,
        field: &str,
    ) -> Result<Value, EvalError> {
        self.evaluate_with_field(bindings, entropy, || field.to_owned())
    }

    /// Like [`Intrinsic::evaluate_for_field`], building the field name only on error.
    pub(crate) fn evaluate_with_field(
        &self,
        bindings: &Bindings<'_>,
        entropy: &mut dyn Entropy,
        field: impl FnOnce() -> String,
    ) -> Result<Value, EvalError> {
        match functions::eval_call(&self.call, bindings, entropy) {
            Ok(v) => Ok(v),
            Err(Failure::Error(e)) => Err(e),
            Err(Failure::PathNotFound(p, miss)) => {
                Err(p.field_error(&miss, &field(), bindings.input))
            }
        }
    }
}

#[cfg(test)]
mod tests;
