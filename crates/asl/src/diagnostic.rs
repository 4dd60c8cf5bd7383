//! Validation diagnostics in AWS's shape: a code, a message and a JSON pointer.
//!
//! `ValidateStateMachineDefinition` returns them one by one; `CreateStateMachine` joins
//! them into one `InvalidDefinition` message. Both wordings are produced here so the API
//! layer only chooses between them.

use std::fmt;

/// AWS's diagnostic codes.
///
/// Most problems, bad paths and bad field values included, are `SCHEMA_VALIDATION_FAILED`
/// on AWS; the graph problems have their own codes (an unreachable state is, oddly,
/// `MISSING_TRANSITION_TARGET` too).
pub mod code {
    pub const SCHEMA_VALIDATION_FAILED: &str = "SCHEMA_VALIDATION_FAILED";
    pub const INVALID_JSON_DESCRIPTION: &str = "INVALID_JSON_DESCRIPTION";
    pub const MISSING_TRANSITION_TARGET: &str = "MISSING_TRANSITION_TARGET";
    pub const MISSING_END_STATE: &str = "MISSING_END_STATE";
    pub const DUPLICATE_STATE_NAME: &str = "DUPLICATE_STATE_NAME";
    pub const INVALID_STATE_NAME: &str = "INVALID_STATE_NAME";
    pub const TOO_DEEPLY_NESTED: &str = "TOO_DEEPLY_NESTED";
    pub const INVALID_JSONATA_EXPRESSION: &str = "INVALID_JSONATA_EXPRESSION";
    pub const UNSUPPORTED_JSONATA_EXPRESSION: &str = "UNSUPPORTED_JSONATA_EXPRESSION";
    pub const INVALID_RESOURCE: &str = "INVALID_RESOURCE";
    /// AWS reports an unreachable state under `MISSING_TRANSITION_TARGET`.
    pub const UNREACHABLE_STATE: &str = MISSING_TRANSITION_TARGET;
    /// AWS's name for "no terminal state" is `MISSING_END_STATE`.
    pub const NO_TERMINAL_STATE: &str = MISSING_END_STATE;
    /// AWS's name for a JSONata syntax error is `INVALID_JSONATA_EXPRESSION`.
    pub const INVALID_JSONATA: &str = INVALID_JSONATA_EXPRESSION;
    // Not AWS codes (AWS reports these as SCHEMA_VALIDATION_FAILED); kept for callers.
    pub const INVALID_JSON_PATH: &str = "INVALID_JSON_PATH";
    pub const INVALID_REFERENCE_PATH: &str = "INVALID_REFERENCE_PATH";
    pub const INVALID_PARAMETERS: &str = "INVALID_PARAMETERS";
    pub const INVALID_INTRINSIC_FUNCTION: &str = "INVALID_INTRINSIC_FUNCTION";
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub message: String,
    /// JSON pointer into the definition (`/States/A/Next`); `None` when AWS gives none
    /// (the definition is not JSON at all).
    pub location: Option<String>,
}

impl Diagnostic {
    pub fn new(
        code: &'static str,
        message: impl Into<String>,
        location: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            location: Some(location.into()),
        }
    }

    pub fn schema(message: impl Into<String>, location: impl Into<String>) -> Self {
        Self::new(code::SCHEMA_VALIDATION_FAILED, message, location)
    }

    /// The state name a diagnostic is about, taken from its pointer (`/States/A/…` → `A`,
    /// the innermost state for nested pointers). AWS does not escape `/` in state names,
    /// so a name containing `/` comes back cut at the first `/`.
    pub fn state_name(&self) -> Option<String> {
        let location = self.location.as_deref()?;
        let segments: Vec<String> = location.split('/').skip(1).map(str::to_owned).collect();
        let mut name = None;
        let mut i = 0;
        while i + 1 < segments.len() {
            if segments[i] == "States" {
                name = Some(segments[i + 1].clone());
                i += 2;
            } else {
                i += 1;
            }
        }
        name
    }
}

impl Diagnostic {
    /// A diagnostic AWS gives no location for (`MISSING_END_STATE`, a definition that is
    /// not an object).
    pub fn unlocated(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            location: None,
        }
    }
}

impl fmt::Display for Diagnostic {
    /// `CODE: message at /location`, the form AWS uses inside `InvalidDefinition`; AWS
    /// prints a missing location as `null`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(loc) => write!(f, "{}: {} at {}", self.code, self.message, loc),
            None => write!(f, "{}: {} at null", self.code, self.message),
        }
    }
}

/// Every problem found in one definition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// The message of CreateStateMachine's `InvalidDefinition` error.
    pub fn invalid_definition_message(&self) -> String {
        let joined: Vec<String> = self.0.iter().map(|d| d.to_string()).collect();
        format!("Invalid State Machine Definition: '{}'", joined.join(", "))
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.invalid_definition_message())
    }
}

impl std::error::Error for Diagnostics {}

/// Appends a key to a location the way AWS writes them: `/`-separated and unescaped
/// (a state named `a/b` is at `/States/a/b`), so not quite an RFC 6901 pointer.
pub fn pointer_join(base: &str, key: &str) -> String {
    if base == "/" {
        format!("/{key}")
    } else {
        format!("{base}/{key}")
    }
}

/// Appends an array index the way AWS writes it: `/States/C/Choices[0]`.
pub fn pointer_index(base: &str, index: usize) -> String {
    format!("{base}[{index}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_aws() {
        let d = Diagnostic::schema("These fields are required: [States]", "/");
        let ds = Diagnostics(vec![d]);
        assert_eq!(
            ds.invalid_definition_message(),
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /'"
        );
    }

    #[test]
    fn state_name_from_pointer() {
        let d = Diagnostic::schema("x", "/States/M/ItemProcessor/States/Inner/Next");
        assert_eq!(d.state_name().as_deref(), Some("Inner"));
        let d = Diagnostic::schema("x", "/States/P/Branches[1]/States/B");
        assert_eq!(d.state_name().as_deref(), Some("B"));
        assert_eq!(pointer_join("/", "States"), "/States");
        assert_eq!(pointer_join("/States", "a/b"), "/States/a/b");
        assert_eq!(
            pointer_index("/States/C/Choices", 0),
            "/States/C/Choices[0]"
        );
    }

    #[test]
    fn missing_location_prints_as_null() {
        let ds = Diagnostics(vec![Diagnostic::unlocated(
            code::MISSING_END_STATE,
            "Workflow has no terminal state",
        )]);
        assert_eq!(
            ds.invalid_definition_message(),
            "Invalid State Machine Definition: 'MISSING_END_STATE: Workflow has no terminal state at null'"
        );
    }
}
