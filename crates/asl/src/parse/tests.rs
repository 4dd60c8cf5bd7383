//! Unit tests of the parser: AWS's diagnostics (recorded in the corpus or measured by
//! others against AWS) and the shape of the typed plan.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::*;
use crate::model::{
    Dynamic, ExecutionType, FailField, IntegrationPattern, JitterStrategy, OptionalPath,
    OptionalReferencePath, ProcessorMode, TaskTarget, Transition, Wait,
};

fn ok(definition: Value) -> StateMachine {
    match parse_definition_value(&definition, ParseOptions::default()) {
        Ok(m) => m,
        Err(ds) => panic!("expected success, got {ds:#?}"),
    }
}

/// The diagnostics as `(code, message, location)`.
fn problems_with(
    definition: Value,
    options: ParseOptions,
) -> Vec<(String, String, Option<String>)> {
    match parse_definition_value(&definition, options) {
        Ok(_) => Vec::new(),
        Err(ds) => ds
            .iter()
            .map(|d| (d.code.to_owned(), d.message.clone(), d.location.clone()))
            .collect(),
    }
}

fn problems(definition: Value) -> Vec<(String, String, Option<String>)> {
    problems_with(definition, ParseOptions::default())
}

fn schema(message: &str, location: &str) -> (String, String, Option<String>) {
    (
        code::SCHEMA_VALIDATION_FAILED.to_owned(),
        message.to_owned(),
        Some(location.to_owned()),
    )
}

fn diag(code: &str, message: &str, location: Option<&str>) -> (String, String, Option<String>) {
    (
        code.to_owned(),
        message.to_owned(),
        location.map(str::to_owned),
    )
}

fn pass_end() -> Value {
    json!({"Type": "Pass", "End": true})
}

#[test]
fn required_top_level_fields_in_aws_order() {
    assert_eq!(
        problems(json!({})),
        vec![schema("These fields are required: [States, StartAt]", "/")]
    );
    assert_eq!(
        problems(json!({"States": {"A": pass_end()}})),
        vec![schema("These fields are required: [StartAt]", "/")]
    );
    assert_eq!(
        problems(json!({"Comment": "x", "StartAt": "A"})),
        vec![schema("These fields are required: [States]", "/")]
    );
}

#[test]
fn text_that_is_not_an_object() {
    for text in [" ", "", "[1]", "\"x\"", "3"] {
        let ds = parse_definition(text, ParseOptions::default()).unwrap_err();
        assert_eq!(ds.0.len(), 1, "{text:?}");
        assert_eq!(ds.0[0].message, "Definition must be a valid JSON object");
        assert_eq!(ds.0[0].location, None);
    }
    let ds = parse_definition("not a definition", ParseOptions::default()).unwrap_err();
    assert_eq!(ds.0[0].code, code::INVALID_JSON_DESCRIPTION);
    assert_eq!(
        ds.0[0].location.as_deref(),
        Some("[Source: (String)\"not a definition\"; line: 1, column: 4]")
    );
}

#[test]
fn transitions_targets_and_reachability() {
    assert_eq!(
        problems(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "NOPE"}}})),
        vec![
            diag(
                code::MISSING_TRANSITION_TARGET,
                "Missing 'Next' target: NOPE",
                Some("/States/A/Next")
            ),
            diag(
                code::MISSING_END_STATE,
                "Workflow has no terminal state",
                None
            ),
        ]
    );
    assert_eq!(
        problems(json!({"StartAt": "Nope", "States": {"A": pass_end()}})),
        vec![
            diag(
                code::MISSING_TRANSITION_TARGET,
                "Missing 'Next' target: Nope",
                Some("/StartAt")
            ),
            diag(
                code::MISSING_TRANSITION_TARGET,
                "State \"A\" is not reachable.",
                Some("/States/A")
            ),
        ]
    );
    // A loop with no way out: only MISSING_END_STATE, even with an unreachable state.
    assert_eq!(
        problems(json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "Next": "A"},
            "Unused": {"Type": "Pass", "Next": "A"}
        }})),
        vec![diag(
            code::MISSING_END_STATE,
            "Workflow has no terminal state",
            None
        )]
    );
    assert_eq!(
        problems(json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "Next": "A"},
            "C": pass_end()
        }})),
        vec![diag(
            code::MISSING_TRANSITION_TARGET,
            "State \"C\" is not reachable.",
            Some("/States/C")
        )]
    );
    // The word is 'Next' whatever the field; Choice and Catch locations use brackets.
    assert_eq!(
        problems(json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice",
                  "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "Ghost"}],
                  "Default": "Ghost2"},
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Ghost3"}], "End": true}
        }})),
        vec![
            diag(
                code::MISSING_TRANSITION_TARGET,
                "Missing 'Next' target: Ghost",
                Some("/States/C/Choices[0]/Next")
            ),
            diag(
                code::MISSING_TRANSITION_TARGET,
                "Missing 'Next' target: Ghost2",
                Some("/States/C/Default")
            ),
            diag(
                code::MISSING_TRANSITION_TARGET,
                "Missing 'Next' target: Ghost3",
                Some("/States/T/Catch[0]/Next")
            ),
            diag(
                code::MISSING_TRANSITION_TARGET,
                "State \"T\" is not reachable.",
                Some("/States/T")
            ),
        ]
    );
}

