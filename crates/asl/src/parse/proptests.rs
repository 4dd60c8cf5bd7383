//! Property tests: no input makes the parser panic, and an accepted definition never
//! holds an index the interpreter could trip over.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::{Map as JsonMap, Value, json};

use super::*;
use crate::model::{StateKind, Transition};

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const NAMES: &[&str] = &["A", "B", "C", "StateName", "Nope", ""];
const FIELDS: &[&str] = &[
    "Type",
    "Next",
    "End",
    "Comment",
    "QueryLanguage",
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "ResultSelector",
    "Result",
    "Arguments",
    "Output",
    "Assign",
    "Resource",
    "Credentials",
    "Retry",
    "Catch",
    "TimeoutSeconds",
    "TimeoutSecondsPath",
    "HeartbeatSeconds",
    "HeartbeatSecondsPath",
    "Seconds",
    "SecondsPath",
    "Timestamp",
    "TimestampPath",
    "Choices",
    "Default",
    "Condition",
    "Variable",
    "IsPresent",
    "StringEquals",
    "And",
    "Not",
    "Error",
    "ErrorPath",
    "Cause",
    "CausePath",
    "Branches",
    "ItemProcessor",
    "Iterator",
    "ProcessorConfig",
    "Mode",
    "ExecutionType",
    "ItemsPath",
    "Items",
    "ItemSelector",
    "ItemReader",
    "ReaderConfig",
    "MaxItems",
    "MaxItemsPath",
    "InputType",
    "ItemBatcher",
    "MaxItemsPerBatch",
    "BatchInput",
    "ResultWriter",
    "MaxConcurrency",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentage",
    "ToleratedFailureCount",
    "Label",
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
    "RoleArn",
    "StartAt",
    "States",
    "Version",
];
const STRINGS: &[&str] = &[
    "Pass",
    "Task",
    "Choice",
    "Wait",
    "Succeed",
    "Fail",
    "Parallel",
    "Map",
    "JSONPath",
    "JSONata",
    "jsonata",
    "$",
    "$.a",
    "$$",
    "$$.Execution.Input",
    "$var",
    "$.a[*]",
    "States.ALL",
    "States.TaskFailed",
    "States.Format('{}', $.a)",
    "{% 1 %}",
    "{% $states.input %}",
    "{% 1",
    "arn:aws:states:::lambda:invoke",
    "arn:aws:states:::states:startExecution.sync:2",
    "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
    "arn:aws:states:r:1:activity:x",
    "arn:aws:lambda:r:1:function:f",
    "arn:aws:states:::s3:getObject",
    "INLINE",
    "DISTRIBUTED",
    "STANDARD",
    "EXPRESS",
    "FULL",
    "NONE",
    "CSV",
    "JSON",
    "2024-01-01T00:00:00Z",
    "1.0",
    "A",
    "B",
    "C",
    "Nope",
    "",
];

/// JSON built from ASL's own vocabulary, so generated definitions reach deep into the
/// parser instead of stopping at the first missing field.
fn asl_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![
            Just(-1i64),
            Just(0),
            Just(1),
            Just(2),
            Just(100),
            Just(99_999_999),
            Just(i64::MAX)
        ]
        .prop_map(|n| json!(n)),
        prop_oneof![Just(0.5f64), Just(1.5), Just(100.5), Just(1e300)].prop_map(|f| json!(f)),
        prop::sample::select(STRINGS).prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(7, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(FIELDS), inner.clone()), 0..8).prop_map(
                |fields| {
                    Value::Object(
                        fields
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), v))
                            .collect::<JsonMap<String, Value>>(),
                    )
                }
            ),
            prop::collection::vec((prop::sample::select(NAMES), inner), 0..4).prop_map(|states| {
                Value::Object(
                    states
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect::<JsonMap<String, Value>>(),
                )
            }),
        ]
    })
}

const TYPES: &[&str] = &[
    "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
];

/// Type-specific fields that make a state of each type valid, so generated machines often
/// pass and reach the plan-building code.
fn essentials(type_name: &str, nested: &[Value]) -> Vec<(&'static str, Value)> {
    let scope = |i: usize| {
        nested
            .get(i)
            .cloned()
            .unwrap_or_else(|| json!({"StartAt": "X", "States": {"X": {"Type": "Succeed"}}}))
    };
    match type_name {
        "Task" => vec![("Resource", json!("arn:aws:states:::lambda:invoke"))],
        "Choice" => vec![(
            "Choices",
            json!([{"Variable": "$.x", "IsPresent": true, "Next": "A"}]),
        )],
        "Wait" => vec![("Seconds", json!(1))],
        "Parallel" => vec![(
            "Branches",
            Value::Array((0..nested.len().max(1)).map(scope).collect()),
        )],
        "Map" => vec![("ItemProcessor", scope(0))],
        _ => vec![],
    }
}

