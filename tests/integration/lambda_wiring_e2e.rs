//! Functions wired into the other halves, end to end with real Lambda runtime clients:
//! a Rust function built with `lambda_runtime` and a Python function through Baton's
//! shim, invoked by the aws CLI, by a state machine (a function ARN as the resource,
//! `lambda:invoke`, `.waitForTaskToken`, errors and timeouts) and by an EventBridge rule
//! (asynchronously; a missing function's event goes to the dead-letter queue), checked
//! through execution results, history, function logs and dead letters.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::functions_support::{
    aws_invoke, aws_json, baton_get, create_probe, eventually, log_result,
};
use crate::server::Server;

const ROLE: &str = "arn:aws:iam::123456789012:role/lambda";
const PROBE_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:probe";
const PY_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:pyfn";

/// Records each event (with its request id) in `$RECORD_FILE`; `sleep`, `fail` and
/// `token` (answer the token from a background thread, as a worker would) on request.
const PY_APP: &str = r#"
import json, os, threading, time, urllib.request

def _send_success(token):
    time.sleep(0.3)
    body = json.dumps({"taskToken": token, "output": json.dumps({"called_back": True})}).encode()
    req = urllib.request.Request(os.environ["AWS_ENDPOINT_URL"], data=body, headers={
        "X-Amz-Target": "AWSStepFunctions.SendTaskSuccess",
        "Content-Type": "application/x-amz-json-1.0"})
    urllib.request.urlopen(req).read()

def handler(event, context):
    with open(os.environ["RECORD_FILE"], "a") as f:
        f.write(json.dumps({"event": event, "requestId": context.aws_request_id}) + "\n")
    print("pyfn saw", context.aws_request_id)
    if isinstance(event, dict):
        if event.get("sleep"):
            time.sleep(event["sleep"])
        if event.get("fail"):
            raise ValueError(event["fail"])
        if event.get("token"):
            threading.Thread(target=_send_success, args=(event["token"],)).start()
            return "token handed to a worker"
    return {"py": event, "requestId": context.aws_request_id}
"#;

fn create_python(server: &Server, code: &Path, name: &str, record: &Path, timeout: &str) {
    std::fs::create_dir_all(code).expect("mkdir");
    std::fs::write(code.join("app.py"), PY_APP).expect("write");
    aws_json(
        server,
        &[
            "lambda",
            "create-function",
            "--function-name",
            name,
            "--runtime",
            "python3.12",
            "--role",
            ROLE,
            "--handler",
            "app.handler",
            "--timeout",
            timeout,
            "--code",
            &format!("S3Bucket=baton-local,S3Key={}", code.display()),
            "--environment",
            &format!("Variables={{RECORD_FILE={}}}", record.display()),
        ],
    );
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn create_machine(server: &Server, name: &str, definition: &Value) -> String {
    let created = aws_json(
        server,
        &[
            "stepfunctions",
            "create-state-machine",
            "--name",
            name,
            "--role-arn",
            "arn:aws:iam::123456789012:role/sfn",
            "--definition",
            &definition.to_string(),
        ],
    );
    created["stateMachineArn"]
        .as_str()
        .expect("state machine arn")
        .to_owned()
}

fn run_to_end(server: &Server, machine: &str, input: &str, limit: Duration) -> (Value, Vec<Value>) {
    let started = aws_json(
        server,
        &[
            "stepfunctions",
            "start-execution",
            "--state-machine-arn",
            machine,
            "--input",
            input,
        ],
    );
    let arn = started["executionArn"].as_str().expect("execution arn");
    wait_for_end(server, arn, limit)
}

fn wait_for_end(server: &Server, arn: &str, limit: Duration) -> (Value, Vec<Value>) {
    let described = eventually(limit, "the execution to end", || {
        let d = aws_json(
            server,
            &[
                "stepfunctions",
                "describe-execution",
                "--execution-arn",
                arn,
            ],
        );
        (d["status"] != "RUNNING").then_some(d)
    });
    let history = aws_json(
        server,
        &[
            "stepfunctions",
            "get-execution-history",
            "--execution-arn",
            arn,
        ],
    );
    let events = history["events"].as_array().cloned().unwrap_or_default();
    (described, events)
}

fn types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("?"))
        .collect()
}

