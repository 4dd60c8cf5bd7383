//! The Lambda control-plane API through boto3: create, read, list with paging, update
//! code and configuration, delete, concurrency, event-invoke config, the invocation
//! types, and Lambda's REST error shapes (status, `x-amzn-ErrorType`, message).

use serde_json::Value;

use crate::functions_support::zip_of;
use crate::server::Server;

#[test]
fn function_lifecycle_and_errors_through_boto3() {
    let server = Server::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let zip_a = dir.path().join("a.zip");
    let zip_b = dir.path().join("b.zip");
    std::fs::write(
        &zip_a,
        zip_of(&[("app.py", b"def handler(e, c):\n    return 'a'\n", 0o644)]),
    )
    .expect("write");
    std::fs::write(
        &zip_b,
        zip_of(&[("app.py", b"def handler(e, c):\n    return 'b'\n", 0o644)]),
    )
    .expect("write");
    let script = format!(
        r#"
import base64, hashlib, json, os, boto3, botocore
from botocore.config import Config
c = boto3.client("lambda", endpoint_url=os.environ["ENDPOINT"], config=Config(retries={{"max_attempts": 0}}))
zip_a = open({a:?}, "rb").read()
zip_b = open({b:?}, "rb").read()
out = {{}}
def err(fn, **kw):
    try:
        fn(**kw)
        return None
    except botocore.exceptions.ClientError as e:
        r = e.response
        return [r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]]

created = c.create_function(FunctionName="f1", Runtime="python3.12", Role="arn:aws:iam::123456789012:role/r",
    Handler="app.handler", Code={{"ZipFile": zip_a}}, Timeout=10, MemorySize=512,
    Environment={{"Variables": {{"A": "1"}}}}, Tags={{"team": "x"}})
out["create_status"] = created["ResponseMetadata"]["HTTPStatusCode"]
out["sha_ok"] = created["CodeSha256"] == base64.b64encode(hashlib.sha256(zip_a).digest()).decode()
out["code_size"] = created["CodeSize"] == len(zip_a)
c.get_waiter("function_active_v2").wait(FunctionName="f1")
got = c.get_function(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:f1")
out["get"] = [got["Configuration"]["FunctionName"], got["Configuration"]["Timeout"], got["Configuration"]["MemorySize"],
              got["Configuration"]["Environment"], got["Tags"], got["Code"]["RepositoryType"]]
import urllib.request
out["download_ok"] = urllib.request.urlopen(got["Code"]["Location"]).read() == zip_a
out["duplicate"] = err(c.create_function, FunctionName="f1", Runtime="python3.12", Role="r", Handler="app.handler", Code={{"ZipFile": zip_a}})
out["bad_runtime"] = err(c.create_function, FunctionName="f2", Runtime="cobol85", Role="r", Handler="app.handler", Code={{"ZipFile": zip_a}})[:2]
out["reserved_env"] = err(c.create_function, FunctionName="f2", Runtime="python3.12", Role="r", Handler="app.handler", Code={{"ZipFile": zip_a}}, Environment={{"Variables": {{"AWS_REGION": "x"}}}})
out["bad_zip"] = err(c.create_function, FunctionName="f2", Runtime="python3.12", Role="r", Handler="app.handler", Code={{"ZipFile": b"not a zip"}})
out["missing"] = err(c.get_function, FunctionName="nope")
out["bad_timeout"] = err(c.update_function_configuration, FunctionName="f1", Timeout=901)[:2]
out["bad_qualifier"] = err(c.invoke, FunctionName="f1", Qualifier="7")

for i in range(5):
    c.create_function(FunctionName=f"g{{i}}", Runtime="python3.12", Role="r", Handler="app.handler", Code={{"ZipFile": zip_a}})
names, marker = [], None
while True:
    page = c.list_functions(MaxItems=2, **({{"Marker": marker}} if marker else {{}}))
    names += [f["FunctionName"] for f in page["Functions"]]
    marker = page.get("NextMarker")
    if not marker: break
out["listed"] = names
out["paginator"] = sum(len(p["Functions"]) for p in c.get_paginator("list_functions").paginate(PaginationConfig={{"PageSize": 3}}))

out["invoke_a"] = c.invoke(FunctionName="f1")["Payload"].read().decode()
rev = c.get_function_configuration(FunctionName="f1")["RevisionId"]
out["stale_revision"] = err(c.update_function_code, FunctionName="f1", ZipFile=zip_b, RevisionId="00000000-0000-0000-0000-000000000000")[:2]
upd = c.update_function_code(FunctionName="f1", ZipFile=zip_b, RevisionId=rev)
out["revision_changed"] = upd["RevisionId"] != rev
out["invoke_b"] = c.invoke(FunctionName="f1")["Payload"].read().decode()
cfg = c.update_function_configuration(FunctionName="f1", Description="new", Environment={{"Variables": {{"B": "2"}}}})
out["updated"] = [cfg["Description"], cfg["Environment"], cfg["Timeout"]]

out["event"] = c.invoke(FunctionName="f1", InvocationType="Event", Payload=b"{{}}")["StatusCode"]
out["dry_run"] = c.invoke(FunctionName="f1", InvocationType="DryRun")["StatusCode"]
out["dry_run_missing"] = err(c.invoke, FunctionName="nope", InvocationType="DryRun")[:2]

out["concurrency"] = c.put_function_concurrency(FunctionName="f1", ReservedConcurrentExecutions=3)["ReservedConcurrentExecutions"]
out["get_concurrency"] = c.get_function_concurrency(FunctionName="f1").get("ReservedConcurrentExecutions")
out["get_has_concurrency"] = c.get_function(FunctionName="f1")["Concurrency"]
c.delete_function_concurrency(FunctionName="f1")
out["concurrency_after_delete"] = c.get_function_concurrency(FunctionName="f1").get("ReservedConcurrentExecutions")

out["no_eic"] = err(c.get_function_event_invoke_config, FunctionName="f1")
eic = c.put_function_event_invoke_config(FunctionName="f1", MaximumRetryAttempts=1, MaximumEventAgeInSeconds=120)
out["eic"] = [eic["MaximumRetryAttempts"], eic["MaximumEventAgeInSeconds"], eic["FunctionArn"]]
out["eic_bad"] = err(c.put_function_event_invoke_config, FunctionName="f1", MaximumRetryAttempts=5)
c.delete_function_event_invoke_config(FunctionName="f1")

out["delete_status"] = c.delete_function(FunctionName="f1")["ResponseMetadata"]["HTTPStatusCode"]
out["deleted_invoke"] = err(c.invoke, FunctionName="f1")
out["delete_again"] = err(c.delete_function, FunctionName="f1")[:2]
print(json.dumps(out))
"#,
        a = zip_a.display().to_string(),
        b = zip_b.display().to_string(),
    );
    let out = server.python(&script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let arn = "arn:aws:lambda:us-east-1:123456789012:function";
    let expect = serde_json::json!({
        "create_status": 201,
        "sha_ok": true,
        "code_size": true,
        "get": ["f1", 10, 512, {"Variables": {"A": "1"}}, {"team": "x"}, "S3"],
        "download_ok": true,
        "duplicate": ["ResourceConflictException", 409, "Function already exist: f1"],
        "bad_runtime": ["InvalidParameterValueException", 400],
        "reserved_env": ["InvalidParameterValueException", 400, "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: AWS_REGION"],
        "bad_zip": ["InvalidParameterValueException", 400, "Could not unzip uploaded file. Please check your file, then try to upload again."],
        "missing": ["ResourceNotFoundException", 404, format!("Function not found: {arn}:nope")],
        "bad_timeout": ["ValidationException", 400],
        "bad_qualifier": ["ResourceNotFoundException", 404, format!("Function not found: {arn}:f1:7")],
        "listed": ["f1", "g0", "g1", "g2", "g3", "g4"],
        "paginator": 6,
        "invoke_a": "\"a\"",
        "stale_revision": ["PreconditionFailedException", 412],
        "revision_changed": true,
        "invoke_b": "\"b\"",
        "updated": ["new", {"Variables": {"B": "2"}}, 10],
        "event": 202,
        "dry_run": 204,
        "dry_run_missing": ["ResourceNotFoundException", 404],
        "concurrency": 3,
        "get_concurrency": 3,
        "get_has_concurrency": {"ReservedConcurrentExecutions": 3},
        "concurrency_after_delete": null,
        "no_eic": ["ResourceNotFoundException", 404, format!("The function {arn}:f1:$LATEST doesn't have an EventInvokeConfig")],
        "eic": [1, 120, format!("{arn}:f1:$LATEST")],
        "eic_bad": ["ValidationException", 400, "1 validation error detected: Value '5' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2"],
        "delete_status": 204,
        "deleted_invoke": ["ResourceNotFoundException", 404, format!("Function not found: {arn}:f1")],
        "delete_again": ["ResourceNotFoundException", 404],
    });
    for (key, want) in expect.as_object().expect("object") {
        assert_eq!(&v[key], want, "{key}");
    }
}

#[test]
fn function_definitions_survive_kill_9() {
    let mut server = Server::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let zip = dir.path().join("f.zip");
    std::fs::write(
        &zip,
        zip_of(&[("app.py", b"def handler(e, c):\n    return e\n", 0o644)]),
    )
    .expect("write");
    let out = server.aws(&[
        "lambda",
        "create-function",
        "--function-name",
        "keep",
        "--runtime",
        "python3.12",
        "--role",
        "r",
        "--handler",
        "app.handler",
        "--zip-file",
        &format!("fileb://{}", zip.display()),
    ]);
    assert!(out.status.success(), "{out:?}");
    server.crash_and_restart();
    let out_file = dir.path().join("out.json");
    let out = server.aws(&[
        "lambda",
        "invoke",
        "--function-name",
        "keep",
        "--payload",
        r#"{"x": 1}"#,
        &out_file.display().to_string(),
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(&out_file).expect("out"),
        r#"{"x": 1}"#
    );
}
