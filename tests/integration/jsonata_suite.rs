//! The JSONata reference implementation's test suite (`../shared/conformance/jsonata/`),
//! run through `baton_asl::jsonata::reference`: the engine Baton uses, behind the same
//! value conversions Step Functions evaluation uses.
//!
//! Judged by the rules of the upstream runner (see the corpus README): `undefinedResult`
//! is neither `null` nor `[]`; results compare deeply, numbers by value and objects by
//! key set; an expected error passes on its code alone. Cases with `timelimit`/`depth`
//! run under the engine's guards, whose codes (`D1012`, `D1011`) stand in for the
//! harness code `U1001` upstream expects. Every other case gets a generous time limit
//! too, so a case that never ends fails instead of hanging the suite.
//!
//! The test fails for a failure not listed in `jsonata_known_gaps.txt`, and for a listed
//! case that now passes or no longer exists, so the list stays honest.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use baton_asl::jsonata::reference::{self, Limits};
use serde_json::{Map, Value};

/// Time limit for cases that set none: far above what any passing case needs.
const DEFAULT_TIME_LIMIT_MS: u64 = 20_000;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/jsonata")
}

fn known_gaps() -> BTreeMap<String, String> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/jsonata_known_gaps.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut gaps = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (id, reason) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let reason = reason.trim();
        assert!(!reason.is_empty(), "known gap {id} needs a reason");
        assert!(
            gaps.insert(id.to_owned(), reason.to_owned()).is_none(),
            "known gap {id} is listed twice"
        );
    }
    gaps
}

enum Outcome {
    Pass,
    Fail(String),
}

/// Messages of `error` cases that carry one: the reference's text and ours. Not judged
/// (upstream's runner checks them, but they are the JS engine's wording); shown so the
/// wording AWS inherits from jsonata-js can be compared.
type MessageChecks = Vec<(String, String, String)>;