#[test]
fn nested_scopes_are_checked_but_need_no_terminal_state() {
    assert_eq!(
        problems(
            json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items",
            "ItemProcessor": {"StartAt": "A", "States": {
                "A": {"Type": "Pass", "Next": "B"},
                "B": {"Type": "Pass", "Next": "A"}}},
            "End": true}}})
        ),
        vec![]
    );
    assert_eq!(
        problems(json!({"StartAt": "P", "States": {"P": {"Type": "Parallel",
            "Branches": [{"StartAt": "W", "States": {"W": pass_end(), "Ghost": pass_end()}}],
            "End": true}}})),
        vec![diag(
            code::MISSING_TRANSITION_TARGET,
            "State \"Ghost\" is not reachable.",
            Some("/States/P/Branches[0]/States/Ghost")
        )]
    );
    assert_eq!(
        problems(json!({"StartAt": "M", "States": {"M": {"Type": "Map",
            "ItemProcessor": {"StartAt": "Nope", "States": {"A": pass_end()}},
            "End": true}}})),
        vec![
            diag(
                code::MISSING_TRANSITION_TARGET,
                "Missing 'Next' target: Nope",
                Some("/States/M/ItemProcessor/StartAt")
            ),
            diag(
                code::MISSING_TRANSITION_TARGET,
                "State \"A\" is not reachable.",
                Some("/States/M/ItemProcessor/States/A")
            ),
        ]
    );
}

#[test]
fn fields_a_state_type_does_not_take() {
    assert_eq!(
        problems(
            json!({"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true,
            "Retry": [{"ErrorEquals": ["States.ALL"]}], "TimeoutSeconds": 5,
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "X"}]}}})
        ),
        vec![
            schema("Field 'Retry' is not supported", "/States/X"),
            schema("Field 'TimeoutSeconds' is not supported", "/States/X"),
            schema("Field 'Catch' is not supported", "/States/X"),
        ]
    );
    assert_eq!(
        problems(
            json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "TimeoutSeconds": 5,
            "Branches": [{"StartAt": "W", "States": {"W": pass_end()}}], "End": true}}})
        ),
        vec![schema(
            "Field 'TimeoutSeconds' is not supported",
            "/States/P"
        )]
    );
    assert_eq!(
        problems(json!({"StartAt": "X", "Bogus": 1, "States": {"X": pass_end()}})),
        vec![schema("Field 'Bogus' is not supported", "/")]
    );
}

#[test]
fn bad_type_is_the_only_problem_reported_for_the_state() {
    assert_eq!(
        problems(
            json!({"StartAt": "S", "States": {"S": {"Type": "TypeThatDoesNotExist", "End": true}}})
        ),
        vec![schema(
            "The field 'Type' should have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map]",
            "/States/S/Type"
        )]
    );
    assert_eq!(
        problems(json!({"StartAt": "S", "States": {"S": {"End": true}}})),
        vec![schema("These fields are required: [Type]", "/States/S")]
    );
}

