//! What a target receives: the whole event, a constant `Input`, the part an
//! `InputPath` selects, or an `InputTransformer` template filled in.
//!
//! Validated once at PutTargets time ([`InputTransform::parse`]), applied at
//! each delivery ([`InputTransform::apply`]).
//!
//! Template rules (as recorded against AWS):
//! * A template whose first non-blank character is `"` is a *string*
//!   template; anything else is a *JSON* template.
//! * A placeholder outside quotes becomes the value's JSON (`"x"`, `{…}`,
//!   `true`); a path that resolves to nothing becomes `""`.
//! * A placeholder inside a quoted string becomes text: strings unquoted (and
//!   escaped to stay inside the string), numbers and booleans as written, a
//!   missing path as nothing. Objects and lists become their JSON with every
//!   `"` removed (`{acc_id:0a787ecb-4015,sf_id:baz}`) in a string template;
//!   in a JSON template AWS delivers nothing at all.
//! * A JSON template whose result is not valid JSON is not delivered.

use serde_json::{Map, Value};

/// Refused at PutTargets: `ValidationException` with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ValidationException: {message}")]
pub struct TargetError {
    pub message: String,
}

impl TargetError {
    pub fn name(&self) -> &'static str {
        "ValidationException"
    }
}

/// The invocation is dropped (AWS delivers nothing, silently).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the input transformation produced nothing deliverable: {0}")]
pub struct NotDelivered(pub String);

/// Values of the reserved variables for one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryContext {
    pub rule_arn: String,
    pub rule_name: String,
    /// When the bus received the event (EventBridge's time format).
    pub ingestion_time: String,
}

/// A target's input configuration, validated.
#[derive(Debug, Clone, PartialEq)]
pub enum InputTransform {
    WholeEvent,
    /// The `Input` JSON text, delivered as given.
    Constant(String),
    Path(JsonPath),
    Template(Template),
}

/// Limits AWS documents for `InputTransformer`.
pub const MAX_PATHS: usize = 100;
pub const MAX_TEMPLATE_CHARS: usize = 8192;
pub const MAX_KEY_CHARS: usize = 256;

const RESERVED: &[&str] = &[
    "aws.events.rule-arn",
    "aws.events.rule-name",
    "aws.events.event.ingestion-time",
    "aws.events.event",
    "aws.events.event.json",
];

impl InputTransform {
    /// Validates a target's `Input` / `InputPath` / `InputTransformer`
    /// (`paths_map` and `template`) as PutTargets does.
    pub fn parse(
        target_id: &str,
        input: Option<&str>,
        input_path: Option<&str>,
        transformer: Option<(&[(String, String)], &str)>,
    ) -> Result<InputTransform, TargetError> {
        let given = usize::from(input.is_some())
            + usize::from(input_path.is_some())
            + usize::from(transformer.is_some());
        if given > 1 {
            return Err(TargetError {
                message: format!(
                    "Only one of Input, InputPath, or InputTransformer must be provided for target {target_id}."
                ),
            });
        }
        if let Some(text) = input {
            if serde_json::from_str::<Value>(text).is_err() {
                return Err(TargetError {
                    message: format!("Input for target {target_id} is not valid JSON."),
                });
            }
            return Ok(InputTransform::Constant(text.to_owned()));
        }
        if let Some(path) = input_path {
            return JsonPath::parse(path)
                .map(InputTransform::Path)
                .ok_or_else(|| TargetError {
                    message: format!("InputPath for target {target_id} is invalid."),
                });
        }
        let Some((paths_map, template)) = transformer else {
            return Ok(InputTransform::WholeEvent);
        };
        Template::parse(target_id, paths_map, template).map(InputTransform::Template)
    }

    /// The body delivered to the target for `event` (the envelope as JSON).
    pub fn apply(&self, event: &Value, ctx: &DeliveryContext) -> Result<String, NotDelivered> {
        match self {
            InputTransform::WholeEvent => Ok(event.to_string()),
            InputTransform::Constant(text) => Ok(text.clone()),
            InputTransform::Path(path) => path
                .select(event)
                .map(|v| v.to_string())
                .ok_or_else(|| NotDelivered(format!("InputPath {} selects nothing", path.text))),
            InputTransform::Template(t) => t.render(event, ctx),
        }
    }
}

/// The JSONPath subset targets use: `$`, `.name`, `['name']`, `[n]`, `.*`, `[*]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
    All,
}

