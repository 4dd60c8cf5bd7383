//! A pull tokenizer over JSON text whose error texts follow Jackson's.
//!
//! EventBridge validates a pattern while it streams through it, so the *first*
//! problem in document order is the one AWS reports — a semantic error early in
//! the text wins over a syntax error later on. Pattern compilation therefore
//! pulls tokens one at a time instead of parsing a whole tree first, and syntax
//! errors carry the wording AWS users see (Jackson's).
//! Duplicate keys come out as separate `FieldName` tokens; nothing is dropped.

use std::borrow::Cow;

/// One JSON token. Strings are unescaped; numbers keep their source text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token<'a> {
    StartObject,
    EndObject,
    StartArray,
    EndArray,
    FieldName(Cow<'a, str>),
    String(Cow<'a, str>),
    Number(&'a str),
    True,
    False,
    Null,
}

impl Token<'_> {
    /// What Jackson's `getText()` gives for the token (used in some messages).
    pub(crate) fn text(&self) -> Cow<'_, str> {
        match self {
            Token::StartObject => Cow::Borrowed("{"),
            Token::EndObject => Cow::Borrowed("}"),
            Token::StartArray => Cow::Borrowed("["),
            Token::EndArray => Cow::Borrowed("]"),
            Token::FieldName(s) | Token::String(s) => Cow::Borrowed(s.as_ref()),
            Token::Number(n) => Cow::Borrowed(n),
            Token::True => Cow::Borrowed("true"),
            Token::False => Cow::Borrowed("false"),
            Token::Null => Cow::Borrowed("null"),
        }
    }

    pub(crate) fn is_number(&self) -> bool {
        matches!(self, Token::Number(_))
    }
}

/// A syntax error, worded as Jackson words it (first line only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError(pub(crate) String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Object,
    Array,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Start of the document: one root value.
    Root,
    /// Right after `{`: a field name or `}`.
    FirstField,
    /// After `,` in an object: a field name.
    Field,
    /// After a field name: `:` then a value.
    Colon,
    /// Right after `[`: a value or `]`.
    FirstElement,
    /// After `,` in an array: a value.
    Element,
    /// After a value inside a container: `,` or the closing bracket.
    Separator,
    /// The root value is complete.
    Done,
}

/// Nesting deeper than this is refused rather than risking the stack of the
/// recursive consumers (AWS limits patterns to 2,048 characters anyway).
pub(crate) const MAX_DEPTH: usize = 256;

pub(crate) struct Tokenizer<'a> {
    src: &'a str,
    pos: usize,
    stack: Vec<Container>,
    expect: Expect,
}

