#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::*;
use crate::eval::{NoVariables, Variables};

/// Entropy that counts what it hands out: a fixed instant and a predictable stream.
struct FakeEntropy {
    now: i64,
    next: u64,
    draws: usize,
    clock_reads: std::cell::Cell<usize>,
}

impl FakeEntropy {
    fn new(seed: u64) -> Self {
        FakeEntropy {
            now: 1_700_000_000_123,
            next: seed,
            draws: 0,
            clock_reads: std::cell::Cell::new(0),
        }
    }
}

impl Entropy for FakeEntropy {
    fn next_u64(&mut self) -> u64 {
        self.draws += 1;
        self.next = self.next.wrapping_add(1);
        self.next
    }
    fn now_millis(&self) -> i64 {
        self.clock_reads.set(self.clock_reads.get() + 1);
        self.now
    }
}

fn bindings<'a>(
    input: &'a Value,
    context: &'a Value,
    variables: &'a dyn Variables,
) -> Bindings<'a> {
    Bindings {
        input,
        context,
        variables,
        result: None,
        error_output: None,
    }
}

/// Evaluates `source` with `$states.input` = `input` and nothing else.
fn eval(source: &str, input: Value) -> Result<Option<Value>, EvalError> {
    let context = json!({});
    let expr = Expression::parse(source).unwrap();
    expr.evaluate(
        &bindings(&input, &context, &NoVariables),
        &mut FakeEntropy::new(7),
        "Output",
    )
}

fn value(source: &str) -> Value {
    eval(source, json!({})).unwrap().unwrap()
}

fn cause(source: &str) -> String {
    let err = eval(source, json!({})).unwrap_err();
    assert_eq!(err.error, "States.QueryEvaluationError");
    err.cause
}

/// The part of a cause after AWS's sentence about the expression and field.
fn tail(source: &str) -> String {
    let c = cause(source);
    let marker = "threw an error during evaluation";
    let at = c
        .find(marker)
        .unwrap_or_else(|| panic!("unexpected cause {c:?}"));
    c[at + marker.len()..]
        .trim_start_matches(['.', ':'])
        .trim_start()
        .to_owned()
}

#[test]
fn expression_is_send_sync_clone_debug() {
    fn check<T: Send + Sync + Clone + std::fmt::Debug + 'static>() {}
    check::<Expression>();
    let expr = Expression::parse("$states.input.n * 2").unwrap();
    assert_eq!(format!("{expr:?}"), "Expression(\"$states.input.n * 2\")");
    let handles: Vec<_> = (0..4)
        .map(|n| {
            let expr = expr.clone();
            std::thread::spawn(move || {
                let input = json!({ "n": n });
                let context = json!({});
                expr.evaluate(
                    &bindings(&input, &context, &NoVariables),
                    &mut FakeEntropy::new(0),
                    "Output",
                )
                .unwrap()
            })
        })
        .collect();
    let results: Vec<Value> = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .collect();
    assert_eq!(results, [json!(0), json!(2), json!(4), json!(6)]);
}

#[test]
fn uses_context_only_when_states_context_can_be_read() {
    let uses = |s: &str| Expression::parse(s).unwrap().uses_context();
    assert!(!uses("$states.input.a + $x"));
    assert!(!uses("1 + 1"));
    assert!(uses("$states.context.Execution.Id"));
    assert!(uses("$states"));
    assert!(uses("$keys($states)"));
    assert!(!uses("$states.result.a"));
}

#[test]
fn strip_template_needs_the_delimiters_at_the_very_ends() {
    assert_eq!(Expression::strip_template("{% $x %}"), Some("$x"));
    assert_eq!(Expression::strip_template("{%$x%}"), Some("$x"));
    assert_eq!(Expression::strip_template(" {% $x %}"), None);
    assert_eq!(Expression::strip_template("{% $x %} "), None);
    assert_eq!(Expression::strip_template("$x"), None);
}

#[test]
fn parse_errors_read_like_aws_diagnostics() {
    // AWS's INVALID_JSONATA_EXPRESSION messages: the engine's text without the code.
    assert_eq!(
        Expression::parse("a[1,2)").unwrap_err(),
        "Expected \"]\", got \",\""
    );
    assert_eq!(
        Expression::parse("\"unterminated").unwrap_err(),
        "String literal must be terminated by a matching quote"
    );
    assert_eq!(
        Expression::parse("1 +").unwrap_err(),
        "Unexpected end of expression"
    );
    assert_eq!(
        Expression::parse("/* open").unwrap_err(),
        "Comment has no closing tag"
    );
    assert_eq!(Expression::parse("  $x  ").unwrap().source(), "$x");
}

