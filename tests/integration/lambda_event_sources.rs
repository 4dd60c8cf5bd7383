//! Event source mappings SQS → Lambda end to end: mappings created, read, changed and
//! deleted with the real `aws` CLI and boto3; messages sent with `aws sqs` reach a Rust
//! function built with `lambda_runtime` (which reads them with `aws_lambda_events`'
//! `SqsEvent`) and a Python function through Baton's shim, in Lambda's SQS event shape.
//! Checked: deletion after success, `ReportBatchItemFailures`, a failing function's
//! messages coming back and ending in the queue's dead-letter queue, filters, batch
//! size with a batching window, FIFO group order, disabling, and AWS's errors.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::functions_support::{aws_json, baton_get, create_probe, eventually};
use crate::server::Server;

const ROLE: &str = "arn:aws:iam::123456789012:role/lambda";
const QUEUE_ARN_PREFIX: &str = "arn:aws:sqs:us-east-1:123456789012:";
const LIMIT: Duration = Duration::from_secs(60);

/// Creates a queue with `attributes` (JSON object text); returns its URL.
fn create_queue(server: &Server, name: &str, attributes: &str) -> String {
    let mut args = vec!["sqs", "create-queue", "--queue-name", name];
    if !attributes.is_empty() {
        args.extend(["--attributes", attributes]);
    }
    aws_json(server, &args)["QueueUrl"]
        .as_str()
        .expect("queue url")
        .to_owned()
}

/// `aws sqs send-message` with a body, as a producer would send it.
fn send_message(server: &Server, url: &str, body: &str) {
    aws_json(
        server,
        &[
            "sqs",
            "send-message",
            "--queue-url",
            url,
            "--message-body",
            body,
        ],
    );
}

fn queue_counts(server: &Server, url: &str) -> (u64, u64) {
    let a = aws_json(
        server,
        &[
            "sqs",
            "get-queue-attributes",
            "--queue-url",
            url,
            "--attribute-names",
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
        ],
    );
    let n = |k: &str| {
        a["Attributes"][k]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(u64::MAX)
    };
    (
        n("ApproximateNumberOfMessages"),
        n("ApproximateNumberOfMessagesNotVisible"),
    )
}

/// The SQS events the probe logged, oldest first.
fn probe_events(server: &Server) -> Vec<Value> {
    let logs = baton_get(server, "/baton/functions/probe/logs");
    let mut out = Vec::new();
    for l in logs["logs"].as_array().cloned().unwrap_or_default() {
        for line in l["text"].as_str().unwrap_or_default().lines() {
            if let Some(rest) = line.split_once("PROBE_SQS_EVENT ").map(|(_, r)| r)
                && let Ok(v) = serde_json::from_str::<Value>(rest)
            {
                out.push(v);
            }
        }
    }
    out
}

