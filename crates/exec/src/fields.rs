//! Reading the numeric and timestamp fields that may be fixed, read through a `…Path`
//! field, or computed by JSONata (`Dynamic`), with AWS's error wording.

use baton_asl::eval::{Bindings, Entropy, EvalError, to_json_text};
use baton_asl::model::Dynamic;
use serde_json::Value;

/// Resolves a `Dynamic` to a JSON value; `field` is the fixed field's name
/// (`TimeoutSeconds`), used as `<field>Path` for the path form.
fn resolve(
    d: &Dynamic<impl Into<Value> + Clone>,
    b: &Bindings<'_>,
    entropy: &mut dyn Entropy,
    field: &str,
) -> Result<(Value, Option<String>), EvalError> {
    match d {
        Dynamic::Fixed(v) => Ok((v.clone().into(), None)),
        Dynamic::Path(p) => match p.select(b) {
            Some(v) => Ok((v, Some(p.text().to_owned()))),
            None => Err(EvalError::runtime(format!(
                "Invalid path '{}' : No results for path: {}",
                p.text(),
                bracket_path(p.text())
            ))),
        },
        Dynamic::Jsonata(e) => match e.evaluate(b, entropy, field)? {
            Some(v) => Ok((v, None)),
            None => Err(EvalError::query_evaluation(format!(
                "The JSONata expression '{}' specified for the field '{field}' returned nothing (undefined).",
                e.source()
            ))),
        },
    }
}

/// `$.a.b` → `$['a']['b']`, the form AWS's path errors print.
pub fn bracket_path(path: &str) -> String {
    let rest = path.trim_start_matches('$');
    let mut out = String::from("$");
    for seg in rest.split('.').filter(|s| !s.is_empty()) {
        out.push_str(&format!("['{seg}']"));
    }
    out
}

/// A non-negative integer field (`TimeoutSeconds`, `HeartbeatSeconds`,
/// `MaxConcurrency`, `ToleratedFailureCount`).
pub fn integer(
    d: &Dynamic<u64>,
    b: &Bindings<'_>,
    entropy: &mut dyn Entropy,
    field: &str,
) -> Result<i64, EvalError> {
    let (v, path) = resolve(d, b, entropy, field)?;
    let n = match &v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    n.ok_or_else(|| match (&path, d) {
        (Some(p), _) => EvalError::runtime(format!(
            "The {field}Path field refers to value \"{}\" which is not a valid integer: {p}",
            plain_text(&v)
        )),
        (None, Dynamic::Jsonata(e)) => EvalError::query_evaluation(format!(
            "The JSONata expression '{}' specified for the field '{field}' returned an unexpected result type. Expected 'integer', but was '{}' for value: {}",
            e.source(),
            type_name(&v),
            to_json_text(&v)
        )),
        _ => EvalError::runtime(format!("The {field} field is not a valid integer")),
    })
}

/// A float field (`ToleratedFailurePercentage`).
pub fn float(
    d: &Dynamic<f64>,
    b: &Bindings<'_>,
    entropy: &mut dyn Entropy,
    field: &str,
) -> Result<f64, EvalError> {
    let (v, path) = resolve(d, b, entropy, field)?;
    let n = match &v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    n.ok_or_else(|| match path {
        Some(p) => EvalError::runtime(format!(
            "The {field}Path field refers to value \"{}\" which is not a valid float: {p}",
            plain_text(&v)
        )),
        None => EvalError::query_evaluation(format!(
            "The field '{field}' returned an unexpected result type. Expected 'number', but was '{}' for value: {}",
            type_name(&v),
            to_json_text(&v)
        )),
    })
}

/// Wait `Seconds`/`SecondsPath`.
pub fn wait_seconds(
    d: &Dynamic<u64>,
    b: &Bindings<'_>,
    entropy: &mut dyn Entropy,
) -> Result<u64, EvalError> {
    if let Dynamic::Path(p) = d {
        let Some(v) = p.select(b) else {
            return Err(EvalError::runtime(format!(
                "The SecondsPath parameter does not reference an input value: {}",
                p.text()
            )));
        };
        return match &v {
            Value::Number(n) => match n.as_i64() {
                Some(i) if i >= 0 => Ok(i as u64),
                Some(_) => Err(EvalError::runtime(format!(
                    "The SecondsPath parameter references a negative value: {} == {}",
                    p.text(),
                    n
                ))),
                None => Err(EvalError::runtime(format!(
                    "The SecondsPath parameter cannot be parsed as a long value: {} == {}",
                    p.text(),
                    n
                ))),
            },
            other => Err(EvalError::runtime(format!(
                "The SecondsPath parameter cannot be parsed as a long value: {} == {}",
                p.text(),
                plain_text(other)
            ))),
        };
    }
    let n = integer(d, b, entropy, "Seconds")?;
    u64::try_from(n).map_err(|_| {
        EvalError::query_evaluation(format!("The Seconds field must be non-negative: {n}"))
    })
}

/// Wait `Timestamp`/`TimestampPath` → milliseconds since the epoch.
pub fn wait_timestamp(
    d: &Dynamic<String>,
    b: &Bindings<'_>,
    entropy: &mut dyn Entropy,
) -> Result<i64, EvalError> {
    match d {
        Dynamic::Path(p) => {
            let v = p.select(b);
            let text = match &v {
                Some(Value::String(s)) => s.clone(),
                Some(other) => plain_text(other),
                None => String::new(),
            };
            match (&v, parse_timestamp(&text)) {
                (Some(Value::String(_)), Some(ms)) => Ok(ms),
                _ => Err(EvalError::runtime(format!(
                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                    p.text(),
                    text
                ))),
            }
        }
        other => {
            let (v, _) = resolve(other, b, entropy, "Timestamp")?;
            let text = match &v {
                Value::String(s) => s.clone(),
                other => plain_text(other),
            };
            parse_timestamp(&text).ok_or_else(|| {
                EvalError::query_evaluation(format!(
                    "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {text}"
                ))
            })
        }
    }
}

/// ISO-8601 extended offset date-time (`2016-03-14T01:59:00Z`, `…+01:00`, fractions).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .filter(|_| text.as_bytes().get(10) == Some(&b'T'))
        .map(|t| t.timestamp_millis())
}

/// A value as AWS prints it inside quotes in messages: strings bare, others as JSON.
fn plain_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => to_json_text(other),
    }
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
