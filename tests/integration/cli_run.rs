//! End-to-end tests of `baton run` and `baton validate`: the built binary, its stdout,
//! stderr and exit codes.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{Value, json};

fn baton(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("could not run baton: {e}"))
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Writes `contents` to a fresh file under the target directory.
fn file(name: &str, contents: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli_run");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path
}

fn example(name: &str) -> String {
    format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn run_prints_status_and_output_and_exits_zero() {
    let out = baton(&[
        "run",
        &example("order.asl.json"),
        "--input",
        &format!("@{}", example("order.input.json")),
    ]);
    assert!(out.status.success(), "{out:?}");
    let v = stdout_json(&out);
    assert_eq!(v["status"], "SUCCEEDED");
    assert_eq!(v["output"]["count"], 3);
    assert_eq!(
        v["output"]["lines"][1],
        json!({"sku": "B-2", "line": 30, "qty": 2})
    );
}

#[test]
fn run_reports_failures_with_error_and_cause_and_exits_one() {
    let def = file(
        "fail.asl.json",
        r#"{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Nope", "Cause": "no items"}}}"#,
    );
    let out = baton(&["run", def.to_str().unwrap_or_default()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout_json(&out),
        json!({"status": "FAILED", "error": "Nope", "cause": "no items"})
    );
}

#[test]
fn waits_use_virtual_time_and_history_timestamps_still_advance() {
    let def = file(
        "wait.asl.json",
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 86400, "End": true}}}"#,
    );
    let started = std::time::Instant::now();
    let out = baton(&["run", def.to_str().unwrap_or_default(), "--history"]);
    assert!(
        started.elapsed().as_secs() < 30,
        "a day-long Wait must not sleep"
    );
    assert!(out.status.success(), "{out:?}");
    let v = stdout_json(&out);
    let history = v["history"].as_array().cloned().unwrap_or_default();
    let types: Vec<&str> = history.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateExited",
            "ExecutionSucceeded"
        ]
    );
    let time = |i: usize| {
        chrono::DateTime::parse_from_rfc3339(history[i]["timestamp"].as_str().unwrap_or_default())
            .map(|t| t.timestamp())
            .unwrap_or(0)
    };
    assert_eq!(time(2) - time(1), 86_400);
}

#[test]
fn mock_config_answers_tasks_with_retries() {
    let def = file(
        "charge.asl.json",
        r#"{"StartAt": "Charge", "States": {"Charge": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "charge", "Payload.$": "$"},
            "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 5, "MaxAttempts": 3}],
            "ResultSelector": {"ok.$": "$.Payload.ok"},
            "End": true}}}"#,
    );
    let mocks = file(
        "mocks.json",
        r#"{"StateMachines": {"charge": {"TestCases": {"FlakyThenOk": {"Charge": "Flaky"},
                                                     "AlwaysBusy": {"Charge": "Busy"}}}},
            "MockedResponses": {
              "Flaky": {"0-1": {"Throw": {"Error": "Busy", "Cause": "try later"}},
                        "2": {"Return": {"StatusCode": 200, "Payload": {"ok": true}}}},
              "Busy": {"0-3": {"Throw": {"Error": "Busy", "Cause": "try later"}}}}}"#,
    );
    let d = def.to_str().unwrap_or_default();
    let m = mocks.to_str().unwrap_or_default();
    let out = baton(&[
        "run",
        d,
        "--mock-config",
        m,
        "--test-case",
        "FlakyThenOk",
        "--history",
    ]);
    assert!(out.status.success(), "{out:?}");
    let v = stdout_json(&out);
    assert_eq!(v["output"], json!({"ok": true}));
    let scheduled = v["history"]
        .as_array()
        .map(|h| h.iter().filter(|e| e["type"] == "TaskScheduled").count())
        .unwrap_or(0);
    assert_eq!(scheduled, 3, "two failures, then success");

    let out = baton(&["run", d, "--mock-config", m, "--test-case", "AlwaysBusy"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout_json(&out)["error"], "Busy");

    let out = baton(&["run", d, "--mock-config", m, "--test-case", "Missing"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("test case 'Missing'"));
}

#[test]
fn validate_prints_valid_or_one_diagnostic_per_line_naming_the_state() {
    let out = baton(&["validate", &example("order.asl.json")]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "valid");

    let bad = file(
        "bad.asl.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}, "B": {"Type": "Pass", "End": true}}}"#,
    );
    let out = baton(&["validate", bad.to_str().unwrap_or_default()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(!lines.is_empty());
    assert!(
        lines
            .iter()
            .any(|l| l.contains("MISSING_TRANSITION_TARGET") && l.contains("(state 'A')")),
        "{text}"
    );

    let not_json = file("not-json.asl.json", "not a definition");
    let out = baton(&["validate", not_json.to_str().unwrap_or_default()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("INVALID_JSON_DESCRIPTION"));
}

#[test]
fn invalid_input_is_a_usage_error() {
    let out = baton(&["run", &example("order.asl.json"), "--input", "{not json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid JSON"));
}
