//! The durable event bus, measured end to end over HTTP: the real API server and
//! SQLite store (a temp file, WAL, `synchronous=FULL`) in this process, a real HTTP
//! endpoint as the target (an API destination with an API-key connection), a reqwest
//! client sending AWS JSON requests.
//!
//! `cargo bench --bench events_server` prints:
//! * PutEvents → target latency: one event at a time, from sending the request to the
//!   endpoint receiving the delivery (p50/p90/p99), and the PutEvents answer time;
//! * durable events/s: concurrent clients sending batches of 10 for a fixed time; every
//!   event matches a rule with one target, so each acknowledged event is a committed
//!   delivery; and how long until every one of them reached the endpoint.
//!
//! `BATON_BENCH_SECONDS` (default 10) and `BATON_BENCH_CLIENTS` (default 32) tune the
//! throughput run.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baton_eventbridge::store::{MIGRATIONS, SqliteEventsStore};
use baton_eventbridge::wire::EventBridgeApi;
use baton_eventbridge::{BusConfig, EventBuses};
use baton_platform::clock::SystemClock;
use baton_platform::http::Api;
use baton_platform::store::sqlite::Database;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Arrival time (since `origin`) of each delivered event number, and a count.
struct Arrivals {
    origin: Instant,
    seen: Mutex<Vec<Option<Duration>>>,
    count: AtomicU64,
}

impl Arrivals {
    fn record(&self, n: usize) {
        let at = self.origin.elapsed();
        let mut seen = self.seen.lock().unwrap();
        if seen.len() <= n {
            seen.resize(n + 1, None);
        }
        if seen[n].is_none() {
            seen[n] = Some(at);
            self.count.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A keep-alive HTTP/1.1 endpoint that records `{"n": …}` bodies.
async fn endpoint(arrivals: Arc<Arrivals>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let arrivals = arrivals.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut reader = BufReader::new(read);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let mut len = 0usize;
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = h.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0u8; len];
                    if reader.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    if let Ok(v) = serde_json::from_slice::<Value>(&body)
                        && let Some(n) = v["n"].as_u64()
                    {
                        arrivals.record(n as usize);
                    }
                    if write
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    async fn call(&self, op: &str, body: Value) -> Value {
        let r = self
            .http
            .post(&self.url)
            .header("x-amz-target", format!("AWSEvents.{op}"))
            .header("content-type", "application/x-amz-json-1.1")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert!(status.is_success(), "{op}: {v}");
        v
    }

    async fn put(&self, from: usize, count: usize) {
        let entries: Vec<Value> = (from..from + count)
            .map(|n| {
                json!({"Source": "bench", "DetailType": "tick",
                       "Detail": json!({"n": n}).to_string()})
            })
            .collect();
        let r = self.call("PutEvents", json!({ "Entries": entries })).await;
        assert_eq!(r["FailedEntryCount"], 0);
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let seconds: u64 = std::env::var("BATON_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let clients: usize = std::env::var("BATON_BENCH_CLIENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(seconds, clients));
}

async fn run(seconds: u64, clients: usize) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(&dir.path().join("baton.db"), &[MIGRATIONS.sqlite]).unwrap();
    let bus = EventBuses::open(
        BusConfig::default(),
        Arc::new(SqliteEventsStore::new(db.clone())),
        Arc::new(SystemClock),
    )
    .await
    .unwrap();
    bus.start_workers(true).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let api = Api::new().with_service(&EventBridgeApi::new(bus.clone()));
    tokio::spawn(baton_platform::http::serve(
        listener,
        api,
        std::future::pending(),
    ));

    let arrivals = Arc::new(Arrivals {
        origin: Instant::now(),
        seen: Mutex::new(Vec::new()),
        count: AtomicU64::new(0),
    });
    let target = endpoint(arrivals.clone()).await;
    let client = Arc::new(Client {
        http: reqwest::Client::new(),
        url,
    });
    let conn = client
        .call(
            "CreateConnection",
            json!({"Name": "bench", "AuthorizationType": "API_KEY",
                   "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}}}),
        )
        .await;
    let dest = client
        .call(
            "CreateApiDestination",
            json!({"Name": "bench", "ConnectionArn": conn["ConnectionArn"],
                   "InvocationEndpoint": format!("{target}/hook"), "HttpMethod": "POST",
                   "InvocationRateLimitPerSecond": 1_000_000}),
        )
        .await;
    client
        .call(
            "PutRule",
            json!({"Name": "bench", "EventPattern": r#"{"source":["bench"]}"#}),
        )
        .await;
    client
        .call(
            "PutTargets",
            json!({"Rule": "bench", "Targets": [
                {"Id": "h", "Arn": dest["ApiDestinationArn"], "InputPath": "$.detail"}]}),
        )
        .await;

    println!(
        "events_server: SQLite (WAL, synchronous=FULL) on {}, {} CPUs",
        dir.path().display(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // Latency: one event at a time.
    let rounds = 500usize;
    let mut end_to_end = Vec::with_capacity(rounds);
    let mut acked = Vec::with_capacity(rounds);
    for n in 0..rounds {
        let sent = arrivals.origin.elapsed();
        client.put(n, 1).await;
        acked.push(arrivals.origin.elapsed() - sent);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(Some(at)) = arrivals.seen.lock().unwrap().get(n).copied() {
                end_to_end.push(at - sent);
                break;
            }
            assert!(Instant::now() < deadline, "event {n} never arrived");
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    end_to_end.sort();
    acked.sort();
    println!(
        "latency, {rounds} sequential single-event PutEvents:\n  PutEvents answered (durable): p50 {} p90 {} p99 {}\n  PutEvents -> target received:  p50 {} p90 {} p99 {}",
        ms(percentile(&acked, 0.5)),
        ms(percentile(&acked, 0.9)),
        ms(percentile(&acked, 0.99)),
        ms(percentile(&end_to_end, 0.5)),
        ms(percentile(&end_to_end, 0.9)),
        ms(percentile(&end_to_end, 0.99)),
    );

    // Throughput: concurrent clients, batches of 10.
    let next = Arc::new(AtomicU64::new(rounds as u64));
    let stop_at = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let before = arrivals.count.load(Ordering::Relaxed);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let client = client.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut sent = 0u64;
            while Instant::now() < stop_at {
                let from = next.fetch_add(10, Ordering::Relaxed) as usize;
                client.put(from, 10).await;
                sent += 10;
            }
            sent
        }));
    }
    let mut total = 0u64;
    for t in tasks {
        total += t.await.unwrap();
    }
    let ingest = started.elapsed();
    let delivered_during = arrivals.count.load(Ordering::Relaxed) - before;
    let deadline = Instant::now() + Duration::from_secs(600);
    while arrivals.count.load(Ordering::Relaxed) - before < total {
        assert!(Instant::now() < deadline, "deliveries did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_delivered = started.elapsed();
    println!(
        "throughput, {clients} clients x PutEvents of 10 for {seconds} s:\n  acknowledged (durable, each with its delivery committed): {total} events, {:.0} events/s\n  delivered to the endpoint meanwhile: {delivered_during}; all {total} delivered after {:.1} s ({:.0} deliveries/s overall)",
        total as f64 / ingest.as_secs_f64(),
        all_delivered.as_secs_f64(),
        total as f64 / all_delivered.as_secs_f64(),
    );
    assert_eq!(bus.pending_deliveries().await.unwrap(), 0);
    db.close();
}
