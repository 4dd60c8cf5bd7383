//! Which `$names` an expression mentions.
//!
//! Binding a workflow variable means converting its value into the engine's form, and
//! registering a host function allocates; both are wasted on names the expression never
//! mentions. JSONata resolves `$name` lexically (and `$eval`, the only way to build a
//! reference at run time, is off in Step Functions), so every name an evaluation can
//! reach is written somewhere in the source. The scan may over-collect (a `$word` inside
//! a string literal or comment), which only costs a binding; it never misses one.

/// The characters that end a name, as the reference tokenizer defines them: its
/// operator characters and whitespace.
fn ends_name(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '.' | '['
                | ']'
                | '{'
                | '}'
                | '('
                | ')'
                | ','
                | '@'
                | '#'
                | ';'
                | ':'
                | '?'
                | '+'
                | '-'
                | '*'
                | '/'
                | '%'
                | '|'
                | '='
                | '<'
                | '>'
                | '^'
                | '&'
                | '!'
                | '~'
        )
}

/// The distinct names written after a `$` (without it), in order of first appearance.
pub(crate) fn referenced_names(source: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find('$') {
        let after = &rest[at + 1..];
        let whole = after.find(ends_name).unwrap_or(after.len());
        // A `$` inside a name is read as part of it by the reference tokenizer; keep
        // both readings (the whole, and the pieces the loop visits next).
        let piece = after[..whole].find('$').unwrap_or(whole);
        for name in [&after[..whole], &after[..piece]] {
            if !name.is_empty() && !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
        rest = &after[piece..];
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_variables_and_functions_once() {
        assert_eq!(
            referenced_names("$states.input.a + $x * $sum($x) & $$.b & $"),
            ["states", "x", "sum", "$"]
        );
        assert_eq!(referenced_names("$a$b"), ["a$b", "a", "b"]);
        assert_eq!(referenced_names("$ünï[0]"), ["ünï"]);
        assert!(referenced_names("1 + 2").is_empty());
    }
}
