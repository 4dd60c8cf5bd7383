//! Several `baton serve` processes on one PostgreSQL database share the work; a node
//! killed with SIGKILL has its work taken over by the other once its leases expire.
//!
//! Needs a PostgreSQL server: `BATON_TEST_POSTGRES_URL` (set by `.ci/run`). Without it
//! the test says so and passes vacuously, as a developer machine may have none. Each
//! run uses a schema of its own, so runs never see each other's rows.

#![allow(clippy::print_stderr)]

use std::time::Duration;

use crate::server::{Server, fresh_postgres_store};
use crate::sfn_support::run_boto3;

/// Executions started directly, and events whose rule starts one each.
const EXECUTIONS: usize = 40;
const EVENTS: usize = 10;

fn node(store: &str, name: &str) -> Server {
    Server::start_with(&["--store", store, "--node-id", name, "--lease-seconds", "2"])
}

#[test]
fn multi_node_two_servers_one_killed_the_other_completes_the_work() {
    let Some(store) = fresh_postgres_store("multi_node_takeover") else {
        return;
    };
    let mut a = node(&store, "node-a");
    let setup = r#"
m = machine("waits", {"StartAt": "Prep", "States": {
    "Prep": {"Type": "Pass", "Result": {"items": [1, 2, 3]}, "ResultPath": "$.prep", "Next": "Nap"},
    "Nap": {"Type": "Wait", "Seconds": 2, "Next": "Each"},
    "Each": {"Type": "Map", "ItemsPath": "$.prep.items", "ItemProcessor": {"StartAt": "Line",
        "States": {"Line": {"Type": "Pass", "End": True}}}, "ResultPath": "$.lines", "Next": "Nap2"},
    "Nap2": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
    "Done": {"Type": "Succeed"}}})
ev = boto3.client("events", endpoint_url=ENDPOINT, region_name="us-east-1",
                  config=Config(retries={"max_attempts": 1}))
ev.put_rule(Name="to-waits", EventPattern=json.dumps({"source": ["multi.node"]}))
ev.put_targets(Rule="to-waits", Targets=[{"Id": "t", "Arn": m,
                                          "RoleArn": "arn:aws:iam::123456789012:role/r"}])
"#;
    run_boto3(&a, setup);
    // B starts after the catalog exists: it knows the rule, though only A takes requests.
    let b = node(&store, "node-b");

    let load = format!(
        r#"
m = "arn:aws:states:us-east-1:123456789012:stateMachine:waits"
for i in range({EXECUTIONS}):
    c.start_execution(stateMachineArn=m, name="e%d" % i, input=json.dumps({{"i": i}}))
ev = boto3.client("events", endpoint_url=ENDPOINT, region_name="us-east-1")
for i in range({EVENTS}):
    r = ev.put_events(Entries=[{{"Source": "multi.node", "DetailType": "T",
                                 "Detail": json.dumps({{"i": i}})}}])
    assert r["FailedEntryCount"] == 0, r
"#
    );
    run_boto3(&a, &load);
    // Every execution now sits in its first Wait, its timer leased to A.
    std::thread::sleep(Duration::from_millis(300));
    a.kill9();

    let check = format!(
        r#"
m = "arn:aws:states:us-east-1:123456789012:stateMachine:waits"
def listed():
    out = []
    for page in c.get_paginator("list_executions").paginate(stateMachineArn=m):
        out += page["executions"]
    return out
in_flight = [r for r in listed() if r["status"] == "RUNNING"]
assert in_flight, "the kill should catch executions mid-flight"
end = time.time() + 90
while time.time() < end:
    runs = listed()
    if len(runs) == {EXECUTIONS} + {EVENTS} and all(r["status"] != "RUNNING" for r in runs):
        break
    time.sleep(0.2)
runs = listed()
assert len(runs) == {EXECUTIONS} + {EVENTS}, "one execution per start and per event: %d" % len(runs)
pending = [r["name"] for r in runs if r["status"] == "RUNNING"]
assert not pending, "still running on the surviving node: %s" % pending
from_events, direct = [], []
for r in runs:
    d = c.describe_execution(executionArn=r["executionArn"])
    assert d["status"] == "SUCCEEDED", d
    out = json.loads(d["output"])
    assert out["lines"] == [1, 2, 3] and out["prep"] == {{"items": [1, 2, 3]}}, out
    if "source" in out:
        from_events.append(out["detail"]["i"])
    else:
        direct.append(out["i"])
    events = history(r["executionArn"])
    ids = [e["id"] for e in events]
    assert ids == list(range(1, len(ids) + 1)), (r["name"], ids)
    entered = {{}}
    for e in events:
        if e["type"].endswith("StateEntered"):
            name = e["stateEnteredEventDetails"]["name"]
            entered[name] = entered.get(name, 0) + 1
    assert entered == {{"Prep": 1, "Nap": 1, "Each": 1, "Line": 3, "Nap2": 1, "Done": 1}}, (r["name"], entered)
    types = [e["type"] for e in events]
    assert types.count("ExecutionStarted") == 1 and types.count("ExecutionSucceeded") == 1, types
    assert types.count("WaitStateExited") == 2, types
assert sorted(direct) == list(range({EXECUTIONS})), direct
assert sorted(from_events) == list(range({EVENTS})), "each event started one execution: %s" % from_events
"#
    );
    run_boto3(&b, &check);
}

