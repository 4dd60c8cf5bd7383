//! EventBridge conformance: the AWS-recorded corpus in `../shared/conformance/events/`.
//!
//! Each file prints `N passed, M failed`. A case listed in [`KNOWN_GAPS`] is
//! reported but does not fail the test; every other failure does.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;

use baton_events::{Matcher, Pattern, validate_test_event};
use serde_json::Value;

/// Cases that cannot pass, with the reason. Empty when everything passes.
const KNOWN_GAPS: &[(&str, &str)] = &[];

fn corpus(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/conformance/events")
        .join(rel)
}

fn read_cases(rel: &str) -> Vec<Value> {
    let path = corpus(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("corpus line is JSON"))
        .collect()
}

fn text_of(case: &Value, text_key: &str, value_key: &str) -> String {
    match case.get(text_key).and_then(Value::as_str) {
        Some(t) => t.to_owned(),
        None => case[value_key].to_string(),
    }
}

/// Runs one file's cases; returns the failures that are not known gaps.
fn report(file: &str, results: Vec<(String, Result<(), String>)>) -> Vec<String> {
    let mut passed = 0;
    let mut failed = 0;
    let mut unexpected = Vec::new();
    for (name, r) in results {
        match r {
            Ok(()) => passed += 1,
            Err(why) => {
                failed += 1;
                match KNOWN_GAPS.iter().find(|(n, _)| *n == name) {
                    Some((_, reason)) => eprintln!("known gap {file} {name}: {reason} ({why})"),
                    None => unexpected.push(format!("{file} {name}: {why}")),
                }
            }
        }
    }
    println!("{file}: {passed} passed, {failed} failed");
    unexpected
}

fn pattern_case(case: &Value) -> Result<(), String> {
    let pattern_text = text_of(case, "pattern_text", "pattern");
    let event_text = text_of(case, "event_text", "event");
    let expected = &case["expected"];
    let parsed = Pattern::parse(&pattern_text);
    if let Some(err) = expected.get("error").and_then(Value::as_str) {
        let want = expected["message"].as_str().unwrap_or_default();
        if err == "ValidationException" {
            let pattern = parsed.map_err(|e| format!("pattern refused: {}", e.message()))?;
            return match validate_test_event(&event_text) {
                Err(e) if e.message() == want => Ok(()),
                Err(e) => Err(format!("message {:?}, want {want:?}", e.message())),
                Ok(v) => Err(format!(
                    "event accepted (match = {})",
                    pattern.matches_json(&v)
                )),
            };
        }
        return match parsed {
            Err(e) if e.name() == err && e.message() == want => Ok(()),
            Err(e) => Err(format!(
                "got {}: {:?}, want {err}: {want:?}",
                e.name(),
                e.message()
            )),
            Ok(_) => Err(format!("pattern accepted, want {err}: {want:?}")),
        };
    }
    let want = expected["match"].as_bool().ok_or("no expectation")?;
    let pattern = parsed.map_err(|e| format!("pattern refused: {}", e.message()))?;
    let event: Value = if case["api"] == "TestEventPattern" {
        validate_test_event(&event_text).map_err(|e| e.to_string())?
    } else {
        serde_json::from_str(&event_text).map_err(|e| e.to_string())?
    };
    let interpreted = pattern.matches_json(&event);
    let mut matcher = Matcher::new();
    matcher.add_rule("rule", &pattern);
    let compiled = !matcher
        .matches(&event_text)
        .map_err(|e| format!("matcher: {e}"))?
        .is_empty();
    if interpreted == want && compiled == want {
        Ok(())
    } else {
        Err(format!(
            "interpreter {interpreted}, matcher {compiled}, want {want}"
        ))
    }
}

#[test]
fn event_patterns() {
    let cases = read_cases("event-patterns.jsonl");
    assert_eq!(cases.len(), 185, "the corpus has 185 pattern cases");
    let results = cases
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or("?").to_owned(),
                pattern_case(c),
            )
        })
        .collect();
    let bad = report("event-patterns.jsonl", results);
    assert!(bad.is_empty(), "unexpected failures:\n{}", bad.join("\n"));
}

