//! Reading EventBridge requests: members by their API-model constraints, with AWS's
//! wording. A member of the wrong JSON type is a `SerializationException` at once;
//! constraint violations are collected in request order and reported together as
//! `ValidationException: N validation error(s) detected: …; …`, naming each member in
//! camelCase with its path (`targets.1.member.id`).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, Utc};
use regex::Regex;
use serde_json::{Map, Value};

use baton_platform::http::ApiError;

/// A string member's constraints from the API model.
#[derive(Clone, Copy, Default)]
pub struct Str {
    pub required: bool,
    pub min: usize,
    pub max: Option<usize>,
    pub pattern: Option<&'static str>,
    /// Allowed values, in the order AWS lists them in its message.
    pub one_of: Option<&'static [&'static str]>,
}

impl Str {
    pub const fn new() -> Str {
        Str {
            required: false,
            min: 0,
            max: None,
            pattern: None,
            one_of: None,
        }
    }
    pub const fn required(mut self) -> Str {
        self.required = true;
        self
    }
    pub const fn len(mut self, min: usize, max: usize) -> Str {
        self.min = min;
        self.max = Some(max);
        self
    }
    pub const fn max(mut self, max: usize) -> Str {
        self.max = Some(max);
        self
    }
    pub const fn pattern(mut self, p: &'static str) -> Str {
        self.pattern = Some(p);
        self
    }
    pub const fn one_of(mut self, values: &'static [&'static str]) -> Str {
        self.one_of = Some(values);
        self
    }
}

/// Collected constraint violations.
#[derive(Default)]
pub struct Violations(Vec<String>);

impl Violations {
    pub fn push(&mut self, v: String) {
        self.0.push(v);
    }

    /// `Ok` when nothing was violated.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(ApiError::validation(format!(
                "1 validation error detected: {}",
                self.0[0]
            ))),
            n => Err(ApiError::validation(format!(
                "{n} validation errors detected: {}",
                self.0.join("; ")
            ))),
        }
    }
}

fn regex_matches(pattern: &'static str, value: &str) -> bool {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, Option<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let Ok(mut cache) = cache.lock() else {
        return true;
    };
    let re = cache
        .entry(pattern)
        .or_insert_with(|| Regex::new(&format!("^(?:{pattern})$")).ok());
    // A pattern Rust's engine cannot compile checks nothing rather than refusing.
    re.as_ref().is_none_or(|r| r.is_match(value))
}

/// `EventBusName` → `eventBusName`, as AWS names members in messages.
fn camel(key: &str) -> String {
    let mut c = key.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "structure",
    }
}

fn wrong_type(field: &str, expected: &str, got: &Value) -> ApiError {
    ApiError::serialization(format!(
        "Expected {expected} for {field}, got {}",
        type_name(got)
    ))
}

/// A JSON object being read, with its member path prefix.
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
}

impl<'a> Obj<'a> {
    pub fn root(map: &'a Map<String, Value>) -> Obj<'a> {
        Obj {
            map,
            prefix: String::new(),
        }
    }

    fn field(&self, key: &str) -> String {
        format!("{}{}", self.prefix, camel(key))
    }

    /// The raw member, `null` treated as absent.
    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn string(
        &self,
        key: &str,
        c: Str,
        errs: &mut Violations,
    ) -> Result<Option<String>, ApiError> {
        let field = self.field(key);
        let s = match self.raw(key) {
            None => {
                if c.required {
                    errs.push(format!(
                        "Value null at '{field}' failed to satisfy constraint: Member must not be null"
                    ));
                }
                return Ok(None);
            }
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(wrong_type(&field, "string", other)),
        };
        check_string(&field, &s, c, errs);
        Ok(Some(s))
    }

    pub fn int(
        &self,
        key: &str,
        min: Option<i64>,
        max: Option<i64>,
        errs: &mut Violations,
    ) -> Result<Option<i64>, ApiError> {
        let field = self.field(key);
        let n = match self.raw(key) {
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_i64().ok_or_else(|| {
                ApiError::serialization(format!("Expected an integer for {field}"))
            })?,
            Some(other) => return Err(wrong_type(&field, "integer", other)),
        };
        if let Some(min) = min
            && n < min
        {
            errs.push(format!(
                "Value '{n}' at '{field}' failed to satisfy constraint: Member must have value greater than or equal to {min}"
            ));
        }
        if let Some(max) = max
            && n > max
        {
            errs.push(format!(
                "Value '{n}' at '{field}' failed to satisfy constraint: Member must have value less than or equal to {max}"
            ));
        }
        Ok(Some(n))
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(wrong_type(&self.field(key), "boolean", other)),
        }
    }

