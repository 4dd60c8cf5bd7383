//! Every Step Functions operation of the server, driven by boto3 against a real
//! `baton serve`: answers in AWS's shapes, and AWS's error names (never a 500) for bad
//! requests.

use crate::server::Server;
use crate::sfn_support::run_boto3;

#[test]
fn sfn_state_machines_validation_and_tags() {
    let server = Server::start();
    run_boto3(
        &server,
        r#"
d = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
r = c.create_state_machine(name="m1", definition=json.dumps(d), roleArn=ROLE,
                           tags=[{"key": "team", "value": "a"}])
arn = r["stateMachineArn"]
assert arn == "arn:aws:states:us-east-1:123456789012:stateMachine:m1", arn
assert r["creationDate"].year >= 2024
# Same request again: the same machine (CreateStateMachine is idempotent).
assert c.create_state_machine(name="m1", definition=json.dumps(d), roleArn=ROLE)["stateMachineArn"] == arn
other = {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}
code, msg, status = err(c.create_state_machine, name="m1", definition=json.dumps(other), roleArn=ROLE)
assert (code, status) == ("StateMachineAlreadyExists", 400), (code, status)
assert msg == "State Machine Already Exists: '%s'" % arn, msg

code, msg, _ = err(c.create_state_machine, name="bad", roleArn=ROLE,
                   definition='{"StartAt": "X", "States": {"A": {"Type": "Pass", "End": true}}}')
assert code == "InvalidDefinition", code
assert msg.startswith("Invalid State Machine Definition: '") and "MISSING_TRANSITION_TARGET" in msg, msg
assert err(c.create_state_machine, name="bad name", definition=json.dumps(d), roleArn=ROLE)[0] == "InvalidName"
assert err(c.create_state_machine, name="x", definition=json.dumps(d), roleArn=ROLE, type="FAST")[0] == "ValidationException"
express_bad = {"StartAt": "T", "States": {"T": {"Type": "Task",
    "Resource": "arn:aws:states:::states:startExecution.sync", "Parameters": {"StateMachineArn": arn}, "End": True}}}
assert err(c.create_state_machine, name="ex", definition=json.dumps(express_bad), roleArn=ROLE, type="EXPRESS")[0] == "InvalidDefinition"

desc = c.describe_state_machine(stateMachineArn=arn)
assert desc["status"] == "ACTIVE" and desc["type"] == "STANDARD" and desc["name"] == "m1"
assert json.loads(desc["definition"]) == d and desc["roleArn"] == ROLE
assert desc["loggingConfiguration"]["level"] == "OFF"
first_revision = desc["revisionId"]

u = c.update_state_machine(stateMachineArn=arn, definition=json.dumps(other))
assert u["revisionId"] != first_revision and u["updateDate"].year >= 2024
assert json.loads(c.describe_state_machine(stateMachineArn=arn)["definition"]) == other
assert err(c.update_state_machine, stateMachineArn=arn)[0] == "MissingRequiredParameter"
assert err(c.update_state_machine, stateMachineArn=arn, definition="{}")[0] == "InvalidDefinition"

for i in range(2, 7):
    machine("m%d" % i, d)
names = []
for page in c.get_paginator("list_state_machines").paginate(PaginationConfig={"PageSize": 2}):
    assert len(page["stateMachines"]) <= 2
    names += [m["name"] for m in page["stateMachines"]]
assert names == ["m1", "m2", "m3", "m4", "m5", "m6"], names
assert err(c.list_state_machines, nextToken="not-a-token")[0] == "InvalidToken"

ok = c.validate_state_machine_definition(definition=json.dumps(d))
assert ok["result"] == "OK" and ok["diagnostics"] == [], ok
bad = c.validate_state_machine_definition(
    definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}))
assert bad["result"] == "FAIL"
first = bad["diagnostics"][0]
assert (first["code"], first["message"], first["location"], first["severity"]) == (
    "MISSING_TRANSITION_TARGET", "Missing 'Next' target: Nowhere", "/States/A/Next", "ERROR"), bad
