//! The Step Functions API through the real `aws` CLI: every call a shell user makes,
//! from creating a machine to redriving an execution, with AWS's error names on stderr.

use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::server::{Server, venv};

/// Runs `aws stepfunctions …`; returns (exit code, parsed stdout or Null, stderr).
fn sfn(server: &Server, args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(venv().join("bin/aws"))
        .args([
            "--endpoint-url",
            &server.url,
            "--output",
            "json",
            "stepfunctions",
        ])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_PAGER", "")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        // StartSyncExecution and TestState are sent to `sync-<host>` otherwise.
        .env("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running aws: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        value,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs a call that must succeed.
fn ok(server: &Server, args: &[&str]) -> Value {
    let (code, value, stderr) = sfn(server, args);
    assert_eq!(code, 0, "aws stepfunctions {args:?} failed: {stderr}");
    value
}

/// Runs a call that must fail with `error` (the CLI prints `(Code)` on stderr).
fn fails(server: &Server, args: &[&str], error: &str) {
    let (code, _, stderr) = sfn(server, args);
    assert_ne!(code, 0, "aws stepfunctions {args:?} should fail");
    assert!(
        stderr.contains(&format!("({error})")),
        "expected {error} from {args:?}, got: {stderr}"
    );
}

#[test]
fn sfn_aws_cli_drives_every_operation() {
    let server = Server::start_with(&["--activity-poll-seconds", "1"]);
    let role = "arn:aws:iam::123456789012:role/cli";
    let activity = ok(&server, &["create-activity", "--name", "cli-worker"])["activityArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        ok(&server, &["describe-activity", "--activity-arn", &activity])["name"],
        "cli-worker"
    );
    assert_eq!(
        ok(&server, &["list-activities"])["activities"][0]["activityArn"],
        activity.as_str()
    );
    let definition = json!({"StartAt": "Greet", "States": {
        "Greet": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('hello {}', $.who)"},
                  "Next": "Work"},
        "Work": {"Type": "Task", "Resource": activity, "End": true}}})
    .to_string();
    let bad = r#"{"StartAt":"Nope","States":{"A":{"Type":"Pass","End":true}}}"#;
    let v = ok(
        &server,
        &["validate-state-machine-definition", "--definition", bad],
    );
    assert_eq!(v["result"], "FAIL");
    fails(
        &server,
        &[
            "create-state-machine",
            "--name",
            "bad",
            "--role-arn",
            role,
            "--definition",
            bad,
        ],
        "InvalidDefinition",
    );
    let created = ok(
        &server,
        &[
            "create-state-machine",
            "--name",
            "greeter",
            "--role-arn",
            role,
            "--definition",
            &definition,
            "--tags",
            "key=team,value=cli",
        ],
    );
    let machine = created["stateMachineArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        ok(
            &server,
            &["describe-state-machine", "--state-machine-arn", &machine]
        )["status"],
        "ACTIVE"
    );
    assert_eq!(
        ok(&server, &["list-state-machines"])["stateMachines"][0]["name"],
        "greeter"
    );
    ok(
        &server,
        &[
            "tag-resource",
            "--resource-arn",
            &machine,
            "--tags",
            "key=env,value=test",
        ],
    );
    ok(
        &server,
        &[
            "untag-resource",
            "--resource-arn",
            &machine,
            "--tag-keys",
            "team",
        ],
    );
    assert_eq!(
        ok(
            &server,
            &["list-tags-for-resource", "--resource-arn", &machine]
        )["tags"],
        json!([{"key": "env", "value": "test"}])
    );

    let started = ok(
        &server,
        &[
            "start-execution",
            "--state-machine-arn",
            &machine,
            "--name",
            "run1",
            "--input",
            r#"{"who":"cli"}"#,
        ],
    );
    let execution = started["executionArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let task = ok(
        &server,
        &[
            "get-activity-task",
            "--activity-arn",
            &activity,
            "--worker-name",
            "cli",
        ],
    );
    let token = task["taskToken"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        serde_json::from_str::<Value>(task["input"].as_str().unwrap_or("null")).ok(),
        Some(json!({"greeting": "hello cli"}))
    );
    ok(&server, &["send-task-heartbeat", "--task-token", &token]);
    ok(
        &server,
        &[
            "send-task-failure",
            "--task-token",
            &token,
            "--error",
            "Oops",
            "--cause",
            "first try",
        ],
    );
    fails(
        &server,
        &[
            "send-task-success",
            "--task-token",
            &token,
            "--task-output",
            "{}",
        ],
        "TaskTimedOut",
    );
    fails(
        &server,
        &[
            "send-task-success",
            "--task-token",
            "bogus",
            "--task-output",
            "{}",
        ],
        "InvalidToken",
    );
    let mut described = Value::Null;
    for _ in 0..100 {
        described = ok(
            &server,
            &["describe-execution", "--execution-arn", &execution],
        );
        if described["status"] != "RUNNING" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(described["status"], "FAILED");
    assert_eq!(described["error"], "Oops");

    // Redrive, then succeed.
    let redriven = ok(
        &server,
        &["redrive-execution", "--execution-arn", &execution],
    );
    assert!(redriven["redriveDate"].is_number());
    let task = ok(&server, &["get-activity-task", "--activity-arn", &activity]);
    let token = task["taskToken"].as_str().unwrap_or_default().to_owned();
    ok(
        &server,
        &[
            "send-task-success",
            "--task-token",
            &token,
            "--task-output",
            r#"{"done":true}"#,
        ],
    );
    for _ in 0..100 {
        described = ok(
            &server,
            &["describe-execution", "--execution-arn", &execution],
        );
        if described["status"] != "RUNNING" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(described["status"], "SUCCEEDED");
    assert_eq!(described["redriveCount"], 1);
    let history = ok(
        &server,
        &[
            "get-execution-history",
            "--execution-arn",
            &execution,
            "--reverse-order",
        ],
    );
    assert_eq!(history["events"][0]["type"], "ExecutionSucceeded");
    let listed = ok(
        &server,
        &[
            "list-executions",
            "--state-machine-arn",
            &machine,
            "--status-filter",
            "SUCCEEDED",
        ],
    );
    assert_eq!(listed["executions"][0]["name"], "run1");
    let for_execution = ok(
        &server,
        &[
            "describe-state-machine-for-execution",
            "--execution-arn",
            &execution,
        ],
    );
    assert_eq!(for_execution["name"], "greeter");

    // Update, then stop a second execution while it waits for a worker.
    ok(
        &server,
        &[
            "update-state-machine",
            "--state-machine-arn",
            &machine,
            "--role-arn",
            "arn:aws:iam::123456789012:role/other",
        ],
    );
    let second = ok(
        &server,
        &[
            "start-execution",
            "--state-machine-arn",
            &machine,
            "--input",
            r#"{"who":"second"}"#,
        ],
    )["executionArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let stopped = ok(
        &server,
        &[
            "stop-execution",
            "--execution-arn",
            &second,
            "--error",
            "Halt",
        ],
    );
    assert!(stopped["stopDate"].is_number());
    assert_eq!(
        ok(&server, &["describe-execution", "--execution-arn", &second])["status"],
        "ABORTED"
    );

    // Express: start-sync-execution, and TestState.
    let express = ok(
        &server,
        &[
            "create-state-machine",
            "--name",
            "quick",
            "--type",
            "EXPRESS",
            "--role-arn",
            role,
            "--definition",
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Result":"done","End":true}}}"#,
        ],
    )["stateMachineArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let sync = ok(
        &server,
        &["start-sync-execution", "--state-machine-arn", &express],
    );
    assert_eq!(sync["status"], "SUCCEEDED");
    assert_eq!(sync["output"], "\"done\"");
    let tested = ok(
        &server,
        &[
            "test-state",
            "--definition",
            r#"{"Type":"Pass","Result":{"x":1},"End":true}"#,
            "--role-arn",
            role,
        ],
    );
    assert_eq!(tested["status"], "SUCCEEDED");

    fails(
        &server,
        &[
            "describe-execution",
            "--execution-arn",
            "arn:aws:states:us-east-1:123456789012:execution:greeter:nope",
        ],
        "ExecutionDoesNotExist",
    );
    fails(
        &server,
        &[
            "start-execution",
            "--state-machine-arn",
            "arn:aws:states:us-east-1:123456789012:stateMachine:nope",
        ],
        "StateMachineDoesNotExist",
    );
    ok(
        &server,
        &["delete-state-machine", "--state-machine-arn", &machine],
    );
    ok(&server, &["delete-activity", "--activity-arn", &activity]);
    fails(
        &server,
        &["describe-state-machine", "--state-machine-arn", &machine],
        "StateMachineDoesNotExist",
    );
}
