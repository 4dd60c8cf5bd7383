//! The bus runtime on a real SQLite file, with a manual clock, an in-test Step
//! Functions (`ExecutionStarter`) and a real local HTTP server for API destinations.

#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::store::SqliteEventsStore;
use crate::store::{
    ConnectionAuth, ConnectionHttpParameters, ConnectionParameter, HttpParameters, RetryPolicy,
    RuleState, TargetInput, TargetRecord,
};
use async_trait::async_trait;
use baton_events::PutEventsEntry;
use baton_platform::store::sqlite::Database;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::archives::{CreateArchiveInput, StartReplayInput};
use super::connections::{ApiDestinationInput, CreateConnectionInput};
use super::control::{CreateBusInput, PutRuleInput};
use super::*;
use baton_platform::bridge::{BridgeError, EventSink, ExecutionStarter, OutgoingEvent};

struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    fn advance(&self, d: Duration) {
        let mut t = self.0.lock().unwrap();
        *t += d;
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> Millis {
        self.0.lock().unwrap().timestamp_millis()
    }
}

/// Records StartExecution calls; fails the first `fail` of them with `code`.
#[derive(Default)]
struct Starter {
    calls: Mutex<Vec<(String, String, String)>>,
    fail: Mutex<VecDeque<&'static str>>,
}

#[async_trait]
impl ExecutionStarter for Starter {
    async fn start_execution(
        &self,
        arn: &str,
        input: &str,
        name: Option<&str>,
    ) -> Result<String, BridgeError> {
        if let Some(code) = self.fail.lock().unwrap().pop_front() {
            return Err(BridgeError {
                code: code.into(),
                message: "injected".into(),
            });
        }
        let name = name.unwrap_or("unnamed").to_owned();
        self.calls
            .lock()
            .unwrap()
            .push((arn.to_owned(), input.to_owned(), name.clone()));
        Ok(format!("{arn}:{name}"))
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    db: Database,
    clock: Arc<ManualClock>,
    starter: Arc<Starter>,
    bus: EventBuses,
}

const SM: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:orders";

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 14, 11, 0, 0).unwrap()
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baton.db");
    let db = Database::open(&path, &[crate::store::MIGRATIONS.sqlite]).unwrap();
    let clock = Arc::new(ManualClock(Mutex::new(start_time())));
    let starter = Arc::new(Starter::default());
    let bus = EventBuses::open(
        BusConfig::default(),
        Arc::new(SqliteEventsStore::new(db.clone())),
        clock.clone(),
    )
    .await
    .unwrap();
    bus.set_execution_starter(starter.clone());
    Harness {
        _dir: dir,
        path,
        db,
        clock,
        starter,
        bus,
    }
}

fn entry(source: &str, detail: Value) -> PutEventsEntry {
    PutEventsEntry {
        source: Some(source.into()),
        detail_type: Some("order".into()),
        detail: Some(detail.to_string()),
        ..PutEventsEntry::default()
    }
}

fn target(id: &str, arn: &str) -> TargetRecord {
    TargetRecord {
        id: id.into(),
        arn: arn.into(),
        role_arn: None,
        input: TargetInput::WholeEvent,
        http_parameters: None,
        retry_policy: None,
        dead_letter_arn: None,
        other_parameters: Map::new(),
    }
}

async fn rule(bus: &EventBuses, on: Option<&str>, name: &str, pattern: &str) {
    bus.put_rule(PutRuleInput {
        name: name.into(),
        bus: on.map(str::to_owned),
        event_pattern: Some(pattern.into()),
        schedule_expression: None,
        state: None,
        description: None,
        role_arn: None,
    })
    .await
    .unwrap();
}

