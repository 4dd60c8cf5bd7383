//! A probe function: its event says what to do, so one binary covers every test case.
//!
//! - `{"echo": X}` returns `{"echo": X, "env": {...}, "requestId": ...}`
//! - `{"fail": "message"}` returns an error the runtime reports as `ProbeError`
//! - `{"sleepMs": N}` sleeps first (timeouts), `{"exit": N}` exits the process mid-call
//! - `PROBE_CRASH_ON_INIT=1` in the environment makes it exit before reaching the
//!   Runtime API (an init failure).
//! - an SQS event (`{"Records": [...]}`, from an event source mapping) is read with the
//!   `aws_lambda_events` crate's `SqsEvent` type (an event it cannot read is an
//!   error), printed to the log as one `PROBE_SQS_EVENT <json>` line, and answered by
//!   the message bodies: a body containing `probe-fail` fails the invocation, bodies
//!   containing `probe-item-fail` are reported in `batchItemFailures`.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
    if payload.get("Records").is_some() {
        return handle_sqs(payload);
    }
    if let Some(ms) = payload.get("sleepMs").and_then(Value::as_u64) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    if let Some(code) = payload.get("exit").and_then(Value::as_i64) {
        std::process::exit(code as i32);
    }
    if let Some(message) = payload.get("fail").and_then(Value::as_str) {
        return Err(Diagnostic {
            error_type: "ProbeError".into(),
            error_message: message.into(),
        });
    }
    if payload.get("log").is_some() {
        println!("probe log line for {}", context.request_id);
    }
    let env: serde_json::Map<String, Value> = [
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_REGION",
        "LAMBDA_TASK_ROOT",
        "_HANDLER",
        "PROBE_GREETING",
    ]
    .iter()
    .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), Value::String(v))))
    .collect();
    Ok(json!({
        "echo": payload.get("echo").cloned().unwrap_or(Value::Null),
        "env": env,
        "requestId": context.request_id,
        "functionArn": context.invoked_function_arn,
        "pid": std::process::id(),
    }))
}

fn handle_sqs(payload: Value) -> Result<Value, Diagnostic> {
    println!("PROBE_SQS_EVENT {payload}");
    let event: SqsEvent = serde_json::from_value(payload).map_err(|e| Diagnostic {
        error_type: "BadSqsEvent".into(),
        error_message: e.to_string(),
    })?;
    let bodies = || event.records.iter().filter_map(|r| r.body.as_deref());
    if bodies().any(|b| b.contains("probe-fail")) {
        return Err(Diagnostic {
            error_type: "ProbeError".into(),
            error_message: "a message asked the batch to fail".into(),
        });
    }
    let mut response = SqsBatchResponse::default();
    for record in &event.records {
        if record.body.as_deref().is_some_and(|b| b.contains("probe-item-fail")) {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = record.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    serde_json::to_value(response).map_err(|e| Diagnostic {
        error_type: "ProbeError".into(),
        error_message: e.to_string(),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    if std::env::var("PROBE_CRASH_ON_INIT").is_ok() {
        eprintln!("probe: crashing during init as asked");
        std::process::exit(1);
    }
    lambda_runtime::run(service_fn(handle)).await
}
