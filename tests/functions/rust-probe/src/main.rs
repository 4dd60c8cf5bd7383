//! A probe function: its event says what to do, so one binary covers every test case.
//!
//! - `{"echo": X}` returns `{"echo": X, "env": {...}, "requestId": ...}`
//! - `{"fail": "message"}` returns an error the runtime reports as `ProbeError`
//! - `{"sleepMs": N}` sleeps first (timeouts), `{"exit": N}` exits the process mid-call
//! - `PROBE_CRASH_ON_INIT=1` in the environment makes it exit before reaching the
//!   Runtime API (an init failure).

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
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

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    if std::env::var("PROBE_CRASH_ON_INIT").is_ok() {
        eprintln!("probe: crashing during init as asked");
        std::process::exit(1);
    }
    lambda_runtime::run(service_fn(handle)).await
}