impl<'a> Tokenizer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Tokenizer {
            src,
            pos: 0,
            stack: Vec::new(),
            expect: Expect::Root,
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    fn skip_ws(&mut self) {
        while let Some(&b) = self.bytes().get(self.pos) {
            if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn peek_char(&self) -> Option<char> {
        self.src.get(self.pos..).and_then(|s| s.chars().next())
    }

    /// The next token, `Ok(None)` at the end of the document.
    pub(crate) fn next_token(&mut self) -> Result<Option<Token<'a>>, SyntaxError> {
        loop {
            self.skip_ws();
            let Some(c) = self.peek_char() else {
                return self.end_of_input();
            };
            match self.expect {
                Expect::Done => return Ok(None),
                Expect::Root | Expect::Element => return self.value(c).map(Some),
                Expect::FirstElement => {
                    if c == ']' {
                        return self.close(Container::Array).map(Some);
                    }
                    return self.value(c).map(Some);
                }
                Expect::FirstField | Expect::Field => {
                    if c == '}' && self.expect == Expect::FirstField {
                        return self.close(Container::Object).map(Some);
                    }
                    if c != '"' {
                        return Err(unexpected(
                            c,
                            "was expecting double-quote to start field name",
                        ));
                    }
                    self.pos += 1;
                    let name = self.string_body(true)?;
                    self.expect = Expect::Colon;
                    return Ok(Some(Token::FieldName(name)));
                }
                Expect::Colon => {
                    if c != ':' {
                        return Err(unexpected(
                            c,
                            "was expecting a colon to separate field name and value",
                        ));
                    }
                    self.pos += 1;
                    self.skip_ws();
                    let Some(c) = self.peek_char() else {
                        return self.end_of_input();
                    };
                    return self.value(c).map(Some);
                }
                Expect::Separator => {
                    let top = self.stack.last().copied();
                    match (c, top) {
                        (',', Some(Container::Object)) => {
                            self.pos += 1;
                            self.expect = Expect::Field;
                        }
                        (',', Some(Container::Array)) => {
                            self.pos += 1;
                            self.expect = Expect::Element;
                        }
                        ('}', Some(Container::Object)) => {
                            return self.close(Container::Object).map(Some);
                        }
                        (']', Some(Container::Array)) => {
                            return self.close(Container::Array).map(Some);
                        }
                        ('}' | ']', Some(open)) => {
                            return Err(SyntaxError(format!(
                                "Unexpected close marker '{c}': expected '{}'",
                                if open == Container::Object { '}' } else { ']' }
                            )));
                        }
                        (_, Some(Container::Object)) => {
                            return Err(unexpected(
                                c,
                                "was expecting comma to separate Object entries",
                            ));
                        }
                        (_, _) => {
                            return Err(unexpected(
                                c,
                                "was expecting comma to separate Array entries",
                            ));
                        }
                    }
                }
            }
        }
    }

    fn end_of_input(&self) -> Result<Option<Token<'a>>, SyntaxError> {
        match self.stack.last() {
            None => Ok(None),
            Some(Container::Object) => Err(SyntaxError(
                "Unexpected end-of-input: expected close marker for Object".to_owned(),
            )),
            Some(Container::Array) => Err(SyntaxError(
                "Unexpected end-of-input: expected close marker for Array".to_owned(),
            )),
        }
    }

    fn close(&mut self, which: Container) -> Result<Token<'a>, SyntaxError> {
        self.pos += 1;
        self.stack.pop();
        self.after_value();
        Ok(match which {
            Container::Object => Token::EndObject,
            Container::Array => Token::EndArray,
        })
    }

    fn after_value(&mut self) {
        self.expect = if self.stack.is_empty() {
            Expect::Done
        } else {
            Expect::Separator
        };
    }

    fn open(&mut self, which: Container) -> Result<Token<'a>, SyntaxError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(SyntaxError(format!(
                "Document nesting depth exceeds the maximum allowed ({MAX_DEPTH})"
            )));
        }
        self.pos += 1;
        self.stack.push(which);
        Ok(match which {
            Container::Object => {
                self.expect = Expect::FirstField;
                Token::StartObject
            }
            Container::Array => {
                self.expect = Expect::FirstElement;
                Token::StartArray
            }
        })
    }

    fn value(&mut self, c: char) -> Result<Token<'a>, SyntaxError> {
        let token = match c {
            '{' => return self.open(Container::Object),
            '[' => return self.open(Container::Array),
            '"' => {
                self.pos += 1;
                Token::String(self.string_body(false)?)
            }
            '-' | '0'..='9' => Token::Number(self.number()?),
            ']' | '}' => {
                // `[1,]`, `{"a":}`: Jackson's wording for a missing value.
                return Err(unexpected(c, "expected a value"));
            }
            _ if c.is_alphabetic() || c == '_' || c == '$' => self.literal()?,
            _ => {
                return Err(unexpected(
                    c,
                    "expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
                ));
            }
        };
        self.after_value();
        Ok(token)
    }

    fn literal(&mut self) -> Result<Token<'a>, SyntaxError> {
        let rest = self.src.get(self.pos..).unwrap_or("");
        let word_len: usize = rest
            .char_indices()
            .find(|&(_, ch)| !(ch.is_alphanumeric() || ch == '_' || ch == '$'))
            .map_or(rest.len(), |(i, _)| i);
        let word = rest.get(..word_len).unwrap_or("");
        let token = match word {
            "true" => Token::True,
            "false" => Token::False,
            "null" => Token::Null,
            _ => {
                let shown: String = word.chars().take(256).collect();
                return Err(SyntaxError(format!(
                    "Unrecognized token '{shown}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
                )));
            }
        };
        self.pos += word_len;
        Ok(token)
    }

    fn number(&mut self) -> Result<&'a str, SyntaxError> {
        let b = self.bytes();
        let start = self.pos;
        let mut i = self.pos;
        if b.get(i) == Some(&b'-') {
            i += 1;
            match b.get(i) {
                Some(d) if d.is_ascii_digit() => {}
                _ => {
                    return Err(numeric_error(
                        self.src,
                        i,
                        "expected digit (0-9) to follow minus sign, for valid numeric value",
                    ));
                }
            }
        }
        if b.get(i) == Some(&b'0') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            return Err(SyntaxError(
                "Invalid numeric value: Leading zeroes not allowed".to_owned(),
            ));
        }
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !b.get(i).is_some_and(u8::is_ascii_digit) {
                return Err(numeric_error(
                    self.src,
                    i,
                    "Decimal point not followed by a digit",
                ));
            }
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !b.get(i).is_some_and(u8::is_ascii_digit) {
                return Err(numeric_error(
                    self.src,
                    i,
                    "Exponent indicator not followed by a digit",
                ));
            }
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        self.pos = i;
        Ok(self.src.get(start..i).unwrap_or(""))
    }

    /// Reads a string after its opening quote, unescaping it.
    fn string_body(&mut self, field_name: bool) -> Result<Cow<'a, str>, SyntaxError> {
        let b = self.bytes();
        let start = self.pos;
        let mut i = start;
        // Fast path: no escapes.
        loop {
            match b.get(i) {
                None => return Err(eof_in_string(field_name)),
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Cow::Borrowed(self.src.get(start..i).unwrap_or("")));
                }
                Some(b'\\') => break,
                Some(&c) if c < 0x20 => return Err(ctrl_in_string(c)),
                Some(_) => i += 1,
            }
        }
        let mut out = String::with_capacity(i - start + 16);
        out.push_str(self.src.get(start..i).unwrap_or(""));
        loop {
            match b.get(i) {
                None => return Err(eof_in_string(field_name)),
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    let (ch, used) = decode_escape(self.src, i)?;
                    out.push(ch);
                    i += used;
                }
                Some(&c) if c < 0x20 => return Err(ctrl_in_string(c)),
                Some(_) => {
                    // Copy one whole UTF-8 character.
                    let ch = self.src.get(i..).and_then(|s| s.chars().next());
                    match ch {
                        Some(ch) => {
                            out.push(ch);
                            i += ch.len_utf8();
                        }
                        None => return Err(eof_in_string(field_name)),
                    }
                }
            }
        }
    }
}

