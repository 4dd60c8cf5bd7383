//! Which fields each state type takes, and typed reads of field values with AWS's
//! diagnostics.
//!
//! The per-type field lists and the numeric limits were measured against
//! `ValidateStateMachineDefinition` by others (see the report); the wording of each
//! diagnostic is AWS's where it is known.

use serde_json::{Map as JsonMap, Value};

use super::Parser;
use crate::diagnostic::{Diagnostic, code, pointer_join};
use crate::intrinsic::Intrinsic;
use crate::jsonata::Expression;
use crate::model::{Dynamic, FailField, OptionalPath, OptionalReferencePath, QueryLanguage};
use crate::path::{Path, PathRoot, ReferencePath};
use crate::template::Template;

/// Fields every state takes.
pub(super) const COMMON_FIELDS: &[&str] = &["Type", "Comment", "QueryLanguage"];

pub(super) const STATE_TYPES: &[&str] = &[
    "Task", "Wait", "Pass", "Succeed", "Fail", "Choice", "Parallel", "Map",
];

/// The fields each state type takes besides [`COMMON_FIELDS`], whatever the query
/// language (a field of the other language is reported as such, not as unsupported).
pub(super) fn allowed_fields(type_name: &str) -> &'static [&'static str] {
    match type_name {
        "Pass" => &[
            "InputPath",
            "OutputPath",
            "Result",
            "ResultPath",
            "Parameters",
            "Output",
            "Assign",
            "Next",
            "End",
        ],
        "Task" => &[
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "Arguments",
            "Output",
            "Assign",
            "Resource",
            "Credentials",
            "ResultSelector",
            "Retry",
            "Catch",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Next",
            "End",
        ],
        "Wait" => &[
            "InputPath",
            "OutputPath",
            "Output",
            "Assign",
            "Seconds",
            "Timestamp",
            "SecondsPath",
            "TimestampPath",
            "Next",
            "End",
        ],
        "Parallel" => &[
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "Arguments",
            "Output",
            "Assign",
            "ResultSelector",
            "Retry",
            "Catch",
            "Branches",
            "Next",
            "End",
        ],
        "Map" => &[
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "Output",
            "Assign",
            "ResultSelector",
            "Retry",
            "Catch",
            "ItemProcessor",
            "Iterator",
            "ItemsPath",
            "Items",
            "ItemSelector",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "Label",
            "Next",
            "End",
        ],
        "Choice" => &[
            "InputPath",
            "OutputPath",
            "Output",
            "Assign",
            "Choices",
            "Default",
        ],
        "Succeed" => &["InputPath", "OutputPath", "Output"],
        "Fail" => &["Error", "Cause", "ErrorPath", "CausePath"],
        _ => &[],
    }
}

/// The query language a field belongs to, for fields that exist in only one.
pub(super) fn field_language(field: &str) -> Option<QueryLanguage> {
    match field {
        "Arguments" | "Output" | "Items" | "Condition" => Some(QueryLanguage::Jsonata),
        "InputPath"
        | "OutputPath"
        | "ResultPath"
        | "Parameters"
        | "ResultSelector"
        | "Result"
        | "ItemsPath"
        | "TimeoutSecondsPath"
        | "HeartbeatSecondsPath"
        | "SecondsPath"
        | "TimestampPath"
        | "MaxConcurrencyPath"
        | "ToleratedFailurePercentagePath"
        | "ToleratedFailureCountPath"
        | "ErrorPath"
        | "CausePath"
        | "MaxItemsPath"
        | "MaxItemsPerBatchPath"
        | "MaxInputBytesPerBatchPath" => Some(QueryLanguage::JsonPath),
        f if is_jsonpath_choice_field(f) => Some(QueryLanguage::JsonPath),
        _ => None,
    }
}

/// The fields of a JSONPath Choice rule (`Variable`, the comparison operators, And/Or/Not).
pub(super) fn is_jsonpath_choice_field(field: &str) -> bool {
    const OPERATOR_PREFIXES: &[&str] = &["String", "Numeric", "Boolean", "Timestamp"];
    matches!(
        field,
        "Variable"
            | "And"
            | "Or"
            | "Not"
            | "IsNull"
            | "IsPresent"
            | "IsNumeric"
            | "IsString"
            | "IsBoolean"
            | "IsTimestamp"
    ) || OPERATOR_PREFIXES.iter().any(|p| {
        field.strip_prefix(p).is_some_and(|rest| {
            let rest = rest.strip_suffix("Path").unwrap_or(rest);
            matches!(
                rest,
                "Equals"
                    | "LessThan"
                    | "GreaterThan"
                    | "LessThanEquals"
                    | "GreaterThanEquals"
                    | "Matches"
            )
        })
    })
}