#[test]
fn states_holds_only_what_the_state_has_in_the_documented_order() {
    let input = json!({"a": 1});
    let context = json!({"State": {"Name": "S"}});
    let result = json!({"r": true});
    let error_output = json!({"Error": "E"});
    let expr = Expression::parse("$keys($states)").unwrap();
    let mut b = bindings(&input, &context, &NoVariables);
    let keys = |b: &Bindings<'_>| {
        expr.evaluate(b, &mut FakeEntropy::new(0), "Output")
            .unwrap()
            .unwrap()
    };
    assert_eq!(keys(&b), json!(["input", "context"]));
    b.result = Some(&result);
    assert_eq!(keys(&b), json!(["input", "result", "context"]));
    b.error_output = Some(&error_output);
    assert_eq!(
        keys(&b),
        json!(["input", "result", "errorOutput", "context"])
    );
    let all = Expression::parse(
        "[$states.input.a, $states.context.State.Name, $states.result.r, $states.errorOutput.Error]",
    )
    .unwrap();
    assert_eq!(
        all.evaluate(&b, &mut FakeEntropy::new(0), "Output")
            .unwrap(),
        Some(json!([1, "S", true, "E"]))
    );
}

#[test]
fn workflow_variables_are_bound_by_name_and_shadow_functions() {
    let input = json!({});
    let context = json!({});
    let mut vars = Map::new();
    vars.insert("count".into(), json!(41));
    vars.insert("partition".into(), json!("not a function"));
    vars.insert("unused".into(), json!({"big": [1, 2, 3]}));
    let expr = Expression::parse("{'n': $count + 1, 'p': $partition}").unwrap();
    let out = expr
        .evaluate(
            &bindings(&input, &context, &vars),
            &mut FakeEntropy::new(0),
            "Output",
        )
        .unwrap();
    assert_eq!(out, Some(json!({"n": 42, "p": "not a function"})));
}

#[test]
fn numbers_and_key_order_convert_faithfully() {
    assert_eq!(
        eval("$states.input.a + 1", json!({"a": 2}))
            .unwrap()
            .unwrap()
            .to_string(),
        "3"
    );
    assert_eq!(value("1.1 + 2.2").to_string(), "3.3000000000000003");
    assert_eq!(value("3.3").to_string(), "3.3");
    assert_eq!(value("6 / 2").to_string(), "3");
    assert_eq!(
        value("{'z': 1, 'a': 2, 'm': {'y': 1, 'b': 2}}").to_string(),
        r#"{"z":1,"a":2,"m":{"y":1,"b":2}}"#
    );
    assert_eq!(
        eval("$states.input", json!({"z": 1, "a": 2}))
            .unwrap()
            .unwrap()
            .to_string(),
        r#"{"z":1,"a":2}"#
    );
}

#[test]
fn undefined_is_none_and_the_input_document_is_empty() {
    assert_eq!(eval("$doesNotExist", json!({})).unwrap(), None);
    assert_eq!(eval("$states.input.missing", json!({})).unwrap(), None);
    // There is no input document: `$` and bare names see nothing.
    assert_eq!(eval("$", json!({"a": 1})).unwrap(), None);
    assert_eq!(eval("a", json!({"a": 1})).unwrap(), None);
    assert_eq!(eval("[]", json!({})).unwrap(), Some(json!([])));
    assert_eq!(eval("null", json!({})).unwrap(), Some(Value::Null));
}