#[test]
fn rust_and_python_functions_run_from_the_cli_a_state_machine_and_a_rule() {
    let server = Server::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let record = dir.path().join("py-records.jsonl");
    create_probe(&server, dir.path(), "probe", &[]);
    create_python(&server, &dir.path().join("py"), "pyfn", &record, "10");
    create_python(&server, &dir.path().join("py"), "pyslow", &record, "1");

    // The aws CLI.
    let (meta, body) = aws_invoke(&server, dir.path(), "probe", r#"{"echo": "cli"}"#, &[]);
    assert_eq!(meta["StatusCode"], 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json")["echo"],
        "cli"
    );
    let (meta, body) = aws_invoke(&server, dir.path(), "pyfn", r#"{"via": "cli"}"#, &[]);
    assert_eq!(meta["StatusCode"], 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json")["py"],
        json!({"via": "cli"})
    );

    // A state machine: both task forms, a callback, the functions' errors.
    let definition = json!({"StartAt": "Legacy", "States": {
        "Legacy": {"Type": "Task", "Resource": PROBE_ARN,
                   "Parameters": {"echo.$": "$.x"}, "ResultPath": "$.legacy", "Next": "Invoke"},
        "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": "pyfn", "Payload": {"from": "sfn", "x.$": "$.x"}},
                   "ResultSelector": {"payload.$": "$.Payload", "status.$": "$.StatusCode",
                                      "version.$": "$.ExecutedVersion",
                                      "requestId.$": "$.SdkResponseMetadata.RequestId"},
                   "ResultPath": "$.invoke", "Next": "InvokeRust"},
        "InvokeRust": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                       "Parameters": {"FunctionName": PROBE_ARN, "Payload": {"echo": "rust via invoke"}},
                       "ResultSelector": {"echo.$": "$.Payload.echo"},
                       "ResultPath": "$.invokeRust", "Next": "Tail"},
        "Tail": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                 "Parameters": {"FunctionName": "pyfn", "Payload": {"tail": true}, "LogType": "Tail"},
                 "ResultSelector": {"LogResult.$": "$.LogResult",
                                    "requestId.$": "$.SdkResponseMetadata.RequestId"},
                 "ResultPath": "$.tail", "Next": "Callback"},
        "Callback": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                     "Parameters": {"FunctionName": "pyfn", "Payload": {"token.$": "$$.Task.Token"}},
                     "TimeoutSeconds": 30, "ResultPath": "$.callback", "Next": "RustFails"},
        "RustFails": {"Type": "Task", "Resource": PROBE_ARN, "Parameters": {"fail": "boom"},
                      "Catch": [{"ErrorEquals": ["ProbeError"], "ResultPath": "$.rustError",
                                 "Next": "PyFails"}], "End": true},
        "PyFails": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "pyfn", "Payload": {"fail": "bad value"}},
                    "Catch": [{"ErrorEquals": ["ValueError"], "ResultPath": "$.pyError",
                               "Next": "PyTimesOut"}], "End": true},
        "PyTimesOut": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                       "Parameters": {"FunctionName": "pyslow", "Payload": {"sleep": 3}},
                       "Catch": [{"ErrorEquals": ["Sandbox.Timedout"], "ResultPath": "$.timeout",
                                  "Next": "Done"}], "End": true},
        "Done": {"Type": "Pass", "End": true}}});
    let machine = create_machine(&server, "wiring", &definition);
    let (described, events) = run_to_end(
        &server,
        &machine,
        r#"{"x": [1, "two"]}"#,
        Duration::from_secs(60),
    );
    assert_eq!(described["status"], "SUCCEEDED", "{described}");
    let out: Value =
        serde_json::from_str(described["output"].as_str().unwrap_or("{}")).expect("output");

    // The legacy form's result is the function's own output.
    assert_eq!(out["legacy"]["echo"], json!([1, "two"]), "{out}");
    assert_eq!(out["legacy"]["functionArn"], PROBE_ARN);
    // lambda:invoke wraps it in the Invoke response; its request id is the invocation's.
    let invoke = &out["invoke"];
    assert_eq!(invoke["status"], 200);
    assert_eq!(invoke["version"], "$LATEST");
    assert_eq!(
        invoke["payload"]["py"],
        json!({"from": "sfn", "x": [1, "two"]})
    );
    let request_id = invoke["requestId"].as_str().expect("request id");
    assert_eq!(invoke["payload"]["requestId"], request_id);
    assert_eq!(out["invokeRust"]["echo"], "rust via invoke");
    // `LogType: Tail`: the invocation's own log, base64.
    let tail = log_result(&out["tail"]);
    let tail_id = out["tail"]["requestId"].as_str().expect("request id");
    assert!(tail.contains(&format!("pyfn saw {tail_id}")), "{tail}");
    assert!(
        tail.contains(&format!("END RequestId: {tail_id}")),
        "{tail}"
    );
    assert_eq!(out["callback"], json!({"called_back": true}));
    // Function errors: the errorType names the error, the error payload is the cause.
    assert_eq!(out["rustError"]["Error"], "ProbeError");
    let cause: Value =
        serde_json::from_str(out["rustError"]["Cause"].as_str().unwrap_or("")).expect("cause");
    assert_eq!(cause["errorMessage"], "boom");
    assert_eq!(out["pyError"]["Error"], "ValueError");
    let cause: Value =
        serde_json::from_str(out["pyError"]["Cause"].as_str().unwrap_or("")).expect("cause");
    assert_eq!(cause["errorMessage"], "bad value");
    assert_eq!(cause["errorType"], "ValueError");
    assert_eq!(out["timeout"]["Error"], "Sandbox.Timedout");
    assert!(
        out["timeout"]["Cause"]
            .as_str()
            .unwrap_or_default()
            .contains("Task timed out after 1.00 seconds"),
        "{out}"
    );

    let t = types(&events);
    assert_eq!(
        &t[1..5],
        &[
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded"
        ],
        "{t:?}"
    );
    let callback_at = events
        .iter()
        .position(|e| e["stateEnteredEventDetails"]["name"] == "Callback")
        .expect("Callback entered");
    assert_eq!(
        &t[callback_at + 1..callback_at + 5],
        &[
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded"
        ],
        "{t:?}"
    );
    let submitted: Value = serde_json::from_str(
        events[callback_at + 3]["taskSubmittedEventDetails"]["output"]
            .as_str()
            .unwrap_or("{}"),
    )
    .expect("submitted output");
    assert_eq!(submitted["Payload"], "token handed to a worker");
    assert_eq!(submitted["StatusCode"], 200);

    // The invocation is in the function's logs under the request id the task reported.
    let logs = baton_get(
        &server,
        &format!("/baton/functions/pyfn/logs?requestId={request_id}"),
    );
    let kept = logs["logs"].as_array().expect("logs");
    assert_eq!(kept.len(), 1, "{logs}");
    assert!(
        kept[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("pyfn saw {request_id}")),
        "{logs}"
    );

    // An EventBridge rule: both functions are invoked asynchronously with the event
    // (the Rust one through the target's constant Input).
    aws_json(
        &server,
        &[
            "events",
            "put-rule",
            "--name",
            "to-functions",
            "--event-pattern",
            r#"{"source": ["e2e.test"]}"#,
        ],
    );
    let targets = json!([
        {"Id": "py", "Arn": PY_ARN},
        {"Id": "rust", "Arn": PROBE_ARN, "Input": "{\"echo\": \"from-rule\", \"log\": true}"},
        {"Id": "gone", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:gone",
         "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:123456789012:dlq"}}
    ]);
    let put = aws_json(
        &server,
        &[
            "events",
            "put-targets",
            "--rule",
            "to-functions",
            "--targets",
            &targets.to_string(),
        ],
    );
    assert_eq!(put["FailedEntryCount"], 0, "{put}");
    let entries = json!([{"Source": "e2e.test", "DetailType": "t", "Detail": "{\"n\": 1}"}]);
    let sent = aws_json(
        &server,
        &["events", "put-events", "--entries", &entries.to_string()],
    );
    assert_eq!(sent["FailedEntryCount"], 0, "{sent}");
    let event_id = sent["Entries"][0]["EventId"].as_str().expect("event id");
    let seen = eventually(Duration::from_secs(30), "the rule's Python target", || {
        records(&record)
            .into_iter()
            .find(|r| r["event"]["source"] == "e2e.test")
    });
    assert_eq!(seen["event"]["id"], event_id);
    assert_eq!(seen["event"]["detail"], json!({"n": 1}));
    assert_eq!(seen["event"]["detail-type"], "t");
    eventually(Duration::from_secs(30), "the rule's Rust target", || {
        let logs = baton_get(&server, "/baton/functions/probe/logs");
        logs["logs"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|l| {
                l["text"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("probe log line")
            })
            .then_some(())
    });
    // A function that does not exist: not retried, straight to the dead-letter queue.
    let letter = eventually(Duration::from_secs(30), "the dead letter", || {
        let letters = baton_get(&server, "/_baton/events/dead-letters");
        letters["DeadLetters"]
            .as_array()
            .and_then(|l| l.first().cloned())
    });
    assert_eq!(letter["EventId"], event_id, "{letter}");
    assert_eq!(
        letter["Attributes"]["ERROR_CODE"], "ResourceNotFoundException",
        "{letter}"
    );
    assert_eq!(letter["Attributes"]["RETRY_ATTEMPTS"], 0, "{letter}");
}

