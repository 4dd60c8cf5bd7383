//! The JSONPath data-flow steps of a state, each failing with AWS's error and wording:
//! InputPath → Parameters → (task) → ResultSelector → ResultPath → OutputPath, plus the
//! `…Path` fields of Wait, Map, Task and Fail.
//!
//! The causes are the ones recorded in the conformance corpus; the interpreter adds the
//! `An error occurred while executing the state '…' (entered at the event id #…). ` prefix.
//! Several `…Path` fields take the value's text and parse it (like Java's
//! `Long.parseLong(node.asText())`), which is why the string `"5"` is a valid
//! `SecondsPath` value while `1.5` is not, and why messages quote strings bare.

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use crate::choice::json_type;
use crate::eval::{Bindings, Entropy, EvalError, Variables, to_json_text};
use crate::jsonata::Expression;
use crate::model::{DataFlow, Dynamic, FailField, OptionalPath, OptionalReferencePath, Wait};
use crate::path::Path;
use crate::template::{Template, undefined_error};
use crate::timestamp;

/// The longest Wait AWS accepts: the delay in seconds must fit a 32-bit signed integer
/// (a `Timestamp` 24,856 days ahead is rejected).
pub const MAX_WAIT_SECONDS: i64 = i32::MAX as i64;

/// The largest state or task result AWS passes on, in bytes of JSON text (256 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 262_144;

/// `States.DataLimitExceeded` for a result of `serialized_len` bytes over the limit;
/// `name` is the state name or the task's resource, as AWS reports it.
pub fn check_payload_size(name: &str, serialized_len: usize) -> Result<(), EvalError> {
    if serialized_len > MAX_PAYLOAD_BYTES {
        Err(EvalError {
            error: crate::error_name::STATES_DATA_LIMIT_EXCEEDED.to_owned(),
            cause: format!(
                "The state/task '{name}' returned a result with a size exceeding the maximum number of bytes service limit."
            ),
            location: None,
        })
    } else {
        Ok(())
    }
}

/// Applies `InputPath` to the raw state input (`bindings.input`).
pub fn apply_input_path(path: &OptionalPath, bindings: &Bindings<'_>) -> Result<Value, EvalError> {
    match path {
        OptionalPath::Default => Ok(bindings.input.clone()),
        OptionalPath::Null => Ok(Value::Object(Default::default())),
        OptionalPath::Path(p) => select_or_invalid(p, bindings).map(Cow::into_owned),
    }
}

/// Applies `OutputPath` to the state output (`bindings.input` is that output).
pub fn apply_output_path(path: &OptionalPath, bindings: &Bindings<'_>) -> Result<Value, EvalError> {
    apply_input_path(path, bindings)
}

/// Like [`apply_input_path`]/[`apply_output_path`], but consumes the value, which avoids
/// a copy in the common `$`/absent case.
pub fn apply_path_owned(
    path: &OptionalPath,
    value: Value,
    context: &Value,
    variables: &dyn Variables,
) -> Result<Value, EvalError> {
    match path {
        OptionalPath::Default => Ok(value),
        OptionalPath::Null => Ok(Value::Object(Default::default())),
        OptionalPath::Path(p) => {
            let bindings = Bindings {
                input: &value,
                context,
                variables,
                result: None,
                error_output: None,
            };
            select_or_invalid(p, &bindings).map(Cow::into_owned)
        }
    }
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

/// `InputPath` then `Parameters`: the value a JSONPath state works on. Borrows the raw
/// input when neither field changes it, so the common case copies nothing.
pub fn effective_input<'a>(
    io: &DataFlow,
    raw_input: &'a Value,
    context: &'a Value,
    variables: &'a dyn Variables,
    entropy: &mut dyn Entropy,
) -> Result<Cow<'a, Value>, EvalError> {
    let bindings = Bindings {
        input: raw_input,
        context,
        variables,
        result: None,
        error_output: None,
    };
    let selected: Cow<'a, Value> = match &io.input_path {
        OptionalPath::Default => Cow::Borrowed(raw_input),
        OptionalPath::Null => Cow::Owned(Value::Object(Default::default())),
        OptionalPath::Path(p) => select_or_invalid(p, &bindings)?,
    };
    match &io.parameters {
        None => Ok(selected),
        Some(template) => {
            let bindings = Bindings {
                input: &selected,
                ..bindings
            };
            template
                .evaluate(&bindings, entropy, "Parameters")
                .map(Cow::Owned)
        }
    }
}

/// `ResultPath` then `OutputPath`: a JSONPath state's output from its raw input and its
/// (already `ResultSelector`-ed) result, moving rather than copying.
pub fn state_output(
    io: &DataFlow,
    raw_input: Value,
    result: Value,
    context: &Value,
    variables: &dyn Variables,
) -> Result<Value, EvalError> {
    let combined = apply_result_path(&io.result_path, raw_input, result)?;
    apply_path_owned(&io.output_path, combined, context, variables)
}

