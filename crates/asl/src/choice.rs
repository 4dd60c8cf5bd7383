//! Choice rules: the JSONPath comparison operators, `And`/`Or`/`Not`, and JSONata
//! `Condition`.
//!
//! Rules are compiled once: operators resolved to an enum, literal timestamps parsed,
//! `StringMatches` patterns split into literal runs. At run time a comparison whose value
//! has the wrong type is simply false (AWS's behaviour, recorded for every operator in the
//! corpus); only a `Variable` (or `…Path` operand) that selects nothing is an error,
//! except for `IsPresent`, which exists to test exactly that.

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Number, Value};

use crate::diagnostic::{Diagnostic, Diagnostics, pointer_join};
use crate::eval::{Bindings, Entropy, EvalError, to_json_text};
use crate::path::Path;
use crate::template::Template;
use crate::timestamp;

#[derive(Debug, Clone)]
pub enum ChoiceRule {
    /// JSONPath rules (`Variable` + one operator, or `And`/`Or`/`Not`).
    Rule(Box<Rule>),
    /// JSONata `Condition`: a `{% %}` expression or a literal boolean. `field` is how AWS
    /// names it in causes: `Choices[1]/Condition`.
    Condition { template: Template, field: String },
}

impl ChoiceRule {
    /// Whether evaluating reads the context object, so the interpreter can skip
    /// building it.
    pub fn uses_context(&self) -> bool {
        match self {
            ChoiceRule::Rule(rule) => rule.uses_context(),
            ChoiceRule::Condition { template, .. } => template.uses_context(),
        }
    }
}

impl Rule {
    fn uses_context(&self) -> bool {
        match self {
            Rule::And(rules) | Rule::Or(rules) => rules.iter().any(Rule::uses_context),
            Rule::Not(rule) => rule.uses_context(),
            Rule::Compare(c) => {
                let operand = match &c.test {
                    Test::String(_, Operand::Path(p))
                    | Test::Numeric(_, Operand::Path(p))
                    | Test::Boolean(Operand::Path(p))
                    | Test::Timestamp(_, Operand::Path(p)) => p.uses_context(),
                    _ => false,
                };
                operand || c.variable.uses_context()
            }
        }
    }
}

/// A compiled JSONPath choice rule.
#[derive(Debug, Clone)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Compare(Box<Comparison>),
}

/// `Variable` plus one operator.
#[derive(Debug, Clone)]
pub struct Comparison {
    variable: Path,
    test: Test,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

impl Cmp {
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Cmp::Equals => ordering == Ordering::Equal,
            Cmp::LessThan => ordering == Ordering::Less,
            Cmp::GreaterThan => ordering == Ordering::Greater,
            Cmp::LessThanEquals => ordering != Ordering::Greater,
            Cmp::GreaterThanEquals => ordering != Ordering::Less,
        }
    }
}

#[derive(Debug, Clone)]
enum Operand<T> {
    Literal(T),
    Path(Path),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Present,
    Numeric,
    String,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone)]
enum Test {
    String(Cmp, Operand<String>),
    Numeric(Cmp, Operand<Number>),
    Boolean(Operand<bool>),
    Timestamp(Cmp, Operand<DateTime<FixedOffset>>),
    Matches(Pattern),
    Is(Kind, bool),
}

/// A `StringMatches` pattern: literal runs separated by `*` wildcards.
#[derive(Debug, Clone)]
struct Pattern {
    /// `parts[0]` must prefix the string, the last part must suffix it (when there is at
    /// least one `*`), and the rest appear in order in between.
    parts: Vec<String>,
}

impl Pattern {
    fn compile(text: &str) -> Pattern {
        let mut parts = vec![String::new()];
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(escaped) => push_last(&mut parts, escaped),
                    None => push_last(&mut parts, '\\'),
                },
                '*' => parts.push(String::new()),
                c => push_last(&mut parts, c),
            }
        }
        Pattern { parts }
    }

    fn matches(&self, s: &str) -> bool {
        let (first, rest) = match self.parts.split_first() {
            Some(split) => split,
            None => return s.is_empty(),
        };
        let Some(mut remaining) = s.strip_prefix(first.as_str()) else {
            return false;
        };
        let Some((last, middle)) = rest.split_last() else {
            return remaining.is_empty();
        };
        for part in middle {
            match remaining.find(part.as_str()) {
                Some(at) => remaining = &remaining[at + part.len()..],
                None => return false,
            }
        }
        remaining.len() >= last.len() && remaining.ends_with(last.as_str())
    }
}

