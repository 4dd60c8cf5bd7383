//! JSONPath as ASL uses it.
//!
//! A [`Path`] selects values: `$…` from the input, `$$…` from the context object, and
//! `$name…` from a workflow variable. A [`ReferencePath`] is the restricted form used by
//! `ResultPath`: it names a single location and can create it.
//!
//! AWS evaluates paths with Jayway JsonPath, whose dialect is looser than RFC 9535
//! (`$.delivery-partner`, `$.[0]`, `[?(@.a == 1)]`) and whose error texts end up in
//! execution causes (`No results for path: $['x']`). So the tokenizer here is ours:
//! definite paths (names and indices only, by far the common case) are evaluated by a
//! direct walk that reproduces Jayway's messages, and only paths with wildcards, slices,
//! unions, filters or recursive descent are rewritten into RFC 9535 syntax and handed to
//! `serde_json_path`, compiled once.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::Value;

use crate::eval::{Bindings, EvalError, to_json_text};

/// Where a path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathRoot {
    /// `$` — the state input (or whatever `$` means for the field).
    Input,
    /// `$$` — the context object.
    Context,
    /// `$name` — a workflow variable.
    Variable(String),
}

/// A syntax error in a path, worded for a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PathSyntaxError(pub String);

/// Why a definite path selected nothing, in Jayway's words (AWS quotes them after
/// `Invalid path '…' : `).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathNotFound {
    detail: String,
    /// Jayway raised `InvalidPathException` (indexing a non-array) rather than
    /// `PathNotFoundException`; AWS then reports Jayway's text as the whole cause.
    invalid: bool,
}

impl PathNotFound {
    fn missing(detail: String) -> Self {
        PathNotFound {
            detail,
            invalid: false,
        }
    }

    /// Jayway's explanation, e.g. `No results for path: $['a']`.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

/// One step of a definite path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Name(String),
    Index(i64),
}

#[derive(Debug, Clone)]
enum Query {
    /// Names and indices only: at most one node, walked directly.
    Definite(Vec<Step>),
    /// Anything else: an RFC 9535 query whose matches are returned as an array.
    Indefinite(Box<serde_json_path::JsonPath>),
}

/// A compiled JSONPath query.
#[derive(Debug, Clone)]
pub struct Path {
    text: String,
    root: PathRoot,
    query: Query,
}

impl Path {
    /// Compiles `text`; the error explains what is wrong (used in diagnostics).
    pub fn parse(text: &str) -> Result<Path, PathSyntaxError> {
        let (root, rest) = parse_root(text)?;
        let tokens = tokenize(text, rest)?;
        let query = if tokens
            .iter()
            .all(|t| matches!(t, Token::Name(_) | Token::Index(_)))
        {
            Query::Definite(
                tokens
                    .into_iter()
                    .filter_map(|t| match t {
                        Token::Name(n) => Some(Step::Name(n)),
                        Token::Index(i) => Some(Step::Index(i)),
                        _ => None,
                    })
                    .collect(),
            )
        } else {
            let rfc = to_rfc9535(&tokens);
            let compiled = serde_json_path::JsonPath::parse(&rfc)
                .map_err(|e| PathSyntaxError(format!("'{text}' is not a valid JSONPath: {e}")))?;
            Query::Indefinite(Box::new(compiled))
        };
        Ok(Path {
            text: text.to_owned(),
            root,
            query,
        })
    }

