//! Event patterns: the parsed, validated form of a rule's `EventPattern`.
//!
//! A pattern is kept in disjunctive form: `$or` is expanded at parse time into
//! [`Branch`]es, each an AND of [`FieldPattern`]s, each an OR of
//! [`ValueMatcher`]s over one dot-joined field path. Both the compiled
//! [`crate::Matcher`] and the reference interpreter ([`Pattern::matches_json`])
//! work from this form.
//!
//! Architecture Invariant: within one branch every path appears once. A key
//! that repeats in the pattern text replaces the earlier one (EventBridge's
//! parser keeps the last), and `a.b` and `a: {b}` name the same path.

mod compile;
pub(crate) mod ip;
pub(crate) mod wildcard;

pub use ip::IpRange;
pub use wildcard::Glob;

use crate::value::{Leaf, comparable, fold};

/// A validated event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    branches: Vec<Branch>,
}

/// One alternative of a pattern: every field must match.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    fields: Vec<FieldPattern>,
}

/// The matchers for one field path; any one of them may match.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldPattern {
    path: String,
    matchers: Vec<ValueMatcher>,
}

/// A number written in a pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternNumber {
    text: String,
    /// Present when the number lies in EventBridge's numeric range.
    value: Option<f64>,
}

impl PatternNumber {
    pub(crate) fn from_text(text: &str) -> PatternNumber {
        PatternNumber {
            text: text.to_owned(),
            value: comparable(text),
        }
    }
    pub fn text(&self) -> &str {
        &self.text
    }
    pub fn value(&self) -> Option<f64> {
        self.value
    }
}

/// A numeric interval; unbounded ends are infinite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumericRange {
    pub lo: f64,
    pub lo_open: bool,
    pub hi: f64,
    pub hi_open: bool,
}

impl NumericRange {
    pub(crate) fn contains(&self, v: f64) -> bool {
        let above = if self.lo_open {
            v > self.lo
        } else {
            v >= self.lo
        };
        let below = if self.hi_open {
            v < self.hi
        } else {
            v <= self.hi
        };
        above && below
    }
}

/// What an `anything-but` excludes.
#[derive(Debug, Clone, PartialEq)]
pub enum AnythingBut {
    Strings(Vec<String>),
    Numbers(Vec<f64>),
    /// Folded strings.
    IgnoreCase(Vec<String>),
    Prefixes(Vec<String>),
    Suffixes(Vec<String>),
    Wildcards(Vec<Glob>),
}

/// One test on one event value.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueMatcher {
    ExactString(String),
    /// An exact string value that is an IP literal matches that address in any spelling.
    ExactIp(IpRange),
    ExactNumber(PatternNumber),
    ExactTrue,
    ExactFalse,
    ExactNull,
    Prefix(String),
    /// Holds the folded prefix.
    PrefixIgnoreCase(String),
    Suffix(String),
    /// Holds the folded suffix.
    SuffixIgnoreCase(String),
    /// Holds the folded value.
    EqualsIgnoreCase(String),
    Wildcard(Glob),
    AnythingBut(AnythingBut),
    Numeric(NumericRange),
    Cidr(IpRange),
    Exists(bool),
}

/// Why a pattern was refused, as `InvalidEventPatternException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("InvalidEventPatternException: Event pattern is not valid. Reason: {reason}")]
pub struct PatternError {
    reason: String,
}

impl PatternError {
    pub(crate) fn new(reason: impl Into<String>) -> PatternError {
        PatternError {
            reason: reason.into(),
        }
    }
    /// The AWS error name.
    pub fn name(&self) -> &'static str {
        "InvalidEventPatternException"
    }
    /// The AWS error message.
    pub fn message(&self) -> String {
        format!("Event pattern is not valid. Reason: {}", self.reason)
    }
    /// The part of the message after `Reason: `.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl Pattern {
    /// Parses and validates pattern text as EventBridge does.
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        compile::compile(text)
    }

    pub fn branches(&self) -> &[Branch] {
        &self.branches
    }

    /// Matches an event given as JSON text, one pattern at a time (the
    /// reference semantics the compiled [`crate::Matcher`] must agree with).
    pub fn matches_json(&self, event: &serde_json::Value) -> bool {
        crate::interpret::matches(self, event)
    }
}