pub(super) fn language_mismatch(field: &str, language: QueryLanguage) -> String {
    let other = match language {
        QueryLanguage::JsonPath => QueryLanguage::Jsonata,
        QueryLanguage::Jsonata => QueryLanguage::JsonPath,
    };
    format!(
        "The QueryLanguage is set to '{}', but field '{field}' is only supported for the '{}' QueryLanguage",
        language.as_str(),
        other.as_str()
    )
}

/// The JSON type a field wanted, worded as AWS words it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Expected {
    String,
    Integer,
    Number,
    Boolean,
    Object,
    Array,
}

impl Expected {
    fn text(self) -> &'static str {
        match self {
            Expected::String => "[STRING]",
            Expected::Integer => "Integer",
            Expected::Number => "Number",
            Expected::Boolean => "[BOOLEAN]",
            Expected::Object => "[OBJECT]",
            Expected::Array => "[ARRAY]",
        }
    }
}

/// Resolves a `QueryLanguage` field: absent inherits; exactly `JSONPath` is JSONPath;
/// anything else is JSONata (and a problem unless it is exactly `JSONata`), as AWS does.
pub(super) fn resolve_query_language(
    obj: &JsonMap<String, Value>,
    obj_pointer: &str,
    inherited: QueryLanguage,
) -> (QueryLanguage, Option<Diagnostic>) {
    let pointer = pointer_join(obj_pointer, "QueryLanguage");
    match obj.get("QueryLanguage") {
        None => (inherited, None),
        Some(Value::String(s)) if s == "JSONPath" => (QueryLanguage::JsonPath, None),
        Some(Value::String(s)) if s == "JSONata" => (QueryLanguage::Jsonata, None),
        Some(Value::String(_)) => (
            QueryLanguage::Jsonata,
            Some(Diagnostic::schema(
                "Value should be one of the following: [JSONPath, JSONata]",
                pointer,
            )),
        ),
        Some(_) => (
            QueryLanguage::Jsonata,
            Some(Diagnostic::schema(
                format!("Expected value of type {}", Expected::String.text()),
                pointer,
            )),
        ),
    }
}

/// How a `…Path` field that names a single value (`TimeoutSecondsPath`, `MaxItemsPath`, …)
/// may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ContextAllowed {
    Yes,
    No,
}

impl Parser {
    pub(super) fn type_error(&mut self, expected: Expected, pointer: &str) {
        self.schema_error(
            format!("Expected value of type {}", expected.text()),
            pointer,
        );
    }

