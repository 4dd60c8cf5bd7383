//! Definition text → JSON, failing the way AWS does.
//!
//! AWS reads definitions with Jackson (`ObjectMapper.readTree`), so a syntax error comes
//! back as Jackson's message, e.g. `Unrecognized token 'not': was expecting (JSON String,
//! Number, Array, Object or token 'null', 'true' or 'false')\n at [Source: (String)"not a
//! definition"; line: 1, column: 4]`. serde_json's errors say the same things in other
//! words, so when serde rejects the text a small scanner walks it the way Jackson's
//! tokenizer does and words the first error like Jackson.
//!
//! Two Jackson behaviours matter for what is accepted, not just for wording: `readTree`
//! reads one root value and ignores whatever follows it, and text that is only white space
//! is "no content" rather than a syntax error.

use serde_json::Value;

/// Jackson quotes at most this many characters of the source in a location.
const MAX_CONTENT_SNIPPET: usize = 500;
/// Jackson cuts an unrecognized token after this many characters.
const MAX_ERROR_TOKEN_LENGTH: usize = 256;
const VALID_VALUES: &str =
    "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')";

/// Why definition text did not yield a JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TextError {
    /// Nothing but white space.
    NoContent,
    /// A syntax error: Jackson's message (location included) and the location alone.
    Syntax { message: String, location: String },
}

/// Reads the first JSON value of `text` as Jackson's `readTree` would.
pub(crate) fn read_value(text: &str) -> Result<Value, TextError> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    match stream.next() {
        Some(Ok(value)) => Ok(value),
        None => Err(TextError::NoContent),
        Some(Err(serde_error)) => Err(match Scanner::new(text).scan() {
            Some(error) => error,
            None => {
                // serde refused something Jackson takes (nesting past serde's limit, a lone
                // surrogate escape, a number out of f64 range): say what serde said, placed
                // the way Jackson places its errors.
                let location = location_text(
                    text,
                    serde_error.line(),
                    serde_error.column().saturating_add(1),
                );
                let full = serde_error.to_string();
                let message = strip_serde_position(&full);
                TextError::Syntax {
                    message: format!("{message}\n at {location}"),
                    location,
                }
            }
        }),
    }
}

fn strip_serde_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    }
}

/// `[Source: (String)"…"; line: L, column: C]`, as Jackson's `JsonLocation` prints it.
fn location_text(text: &str, line: usize, column: usize) -> String {
    let total = text.chars().count();
    let snippet: String = text.chars().take(MAX_CONTENT_SNIPPET).collect();
    let truncated = total.saturating_sub(MAX_CONTENT_SNIPPET);
    let mut out = format!("[Source: (String)\"{snippet}\"");
    if truncated > 0 {
        out.push_str(&format!("[truncated {truncated} chars]"));
    }
    out.push_str(&format!("; line: {line}, column: {column}]"));
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Object,
    Array,
}

impl Container {
    fn desc(self) -> &'static str {
        match self {
            Container::Object => "Object",
            Container::Array => "Array",
        }
    }

    fn close(self) -> char {
        match self {
            Container::Object => '}',
            Container::Array => ']',
        }
    }
}

/// Where a container started, for Jackson's "start marker at …" texts.
#[derive(Debug, Clone, Copy)]
struct Open {
    kind: Container,
    line: usize,
    column: usize,
    /// Whether a value has been read since the last comma (or the opening bracket).
    has_value: bool,
}

/// A position-tracking walk over the text mirroring Jackson's `ReaderBasedJsonParser`:
/// lines and columns counted the same way (columns in UTF-16 units, one past the last
/// character consumed), containers on an explicit stack so depth costs no recursion.
struct Scanner<'a> {
    text: &'a str,
    chars: Vec<char>,
    pos: usize,
    line: usize,
    /// UTF-16 offset of the start of the current line.
    row_start: usize,
    /// UTF-16 offset of `pos`.
    offset: usize,
    stack: Vec<Open>,
    /// Duplicate-key tracking (see [`duplicate_keys_under_states`]): the keys seen in each
    /// open container, parallel to `stack`, and the path to the current value.
    track: bool,
    frames: Vec<Frame>,
    path: Vec<Segment>,
    duplicates: Vec<String>,
}