#[test]
fn query_language_rules_measured_on_aws() {
    let downgrade =
        "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine";
    assert_eq!(
        problems(json!({"QueryLanguage": "JSONata", "StartAt": "Pass",
            "States": {"Pass": {"Type": "Pass", "End": true, "QueryLanguage": "JSONPath"}}})),
        vec![schema(downgrade, "/States/Pass")]
    );
    // The downgrade is the whole answer about fields of the other language.
    assert_eq!(
        problems(
            json!({"QueryLanguage": "JSONata", "StartAt": "X", "States": {"X": {"Type": "Pass",
            "QueryLanguage": "JSONPath", "Output": {"v": "{% 1 %}"}, "End": true}}})
        ),
        vec![schema(downgrade, "/States/X")]
    );
    // Nested states inherit the machine's language, not their Map's; a state's own wins.
    ok(
        json!({"StartAt": "Map", "QueryLanguage": "JSONPath", "States": {"Map": {"Type": "Map",
        "QueryLanguage": "JSONata", "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"},
        "StartAt": "Pass", "States": {"Pass": {"QueryLanguage": "JSONPath", "Type": "Pass", "End": true}}},
        "End": true}}}),
    );
    assert_eq!(
        problems(
            json!({"QueryLanguage": "JSONPath", "StartAt": "M", "States": {"M": {"Type": "Map",
            "QueryLanguage": "JSONata", "ItemProcessor": {"StartAt": "P", "States": {
                "P": {"Type": "Pass", "Output": {"d": "{% 1 %}"}, "End": true}}},
            "End": true}}})
        ),
        vec![schema(
            "The QueryLanguage is set to 'JSONPath', but field 'Output' is only supported for the 'JSONata' QueryLanguage",
            "/States/M/ItemProcessor/States/P"
        )]
    );
    assert_eq!(
        problems(json!({"QueryLanguage": "JSONata", "StartAt": "X", "States": {"X": {"Type": "Pass",
            "InputPath": "$.a", "OutputPath": "$.b", "ResultPath": "$.c", "End": true}}})),
        ["InputPath", "OutputPath", "ResultPath"]
            .iter()
            .map(|f| schema(
                &format!("The QueryLanguage is set to 'JSONata', but field '{f}' is only supported for the 'JSONPath' QueryLanguage"),
                "/States/X"
            ))
            .collect::<Vec<_>>()
    );
    // A value outside the enum is reported at the field and read as JSONata.
    assert_eq!(
        problems(
            json!({"StartAt": "X", "States": {"X": {"Type": "Pass", "QueryLanguage": "jsonata",
            "Output": {"v": "{% 1 %}"}, "InputPath": "$.a", "End": true}}})
        ),
        vec![
            schema(
                "The QueryLanguage is set to 'JSONata', but field 'InputPath' is only supported for the 'JSONPath' QueryLanguage",
                "/States/X"
            ),
            schema(
                "Value should be one of the following: [JSONPath, JSONata]",
                "/States/X/QueryLanguage"
            ),
        ]
    );
    assert_eq!(
        problems(json!({"QueryLanguage": 5, "StartAt": "X", "States": {"X": pass_end()}})),
        vec![schema("Expected value of type [STRING]", "/QueryLanguage")]
    );
    assert_eq!(
        problems(json!({"StartAt": "M", "States": {"M": {"Type": "Map",
            "Iterator": {"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": pass_end()}},
            "End": true}}})),
        vec![schema(
            "Field 'QueryLanguage' is not supported",
            "/States/M/Iterator"
        )]
    );
}

#[test]
fn express_machines_refuse_activities_sync_and_callbacks() {
    let express = ParseOptions { express: true };
    let task = |resource: &str| json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": true}}});
    assert_eq!(
        problems_with(
            task("arn:aws:states:us-east-1:111111111111:activity:a"),
            express
        ),
        vec![schema(
            "Express state machine does not support Activity ARN",
            "/States/T/Resource"
        )]
    );
    assert_eq!(
        problems_with(
            task("arn:aws:states:::states:startExecution.sync:2"),
            express
        ),
        vec![schema(
            "Express state machine does not support '.sync' service integration",
            "/States/T/Resource"
        )]
    );
    assert_eq!(
        problems_with(
            task("arn:aws:states:::sqs:sendMessage.waitForTaskToken"),
            express
        ),
        vec![schema(
            "Express state machine does not support '.waitForTaskToken' service integration ",
            "/States/T/Resource"
        )]
    );
    assert!(problems(task("arn:aws:states:::sqs:sendMessage.waitForTaskToken")).is_empty());
    assert_eq!(
        problems(task("createToken")),
        vec![schema(
            "The resource provided createToken is not recognized. The value is not a valid resource ARN, or the resource is not available in this region.",
            "/States/T/Resource"
        )]
    );
}

