#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::*;
use crate::TaskRequest;

struct FixedEntropy(u64);

impl Entropy for FixedEntropy {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1);
        self.0
    }
    fn now_millis(&self) -> i64 {
        1_700_000_000_000
    }
}

fn env() -> TestEnv {
    TestEnv {
        region: "us-east-1".into(),
        account: "123456789012".into(),
        state_machine_name: "M".into(),
        execution_name: "E".into(),
    }
}

fn request(definition: Value, input: Value) -> TestStateRequest {
    TestStateRequest {
        definition: definition.to_string(),
        input: Some(input.to_string()),
        inspection_level: InspectionLevel::Debug,
        role_arn: Some("arn:aws:iam::123456789012:role/r".into()),
        ..TestStateRequest::default()
    }
}

fn mock_result(result: Value) -> Option<Mock> {
    Some(Mock {
        result: Some(result.to_string()),
        ..Mock::default()
    })
}

fn mock_error(error: &str, cause: &str) -> Option<Mock> {
    Some(Mock {
        error_output: Some(MockErrorOutput {
            error: Some(error.into()),
            cause: Some(cause.into()),
        }),
        ..Mock::default()
    })
}

fn run(r: &TestStateRequest) -> TestStateResponse {
    let mut no_tasks = |_: &TaskRequest| -> TaskResult { panic!("no task expected") };
    r.validate()
        .unwrap()
        .run(&env(), &mut FixedEntropy(7), &mut no_tasks)
}

fn refused(r: &TestStateRequest) -> (TestStateErrorCode, String) {
    let e = r.validate().unwrap_err();
    (e.code, e.message)
}

fn inspection(resp: &TestStateResponse) -> &InspectionData {
    resp.inspection_data.as_ref().unwrap()
}

const TASK: &str = "arn:aws:states:::lambda:invoke";

// ----- the inspection recorder ---------------------------------------------------------

#[test]
fn a_mocked_task_records_every_jsonpath_stage() {
    let mut r = request(
        json!({
            "Type": "Task", "Resource": TASK,
            "InputPath": "$.in",
            "Parameters": {"FunctionName": "f", "Payload.$": "$"},
            "ResultSelector": {"p.$": "$.Payload"},
            "ResultPath": "$.out",
            "OutputPath": "$.out",
            "Next": "After"
        }),
        json!({"in": {"x": 1}}),
    );
    r.mock = mock_result(json!({"Payload": "ok", "StatusCode": 200}));
    let resp = run(&r);
    assert_eq!(resp.status, TestStateStatus::Succeeded);
    assert_eq!(resp.output, Some(json!({"p": "ok"})));
    assert_eq!(resp.next_state.as_deref(), Some("After"));
    let i = inspection(&resp);
    assert_eq!(i.input, Some(json!({"in": {"x": 1}})));
    assert_eq!(i.after_input_path, Some(json!({"x": 1})));
    assert_eq!(
        i.after_parameters,
        Some(json!({"FunctionName": "f", "Payload": {"x": 1}}))
    );
    assert_eq!(i.result, Some(json!({"Payload": "ok", "StatusCode": 200})));
    assert_eq!(i.after_result_selector, Some(json!({"p": "ok"})));
    assert_eq!(
        i.after_result_path,
        Some(json!({"in": {"x": 1}, "out": {"p": "ok"}}))
    );
    assert_eq!(i.after_arguments, None);
}

#[test]
fn info_level_records_nothing() {
    let mut r = request(json!({"Type": "Pass", "End": true}), json!({"a": 1}));
    r.inspection_level = InspectionLevel::Info;
    let resp = run(&r);
    assert_eq!(resp.inspection_data, None);
    assert_eq!(
        resp.to_aws_json(),
        json!({"output": "{\"a\":1}", "status": "SUCCEEDED"})
    );
}

#[test]
fn jsonata_states_record_input_arguments_and_variables() {
    let mut r = request(
        json!({
            "Type": "Task", "QueryLanguage": "JSONata", "Resource": TASK,
            "Arguments": {"FunctionName": "f", "Payload": "{% $states.input.v + $k %}"},
            "Assign": {"got": "{% $states.result.n %}"},
            "Output": "{% $states.result %}",
            "End": true
        }),
        json!({"v": 1}),
    );
    r.variables = Some(json!({"k": 10}).to_string());
    r.mock = mock_result(json!({"n": 5}));
    let resp = run(&r);
    assert_eq!(resp.output, Some(json!({"n": 5})));
    let i = inspection(&resp);
    assert_eq!(
        i.after_arguments,
        Some(json!({"FunctionName": "f", "Payload": 11}))
    );
    assert_eq!(i.after_input_path, None);
    assert_eq!(i.after_result_path, None);
    assert_eq!(
        i.variables.as_ref().map(|v| Value::Object(v.clone())),
        Some(json!({"k": 10, "got": 5}))
    );
}