assert bad["truncated"] is False
one = c.validate_state_machine_definition(maxResults=1,
    definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}))
assert len(one["diagnostics"]) == 1 and one["truncated"] is True, one
nojson = c.validate_state_machine_definition(definition="{not json")
assert nojson["result"] == "FAIL" and nojson["diagnostics"][0]["code"] == "INVALID_JSON_DESCRIPTION", nojson

assert c.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "a"}]
c.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "dev"}, {"key": "team", "value": "b"}])
assert c.list_tags_for_resource(resourceArn=arn)["tags"] == [
    {"key": "env", "value": "dev"}, {"key": "team", "value": "b"}]
c.untag_resource(resourceArn=arn, tagKeys=["team"])
assert c.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": "dev"}]
gone = "arn:aws:states:us-east-1:123456789012:stateMachine:nope"
assert err(c.tag_resource, resourceArn=gone, tags=[{"key": "a", "value": "b"}])[0] == "ResourceNotFound"
assert err(c.list_tags_for_resource, resourceArn="nope")[0] == "InvalidArn"
too_many = [{"key": "k%d" % i, "value": "v"} for i in range(60)]
assert err(c.tag_resource, resourceArn=arn, tags=too_many)[0] == "TooManyTags"

c.delete_state_machine(stateMachineArn=arn)
c.delete_state_machine(stateMachineArn=arn)  # deleting twice is fine, as on AWS
code, msg, _ = err(c.describe_state_machine, stateMachineArn=arn)
assert code == "StateMachineDoesNotExist" and msg == "State Machine Does Not Exist: '%s'" % arn, (code, msg)
code, msg, _ = err(c.describe_state_machine, stateMachineArn="arn:aws:states:us-east-1:123456789012:execution:m:e")
assert code == "InvalidArn" and msg == "Invalid Arn: 'Resource type not valid in this context: execution'", msg
"#,
    );
}