    /// The path as written, for error messages.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn root(&self) -> &PathRoot {
        &self.root
    }

    /// Whether evaluating reads the context object (`$$`).
    pub fn uses_context(&self) -> bool {
        self.root == PathRoot::Context
    }

    /// Whether the path can select at most one node (no wildcards, filters, slices or
    /// unions): such paths yield the node itself, others yield an array of matches.
    pub fn is_definite(&self) -> bool {
        !matches!(self.query, Query::Indefinite(_))
    }

    /// Selects from `bindings`. `None` when a definite path matches nothing (an
    /// indefinite path that matches nothing yields `Some([])`).
    pub fn select(&self, bindings: &Bindings<'_>) -> Option<Value> {
        self.find(bindings).ok().map(Cow::into_owned)
    }

    /// Selects from `bindings`, borrowing when the path is definite. The error says why
    /// nothing was found, in the words AWS uses.
    pub fn find<'a>(&self, bindings: &Bindings<'a>) -> Result<Cow<'a, Value>, PathNotFound> {
        let root: &'a Value = match &self.root {
            PathRoot::Input => bindings.input,
            PathRoot::Context => bindings.context,
            PathRoot::Variable(name) => match bindings.variables.get(name) {
                Some(v) => v,
                None => {
                    return Err(PathNotFound::missing(format!(
                        "The variable '{name}' is not defined"
                    )));
                }
            },
        };
        self.find_in(root)
    }

    /// Applies the query part of the path (everything after the root) to `root`.
    pub fn find_in<'a>(&self, root: &'a Value) -> Result<Cow<'a, Value>, PathNotFound> {
        match &self.query {
            Query::Definite(steps) => walk(root, steps).map(Cow::Borrowed),
            Query::Indefinite(q) => Ok(Cow::Owned(Value::Array(
                q.query(root).iter().map(|v| (*v).clone()).collect(),
            ))),
        }
    }

    /// The cause AWS gives when `InputPath`, `OutputPath`, `ItemsPath`,
    /// `TimeoutSecondsPath`, … select nothing.
    pub fn invalid_path_error(&self, miss: &PathNotFound) -> EvalError {
        EvalError::runtime(format!("Invalid path '{}' : {}", self.text, miss.detail))
    }

    /// The cause AWS gives when a path in a payload template (`key.$`, an intrinsic
    /// argument, `ErrorPath`, …) fails: "could not be found", or Jayway's own text when it
    /// refused the path (indexing a non-array).
    pub fn field_error(&self, miss: &PathNotFound, field: &str, input: &Value) -> EvalError {
        if miss.invalid {
            EvalError::runtime(miss.detail.clone())
        } else {
            self.field_not_found_error(field, input)
        }
    }

    /// The cause AWS gives when a path in a payload template (`key.$`, `ErrorPath`, …)
    /// selects nothing; `input` is the state's effective input.
    pub fn field_not_found_error(&self, field: &str, input: &Value) -> EvalError {
        EvalError::runtime(format!(
            "The JSONPath '{}' specified for the field '{}' could not be found in the input '{}'",
            self.text,
            field,
            to_json_text(input)
        ))
    }
}

/// A compiled reference path (`ResultPath`): `$`, or `$` followed by field names and
/// array indices only.
#[derive(Debug, Clone)]
pub struct ReferencePath {
    text: String,
    steps: Vec<Step>,
}