/// Both nodes serve requests for the same executions: one node's cached copy falls behind
/// whenever the other commits a step, and the stale node must reload and apply the input
/// rather than fail the request (AWS clients see one service, not two nodes).
#[test]
fn multi_node_two_live_nodes_acting_on_the_same_executions() {
    let Some(store) = fresh_postgres_store("multi_node_shared") else {
        return;
    };
    let a = node(&store, "node-a");
    let b = node(&store, "node-b");
    let script = format!(
        r#"
N = 12
cb = boto3.client("stepfunctions", endpoint_url="http://127.0.0.1:{b_port}",
                  config=Config(retries={{"max_attempts": 1}}, read_timeout=90))
act = c.create_activity(name="shared")["activityArn"]
m = machine("fanout", {{"StartAt": "Fan", "States": {{"Fan": {{"Type": "Parallel", "End": True,
    "Branches": [{{"StartAt": "W%d" % k, "States": {{"W%d" % k: {{"Type": "Task",
        "Resource": act, "End": True}}}}}} for k in range(3)]}}}}}})
arns = [c.start_execution(stateMachineArn=m, name="p%d" % i,
                          input=json.dumps({{"i": i}}))["executionArn"] for i in range(N)]
nodes = [c, cb]
answered, k = 0, 0
while answered < N * 3:
    # Poll on one node, answer on the other: each answer lands on a node whose cached
    # copy of the execution is one step behind.
    task = nodes[k % 2].get_activity_task(activityArn=act, workerName="w%d" % (k % 2))
    k += 1
    if not task.get("taskToken"):
        continue
    nodes[k % 2].send_task_success(taskToken=task["taskToken"], output=task["input"])
    answered += 1
for arn in arns:
    d = wait_done(arn)
    assert d["status"] == "SUCCEEDED", d
    i = json.loads(d["input"])["i"]
    assert json.loads(d["output"]) == [{{"i": i}}] * 3, d["output"]
    events = history(arn)
    ids = [e["id"] for e in events]
    assert ids == list(range(1, len(ids) + 1)), ids
    types = [e["type"] for e in events]
    for t in ("ActivityScheduled", "ActivityStarted", "ActivitySucceeded"):
        assert types.count(t) == 3, (t, types)
    assert types.count("ExecutionSucceeded") == 1, types
"#,
        b_port = b.port()
    );
    run_boto3(&a, &script);
}
