//! Task integrations the server runs itself, end to end with boto3: nested executions
//! (`states:startExecution` request-response, `.sync`, `.sync:2`, `.waitForTaskToken`),
//! the HTTP Task against a local HTTP server, and `events:putEvents` (which fails its
//! entries while no event bus is attached to the server).

use crate::server::Server;
use crate::sfn_support::run_boto3;

#[test]
fn sfn_nested_executions_and_http_tasks() {
    let server = Server::start();
    run_boto3(
        &server,
        r#"
child = machine("child", {"StartAt": "W", "States": {
    "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
    "P": {"Type": "Pass", "Result": {"Arg1": "argument1"}, "End": True}}})
failing = machine("failing", {"StartAt": "F", "States": {
    "F": {"Type": "Fail", "Error": "SomeFailure", "Cause": "This state machine raises a 'SomeFailure' failure."}}})
# A child that answers its parent's token itself.
answering = machine("answering", {"StartAt": "Answer", "States": {
    "Answer": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
               "Parameters": {"ApiEndpoint.$": "$.callback", "Method": "POST",
                              "RequestBody": {"token.$": "$.token"}}, "End": True}}})

import http.server
tokens = []
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n) or b"{}")
        if self.path == "/callback":
            tokens.append(body["token"])
        status = 404 if self.path == "/missing" else 201
        out = json.dumps({"got": body, "path": self.path}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Test", "yes")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def do_GET(self):
        out = b"plain text"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
base = "http://127.0.0.1:%d" % srv.server_address[1]

parent = machine("parent", {"StartAt": "Fire", "States": {
    "Fire": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
             "Parameters": {"StateMachineArn": child, "Name": "fired"}, "ResultPath": "$.fire", "Next": "Sync"},
    "Sync": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync",
             "Parameters": {"StateMachineArn": child, "Input": {"a": 1}}, "ResultPath": "$.sync", "Next": "Sync2"},
    "Sync2": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
              "Parameters": {"StateMachineArn": child, "Input": "{\"b\": 2}"}, "ResultPath": "$.sync2", "Next": "Token"},
    "Token": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
              "Parameters": {"StateMachineArn": answering,
                             "Input": {"token.$": "$$.Task.Token", "callback": base + "/callback"}},
              "ResultPath": "$.token", "Next": "Fails"},
    "Fails": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync",
              "Parameters": {"StateMachineArn": failing},
              "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.caught", "Next": "Http"}],
              "End": True},
    "Http": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
             "Parameters": {"ApiEndpoint": base + "/created", "Method": "POST",
                            "Headers": {"X-Custom": "1"}, "QueryParameters": {"q": "a b"},
                            "RequestBody": {"hello": "world"},
                            "Authentication": {"ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/c/1"}},
             "ResultSelector": {"status.$": "$.StatusCode", "text.$": "$.StatusText",
                                "body.$": "$.ResponseBody", "header.$": "$.Headers.x-test"},
             "ResultPath": "$.http", "Next": "HttpText"},
    "HttpText": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                 "Parameters": {"ApiEndpoint": base + "/text", "Method": "GET"},
                 "ResultSelector": {"body.$": "$.ResponseBody"}, "ResultPath": "$.text", "Next": "Http404"},
    "Http404": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                "Parameters": {"ApiEndpoint": base + "/missing", "Method": "POST"},
                "Catch": [{"ErrorEquals": ["States.Http.StatusCode.404"], "ResultPath": "$.notFound", "Next": "Done"}],
                "End": True},
    "Done": {"Type": "Succeed"}}})

# The callback child posts its token; answer it like an external worker would.
def answer_tokens():
    end = time.time() + 30
    while time.time() < end:
        if tokens:
            c.send_task_success(taskToken=tokens.pop(), output='{"answered": true}')
            return
        time.sleep(0.05)
threading.Thread(target=answer_tokens, daemon=True).start()

e = c.start_execution(stateMachineArn=parent, input='{"start": true}')["executionArn"]
d = wait_done(e, timeout=60)
assert d["status"] == "SUCCEEDED", (d, [x["type"] for x in history(e)])
out = json.loads(d["output"])

fire = out["fire"]
assert fire["ExecutionArn"] == "arn:aws:states:us-east-1:123456789012:execution:child:fired", fire
assert isinstance(fire["StartDate"], int) and fire["SdkHttpMetadata"]["HttpStatusCode"] == 200

s = out["sync"]
assert s["Status"] == "SUCCEEDED" and s["Output"] == '{"Arg1":"argument1"}' and s["Input"] == '{"a":1}', s
assert s["OutputDetails"] == {"Included": True} and s["StopDate"] >= s["StartDate"]
assert out["sync2"]["Output"] == {"Arg1": "argument1"} and out["sync2"]["Input"] == {"b": 2}, out["sync2"]
assert out["token"] == {"answered": True}, out["token"]
caught = out["caught"]
assert caught["Error"] == "States.TaskFailed", caught
cause = json.loads(caught["Cause"])
assert (cause["Status"], cause["Error"]) == ("FAILED", "SomeFailure"), cause

