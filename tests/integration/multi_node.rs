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

/// Rules, targets and archives created through one node take effect on the other (the
/// catalog is re-read from the store), and a replay that both nodes' workers see delivers
/// each archived event once: the replay's cursor advances by compare-and-set.
#[test]
fn multi_node_catalog_changes_reach_every_node_and_replays_deliver_once() {
    let Some(store) = fresh_postgres_store("multi_node_catalog") else {
        return;
    };
    let a = node(&store, "node-a");
    let b = node(&store, "node-b");
    let script = format!(
        r#"
import datetime
B = "http://127.0.0.1:{b_port}"
ev_a = boto3.client("events", endpoint_url=ENDPOINT)
ev_b = boto3.client("events", endpoint_url=B)
sqs = boto3.client("sqs", endpoint_url=ENDPOINT)
def drain(url, expect, timeout=30):
    out, end = [], time.time() + timeout
    while time.time() < end and len(out) < expect:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in got.get("Messages", []):
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out
start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
# Everything is created through node A, after node B started.
url = sqs.create_queue(QueueName="seen")["QueueUrl"]
qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
ev_a.create_archive(ArchiveName="all", EventSourceArn="arn:aws:events:us-east-1:123456789012:event-bus/default")
ev_a.put_rule(Name="r", EventPattern=json.dumps({{"source": ["app"]}}))
ev_a.put_targets(Rule="r", Targets=[{{"Id": "q", "Arn": qarn}}])
time.sleep(2.5)
# Events put through node B match the rule and are archived.
N = 30
ids = set()
for i in range(N):
    r = ev_b.put_events(Entries=[{{"Source": "app", "DetailType": "t", "Detail": json.dumps({{"i": i}})}}])
    ids.add(r["Entries"][0]["EventId"])
first = drain(url, N)
assert len(first) == N and {{e["id"] for e in first}} == ids, len(first)
time.sleep(1.1)
end = datetime.datetime.now(datetime.timezone.utc)
ev_b.start_replay(ReplayName="again", EventSourceArn="arn:aws:events:us-east-1:123456789012:archive/all",
                  EventStartTime=start, EventEndTime=end,
                  Destination={{"Arn": "arn:aws:events:us-east-1:123456789012:event-bus/default"}})
for _ in range(600):
    if ev_a.describe_replay(ReplayName="again")["State"] == "COMPLETED":
        break
    time.sleep(0.05)
assert ev_a.describe_replay(ReplayName="again")["State"] == "COMPLETED"
replayed = drain(url, N)
assert len(replayed) == N, len(replayed)
assert {{e["id"] for e in replayed}} == ids
assert all(e["replay-name"] == "again" for e in replayed)
assert drain(url, 1, timeout=3) == [], "each archived event is replayed once"
# Disabling through node B stops matching on node A.
ev_b.disable_rule(Name="r")
time.sleep(2.5)
ev_a.put_events(Entries=[{{"Source": "app", "DetailType": "t", "Detail": "{{}}"}}])
assert drain(url, 1, timeout=3) == []
"#,
        b_port = b.port()
    );
    run_boto3(&a, &script);
}