#[test]
fn sfn_executions_history_stop_and_redrive() {
    let server = Server::start();
    run_boto3(
        &server,
        r#"
pure = machine("pure", {"StartAt": "A", "States": {
    "A": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.a", "Next": "B"},
    "B": {"Type": "Pass", "Next": "C"},
    "C": {"Type": "Succeed"}}})
r = c.start_execution(stateMachineArn=pure, name="first", input='{"k": "v"}')
arn = r["executionArn"]
assert arn == "arn:aws:states:us-east-1:123456789012:execution:pure:first", arn
# A pure machine is done when StartExecution returns.
d = c.describe_execution(executionArn=arn)
assert d["status"] == "SUCCEEDED", d
assert json.loads(d["output"]) == {"k": "v", "a": {"x": 1}}
assert json.loads(d["input"]) == {"k": "v"} and d["inputDetails"] == {"included": True}
assert d["stopDate"] >= d["startDate"] and d["redriveStatus"] == "NOT_REDRIVABLE"
meta = c.describe_execution(executionArn=arn, includedData="METADATA_ONLY")
assert "input" not in meta and "output" not in meta
assert err(c.start_execution, stateMachineArn=pure, name="first", input='{"k": "v"}')[0] == "ExecutionAlreadyExists"

events = history(arn)
assert [e["type"] for e in events] == ["ExecutionStarted", "PassStateEntered", "PassStateExited",
    "PassStateEntered", "PassStateExited", "SucceedStateEntered", "SucceedStateExited",
    "ExecutionSucceeded"], [e["type"] for e in events]
assert [e["id"] for e in events] == list(range(1, 9))
# As on AWS, the first state's entry points at no event; the rest chain.
assert events[1]["previousEventId"] == 0 and events[2]["previousEventId"] == 2
assert json.loads(events[0]["executionStartedEventDetails"]["input"]) == {"k": "v"}
assert events[0]["executionStartedEventDetails"]["roleArn"] == ROLE
rev = history(arn, reverseOrder=True, maxResults=3)
assert [e["id"] for e in rev] == list(range(8, 0, -1)), [e["id"] for e in rev]
page = c.get_execution_history(executionArn=arn, maxResults=3)
assert [e["id"] for e in page["events"]] == [1, 2, 3] and "nextToken" in page
lean = history(arn, includeExecutionData=False)
assert "input" not in lean[0]["executionStartedEventDetails"], lean[0]
assert "output" not in lean[-1]["executionSucceededEventDetails"]

# The definition an execution ran, even after the machine changed.
old = c.describe_state_machine_for_execution(executionArn=arn)
assert old["stateMachineArn"] == pure and "Result" in old["definition"]
c.update_state_machine(stateMachineArn=pure, definition=json.dumps(
    {"StartAt": "Z", "States": {"Z": {"Type": "Succeed"}}}))
assert c.describe_state_machine_for_execution(executionArn=arn)["revisionId"] == old["revisionId"]

# Waits run on durable timers; StopExecution aborts.
waiting = machine("waiting", {"StartAt": "W", "States": {
    "W": {"Type": "Wait", "Seconds": 1, "Next": "P"}, "P": {"Type": "Pass", "End": True}}})
w1 = c.start_execution(stateMachineArn=waiting, name="w1")["executionArn"]
w2 = c.start_execution(stateMachineArn=waiting, name="w2")["executionArn"]
# Same name, same input, still running: the same execution.
assert c.start_execution(stateMachineArn=waiting, name="w2")["executionArn"] == w2
assert c.describe_execution(executionArn=w1)["status"] == "RUNNING"
stop = c.stop_execution(executionArn=w2, error="Manual", cause="stopped by the test")
assert stop["stopDate"].year >= 2024
d2 = c.describe_execution(executionArn=w2)
assert (d2["status"], d2["error"], d2["cause"]) == ("ABORTED", "Manual", "stopped by the test"), d2
assert wait_done(w1)["status"] == "SUCCEEDED"
assert [e["type"] for e in history(w1)][-3:] == ["PassStateEntered", "PassStateExited", "ExecutionSucceeded"]

for i in range(5):
    c.start_execution(stateMachineArn=waiting, name="many%d" % i)
listed = []
for page in c.get_paginator("list_executions").paginate(stateMachineArn=waiting,
                                                           PaginationConfig={"PageSize": 2}):
    listed += [e["name"] for e in page["executions"]]
assert listed == ["many4", "many3", "many2", "many1", "many0", "w2", "w1"], listed
aborted = c.list_executions(stateMachineArn=waiting, statusFilter="ABORTED")["executions"]
assert [e["name"] for e in aborted] == ["w2"] and "stopDate" in aborted[0]
assert c.list_executions(stateMachineArn=waiting, redriveFilter="REDRIVEN")["executions"] == []
assert err(c.list_executions)[0] == "ValidationException"
assert err(c.list_executions, stateMachineArn=waiting, statusFilter="NOPE")[0] == "ValidationException"
assert err(c.list_executions, stateMachineArn=waiting.replace("waiting", "ghost"))[0] == "StateMachineDoesNotExist"

# Redrive continues from the failed state.
act = c.create_activity(name="flaky")["activityArn"]
redr = machine("redr", {"StartAt": "Pre", "States": {
    "Pre": {"Type": "Pass", "Result": 1, "ResultPath": "$.pre", "Next": "Work"},
    "Work": {"Type": "Task", "Resource": act, "End": True}}})
e = c.start_execution(stateMachineArn=redr)["executionArn"]
assert err(c.redrive_execution, executionArn=e)[0] == "ExecutionNotRedrivable"
t = c.get_activity_task(activityArn=act)
c.send_task_failure(taskToken=t["taskToken"], error="Flaky", cause="once")
assert wait_done(e)["status"] == "FAILED"
assert c.describe_execution(executionArn=e)["redriveStatus"] == "REDRIVABLE"
rd = c.redrive_execution(executionArn=e)
assert rd["redriveDate"].year >= 2024
d = c.describe_execution(executionArn=e)
assert d["status"] == "RUNNING" and d["redriveCount"] == 1, d
t = c.get_activity_task(activityArn=act)
assert json.loads(t["input"]) == {"pre": 1}
c.send_task_success(taskToken=t["taskToken"], output='{"fixed": true}')
assert wait_done(e)["status"] == "SUCCEEDED"
types = [x["type"] for x in history(e)]
assert "ExecutionRedriven" in types and types.count("PassStateEntered") == 1, types
red = [x for x in history(e) if x["type"] == "ExecutionRedriven"][0]
assert red["executionRedrivenEventDetails"] == {"redriveCount": 1}, red
assert [x["name"] for x in c.list_executions(stateMachineArn=redr, redriveFilter="REDRIVEN")["executions"]] == [d["name"]]
missing = "arn:aws:states:us-east-1:123456789012:execution:pure:nope"
code, msg, _ = err(c.describe_execution, executionArn=missing)
assert code == "ExecutionDoesNotExist" and msg == "Execution Does Not Exist: '%s'" % missing, msg
assert err(c.get_execution_history, executionArn=missing)[0] == "ExecutionDoesNotExist"
assert err(c.stop_execution, executionArn=missing)[0] == "ExecutionDoesNotExist"
assert err(c.redrive_execution, executionArn=missing)[0] == "ExecutionDoesNotExist"
assert err(c.describe_state_machine_for_execution, executionArn=missing)[0] == "ExecutionDoesNotExist"
"#,
    );
}

