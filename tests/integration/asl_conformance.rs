//! Runs the ASL execution corpus (`../shared/conformance/asl/{pure,with_lambda}`)
//! through the interpreter and compares status, output, error, cause and history with
//! what AWS recorded.

// Printing the case being run is how a crash inside one case is found.
#![allow(clippy::print_stdout)]

use baton_asl::{ParseOptions, parse_definition_value};
use baton_exec::{ExecutionIdentity, Failure, Outcome, TaskRequest};
use baton_platform::bridge::FunctionResult;
use baton_stepfunctions::lambda::{InvokeMeta, function_event, function_reference, task_answer};
use baton_stepfunctions::local::{RunOptions, RunResult, TaskAnswer, run_execution};
use serde_json::{Value, json};

use crate::asl_compare::{Observed, compare_case};
use crate::support::{Report, json_files, known_gaps, shared_dir};

const ACCOUNT: &str = "111111111111";
const REGION: &str = "us-east-1";

fn identity(express: bool, started_sync: bool) -> ExecutionIdentity {
    let kind = if express { "express" } else { "execution" };
    ExecutionIdentity {
        execution_arn: format!("arn:aws:states:{REGION}:{ACCOUNT}:{kind}:ConformanceMachine:run-1"),
        execution_name: "run-1".into(),
        state_machine_arn: format!(
            "arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:ConformanceMachine"
        ),
        state_machine_name: "ConformanceMachine".into(),
        role_arn: format!("arn:aws:iam::{ACCOUNT}:role/baton-conformance"),
        region: REGION.into(),
        account: ACCOUNT.into(),
        redrive_count: 0,
        started_sync,
    }
}

/// A function that does what a case's `lambda_behavior` describes.
fn behave(behavior: &str, event: &Value) -> Result<FunctionResult, String> {
    let b = behavior.to_ascii_lowercase();
    let raise = |error_type: &str, message: &str| FunctionResult::Raised {
        error_type: error_type.to_owned(),
        payload: python_json(&json!({
            "errorMessage": message,
            "errorType": error_type,
            "requestId": "00000000-0000-4000-8000-000000000001",
            "stackTrace": []
        }))
        .into_bytes(),
    };
    let ret = |v: &Value| FunctionResult::Returned(python_json(v).into_bytes());
    if b.starts_with("identity") {
        Ok(ret(event))
    } else if b.starts_with("always fails: raises a generic") {
        Ok(raise("Exception", "Some exception was raised."))
    } else if b.starts_with("always fails: raises an exception of a user-defined class") {
        Ok(raise("CustomException", ""))
    } else if b.contains("257 kib") {
        Ok(ret(&Value::String("a".repeat(257 * 1024))))
    } else if b.contains("raw byte string") {
        Ok(FunctionResult::Returned(b"\"HelloWorld!\"".to_vec()))
    } else if b.contains("ignores its input") {
        Ok(ret(&json!({"Return": "HelloWorld"})))
    } else if b.contains("input-event-") {
        Ok(ret(&Value::String(format!(
            "input-event-{}",
            python_str(event)
        ))))
    } else {
        Err(format!("no in-test function for behaviour {behavior:?}"))
    }
}