fn bodies(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .flat_map(|e| e["Records"].as_array().cloned().unwrap_or_default())
        .map(|r| r["body"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn count_of(bodies: &[String], body: &str) -> usize {
    bodies.iter().filter(|b| *b == body).count()
}

fn md5_hex(text: &str) -> String {
    // MD5 from Python's hashlib keeps this test free of another Rust dependency.
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import hashlib,sys; print(hashlib.md5(sys.argv[1].encode()).hexdigest())",
            text,
        ])
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn sqs_messages_reach_a_rust_function_in_lambdas_event_shape_through_a_mapping_managed_with_the_cli()
 {
    let server = Server::start();
    let dir = tempfile::tempdir().expect("tempdir");
    create_probe(&server, dir.path(), "probe", &[]);
    let dlq = create_queue(&server, "orders-dlq", "");
    let redrive = json!({
        "VisibilityTimeout": "4",
        "RedrivePolicy": json!({
            "deadLetterTargetArn": format!("{QUEUE_ARN_PREFIX}orders-dlq"),
            "maxReceiveCount": "2"
        }).to_string()
    })
    .to_string();
    let url = create_queue(&server, "orders", &redrive);
    let queue_arn = format!("{QUEUE_ARN_PREFIX}orders");

    let created = aws_json(
        &server,
        &[
            "lambda",
            "create-event-source-mapping",
            "--function-name",
            "probe",
            "--event-source-arn",
            &queue_arn,
            "--batch-size",
            "5",
        ],
    );
    let uuid = created["UUID"].as_str().expect("UUID").to_owned();
    assert_eq!(created["State"], "Creating", "{created}");
    assert_eq!(created["BatchSize"], 5);
    assert_eq!(created["MaximumBatchingWindowInSeconds"], 0);
    assert_eq!(created["EventSourceArn"], queue_arn.as_str());
    assert_eq!(
        created["FunctionArn"],
        "arn:aws:lambda:us-east-1:123456789012:function:probe"
    );
    assert_eq!(created["FunctionResponseTypes"], json!([]));
    assert_eq!(
        created["EventSourceMappingArn"],
        format!("arn:aws:lambda:us-east-1:123456789012:event-source-mapping:{uuid}").as_str()
    );
    // Epoch seconds on the wire (the CLI prints them as they come).
    assert!(
        created["LastModified"].as_f64().is_some_and(|t| t > 1.6e9),
        "{created}"
    );

    let got = aws_json(
        &server,
        &["lambda", "get-event-source-mapping", "--uuid", &uuid],
    );
    assert_eq!(got["State"], "Enabled", "{got}");
    assert_eq!(got["StateTransitionReason"], "USER_INITIATED");
    for filter in [
        vec!["--function-name", "probe"],
        vec![
            "--function-name",
            "arn:aws:lambda:us-east-1:123456789012:function:probe",
        ],
        vec!["--event-source-arn", queue_arn.as_str()],
    ] {
        let mut args = vec!["lambda", "list-event-source-mappings"];
        args.extend(filter.iter().copied());
        let listed = aws_json(&server, &args);
        let uuids: Vec<&str> = listed["EventSourceMappings"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|m| m["UUID"].as_str())
            .collect();
        assert_eq!(uuids, [uuid.as_str()], "{filter:?}");
    }
    let none = aws_json(
        &server,
        &[
            "lambda",
            "list-event-source-mappings",
            "--event-source-arn",
            &format!("{QUEUE_ARN_PREFIX}other"),
        ],
    );
    assert_eq!(none["EventSourceMappings"], json!([]));

    // One message with attributes, then a batch of three.
    aws_json(
        &server,
        &[
            "sqs",
            "send-message",
            "--queue-url",
            &url,
            "--message-body",
            "{\"order\": 1}",
            "--message-attributes",
            r#"{"color":{"DataType":"String","StringValue":"red"},"blob":{"DataType":"Binary","BinaryValue":"AQID"}}"#,
        ],
    );
    aws_json(
        &server,
        &[
            "sqs",
            "send-message-batch",
            "--queue-url",
            &url,
            "--entries",
            r#"[{"Id":"a","MessageBody":"second"},{"Id":"b","MessageBody":"third"},{"Id":"c","MessageBody":"fourth"}]"#,
        ],
    );
    let events = eventually(LIMIT, "four messages at the probe", || {
        let e = probe_events(&server);
        (bodies(&e).len() >= 4).then_some(e)
    });
    let seen = bodies(&events);
    for b in ["{\"order\": 1}", "second", "third", "fourth"] {
        assert_eq!(count_of(&seen, b), 1, "{seen:?}");
    }
    let record = events
        .iter()
        .flat_map(|e| e["Records"].as_array().cloned().unwrap_or_default())
        .find(|r| r["body"] == "{\"order\": 1}")
        .expect("the first message's record");
    // (The probe prints with serde_json's sorted maps, so key order is not checked
    // here; the unit tests check it.)
    let mut keys: Vec<&String> = record.as_object().expect("record").keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "attributes",
            "awsRegion",
            "body",
            "eventSource",
            "eventSourceARN",
            "md5OfBody",
            "md5OfMessageAttributes",
            "messageAttributes",
            "messageId",
            "receiptHandle"
        ]
    );
    assert_eq!(record["eventSource"], "aws:sqs");
    assert_eq!(record["eventSourceARN"], queue_arn.as_str());
    assert_eq!(record["awsRegion"], "us-east-1");
    assert_eq!(record["md5OfBody"], md5_hex("{\"order\": 1}").as_str());
    assert!(
        record["receiptHandle"]
            .as_str()
            .is_some_and(|h| !h.is_empty())
    );
    let attributes = record["attributes"].as_object().expect("attributes");
    let mut names: Vec<&String> = attributes.keys().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "ApproximateFirstReceiveTimestamp",
            "ApproximateReceiveCount",
            "SenderId",
            "SentTimestamp"
        ]
    );
    assert_eq!(attributes["ApproximateReceiveCount"], "1");
    // (aws CLI v1 sends a JSON `BinaryValue` as the bytes of its text: "AQID".)
    assert_eq!(
        record["messageAttributes"],
        json!({
            "blob": {"binaryValue": "QVFJRA==", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
            "color": {"stringValue": "red", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
        })
    );
    // Every message was deleted after the function succeeded.
    eventually(LIMIT, "the queue to empty", || {
        (queue_counts(&server, &url) == (0, 0)).then_some(())
    });

    // ReportBatchItemFailures: only the reported message comes back; after
    // maxReceiveCount receives it moves to the dead-letter queue.
    let updated = aws_json(
        &server,
        &[
            "lambda",
            "update-event-source-mapping",
            "--uuid",
            &uuid,
            "--function-response-types",
            "ReportBatchItemFailures",
        ],
    );
    assert_eq!(updated["State"], "Updating", "{updated}");
    assert_eq!(
        updated["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    // The poller picks the change up before the next batch.
    std::thread::sleep(Duration::from_millis(2500));
    aws_json(
        &server,
        &[
            "sqs",
            "send-message-batch",
            "--queue-url",
            &url,
            "--entries",
            r#"[{"Id":"a","MessageBody":"ok-1"},{"Id":"b","MessageBody":"probe-item-fail-2"},{"Id":"c","MessageBody":"ok-3"}]"#,
        ],
    );
    let dead = eventually(LIMIT, "the failed item in the dead-letter queue", || {
        let r = aws_json(
            &server,
            &[
                "sqs",
                "receive-message",
                "--queue-url",
                &dlq,
                "--attribute-names",
                "All",
            ],
        );
        r["Messages"].as_array().and_then(|m| m.first().cloned())
    });
    assert_eq!(dead["Body"], "probe-item-fail-2");
    let seen = bodies(&probe_events(&server));
    assert_eq!(count_of(&seen, "ok-1"), 1, "{seen:?}");
    assert_eq!(count_of(&seen, "ok-3"), 1, "{seen:?}");
    assert_eq!(count_of(&seen, "probe-item-fail-2"), 2, "{seen:?}");
    assert_eq!(queue_counts(&server, &url), (0, 0));

    // A disabled mapping stops polling; enabling it again resumes.
    let disabled = aws_json(
        &server,
        &[
            "lambda",
            "update-event-source-mapping",
            "--uuid",
            &uuid,
            "--no-enabled",
        ],
    );
    assert_eq!(disabled["State"], "Disabling", "{disabled}");
    assert_eq!(
        aws_json(
            &server,
            &["lambda", "get-event-source-mapping", "--uuid", &uuid]
        )["State"],
        "Disabled"
    );
    std::thread::sleep(Duration::from_secs(3));
    send_message(&server, &url, "while-disabled");
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        count_of(&bodies(&probe_events(&server)), "while-disabled"),
        0
    );
    assert_eq!(queue_counts(&server, &url), (1, 0));
    let enabled = aws_json(
        &server,
        &[
            "lambda",
            "update-event-source-mapping",
            "--uuid",
            &uuid,
            "--enabled",
        ],
    );
    assert_eq!(enabled["State"], "Enabling", "{enabled}");
    eventually(LIMIT, "the message sent while disabled", || {
        (count_of(&bodies(&probe_events(&server)), "while-disabled") == 1).then_some(())
    });

    // Delete: reported as Deleting, then gone; its poller stops.
    let deleted = aws_json(
        &server,
        &["lambda", "delete-event-source-mapping", "--uuid", &uuid],
    );
    assert_eq!(deleted["State"], "Deleting", "{deleted}");
    assert_eq!(deleted["UUID"], uuid.as_str());
    let out = server.aws(&["lambda", "get-event-source-mapping", "--uuid", &uuid]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ResourceNotFoundException"),
        "{out:?}"
    );
    let listed = aws_json(&server, &["lambda", "list-event-source-mappings"]);
    assert_eq!(listed["EventSourceMappings"], json!([]));
    std::thread::sleep(Duration::from_secs(3));
    send_message(&server, &url, "after-delete");
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(count_of(&bodies(&probe_events(&server)), "after-delete"), 0);
    assert_eq!(queue_counts(&server, &url), (1, 0));
}

/// Records each event in `$RECORD_FILE`; raises when a record's body asks to fail.
const PY_APP: &str = r#"
import json, os

def handler(event, context):
    with open(os.environ["RECORD_FILE"], "a") as f:
        f.write(json.dumps({"event": event, "requestId": context.aws_request_id}) + "\n")
    for r in event.get("Records", []):
        if "py-fail" in r["body"]:
            raise ValueError("asked to fail: " + r["messageId"])
    return {"handled": len(event.get("Records", []))}
"#;

fn create_python(server: &Server, code: &Path, record: &Path) {
    std::fs::create_dir_all(code).expect("mkdir");
    std::fs::write(code.join("app.py"), PY_APP).expect("write");
    aws_json(
        server,
        &[
            "lambda",
            "create-function",
            "--function-name",
            "pyfn",
            "--runtime",
            "python3.12",
            "--role",
            ROLE,
            "--handler",
            "app.handler",
            "--code",
            &format!("S3Bucket=baton-local,S3Key={}", code.display()),
            "--environment",
            &format!("Variables={{RECORD_FILE={}}}", record.display()),
        ],
    );
}

fn py_events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| v["event"].clone())
        .collect()
}

