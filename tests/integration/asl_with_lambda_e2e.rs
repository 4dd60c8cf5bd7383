//! The `with_lambda` corpus end to end: a real `baton serve`, real Python functions (run
//! by Baton's shim) doing what each case's `lambda_behavior` describes, state machines
//! created and executions started over the Step Functions API, and the outcome and
//! history compared with AWS's recording by the same code as the in-process run
//! (`asl_compare`).
//!
//! One function per behaviour serves every case (the name is a placeholder in the
//! recordings); the corpus's placeholders in definitions and inputs are replaced by the
//! real names, region and account before the machine is created.

// Printing the pass count is the point of a conformance run.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::asl_compare::{Observed, compare_case, run_driver};
use crate::functions_support::zip_of;
use crate::server::Server;
use crate::support::{Report, json_files, known_gaps, shared_dir};

const ACCOUNT: &str = "111111111111";
const REGION: &str = "us-east-1";
const GAPS: &str = "asl_with_lambda_e2e_known_gaps.txt";

/// A Python handler for each behaviour the corpus describes: (function name, source).
fn function_for(behavior: &str) -> Option<(&'static str, &'static str)> {
    let b = behavior.to_ascii_lowercase();
    Some(if b.starts_with("identity") {
        (
            "wl-identity",
            "def handler(event, context):\n    return event\n",
        )
    } else if b.starts_with("always fails: raises a generic") {
        (
            "wl-raise",
            "def handler(event, context):\n    raise Exception(\"Some exception was raised.\")\n",
        )
    } else if b.starts_with("always fails: raises an exception of a user-defined class") {
        (
            "wl-raise-custom",
            "class CustomException(Exception):\n    pass\n\n\ndef handler(event, context):\n    raise CustomException()\n",
        )
    } else if b.contains("257 kib") {
        (
            "wl-large",
            "def handler(event, context):\n    return \"a\" * (257 * 1024)\n",
        )
    } else if b.contains("raw byte string") {
        // The response bytes are the JSON text "HelloWorld!"; Baton's shim (like
        // Lambda's) serialises a returned str to exactly those bytes.
        (
            "wl-bytes",
            "def handler(event, context):\n    return \"HelloWorld!\"\n",
        )
    } else if b.contains("ignores its input") {
        (
            "wl-echo",
            "def handler(event, context):\n    return {\"Return\": \"HelloWorld\"}\n",
        )
    } else if b.contains("input-event-") {
        (
            "wl-decorate",
            "def handler(event, context):\n    return \"input-event-\" + str(event)\n",
        )
    } else if b.starts_with("sleeps 60 seconds") {
        (
            "wl-sleep",
            "import time\n\n\ndef handler(event, context):\n    time.sleep(60)\n    return event\n",
        )
    } else {
        return None;
    })
}

/// One case made ready for the server: placeholders replaced, functions chosen.
struct Job {
    id: String,
    case: Value,
    definition: String,
    input: Option<String>,
    express: bool,
    sync: bool,
}

fn substitute(text: &str, names: &BTreeMap<String, String>) -> String {
    let mut out = text.to_owned();
    for (placeholder, name) in names {
        out = out.replace(placeholder.as_str(), name);
    }
    out.replace("arn:<partition>:", "arn:aws:")
        .replace("<region>", REGION)
        .replace("<test_aws_account_id>", ACCOUNT)
}

fn prepare(case: Value, functions: &mut BTreeMap<String, &'static str>) -> Result<Job, String> {
    let id = case
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned();
    let mut names = BTreeMap::new();
    for f in case
        .get("lambda_functions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let placeholder = f
            .get("function_name_placeholder")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let behavior = f
            .get("lambda_behavior")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (shared, source) = function_for(behavior)
            .ok_or_else(|| format!("no function for behaviour {behavior:?}"))?;
        // A label that is a valid function name (`function_name_branch1`) is recorded
        // as is, so the function gets exactly that name; `<…>` labels are wildcards.
        let valid_name = !placeholder.is_empty()
            && placeholder.len() <= 64
            && placeholder
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let name = match functions.get(placeholder) {
            _ if !valid_name => shared.to_owned(),
            Some(existing) if *existing != source => shared.to_owned(),
            _ => placeholder.to_owned(),
        };
        functions.insert(name.clone(), source);
        names.insert(placeholder.to_owned(), name);
    }
    let definition = case.get("definition").ok_or("case has no definition")?;
    let definition = substitute(&definition.to_string(), &names);
    let omitted = case
        .get("input_omitted_in_request")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let input = (!omitted).then(|| {
        substitute(
            &case.get("input").cloned().unwrap_or(json!({})).to_string(),
            &names,
        )
    });
    let express = case.get("state_machine_type").and_then(Value::as_str) == Some("EXPRESS");
    let sync = case.get("start_api").and_then(Value::as_str) == Some("StartSyncExecution");
    Ok(Job {
        id,
        case,
        definition,
        input,
        express,
        sync,
    })
}

/// Creates the functions, then runs every job (eight at a time) through the Step
/// Functions JSON protocol as it is on the wire, and prints one JSON result per job.
const DRIVER: &str = r#"
import json, os, sys, time, urllib.request, urllib.error
from concurrent.futures import ThreadPoolExecutor
import boto3
from botocore.config import Config