impl ReferencePath {
    pub fn parse(text: &str) -> Result<ReferencePath, PathSyntaxError> {
        let (root, rest) = parse_root(text)?;
        if root != PathRoot::Input {
            return Err(PathSyntaxError(format!(
                "'{text}' is not a valid reference path: it must start with '$' and refer to the state input"
            )));
        }
        let mut steps = Vec::new();
        for token in tokenize(text, rest)? {
            match token {
                Token::Name(n) => steps.push(Step::Name(n)),
                Token::Index(i) if i >= 0 => steps.push(Step::Index(i)),
                _ => {
                    return Err(PathSyntaxError(format!(
                        "'{text}' is not a valid reference path: only field names and array indices are allowed"
                    )));
                }
            }
        }
        Ok(ReferencePath {
            text: text.to_owned(),
            steps,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Places `value` into `target` at this path, creating missing objects on the way.
    /// The error is the one AWS reports (`States.ResultPathMatchFailure`) when the path
    /// runs through something that is not an object, or through a missing array element.
    pub fn set(&self, target: Value, value: Value) -> Result<Value, EvalError> {
        if self.steps.is_empty() {
            return Ok(value);
        }
        if !settable(&target, &self.steps) {
            return Err(EvalError {
                error: crate::error_name::STATES_RESULT_PATH_MATCH_FAILURE.to_owned(),
                cause: format!(
                    "Unable to apply ReferencePath {} to input {}",
                    self.text,
                    to_json_text(&target)
                ),
                location: None,
            });
        }
        let mut target = target;
        place(&mut target, &self.steps, value);
        Ok(target)
    }
}

/// Whether [`place`] can put a value at `steps` inside `target`.
fn settable(target: &Value, steps: &[Step]) -> bool {
    let mut current = target;
    for (i, step) in steps.iter().enumerate() {
        match (step, current) {
            (Step::Name(name), Value::Object(map)) => match map.get(name) {
                Some(child) => current = child,
                // Everything below a missing field is created, which only works for names.
                None => return steps[i + 1..].iter().all(|s| matches!(s, Step::Name(_))),
            },
            (Step::Index(index), Value::Array(items)) => {
                match usize::try_from(*index).ok().and_then(|i| items.get(i)) {
                    Some(child) => current = child,
                    None => return false,
                }
            }
            _ => return false,
        }
    }
    true
}

/// Puts `value` at `steps`; [`settable`] has checked that every step fits.
fn place(target: &mut Value, steps: &[Step], value: Value) {
    // A loop, not recursion: a reference path can have as many steps as a definition
    // has characters.
    let mut current = target;
    for step in steps {
        let next = match (step, current) {
            (Step::Name(name), Value::Object(map)) => map
                .entry(name.clone())
                .or_insert_with(|| Value::Object(serde_json::Map::new())),
            (Step::Index(index), Value::Array(items)) => {
                match usize::try_from(*index).ok().and_then(|i| items.get_mut(i)) {
                    Some(child) => child,
                    None => return,
                }
            }
            _ => return,
        };
        current = next;
    }
    *current = value;
}

/// Walks a definite path, failing the way Jayway does.
fn walk<'a>(root: &'a Value, steps: &[Step]) -> Result<&'a Value, PathNotFound> {
    let mut current = root;
    for (i, step) in steps.iter().enumerate() {
        let is_leaf = i + 1 == steps.len();
        match step {
            Step::Name(name) => {
                let Value::Object(map) = current else {
                    return Err(PathNotFound::missing(format!(
                        "Expected to find an object with property ['{name}'] in path {} but found '{}'. This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JacksonJsonNodeJsonProvider'.",
                        normalized(&steps[..i]),
                        jackson_node_class(current)
                    )));
                };
                match map.get(name) {
                    Some(child) => current = child,
                    None if is_leaf => {
                        return Err(PathNotFound::missing(format!(
                            "No results for path: {}",
                            normalized(steps)
                        )));
                    }
                    None => {
                        return Err(PathNotFound::missing(format!(
                            "Missing property in path {}",
                            normalized(&steps[..=i])
                        )));
                    }
                }
            }
            Step::Index(index) => {
                let Value::Array(items) = current else {
                    return Err(PathNotFound {
                        detail: format!(
                            "Filter: [{index}] can only be applied to arrays. Current context is: {}",
                            to_json_text(current)
                        ),
                        invalid: true,
                    });
                };
                let effective = if *index < 0 {
                    i64::try_from(items.len())
                        .ok()
                        .and_then(|len| len.checked_add(*index))
                } else {
                    Some(*index)
                };
                match effective
                    .and_then(|e| usize::try_from(e).ok())
                    .and_then(|e| items.get(e))
                {
                    Some(child) => current = child,
                    None => {
                        return Err(PathNotFound::missing(format!(
                            "No results for path: {}",
                            normalized(steps)
                        )));
                    }
                }
            }
        }
    }
    Ok(current)
}

/// Jayway's normalized form of a path, `$['a'][0]`, as it appears in its messages.
fn normalized(steps: &[Step]) -> String {
    let mut out = String::from("$");
    for step in steps {
        match step {
            Step::Name(n) => {
                let _ = write!(out, "['{n}']");
            }
            Step::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
    out
}

/// The Jackson node class Jayway names when a path runs into a non-object.
fn jackson_node_class(value: &Value) -> &'static str {
    match value {
        Value::Null => "com.fasterxml.jackson.databind.node.NullNode",
        Value::Bool(_) => "com.fasterxml.jackson.databind.node.BooleanNode",
        Value::Number(n) if n.is_f64() => "com.fasterxml.jackson.databind.node.DoubleNode",
        Value::Number(n) if n.as_i64().is_some_and(|v| i32::try_from(v).is_ok()) => {
            "com.fasterxml.jackson.databind.node.IntNode"
        }
        Value::Number(_) => "com.fasterxml.jackson.databind.node.LongNode",
        Value::String(_) => "com.fasterxml.jackson.databind.node.TextNode",
        Value::Array(_) => "com.fasterxml.jackson.databind.node.ArrayNode",
        Value::Object(_) => "com.fasterxml.jackson.databind.node.ObjectNode",
    }
}

/// A lexical piece of a path after its root.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// `.name` or `['name']`.
    Name(String),
    /// `[3]`, `[-1]`.
    Index(i64),
    /// `.*` or `[*]`.
    Wildcard,
    /// `..`: the next token applies to every descendant.
    Descendants,
    /// Any other bracket (slices, unions, filters), already in RFC 9535 form.
    Bracket(String),
}

/// Reads `$`, `$$` or `$name` and returns the byte offset where the rest starts.
fn parse_root(text: &str) -> Result<(PathRoot, usize), PathSyntaxError> {
    let Some(after) = text.strip_prefix('$') else {
        return Err(PathSyntaxError(format!(
            "'{text}' is not a valid JSONPath: it must start with '$'"
        )));
    };
    if after.starts_with('$') {
        return Ok((PathRoot::Context, 2));
    }
    let name_len: usize = after
        .char_indices()
        .take_while(|(i, c)| c.is_alphanumeric() || *c == '_' || (*i > 0 && c.is_ascii_digit()))
        .map(|(_, c)| c.len_utf8())
        .sum();
    if name_len > 0 {
        let name = &after[..name_len];
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(PathSyntaxError(format!(
                "'{text}' is not a valid JSONPath: a variable name cannot start with a digit"
            )));
        }
        return Ok((PathRoot::Variable(name.to_owned()), 1 + name_len));
    }
    Ok((PathRoot::Input, 1))
}