#[test]
fn errors_use_aws_causes() {
    // Recorded on AWS (pure/intrinsic_functions, test_math_random_seeded).
    let input = json!({"FunctionInput": "fst"});
    let context = json!({});
    let expr = Expression::parse("$randomSeeded($states.input.FunctionInput.fst)").unwrap();
    let err = expr
        .evaluate(
            &bindings(&input, &context, &NoVariables),
            &mut FakeEntropy::new(0),
            "Output/FunctionResult",
        )
        .unwrap_err();
    assert_eq!(err.error, "States.QueryEvaluationError");
    assert_eq!(
        err.cause,
        "The JSONata expression '$randomSeeded($states.input.FunctionInput.fst)' specified for the field 'Output/FunctionResult' threw an error during evaluation. T1006: Attempted to invoke a non-function"
    );
    assert_eq!(
        tail("'a' + 1"),
        "T2001: The left side of the + operator must evaluate to a number"
    );
    assert_eq!(
        tail("$number('x')"),
        "D3030: Unable to cast value to a number: \"x\""
    );
    // Measured on AWS (and jsonata-js's text).
    assert_eq!(
        tail("$sum(['a'])"),
        "T0412: Argument 1 of function \"sum\" must be an array of \"numbers\""
    );
    assert_eq!(
        tail("$uppercase(1)"),
        "T0410: Argument 1 of function \"uppercase\" does not match function signature"
    );
}

#[test]
fn function_results_are_an_unsupported_result_type() {
    let input = json!({});
    let context = json!({});
    let expr = Expression::parse("$fn := function($x){$x}").unwrap();
    let err = expr
        .evaluate(
            &bindings(&input, &context, &NoVariables),
            &mut FakeEntropy::new(0),
            "Items",
        )
        .unwrap_err();
    // Recorded on AWS (pure/evaluate_jsonata … ITEMS…).
    assert_eq!(
        err.cause,
        "The JSONata expression '$fn := function($x){$x}' specified for the field 'Items' returned an unsupported result type."
    );
    assert!(cause("$sum").contains("returned an unsupported result type."));
    assert!(cause("[1, $uppercase]").contains("returned an unsupported result type."));
    assert_eq!(tail("{'a': 1/0}"), "D1001: Number out of range: Infinity");
}

#[test]
fn eval_is_not_available() {
    assert_eq!(
        tail("$eval('1 + 1')"),
        "T1006: Attempted to invoke a non-function"
    );
    assert_eq!(eval("$type($eval)", json!({})).unwrap(), None);
}

