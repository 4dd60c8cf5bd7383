//! SQS end to end: a real `baton serve` driven by boto3 and the `aws` CLI. Queues
//! (create idempotency, attributes, listing, tags, delete), messages (MD5s recomputed
//! here the way AWS defines them, batches with partial failures, visibility, purge),
//! long polling, redrive to a dead-letter queue, FIFO groups and deduplication, AWS error
//! names for bad input, and an acknowledged send surviving `kill -9`.

use serde_json::{Value, json};

use crate::server::Server;

/// Runs a boto3 script that prints one JSON document; returns it.
fn run(server: &Server, body: &str) -> Value {
    let script = format!(
        r#"
import base64, hashlib, json, os, struct, threading, time, boto3, botocore
from botocore.config import Config
sqs = boto3.client("sqs", endpoint_url=os.environ["ENDPOINT"], config=Config(retries={{"max_attempts": 0}}))
def err(fn, **kw):
    try:
        fn(**kw)
        return None
    except botocore.exceptions.ClientError as e:
        r = e.response
        return [r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]]
def md5_attrs(attrs):
    buf = b""
    for name in sorted(attrs):
        a = attrs[name]
        def enc(b): return struct.pack(">I", len(b)) + b
        buf += enc(name.encode()) + enc(a["DataType"].encode())
        if "BinaryValue" in a:
            buf += b"\x02" + enc(a["BinaryValue"])
        else:
            buf += b"\x01" + enc(a["StringValue"].encode())
    return hashlib.md5(buf).hexdigest()
out = {{}}
{body}
print(json.dumps(out))
"#
    );
    let output = server.python(&script);
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[test]
fn sqs_queues_messages_batches_and_errors_through_boto3() {
    let server = Server::start();
    let v = run(
        &server,
        r#"
url = sqs.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "20"}, tags={"team": "a"})["QueueUrl"]
out["url"] = url
out["same"] = sqs.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "20"})["QueueUrl"]
out["exists"] = err(sqs.create_queue, QueueName="orders", Attributes={"VisibilityTimeout": "21"})[:2]
out["get_url"] = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
sqs.create_queue(QueueName="other")
out["list"] = sqs.list_queues()["QueueUrls"]
out["list_prefix"] = sqs.list_queues(QueueNamePrefix="ord")["QueueUrls"]
page = sqs.list_queues(MaxResults=1)
out["page"] = [page["QueueUrls"], "NextToken" in page, sqs.list_queues(MaxResults=1, NextToken=page["NextToken"])["QueueUrls"]]
sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "0", "MessageRetentionPeriod": "120"})
a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
out["attrs"] = [a["VisibilityTimeout"], a["MessageRetentionPeriod"], a["QueueArn"], a["ApproximateNumberOfMessages"]]
sqs.tag_queue(QueueUrl=url, Tags={"env": "dev"})
sqs.untag_queue(QueueUrl=url, TagKeys=["team"])
out["tags"] = sqs.list_queue_tags(QueueUrl=url)["Tags"]

attrs = {"colour": {"DataType": "String", "StringValue": "blue"},
         "n": {"DataType": "Number", "StringValue": "42"},
         "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"}}
sent = sqs.send_message(QueueUrl=url, MessageBody="héllo", MessageAttributes=attrs)
out["send_md5"] = [sent["MD5OfMessageBody"] == hashlib.md5("héllo".encode()).hexdigest(),
                   sent["MD5OfMessageAttributes"] == md5_attrs(attrs)]
got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"])["Messages"][0]
out["received"] = [got["MessageId"] == sent["MessageId"], got["Body"], got["MD5OfBody"] == sent["MD5OfMessageBody"],
                   got["MD5OfMessageAttributes"] == md5_attrs(got["MessageAttributes"]),
                   got["MessageAttributes"]["raw"]["BinaryValue"] == b"\x00\x01\xff",
                   got["Attributes"]["ApproximateReceiveCount"], "SentTimestamp" in got["Attributes"]]
