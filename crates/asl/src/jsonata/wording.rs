//! Error messages in the reference implementation's words.
//!
//! AWS runs the reference implementation's message catalogue: its causes end in
//! `T1006: Attempted to invoke a non-function`, exactly jsonata-js's text. The engine we
//! use keeps the codes but words some messages its own way, names tokens by their Rust
//! names (`Expected RightBracket, got Comma`) and sometimes puts a label in front of
//! the code. This module turns what it can back into the reference's text; a message
//! it does not know stays as the engine wrote it, code first.
//!
//! Not recoverable: the reference names the function in signature errors
//! (`T0410: Argument 1 of function "sum" does not match function signature`) and the
//! operator in comparison errors (`T2010`); the engine's messages do not carry them.

use std::sync::OnceLock;

use regex::Regex;

/// The engine's message as the reference words it, code first when it has one.
/// `function` names the one built-in function the expression calls, if it calls
/// exactly one: the engine's signature errors do not say which function failed.
pub(crate) fn reference_wording_for(message: &str, function: Option<&str>) -> String {
    let message = reference_wording(message);
    match (code_of(&message), function) {
        (Some(code @ ("T0410" | "T0412")), Some(function)) => {
            let text = message[code.len() + 1..].trim_start();
            match signature_error(code, text, function) {
                Some(text) => format!("{code}: {text}"),
                None => message,
            }
        }
        _ => message,
    }
}

/// `Argument 1 must be String` → `Argument 1 of function "uppercase" does not match
/// function signature`; `Argument 1 must be an array of Number` → `Argument 1 of
/// function "sum" must be an array of "numbers"`.
fn signature_error(code: &str, text: &str, function: &str) -> Option<String> {
    static SHAPES: OnceLock<Option<[Regex; 2]>> = OnceLock::new();
    let [argument, count] = SHAPES
        .get_or_init(|| {
            Some([
                Regex::new(
                    r"^Argument (\d+)(?: of function \S*)? must be (?:an array of (\w+)|.*)$",
                )
                .ok()?,
                Regex::new(r"^Argument count mismatch: expected (\d+), got (\d+)$").ok()?,
            ])
        })
        .as_ref()?;
    let function = quote(function);
    if let Some(caps) = argument.captures(text) {
        let index = caps.get(1)?.as_str();
        return Some(match (code, caps.get(2)) {
            ("T0412", Some(item)) => {
                let plural = match item.as_str() {
                    "Number" => "numbers",
                    "String" => "strings",
                    "Boolean" => "booleans",
                    "Object" => "objects",
                    "Array" => "arrays",
                    "Function" => "functions",
                    _ => return None,
                };
                format!("Argument {index} of function {function} must be an array of \"{plural}\"")
            }
            _ => {
                format!("Argument {index} of function {function} does not match function signature")
            }
        });
    }
    let caps = count.captures(text)?;
    let expected: usize = caps.get(1)?.as_str().parse().ok()?;
    let got: usize = caps.get(2)?.as_str().parse().ok()?;
    let index = if got > expected {
        expected + 1
    } else {
        got + 1
    };
    Some(format!(
        "Argument {index} of function {function} does not match function signature"
    ))
}

/// The engine's message as the reference words it, code first when it has one.
pub(crate) fn reference_wording(message: &str) -> String {
    let message = match find_code(message) {
        Some(at) => &message[at..],
        None => message,
    };
    if message == "Unclosed comment" {
        return "S0106: Comment has no closing tag".to_owned();
    }
    let Some(code) = code_of(message) else {
        return message.to_owned();
    };
    let text = message[code.len() + 1..].trim_start();
    let reworded = match code {
        // The engine appends the callee (`…non-function: $f`); the reference does not.
        "T1006" if text.starts_with("Attempted to invoke a non-function") => {
            Some("Attempted to invoke a non-function".to_owned())
        }
        "S0201" | "S0202" | "S0203" | "S0204" | "S0211" => Some(token_names(text)),
        "D3030" => text
            .strip_prefix("Cannot convert '")
            .and_then(|t| t.strip_suffix("' to number"))
            .map(|value| format!("Unable to cast value to a number: {}", quote(value))),
        "D3001" => Some("Attempting to invoke string function on Infinity or NaN".to_owned()),
        "T2003" => Some(
            "The left side of the range operator (..) must evaluate to an integer".to_owned(),
        ),
        "T2004" => Some(
            "The right side of the range operator (..) must evaluate to an integer".to_owned(),
        ),
        "D3010" => Some("Second argument of replace function cannot be an empty string".to_owned()),
        "D3020" => {
            Some("Third argument of split function must evaluate to a positive number".to_owned())
        }
        "D3100" => text
            .strip_prefix("Radix must be between 2 and 36, got ")
            .map(|radix| {
                format!(
                    "The radix of the formatBase function must be between 2 and 36.  It was given {radix}"
                )
            }),
        _ => picture_error(code).map(str::to_owned),
    };
    match reworded {
        Some(text) => format!("{code}: {text}"),
        None => message.to_owned(),
    }
}