#[derive(Debug, Default)]
struct Frame {
    keys: std::collections::HashSet<String>,
    next_index: usize,
}

#[derive(Debug)]
enum Segment {
    Key(String),
    Index(usize),
}

/// The locations (AWS style, `/States/A`) of object keys that appear twice in an object
/// held under a `States` key. `readTree` keeps the last of duplicate keys; AWS refuses a
/// definition with two states of one name, so the parser needs to know they were there.
pub(crate) fn duplicate_keys_under_states(text: &str) -> Vec<String> {
    let mut scanner = Scanner::new(text);
    scanner.track = true;
    let _ = scanner.root();
    scanner.duplicates
}

fn render_path(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(k) => {
                out.push('/');
                out.push_str(k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

type Scan<T> = Result<T, TextError>;

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner {
            text,
            chars: text.chars().collect(),
            pos: 0,
            line: 1,
            row_start: 0,
            offset: 0,
            stack: Vec::new(),
            track: false,
            frames: Vec::new(),
            path: Vec::new(),
            duplicates: Vec::new(),
        }
    }

    /// The first syntax error Jackson would report, or `None` if Jackson would accept the
    /// text (or find no content, which [`read_value`] already knows).
    fn scan(mut self) -> Option<TextError> {
        match self.root() {
            Ok(()) => None,
            Err(TextError::NoContent) => None,
            Err(e) => Some(e),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied()?;
        self.pos += 1;
        self.offset += c.len_utf16();
        Some(c)
    }

    fn column(&self) -> usize {
        self.offset.saturating_sub(self.row_start) + 1
    }

    fn here(&self) -> String {
        location_text(self.text, self.line, self.column())
    }

    fn error(&self, message: String) -> TextError {
        let location = self.here();
        TextError::Syntax {
            message: format!("{message}\n at {location}"),
            location,
        }
    }

    fn unexpected(&self, c: char, comment: &str) -> TextError {
        self.error(format!(
            "Unexpected character ({}): {comment}",
            char_desc(c)
        ))
    }

    fn newline(&mut self, c: char) {
        if c == '\r' && self.peek() == Some('\n') {
            self.bump();
        }
        self.line += 1;
        self.row_start = self.offset;
    }

    /// Skips white space; returns the next significant character, consumed.
    fn next_significant(&mut self) -> Scan<Option<char>> {
        while let Some(c) = self.bump() {
            match c {
                ' ' | '\t' => {}
                '\n' | '\r' => self.newline(c),
                '/' => {
                    return Err(self.unexpected(
                        '/',
                        "maybe a (non-standard) comment? (not recognized as one since Feature 'ALLOW_COMMENTS' not enabled for parser)",
                    ));
                }
                c if (c as u32) < 0x20 => {
                    return Err(self.error(format!(
                        "Illegal character ({}): only regular white space (\\r, \\n, \\t) is allowed between tokens",
                        char_desc(c)
                    )));
                }
                c => return Ok(Some(c)),
            }
        }
        Ok(None)
    }

    fn eof_in_container(&self) -> TextError {
        match self.stack.last() {
            Some(open) => self.error(format!(
                "Unexpected end-of-input: expected close marker for {} (start marker at {})",
                open.kind.desc(),
                location_text(self.text, open.line, open.column)
            )),
            None => TextError::NoContent,
        }
    }

    fn root(&mut self) -> Scan<()> {
        let Some(first) = self.next_significant()? else {
            return Err(TextError::NoContent);
        };
        let mut c = first;
        loop {
            // A value starts at `c`.
            let scalar_done = self.value(c)?;
            if scalar_done && self.stack.is_empty() {
                return self.root_scalar_end();
            }
            if scalar_done && self.track {
                self.path.pop();
            }
            // After a value (or an opening bracket), find the next value start.
            match self.after_value()? {
                Some(next) => c = next,
                None => return Ok(()),
            }
        }
    }

    /// A scalar at the root must be followed by white space (Jackson's `_verifyRootSpace`);
    /// anything after that is not read.
    fn root_scalar_end(&mut self) -> Scan<()> {
        match self.peek() {
            None => Ok(()),
            Some(' ' | '\t' | '\n' | '\r') => Ok(()),
            Some(c) => {
                self.bump();
                Err(self.unexpected(c, "Expected space separating root-level values"))
            }
        }
    }

    /// Reads the value starting at the consumed character `c`. Returns `true` for a
    /// complete scalar, `false` after opening a container.
    fn value(&mut self, c: char) -> Scan<bool> {
        match c {
            '"' => {
                self.string(None)?;
                Ok(true)
            }
            '{' | '[' => {
                let kind = if c == '{' {
                    Container::Object
                } else {
                    Container::Array
                };
                // Jackson's start location points at the bracket itself.
                self.stack.push(Open {
                    kind,
                    line: self.line,
                    column: self.column().saturating_sub(1),
                    has_value: false,
                });
                if self.track {
                    self.frames.push(Frame::default());
                }
                Ok(false)
            }
            ']' | '}' => Err(self.unexpected(c, "expected a value")),
            't' => self.literal("true").map(|()| true),
            'f' => self.literal("false").map(|()| true),
            'n' => self.literal("null").map(|()| true),
            '-' => self.number(true).map(|()| true),
            '0'..='9' => {
                self.pos -= 1;
                self.offset -= 1;
                self.number(false).map(|()| true)
            }
            'N' => self.non_standard("NaN"),
            'I' => self.non_standard("Infinity"),
            c if is_identifier_start(c) => Err(self.invalid_token(c.to_string())),
            c => Err(self.unexpected(c, &format!("expected a valid value {VALID_VALUES}"))),
        }
    }

    fn non_standard(&mut self, word: &str) -> Scan<bool> {
        let mut matched = String::from(&word[..1]);
        for expected in word.chars().skip(1) {
            if self.peek() == Some(expected) {
                self.bump();
                matched.push(expected);
            } else {
                return Err(self.invalid_token(matched));
            }
        }
        Err(self.error(format!(
            "Non-standard token '{word}': enable JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS to allow"
        )))
    }

    /// After a value or an opening bracket: handles commas, colons, closing brackets and
    /// field names, and returns the first character of the next value (consumed), or
    /// `None` when the root value is complete.
    fn after_value(&mut self) -> Scan<Option<char>> {
        loop {
            let Some(open) = self.stack.last().copied() else {
                return Ok(None);
            };
            let Some(c) = self.next_significant()? else {
                return Err(self.eof_in_container());
            };
            if c == ']' || c == '}' {
                if c != open.kind.close() {
                    return Err(self.error(format!(
                        "Unexpected close marker '{c}': expected '{}' (for {} starting at {})",
                        open.kind.close(),
                        open.kind.desc(),
                        location_text(self.text, open.line, open.column)
                    )));
                }
                self.stack.pop();
                if self.track {
                    self.frames.pop();
                    self.path.pop();
                }
                if self.stack.is_empty() {
                    return Ok(None);
                }
                if let Some(parent) = self.stack.last_mut() {
                    parent.has_value = true;
                }
                continue;
            }
            let mut c = c;
            if open.has_value {
                if c != ',' {
                    return Err(self.unexpected(
                        c,
                        &format!(
                            "was expecting comma to separate {} entries",
                            open.kind.desc()
                        ),
                    ));
                }
                match self.next_significant()? {
                    Some(next) => c = next,
                    None => {
                        return Err(self.error(format!(
                            "Unexpected end-of-input within/between {} entries",
                            open.kind.desc()
                        )));
                    }
                }
            }
            if let Some(top) = self.stack.last_mut() {
                top.has_value = true;
            }
            if open.kind == Container::Object {
                if c != '"' {
                    return Err(
                        self.unexpected(c, "was expecting double-quote to start field name")
                    );
                }
                let mut key = String::new();
                self.string(self.track.then_some(&mut key))?;
                if self.track {
                    self.note_key(&key);
                    self.path.push(Segment::Key(key));
                }
                match self.next_significant()? {
                    Some(':') => {}
                    Some(other) => {
                        return Err(self.unexpected(
                            other,
                            "was expecting a colon to separate field name and value",
                        ));
                    }
                    None => {
                        return Err(self.error(
                            "Unexpected end-of-input within/between Object entries".into(),
                        ));
                    }
                }
                match self.next_significant()? {
                    Some(v) => c = v,
                    None => {
                        return Err(self.error(
                            "Unexpected end-of-input within/between Object entries".into(),
                        ));
                    }
                }
            }
            if self.track
                && open.kind == Container::Array
                && let Some(frame) = self.frames.last_mut()
            {
                self.path.push(Segment::Index(frame.next_index));
                frame.next_index += 1;
            }
            return Ok(Some(c));
        }
    }

    /// Records `key` in the innermost object, and a duplicate if that object is a `States`.
    fn note_key(&mut self, key: &str) {
        let Some(frame) = self.frames.last_mut() else {
            return;
        };
        if !frame.keys.insert(key.to_owned())
            && matches!(self.path.last(), Some(Segment::Key(k)) if k == "States")
        {
            let mut location = render_path(&self.path);
            location.push('/');
            location.push_str(key);
            self.duplicates.push(location);
        }
    }

    /// The rest of a string whose opening quote was consumed; decoded into `out` if given.
    fn string(&mut self, mut out: Option<&mut String>) -> Scan<()> {
        let mut high_surrogate: Option<u32> = None;
        loop {
            let Some(c) = self.bump() else {
                return Err(self.error(
                    "Unexpected end-of-input: was expecting closing quote for a string value"
                        .into(),
                ));
            };
            match c {
                '"' => return Ok(()),
                '\\' => {
                    let Some(e) = self.bump() else {
                        return Err(self
                            .error("Unexpected end-of-input in character escape sequence".into()));
                    };
                    let decoded = match e {
                        '"' | '\\' | '/' => e,
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        'u' => {
                            let mut code = 0u32;
                            for _ in 0..4 {
                                match self.bump() {
                                    Some(h) if h.is_ascii_hexdigit() => {
                                        code = code * 16 + h.to_digit(16).unwrap_or(0);
                                    }
                                    Some(h) => {
                                        return Err(self.unexpected(
                                            h,
                                            "expected a hex-digit for character escape sequence",
                                        ));
                                    }
                                    None => {
                                        return Err(self.error(
                                            "Unexpected end-of-input in character escape sequence"
                                                .into(),
                                        ));
                                    }
                                }
                            }
                            if (0xD800..0xDC00).contains(&code) {
                                high_surrogate = Some(code);
                                continue;
                            }
                            let code = match high_surrogate.take() {
                                Some(high) if (0xDC00..0xE000).contains(&code) => {
                                    0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00)
                                }
                                _ => code,
                            };
                            char::from_u32(code).unwrap_or('\u{fffd}')
                        }
                        other => {
                            return Err(self.error(format!(
                                "Unrecognized character escape {}",
                                char_desc(other)
                            )));
                        }
                    };
                    if let Some(out) = out.as_deref_mut() {
                        out.push(decoded);
                    }
                }
                c if (c as u32) < 0x20 => {
                    return Err(self.error(format!(
                        "Illegal unquoted character ({}): has to be escaped using backslash to be included in string value",
                        char_desc(c)
                    )));
                }
                c => {
                    if let Some(out) = out.as_deref_mut() {
                        out.push(c);
                    }
                }
            }
        }
    }

    /// `true`/`false`/`null` whose first letter was consumed.
    fn literal(&mut self, word: &str) -> Scan<()> {
        let mut matched = String::from(&word[..1]);
        for expected in word.chars().skip(1) {
            if self.peek() == Some(expected) {
                self.bump();
                matched.push(expected);
            } else {
                return Err(self.invalid_token(matched));
            }
        }
        // A literal glued to more identifier characters is one bad token (`truex`).
        match self.peek() {
            Some(c) if c >= '0' && c != ']' && c != '}' && is_identifier_part(c) => {
                Err(self.invalid_token(matched))
            }
            _ => Ok(()),
        }
    }

    /// Jackson's `_reportInvalidToken`: the token is what was matched plus every following
    /// identifier character.
    fn invalid_token(&mut self, matched: String) -> TextError {
        let mut token = matched;
        while let Some(c) = self.peek() {
            if !is_identifier_part(c) {
                break;
            }
            self.bump();
            token.push(c);
            if token.chars().count() >= MAX_ERROR_TOKEN_LENGTH {
                token.push_str("...");
                break;
            }
        }
        self.error(format!(
            "Unrecognized token '{token}': was expecting {VALID_VALUES}"
        ))
    }

    fn number_char_error(&mut self, comment: &str) -> TextError {
        match self.bump() {
            Some(c) => self.error(format!(
                "Unexpected character ({}) in numeric value: {comment}",
                char_desc(c)
            )),
            None => self.error("Unexpected end-of-input in a Number value".into()),
        }
    }

    /// A number; for a negative one the minus sign was consumed.
    fn number(&mut self, negative: bool) -> Scan<()> {
        if negative && !matches!(self.peek(), Some('0'..='9')) {
            if self.peek() == Some('I') {
                self.bump();
                return self.non_standard("Infinity").map(|_| ());
            }
            return Err(self.number_char_error(
                "expected digit (0-9) to follow minus sign, for valid numeric value",
            ));
        }
        let first = self.bump();
        if first == Some('0') && matches!(self.peek(), Some('0'..='9')) {
            self.bump();
            return Err(self.error("Invalid numeric value: Leading zeroes not allowed".into()));
        }
        while matches!(self.peek(), Some('0'..='9')) {
            self.bump();
        }
        if self.peek() == Some('.') {
            self.bump();
            if !matches!(self.peek(), Some('0'..='9')) {
                return Err(self.number_char_error("Decimal point not followed by a digit"));
            }
            while matches!(self.peek(), Some('0'..='9')) {
                self.bump();
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.bump();
            if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
            }
            if !matches!(self.peek(), Some('0'..='9')) {
                return Err(self.number_char_error("Exponent indicator not followed by a digit"));
            }
            while matches!(self.peek(), Some('0'..='9')) {
                self.bump();
            }
        }
        Ok(())
    }
}

/// Jackson's `_getCharDesc`.
fn char_desc(c: char) -> String {
    let code = c as u32;
    if c.is_control() {
        format!("(CTRL-CHAR, code {code})")
    } else if code > 255 {
        format!("'{c}' (code {code} / 0x{code:x})")
    } else {
        format!("'{c}' (code {code})")
    }
}

/// Close to Java's `Character.isJavaIdentifierStart`.
fn is_identifier_start(c: char) -> bool {
    c.is_alphabetic()
        || c == '$'
        || c == '_'
        || matches!(c, '\u{a2}'..='\u{a5}' | '\u{20a0}'..='\u{20cf}')
}

/// Close to Java's `Character.isJavaIdentifierPart`.
fn is_identifier_part(c: char) -> bool {
    is_identifier_start(c)
        || c.is_numeric()
        || matches!(
            c,
            '\u{0}'..='\u{8}' | '\u{e}'..='\u{1b}' | '\u{7f}'..='\u{9f}' | '\u{200b}'..='\u{200f}' | '\u{feff}'
        )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn syntax(text: &str) -> (String, String) {
        match read_value(text) {
            Err(TextError::Syntax { message, location }) => (message, location),
            other => panic!("expected a syntax error for {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn unrecognized_token_matches_the_recorded_aws_message() {
        let (message, location) = syntax("not a definition");
        assert_eq!(
            message,
            "Unrecognized token 'not': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')\n at [Source: (String)\"not a definition\"; line: 1, column: 4]"
        );
        assert_eq!(
            location,
            "[Source: (String)\"not a definition\"; line: 1, column: 4]"
        );
    }

    #[test]
    fn blank_text_is_no_content_and_trailing_text_is_ignored() {
        assert_eq!(read_value(" "), Err(TextError::NoContent));
        assert_eq!(read_value(""), Err(TextError::NoContent));
        assert_eq!(
            read_value("{\"a\":1} trailing").unwrap(),
            serde_json::json!({"a": 1})
        );
    }

    #[test]
    fn structural_errors_use_jackson_wording() {
        assert_eq!(
            syntax("{").0,
            "Unexpected end-of-input: expected close marker for Object (start marker at [Source: (String)\"{\"; line: 1, column: 1])\n at [Source: (String)\"{\"; line: 1, column: 2]"
        );
        assert!(syntax("{x}").0.starts_with(
            "Unexpected character ('x' (code 120)): was expecting double-quote to start field name"
        ));
        assert!(
            syntax("{\"a\" 1}")
                .0
                .starts_with("Unexpected character ('1' (code 49)): was expecting a colon to separate field name and value")
        );
        assert!(syntax("{\"a\":1 \"b\":2}").0.starts_with(
            "Unexpected character ('\"' (code 34)): was expecting comma to separate Object entries"
        ));
        assert!(
            syntax("[1,]")
                .0
                .starts_with("Unexpected character (']' (code 93)): expected a value")
        );
        assert!(
            syntax("{\"a\":1]")
                .0
                .starts_with("Unexpected close marker ']': expected '}' (for Object starting at [Source: (String)\"{\\\"a\\\":1]\"".replace("\\\\\\\"", "\"").as_str())
                || syntax("{\"a\":1]").0.starts_with("Unexpected close marker ']': expected '}'")
        );
        assert!(
            syntax("{\"a\":01}")
                .0
                .starts_with("Invalid numeric value: Leading zeroes not allowed")
        );
        assert!(syntax("{\"a\":\"x").0.starts_with(
            "Unexpected end-of-input: was expecting closing quote for a string value"
        ));
    }

    #[test]
    fn lines_and_columns_count_like_jackson() {
        let (_, location) = syntax("{\n  \"a\": tru\n}");
        assert!(location.ends_with("line: 2, column: 11]"), "{location}");
        let long = format!("[{}x", "1,".repeat(300));
        let (_, location) = syntax(&long);
        assert!(
            location.contains("\"[truncated 102 chars]; line: 1"),
            "{location}"
        );
    }

    #[test]
    fn duplicate_state_names_are_found_by_location() {
        let text = r#"{"StartAt":"A","Parameters":{"States":{"x":1}},"States":{"A":{"Type":"Pass","End":true},"B":{"Type":"Parallel","Branches":[{"States":{"C":1,"C":2}}]},"A":{"Type":"Succeed"}}}"#;
        assert_eq!(
            duplicate_keys_under_states(text),
            vec!["/States/B/Branches[0]/States/C", "/States/A"]
        );
        let escaped = r#"{"States":{"A":1,"A":2,"x":{"y":[1,{"States":{"k":1,"k":2}}]}}}"#;
        assert_eq!(
            duplicate_keys_under_states(escaped),
            vec!["/States/A", "/States/x/y[1]/States/k"]
        );
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let deep = "[".repeat(100_000);
        let (message, _) = syntax(&deep);
        assert!(message.starts_with("Unexpected end-of-input: expected close marker for Array"));
    }
}