impl JsonPath {
    pub fn parse(text: &str) -> Option<JsonPath> {
        let rest = text.strip_prefix('$')?;
        let mut steps = Vec::new();
        let b = rest.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'.' => {
                    let start = i + 1;
                    let mut j = start;
                    while j < b.len() && b[j] != b'.' && b[j] != b'[' {
                        j += 1;
                    }
                    let name = rest.get(start..j)?;
                    if name.is_empty() {
                        return None;
                    }
                    steps.push(if name == "*" {
                        Step::All
                    } else {
                        Step::Key(name.to_owned())
                    });
                    i = j;
                }
                b'[' => {
                    let close = rest.get(i..)?.find(']')? + i;
                    let inner = rest.get(i + 1..close)?.trim();
                    let step = if inner == "*" {
                        Step::All
                    } else if let Some(q) = inner
                        .strip_prefix('\'')
                        .and_then(|s| s.strip_suffix('\''))
                        .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                    {
                        Step::Key(q.to_owned())
                    } else {
                        Step::Index(inner.parse().ok()?)
                    };
                    steps.push(step);
                    i = close + 1;
                }
                _ => return None,
            }
        }
        Some(JsonPath {
            text: text.to_owned(),
            steps,
        })
    }

    /// The selected value: one node as itself, several (through `*`) as a list.
    pub fn select(&self, root: &Value) -> Option<Value> {
        let mut nodes = vec![root];
        let mut many = false;
        for step in &self.steps {
            let mut next = Vec::new();
            for n in nodes {
                match (step, n) {
                    (Step::Key(k), Value::Object(m)) => next.extend(m.get(k)),
                    (Step::Index(i), Value::Array(a)) => next.extend(a.get(*i)),
                    (Step::All, Value::Object(m)) => next.extend(m.values()),
                    (Step::All, Value::Array(a)) => next.extend(a.iter()),
                    _ => {}
                }
            }
            if *step == Step::All {
                many = true;
            }
            nodes = next;
        }
        if many {
            return Some(Value::Array(nodes.into_iter().cloned().collect()));
        }
        nodes.first().map(|v| (*v).clone())
    }
}

/// An `InputTransformer`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    paths: Vec<(String, JsonPath)>,
    pieces: Vec<Piece>,
    /// Starts with `"`: placeholders render as text throughout.
    string_template: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var { name: String, quoted: bool },
}

impl Template {
    fn parse(
        target_id: &str,
        paths_map: &[(String, String)],
        template: &str,
    ) -> Result<Template, TargetError> {
        let fail = |message: String| Err(TargetError { message });
        if paths_map.len() > MAX_PATHS {
            return fail(format!(
                "InputPathsMap for target {target_id} has more than {MAX_PATHS} entries."
            ));
        }
        if template.chars().count() > MAX_TEMPLATE_CHARS {
            return fail(format!(
                "InputTemplate for target {target_id} is longer than {MAX_TEMPLATE_CHARS} characters."
            ));
        }
        let mut paths = Vec::new();
        for (key, path) in paths_map {
            let key_ok = !key.is_empty()
                && key.len() <= MAX_KEY_CHARS
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !key_ok || key.to_ascii_lowercase().starts_with("aws.") {
                return fail(format!(
                    "InputPathsMap for target {target_id} contains invalid key {key}."
                ));
            }
            let Some(p) = JsonPath::parse(path) else {
                return fail(format!(
                    "InputPathsMap for target {target_id} contains invalid path {path}."
                ));
            };
            paths.push((key.clone(), p));
        }
        let pieces = split_template(template);
        for piece in &pieces {
            if let Piece::Var { name, .. } = piece
                && !RESERVED.contains(&name.as_str())
                && !paths.iter().any(|(k, _)| k == name)
            {
                return fail(format!(
                    "InputTemplate for target {target_id} contains invalid placeholder {name}."
                ));
            }
        }
        Ok(Template {
            paths,
            pieces,
            string_template: template.trim_start().starts_with('"'),
        })
    }

    fn resolve(&self, name: &str, event: &Value, ctx: &DeliveryContext) -> Option<Value> {
        match name {
            "aws.events.rule-arn" => Some(Value::String(ctx.rule_arn.clone())),
            "aws.events.rule-name" => Some(Value::String(ctx.rule_name.clone())),
            "aws.events.event.ingestion-time" => Some(Value::String(ctx.ingestion_time.clone())),
            "aws.events.event.json" => Some(event.clone()),
            "aws.events.event" => Some(event_metadata(event, ctx)),
            _ => self
                .paths
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, p)| p.select(event)),
        }
    }

    fn render(&self, event: &Value, ctx: &DeliveryContext) -> Result<String, NotDelivered> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var { name, quoted } => {
                    let value = self.resolve(name, event, ctx);
                    if *quoted {
                        match value {
                            None => {}
                            Some(Value::String(s)) => push_escaped(&mut out, &s),
                            Some(v @ (Value::Object(_) | Value::Array(_))) => {
                                if !self.string_template {
                                    return Err(NotDelivered(format!(
                                        "<{name}> is an object or list inside a quoted string"
                                    )));
                                }
                                out.extend(v.to_string().chars().filter(|&c| c != '"'));
                            }
                            Some(v) => out.push_str(&v.to_string()),
                        }
                    } else {
                        match value {
                            None => out.push_str("\"\""),
                            Some(v) => out.push_str(&v.to_string()),
                        }
                    }
                }
            }
        }
        if !self.string_template && serde_json::from_str::<Value>(&out).is_err() {
            return Err(NotDelivered(
                "the filled-in template is not valid JSON".to_owned(),
            ));
        }
        Ok(out)
    }
}