/// Replaces the snapshot mask `<ingestion-time>` (the recorder's name for the
/// ingestion time it saw) with the ingestion time the case's context gives.
fn unmask(v: &mut Value, ingestion_time: &str) {
    match v {
        Value::String(s) if s == "<ingestion-time>" => *s = ingestion_time.to_owned(),
        Value::Array(items) => items.iter_mut().for_each(|i| unmask(i, ingestion_time)),
        Value::Object(m) => m.values_mut().for_each(|i| unmask(i, ingestion_time)),
        _ => {}
    }
}

fn transformer_case(case: &Value) -> Result<(), String> {
    use baton_events::{DeliveryContext, InputTransform};
    let target = &case["target"];
    let context = &case["context"];
    let ctx = DeliveryContext {
        rule_arn: context["rule-arn"].as_str().unwrap_or_default().to_owned(),
        rule_name: context["rule-name"].as_str().unwrap_or_default().to_owned(),
        ingestion_time: context["ingestion-time"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    };
    let transformer = target.get("InputTransformer").map(|t| {
        let map: Vec<(String, String)> = t
            .get("InputPathsMap")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        (
            map,
            t["InputTemplate"].as_str().unwrap_or_default().to_owned(),
        )
    });
    let parsed = InputTransform::parse(
        "<target-id>",
        target.get("Input").and_then(Value::as_str),
        target.get("InputPath").and_then(Value::as_str),
        transformer
            .as_ref()
            .map(|(m, t)| (m.as_slice(), t.as_str())),
    );
    let expected = &case["expected"];
    if let Some(code) = expected.get("put_targets_error").and_then(Value::as_str) {
        let want = expected["message"].as_str().unwrap_or_default();
        return match parsed {
            Err(e) if e.name() == code && e.message == want => Ok(()),
            Err(e) => Err(format!("got {:?}, want {want:?}", e.message)),
            Ok(_) => Err("PutTargets accepted the target".to_owned()),
        };
    }
    let transform = parsed.map_err(|e| format!("PutTargets refused: {}", e.message))?;
    let delivered = transform.apply(&case["event"], &ctx);
    if expected.get("delivered") == Some(&Value::Bool(false)) {
        return match delivered {
            Err(_) => Ok(()),
            Ok(body) => Err(format!("delivered {body:?}")),
        };
    }
    let body = delivered.map_err(|e| format!("not delivered: {e}"))?;
    if let Some(want) = expected.get("output_text").and_then(Value::as_str) {
        return if body == want {
            Ok(())
        } else {
            Err(format!("body {body:?}, want {want:?}"))
        };
    }
    let mut want = expected["output_json"].clone();
    unmask(&mut want, &ctx.ingestion_time);
    let got: Value =
        serde_json::from_str(&body).map_err(|e| format!("body {body:?} is not JSON: {e}"))?;
    if got == want {
        Ok(())
    } else {
        Err(format!("body {got}, want {want}"))
    }
}

#[test]
fn input_transformers() {
    let cases = read_cases("input-transformers/input-transformer-cases.jsonl");
    assert_eq!(cases.len(), 35, "the corpus has 35 input-transformer cases");
    let results = cases
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or("?").to_owned(),
                transformer_case(c),
            )
        })
        .collect();
    let bad = report("input-transformer-cases.jsonl", results);
    assert!(bad.is_empty(), "unexpected failures:\n{}", bad.join("\n"));
}

fn schedule_case(case: &Value) -> Result<(), String> {
    use baton_events::Schedule;
    let expr = case["expression"].as_str().ok_or("no expression")?;
    let on_default_bus = case.get("event_bus").and_then(Value::as_str) != Some("custom");
    let got = Schedule::parse_for_rule(expr, on_default_bus);
    let expected = &case["expected"];
    match (expected["valid"].as_bool(), got) {
        (Some(true), Ok(_)) => Ok(()),
        (Some(true), Err(e)) => Err(format!("refused: {}", e.message)),
        (Some(false), Ok(_)) => Err("accepted".to_owned()),
        (Some(false), Err(e)) => {
            let want = expected["message"].as_str().unwrap_or_default();
            let code = expected["error"].as_str().unwrap_or_default();
            if e.message == want && e.name() == code {
                Ok(())
            } else {
                Err(format!(
                    "got {}: {:?}, want {code}: {want:?}",
                    e.name(),
                    e.message
                ))
            }
        }
        (None, _) => Err("no expectation".to_owned()),
    }
}

