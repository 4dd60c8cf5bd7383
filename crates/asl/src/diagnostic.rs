//! Validation diagnostics in AWS's shape: a code, a message and a JSON pointer.
//!
//! `ValidateStateMachineDefinition` returns them one by one; `CreateStateMachine` joins
//! them into one `InvalidDefinition` message. Both wordings are produced here so the API
//! layer only chooses between them.

use std::fmt;

/// AWS's diagnostic codes.
pub mod code {
    pub const SCHEMA_VALIDATION_FAILED: &str = "SCHEMA_VALIDATION_FAILED";
    pub const INVALID_JSON_DESCRIPTION: &str = "INVALID_JSON_DESCRIPTION";
    pub const MISSING_TRANSITION_TARGET: &str = "MISSING_TRANSITION_TARGET";
    pub const UNREACHABLE_STATE: &str = "UNREACHABLE_STATE";
    pub const DUPLICATE_STATE_NAME: &str = "DUPLICATE_STATE_NAME";
    pub const NO_TERMINAL_STATE: &str = "NO_TERMINAL_STATE";
    pub const INVALID_JSON_PATH: &str = "INVALID_JSON_PATH";
    pub const INVALID_REFERENCE_PATH: &str = "INVALID_REFERENCE_PATH";
    pub const INVALID_PARAMETERS: &str = "INVALID_PARAMETERS";
    pub const INVALID_INTRINSIC_FUNCTION: &str = "INVALID_INTRINSIC_FUNCTION";
    pub const INVALID_JSONATA: &str = "INVALID_JSONATA";
    pub const INVALID_RESOURCE: &str = "INVALID_RESOURCE";
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
    /// the innermost state for nested pointers).
    pub fn state_name(&self) -> Option<String> {
        let location = self.location.as_deref()?;
        let segments: Vec<String> = location
            .split('/')
            .skip(1)
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect();
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

impl fmt::Display for Diagnostic {
    /// `CODE: message at /location`, the form AWS uses inside `InvalidDefinition`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(loc) => write!(f, "{}: {} at {}", self.code, self.message, loc),
            None => write!(f, "{}: {}", self.code, self.message),
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

/// Appends a key to a JSON pointer, escaping `~` and `/` (RFC 6901).
pub fn pointer_join(base: &str, key: &str) -> String {
    let escaped = key.replace('~', "~0").replace('/', "~1");
    if base == "/" {
        format!("/{escaped}")
    } else {
        format!("{base}/{escaped}")
    }
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
        let d = Diagnostic::schema("x", "/States/M/ItemProcessor/States/In~1ner/Next");
        assert_eq!(d.state_name().as_deref(), Some("In/ner"));
        assert_eq!(pointer_join("/", "States"), "/States");
        assert_eq!(pointer_join("/States", "a/b"), "/States/a~1b");
    }
}