a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])["Attributes"]
out["in_flight"] = a
out["invisible_now"] = "Messages" in sqs.receive_message(QueueUrl=url)
sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"], VisibilityTimeout=0)
again = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
out["again"] = [again["MessageId"] == sent["MessageId"], again["Attributes"]["ApproximateReceiveCount"]]
out["stale_delete"] = sqs.delete_message(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"])["ResponseMetadata"]["HTTPStatusCode"]
sqs.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
out["after_delete"] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessagesNotVisible"]
out["bad_handle"] = err(sqs.delete_message, QueueUrl=url, ReceiptHandle="garbage")[:2]
out["vis_gone"] = err(sqs.change_message_visibility, QueueUrl=url, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=5)[:2]

batch = sqs.send_message_batch(QueueUrl=url, Entries=[
    {"Id": "ok1", "MessageBody": "one"},
    {"Id": "bad", "MessageBody": "x", "DelaySeconds": 901},
    {"Id": "ok2", "MessageBody": "two", "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
    {"Id": "bad2", "MessageBody": "y", "MessageAttributes": {"k": {"DataType": "Weird", "StringValue": "v"}}}])
out["batch_ok"] = sorted(e["Id"] for e in batch["Successful"])
out["batch_failed"] = sorted([e["Id"], e["Code"], e["SenderFault"]] for e in batch["Failed"])
out["batch_md5"] = [e["MD5OfMessageBody"] == hashlib.md5(b"two").hexdigest() and e["MD5OfMessageAttributes"] == md5_attrs({"k": {"DataType": "String", "StringValue": "v"}}) for e in batch["Successful"] if e["Id"] == "ok2"]
msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
out["batch_received"] = sorted(m["Body"] for m in msgs)
vis = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
    {"Id": "a", "ReceiptHandle": msgs[0]["ReceiptHandle"], "VisibilityTimeout": 30},
    {"Id": "b", "ReceiptHandle": "garbage", "VisibilityTimeout": 30}])
out["vis_batch"] = [[e["Id"] for e in vis["Successful"]], [[e["Id"], e["Code"]] for e in vis["Failed"]]]
dele = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "a", "ReceiptHandle": m["ReceiptHandle"]} if i == 0 else {"Id": "b", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)] + [{"Id": "c", "ReceiptHandle": "garbage"}])
out["del_batch"] = [sorted(e["Id"] for e in dele["Successful"]), [[e["Id"], e["Code"]] for e in dele["Failed"]]]
out["empty_batch"] = err(sqs.send_message_batch, QueueUrl=url, Entries=[])[:2]
out["too_many"] = err(sqs.send_message_batch, QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "m"} for i in range(11)])[:2]
out["dup_ids"] = err(sqs.delete_message_batch, QueueUrl=url, Entries=[{"Id": "x", "ReceiptHandle": "h"}, {"Id": "x", "ReceiptHandle": "h"}])[:2]
out["bad_id"] = err(sqs.send_message_batch, QueueUrl=url, Entries=[{"Id": "no spaces", "MessageBody": "m"}])[:2]

trace = {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793"}}
ts = sqs.send_message(QueueUrl=url, MessageBody="traced", MessageSystemAttributes=trace)
tr = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["AWSTraceHeader"])["Messages"][0]
out["trace"] = [ts["MD5OfMessageSystemAttributes"] == md5_attrs(trace), tr["Attributes"]]
sqs.send_message(QueueUrl=url, MessageBody="to purge")
sqs.purge_queue(QueueUrl=url)
out["purged"] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
out["purge_again"] = err(sqs.purge_queue, QueueUrl=url)[:2]

