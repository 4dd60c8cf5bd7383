//! Pattern text → [`Pattern`], validating as it streams (see `json_tokens`).
//!
//! The order of checks follows EventBridge's parser so that the first problem
//! in the text is the one reported, with AWS's reason text.

use std::borrow::Cow;

use super::wildcard::{self, Glob};
use super::{
    AnythingBut, Branch, FieldPattern, NumericRange, Pattern, PatternError, PatternNumber,
    ValueMatcher, ip,
};
use crate::json_tokens::{Token, Tokenizer};
use crate::value::{NUMERIC_LIMIT, comparable, fold};

/// More `$or` combinations than this are refused (Baton's own limit: the
/// branches of nested `$or`s multiply, and each costs matcher memory).
pub const MAX_BRANCHES: usize = 1024;

const TOO_COMPLEX_WILDCARD: &str = "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character";

/// Field names that may not appear inside a `$or` object.
const RESERVED_IN_OR: &[&str] = &[
    "exactly",
    "equals-ignore-case",
    "prefix",
    "suffix",
    "anything-but",
    "exists",
    "wildcard",
    "numeric",
    "cidr",
    "=",
    "<",
    "<=",
    ">",
    ">=",
    "regex",
    "not-wildcard",
    "not-equals-ignore-case",
    "date-after",
    "date-on-or-after",
    "date-before",
    "date-on-or-before",
    "in-date-range",
    "ip-address-in-range",
    "ip-address-not-in-range",
];

type Fields = Vec<FieldPattern>;

pub(super) fn compile(text: &str) -> Result<Pattern, PatternError> {
    let mut c = Compiler {
        tok: Tokenizer::new(text),
    };
    match c.next()? {
        Some(Token::StartObject) => {}
        _ => return Err(PatternError::new("Filter is not an object")),
    }
    let mut rules: Vec<Fields> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    c.object(&mut rules, &mut path, false)?;
    check_wildcard_complexity(&rules)?;
    let branches = rules
        .into_iter()
        .map(|mut fields| {
            fields.sort_by(|a, b| a.path.cmp(&b.path));
            Branch { fields }
        })
        .collect();
    Ok(Pattern { branches })
}

struct Compiler<'a> {
    tok: Tokenizer<'a>,
}

fn err<T>(reason: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError::new(reason))
}

