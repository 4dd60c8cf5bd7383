//! How an execution's outcome is compared with an ASL corpus case, shared by the
//! in-process conformance run (`asl_conformance`) and the run through a real server
//! (`asl_with_lambda_e2e`): status, output, error, cause and history, with the corpus's
//! placeholders as wildcards and its normalised Parallel blocks as multisets.

use serde_json::Value;

use crate::support::{matches, short};

/// What an execution ended with, however it was run.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`.
    pub status: String,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// The `GetExecutionHistory` events, when the run has a history.
    pub history: Option<Vec<Value>>,
}

impl Observed {
    /// What an end-to-end driver script reported for one execution: DescribeExecution's
    /// `status`/`output`/`error`/`cause` and the history, or `failure` when it could not
    /// run the case at all.
    pub fn from_driver(result: &Value) -> Result<Observed, String> {
        if let Some(f) = result.get("failure").and_then(Value::as_str) {
            return Err(format!("could not run: {f}"));
        }
        let text = |k: &str| result.get(k).and_then(Value::as_str).map(str::to_owned);
        Ok(Observed {
            status: text("status").unwrap_or_default(),
            output: text("output").map(|o| serde_json::from_str(&o).unwrap_or(Value::String(o))),
            error: text("error"),
            cause: text("cause"),
            history: result.get("history").and_then(Value::as_array).cloned(),
        })
    }
}

/// Runs an end-to-end driver script against `server`: `SPEC` names a file holding
/// `spec`, and the driver writes one result per case as a JSON array to `OUT`.
pub fn run_driver(server: &crate::server::Server, spec: &Value, driver: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec_path = dir.path().join("spec.json");
    let out_path = dir.path().join("results.json");
    std::fs::write(&spec_path, spec.to_string()).expect("write spec");
    let script = format!(
        "SPEC = {:?}\nOUT = {:?}\n{driver}",
        spec_path.display().to_string(),
        out_path.display().to_string()
    );
    let out = server.python(&script);
    assert!(
        out.status.success(),
        "the driver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(&out_path).expect("results"))
        .expect("results json")
}

/// Compares `observed` with the case's `expected`; `Err` says where they differ.
pub fn compare_case(case: &Value, observed: &Observed) -> Result<(), String> {
    let expected = case.get("expected").ok_or("case has no expectation")?;
    let want_status = expected.get("status").and_then(Value::as_str).unwrap_or("");
    if observed.status != want_status {
        let detail = match (&observed.output, &observed.error, &observed.cause) {
            (Some(output), _, _) if observed.status == "SUCCEEDED" => {
                format!(" (output {})", short(output))
            }
            (_, None, None) => String::new(),
            (_, e, c) => format!(" ({e:?}: {c:?})"),
        };
        return Err(format!(
            "status: expected {want_status}, got {}{detail}",
            observed.status
        ));
    }
    if observed.status == "SUCCEEDED" {
        if let (Some(want), Some(output)) = (expected.get("output"), &observed.output) {
            matches(want, output, "output")?;
        }
    } else {
        if let Some(want) = expected.get("error") {
            matches(want, &opt(&observed.error), "error")?;
        }
        if let Some(want) = expected.get("cause") {
            matches(want, &opt(&observed.cause), "cause")?;
        }
    }
    if let Some(history) = expected.get("history").and_then(Value::as_array) {
        let ours = observed
            .history
            .as_deref()
            .ok_or("history: AWS recorded one, this run has none")?;
        let normalized = case
            .get("history_parallel_branches_normalized")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        compare_history(history, ours, normalized)?;
    }
    Ok(())
}

fn opt(s: &Option<String>) -> Value {
    s.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))
}

/// Event-by-event comparison. Parallel blocks that the recorder normalised (sorted, ids
/// zeroed) are compared as multisets of events without ids.
pub fn compare_history(expected: &[Value], ours: &[Value], normalized: bool) -> Result<(), String> {
    if !normalized {
        if expected.len() != ours.len() {
            return Err(format!(
                "history: expected {} events, got {}: expected types {:?}, got {:?}",
                expected.len(),
                ours.len(),
                types(expected),
                types(ours)
            ));
        }
        for (i, (e, a)) in expected.iter().zip(ours).enumerate() {
            matches(e, a, &format!("history[{i}]"))?;
        }
        return Ok(());
    }
    // The recorder sorted each Parallel block, zeroed its ids and dropped some events
    // (`ParallelStateSucceeded`, nested blocks' ends). The ids it kept still count the
    // real events, so: same total, every kept event present, numbered ones in place.
    let last_id = expected
        .iter()
        .filter_map(|e| e.get("id").and_then(Value::as_u64))
        .max()
        .unwrap_or(0);
    if last_id != ours.len() as u64 {
        return Err(format!(
            "history: AWS recorded {last_id} events, got {}: {:?}",
            ours.len(),
            types(ours)
        ));
    }
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("id");
            m.remove("previousEventId");
        }
        v
    };
    let mut used = vec![false; ours.len()];
    for (i, e) in expected.iter().enumerate() {
        match e.get("id").and_then(Value::as_u64) {
            Some(id) => {
                let idx = (id as usize).saturating_sub(1);
                let a = ours.get(idx).ok_or(format!("history: no event {id}"))?;
                matches(e, a, &format!("history[{i}]"))?;
                used[idx] = true;
            }
            None => {
                let want = strip(e);
                let pos = (0..ours.len())
                    .find(|&j| !used[j] && matches(&want, &strip(&ours[j]), "").is_ok());
                match pos {
                    Some(j) => used[j] = true,
                    None => {
                        return Err(format!(
                            "history: parallel-block event {} not found in ours",
                            short(e)
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            e.get("type")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned()
        })
        .collect()
}