#[test]
fn jsonata_reference_suite() {
    let dir = corpus_dir();
    assert!(
        dir.join("groups").is_dir(),
        "the JSONata corpus is missing at {}",
        dir.display()
    );
    let mut datasets: HashMap<String, Value> = HashMap::new();
    let mut group_files: Vec<PathBuf> = std::fs::read_dir(dir.join("groups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    group_files.sort();

    let gaps = known_gaps();
    let mut seen_ids = Vec::new();
    let mut report = String::new();
    let mut failures = String::new();
    let mut unexpected = Vec::new();
    let mut now_passing = Vec::new();
    let (mut total_pass, mut total_fail) = (0usize, 0usize);
    let mut messages: MessageChecks = Vec::new();

    for file in &group_files {
        let group = file.file_stem().unwrap().to_string_lossy().into_owned();
        let (mut pass, mut fail) = (0usize, 0usize);
        for line in std::fs::read_to_string(file).unwrap().lines() {
            if line.trim().is_empty() {
                continue;
            }
            let (id, outcome) = match serde_json::from_str::<Value>(line) {
                Ok(case) => {
                    let id = case["id"].as_str().unwrap().to_owned();
                    let outcome = run_case(&case, &dir, &mut datasets, &mut messages);
                    (id, outcome)
                }
                // Two lines hold a lone UTF-16 surrogate, which a Rust string cannot.
                Err(e) => (
                    raw_id(line).unwrap_or_else(|| format!("{group}/<unreadable line>")),
                    Outcome::Fail(format!("line is not readable JSON: {e}")),
                ),
            };
            let listed = gaps.contains_key(&id);
            match outcome {
                Outcome::Pass => {
                    pass += 1;
                    if listed {
                        now_passing.push(id.clone());
                    }
                }
                Outcome::Fail(reason) => {
                    fail += 1;
                    let mark = if listed { "known" } else { "NEW" };
                    writeln!(failures, "  [{mark}] {id}: {reason}").unwrap();
                    if !listed {
                        unexpected.push(id.clone());
                    }
                }
            }
            seen_ids.push(id);
        }
        writeln!(report, "{group}: {pass} passed, {fail} failed").unwrap();
        total_pass += pass;
        total_fail += fail;
    }
    let stale: Vec<&String> = gaps.keys().filter(|id| !seen_ids.contains(id)).collect();

    println!("JSONata reference suite (jsonata-core, through baton_asl::jsonata::reference)");
    print!("{report}");
    println!("total: {total_pass} passed, {total_fail} failed");
    if !failures.is_empty() {
        println!("failures:");
        print!("{failures}");
    }
    let same = messages.iter().filter(|(_, want, got)| want == got).count();
    println!(
        "error messages worded as the reference (not judged): {same} of {}",
        messages.len()
    );
    for (id, want, got) in messages.iter().filter(|(_, want, got)| want != got) {
        println!("  {id}: reference {want:?}, ours {got:?}");
    }
    assert!(
        unexpected.is_empty() && now_passing.is_empty() && stale.is_empty(),
        "failures not in jsonata_known_gaps.txt: {unexpected:?}; \
         listed but now passing (remove them): {now_passing:?}; \
         listed but not in the corpus: {stale:?}"
    );
}

fn raw_id(line: &str) -> Option<String> {
    let start = line.find("\"id\":\"")? + 6;
    let len = line[start..].find('"')?;
    Some(line[start..start + len].to_owned())
}

fn run_case(
    case: &Value,
    dir: &Path,
    datasets: &mut HashMap<String, Value>,
    messages: &mut MessageChecks,
) -> Outcome {
    let obj = case.as_object().unwrap();
    let expr = obj["expr"].as_str().unwrap();
    // `"data": null` is a null input; `"dataset": null` is no input at all.
    let input: Option<Value> = if let Some(data) = obj.get("data") {
        Some(data.clone())
    } else {
        match obj.get("dataset") {
            Some(Value::String(name)) => Some(
                datasets
                    .entry(name.clone())
                    .or_insert_with(|| {
                        let path = dir.join("datasets").join(format!("{name}.json"));
                        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
                    })
                    .clone(),
            ),
            _ => None,
        }
    };
    let bindings = obj
        .get("bindings")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(Map::new);
    let guarded = obj.contains_key("timelimit") || obj.contains_key("depth");
    let limits = Limits {
        time_limit_ms: Some(
            obj.get("timelimit")
                .and_then(Value::as_u64)
                .unwrap_or(DEFAULT_TIME_LIMIT_MS),
        ),
        max_depth: obj
            .get("depth")
            .and_then(Value::as_u64)
            .and_then(|d| usize::try_from(d).ok()),
    };
    let expected_code = obj.get("code").and_then(Value::as_str).or_else(|| {
        obj.get("error")
            .and_then(|e| e.get("code"))
            .and_then(Value::as_str)
    });

    let outcome = reference::evaluate(expr, input.as_ref(), &bindings, limits);
    if let (Err(failure), Some(want)) = (
        &outcome,
        obj.get("error")
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str),
    ) {
        let ours = match &failure.code {
            Some(code) => failure.message[code.len() + 1..].trim_start(),
            None => failure.message.as_str(),
        };
        messages.push((
            obj["id"].as_str().unwrap_or_default().to_owned(),
            want.to_owned(),
            ours.to_owned(),
        ));
    }
    match outcome {
        Err(failure) => {
            let mut code = failure.code.clone();
            if guarded && matches!(code.as_deref(), Some("D1011" | "D1012")) {
                code = Some("U1001".to_owned());
            }
            match expected_code {
                Some(want) if code.as_deref() == Some(want) => {
                    if failure.at_parse
                        && let Some(token) = obj.get("token").and_then(Value::as_str)
                        && !failure.message.contains(token)
                    {
                        return Outcome::Fail(format!(
                            "parse error {want} does not name token {token:?}: {}",
                            failure.message
                        ));
                    }
                    Outcome::Pass
                }
                Some(want) => {
                    Outcome::Fail(format!("expected error {want}, got: {}", failure.message))
                }
                None => Outcome::Fail(format!("unexpected error: {}", failure.message)),
            }
        }
        Ok(result) => {
            if let Some(want) = expected_code {
                return Outcome::Fail(format!(
                    "expected error {want}, got {}",
                    show(result.as_ref())
                ));
            }
            if obj.get("undefinedResult").and_then(Value::as_bool) == Some(true) {
                return match result {
                    None => Outcome::Pass,
                    Some(v) => Outcome::Fail(format!("expected undefined, got {v}")),
                };
            }
            let Some(want) = obj.get("result") else {
                return Outcome::Fail("case has no expectation".to_owned());
            };
            match result {
                Some(got) if deep_equal(&got, want) => Outcome::Pass,
                got => Outcome::Fail(format!("expected {want}, got {}", show(got.as_ref()))),
            }
        }
    }
}

fn show(v: Option<&Value>) -> String {
    let text = v.map_or_else(|| "undefined".to_owned(), Value::to_string);
    if text.chars().count() > 300 {
        format!("{}…", text.chars().take(300).collect::<String>())
    } else {
        text
    }
}

/// chai's `deep.equal` on JSON: numbers by value, objects by key set, arrays in order.
fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| deep_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        _ => a == b,
    }
}