/// Steps the delivery worker until the queue holds nothing due now.
async fn drain(bus: &EventBuses) {
    for _ in 0..20 {
        if bus.deliver_due().await.unwrap() == 0 {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matched_events_are_durable_before_the_answer_and_start_executions_once() {
    let h = harness().await;
    rule(
        &h.bus,
        None,
        "orders",
        r#"{"source":["shop"],"detail":{"total":[{"numeric":[">",10]}]}}"#,
    )
    .await;
    let mut t = target("sm", SM);
    t.input = TargetInput::Transformer {
        paths: vec![("total".into(), "$.detail.total".into())],
        template: r#"{"amount": <total>, "rule": <aws.events.rule-name>}"#.into(),
    };
    h.bus.put_targets("orders", None, vec![t]).await.unwrap();

    let results = h
        .bus
        .put_events(vec![
            entry("shop", json!({"total": 42})),
            entry("shop", json!({"total": 3})),
            PutEventsEntry::default(),
        ])
        .await
        .unwrap();
    assert!(results[0].is_ok() && results[1].is_ok());
    assert_eq!(results[2].as_ref().unwrap_err().code, "InvalidArgument");
    assert_eq!(h.bus.pending_deliveries().await.unwrap(), 1);

    // Durable: another connection to the file sees the queued delivery.
    let other = Database::open(&h.path, &[crate::store::MIGRATIONS.sqlite]).unwrap();
    let count: i64 = other
        .read(|c| {
            c.query_row("SELECT COUNT(*) FROM event_deliveries", [], |r| r.get(0))
                .map_err(baton_platform::store::StoreError::backend)
        })
        .await
        .unwrap();
    assert_eq!(count, 1);
    other.close();

    drain(&h.bus).await;
    let calls = h.starter.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, SM);
    assert_eq!(calls[0].1, r#"{"amount": 42, "rule": "orders"}"#);
    assert_eq!(calls[0].2.len(), 36, "a UUID-shaped execution name");
    assert_eq!(h.bus.pending_deliveries().await.unwrap(), 0);
    h.db.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_forwarded_to_another_bus_get_a_new_id_and_go_no_further() {
    let h = harness().await;
    h.bus
        .create_event_bus(CreateBusInput {
            name: "orders".into(),
            event_source_name: None,
            description: None,
            kms_key_identifier: None,
            dead_letter_arn: None,
        })
        .await
        .unwrap();
    let orders_arn = h.bus.arns().bus("orders");
    rule(&h.bus, None, "to-orders", r#"{"source":["shop"]}"#).await;
    h.bus
        .put_targets("to-orders", None, vec![target("bus", &orders_arn)])
        .await
        .unwrap();
    rule(&h.bus, Some("orders"), "run", r#"{"source":["shop"]}"#).await;
    // A third hop (back to default) must not happen.
    h.bus
        .put_targets(
            "run",
            Some("orders"),
            vec![
                target("sm", SM),
                target("back", &h.bus.arns().bus("default")),
            ],
        )
        .await
        .unwrap();
    let ids = h
        .bus
        .put_events(vec![entry("shop", json!({"n": 1}))])
        .await
        .unwrap();
    let original = ids[0].clone().unwrap();
    drain(&h.bus).await;
    let calls = h.starter.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let delivered: Value = serde_json::from_str(&calls[0].1).unwrap();
    assert_eq!(delivered["source"], "shop");
    assert_ne!(
        delivered["id"],
        original.as_str(),
        "a new event id on the second bus"
    );
    assert_eq!(h.bus.pending_deliveries().await.unwrap(), 0);
    h.db.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_deliveries_back_off_then_reach_the_dead_letter_destination() {
    let h = harness().await;
    rule(&h.bus, None, "r", r#"{"source":["shop"]}"#).await;
    let dlq = "arn:aws:sqs:us-east-1:123456789012:dlq";
    let mut t = target("sm", SM);
    t.retry_policy = Some(RetryPolicy {
        maximum_retry_attempts: Some(2),
        maximum_event_age_in_seconds: None,
    });
    t.dead_letter_arn = Some(dlq.into());
    h.bus.put_targets("r", None, vec![t]).await.unwrap();
    h.starter
        .fail
        .lock()
        .unwrap()
        .extend(["ThrottlingException"; 3]);
    h.bus
        .put_events(vec![entry("shop", json!({}))])
        .await
        .unwrap();

    assert_eq!(h.bus.deliver_due().await.unwrap(), 1, "first attempt");
    assert_eq!(h.bus.deliver_due().await.unwrap(), 0, "backing off");
    h.clock.advance(Duration::seconds(1));
    assert_eq!(h.bus.deliver_due().await.unwrap(), 1, "retry 1 within 1 s");
    h.clock.advance(Duration::seconds(2));
    assert_eq!(h.bus.deliver_due().await.unwrap(), 1, "retry 2 within 2 s");
    let letters = h.bus.dead_letters(Some(dlq), 10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].error_code, "ThrottlingException");
    assert_eq!(
        letters[0].exhausted_retry_condition.as_deref(),
        Some("MaximumRetryAttempts")
    );
    assert_eq!(letters[0].retry_attempts, 2);
    assert!(h.starter.calls.lock().unwrap().is_empty());

    // A failure EventBridge does not retry goes to the dead letter at once.
    h.starter
        .fail
        .lock()
        .unwrap()
        .push_back("StateMachineDoesNotExist");
    h.bus
        .put_events(vec![entry("shop", json!({}))])
        .await
        .unwrap();
    assert_eq!(h.bus.deliver_due().await.unwrap(), 1);
    let letters = h.bus.dead_letters(Some(dlq), 10).await.unwrap();
    assert_eq!(letters.len(), 2);
    assert_eq!(letters[1].exhausted_retry_condition, None);
    assert_eq!(h.bus.pending_deliveries().await.unwrap(), 0);
    h.db.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_older_than_the_maximum_age_are_not_retried() {
    let h = harness().await;
    rule(&h.bus, None, "r", r#"{"source":["shop"]}"#).await;
    let mut t = target("sm", SM);
    t.retry_policy = Some(RetryPolicy {
        maximum_retry_attempts: None,
        maximum_event_age_in_seconds: Some(60),
    });
    t.dead_letter_arn = Some("arn:aws:sqs:us-east-1:123456789012:dlq".into());
    h.bus.put_targets("r", None, vec![t]).await.unwrap();
    h.starter.fail.lock().unwrap().extend(["Throttled"; 50]);
    h.bus
        .put_events(vec![entry("shop", json!({}))])
        .await
        .unwrap();
    for _ in 0..30 {
        h.bus.deliver_due().await.unwrap();
        h.clock.advance(Duration::seconds(20));
        if h.bus.pending_deliveries().await.unwrap() == 0 {
            break;
        }
    }
    let letters = h.bus.dead_letters(None, 10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(
        letters[0].exhausted_retry_condition.as_deref(),
        Some("MaximumEventAgeInSeconds")
    );
    h.db.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_rules_fire_on_time_once_across_restarts() {
    let h = harness().await;
    h.bus
        .put_rule(PutRuleInput {
            name: "tick".into(),
            bus: None,
            event_pattern: None,
            schedule_expression: Some("rate(5 minutes)".into()),
            state: Some(RuleState::Enabled),
            description: None,
            role_arn: None,
        })
        .await
        .unwrap();
    h.bus
        .put_targets("tick", None, vec![target("sm", SM)])
        .await
        .unwrap();
    assert_eq!(h.bus.fire_due_schedules().await.unwrap(), 0);
    h.clock.advance(Duration::minutes(5));
    assert_eq!(h.bus.fire_due_schedules().await.unwrap(), 1);
    assert_eq!(h.bus.fire_due_schedules().await.unwrap(), 0, "once");

    // A restart over the same store: the fire is not repeated, the next one comes.
    let again = EventBuses::open(
        BusConfig::default(),
        Arc::new(SqliteEventsStore::new(h.db.clone())),
        h.clock.clone(),
    )
    .await
    .unwrap();
    again.set_execution_starter(h.starter.clone());
    assert_eq!(again.fire_due_schedules().await.unwrap(), 0);
    h.clock.advance(Duration::minutes(5));
    assert_eq!(again.fire_due_schedules().await.unwrap(), 1);
    drain(&again).await;

    let calls = h.starter.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    // Both fires are delivered by one drain, concurrently: order them by their time.
    let mut fired: Vec<Value> = calls
        .iter()
        .map(|c| serde_json::from_str(&c.1).unwrap())
        .collect();
    fired.sort_by_key(|e| e["time"].as_str().unwrap_or_default().to_owned());
    assert_eq!(fired[1]["time"], "2024-05-14T11:10:00Z");
    let first = fired[0].clone();
    assert_eq!(first["source"], "aws.events");
    assert_eq!(first["detail-type"], "Scheduled Event");
    assert_eq!(first["time"], "2024-05-14T11:05:00Z");
    assert_eq!(
        first["resources"],
        json!(["arn:aws:events:us-east-1:123456789012:rule/tick"])
    );
    assert_eq!(first["detail"], json!({}));

    // Disabled rules do not fire.
    again.set_rule_enabled("tick", None, false).await.unwrap();
    h.clock.advance(Duration::hours(1));
    assert_eq!(again.fire_due_schedules().await.unwrap(), 0);
    h.db.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archives_keep_matching_events_and_replays_resend_them_with_replay_name() {
    let h = harness().await;
    rule(&h.bus, None, "keep", r#"{"source":["shop"]}"#).await;
    rule(&h.bus, None, "other", r#"{"source":["shop"]}"#).await;
    h.bus
        .put_targets("keep", None, vec![target("sm", SM)])
        .await
        .unwrap();
    let other_sm = "arn:aws:states:us-east-1:123456789012:stateMachine:other";
    h.bus
        .put_targets("other", None, vec![target("sm", other_sm)])
        .await
        .unwrap();
    let archive = h
        .bus
        .create_archive(CreateArchiveInput {
            name: "shop-archive".into(),
            event_source_arn: h.bus.arns().bus("default"),
            description: None,
            event_pattern: Some(r#"{"detail":{"keep":[true]}}"#.into()),
            retention_days: Some(1),
            kms_key_identifier: None,
        })
        .await
        .unwrap();
    h.bus
        .put_events(vec![
            entry("shop", json!({"keep": true, "n": 1})),
            entry("shop", json!({"keep": false, "n": 2})),
            entry("shop", json!({"keep": true, "n": 3})),
        ])
        .await
        .unwrap();
    drain(&h.bus).await;
    assert_eq!(h.starter.calls.lock().unwrap().len(), 6);
    let described = h.bus.describe_archive("shop-archive").await.unwrap();
    assert_eq!(described.stats.event_count, 2);

    h.clock.advance(Duration::minutes(1));
    let replay = h
        .bus
        .start_replay(StartReplayInput {
            name: "again".into(),
            description: None,
            event_source_arn: archive.arn.clone(),
            event_start_time: start_time() - Duration::minutes(1),
            event_end_time: start_time() + Duration::minutes(1),
            destination_arn: h.bus.arns().bus("default"),
            filter_arns: vec![h.bus.arns().rule("default", "keep")],
        })
        .await
        .unwrap();
    assert_eq!(replay.record.state.as_str(), "STARTING");
    for _ in 0..5 {
        h.bus.replay_step().await.unwrap();
    }
    drain(&h.bus).await;
    let described = h.bus.describe_replay("again").await.unwrap();
    assert_eq!(described.record.state.as_str(), "COMPLETED");
    assert!(described.record.replay_end_ms.is_some());
    let calls = h.starter.calls.lock().unwrap().clone();
    let replayed: Vec<Value> = calls[6..]
        .iter()
        .map(|c| serde_json::from_str(&c.1).unwrap())
        .collect();
    assert_eq!(
        replayed.len(),
        2,
        "only the filtered rule, only archived events"
    );
    assert!(calls[6..].iter().all(|c| c.0 == SM));
    for e in &replayed {
        assert_eq!(e["replay-name"], "again");
        assert_eq!(e["detail"]["keep"], true);
    }
    let keys: Vec<&str> = replayed[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
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
            "replay-name",
            "resources",
            "detail"
        ]
    );
    // Replayed events are not archived again.
    assert_eq!(
        h.bus
            .describe_archive("shop-archive")
            .await
            .unwrap()
            .stats
            .event_count,
        2
    );
    h.db.close();
}

/// A tiny HTTP/1.1 server: records requests, answers with queued statuses (200 when
/// none are queued), and serves OAuth tokens on `/token`.
/// Method, path with query, lower-cased headers, body.
type Recorded = (String, String, Vec<(String, String)>, String);

#[derive(Clone, Default)]
struct Endpoint {
    requests: Arc<Mutex<Vec<Recorded>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

impl Endpoint {
    async fn start(&self) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let me = me.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let head_end = loop {
                        let n = socket.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break p + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let mut lines = head.split("\r\n");
                    let request_line = lines.next().unwrap_or("").to_owned();
                    let mut parts = request_line.split(' ');
                    let method = parts.next().unwrap_or("").to_owned();
                    let path = parts.next().unwrap_or("").to_owned();
                    let headers: Vec<(String, String)> = lines
                        .filter_map(|l| l.split_once(": "))
                        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
                        .collect();
                    let len: usize = headers
                        .iter()
                        .find(|(k, _)| k == "content-length")
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        let n = socket.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
                    let (status, answer) = if path.starts_with("/token") {
                        (
                            200,
                            r#"{"access_token":"tok-1","expires_in":3600}"#.to_owned(),
                        )
                    } else {
                        (
                            me.statuses.lock().unwrap().pop_front().unwrap_or(200),
                            String::new(),
                        )
                    };
                    me.requests
                        .lock()
                        .unwrap()
                        .push((method, path, headers, body));
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                        answer.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        format!("http://{addr}")
    }

    fn header(&self, i: usize, name: &str) -> Option<String> {
        self.requests.lock().unwrap()[i]
            .2
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_destinations_send_authorized_http_requests() {
    let h = harness().await;
    let endpoint = Endpoint::default();
    let base = endpoint.start().await;
    let param = |k: &str, v: &str| ConnectionParameter {
        key: k.into(),
        value: v.into(),
        is_value_secret: false,
    };
    let api_key = h
        .bus
        .create_connection(CreateConnectionInput {
            name: "key".into(),
            description: None,
            auth: ConnectionAuth::ApiKey {
                name: "x-api-key".into(),
                value: "s3cret".into(),
            },
            invocation_http_parameters: Some(ConnectionHttpParameters {
                header_parameters: vec![param("x-team", "blue")],
                query_string_parameters: vec![param("from", "baton")],
                body_parameters: vec![param("extra", "yes")],
            }),
        })
        .await
        .unwrap();
    assert_eq!(api_key.record.state, "AUTHORIZED");
    let basic = h
        .bus
        .create_connection(CreateConnectionInput {
            name: "basic".into(),
            description: None,
            auth: ConnectionAuth::Basic {
                username: "user".into(),
                password: "pass".into(),
            },
            invocation_http_parameters: None,
        })
        .await
        .unwrap();
    let oauth = h
        .bus
        .create_connection(CreateConnectionInput {
            name: "oauth".into(),
            description: None,
            auth: ConnectionAuth::OAuthClientCredentials {
                client_id: "id".into(),
                client_secret: "secret".into(),
                authorization_endpoint: format!("{base}/token"),
                http_method: "POST".into(),
                oauth_http_parameters: None,
            },
            invocation_http_parameters: None,
        })
        .await
        .unwrap();
    assert_eq!(oauth.record.state, "AUTHORIZING");
    let mut destinations = Vec::new();
    for (name, conn) in [("k", &api_key), ("b", &basic), ("o", &oauth)] {
        let d = h
            .bus
            .create_api_destination(ApiDestinationInput {
                name: name.into(),
                description: None,
                connection_arn: Some(conn.arn.clone()),
                invocation_endpoint: Some(format!("{base}/hook/*")),
                http_method: Some("POST".into()),
                invocation_rate_limit_per_second: None,
            })
            .await
            .unwrap();
        destinations.push(d.arn);
    }
    rule(&h.bus, None, "http", r#"{"source":["shop"]}"#).await;
    let targets = destinations
        .iter()
        .enumerate()
        .map(|(i, arn)| {
            let mut t = target(&format!("t{i}"), arn);
            t.input = TargetInput::Path("$.detail".into());
            t.http_parameters = Some(HttpParameters {
                path_parameter_values: vec![format!("p{i}")],
                header_parameters: vec![("x-target".into(), format!("t{i}"))],
                query_string_parameters: vec![],
            });
            t
        })
        .collect();
    h.bus.put_targets("http", None, targets).await.unwrap();
    h.bus
        .put_events(vec![entry("shop", json!({"n": 7}))])
        .await
        .unwrap();
    drain(&h.bus).await;

    let requests = endpoint.requests.lock().unwrap().clone();
    let hook = |target: &str| {
        requests
            .iter()
            .position(|r| r.2.iter().any(|(k, v)| k == "x-target" && v == target))
            .unwrap()
    };
    let k = hook("t0");
    assert_eq!(requests[k].0, "POST");
    assert_eq!(requests[k].1, "/hook/p0?from=baton");
    assert_eq!(endpoint.header(k, "x-api-key").as_deref(), Some("s3cret"));
    assert_eq!(endpoint.header(k, "x-team").as_deref(), Some("blue"));
    assert_eq!(requests[k].3, r#"{"n":7,"extra":"yes"}"#);
    let b = hook("t1");
    assert_eq!(
        endpoint.header(b, "authorization").as_deref(),
        Some("Basic dXNlcjpwYXNz")
    );
    let o = hook("t2");
    assert_eq!(
        endpoint.header(o, "authorization").as_deref(),
        Some("Bearer tok-1")
    );
    let token_request = requests.iter().find(|r| r.1 == "/token").unwrap();
    assert_eq!(token_request.3, "grant_type=client_credentials");
    assert!(
        token_request
            .2
            .iter()
            .any(|(k, v)| k == "authorization" && v == "Basic aWQ6c2VjcmV0")
    );
    // The background authorization marks the OAuth connection authorized.
    for _ in 0..50 {
        if h.bus.describe_connection("oauth").unwrap().record.state == "AUTHORIZED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        h.bus.describe_connection("oauth").unwrap().record.state,
        "AUTHORIZED"
    );

    // 503 is retried; 404 is not.
    endpoint.statuses.lock().unwrap().extend([503, 404]);
    h.bus
        .put_targets("http", None, {
            let mut t = target("t0", &destinations[0]);
            t.dead_letter_arn = Some("arn:aws:sqs:us-east-1:123456789012:dlq".into());
            t.http_parameters = Some(HttpParameters {
                path_parameter_values: vec!["again".into()],
                ..HttpParameters::default()
            });
            vec![t]
        })
        .await
        .unwrap();
    h.bus
        .remove_targets("http", None, &["t1".into(), "t2".into()])
        .await
        .unwrap();
    h.bus
        .put_events(vec![entry("shop", json!({"n": 8}))])
        .await
        .unwrap();
    assert_eq!(h.bus.deliver_due().await.unwrap(), 1);
    assert!(h.bus.dead_letters(None, 10).await.unwrap().is_empty());
    h.clock.advance(Duration::seconds(1));
    assert_eq!(h.bus.deliver_due().await.unwrap(), 1);
    let letters = h.bus.dead_letters(None, 10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].error_message, "the endpoint answered HTTP 404");
    assert_eq!(letters[0].retry_attempts, 1);
    h.db.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_functions_puts_events_through_the_sink() {
    let h = harness().await;
    rule(&h.bus, None, "status", r#"{"source":["aws.states"]}"#).await;
    h.bus
        .put_targets("status", None, vec![target("sm", SM)])
        .await
        .unwrap();
    let sink: &dyn EventSink = &h.bus;
    let results = sink
        .put_events(vec![
            OutgoingEvent {
                event_bus: None,
                source: "aws.states".into(),
                detail_type: "Step Functions Execution Status Change".into(),
                detail: json!({"status": "SUCCEEDED"}),
                resources: vec!["arn:aws:states:us-east-1:123456789012:execution:m:e".into()],
            },
            OutgoingEvent {
                event_bus: None,
                source: String::new(),
                detail_type: "x".into(),
                detail: json!({}),
                resources: vec![],
            },
        ])
        .await
        .unwrap();
    assert!(results[0].is_ok());
    assert_eq!(
        results[1].as_ref().unwrap_err().error_code,
        "InvalidArgument"
    );
    let missing = sink
        .put_events(vec![OutgoingEvent {
            event_bus: Some("nope".into()),
            source: "s".into(),
            detail_type: "d".into(),
            detail: json!({}),
            resources: vec![],
        }])
        .await
        .unwrap_err();
    assert_eq!(missing.code, "ResourceNotFoundException");
    drain(&h.bus).await;
    assert_eq!(h.starter.calls.lock().unwrap().len(), 1);
    h.db.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_survives_a_restart() {
    let h = harness().await;
    rule(&h.bus, None, "r", r#"{"source":["shop"]}"#).await;
    h.bus
        .put_targets("r", None, vec![target("sm", SM)])
        .await
        .unwrap();
    let again = EventBuses::open(
        BusConfig::default(),
        Arc::new(SqliteEventsStore::new(h.db.clone())),
        h.clock.clone(),
    )
    .await
    .unwrap();
    again.set_execution_starter(h.starter.clone());
    let page = again.list_targets_by_rule("r", None, None, None).unwrap();
    assert_eq!(page.items.len(), 1);
    again
        .put_events(vec![entry("shop", json!({}))])
        .await
        .unwrap();
    drain(&again).await;
    assert_eq!(h.starter.calls.lock().unwrap().len(), 1);
    assert_eq!(
        again.describe_rule("r", None).unwrap().arn,
        "arn:aws:events:us-east-1:123456789012:rule/r"
    );
    let err = again.describe_rule("nope", None).unwrap_err();
    assert_eq!(err.message, "Rule nope does not exist on EventBus default.");
    h.db.close();
}
