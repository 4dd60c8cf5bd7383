//! Connections and API destinations end to end: every operation through the aws CLI,
//! real HTTP deliveries with API-key, basic and OAuth client-credentials authorization,
//! retries of 5xx answers, and dead letters for answers EventBridge does not retry.

use std::time::Duration;

use serde_json::{Value, json};

use crate::events_api_support::{Endpoint, aws_err, aws_ok, python_json};
use crate::server::Server;

fn connection(server: &Server, name: &str, auth_type: &str, params: Value) -> Value {
    aws_ok(
        server,
        &[
            "events",
            "create-connection",
            "--name",
            name,
            "--authorization-type",
            auth_type,
            "--auth-parameters",
            &params.to_string(),
        ],
    )
}

fn destination(server: &Server, name: &str, connection_arn: &str, endpoint: &str) -> Value {
    let input = json!({
        "Name": name,
        "ConnectionArn": connection_arn,
        "InvocationEndpoint": endpoint,
        "HttpMethod": "PUT",
        "InvocationRateLimitPerSecond": 50,
        "Description": "test destination",
    })
    .to_string();
    aws_ok(
        server,
        &[
            "events",
            "create-api-destination",
            "--cli-input-json",
            &input,
        ],
    )
}

#[test]
fn connections_and_api_destinations_with_the_aws_cli() {
    let server = Server::start();
    let endpoint = Endpoint::start();
    let basic = connection(
        &server,
        "basic",
        "BASIC",
        json!({"BasicAuthParameters": {"Username": "user", "Password": "pass"},
               "InvocationHttpParameters": {"HeaderParameters": [
                   {"Key": "x-visible", "Value": "v", "IsValueSecret": false},
                   {"Key": "x-hidden", "Value": "h", "IsValueSecret": true}]}}),
    );
    assert_eq!(basic["ConnectionState"], "AUTHORIZED");
    let basic_arn = basic["ConnectionArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        basic_arn.starts_with("arn:aws:events:us-east-1:123456789012:connection/basic/"),
        "{basic_arn}"
    );
    let oauth = connection(
        &server,
        "oauth",
        "OAUTH_CLIENT_CREDENTIALS",
        json!({"OAuthParameters": {
            "ClientParameters": {"ClientID": "client", "ClientSecret": "shh"},
            "AuthorizationEndpoint": format!("{}/token", endpoint.url),
            "HttpMethod": "POST"}}),
    );
    assert_eq!(oauth["ConnectionState"], "AUTHORIZING");
    let oauth_arn = oauth["ConnectionArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let described = aws_ok(
        &server,
        &["events", "describe-connection", "--name", "basic"],
    );
    assert_eq!(described["AuthorizationType"], "BASIC");
    assert_eq!(
        described["AuthParameters"],
        json!({
            "BasicAuthParameters": {"Username": "user"},
            "InvocationHttpParameters": {"HeaderParameters": [
                {"Key": "x-visible", "Value": "v", "IsValueSecret": false},
                {"Key": "x-hidden", "IsValueSecret": true}]}
        }),
        "secrets never leave"
    );
    assert!(
        described["SecretArn"]
            .as_str()
            .unwrap_or_default()
            .starts_with(
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:events!connection/basic/"
            )
    );
    let mut state = Value::Null;
    for _ in 0..100 {
        state = aws_ok(
            &server,
            &["events", "describe-connection", "--name", "oauth"],
        )["ConnectionState"]
            .clone();
        if state == "AUTHORIZED" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(state, "AUTHORIZED", "the token endpoint was asked");
    let listed = aws_ok(
        &server,
        &["events", "list-connections", "--name-prefix", "oa"],
    );
    assert_eq!(listed["Connections"][0]["Name"], "oauth");
    assert_eq!(
        listed["Connections"][0]["AuthorizationType"],
        "OAUTH_CLIENT_CREDENTIALS"
    );
    let updated = aws_ok(
        &server,
        &[
            "events",
            "update-connection",
            "--name",
            "basic",
            "--auth-parameters",
            r#"{"BasicAuthParameters":{"Username":"new-user"}}"#,
        ],
    );
    assert_eq!(updated["ConnectionState"], "AUTHORIZED");
    let described = aws_ok(
        &server,
        &["events", "describe-connection", "--name", "basic"],
    );
    assert_eq!(
        described["AuthParameters"]["BasicAuthParameters"]["Username"],
        "new-user"
    );
    let (code, message) = aws_err(
        &server,
        &[
            "events",
            "create-connection",
            "--name",
            "Invalid Name With Spaces!",
            "--authorization-type",
            "API_KEY",
            "--auth-parameters",
            r#"{"ApiKeyAuthParameters":{"ApiKeyName":"k","ApiKeyValue":"v"}}"#,
        ],
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        r"1 validation error detected: Value 'Invalid Name With Spaces!' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+"
    );

    let d = destination(
        &server,
        "basic-hook",
        &basic_arn,
        &format!("{}/b/*", endpoint.url),
    );
    assert_eq!(d["ApiDestinationState"], "ACTIVE");
    let basic_dest = d["ApiDestinationArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let d = destination(
        &server,
        "oauth-hook",
        &oauth_arn,
        &format!("{}/o", endpoint.url),
    );
    let oauth_dest = d["ApiDestinationArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let described = aws_ok(
        &server,
        &["events", "describe-api-destination", "--name", "basic-hook"],
    );
    assert_eq!(described["HttpMethod"], "PUT");
    assert_eq!(described["InvocationRateLimitPerSecond"], 50);
    assert_eq!(described["ConnectionArn"], basic_arn.as_str());
    assert_eq!(described["Description"], "test destination");
    let listed = aws_ok(
        &server,
        &[
            "events",
            "list-api-destinations",
            "--connection-arn",
            &oauth_arn,
        ],
    );
    assert_eq!(listed["ApiDestinations"][0]["Name"], "oauth-hook");
    aws_ok(
        &server,
        &[
            "events",
            "update-api-destination",
            "--name",
            "oauth-hook",
            "--http-method",
            "POST",
        ],
    );
    let (code, message) = aws_err(
        &server,
        &[
            "events",
            "create-api-destination",
            "--name",
            "x",
            "--connection-arn",
            "invalid-connection-arn",
            "--invocation-endpoint",
            "ftp-nope",
            "--http-method",
            "INVALID_METHOD",
        ],
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        r"2 validation errors detected: Value 'invalid-connection-arn' at 'connectionArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws([a-z]|\-)*:events:([a-z]|\d|\-)*:([0-9]{12})?:connection\/[\.\-_A-Za-z0-9]+\/[\-A-Za-z0-9]+$; Value 'INVALID_METHOD' at 'httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [HEAD, POST, PATCH, DELETE, PUT, GET, OPTIONS]"
    );

    // Deliveries through both connections.
    let targets = json!([
        {"Id": "basic", "Arn": basic_dest, "InputPath": "$.detail",
         "HttpParameters": {"PathParameterValues": ["orders"]}},
        {"Id": "oauth", "Arn": oauth_dest, "InputPath": "$.detail",
         "RetryPolicy": {"MaximumRetryAttempts": 1},
         "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:123456789012:dead"}},
    ])
    .to_string();
    aws_ok(
        &server,
        &[
            "events",
            "put-rule",
            "--name",
            "http",
            "--event-pattern",
            r#"{"source":["shop"]}"#,
        ],
    );
    aws_ok(
        &server,
        &[
            "events",
            "put-targets",
            "--rule",
            "http",
            "--targets",
            &targets,
        ],
    );
    python_json(
        &server,
        r#"
import os, json, boto3
c = boto3.client("events", endpoint_url=os.environ["ENDPOINT"])
r = c.put_events(Entries=[{"Source": "shop", "DetailType": "d", "Detail": json.dumps({"n": 1})}])
print(json.dumps(r["FailedEntryCount"]))
"#,
    );
    let got = endpoint.wait_until(Duration::from_secs(20), |r| r.len() >= 2);
    let basic_req = got
        .iter()
        .find(|r| r.path == "/b/orders")
        .unwrap_or_else(|| panic!("no basic delivery: {got:?}"));
    assert_eq!(basic_req.method, "PUT");
    assert_eq!(
        basic_req.header("authorization"),
        Some("Basic bmV3LXVzZXI6cGFzcw==")
    );
    assert_eq!(basic_req.header("x-visible"), Some("v"));
    assert_eq!(basic_req.header("x-hidden"), Some("h"));
    assert_eq!(basic_req.json(), json!({"n": 1}));
    let oauth_req = got
        .iter()
        .find(|r| r.path == "/o")
        .unwrap_or_else(|| panic!("no oauth delivery: {got:?}"));
    assert_eq!(oauth_req.method, "POST");
    assert_eq!(oauth_req.header("authorization"), Some("Bearer tok-e2e"));

    // The OAuth endpoint answers 503 once (retried), then 404 (not retried).
    endpoint.answer_next(&[503, 404]);
    aws_ok(
        &server,
        &[
            "events",
            "remove-targets",
            "--rule",
            "http",
            "--ids",
            "basic",
        ],
    );
    python_json(
        &server,
        r#"
import os, json, boto3
c = boto3.client("events", endpoint_url=os.environ["ENDPOINT"])
r = c.put_events(Entries=[{"Source": "shop", "DetailType": "d", "Detail": json.dumps({"n": 2})}])
print(json.dumps(r["FailedEntryCount"]))
"#,
    );
    let letters = python_json(
        &server,
        r#"
import os, json, time, urllib.request
for _ in range(200):
    with urllib.request.urlopen(os.environ["ENDPOINT"] + "/_baton/events/dead-letters") as r:
        letters = json.loads(r.read())["DeadLetters"]
    if letters:
        break
    time.sleep(0.05)
print(json.dumps(letters))
"#,
    );
    assert_eq!(letters.as_array().map(Vec::len), Some(1), "{letters}");
    let letter = &letters[0];
    assert_eq!(
        letter["QueueArn"],
        "arn:aws:sqs:us-east-1:123456789012:dead"
    );
    assert_eq!(letter["Body"], r#"{"n":2}"#);
    assert_eq!(letter["Attributes"]["RETRY_ATTEMPTS"], 1);
    assert_eq!(
        letter["Attributes"]["ERROR_MESSAGE"],
        "the endpoint answered HTTP 404"
    );
    assert_eq!(
        letter["Attributes"]["RULE_ARN"],
        "arn:aws:events:us-east-1:123456789012:rule/http"
    );

    // Deauthorize, delete.
    let d = aws_ok(
        &server,
        &["events", "deauthorize-connection", "--name", "oauth"],
    );
    assert_eq!(d["ConnectionState"], "DEAUTHORIZING");
    let d = aws_ok(
        &server,
        &["events", "describe-connection", "--name", "oauth"],
    );
    assert_eq!(d["ConnectionState"], "DEAUTHORIZED");
    aws_ok(
        &server,
        &["events", "delete-api-destination", "--name", "oauth-hook"],
    );
    assert_eq!(
        aws_err(
            &server,
            &["events", "describe-api-destination", "--name", "oauth-hook"]
        ),
        (
            "ResourceNotFoundException".into(),
            "Failed to describe the api-destination(s). An api-destination 'oauth-hook' does not exist.".into()
        )
    );
    let deleted = aws_ok(&server, &["events", "delete-connection", "--name", "oauth"]);
    assert_eq!(deleted["ConnectionState"], "DELETING");
    assert_eq!(
        aws_err(
            &server,
            &["events", "describe-connection", "--name", "oauth"]
        ),
        (
            "ResourceNotFoundException".into(),
            "Failed to describe the connection(s). Connection 'oauth' does not exist.".into()
        )
    );
}
