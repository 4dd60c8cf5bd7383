//! Archives and replays end to end (boto3 and the aws CLI): events kept by pattern,
//! replayed to a chosen rule with `replay-name`, AWS's recorded error messages.

use std::time::Duration;

use serde_json::json;

use crate::events_api_support::{Endpoint, api_destination, aws_err, aws_ok, python_json};
use crate::server::Server;

#[test]
fn archives_keep_events_and_replays_send_them_to_chosen_rules() {
    let server = Server::start();
    let endpoint = Endpoint::start();
    let destination = api_destination(&server, &endpoint, "replay-hook");
    let script = format!(
        r#"
import os, json, time, datetime, boto3, botocore
c = boto3.client("events", endpoint_url=os.environ["ENDPOINT"])
out = {{}}
c.create_event_bus(Name="shop")
bus_arn = "arn:aws:events:us-east-1:123456789012:event-bus/shop"
for name in ["chosen", "other"]:
    c.put_rule(Name=name, EventBusName="shop", EventPattern=json.dumps({{"source": ["shop"]}}))
    c.put_targets(Rule=name, EventBusName="shop", Targets=[
        {{"Id": "h", "Arn": "{destination}", "InputTransformer": {{
            "InputPathsMap": {{"n": "$.detail.n", "replay": "$.replay-name"}},
            "InputTemplate": "{{\"rule\": \"" + name + "\", \"n\": <n>, \"replay\": \"<replay>\"}}"}}}}])
a = c.create_archive(ArchiveName="kept", EventSourceArn=bus_arn,
                     EventPattern=json.dumps({{"detail": {{"keep": [True]}}}}),
                     RetentionDays=7, Description="kept events")
out["create"] = a["State"]
arn = a["ArchiveArn"]
try:
    c.create_archive(ArchiveName="kept", EventSourceArn=bus_arn)
except botocore.exceptions.ClientError as e:
    out["duplicate"] = [e.response["Error"]["Code"], e.response["Error"]["Message"]]
try:
    c.create_archive(ArchiveName="x", EventSourceArn="arn:aws:events:us-east-1:123456789012:event-bus/nope")
except botocore.exceptions.ClientError as e:
    out["no_bus"] = [e.response["Error"]["Code"], e.response["Error"]["Message"]]
start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
c.put_events(Entries=[
    {{"Source": "shop", "DetailType": "d", "Detail": json.dumps({{"keep": True, "n": 1}}), "EventBusName": "shop"}},
    {{"Source": "shop", "DetailType": "d", "Detail": json.dumps({{"keep": False, "n": 2}}), "EventBusName": "shop"}},
    {{"Source": "shop", "DetailType": "d", "Detail": json.dumps({{"keep": True, "n": 3}}), "EventBusName": "shop"}},
])
end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5)
d = c.describe_archive(ArchiveName="kept")
out["describe"] = {{k: d[k] for k in ["ArchiveName", "EventSourceArn", "EventPattern", "State", "RetentionDays", "EventCount", "Description"]}}
out["size_positive"] = d["SizeBytes"] > 0
out["listed"] = [x["ArchiveName"] for x in c.list_archives(EventSourceArn=bus_arn)["Archives"]]
out["listed_prefix"] = [x["ArchiveName"] for x in c.list_archives(NamePrefix="ke")["Archives"]]
c.update_archive(ArchiveName="kept", RetentionDays=30)
out["retention"] = c.describe_archive(ArchiveName="kept")["RetentionDays"]
def err(f):
    try:
        f()
        return "no error"
    except botocore.exceptions.ClientError as e:
        return [e.response["Error"]["Code"], e.response["Error"]["Message"]]
rule_arn = "arn:aws:events:us-east-1:123456789012:rule/shop/chosen"
out["unknown_archive"] = err(lambda: c.start_replay(ReplayName="r0", EventSourceArn="arn:aws:events:us-east-1:123456789012:archive/nope",
    EventStartTime=start, EventEndTime=end, Destination={{"Arn": bus_arn}}))
out["bad_window"] = err(lambda: c.start_replay(ReplayName="r0", EventSourceArn=arn,
    EventStartTime=end, EventEndTime=start, Destination={{"Arn": bus_arn}}))
out["cross_bus"] = err(lambda: c.start_replay(ReplayName="r0", EventSourceArn=arn,
    EventStartTime=start, EventEndTime=end, Destination={{"Arn": "arn:aws:events:us-east-1:123456789012:event-bus/default"}}))
out["missing_bus"] = err(lambda: c.start_replay(ReplayName="r0", EventSourceArn=arn,
    EventStartTime=start, EventEndTime=end, Destination={{"Arn": "arn:aws:events:us-east-1:123456789012:event-bus/gone"}}))
r = c.start_replay(ReplayName="again", EventSourceArn=arn, EventStartTime=start, EventEndTime=end,
                   Destination={{"Arn": bus_arn, "FilterArns": [rule_arn]}}, Description="one rule")
out["start"] = [r["State"], r["ReplayArn"]]
out["duplicate_replay"] = err(lambda: c.start_replay(ReplayName="again", EventSourceArn=arn,
    EventStartTime=start, EventEndTime=end, Destination={{"Arn": bus_arn}}))
for _ in range(200):
    d = c.describe_replay(ReplayName="again")
    if d["State"] == "COMPLETED":
        break
    time.sleep(0.05)
out["replay"] = {{k: d[k] for k in ["ReplayName", "State", "EventSourceArn", "Destination", "Description"]}}
out["replay_times"] = all(k in d for k in ["EventStartTime", "EventEndTime", "ReplayStartTime", "ReplayEndTime", "EventLastReplayedTime"])
out["list_replays"] = [[x["ReplayName"], x["State"]] for x in c.list_replays(EventSourceArn=arn)["Replays"]]
out["cancel_done"] = err(lambda: c.cancel_replay(ReplayName="again"))
out["describe_missing"] = err(lambda: c.describe_replay(ReplayName="nope"))
print(json.dumps(out))
"#
    );
    let out = python_json(&server, &script);
    assert_eq!(out["create"], "ENABLED");
    assert_eq!(
        out["duplicate"],
        json!([
            "ResourceAlreadyExistsException",
            "Archive kept already exists."
        ])
    );
    assert_eq!(
        out["no_bus"],
        json!([
            "ResourceNotFoundException",
            "Event bus nope does not exist."
        ])
    );
    assert_eq!(
        out["describe"],
        json!({
            "ArchiveName": "kept",
            "EventSourceArn": "arn:aws:events:us-east-1:123456789012:event-bus/shop",
            "EventPattern": "{\"detail\": {\"keep\": [true]}}",
            "State": "ENABLED",
            "RetentionDays": 7,
            "EventCount": 2,
            "Description": "kept events"
        })
    );
    assert_eq!(out["size_positive"], true);
    assert_eq!(out["listed"], json!(["kept"]));
    assert_eq!(out["listed_prefix"], json!(["kept"]));
    assert_eq!(out["retention"], 30);
    assert_eq!(
        out["unknown_archive"],
        json!([
            "ValidationException",
            "Parameter EventSourceArn is not valid. Reason: Archive nope does not exist."
        ])
    );
    assert_eq!(
        out["bad_window"],
        json!([
            "ValidationException",
            "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime."
        ])
    );
    assert_eq!(
        out["cross_bus"],
        json!([
            "ValidationException",
            "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted."
        ])
    );
    assert_eq!(
        out["missing_bus"],
        json!([
            "ResourceNotFoundException",
            "Event bus gone does not exist."
        ])
    );
    assert_eq!(
        out["start"],
        json!([
            "STARTING",
            "arn:aws:events:us-east-1:123456789012:replay/again"
        ])
    );
    assert_eq!(
        out["duplicate_replay"],
        json!([
            "ResourceAlreadyExistsException",
            "Replay again already exists."
        ])
    );
    assert_eq!(
        out["replay"],
        json!({
            "ReplayName": "again",
            "State": "COMPLETED",
            "EventSourceArn": "arn:aws:events:us-east-1:123456789012:archive/kept",
            "Destination": {
                "Arn": "arn:aws:events:us-east-1:123456789012:event-bus/shop",
                "FilterArns": ["arn:aws:events:us-east-1:123456789012:rule/shop/chosen"]
            },
            "Description": "one rule"
        })
    );
    assert_eq!(out["replay_times"], true);
    assert_eq!(out["list_replays"], json!([["again", "COMPLETED"]]));
    assert_eq!(out["cancel_done"][0], "IllegalStatusException");
    assert_eq!(
        out["describe_missing"],
        json!(["ResourceNotFoundException", "Replay nope does not exist."])
    );

    // 3 events × 2 rules originally, then the 2 archived events to the chosen rule only.
    let got = endpoint.wait_until(Duration::from_secs(20), |r| r.len() >= 8);
    assert_eq!(got.len(), 8, "{got:?}");
    let mut replayed: Vec<_> = got
        .iter()
        .map(|r| r.json())
        .filter(|b| b["replay"] == "again")
        .collect();
    replayed.sort_by_key(|b| b["n"].as_i64());
    assert_eq!(
        replayed,
        vec![
            json!({"rule": "chosen", "n": 1, "replay": "again"}),
            json!({"rule": "chosen", "n": 3, "replay": "again"}),
        ]
    );

    // The aws CLI sees the same archive and replay.
    let described = aws_ok(
        &server,
        &["events", "describe-replay", "--replay-name", "again"],
    );
    assert_eq!(described["State"], "COMPLETED");
    aws_ok(
        &server,
        &["events", "delete-archive", "--archive-name", "kept"],
    );
    assert_eq!(
        aws_err(
            &server,
            &["events", "describe-archive", "--archive-name", "kept"]
        ),
        (
            "ResourceNotFoundException".into(),
            "Archive kept does not exist.".into()
        )
    );
}

