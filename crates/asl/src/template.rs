//! Payload templates: `Parameters`, `ResultSelector`, `ItemSelector`, `Assign`,
//! `Arguments`, `Output`, …
//!
//! One compiled form serves both query languages. In JSONPath mode a key ending in `.$`
//! takes its value from a path or an intrinsic function; in JSONata mode a string
//! `{% … %}` is an expression. Everything else is a constant, and constant subtrees are
//! folded at compile time so evaluating them is a single clone.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, Diagnostics, code, pointer_join};
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
        match value {
            Value::Object(map) => {
                let mut entries = Vec::with_capacity(map.len());
                for (key, child) in map {
                    let child_pointer = pointer_join(pointer, key);
                    let entry = match key.strip_suffix(".$") {
                        Some(name) => (
                            name.to_owned(),
                            compile_dynamic(key, child, &child_pointer, diagnostics),
                        ),
                        None => (
                            key.clone(),
                            Template::compile_jsonpath(child, &child_pointer, diagnostics),
                        ),
                    };
                    entries.push(entry);
                }
                fold_object(entries)
            }
            Value::Array(items) => fold_array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        Template::compile_jsonpath(
                            item,
                            &pointer_join(pointer, &i.to_string()),
                            diagnostics,
                        )
                    })
                    .collect(),
            ),
            other => Template::Const(other.clone()),
        }
    }

    /// Compiles a JSONata-mode template (`{% … %}` strings anywhere inside).
    pub fn compile_jsonata(
        value: &Value,
        pointer: &str,
        diagnostics: &mut Diagnostics,
    ) -> Template {
        match value {
            Value::String(s) => match Expression::strip_template(s) {
                Some(source) => match Expression::parse(source) {
                    Ok(expr) => Template::Jsonata(expr),
                    Err(message) => {
                        diagnostics.push(Diagnostic::new(code::INVALID_JSONATA, message, pointer));
                        Template::Const(Value::Null)
                    }
                },
                None => Template::Const(value.clone()),
            },
            Value::Object(map) => fold_object(
                map.iter()
                    .map(|(key, child)| {
                        (
                            key.clone(),
                            Template::compile_jsonata(
                                child,
                                &pointer_join(pointer, key),
                                diagnostics,
                            ),
                        )
                    })
                    .collect(),
            ),
            Value::Array(items) => fold_array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        Template::compile_jsonata(
                            item,
                            &pointer_join(pointer, &i.to_string()),
                            diagnostics,
                        )
                    })
                    .collect(),
            ),
            other => Template::Const(other.clone()),
        }
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
        self.eval(bindings, entropy, &Field::Root(field))
    }

    /// Whether evaluating needs the context object (lets the interpreter skip building it).
    pub fn uses_context(&self) -> bool {
        match self {
            Template::Const(_) => false,
            Template::Object(entries) => entries.iter().any(|(_, t)| t.uses_context()),
            Template::Array(items) => items.iter().any(Template::uses_context),
            Template::Path(p) => p.uses_context(),
            Template::Intrinsic(i) => i.uses_context(),
            // `$states.context` can hide behind aliases; any use of `$states` counts.
            Template::Jsonata(e) => e.source().contains("$states"),
        }
    }

    /// Whether the template has nothing dynamic in it.
    pub fn is_const(&self) -> bool {
        matches!(self, Template::Const(_))
    }

    fn eval(
        &self,
        bindings: &Bindings<'_>,
        entropy: &mut dyn Entropy,
        at: &Field<'_>,
    ) -> Result<Value, EvalError> {
        match self {
            Template::Const(v) => Ok(v.clone()),
            Template::Object(entries) => {
                let mut map = Map::with_capacity(entries.len());
                for (key, child) in entries {
                    let value = child.eval(bindings, entropy, &Field::Key(at, key))?;
                    map.insert(key.clone(), value);
                }
                Ok(Value::Object(map))
            }
            Template::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    out.push(item.eval(bindings, entropy, &Field::Index(at, i))?);
                }
                Ok(Value::Array(out))
            }
            Template::Path(path) => path
                .find(bindings)
                .map(Cow::into_owned)
                .map_err(|miss| path.field_error(&miss, &at.jsonpath_name(), bindings.input)),
            Template::Intrinsic(call) => {
                call.evaluate_with_field(bindings, entropy, || at.jsonpath_name())
            }
            Template::Jsonata(expr) => {
                let field = at.jsonata_name();
                match expr.evaluate(bindings, entropy, &field)? {
                    Some(v) => Ok(v),
                    None => Err(undefined_error(expr, &field)),
                }
            }
        }
    }
}

/// AWS's cause for a JSONata expression that produced no value in `field`.
pub fn undefined_error(expr: &Expression, field: &str) -> EvalError {
    EvalError::query_evaluation(format!(
        "The JSONata expression '{}' specified for the field '{}' returned nothing (undefined).",
        expr.source(),
        field
    ))
    .at(field)
}

/// Where in the definition a template node sits, kept as a chain of borrowed segments so
/// the name is only built when a message needs it.
enum Field<'a> {
    Root(&'a str),
    Key(&'a Field<'a>, &'a str),
    Index(&'a Field<'a>, usize),
}

impl Field<'_> {
    /// JSONPath causes name the innermost `.$` key: `value.$`.
    fn jsonpath_name(&self) -> String {
        match self {
            Field::Root(f) => (*f).to_owned(),
            Field::Key(_, key) => format!("{key}.$"),
            Field::Index(parent, _) => parent.jsonpath_name(),
        }
    }

    /// JSONata causes name the whole route: `Output/result`, `Output/a/b[0]`.
    fn jsonata_name(&self) -> String {
        match self {
            Field::Root(f) => (*f).to_owned(),
            Field::Key(parent, key) => format!("{}/{key}", parent.jsonata_name()),
            Field::Index(parent, i) => format!("{}[{i}]", parent.jsonata_name()),
        }
    }
}

