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