    /// Reports the fields of `names` that `obj` lacks, in the order given.
    pub(super) fn required(&mut self, obj: &JsonMap<String, Value>, names: &[&str], pointer: &str) {
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !obj.contains_key(*n))
            .collect();
        if !missing.is_empty() {
            self.schema_error(
                format!("These fields are required: [{}]", missing.join(", ")),
                pointer,
            );
        }
    }

    /// Reports when more than one of `names` is present.
    pub(super) fn exclusive(
        &mut self,
        obj: &JsonMap<String, Value>,
        names: &[&str],
        pointer: &str,
    ) {
        if names.iter().filter(|n| obj.contains_key(**n)).count() > 1 {
            self.schema_error(
                format!(
                    "There should only be one of the following fields: [{}]",
                    names.join(", ")
                ),
                pointer,
            );
        }
    }

    /// Reports when none or more than one of `names` is present.
    pub(super) fn exactly_one(
        &mut self,
        obj: &JsonMap<String, Value>,
        names: &[&str],
        pointer: &str,
    ) {
        match names.iter().filter(|n| obj.contains_key(**n)).count() {
            1 => {}
            0 => self.schema_error(
                format!(
                    "This object should have only one of the following fields: [{}]",
                    names.join(", ")
                ),
                pointer,
            ),
            _ => self.exclusive(obj, names, pointer),
        }
    }

    pub(super) fn string_field<'v>(
        &mut self,
        obj: &'v JsonMap<String, Value>,
        key: &str,
        obj_pointer: &str,
    ) -> Option<&'v str> {
        match obj.get(key)? {
            Value::String(s) => Some(s),
            _ => {
                self.type_error(Expected::String, &pointer_join(obj_pointer, key));
                None
            }
        }
    }

    pub(super) fn bool_field(
        &mut self,
        obj: &JsonMap<String, Value>,
        key: &str,
        obj_pointer: &str,
    ) -> Option<bool> {
        match obj.get(key)? {
            Value::Bool(b) => Some(*b),
            _ => {
                self.type_error(Expected::Boolean, &pointer_join(obj_pointer, key));
                None
            }
        }
    }

    pub(super) fn object_field<'v>(
        &mut self,
        obj: &'v JsonMap<String, Value>,
        key: &str,
        obj_pointer: &str,
    ) -> Option<&'v JsonMap<String, Value>> {
        match obj.get(key)? {
            Value::Object(m) => Some(m),
            _ => {
                self.type_error(Expected::Object, &pointer_join(obj_pointer, key));
                None
            }
        }
    }

    pub(super) fn array_field<'v>(
        &mut self,
        obj: &'v JsonMap<String, Value>,
        key: &str,
        obj_pointer: &str,
    ) -> Option<&'v Vec<Value>> {
        match obj.get(key)? {
            Value::Array(a) => Some(a),
            _ => {
                self.type_error(Expected::Array, &pointer_join(obj_pointer, key));
                None
            }
        }
    }

    /// A non-negative integer within bounds. Integers past `u64` saturate (AWS accepts
    /// huge `MaxConcurrency` values and caps them when running).
    pub(super) fn integer(
        &mut self,
        value: &Value,
        pointer: &str,
        min: u64,
        max: Option<u64>,
    ) -> Option<u64> {
        let Value::Number(n) = value else {
            self.type_error(Expected::Integer, pointer);
            return None;
        };
        let v = if let Some(u) = n.as_u64() {
            u
        } else if n.as_i64().is_some() {
            self.schema_error(format!("Minimum value is {min}"), pointer);
            return None;
        } else {
            match n.as_f64() {
                // Only integers too large for u64 arrive as f64 with no fraction.
                Some(f) if f >= 1.8e19 && f.fract() == 0.0 => u64::MAX,
                _ => {
                    self.type_error(Expected::Integer, pointer);
                    return None;
                }
            }
        };
        if v < min {
            self.schema_error(format!("Minimum value is {min}"), pointer);
            return None;
        }
        if let Some(max) = max
            && v > max
        {
            self.schema_error(format!("Maximum value is {max}"), pointer);
            return None;
        }
        Some(v)
    }

    /// A number within bounds; the bounds print as decimals (`Minimum value is 1.0`).
    pub(super) fn number(
        &mut self,
        value: &Value,
        pointer: &str,
        min: f64,
        max: Option<f64>,
    ) -> Option<f64> {
        let Some(v) = value.as_f64() else {
            self.type_error(Expected::Number, pointer);
            return None;
        };
        if v < min {
            self.schema_error(format!("Minimum value is {min:.1}"), pointer);
            return None;
        }
        if let Some(max) = max
            && v > max
        {
            self.schema_error(format!("Maximum value is {max:.1}"), pointer);
            return None;
        }
        Some(v)
    }

    /// Resolves a `QueryLanguage` field and reports a bad value.
    pub(super) fn query_language_field(
        &mut self,
        obj: &JsonMap<String, Value>,
        obj_pointer: &str,
        inherited: QueryLanguage,
    ) -> QueryLanguage {
        let (language, problem) = resolve_query_language(obj, obj_pointer, inherited);
        if let Some(d) = problem {
            self.schema.push(d);
        }
        language
    }

    /// The expression inside a `{% … %}` string, compiled; `None` (reported) when the
    /// string is not such a template or does not compile.
    pub(super) fn jsonata_expression(&mut self, text: &str, pointer: &str) -> Option<Expression> {
        let Some(source) = Expression::strip_template(text) else {
            self.schema_error("JSONata string must start with {% and end with %}", pointer);
            return None;
        };
        match Expression::parse(source) {
            Ok(e) => Some(e),
            Err(message) => {
                self.schema.push(Diagnostic::new(
                    code::INVALID_JSONATA_EXPRESSION,
                    message,
                    pointer,
                ));
                None
            }
        }
    }

    /// `InputPath`/`OutputPath`: absent, `null`, or a path.
    pub(super) fn optional_path(
        &mut self,
        obj: &JsonMap<String, Value>,
        key: &str,
        obj_pointer: &str,
    ) -> OptionalPath {
        let pointer = pointer_join(obj_pointer, key);
        match obj.get(key) {
            None => OptionalPath::Default,
            Some(Value::Null) => OptionalPath::Null,
            Some(Value::String(s)) => match Path::parse(s) {
                Ok(p) => OptionalPath::Path(p),
                Err(_) => {
                    self.schema_error(
                        format!("The value for the field '{key}' must be a valid JSONPath"),
                        pointer,
                    );
                    OptionalPath::Default
                }
            },
            Some(_) => {
                self.type_error(Expected::String, &pointer);
                OptionalPath::Default
            }
        }
    }

    /// `ResultPath`: absent, `null`, or a reference path.
    pub(super) fn optional_reference_path(
        &mut self,
        obj: &JsonMap<String, Value>,
        key: &str,
        obj_pointer: &str,
    ) -> OptionalReferencePath {
        let pointer = pointer_join(obj_pointer, key);
        match obj.get(key) {
            None => OptionalReferencePath::Default,
            Some(Value::Null) => OptionalReferencePath::Null,
            Some(Value::String(s)) => match ReferencePath::parse(s) {
                Ok(p) => OptionalReferencePath::Path(p),
                Err(_) => {
                    self.schema_error("Value is not a Reference Path", pointer);
                    OptionalReferencePath::Default
                }
            },
            Some(_) => {
                self.type_error(Expected::String, &pointer);
                OptionalReferencePath::Default
            }
        }
    }

    /// A `…Path` field that reads one value from the input or a variable. AWS takes the
    /// context object (`$$`) only in some of them.
    pub(super) fn single_value_path(
        &mut self,
        value: &Value,
        pointer: &str,
        context: ContextAllowed,
    ) -> Option<Path> {
        let Value::String(s) = value else {
            self.type_error(Expected::String, pointer);
            return None;
        };
        let reads_context = s.starts_with("$$");
        match Path::parse(s) {
            Ok(p)
                if p.is_definite()
                    && (context == ContextAllowed::Yes
                        || (*p.root() != PathRoot::Context && !reads_context)) =>
            {
                Some(p)
            }
            _ => {
                self.schema_error("Value is not a Reference Path", pointer);
                None
            }
        }
    }

    /// `ErrorPath`/`CausePath`: a path or an intrinsic function.
    pub(super) fn path_or_intrinsic(
        &mut self,
        value: &Value,
        key: &str,
        pointer: &str,
    ) -> Option<FailField> {
        let Value::String(s) = value else {
            self.type_error(Expected::String, pointer);
            return None;
        };
        let parsed = if Intrinsic::looks_like_call(s) {
            Intrinsic::parse(s).ok().map(FailField::Intrinsic)
        } else {
            Path::parse(s).ok().map(FailField::Path)
        };
        if parsed.is_none() {
            self.schema_error(
                format!(
                    "The value for the field '{key}' must be a valid JSONPath or a valid intrinsic function call"
                ),
                pointer,
            );
        }
        parsed
    }

    /// A payload template in the state's language.
    pub(super) fn template(
        &mut self,
        value: &Value,
        pointer: &str,
        language: QueryLanguage,
    ) -> Template {
        match language {
            QueryLanguage::JsonPath => Template::compile_jsonpath(value, pointer, &mut self.schema),
            QueryLanguage::Jsonata => Template::compile_jsonata(value, pointer, &mut self.schema),
        }
    }

    /// A template field if present.
    pub(super) fn template_field(
        &mut self,
        obj: &JsonMap<String, Value>,
        key: &str,
        obj_pointer: &str,
        language: QueryLanguage,
    ) -> Option<Template> {
        let value = obj.get(key)?;
        Some(self.template(value, &pointer_join(obj_pointer, key), language))
    }

    /// A template field that must be an object (`Assign`, `ResultSelector`, …).
    pub(super) fn object_template_field(
        &mut self,
        obj: &JsonMap<String, Value>,
        key: &str,
        obj_pointer: &str,
        language: QueryLanguage,
    ) -> Option<Template> {
        let value = obj.get(key)?;
        let pointer = pointer_join(obj_pointer, key);
        if !value.is_object() {
            self.type_error(Expected::Object, &pointer);
            return None;
        }
        Some(self.template(value, &pointer, language))
    }

    /// An integer field with an optional `…Path` twin and a JSONata form:
    /// `TimeoutSeconds`/`TimeoutSecondsPath`, `MaxConcurrency`/`MaxConcurrencyPath`, ….
    /// Exclusivity and language are checked by the caller.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn dynamic_integer(
        &mut self,
        obj: &JsonMap<String, Value>,
        key: &str,
        path_key: Option<&str>,
        obj_pointer: &str,
        language: QueryLanguage,
        min: u64,
        max: Option<u64>,
    ) -> Option<Dynamic<u64>> {
        if let Some(value) = obj.get(key) {
            let pointer = pointer_join(obj_pointer, key);
            return match (language, value) {
                (QueryLanguage::Jsonata, Value::String(s)) if s.starts_with("{%") => {
                    self.jsonata_expression(s, &pointer).map(Dynamic::Jsonata)
                }
                _ => self.integer(value, &pointer, min, max).map(Dynamic::Fixed),
            };
        }
        let path_key = path_key?;
        let value = obj.get(path_key)?;
        if language == QueryLanguage::Jsonata {
            return None;
        }
        let pointer = pointer_join(obj_pointer, path_key);
        self.single_value_path(value, &pointer, ContextAllowed::No)
            .map(Dynamic::Path)
    }

    /// A number field with a `…Path` twin and a JSONata form (`ToleratedFailurePercentage`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn dynamic_number(
        &mut self,
        obj: &JsonMap<String, Value>,
        key: &str,
        path_key: &str,
        obj_pointer: &str,
        language: QueryLanguage,
        min: f64,
        max: Option<f64>,
    ) -> Option<Dynamic<f64>> {
        if let Some(value) = obj.get(key) {
            let pointer = pointer_join(obj_pointer, key);
            return match (language, value) {
                (QueryLanguage::Jsonata, Value::String(s)) if s.starts_with("{%") => {
                    self.jsonata_expression(s, &pointer).map(Dynamic::Jsonata)
                }
                _ => self.number(value, &pointer, min, max).map(Dynamic::Fixed),
            };
        }
        let value = obj.get(path_key)?;
        if language == QueryLanguage::Jsonata {
            return None;
        }
        let pointer = pointer_join(obj_pointer, path_key);
        self.single_value_path(value, &pointer, ContextAllowed::No)
            .map(Dynamic::Path)
    }

    /// A string field with a JSONata form (`Error`, `Cause`, `Timestamp`).
    pub(super) fn dynamic_string(
        &mut self,
        value: &Value,
        pointer: &str,
        language: QueryLanguage,
    ) -> Option<Dynamic<String>> {
        match (language, value) {
            (QueryLanguage::Jsonata, Value::String(s)) if s.starts_with("{%") => {
                self.jsonata_expression(s, pointer).map(Dynamic::Jsonata)
            }
            (_, Value::String(s)) => Some(Dynamic::Fixed(s.clone())),
            _ => {
                self.type_error(Expected::String, pointer);
                None
            }
        }
    }

    /// Reports every field of `obj` that is not in `allowed`, at `pointer`.
    pub(super) fn unsupported_fields(
        &mut self,
        obj: &JsonMap<String, Value>,
        allowed: &[&str],
        pointer: &str,
    ) {
        for key in obj.keys() {
            if !allowed.contains(&key.as_str()) {
                self.schema_error(format!("Field '{key}' is not supported"), pointer);
            }
        }
    }

    /// Reports every field of `obj` that belongs to the other query language, at `pointer`.
    pub(super) fn other_language_fields(
        &mut self,
        obj: &JsonMap<String, Value>,
        language: QueryLanguage,
        pointer: &str,
    ) {
        for key in obj.keys() {
            if field_language(key).is_some_and(|l| l != language) {
                self.schema_error(language_mismatch(key, language), pointer);
            }
        }
    }
}