#[test]
fn credentials_need_a_role() {
    for credentials in [json!({}), json!({"InvalidField": "invalid"})] {
        let definition = json!({"StartAt": "S", "QueryLanguage": "JSONata", "States": {"S": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke", "Arguments": "{% $states.input %}",
            "Credentials": credentials, "End": true}}});
        let ds = parse_definition_value(&definition, ParseOptions::default()).unwrap_err();
        assert_eq!(
            ds.invalid_definition_message(),
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The field 'RoleArn' is required but was missing at /States/S/Credentials'"
        );
    }
}

#[test]
fn next_and_end_and_wait_and_fail_exclusivity() {
    assert_eq!(
        problems(
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A", "End": true}}})
        ),
        vec![schema(
            "There should only be one of the following fields: [Next, End]",
            "/States/A"
        )]
    );
    assert_eq!(
        problems(
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass"}, "B": {"Type": "Succeed"}}})
        ),
        vec![schema(
            "This object should have only one of the following fields: [Next, End]",
            "/States/A"
        )]
    );
    assert_eq!(
        problems(
            json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": true}}})
        ),
        vec![schema(
            "There should only be one of the following fields: [SecondsPath, Seconds, TimestampPath, Timestamp]",
            "/States/W"
        )]
    );
    assert_eq!(
        problems(
            json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Timestamp": "2024-01-01 00:00:00", "End": true}}})
        ),
        vec![schema(
            "String does not match RFC3339 timestamp",
            "/States/W/Timestamp"
        )]
    );
    assert_eq!(
        problems(
            json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}}})
        ),
        vec![schema(
            "There should only be one of the following fields: [Error, ErrorPath]",
            "/States/F"
        )]
    );
}

#[test]
fn empty_lists_and_numeric_limits() {
    let ds = parse_state_definition(
        &json!({"Type": "Parallel", "Branches": [], "End": true}),
        ParseOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        ds.invalid_definition_message(),
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Value cannot be empty at /States/StateName/Branches'"
    );
    let map = |fields: Value| {
        let mut m = json!({"Type": "Map", "ItemProcessor": {"StartAt": "P", "States": {"P": pass_end()}}, "End": true});
        m.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        json!({"StartAt": "M", "States": {"M": m}})
    };
    assert_eq!(
        problems(map(json!({"MaxConcurrency": -1}))),
        vec![schema("Minimum value is 0", "/States/M/MaxConcurrency")]
    );
    assert_eq!(
        problems(map(json!({"ToleratedFailurePercentage": 100.5}))),
        vec![schema(
            "Maximum value is 100.0",
            "/States/M/ToleratedFailurePercentage"
        )]
    );
    assert_eq!(
        problems(map(
            json!({"MaxConcurrency": 2, "MaxConcurrencyPath": "$.m"})
        )),
        vec![schema(
            "There should only be one of the following fields: [MaxConcurrency, MaxConcurrencyPath]",
            "/States/M"
        )]
    );
    assert_eq!(
        problems(map(json!({"MaxConcurrencyPath": "$$.Execution.Input.n"}))),
        vec![schema(
            "Value is not a Reference Path",
            "/States/M/MaxConcurrencyPath"
        )]
    );
    assert!(
        problems(map(
            json!({"MaxConcurrency": 9_223_372_036_854_775_807_u64})
        ))
        .is_empty()
    );
    assert_eq!(
        problems(
            json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "TimeoutSeconds": 0, "HeartbeatSeconds": "5", "End": true}}})
        ),
        vec![
            schema("Minimum value is 1", "/States/T/TimeoutSeconds"),
            schema(
                "Expected value of type Integer",
                "/States/T/HeartbeatSeconds"
            ),
        ]
    );
}