#[test]
fn a_lambda_task_interrupted_by_kill_9_runs_again_under_the_same_request_id() {
    let mut server = Server::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let record = dir.path().join("records.jsonl");
    create_python(&server, &dir.path().join("py"), "pyfn", &record, "30");
    let definition = json!({"StartAt": "Slow", "States": {
        "Slow": {"Type": "Task", "Resource": PY_ARN,
                 "Parameters": {"sleep": 2, "n.$": "$.n"}, "End": true}}});
    let machine = create_machine(&server, "slow", &definition);
    let started = aws_json(
        &server,
        &[
            "stepfunctions",
            "start-execution",
            "--state-machine-arn",
            &machine,
            "--input",
            r#"{"n": 7}"#,
        ],
    );
    let arn = started["executionArn"]
        .as_str()
        .expect("execution arn")
        .to_owned();
    // The function is running (it recorded its event); the server dies under it.
    eventually(Duration::from_secs(20), "the first invocation", || {
        (!records(&record).is_empty()).then_some(())
    });
    server.crash_and_restart();
    let (described, events) = wait_for_end(&server, &arn, Duration::from_secs(60));
    assert_eq!(described["status"], "SUCCEEDED", "{described}");
    let out: Value =
        serde_json::from_str(described["output"].as_str().unwrap_or("{}")).expect("output");
    assert_eq!(out["py"], json!({"sleep": 2, "n": 7}));
    let t = types(&events);
    assert_eq!(
        t,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ],
        "one start and one result despite the repeat"
    );
    // Called again after the restart, with the request id derived from the task.
    let seen = records(&record);
    assert!(seen.len() >= 2, "{seen:?}");
    let ids: Vec<&Value> = seen.iter().map(|r| &r["requestId"]).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(out["requestId"], *ids[0]);
}