/// Decodes the escape starting at `src[i] == '\\'`; returns the char and bytes used.
pub(crate) fn decode_escape(src: &str, i: usize) -> Result<(char, usize), SyntaxError> {
    let b = src.as_bytes();
    let Some(&e) = b.get(i + 1) else {
        return Err(SyntaxError(
            "Unexpected end-of-input in character escape sequence".to_owned(),
        ));
    };
    let simple = match e {
        b'"' => Some('"'),
        b'\\' => Some('\\'),
        b'/' => Some('/'),
        b'b' => Some('\u{8}'),
        b'f' => Some('\u{c}'),
        b'n' => Some('\n'),
        b'r' => Some('\r'),
        b't' => Some('\t'),
        _ => None,
    };
    if let Some(c) = simple {
        return Ok((c, 2));
    }
    if e != b'u' {
        let ch = src
            .get(i + 1..)
            .and_then(|s| s.chars().next())
            .unwrap_or('?');
        return Err(SyntaxError(format!(
            "Unrecognized character escape {}",
            char_desc(ch)
        )));
    }
    let hi = hex4(src, i + 2)?;
    if (0xD800..0xDC00).contains(&hi) {
        // A high surrogate must be followed by `\uDC00`..`\uDFFF`.
        if b.get(i + 6) == Some(&b'\\') && b.get(i + 7) == Some(&b'u') {
            let lo = hex4(src, i + 8)?;
            if (0xDC00..0xE000).contains(&lo) {
                let code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                if let Some(c) = char::from_u32(code) {
                    return Ok((c, 12));
                }
            }
        }
        return Ok(('\u{FFFD}', 6));
    }
    Ok((char::from_u32(hi).unwrap_or('\u{FFFD}'), 6))
}