#[test]
fn retry_and_catch() {
    let task = |retry: Value, catch: Value| {
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": retry, "Catch": catch, "End": true}, "H": pass_end()}})
    };
    let m = ok(task(
        json!([{"ErrorEquals": ["A"]}, {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 0,
               "MaxAttempts": 0, "BackoffRate": 1.5, "MaxDelaySeconds": 10, "JitterStrategy": "FULL"}]),
        json!([{"ErrorEquals": ["States.ALL"], "Next": "H", "ResultPath": "$.err"}]),
    ));
    let t = m.root().state(StateId(0));
    assert_eq!(t.retry[0].interval_seconds, 1);
    assert_eq!(t.retry[0].max_attempts, 3);
    assert_eq!(t.retry[0].backoff_rate, 2.0);
    assert_eq!(t.retry[0].jitter, JitterStrategy::None);
    assert_eq!(t.retry[1].interval_seconds, 0);
    assert_eq!(t.retry[1].max_attempts, 0);
    assert_eq!(t.retry[1].max_delay_seconds, Some(10));
    assert_eq!(t.retry[1].jitter, JitterStrategy::Full);
    assert_eq!(t.catch[0].next, StateId(1));
    assert!(matches!(
        t.catch[0].result_path,
        OptionalReferencePath::Path(_)
    ));

    assert_eq!(
        problems(task(
            json!([{"ErrorEquals": ["States.ALL", "X"]}, {"ErrorEquals": [], "BackoffRate": 0.5,
                    "MaxAttempts": -1, "JitterStrategy": "SOME", "_comment": 1}]),
            json!([{"ErrorEquals": ["States.ALL"], "Next": "H"}, {"Next": "H"}]),
        )),
        vec![
            schema(
                "States.ALL must appear alone in the ErrorEquals array",
                "/States/T/Retry[0]/ErrorEquals"
            ),
            schema(
                "A Retrier with States.ALL in ErrorEquals must be the last Retrier",
                "/States/T/Retry[0]"
            ),
            schema("Field '_comment' is not supported", "/States/T/Retry[1]"),
            schema("Value cannot be empty", "/States/T/Retry[1]/ErrorEquals"),
            schema("Minimum value is 0", "/States/T/Retry[1]/MaxAttempts"),
            schema("Minimum value is 1.0", "/States/T/Retry[1]/BackoffRate"),
            schema(
                "Value should be one of the following: [FULL, NONE]",
                "/States/T/Retry[1]/JitterStrategy"
            ),
            schema(
                "A Catcher with States.ALL in ErrorEquals must be the last Catcher",
                "/States/T/Catch[0]"
            ),
            schema(
                "These fields are required: [ErrorEquals]",
                "/States/T/Catch[1]"
            ),
        ]
    );
}

