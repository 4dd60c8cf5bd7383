//! EventBridge end to end through the real `aws` CLI and boto3: event buses, rules,
//! targets, PutEvents delivered to a real HTTP endpoint, TestEventPattern, and bad
//! requests answered with AWS's error names (never a 500).

use std::time::Duration;

use serde_json::{Value, json};

use crate::events_api_support::{
    Endpoint, Received, api_destination, aws_err, aws_ok, python_json,
};
use crate::server::Server;

#[test]
fn buses_rules_and_targets_with_the_aws_cli() {
    let server = Server::start();
    let created = aws_ok(&server, &["events", "create-event-bus", "--name", "orders"]);
    let bus_arn = "arn:aws:events:us-east-1:123456789012:event-bus/orders";
    assert_eq!(created["EventBusArn"], bus_arn);
    assert_eq!(
        aws_err(&server, &["events", "create-event-bus", "--name", "orders"]),
        (
            "ResourceAlreadyExistsException".into(),
            "Event bus orders already exists.".into()
        )
    );
    let described = aws_ok(
        &server,
        &["events", "describe-event-bus", "--name", bus_arn],
    );
    assert_eq!(described["Name"], "orders");
    assert!(described["CreationTime"].is_number());
    assert_eq!(
        aws_err(&server, &["events", "describe-event-bus", "--name", "nope"]),
        (
            "ResourceNotFoundException".into(),
            "Event bus nope does not exist.".into()
        )
    );
    aws_ok(
        &server,
        &[
            "events",
            "update-event-bus",
            "--name",
            "orders",
            "--description",
            "order events",
        ],
    );
    let listed = aws_ok(
        &server,
        &["events", "list-event-buses", "--name-prefix", "ord"],
    );
    assert_eq!(listed["EventBuses"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["EventBuses"][0]["Description"], "order events");
    let all = aws_ok(&server, &["events", "list-event-buses"]);
    let names: Vec<&str> = all["EventBuses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["Name"].as_str())
        .collect();
    assert_eq!(names, ["default", "orders"]);

    let rule = aws_ok(
        &server,
        &[
            "events",
            "put-rule",
            "--name",
            "big-orders",
            "--event-bus-name",
            "orders",
            "--event-pattern",
            r#"{"source":["shop"],"detail":{"total":[{"numeric":[">",100]}]}}"#,
            "--description",
            "orders over 100",
        ],
    );
    assert_eq!(
        rule["RuleArn"],
        "arn:aws:events:us-east-1:123456789012:rule/orders/big-orders"
    );
    let described = aws_ok(
        &server,
        &[
            "events",
            "describe-rule",
            "--name",
            "big-orders",
            "--event-bus-name",
            "orders",
        ],
    );
    assert_eq!(described["State"], "ENABLED");
    assert_eq!(described["EventBusName"], "orders");
    assert_eq!(described["CreatedBy"], "123456789012");
    assert_eq!(described["Description"], "orders over 100");
    assert_eq!(
        aws_err(
            &server,
            &["events", "describe-rule", "--name", "big-orders"]
        ),
        (
            "ResourceNotFoundException".into(),
            "Rule big-orders does not exist on EventBus default.".into()
        )
    );
    aws_ok(
        &server,
        &[
            "events",
            "disable-rule",
            "--name",
            "big-orders",
            "--event-bus-name",
            "orders",
        ],
    );
    let rules = aws_ok(
        &server,
        &[
            "events",
            "list-rules",
            "--event-bus-name",
            "orders",
            "--name-prefix",
            "big",
        ],
    );
    assert_eq!(rules["Rules"][0]["State"], "DISABLED");
    aws_ok(
        &server,
        &[
            "events",
            "enable-rule",
            "--name",
            "big-orders",
            "--event-bus-name",
            "orders",
        ],
    );

    let targets = json!([{
        "Id": "sm",
        "Arn": "arn:aws:states:us-east-1:123456789012:stateMachine:fulfil",
        "InputTransformer": {"InputPathsMap": {"total": "$.detail.total"}, "InputTemplate": "{\"t\": <total>}"},
        "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600},
        "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:123456789012:dlq"}
    }])
    .to_string();
    let put = aws_ok(
        &server,
        &[
            "events",
            "put-targets",
            "--rule",
            "big-orders",
            "--event-bus-name",
            "orders",
            "--targets",
            &targets,
        ],
    );
    assert_eq!(put["FailedEntryCount"], 0);
    let listed = aws_ok(
        &server,
        &[
            "events",
            "list-targets-by-rule",
            "--rule",
            "big-orders",
            "--event-bus-name",
            "orders",
        ],
    );
    let expected: Value = serde_json::from_str(&targets).unwrap_or_default();
    assert_eq!(listed["Targets"], expected, "targets come back as given");
    let names = aws_ok(
        &server,
        &[
            "events",
            "list-rule-names-by-target",
            "--target-arn",
            "arn:aws:states:us-east-1:123456789012:stateMachine:fulfil",
            "--event-bus-name",
            "orders",
        ],
    );
    assert_eq!(names["RuleNames"], json!(["big-orders"]));
    assert_eq!(
        aws_err(
            &server,
            &[
                "events",
                "delete-rule",
                "--name",
                "big-orders",
                "--event-bus-name",
                "orders"
            ]
        ),
        (
            "ValidationException".into(),
            "Rule can't be deleted since it has targets.".into()
        )
    );
    let six: Value = (0..6)
        .map(|i| json!({"Id": format!("t{i}"), "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}))
        .collect();
    assert_eq!(
        aws_err(
            &server,
            &[
                "events",
                "put-targets",
                "--rule",
                "big-orders",
                "--event-bus-name",
                "orders",
                "--targets",
                &six.to_string()
            ]
        ),
        (
            "LimitExceededException".into(),
            "The requested resource exceeds the maximum number allowed.".into()
        )
    );
    let (code, message) = aws_err(
        &server,
        &[
            "events",
            "put-targets",
            "--rule",
            "big-orders",
            "--event-bus-name",
            "orders",
            "--targets",
            r#"[{"Id":"x","Arn":"arn:aws:sqs:us-east-1:123456789012:q","InputTransformer":{"InputTemplate":"<nope>"}}]"#,
        ],
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "InputTemplate for target x contains invalid placeholder nope."
    );
    aws_ok(
        &server,
        &[
            "events",
            "remove-targets",
            "--rule",
            "big-orders",
            "--event-bus-name",
            "orders",
            "--ids",
            "sm",
        ],
    );
    aws_ok(
        &server,
        &[
            "events",
            "delete-rule",
            "--name",
            "big-orders",
            "--event-bus-name",
            "orders",
        ],
    );
    let rules = aws_ok(
        &server,
        &["events", "list-rules", "--event-bus-name", "orders"],
    );
    assert_eq!(rules["Rules"], json!([]));

    // Rule validation.
    assert_eq!(
        aws_err(
            &server,
            &[
                "events",
                "put-rule",
                "--name",
                "tick",
                "--event-bus-name",
                "orders",
                "--schedule-expression",
                "rate(5 minutes)"
            ]
        ),
        (
            "ValidationException".into(),
            "ScheduleExpression is supported only on the default event bus.".into()
        )
    );
    assert_eq!(
        aws_err(
            &server,
            &[
                "events",
                "put-rule",
                "--name",
                "tick",
                "--schedule-expression",
                "rate(5 minute)"
            ]
        ),
        (
            "ValidationException".into(),
            "Parameter ScheduleExpression is not valid.".into()
        )
    );
    let (code, message) = aws_err(
        &server,
        &[
            "events",
            "put-rule",
            "--name",
            "bad",
            "--event-pattern",
            r#"{"source":"shop"}"#,
        ],
    );
    assert_eq!(code, "InvalidEventPatternException");
    assert_eq!(
        message,
        r#"Event pattern is not valid. Reason: "source" must be an object or an array"#
    );
    let (code, message) = aws_err(&server, &["events", "put-rule", "--name", "bad name!"]);
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        r"1 validation error detected: Value 'bad name!' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+"
    );

    assert_eq!(
        aws_err(
            &server,
            &["events", "delete-event-bus", "--name", "default"]
        ),
        (
            "ValidationException".into(),
            "Cannot delete event bus default.".into()
        )
    );
    aws_ok(&server, &["events", "delete-event-bus", "--name", "orders"]);
    assert_eq!(
        aws_err(
            &server,
            &["events", "describe-event-bus", "--name", "orders"]
        )
        .0,
        "ResourceNotFoundException"
    );
}

#[test]
fn test_event_pattern_with_the_aws_cli() {
    let server = Server::start();
    let event = r#"{"id":"1","account":"123456789012","source":"shop","time":"2024-01-01T00:00:00Z","region":"us-east-1","detail-type":"order","detail":{"total":150}}"#;
    let yes = aws_ok(
        &server,
        &[
            "events",
            "test-event-pattern",
            "--event-pattern",
            r#"{"detail":{"total":[{"numeric":[">",100]}]}}"#,
            "--event",
            event,
        ],
    );
    assert_eq!(yes["Result"], true);
    let no = aws_ok(
        &server,
        &[
            "events",
            "test-event-pattern",
            "--event-pattern",
            r#"{"source":[{"prefix":"other"}]}"#,
            "--event",
            event,
        ],
    );
    assert_eq!(no["Result"], false);
    assert_eq!(
        aws_err(
            &server,
            &[
                "events",
                "test-event-pattern",
                "--event-pattern",
                r#"{"source":["shop"]}"#,
                "--event",
                r#"{"testEvent":"value"}"#
            ]
        ),
        (
            "ValidationException".into(),
            "Parameter Event is not valid.".into()
        )
    );
    let (code, message) = aws_err(
        &server,
        &[
            "events",
            "test-event-pattern",
            "--event-pattern",
            r#"{"source":[{"wildcard":"a**b"}]}"#,
            "--event",
            event,
        ],
    );
    assert_eq!(code, "InvalidEventPatternException");
    assert!(
        message.starts_with("Event pattern is not valid. Reason: "),
        "{message}"
    );
}

#[test]
fn put_events_reach_http_targets_and_other_buses() {
    let server = Server::start();
    let endpoint = Endpoint::start();
    let destination = api_destination(&server, &endpoint, "hook");
    aws_ok(&server, &["events", "create-event-bus", "--name", "audit"]);
    let script = format!(
        r#"
import os, json, boto3
c = boto3.client("events", endpoint_url=os.environ["ENDPOINT"])
c.put_rule(Name="orders", EventPattern=json.dumps({{"source": ["shop"]}}))
c.put_targets(Rule="orders", Targets=[
    {{"Id": "http", "Arn": "{destination}",
      "InputTransformer": {{"InputPathsMap": {{"total": "$.detail.total", "type": "$.detail-type"}},
                           "InputTemplate": "{{\"total\": <total>, \"kind\": \"<type>\", \"rule\": \"<aws.events.rule-name>\"}}"}},
      "HttpParameters": {{"HeaderParameters": {{"x-source": "baton"}}, "QueryStringParameters": {{"q": "1"}}}}}},
    {{"Id": "audit", "Arn": "arn:aws:events:us-east-1:123456789012:event-bus/audit"}},
])
c.put_rule(Name="copies", EventBusName="audit", EventPattern=json.dumps({{"source": ["shop"]}}))
c.put_targets(Rule="copies", EventBusName="audit", Targets=[
    {{"Id": "http", "Arn": "{destination}"}},
])
r = c.put_events(Entries=[
    {{"Source": "shop", "DetailType": "order placed", "Detail": json.dumps({{"total": 120}})}},
    {{"Source": "elsewhere", "DetailType": "x", "Detail": "{{}}"}},
    {{"DetailType": "x", "Detail": "{{}}"}},
    {{"Source": "shop", "DetailType": "x", "Detail": "[1]"}},
])
print(json.dumps(r["Entries"] + [{{"FailedEntryCount": r["FailedEntryCount"]}}]))
"#
    );
    let entries = python_json(&server, &script);
    let entries = entries.as_array().cloned().unwrap_or_default();
    let event_id = entries[0]["EventId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(event_id.len(), 36);
    assert!(entries[1]["EventId"].is_string());
    assert_eq!(
        entries[2],
        json!({"ErrorCode": "InvalidArgument", "ErrorMessage": "Parameter Source is not valid. Reason: Source is a required argument."})
    );
    assert_eq!(
        entries[3],
        json!({"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."})
    );
    assert_eq!(entries[4]["FailedEntryCount"], 2);

    let got = endpoint.wait_until(Duration::from_secs(20), |r| r.len() >= 2);
    assert_eq!(got.len(), 2, "{got:?}");
    let transformed = got
        .iter()
        .find(|r| r.path.contains("q=1"))
        .unwrap_or_else(|| panic!("no transformed delivery in {got:?}"));
    assert_eq!(transformed.method, "POST");
    assert_eq!(transformed.path, "/hook?q=1");
    assert_eq!(transformed.header("x-api-key"), Some("secret-key"));
    assert_eq!(transformed.header("x-source"), Some("baton"));
    assert_eq!(
        transformed.json(),
        json!({"total": 120, "kind": "order placed", "rule": "orders"})
    );
    let forwarded = got
        .iter()
        .find(|r| r.path == "/hook")
        .unwrap_or_else(|| panic!("no forwarded delivery in {got:?}"))
        .json();
    assert_eq!(forwarded["source"], "shop");
    assert_eq!(forwarded["detail"], json!({"total": 120}));
    assert_ne!(
        forwarded["id"],
        event_id.as_str(),
        "a new id on the second bus"
    );
    let keys: Vec<&str> = forwarded
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "version",
            "id",
            "detail-type",
            "source",
            "account",
            "time",
            "region",
            "resources",
            "detail"
        ]
    );
}

#[test]
fn bad_requests_get_aws_error_names_never_a_500() {
    let server = Server::start();
    let script = r#"
import os, json, urllib.request, urllib.error
import boto3, botocore
url = os.environ["ENDPOINT"]
def raw(target, body):
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "X-Amz-Target": "AWSEvents." + target,
        "Content-Type": "application/x-amz-json-1.1"})
    try:
        with urllib.request.urlopen(req) as r:
            return [r.status, json.loads(r.read())]
    except urllib.error.HTTPError as e:
        return [e.code, json.loads(e.read())]
out = {}
out["malformed"] = raw("PutEvents", b'{"Entries": [')
out["wrong_type"] = raw("PutRule", b'{"Name": 5}')
out["missing"] = raw("PutRule", b'{}')
out["unknown_op"] = raw("NoSuchThing", b'{}')
big = "x" * (256 * 1024)
out["oversized"] = raw("PutEvents", json.dumps({"Entries": [
    {"Source": "s", "DetailType": "d", "Detail": json.dumps({"big": big})}]}).encode())
out["eleven"] = raw("PutEvents", json.dumps({"Entries": [
    {"Source": "s", "DetailType": "d", "Detail": "{}"}] * 11}).encode())
out["no_bus"] = raw("PutEvents", json.dumps({"Entries": [
    {"Source": "s", "DetailType": "d", "Detail": "{}", "EventBusName": "missing"}]}).encode())
out["bad_pattern"] = raw("PutRule", json.dumps({"Name": "r", "EventPattern": "{not json"}).encode())
out["bad_retry"] = raw("PutTargets", json.dumps({"Rule": "r", "Targets": [
    {"Id": "t", "Arn": "a", "RetryPolicy": {"MaximumRetryAttempts": 500}}]}).encode())
c = boto3.client("events", endpoint_url=url)
try:
    c.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": json.dumps({"big": big})}])
    out["boto_oversized"] = "no error"
except botocore.exceptions.ClientError as e:
    out["boto_oversized"] = [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"], e.response["Error"]["Message"]]
print(json.dumps(out))
"#;
    let out = python_json(&server, script);
    let check = |key: &str, code: &str| {
        assert_eq!(out[key][0], 400, "{key}: {}", out[key]);
        assert_eq!(out[key][1]["__type"], code, "{key}: {}", out[key]);
        assert!(out[key][1]["message"].is_string(), "{key}");
        out[key][1]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    check("malformed", "SerializationException");
    check("wrong_type", "SerializationException");
    assert_eq!(
        check("missing", "ValidationException"),
        "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"
    );
    check("unknown_op", "UnknownOperationException");
    assert_eq!(
        check("oversized", "ValidationException"),
        "Total size of the entries in the request is over the limit."
    );
    let eleven = check("eleven", "ValidationException");
    assert!(
        eleven.starts_with("1 validation error detected: Value '[PutEventsRequestEntry(time=null, source=s, resources=null, detailType=d, detail={}, eventBusName=null, traceHeader=null, kmsKeyIdentifier=null, internalMetadata=null), ")
            && eleven.ends_with("]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10"),
        "{eleven}"
    );
    assert_eq!(
        check("no_bus", "ResourceNotFoundException"),
        "Event bus missing does not exist."
    );
    let pattern = check("bad_pattern", "InvalidEventPatternException");
    assert!(
        pattern.starts_with("Event pattern is not valid. Reason: "),
        "{pattern}"
    );
    assert_eq!(
        check("bad_retry", "ValidationException"),
        "1 validation error detected: Value '500' at 'targets.1.member.retryPolicy.maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 185"
    );
    assert_eq!(
        out["boto_oversized"],
        json!([
            400,
            "ValidationException",
            "Total size of the entries in the request is over the limit."
        ])
    );
}

#[test]
fn scheduled_rules_fire_on_time_and_once_across_a_restart() {
    let mut server = Server::start();
    let endpoint = Endpoint::start();
    let destination = api_destination(&server, &endpoint, "cron-hook");
    aws_ok(
        &server,
        &[
            "events",
            "put-rule",
            "--name",
            "every-minute",
            "--schedule-expression",
            "cron(* * * * ? *)",
        ],
    );
    aws_ok(
        &server,
        &[
            "events",
            "put-targets",
            "--rule",
            "every-minute",
            "--targets",
            &json!([{"Id": "h", "Arn": destination}]).to_string(),
        ],
    );
    let first = endpoint.wait_until(Duration::from_secs(75), |r| !r.is_empty());
    assert_eq!(first.len(), 1, "one fire in the first minute: {first:?}");
    let event = first[0].json();
    assert_eq!(event["source"], "aws.events");
    assert_eq!(event["detail-type"], "Scheduled Event");
    assert_eq!(
        event["resources"],
        json!(["arn:aws:events:us-east-1:123456789012:rule/every-minute"])
    );
    let time = event["time"].as_str().unwrap_or_default().to_owned();
    assert!(time.ends_with(":00Z"), "fires on the minute: {time}");
    let fired = chrono::DateTime::parse_from_rfc3339(&time)
        .map(|t| t.timestamp())
        .unwrap_or(0);
    let lateness = chrono::Utc::now().timestamp() - fired;
    assert!(
        (0..10).contains(&lateness),
        "delivered {lateness} s after its time"
    );

    server.crash_and_restart();
    // The first minute's delivery may be repeated after the crash (the kill can land
    // before it is marked done), so wait for a second minute, not a second receipt.
    let minutes = |r: &[Received]| {
        r.iter()
            .map(|x| x.json()["time"].as_str().unwrap_or_default().to_owned())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    let after = endpoint.wait_until(Duration::from_secs(75), |r| minutes(r) >= 2);
    // A firing is one event (one id per minute); a delivery may repeat after a crash
    // (at-least-once), a firing may not.
    let mut by_minute =
        std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
    for r in &after {
        let e = r.json();
        by_minute
            .entry(e["time"].as_str().unwrap_or_default().to_owned())
            .or_default()
            .insert(e["id"].as_str().unwrap_or_default().to_owned());
    }
    assert!(by_minute.len() >= 2, "{by_minute:?}");
    assert!(
        by_minute.values().all(|ids| ids.len() == 1),
        "no minute fired twice: {by_minute:?}"
    );
}
