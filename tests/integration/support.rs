//! Shared helpers for the corpus-driven tests: where the corpora are, how recorded
//! values with placeholders are compared, and the known-gaps lists.

// Reporting pass counts is what these helpers are for.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// `../shared` beside the project root.
pub fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// Every `*.json` file under `dir`, sorted.
pub fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A known-gaps file: `case-id  reason…` per line, `#` comments.
pub fn known_gaps(file: &str) -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/integration")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((id, reason)) => (id.to_owned(), reason.trim().to_owned()),
            None => (l.to_owned(), String::new()),
        })
        .collect()
}

/// Per-folder tallies, printed as `N passed, M failed` and checked against known gaps.
#[derive(Default)]
pub struct Report {
    folders: BTreeMap<String, (usize, usize)>,
    failures: Vec<(String, String)>,
    unexpected: Vec<(String, String)>,
    stale_gaps: Vec<String>,
}

impl Report {
    pub fn record(
        &mut self,
        folder: &str,
        id: &str,
        result: Result<(), String>,
        gaps: &BTreeMap<String, String>,
    ) {
        let entry = self.folders.entry(folder.to_owned()).or_default();
        match result {
            Ok(()) => {
                entry.0 += 1;
                if gaps.contains_key(id) {
                    self.stale_gaps.push(id.to_owned());
                }
            }
            Err(reason) => {
                entry.1 += 1;
                if !gaps.contains_key(id) {
                    self.unexpected.push((id.to_owned(), reason.clone()));
                }
                self.failures.push((id.to_owned(), reason));
            }
        }
    }

    /// Prints the tallies and every failure; panics if a failure is not a known gap or a
    /// known gap now passes.
    pub fn finish(self, title: &str) {
        println!("== {title}");
        let (mut tp, mut tf) = (0, 0);
        for (folder, (p, f)) in &self.folders {
            println!("{folder}: {p} passed, {f} failed");
            tp += p;
            tf += f;
        }
        println!("total: {tp} passed, {tf} failed");
        for (id, reason) in &self.failures {
            println!("FAIL {id}: {reason}");
        }
        let mut problems = Vec::new();
        for (id, reason) in &self.unexpected {
            problems.push(format!("unexpected failure {id}: {reason}"));
        }
        for id in &self.stale_gaps {
            problems.push(format!(
                "known gap now passes (remove it from the list): {id}"
            ));
        }
        assert!(
            problems.is_empty(),
            "{title}: {} problem(s):\n{}",
            problems.len(),
            problems.join("\n")
        );
    }
}

/// Whether a recorded string is (or contains) a placeholder that stands for any value.
pub fn is_placeholder(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "timestamp",
        "date",
        "datetime",
        "snf_role_arn",
        "sfn_role_arn",
        "generated-uuid",
        "x-amzn-RequestId",
        "X-Amzn-Trace-Id",
        "RequestId",
        "lambda_function_name",
        "bucket-name",
        // Test-specific labels the recorder used for values that change every run.
        "start-time",
        "start-date",
        "entered-time",
        "RandomNumberGenerated",
        "map_run_arn",
        "activity_arn",
        "executionSucceededEventDetails.output",
    ];
    if WORDS.contains(&s) {
        return true;
    }
    // Labels like `stateExitedEventDetails.output` stand for a recorded field's value.
    if let Some((head, tail)) = s.split_once("EventDetails.")
        && !head.is_empty()
        && head.chars().all(|c| c.is_ascii_alphabetic())
        && !tail.is_empty()
        && tail.chars().all(|c| c.is_ascii_alphabetic())
    {
        return true;
    }
    // `<name>` / `<name:N>` labels, anywhere in the string.
    if let Some(open) = s.find('<')
        && s[open..].contains('>')
    {
        return true;
    }
    false
}

/// Compares a recorded value (with placeholders) to ours. `Err` says where they differ.
pub fn matches(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::String(e), _) if is_placeholder(e) => Ok(()),
        (Value::String(e), Value::String(a)) => {
            if e == a {
                return Ok(());
            }
            // Both may hold JSON text; compare what they encode.
            match (
                serde_json::from_str::<Value>(e),
                serde_json::from_str::<Value>(a),
            ) {
                (Ok(ev), Ok(av)) if ev.is_object() || ev.is_array() || ev.is_string() => {
                    matches(&ev, &av, path)
                }
                _ => Err(format!("{path}: expected {e:?}, got {a:?}")),
            }
        }
        // The recorder decoded JSON-text fields (objects, and some arrays and numbers).
        (e, Value::String(a)) if !e.is_string() => match serde_json::from_str::<Value>(a) {
            Ok(av) => matches(expected, &av, path),
            Err(_) => Err(format!("{path}: expected {}, got {a:?}", short(e))),
        },
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                if k == "stackTrace" {
                    // Runtime-specific (a Python traceback in the recordings).
                    continue;
                }
                match a.get(k) {
                    Some(av) => matches(ev, av, &format!("{path}.{k}"))?,
                    None => return Err(format!("{path}: missing key {k:?}")),
                }
            }
            for k in a.keys() {
                if !e.contains_key(k) {
                    return Err(format!("{path}: unexpected key {k:?}"));
                }
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!(
                    "{path}: expected {} elements, got {}: {}",
                    e.len(),
                    a.len(),
                    short(actual)
                ));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                matches(ev, av, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Number(e), Value::Number(a)) if e == a => Ok(()),
        // The account id placeholder is a number-looking string in ARNs but may stand
        // alone as a number.
        _ if expected == actual => Ok(()),
        _ => Err(format!(
            "{path}: expected {}, got {}",
            short(expected),
            short(actual)
        )),
    }
}

pub fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 300 {
        format!("{}…", &s[..s.floor_char_boundary(300)])
    } else {
        s
    }
}