ENDPOINT = os.environ["ENDPOINT"]
spec = json.load(open(SPEC))
lam = boto3.client("lambda", endpoint_url=ENDPOINT, config=Config(retries={"max_attempts": 1}))
for f in spec["functions"]:
    lam.create_function(FunctionName=f["name"], Runtime="python3.12", Handler="app.handler",
                        Role="arn:aws:iam::111111111111:role/lambda", Timeout=90,
                        Code={"ZipFile": open(f["zip"], "rb").read()})

def sfn(op, body):
    req = urllib.request.Request(ENDPOINT, data=json.dumps(body).encode(), headers={
        "X-Amz-Target": "AWSStepFunctions." + op,
        "Content-Type": "application/x-amz-json-1.0"})
    try:
        with urllib.request.urlopen(req, timeout=150) as r:
            return json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        raise RuntimeError("%s: HTTP %d %s" % (op, e.code, e.read()[:500]))

def run(job):
    try:
        machine = sfn("CreateStateMachine", {
            "name": "wl-%d" % job["index"], "definition": job["definition"],
            "roleArn": "arn:aws:iam::111111111111:role/baton-conformance",
            "type": "EXPRESS" if job["express"] else "STANDARD"})["stateMachineArn"]
        start = {"stateMachineArn": machine, "name": "run-1"}
        if job["input"] is not None:
            start["input"] = job["input"]
        if job["sync"]:
            r = sfn("StartSyncExecution", start)
            return {"index": job["index"], "status": r["status"], "output": r.get("output"),
                    "error": r.get("error"), "cause": r.get("cause")}
        arn = sfn("StartExecution", start)["executionArn"]
        end = time.time() + 150
        while True:
            d = sfn("DescribeExecution", {"executionArn": arn})
            if d["status"] != "RUNNING" or time.time() > end:
                break
            time.sleep(0.05)
        events, token = [], None
        while True:
            body = {"executionArn": arn, "maxResults": 1000}
            if token:
                body["nextToken"] = token
            page = sfn("GetExecutionHistory", body)
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                break
        return {"index": job["index"], "status": d["status"], "output": d.get("output"),
                "error": d.get("error"), "cause": d.get("cause"), "history": events}
    except Exception as e:
        return {"index": job["index"], "failure": repr(e)}

with ThreadPoolExecutor(8) as pool:
    results = list(pool.map(run, spec["jobs"]))
json.dump(results, open(OUT, "w"))
"#;

#[test]
fn asl_with_lambda_through_real_functions() {
    let root = shared_dir().join("conformance/asl/with_lambda");
    let gaps = known_gaps(GAPS);
    let mut report = Report::default();
    let mut functions = BTreeMap::new();
    let mut jobs = Vec::new();
    for path in json_files(&root) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let case: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                let id = path.display().to_string();
                report.record("with_lambda", &id, Err(e.to_string()), &gaps);
                continue;
            }
        };
        let label = |id: &str| format!("with_lambda/{}", id.split('/').next().unwrap_or("?"));
        match prepare(case, &mut functions) {
            Ok(job) if job.express && !job.sync => {
                // Nothing to observe: AWS's recording of these is the CloudWatch Logs
                // event, and an Express execution started asynchronously has no API
                // that reports its outcome.
                report.record(
                    &label(&job.id),
                    &format!("with_lambda/{}", job.id),
                    Err("an asynchronous Express execution's outcome is not observable".into()),
                    &gaps,
                );
            }
            Ok(job) => jobs.push(job),
            Err(e) => report.record("with_lambda", &path.display().to_string(), Err(e), &gaps),
        }
    }

    let server = Server::start_with(&[
        "--account",
        ACCOUNT,
        "--region",
        REGION,
        "--functions-idle-timeout",
        "20",
    ]);
    let dir = tempfile::tempdir().expect("tempdir");
    let functions: Vec<Value> = functions
        .iter()
        .map(|(name, source)| {
            let zip = zip_of(&[("app.py", source.as_bytes(), 0o644)]);
            let path = dir.path().join(format!("{name}.zip"));
            std::fs::write(&path, zip).expect("write zip");
            json!({"name": name, "zip": path.display().to_string()})
        })
        .collect();
    let spec = json!({
        "functions": functions,
        "jobs": jobs.iter().enumerate().map(|(i, j)| json!({
            "index": i,
            "definition": j.definition,
            "input": j.input,
            "express": j.express,
            "sync": j.sync,
        })).collect::<Vec<_>>(),
    });
    let results = run_driver(&server, &spec, DRIVER);
    assert_eq!(results.len(), jobs.len(), "one result per case");
    for (job, result) in jobs.iter().zip(&results) {
        let outcome = Observed::from_driver(result).and_then(|o| compare_case(&job.case, &o));
        let group = job.id.split('/').next().unwrap_or("?");
        report.record(
            &format!("with_lambda/{group}"),
            &format!("with_lambda/{}", job.id),
            outcome,
            &gaps,
        );
    }
    report.finish("ASL with_lambda through baton serve and real functions");
}
