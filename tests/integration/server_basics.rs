//! The server answers AWS clients with AWS's error shapes, and survives a `kill -9` restart on the same data directory.

use crate::server::Server;

#[test]
fn unknown_operations_get_aws_errors_and_restart_keeps_the_port() {
    let mut server = Server::start();
    let out = server.python(
        r#"
import os, boto3, botocore
c = boto3.client("stepfunctions", endpoint_url=os.environ["ENDPOINT"])
try:
    c.describe_state_machine(stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:nope")
    print("no error")
except botocore.exceptions.ClientError as e:
    print(e.response["Error"]["Code"])
"#,
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.trim(), "StateMachineDoesNotExist");

    let port = server.port();
    server.crash_and_restart();
    assert_eq!(server.port(), port);
}

/// The README's main command: `baton serve --deploy examples/order.asl.json`, then the
/// printed `aws` calls run the bundled example to the end.
#[test]
fn readme_main_command_deploys_the_bundled_example() {
    let root = env!("CARGO_MANIFEST_DIR");
    let definition = format!("{root}/examples/order.asl.json");
    let server = Server::start_with(&["--deploy", &definition]);
    let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:order";
    let input = std::fs::read_to_string(format!("{root}/examples/order.serve-input.json"))
        .expect("the bundled serve input");
    let out = server.aws(&[
        "stepfunctions",
        "start-execution",
        "--state-machine-arn",
        arn,
        "--input",
        &input,
    ]);
    assert!(out.status.success(), "{out:?}");
    let started: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let execution = started["executionArn"].as_str().expect("an execution ARN");
    let mut described = serde_json::Value::Null;
    for _ in 0..100 {
        let out = server.aws(&[
            "stepfunctions",
            "describe-execution",
            "--execution-arn",
            execution,
        ]);
        described = serde_json::from_slice(&out.stdout).expect("JSON");
        if described["status"] != "RUNNING" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(described["status"], "SUCCEEDED", "{described}");
    let output: serde_json::Value =
        serde_json::from_str(described["output"].as_str().expect("output")).expect("JSON");
    assert_eq!(output["customer"], "ada");
    assert_eq!(output["count"], 2);
}

/// A service Baton does not serve is answered in the protocol its client speaks, naming
/// the service and the operation: the `aws` CLI reads the code and message of a Query
/// (CloudFormation), a JSON (DynamoDB), a REST-XML (S3) and a REST-JSON (API Gateway)
/// error, instead of failing to parse the body.
#[test]
fn unserved_services_are_refused_in_their_own_protocol() {
    let server = Server::start();
    for (args, code, named) in [
        (
            &["cloudformation", "list-stacks"][..],
            "InvalidAction",
            "ListStacks of cloudformation",
        ),
        (
            &["dynamodb", "list-tables"][..],
            "UnknownOperationException",
            "ListTables of dynamodb",
        ),
        (
            &["s3api", "list-buckets"][..],
            "NotImplemented",
            "GET / of s3",
        ),
        (
            &["apigateway", "get-rest-apis"][..],
            "UnknownOperationException",
            "GET /restapis of apigateway",
        ),
    ] {
        let out = server.aws(args);
        assert!(!out.status.success(), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("({code})")) && stderr.contains(named),
            "{args:?}: {stderr}"
        );
    }
    // boto3 sees the same codes, and an operation a served service lacks names both.
    let out = server.python(
        r#"
import os, boto3, botocore
E = os.environ["ENDPOINT"]
def code(call):
    try:
        call()
        return "no error"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"] + " " + str(e.response["ResponseMetadata"]["HTTPStatusCode"]) + " " + e.response["Error"]["Message"]
print(code(lambda: boto3.client("sns", endpoint_url=E).list_topics()))
print(code(lambda: boto3.client("stepfunctions", endpoint_url=E).list_map_runs(executionArn="arn:aws:states:us-east-1:123456789012:execution:m:e")))
"#,
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "InvalidAction 400 Baton does not serve the operation ListTopics of sns",
            "UnknownOperationException 400 Baton does not serve the operation ListMapRuns of Step Functions",
        ]
    );
}