/// The whole JSONPath data flow of a Pass state. With a `Result`, AWS skips `InputPath`
/// and `Parameters` (the TestState inspection data records no `afterInputPath` then).
/// Without any data-flow field the input is moved through untouched.
pub fn pass_output(
    io: &DataFlow,
    pass_result: Option<&Value>,
    raw_input: Value,
    context: &Value,
    variables: &dyn Variables,
    entropy: &mut dyn Entropy,
) -> Result<Value, EvalError> {
    // `None`: the result is the raw input itself.
    let result: Option<Value> = match pass_result {
        Some(_) if matches!(io.result_path, OptionalReferencePath::Null) => None,
        Some(r) => Some(r.clone()),
        None => match effective_input(io, &raw_input, context, variables, entropy)? {
            Cow::Owned(v) => Some(v),
            Cow::Borrowed(b) if std::ptr::eq(b, &raw_input) => None,
            Cow::Borrowed(b) => Some(b.clone()),
        },
    };
    let combined = match (&io.result_path, result) {
        (OptionalReferencePath::Null, _) | (OptionalReferencePath::Default, None) => raw_input,
        (OptionalReferencePath::Default, Some(r)) => r,
        (OptionalReferencePath::Path(p), Some(r)) => p.set(raw_input, r)?,
        (OptionalReferencePath::Path(p), None) => {
            let r = raw_input.clone();
            p.set(raw_input, r)?
        }
    };
    apply_path_owned(&io.output_path, combined, context, variables)
}

/// Applies `Parameters` to the effective input (`bindings.input`, after `InputPath`);
/// without a template the input passes through.
pub fn apply_parameters(
    template: Option<&Template>,
    bindings: &Bindings<'_>,
    entropy: &mut dyn Entropy,
) -> Result<Value, EvalError> {
    apply_template(template, bindings, entropy, "Parameters")
}

/// Applies `ResultSelector` to a task result (`bindings.input` is the result).
pub fn apply_result_selector(
    template: Option<&Template>,
    bindings: &Bindings<'_>,
    entropy: &mut dyn Entropy,
) -> Result<Value, EvalError> {
    apply_template(template, bindings, entropy, "ResultSelector")
}

/// The input of one Map iteration: `ItemSelector` (or the legacy `Parameters`) evaluated
/// with `bindings.input` = the Map's effective input and `bindings.context` carrying
/// `Map.Item`; without a selector, the item itself.
pub fn apply_item_selector(
    template: Option<&Template>,
    item: &Value,
    bindings: &Bindings<'_>,
    entropy: &mut dyn Entropy,
) -> Result<Value, EvalError> {
    match template {
        None => Ok(item.clone()),
        Some(t) => t.evaluate(bindings, entropy, "ItemSelector"),
    }
}

fn apply_template(
    template: Option<&Template>,
    bindings: &Bindings<'_>,
    entropy: &mut dyn Entropy,
    field: &str,
) -> Result<Value, EvalError> {
    match template {
        None => Ok(bindings.input.clone()),
        Some(t) => t.evaluate(bindings, entropy, field),
    }
}

fn select_or_invalid<'a>(
    path: &Path,
    bindings: &Bindings<'a>,
) -> Result<Cow<'a, Value>, EvalError> {
    path.find(bindings)
        .map_err(|miss| path.invalid_path_error(&miss))
}

/// Text of a value as AWS quotes it in `…Path` causes: strings bare, the rest as JSON.
fn as_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s),
        other => Cow::Owned(to_json_text(other)),
    }
}