out["errors"] = {
  "no_queue": err(sqs.send_message, QueueUrl=url.replace("orders", "nope"), MessageBody="x"),
  "vis_range": err(sqs.create_queue, QueueName="q2", Attributes={"VisibilityTimeout": "43201"}),
  "retention": err(sqs.set_queue_attributes, QueueUrl=url, Attributes={"MessageRetentionPeriod": "59"}),
  "unknown_attr": err(sqs.set_queue_attributes, QueueUrl=url, Attributes={"Colour": "1"}),
  "fifo_name": err(sqs.create_queue, QueueName="plain", Attributes={"FifoQueue": "true"})[:2],
  "bad_name": err(sqs.create_queue, QueueName="bad name")[:2],
  "max_msgs": err(sqs.receive_message, QueueUrl=url, MaxNumberOfMessages=11),
  "wait": err(sqs.receive_message, QueueUrl=url, WaitTimeSeconds=21)[:2],
  "redrive_json": err(sqs.set_queue_attributes, QueueUrl=url, Attributes={"RedrivePolicy": "{not json"})[:2],
  "redrive_target": err(sqs.set_queue_attributes, QueueUrl=url, Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:missing", "maxReceiveCount": 3})})[:2],
  "bad_body": err(sqs.send_message, QueueUrl=url, MessageBody="a\u0000b")[:2],
  "too_big": err(sqs.send_message, QueueUrl=url, MessageBody="x" * 262145)[:2],
  "group_on_std_dedup": err(sqs.send_message, QueueUrl=url, MessageBody="x", MessageDeduplicationId="d")[:2],
}
sqs.delete_queue(QueueUrl=url)
out["deleted"] = err(sqs.get_queue_url, QueueName="orders")[:2]
out["recreate"] = err(sqs.create_queue, QueueName="orders")[:2]
out["bad_trace"] = err(sqs.send_message, QueueUrl=sqs.get_queue_url(QueueName="other")["QueueUrl"], MessageBody="x", MessageSystemAttributes={"Nope": {"DataType": "String", "StringValue": "v"}})[:2]
"#,
    );
    let url = format!("{}/123456789012/orders", server.url);
    assert_eq!(v["url"], json!(url));
    assert_eq!(v["same"], json!(url), "same attributes: same queue");
    assert_eq!(v["exists"], json!(["QueueAlreadyExists", 400]));
    assert_eq!(v["get_url"], json!(url));
    assert_eq!(
        v["list"],
        json!([url.clone(), format!("{}/123456789012/other", server.url)])
    );
    assert_eq!(v["list_prefix"], json!([url.clone()]));
    assert_eq!(
        v["page"],
        json!([
            [url.clone()],
            true,
            [format!("{}/123456789012/other", server.url)]
        ])
    );
    assert_eq!(
        v["attrs"],
        json!([
            "20",
            "120",
            "arn:aws:sqs:us-east-1:123456789012:orders",
            "0"
        ])
    );
    assert_eq!(v["tags"], json!({"env": "dev"}));
    assert_eq!(
        v["send_md5"],
        json!([true, true]),
        "MD5s as AWS computes them"
    );
    assert_eq!(
        v["received"],
        json!([true, "héllo", true, true, true, "1", true])
    );
    assert_eq!(
        v["in_flight"],
        json!({"ApproximateNumberOfMessagesNotVisible": "1"})
    );
    assert_eq!(v["invisible_now"], json!(false));
    assert_eq!(v["again"], json!([true, "2"]));
    assert_eq!(
        v["stale_delete"],
        json!(200),
        "a stale handle deletes nothing, quietly"
    );
    assert_eq!(v["after_delete"], json!("0"));
    assert_eq!(v["bad_handle"], json!(["ReceiptHandleIsInvalid", 400]));
    assert_eq!(v["vis_gone"], json!(["InvalidParameterValue", 400]));
    assert_eq!(v["batch_ok"], json!(["ok1", "ok2"]));
    assert_eq!(
        v["batch_failed"],
        json!([
            ["bad", "InvalidParameterValue", true],
            ["bad2", "InvalidParameterValue", true]
        ])
    );
    assert_eq!(v["batch_md5"], json!([true]));
    assert_eq!(v["batch_received"], json!(["one", "two"]));
    assert_eq!(
        v["vis_batch"],
        json!([["a"], [["b", "ReceiptHandleIsInvalid"]]])
    );
    assert_eq!(
        v["del_batch"],
        json!([["a", "b"], [["c", "ReceiptHandleIsInvalid"]]])
    );
    assert_eq!(
        v["empty_batch"],
        json!(["AWS.SimpleQueueService.EmptyBatchRequest", 400])
    );
    assert_eq!(
        v["too_many"],
        json!(["AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400])
    );
    assert_eq!(
        v["dup_ids"],
        json!(["AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400])
    );
    assert_eq!(
        v["bad_id"],
        json!(["AWS.SimpleQueueService.InvalidBatchEntryId", 400])
    );
    assert_eq!(
        v["trace"],
        json!([true, {"AWSTraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793"}])
    );
    assert_eq!(v["purged"], json!({"ApproximateNumberOfMessages": "0"}));
    assert_eq!(
        v["purge_again"],
        json!(["AWS.SimpleQueueService.PurgeQueueInProgress", 400])
    );
    let e = &v["errors"];
    assert_eq!(
        e["no_queue"],
        json!([
            "AWS.SimpleQueueService.NonExistentQueue",
            400,
            "The specified queue does not exist."
        ])
    );
    assert_eq!(
        e["vis_range"],
        json!([
            "InvalidAttributeValue",
            400,
            "Invalid value for the parameter VisibilityTimeout."
        ])
    );
    assert_eq!(
        e["retention"],
        json!([
            "InvalidAttributeValue",
            400,
            "Invalid value for the parameter MessageRetentionPeriod."
        ])
    );
    assert_eq!(
        e["unknown_attr"],
        json!(["InvalidAttributeName", 400, "Unknown Attribute Colour."])
    );
    assert_eq!(e["fifo_name"], json!(["InvalidParameterValue", 400]));
    assert_eq!(e["bad_name"], json!(["InvalidParameterValue", 400]));
    assert_eq!(
        e["max_msgs"],
        json!([
            "InvalidParameterValue",
            400,
            "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
        ])
    );
    assert_eq!(e["wait"], json!(["InvalidParameterValue", 400]));
    assert_eq!(e["redrive_json"], json!(["InvalidAttributeValue", 400]));
    assert_eq!(e["redrive_target"], json!(["InvalidAttributeValue", 400]));
    assert_eq!(e["bad_body"], json!(["InvalidMessageContents", 400]));
    assert_eq!(e["too_big"], json!(["InvalidParameterValue", 400]));
    assert_eq!(
        e["group_on_std_dedup"],
        json!(["InvalidParameterValue", 400])
    );
    assert_eq!(
        v["deleted"],
        json!(["AWS.SimpleQueueService.NonExistentQueue", 400])
    );
    assert_eq!(
        v["recreate"],
        json!(["AWS.SimpleQueueService.QueueDeletedRecently", 400])
    );
    assert_eq!(v["bad_trace"], json!(["InvalidParameterValue", 400]));
}

#[test]
fn sqs_through_the_aws_cli() {
    let server = Server::start();
    let json_of = |args: &[&str]| -> Value {
        let out = server.aws(args);
        assert!(
            out.status.success(),
            "aws {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    };
    let created = json_of(&["sqs", "create-queue", "--queue-name", "cli"]);
    let url = created["QueueUrl"].as_str().expect("url").to_owned();
    let sent = json_of(&[
        "sqs",
        "send-message",
        "--queue-url",
        &url,
        "--message-body",
        "from the cli",
        "--message-attributes",
        r#"{"k":{"DataType":"String","StringValue":"v"}}"#,
    ]);
    let md5 = sent["MD5OfMessageBody"].as_str().unwrap_or("");
    assert!(
        md5.len() == 32 && md5.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sent}"
    );
    let got = json_of(&[
        "sqs",
        "receive-message",
        "--queue-url",
        &url,
        "--message-attribute-names",
        "All",
        "--wait-time-seconds",
        "1",
    ]);
    let m = &got["Messages"][0];
    assert_eq!(m["Body"], json!("from the cli"));
    assert_eq!(m["MD5OfBody"], sent["MD5OfMessageBody"]);
    assert_eq!(m["MD5OfMessageAttributes"], sent["MD5OfMessageAttributes"]);
    let handle = m["ReceiptHandle"].as_str().expect("handle");
    json_of(&[
        "sqs",
        "delete-message",
        "--queue-url",
        &url,
        "--receipt-handle",
        handle,
    ]);
    let missing = server.aws(&["sqs", "get-queue-url", "--queue-name", "nope"]);
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("AWS.SimpleQueueService.NonExistentQueue"),
        "{stderr}"
    );
    json_of(&["sqs", "delete-queue", "--queue-url", &url]);
}

#[test]
fn sqs_long_polling_visibility_expiry_and_redrive_to_a_dead_letter_queue() {
    let server = Server::start();
    let v = run(
        &server,
        r#"
url = sqs.create_queue(QueueName="work")["QueueUrl"]
dlq = sqs.create_queue(QueueName="work-dlq")["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})})
out["sources"] = sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"]

# An empty long poll waits its full time.
t = time.time(); r = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)
out["empty_wait"] = [("Messages" in r), round(time.time() - t, 1)]

# A long poll returns as soon as a message arrives.
def later():
    time.sleep(1.0)
    boto3.client("sqs", endpoint_url=os.environ["ENDPOINT"]).send_message(QueueUrl=url, MessageBody="arrived")
threading.Thread(target=later).start()
t = time.time(); r = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=15, VisibilityTimeout=1, AttributeNames=["ApproximateReceiveCount"])
out["woken"] = [r["Messages"][0]["Body"], r["Messages"][0]["Attributes"]["ApproximateReceiveCount"], time.time() - t]

# Its visibility timeout of 1 s runs out; a waiting receive gets it again.
t = time.time(); r = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10, VisibilityTimeout=1, AttributeNames=["ApproximateReceiveCount"])
out["reappeared"] = [r["Messages"][0]["Body"], r["Messages"][0]["Attributes"]["ApproximateReceiveCount"], time.time() - t]

# Received twice (maxReceiveCount 2): the next receive moves it to the dead-letter queue.
time.sleep(1.2)
out["third"] = "Messages" in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
r = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=2, AttributeNames=["All"])
out["dead"] = [r["Messages"][0]["Body"], r["Messages"][0]["Attributes"]["ApproximateReceiveCount"]]

# Delayed messages: counted as delayed, then delivered.
sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=1)
out["delayed"] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])["Attributes"]
t = time.time(); r = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)
out["delayed_got"] = [r["Messages"][0]["Body"], time.time() - t]
"#,
    );
    assert_eq!(
        v["sources"],
        json!([format!("{}/123456789012/work", server.url)])
    );
    assert_eq!(v["empty_wait"][0], json!(false));
    let waited = v["empty_wait"][1].as_f64().expect("secs");
    assert!((1.8..4.0).contains(&waited), "waited {waited}s");
    assert_eq!(v["woken"][0], json!("arrived"));
    assert_eq!(v["woken"][1], json!("1"));
    let woke = v["woken"][2].as_f64().expect("secs");
    assert!(
        (0.8..4.0).contains(&woke),
        "woken after {woke}s, not at 15 s"
    );
    assert_eq!(v["reappeared"][0], json!("arrived"));
    assert_eq!(v["reappeared"][1], json!("2"));
    let back = v["reappeared"][2].as_f64().expect("secs");
    assert!(back < 4.0, "reappeared after {back}s");
    assert_eq!(
        v["third"],
        json!(false),
        "moved, not delivered a third time"
    );
    assert_eq!(v["dead"], json!(["arrived", "1"]));
    assert_eq!(
        v["delayed"],
        json!({"ApproximateNumberOfMessagesDelayed": "1"})
    );
    assert_eq!(v["delayed_got"][0], json!("delayed"));
    let d = v["delayed_got"][1].as_f64().expect("secs");
    assert!(
        d < 4.0,
        "a delayed message ends a long poll when it appears ({d}s)"
    );
}

