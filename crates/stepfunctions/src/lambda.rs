//! The Lambda integration's view of a function call: what a Task state receives when a
//! function returns or raises, for both the legacy function-ARN resource and
//! `arn:aws:states:::lambda:invoke`.

use baton_exec::limits::MAX_PAYLOAD_BYTES;
use baton_exec::{Failure, TaskKind, TaskRequest};
use serde_json::{Map, Value, json};

use baton_platform::bridge::FunctionResult;

use crate::local::TaskAnswer;

/// The name and version a Task resource or `FunctionName` parameter refers to.
pub fn function_reference(request: &TaskRequest) -> Option<String> {
    match &request.kind {
        TaskKind::Lambda { arn } => Some(arn.clone()),
        TaskKind::Service { .. } => request
            .input
            .get("FunctionName")
            .and_then(Value::as_str)
            .map(str::to_owned),
        TaskKind::Activity { .. } => None,
    }
}

/// The event a function receives: the task input for the legacy form, `Payload` for
/// `lambda:invoke` (`{}`, i.e. nothing, when absent).
///
/// A string `Payload` is the payload's bytes (JSON text), as the Invoke API takes it; a
/// null or absent one sends nothing, which a function sees as `{}`.
pub fn function_event(request: &TaskRequest) -> Value {
    match &request.kind {
        TaskKind::Service { .. } => match request.input.get("Payload") {
            None | Some(Value::Null) => json!({}),
            Some(Value::String(text)) => {
                serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))
            }
            Some(v) => v.clone(),
        },
        _ => (*request.input).clone(),
    }
}

/// Per-call facts the Invoke response reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeMeta {
    pub request_id: String,
    /// The response `Date` header (RFC 7231).
    pub date: String,
    pub trace_id: String,
    /// Base64 of the last 4 KB of the invocation's log, when `LogType` is `Tail`.
    pub log_tail: String,
}

impl InvokeMeta {
    pub fn new(request_id: impl Into<String>, now_millis: i64) -> Self {
        let date = chrono::DateTime::from_timestamp_millis(now_millis)
            .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
            .unwrap_or_default();
        let request_id = request_id.into();
        InvokeMeta {
            trace_id: format!("Root=1-{request_id}"),
            request_id,
            date,
            log_tail: String::new(),
        }
    }
}

/// Turns a function's result into the Task's answer, as AWS's Lambda integration does.
pub fn task_answer(request: &TaskRequest, result: FunctionResult, meta: &InvokeMeta) -> TaskAnswer {
    let request_id = meta.request_id.as_str();
    let legacy = matches!(request.kind, TaskKind::Lambda { .. });
    match result {
        FunctionResult::Returned(bytes) => {
            if bytes.len() > MAX_PAYLOAD_BYTES {
                let name = match &request.kind {
                    TaskKind::Lambda { arn } => arn.clone(),
                    _ => "lambda".to_owned(),
                };
                return TaskAnswer::Fail(Failure::new(
                    baton_asl::error_name::STATES_DATA_LIMIT_EXCEEDED,
                    format!(
                        "The state/task '{name}' returned a result with a size exceeding the maximum number of bytes service limit."
                    ),
                ));
            }
            let payload = parse_payload(&bytes);
            if legacy {
                TaskAnswer::Succeed(payload)
            } else {
                let tail = request.input.get("LogType").and_then(Value::as_str) == Some("Tail");
                TaskAnswer::Succeed(invoke_response(payload, bytes.len(), meta, tail))
            }
        }
        FunctionResult::Raised {
            error_type,
            payload,
        } => TaskAnswer::Fail(Failure {
            // An error the runtime could not name (no `errorType`) is `Lambda.Unknown`.
            error: Some(if error_type.is_empty() {
                LAMBDA_UNKNOWN.to_owned()
            } else {
                error_type
            }),
            cause: Some(String::from_utf8_lossy(&payload).into_owned()),
        }),
        FunctionResult::NotFound { function_arn } => TaskAnswer::Fail(invoke_failure(
            "ResourceNotFoundException",
            &format!("Function not found: {function_arn}"),
            request_id,
        )),
    }
}

/// The error name of a function error without an `errorType`.
pub const LAMBDA_UNKNOWN: &str = "Lambda.Unknown";