/// `Long.parseLong`: an optional sign and ASCII digits, nothing else.
fn parse_long(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `Integer.parseInt`.
fn parse_int(text: &str) -> Option<i64> {
    parse_long(text).filter(|v| i32::try_from(*v).is_ok())
}

/// `Float.parseFloat`: surrounding whitespace is ignored; `NaN` and `Infinity` parse.
fn parse_float(text: &str) -> Option<f64> {
    let t = text.trim();
    let t = t
        .strip_suffix(['f', 'F', 'd', 'D'])
        .filter(|rest| !rest.is_empty())
        .unwrap_or(t);
    match t {
        "NaN" | "+NaN" | "-NaN" => Some(f64::NAN),
        "Infinity" | "+Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ if t
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
            && t.bytes().any(|b| b.is_ascii_digit()) =>
        {
            t.parse::<f32>().ok().map(f64::from)
        }
        _ => None,
    }
}

/// `SecondsPath` (Wait): a non-negative whole number of seconds.
pub fn seconds_path(path: &Path, bindings: &Bindings<'_>) -> Result<u64, EvalError> {
    let p = path.text();
    let value = path.find(bindings).map_err(|_| {
        EvalError::runtime(format!(
            "The SecondsPath parameter does not reference an input value: {p}"
        ))
    })?;
    let text = as_text(&value);
    let seconds = parse_long(&text).ok_or_else(|| {
        EvalError::runtime(format!(
            "The SecondsPath parameter cannot be parsed as a long value: {p} == {text}"
        ))
    })?;
    if seconds < 0 {
        return Err(EvalError::runtime(format!(
            "The SecondsPath parameter references a negative value: {p} == {text}"
        )));
    }
    check_wait_seconds(seconds)?;
    Ok(seconds.unsigned_abs())
}

/// `TimestampPath` (Wait): an ISO-8601 extended offset date-time.
pub fn timestamp_path(
    path: &Path,
    bindings: &Bindings<'_>,
) -> Result<DateTime<FixedOffset>, EvalError> {
    let p = path.text();
    let value = path.find(bindings).map_err(|_| {
        EvalError::runtime(format!(
            "The TimestampPath parameter does not reference an input value: {p}"
        ))
    })?;
    let text = as_text(&value);
    value.as_str().and_then(timestamp::parse).ok_or_else(|| {
        EvalError::runtime(format!(
            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {p} == {text}"
        ))
    })
}

/// A JSONata `Timestamp` (Wait) result.
pub fn timestamp_value(value: &Value) -> Result<DateTime<FixedOffset>, EvalError> {
    value.as_str().and_then(timestamp::parse).ok_or_else(|| {
        EvalError::query_evaluation(format!(
            "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {}",
            as_text(value)
        ))
    })
}

/// AWS's cause for a Wait whose delay is beyond [`MAX_WAIT_SECONDS`].
pub fn wait_too_long() -> EvalError {
    EvalError::runtime("Wait state delay is too long.")
}

/// Rejects a delay beyond [`MAX_WAIT_SECONDS`].
pub fn check_wait_seconds(seconds: i64) -> Result<(), EvalError> {
    if seconds > MAX_WAIT_SECONDS {
        Err(wait_too_long())
    } else {
        Ok(())
    }
}

/// Milliseconds from `now_millis` until `until` (0 if it has passed), or the "too long"
/// error.
pub fn wait_until_delay_millis(
    until: &DateTime<FixedOffset>,
    now_millis: i64,
) -> Result<u64, EvalError> {
    let delay = until.timestamp_millis().saturating_sub(now_millis).max(0);
    check_wait_seconds(delay / 1000)?;
    Ok(delay.unsigned_abs())
}

/// How long a Wait state waits, in milliseconds from `now_millis`, whatever form its
/// `Seconds`/`Timestamp` field takes.
pub fn wait_delay_millis(
    wait: &Wait,
    bindings: &Bindings<'_>,
    entropy: &mut dyn Entropy,
    now_millis: i64,
) -> Result<u64, EvalError> {
    match wait {
        Wait::Seconds(Dynamic::Fixed(s)) => {
            check_wait_seconds(i64::try_from(*s).unwrap_or(i64::MAX))?;
            Ok(s.saturating_mul(1000))
        }
        Wait::Seconds(Dynamic::Path(p)) => Ok(seconds_path(p, bindings)?.saturating_mul(1000)),
        Wait::Seconds(Dynamic::Jsonata(expr)) => {
            let value = jsonata_value(expr, bindings, entropy, "Seconds")?;
            let seconds = value
                .as_i64()
                .filter(|s| *s >= 0)
                .ok_or_else(|| unexpected_type(expr, "Seconds", "integer", &value))?;
            check_wait_seconds(seconds)?;
            Ok(seconds.unsigned_abs().saturating_mul(1000))
        }
        Wait::Timestamp(Dynamic::Fixed(text)) => {
            let until = timestamp_value(&Value::String(text.clone()))?;
            wait_until_delay_millis(&until, now_millis)
        }
        Wait::Timestamp(Dynamic::Path(p)) => {
            wait_until_delay_millis(&timestamp_path(p, bindings)?, now_millis)
        }
        Wait::Timestamp(Dynamic::Jsonata(expr)) => {
            let value = jsonata_value(expr, bindings, entropy, "Timestamp")?;
            wait_until_delay_millis(&timestamp_value(&value)?, now_millis)
        }
    }
}

/// Evaluates a JSONata field that must produce a value.
pub fn jsonata_value(
    expr: &Expression,
    bindings: &Bindings<'_>,
    entropy: &mut dyn Entropy,
    field: &str,
) -> Result<Value, EvalError> {
    expr.evaluate(bindings, entropy, field)?
        .ok_or_else(|| undefined_error(expr, field))
}

fn unexpected_type(expr: &Expression, field: &str, expected: &str, value: &Value) -> EvalError {
    EvalError::query_evaluation(format!(
        "The JSONata expression '{}' specified for the field '{}' returned an unexpected result type. Expected '{}', but was '{}' for value: {}",
        expr.source(),
        field,
        expected,
        json_type(value),
        to_json_text(value)
    ))
    .at(field)
}

/// A `…Path` field that must reference an integer (`MaxConcurrencyPath`,
/// `ToleratedFailureCountPath`, `TimeoutSecondsPath`, …).
fn integer_path(path: &Path, bindings: &Bindings<'_>, field: &str) -> Result<i64, EvalError> {
    let value = select_or_invalid(path, bindings)?;
    let text = as_text(&value);
    parse_int(&text).ok_or_else(|| {
        EvalError::runtime(format!(
            "The {field} field refers to value \"{text}\" which is not a valid integer: {}",
            path.text()
        ))
    })
}

/// `MaxConcurrencyPath` (Map); 0 means no limit.
pub fn max_concurrency_path(path: &Path, bindings: &Bindings<'_>) -> Result<u64, EvalError> {
    let value = integer_path(path, bindings, "MaxConcurrencyPath")?;
    // AWS leaves such an execution hanging; failing it is the useful deviation.
    u64::try_from(value).map_err(|_| EvalError::runtime("MaxConcurrency cannot be negative."))
}

/// `ToleratedFailureCountPath` (Map).
pub fn tolerated_failure_count_path(
    path: &Path,
    bindings: &Bindings<'_>,
) -> Result<u64, EvalError> {
    check_tolerated_failure_count(integer_path(path, bindings, "ToleratedFailureCountPath")?)
}

/// The range check on a `ToleratedFailureCount`, however it was given.
pub fn check_tolerated_failure_count(count: i64) -> Result<u64, EvalError> {
    u64::try_from(count)
        .map_err(|_| EvalError::runtime("ToleratedFailureCount cannot be negative."))
}

/// `ToleratedFailurePercentagePath` (Map).
pub fn tolerated_failure_percentage_path(
    path: &Path,
    bindings: &Bindings<'_>,
) -> Result<f64, EvalError> {
    let value = select_or_invalid(path, bindings)?;
    let text = as_text(&value);
    let percentage = parse_float(&text).ok_or_else(|| {
        EvalError::runtime(format!(
            "The ToleratedFailurePercentagePath field refers to value \"{text}\" which is not a valid float: {}",
            path.text()
        ))
    })?;
    check_tolerated_failure_percentage(percentage)
}

/// The range check on a `ToleratedFailurePercentage`, however it was given.
pub fn check_tolerated_failure_percentage(percentage: f64) -> Result<f64, EvalError> {
    if (0.0..=100.0).contains(&percentage) {
        Ok(percentage)
    } else {
        Err(EvalError::runtime(
            "ToleratedFailurePercentage must be between 0 and 100.",
        ))
    }
}

/// `TimeoutSecondsPath` (Task).
pub fn timeout_seconds_path(path: &Path, bindings: &Bindings<'_>) -> Result<u64, EvalError> {
    positive_seconds(
        integer_path(path, bindings, "TimeoutSecondsPath")?,
        "TimeoutSeconds",
    )
}

/// `HeartbeatSecondsPath` (Task).
pub fn heartbeat_seconds_path(path: &Path, bindings: &Bindings<'_>) -> Result<u64, EvalError> {
    positive_seconds(
        integer_path(path, bindings, "HeartbeatSecondsPath")?,
        "HeartbeatSeconds",
    )
}

fn positive_seconds(value: i64, field: &str) -> Result<u64, EvalError> {
    u64::try_from(value)
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| EvalError::runtime(format!("{field} must be a positive integer.")))
}

