//! The reference matcher: one pattern, one parsed event, no cleverness.
//!
//! It states EventBridge's semantics as directly as possible (flatten the event
//! into `(path, value, trail)` leaves; every field of some branch must find a
//! satisfying leaf, consistently across arrays). The compiled
//! [`crate::Matcher`] is tested against it.

use serde_json::Value;

use crate::consistency::{self, Step};
use crate::pattern::{Branch, Pattern};
use crate::value::Leaf;

/// An owned leaf of a parsed event.
pub(crate) struct OwnedLeaf {
    pub(crate) path: String,
    pub(crate) value: OwnedValue,
    pub(crate) trail: Vec<Step>,
}

pub(crate) enum OwnedValue {
    Str(String),
    Num(String),
    True,
    False,
    Null,
}

impl OwnedValue {
    pub(crate) fn leaf(&self) -> Leaf<'_> {
        match self {
            OwnedValue::Str(s) => Leaf::Str(s),
            OwnedValue::Num(n) => Leaf::Num(n),
            OwnedValue::True => Leaf::True,
            OwnedValue::False => Leaf::False,
            OwnedValue::Null => Leaf::Null,
        }
    }
}

/// Flattens an event: object keys join with `.`, arrays add a trail step.
pub(crate) fn flatten(event: &Value) -> Vec<OwnedLeaf> {
    let mut out = Vec::new();
    let mut next_array = 0u32;
    walk(event, "", &mut Vec::new(), &mut next_array, &mut out);
    out
}

fn walk(
    v: &Value,
    path: &str,
    trail: &mut Vec<Step>,
    next_array: &mut u32,
    out: &mut Vec<OwnedLeaf>,
) {
    let scalar = match v {
        Value::Object(map) => {
            for (k, child) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(child, &p, trail, next_array, out);
            }
            return;
        }
        Value::Array(items) => {
            let id = *next_array;
            *next_array += 1;
            for (i, item) in items.iter().enumerate() {
                trail.push((id, u32::try_from(i).unwrap_or(u32::MAX)));
                walk(item, path, trail, next_array, out);
                trail.pop();
            }
            return;
        }
        Value::String(s) => OwnedValue::Str(s.clone()),
        Value::Number(n) => OwnedValue::Num(n.to_string()),
        Value::Bool(true) => OwnedValue::True,
        Value::Bool(false) => OwnedValue::False,
        Value::Null => OwnedValue::Null,
    };
    out.push(OwnedLeaf {
        path: path.to_owned(),
        value: scalar,
        trail: trail.clone(),
    });
}

pub(crate) fn matches(pattern: &Pattern, event: &Value) -> bool {
    let leaves = flatten(event);
    pattern
        .branches()
        .iter()
        .any(|b| branch_matches(b, &leaves))
}

pub(crate) fn branch_matches(branch: &Branch, leaves: &[OwnedLeaf]) -> bool {
    let mut picks: Vec<Vec<&[Step]>> = Vec::new();
    for field in branch.fields() {
        let at_path: Vec<&OwnedLeaf> = leaves.iter().filter(|l| l.path == field.path()).collect();
        if at_path.is_empty() {
            if field.allows_absence() {
                continue;
            }
            return false;
        }
        let satisfying: Vec<&[Step]> = at_path
            .iter()
            .filter(|l| {
                let leaf = l.value.leaf();
                field.matchers().iter().any(|m| m.matches_leaf(&leaf))
            })
            .map(|l| l.trail.as_slice())
            .collect();
        if satisfying.is_empty() {
            return false;
        }
        picks.push(satisfying);
    }
    consistency::consistent(&picks)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(p: &str, e: Value) -> bool {
        Pattern::parse(p).unwrap().matches_json(&e)
    }

    #[test]
    fn basics() {
        assert!(m(r#"{"a": ["x"]}"#, json!({"a": "x"})));
        assert!(m(r#"{"a": ["x"]}"#, json!({"a": ["y", "x"]})));
        assert!(!m(r#"{"a": [null]}"#, json!({"a": []})));
        assert!(m(r#"{"a": [{"exists": false}]}"#, json!({"a": {"b": 1}})));
        assert!(!m(r#"{"a": [{"exists": true}]}"#, json!({"a": {"b": 1}})));
        assert!(m(r#"{"a": {"b": ["x"]}}"#, json!({"a.b": "x"})));
        assert!(m(r#"{"a.b": ["x"]}"#, json!({"a": {"b": "x"}})));
        assert!(m(r#"{"n": [300]}"#, json!({"n": 300.0})));
    }

    #[test]
    fn arrays_are_consistent() {
        let e = json!({"employees": [
            {"first": "John", "last": "Doe"},
            {"first": "Anna", "last": "Smith"},
            {"first": "Peter", "last": "Jones"}]});
        assert!(m(r#"{"employees": {"first": ["Anna"]}}"#, e.clone()));
        assert!(m(
            r#"{"employees": {"first": ["Anna"], "last": ["Smith"]}}"#,
            e.clone()
        ));
        assert!(!m(
            r#"{"employees": {"first": ["Anna"], "last": ["Jones"]}}"#,
            e
        ));
    }
}