#[test]
fn a_running_replay_can_be_cancelled() {
    let server = Server::start();
    let script = r#"
import os, json, datetime, boto3, botocore
c = boto3.client("events", endpoint_url=os.environ["ENDPOINT"])
bus = "arn:aws:events:us-east-1:123456789012:event-bus/default"
a = c.create_archive(ArchiveName="all", EventSourceArn=bus)
now = datetime.datetime.now(datetime.timezone.utc)
r = c.start_replay(ReplayName="slow", EventSourceArn=a["ArchiveArn"],
                   EventStartTime=now - datetime.timedelta(days=1), EventEndTime=now,
                   Destination={"Arn": bus})
try:
    x = c.cancel_replay(ReplayName="slow")
    cancel = [x["State"], x["ReplayArn"]]
except botocore.exceptions.ClientError as e:
    # The replay of an empty window may already have completed.
    cancel = [e.response["Error"]["Code"]]
print(json.dumps({"cancel": cancel}))
"#;
    let out = python_json(&server, script);
    let cancel = &out["cancel"];
    assert!(
        *cancel
            == json!([
                "CANCELLING",
                "arn:aws:events:us-east-1:123456789012:replay/slow"
            ])
            || *cancel == json!(["IllegalStatusException"]),
        "{cancel}"
    );
    // Whatever happened first, the replay ends in a final state.
    let mut state = String::new();
    for _ in 0..100 {
        let d = aws_ok(
            &server,
            &["events", "describe-replay", "--replay-name", "slow"],
        );
        state = d["State"].as_str().unwrap_or_default().to_owned();
        if state == "CANCELLED" || state == "COMPLETED" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(state == "CANCELLED" || state == "COMPLETED", "{state}");
}