/// Resolves an integer-valued dynamic Map/Task field (`MaxConcurrency`,
/// `ToleratedFailureCount`, `TimeoutSeconds`, `HeartbeatSeconds`, …) given by `field`
/// (its plain name). Path forms get the path checks above; JSONata forms must produce a
/// non-negative integer.
pub fn resolve_u64(
    dynamic: &Dynamic<u64>,
    field: &str,
    bindings: &Bindings<'_>,
    entropy: &mut dyn Entropy,
) -> Result<u64, EvalError> {
    match dynamic {
        Dynamic::Fixed(v) => Ok(*v),
        Dynamic::Path(p) => match field {
            "MaxConcurrency" => max_concurrency_path(p, bindings),
            "ToleratedFailureCount" => tolerated_failure_count_path(p, bindings),
            "TimeoutSeconds" => timeout_seconds_path(p, bindings),
            "HeartbeatSeconds" => heartbeat_seconds_path(p, bindings),
            other => integer_path(p, bindings, &format!("{other}Path")).and_then(|v| {
                u64::try_from(v)
                    .map_err(|_| EvalError::runtime(format!("{other} cannot be negative.")))
            }),
        },
        Dynamic::Jsonata(expr) => {
            let value = jsonata_value(expr, bindings, entropy, field)?;
            let n = value
                .as_i64()
                .or_else(|| {
                    value
                        .as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                        .map(|f| f as i64)
                })
                .ok_or_else(|| unexpected_type(expr, field, "integer", &value))?;
            match field {
                "ToleratedFailureCount" => check_tolerated_failure_count(n),
                "TimeoutSeconds" | "HeartbeatSeconds" => positive_seconds(n, field),
                _ => u64::try_from(n)
                    .map_err(|_| EvalError::runtime(format!("{field} cannot be negative."))),
            }
        }
    }
}