#[test]
fn sfn_express_sync_and_async() {
    let server = Server::start();
    run_boto3(
        &server,
        r#"
three = {"StartAt": "A", "States": {
    "A": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "Next": "B"},
    "B": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 0, "Next": "C"}],
          "Default": "Bad"},
    "C": {"Type": "Succeed"},
    "Bad": {"Type": "Fail", "Error": "NotPositive", "Cause": "n must be positive"}}}
ex = machine("fast", three, "EXPRESS")
r = c.start_sync_execution(stateMachineArn=ex, name="s1", input='{"n": 3}')
assert r["status"] == "SUCCEEDED" and json.loads(r["output"]) == {"n": 3}, r
assert r["executionArn"].startswith("arn:aws:states:us-east-1:123456789012:express:fast:s1:"), r["executionArn"]
assert r["name"] == "s1" and r["stateMachineArn"] == ex
assert r["billingDetails"]["billedDurationInMilliseconds"] >= 100
assert r["inputDetails"] == {"included": True} and r["stopDate"] >= r["startDate"]
f = c.start_sync_execution(stateMachineArn=ex, input='{"n": 0}')
assert (f["status"], f["error"], f["cause"]) == ("FAILED", "NotPositive", "n must be positive"), f
# DescribeExecution does not know Express executions, as on AWS.
assert err(c.describe_execution, executionArn=r["executionArn"])[0] == "InvalidArn"
a = c.start_execution(stateMachineArn=ex, input='{"n": 1}')
assert ":express:fast:" in a["executionArn"]
assert err(c.list_executions, stateMachineArn=ex)[0] == "StateMachineTypeNotSupported"
std = machine("std", three)
code, msg, _ = err(c.start_sync_execution, stateMachineArn=std)
assert code == "StateMachineTypeNotSupported", code
# Waits in Express executions sleep for real.
slow = machine("slowish", {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}, "EXPRESS")
t0 = time.time()
assert c.start_sync_execution(stateMachineArn=slow)["status"] == "SUCCEEDED"
assert time.time() - t0 >= 0.9
"#,
    );
}

