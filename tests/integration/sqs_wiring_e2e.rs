//! SQS wired into the other halves, end to end with boto3: EventBridge rules with SQS
//! targets (standard and FIFO, with input transformers), SQS queues as rule targets'
//! dead-letter queues (with EventBridge's attributes), and Step Functions'
//! `sqs:sendMessage` task (output shape, message attributes, AWS's error names).

use crate::server::Server;
use crate::sfn_support::run_boto3;

const CLIENTS: &str = r#"
ev = boto3.client("events", endpoint_url=ENDPOINT)
sqs = boto3.client("sqs", endpoint_url=ENDPOINT)
def arn_of(url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
def receive(url, n=1, timeout=15):
    out, end = [], time.time() + timeout
    while len(out) < n and time.time() < end:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                  MessageAttributeNames=["All"], AttributeNames=["All"])
        for m in got.get("Messages", []):
            out.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert len(out) >= n, (len(out), n)
    return out
def ev_err(fn, **kw):
    try:
        fn(**kw)
    except botocore.exceptions.ClientError as e:
        return (e.response["Error"]["Code"], e.response["Error"].get("Message", ""))
    raise AssertionError("expected an error")
"#;

#[test]
fn rules_deliver_events_to_sqs_queues_standard_and_fifo() {
    let server = Server::start();
    run_boto3(
        &server,
        &format!(
            "{CLIENTS}{}",
            r#"
plain = sqs.create_queue(QueueName="orders")["QueueUrl"]
fifo = sqs.create_queue(QueueName="orders.fifo",
                        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
ev.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
ev.put_targets(Rule="orders", Targets=[
    {"Id": "whole", "Arn": arn_of(plain)},
    {"Id": "fifo", "Arn": arn_of(fifo), "SqsParameters": {"MessageGroupId": "g1"},
     "InputTransformer": {"InputPathsMap": {"n": "$.detail.n"}, "InputTemplate": "{\"order\": <n>}"}},
])
# A FIFO target needs its message group (PutTargets refuses it otherwise).
code, msg = ev_err(ev.put_targets, Rule="orders", Targets=[{"Id": "nogroup", "Arn": arn_of(fifo)}])
assert (code, msg) == ("ValidationException",
                       "Parameter(s) SqsParameters must be specified for target: nogroup."), (code, msg)
targets = {t["Id"]: t for t in ev.list_targets_by_rule(Rule="orders")["Targets"]}
assert targets["fifo"]["SqsParameters"] == {"MessageGroupId": "g1"}, targets

ids = []
for n in range(3):
    r = ev.put_events(Entries=[{"Source": "shop", "DetailType": "order", "Detail": json.dumps({"n": n})}])
    assert r["FailedEntryCount"] == 0, r
    ids.append(r["Entries"][0]["EventId"])
ev.put_events(Entries=[{"Source": "other", "DetailType": "order", "Detail": "{}"}])

whole = receive(plain, 3)
events = sorted((json.loads(m["Body"]) for m in whole), key=lambda e: e["detail"]["n"])
assert [e["id"] for e in events] == ids, events
assert all(e["source"] == "shop" and e["detail-type"] == "order" for e in events)
# The FIFO target keeps the group's order and the transformer's body.
ordered = receive(fifo, 3)
assert [json.loads(m["Body"]) for m in ordered] == [{"order": 0}, {"order": 1}, {"order": 2}], ordered
assert all(m["Attributes"]["MessageGroupId"] == "g1" for m in ordered)
# The unmatched event went nowhere.
time.sleep(1.5)
assert "Messages" not in sqs.receive_message(QueueUrl=plain, WaitTimeSeconds=1)
"#
        ),
    );
}

#[test]
fn failed_rule_deliveries_land_in_an_sqs_dead_letter_queue() {
    let server = Server::start();
    run_boto3(
        &server,
        &format!(
            "{CLIENTS}{}",
            r#"
dlq = sqs.create_queue(QueueName="rule-dlq")["QueueUrl"]
dlq_arn = arn_of(dlq)
missing_machine = "arn:aws:states:us-east-1:123456789012:stateMachine:nope"
missing_queue = "arn:aws:sqs:us-east-1:123456789012:does-not-exist"
ev.put_rule(Name="r", EventPattern=json.dumps({"source": ["app"]}))
rule_arn = ev.describe_rule(Name="r")["Arn"]
ev.put_targets(Rule="r", Targets=[
    {"Id": "sm", "Arn": missing_machine, "RoleArn": "arn:aws:iam::123456789012:role/r",
     "DeadLetterConfig": {"Arn": dlq_arn}},
    {"Id": "q", "Arn": missing_queue, "DeadLetterConfig": {"Arn": dlq_arn},
     "Input": "{\"constant\": true}"},
])
r = ev.put_events(Entries=[{"Source": "app", "DetailType": "t", "Detail": "{\"k\": 1}"}])
event_id = r["Entries"][0]["EventId"]

letters = {m["MessageAttributes"]["TARGET_ARN"]["StringValue"]: m for m in receive(dlq, 2)}
assert set(letters) == {missing_machine, missing_queue}, letters
sm = letters[missing_machine]
attrs = {k: v["StringValue"] for k, v in sm["MessageAttributes"].items()}
assert attrs["RULE_ARN"] == rule_arn, attrs
assert attrs["ERROR_CODE"] == "StateMachineDoesNotExist", attrs
assert attrs["RETRY_ATTEMPTS"] == "0", attrs
assert all(v["DataType"] == "String" for v in sm["MessageAttributes"].values())
body = json.loads(sm["Body"])
assert body["id"] == event_id and body["detail"] == {"k": 1}, body
q = letters[missing_queue]
assert json.loads(q["Body"]) == {"constant": True}, q["Body"]
assert q["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "AWS.SimpleQueueService.NonExistentQueue"
"#
        ),
    );
}

#[test]
fn state_machines_send_messages_with_aws_output_and_errors() {
    let server = Server::start();
    run_boto3(
        &server,
        &format!(
            "{CLIENTS}{}",
            r#"
import hashlib
url = sqs.create_queue(QueueName="tasks")["QueueUrl"]
send = machine("send", {"StartAt": "Send", "States": {"Send": {
    "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
    "Parameters": {"QueueUrl.$": "$.url", "MessageBody.$": "$.body",
                   "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "greeting"}}},
    "End": True}}})
e = c.start_execution(stateMachineArn=send, input=json.dumps({"url": url, "body": {"hello": "world"}}))["executionArn"]
d = wait_done(e)
assert d["status"] == "SUCCEEDED", d
out = json.loads(d["output"])
got = receive(url)[0]
assert got["Body"] == '{"hello":"world"}', got["Body"]
assert got["MessageAttributes"]["kind"]["StringValue"] == "greeting"
assert out["MessageId"] == got["MessageId"], (out, got)
assert out["MD5OfMessageBody"] == hashlib.md5(got["Body"].encode()).hexdigest()
assert out["MD5OfMessageAttributes"] == got["MD5OfMessageAttributes"]
meta = out["SdkHttpMetadata"]
assert meta["HttpStatusCode"] == 200 and meta["HttpHeaders"]["Content-Length"] == "166", meta
assert out["SdkResponseMetadata"]["RequestId"] == meta["HttpHeaders"]["x-amzn-RequestId"]
types = [x["type"] for x in history(e)]
assert types == ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted",
                 "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"], types

# SQS's errors become SQS.<Exception> with the SDK's cause, and Catch sees them.
caught = machine("caught", {"StartAt": "Send", "States": {
    "Send": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
             "Parameters": {"QueueUrl.$": "$.url", "MessageBody.$": "$.body"},
             "Catch": [{"ErrorEquals": ["SQS.AmazonSQSException"], "Next": "Handled"}],
             "End": True},
    "Handled": {"Type": "Pass", "End": True}}})
d = wait_done(c.start_execution(stateMachineArn=caught, input=json.dumps({"url": url, "body": None}))["executionArn"])
out = json.loads(d["output"])
assert out["Error"] == "SQS.AmazonSQSException", out
assert out["Cause"].startswith("The request must contain the parameter MessageBody. (Service: AmazonSQS; "
                               "Status Code: 400; Error Code: MissingParameter; Request ID: "), out
gone = url.rsplit("/", 1)[0] + "/gone"
d = wait_done(c.start_execution(stateMachineArn=send, input=json.dumps({"url": gone, "body": "x"}))["executionArn"])
assert (d["status"], d["error"]) == ("FAILED", "SQS.QueueDoesNotExistException"), d
assert "Error Code: AWS.SimpleQueueService.NonExistentQueue" in d["cause"], d
"#
        ),
    );
}
