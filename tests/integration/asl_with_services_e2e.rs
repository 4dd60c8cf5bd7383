//! The `with_services` corpus end to end, for the services Baton runs: SQS
//! (`sqs:sendMessage`, `.waitForTaskToken`), EventBridge (`events:putEvents`) and
//! activities. A real `baton serve`, real queues, buses and activities, and a boto3
//! worker that answers each task the way the recorded test did (success with the
//! message, failure with or without an error, heartbeats first, or no answer at all).
//! Outcome and history are compared with AWS's recording by the same code as the other
//! conformance runs (`asl_compare`).
//!
//! Queues: `<sqs_queue_url>` placeholders become a fresh queue's URL; recordings whose
//! input names the queue by a literal label (`sqs_queue_url`) get a queue of that name,
//! which SQS resolves from the bare name as from a URL. Activities: the recorder's
//! `activity_arn` label becomes a fresh activity's ARN.

#![allow(clippy::print_stdout)]

use serde_json::{Value, json};

use crate::asl_compare::{Observed, compare_case, run_driver};
use crate::server::Server;
use crate::support::{Report, json_files, known_gaps, shared_dir};

const ACCOUNT: &str = "111111111111";
const REGION: &str = "us-east-1";
const GAPS: &str = "asl_with_services_e2e_known_gaps.txt";

/// What the recorded test's worker did with each message or activity task (keyed by
/// the test's name).
fn worker_for(id: &str) -> &'static str {
    if id.starts_with("activities/") {
        if id.contains("task_failure") {
            "activity_fail"
        } else if id.contains("no_worker_name") {
            "activity_succeed_anonymous"
        } else if id.contains("start_timeout") {
            "activity_take_and_drop"
        } else if id.contains("with_heartbeat") {
            "activity_heartbeat_then_succeed"
        } else {
            "activity_succeed"
        }
    } else if id.contains("test_sqs_wait_for_task_token__") || id.contains("call_chain") {
        "succeed_with_message"
    } else if id.contains("no_error_field") {
        "fail_bare"
    } else if id.contains("task_failure") || id.contains("test_sqs_failure_in_wait_for_task_tok__")
    {
        "fail_with_error"
    } else if id.contains("heartbeat_notifications") {
        "heartbeat_then_succeed_with_body"
    } else {
        "none"
    }
}

const DRIVER: &str = r#"
import json, os, threading, time
import boto3
from botocore.config import Config

ENDPOINT = os.environ["ENDPOINT"]
cfg = Config(retries={"max_attempts": 1}, read_timeout=60)
sfn = boto3.client("stepfunctions", endpoint_url=ENDPOINT, config=cfg)
sqs = boto3.client("sqs", endpoint_url=ENDPOINT, config=cfg)
spec = json.load(open(SPEC))

def worker(url, kind, stop):
    while not stop.is_set():
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        for m in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            body = json.loads(m["Body"])
            token = body["TaskToken"]
            if kind == "succeed_with_message":
                sfn.send_task_success(taskToken=token, output=json.dumps(body["Message"]))
            elif kind == "fail_with_error":
                sfn.send_task_failure(taskToken=token, error="Failure error", cause="Failure cause")
            elif kind == "fail_bare":
                sfn.send_task_failure(taskToken=token)
            elif kind == "heartbeat_then_succeed_with_body":
                for _ in range(2):
                    sfn.send_task_heartbeat(taskToken=token)
                    time.sleep(0.2)
                sfn.send_task_success(taskToken=token, output=m["Body"])

def activity_worker(act, kind, stop):
    while not stop.is_set():
        kw = {"activityArn": act}
        if kind != "activity_succeed_anonymous":
            kw["workerName"] = "BASE_ID_ACTIVITY_CONSUMER"
        task = sfn.get_activity_task(**kw)
        token = task.get("taskToken")
        if not token:
            continue
        if kind == "activity_fail":
            sfn.send_task_failure(taskToken=token, error="Programmatic Error", cause=task["input"])
        elif kind == "activity_take_and_drop":
            pass
        else:
            if kind == "activity_heartbeat_then_succeed":
                for _ in range(2):
                    sfn.send_task_heartbeat(taskToken=token)
                    time.sleep(0.2)
            sfn.send_task_success(taskToken=token, output=task["input"])