#[test]
fn sfn_activities_and_task_tokens() {
    let server = Server::start_with(&["--activity-poll-seconds", "1"]);
    run_boto3(
        &server,
        r#"
a = c.create_activity(name="work", tags=[{"key": "k", "value": "v"}])
act = a["activityArn"]
assert act == "arn:aws:states:us-east-1:123456789012:activity:work"
assert c.create_activity(name="work")["activityArn"] == act
assert c.describe_activity(activityArn=act)["name"] == "work"
assert c.list_tags_for_resource(resourceArn=act)["tags"] == [{"key": "k", "value": "v"}]
c.create_activity(name="other")
assert [x["name"] for x in c.list_activities()["activities"]] == ["other", "work"]
page = c.list_activities(maxResults=1)
assert len(page["activities"]) == 1 and "nextToken" in page
assert [x["name"] for x in c.list_activities(nextToken=page["nextToken"])["activities"]] == ["work"]

sqs = boto3.client("sqs", endpoint_url=ENDPOINT)
queue = sqs.create_queue(QueueName="callbacks")["QueueUrl"]
flow = machine("flow", {"StartAt": "Act", "States": {
    "Act": {"Type": "Task", "Resource": act, "HeartbeatSeconds": 30, "TimeoutSeconds": 60, "Next": "Cb"},
    "Cb": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
           "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}},
           "End": True}}})
e = c.start_execution(stateMachineArn=flow, input='{"job": 7}')["executionArn"]
# A worker polling in another thread gets the task as soon as it is scheduled.
got = {}
def worker():
    got["task"] = c.get_activity_task(activityArn=act, workerName="w-1")
th = threading.Thread(target=worker)
th.start(); th.join(10)
task = got["task"]
assert json.loads(task["input"]) == {"job": 7}, task
c.send_task_heartbeat(taskToken=task["taskToken"])
c.send_task_success(taskToken=task["taskToken"], output='{"job": 7, "done": 1}')
code, msg, _ = err(c.send_task_success, taskToken=task["taskToken"], output="{}")
assert code == "TaskTimedOut", code
assert err(c.send_task_heartbeat, taskToken=task["taskToken"])[0] == "TaskTimedOut"
code, msg, _ = err(c.send_task_success, taskToken="not-a-token", output="{}")
assert (code, msg) == ("InvalidToken", "Invalid Token: 'Invalid token'"), (code, msg)
assert err(c.send_task_failure, taskToken="nope")[0] == "InvalidToken"

# The callback task's token arrives in the message it sent, as a worker would read it,
# and is the one in its scheduled parameters.
got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=10)["Messages"]
token = json.loads(got[0]["Body"])["token"]
scheduled = [ev for ev in history(e) if ev["type"] == "TaskScheduled"][0]
assert json.loads(scheduled["taskScheduledEventDetails"]["parameters"])["MessageBody"]["token"] == token
assert err(c.send_task_success, taskToken=token, output="{not json")[0] == "InvalidOutput"
c.send_task_failure(taskToken=token, error="Rejected", cause="by the test")
d = wait_done(e)
assert (d["status"], d["error"], d["cause"]) == ("FAILED", "Rejected", "by the test"), d
types = [x["type"] for x in history(e)]
assert types[:6] == ["ExecutionStarted", "TaskStateEntered", "ActivityScheduled", "ActivityStarted",
                     "ActivitySucceeded", "TaskStateExited"], types
started = [x for x in history(e) if x["type"] == "ActivityStarted"][0]
assert started["activityStartedEventDetails"]["workerName"] == "w-1"
assert types[-4:] == ["TaskStarted", "TaskSubmitted", "TaskFailed", "ExecutionFailed"], types
submitted = [x for x in history(e) if x["type"] == "TaskSubmitted"][0]["taskSubmittedEventDetails"]
assert json.loads(submitted["output"])["MessageId"] == got[0]["MessageId"], submitted

# Nothing queued: the poll ends empty (boto3 gets no token).
assert c.get_activity_task(activityArn=act).get("taskToken") is None
c.delete_activity(activityArn=act)
assert err(c.describe_activity, activityArn=act)[0] == "ActivityDoesNotExist"
assert err(c.get_activity_task, activityArn=act)[0] == "ActivityDoesNotExist"
"#,
    );
}

