//! The Lambda integration's view of a function call: what a Task state receives when a
//! function returns or raises, for both the legacy function-ARN resource and
//! `arn:aws:states:::lambda:invoke`.

use baton_exec::limits::MAX_PAYLOAD_BYTES;
use baton_exec::{Failure, TaskKind, TaskRequest};
use serde_json::{Map, Value, json};

use crate::local::TaskAnswer;

/// What a function invocation produced.
#[derive(Debug, Clone, PartialEq)]
pub enum FunctionResult {
    /// The response payload bytes.
    Returned(Vec<u8>),
    /// The function raised: the error payload (`{"errorMessage", "errorType", …}`) and
    /// its `errorType`.
    Raised {
        error_type: String,
        payload: Vec<u8>,
    },
    /// No function by that name.
    NotFound { function_arn: String },
}

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
pub fn function_event(request: &TaskRequest) -> Value {
    match &request.kind {
        TaskKind::Service { .. } => request.input.get("Payload").cloned().unwrap_or(json!({})),
        _ => request.input.clone(),
    }
}

/// Turns a function's result into the Task's answer, as AWS's Lambda integration does.
pub fn task_answer(request: &TaskRequest, result: FunctionResult, request_id: &str) -> TaskAnswer {
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
                TaskAnswer::Succeed(invoke_response(payload, bytes.len(), request_id))
            }
        }
        FunctionResult::Raised {
            error_type,
            payload,
        } => TaskAnswer::Fail(Failure {
            error: Some(error_type),
            cause: Some(String::from_utf8_lossy(&payload).into_owned()),
        }),
        FunctionResult::NotFound { function_arn } => TaskAnswer::Fail(Failure::new(
            "Lambda.ResourceNotFoundException",
            format!(
                "Function not found: {function_arn}:$LATEST (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: {request_id}; Proxy: null)"
            ),
        )),
    }
}

/// Function output is JSON; a payload that is not is passed on as a string.
fn parse_payload(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// The `lambda:invoke` result object (the Invoke API response as the SDK reports it).
fn invoke_response(payload: Value, content_length: usize, request_id: &str) -> Value {
    let len = content_length.to_string();
    let mut all = Map::new();
    all.insert("X-Amz-Executed-Version".into(), json!(["$LATEST"]));
    all.insert("x-amzn-Remapped-Content-Length".into(), json!(["0"]));
    all.insert("Connection".into(), json!(["keep-alive"]));
    all.insert("x-amzn-RequestId".into(), json!([request_id]));
    all.insert("Content-Length".into(), json!([len]));
    all.insert("Content-Type".into(), json!(["application/json"]));
    let headers = json!({
        "Connection": "keep-alive",
        "Content-Length": len,
        "Content-Type": "application/json",
        "X-Amz-Executed-Version": "$LATEST",
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
    });
    json!({
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": Value::Object(all),
            "HttpHeaders": headers,
            "HttpStatusCode": 200
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200
    })
}
