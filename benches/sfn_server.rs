//! The durable server's throughput and latency: `cargo bench --bench sfn_server`.
//!
//! A real SQLite file (under `target/`, on disk, `synchronous=FULL`), the real runtime and
//! the real HTTP server on a loopback port; requests go through a keep-alive HTTP client.
//! Measured:
//!
//! * durable Standard state transitions per second: concurrent StartExecution of a
//!   10-Pass machine, in-process and over HTTP (each execution is one committed step
//!   with 22 history events); and executions that wake from a durable timer (two steps
//!   each: start, then the timer);
//! * Express executions per second (StartSyncExecution of a 3-state machine), in-process
//!   and over HTTP;
//! * latency p50/p99 of one client over HTTP: StartSyncExecution (3 states) and
//!   StartExecution of a pure 3-state Standard machine (done, durably, when it returns).
//!
//! `BATON_BENCH_SECONDS` sets each throughput run's length (default 5).

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use baton_platform::clock::SystemClock;
use baton_stepfunctions::{CreateStateMachine, MachineType, RunStatus, SfnConfig, StepFunctions};
use serde_json::{Value, json};

struct Bench {
    sfn: StepFunctions,
    url: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn seconds() -> Duration {
    let s = std::env::var("BATON_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5u64);
    Duration::from_secs(s)
}

async fn setup() -> Bench {
    let dir = tempfile::Builder::new()
        .prefix("sfn-bench")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let db = baton_platform::store::sqlite::Database::open(
        &dir.path().join("baton.db"),
        &[baton_stepfunctions::store::MIGRATIONS.sqlite],
    )
    .unwrap();
    let sfn = StepFunctions::new(
        Arc::new(db),
        None,
        Arc::new(SystemClock),
        SfnConfig::default(),
    );
    sfn.start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let api = baton_platform::http::Api::new().with_service(
        &baton_stepfunctions::wire::StepFunctionsApi::new(sfn.clone()),
    );
    tokio::spawn(baton_platform::http::serve(
        listener,
        api,
        std::future::pending(),
    ));
    Bench {
        sfn,
        url,
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .unwrap(),
        _dir: dir,
    }
}

async fn create(b: &Bench, name: &str, definition: Value, kind: MachineType) -> String {
    b.sfn
        .create_state_machine(CreateStateMachine {
            name: name.into(),
            definition: definition.to_string(),
            role_arn: "arn:aws:iam::123456789012:role/bench".into(),
            machine_type: kind,
            logging_configuration: None,
            tracing_configuration: None,
            tags: Vec::new(),
        })
        .await
        .unwrap()
        .arn
}

fn passes(n: usize) -> Value {
    let mut states = serde_json::Map::new();
    for i in 0..n {
        let mut s = json!({"Type": "Pass", "Result": {"step": i}, "ResultPath": "$.last"});
        if i + 1 == n {
            s["End"] = json!(true);
        } else {
            s["Next"] = json!(format!("S{}", i + 1));
        }
        states.insert(format!("S{i}"), s);
    }
    json!({"StartAt": "S0", "States": states})
}

async fn call(b: &Bench, op: &str, body: &Value) -> Value {
    let r = b
        .http
        .post(&b.url)
        .header("x-amz-target", format!("AWSStepFunctions.{op}"))
        .header("content-type", "application/x-amz-json-1.0")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert!(status.is_success(), "{op}: {v}");
    v
}

/// Runs `f` from `workers` concurrent tasks for the bench duration; returns completed
/// calls per second.
async fn throughput<F, Fut>(workers: usize, f: F) -> f64
where
    F: Fn(u64) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let seq = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    let start = Instant::now();
    for _ in 0..workers {
        let (stop, done, seq, f) = (stop.clone(), done.clone(), seq.clone(), f.clone());
        handles.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                f(seq.fetch_add(1, Ordering::Relaxed)).await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(seconds()).await;
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn latency(b: &Bench, op: &str, body: Value, n: usize) -> (Duration, Duration) {
    for _ in 0..200 {
        call(b, op, &body).await;
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        call(b, op, &body).await;
        samples.push(t.elapsed());
    }
    samples.sort();
    (percentile(&samples, 0.5), percentile(&samples, 0.99))
}

async fn run() {
    let b = Arc::new(setup().await);
    let pass10 = create(&b, "pass10", passes(10), MachineType::Standard).await;
    let three_std = create(&b, "three", passes(3), MachineType::Standard).await;
    let three_express = create(&b, "three-express", passes(3), MachineType::Express).await;
    let ten_express = create(&b, "ten-express", passes(10), MachineType::Express).await;
    let timer = create(
        &b,
        "timer",
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 1, "Next": "B"},
            "B": {"Type": "Pass", "Next": "C"},
            "C": {"Type": "Pass", "End": true}}}),
        MachineType::Standard,
    )
    .await;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "Baton Step Functions server benchmark ({cores} cores, SQLite on disk, synchronous=FULL)"
    );
    println!("{:<62} {:>14}", "measure", "result");

    // Durable Standard transitions, in-process: each execution = 10 transitions.
    let (bb, arn) = (b.clone(), pass10.clone());
    let rate = throughput(64, move |i| {
        let (b, arn) = (bb.clone(), arn.clone());
        async move {
            b.sfn
                .start_execution(&arn, Some(&format!("in-{i}")), Some("{}"))
                .await
                .unwrap();
        }
    })
    .await;
    println!(
        "{:<62} {:>10.0} /s",
        "durable transitions, 10-Pass StartExecution, in-process",
        rate * 10.0
    );

    // The same over HTTP.
    let (bb, arn) = (b.clone(), pass10.clone());
    let rate = throughput(64, move |i| {
        let (b, arn) = (bb.clone(), arn.clone());
        async move {
            call(
                &b,
                "StartExecution",
                &json!({"stateMachineArn": arn, "name": format!("http-{i}"), "input": "{}"}),
            )
            .await;
        }
    })
    .await;
    println!(
        "{:<62} {:>10.0} /s",
        "durable transitions, 10-Pass StartExecution, over HTTP",
        rate * 10.0
    );

    // Timer-driven: executions that commit a second step when their Wait fires.
    let count = 5_000usize;
    let t = Instant::now();
    let mut arns = Vec::with_capacity(count);
    let mut starts = Vec::new();
    for i in 0..count {
        let (b, arn) = (b.clone(), timer.clone());
        starts.push(tokio::spawn(async move {
            b.sfn
                .start_execution(&arn, Some(&format!("t-{i}")), None)
                .await
                .unwrap()
                .0
        }));
    }
    for s in starts {
        arns.push(s.await.unwrap());
    }
    for arn in &arns {
        loop {
            let d = b.sfn.describe_execution(arn).await.unwrap();
            if d.record.status != RunStatus::Running {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let elapsed = t.elapsed().as_secs_f64();
    println!(
        "{:<62} {:>10.0} /s",
        format!("durable transitions, {count} executions waking from a 1 s timer"),
        (count * 4) as f64 / elapsed
    );
    println!(
        "{:<62} {:>12.2}s",
        "  (wall time for all of them, including the 1 s wait)", elapsed
    );

    // Express executions.
    let (bb, arn) = (b.clone(), three_express.clone());
    let rate = throughput(64, move |_| {
        let (b, arn) = (bb.clone(), arn.clone());
        async move {
            b.sfn
                .start_sync_execution(&arn, None, Some("{}"))
                .await
                .unwrap();
        }
    })
    .await;
    println!(
        "{:<62} {:>10.0} /s",
        "Express executions (3 states, StartSyncExecution), in-process", rate
    );
    let (bb, arn) = (b.clone(), three_express.clone());
    let rate = throughput(64, move |_| {
        let (b, arn) = (bb.clone(), arn.clone());
        async move {
            call(
                &b,
                "StartSyncExecution",
                &json!({"stateMachineArn": arn, "input": "{}"}),
            )
            .await;
        }
    })
    .await;
    println!(
        "{:<62} {:>10.0} /s",
        "Express executions (3 states, StartSyncExecution), over HTTP", rate
    );
    // The peer comparison: ten-state executions over HTTP from 8 concurrent clients.
    let (bb, arn) = (b.clone(), ten_express.clone());
    let rate = throughput(8, move |_| {
        let (b, arn) = (bb.clone(), arn.clone());
        async move {
            call(
                &b,
                "StartSyncExecution",
                &json!({"stateMachineArn": arn, "input": "{}"}),
            )
            .await;
        }
    })
    .await;
    println!(
        "{:<62} {:>10.0} /s",
        "Express executions (10 states, c=8), over HTTP", rate
    );

    // Latency, one client.
    let (p50, p99) = latency(
        &b,
        "StartSyncExecution",
        json!({"stateMachineArn": three_express, "input": "{}"}),
        5_000,
    )
    .await;
    println!(
        "{:<62} {:>8.3} ms / {:.3} ms",
        "StartSyncExecution → result, 3 states, HTTP, p50 / p99",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    let mut samples = Vec::new();
    for i in 0..2_000 {
        let t = Instant::now();
        call(
            &b,
            "StartExecution",
            &json!({"stateMachineArn": three_std, "name": format!("lat-{i}"), "input": "{}"}),
        )
        .await;
        samples.push(t.elapsed());
    }
    samples.sort();
    println!(
        "{:<62} {:>8.3} ms / {:.3} ms",
        "StartExecution → durable result, 3 states, HTTP, p50 / p99",
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3
    );
    let last = three_std.replace(":stateMachine:", ":execution:") + ":lat-1999";
    assert_eq!(
        b.sfn.describe_execution(&last).await.unwrap().record.status,
        RunStatus::Succeeded
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a plain `cargo test` build of benches runs nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}