#[test]
fn a_pass_result_is_shown_as_the_result_and_skips_the_input_stages() {
    let r = request(
        json!({"Type": "Pass", "InputPath": "$.a", "Result": {"r": 1}, "ResultPath": "$.b", "End": true}),
        json!({"a": 2}),
    );
    let resp = run(&r);
    let i = inspection(&resp);
    assert_eq!(i.result, Some(json!({"r": 1})));
    assert_eq!(
        (i.after_input_path.as_ref(), i.after_parameters.as_ref()),
        (None, None)
    );
    assert_eq!(resp.output, Some(json!({"a": 2, "b": {"r": 1}})));
}

#[test]
fn the_aws_shape_holds_json_values_as_text() {
    let mut r = request(
        json!({"Type": "Task", "Resource": TASK, "End": true}),
        json!([1]),
    );
    r.mock = mock_result(json!([2, 3]));
    let out = run(&r).to_aws_json();
    assert_eq!(out["output"], json!("[2,3]"));
    assert_eq!(out["inspectionData"]["input"], json!("[1]"));
    assert_eq!(out["inspectionData"]["result"], json!("[2,3]"));
    assert_eq!(out["status"], json!("SUCCEEDED"));
}

// ----- control: next state, retry, catch, waits, tasks -------------------------------