/// `<aws.events.event>`: the envelope without `detail`, `detailType` in
/// camelCase, `time` the ingestion time.
fn event_metadata(event: &Value, ctx: &DeliveryContext) -> Value {
    let get = |k: &str| event.get(k).cloned().unwrap_or(Value::Null);
    let mut m = Map::new();
    m.insert("id".into(), get("id"));
    m.insert("account".into(), get("account"));
    m.insert("detailType".into(), get("detail-type"));
    m.insert("time".into(), Value::String(ctx.ingestion_time.clone()));
    m.insert("source".into(), get("source"));
    m.insert("region".into(), get("region"));
    m.insert("resources".into(), get("resources"));
    m.insert("version".into(), get("version"));
    Value::Object(m)
}

/// Escapes for the inside of a JSON string (no surrounding quotes).
fn push_escaped(out: &mut String, s: &str) {
    let quoted = Value::String(s.to_owned()).to_string();
    out.push_str(quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or(""));
}

/// Splits a template into text and `<name>` placeholders, noting which
/// placeholders sit inside a quoted string.
fn split_template(t: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = t.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '<' {
            let rest = t.get(i + 1..).unwrap_or("");
            let name_len = rest
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
                .count();
            if name_len > 0 && rest.as_bytes().get(name_len) == Some(&b'>') {
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Var {
                    name: rest.get(..name_len).unwrap_or("").to_owned(),
                    quoted: in_string,
                });
                for _ in 0..=name_len {
                    chars.next();
                }
                escaped = false;
                continue;
            }
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        }
        text.push(c);
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    pieces
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> DeliveryContext {
        DeliveryContext {
            rule_arn: "arn:aws:events:us-east-1:1:rule/r".into(),
            rule_name: "r".into(),
            ingestion_time: "2024-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn paths() {
        let e = json!({"detail": {"a": [1, {"b": "x"}], "k-1": 2}});
        assert_eq!(
            JsonPath::parse("$.detail.a[1].b").unwrap().select(&e),
            Some(json!("x"))
        );
        assert_eq!(
            JsonPath::parse("$.detail.k-1").unwrap().select(&e),
            Some(json!(2))
        );
        assert_eq!(
            JsonPath::parse("$['detail']['k-1']").unwrap().select(&e),
            Some(json!(2))
        );
        assert_eq!(
            JsonPath::parse("$.detail.missing").unwrap().select(&e),
            None
        );
        assert_eq!(
            JsonPath::parse("$.detail.a[*]").unwrap().select(&e),
            Some(json!([1, {"b": "x"}]))
        );
        assert!(JsonPath::parse("detail").is_none());
        assert!(JsonPath::parse("$..a").is_none());
    }

    #[test]
    fn quoting_rules() {
        let map = vec![
            ("obj".to_owned(), "$.detail.o".to_owned()),
            ("s".to_owned(), "$.detail.s".to_owned()),
            ("gone".to_owned(), "$.detail.gone".to_owned()),
        ];
        let e = json!({"detail": {"o": {"k": "v"}, "s": "say \"hi\""}});
        let t = |tpl: &str| {
            InputTransform::parse("t", None, None, Some((&map, tpl)))
                .unwrap()
                .apply(&e, &ctx())
        };
        assert_eq!(
            t(r#"{"a": <obj>, "b": <gone>}"#).unwrap(),
            r#"{"a": {"k":"v"}, "b": ""}"#
        );
        assert_eq!(t(r#"{"a": "<s>!"}"#).unwrap(), r#"{"a": "say \"hi\"!"}"#);
        assert!(t(r#"{"a": "<obj>"}"#).is_err());
        assert_eq!(t(r#""<obj> and <gone>.""#).unwrap(), r#""{k:v} and .""#);
    }

    #[test]
    fn put_targets_errors() {
        let map = vec![("a".to_owned(), "$.a".to_owned())];
        let e = InputTransform::parse("T1", None, None, Some((&map, "\"<b>\""))).unwrap_err();
        assert_eq!(
            e.message,
            "InputTemplate for target T1 contains invalid placeholder b."
        );
        let e = InputTransform::parse("T1", None, Some("$.a"), Some((&map, "<a>"))).unwrap_err();
        assert_eq!(
            e.message,
            "Only one of Input, InputPath, or InputTransformer must be provided for target T1."
        );
    }
}
