//! Durability under `kill -9`: executions with Waits, activity tasks, Map states and
//! nested `.sync` children are in flight while the server process is killed (SIGKILL,
//! no shutdown code runs) and restarted, again and again. Afterwards every execution
//! has finished and no history records a transition twice.
//!
//! Activity tasks handed to a worker whose answer was lost in a crash are at-most-once,
//! as on AWS: the `Work` state has a `TimeoutSeconds` and a `Retry`, so such a task is
//! scheduled again instead of hanging the execution.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::server::{Server, venv};
use crate::sfn_support::{PRELUDE, run_boto3};

/// Executions of each machine started during the crashes.
const EXECUTIONS: usize = 24;
/// Kill-and-restart cycles.
const CRASHES: usize = 6;

fn spawn_python(server: &Server, script: &str) -> Child {
    Command::new(venv().join("bin/python"))
        .arg("-c")
        .arg(format!("{PRELUDE}\n{script}"))
        .env("ENDPOINT", &server.url)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting python: {e}"))
}

/// A worker that answers activity tasks forever, riding out the server's restarts.
const WORKER: &str = r#"
w = boto3.client("stepfunctions", endpoint_url=ENDPOINT,
                 config=Config(retries={"max_attempts": 1}, read_timeout=5, connect_timeout=1))
while True:
    try:
        t = w.get_activity_task(activityArn=ACTIVITY, workerName="crash-worker")
        token = t.get("taskToken")
        if not token:
            continue
        out = json.loads(t["input"])
        out["worked"] = True
        for _ in range(50):
            try:
                w.send_task_success(taskToken=token, output=json.dumps(out))
                break
            except botocore.exceptions.ClientError:
                break  # answered before a crash, or timed out: nothing to do
            except Exception:
                time.sleep(0.1)
    except Exception:
        time.sleep(0.1)
"#;

/// Starts the executions, retrying through restarts (StartExecution is idempotent by
/// name), then exits.
const LOADER: &str = r#"
l = boto3.client("stepfunctions", endpoint_url=ENDPOINT,
                 config=Config(retries={"max_attempts": 1}, read_timeout=5, connect_timeout=1))
def start(arn, name):
    while True:
        try:
            l.start_execution(stateMachineArn=arn, name=name, input=json.dumps({"name": name}))
            return
        except botocore.exceptions.ClientError as e:
            if e.response["Error"]["Code"] == "ExecutionAlreadyExists":
                return
            time.sleep(0.1)
        except Exception:
            time.sleep(0.1)
for i in range(N):
    start(MACHINE, "e%d" % i)
    start(PARENT, "p%d" % i)
    time.sleep(0.05)
"#;

#[test]
fn sfn_kill_9_mid_load_loses_nothing_and_applies_nothing_twice() {
    let mut server = Server::start_with(&["--activity-poll-seconds", "2"]);
    let setup = r#"
act = c.create_activity(name="crash-worker")["activityArn"]
machine("crashy", {"StartAt": "Prep", "States": {
    "Prep": {"Type": "Pass", "Parameters": {"name.$": "$.name", "items": [1, 2, 3]}, "Next": "Nap"},
    "Nap": {"Type": "Wait", "Seconds": 1, "Next": "Work"},
    "Work": {"Type": "Task", "Resource": act, "TimeoutSeconds": 4,
              "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 20, "BackoffRate": 1}],
              "Next": "Each"},
    "Each": {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": {"StartAt": "Line", "States": {
        "Line": {"Type": "Pass", "End": True}}}, "ResultPath": "$.lines", "Next": "Nap2"},
    "Nap2": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
    "Done": {"Type": "Succeed"}}})
child = machine("crashy-child", {"StartAt": "W", "States": {
    "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
    "P": {"Type": "Pass", "End": True}}})
machine("crashy-parent", {"StartAt": "Call", "States": {
    "Call": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
              "Parameters": {"StateMachineArn": child, "Input": {"from.$": "$.name"}},
              "ResultSelector": {"status.$": "$.Status"}, "Next": "After"},
    "After": {"Type": "Pass", "End": True}}})
print(act)
"#;
    let out = run_boto3(&server, setup);
    let activity = out.lines().next().unwrap_or_default().trim().to_owned();
    let base = "arn:aws:states:us-east-1:123456789012:stateMachine";
    let mut worker = spawn_python(&server, &format!("ACTIVITY = {activity:?}\n{WORKER}"));
    let mut loader = spawn_python(
        &server,
        &format!(
            "N = {EXECUTIONS}\nMACHINE = \"{base}:crashy\"\nPARENT = \"{base}:crashy-parent\"\n{LOADER}"
        ),
    );

    // Kill at irregular moments: some mid-start, some mid-wait, some mid-task.
    let pauses = [700u64, 350, 1100, 500, 900, 250, 1300, 600];
    for pause in pauses.iter().take(CRASHES) {
        std::thread::sleep(Duration::from_millis(*pause));
        server.crash_and_restart();
    }
    for _ in 0..600 {
        if loader.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = loader.kill();
    let _ = loader.wait();

    let check = format!(
        r#"
N = {EXECUTIONS}
names = ["e%d" % i for i in range(N)]
parents = ["p%d" % i for i in range(N)]
def all_done(machine_name, expected):
    arns = ["arn:aws:states:us-east-1:123456789012:execution:%s:%s" % (machine_name, n) for n in expected]
    end = time.time() + 120
    pending = list(arns)
    while pending and time.time() < end:
        pending = [a for a in pending if c.describe_execution(executionArn=a)["status"] == "RUNNING"]
        time.sleep(0.2)
    assert not pending, "still running after the crashes: %s" % pending
    return arns
for arn in all_done("crashy", names):
    d = c.describe_execution(executionArn=arn)
    assert d["status"] == "SUCCEEDED", d
    out = json.loads(d["output"])
    assert out["worked"] is True and out["lines"] == [1, 2, 3], out
    events = history(arn)
    ids = [e["id"] for e in events]
    assert ids == list(range(1, len(ids) + 1)), (arn, ids)
    entered = {{}}
    for e in events:
        if e["type"].endswith("StateEntered"):
            name = e["stateEnteredEventDetails"]["name"]
            entered[name] = entered.get(name, 0) + 1
    assert entered == {{"Prep": 1, "Nap": 1, "Work": 1, "Each": 1, "Line": 3, "Nap2": 1, "Done": 1}}, (arn, entered)
    types = [e["type"] for e in events]
    assert types.count("ExecutionStarted") == 1 and types.count("ExecutionSucceeded") == 1, types
    assert types.count("WaitStateExited") == 2, types
    assert types.count("ActivitySucceeded") == 1, types
    assert types.count("ActivityScheduled") == types.count("ActivityTimedOut") + 1, types
    assert types.count("MapIterationStarted") == 3, types
for arn in all_done("crashy-parent", parents):
    d = c.describe_execution(executionArn=arn)
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {{"status": "SUCCEEDED"}}, d
    types = [e["type"] for e in history(arn)]
    for t in ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded", "ExecutionSucceeded"]:
        assert types.count(t) == 1, (arn, t, types)
children = []
for page in c.get_paginator("list_executions").paginate(
        stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:crashy-child"):
    children += page["executions"]
assert len(children) == N, "one child per parent, started once: %d" % len(children)
assert all(x["status"] == "SUCCEEDED" for x in children)
assert c.list_executions(stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:crashy",
                         statusFilter="RUNNING")["executions"] == []
"#
    );
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_boto3(&server, &check);
    }));
    let _ = worker.kill();
    let _ = worker.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