#[test]
fn partition_cuts_arrays_into_chunks() {
    assert_eq!(
        value("$partition([1,2,3,4,5], 2)"),
        json!([[1, 2], [3, 4], [5]])
    );
    assert_eq!(
        value("$partition([1,2,3,4,5,6,7,8,9], 3)"),
        json!([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    );
    assert_eq!(value("$partition([0], 1)"), json!([[0]]));
    assert_eq!(value("$partition([1,2,3], 2.9)"), json!([[1, 2], [3]]));
    assert_eq!(value("$partition([1,2,3])"), json!([[1, 2, 3]]));
    assert_eq!(value("$partition('a', 2)"), json!([["a"]]));
    assert_eq!(eval("$partition([], 2)", json!({})).unwrap(), None);
    assert_eq!(eval("$partition([1,2], 0)", json!({})).unwrap(), None);
    assert_eq!(eval("$partition($nothing, 2)", json!({})).unwrap(), None);
    assert_eq!(
        tail("$partition([1,2,3], -1)"),
        "D3137: Second argument must be zero or greater"
    );
    assert_eq!(
        tail("$partition([1,2,3], 'x')"),
        "T0410: Argument 2 of function \"partition\" does not match function signature"
    );
    assert!(tail("$partition(null, 2)").starts_with("T0412"));
    // Usable as a value, like any function.
    assert_eq!(
        value("($p := $partition; $p([1,2,3], 1))"),
        json!([[1], [2], [3]])
    );
}

#[test]
fn range_counts_inclusively_and_one_item_is_that_item() {
    assert_eq!(value("$range(0, 10, 2)"), json!([0, 2, 4, 6, 8, 10]));
    assert_eq!(value("$range(0, 9, 3)"), json!([0, 3, 6, 9]));
    assert_eq!(value("$range(0, 10, 3)"), json!([0, 3, 6, 9]));
    assert_eq!(value("$range(10, 0, -2)"), json!([10, 8, 6, 4, 2, 0]));
    assert_eq!(value("$range(1, 9, 9)"), json!(1));
    assert_eq!(value("$range(-1.7, 2, 1)"), json!([-1, 0, 1, 2]));
    assert_eq!(eval("$range(5, 1, 1)", json!({})).unwrap(), None);
    assert_eq!(eval("$range(1, 5, 0)", json!({})).unwrap(), None);
    assert_eq!(eval("$range(1, 5)", json!({})).unwrap(), None);
    assert_eq!(
        value("$count($range(-9223372036854775808, 9223372036854775807, 9223372036854775807))"),
        json!(3)
    );
    assert!(tail("$range(1)").starts_with("T0410: Argument 2 of function \"range\""));
    assert!(tail("$range(0, 100000000, 1)").starts_with("D2014"));
    assert!(tail("$range('a', 2, 1)").starts_with("T0410: Argument 1"));
}

#[test]
fn hash_gives_hex_digests_of_utf8() {
    // Well-known digests of "Hello"; "input" with SHA-1 as measured on AWS.
    assert_eq!(
        value("$hash('Hello', 'MD5')"),
        json!("8b1a9953c4611296a827abf8c47804d7")
    );
    assert_eq!(
        value("$hash('Hello', 'SHA-1')"),
        json!("f7ff9e8b7bb2e09b70935a5d785e0cc5d9d0abf0")
    );
    assert_eq!(
        value("$hash('Hello', 'SHA-256')"),
        json!("185f8db32271fe25f561a6fc938b2e264306ec304eda518007d1764826381969")
    );
    assert_eq!(
        value("$hash('Hello', 'SHA-384')"),
        json!(
            "3519fe5ad2c596efe3e276a6f351b8fc0b03db861782490d45f7598ebd0ab5fd5520ed102f38c4a5ec834e98668035fc"
        )
    );
    assert_eq!(
        value("$hash('Hello', 'SHA-512')"),
        json!(
            "3615f80c9d293ed7402687f94b22d58e529b8cc7916f8fac7fddf7fbd5af4cf777d3d795a7a00a16bf7e7f3fb9561ee9baae480da9fe7a18769e71886b03f315"
        )
    );
    assert_eq!(
        value("$hash('input', 'SHA-1')"),
        json!("140f86aae51ab9e1cda9b4254fe98a74eb54c1a1")
    );
    assert_eq!(
        value("$hash('', 'MD5')"),
        json!("d41d8cd98f00b204e9800998ecf8427e")
    );
    assert_eq!(eval("$hash('a')", json!({})).unwrap(), None);
    assert!(tail("$hash('a', 'md5')").starts_with("D3137"));
    assert!(tail("$hash(42, 'MD5')").starts_with("T0410: Argument 1 of function \"hash\""));
    assert!(tail("$hash('a', 5)").starts_with("T0410: Argument 2 of function \"hash\""));
}

#[test]
fn random_with_a_seed_is_javas_and_without_draws_from_entropy() {
    assert_eq!(value("$random(42)"), json!(0.7275636800328681));
    assert_eq!(value("$random(0)"), json!(0.730967787376657));
    assert_eq!(value("$random(0.9)"), value("$random(0)"));
    let context = json!({});
    let input = json!({});
    let b = bindings(&input, &context, &NoVariables);
    let expr = Expression::parse("[$random(), $random()]").unwrap();
    let run = |seed| {
        let mut entropy = FakeEntropy::new(seed);
        let v = expr.evaluate(&b, &mut entropy, "Output").unwrap().unwrap();
        (v, entropy.draws)
    };
    let (first, draws) = run(1);
    assert_eq!(draws, 1, "one draw seeds the whole evaluation");
    assert_eq!(run(1).0, first, "the same draw replays the same values");
    assert_ne!(run(2).0, first);
    let [a, b] = [first[0].as_f64().unwrap(), first[1].as_f64().unwrap()];
    assert!((0.0..1.0).contains(&a) && (0.0..1.0).contains(&b) && a != b);
    assert!(tail("$random('x')").starts_with("T0410: Argument 1 of function \"random\""));
}

#[test]
fn expressions_without_random_or_clock_consume_no_entropy() {
    let context = json!({});
    let input = json!({"a": 1});
    let mut entropy = FakeEntropy::new(0);
    Expression::parse("$states.input.a + $sum([1,2])")
        .unwrap()
        .evaluate(
            &bindings(&input, &context, &NoVariables),
            &mut entropy,
            "Output",
        )
        .unwrap();
    assert_eq!(entropy.draws, 0);
    assert_eq!(entropy.clock_reads.get(), 0);
}

#[test]
fn uuid_is_v4_and_replayable() {
    let u = value("$uuid()");
    let u = u.as_str().unwrap();
    assert_eq!(u.len(), 36);
    assert_eq!(&u[14..15], "4");
    assert_eq!(value("$uuid()"), json!(u), "same entropy, same UUID");
    assert_eq!(value("$uuid() = $uuid()"), json!(false));
}

#[test]
fn parse_reads_json_strictly() {
    // Recorded on AWS (pure/intrinsic_functions, test_string_to_json).
    assert_eq!(value("$parse('-0')").to_string(), "0");
    assert_eq!(value("$parse('1.1')"), json!(1.1));
    assert_eq!(value("$parse('\"HelloWorld\"')"), json!("HelloWorld"));
    assert_eq!(
        value(r#"$parse('{"b": 1, "a": [1, "x"]}')"#).to_string(),
        r#"{"b":1,"a":[1,"x"]}"#
    );
    assert_eq!(value(r#"$parse('{"a":{"b":2}}').a.b"#), json!(2));
    assert_eq!(value("$parse('null')"), Value::Null);
    assert_eq!(eval("$parse($nothing)", json!({})).unwrap(), None);
    assert_eq!(
        value(r#"$map(['{"a":1}', '{"a":2}'], $parse).a"#),
        json!([1, 2])
    );
    for bad in [
        "''",
        "'  '",
        r#"'{"a":1}{"b":2}'"#,
        r#"'{"a":1,"a":2}'"#,
        "'1e400'",
        "'{'",
    ] {
        let t = tail(&format!("$parse({bad})"));
        assert!(t.starts_with("D3137: Invalid JSON"), "{bad}: {t}");
    }
    assert!(tail("$parse(null)").starts_with("T0410: Argument 1 of function \"parse\""));
}

#[test]
fn now_and_millis_come_from_entropy() {
    assert_eq!(value("$now()"), json!("2023-11-14T22:13:20.123Z"));
    assert_eq!(value("$millis()"), json!(1_700_000_000_123_i64));
    assert_eq!(value("$now('[Y0001]-[M01]-[D01]')"), json!("2023-11-14"));
    assert_eq!(value("$now('[H01]:[m01]', '+0100')"), json!("23:13"));
    assert_eq!(
        value("$fromMillis($millis()) = $now()"),
        json!(true),
        "one instant per evaluation"
    );
    let context = json!({});
    let input = json!({});
    let mut entropy = FakeEntropy::new(0);
    Expression::parse("$now()")
        .unwrap()
        .evaluate(
            &bindings(&input, &context, &NoVariables),
            &mut entropy,
            "Output",
        )
        .unwrap();
    assert_eq!(entropy.clock_reads.get(), 1);
    assert_eq!(entropy.draws, 0);
}

#[test]
fn shuffle_draws_from_entropy() {
    let shuffled = value("$shuffle([1,2,3,4,5,6,7,8])");
    assert_eq!(value("$shuffle([1,2,3,4,5,6,7,8])"), shuffled);
    let mut sorted: Vec<i64> = shuffled
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    sorted.sort_unstable();
    assert_eq!(sorted, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(value("$shuffle(5)"), json!([5]));
    assert_eq!(eval("$shuffle($nothing)", json!({})).unwrap(), None);
}

#[test]
fn a_runaway_expression_stops_at_the_time_limit() {
    let context = json!({});
    let input = json!({});
    let expr = Expression::parse("($f := function(){ $f() }; $f())").unwrap();
    let err = expr
        .evaluate_within(
            &bindings(&input, &context, &NoVariables),
            &mut FakeEntropy::new(0),
            "Output",
            Tuning {
                time_limit_ms: 100,
                prune: true,
            },
        )
        .unwrap_err();
    assert!(err.cause.contains("D1012"), "{}", err.cause);
}

#[test]
fn deep_recursion_fails_cleanly() {
    let t = tail("($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))");
    assert!(t.starts_with("U1001"), "{t}");
    // A value nested deeper than a result may be.
    let t = cause("($f := function($n){ $n = 0 ? {} : {'a': $f($n - 1)} }; $f(2000))");
    assert!(t.contains("nested more than 1000 levels deep"), "{t}");
}

fn asl_corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/asl")
}

/// A minimal `Output` template walk, enough for the corpus' one-Pass-state machines:
/// expression strings evaluate (undefined is AWS's "returned nothing" error), other
/// values stay, objects and arrays recurse with AWS's `Output/key` field names.
fn walk(
    template: &Value,
    field: &str,
    b: &Bindings<'_>,
    entropy: &mut dyn Entropy,
) -> Result<Value, EvalError> {
    Ok(match template {
        Value::String(s) => match Expression::strip_template(s) {
            Some(src) => {
                let expr = Expression::parse(src).unwrap();
                expr.evaluate(b, entropy, field)?.ok_or_else(|| {
                    EvalError::query_evaluation(format!(
                        "The JSONata expression '{src}' specified for the field '{field}' returned nothing (undefined)."
                    ))
                })?
            }
            None => template.clone(),
        },
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k.clone(), walk(v, &format!("{field}/{k}"), b, entropy)?);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| walk(v, field, b, entropy))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

/// Every recorded AWS execution of a single JSONata `Pass` state with an `Output` and no
/// variables: the expression evaluates to what AWS produced, or fails as AWS did.
#[test]
fn single_pass_state_cases_from_the_asl_corpus() {
    let mut files = Vec::new();
    let mut dirs = vec![asl_corpus().join("pure")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut checked = 0;
    for path in files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let definition = &case["definition"];
        let Some(states) = definition["States"].as_object() else {
            continue;
        };
        if states.len() != 1 {
            continue;
        }
        let (name, state) = states.iter().next().unwrap();
        let language = state
            .get("QueryLanguage")
            .or_else(|| definition.get("QueryLanguage"));
        if language != Some(&json!("JSONata"))
            || state["Type"] != "Pass"
            || state.get("Assign").is_some()
        {
            continue;
        }
        let Some(output) = state.get("Output") else {
            continue;
        };
        let context = json!({});
        let b = bindings(&case["input"], &context, &NoVariables);
        let got = walk(output, "Output", &b, &mut FakeEntropy::new(0));
        let expected = &case["expected"];
        let id = path.file_name().unwrap().to_string_lossy().into_owned();
        match expected["status"].as_str().unwrap() {
            "SUCCEEDED" => assert_eq!(got.unwrap(), expected["output"], "{id}"),
            "FAILED" => {
                let err = got.unwrap_err();
                assert_eq!(err.error, expected["error"].as_str().unwrap(), "{id}");
                let cause = format!(
                    "An error occurred while executing the state '{name}' (entered at the event id #2). {}",
                    err.cause
                );
                assert_eq!(cause, expected["cause"].as_str().unwrap(), "{id}");
            }
            other => panic!("{id}: unexpected status {other}"),
        }
        checked += 1;
    }
    assert!(checked >= 45, "only {checked} corpus cases were checked");
}

mod never_panics {
    use proptest::prelude::*;

    use super::*;

    /// Pieces of JSONata, so that generated text often parses and reaches evaluation.
    const PIECES: &[&str] = &[
        "$states",
        ".input",
        ".context",
        ".a",
        ".b",
        "[0]",
        "[-1]",
        "[",
        "]",
        "(",
        ")",
        "{",
        "}",
        ",",
        ":",
        ";",
        ".",
        "..",
        "+",
        "-",
        "*",
        "/",
        "%",
        "&",
        "=",
        "!=",
        "<",
        ">",
        "<=",
        "?",
        "??",
        "?:",
        ":=",
        "~>",
        "|",
        "^(",
        "@",
        "#",
        "$x",
        "$y",
        "$",
        "$$",
        "a",
        "b",
        "'s'",
        "\"t\"",
        "0",
        "1",
        "2.5",
        "-3",
        "1e3",
        "true",
        "false",
        "null",
        "undefined",
        "and",
        "or",
        "in",
        "function($v){",
        "function($v, $w)<n-n:n>{",
        "$partition(",
        "$range(",
        "$hash(",
        "$random(",
        "$uuid(",
        "$parse(",
        "$now(",
        "$millis(",
        "$shuffle(",
        "$eval(",
        "$sum(",
        "$map(",
        "$filter(",
        "$reduce(",
        "$sort(",
        "$string(",
        "$number(",
        "$keys(",
        "$lookup(",
        "$merge(",
        "$split(",
        "$match(",
        "$replace(",
        "$formatNumber(",
        "$fromMillis(",
        "$toMillis(",
        "$each(",
        "$sift(",
        "$zip(",
        "$single(",
        "$error(",
        "$assert(",
        "'MD5'",
        "'[Y]'",
        "/a+/",
        "/(/",
        "**",
        "*.",
        "%.",
        " ",
        "\n",
        "'{\"a\":[1,2]}'",
        "[1..5]",
        "[1,2,3]",
        "{'k': 1}",
    ];

    fn expression_like() -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(PIECES), 0..24)
            .prop_map(|pieces| pieces.concat())
    }

    fn run(text: &str) {
        let input = json!({"a": [1, 2, {"b": "x"}], "b": {"c": null}, "s": "text"});
        let context = json!({"State": {"Name": "S"}});
        let mut vars = Map::new();
        vars.insert("x".into(), json!([3, 1, 2]));
        vars.insert("y".into(), json!("{\"k\":1}"));
        if let Ok(expr) = Expression::parse(text) {
            let b = Bindings {
                input: &input,
                context: &context,
                variables: &vars,
                result: Some(&input),
                error_output: None,
            };
            let tuning = Tuning {
                time_limit_ms: 200,
                prune: true,
            };
            let _ = expr.evaluate_within(&b, &mut FakeEntropy::new(3), "Output", tuning);
        }
        let _ = Expression::strip_template(text);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn on_expression_like_text(text in expression_like()) {
            run(&text);
        }

        #[test]
        fn on_arbitrary_text(text in "\\PC{0,40}") {
            run(&text);
        }

        /// The picture languages are where fuzzing found the engine's panics. Widths stay
        /// below 10^4 and there are no roman numerals (`I`), so a case cannot ask for a
        /// gigabyte string: the engine builds what it is asked for, and
        /// `$formatInteger(1e21, 'I')` is 10^18 letters.
        #[test]
        fn on_pictures(
            picture in "[\\[\\]YMDdFWwXxHhmsfPCEZz01239#,*\\-;.:nNota]{0,14}",
            function in proptest::sample::select(&[
                "$fromMillis(1700000000123, p)", "$fromMillis(-5e12, p, '+1200')",
                "$toMillis('2023-11-14', p)", "$formatInteger(n, p)", "$formatNumber(n, p)",
                "$parseInteger('1234', p)", "$now(p)", "$formatNumber(n, p, {'decimal-separator': ','})",
            ][..]),
            n in proptest::sample::select(&["0", "-1", "123.456", "1e21", "-9e15", "0.0001"][..]),
        ) {
            prop_assume!(!picture.contains("99999"));
            let text = format!("($p := '{picture}'; $n := {n}; {})",
                function.replace("(p", "($p").replace(", p", ", $p").replace("(n", "($n"));
            run(&text);
        }
    }

    /// Expressions that read `$states` and variables in many ways: paths with
    /// predicates, bindings, wildcards and parents, inside function calls and operators.
    fn reading_expression() -> impl Strategy<Value = String> {
        let root = proptest::sample::select(
            &[
                "$states.input",
                "$states.context",
                "$states.result",
                "$states",
                "$x",
                "$y",
                "$states.input.items",
                "$x.items",
                "$states.context.Map.Item.Value",
            ][..],
        );
        let step = proptest::sample::select(
            &[
                ".a",
                ".b",
                ".c",
                ".items",
                ".name",
                ".n",
                ".k",
                ".input",
                ".Value",
                "[0]",
                "[-1]",
                "[n > 1]",
                "[]",
                "@$e",
                "#$i",
                ".*",
                ".**",
                ".%",
                ".(n)",
                "^(n)",
                ".$string()",
                "{name: n}",
                ".{'v': $}",
                "[name]",
            ][..],
        );
        let leaf = prop_oneof![
            4 => (root, proptest::collection::vec(step, 0..4))
                .prop_map(|(r, steps)| format!("{r}{}", steps.concat())),
            1 => proptest::sample::select(&["1", "'s'", "[1, 2]", "$e", "$i", "null"][..])
                .prop_map(str::to_owned),
        ];
        leaf.prop_recursive(3, 24, 3, |inner| {
            let unary = proptest::sample::select(
                &[
                    "$count(§)",
                    "$keys(§)",
                    "$string(§)",
                    "$sum(§)",
                    "$exists(§)",
                    "$type(§)",
                    "$map(§, function($v){$v.name})",
                    "$lookup(§, 'a')",
                    "$merge(§)",
                    "$reverse(§)",
                    "$each(§, function($v, $k){$k})",
                    "$spread(§)",
                    "$sift(§, function($v){$v})",
                    "$distinct(§)",
                    "§ ~> $string()",
                    "[§]",
                    "{'o': §}",
                    "§.name",
                    "§[0]",
                    "($z := §; $z.a)",
                    "$filter(§, function($v){$v.n > 1})",
                ][..],
            );
            let binary = proptest::sample::select(
                &[
                    "(§ + §)",
                    "(§ & §)",
                    "(§ = §)",
                    "(§ and §)",
                    "[§, §]",
                    "$zip(§, §)",
                    "$append(§, §)",
                ][..],
            );
            prop_oneof![
                (unary, inner.clone()).prop_map(|(f, a)| f.replace('§', &a)),
                (binary, inner.clone(), inner.clone())
                    .prop_map(|(f, a, b)| f.replacen('§', &a, 1).replacen('§', &b, 1)),
                (inner.clone(), inner.clone(), inner)
                    .prop_map(|(a, b, c)| format!("({a} ? {b} : {c})")),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        /// Converting only what an expression can read never changes its result.
        #[test]
        fn pruned_bindings_give_the_same_results(text in reading_expression()) {
            // A few generated texts are not valid (a `%` with no parent to reach).
            let Ok(expr) = Expression::parse(&text) else { return Ok(()) };
            let input = json!({
                "a": {"b": [1, {"c": 2}], "c": "s"},
                "items": [{"name": "x", "n": 1, "k": [1, 2]}, [{"name": "y", "n": 2}], {"n": 3}, 4],
                "name": "top", "n": 2, "k": {"a": 1, "b": 2}
            });
            let context = json!({"Execution": {"Input": {"a": 1}}, "Map": {"Item": {"Value": {"a": 5}}}});
            let result = json!([{"a": 1, "name": "r"}, {"a": 2}]);
            let mut vars = Map::new();
            vars.insert("x".into(), json!({"k": {"a": [1, 2]}, "b": 3, "items": [{"name": "v"}]}));
            vars.insert("y".into(), json!([{"k": 1}, {"k": 2, "name": "w"}]));
            let b = Bindings {
                input: &input,
                context: &context,
                variables: &vars,
                result: Some(&result),
                error_output: None,
            };
            let run = |prune| {
                expr.evaluate_within(
                    &b,
                    &mut FakeEntropy::new(3),
                    "Output",
                    Tuning { time_limit_ms: 2000, prune },
                )
            };
            prop_assert_eq!(run(true), run(false), "{}", text);
        }
    }

    #[test]
    fn engine_panics_become_errors() {
        // Slices a string out of order inside the engine's picture parser (any build).
        assert_eq!(
            cause("$fromMillis(0, '[,X]')"),
            "The JSONata expression '$fromMillis(0, '[,X]')' specified for the field 'Output' threw an internal error during evaluation."
        );
        assert!(cause("$now('[,X]')").ends_with("threw an internal error during evaluation."));
        // Overflows an integer multiplication there (a panic only with overflow checks).
        let c = cause("$fromMillis(0, '[Y,*-99999999]')");
        assert!(
            c.ends_with("threw an internal error during evaluation.")
                || c.contains("threw an error during evaluation"),
            "{c}"
        );
    }
}

/// Every JSONata expression in a definition AWS accepted parses, and none reads a
/// top-level field (AWS would have refused the definition).
#[test]
fn corpus_expressions_parse_and_read_no_top_level_fields() {
    fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
            Value::Object(map) => map.values().for_each(|i| strings(i, out)),
            _ => {}
        }
    }
    let mut dirs = vec![asl_corpus().join("pure"), asl_corpus().join("with_lambda")];
    let mut checked = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let case: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            if !matches!(case["query_language"].as_str(), Some("JSONata" | "mixed")) {
                continue;
            }
            let mut all = Vec::new();
            strings(&case["definition"], &mut all);
            for s in all {
                let Some(src) = Expression::strip_template(s) else {
                    continue;
                };
                let expr = Expression::parse(src)
                    .unwrap_or_else(|e| panic!("{}: {src}: {e}", path.display()));
                assert!(
                    expr.top_level_references().is_empty(),
                    "{}: {src}: {:?}",
                    path.display(),
                    expr.top_level_references()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} expressions");
}
