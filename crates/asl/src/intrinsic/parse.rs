//! Intrinsic call text → [`Call`] tree.

use serde_json::Value;

use super::{Arg, Call, Function, MAX_NESTING, Piece};
use crate::path::{Path, PathSyntaxError};

pub(super) fn parse(text: &str) -> Result<Call, PathSyntaxError> {
    let mut parser = Parser { text, pos: 0 };
    parser.skip_ws();
    let call = parser.call(1)?;
    parser.skip_ws();
    if parser.pos < text.len() {
        return Err(parser.error("unexpected text after the closing ')'"));
    }
    check_static(&call, text)?;
    Ok(call)
}

struct Parser<'t> {
    text: &'t str,
    pos: usize,
}

impl<'t> Parser<'t> {
    fn error(&self, why: &str) -> PathSyntaxError {
        PathSyntaxError(format!(
            "'{}' is not a valid intrinsic function call: {why}",
            self.text
        ))
    }

    fn rest(&self) -> &'t str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn call(&mut self, depth: usize) -> Result<Call, PathSyntaxError> {
        if depth > MAX_NESTING {
            return Err(self.error(&format!(
                "intrinsic functions can be nested at most {MAX_NESTING} deep"
            )));
        }
        let rest = self.rest();
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        let function = Function::from_name(name)
            .ok_or_else(|| self.error(&format!("'{name}' is not an intrinsic function")))?;
        self.pos += name_len;
        self.skip_ws();
        if self.peek() != Some('(') {
            return Err(self.error(&format!("expected '(' after {name}")));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.pos += 1;
        } else {
            loop {
                self.skip_ws();
                args.push(self.arg(depth)?);
                self.skip_ws();
                match self.peek() {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.error("expected ',' or ')' after an argument")),
                }
            }
        }
        let (min, max) = function.arity();
        if args.len() < min || max.is_some_and(|m| args.len() > m) {
            let expected = match max {
                Some(m) if m == min => format!("{min}"),
                Some(m) => format!("{min} to {m}"),
                None => format!("at least {min}"),
            };
            return Err(self.error(&format!(
                "{} takes {expected} argument{}, but {} were given",
                function.name(),
                if expected == "1" { "" } else { "s" },
                args.len()
            )));
        }
        Ok(Call { function, args })
    }

    fn arg(&mut self, depth: usize) -> Result<Arg, PathSyntaxError> {
        let rest = self.rest();
        match self.peek() {
            Some('\'') => self.string(),
            Some('$') => self.path(),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some(_) if rest.starts_with("States.") => {
                Ok(Arg::Call(Box::new(self.call(depth + 1)?)))
            }
            Some(_) => {
                for (word, value) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if let Some(after) = rest.strip_prefix(word)
                        && after.trim_start().starts_with([',', ')'])
                    {
                        self.pos += word.len();
                        return Ok(Arg::Literal(value));
                    }
                }
                Err(self.error("expected a string, number, boolean, null, path or function call"))
            }
            None => Err(self.error("unexpected end of text")),
        }
    }

    /// `'…'` with `\'`, `\{`, `\}` and `\\` escapes. Unknown escapes keep both characters.
    fn string(&mut self) -> Result<Arg, PathSyntaxError> {
        self.pos += 1; // opening quote
        let mut value = String::new();
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = self.rest().char_indices();
        loop {
            let Some((i, c)) = chars.next() else {
                return Err(self.error("unterminated string literal"));
            };
            match c {
                '\'' => {
                    self.pos += i + 1;
                    break;
                }
                '\\' => {
                    let Some((_, escaped)) = chars.next() else {
                        return Err(self.error("unterminated string literal"));
                    };
                    match escaped {
                        '\'' | '{' | '}' | '\\' => {
                            value.push(escaped);
                            text.push(escaped);
                        }
                        other => {
                            value.push('\\');
                            value.push(other);
                            text.push('\\');
                            text.push(other);
                        }
                    }
                }
                '{' if self.rest()[i + 1..].starts_with('}') => {
                    chars.next();
                    value.push_str("{}");
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                    pieces.push(Piece::Hole);
                }
                c => {
                    value.push(c);
                    text.push(c);
                }
            }
        }
        if !text.is_empty() || pieces.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Arg::Text {
            value: Value::String(value),
            pieces,
        })
    }

    /// A path runs to the next `,` or `)` outside brackets and quotes.
    fn path(&mut self) -> Result<Arg, PathSyntaxError> {
        let rest = self.rest();
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        let mut escaped = false;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            if let Some(q) = quote {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                continue;
            }
            match c {
                '\'' | '"' if depth > 0 => quote = Some(c),
                '[' | '(' => depth += 1,
                ']' | ')' if depth > 0 => depth -= 1,
                ',' | ')' => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let text = rest[..end].trim_end();
        let path =
            Path::parse(text).map_err(|e| self.error(&format!("invalid path argument: {e}")))?;
        self.pos += end;
        Ok(Arg::Path(path))
    }

    fn number(&mut self) -> Result<Arg, PathSyntaxError> {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
            .unwrap_or(rest.len());
        let literal = &rest[..len];
        let number: serde_json::Number = serde_json::from_str(literal)
            .map_err(|_| self.error(&format!("'{literal}' is not a valid number")))?;
        self.pos += len;
        Ok(Arg::Literal(Value::Number(number)))
    }
}

/// Checks that can be made without data: literal argument types and the `{}` count of
/// a literal `States.Format` template.
fn check_static(call: &Call, text: &str) -> Result<(), PathSyntaxError> {
    let err = |why: String| {
        PathSyntaxError(format!(
            "'{text}' is not a valid intrinsic function call: {why}"
        ))
    };
    if call.function == Function::Format {
        match call.args.first() {
            Some(Arg::Text { pieces, .. }) => {
                let holes = pieces.iter().filter(|p| **p == Piece::Hole).count();
                if holes != call.args.len() - 1 {
                    return Err(err(format!(
                        "States.Format has {holes} placeholder{} but {} value{}",
                        if holes == 1 { "" } else { "s" },
                        call.args.len() - 1,
                        if call.args.len() == 2 { "" } else { "s" }
                    )));
                }
            }
            Some(Arg::Literal(_)) => {
                return Err(err(
                    "the first argument of States.Format must be a string".into()
                ));
            }
            _ => {}
        }
    }
    for arg in &call.args {
        if let Arg::Call(inner) = arg {
            check_static(inner, text)?;
        }
    }
    Ok(())
}
