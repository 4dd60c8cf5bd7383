//! A function's definition: what CreateFunction accepts after validation, and what the
//! store keeps (serialised as JSON; the field names are ours, not the wire's).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::FunctionsError;

/// The configuration Lambda applies when a request leaves a field out.
pub const DEFAULT_TIMEOUT_SECS: u32 = 3;
pub const DEFAULT_MEMORY_MB: u32 = 128;
pub const MAX_TIMEOUT_SECS: u32 = 900;
pub const MIN_MEMORY_MB: u32 = 128;
pub const MAX_MEMORY_MB: u32 = 10_240;
/// The only version there is until versions and aliases exist.
pub const LATEST: &str = "$LATEST";

/// Which family of execution environment runs the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeFamily {
    /// `provided`, `provided.al2`, `provided.al2023`: the package's own `bootstrap`.
    Provided,
    /// `python3.x`: Baton's Python shim imports the handler.
    Python,
    /// `nodejsNN.x`: Baton's Node.js shim requires (or imports) the handler.
    Node,
}

/// The runtime identifiers Baton accepts, as Lambda spells them.
pub const RUNTIMES: &[&str] = &[
    "provided",
    "provided.al2",
    "provided.al2023",
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "nodejs18.x",
    "nodejs20.x",
    "nodejs22.x",
];

/// Which family a runtime identifier belongs to (`None`: not one Baton runs).
pub fn runtime_family(runtime: &str) -> Option<RuntimeFamily> {
    if !RUNTIMES.contains(&runtime) {
        return None;
    }
    Some(if runtime.starts_with("provided") {
        RuntimeFamily::Provided
    } else if runtime.starts_with("python") {
        RuntimeFamily::Python
    } else {
        RuntimeFamily::Node
    })
}

/// Where a function's code lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CodeSource {
    /// A zip package kept in the store, identified by its SHA-256 (hex).
    Zip { sha256_hex: String, size: u64 },
    /// Baton-only: a directory on this machine, run in place (edit, invoke, no upload).
    LocalDir { path: String },
}

/// What happens to asynchronous invocations (PutFunctionEventInvokeConfig).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventInvokeConfig {
    /// 0–2; Lambda's default is 2.
    pub maximum_retry_attempts: Option<u32>,
    /// 60–21600 s; Lambda's default is 6 hours.
    pub maximum_event_age_secs: Option<u32>,
    /// Destination ARNs (a Lambda function, for now).
    pub on_success: Option<String>,
    pub on_failure: Option<String>,
    pub last_modified: String,
}

/// A function's stored definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionConfig {
    pub name: String,
    pub runtime: String,
    pub role: String,
    pub handler: String,
    pub description: String,
    pub timeout_secs: u32,
    pub memory_mb: u32,
    pub environment: BTreeMap<String, String>,
    pub architectures: Vec<String>,
    pub code: CodeSource,
    /// Base64 of the package's SHA-256, as Lambda reports `CodeSha256`.
    pub code_sha256_b64: String,
    /// ISO 8601 with milliseconds and `+0000`, as Lambda writes `LastModified`.
    pub last_modified: String,
    /// A UUID, new with every change.
    pub revision_id: String,
    /// PutFunctionConcurrency: the most environments (concurrent invocations) allowed.
    pub reserved_concurrency: Option<u32>,
    pub dead_letter_target: Option<String>,
    pub event_invoke: Option<EventInvokeConfig>,
    pub tags: BTreeMap<String, String>,
    pub ephemeral_storage_mb: u32,
}

impl FunctionConfig {
    pub fn family(&self) -> RuntimeFamily {
        runtime_family(&self.runtime).unwrap_or(RuntimeFamily::Provided)
    }
}

/// Lambda's environment variables a function may not set itself.
pub const RESERVED_ENV_KEYS: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// Function names: 1–64 letters, digits, `-`, `_` (the name part of an ARN).
pub fn valid_function_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A reference to a function as callers write it: a name, a full ARN or a partial ARN
/// (`123456789012:function:name`), each with an optional `:qualifier`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    pub name: String,
    pub qualifier: Option<String>,
}

impl FunctionRef {
    /// Parses a reference; `Err` carries a ValidationException-style message.
    pub fn parse(text: &str) -> Result<FunctionRef, FunctionsError> {
        let parts: Vec<&str> = text.split(':').collect();
        let (name, qualifier) = match parts.as_slice() {
            [name] => (*name, None),
            [name, q] => (*name, Some(*q)),
            [_account, "function", name] => (*name, None),
            [_account, "function", name, q] => (*name, Some(*q)),
            [
                "arn",
                _partition,
                "lambda",
                _region,
                _account,
                "function",
                name,
            ] => (*name, None),
            [
                "arn",
                _partition,
                "lambda",
                _region,
                _account,
                "function",
                name,
                q,
            ] => (*name, Some(*q)),
            _ => ("", None),
        };
        if !valid_function_name(name) {
            return Err(FunctionsError::Validation(format!(
                "1 validation error detected: Value '{text}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
            )));
        }
        Ok(FunctionRef {
            name: name.to_owned(),
            qualifier: qualifier.filter(|q| !q.is_empty()).map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_accept_names_arns_and_partial_arns() {
        let cases = [
            ("f", "f", None),
            ("f:$LATEST", "f", Some("$LATEST")),
            ("123456789012:function:f", "f", None),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:my-fn",
                "my-fn",
                None,
            ),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:my_fn:live",
                "my_fn",
                Some("live"),
            ),
        ];
        for (text, name, q) in cases {
            let r = FunctionRef::parse(text).expect(text);
            assert_eq!(r.name, name, "{text}");
            assert_eq!(r.qualifier.as_deref(), q, "{text}");
        }
        for bad in ["", "a b", "arn:aws:s3:::bucket", "x:y:z", &"a".repeat(65)] {
            assert!(FunctionRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn runtime_families() {
        assert_eq!(
            runtime_family("provided.al2023"),
            Some(RuntimeFamily::Provided)
        );
        assert_eq!(runtime_family("python3.12"), Some(RuntimeFamily::Python));
        assert_eq!(runtime_family("nodejs20.x"), Some(RuntimeFamily::Node));
        assert_eq!(runtime_family("java21"), None);
    }
}