impl Branch {
    pub fn fields(&self) -> &[FieldPattern] {
        &self.fields
    }
}

impl FieldPattern {
    /// The dot-joined path (`detail.state`).
    pub fn path(&self) -> &str {
        &self.path
    }
    pub fn matchers(&self) -> &[ValueMatcher] {
        &self.matchers
    }
    /// True when the field is also satisfied by the path being absent.
    pub(crate) fn allows_absence(&self) -> bool {
        self.matchers.contains(&ValueMatcher::Exists(false))
    }
    /// True when some matcher tests a present value.
    pub(crate) fn has_value_matchers(&self) -> bool {
        self.matchers
            .iter()
            .any(|m| *m != ValueMatcher::Exists(false))
    }
}

impl ValueMatcher {
    /// Whether one event value satisfies this matcher (`exists: false` never
    /// does: it is about absence, handled by the field).
    pub(crate) fn matches_leaf(&self, leaf: &Leaf<'_>) -> bool {
        use ValueMatcher as M;
        match (self, leaf) {
            (M::Exists(present), _) => *present,
            (M::ExactString(s), Leaf::Str(v)) => s == v,
            (M::ExactIp(r) | M::Cidr(r), Leaf::Str(v)) => {
                ip::parse_ip(v).is_some_and(|(v6, a)| r.contains(v6, a))
            }
            (M::ExactNumber(n), Leaf::Num(t)) => {
                n.text == *t || n.value.is_some_and(|nv| comparable(t) == Some(nv))
            }
            (M::ExactTrue, Leaf::True)
            | (M::ExactFalse, Leaf::False)
            | (M::ExactNull, Leaf::Null) => true,
            (M::Prefix(p), Leaf::Str(v)) => v.starts_with(p.as_str()),
            (M::PrefixIgnoreCase(p), Leaf::Str(v)) => fold(v).starts_with(p.as_str()),
            (M::Suffix(p), Leaf::Str(v)) => v.ends_with(p.as_str()),
            (M::SuffixIgnoreCase(p), Leaf::Str(v)) => fold(v).ends_with(p.as_str()),
            (M::EqualsIgnoreCase(p), Leaf::Str(v)) => fold(v) == p.as_str(),
            (M::Wildcard(g), Leaf::Str(v)) => g.matches(v.as_bytes()),
            (M::Numeric(r), Leaf::Num(t)) => comparable(t).is_some_and(|x| r.contains(x)),
            (M::AnythingBut(ab), _) => !ab.excludes(leaf),
            _ => false,
        }
    }
}

impl AnythingBut {
    /// Whether the value is one of the excluded ones.
    pub(crate) fn excludes(&self, leaf: &Leaf<'_>) -> bool {
        match (self, leaf) {
            (AnythingBut::Strings(set), Leaf::Str(v)) => set.iter().any(|s| s == v),
            (AnythingBut::Numbers(set), Leaf::Num(t)) => {
                comparable(t).is_some_and(|x| set.contains(&x))
            }
            (AnythingBut::IgnoreCase(set), Leaf::Str(v)) => {
                let f = fold(v);
                set.iter().any(|s| *s == f)
            }
            (AnythingBut::Prefixes(set), Leaf::Str(v)) => {
                set.iter().any(|p| v.starts_with(p.as_str()))
            }
            (AnythingBut::Suffixes(set), Leaf::Str(v)) => {
                set.iter().any(|p| v.ends_with(p.as_str()))
            }
            (AnythingBut::Wildcards(set), Leaf::Str(v)) => {
                set.iter().any(|g| g.matches(v.as_bytes()))
            }
            _ => false,
        }
    }
}
