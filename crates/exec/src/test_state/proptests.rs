//! Property test: no request makes TestState panic, whatever its definition, input,
//! mock or configuration.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::*;
use crate::TaskRequest;

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..5).prop_map(|n| json!(n)),
        any::<i64>().prop_map(|n| json!(n)),
        prop_oneof![
            Just("$".to_owned()),
            Just("$.a".to_owned()),
            Just("$$".to_owned()),
            Just("{% $states.input %}".to_owned()),
            ".{0,8}"
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,3}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const FIELDS: &[&str] = &[
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "ResultSelector",
    "Result",
    "Arguments",
    "Output",
    "Assign",
    "ItemsPath",
    "Items",
    "ItemSelector",
    "MaxConcurrency",
    "ToleratedFailureCount",
    "ToleratedFailurePercentage",
    "Seconds",
    "Error",
    "Cause",
    "QueryLanguage",
];

/// A state of each type with a few random fields; most are rejected, some run.
fn any_state() -> impl Strategy<Value = Value> {
    let processor = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let bases = vec![
        json!({"Type": "Pass", "End": true}),
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true,
               "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}],
               "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}]}),
        json!({"Type": "Task", "Resource": "arn:aws:states:::states:startExecution", "End": true}),
        json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": true, "Next": "A"}], "Default": "B"}),
        json!({"Type": "Wait", "Seconds": 5, "Next": "A"}),
        json!({"Type": "Succeed"}),
        json!({"Type": "Fail"}),
        json!({"Type": "Map", "ItemProcessor": processor.clone(), "End": true}),
        json!({"Type": "Parallel", "Branches": [processor], "End": true}),
    ];
    (
        prop::sample::select(bases),
        prop::collection::vec((prop::sample::select(FIELDS), any_json()), 0..3),
    )
        .prop_map(|(mut state, fields)| {
            if let Some(m) = state.as_object_mut() {
                for (k, v) in fields {
                    m.insert(k.to_owned(), v);
                }
            }
            state
        })
}

fn any_mock() -> impl Strategy<Value = Option<Mock>> {
    prop_oneof![
        Just(None),
        (any_json(), 0..3usize).prop_map(|(v, mode)| Some(Mock {
            result: Some(v.to_string()),
            field_validation_mode: [
                FieldValidationMode::Strict,
                FieldValidationMode::Present,
                FieldValidationMode::None
            ][mode],
            ..Mock::default()
        })),
        (".{0,6}", ".{0,6}").prop_map(|(e, c)| Some(Mock {
            error_output: Some(MockErrorOutput {
                error: Some(e),
                cause: Some(c),
            }),
            ..Mock::default()
        })),
    ]
}

struct Zero;

impl Entropy for Zero {
    fn next_u64(&mut self) -> u64 {
        0
    }
    fn now_millis(&self) -> i64 {
        0
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_request_panics(
        state in any_state(),
        input in any_json(),
        variables in any_json(),
        mock in any_mock(),
        retries in prop::option::of(prop_oneof![0u64..4, Just(u64::MAX)]),
        failures in prop::option::of(prop_oneof![0u64..4, Just(u64::MAX)]),
        reader in prop::option::of(any_json()),
        level in 0..3usize,
    ) {
        let request = TestStateRequest {
            definition: state.to_string(),
            role_arn: Some("arn:aws:iam::1:role/r".into()),
            input: Some(input.to_string()),
            inspection_level: [InspectionLevel::Info, InspectionLevel::Debug, InspectionLevel::Trace][level],
            variables: Some(variables.to_string()),
            mock,
            state_configuration: Some(StateConfiguration {
                retrier_retry_count: retries,
                map_iteration_failure_count: failures,
                map_item_reader_data: reader.map(|r| r.to_string()),
                ..StateConfiguration::default()
            }),
            ..TestStateRequest::default()
        };
        if let Ok(plan) = request.validate() {
            let env = TestEnv {
                region: "r".into(),
                account: "1".into(),
                state_machine_name: "m".into(),
                execution_name: "e".into(),
            };
            let mut tasks = |_: &TaskRequest| -> TaskResult { Ok(Value::Object(Map::new())) };
            let response = plan.run(&env, &mut Zero, &mut tasks);
            let _ = response.to_aws_json();
        }
    }

    #[test]
    fn no_definition_text_panics(text in ".{0,64}", name in prop::option::of("[A-Z]{0,2}")) {
        let request = TestStateRequest {
            definition: text,
            state_name: name,
            ..TestStateRequest::default()
        };
        let _ = request.validate();
    }
}