#[test]
fn a_python_function_gets_filtered_windowed_batches_and_its_failures_reach_the_dead_letter_queue() {
    let server = Server::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let record = dir.path().join("events.jsonl");
    create_python(&server, &dir.path().join("code"), &record);
    create_queue(&server, "work-dlq", "");
    let attrs = json!({
        "VisibilityTimeout": "5",
        "RedrivePolicy": json!({
            "deadLetterTargetArn": format!("{QUEUE_ARN_PREFIX}work-dlq"),
            "maxReceiveCount": "2"
        }).to_string()
    })
    .to_string();
    let url = create_queue(&server, "work", &attrs);

    // boto3 this time: a batch of 20 gathered for up to 2 s, one filter on the JSON body.
    let script = format!(
        r#"
import json, os, boto3
lam = boto3.client("lambda", endpoint_url=os.environ["ENDPOINT"])
m = lam.create_event_source_mapping(
    FunctionName="pyfn",
    EventSourceArn="{QUEUE_ARN_PREFIX}work",
    BatchSize=20,
    MaximumBatchingWindowInSeconds=2,
    FilterCriteria={{"Filters": [{{"Pattern": json.dumps({{"body": {{"kind": ["keep"]}}}})}}]}},
)
m.pop("ResponseMetadata")
m["LastModified"] = str(m["LastModified"])
print(json.dumps(m))
"#
    );
    let out = server.python(&script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(created["BatchSize"], 20);
    assert_eq!(created["MaximumBatchingWindowInSeconds"], 2);
    assert_eq!(
        created["FilterCriteria"],
        json!({"Filters": [{"Pattern": "{\"body\": {\"kind\": [\"keep\"]}}"}]})
    );

    // Four matching messages and two that no filter matches (one JSON, one plain text),
    // sent in one call: one invocation with the four; the other two are deleted.
    let entries: Vec<Value> = (0..4)
        .map(|i| json!({"Id": format!("k{i}"), "MessageBody": json!({"kind": "keep", "n": i}).to_string()}))
        .chain([
            json!({"Id": "s", "MessageBody": "{\"kind\": \"skip\"}"}),
            json!({"Id": "t", "MessageBody": "keep, but plain text"}),
        ])
        .collect();
    aws_json(
        &server,
        &[
            "sqs",
            "send-message-batch",
            "--queue-url",
            &url,
            "--entries",
            &Value::Array(entries).to_string(),
        ],
    );
    eventually(LIMIT, "the batch at the Python function", || {
        (!py_events(&record).is_empty()).then_some(())
    });
    eventually(LIMIT, "the queue to empty", || {
        (queue_counts(&server, &url) == (0, 0)).then_some(())
    });
    let events = py_events(&record);
    assert_eq!(
        events.len(),
        1,
        "one invocation for the whole batch: {events:?}"
    );
    let got: Vec<Value> = events[0]["Records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(r["body"].as_str().unwrap_or("null"))
                .unwrap_or(Value::Null)
        })
        .collect();
    let mut ns: Vec<i64> = got.iter().filter_map(|b| b["n"].as_i64()).collect();
    ns.sort_unstable();
    assert_eq!(ns, [0, 1, 2, 3], "{got:?}");
    assert!(got.iter().all(|b| b["kind"] == "keep"), "{got:?}");
    for r in events[0]["Records"].as_array().expect("records") {
        assert_eq!(r["eventSource"], "aws:sqs");
        assert_eq!(
            r["eventSourceARN"],
            format!("{QUEUE_ARN_PREFIX}work").as_str()
        );
    }

    // A failing invocation leaves its message; it comes back after the visibility
    // timeout and, after maxReceiveCount receives, lands in the dead-letter queue.
    aws_json(
        &server,
        &[
            "sqs",
            "send-message",
            "--queue-url",
            &url,
            "--message-body",
            "{\"kind\": \"keep\", \"note\": \"py-fail\"}",
        ],
    );
    let dlq_url = format!("{}/123456789012/work-dlq", server.url);
    let dead = eventually(
        Duration::from_secs(90),
        "the failing message in the DLQ",
        || {
            let r = aws_json(
                &server,
                &["sqs", "receive-message", "--queue-url", &dlq_url],
            );
            r["Messages"].as_array().and_then(|m| m.first().cloned())
        },
    );
    assert_eq!(dead["Body"], "{\"kind\": \"keep\", \"note\": \"py-fail\"}");
    let attempts = py_events(&record)
        .iter()
        .flat_map(|e| e["Records"].as_array().cloned().unwrap_or_default())
        .filter(|r| r["body"].as_str().is_some_and(|b| b.contains("py-fail")))
        .map(|r| {
            r["attributes"]["ApproximateReceiveCount"]
                .as_str()
                .unwrap_or("?")
                .to_owned()
        })
        .collect::<Vec<_>>();
    assert_eq!(attempts, ["1", "2"]);
    assert_eq!(queue_counts(&server, &url), (0, 0));
}