#[test]
fn scopes_are_flattened_depth_first_with_parents_and_pointers() {
    let m = ok(json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "M", "Branches": [
            {"StartAt": "B1", "States": {"B1": {"Type": "Map", "End": true,
                "Iterator": {"StartAt": "I", "States": {"I": pass_end()}}}}},
            {"StartAt": "B2", "States": {"B2": pass_end()}}
        ]},
        "M": {"Type": "Map", "End": true, "ItemsPath": "$.xs", "MaxConcurrency": 2,
              "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                                "StartAt": "D", "States": {"D": pass_end()}}}
    }}));
    let pointers: Vec<&str> = m.scopes.iter().map(|s| s.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        vec![
            "/States",
            "/States/P/Branches[0]/States",
            "/States/P/Branches[0]/States/B1/Iterator/States",
            "/States/P/Branches[1]/States",
            "/States/M/ItemProcessor/States",
        ]
    );
    let parents: Vec<Option<ScopeId>> = m.scopes.iter().map(|s| s.parent).collect();
    assert_eq!(
        parents,
        vec![
            None,
            Some(ScopeId(0)),
            Some(ScopeId(1)),
            Some(ScopeId(0)),
            Some(ScopeId(0))
        ]
    );
    let root = m.root();
    assert_eq!(root.start_at, StateId(0));
    assert_eq!(
        root.state(StateId(0)).transition,
        Transition::Next(StateId(1))
    );
    match &root.state(StateId(0)).kind {
        StateKind::Parallel(p) => assert_eq!(p.branches, vec![ScopeId(1), ScopeId(3)]),
        other => panic!("{other:?}"),
    }
    match &root.state(StateId(1)).kind {
        StateKind::Map(map) => {
            assert_eq!(map.processor, ScopeId(4));
            assert_eq!(map.mode, ProcessorMode::Distributed);
            assert_eq!(map.execution_type, Some(ExecutionType::Express));
            assert!(matches!(map.items, Some(crate::model::MapItems::Path(_))));
            assert!(matches!(map.max_concurrency, Some(Dynamic::Fixed(2))));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn typed_fields_of_each_state() {
    let m = ok(
        json!({"StartAt": "T", "TimeoutSeconds": 30, "Version": "1.0", "Comment": "c", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                  "InputPath": null, "OutputPath": "$.x", "ResultPath": null,
                  "TimeoutSecondsPath": "$.t", "HeartbeatSeconds": 10, "Next": "W"},
            "W": {"Type": "Wait", "SecondsPath": "$.s", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "F"}], "Default": "S"},
            "F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('{}', $.c)"},
            "S": {"Type": "Succeed"}
        }}),
    );
    assert_eq!(m.timeout_seconds, Some(30));
    assert_eq!(m.version.as_deref(), Some("1.0"));
    assert_eq!(m.comment.as_deref(), Some("c"));
    let root = m.root();
    let t = root.state(StateId(0));
    assert!(matches!(t.io.input_path, OptionalPath::Null));
    assert!(matches!(t.io.output_path, OptionalPath::Path(_)));
    assert!(matches!(t.io.result_path, OptionalReferencePath::Null));
    match &t.kind {
        StateKind::Task(task) => {
            assert_eq!(
                task.target,
                TaskTarget::Service {
                    service: "sqs".into(),
                    action: "sendMessage".into(),
                    pattern: IntegrationPattern::WaitForTaskToken
                }
            );
            assert!(matches!(task.timeout_seconds, Some(Dynamic::Path(_))));
            assert!(matches!(task.heartbeat_seconds, Some(Dynamic::Fixed(10))));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        root.state(StateId(1)).kind,
        StateKind::Wait(Wait::Seconds(Dynamic::Path(_)))
    ));
    match &root.state(StateId(2)).kind {
        StateKind::Choice(c) => {
            assert_eq!(c.choices[0].next, StateId(3));
            assert_eq!(c.default, Some(StateId(4)));
        }
        other => panic!("{other:?}"),
    }
    match &root.state(StateId(3)).kind {
        StateKind::Fail(f) => {
            assert!(matches!(f.error, Some(FailField::Path(_))));
            assert!(matches!(f.cause, Some(FailField::Intrinsic(_))));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn jsonata_forms() {
    let m = ok(
        json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {
            "M": {"Type": "Map", "Items": "{% $states.input.xs %}", "MaxConcurrency": "{% 2 %}",
                  "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "Output": "{% $states.input %}", "End": true}}},
                  "Output": {"n": "{% $count($states.result) %}"}, "Next": "W"},
            "W": {"Type": "Wait", "Seconds": "{% 1 %}", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Condition": "{% true %}", "Next": "F", "Assign": {"x": 1}}], "Default": "F"},
            "F": {"Type": "Fail", "Error": "{% 'E' %}", "Cause": "plain"}
        }}),
    );
    let root = m.root();
    assert!(root.states.iter().all(|s| s.is_jsonata()));
    match &root.state(StateId(0)).kind {
        StateKind::Map(map) => {
            assert!(matches!(
                map.items,
                Some(crate::model::MapItems::Template(
                    crate::template::Template::Jsonata(_)
                ))
            ));
            assert!(matches!(map.max_concurrency, Some(Dynamic::Jsonata(_))));
        }
        other => panic!("{other:?}"),
    }
    assert!(root.state(StateId(0)).io.output.is_some());
    match &root.state(StateId(3)).kind {
        StateKind::Fail(f) => {
            assert!(matches!(f.error, Some(FailField::Jsonata(_))));
            assert!(matches!(&f.cause, Some(FailField::Fixed(c)) if c == "plain"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        problems(
            json!({"QueryLanguage": "JSONata", "StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": "{% 1", "End": true}}})
        ),
        vec![schema(
            "JSONata string must start with {% and end with %}",
            "/States/W/Seconds"
        )]
    );
    assert_eq!(
        problems(
            json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "S"}]},
            "S": {"Type": "Succeed"}}})
        ),
        vec![
            schema(
                "These fields are required: [Condition]",
                "/States/C/Choices[0]"
            ),
            schema(
                "The QueryLanguage is set to 'JSONata', but field 'Variable' is only supported for the 'JSONPath' QueryLanguage",
                "/States/C/Choices[0]"
            ),
            schema(
                "The QueryLanguage is set to 'JSONata', but field 'IsPresent' is only supported for the 'JSONPath' QueryLanguage",
                "/States/C/Choices[0]"
            ),
        ]
    );
}

