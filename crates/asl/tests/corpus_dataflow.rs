//! The data-flow evaluators against AWS's recorded outcomes
//! (`../shared/conformance/asl`): every pure JSONPath machine made only of Pass, Choice,
//! Wait, Succeed, Fail, Map and Parallel states without Retry/Catch/Assign (intrinsic
//! functions, all 491 Choice operator cases, path errors, Wait and Map `…Path` causes),
//! and the TestState Pass cases whose
//! `inspectionData` records each step (afterInputPath, afterParameters, afterResultPath).
//!
//! The machines are walked by a small driver written here from the evaluators alone, so
//! this checks the evaluators, not the interpreter.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use baton_asl::choice::ChoiceRule;
use baton_asl::dataflow;
use baton_asl::diagnostic::Diagnostics;
use baton_asl::eval::{Bindings, Entropy, EvalError, NoVariables};
use baton_asl::model::{Dynamic, OptionalPath, OptionalReferencePath, Wait};
use baton_asl::path::{Path, ReferencePath};
use baton_asl::template::Template;
use serde_json::{Value, json};

fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("BATON_ASL_CORPUS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/asl"),
        PathBuf::from,
    );
    assert!(
        dir.join("README.md").exists(),
        "the ASL conformance corpus is not at {} (set BATON_ASL_CORPUS)",
        dir.display()
    );
    dir
}

fn cases(sub: &str) -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = Vec::new();
    let root = corpus_dir().join(sub);
    for group in std::fs::read_dir(&root).unwrap() {
        let group = group.unwrap().path();
        if group.is_dir() {
            for f in std::fs::read_dir(&group).unwrap() {
                files.push(f.unwrap().path());
            }
        } else if group.extension().is_some_and(|e| e == "json") {
            files.push(group);
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            let name = f.strip_prefix(&root).unwrap().display().to_string();
            (name, serde_json::from_str(&text).unwrap())
        })
        .collect()
}

/// Cases this driver cannot reproduce, with the reason. Keep in sync with the report.
fn known_gaps() -> BTreeSet<&'static str> {
    BTreeSet::from([])
}

struct Fixed(u64);

impl Entropy for Fixed {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1);
        self.0
    }
    fn now_millis(&self) -> i64 {
        NOW_MILLIS
    }
}

/// 2024-01-01T00:00:00Z.
const NOW_MILLIS: i64 = 1_704_067_200_000;

#[derive(Debug)]
enum Outcome {
    Succeeded(Value),
    Failed {
        state: String,
        error: Option<String>,
        cause: Option<String>,
    },
}

fn optional_path(state: &Value, field: &str) -> OptionalPath {
    match state.get(field) {
        None => OptionalPath::Default,
        Some(Value::Null) => OptionalPath::Null,
        Some(v) => OptionalPath::Path(Path::parse(v.as_str().unwrap()).unwrap()),
    }
}

fn optional_reference_path(state: &Value) -> OptionalReferencePath {
    match state.get("ResultPath") {
        None => OptionalReferencePath::Default,
        Some(Value::Null) => OptionalReferencePath::Null,
        Some(v) => OptionalReferencePath::Path(ReferencePath::parse(v.as_str().unwrap()).unwrap()),
    }
}

fn template(state: &Value, field: &str) -> Option<Template> {
    state.get(field).map(|v| {
        let mut d = Diagnostics::default();
        let t = Template::compile_jsonpath(v, "/", &mut d);
        assert!(d.is_empty(), "{d:?}");
        t
    })
}

fn bindings<'a>(input: &'a Value, context: &'a Value) -> Bindings<'a> {
    Bindings {
        input,
        context,
        variables: &NoVariables,
        result: None,
        error_output: None,
    }
}

/// The context object as AWS builds it; `express` machines have `express:` execution
/// ARNs, and synchronous express executions have no redrive count.
fn context(input: &Value, state: &str, express: bool, sync: bool) -> Value {
    let mut ctx = json!({
        "Execution": {
            "Id": "arn:aws:states:us-east-1:111111111111:execution:machine-name:exec-name",
            "Input": input,
            "Name": "exec-name",
            "RoleArn": "arn:aws:iam::111111111111:role/role",
            "StartTime": "2024-01-01T00:00:00.000Z",
            "RedriveCount": 0
        },
        "StateMachine": {
            "Id": "arn:aws:states:us-east-1:111111111111:stateMachine:machine-name",
            "Name": "machine-name"
        },
        "State": {"Name": state, "EnteredTime": "2024-01-01T00:00:00.000Z"}
    });
    if express {
        ctx["Execution"]["Id"] =
            json!("arn:aws:states:us-east-1:111111111111:express:machine-name:exec-name:run-id");
    }
    if sync && let Some(execution) = ctx["Execution"].as_object_mut() {
        execution.remove("RedriveCount");
    }
    ctx
}

