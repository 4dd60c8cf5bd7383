//! Moving values between `serde_json` (the rest of Baton) and the engine's `JValue`.
//!
//! JSONata numbers are `f64`; AWS prints an integral number without a fraction (`3`, not
//! `3.0`) and keeps the rest as they are, so integral values go back out as integers.
//! Object key order is kept both ways (`preserve_order` on one side, `IndexMap` on the
//! other), because AWS keeps it and JSONata exposes it (`$keys`, `$each`, `*`).

use std::rc::Rc;

use jsonata_core::value::{JArray, JMap, JValue, with_stack};
use serde_json::{Map, Number, Value};

/// How deeply a result may nest. A recursive JSONata function can build a value
/// thousands of levels deep; `serde_json` recurses when it drops, prints or compares a
/// `Value`, so such a value would overflow a thread's stack later, far from here.
pub(crate) const MAX_RESULT_DEPTH: usize = 1000;

/// A JSON value as the engine sees it. Recursion stays safe for any depth: each level
/// runs through the engine's stack-growing guard.
pub(crate) fn to_jvalue(value: &Value) -> JValue {
    match value {
        Value::Null => JValue::Null,
        Value::Bool(b) => JValue::Bool(*b),
        Value::Number(n) => JValue::Number(number_to_f64(n)),
        Value::String(s) => JValue::String(Rc::from(s.as_str())),
        Value::Array(items) => with_stack(|| {
            let mut flat = true;
            let items: Vec<JValue> = items
                .iter()
                .map(|item| {
                    flat &= !item.is_array();
                    to_jvalue(item)
                })
                .collect();
            // `flat` tells the engine no item is an array, a shortcut it may take in
            // path steps; it is exact here because inputs are never `cons` arrays.
            JValue::Array(JArray::new_flat(items, flat))
        }),
        Value::Object(map) => with_stack(|| {
            let map: JMap = map.iter().map(|(k, v)| (k.clone(), to_jvalue(v))).collect();
            JValue::Object(Rc::new(map))
        }),
    }
}

fn number_to_f64(n: &Number) -> f64 {
    // `as_f64` is `None` only for arbitrary-precision numbers, a feature we do not enable.
    n.as_f64().unwrap_or(f64::NAN)
}

/// Why a JSONata value has no JSON form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unrepresentable {
    /// A function (lambda, built-in or regex) where a value was expected.
    Function,
    /// Infinity or NaN; carries JavaScript's spelling for the message.
    NonFinite(&'static str),
    /// Nested deeper than [`MAX_RESULT_DEPTH`].
    TooDeep,
}

/// The JSON form of a JSONata result; `None` when it is undefined. Undefined items of
/// arrays and undefined values of objects are left out, as `JSON.stringify` leaves them
/// out in the reference implementation.
pub(crate) fn to_json(value: &JValue) -> Result<Option<Value>, Unrepresentable> {
    to_json_at(value, 0)
}

fn to_json_at(value: &JValue, depth: usize) -> Result<Option<Value>, Unrepresentable> {
    if depth > MAX_RESULT_DEPTH {
        return Err(Unrepresentable::TooDeep);
    }
    Ok(Some(match value {
        JValue::Undefined => return Ok(None),
        JValue::Null => Value::Null,
        JValue::Bool(b) => Value::Bool(*b),
        JValue::Number(n) => Value::Number(f64_to_number(*n)?),
        JValue::String(s) => Value::String(s.to_string()),
        JValue::Array(items) => with_stack(|| {
            let mut out = Vec::with_capacity(items.len());
            for item in items.iter() {
                if let Some(v) = to_json_at(item, depth + 1)? {
                    out.push(v);
                }
            }
            Ok(Value::Array(out))
        })?,
        JValue::Object(map) => with_stack(|| {
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map.iter() {
                if let Some(v) = to_json_at(v, depth + 1)? {
                    out.insert(k.clone(), v);
                }
            }
            Ok(Value::Object(out))
        })?,
        JValue::Lambda(_) | JValue::Builtin { .. } | JValue::Regex { .. } => {
            return Err(Unrepresentable::Function);
        }
    }))
}

/// 2^63: integral numbers below it in magnitude convert to `i64` exactly.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

fn f64_to_number(n: f64) -> Result<Number, Unrepresentable> {
    if n.is_nan() {
        return Err(Unrepresentable::NonFinite("NaN"));
    }
    if n.is_infinite() {
        return Err(Unrepresentable::NonFinite(if n > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        }));
    }
    if n.fract() == 0.0 && n.abs() < TWO_POW_63 {
        // Exact: the value is integral and in range. `-0.0` becomes `0`, as AWS prints it.
        return Ok(Number::from(n as i64));
    }
    Number::from_f64(n).ok_or(Unrepresentable::NonFinite("NaN"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(v: Value) -> Value {
        to_json(&to_jvalue(&v)).unwrap().unwrap()
    }

    #[test]
    fn integers_print_without_fraction_and_fractions_stay() {
        assert_eq!(round_trip(json!(3.0)).to_string(), "3");
        assert_eq!(round_trip(json!(3.3)).to_string(), "3.3");
        assert_eq!(round_trip(json!(-0.0)).to_string(), "0");
        assert_eq!(
            round_trip(json!(9_007_199_254_740_993_i64)).to_string(),
            "9007199254740992"
        );
        assert_eq!(round_trip(json!(1e300)).to_string(), "1e+300");
    }

    #[test]
    fn key_order_is_kept() {
        let v: Value =
            serde_json::from_str(r#"{"z":1,"a":{"y":2,"b":3},"m":[{"q":1,"c":2}]}"#).unwrap();
        assert_eq!(
            round_trip(v).to_string(),
            r#"{"z":1,"a":{"y":2,"b":3},"m":[{"q":1,"c":2}]}"#
        );
    }

    #[test]
    fn undefined_is_none_and_left_out_of_containers() {
        assert_eq!(to_json(&JValue::Undefined).unwrap(), None);
        let arr = JValue::array(vec![JValue::from(1i64), JValue::Undefined]);
        assert_eq!(to_json(&arr).unwrap(), Some(json!([1])));
    }

    #[test]
    fn functions_and_non_finite_numbers_have_no_json_form() {
        assert_eq!(
            to_json(&JValue::builtin("sum")),
            Err(Unrepresentable::Function)
        );
        let nested = JValue::array(vec![JValue::regex("a", "")]);
        assert_eq!(to_json(&nested), Err(Unrepresentable::Function));
        assert_eq!(
            to_json(&JValue::Number(f64::INFINITY)),
            Err(Unrepresentable::NonFinite("Infinity"))
        );
    }

    #[test]
    fn too_deep_results_are_refused() {
        let mut v = JValue::Null;
        for _ in 0..(MAX_RESULT_DEPTH + 5) {
            v = JValue::array(vec![v]);
        }
        assert_eq!(to_json(&v), Err(Unrepresentable::TooDeep));
    }
}
