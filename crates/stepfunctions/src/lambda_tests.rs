//! Lambda tasks against a real SQLite file and a fake function runtime: what the
//! function receives, how its answer is recorded, and that a call outlasting its work
//! item's lease is not made a second time while it runs.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::store::{MachineType, RunStatus, SfnStore};
use async_trait::async_trait;
use baton_platform::store::sqlite::Database;
use serde_json::{Value, json};

use crate::{CreateStateMachine, SfnConfig, StepFunctions};
use baton_platform::bridge::FunctionResult;
use baton_platform::bridge::{BridgeError, FunctionInvoker};
use baton_platform::clock::SystemClock;

/// Echoes its payload after `delay`; records every call.
struct SlowEcho {
    delay: Duration,
    calls: Mutex<Vec<(String, Value, String)>>,
}

#[async_trait]
impl FunctionInvoker for SlowEcho {
    async fn invoke(
        &self,
        function: &str,
        payload: Vec<u8>,
        request_id: &str,
    ) -> Result<FunctionResult, BridgeError> {
        let event: Value = serde_json::from_slice(&payload).unwrap();
        self.calls
            .lock()
            .unwrap()
            .push((function.to_owned(), event, request_id.to_owned()));
        if function.ends_with(":missing") {
            return Err(BridgeError {
                code: "ResourceNotFoundException".into(),
                message: format!("Function not found: {function}"),
            });
        }
        tokio::time::sleep(self.delay).await;
        Ok(FunctionResult::Returned(payload))
    }

    async fn invoke_async(&self, _: &str, _: Vec<u8>) -> Result<String, BridgeError> {
        Ok("queued".into())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_longer_than_its_lease_runs_once_and_answers_the_task() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(
        &dir.path().join("baton.db"),
        &[crate::store::MIGRATIONS.sqlite],
    )
    .unwrap();
    let store: Arc<dyn SfnStore> = Arc::new(db.clone());
    let config = SfnConfig {
        scan_interval_millis: 50,
        lease_millis: 200,
        ..SfnConfig::default()
    };
    let sfn = StepFunctions::new(store, None, Arc::new(SystemClock), config);
    let invoker = Arc::new(SlowEcho {
        delay: Duration::from_millis(1_200),
        calls: Mutex::new(Vec::new()),
    });
    sfn.set_function_invoker(invoker.clone());
    sfn.start().await.unwrap();
    let fa = "arn:aws:lambda:us-east-1:123456789012:function:f";
    let machine = sfn
        .create_state_machine(CreateStateMachine {
            name: "m".into(),
            definition: json!({"StartAt": "L", "States": {
                "L": {"Type": "Task", "Resource": fa, "Next": "Missing"},
                "Missing": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"FunctionName": "f", "Qualifier": "missing"},
                            "Catch": [{"ErrorEquals": ["Lambda.ResourceNotFoundException"],
                                       "ResultPath": "$.error", "Next": "Done"}],
                            "End": true},
                "Done": {"Type": "Succeed"}}})
            .to_string(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            machine_type: MachineType::Standard,
            logging_configuration: None,
            tracing_configuration: None,
            tags: Vec::new(),
        })
        .await
        .unwrap()
        .arn;
    let (exec, _) = sfn
        .start_execution(&machine, Some("one"), Some(r#"{"n": 1}"#))
        .await
        .unwrap();
    let mut record = None;
    for _ in 0..200 {
        let d = sfn.describe_execution(&exec).await.unwrap().record;
        if d.status != RunStatus::Running {
            record = Some(d);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let record = record.expect("the execution ends");
    assert_eq!(record.status, RunStatus::Succeeded, "{record:?}");
    let output: Value = serde_json::from_str(record.output.as_deref().unwrap()).unwrap();
    assert_eq!(output["n"], 1);
    assert_eq!(
        output["error"]["Error"], "Lambda.ResourceNotFoundException",
        "{output}"
    );
    let calls = invoker.calls.lock().unwrap().clone();
    assert_eq!(
        calls.len(),
        2,
        "one call per task despite the lease: {calls:?}"
    );
    assert_eq!(calls[0].0, fa);
    assert_eq!(calls[0].1, json!({"n": 1}));
    assert_eq!(calls[1].0, "f:missing");
    let page = sfn
        .execution_history(&exec, Some(1000), false, None)
        .await
        .unwrap();
    let types: Vec<String> = page.events.iter().map(|e| e.details.type_name()).collect();
    assert_eq!(
        &types[..6],
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "TaskStateExited"
        ]
    );
}