/// A failure to invoke at all (the Lambda API refused the call), as the integration
/// reports it: `Lambda.<ErrorCode>` with the Java SDK's exception text as the cause.
pub fn invoke_failure(code: &str, message: &str, request_id: &str) -> Failure {
    let status = match code {
        "ResourceNotFoundException" => 404,
        "TooManyRequestsException" => 429,
        "RequestTooLargeException" => 413,
        "ResourceConflictException" => 409,
        "PreconditionFailedException" => 412,
        "InvalidParameterValueException"
        | "ValidationException"
        | "InvalidRequestContentException" => 400,
        _ => 500,
    };
    // The integration invokes `$LATEST` explicitly, so an unqualified function ARN in
    // Lambda's not-found message gains the qualifier.
    let message = match message.strip_prefix("Function not found: ") {
        Some(arn) if arn.starts_with("arn:") && arn.split(':').count() == 7 => {
            format!("Function not found: {arn}:$LATEST")
        }
        _ => message.to_owned(),
    };
    Failure::new(
        format!("Lambda.{code}"),
        format!(
            "{message} (Service: AWSLambda; Status Code: {status}; Error Code: {code}; Request ID: {request_id}; Proxy: null)"
        ),
    )
}

/// The function a Lambda task calls, with `Qualifier` appended (`name:qualifier`) when
/// the `lambda:invoke` parameters give one.
pub fn function_target(request: &TaskRequest) -> Option<String> {
    let reference = function_reference(request)?;
    let qualifier = match &request.kind {
        TaskKind::Service { .. } => request.input.get("Qualifier").and_then(Value::as_str),
        _ => None,
    };
    Some(match qualifier {
        Some(q) if !q.is_empty() => format!("{reference}:{q}"),
        _ => reference,
    })
}

/// How `lambda:invoke` asks Lambda to run the function (`InvocationType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationType {
    RequestResponse,
    /// Queued; the task succeeds once Lambda has accepted it (status 202).
    Event,
    /// Checked, not run (status 204).
    DryRun,
}

pub fn invocation_type(request: &TaskRequest) -> InvocationType {
    if !matches!(request.kind, TaskKind::Service { .. }) {
        return InvocationType::RequestResponse;
    }
    match request.input.get("InvocationType").and_then(Value::as_str) {
        Some("Event") => InvocationType::Event,
        Some("DryRun") => InvocationType::DryRun,
        _ => InvocationType::RequestResponse,
    }
}

/// The `lambda:invoke` result of an `Event` (202) or `DryRun` (204) invocation: no
/// function output, an empty `Payload`.
pub fn accepted_response(meta: &InvokeMeta, status: u16) -> Value {
    let mut all = Map::new();
    all.insert("x-amzn-Remapped-Content-Length".into(), json!(["0"]));
    all.insert("Connection".into(), json!(["keep-alive"]));
    all.insert("x-amzn-RequestId".into(), json!([meta.request_id]));
    all.insert("Content-Length".into(), json!(["0"]));
    all.insert("Date".into(), json!([meta.date]));
    all.insert("X-Amzn-Trace-Id".into(), json!([meta.trace_id]));
    let mut headers = Map::new();
    headers.insert("Connection".into(), json!("keep-alive"));
    headers.insert("Content-Length".into(), json!("0"));
    headers.insert("Date".into(), json!(meta.date));
    headers.insert("x-amzn-Remapped-Content-Length".into(), json!("0"));
    headers.insert("x-amzn-RequestId".into(), json!(meta.request_id));
    headers.insert("X-Amzn-Trace-Id".into(), json!(meta.trace_id));
    json!({
        "Payload": "",
        "SdkHttpMetadata": {
            "AllHttpHeaders": Value::Object(all),
            "HttpHeaders": Value::Object(headers),
            "HttpStatusCode": status
        },
        "SdkResponseMetadata": {"RequestId": meta.request_id},
        "StatusCode": status
    })
}