/// Resolves `ToleratedFailurePercentage` in any of its forms.
pub fn resolve_tolerated_failure_percentage(
    dynamic: &Dynamic<f64>,
    bindings: &Bindings<'_>,
    entropy: &mut dyn Entropy,
) -> Result<f64, EvalError> {
    match dynamic {
        Dynamic::Fixed(v) => check_tolerated_failure_percentage(*v),
        Dynamic::Path(p) => tolerated_failure_percentage_path(p, bindings),
        Dynamic::Jsonata(expr) => {
            let field = "ToleratedFailurePercentage";
            let value = jsonata_value(expr, bindings, entropy, field)?;
            let n = value
                .as_f64()
                .ok_or_else(|| unexpected_type(expr, field, "number", &value))?;
            check_tolerated_failure_percentage(n)
        }
    }
}

/// `ItemsPath` (Map): the items to iterate over.
pub fn items_path(path: &Path, bindings: &Bindings<'_>) -> Result<Vec<Value>, EvalError> {
    match select_or_invalid(path, bindings)? {
        Cow::Owned(Value::Array(items)) => Ok(items),
        Cow::Borrowed(Value::Array(items)) => Ok(items.clone()),
        _ => {
            // AWS names a context path as if it were rooted at `$`.
            let shown = path.text().strip_prefix('$').filter(|t| t.starts_with('$'));
            Err(EvalError::runtime(format!(
                "Reference path \"{}\" must point to array.",
                shown.unwrap_or(path.text())
            )))
        }
    }
}

/// A Fail state's error name (`Error`, `ErrorPath` or JSONata).
pub fn fail_error(
    error: &FailField,
    bindings: &Bindings<'_>,
    entropy: &mut dyn Entropy,
) -> Result<String, EvalError> {
    fail_field(error, bindings, entropy, "Error")
}

/// A Fail state's cause (`Cause`, `CausePath` or JSONata).
pub fn fail_cause(
    cause: &FailField,
    bindings: &Bindings<'_>,
    entropy: &mut dyn Entropy,
) -> Result<String, EvalError> {
    fail_field(cause, bindings, entropy, "Cause")
}

