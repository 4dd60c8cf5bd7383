//! The runtime against a real SQLite file: executions, timers, activities, callbacks,
//! nested executions, events and recovery after the runtime is dropped mid-flight.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::store::{MachineType, RunStatus, SfnStore};
use async_trait::async_trait;
use baton_exec::history::EventDetails;
use baton_platform::store::sqlite::Database;
use serde_json::{Value, json};

use crate::{CreateStateMachine, SfnConfig, StepFunctions};
use baton_platform::bridge::{BridgeError, EventRejected, EventSink, OutgoingEvent};
use baton_platform::clock::SystemClock;

/// Keeps every event put on the "bus".
#[derive(Default)]
struct RecordingSink {
    events: Mutex<Vec<OutgoingEvent>>,
}

#[async_trait]
impl EventSink for RecordingSink {
    async fn put_events(
        &self,
        events: Vec<OutgoingEvent>,
    ) -> Result<Vec<Result<String, EventRejected>>, BridgeError> {
        let mut all = self.events.lock().unwrap();
        let ids = events
            .iter()
            .enumerate()
            .map(|(i, _)| Ok(format!("event-{}", all.len() + i)))
            .collect();
        all.extend(events);
        Ok(ids)
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    db: Database,
    sfn: StepFunctions,
    sink: Arc<RecordingSink>,
}

fn config() -> SfnConfig {
    SfnConfig {
        scan_interval_millis: 100,
        activity_poll_millis: 2_000,
        ..SfnConfig::default()
    }
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(
        &dir.path().join("baton.db"),
        &[crate::store::MIGRATIONS.sqlite],
    )
    .unwrap();
    let sink = Arc::new(RecordingSink::default());
    let sfn = runtime_on(&db, sink.clone()).await;
    Fixture {
        _dir: dir,
        db,
        sfn,
        sink,
    }
}

async fn runtime_on(db: &Database, sink: Arc<RecordingSink>) -> StepFunctions {
    let store: Arc<dyn SfnStore> = Arc::new(db.clone());
    let sfn = StepFunctions::new(store, Some(sink), Arc::new(SystemClock), config());
    sfn.start().await.unwrap();
    sfn
}

async fn machine(sfn: &StepFunctions, name: &str, definition: Value, kind: MachineType) -> String {
    sfn.create_state_machine(CreateStateMachine {
        name: name.to_owned(),
        definition: definition.to_string(),
        role_arn: "arn:aws:iam::123456789012:role/r".to_owned(),
        machine_type: kind,
        logging_configuration: None,
        tracing_configuration: None,
        tags: Vec::new(),
    })
    .await
    .unwrap()
    .arn
}

async fn wait_done(sfn: &StepFunctions, arn: &str) -> crate::ExecutionRecord {
    for _ in 0..200 {
        let d = sfn.describe_execution(arn).await.unwrap();
        if d.record.status != RunStatus::Running {
            return d.record;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{arn} did not finish");
}

async fn history_types(sfn: &StepFunctions, arn: &str) -> Vec<String> {
    let page = sfn
        .execution_history(arn, Some(1000), false, None)
        .await
        .unwrap();
    page.events.iter().map(|e| e.details.type_name()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pure_machine_finishes_inside_start_execution() {
    let f = fixture().await;
    let arn = machine(
        &f.sfn,
        "pure",
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.a", "Next": "B"},
            "B": {"Type": "Succeed"}}}),
        MachineType::Standard,
    )
    .await;
    let (exec, _) = f
        .sfn
        .start_execution(&arn, Some("one"), Some("{\"in\":true}"))
        .await
        .unwrap();
    let d = f.sfn.describe_execution(&exec).await.unwrap().record;
    assert_eq!(
        d.status,
        RunStatus::Succeeded,
        "done when StartExecution returns"
    );
    assert_eq!(
        serde_json::from_str::<Value>(d.output.as_deref().unwrap()).unwrap(),
        json!({"in": true, "a": {"x": 1}})
    );
    assert_eq!(
        history_types(&f.sfn, &exec).await,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    // A finished execution's name stays taken, whatever the input.
    let again = f
        .sfn
        .start_execution(&arn, Some("one"), Some("{\"in\":true}"))
        .await
        .unwrap_err();
    assert_eq!(again.code, "ExecutionAlreadyExists");
    let err = f
        .sfn
        .start_execution(&arn, Some("one"), Some("{}"))
        .await
        .unwrap_err();
    assert_eq!(err.code, "ExecutionAlreadyExists");
    // Status events: RUNNING then SUCCEEDED.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let statuses: Vec<Value> = f
        .sink
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.resources == [exec.clone()])
        .map(|e| e.detail["status"].clone())
        .collect();
    assert_eq!(statuses, [json!("RUNNING"), json!("SUCCEEDED")]);
    assert_eq!(f.sfn.cached().0, 0, "finished executions leave the cache");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_fire_from_durable_timers_and_stop_aborts() {
    let f = fixture().await;
    let arn = machine(
        &f.sfn,
        "waiting",
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 1, "End": true}}}),
        MachineType::Standard,
    )
    .await;
    let (exec, _) = f.sfn.start_execution(&arn, None, None).await.unwrap();
    assert_eq!(
        f.sfn.describe_execution(&exec).await.unwrap().record.status,
        RunStatus::Running
    );
    let done = wait_done(&f.sfn, &exec).await;
    assert_eq!(done.status, RunStatus::Succeeded);
    assert!(done.stop_millis.unwrap() - done.start_millis >= 1_000);

    let long = machine(
        &f.sfn,
        "long",
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 3600, "End": true}}}),
        MachineType::Standard,
    )
    .await;
    let (exec, _) = f.sfn.start_execution(&long, None, None).await.unwrap();
    f.sfn
        .stop_execution(&exec, Some("Stop".into()), Some("by test".into()))
        .await
        .unwrap();
    let d = f.sfn.describe_execution(&exec).await.unwrap().record;
    assert_eq!(d.status, RunStatus::Aborted);
    assert_eq!(d.error.as_deref(), Some("Stop"));
    assert_eq!(d.cause.as_deref(), Some("by test"));
    assert_eq!(
        history_types(&f.sfn, &exec).await.last().unwrap(),
        "ExecutionAborted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activities_and_callbacks_answer_through_tokens() {
    let f = fixture().await;
    let activity = f.sfn.create_activity("work", Vec::new()).await.unwrap().arn;
    let arn = machine(
        &f.sfn,
        "acts",
        json!({"StartAt": "Act", "States": {
            "Act": {"Type": "Task", "Resource": activity, "Next": "Cb"},
            "Cb": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
                   "Parameters": {"TopicArn": "t", "Message": {"Token.$": "$$.Task.Token"}},
                   "End": true}}}),
        MachineType::Standard,
    )
    .await;
    let (exec, _) = f
        .sfn
        .start_execution(&arn, None, Some("{\"n\":1}"))
        .await
        .unwrap();
    let task = f
        .sfn
        .get_activity_task(&activity, Some("worker-1".into()))
        .await
        .unwrap()
        .expect("a task");
    assert_eq!(task.input, "{\"n\":1}");
    f.sfn.send_task_heartbeat(&task.task_token).await.unwrap();
    f.sfn
        .send_task_success(&task.task_token, "{\"n\":2}")
        .await
        .unwrap();
    let again = f
        .sfn
        .send_task_success(&task.task_token, "{}")
        .await
        .unwrap_err();
    assert_eq!(again.code, "TaskTimedOut", "a token answers once");
    assert_eq!(
        f.sfn
            .send_task_success("garbage", "{}")
            .await
            .unwrap_err()
            .code,
        "InvalidToken"
    );
    // The callback's token is in the scheduled parameters.
    let mut token = None;
    for _ in 0..100 {
        let page = f
            .sfn
            .execution_history(&exec, None, false, None)
            .await
            .unwrap();
        token = page.events.iter().find_map(|e| match &e.details {
            EventDetails::TaskScheduled { parameters, .. } => {
                parameters["Message"]["Token"].as_str().map(str::to_owned)
            }
            _ => None,
        });
        if token.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f.sfn
        .send_task_success(&token.unwrap(), "\"called back\"")
        .await
        .unwrap();
    let done = wait_done(&f.sfn, &exec).await;
    assert_eq!(done.status, RunStatus::Succeeded);
    assert_eq!(done.output.as_deref(), Some("\"called back\""));
    let types = history_types(&f.sfn, &exec).await;
    assert_eq!(
        types[..7],
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
            "TaskStateExited",
            "TaskStateEntered"
        ]
    );
    assert!(types.contains(&"TaskStarted".to_owned()));
    let page = f
        .sfn
        .execution_history(&exec, None, false, None)
        .await
        .unwrap();
    let worker = page.events.iter().find_map(|e| match &e.details {
        EventDetails::ActivityStarted { worker_name } => worker_name.clone(),
        _ => None,
    });
    assert_eq!(worker.as_deref(), Some("worker-1"));
    // No task left: a poll comes back empty.
    assert!(
        f.sfn
            .get_activity_task(&activity, None)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_sync_executions_report_their_child() {
    let f = fixture().await;
    let child = machine(
        &f.sfn,
        "child",
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
            "P": {"Type": "Pass", "Result": {"Arg1": "argument1"}, "End": true}}}),
        MachineType::Standard,
    )
    .await;
    let failing = machine(
        &f.sfn,
        "failing",
        json!({"StartAt": "F", "States": {
            "F": {"Type": "Fail", "Error": "SomeFailure", "Cause": "it fails"}}}),
        MachineType::Standard,
    )
    .await;
    let parent = machine(
        &f.sfn,
        "parent",
        json!({"StartAt": "S1", "States": {
            "S1": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync",
                   "Parameters": {"StateMachineArn": child, "Input": {"a": 1}},
                   "ResultPath": "$.one", "Next": "S2"},
            "S2": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                   "Parameters": {"StateMachineArn": child},
                   "ResultPath": "$.two", "Next": "S3"},
            "S3": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync",
                   "Parameters": {"StateMachineArn": failing},
                   "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.err", "Next": "Done"}],
                   "End": true},
            "Done": {"Type": "Succeed"}}}),
        MachineType::Standard,
    )
    .await;
    let (exec, _) = f.sfn.start_execution(&parent, None, None).await.unwrap();
    let done = wait_done(&f.sfn, &exec).await;
    assert_eq!(done.status, RunStatus::Succeeded, "{done:?}");
    let out: Value = serde_json::from_str(done.output.as_deref().unwrap()).unwrap();
    assert_eq!(out["one"]["Status"], "SUCCEEDED");
    assert_eq!(
        out["one"]["Output"], "{\"Arg1\":\"argument1\"}",
        ".sync: text"
    );
    assert_eq!(out["one"]["Input"], "{\"a\":1}");
    assert_eq!(
        out["two"]["Output"],
        json!({"Arg1": "argument1"}),
        ".sync:2: JSON"
    );
    assert_eq!(out["err"]["Error"], "States.TaskFailed");
    let cause: Value = serde_json::from_str(out["err"]["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["Status"], "FAILED");
    assert_eq!(cause["Error"], "SomeFailure");
    let types = history_types(&f.sfn, &exec).await;
    assert_eq!(
        types[2..6],
        [
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_parent_stops_its_sync_child() {
    let f = fixture().await;
    let child = machine(
        &f.sfn,
        "sleeper",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}),
        MachineType::Standard,
    )
    .await;
    let parent = machine(
        &f.sfn,
        "waiter",
        json!({"StartAt": "S", "States": {
            "S": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync",
                  "Parameters": {"StateMachineArn": child, "Name": "kid"}, "End": true}}}),
        MachineType::Standard,
    )
    .await;
    let (exec, _) = f.sfn.start_execution(&parent, None, None).await.unwrap();
    let kid = "arn:aws:states:us-east-1:123456789012:execution:sleeper:kid";
    for _ in 0..100 {
        if f.sfn.describe_execution(kid).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Wait until the parent recorded the child.
    for _ in 0..100 {
        if history_types(&f.sfn, &exec)
            .await
            .contains(&"TaskSubmitted".to_owned())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f.sfn.stop_execution(&exec, None, None).await.unwrap();
    let child = wait_done(&f.sfn, kid).await;
    assert_eq!(child.status, RunStatus::Aborted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn express_runs_in_memory() {
    let f = fixture().await;
    let arn = machine(
        &f.sfn,
        "fast",
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 0, "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": true, "Next": "Yes"}],
                  "Default": "No"},
            "Yes": {"Type": "Succeed"},
            "No": {"Type": "Fail", "Error": "Nope", "Cause": "not ok"}}}),
        MachineType::Express,
    )
    .await;
    let r = f
        .sfn
        .start_sync_execution(&arn, None, Some("{\"ok\":true}"))
        .await
        .unwrap();
    assert_eq!(r.status, "SUCCEEDED");
    assert_eq!(r.output.as_deref(), Some("{\"ok\":true}"));
    assert!(r.execution_arn.contains(":express:fast:"));
    let r = f
        .sfn
        .start_sync_execution(&arn, None, Some("{\"ok\":false}"))
        .await
        .unwrap();
    assert_eq!((r.status, r.error.as_deref()), ("FAILED", Some("Nope")));
    let e = f
        .sfn
        .describe_execution(&r.execution_arn)
        .await
        .unwrap_err();
    assert_eq!(e.code, "InvalidArn");
    let standard = machine(
        &f.sfn,
        "std",
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}),
        MachineType::Standard,
    )
    .await;
    let e = f
        .sfn
        .start_sync_execution(&standard, None, None)
        .await
        .unwrap_err();
    assert_eq!(e.code, "StateMachineTypeNotSupported");
    let (async_arn, _) = f.sfn.start_execution(&arn, None, None).await.unwrap();
    assert!(async_arn.contains(":express:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_events_goes_to_the_sink() {
    let f = fixture().await;
    let arn = machine(
        &f.sfn,
        "putter",
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
                  "Parameters": {"Entries": [{"Source": "my.app", "DetailType": "Thing", "Detail": {"k": 1}}]},
                  "End": true}}}),
        MachineType::Standard,
    )
    .await;
    let (exec, _) = f.sfn.start_execution(&arn, None, None).await.unwrap();
    let done = wait_done(&f.sfn, &exec).await;
    assert_eq!(done.status, RunStatus::Succeeded);
    let out: Value = serde_json::from_str(done.output.as_deref().unwrap()).unwrap();
    assert_eq!(out["FailedEntryCount"], 0);
    assert!(out["Entries"][0]["EventId"].is_string());
    let events = f.sink.events.lock().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.source == "my.app" && e.detail == json!({"k": 1}))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_runtime_on_the_same_file_finishes_what_the_old_one_left() {
    let f = fixture().await;
    let arn = machine(
        &f.sfn,
        "resume",
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
            "P": {"Type": "Pass", "End": true}}}),
        MachineType::Standard,
    )
    .await;
    let mut execs = Vec::new();
    for i in 0..20 {
        let (e, _) = f
            .sfn
            .start_execution(&arn, Some(&format!("r{i}")), None)
            .await
            .unwrap();
        execs.push(e);
    }
    // A second runtime on the same database (the first one's timers would fire too:
    // the stored work is what matters, and a timer applies once either way).
    let other = runtime_on(&f.db, Arc::new(RecordingSink::default())).await;
    for e in &execs {
        let d = wait_done(&other, e).await;
        assert_eq!(d.status, RunStatus::Succeeded);
        let types = history_types(&other, e).await;
        assert_eq!(
            types.iter().filter(|t| *t == "WaitStateExited").count(),
            1,
            "the timer applied exactly once"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_execution_redrives_from_its_failed_state() {
    let f = fixture().await;
    let activity = f
        .sfn
        .create_activity("flaky", Vec::new())
        .await
        .unwrap()
        .arn;
    let arn = machine(
        &f.sfn,
        "redrivable",
        json!({"StartAt": "Before", "States": {
            "Before": {"Type": "Pass", "Result": 1, "ResultPath": "$.before", "Next": "Work"},
            "Work": {"Type": "Task", "Resource": activity, "End": true}}}),
        MachineType::Standard,
    )
    .await;
    let (exec, _) = f.sfn.start_execution(&arn, None, None).await.unwrap();
    let e = f.sfn.redrive_execution(&exec).await.unwrap_err();
    assert_eq!(e.code, "ExecutionNotRedrivable", "a running execution");
    let task = f
        .sfn
        .get_activity_task(&activity, None)
        .await
        .unwrap()
        .unwrap();
    f.sfn
        .send_task_failure(
            &task.task_token,
            Some("Flaky".into()),
            Some("try again".into()),
        )
        .await
        .unwrap();
    let failed = wait_done(&f.sfn, &exec).await;
    assert_eq!(failed.status, RunStatus::Failed);
    let d = f.sfn.describe_execution(&exec).await.unwrap();
    assert_eq!(d.redrive_status.as_str(), "REDRIVABLE");

    f.sfn.redrive_execution(&exec).await.unwrap();
    let d = f.sfn.describe_execution(&exec).await.unwrap().record;
    assert_eq!((d.status, d.redrive_count), (RunStatus::Running, 1));
    assert!(d.redrive_millis.is_some());
    let task = f
        .sfn
        .get_activity_task(&activity, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&task.input).unwrap(),
        json!({"before": 1}),
        "the failed state runs again with its input"
    );
    f.sfn
        .send_task_success(&task.task_token, "{\"done\":true}")
        .await
        .unwrap();
    let done = wait_done(&f.sfn, &exec).await;
    assert_eq!(done.status, RunStatus::Succeeded);
    let types = history_types(&f.sfn, &exec).await;
    let at = types.iter().position(|t| t == "ExecutionRedriven").unwrap();
    assert_eq!(types[at - 1], "ExecutionFailed");
    assert_eq!(types[at + 1], "TaskStateEntered");
    assert_eq!(types.last().unwrap(), "ExecutionSucceeded");
    assert_eq!(
        types.iter().filter(|t| *t == "PassStateEntered").count(),
        1,
        "states that succeeded do not run again"
    );
    let e = f.sfn.redrive_execution(&exec).await.unwrap_err();
    assert_eq!(e.code, "ExecutionNotRedrivable", "a succeeded execution");
}

/// A missed heartbeat is recorded as `States.Timeout` (as AWS records it), and a catcher
/// naming `States.HeartbeatTimeout` still catches it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_heartbeat_is_a_timeout_that_heartbeat_catchers_catch() {
    let f = fixture().await;
    let activity = f.sfn.create_activity("beat", Vec::new()).await.unwrap().arn;
    let arn = machine(
        &f.sfn,
        "beats",
        json!({"StartAt": "Act", "States": {
            "Act": {"Type": "Task", "Resource": activity, "HeartbeatSeconds": 1,
                    "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Caught"}],
                    "End": true},
            "Caught": {"Type": "Pass", "End": true}}}),
        MachineType::Standard,
    )
    .await;
    let (exec, _) = f.sfn.start_execution(&arn, None, Some("{}")).await.unwrap();
    let task = f
        .sfn
        .get_activity_task(&activity, Some("slow".into()))
        .await
        .unwrap()
        .expect("a task");
    assert!(!task.task_token.is_empty());
    let done = wait_done(&f.sfn, &exec).await;
    assert_eq!(done.status, RunStatus::Succeeded);
    let output: serde_json::Value = serde_json::from_str(done.output.as_deref().unwrap()).unwrap();
    assert_eq!(output["Error"], "States.Timeout");
    assert!(
        history_types(&f.sfn, &exec)
            .await
            .contains(&"ActivityTimedOut".to_owned())
    );
}
