//! Shared pieces of the Step Functions end-to-end tests: a boto3 prelude and a runner
//! that fails the test with the script's output.

#![allow(dead_code)]

use std::process::Output;

use crate::server::Server;

/// Imports, a client that does not prefix the host for StartSyncExecution/TestState
/// (`sync-127.0.0.1` does not resolve), and `err(fn, **kw)` → (code, message, status).
pub const PRELUDE: &str = r#"
import os, json, time, threading, urllib.request
import boto3, botocore
from botocore.config import Config
ENDPOINT = os.environ["ENDPOINT"]
c = boto3.client("stepfunctions", endpoint_url=ENDPOINT,
                 config=Config(inject_host_prefix=False, retries={"max_attempts": 1},
                               read_timeout=90))
ROLE = "arn:aws:iam::123456789012:role/test"
def err(fn, **kw):
    try:
        fn(**kw)
    except botocore.exceptions.ClientError as e:
        return (e.response["Error"]["Code"], e.response["Error"].get("Message", ""),
                e.response["ResponseMetadata"]["HTTPStatusCode"])
    raise AssertionError("expected an error from %s" % fn.__name__)
def machine(name, definition, kind="STANDARD"):
    return c.create_state_machine(name=name, definition=json.dumps(definition),
                                  roleArn=ROLE, type=kind)["stateMachineArn"]
def wait_done(arn, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        d = c.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING":
            return d
        time.sleep(0.05)
    raise AssertionError("still running: " + arn)
def history(arn, **kw):
    out, token = [], None
    while True:
        args = dict(executionArn=arn, **kw)
        if token:
            args["nextToken"] = token
        page = c.get_execution_history(**args)
        out += page["events"]
        token = page.get("nextToken")
        if not token:
            return out
"#;

/// Runs `script` (after the prelude) with boto3 against `server`; the script prints
/// `OK` last when every assertion held.
pub fn run_boto3(server: &Server, script: &str) -> String {
    let out: Output = server.python(&format!("{PRELUDE}\n{script}\nprint('OK')"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.trim_end().ends_with("OK"),
        "boto3 script failed:\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    stdout
}