#[test]
fn fifo_groups_arrive_in_order_and_a_failure_holds_its_group() {
    let server = Server::start();
    let dir = tempfile::tempdir().expect("tempdir");
    create_probe(&server, dir.path(), "probe", &[]);
    let url = create_queue(
        &server,
        "seq.fifo",
        r#"{"FifoQueue":"true","ContentBasedDeduplication":"true","VisibilityTimeout":"4"}"#,
    );
    aws_json(
        &server,
        &[
            "lambda",
            "create-event-source-mapping",
            "--function-name",
            "probe",
            "--event-source-arn",
            &format!("{QUEUE_ARN_PREFIX}seq.fifo"),
            "--batch-size",
            "3",
            "--function-response-types",
            "ReportBatchItemFailures",
        ],
    );
    // Group a: a1, then a2 fails once as an item (it carries the marker only in its
    // first send; the retry finds it again), a3 after it. Group b: b1, b2.
    let entries = json!([
        {"Id": "1", "MessageBody": "a1", "MessageGroupId": "a"},
        {"Id": "2", "MessageBody": "b1", "MessageGroupId": "b"},
        {"Id": "3", "MessageBody": "a2 probe-item-fail", "MessageGroupId": "a"},
        {"Id": "4", "MessageBody": "a3", "MessageGroupId": "a"},
        {"Id": "5", "MessageBody": "b2", "MessageGroupId": "b"}
    ]);
    aws_json(
        &server,
        &[
            "sqs",
            "send-message-batch",
            "--queue-url",
            &url,
            "--entries",
            &entries.to_string(),
        ],
    );
    // a2 fails every time: a3 must never be delivered before a2 has been; b is
    // unaffected.
    let events = eventually(LIMIT, "a2 delivered twice", || {
        let e = probe_events(&server);
        (count_of(&bodies(&e), "a2 probe-item-fail") >= 2).then_some(e)
    });
    let mut per_group: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut groups_per_event = Vec::new();
    for e in &events {
        let mut groups: HashMap<String, ()> = HashMap::new();
        for r in e["Records"].as_array().cloned().unwrap_or_default() {
            let g = r["attributes"]["MessageGroupId"]
                .as_str()
                .unwrap_or("?")
                .to_owned();
            assert!(r["attributes"]["SequenceNumber"].is_string(), "{r}");
            assert!(r["attributes"]["MessageDeduplicationId"].is_string(), "{r}");
            groups.insert(g.clone(), ());
            per_group
                .entry(g)
                .or_default()
                .push(r["body"].as_str().unwrap_or_default().to_owned());
        }
        groups_per_event.push(groups.len());
    }
    // One group per invocation, each group's messages in send order.
    assert!(groups_per_event.iter().all(|n| *n == 1), "{events:?}");
    assert_eq!(per_group["b"], ["b1", "b2"], "{per_group:?}");
    let a = &per_group["a"];
    assert_eq!(a[0], "a1", "{a:?}");
    let first_a3 = a.iter().position(|b| b == "a3");
    let first_a2 = a.iter().position(|b| b == "a2 probe-item-fail");
    assert!(first_a2.is_some(), "{a:?}");
    if let (Some(a2), Some(a3)) = (first_a2, first_a3) {
        assert!(a2 < a3, "a3 overtook a2: {a:?}");
    }
    // a1 and the b messages were deleted; a2 (and a3 behind it) are still queued.
    let (visible, hidden) = queue_counts(&server, &url);
    assert_eq!(visible + hidden, 2, "{visible} {hidden}");
}