/// A Map `…Path` field's validation.
type PathCheck = fn(&Path, &Bindings<'_>) -> Result<(), EvalError>;

/// What stays the same across one execution.
struct Env {
    execution_input: Value,
    express: bool,
    sync: bool,
}

/// Walks a machine (or a Map processor, or a Parallel branch) with the evaluators.
fn run(env: &Env, definition: &Value, input: &Value) -> Outcome {
    let states = &definition["States"];
    let mut name = definition["StartAt"].as_str().unwrap().to_owned();
    let mut value = input.clone();
    let mut entropy = Fixed(7);
    for _ in 0..1000 {
        let state = &states[&name];
        let ctx = context(&env.execution_input, &name, env.express, env.sync);
        let fail = |e: EvalError| Outcome::Failed {
            state: name.clone(),
            error: Some(e.error),
            cause: Some(e.cause),
        };
        let effective = match dataflow::apply_input_path(
            &optional_path(state, "InputPath"),
            &bindings(&value, &ctx),
        ) {
            Ok(v) => v,
            Err(e) => return fail(e),
        };
        let ty = state["Type"].as_str().unwrap();
        let output_source = match ty {
            "Pass" => {
                let params = match dataflow::apply_parameters(
                    template(state, "Parameters").as_ref(),
                    &bindings(&effective, &ctx),
                    &mut entropy,
                ) {
                    Ok(v) => v,
                    Err(e) => return fail(e),
                };
                let result = state.get("Result").cloned().unwrap_or(params);
                if let Err(e) = dataflow::check_payload_size(&name, result.to_string().len()) {
                    return fail(e);
                }
                match dataflow::apply_result_path(
                    &optional_reference_path(state),
                    value.clone(),
                    result,
                ) {
                    Ok(v) => v,
                    Err(e) => return fail(e),
                }
            }
            "Fail" => {
                let dynamic = |fixed: &str, path: &str| {
                    state
                        .get(fixed)
                        .map(|v| Dynamic::Fixed(v.as_str().unwrap().to_owned()))
                        .or_else(|| {
                            state.get(path).map(|p| {
                                Dynamic::Path(
                                    Path::parse_path_or_intrinsic(p.as_str().unwrap()).unwrap(),
                                )
                            })
                        })
                };
                let b = bindings(&value, &ctx);
                let error = match dynamic("Error", "ErrorPath")
                    .map(|d| dataflow::fail_error(&d, &b, &mut entropy))
                    .transpose()
                {
                    Ok(v) => v,
                    Err(e) => return fail(e),
                };
                let cause = match dynamic("Cause", "CausePath")
                    .map(|d| dataflow::fail_cause(&d, &b, &mut entropy))
                    .transpose()
                {
                    Ok(v) => v,
                    Err(e) => return fail(e),
                };
                return Outcome::Failed {
                    state: name.clone(),
                    error,
                    cause,
                };
            }
            "Wait" => {
                let wait = if let Some(s) = state.get("Seconds") {
                    Wait::Seconds(Dynamic::Fixed(s.as_u64().unwrap()))
                } else if let Some(p) = state.get("SecondsPath") {
                    Wait::Seconds(Dynamic::Path(Path::parse(p.as_str().unwrap()).unwrap()))
                } else if let Some(t) = state.get("Timestamp") {
                    Wait::Timestamp(Dynamic::Fixed(t.as_str().unwrap().to_owned()))
                } else {
                    let p = state["TimestampPath"].as_str().unwrap();
                    Wait::Timestamp(Dynamic::Path(Path::parse(p).unwrap()))
                };
                if let Err(e) = dataflow::wait_delay_millis(
                    &wait,
                    &bindings(&effective, &ctx),
                    &mut entropy,
                    NOW_MILLIS,
                ) {
                    return fail(e);
                }
                effective.clone()
            }
            "Choice" | "Succeed" => effective.clone(),
            "Map" => {
                let b = bindings(&effective, &ctx);
                let items_path = Path::parse(
                    state
                        .get("ItemsPath")
                        .and_then(Value::as_str)
                        .unwrap_or("$"),
                )
                .unwrap();
                let items = match dataflow::items_path(&items_path, &b) {
                    Ok(items) => items,
                    Err(e) => return fail(e),
                };
                let checks: [(&str, PathCheck); 3] = [
                    ("MaxConcurrencyPath", |p, b| {
                        dataflow::max_concurrency_path(p, b).map(drop)
                    }),
                    ("ToleratedFailureCountPath", |p, b| {
                        dataflow::tolerated_failure_count_path(p, b).map(drop)
                    }),
                    ("ToleratedFailurePercentagePath", |p, b| {
                        dataflow::tolerated_failure_percentage_path(p, b).map(drop)
                    }),
                ];
                for (field, check) in checks {
                    if let Some(p) = state.get(field)
                        && let Err(e) = check(&Path::parse(p.as_str().unwrap()).unwrap(), &b)
                    {
                        return fail(e);
                    }
                }
                let processor = state
                    .get("ItemProcessor")
                    .or_else(|| state.get("Iterator"))
                    .unwrap();
                let selector =
                    template(state, "ItemSelector").or_else(|| template(state, "Parameters"));
                let mut results = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    let mut item_ctx = ctx.clone();
                    item_ctx["Map"] = json!({"Item": {"Index": index, "Value": item}});
                    let iteration_input = match dataflow::apply_item_selector(
                        selector.as_ref(),
                        item,
                        &bindings(&effective, &item_ctx),
                        &mut entropy,
                    ) {
                        Ok(v) => v,
                        Err(e) => return fail(e),
                    };
                    match run(env, processor, &iteration_input) {
                        Outcome::Succeeded(v) => results.push(v),
                        Outcome::Failed { error, cause, .. } => {
                            return Outcome::Failed {
                                state: name.clone(),
                                error,
                                cause,
                            };
                        }
                    }
                }
                match finish_task_like(
                    state,
                    value.clone(),
                    Value::Array(results),
                    &ctx,
                    &mut entropy,
                ) {
                    Ok(v) => v,
                    Err(e) => return fail(e),
                }
            }
            "Parallel" => {
                let branch_input = match dataflow::apply_parameters(
                    template(state, "Parameters").as_ref(),
                    &bindings(&effective, &ctx),
                    &mut entropy,
                ) {
                    Ok(v) => v,
                    Err(e) => return fail(e),
                };
                let mut results = Vec::new();
                for branch in state["Branches"].as_array().unwrap() {
                    match run(env, branch, &branch_input) {
                        Outcome::Succeeded(v) => results.push(v),
                        Outcome::Failed { error, cause, .. } => {
                            return Outcome::Failed {
                                state: name.clone(),
                                error,
                                cause,
                            };
                        }
                    }
                }
                match finish_task_like(
                    state,
                    value.clone(),
                    Value::Array(results),
                    &ctx,
                    &mut entropy,
                ) {
                    Ok(v) => v,
                    Err(e) => return fail(e),
                }
            }
            other => panic!("unexpected state type {other}"),
        };
        let output = match dataflow::apply_output_path(
            &optional_path(state, "OutputPath"),
            &bindings(&output_source, &ctx),
        ) {
            Ok(v) => v,
            Err(e) => return fail(e),
        };
        let next = if ty == "Choice" {
            let mut chosen = None;
            for (i, rule) in state["Choices"].as_array().unwrap().iter().enumerate() {
                let mut d = Diagnostics::default();
                let compiled = ChoiceRule::compile_jsonpath(
                    rule.as_object().unwrap(),
                    &format!("/States/{name}/Choices/{i}"),
                    &mut d,
                );
                assert!(d.is_empty(), "{d:?}");
                match compiled.evaluate(&bindings(&effective, &ctx), &mut entropy) {
                    Ok(true) => {
                        chosen = Some(rule["Next"].as_str().unwrap().to_owned());
                        break;
                    }
                    Ok(false) => {}
                    Err(e) => return fail(e),
                }
            }
            match chosen.or_else(|| {
                state
                    .get("Default")
                    .and_then(|d| d.as_str())
                    .map(str::to_owned)
            }) {
                Some(next) => Some(next),
                None => {
                    return Outcome::Failed {
                        state: name.clone(),
                        error: Some("States.NoChoiceMatched".into()),
                        cause: None,
                    };
                }
            }
        } else if ty == "Succeed" || state.get("End") == Some(&Value::Bool(true)) {
            None
        } else {
            Some(state["Next"].as_str().unwrap().to_owned())
        };
        value = output;
        match next {
            Some(n) => name = n,
            None => return Outcome::Succeeded(value),
        }
    }
    panic!("the machine did not finish in 1000 transitions")
}