/// The `$formatNumber` picture errors, which the reference words after the XPath
/// specification.
fn picture_error(code: &str) -> Option<&'static str> {
    Some(match code {
        "D3080" => "The picture string must only contain a maximum of two sub-pictures",
        "D3081" => {
            "The sub-picture must not contain more than one instance of the 'decimal-separator' character"
        }
        "D3082" => {
            "The sub-picture must not contain more than one instance of the 'percent' character"
        }
        "D3083" => {
            "The sub-picture must not contain more than one instance of the 'per-mille' character"
        }
        "D3084" => "The sub-picture must not contain both a 'percent' and a 'per-mille' character",
        "D3085" => {
            "The mantissa part of a sub-picture must contain at least one character that is either an 'optional digit character' or a member of the 'decimal digit family'"
        }
        "D3086" => {
            "The sub-picture must not contain a passive character that is preceded by an active character and that is followed by another active character"
        }
        "D3087" => {
            "The sub-picture must not contain a 'grouping-separator' character that appears adjacent to a 'decimal-separator' character"
        }
        "D3088" => {
            "The sub-picture must not contain a 'grouping-separator' at the end of the integer part"
        }
        "D3089" => {
            "The sub-picture must not contain two adjacent instances of the 'grouping-separator' character"
        }
        "D3090" => {
            "The integer part of the sub-picture must not contain a member of the 'decimal digit family' that is followed by an instance of the 'optional digit character'"
        }
        "D3091" => {
            "The fractional part of the sub-picture must not contain an instance of the 'optional digit character' that is followed by a member of the 'decimal digit family'"
        }
        "D3092" => {
            "A sub-picture that contains a 'percent' or 'per-mille' character must not contain a character treated as an 'exponent-separator'"
        }
        "D3093" => {
            "The exponent part of the sub-picture must comprise only of one or more characters that are members of the 'decimal digit family'"
        }
        _ => return None,
    })
}

/// Where the first JSONata code (`S0202:`) starts: at the beginning, or after a space.
pub(crate) fn find_code(message: &str) -> Option<usize> {
    let mut after_space = true;
    for (i, c) in message.char_indices() {
        if after_space && code_of(&message[i..]).is_some() {
            return Some(i);
        }
        after_space = c == ' ';
    }
    None
}

/// The JSONata code a message starts with, if it has one.
pub(crate) fn code_of(message: &str) -> Option<&str> {
    jsonata_core::evaluator::error_code_prefix(message)
}

/// A string the way the reference's messages quote values (`JSON.stringify`).
fn quote(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// Replaces the engine's token names in a parse error by the tokens as the reference
/// quotes them: `Expected RightBracket, got Comma` → `Expected "]", got ","`.
fn token_names(text: &str) -> String {
    static TOKEN: OnceLock<Option<Regex>> = OnceLock::new();
    let Some(token) = TOKEN
        .get_or_init(|| {
            Regex::new(
                r#"\b(Identifier|Variable|String|Function)\("((?:[^"\\]|\\.)*)"\)|\bNumber\(([^)]*)\)|\b([A-Z][A-Za-z]+)\b|(!|\^|~)"#,
            )
            .ok()
        })
        .as_ref()
    else {
        return text.to_owned();
    };
    token
        .replace_all(text, |caps: &regex::Captures<'_>| {
            if let Some(value) = caps.get(2) {
                // Debug-escaped text; the common case has no escapes.
                return quote(&value.as_str().replace("\\\"", "\"").replace("\\\\", "\\"));
            }
            if let Some(number) = caps.get(3) {
                let n = number.as_str();
                return n.strip_suffix(".0").unwrap_or(n).to_owned();
            }
            let word = caps
                .get(4)
                .or_else(|| caps.get(5))
                .map_or("", |m| m.as_str());
            match symbol(word) {
                Some(sym) => quote(sym),
                None => word.to_owned(),
            }
        })
        .into_owned()
}