fn push_last(parts: &mut [String], c: char) {
    if let Some(last) = parts.last_mut() {
        last.push(c);
    }
}

/// Fields a rule may carry besides its test; the caller handles them at the top level.
const CALLER_FIELDS: [&str; 4] = ["Next", "Assign", "Comment", "Output"];

impl ChoiceRule {
    /// Compiles one element of `Choices` (JSONPath form), without its `Next`/`Assign`/
    /// `Comment`/`Output`, which the caller handles.
    pub fn compile_jsonpath(
        rule: &Map<String, Value>,
        pointer: &str,
        diagnostics: &mut Diagnostics,
    ) -> ChoiceRule {
        let before = diagnostics.0.len();
        let compiled = compile_rule(rule, pointer, true, diagnostics);
        match compiled {
            Some(rule) if diagnostics.0.len() == before => ChoiceRule::Rule(Box::new(rule)),
            // Something was diagnosed; the machine will not run, any placeholder does.
            _ => ChoiceRule::Rule(Box::new(Rule::Or(Vec::new()))),
        }
    }

    /// Compiles a JSONata `Condition` value.
    pub fn compile_jsonata(
        condition: &Value,
        pointer: &str,
        diagnostics: &mut Diagnostics,
    ) -> ChoiceRule {
        let template = Template::compile_jsonata(condition, pointer, diagnostics);
        match &template {
            Template::Jsonata(_) | Template::Const(Value::Bool(_)) => {}
            _ => diagnostics.push(Diagnostic::schema(
                "The value of the field 'Condition' must be a boolean or a JSONata expression",
                pointer,
            )),
        }
        ChoiceRule::Condition {
            template,
            field: condition_field(pointer),
        }
    }

    pub fn evaluate(
        &self,
        bindings: &Bindings<'_>,
        entropy: &mut dyn Entropy,
    ) -> Result<bool, EvalError> {
        match self {
            ChoiceRule::Rule(rule) => rule.evaluate(bindings),
            ChoiceRule::Condition { template, field } => {
                match template
                    .evaluate(bindings, entropy, field)
                    .map_err(|e| e.at(field))?
                {
                    Value::Bool(b) => Ok(b),
                    other => Err(EvalError::query_evaluation(match template {
                        Template::Jsonata(expr) => format!(
                            "The JSONata expression '{}' specified for the field '{field}' returned an unexpected result type. Expected 'boolean', but was '{}' for value: {}",
                            expr.source(),
                            json_type(&other),
                            to_json_text(&other)
                        ),
                        _ => format!(
                            "The field '{field}' must be a boolean, but was '{}' for value: {}",
                            json_type(&other),
                            to_json_text(&other)
                        ),
                    })),
                }
            }
        }
    }
}

/// `…/Choices/3/Condition` → `Choices[3]/Condition`, the name AWS gives the field.
fn condition_field(pointer: &str) -> String {
    let segments: Vec<&str> = pointer.split('/').collect();
    segments
        .windows(2)
        .rev()
        .find_map(|pair| match pair {
            ["Choices", index] if index.parse::<usize>().is_ok() => {
                Some(format!("Choices[{index}]/Condition"))
            }
            _ => None,
        })
        .unwrap_or_else(|| "Condition".to_owned())
}