def run(job):
    i = job["index"]
    try:
        fresh = sqs.create_queue(QueueName="wsq-%d" % i)["QueueUrl"]
        literal = job["literal_queue"]
        url = sqs.create_queue(QueueName=literal)["QueueUrl"] if literal else fresh
        act = sfn.create_activity(name="act-%d" % i)["activityArn"]
        definition = job["definition"].replace("<<QUEUE_URL>>", fresh).replace('"activity_arn"', json.dumps(act))
        machine = sfn.create_state_machine(
            name="ws-%d" % i, definition=definition,
            roleArn="arn:aws:iam::111111111111:role/baton-conformance")["stateMachineArn"]
        if "on_deleted" in job["id"]:
            sfn.delete_activity(activityArn=act)
        stop = threading.Event()
        if job["worker"].startswith("activity_"):
            t = threading.Thread(target=activity_worker, args=(act, job["worker"], stop))
        else:
            t = threading.Thread(target=worker, args=(url, job["worker"], stop))
        t.start()
        try:
            arn = sfn.start_execution(stateMachineArn=machine, name="run-1",
                                      input=job["input"].replace("<<QUEUE_URL>>", fresh))["executionArn"]
            end = time.time() + 60
            while True:
                d = sfn.describe_execution(executionArn=arn)
                if d["status"] != "RUNNING" or time.time() > end:
                    break
                time.sleep(0.05)
        finally:
            stop.set()
            t.join()
        events, token = [], None
        while True:
            kw = {"executionArn": arn, "maxResults": 1000}
            if token:
                kw["nextToken"] = token
            page = sfn.get_execution_history(**kw)
            for e in page["events"]:
                e["timestamp"] = e["timestamp"].isoformat()
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                break
        if literal:
            # Empty the shared queue for the next case (PurgeQueue allows one per minute).
            while True:
                left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
                if not left:
                    break
                for m in left:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return {"index": i, "status": d["status"], "output": d.get("output"),
                "error": d.get("error"), "cause": d.get("cause"), "history": events}
    except Exception as e:
        return {"index": i, "failure": repr(e)}

# Cases that name their queue by a literal label share it, so they run one at a time
# (in one thread); the others run side by side.
from concurrent.futures import ThreadPoolExecutor
shared = [j for j in spec["jobs"] if j["literal_queue"]]
alone = [j for j in spec["jobs"] if not j["literal_queue"]]
with ThreadPoolExecutor(8) as pool:
    serial = pool.submit(lambda: [run(j) for j in shared])
    results = list(pool.map(run, alone)) + serial.result()
json.dump(sorted(results, key=lambda r: r["index"]), open(OUT, "w"))
"#;

fn substitute(text: &str) -> String {
    text.replace("<sqs_queue_url>", "<<QUEUE_URL>>")
        .replace("arn:<partition>:", "arn:aws:")
        .replace("<region>", REGION)
        .replace("<test_aws_account_id>", ACCOUNT)
}

#[test]
fn asl_with_services_through_real_queues_buses_and_activities() {
    let root = shared_dir().join("conformance/asl/with_services");
    let gaps = known_gaps(GAPS);
    let mut report = Report::default();
    let mut cases = Vec::new();
    let mut jobs = Vec::new();
    for path in json_files(&root) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let Ok(case) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let definition = case.get("definition").cloned().unwrap_or(Value::Null);
        let definition_text = definition.to_string();
        let id = case
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        let runs_here = definition_text.contains(":states:::sqs:sendMessage")
            || definition_text.contains(":states:::events:putEvents")
            || id.starts_with("activities/");
        if !runs_here {
            continue;
        }
        let input = case.get("input").cloned().unwrap_or(json!({}));
        let literal_queue = input
            .get("QueueUrl")
            .and_then(Value::as_str)
            .filter(|q| !q.contains('<'))
            .map(str::to_owned);
        jobs.push(json!({
            "index": jobs.len(),
            "id": id,
            "definition": substitute(&definition_text),
            "input": substitute(&input.to_string()),
            "literal_queue": literal_queue,
            "worker": worker_for(&id),
        }));
        cases.push((id, case));
    }
    assert!(!cases.is_empty(), "the corpus has cases Baton runs");

    let server = Server::start_with(&[
        "--account",
        ACCOUNT,
        "--region",
        REGION,
        "--activity-poll-seconds",
        "1",
    ]);
    let results = run_driver(&server, &json!({"jobs": jobs}), DRIVER);
    assert_eq!(results.len(), cases.len(), "one result per case");
    for ((id, case), result) in cases.iter().zip(&results) {
        let outcome = Observed::from_driver(result).and_then(|o| compare_case(case, &o));
        let group = id.split('/').next().unwrap_or("?");
        report.record(
            &format!("with_services/{group}"),
            &format!("with_services/{id}"),
            outcome,
            &gaps,
        );
    }
    report.finish("ASL with_services (SQS, EventBridge, activities) through baton serve");
}