fn symbol(name: &str) -> Option<&'static str> {
    Some(match name {
        "Plus" => "+",
        "Minus" => "-",
        "Star" => "*",
        "StarStar" => "**",
        "Slash" => "/",
        "Percent" => "%",
        "Equal" => "=",
        "NotEqual" => "!=",
        "LessThan" => "<",
        "LessThanOrEqual" => "<=",
        "GreaterThan" => ">",
        "GreaterThanOrEqual" => ">=",
        "And" => "and",
        "Or" => "or",
        "In" => "in",
        "Ampersand" => "&",
        "Dot" => ".",
        "DotDot" => "..",
        "Question" => "?",
        "QuestionQuestion" => "??",
        "QuestionColon" => "?:",
        "Colon" => ":",
        "ColonEqual" => ":=",
        "TildeArrow" => "~>",
        "LeftParen" => "(",
        "RightParen" => ")",
        "LeftBracket" => "[",
        "RightBracket" => "]",
        "LeftBrace" => "{",
        "RightBrace" => "}",
        "Comma" => ",",
        "Semicolon" => ";",
        "Caret" => "^",
        "Pipe" => "|",
        "Hash" => "#",
        "At" => "@",
        "True" => "true",
        "False" => "false",
        "Null" => "null",
        "!" => "!",
        "^" => "^",
        "~" => "~",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_name_tokens_as_the_reference_does() {
        for (engine, reference) in [
            (
                "S0202: Expected RightBracket, got Comma",
                r#"S0202: Expected "]", got ",""#,
            ),
            (
                "S0203: Expected RightBrace before end of expression",
                r#"S0203: Expected "}" before end of expression"#,
            ),
            (
                "S0201: Syntax error: Semicolon",
                r#"S0201: Syntax error: ";""#,
            ),
            (
                r#"S0201: Syntax error: Identifier("y")"#,
                r#"S0201: Syntax error: "y""#,
            ),
            ("S0201: Syntax error: Number(2.0)", "S0201: Syntax error: 2"),
            (
                "S0211: The symbol RightBrace cannot be used as a unary operator",
                r#"S0211: The symbol "}" cannot be used as a unary operator"#,
            ),
            (
                "S0204: Unknown operator: !",
                r#"S0204: Unknown operator: "!""#,
            ),
            (
                "Invalid syntax: S0202: Expected Colon, got Number(1.0)",
                r#"S0202: Expected ":", got 1"#,
            ),
        ] {
            assert_eq!(reference_wording(engine), reference, "{engine}");
        }
    }

    #[test]
    fn runtime_errors_use_the_reference_catalogue() {
        assert_eq!(
            reference_wording("D3030: Cannot convert 'x' to number"),
            r#"D3030: Unable to cast value to a number: "x""#
        );
        assert_eq!(
            reference_wording("T1006: Attempted to invoke a non-function: $foo"),
            "T1006: Attempted to invoke a non-function"
        );
        assert_eq!(
            reference_wording("Signature validation failed: T0410: Argument 2 must be Number"),
            "T0410: Argument 2 must be Number"
        );
        assert_eq!(
            reference_wording("D3100: Radix must be between 2 and 36, got 1"),
            "D3100: The radix of the formatBase function must be between 2 and 36.  It was given 1"
        );
        assert_eq!(reference_wording("no code here"), "no code here");
        assert_eq!(
            reference_wording_for("T0412: Argument 1 must be an array of Number", Some("sum")),
            r#"T0412: Argument 1 of function "sum" must be an array of "numbers""#
        );
        assert_eq!(
            reference_wording_for("T0410: Argument 1 must be String", Some("uppercase")),
            r#"T0410: Argument 1 of function "uppercase" does not match function signature"#
        );
        assert_eq!(
            reference_wording_for(
                "T0410: Argument count mismatch: expected 1, got 2",
                Some("sum")
            ),
            r#"T0410: Argument 2 of function "sum" does not match function signature"#
        );
        assert_eq!(
            reference_wording_for("T0410: Argument 1 must be String", None),
            "T0410: Argument 1 must be String"
        );
        assert_eq!(
            reference_wording("Unclosed comment"),
            "S0106: Comment has no closing tag"
        );
    }
}