/// The JSON type names AWS uses in "unexpected result type" causes.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl Rule {
    pub fn evaluate(&self, bindings: &Bindings<'_>) -> Result<bool, EvalError> {
        match self {
            Rule::And(rules) => {
                for rule in rules {
                    if !rule.evaluate(bindings)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rules) => {
                for rule in rules {
                    if rule.evaluate(bindings)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(rule) => Ok(!rule.evaluate(bindings)?),
            Rule::Compare(c) => c.evaluate(bindings),
        }
    }
}

impl Comparison {
    fn evaluate(&self, bindings: &Bindings<'_>) -> Result<bool, EvalError> {
        let found = self.variable.find(bindings).ok();
        if let Test::Is(Kind::Present, expected) = self.test {
            return Ok(found.is_some() == expected);
        }
        let Some(value) = found else {
            return Err(invalid_value(&self.variable));
        };
        let value: &Value = &value;
        Ok(match &self.test {
            Test::Is(kind, expected) => {
                let is = match kind {
                    Kind::Null => value.is_null(),
                    Kind::Numeric => value.is_number(),
                    Kind::String => value.is_string(),
                    Kind::Boolean => value.is_boolean(),
                    Kind::Timestamp => value.as_str().and_then(timestamp::parse).is_some(),
                    Kind::Present => true,
                };
                is == *expected
            }
            Test::String(cmp, operand) => {
                let Some(s) = value.as_str() else {
                    return Ok(false);
                };
                match operand {
                    Operand::Literal(lit) => compare_strings(*cmp, s, lit),
                    Operand::Path(p) => match resolve(p, bindings)?.as_str() {
                        Some(other) => compare_strings(*cmp, s, other),
                        None => false,
                    },
                }
            }
            Test::Numeric(cmp, operand) => {
                let Value::Number(n) = value else {
                    return Ok(false);
                };
                let ordering = match operand {
                    Operand::Literal(lit) => compare_numbers(n, lit),
                    Operand::Path(p) => match &*resolve(p, bindings)? {
                        Value::Number(other) => compare_numbers(n, other),
                        _ => None,
                    },
                };
                ordering.is_some_and(|o| cmp.holds(o))
            }
            Test::Boolean(operand) => {
                let Value::Bool(b) = value else {
                    return Ok(false);
                };
                match operand {
                    Operand::Literal(lit) => b == lit,
                    Operand::Path(p) => resolve(p, bindings)?.as_bool() == Some(*b),
                }
            }
            Test::Timestamp(cmp, operand) => {
                let Some(t) = value.as_str().and_then(timestamp::parse) else {
                    return Ok(false);
                };
                let other = match operand {
                    Operand::Literal(lit) => Some(*lit),
                    Operand::Path(p) => resolve(p, bindings)?.as_str().and_then(timestamp::parse),
                };
                other.is_some_and(|o| cmp.holds(t.cmp(&o)))
            }
            Test::Matches(pattern) => value.as_str().is_some_and(|s| pattern.matches(s)),
        })
    }
}

fn resolve<'a>(
    path: &Path,
    bindings: &Bindings<'a>,
) -> Result<std::borrow::Cow<'a, Value>, EvalError> {
    path.find(bindings).map_err(|_| invalid_value(path))
}

fn invalid_value(path: &Path) -> EvalError {
    EvalError::runtime(format!(
        "Invalid path '{}': The choice state's condition path references an invalid value.",
        path.text()
    ))
}

/// Java's `String.compareTo`: UTF-16 code unit order.
fn compare_strings(cmp: Cmp, a: &str, b: &str) -> bool {
    if cmp == Cmp::Equals {
        return a == b;
    }
    cmp.holds(a.encode_utf16().cmp(b.encode_utf16()))
}

/// Numeric order: exact for integers, `f64` otherwise (`1` equals `1.0`).
fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (as_i128(a), as_i128(b)) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