/// The value of a `key.$` field: a path or an intrinsic call.
fn compile_dynamic(
    key: &str,
    value: &Value,
    pointer: &str,
    diagnostics: &mut Diagnostics,
) -> Template {
    let compiled = match value {
        Value::String(text) if Intrinsic::looks_like_call(text) => {
            Intrinsic::parse(text).map(Template::Intrinsic).ok()
        }
        Value::String(text) => Path::parse(text).map(Template::Path).ok(),
        _ => None,
    };
    compiled.unwrap_or_else(|| {
        diagnostics.push(Diagnostic::schema(
            format!(
                "The value for the field '{key}' must be a valid JSONPath or a valid intrinsic function call"
            ),
            pointer,
        ));
        Template::Const(Value::Null)
    })
}

fn fold_object(entries: Vec<(String, Template)>) -> Template {
    if entries.iter().all(|(_, t)| t.is_const()) {
        let mut map = Map::with_capacity(entries.len());
        for (key, t) in entries {
            if let Template::Const(v) = t {
                map.insert(key, v);
            }
        }
        Template::Const(Value::Object(map))
    } else {
        Template::Object(entries)
    }
}

fn fold_array(items: Vec<Template>) -> Template {
    if items.iter().all(Template::is_const) {
        Template::Const(Value::Array(
            items
                .into_iter()
                .filter_map(|t| match t {
                    Template::Const(v) => Some(v),
                    _ => None,
                })
                .collect(),
        ))
    } else {
        Template::Array(items)
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

    fn compile(v: Value) -> Template {
        let mut d = Diagnostics::default();
        let t = Template::compile_jsonpath(&v, "/States/S/Parameters", &mut d);
        assert!(d.is_empty(), "{d:?}");
        t
    }

    fn run(t: &Template, input: Value, context: Value) -> Result<Value, EvalError> {
        let b = Bindings {
            input: &input,
            context: &context,
            variables: &NoVariables,
            result: None,
            error_output: None,
        };
        t.evaluate(&b, &mut Zero, "Parameters")
    }

    #[test]
    fn jsonpath_template() {
        let t = compile(json!({
            "staticValue": "some value",
            "inputValue.$": "$.fieldFromInput",
            "nested": {"ctx.$": "$$.Execution.Name", "list": [1, {"n.$": "$.n"}]},
            "fn.$": "States.Format('x{}', $.n)"
        }));
        let out = run(
            &t,
            json!({"fieldFromInput": "value from input", "n": 3}),
            json!({"Execution": {"Name": "e"}}),
        )
        .unwrap();
        assert_eq!(
            out.to_string(),
            r#"{"staticValue":"some value","inputValue":"value from input","nested":{"ctx":"e","list":[1,{"n":3}]},"fn":"x3"}"#
        );
        assert!(t.uses_context());
    }

    #[test]
    fn constants_fold() {
        let t = compile(json!({"a": [1, {"b": "c"}], "d": null}));
        assert!(t.is_const());
        assert!(!t.uses_context());
        // In JSONata mode `.$` keys and paths are plain strings.
        let mut d = Diagnostics::default();
        let t = Template::compile_jsonata(
            &json!({"constant_jp_input.$": "$", "not": " {% x %} "}),
            "/",
            &mut d,
        );
        assert!(t.is_const() && d.is_empty());
    }

    #[test]
    fn missing_path_cause() {
        let t = compile(json!({"value.$": "$.no_such_jsonpath"}));
        let e = run(&t, json!({"int-literal": 0}), json!({})).unwrap_err();
        assert_eq!(e.error, "States.Runtime");
        assert_eq!(
            e.cause,
            "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found in the input '{\"int-literal\":0}'"
        );
        let t = compile(json!({"outer": {"value.$": "$$.Execution.Input.no_such_jsonpath"}}));
        let e = run(
            &t,
            json!({"int-literal": 0}),
            json!({"Execution": {"Input": {}}}),
        )
        .unwrap_err();
        assert!(e.cause.starts_with(
            "The JSONPath '$$.Execution.Input.no_such_jsonpath' specified for the field 'value.$'"
        ));
    }

    #[test]
    fn invalid_dynamic_values_are_diagnosed() {
        for bad in [
            json!({"a.$": 1}),
            json!({"a.$": "nope"}),
            json!({"a.$": "States.Nope()"}),
        ] {
            let mut d = Diagnostics::default();
            Template::compile_jsonpath(&bad, "/States/S/Parameters", &mut d);
            assert_eq!(d.0.len(), 1);
            assert_eq!(d.0[0].code, code::SCHEMA_VALIDATION_FAILED);
            assert_eq!(
                d.0[0].message,
                "The value for the field 'a.$' must be a valid JSONPath or a valid intrinsic function call"
            );
            assert_eq!(d.0[0].location.as_deref(), Some("/States/S/Parameters/a.$"));
        }
    }

    #[test]
    fn field_names() {
        let root = Field::Root("Output");
        let key = Field::Key(&root, "result");
        let idx = Field::Index(&key, 2);
        assert_eq!(key.jsonata_name(), "Output/result");
        assert_eq!(idx.jsonata_name(), "Output/result[2]");
        assert_eq!(key.jsonpath_name(), "result.$");
        assert_eq!(root.jsonpath_name(), "Output");
    }
}