/// `ResultSelector` then `ResultPath` on a Map's or Parallel's collected results.
fn finish_task_like(
    state: &Value,
    raw_input: Value,
    result: Value,
    ctx: &Value,
    entropy: &mut dyn Entropy,
) -> Result<Value, EvalError> {
    let selected = dataflow::apply_result_selector(
        template(state, "ResultSelector").as_ref(),
        &bindings(&result, ctx),
        entropy,
    )?;
    dataflow::apply_result_path(&optional_reference_path(state), raw_input, selected)
}

/// Placeholder-aware comparison (see the corpus README).
fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::String(e), _)
            if matches!(
                e.as_str(),
                "date"
                    | "timestamp"
                    | "start-time"
                    | "snf_role_arn"
                    | "sfn_role_arn"
                    | "entered-time"
                    | "RandomNumberGenerated"
                    | "generated-uuid"
            ) =>
        {
            true
        }
        (Value::String(e), Value::String(a)) => text_matches(e, a),
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len()
                && e.iter()
                    .all(|(k, v)| a.get(k).is_some_and(|av| matches(v, av)))
        }
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| matches(x, y))
        }
        (e, a) => e == a,
    }
}

/// `<placeholder>` segments in the expected text match any run of characters.
fn text_matches(expected: &str, actual: &str) -> bool {
    let mut literal_parts: Vec<&str> = Vec::new();
    let mut rest = expected;
    while let Some(open) = rest.find('<') {
        match rest[open..].find('>') {
            Some(close) => {
                literal_parts.push(&rest[..open]);
                rest = &rest[open + close + 1..];
            }
            None => break,
        }
    }
    if literal_parts.is_empty() {
        return expected == actual;
    }
    literal_parts.push(rest);
    let mut remaining = actual;
    let last = literal_parts.len() - 1;
    for (i, part) in literal_parts.iter().enumerate() {
        if i == 0 {
            match remaining.strip_prefix(part) {
                Some(r) => remaining = r,
                None => return false,
            }
        } else if i == last {
            return remaining.ends_with(part);
        } else {
            match remaining.find(part) {
                Some(at) => remaining = &remaining[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

fn runnable(case: &Value) -> bool {
    if case["query_language"] != "JSONPath" {
        return false;
    }
    if !matches!(
        case["expected"]["status"].as_str(),
        Some("SUCCEEDED" | "FAILED")
    ) {
        return false;
    }
    let text = case["definition"].to_string();
    if [
        "\"Assign\"",
        "\"ItemReader\"",
        "\"ResultWriter\"",
        "\"Retry\"",
        "\"Catch\"",
    ]
    .iter()
    .any(|field| text.contains(field))
    {
        return false;
    }
    scope_runnable(&case["definition"])
}

/// Every state, nested ones included, is one the driver knows.
fn scope_runnable(scope: &Value) -> bool {
    scope["States"].as_object().unwrap().values().all(|s| {
        s.get("QueryLanguage").is_none()
            && match s["Type"].as_str() {
                Some("Pass" | "Choice" | "Wait" | "Succeed" | "Fail") => true,
                Some("Map") => s
                    .get("ItemProcessor")
                    .or_else(|| s.get("Iterator"))
                    .is_some_and(scope_runnable),
                Some("Parallel") => s["Branches"].as_array().unwrap().iter().all(scope_runnable),
                _ => false,
            }
    })
}

fn check_case(case: &Value) -> Result<(), String> {
    let expected = &case["expected"];
    let express = case["state_machine_type"] == "EXPRESS";
    let sync = case["start_api"] == "StartSyncExecution";
    let env = Env {
        execution_input: case["input"].clone(),
        express,
        sync,
    };
    let outcome = run(&env, &case["definition"], &case["input"]);
    match (expected["status"].as_str(), &outcome) {
        (Some("SUCCEEDED"), Outcome::Succeeded(out)) if matches(&expected["output"], out) => Ok(()),
        (
            Some("FAILED"),
            Outcome::Failed {
                state,
                error,
                cause,
            },
        ) => {
            let want_error = expected.get("error").and_then(Value::as_str);
            if want_error != error.as_deref() {
                return Err(format!("error {error:?}, expected {want_error:?}"));
            }
            let want_cause = expected.get("cause").and_then(Value::as_str);
            let ok = match (want_cause, cause) {
                (None, None) => true,
                (Some(w), Some(c)) => {
                    // Runtime causes carry the interpreter's prefix; user causes do not.
                    text_matches(w, c)
                        || (w.starts_with(&format!(
                            "An error occurred while executing the state '{state}' (entered at the event id #"
                        )) && w.split_once("). ").is_some_and(|(_, tail)| text_matches(tail, c)))
                }
                _ => false,
            };
            if ok {
                Ok(())
            } else {
                Err(format!("cause {cause:?}, expected {want_cause:?}"))
            }
        }
        _ => {
            let mut shown = format!("got {outcome:?}, expected {expected}");
            shown.truncate(1500);
            Err(shown)
        }
    }
}

#[test]
fn pure_jsonpath_machines_match_aws() {
    let gaps = known_gaps();
    let mut passed = 0;
    let mut failures = Vec::new();
    let mut gap_hits = 0;
    for (name, case) in cases("pure") {
        if !runnable(&case) {
            continue;
        }
        let result = std::panic::catch_unwind(|| check_case(&case))
            .unwrap_or_else(|_| Err("panicked".to_owned()));
        match result {
            Ok(()) => passed += 1,
            Err(_) if gaps.contains(name.as_str()) => gap_hits += 1,
            Err(why) => failures.push(format!("{name}: {why}")),
        }
    }
    println!(
        "pure JSONPath machines (Pass/Choice/Wait/Succeed/Fail/Map/Parallel): {passed} passed, {} failed, {gap_hits} known gaps",
        failures.len()
    );
    assert!(passed >= 770, "only {passed} cases ran");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// TestState Pass cases record the value after each step.
#[test]
fn test_state_pass_inspection_data() {
    let mut checked = 0;
    for (name, case) in cases("test_state/pure") {
        let request = &case["request"];
        let definition = &request["definition"];
        if definition["Type"] != "Pass"
            || request.get("request_definition_is_full_state_machine") == Some(&Value::Bool(true))
            || request.get("variables").is_some()
            || request.get("mock").is_some()
        {
            continue;
        }
        let Some(response) = case.get("expected_response") else {
            continue;
        };
        let input = &request["input"];
        let ctx = context(input, "StateName", false, false);
        let mut entropy = Fixed(1);
        let after_input = dataflow::apply_input_path(
            &optional_path(definition, "InputPath"),
            &bindings(input, &ctx),
        )
        .unwrap();
        let after_params = dataflow::apply_parameters(
            template(definition, "Parameters").as_ref(),
            &bindings(&after_input, &ctx),
            &mut entropy,
        )
        .unwrap();
        let result = definition
            .get("Result")
            .cloned()
            .unwrap_or(after_params.clone());
        let after_result = dataflow::apply_result_path(
            &optional_reference_path(definition),
            input.clone(),
            result,
        )
        .unwrap();
        let output = dataflow::apply_output_path(
            &optional_path(definition, "OutputPath"),
            &bindings(&after_result, &ctx),
        )
        .unwrap();
        if let Some(data) = response.get("inspectionData") {
            for (key, actual) in [
                ("afterInputPath", &after_input),
                ("afterParameters", &after_params),
                ("afterResultPath", &after_result),
            ] {
                if let Some(want) = data.get(key) {
                    assert!(
                        matches(want, actual),
                        "{name}: {key} {actual}, expected {want}"
                    );
                }
            }
        }
        assert!(
            matches(&response["output"], &output),
            "{name}: output {output}"
        );
        checked += 1;
    }
    println!("TestState Pass cases checked: {checked}");
    assert!(checked >= 10, "only {checked} TestState Pass cases ran");
}

#[test]
fn placeholder_matching() {
    assert!(text_matches("a <x:1> b", "a anything b"));
    assert!(text_matches("<ArnPart_0idx>", "machine"));
    assert!(!text_matches("a <x> b", "a anything c"));
    assert!(matches(
        &json!({"t": "date"}),
        &json!({"t": "2024-01-01T00:00:00Z"})
    ));
    assert!(!matches(&json!([1]), &json!([1.0])));
}