fn as_i128(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

fn compile_rule(
    rule: &Map<String, Value>,
    pointer: &str,
    top_level: bool,
    diagnostics: &mut Diagnostics,
) -> Option<Rule> {
    let mut operators: Vec<(&str, &Value)> = Vec::new();
    let mut variable: Option<&Value> = None;
    for (key, value) in rule {
        match key.as_str() {
            "Variable" => variable = Some(value),
            "Comment" => {}
            "Next" if !top_level => diagnostics.push(Diagnostic::schema(
                "Nested choice rules cannot have a 'Next' field",
                pointer_join(pointer, key),
            )),
            k if top_level && CALLER_FIELDS.contains(&k) => {}
            k if k == "And" || k == "Or" || k == "Not" || operator(k).is_some() => {
                operators.push((k, value));
            }
            k => diagnostics.push(Diagnostic::schema(
                format!("Field '{k}' is not supported"),
                pointer_join(pointer, k),
            )),
        }
    }
    let (name, operand) = match operators.as_slice() {
        [one] => *one,
        [] => {
            diagnostics.push(Diagnostic::schema(
                "A choice rule must contain exactly one comparison operator, or And, Or or Not",
                pointer,
            ));
            return None;
        }
        _ => {
            let names: Vec<&str> = operators.iter().map(|(n, _)| *n).collect();
            diagnostics.push(Diagnostic::schema(
                format!(
                    "A choice rule must contain exactly one comparison operator, or And, Or or Not, but has: [{}]",
                    names.join(", ")
                ),
                pointer,
            ));
            return None;
        }
    };
    let here = pointer_join(pointer, name);
    match name {
        "And" | "Or" => {
            if variable.is_some() {
                diagnostics.push(Diagnostic::schema(
                    format!("A choice rule with '{name}' cannot have a 'Variable'"),
                    pointer_join(pointer, "Variable"),
                ));
            }
            let Some(items) = operand.as_array().filter(|a| !a.is_empty()) else {
                diagnostics.push(Diagnostic::schema(
                    format!("The value of '{name}' must be a non-empty array of choice rules"),
                    here,
                ));
                return None;
            };
            let mut rules = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let item_pointer = pointer_join(&here, &i.to_string());
                match item.as_object() {
                    Some(map) => rules.push(compile_rule(map, &item_pointer, false, diagnostics)?),
                    None => {
                        diagnostics.push(Diagnostic::schema(
                            "A choice rule must be an object",
                            item_pointer,
                        ));
                        return None;
                    }
                }
            }
            Some(if name == "And" {
                Rule::And(rules)
            } else {
                Rule::Or(rules)
            })
        }
        "Not" => {
            if variable.is_some() {
                diagnostics.push(Diagnostic::schema(
                    "A choice rule with 'Not' cannot have a 'Variable'",
                    pointer_join(pointer, "Variable"),
                ));
            }
            let Some(map) = operand.as_object() else {
                diagnostics.push(Diagnostic::schema(
                    "The value of 'Not' must be a choice rule object",
                    here,
                ));
                return None;
            };
            Some(Rule::Not(Box::new(compile_rule(
                map,
                &here,
                false,
                diagnostics,
            )?)))
        }
        op => {
            let variable = match variable {
                None => {
                    diagnostics.push(Diagnostic::schema(
                        "The field 'Variable' is required but was missing",
                        pointer,
                    ));
                    return None;
                }
                Some(v) => compile_path(
                    v,
                    "Variable",
                    &pointer_join(pointer, "Variable"),
                    diagnostics,
                )?,
            };
            let test = compile_test(op, operand, &here, diagnostics)?;
            Some(Rule::Compare(Box::new(Comparison { variable, test })))
        }
    }
}

