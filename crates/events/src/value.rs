//! Event leaf values and the comparisons patterns make on them.
//!
//! EventBridge compares typed values: the string `"300"` is not the number
//! `300`, and `null` is not `"null"`. Numbers compare by value (`300` equals
//! `300.0`) but only within ±5.0e9, EventBridge's numeric range; outside it a
//! number only equals the same text.

/// One scalar of a flattened event. Strings are already unescaped; numbers
/// keep their JSON text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Leaf<'a> {
    Str(&'a str),
    Num(&'a str),
    True,
    False,
    Null,
}

/// The largest magnitude EventBridge compares numerically.
pub const NUMERIC_LIMIT: f64 = 5.0e9;

/// The value of a JSON number text, if it lies in EventBridge's numeric range.
pub(crate) fn comparable(text: &str) -> Option<f64> {
    let v: f64 = text.parse().ok()?;
    if v.is_finite() && (-NUMERIC_LIMIT..=NUMERIC_LIMIT).contains(&v) {
        // -0.0 and 0.0 are the same number.
        Some(if v == 0.0 { 0.0 } else { v })
    } else {
        None
    }
}

/// Case folding for the `equals-ignore-case` family: per-character lowercase,
/// applied to pattern and value alike so prefixes of folded text stay prefixes.
pub(crate) fn fold(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().all(|b| !b.is_ascii_uppercase() && b.is_ascii()) {
        return std::borrow::Cow::Borrowed(s);
    }
    if s.is_ascii() {
        return std::borrow::Cow::Owned(s.to_ascii_lowercase());
    }
    std::borrow::Cow::Owned(s.chars().flat_map(char::to_lowercase).collect())
}

/// Appends the folded form of `s` to `out`.
pub(crate) fn fold_into(s: &str, out: &mut String) {
    if s.is_ascii() {
        let from = out.len();
        out.push_str(s);
        if let Some(tail) = out.get_mut(from..) {
            tail.make_ascii_lowercase();
        }
    } else {
        out.extend(s.chars().flat_map(char::to_lowercase));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(comparable("300.0"), Some(300.0));
        assert_eq!(comparable("3e2"), Some(300.0));
        assert_eq!(comparable("-0"), Some(0.0));
        assert_eq!(comparable("5000000001"), None);
        assert_eq!(comparable("1e400"), None);
    }

    #[test]
    fn folding() {
        assert_eq!(fold("EvEnTb"), "eventb");
        assert_eq!(fold("ÄB"), "äb");
        assert_eq!(fold("abc"), "abc");
    }
}
