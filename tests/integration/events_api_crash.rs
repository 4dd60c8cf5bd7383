//! Crash test: PutEvents acknowledged before a `kill -9` are all delivered after the
//! restart (at least once), while a client keeps sending through the crash.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::events_api_support::{Endpoint, api_destination, aws_ok};
use crate::server::{Server, venv};

#[test]
fn acknowledged_events_survive_kill_9() {
    let mut server = Server::start();
    let endpoint = Endpoint::start();
    let destination = api_destination(&server, &endpoint, "crash-hook");
    aws_ok(
        &server,
        &[
            "events",
            "put-rule",
            "--name",
            "crash",
            "--event-pattern",
            r#"{"source":["crash-test"]}"#,
        ],
    );
    aws_ok(
        &server,
        &[
            "events",
            "put-targets",
            "--rule",
            "crash",
            "--targets",
            &json!([{"Id": "h", "Arn": destination, "InputPath": "$.detail"}]).to_string(),
        ],
    );

    // A client that puts batches of 10 for a few seconds and prints every number whose
    // PutEvents was acknowledged; errors (the server is down) are skipped.
    let script = r#"
import os, sys, json, time, boto3, botocore
from botocore.config import Config
c = boto3.client("events", endpoint_url=os.environ["ENDPOINT"],
                 config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5))
n = 0
end = time.time() + float(sys.argv[1])
while time.time() < end:
    batch = list(range(n, n + 10))
    n += 10
    try:
        r = c.put_events(Entries=[{"Source": "crash-test", "DetailType": "d",
                                   "Detail": json.dumps({"n": i})} for i in batch])
    except Exception:
        time.sleep(0.05)
        continue
    for i, e in zip(batch, r["Entries"]):
        if "EventId" in e:
            print(i, flush=True)
"#;
    let mut client = Command::new(venv().join("bin/python"))
        .arg("-c")
        .arg(script)
        .arg("6")
        .env("ENDPOINT", &server.url)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting the client: {e}"));
    let stdout = client.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .collect::<BTreeSet<u64>>()
    });

    std::thread::sleep(Duration::from_millis(2_000));
    server.crash_and_restart();
    let _ = client.wait();
    let acknowledged = reader.join().unwrap_or_default();
    assert!(
        acknowledged.len() >= 50,
        "the client should have had events acknowledged: {}",
        acknowledged.len()
    );

    let delivered = |got: &[crate::events_api_support::Received]| -> BTreeSet<u64> {
        got.iter().filter_map(|r| r.json()["n"].as_u64()).collect()
    };
    let got = endpoint.wait_until(Duration::from_secs(60), |r| {
        acknowledged.is_subset(&delivered(r))
    });
    let missing: Vec<u64> = acknowledged.difference(&delivered(&got)).copied().collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged events were never delivered, e.g. {:?}",
        missing.len(),
        acknowledged.len(),
        &missing[..missing.len().min(10)]
    );
}