#[test]
fn schedule_expressions() {
    let cases = read_cases("schedules/schedule-expression-cases.jsonl");
    assert_eq!(cases.len(), 41, "the corpus has 41 schedule cases");
    let results = cases
        .iter()
        .map(|c| {
            let name = format!(
                "{}{}",
                c["expression"].as_str().unwrap_or("?"),
                c.get("event_bus")
                    .map(|b| format!(" on {b}"))
                    .unwrap_or_default()
            );
            (name, schedule_case(c))
        })
        .collect();
    let bad = report("schedule-expression-cases.jsonl", results);
    assert!(bad.is_empty(), "unexpected failures:\n{}", bad.join("\n"));
}

/// End to end: the `baton` binary's event commands.
mod cli {
    use std::process::{Command, Output};

    fn baton(args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(args)
            .output()
            .expect("the baton binary runs")
    }

    const EVENT: &str = r#"{"id":"1","account":"123456789012","source":"order","time":"2022-07-13T13:48:01Z","region":"us-east-2","detail-type":"Test","detail":{"n":301.8}}"#;

    #[test]
    fn test_event_pattern_prints_the_aws_result() {
        let out = baton(&[
            "test-event-pattern",
            "--event-pattern",
            r#"{"source": ["order"], "detail": {"n": [{"numeric": ["=", 301.8]}]}}"#,
            "--event",
            EVENT,
        ]);
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            r#"{"Result": true}"#
        );
        let out = baton(&[
            "test-event-pattern",
            "--event-pattern",
            r#"{"source": ["shipment"]}"#,
            "--event",
            EVENT,
        ]);
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            r#"{"Result": false}"#
        );
    }

    #[test]
    fn test_event_pattern_reports_invalid_patterns_and_events() {
        let out = baton(&[
            "test-event-pattern",
            "--event-pattern",
            r#"{"a": [{"wildcard": "a**"}]}"#,
            "--event",
            EVENT,
        ]);
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty());
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim(),
            "InvalidEventPatternException: Event pattern is not valid. Reason: Consecutive wildcard characters at pos 2"
        );
        let out = baton(&[
            "test-event-pattern",
            "--event-pattern",
            r#"{"a": ["b"]}"#,
            "--event",
            "[1]",
        ]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim(),
            "ValidationException: Parameter Event is not valid."
        );
    }

    #[test]
    fn schedule_next_prints_fire_times_in_the_zone() {
        let out = baton(&[
            "schedule",
            "next",
            "cron(0 9 ? * MON-FRI *)",
            "--count",
            "3",
            "--tz",
            "Europe/Berlin",
            "--after",
            "2024-03-29T12:00:00Z",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Friday 29 March 2024 09:00 has passed; Berlin moves to summer time on the 31st.
        assert_eq!(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .collect::<Vec<_>>(),
            [
                "2024-04-01T09:00:00+02:00",
                "2024-04-02T09:00:00+02:00",
                "2024-04-03T09:00:00+02:00"
            ]
        );
        let out = baton(&[
            "schedule",
            "next",
            "rate(2 hours)",
            "--count",
            "2",
            "--after",
            "2024-01-01T00:00:00Z",
        ]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .collect::<Vec<_>>(),
            ["2024-01-01T02:00:00Z", "2024-01-01T04:00:00Z"]
        );
    }

    #[test]
    fn schedule_next_rejects_invalid_expressions() {
        let out = baton(&["schedule", "next", "cron(0 1 * * * *)"]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim(),
            "ValidationException: Parameter ScheduleExpression is not valid."
        );
    }
}
