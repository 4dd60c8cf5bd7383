//! A server given credentials verifies SigV4 signatures on every API: the real `aws` CLI
//! and boto3 sign, and a wrong secret or an unsigned request gets AWS's errors.

use crate::server::Server;

#[test]
fn configured_credentials_are_verified_on_every_api() {
    // The harness's clients sign with key id `test` and secret `test`.
    let server = Server::start_with(&["--credentials", "test:test"]);
    for args in [
        &["stepfunctions", "list-state-machines"][..],
        &["events", "list-event-buses"][..],
        &["lambda", "list-functions"][..],
    ] {
        let out = server.aws(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
    }

    let out = server.python(
        r#"
import os, json, boto3, botocore
from botocore import UNSIGNED
from botocore.config import Config
E = os.environ["ENDPOINT"]
def code(client, call):
    try:
        call(client)
        return "ok"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"] + " " + str(e.response["ResponseMetadata"]["HTTPStatusCode"])
wrong = dict(aws_access_key_id="test", aws_secret_access_key="nope", region_name="us-east-1")
other = dict(aws_access_key_id="someone", aws_secret_access_key="test", region_name="us-east-1")
print(json.dumps({
  "sfn_wrong_secret": code(boto3.client("stepfunctions", endpoint_url=E, **wrong), lambda c: c.list_activities()),
  "events_unknown_key": code(boto3.client("events", endpoint_url=E, **other), lambda c: c.list_rules()),
  "lambda_wrong_secret": code(boto3.client("lambda", endpoint_url=E, **wrong), lambda c: c.list_functions()),
  "unsigned": code(boto3.client("stepfunctions", endpoint_url=E, region_name="us-east-1", config=Config(signature_version=UNSIGNED)), lambda c: c.list_activities()),
  "signed_ok": code(boto3.client("stepfunctions", endpoint_url=E, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"), lambda c: c.list_activities()),
}))
"#,
    );
    assert!(out.status.success(), "{out:?}");
    let got: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the script prints one JSON object");
    assert_eq!(
        got,
        serde_json::json!({
            "sfn_wrong_secret": "InvalidSignatureException 400",
            "events_unknown_key": "UnrecognizedClientException 400",
            "lambda_wrong_secret": "InvalidSignatureException 403",
            "unsigned": "MissingAuthenticationTokenException 400",
            "signed_ok": "ok",
        })
    );
}