/// Machines of plausible states: a type, what that type needs, a transition, and a few
/// extra fields from ASL's vocabulary (often wrong on purpose).
fn asl_machine() -> impl Strategy<Value = Value> {
    let leaf = Just(json!({"StartAt": "X", "States": {"X": {"Type": "Succeed"}}}));
    leaf.prop_recursive(4, 24, 3, |inner| {
        let state = (
            prop::sample::select(TYPES),
            prop::collection::vec(inner, 0..3),
            prop_oneof![
                prop::sample::select(NAMES).prop_map(|n| Some(("Next", json!(n)))),
                Just(Some(("End", json!(true)))),
                Just(None),
            ],
            prop::collection::vec((prop::sample::select(FIELDS), asl_json()), 0..3),
        )
            .prop_map(|(type_name, nested, transition, extra)| {
                let mut state = JsonMap::new();
                state.insert("Type".to_owned(), json!(type_name));
                for (k, v) in essentials(type_name, &nested) {
                    state.insert(k.to_owned(), v);
                }
                if !matches!(type_name, "Choice" | "Succeed" | "Fail")
                    && let Some((k, v)) = transition
                {
                    state.insert(k.to_owned(), v);
                }
                for (k, v) in extra {
                    state.insert(k.to_owned(), v);
                }
                Value::Object(state)
            });
        (
            prop::sample::select(NAMES),
            prop::collection::vec((prop::sample::select(NAMES), state), 1..5),
            prop::option::of(prop::sample::select(&["JSONPath", "JSONata", "x"][..])),
        )
            .prop_map(|(start, states, language)| {
                let states: JsonMap<String, Value> =
                    states.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                let mut machine = json!({"StartAt": start, "States": states});
                if let Some(language) = language {
                    machine["QueryLanguage"] = json!(language);
                }
                machine
            })
    })
}

/// Every index in an accepted machine points at something.
fn assert_indices_in_bounds(m: &StateMachine) {
    assert!(!m.scopes.is_empty());
    for (i, scope) in m.scopes.iter().enumerate() {
        let n = scope.states.len();
        assert!((scope.start_at.0 as usize) < n, "start_at out of bounds");
        if let Some(parent) = scope.parent {
            assert!((parent.0 as usize) < i, "parent after child");
        }
        for state in &scope.states {
            if let Transition::Next(id) = state.transition {
                assert!((id.0 as usize) < n);
            }
            for c in &state.catch {
                assert!((c.next.0 as usize) < n);
            }
            match &state.kind {
                StateKind::Choice(choice) => {
                    for b in &choice.choices {
                        assert!((b.next.0 as usize) < n);
                    }
                    if let Some(d) = choice.default {
                        assert!((d.0 as usize) < n);
                    }
                }
                StateKind::Parallel(p) => {
                    for b in &p.branches {
                        assert!((b.0 as usize) < m.scopes.len() && b.0 as usize > i);
                    }
                }
                StateKind::Map(map) => {
                    assert!(
                        (map.processor.0 as usize) < m.scopes.len() && map.processor.0 as usize > i
                    );
                }
                _ => {}
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        let _ = parse_definition(&text, ParseOptions::default());
    }

    #[test]
    fn json_like_text_never_panics(text in "[\\[\\]{}\",:0-9a-zA-Z \\\\.\\-+eE\\n\\t/]{0,200}") {
        let _ = parse_definition(&text, ParseOptions::default());
    }

    #[test]
    fn arbitrary_json_never_panics(value in any_json(), express in any::<bool>()) {
        let options = ParseOptions { express };
        if let Ok(m) = parse_definition_value(&value, options) {
            assert_indices_in_bounds(&m);
        }
        if let Ok(m) = parse_state_definition(&value, options) {
            assert_indices_in_bounds(&m);
        }
        let _ = parse_definition(&value.to_string(), options);
    }

    #[test]
    fn asl_shaped_json_never_panics(machine in asl_machine(), state in asl_json(), express in any::<bool>()) {
        let options = ParseOptions { express };
        if let Ok(m) = parse_definition_value(&machine, options) {
            assert_indices_in_bounds(&m);
        }
        if let Ok(m) = parse_state_definition(&state, options) {
            assert_indices_in_bounds(&m);
        }
    }

    /// Cutting a valid definition anywhere gives a Jackson-style error, never a panic.
    #[test]
    fn truncated_definitions_never_panic(cut in 0usize..400) {
        let text = r#"{"Comment":"é ✓ 𝄞","StartAt":"A","States":{"A":{"Type":"Pass","Result":[1,2.5e3,-0,true,null,"\u00e9\n"],"Next":"B"},"B":{"Type":"Succeed"}}}"#;
        let cut = text.char_indices().map(|(i, _)| i).rfind(|i| *i <= cut).unwrap_or(0);
        let result = parse_definition(&text[..cut], ParseOptions::default());
        if cut < text.len() {
            let ds = result.unwrap_err();
            prop_assert_eq!(ds.0.len(), 1);
        }
    }
}

#[test]
fn every_state_type_in_one_generated_style_machine_is_accepted() {
    // A sanity anchor for the generators above: the vocabulary does produce valid machines.
    let m = parse_definition_value(
        &json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}),
        ParseOptions::default(),
    )
    .unwrap();
    assert_indices_in_bounds(&m);
}