/// The most steps a path may have. Far beyond any real path; it bounds the depth of
/// the values a `ResultPath` can create (deep `serde_json` values are dropped and
/// serialized recursively).
pub const MAX_STEPS: usize = 1000;

/// Splits the part after the root into tokens (Jayway's grammar, as far as ASL uses it).
fn tokenize(text: &str, start: usize) -> Result<Vec<Token>, PathSyntaxError> {
    let err = |why: &str| PathSyntaxError(format!("'{text}' is not a valid JSONPath: {why}"));
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut pos = start;
    while pos < bytes.len() {
        match bytes[pos] {
            b'.' => {
                if bytes.get(pos + 1) == Some(&b'.') {
                    tokens.push(Token::Descendants);
                    pos += 2;
                } else {
                    pos += 1;
                }
                match bytes.get(pos) {
                    None => return Err(err("it must not end with '.'")),
                    Some(b'.') => return Err(err("'...' is not allowed")),
                    Some(b'[') => continue,
                    Some(b'*') => {
                        tokens.push(Token::Wildcard);
                        pos += 1;
                        if !matches!(bytes.get(pos), None | Some(b'.') | Some(b'[')) {
                            return Err(err("unexpected character after '*'"));
                        }
                    }
                    Some(_) => {
                        let end = text[pos..].find(['.', '[']).map_or(text.len(), |e| pos + e);
                        let name = &text[pos..end];
                        if name.contains(char::is_whitespace) {
                            return Err(err(
                                "use bracket notation ['my prop'] for property names with blank characters",
                            ));
                        }
                        if name.contains(['(', ')']) {
                            return Err(err("path functions are not supported"));
                        }
                        if name.contains([']', '\'', '"']) {
                            return Err(err("unexpected character in a property name"));
                        }
                        tokens.push(Token::Name(name.to_owned()));
                        pos = end;
                    }
                }
            }
            b'[' => {
                let close = find_bracket_end(text, pos + 1).ok_or_else(|| err("unclosed '['"))?;
                tokens.push(bracket_token(&text[pos + 1..close]).map_err(|why| err(&why))?);
                pos = close + 1;
            }
            _ => {
                return Err(err(&format!(
                    "unexpected character '{}'",
                    text[pos..].chars().next().unwrap_or(' ')
                )));
            }
        }
    }
    if tokens.last() == Some(&Token::Descendants) {
        return Err(err("it must not end with '..'"));
    }
    if tokens.len() > MAX_STEPS {
        return Err(err(&format!("it has more than {MAX_STEPS} steps")));
    }
    Ok(tokens)
}