#[test]
fn choice_reports_the_chosen_state_without_entering_it() {
    let r = request(
        json!({"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}], "Default": "Small"}),
        json!({"n": 2}),
    );
    let resp = run(&r);
    assert_eq!(resp.next_state.as_deref(), Some("Big"));
    assert_eq!(resp.output, Some(json!({"n": 2})));
}

#[test]
fn a_retrier_with_attempts_left_makes_the_state_retriable() {
    let mut r = request(
        json!({"Type": "Task", "Resource": TASK, "End": true,
               "Retry": [{"ErrorEquals": ["Other"]}, {"ErrorEquals": ["Boom"], "IntervalSeconds": 2, "MaxAttempts": 4, "BackoffRate": 3}]}),
        json!({}),
    );
    r.mock = mock_error("Boom", "why");
    r.state_configuration = Some(StateConfiguration {
        retrier_retry_count: Some(2),
        ..StateConfiguration::default()
    });
    let resp = run(&r);
    assert_eq!(resp.status, TestStateStatus::Retriable);
    assert_eq!(
        (resp.error.as_deref(), resp.cause.as_deref()),
        (Some("Boom"), Some("why"))
    );
    assert_eq!(resp.output, None);
    let d = inspection(&resp).error_details.unwrap();
    assert_eq!(d.retry_index, Some(1));
    // Third retry: 2 s × 3².
    assert_eq!(d.retry_backoff_interval_seconds, Some(18));
}

#[test]
fn an_exhausted_retrier_falls_through_to_the_catcher() {
    let mut r = request(
        json!({"Type": "Task", "Resource": TASK, "End": true,
               "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 1}],
               "Catch": [{"ErrorEquals": ["Other"], "Next": "A"}, {"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "B"}]}),
        json!({"x": 1}),
    );
    r.mock = mock_error("Boom", "why");
    r.state_configuration = Some(StateConfiguration {
        retrier_retry_count: Some(1),
        ..StateConfiguration::default()
    });
    let resp = run(&r);
    assert_eq!(resp.status, TestStateStatus::CaughtError);
    assert_eq!(resp.next_state.as_deref(), Some("B"));
    assert_eq!(
        resp.output,
        Some(json!({"x": 1, "err": {"Error": "Boom", "Cause": "why"}}))
    );
    let d = inspection(&resp).error_details.unwrap();
    assert_eq!(
        (
            d.retry_index,
            d.retry_backoff_interval_seconds,
            d.catch_index
        ),
        (Some(0), None, Some(1))
    );
}

#[test]
fn an_uncaught_error_fails_the_state() {
    let mut r = request(
        json!({"Type": "Task", "Resource": TASK, "Next": "X"}),
        json!({}),
    );
    r.mock = mock_error("Boom", "why");
    let resp = run(&r);
    assert_eq!(resp.status, TestStateStatus::Failed);
    assert_eq!((resp.next_state, resp.output), (None, None));
}

#[test]
fn a_wait_state_does_not_wait() {
    let r = request(
        json!({"Type": "Wait", "Seconds": 3600, "Next": "Later"}),
        json!({"a": 1}),
    );
    let resp = run(&r);
    assert_eq!(resp.status, TestStateStatus::Succeeded);
    assert_eq!(resp.next_state.as_deref(), Some("Later"));
}

#[test]
fn an_unmocked_task_is_handed_to_the_caller() {
    let r = request(
        json!({"Type": "Task", "Resource": TASK, "Parameters": {"FunctionName": "f", "Payload.$": "$.p"}, "End": true}),
        json!({"p": 3}),
    );
    let mut seen = Vec::new();
    let mut tasks = |t: &TaskRequest| -> TaskResult {
        seen.push(t.input.clone());
        Ok(json!({"Payload": 4}))
    };
    let resp = r
        .validate()
        .unwrap()
        .run(&env(), &mut FixedEntropy(1), &mut tasks);
    assert_eq!(
        seen,
        vec![std::sync::Arc::new(
            json!({"FunctionName": "f", "Payload": 3})
        )]
    );
    assert_eq!(resp.output, Some(json!({"Payload": 4})));
}

#[test]
fn the_context_object_is_testates_or_the_requests() {
    let definition = json!({"Type": "Pass", "Parameters": {"c.$": "$$"}, "End": true});
    let mut r = request(definition.clone(), json!({}));
    r.role_arn = None;
    let ctx = run(&r).output.unwrap()["c"].clone();
    assert_eq!(ctx["State"]["Name"], json!("StateName"));
    assert_eq!(ctx["Execution"]["RoleArn"], Value::Null);
    assert_eq!(
        ctx["Execution"]["Id"],
        json!("arn:aws:states:us-east-1:123456789012:express:M:E")
    );
    assert!(ctx["Execution"].get("RedriveCount").is_none());

    let mut r = request(definition, json!({}));
    r.context = Some(json!({"Mine": true}).to_string());
    assert_eq!(run(&r).output, Some(json!({"c": {"Mine": true}})));
}

#[test]
fn a_state_of_a_whole_machine_runs_by_name() {
    let mut r = request(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "Result": 1, "Next": "C"},
            "C": {"Type": "Succeed"}}}),
        json!({}),
    );
    r.state_name = Some("B".into());
    let resp = run(&r);
    assert_eq!(
        (resp.output, resp.next_state.as_deref()),
        (Some(json!(1)), Some("C"))
    );
}

#[test]
fn mocked_map_failures_count_against_the_tolerance() {
    let definition = json!({
        "Type": "Map", "ItemsPath": "$.items", "ToleratedFailureCount": 1,
        "ItemSelector": {"v.$": "$$.Map.Item.Value"},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "Catch": [{"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Next": "Handle"}],
        "End": true
    });
    let mut r = request(definition, json!({"items": [1, 2, 3]}));
    r.mock = mock_result(json!([1, 0, 0]));
    r.state_configuration = Some(StateConfiguration {
        map_iteration_failure_count: Some(1),
        ..StateConfiguration::default()
    });
    let resp = run(&r);
    assert_eq!(resp.status, TestStateStatus::Succeeded);
    let i = inspection(&resp);
    assert_eq!(i.after_items_path, Some(json!([1, 2, 3])));
    assert_eq!(
        i.after_item_selector,
        Some(json!([{"v": 1}, {"v": 2}, {"v": 3}]))
    );
    assert_eq!(
        (i.max_concurrency, i.tolerated_failure_count),
        (Some(0), Some(1))
    );

    r.state_configuration = Some(StateConfiguration {
        map_iteration_failure_count: Some(2),
        ..StateConfiguration::default()
    });
    let resp = run(&r);
    assert_eq!(resp.status, TestStateStatus::CaughtError);
    assert_eq!(
        resp.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    assert_eq!(resp.next_state.as_deref(), Some("Handle"));
}

// ----- request validation -------------------------------------------------------------

use TestStateErrorCode::{InvalidDefinition, ValidationException};

#[test]
fn definition_errors_are_invalid_definition() {
    let mut r = request(
        json!({"Type": "Parallel", "Branches": [], "End": true}),
        json!({}),
    );
    r.mock = mock_result(json!([]));
    assert_eq!(
        refused(&r),
        (
            InvalidDefinition,
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Value cannot be empty at /States/StateName/Branches'".into()
        )
    );
    let mut r = request(json!({}), json!({}));
    r.definition = "{not json".into();
    assert_eq!(refused(&r).0, InvalidDefinition);
}

#[test]
fn map_and_parallel_need_a_mock_and_simple_states_refuse_one() {
    let map = json!({"Type": "Map", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true});
    assert_eq!(
        refused(&request(map.clone(), json!([]))),
        (InvalidDefinition, MAP_OR_PARALLEL.into())
    );
    for (ty, state) in [
        ("Pass", json!({"Type": "Pass", "End": true})),
        ("Succeed", json!({"Type": "Succeed"})),
        ("Fail", json!({"Type": "Fail"})),
        ("Wait", json!({"Type": "Wait", "Seconds": 1, "End": true})),
    ] {
        let mut r = request(state, json!({}));
        r.mock = mock_result(json!({}));
        assert_eq!(
            refused(&r),
            (
                ValidationException,
                format!("State type '{ty}' is not supported when a mock is specified")
            )
        );
    }
    let mut r = request(map, json!([]));
    r.state_configuration = Some(StateConfiguration {
        map_iteration_failure_count: Some(0),
        ..StateConfiguration::default()
    });
    assert_eq!(
        refused(&r).1,
        "TestState does not support MapIterationFailureCount when a mock is not specified."
    );
}

const MAP_OR_PARALLEL: &str = "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]";

#[test]
fn the_mock_itself_is_checked() {
    let task = json!({"Type": "Task", "Resource": TASK, "End": true});
    let mut r = request(task.clone(), json!({}));
    r.mock = Some(Mock {
        result: Some("{}".into()),
        error_output: Some(MockErrorOutput::default()),
        ..Mock::default()
    });
    assert_eq!(
        refused(&r).1,
        "A test mock should have only one of the following fields: [result, errorOutput]."
    );
    let mut r = request(task.clone(), json!({}));
    r.mock = mock_result(json!({}));
    r.reveal_secrets = true;
    assert_eq!(
        refused(&r).1,
        "TestState does not support RevealSecrets when a mock is specified."
    );
    let mut r = request(task.clone(), json!({}));
    r.mock = Some(Mock {
        result: Some("not json".into()),
        field_validation_mode: FieldValidationMode::None,
        ..Mock::default()
    });
    assert_eq!(refused(&r).1, "Mocked result must be valid JSON");
    let mut r = request(task, json!({}));
    r.role_arn = None;
    assert_eq!(
        refused(&r).1,
        "RoleArn must be specified when testing a Task state"
    );
}

#[test]
fn mocked_results_must_fit_the_state() {
    let parallel = json!({"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}]});
    let cases = [
        (
            parallel.clone(),
            json!({}),
            "Mocked result must be an array.",
        ),
        (
            parallel,
            json!([1]),
            "Mocked result must contain the same number of items as number of Parallel branches.",
        ),
        (
            json!({"Type": "Map", "End": true, "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}),
            json!({}),
            "Mocked result must be an array.",
        ),
        (
            json!({"Type": "Map", "End": true, "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b", "Prefix": "p"}},
                   "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}),
            json!([]),
            "Mocked result must be a JSON object.",
        ),
        (
            json!({"Type": "Task", "Resource": "arn:aws:states:::states:startExecution", "End": true}),
            json!({"StartDate": "x"}),
            "Mock result schema validation error: Required field 'ExecutionArn' is missing",
        ),
    ];
    for (definition, result, message) in cases {
        let mut r = request(definition, json!({}));
        r.mock = mock_result(result);
        assert_eq!(refused(&r), (ValidationException, message.to_owned()));
    }
}

#[test]
fn map_iteration_failures_cannot_exceed_the_iterations() {
    let mut r = request(
        json!({"Type": "Map", "End": true, "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}),
        json!([1, 2]),
    );
    r.mock = mock_result(json!([1, 2]));
    r.state_configuration = Some(StateConfiguration {
        map_iteration_failure_count: Some(3),
        ..StateConfiguration::default()
    });
    assert_eq!(
        refused(&r).1,
        "Map iteration failure count must be less than or equal to the number of Map iterations"
    );
}

#[test]
fn a_state_name_must_name_a_state() {
    let mut r = request(
        json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}),
        json!({}),
    );
    r.state_name = Some("Nope".into());
    assert_eq!(refused(&r).0, ValidationException);
}