#[test]
fn single_state_definitions_keep_their_targets_by_name() {
    let m = parse_state_definition(
        &json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "After",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handler"}]}),
        ParseOptions::default(),
    )
    .unwrap();
    let root = m.root();
    let names: Vec<&str> = root.states.iter().map(|s| &*s.name).collect();
    assert_eq!(names, vec![TEST_STATE_NAME, "After", "Handler"]);
    assert_eq!(
        root.state(StateId(0)).transition,
        Transition::Next(StateId(1))
    );
    assert_eq!(root.state(StateId(0)).catch[0].next, StateId(2));
    let m = parse_state_definition(
        &json!({"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% 1 %}", "End": true}),
        ParseOptions::default(),
    )
    .unwrap();
    assert!(m.root().state(StateId(0)).is_jsonata());
}

#[test]
fn state_names_are_unique_and_short() {
    let long = "x".repeat(81);
    let mut states = serde_json::Map::new();
    states.insert(long.clone(), pass_end());
    assert_eq!(
        problems(json!({"StartAt": long, "States": states})),
        vec![diag(
            code::INVALID_STATE_NAME,
            &format!("State name '{long}' exceeds the maximum length of 80 characters"),
            Some(&format!("/States/{long}"))
        )]
    );
    assert_eq!(
        problems(
            json!({"StartAt": "A", "States": {"A": {"Type": "Parallel", "End": true,
            "Branches": [{"StartAt": "A", "States": {"A": pass_end()}}]}}})
        ),
        vec![diag(
            code::DUPLICATE_STATE_NAME,
            "Duplicate State name: A",
            Some("/States/A/Branches[0]/States/A")
        )]
    );
}

#[test]
fn a_state_name_written_twice_in_the_text_is_a_duplicate() {
    let text = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Succeed"},"A":{"Type":"Pass","End":true}}}"#;
    let ds = parse_definition(text, ParseOptions::default()).unwrap_err();
    assert_eq!(
        ds.0,
        vec![Diagnostic::new(
            code::DUPLICATE_STATE_NAME,
            "Duplicate State name: A",
            "/States/A"
        )]
    );
    // The same key twice in a payload is not a state name.
    let text = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"States":{"x":1,"x":2}},"End":true}}}"#;
    parse_definition(text, ParseOptions::default()).unwrap();
}

#[test]
fn deep_nesting_is_refused_not_recursed() {
    let mut scope = json!({"StartAt": "L", "States": {"L": pass_end()}});
    for i in 0..200 {
        scope = json!({"StartAt": format!("P{i}"), "States": {format!("P{i}"): {"Type": "Parallel", "End": true, "Branches": [scope]}}});
    }
    let ds = parse_definition_value(&scope, ParseOptions::default()).unwrap_err();
    assert!(
        ds.iter().any(|d| d.code == code::TOO_DEEPLY_NESTED),
        "{ds:?}"
    );
}

#[test]
fn large_definitions_parse_in_one_pass() {
    // 20,000 chained states plus a Choice fanning out to all of them: anything quadratic
    // in the number of states would take minutes here.
    const N: usize = 20_000;
    let mut states = serde_json::Map::new();
    let choices: Vec<Value> = (0..N)
        .map(|i| json!({"Variable": "$.x", "NumericEquals": i, "Next": format!("S{i}")}))
        .collect();
    states.insert(
        "C".into(),
        json!({"Type": "Choice", "Choices": choices, "Default": "S0"}),
    );
    for i in 0..N {
        let next = if i + 1 == N {
            json!({"End": true})
        } else {
            json!({"Next": format!("S{}", i + 1)})
        };
        let mut state = json!({"Type": "Pass"});
        state
            .as_object_mut()
            .unwrap()
            .extend(next.as_object().unwrap().clone());
        states.insert(format!("S{i}"), state);
    }
    let text = json!({"StartAt": "C", "States": states}).to_string();
    let started = std::time::Instant::now();
    let m = parse_definition(&text, ParseOptions::default()).unwrap();
    assert_eq!(m.root().states.len(), N + 1);
    assert!(
        started.elapsed().as_secs() < 20,
        "took {:?}",
        started.elapsed()
    );
}