#[test]
fn sqs_fifo_groups_keep_order_and_duplicates_are_dropped() {
    let server = Server::start();
    let v = run(
        &server,
        r#"
out["plain_fifo_name"] = err(sqs.create_queue, QueueName="x.fifo")[:2]
url = sqs.create_queue(QueueName="jobs.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
out["needs_group"] = err(sqs.send_message, QueueUrl=url, MessageBody="x", MessageDeduplicationId="d")[:2]
out["needs_dedup"] = err(sqs.send_message, QueueUrl=url, MessageBody="x", MessageGroupId="g")[:2]
out["no_delay"] = err(sqs.send_message, QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d", DelaySeconds=5)[:2]
seqs = []
for body, group in [("a1", "A"), ("b1", "B"), ("a2", "A"), ("b2", "B"), ("a3", "A")]:
    r = sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body)
    seqs.append(int(r["SequenceNumber"]))
out["seq_grow"] = seqs == sorted(seqs) and len(set(seqs)) == 5
first = sqs.send_message(QueueUrl=url, MessageBody="dup", MessageGroupId="C", MessageDeduplicationId="same")
dup = sqs.send_message(QueueUrl=url, MessageBody="dup again", MessageGroupId="C", MessageDeduplicationId="same")
out["dup"] = [dup["MessageId"] == first["MessageId"], dup["SequenceNumber"] == first["SequenceNumber"]]
r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, AttributeNames=["All"])["Messages"]
out["first"] = [m["Body"] for m in r]
out["first_attrs"] = [r[0]["Attributes"]["MessageGroupId"], r[0]["Attributes"]["MessageDeduplicationId"], "SequenceNumber" in r[0]["Attributes"]]
r2 = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
out["second"] = [m["Body"] for m in r2]
for m in r: sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
r3 = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
out["third"] = [m["Body"] for m in r3]

cbd = sqs.create_queue(QueueName="cbd.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
x = sqs.send_message(QueueUrl=cbd, MessageBody="same body", MessageGroupId="g")
y = sqs.send_message(QueueUrl=cbd, MessageBody="same body", MessageGroupId="g")
z = sqs.send_message(QueueUrl=cbd, MessageBody="other body", MessageGroupId="g")
out["cbd"] = [x["MessageId"] == y["MessageId"], x["MessageId"] == z["MessageId"]]
b = sqs.send_message_batch(QueueUrl=cbd, Entries=[{"Id": "1", "MessageBody": "batch", "MessageGroupId": "g"}, {"Id": "2", "MessageBody": "batch", "MessageGroupId": "g"}])["Successful"]
out["batch_dup"] = b[0]["MessageId"] == b[1]["MessageId"]
r = sqs.receive_message(QueueUrl=cbd, MaxNumberOfMessages=10, AttributeNames=["MessageDeduplicationId"])["Messages"]
out["cbd_bodies"] = [m["Body"] for m in r]
out["cbd_id"] = r[0]["Attributes"]["MessageDeduplicationId"] == hashlib.sha256(b"same body").hexdigest()

# A receive waiting on a group in flight wakes when that group's message is deleted.
w = sqs.create_queue(QueueName="wake.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
sqs.send_message(QueueUrl=w, MessageBody="w1", MessageGroupId="g")
sqs.send_message(QueueUrl=w, MessageBody="w2", MessageGroupId="g")
held = sqs.receive_message(QueueUrl=w)["Messages"][0]
def release():
    time.sleep(0.5)
    boto3.client("sqs", endpoint_url=os.environ["ENDPOINT"]).delete_message(QueueUrl=w, ReceiptHandle=held["ReceiptHandle"])
threading.Thread(target=release).start()
t = time.time()
r = sqs.receive_message(QueueUrl=w, WaitTimeSeconds=10)
out["group_freed"] = [held["Body"], r["Messages"][0]["Body"], time.time() - t]

# A FIFO receipt handle whose visibility timeout ran out deletes nothing.
sqs.send_message(QueueUrl=cbd, MessageBody="late", MessageGroupId="h")
m = sqs.receive_message(QueueUrl=cbd, VisibilityTimeout=1)["Messages"][0]
time.sleep(1.2)
out["expired_handle"] = err(sqs.delete_message, QueueUrl=cbd, ReceiptHandle=m["ReceiptHandle"])
out["still_there"] = sqs.receive_message(QueueUrl=cbd)["Messages"][0]["Body"]
"#,
    );
    assert_eq!(v["plain_fifo_name"], json!(["InvalidParameterValue", 400]));
    assert_eq!(v["needs_group"], json!(["MissingParameter", 400]));
    assert_eq!(v["needs_dedup"], json!(["InvalidParameterValue", 400]));
    assert_eq!(v["no_delay"], json!(["InvalidParameterValue", 400]));
    assert_eq!(v["seq_grow"], json!(true));
    assert_eq!(v["dup"], json!([true, true]));
    assert_eq!(
        v["first"],
        json!(["a1", "a2"]),
        "one group's messages together"
    );
    assert_eq!(v["first_attrs"], json!(["A", "a1", true]));
    assert_eq!(v["second"], json!(["b1", "b2", "dup"]), "A is in flight");
    assert_eq!(
        v["third"],
        json!(["a3"]),
        "A again once its messages are deleted; B and C in flight"
    );
    assert_eq!(v["cbd"], json!([true, false]));
    assert_eq!(v["batch_dup"], json!(true));
    assert_eq!(v["cbd_bodies"], json!(["same body", "other body", "batch"]));
    assert_eq!(v["cbd_id"], json!(true));
    assert_eq!(v["group_freed"][0], json!("w1"));
    assert_eq!(v["group_freed"][1], json!("w2"));
    let freed = v["group_freed"][2].as_f64().expect("secs");
    assert!(
        (0.4..0.95).contains(&freed),
        "woken by the delete, not by the 1 s recheck ({freed}s)"
    );
    assert_eq!(v["expired_handle"][0], json!("InvalidParameterValue"));
    assert!(
        v["expired_handle"][2]
            .as_str()
            .is_some_and(|m| m.ends_with("Reason: The receipt handle has expired.")),
        "{}",
        v["expired_handle"]
    );
    assert_eq!(v["still_there"], json!("late"));
}

#[test]
fn sqs_acknowledged_send_survives_kill_9() {
    let mut server = Server::start();
    let v = run(
        &server,
        r#"
url = sqs.create_queue(QueueName="durable")["QueueUrl"]
out["ids"] = [sqs.send_message(QueueUrl=url, MessageBody="m%d" % i)["MessageId"] for i in range(3)]
got = sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"][0]
out["inflight"] = got["Body"]
"#,
    );
    server.crash_and_restart();
    let after = run(
        &server,
        r#"
url = sqs.get_queue_url(QueueName="durable")["QueueUrl"]
time.sleep(1.1)
bodies = []
ids = []
for _ in range(5):
    for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
        bodies.append(m["Body"]); ids.append(m["MessageId"])
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    if len(bodies) >= 3: break
out["bodies"] = sorted(bodies)
out["ids"] = sorted(ids)
"#,
    );
    assert_eq!(v["inflight"], json!("m0"));
    assert_eq!(after["bodies"], json!(["m0", "m1", "m2"]));
    let mut ids: Vec<Value> = v["ids"].as_array().expect("ids").clone();
    ids.sort_by_key(|i| i.as_str().unwrap_or("").to_owned());
    assert_eq!(after["ids"], Value::Array(ids), "same messages, same ids");
}

/// Two nodes on one PostgreSQL database serve one queue: receives on both never hand out
/// the same message, and a long poll on one node sees a send through the other.
#[test]
fn sqs_two_nodes_on_postgres_share_a_queue() {
    let Some(store) = crate::server::fresh_postgres_store("sqs_two_nodes") else {
        return;
    };
    let a = Server::start_with(&["--store", &store, "--node-id", "sqs-a"]);
    let b = Server::start_with(&["--store", &store, "--node-id", "sqs-b"]);
    let script = format!(
        r#"
b = boto3.client("sqs", endpoint_url={b_url:?}, config=Config(retries={{"max_attempts": 0}}))
url = sqs.create_queue(QueueName="shared")["QueueUrl"]
for i in range(5):
    sqs.send_message_batch(QueueUrl=url, Entries=[{{"Id": str(j), "MessageBody": "m%d" % (i * 10 + j)}} for j in range(10)])
got = {{"a": [], "b": []}}
def drain(name, client):
    idle = 0
    while idle < 2:
        ms = client.receive_message(QueueUrl=url, MaxNumberOfMessages=3, WaitTimeSeconds=1).get("Messages", [])
        if not ms:
            idle += 1
            continue
        idle = 0
        for m in ms:
            got[name].append(m["Body"])
            client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
ts = [threading.Thread(target=drain, args=("a", sqs)), threading.Thread(target=drain, args=("b", b))]
for t in ts: t.start()
for t in ts: t.join()
out["all"] = sorted(got["a"] + got["b"])
def later():
    time.sleep(1.0)
    sqs.send_message(QueueUrl=url, MessageBody="cross-node")
threading.Thread(target=later).start()
t = time.time()
r = b.receive_message(QueueUrl=url, WaitTimeSeconds=10)
out["cross"] = [r["Messages"][0]["Body"], time.time() - t]
"#,
        b_url = b.url
    );
    let v = run(&a, &script);
    let mut expected: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
    expected.sort();
    assert_eq!(v["all"], json!(expected), "each message exactly once");
    assert_eq!(v["cross"][0], json!("cross-node"));
    let waited = v["cross"][1].as_f64().expect("secs");
    assert!(
        waited < 4.0,
        "the other node's send is seen within the recheck interval ({waited}s)"
    );
}