#[test]
fn bad_mapping_requests_get_lambdas_errors() {
    let server = Server::start();
    let dir = tempfile::tempdir().expect("tempdir");
    create_probe(&server, dir.path(), "probe", &[]);
    create_queue(&server, "q", "");
    create_queue(&server, "short", r#"{"VisibilityTimeout":"1"}"#);
    create_queue(&server, "f.fifo", r#"{"FifoQueue":"true"}"#);
    let script = format!(
        r#"
import json, os, boto3, botocore
from botocore.config import Config
lam = boto3.client("lambda", endpoint_url=os.environ["ENDPOINT"],
                   config=Config(retries={{"max_attempts": 0}}, parameter_validation=False))
def err(fn, **kw):
    try:
        fn(**kw)
        return None
    except botocore.exceptions.ClientError as e:
        r = e.response
        return [r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]]
Q = "{QUEUE_ARN_PREFIX}"
c = lam.create_event_source_mapping
out = {{}}
out["no_function"] = err(c, FunctionName="nope", EventSourceArn=Q + "q")
out["no_queue"] = err(c, FunctionName="probe", EventSourceArn=Q + "missing")
out["no_source"] = err(c, FunctionName="probe")
out["rule_source"] = err(c, FunctionName="probe", EventSourceArn="arn:aws:events:us-east-1:123456789012:rule/r")
out["big_batch"] = err(c, FunctionName="probe", EventSourceArn=Q + "q", BatchSize=11)
out["huge_batch"] = err(c, FunctionName="probe", EventSourceArn=Q + "q", BatchSize=10001, MaximumBatchingWindowInSeconds=5)
out["long_window"] = err(c, FunctionName="probe", EventSourceArn=Q + "q", MaximumBatchingWindowInSeconds=301)
out["bad_filter"] = err(c, FunctionName="probe", EventSourceArn=Q + "q", FilterCriteria={{"Filters": [{{"Pattern": "{{\"body\": \"x\"}}"}}]}})
out["bad_type"] = err(c, FunctionName="probe", EventSourceArn=Q + "q", FunctionResponseTypes=["Nope"])
out["short_visibility"] = err(c, FunctionName="probe", EventSourceArn=Q + "short")
out["fifo_window"] = err(c, FunctionName="probe", EventSourceArn=Q + "f.fifo", MaximumBatchingWindowInSeconds=1)
ok = c(FunctionName="probe", EventSourceArn=Q + "q")
out["duplicate"] = err(c, FunctionName="probe", EventSourceArn=Q + "q")
out["dup_uuid"] = ok["UUID"]
out["get_missing"] = err(lam.get_event_source_mapping, UUID="00000000-0000-0000-0000-000000000000")
out["delete_missing"] = err(lam.delete_event_source_mapping, UUID="00000000-0000-0000-0000-000000000000")
out["update_missing"] = err(lam.update_event_source_mapping, UUID="00000000-0000-0000-0000-000000000000", BatchSize=2)
out["update_big_batch"] = err(lam.update_event_source_mapping, UUID=ok["UUID"], BatchSize=50)
out["update_no_function"] = err(lam.update_event_source_mapping, UUID=ok["UUID"], FunctionName="nope")
ok2 = lam.update_event_source_mapping(UUID=ok["UUID"], BatchSize=50, MaximumBatchingWindowInSeconds=3)
out["updated"] = [ok2["BatchSize"], ok2["MaximumBatchingWindowInSeconds"], ok2["State"]]
# Pagination: three mappings, pages of two.
for name in ["q2", "q3"]:
    boto3.client("sqs", endpoint_url=os.environ["ENDPOINT"]).create_queue(QueueName=name)
    c(FunctionName="probe", EventSourceArn=Q + name)
p1 = lam.list_event_source_mappings(MaxItems=2)
p2 = lam.list_event_source_mappings(MaxItems=2, Marker=p1["NextMarker"])
out["pages"] = [len(p1["EventSourceMappings"]), len(p2["EventSourceMappings"]), "NextMarker" in p2,
                len({{m["UUID"] for m in p1["EventSourceMappings"] + p2["EventSourceMappings"]}})]
print(json.dumps(out))
"#
    );
    let out = server.python(&script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let ipv = "InvalidParameterValueException";
    assert_eq!(
        v["no_function"],
        json!([ipv, 400, "Function does not exist"])
    );
    assert_eq!(
        v["no_queue"],
        json!([
            ipv,
            400,
            "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist or you do not have access to it."
        ])
    );
    assert_eq!(v["no_source"][0], ipv);
    assert_eq!(
        v["rule_source"],
        json!([
            ipv,
            400,
            "Unrecognized event source. Unsupported source arn : arn:aws:events:us-east-1:123456789012:rule/r"
        ])
    );
    assert_eq!(
        v["big_batch"],
        json!([
            ipv,
            400,
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"
        ])
    );
    assert_eq!(
        v["huge_batch"],
        json!([
            "ValidationException",
            400,
            "1 validation error detected: Value '10001' at 'batchSize' failed to satisfy constraint: Member must have value less than or equal to 10000"
        ])
    );
    assert_eq!(v["long_window"][0], "ValidationException");
    assert_eq!(
        v["bad_filter"],
        json!([ipv, 400, "Invalid filter pattern definition."])
    );
    assert_eq!(v["bad_type"][0], "ValidationException");
    assert_eq!(
        v["short_visibility"],
        json!([
            ipv,
            400,
            "Queue visibility timeout: 1 seconds is less than Function timeout: 3 seconds"
        ])
    );
    assert_eq!(
        v["fifo_window"],
        json!([ipv, 400, "Batching window is not supported for FIFO queues"])
    );
    let uuid = v["dup_uuid"].as_str().expect("uuid");
    assert_eq!(v["duplicate"][0], "ResourceConflictException");
    assert_eq!(v["duplicate"][1], 409);
    assert!(
        v["duplicate"][2].as_str().is_some_and(|m| m.contains(uuid)),
        "{}",
        v["duplicate"]
    );
    let missing = json!([
        "ResourceNotFoundException",
        404,
        "The resource you requested does not exist."
    ]);
    assert_eq!(v["get_missing"], missing);
    assert_eq!(v["delete_missing"], missing);
    assert_eq!(v["update_missing"], missing);
    assert_eq!(v["update_big_batch"][0], ipv);
    assert_eq!(
        v["update_no_function"],
        json!([ipv, 400, "Function does not exist"])
    );
    assert_eq!(v["updated"], json!([50, 3, "Updating"]));
    assert_eq!(v["pages"], json!([2, 1, false, 3]));
}

#[test]
fn two_nodes_on_postgres_both_poll_and_each_message_is_handled_once() {
    let Some(store) = crate::server::fresh_postgres_store("esm_two_nodes") else {
        return;
    };
    let a = Server::start_with(&["--store", &store, "--node-id", "esm-a"]);
    let b = Server::start_with(&["--store", &store, "--node-id", "esm-b"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let record = dir.path().join("events.jsonl");
    create_python(&a, &dir.path().join("code"), &record);
    let url = create_queue(&a, "shared", "");
    aws_json(
        &a,
        &[
            "lambda",
            "create-event-source-mapping",
            "--function-name",
            "pyfn",
            "--event-source-arn",
            &format!("{QUEUE_ARN_PREFIX}shared"),
            "--batch-size",
            "2",
        ],
    );
    // Node B learns of the mapping from the database.
    eventually(LIMIT, "node B to list the mapping", || {
        let listed = aws_json(&b, &["lambda", "list-event-source-mappings"]);
        (listed["EventSourceMappings"].as_array().map(Vec::len) == Some(1)).then_some(())
    });
    const N: usize = 40;
    for chunk in 0..N / 10 {
        let entries: Vec<Value> = (0..10)
            .map(|i| json!({"Id": format!("m{i}"), "MessageBody": format!("msg-{}", chunk * 10 + i)}))
            .collect();
        let via = if chunk % 2 == 0 { &a } else { &b };
        let url = url.replace(&a.url, &via.url);
        aws_json(
            via,
            &[
                "sqs",
                "send-message-batch",
                "--queue-url",
                &url,
                "--entries",
                &Value::Array(entries).to_string(),
            ],
        );
    }
    eventually(Duration::from_secs(90), "every message handled", || {
        (bodies(&py_events(&record)).len() >= N).then_some(())
    });
    eventually(LIMIT, "the queue to empty", || {
        (queue_counts(&a, &url) == (0, 0)).then_some(())
    });
    let seen = bodies(&py_events(&record));
    for i in 0..N {
        assert_eq!(count_of(&seen, &format!("msg-{i}")), 1, "msg-{i}: {seen:?}");
    }
    assert_eq!(seen.len(), N);
}

#[test]
fn throttled_invocations_leave_the_messages_until_the_function_can_run() {
    let server = Server::start();
    let dir = tempfile::tempdir().expect("tempdir");
    create_probe(&server, dir.path(), "probe", &[]);
    // Reserved concurrency 0: every invocation is throttled.
    aws_json(
        &server,
        &[
            "lambda",
            "put-function-concurrency",
            "--function-name",
            "probe",
            "--reserved-concurrent-executions",
            "0",
        ],
    );
    let url = create_queue(&server, "throttled", r#"{"VisibilityTimeout":"3"}"#);
    aws_json(
        &server,
        &[
            "lambda",
            "create-event-source-mapping",
            "--function-name",
            "probe",
            "--event-source-arn",
            &format!("{QUEUE_ARN_PREFIX}throttled"),
        ],
    );
    send_message(&server, &url, "patient");
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(count_of(&bodies(&probe_events(&server)), "patient"), 0);
    let (visible, hidden) = queue_counts(&server, &url);
    assert_eq!(visible + hidden, 1, "the message waits in the queue");
    aws_json(
        &server,
        &[
            "lambda",
            "delete-function-concurrency",
            "--function-name",
            "probe",
        ],
    );
    eventually(LIMIT, "the message once the function may run", || {
        (count_of(&bodies(&probe_events(&server)), "patient") == 1).then_some(())
    });
    eventually(LIMIT, "the queue to empty", || {
        (queue_counts(&server, &url) == (0, 0)).then_some(())
    });
}