impl<'a> Compiler<'a> {
    fn next(&mut self) -> Result<Option<Token<'a>>, PatternError> {
        self.tok.next_token().map_err(|e| PatternError::new(e.0))
    }

    /// The next token, where the grammar guarantees one exists.
    fn token(&mut self) -> Result<Token<'a>, PatternError> {
        match self.next()? {
            Some(t) => Ok(t),
            None => err("Unexpected end-of-input"),
        }
    }

    fn expect_end_object(&mut self, reason: &str) -> Result<(), PatternError> {
        match self.token()? {
            Token::EndObject => Ok(()),
            _ => err(reason),
        }
    }

    fn object(
        &mut self,
        rules: &mut Vec<Fields>,
        path: &mut Vec<String>,
        in_or: bool,
    ) -> Result<(), PatternError> {
        let mut any = false;
        loop {
            let name = match self.token()? {
                Token::EndObject => break,
                Token::FieldName(name) => name,
                other => return err(format!("Unexpected token {}", other.text())),
            };
            any = true;
            if name == "$or" {
                self.or(rules, path)?;
                continue;
            }
            if in_or && RESERVED_IN_OR.contains(&name.as_ref()) {
                return err(format!(
                    "{name} is Ruler reserved fieldName which cannot be used inside $or."
                ));
            }
            match self.token()? {
                Token::StartObject => {
                    path.push(name.into_owned());
                    self.object(rules, path, in_or)?;
                    path.pop();
                }
                Token::StartArray => {
                    let full = if path.is_empty() {
                        name.into_owned()
                    } else {
                        format!("{}.{}", path.join("."), name)
                    };
                    self.values(rules, full)?;
                }
                _ => return err(format!("\"{name}\" must be an object or an array")),
            }
        }
        if !any {
            return err("Empty objects are not allowed");
        }
        Ok(())
    }

    fn or(&mut self, rules: &mut Vec<Fields>, path: &mut Vec<String>) -> Result<(), PatternError> {
        let current = std::mem::take(rules);
        match self.token()? {
            Token::StartArray => {}
            _ => return err("It must be an Array followed with $or."),
        }
        let mut count = 0;
        loop {
            match self.token()? {
                Token::EndArray => break,
                Token::StartObject => {
                    count += 1;
                    let mut alternative = current.clone();
                    if alternative.is_empty() {
                        alternative.push(Vec::new());
                    }
                    self.object(&mut alternative, path, true)?;
                    rules.extend(alternative);
                    if rules.len() > MAX_BRANCHES {
                        return err(format!(
                            "Rule is too complex - try using fewer $or combinations (at most {MAX_BRANCHES})"
                        ));
                    }
                }
                _ => return err("Only JSON object is allowed in array of $or relationship."),
            }
        }
        if count < 2 {
            return err("There must have at least 2 Objects in $or relationship.");
        }
        Ok(())
    }

    /// A field's value array.
    fn values(&mut self, rules: &mut Vec<Fields>, path: String) -> Result<(), PatternError> {
        let mut matchers = Vec::new();
        loop {
            let m = match self.token()? {
                Token::EndArray => break,
                Token::StartObject => self.match_expression()?,
                Token::String(s) => match ip::exact_ip(&s) {
                    Some(range) => ValueMatcher::ExactIp(range),
                    None => ValueMatcher::ExactString(s.into_owned()),
                },
                Token::Number(t) => ValueMatcher::ExactNumber(PatternNumber::from_text(t)),
                Token::True => ValueMatcher::ExactTrue,
                Token::False => ValueMatcher::ExactFalse,
                Token::Null => ValueMatcher::ExactNull,
                _ => return err("Match value must be String, number, true, false, or null"),
            };
            matchers.push(m);
        }
        if matchers.is_empty() {
            return err("Empty arrays are not allowed");
        }
        if rules.is_empty() {
            rules.push(Vec::new());
        }
        for fields in rules.iter_mut() {
            let field = FieldPattern {
                path: path.clone(),
                matchers: matchers.clone(),
            };
            match fields.iter_mut().find(|f| f.path == path) {
                Some(existing) => *existing = field,
                None => fields.push(field),
            }
        }
        Ok(())
    }

    /// `{ "<operator>": … }` inside a value array (the `{` is consumed).
    fn match_expression(&mut self) -> Result<ValueMatcher, PatternError> {
        const ONE_KEY: &str = "Only one key allowed in match expression";
        let name = match self.token()? {
            Token::FieldName(n) => n,
            _ => return err("Match expression name not found"),
        };
        match name.as_ref() {
            "exactly" => {
                let Token::String(s) = self.token()? else {
                    return err("exact match pattern must be a string");
                };
                self.expect_end_object(ONE_KEY)?;
                Ok(ValueMatcher::ExactString(s.into_owned()))
            }
            "prefix" => match self.token()? {
                Token::StartObject => {
                    let s = self.ignore_case_operand("Prefix", "prefix")?;
                    Ok(ValueMatcher::PrefixIgnoreCase(fold(&s).into_owned()))
                }
                Token::String(s) => {
                    self.expect_end_object(ONE_KEY)?;
                    Ok(ValueMatcher::Prefix(s.into_owned()))
                }
                _ => err("prefix match pattern must be a string"),
            },
            "suffix" => match self.token()? {
                Token::StartObject => {
                    let s = self.ignore_case_operand("Suffix", "suffix")?;
                    Ok(ValueMatcher::SuffixIgnoreCase(fold(&s).into_owned()))
                }
                Token::String(s) => {
                    self.expect_end_object(ONE_KEY)?;
                    Ok(ValueMatcher::Suffix(s.into_owned()))
                }
                _ => err("suffix match pattern must be a string"),
            },
            "numeric" => {
                if self.token()? != Token::StartArray {
                    return err("Value of numeric must be an array.");
                }
                let range = self.numeric()?;
                self.expect_end_object("Too many elements in numeric expression")?;
                Ok(ValueMatcher::Numeric(range))
            }
            "anything-but" => self.anything_but(),
            "exists" => {
                let present = match self.token()? {
                    Token::True => true,
                    Token::False => false,
                    _ => return err("exists match pattern must be either true or false."),
                };
                self.expect_end_object(ONE_KEY)?;
                Ok(ValueMatcher::Exists(present))
            }
            "cidr" => {
                let Token::String(s) = self.token()? else {
                    return err("prefix match pattern must be a string");
                };
                let range = ip::parse_cidr(&s).map_err(PatternError::new)?;
                self.expect_end_object(ONE_KEY)?;
                Ok(ValueMatcher::Cidr(range))
            }
            "equals-ignore-case" => {
                let Token::String(s) = self.token()? else {
                    return err("equals-ignore-case match pattern must be a string");
                };
                self.expect_end_object(ONE_KEY)?;
                Ok(ValueMatcher::EqualsIgnoreCase(fold(&s).into_owned()))
            }
            "wildcard" => {
                let Token::String(s) = self.token()? else {
                    return err("wildcard match pattern must be a string");
                };
                let glob = Glob::parse(&s).map_err(PatternError::new)?;
                self.expect_end_object(ONE_KEY)?;
                Ok(ValueMatcher::Wildcard(glob))
            }
            other => err(format!("Unrecognized match type {other}")),
        }
    }

    /// `{"equals-ignore-case": "…"}` nested in prefix/suffix (the `{` is consumed).
    fn ignore_case_operand(&mut self, title: &str, lower: &str) -> Result<String, PatternError> {
        const ONE_KEY: &str = "Only one key allowed in match expression";
        let name = match self.token()? {
            Token::FieldName(n) => n,
            _ => return err(format!("{title} expression name not found")),
        };
        if name != "equals-ignore-case" {
            return err(format!("Unsupported {lower} pattern: {name}"));
        }
        let Token::String(s) = self.token()? else {
            return err("equals-ignore-case match pattern must be a string");
        };
        self.expect_end_object(ONE_KEY)?;
        self.expect_end_object(ONE_KEY)?;
        Ok(s.into_owned())
    }

    /// The operands of `numeric` (the `[` is consumed).
    fn numeric(&mut self) -> Result<NumericRange, PatternError> {
        let op = match self.token()? {
            Token::String(op) => op,
            other => return err(format!("Invalid member in numeric match: {}", other.text())),
        };
        let operand = self.token()?;
        let unbounded = NumericRange {
            lo: f64::NEG_INFINITY,
            lo_open: false,
            hi: f64::INFINITY,
            hi_open: false,
        };
        match op.as_ref() {
            "=" => {
                if !operand.is_number() {
                    return err("Value of equals must be numeric");
                }
                let v = number_operand(&operand)?;
                if self.token()? != Token::EndArray {
                    return err("Too many elements in numeric expression");
                }
                Ok(NumericRange {
                    lo: v,
                    lo_open: false,
                    hi: v,
                    hi_open: false,
                })
            }
            ">" | ">=" => {
                if !operand.is_number() {
                    return err(format!("Value of {op} must be numeric"));
                }
                let bottom = number_operand(&operand)?;
                let lo_open = op == ">";
                match self.token()? {
                    Token::EndArray => Ok(NumericRange {
                        lo: bottom,
                        lo_open,
                        ..unbounded
                    }),
                    next => self.numeric_top(next, bottom, lo_open),
                }
            }
            "<" | "<=" => {
                if !operand.is_number() {
                    return err(format!("Value of {op} must be numeric"));
                }
                let top = number_operand(&operand)?;
                if self.token()? != Token::EndArray {
                    return err("Too many elements in numeric expression");
                }
                Ok(NumericRange {
                    hi: top,
                    hi_open: op == "<",
                    ..unbounded
                })
            }
            other => err(format!("Unrecognized numeric range operator: {other}")),
        }
    }

    fn numeric_top(
        &mut self,
        op_token: Token<'a>,
        bottom: f64,
        lo_open: bool,
    ) -> Result<NumericRange, PatternError> {
        let Token::String(op) = op_token else {
            return err(format!("Bad value in numeric range: {}", op_token.text()));
        };
        let hi_open = match op.as_ref() {
            "<" => true,
            "<=" => false,
            other => return err(format!("Bad numeric range operator: {other}")),
        };
        let operand = self.token()?;
        if !operand.is_number() {
            return err(format!("Value of {op} must be numeric"));
        }
        let top = number_operand(&operand)?;
        if self.token()? != Token::EndArray {
            return err("Too many terms in numeric range expression");
        }
        if bottom >= top {
            return err("Bottom must be less than top");
        }
        Ok(NumericRange {
            lo: bottom,
            lo_open,
            hi: top,
            hi_open,
        })
    }

    fn anything_but(&mut self) -> Result<ValueMatcher, PatternError> {
        #[derive(PartialEq, Clone, Copy)]
        enum Kind {
            Plain,
            IgnoreCase,
            Prefix,
            Suffix,
            Wildcard,
        }
        let mut token = self.token()?;
        let mut kind = Kind::Plain;
        if token == Token::StartObject {
            let name = match self.token()? {
                Token::FieldName(n) => n,
                _ => return err("Anything-But expression name not found"),
            };
            kind = match name.as_ref() {
                "equals-ignore-case" => Kind::IgnoreCase,
                "prefix" => Kind::Prefix,
                "suffix" => Kind::Suffix,
                "wildcard" => Kind::Wildcard,
                other => return err(format!("Unsupported anything-but pattern: {other}")),
            };
            token = self.token()?;
        }
        if !matches!(
            token,
            Token::StartArray | Token::String(_) | Token::Number(_)
        ) {
            return err("Value of anything-but must be an array or single string/number value.");
        }
        let result = if kind == Kind::Plain {
            if token == Token::StartArray {
                self.anything_but_list()?
            } else {
                match token {
                    Token::String(s) => AnythingBut::Strings(vec![s.into_owned()]),
                    other => AnythingBut::Numbers(vec![number_operand(&other)?]),
                }
            }
        } else {
            let mut texts: Vec<String> = Vec::new();
            let mut take = |t: Token<'a>| -> Result<(), PatternError> {
                match t {
                    Token::String(s) => {
                        if matches!(kind, Kind::Prefix | Kind::Suffix) && s.is_empty() {
                            return err("Null prefix/suffix not allowed");
                        }
                        texts.push(s.into_owned());
                        Ok(())
                    }
                    _ => match kind {
                        Kind::IgnoreCase => err(
                            "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
                        ),
                        Kind::Wildcard => err("wildcard match pattern must be a string"),
                        _ => err("prefix/suffix match pattern must be a string"),
                    },
                }
            };
            if token == Token::StartArray {
                loop {
                    let t = self.token()?;
                    if t == Token::EndArray {
                        break;
                    }
                    take(t)?;
                }
            } else {
                take(token)?;
            }
            match kind {
                Kind::IgnoreCase => {
                    AnythingBut::IgnoreCase(texts.iter().map(|s| fold(s).into_owned()).collect())
                }
                Kind::Prefix => AnythingBut::Prefixes(texts),
                Kind::Suffix => AnythingBut::Suffixes(texts),
                _ => AnythingBut::Wildcards(
                    texts
                        .iter()
                        .map(|s| Glob::parse(s))
                        .collect::<Result<_, _>>()
                        .map_err(PatternError::new)?,
                ),
            }
        };
        if self.token()? != Token::EndObject {
            return err("Too many elements in numeric expression");
        }
        if kind != Kind::Plain && self.token()? != Token::EndObject {
            return err("Too many elements in numeric expression");
        }
        Ok(ValueMatcher::AnythingBut(result))
    }

    fn anything_but_list(&mut self) -> Result<AnythingBut, PatternError> {
        let mut strings = Vec::new();
        let mut numbers = Vec::new();
        loop {
            match self.token()? {
                Token::EndArray => break,
                Token::String(s) => strings.push(s.into_owned()),
                t @ Token::Number(_) => numbers.push(number_operand(&t)?),
                _ => return err("Inside anything but list, start|null|boolean is not supported."),
            }
        }
        match (strings.is_empty(), numbers.is_empty()) {
            (false, true) => Ok(AnythingBut::Strings(strings)),
            (true, false) => Ok(AnythingBut::Numbers(numbers)),
            _ => err(
                "Inside anything but list, either all values are number or string, mixed type is not supported",
            ),
        }
    }
}