/// The index of the `]` closing a bracket whose content starts at `start`, skipping
/// quoted strings and nested brackets/parentheses (filters contain both).
fn find_bracket_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = start;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'\'' | b'"' => quote = Some(b),
                b'[' | b'(' => depth += 1,
                b')' => depth = depth.saturating_sub(1),
                b']' if depth == 0 => return Some(i),
                b']' => depth -= 1,
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// Classifies the content of a `[…]`.
fn bracket_token(content: &str) -> Result<Token, String> {
    let inner = content.trim();
    if inner.is_empty() {
        return Err("empty brackets".to_owned());
    }
    if inner == "*" {
        return Ok(Token::Wildcard);
    }
    if let Some(filter) = inner.strip_prefix('?') {
        if filter.trim().is_empty() {
            return Err("empty filter".to_owned());
        }
        // The filter parser recurses on nesting; keep it far from the stack's end.
        let mut depth = 0usize;
        for b in filter.bytes() {
            match b {
                b'(' | b'[' => depth += 1,
                b')' | b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
            if depth > 32 {
                return Err("the filter is nested too deeply".to_owned());
            }
        }
        return Ok(Token::Bracket(inner.to_owned()));
    }
    if inner.starts_with(['\'', '"']) {
        let names = quoted_names(inner)?;
        return Ok(match names.as_slice() {
            [one] => Token::Name(one.clone()),
            _ => Token::Bracket(
                names
                    .iter()
                    .map(|n| rfc_string(n))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        });
    }
    let is_index = |s: &str| {
        let s = s.trim();
        let digits = s.strip_prefix('-').unwrap_or(s);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    if is_index(inner) {
        return inner
            .parse::<i64>()
            .map(Token::Index)
            .map_err(|_| "array index out of range".to_owned());
    }
    if inner.contains(':') {
        let parts: Vec<&str> = inner.split(':').collect();
        if parts.len() > 3 || parts.iter().any(|p| !p.trim().is_empty() && !is_index(p)) {
            return Err(format!("invalid array slice [{inner}]"));
        }
        let cleaned: Vec<&str> = parts.iter().map(|p| p.trim()).collect();
        return Ok(Token::Bracket(cleaned.join(":")));
    }
    if inner.contains(',') && inner.split(',').all(is_index) {
        let cleaned: Vec<&str> = inner.split(',').map(str::trim).collect();
        return Ok(Token::Bracket(cleaned.join(",")));
    }
    Err(format!("unexpected bracket content [{inner}]"))
}

/// Reads `'a'`, `"b"`, `'a','b'`: Jayway's quoted property names. Inside a name, a
/// backslash escapes the quote character and another backslash; any other backslash is
/// kept as written (AWS resolves `$['a\"b']` against the key `a\"b`).
fn quoted_names(inner: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(quote) = chars.next() else {
            return Err("expected a quoted property name".to_owned());
        };
        if quote != '\'' && quote != '"' {
            return Err("expected a quoted property name".to_owned());
        }
        let mut name = String::new();
        loop {
            match chars.next() {
                None => return Err("unterminated property name".to_owned()),
                Some('\\') => match chars.next() {
                    Some(c) if c == quote || c == '\\' => name.push(c),
                    Some(c) => {
                        name.push('\\');
                        name.push(c);
                    }
                    None => return Err("unterminated property name".to_owned()),
                },
                Some(c) if c == quote => break,
                Some(c) => name.push(c),
            }
        }
        names.push(name);
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => return Ok(names),
            Some(',') => continue,
            Some(_) => return Err("expected ',' between property names".to_owned()),
        }
    }
}

/// A name as an RFC 9535 single-quoted string literal.
fn rfc_string(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('\'');
    for c in name.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Rewrites tokens into an RFC 9535 query over the root value.
fn to_rfc9535(tokens: &[Token]) -> String {
    let mut out = String::from("$");
    for token in tokens {
        match token {
            Token::Name(n) => {
                out.push('[');
                out.push_str(&rfc_string(n));
                out.push(']');
            }
            Token::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
            Token::Wildcard => out.push_str("[*]"),
            Token::Descendants => out.push_str(".."),
            Token::Bracket(b) => {
                out.push('[');
                out.push_str(b);
                out.push(']');
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::eval::NoVariables;
    use serde_json::json;

    fn bindings<'a>(input: &'a Value, context: &'a Value) -> Bindings<'a> {
        Bindings {
            input,
            context,
            variables: &NoVariables,
            result: None,
            error_output: None,
        }
    }

    fn select(path: &str, input: Value) -> Option<Value> {
        let ctx = json!({"Execution": {"Name": "exec"}});
        Path::parse(path).unwrap().select(&bindings(&input, &ctx))
    }

    fn miss(path: &str, input: Value) -> String {
        let ctx = json!({});
        Path::parse(path)
            .unwrap()
            .find(&bindings(&input, &ctx))
            .unwrap_err()
            .detail
    }

    #[test]
    fn roots() {
        assert_eq!(Path::parse("$").unwrap().root(), &PathRoot::Input);
        assert_eq!(
            Path::parse("$$.Execution").unwrap().root(),
            &PathRoot::Context
        );
        assert_eq!(
            Path::parse("$my_var.a").unwrap().root(),
            &PathRoot::Variable("my_var".into())
        );
        assert!(Path::parse("a.b").is_err());
        assert!(Path::parse("").is_err());
    }

    #[test]
    fn definite_selection() {
        let input = json!({"a": {"b-c": [1, {"d": null}]}, "x y": 3});
        assert_eq!(select("$", input.clone()), Some(input.clone()));
        assert_eq!(select("$.a.b-c[0]", input.clone()), Some(json!(1)));
        assert_eq!(select("$.a['b-c'][1].d", input.clone()), Some(json!(null)));
        assert_eq!(
            select("$.a.b-c[-1]", input.clone()),
            Some(json!({"d": null}))
        );
        assert_eq!(select("$['x y']", input.clone()), Some(json!(3)));
        assert_eq!(select("$.[\"x y\"]", input.clone()), Some(json!(3)));
        assert_eq!(select("$.a.nope", input.clone()), None);
        assert_eq!(select("$$.Execution.Name", input), Some(json!("exec")));
    }

    #[test]
    fn indefinite_selection_returns_arrays() {
        let input = json!({"items": [{"v": 1}, {"v": 2}, {"v": 3}], "users": [{"s": 0}, {"s": 1}]});
        assert!(!Path::parse("$.items[*]").unwrap().is_definite());
        assert_eq!(
            select("$.items[*].v", input.clone()),
            Some(json!([1, 2, 3]))
        );
        assert_eq!(select("$.items[1:].v", input.clone()), Some(json!([2, 3])));
        assert_eq!(
            select("$.items[:1]", input.clone()),
            Some(json!([{"v": 1}]))
        );
        assert_eq!(select("$..v", input.clone()), Some(json!([1, 2, 3])));
        assert_eq!(
            select("$.users[?(@.s == 0)]", input.clone()),
            Some(json!([{"s": 0}]))
        );
        assert_eq!(select("$.items[0,2].v", input.clone()), Some(json!([1, 3])));
        assert_eq!(select("$.missing[*]", input), Some(json!([])));
    }

    #[test]
    fn jayway_messages() {
        assert_eq!(
            miss("$.NoSuchInputPath", json!({"int-literal": 0})),
            "No results for path: $['NoSuchInputPath']"
        );
        assert_eq!(
            miss("$.no.such.result.path", json!({})),
            "Missing property in path $['no']"
        );
        assert_eq!(
            miss("$.a[5]", json!({"a": [1]})),
            "No results for path: $['a'][5]"
        );
        assert!(miss("$.a.b", json!({"a": 1})).starts_with(
            "Expected to find an object with property ['b'] in path $['a'] but found"
        ));
    }

    #[test]
    fn escaped_quotes_in_brackets() {
        let input = json!({"Test\\\"\"Name\"": "Value\"\\"});
        assert_eq!(
            select("$['Test\\\"\"Name\"']", input),
            Some(json!("Value\"\\"))
        );
        assert_eq!(select("$['it\\'s']", json!({"it's": 1})), Some(json!(1)));
    }

    #[test]
    fn syntax_errors() {
        for bad in [
            "$.",
            "$..",
            "$.a b",
            "$[",
            "$[]",
            "$.a.length()",
            "$[abc]",
            "$...a",
            "$.a]",
        ] {
            assert!(Path::parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn reference_path_set_creates_fields() {
        let p = ReferencePath::parse("$.a.b").unwrap();
        assert_eq!(
            p.set(json!({"x": 1}), json!(2)).unwrap(),
            json!({"x": 1, "a": {"b": 2}})
        );
        let p = ReferencePath::parse("$.arr[1]").unwrap();
        assert_eq!(
            p.set(json!({"arr": [0, 0]}), json!(5)).unwrap(),
            json!({"arr": [0, 5]})
        );
        let p = ReferencePath::parse("$").unwrap();
        assert_eq!(p.set(json!({"x": 1}), json!(7)).unwrap(), json!(7));
    }

    #[test]
    fn reference_path_set_failures() {
        let p = ReferencePath::parse("$.a.b").unwrap();
        let e = p.set(json!({"a": "text"}), json!(1)).unwrap_err();
        assert_eq!(e.error, "States.ResultPathMatchFailure");
        assert_eq!(
            e.cause,
            "Unable to apply ReferencePath $.a.b to input {\"a\":\"text\"}"
        );
        let p = ReferencePath::parse("$.x").unwrap();
        assert!(p.set(json!([1]), json!(1)).is_err());
        let p = ReferencePath::parse("$.arr[3]").unwrap();
        assert!(p.set(json!({"arr": []}), json!(1)).is_err());
    }

    #[test]
    fn path_length_is_bounded() {
        let text = format!("${}", ".a".repeat(MAX_STEPS));
        let p = ReferencePath::parse(&text).unwrap();
        let out = p.set(json!({}), json!(1)).unwrap();
        let path = Path::parse(&text).unwrap();
        let ctx = json!({});
        assert_eq!(path.select(&bindings(&out, &ctx)), Some(json!(1)));
        let too_long = format!("${}", ".a".repeat(MAX_STEPS + 1));
        assert!(Path::parse(&too_long).is_err());
        assert!(ReferencePath::parse(&too_long).is_err());
    }

    #[test]
    fn reference_path_rejects_queries() {
        assert!(ReferencePath::parse("$.a[*]").is_err());
        assert!(ReferencePath::parse("$$.a").is_err());
        assert!(ReferencePath::parse("$.a..b").is_err());
        assert!(ReferencePath::parse("$.a[-1]").is_err());
    }
}
