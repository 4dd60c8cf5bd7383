//! Definition validation against AWS's recorded answers.
//!
//! * `definition_validation/**`: the diagnostics of `ValidateStateMachineDefinition`
//!   (code, message, location, in order) and the joined `InvalidDefinition` message of
//!   `CreateStateMachine`, compared exactly.
//! * `test_state/**`: the `InvalidDefinition` answers that are about the definition itself
//!   (`Invalid State Machine Definition: …`) compared exactly; every other request's
//!   definition must parse (the single state, or the machine when
//!   `request_definition_is_full_state_machine`).
//! * `pure/`, `with_lambda/`, `with_services/`: AWS accepted every definition, so each must
//!   parse.
//!
//! Cases that cannot pass are listed with their reason in `asl_validation_known_gaps.txt`;
//! a listed case that starts passing fails the run too, so the list stays true.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use baton_asl::parse::{ParseOptions, parse_definition, parse_state_definition};
use baton_asl::{Diagnostics, StateMachine};
use serde_json::Value;

const KNOWN_GAPS: &str = include_str!("asl_validation_known_gaps.txt");

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/asl")
}

fn case_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            case_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// Puts concrete values where the recording has placeholders AWS never saw: the activity
/// tests name their activity `activity_arn`.
fn fill_placeholders(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "Resource" && v.as_str() == Some("activity_arn") {
                    *v = Value::String(
                        "arn:aws:states:us-east-1:111111111111:activity:activity_arn".to_owned(),
                    );
                } else {
                    fill_placeholders(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(fill_placeholders),
        _ => {}
    }
}

/// Parses a definition through the text entry point, as the API layer will.
fn parse_text(definition: &Value, options: ParseOptions) -> Result<StateMachine, Diagnostics> {
    match definition {
        Value::String(raw) => parse_definition(raw, options),
        other => {
            let mut filled = other.clone();
            fill_placeholders(&mut filled);
            parse_definition(&filled.to_string(), options)
        }
    }
}

fn summary(ds: &Diagnostics) -> String {
    ds.iter()
        .map(|d| {
            format!(
                "{} | {} | {}",
                d.code,
                d.message,
                d.location.as_deref().unwrap_or("-")
            )
        })
        .collect::<Vec<_>>()
        .join("\n      ")
}

/// `Ok(())` if the case matches AWS, else the reason.
fn check_validation_case(case: &Value) -> Result<(), String> {
    let express = case["request_params"]["type"] == "EXPRESS";
    let options = ParseOptions { express };
    let result = parse_text(&case["definition"], options);
    match case["api"].as_str() {
        Some("CreateStateMachine") => {
            let expected = case["expected_error_response"]["Error"]["Message"]
                .as_str()
                .ok_or("no expected message")?;
            match result {
                Ok(_) => Err(format!("accepted; AWS said {expected}")),
                Err(ds) if ds.invalid_definition_message() == expected => Ok(()),
                Err(ds) => Err(format!(
                    "expected {expected}\n      got      {}",
                    ds.invalid_definition_message()
                )),
            }
        }
        Some("ValidateStateMachineDefinition") => {
            let expected: Vec<(String, String, Option<String>)> =
                case["expected_response"]["diagnostics"]
                    .as_array()
                    .ok_or("no expected diagnostics")?
                    .iter()
                    .map(|d| {
                        (
                            d["code"].as_str().unwrap_or_default().to_owned(),
                            d["message"].as_str().unwrap_or_default().to_owned(),
                            d["location"].as_str().map(str::to_owned),
                        )
                    })
                    .collect();
            let got: Vec<(String, String, Option<String>)> = match &result {
                Ok(_) => Vec::new(),
                Err(ds) => ds
                    .iter()
                    .map(|d| (d.code.to_owned(), d.message.clone(), d.location.clone()))
                    .collect(),
            };
            if got == expected {
                Ok(())
            } else {
                Err(format!("expected {expected:?}\n      got      {got:?}"))
            }
        }
        other => Err(format!("unknown api {other:?}")),
    }
}

fn check_test_state_case(case: &Value) -> Result<(), String> {
    let request = &case["request"];
    let definition = &request["definition"];
    let full = case["request_definition_is_full_state_machine"] == true;
    let result = if full {
        parse_text(definition, ParseOptions::default())
    } else {
        let mut filled = definition.clone();
        fill_placeholders(&mut filled);
        parse_state_definition(&filled, ParseOptions::default())
    };
    let about_definition = case["expected_error_response"]["Error"]["Code"] == "InvalidDefinition"
        && case["expected_error_response"]["Error"]["Message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Invalid State Machine Definition:"));
    if about_definition {
        let expected = case["expected_error_response"]["Error"]["Message"]
            .as_str()
            .unwrap_or_default();
        return match result {
            Ok(_) => Err(format!("accepted; AWS said {expected}")),
            Err(ds) if ds.invalid_definition_message() == expected => Ok(()),
            Err(ds) => Err(format!(
                "expected {expected}\n      got      {}",
                ds.invalid_definition_message()
            )),
        };
    }
    result
        .map(|_| ())
        .map_err(|ds| format!("AWS accepted the definition; got\n      {}", summary(&ds)))
}

fn check_execution_case(case: &Value) -> Result<(), String> {
    let express = case["state_machine_type"] == "EXPRESS";
    parse_text(&case["definition"], ParseOptions { express })
        .map(|_| ())
        .map_err(|ds| format!("AWS accepted the definition; got\n      {}", summary(&ds)))
}

#[test]
fn asl_definitions_validate_like_aws() {
    let root = corpus_root();
    assert!(
        root.join("README.md").exists(),
        "ASL corpus not found at {}",
        root.display()
    );
    let known_gaps: BTreeMap<&str, &str> = KNOWN_GAPS
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .collect();

    let mut unexpected = Vec::new();
    let mut stale_gaps = Vec::new();
    for folder in [
        "definition_validation",
        "test_state",
        "pure",
        "with_lambda",
        "with_services",
    ] {
        let mut files = Vec::new();
        case_files(&root.join(folder), &mut files);
        let (mut passed, mut failed, mut gaps) = (0usize, 0usize, 0usize);
        for file in &files {
            let id = file
                .strip_prefix(&root)
                .unwrap_or(file)
                .with_extension("")
                .to_string_lossy()
                .into_owned();
            let outcome = match std::fs::read_to_string(file)
                .map_err(|e| e.to_string())
                .and_then(|text| serde_json::from_str::<Value>(&text).map_err(|e| e.to_string()))
            {
                Err(e) => Err(format!("unreadable case: {e}")),
                Ok(case) => match folder {
                    "definition_validation" => check_validation_case(&case),
                    "test_state" => check_test_state_case(&case),
                    _ => check_execution_case(&case),
                },
            };
            match (outcome, known_gaps.get(id.as_str())) {
                (Ok(()), None) => passed += 1,
                (Ok(()), Some(_)) => {
                    passed += 1;
                    stale_gaps.push(id);
                }
                (Err(_), Some(_)) => gaps += 1,
                (Err(reason), None) => {
                    failed += 1;
                    println!("FAIL {id}\n      {reason}");
                    unexpected.push(id);
                }
            }
        }
        println!("{folder}: {passed} passed, {failed} failed ({gaps} known gaps)");
    }
    for id in &stale_gaps {
        println!("NOW PASSING (remove from known gaps): {id}");
    }
    assert!(
        unexpected.is_empty() && stale_gaps.is_empty(),
        "{} unexpected failures, {} stale known gaps",
        unexpected.len(),
        stale_gaps.len()
    );
}