/// A number operand that must lie in EventBridge's numeric range.
fn number_operand(token: &Token<'_>) -> Result<f64, PatternError> {
    let text: Cow<'_, str> = token.text();
    match comparable(&text) {
        Some(v) => Ok(v),
        None => err(format!(
            "Value must be between {:.1E} and {:.1E}, inclusive",
            -NUMERIC_LIMIT, NUMERIC_LIMIT
        )),
    }
}

/// Refuses rules whose wildcards on one field could keep too many partial
/// matches alive at once (AWS's "Rule is too complex").
fn check_wildcard_complexity(rules: &[Fields]) -> Result<(), PatternError> {
    let mut by_path: Vec<(&str, Vec<&Glob>)> = Vec::new();
    for fields in rules {
        for f in fields {
            for m in &f.matchers {
                let globs: Vec<&Glob> = match m {
                    ValueMatcher::Wildcard(g) => vec![g],
                    ValueMatcher::AnythingBut(AnythingBut::Wildcards(gs)) => gs.iter().collect(),
                    _ => continue,
                };
                match by_path.iter_mut().find(|(p, _)| *p == f.path) {
                    Some((_, list)) => {
                        for g in globs {
                            if !list.contains(&g) {
                                list.push(g);
                            }
                        }
                    }
                    None => by_path.push((&f.path, globs)),
                }
            }
        }
    }
    for (_, globs) in &by_path {
        if wildcard::complexity(globs) > wildcard::MAX_COMPLEXITY {
            return err(TOO_COMPLEX_WILDCARD);
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn reason(text: &str) -> String {
        Pattern::parse(text).unwrap_err().reason().to_owned()
    }

    #[test]
    fn reasons() {
        assert_eq!(reason("[1]"), "Filter is not an object");
        assert_eq!(reason("{}"), "Empty objects are not allowed");
        assert_eq!(reason(r#"{"a": 1}"#), "\"a\" must be an object or an array");
        assert_eq!(reason(r#"{"a": []}"#), "Empty arrays are not allowed");
        assert_eq!(
            reason(r#"{"a": [{"numeric": [">", 0, ">", 0]}]}"#),
            "Bad numeric range operator: >"
        );
        assert_eq!(
            reason(r#"{"a": [{"numeric": [">", 5, "<", 1]}]}"#),
            "Bottom must be less than top"
        );
        assert_eq!(
            reason(r#"{"a": [{"numeric": ["<", 6000000000]}]}"#),
            "Value must be between -5.0E9 and 5.0E9, inclusive"
        );
        assert_eq!(
            reason(r#"{"$or": [{"a": ["x"]}]}"#),
            "There must have at least 2 Objects in $or relationship."
        );
        assert_eq!(
            reason(r#"{"$or": [{"a": ["x"]}, {"prefix": ["y"]}]}"#),
            "prefix is Ruler reserved fieldName which cannot be used inside $or."
        );
        // The first problem in the text wins over a later syntax error.
        assert_eq!(
            reason(r#"{"a": 1, "b": "#),
            "\"a\" must be an object or an array"
        );
    }

    #[test]
    fn or_expands_into_branches_and_duplicates_keep_the_last() {
        let p = Pattern::parse(
            r#"{"source": ["s"], "$or": [{"a": [1]}, {"b": [2], "$or": [{"c": [3]}, {"d": [4]}]}]}"#,
        )
        .unwrap();
        assert_eq!(p.branches().len(), 3);
        let p = Pattern::parse(r#"{"x": {"a": ["1"], "a": ["2"]}}"#).unwrap();
        assert_eq!(p.branches()[0].fields().len(), 1);
        assert_eq!(
            p.branches()[0].fields()[0].matchers(),
            &[ValueMatcher::ExactString("2".into())]
        );
    }
}