#[test]
fn sfn_bad_requests_get_aws_errors_never_a_500() {
    let server = Server::start();
    run_boto3(
        &server,
        r#"
def raw(target, body, content_type="application/x-amz-json-1.0"):
    req = urllib.request.Request(ENDPOINT + "/", data=body, method="POST",
        headers={"X-Amz-Target": "AWSStepFunctions." + target, "Content-Type": content_type})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
status, body = raw("ListStateMachines", b"{not json")
assert status == 400 and body["__type"] == "SerializationException", (status, body)
status, body = raw("ListStateMachines", b"[]")
assert status == 400 and body["__type"] == "SerializationException", (status, body)
status, body = raw("StartExecution", json.dumps({"stateMachineArn": 5}).encode())
assert status == 400 and body["__type"] == "SerializationException", (status, body)
status, body = raw("StartExecution", b"{}")
assert status == 400 and body["__type"] == "ValidationException", body
assert body["message"] == "1 validation error detected: Value null at 'stateMachineArn' failed to satisfy constraint: Member must not be null", body
status, body = raw("NoSuchOperation", b"{}")
assert status == 400 and body["__type"] == "UnknownOperationException", body

m = machine("m", {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
ghost = "arn:aws:states:us-east-1:123456789012:stateMachine:ghost"
code, msg, status = err(c.start_execution, stateMachineArn=ghost)
assert (code, status) == ("StateMachineDoesNotExist", 400) and ghost in msg, (code, msg)
assert err(c.start_execution, stateMachineArn="not-an-arn")[0] == "InvalidArn"
big = json.dumps({"blob": "x" * (256 * 1024)})
code, msg, status = err(c.start_execution, stateMachineArn=m, input=big)
assert (code, status) == ("ValidationException", 400), (code, msg)
assert "Member must have length less than or equal to 262144" in msg, msg
assert err(c.start_sync_execution, stateMachineArn=m, input=big)[0] == "ValidationException"
code, msg, _ = err(c.start_execution, stateMachineArn=m, input="{oops")
assert code == "InvalidExecutionInput" and msg.startswith("Invalid State Machine Execution Input: '"), msg
assert err(c.start_execution, stateMachineArn=m, name="has space")[0] == "InvalidName"
assert err(c.start_execution, stateMachineArn=m, name="x" * 81)[0] == "ValidationException"
assert err(c.create_state_machine, name="d", roleArn=ROLE, definition="not json")[0] == "InvalidDefinition"
assert err(c.send_task_success, taskToken="t", output=big)[0] == "ValidationException"
assert err(c.stop_execution, executionArn=m, error="e" * 300)[0] == "ValidationException"
assert err(c.get_execution_history, executionArn="arn:aws:states:us-east-1:123456789012:execution:m:x", maxResults=5000)[0] == "ValidationException"
"#,
    );
}

#[test]
fn sfn_test_state_runs_one_state() {
    let server = Server::start();
    run_boto3(
        &server,
        r#"
r = c.test_state(definition=json.dumps({"Type": "Pass", "Parameters": {"a.$": "$.x"}, "Next": "N"}),
                 roleArn=ROLE, input='{"x": 5}', inspectionLevel="DEBUG")
assert r["status"] == "SUCCEEDED" and json.loads(r["output"]) == {"a": 5} and r["nextState"] == "N", r
assert json.loads(r["inspectionData"]["afterParameters"]) == {"a": 5}, r["inspectionData"]
r = c.test_state(definition=json.dumps({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                 "Parameters": {"FunctionName": "f"}, "End": True}),
                 roleArn=ROLE, mock={"result": '{"Payload": {"ok": true}, "StatusCode": 200}'})
assert r["status"] == "SUCCEEDED" and json.loads(r["output"])["Payload"] == {"ok": True}, r
code, msg, _ = err(c.test_state, definition='{"Type": "Nope"}', roleArn=ROLE)
assert code == "InvalidDefinition", (code, msg)

# A Task that is not mocked calls out for real (here an HTTP Task to a local server).
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
url = "http://127.0.0.1:%d/thing" % srv.server_address[1]
r = c.test_state(definition=json.dumps({"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                 "Parameters": {"ApiEndpoint": url, "Method": "GET",
                                "Authentication": {"ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/c/1"}},
                 "End": True}), roleArn=ROLE)
assert r["status"] == "SUCCEEDED", r
out = json.loads(r["output"])
assert out["StatusCode"] == 200 and out["ResponseBody"] == {"path": "/thing"}, out
"#,
    );
}