/// What an operator name means: its family, comparison and whether it takes a path.
#[derive(Clone, Copy)]
enum Family {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

enum Operator {
    Compare(Family, Cmp, bool),
    Matches,
    Is(Kind),
}

fn operator(name: &str) -> Option<Operator> {
    let is = match name {
        "IsNull" => Some(Kind::Null),
        "IsPresent" => Some(Kind::Present),
        "IsNumeric" => Some(Kind::Numeric),
        "IsString" => Some(Kind::String),
        "IsBoolean" => Some(Kind::Boolean),
        "IsTimestamp" => Some(Kind::Timestamp),
        _ => None,
    };
    if let Some(kind) = is {
        return Some(Operator::Is(kind));
    }
    if name == "StringMatches" {
        return Some(Operator::Matches);
    }
    let (name, is_path) = match name.strip_suffix("Path") {
        Some(n) => (n, true),
        None => (name, false),
    };
    let (family, rest) = [
        ("String", Family::String),
        ("Numeric", Family::Numeric),
        ("Boolean", Family::Boolean),
        ("Timestamp", Family::Timestamp),
    ]
    .into_iter()
    .find_map(|(prefix, family)| name.strip_prefix(prefix).map(|rest| (family, rest)))?;
    let cmp = match rest {
        "Equals" => Cmp::Equals,
        "LessThan" => Cmp::LessThan,
        "GreaterThan" => Cmp::GreaterThan,
        "LessThanEquals" => Cmp::LessThanEquals,
        "GreaterThanEquals" => Cmp::GreaterThanEquals,
        _ => return None,
    };
    if matches!(family, Family::Boolean) && cmp != Cmp::Equals {
        return None;
    }
    Some(Operator::Compare(family, cmp, is_path))
}

fn compile_test(
    name: &str,
    operand: &Value,
    pointer: &str,
    diagnostics: &mut Diagnostics,
) -> Option<Test> {
    // AWS's schema wording for a value of the wrong JSON type.
    let mut wrong = |what: &str| {
        diagnostics.push(Diagnostic::schema(
            format!("Expected value of type [{what}]"),
            pointer,
        ));
        None
    };
    match operator(name)? {
        Operator::Is(kind) => match operand {
            Value::Bool(b) => Some(Test::Is(kind, *b)),
            _ => wrong("BOOLEAN"),
        },
        Operator::Matches => match operand {
            Value::String(s) => Some(Test::Matches(Pattern::compile(s))),
            _ => wrong("STRING"),
        },
        Operator::Compare(family, cmp, true) => {
            let path = compile_path(operand, name, pointer, diagnostics)?;
            Some(match family {
                Family::String => Test::String(cmp, Operand::Path(path)),
                Family::Numeric => Test::Numeric(cmp, Operand::Path(path)),
                Family::Boolean => Test::Boolean(Operand::Path(path)),
                Family::Timestamp => Test::Timestamp(cmp, Operand::Path(path)),
            })
        }
        Operator::Compare(family, cmp, false) => match (family, operand) {
            (Family::String, Value::String(s)) => {
                Some(Test::String(cmp, Operand::Literal(s.clone())))
            }
            (Family::Numeric, Value::Number(n)) => {
                Some(Test::Numeric(cmp, Operand::Literal(n.clone())))
            }
            (Family::Boolean, Value::Bool(b)) => Some(Test::Boolean(Operand::Literal(*b))),
            (Family::Timestamp, Value::String(s)) => match timestamp::parse(s) {
                Some(t) => Some(Test::Timestamp(cmp, Operand::Literal(t))),
                None => {
                    diagnostics.push(Diagnostic::schema(
                        format!(
                            "The value of '{name}' must be an ISO-8601 extended offset date-time"
                        ),
                        pointer,
                    ));
                    None
                }
            },
            (Family::String | Family::Timestamp, _) => wrong("STRING"),
            (Family::Numeric, _) => wrong("NUMBER"),
            (Family::Boolean, _) => wrong("BOOLEAN"),
        },
    }
}

fn compile_path(
    value: &Value,
    field: &str,
    pointer: &str,
    diagnostics: &mut Diagnostics,
) -> Option<Path> {
    match value.as_str().map(Path::parse) {
        Some(Ok(path)) => Some(path),
        _ => {
            diagnostics.push(Diagnostic::schema(
                format!("The value for the field '{field}' must be a valid JSONPath"),
                pointer,
            ));
            None
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::eval::NoVariables;
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

    fn rule(v: Value) -> ChoiceRule {
        let mut d = Diagnostics::default();
        let r = ChoiceRule::compile_jsonpath(v.as_object().unwrap(), "/States/C/Choices/0", &mut d);
        assert!(d.is_empty(), "{d:?}");
        r
    }

    fn check(r: &ChoiceRule, input: Value) -> Result<bool, EvalError> {
        let ctx = json!({});
        let b = Bindings {
            input: &input,
            context: &ctx,
            variables: &NoVariables,
            result: None,
            error_output: None,
        };
        r.evaluate(&b, &mut Zero)
    }

    fn diagnose(v: Value) -> Vec<String> {
        let mut d = Diagnostics::default();
        ChoiceRule::compile_jsonpath(v.as_object().unwrap(), "/p", &mut d);
        d.0.into_iter().map(|d| d.message).collect()
    }

    #[test]
    fn type_mismatches_are_false() {
        let r = rule(json!({"Variable": "$.v", "NumericEquals": 0, "Next": "X"}));
        assert!(check(&r, json!({"v": 0.0})).unwrap());
        assert!(!check(&r, json!({"v": "0"})).unwrap());
        assert!(!check(&r, json!({"v": false})).unwrap());
        let r = rule(json!({"Variable": "$.v", "BooleanEquals": false}));
        assert!(check(&r, json!({"v": false})).unwrap());
        assert!(!check(&r, json!({"v": 0})).unwrap());
    }

    #[test]
    fn comparisons() {
        let r = rule(json!({"Variable": "$.a", "StringLessThanPath": "$.b"}));
        assert!(check(&r, json!({"a": "A", "b": "AB"})).unwrap());
        assert!(!check(&r, json!({"a": "AB", "b": "A"})).unwrap());
        let r = rule(json!({"Variable": "$.a", "NumericGreaterThanEquals": 20}));
        assert!(check(&r, json!({"a": 22})).unwrap());
        assert!(check(&r, json!({"a": 20.0})).unwrap());
        assert!(!check(&r, json!({"a": 19.99})).unwrap());
        let r = rule(json!({"Variable": "$.t", "TimestampLessThan": "2012-10-09T19:00:56Z"}));
        assert!(check(&r, json!({"t": "2012-10-09T19:00:55Z"})).unwrap());
        assert!(!check(&r, json!({"t": "2012-10-09 19:00:55Z"})).unwrap());
        let r = rule(json!({"Variable": "$.t", "IsTimestamp": true}));
        assert!(check(&r, json!({"t": "2012-10-09T19:00:55+01:00"})).unwrap());
        assert!(!check(&r, json!({"t": "2012-10-09T19:00:55"})).unwrap());
    }

    #[test]
    fn string_matches() {
        for (pattern, s, want) in [
            ("*.log", "a.log", true),
            ("*.log", "a.txt", false),
            ("log-*.txt", "log-2024.txt", true),
            ("a*b*c", "abc", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "acb", false),
            ("a\\*b", "a*b", true),
            ("a\\*b", "aXb", false),
            ("*", "", true),
            ("", "", true),
            ("ab*ba", "aba", false),
            ("a\\\\b", "a\\b", true),
        ] {
            let r = rule(json!({"Variable": "$.s", "StringMatches": pattern}));
            assert_eq!(check(&r, json!({"s": s})).unwrap(), want, "{pattern} ~ {s}");
        }
    }

    #[test]
    fn composites() {
        let r = rule(json!({
            "And": [
                {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                {"Not": {"Variable": "$.value", "NumericGreaterThanEquals": 30}}
            ]
        }));
        assert!(check(&r, json!({"value": 22})).unwrap());
        assert!(!check(&r, json!({"value": 30})).unwrap());
        let r = rule(json!({"Or": [
            {"Variable": "$.a", "IsPresent": true},
            {"Variable": "$.b", "IsNull": true}
        ]}));
        assert!(check(&r, json!({"b": null})).unwrap());
        assert!(check(&r, json!({"a": 1})).unwrap());
    }

    #[test]
    fn missing_variables() {
        let r = rule(json!({"Variable": "$.nope", "IsPresent": false}));
        assert!(check(&r, json!({})).unwrap());
        let r = rule(json!({"Variable": "$.nope", "StringEquals": "x"}));
        let e = check(&r, json!({})).unwrap_err();
        assert_eq!(e.error, "States.Runtime");
        assert_eq!(
            e.cause,
            "Invalid path '$.nope': The choice state's condition path references an invalid value."
        );
        let r = rule(json!({"Variable": "$.a", "NumericEqualsPath": "$.b"}));
        assert!(check(&r, json!({"a": 1})).is_err());
    }

    #[test]
    fn malformed_rules() {
        assert_eq!(
            diagnose(json!({"StringEquals": "x"})),
            vec!["The field 'Variable' is required but was missing"]
        );
        assert_eq!(diagnose(json!({"Variable": "$.a"})).len(), 1);
        assert_eq!(
            diagnose(json!({"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1})).len(),
            1
        );
        assert_eq!(
            diagnose(json!({"Variable": "$.a", "NumericEquals": "1"})),
            vec!["Expected value of type [NUMBER]"]
        );
        assert_eq!(
            diagnose(json!({"Variable": "$.a", "TimestampEquals": "yesterday"})).len(),
            1
        );
        assert_eq!(diagnose(json!({"Variable": "a", "IsNull": true})).len(), 1);
        assert_eq!(diagnose(json!({"And": []})).len(), 1);
        assert_eq!(
            diagnose(json!({"And": [{"Variable": "$.a", "IsNull": true, "Next": "X"}]})).len(),
            1
        );
        assert_eq!(
            diagnose(json!({"Variable": "$.a", "BooleanLessThan": true})).len(),
            2
        );
        assert_eq!(diagnose(json!({"Not": [1]})).len(), 1);
    }

    #[test]
    fn condition_field_names() {
        assert_eq!(
            condition_field("/States/C/Choices/1/Condition"),
            "Choices[1]/Condition"
        );
        assert_eq!(
            condition_field("/States/C/Choices/0"),
            "Choices[0]/Condition"
        );
        assert_eq!(condition_field("/x"), "Condition");
    }

    #[test]
    fn constant_condition() {
        let mut d = Diagnostics::default();
        let r = ChoiceRule::compile_jsonata(&json!(true), "/p", &mut d);
        assert!(d.is_empty());
        assert!(check(&r, json!({})).unwrap());
        ChoiceRule::compile_jsonata(&json!("yes"), "/p", &mut d);
        assert_eq!(d.0.len(), 1);
    }
}