    /// A timestamp: epoch seconds (what SDKs send), or RFC 3339 text.
    pub fn timestamp(
        &self,
        key: &str,
        required: bool,
        errs: &mut Violations,
    ) -> Result<Option<DateTime<Utc>>, ApiError> {
        let field = self.field(key);
        match self.raw(key) {
            None => {
                if required {
                    errs.push(format!(
                        "Value null at '{field}' failed to satisfy constraint: Member must not be null"
                    ));
                }
                Ok(None)
            }
            Some(Value::Number(n)) => {
                let secs = n.as_f64().unwrap_or(f64::NAN);
                if !secs.is_finite() || secs.abs() > 1.0e13 {
                    return Err(ApiError::serialization(format!(
                        "Invalid timestamp for {field}"
                    )));
                }
                let millis = (secs * 1000.0).round() as i64;
                DateTime::<Utc>::from_timestamp_millis(millis)
                    .map(Some)
                    .ok_or_else(|| {
                        ApiError::serialization(format!("Invalid timestamp for {field}"))
                    })
            }
            Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|_| ApiError::serialization(format!("Invalid timestamp for {field}"))),
            Some(other) => Err(wrong_type(&field, "timestamp", other)),
        }
    }

    /// A nested structure.
    pub fn object(
        &self,
        key: &str,
        required: bool,
        errs: &mut Violations,
    ) -> Result<Option<Obj<'a>>, ApiError> {
        let field = self.field(key);
        match self.raw(key) {
            None => {
                if required {
                    errs.push(format!(
                        "Value null at '{field}' failed to satisfy constraint: Member must not be null"
                    ));
                }
                Ok(None)
            }
            Some(Value::Object(map)) => Ok(Some(Obj {
                map,
                prefix: format!("{field}."),
            })),
            Some(other) => Err(wrong_type(&field, "structure", other)),
        }
    }

    /// A list member: its elements and the path prefix of element `i` (1-based, as AWS
    /// counts: `targets.1.member`).
    pub fn list(
        &self,
        key: &str,
        required: bool,
        min: usize,
        max: Option<usize>,
        errs: &mut Violations,
    ) -> Result<Option<Vec<&'a Value>>, ApiError> {
        let field = self.field(key);
        let items = match self.raw(key) {
            None => {
                if required {
                    errs.push(format!(
                        "Value null at '{field}' failed to satisfy constraint: Member must not be null"
                    ));
                }
                return Ok(None);
            }
            Some(Value::Array(a)) => a,
            Some(other) => return Err(wrong_type(&field, "list", other)),
        };
        if items.len() < min {
            errs.push(format!(
                "Value '[]' at '{field}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
            ));
        }
        if let Some(max) = max
            && items.len() > max
        {
            errs.push(format!(
                "Value '{}' at '{field}' failed to satisfy constraint: Member must have length less than or equal to {max}",
                list_text(items)
            ));
        }
        Ok(Some(items.iter().collect()))
    }

    /// Element `i` (0-based) of list `key` as an object.
    pub fn element(&self, key: &str, i: usize, v: &'a Value) -> Result<Obj<'a>, ApiError> {
        let field = format!("{}.{}.member", self.field(key), i + 1);
        match v {
            Value::Object(map) => Ok(Obj {
                map,
                prefix: format!("{field}."),
            }),
            other => Err(wrong_type(&field, "structure", other)),
        }
    }

    /// A list of strings, each checked against `c`.
    pub fn strings(
        &self,
        key: &str,
        required: bool,
        min: usize,
        max: Option<usize>,
        c: Str,
        errs: &mut Violations,
    ) -> Result<Option<Vec<String>>, ApiError> {
        let Some(items) = self.list(key, required, min, max, errs)? else {
            return Ok(None);
        };
        let field = self.field(key);
        let mut out = Vec::with_capacity(items.len());
        for (i, v) in items.into_iter().enumerate() {
            let f = format!("{field}.{}.member", i + 1);
            match v {
                Value::String(s) => {
                    check_string(&f, s, c, errs);
                    out.push(s.clone());
                }
                other => return Err(wrong_type(&f, "string", other)),
            }
        }
        Ok(Some(out))
    }

    /// A map of strings to strings, in request order.
    pub fn string_map(
        &self,
        key: &str,
        max: Option<usize>,
        errs: &mut Violations,
    ) -> Result<Option<Vec<(String, String)>>, ApiError> {
        let field = self.field(key);
        let map = match self.raw(key) {
            None => return Ok(None),
            Some(Value::Object(m)) => m,
            Some(other) => return Err(wrong_type(&field, "map", other)),
        };
        if let Some(max) = max
            && map.len() > max
        {
            errs.push(format!(
                "Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to {max}"
            ));
        }
        let mut out = Vec::with_capacity(map.len());
        for (k, v) in map {
            match v {
                Value::String(s) => out.push((k.clone(), s.clone())),
                other => return Err(wrong_type(&format!("{field}.{k}"), "string", other)),
            }
        }
        Ok(Some(out))
    }

    /// Members not in `known`, kept as given (parameters of targets Baton does not run).
    pub fn others(&self, known: &[&str]) -> Map<String, Value> {
        self.map
            .iter()
            .filter(|(k, _)| !known.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

fn check_string(field: &str, s: &str, c: Str, errs: &mut Violations) {
    let len = s.encode_utf16().count();
    if let Some(max) = c.max
        && len > max
    {
        errs.push(format!(
            "Value '{s}' at '{field}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        ));
    }
    if len < c.min {
        errs.push(format!(
            "Value '{s}' at '{field}' failed to satisfy constraint: Member must have length greater than or equal to {}",
            c.min
        ));
    }
    if let Some(p) = c.pattern
        && !regex_matches(p, s)
    {
        errs.push(format!(
            "Value '{s}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: {p}"
        ));
    }
    if let Some(values) = c.one_of
        && !values.contains(&s)
    {
        errs.push(format!(
            "Value '{s}' at '{field}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            values.join(", ")
        ));
    }
}

/// How AWS's Java service renders a list of request entries in a message.
fn list_text(items: &[Value]) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            Value::Object(m) if m.contains_key("Source") || m.contains_key("DetailType") => {
                let s = |k: &str| {
                    m.get(k)
                        .map(|v| match v {
                            Value::String(s) => s.clone(),
                            Value::Null => "null".into(),
                            other => other.to_string(),
                        })
                        .unwrap_or_else(|| "null".into())
                };
                format!(
                    "PutEventsRequestEntry(time={}, source={}, resources={}, detailType={}, detail={}, eventBusName={}, traceHeader={}, kmsKeyIdentifier=null, internalMetadata=null)",
                    s("Time"),
                    s("Source"),
                    s("Resources"),
                    s("DetailType"),
                    s("Detail"),
                    s("EventBusName"),
                    s("TraceHeader")
                )
            }
            other => other.to_string(),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn violations_are_worded_and_counted_like_aws() {
        let body = json!({"Name": "This should fail with two errors 123467890123412341234123412341234", "AuthorizationType": "INVALID"});
        let obj = Obj::root(body.as_object().unwrap());
        let mut errs = Violations::default();
        obj.string(
            "Name",
            Str::new()
                .required()
                .len(1, 64)
                .pattern(r"[\.\-_A-Za-z0-9]+"),
            &mut errs,
        )
        .unwrap();
        obj.string(
            "AuthorizationType",
            Str::new()
                .required()
                .one_of(&["BASIC", "OAUTH_CLIENT_CREDENTIALS", "API_KEY"]),
            &mut errs,
        )
        .unwrap();
        let e = errs.finish().unwrap_err();
        assert_eq!(e.code, "ValidationException");
        assert_eq!(
            e.message,
            r"3 validation errors detected: Value 'This should fail with two errors 123467890123412341234123412341234' at 'name' failed to satisfy constraint: Member must have length less than or equal to 64; Value 'This should fail with two errors 123467890123412341234123412341234' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+; Value 'INVALID' at 'authorizationType' failed to satisfy constraint: Member must satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]"
        );
    }

    #[test]
    fn nested_members_are_named_by_path_and_wrong_types_are_serialization_errors() {
        let body = json!({"Targets": [{"Id": "!@#$@!#$", "Arn": "a"}], "Rule": 5});
        let obj = Obj::root(body.as_object().unwrap());
        let mut errs = Violations::default();
        let items = obj
            .list("Targets", true, 1, Some(100), &mut errs)
            .unwrap()
            .unwrap();
        let t = obj.element("Targets", 0, items[0]).unwrap();
        t.string(
            "Id",
            Str::new()
                .required()
                .len(1, 64)
                .pattern(r"[\.\-_A-Za-z0-9]+"),
            &mut errs,
        )
        .unwrap();
        assert_eq!(
            errs.finish().unwrap_err().message,
            r"1 validation error detected: Value '!@#$@!#$' at 'targets.1.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+"
        );
        let mut errs = Violations::default();
        let e = obj.string("Rule", Str::new(), &mut errs).unwrap_err();
        assert_eq!(e.code, "SerializationException");
    }
}