/// Function output is JSON; a payload that is not is passed on as a string.
fn parse_payload(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// The `lambda:invoke` result object (the Invoke API response as the SDK reports it).
fn invoke_response(payload: Value, content_length: usize, meta: &InvokeMeta, tail: bool) -> Value {
    let len = content_length.to_string();
    let mut all = Map::new();
    if tail {
        all.insert("X-Amz-Log-Result".into(), json!([meta.log_tail]));
    }
    all.insert("X-Amz-Executed-Version".into(), json!(["$LATEST"]));
    all.insert("x-amzn-Remapped-Content-Length".into(), json!(["0"]));
    all.insert("Connection".into(), json!(["keep-alive"]));
    all.insert("x-amzn-RequestId".into(), json!([meta.request_id]));
    all.insert("Content-Length".into(), json!([len]));
    all.insert("Date".into(), json!([meta.date]));
    all.insert("X-Amzn-Trace-Id".into(), json!([meta.trace_id]));
    all.insert("Content-Type".into(), json!(["application/json"]));
    let mut headers = Map::new();
    headers.insert("Connection".into(), json!("keep-alive"));
    headers.insert("Content-Length".into(), json!(len));
    headers.insert("Content-Type".into(), json!("application/json"));
    headers.insert("Date".into(), json!(meta.date));
    headers.insert("X-Amz-Executed-Version".into(), json!("$LATEST"));
    if tail {
        headers.insert("X-Amz-Log-Result".into(), json!(meta.log_tail));
    }
    headers.insert("x-amzn-Remapped-Content-Length".into(), json!("0"));
    headers.insert("x-amzn-RequestId".into(), json!(meta.request_id));
    headers.insert("X-Amzn-Trace-Id".into(), json!(meta.trace_id));
    let mut out = Map::new();
    out.insert("ExecutedVersion".into(), json!("$LATEST"));
    if tail {
        out.insert("LogResult".into(), json!(meta.log_tail));
    }
    out.insert("Payload".into(), payload);
    out.insert(
        "SdkHttpMetadata".into(),
        json!({
            "AllHttpHeaders": Value::Object(all),
            "HttpHeaders": Value::Object(headers),
            "HttpStatusCode": 200
        }),
    );
    out.insert(
        "SdkResponseMetadata".into(),
        json!({"RequestId": meta.request_id}),
    );
    out.insert("StatusCode".into(), json!(200));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_exec::history::TaskResource;
    use baton_exec::task::Pattern;
    use std::sync::Arc;

    fn invoke_request(input: Value) -> TaskRequest {
        TaskRequest {
            task_id: 1,
            state_name: "S".into(),
            resource: "arn:aws:states:::lambda:invoke".into(),
            kind: TaskKind::Service {
                resource: TaskResource {
                    resource_type: "lambda".into(),
                    resource: "invoke".into(),
                },
                pattern: Pattern::RequestResponse,
            },
            input: Arc::new(input),
            credentials: None,
            timeout_seconds: None,
            heartbeat_seconds: None,
            task_token: None,
            attempt: 0,
        }
    }

    fn failure(answer: TaskAnswer) -> Option<Failure> {
        match answer {
            TaskAnswer::Fail(f) => Some(f),
            _ => None,
        }
    }

    #[test]
    fn function_errors_are_named_by_their_error_type_or_lambda_unknown() {
        let request = invoke_request(json!({"FunctionName": "f"}));
        let meta = InvokeMeta::new("r-1", 0);
        let raised = |t: &str| FunctionResult::Raised {
            error_type: t.into(),
            payload: br#"{"errorMessage":"m"}"#.to_vec(),
        };
        let f = failure(task_answer(&request, raised("Sandbox.Timedout"), &meta));
        assert_eq!(f.and_then(|f| f.error).as_deref(), Some("Sandbox.Timedout"));
        let f = failure(task_answer(&request, raised(""), &meta));
        assert_eq!(
            f.map(|f| (f.error, f.cause)),
            Some((
                Some(LAMBDA_UNKNOWN.to_owned()),
                Some(r#"{"errorMessage":"m"}"#.to_owned())
            ))
        );
        let big = FunctionResult::Returned(vec![b'a'; MAX_PAYLOAD_BYTES + 1]);
        let f = failure(task_answer(&request, big, &meta));
        assert_eq!(
            f.and_then(|f| f.error).as_deref(),
            Some("States.DataLimitExceeded")
        );
    }

    #[test]
    fn invoke_failures_read_like_the_java_sdk_exception() {
        let f = invoke_failure(
            "ResourceNotFoundException",
            "Function not found: arn:aws:lambda:us-east-1:1:function:f",
            "r-1",
        );
        assert_eq!(f.error.as_deref(), Some("Lambda.ResourceNotFoundException"));
        assert_eq!(
            f.cause.as_deref(),
            Some(
                "Function not found: arn:aws:lambda:us-east-1:1:function:f:$LATEST (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: r-1; Proxy: null)"
            )
        );
        let f = invoke_failure("TooManyRequestsException", "Rate Exceeded.", "r-2");
        assert_eq!(f.error.as_deref(), Some("Lambda.TooManyRequestsException"));
        assert!(f.cause.unwrap_or_default().contains("Status Code: 429"));
    }

    #[test]
    fn qualifier_and_invocation_type_come_from_the_parameters() {
        let r = invoke_request(json!({"FunctionName": "f", "Qualifier": "$LATEST",
                                      "InvocationType": "Event"}));
        assert_eq!(function_target(&r).as_deref(), Some("f:$LATEST"));
        assert_eq!(invocation_type(&r), InvocationType::Event);
        let r = invoke_request(json!({"FunctionName": "f"}));
        assert_eq!(function_target(&r).as_deref(), Some("f"));
        assert_eq!(invocation_type(&r), InvocationType::RequestResponse);
        let accepted = accepted_response(&InvokeMeta::new("r-3", 0), 202);
        assert_eq!(accepted["StatusCode"], 202);
        assert_eq!(accepted["Payload"], "");
        assert_eq!(accepted["SdkResponseMetadata"]["RequestId"], "r-3");
    }
}
