//! Runs the TestState corpus (`../shared/conformance/asl/test_state/{pure,mocked,
//! with_services}`) through `baton_exec::test_state` and compares the whole recorded
//! response: status, output, error, cause, nextState and inspectionData, or for a
//! refused request the error code and message.
//!
//! `with_services` cases call real services unless AWS refused the request first; the
//! harness answers no task, so those are known gaps.

// Printing the case being run is how a crash inside one case is found.
#![allow(clippy::print_stdout)]

use baton_exec::Failure;
use baton_exec::test_state::{
    FieldValidationMode, InspectionLevel, Mock, MockErrorOutput, StateConfiguration, TestEnv,
    TestStateRequest,
};
use baton_stepfunctions::entropy::DriverEntropy;
use serde_json::Value;

use crate::support::{Report, json_files, known_gaps, matches, shared_dir};

const GAPS: &str = "asl_test_state_known_gaps.txt";

/// JSON text for a request field the recorder decoded (AWS takes these as strings).
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn opt_text(request: &Value, key: &str) -> Option<String> {
    request.get(key).map(text)
}

fn request_from(r: &Value) -> Result<TestStateRequest, String> {
    let inspection_level = match r.get("inspectionLevel").and_then(Value::as_str) {
        None => InspectionLevel::Info,
        Some(l) => InspectionLevel::parse(l).ok_or(format!("inspectionLevel {l}"))?,
    };
    let mock = match r.get("mock") {
        None => None,
        Some(m) => Some(Mock {
            result: m.get("result").map(text),
            error_output: m.get("errorOutput").map(|e| MockErrorOutput {
                error: e.get("error").and_then(Value::as_str).map(str::to_owned),
                cause: e.get("cause").and_then(Value::as_str).map(str::to_owned),
            }),
            field_validation_mode: match m.get("fieldValidationMode").and_then(Value::as_str) {
                None => FieldValidationMode::Strict,
                Some(f) => FieldValidationMode::parse(f).ok_or(format!("mode {f}"))?,
            },
        }),
    };
    let state_configuration = r.get("stateConfiguration").map(|c| StateConfiguration {
        retrier_retry_count: c.get("retrierRetryCount").and_then(Value::as_u64),
        error_caused_by_state: c
            .get("errorCausedByState")
            .and_then(Value::as_str)
            .map(str::to_owned),
        map_iteration_failure_count: c.get("mapIterationFailureCount").and_then(Value::as_u64),
        map_item_reader_data: c.get("mapItemReaderData").map(text),
    });
    Ok(TestStateRequest {
        definition: r.get("definition").map(text).ok_or("no definition")?,
        role_arn: r.get("roleArn").and_then(Value::as_str).map(str::to_owned),
        input: opt_text(r, "input"),
        inspection_level,
        reveal_secrets: r
            .get("revealSecrets")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        variables: opt_text(r, "variables"),
        state_name: r
            .get("stateName")
            .and_then(Value::as_str)
            .map(str::to_owned),
        mock,
        context: opt_text(r, "context"),
        state_configuration,
    })
}

fn run_case(case: &Value) -> Result<(), String> {
    let request = request_from(&case["request"])?;
    let env = TestEnv {
        region: "us-east-1".into(),
        account: "111111111111".into(),
        state_machine_name: "TestStateMachine".into(),
        execution_name: "test-state-run".into(),
    };
    let mut entropy = DriverEntropy::new(1_700_000_000_000, 0x5eed);
    // No service is reachable from here: a task the request does not mock fails.
    let mut no_service = |_: &baton_exec::TaskRequest| {
        Err(Failure::new(
            "Baton.NoService",
            "this test answers no service call",
        ))
    };
    let outcome = request
        .validate()
        .map(|plan| plan.run(&env, &mut entropy, &mut no_service));
    match (outcome, case.get("expected_error_response")) {
        (Err(e), Some(want)) => {
            let code = want["Error"]["Code"].as_str().unwrap_or_default();
            let message = want["Error"]["Message"].as_str().unwrap_or_default();
            if e.code.as_str() == code && e.message == message {
                Ok(())
            } else {
                Err(format!(
                    "expected {code}: {message}\n      got      {}: {}",
                    e.code.as_str(),
                    e.message
                ))
            }
        }
        (Err(e), None) => Err(format!("refused: {e}")),
        (Ok(response), Some(want)) => Err(format!(
            "expected {}: {}; got {}",
            want["Error"]["Code"],
            want["Error"]["Message"],
            response.to_aws_json()
        )),
        (Ok(response), None) => {
            let got = response.to_aws_json();
            matches(&case["expected_response"], &got, "$")
                .map_err(|e| format!("{e}\n      got {got}"))
        }
    }
}

#[test]
fn asl_test_state() {
    let root = shared_dir().join("conformance/asl/test_state");
    assert!(
        root.exists(),
        "TestState corpus not found at {}",
        root.display()
    );
    let gaps = known_gaps(GAPS);
    let mut report = Report::default();
    for folder in ["pure", "mocked", "with_services"] {
        for path in json_files(&root.join(folder)) {
            let id = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let key = format!("{folder}/{id}");
            if std::env::var_os("BATON_TRACE_CASES").is_some() {
                println!("running {key}");
            }
            let outcome = std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str::<Value>(&t).map_err(|e| e.to_string()))
                .and_then(|case| {
                    std::panic::catch_unwind(|| run_case(&case))
                        .unwrap_or_else(|_| Err("panicked".to_owned()))
                });
            report.record(&format!("test_state/{folder}"), &key, outcome, &gaps);
        }
    }
    report.finish("ASL TestState");
}