fn hex4(src: &str, at: usize) -> Result<u32, SyntaxError> {
    let digits = src.get(at..at + 4).ok_or_else(|| {
        SyntaxError("Unexpected end-of-input in character escape sequence".to_owned())
    })?;
    let mut v = 0u32;
    for ch in digits.chars() {
        let d = ch.to_digit(16).ok_or_else(|| {
            SyntaxError(format!(
                "Unexpected character ({}): expected a hex-digit for character escape sequence",
                char_desc(ch)
            ))
        })?;
        v = v * 16 + d;
    }
    Ok(v)
}

/// Jackson's way of naming a character in a message.
pub(crate) fn char_desc(c: char) -> String {
    let n = c as u32;
    if n < 0x20 {
        format!("(CTRL-CHAR, code {n})")
    } else if n > 255 {
        format!("'{c}' (code {n} / 0x{n:x})")
    } else {
        format!("'{c}' (code {n})")
    }
}

fn unexpected(c: char, what: &str) -> SyntaxError {
    SyntaxError(format!("Unexpected character ({}): {what}", char_desc(c)))
}

fn numeric_error(src: &str, at: usize, what: &str) -> SyntaxError {
    match src.get(at..).and_then(|s| s.chars().next()) {
        Some(c) => SyntaxError(format!(
            "Unexpected character ({}) in numeric value: {what}",
            char_desc(c)
        )),
        None => SyntaxError("Unexpected end-of-input in a Number value".to_owned()),
    }
}

fn eof_in_string(field_name: bool) -> SyntaxError {
    SyntaxError(if field_name {
        "Unexpected end-of-input in field name".to_owned()
    } else {
        "Unexpected end-of-input: was expecting closing quote for a string value".to_owned()
    })
}

fn ctrl_in_string(c: u8) -> SyntaxError {
    SyntaxError(format!(
        "Illegal unquoted character ((CTRL-CHAR, code {c})): has to be escaped using backslash to be included in string value"
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn all(src: &str) -> Result<Vec<Token<'_>>, SyntaxError> {
        let mut t = Tokenizer::new(src);
        let mut out = Vec::new();
        while let Some(tok) = t.next_token()? {
            out.push(tok);
        }
        Ok(out)
    }

    #[test]
    fn tokens_of_a_small_document_keep_duplicates() {
        let toks = all(r#"{"a": [1, "x\n", true], "a": null}"#).unwrap();
        assert_eq!(
            toks,
            vec![
                Token::StartObject,
                Token::FieldName("a".into()),
                Token::StartArray,
                Token::Number("1"),
                Token::String("x\n".into()),
                Token::True,
                Token::EndArray,
                Token::FieldName("a".into()),
                Token::Null,
                Token::EndObject,
            ]
        );
    }

    #[test]
    fn jackson_messages_for_the_corpus_cases() {
        assert_eq!(
            all("this is valid json but not a dict").unwrap_err().0,
            "Unrecognized token 'this': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        );
        assert_eq!(
            all("{'bad': 'quotation'}").unwrap_err().0,
            "Unexpected character (''' (code 39)): was expecting double-quote to start field name"
        );
        assert_eq!(
            all(r#"{"not": closed mark""#).unwrap_err().0,
            "Unrecognized token 'closed': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        );
    }

    #[test]
    fn surrogate_pairs_decode() {
        let toks = all(r#"["\ud83d\ude80"]"#).unwrap();
        assert_eq!(toks[1], Token::String("🚀".into()));
    }

    #[test]
    fn stops_after_the_root_value() {
        assert_eq!(all("{} trailing").unwrap().len(), 2);
    }
}