/// JSON as Python's `json.dumps` writes it (`", "` and `": "` separators, non-ASCII
/// escaped): the bytes a Python function's result or error payload has.
fn python_json(v: &Value) -> String {
    match v {
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(python_json).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!(
                    "{}: {}",
                    python_json(&Value::String(k.clone())),
                    python_json(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::String(s) => {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                        let mut buf = [0u16; 2];
                        for unit in c.encode_utf16(&mut buf) {
                            out.push_str(&format!("\\u{unit:04x}"));
                        }
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        other => other.to_string(),
    }
}

/// Python's `str()` of a decoded JSON value (`{'a': 1, 'b': True, 'c': None}`).
fn python_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(python_str).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!(
                    "{}: {}",
                    python_str(&Value::String(k.clone())),
                    python_str(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Answers Lambda tasks with the case's functions.
fn lambda_handler(case: &Value) -> impl FnMut(&TaskRequest) -> TaskAnswer + '_ {
    let functions = case
        .get("lambda_functions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    move |request: &TaskRequest| {
        let Some(reference) = function_reference(request) else {
            return TaskAnswer::Fail(Failure::new("Baton.Unsupported", "not a Lambda task"));
        };
        let found = functions.iter().find(|f| {
            let arn = f
                .get("function_arn_as_in_definition")
                .and_then(Value::as_str);
            let name = f.get("function_name_placeholder").and_then(Value::as_str);
            arn == Some(reference.as_str())
                || name.is_some_and(|n| reference == n || reference.ends_with(&format!(":{n}")))
        });
        let Some(f) = found else {
            return task_answer(
                request,
                FunctionResult::NotFound {
                    function_arn: reference,
                },
                &InvokeMeta::new("request-1", 1_700_000_000_000),
            );
        };
        let behavior = f
            .get("lambda_behavior")
            .and_then(Value::as_str)
            .unwrap_or("");
        let event = function_event(request);
        if behavior
            .to_ascii_lowercase()
            .starts_with("sleeps 60 seconds")
        {
            let answer = task_answer(
                request,
                FunctionResult::Returned(python_json(&event).into_bytes()),
                &InvokeMeta::new("request-1", 1_700_000_000_000),
            );
            return TaskAnswer::After(60_000, Box::new(answer));
        }
        match behave(behavior, &event) {
            Ok(result) => task_answer(
                request,
                result,
                &InvokeMeta::new("request-1", 1_700_000_000_000),
            ),
            Err(e) => TaskAnswer::Fail(Failure::new("Baton.TestHarness", e)),
        }
    }
}

fn run_case(case: &Value) -> Result<(), String> {
    let express = case.get("state_machine_type").and_then(Value::as_str) == Some("EXPRESS");
    let definition = case.get("definition").ok_or("case has no definition")?;
    let machine = parse_definition_value(definition, ParseOptions { express })
        .map_err(|d| format!("definition rejected: {d}"))?;
    let input = case.get("input").cloned().unwrap_or(json!({}));
    let stops = case
        .get("api_calls_made_by_test")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|c| c == "stop_execution"));
    let options = RunOptions {
        stop_at_millis: stops.then_some(RunOptions::default().start_millis + 1),
        ..RunOptions::default()
    };
    let mut handler = lambda_handler(case);
    let sync = case.get("start_api").and_then(Value::as_str) == Some("StartSyncExecution");
    let result = run_execution(
        &machine,
        identity(express, sync),
        input,
        &mut handler,
        &options,
    );
    compare(case, &result)
}

fn compare(case: &Value, result: &RunResult) -> Result<(), String> {
    let (output, error, cause) = match &result.execution.outcome {
        Some(Outcome::Succeeded { output }) => (Some((**output).clone()), None, None),
        Some(Outcome::Failed(f)) => (None, f.error.clone(), f.cause.clone()),
        None => (None, None, None),
    };
    let observed = Observed {
        status: result.execution.status.as_str().to_owned(),
        output,
        error,
        cause,
        history: Some(result.history.iter().map(|e| e.to_aws_json()).collect()),
    };
    compare_case(case, &observed)
}

fn run_folder(folder: &str, gaps_file: &str) {
    let root = shared_dir().join("conformance/asl");
    let gaps = known_gaps(gaps_file);
    let mut report = Report::default();
    for path in json_files(&root.join(folder)) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let case: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                report.record(
                    folder,
                    &path.display().to_string(),
                    Err(e.to_string()),
                    &gaps,
                );
                continue;
            }
        };
        let id = case
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        let group = id.split('/').next().unwrap_or("?");
        let label = format!("{folder}/{group}");
        if std::env::var_os("BATON_TRACE_CASES").is_some() {
            println!("running {id}");
        }
        let outcome = std::panic::catch_unwind(|| run_case(&case))
            .unwrap_or_else(|_| Err("panicked".to_owned()));
        report.record(&label, &format!("{folder}/{id}"), outcome, &gaps);
    }
    report.finish(&format!("ASL conformance: {folder}"));
}

#[test]
fn asl_pure() {
    run_folder("pure", "asl_known_gaps.txt");
}

#[test]
fn asl_with_lambda() {
    run_folder("with_lambda", "asl_known_gaps.txt");
}