fn fail_field(
    dynamic: &FailField,
    bindings: &Bindings<'_>,
    entropy: &mut dyn Entropy,
    field: &str,
) -> Result<String, EvalError> {
    let value = match dynamic {
        FailField::Fixed(s) => return Ok(s.clone()),
        FailField::Path(p) => p
            .find(bindings)
            .map_err(|miss| p.field_error(&miss, &format!("{field}Path"), bindings.input))?
            .into_owned(),
        FailField::Intrinsic(call) => {
            call.evaluate_for_field(bindings, entropy, &format!("{field}Path"))?
        }
        FailField::Jsonata(expr) => jsonata_value(expr, bindings, entropy, field)?,
    };
    Ok(match value {
        Value::String(s) => s,
        other => to_json_text(&other),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::eval::NoVariables;
    use crate::path::ReferencePath;
    use serde_json::json;

    struct Zero;
    impl Entropy for Zero {
        fn next_u64(&mut self) -> u64 {
            0
        }
        fn now_millis(&self) -> i64 {
            0
        }
    }

    fn b<'a>(input: &'a Value, context: &'a Value) -> Bindings<'a> {
        Bindings {
            input,
            context,
            variables: &NoVariables,
            result: None,
            error_output: None,
        }
    }

    fn path(text: &str) -> Path {
        Path::parse(text).unwrap()
    }

    #[test]
    fn input_and_output_paths() {
        let input = json!({"int-literal": 0, "a": {"b": 1}});
        let ctx = json!({"Execution": {"Input": {"x": 1}}});
        let bind = b(&input, &ctx);
        assert_eq!(
            apply_input_path(&OptionalPath::Path(path("$.a")), &bind).unwrap(),
            json!({"b": 1})
        );
        assert_eq!(
            apply_input_path(&OptionalPath::Null, &bind).unwrap(),
            json!({})
        );
        assert_eq!(
            apply_input_path(&OptionalPath::Default, &bind).unwrap(),
            input
        );
        assert_eq!(
            apply_input_path(&OptionalPath::Path(path("$$.Execution.Input")), &bind).unwrap(),
            json!({"x": 1})
        );
        let e =
            apply_input_path(&OptionalPath::Path(path("$.NoSuchInputPath")), &bind).unwrap_err();
        assert_eq!(e.error, "States.Runtime");
        assert_eq!(
            e.cause,
            "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']"
        );
        let empty = json!({});
        let e = apply_output_path(
            &OptionalPath::Path(path("$.no.such.result.path")),
            &b(&empty, &ctx),
        )
        .unwrap_err();
        assert_eq!(
            e.cause,
            "Invalid path '$.no.such.result.path' : Missing property in path $['no']"
        );
        assert_eq!(
            apply_path_owned(
                &OptionalPath::Path(path("$.a.b")),
                input.clone(),
                &ctx,
                &NoVariables
            )
            .unwrap(),
            json!(1)
        );
    }

    fn io(v: Value) -> DataFlow {
        let mut d = crate::diagnostic::Diagnostics::default();
        let opt = |f: &str| match v.get(f) {
            None => OptionalPath::Default,
            Some(Value::Null) => OptionalPath::Null,
            Some(p) => OptionalPath::Path(path(p.as_str().unwrap())),
        };
        let flow = DataFlow {
            input_path: opt("InputPath"),
            output_path: opt("OutputPath"),
            parameters: v
                .get("Parameters")
                .map(|t| Template::compile_jsonpath(t, "/", &mut d)),
            result_path: match v.get("ResultPath") {
                None => OptionalReferencePath::Default,
                Some(Value::Null) => OptionalReferencePath::Null,
                Some(p) => {
                    OptionalReferencePath::Path(ReferencePath::parse(p.as_str().unwrap()).unwrap())
                }
            },
            ..DataFlow::default()
        };
        assert!(d.is_empty());
        flow
    }

    #[test]
    fn pass_output_matches_the_recorded_steps() {
        let input = json!({"initialData": {"fieldFromInput": "value from input", "otherField": "other"}, "unrelatedData": {"someOtherField": 1234}});
        let ctx = json!({});
        let flow = io(json!({
            "InputPath": "$.initialData",
            "Parameters": {"staticValue": "some value", "inputValue.$": "$.fieldFromInput"},
            "ResultPath": "$.modifiedData"
        }));
        let out = pass_output(&flow, None, input.clone(), &ctx, &NoVariables, &mut Zero).unwrap();
        assert_eq!(
            out,
            json!({"initialData": {"fieldFromInput": "value from input", "otherField": "other"}, "unrelatedData": {"someOtherField": 1234}, "modifiedData": {"staticValue": "some value", "inputValue": "value from input"}})
        );
        let result = json!({"resultKey": "result value"});
        let out = pass_output(
            &flow,
            Some(&result),
            input.clone(),
            &ctx,
            &NoVariables,
            &mut Zero,
        )
        .unwrap();
        assert_eq!(out["modifiedData"], result);
        let plain = io(json!({}));
        assert_eq!(
            pass_output(&plain, None, input.clone(), &ctx, &NoVariables, &mut Zero).unwrap(),
            input
        );
        let whole = io(json!({"ResultPath": "$.copy", "OutputPath": "$.copy.unrelatedData"}));
        assert_eq!(
            pass_output(&whole, None, input.clone(), &ctx, &NoVariables, &mut Zero).unwrap(),
            json!({"someOtherField": 1234})
        );
        let bad = io(json!({"InputPath": "$.nope"}));
        assert!(pass_output(&bad, None, input.clone(), &ctx, &NoVariables, &mut Zero).is_err());
        let effective = effective_input(&plain, &input, &ctx, &NoVariables, &mut Zero).unwrap();
        assert!(matches!(effective, Cow::Borrowed(_)));
        assert_eq!(
            state_output(&whole, input.clone(), json!(1), &ctx, &NoVariables)
                .unwrap_err()
                .error,
            "States.Runtime"
        );
    }

    #[test]
    fn result_path() {
        let p = OptionalReferencePath::Path(ReferencePath::parse("$.modifiedData").unwrap());
        assert_eq!(
            apply_result_path(&p, json!({"a": 1}), json!({"r": 2})).unwrap(),
            json!({"a": 1, "modifiedData": {"r": 2}})
        );
        assert_eq!(
            apply_result_path(&OptionalReferencePath::Null, json!(1), json!(2)).unwrap(),
            json!(1)
        );
        assert_eq!(
            apply_result_path(&OptionalReferencePath::Default, json!(1), json!(2)).unwrap(),
            json!(2)
        );
    }

    #[test]
    fn seconds_path_causes() {
        let ctx = json!({});
        let cases = [
            (
                json!({}),
                Err(
                    "The SecondsPath parameter does not reference an input value: $.input.waitSeconds",
                ),
            ),
            (
                json!({"input": {"waitSeconds": -1}}),
                Err(
                    "The SecondsPath parameter references a negative value: $.input.waitSeconds == -1",
                ),
            ),
            (
                json!({"input": {"waitSeconds": 1.5}}),
                Err(
                    "The SecondsPath parameter cannot be parsed as a long value: $.input.waitSeconds == 1.5",
                ),
            ),
            (
                json!({"input": {"waitSeconds": -1.5}}),
                Err(
                    "The SecondsPath parameter cannot be parsed as a long value: $.input.waitSeconds == -1.5",
                ),
            ),
            (json!({"input": {"waitSeconds": 0}}), Ok(0)),
            (json!({"input": {"waitSeconds": 1}}), Ok(1)),
            (json!({"input": {"waitSeconds": "5"}}), Ok(5)),
            (
                json!({"input": {"waitSeconds": 3_000_000_000u64}}),
                Err("Wait state delay is too long."),
            ),
        ];
        for (input, want) in cases {
            let got = seconds_path(&path("$.input.waitSeconds"), &b(&input, &ctx));
            match want {
                Ok(v) => assert_eq!(got.unwrap(), v),
                Err(cause) => assert_eq!(got.unwrap_err().cause, cause),
            }
        }
    }

    #[test]
    fn timestamp_path_causes() {
        let ctx = json!({});
        for bad in [
            "05-12-2016T21:29:29Z",
            "2016-12-05 21:29:29Z",
            "2016-12-05T21:29:29",
            "2016-12-05T25:29:29Z",
            "2016-13-05T21:29:29Z",
        ] {
            let input = json!({"TimestampValue": bad});
            let e = timestamp_path(&path("$.TimestampValue"), &b(&input, &ctx)).unwrap_err();
            assert_eq!(
                e.cause,
                format!(
                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: $.TimestampValue == {bad}"
                )
            );
            let e = timestamp_value(&json!(bad)).unwrap_err();
            assert_eq!(e.error, "States.QueryEvaluationError");
            assert_eq!(
                e.cause,
                format!(
                    "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {bad}"
                )
            );
        }
        let input = json!({"start_at": "2094-12-10T23:55:51.000Z"});
        let until = timestamp_path(&path("$.start_at"), &b(&input, &ctx)).unwrap();
        // Recorded on 2023-12-13: 24,856 days ahead is too long.
        let now = 1_702_451_357_000;
        assert_eq!(
            wait_until_delay_millis(&until, now).unwrap_err().cause,
            "Wait state delay is too long."
        );
        let soon = timestamp::parse("2023-12-13T07:10:17Z").unwrap();
        assert_eq!(wait_until_delay_millis(&soon, now).unwrap(), 60_000);
    }

    #[test]
    fn map_path_causes() {
        let ctx = json!({});
        let check = |input: Value, f: &dyn Fn(&Bindings<'_>) -> Result<String, EvalError>| {
            f(&b(&input, &ctx)).map_err(|e| e.cause)
        };
        let mc = |bind: &Bindings<'_>| {
            max_concurrency_path(&path("$.MaxConcurrencyValue"), bind).map(|v| v.to_string())
        };
        assert_eq!(
            check(json!({"MaxConcurrencyValue": "NoNumber"}), &mc).unwrap_err(),
            "The MaxConcurrencyPath field refers to value \"NoNumber\" which is not a valid integer: $.MaxConcurrencyValue"
        );
        assert_eq!(
            check(json!({"MaxConcurrencyValue": {}}), &mc).unwrap_err(),
            "The MaxConcurrencyPath field refers to value \"{}\" which is not a valid integer: $.MaxConcurrencyValue"
        );
        assert_eq!(check(json!({"MaxConcurrencyValue": 0}), &mc).unwrap(), "0");
        let tc = |bind: &Bindings<'_>| {
            tolerated_failure_count_path(&path("$.ToleratedFailureCount"), bind)
                .map(|v| v.to_string())
        };
        assert_eq!(
            check(json!({"ToleratedFailureCount": -1}), &tc).unwrap_err(),
            "ToleratedFailureCount cannot be negative."
        );
        assert_eq!(
            check(json!({"ToleratedFailureCount": "NoNumber"}), &tc).unwrap_err(),
            "The ToleratedFailureCountPath field refers to value \"NoNumber\" which is not a valid integer: $.ToleratedFailureCount"
        );
        let tp = |bind: &Bindings<'_>| {
            tolerated_failure_percentage_path(&path("$.ToleratedFailurePercentage"), bind)
                .map(|v| v.to_string())
        };
        for (v, want) in [
            (
                json!(-1.1),
                Err("ToleratedFailurePercentage must be between 0 and 100."),
            ),
            (
                json!(100.1),
                Err("ToleratedFailurePercentage must be between 0 and 100."),
            ),
            (
                json!(-1),
                Err("ToleratedFailurePercentage must be between 0 and 100."),
            ),
            (
                json!({}),
                Err(
                    "The ToleratedFailurePercentagePath field refers to value \"{}\" which is not a valid float: $.ToleratedFailurePercentage",
                ),
            ),
            (json!(1.1), Ok(())),
            (json!(100), Ok(())),
            (json!(0), Ok(())),
        ] {
            let got = check(json!({"ToleratedFailurePercentage": v}), &tp);
            match want {
                Ok(()) => assert!(got.is_ok()),
                Err(cause) => assert_eq!(got.unwrap_err(), cause),
            }
        }
        let e = timeout_seconds_path(&path("$.NoSuchTimeoutSecondsPath"), &b(&json!({}), &ctx))
            .unwrap_err();
        assert_eq!(
            e.cause,
            "Invalid path '$.NoSuchTimeoutSecondsPath' : No results for path: $['NoSuchTimeoutSecondsPath']"
        );
    }

    #[test]
    fn items_path_causes() {
        let input = json!(["fire", "electricity", "grass"]);
        let ctx = json!({"Execution": {"Input": input.clone()}});
        let bind = b(&input, &ctx);
        assert_eq!(
            items_path(&path("$$"), &bind).unwrap_err().cause,
            "Reference path \"$\" must point to array."
        );
        let no_values = json!({"Execution": {"Input": {}}});
        assert_eq!(
            items_path(&path("$$.Execution.Input.values"), &b(&input, &no_values))
                .unwrap_err()
                .cause,
            "Invalid path '$$.Execution.Input.values' : No results for path: $['Execution']['Input']['values']"
        );
        assert_eq!(items_path(&path("$"), &bind).unwrap().len(), 3);
        let obj = json!({"Execution": {"Input": {"a": 1}}});
        assert_eq!(
            items_path(&path("$$.Execution.Input"), &b(&input, &obj))
                .unwrap_err()
                .cause,
            "Reference path \"$.Execution.Input\" must point to array."
        );
    }

    #[test]
    fn fail_fields() {
        let input = json!({"Error": "error string", "Cause": "cause string"});
        let ctx = json!({"State": {"Name": "fail"}});
        let bind = b(&input, &ctx);
        let error = FailField::Path(Path::parse("$.Error").unwrap());
        assert_eq!(
            fail_error(&error, &bind, &mut Zero).unwrap(),
            "error string"
        );
        let cause = FailField::Intrinsic(
            crate::intrinsic::Intrinsic::parse(
                "States.Format('This is a custom error message for {}, caused by {}.', $.Error, $.Cause)",
            )
            .unwrap(),
        );
        assert_eq!(
            fail_cause(&cause, &bind, &mut Zero).unwrap(),
            "This is a custom error message for error string, caused by cause string."
        );
        let missing = FailField::Path(Path::parse("$.ErrorX").unwrap());
        assert_eq!(
            fail_error(&missing, &bind, &mut Zero).unwrap_err().cause,
            "The JSONPath '$.ErrorX' specified for the field 'ErrorPath' could not be found in the input '{\"Error\":\"error string\",\"Cause\":\"cause string\"}'"
        );
        let ctx_path = FailField::Path(Path::parse("$$.State.Name").unwrap());
        assert_eq!(fail_error(&ctx_path, &bind, &mut Zero).unwrap(), "fail");
        assert!(Path::parse("States.Format('x')").is_err());
    }

    #[test]
    fn float_parsing_follows_java() {
        assert_eq!(parse_float("1.1"), Some(f64::from(1.1f32)));
        assert_eq!(parse_float(" 2 "), Some(2.0));
        assert_eq!(parse_float("1e2"), Some(100.0));
        assert!(parse_float("NoNumber").is_none());
        assert!(parse_float("{}").is_none());
        assert!(parse_float("").is_none());
        assert_eq!(parse_long("+5"), Some(5));
        assert!(parse_long("1.0").is_none());
        assert!(parse_int("3000000000").is_none());
    }
}