assert out["http"]["status"] == 201 and out["http"]["text"] == "Created", out["http"]
assert out["http"]["body"]["got"] == {"hello": "world"}, out["http"]
assert out["http"]["body"]["path"] == "/created?q=a%20b", out["http"]
assert out["http"]["header"] == ["yes"]
assert out["text"]["body"] == "plain text"
assert out["notFound"]["Error"] == "States.Http.StatusCode.404", out["notFound"]
assert json.loads(out["notFound"]["Cause"])["StatusCode"] == 404

events = history(e)
types = [x["type"] for x in events]
sync_events = [x for x in events if x.get("taskScheduledEventDetails", {}).get("resource") == "startExecution.sync"]
assert sync_events, types
for t in ["TaskSubmitted", "TaskSucceeded", "TaskFailed"]:
    assert t in types, (t, types)
sub = [x for x in events if x["type"] == "TaskSubmitted"][0]["taskSubmittedEventDetails"]
assert sub["resourceType"] == "states" and json.loads(sub["output"])["SdkResponseMetadata"]["RequestId"]

# Children started with .sync record their parent's request; all of them finished.
kids = c.list_executions(stateMachineArn=child)["executions"]
assert len(kids) == 3 and all(k["status"] == "SUCCEEDED" for k in kids), kids

# events:putEvents: a malformed entry fails the task (EventBridge.FailedEntry); the
# good entry of the same call is still put.
put = machine("put", {"StartAt": "P", "States": {
    "P": {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
          "Parameters": {"Entries": [{"Source": "my.app", "DetailType": "T", "Detail": {"k": 1}},
                                     {"Source": "my.app", "DetailType": "T", "Detail": "\"not an object\""}]},
          "End": True}}})
p = c.start_execution(stateMachineArn=put)["executionArn"]
d = wait_done(p)
assert (d["status"], d["error"]) == ("FAILED", "EventBridge.FailedEntry"), d
cause = json.loads(d["cause"])
assert cause["FailedEntryCount"] == 1, cause
assert "EventId" in cause["Entries"][0], cause
assert cause["Entries"][1] == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}, cause

# The buses are wired in: an event put by a task reaches a rule whose target is a state
# machine, and the execution's input is the event.
sink = machine("sink", {"StartAt": "S", "States": {"S": {"Type": "Pass", "End": True}}})
ev = boto3.client("events", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
ev.put_rule(Name="to-sink", EventPattern=json.dumps({"source": ["wired.app"]}))
ev.put_targets(Rule="to-sink", Targets=[{"Id": "t", "Arn": sink, "RoleArn": "arn:aws:iam::123456789012:role/r"}])
ok = machine("put-ok", {"StartAt": "P", "States": {
    "P": {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
          "Parameters": {"Entries": [{"Source": "wired.app", "DetailType": "T", "Detail": {"n.$": "$.n"}}]},
          "End": True}}})
d = wait_done(c.start_execution(stateMachineArn=ok, input='{"n": 7}')["executionArn"])
assert d["status"] == "SUCCEEDED" and json.loads(d["output"])["FailedEntryCount"] == 0, d
for _ in range(200):
    runs = c.list_executions(stateMachineArn=sink)["executions"]
    if runs: break
    time.sleep(0.05)
assert len(runs) == 1, runs
got = json.loads(wait_done(runs[0]["executionArn"])["output"])
assert got["source"] == "wired.app" and got["detail"] == {"n": 7}, got
"#,
    );
}

#[test]
fn sfn_lambda_errors_and_unsupported_integrations_fail_the_task_clearly() {
    let server = Server::start();
    run_boto3(
        &server,
        r#"
# A function that does not exist: the Lambda API's error, as AWS's integration maps it.
m = machine("lam", {"StartAt": "L", "States": {
    "L": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
          "Parameters": {"FunctionName": "nope"},
          "Catch": [{"ErrorEquals": ["Lambda.ResourceNotFoundException"], "Next": "Caught"}], "End": True},
    "Caught": {"Type": "Pass", "End": True}}})
e = c.start_execution(stateMachineArn=m)["executionArn"]
d = wait_done(e)
assert d["status"] == "SUCCEEDED", d
types = [x["type"] for x in history(e)]
assert types[2:5] == ["TaskScheduled", "TaskStarted", "TaskFailed"], types
failed = [x for x in history(e) if x["type"] == "TaskFailed"][0]["taskFailedEventDetails"]
assert failed["error"] == "Lambda.ResourceNotFoundException", failed
assert failed["cause"].startswith(
    "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope:$LATEST "
    "(Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: "), failed

# A service Baton does not call: a clear error naming what is supported.
m = machine("ddb", {"StartAt": "D", "States": {
    "D": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
          "Parameters": {"TableName": "t", "Item": {}},
          "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": True},
    "Caught": {"Type": "Pass", "End": True}}})
e = c.start_execution(stateMachineArn=m)["executionArn"]
d = wait_done(e)
assert d["status"] == "SUCCEEDED", d
failed = [x for x in history(e) if x["type"] == "TaskFailed"][0]["taskFailedEventDetails"]
assert failed["error"] == "Baton.UnsupportedIntegration", failed
assert "lambda:invoke" in failed["cause"], failed
"#,
    );
}
