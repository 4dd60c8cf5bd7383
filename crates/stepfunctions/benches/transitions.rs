//! Durable Standard state transitions per second on PostgreSQL, through the real Step
//! Functions runtime: `BATON_TEST_POSTGRES_URL=postgres://… cargo bench -p
//! baton-stepfunctions --bench transitions`.
//!
//! The same measures as the SQLite server bench (`benches/sfn_server.rs`), in-process:
//! concurrent StartExecution of a 10-Pass machine (one committed step of 22 history
//! events per execution, 10 transitions), and executions that wake from a durable timer
//! (two steps each). Each run uses a fresh schema. `BATON_BENCH_SECONDS` sets each run's
//! length (default 5); `BATON_BENCH_WORKERS` the concurrent callers (default 64);
//! `BATON_BENCH_POOL` the connections (default [`baton_platform::store::postgres::POOL_SIZE`]).

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use baton_platform::clock::SystemClock;
use baton_stepfunctions::{CreateStateMachine, MachineType, RunStatus, SfnConfig, StepFunctions};
use serde_json::{Value, json};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn passes(n: usize) -> Value {
    let mut states = serde_json::Map::new();
    for i in 0..n {
        let mut s = json!({"Type": "Pass"});
        if i + 1 == n {
            s["End"] = json!(true);
        } else {
            s["Next"] = json!(format!("S{}", i + 1));
        }
        states.insert(format!("S{i}"), s);
    }
    json!({"StartAt": "S0", "States": states})
}

async fn create(sfn: &StepFunctions, name: &str, definition: Value) -> String {
    sfn.create_state_machine(CreateStateMachine {
        name: name.into(),
        definition: definition.to_string(),
        role_arn: "arn:aws:iam::123456789012:role/bench".into(),
        machine_type: MachineType::Standard,
        logging_configuration: None,
        tracing_configuration: None,
        tags: Vec::new(),
    })
    .await
    .unwrap()
    .arn
}

/// Runs `f` from `workers` tasks for the bench duration; returns calls per second.
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
    tokio::time::sleep(Duration::from_secs(env_num("BATON_BENCH_SECONDS", 5))).await;
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

async fn run(url: String) {
    let schema = format!("bench_{}", std::process::id());
    let url = baton_platform::store::postgres::create_schema(&url, &schema)
        .await
        .unwrap();
    let pool = usize::try_from(env_num(
        "BATON_BENCH_POOL",
        baton_platform::store::postgres::POOL_SIZE as u64,
    ))
    .unwrap();
    let db = baton_platform::store::postgres::Database::open_with_pool(
        &url,
        pool,
        &[baton_stepfunctions::store::MIGRATIONS.postgres],
    )
    .await
    .unwrap();
    let sfn = StepFunctions::new(
        Arc::new(db),
        None,
        Arc::new(SystemClock),
        SfnConfig {
            node_id: "bench".into(),
            lease_millis: 30_000,
            ..Default::default()
        },
    );
    sfn.start().await.unwrap();
    let pass10 = create(&sfn, "pass10", passes(10)).await;
    let timer = create(
        &sfn,
        "timer",
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 1, "Next": "B"},
            "B": {"Type": "Pass", "Next": "C"},
            "C": {"Type": "Pass", "End": true}}}),
    )
    .await;
    let workers = usize::try_from(env_num("BATON_BENCH_WORKERS", 64)).unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("Baton on PostgreSQL ({cores} cores, pool of {pool} connections, {workers} callers)");

    let (s, arn) = (sfn.clone(), pass10.clone());
    let rate = throughput(workers, move |i| {
        let (s, arn) = (s.clone(), arn.clone());
        async move {
            s.start_execution(&arn, Some(&format!("in-{i}")), Some("{}"))
                .await
                .unwrap();
        }
    })
    .await;
    println!(
        "10-Pass StartExecution: {rate:>8.0} executions/s = {:>8.0} durable transitions/s",
        rate * 10.0
    );

    // Timer executions: started now, each wakes after 1 s for its second step.
    let started = Arc::new(AtomicU64::new(0));
    let (s, arn, n) = (sfn.clone(), timer.clone(), started.clone());
    let t0 = Instant::now();
    let rate = throughput(workers, move |i| {
        let (s, arn, n) = (s.clone(), arn.clone(), n.clone());
        async move {
            s.start_execution(&arn, Some(&format!("t-{i}")), Some("{}"))
                .await
                .unwrap();
            n.fetch_add(1, Ordering::Relaxed);
        }
    })
    .await;
    let total = started.load(Ordering::Relaxed);
    // Wait for every timer execution to finish, then count both steps' transitions.
    loop {
        let page = sfn
            .list_executions(
                Some(&timer),
                None,
                Some(RunStatus::Running.as_str()),
                None,
                Some(1),
                None,
            )
            .await;
        match page {
            Ok(p) if p.items.is_empty() => break,
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => panic!("listing: {e:?}"),
        }
    }
    let elapsed = t0.elapsed().as_secs_f64();
    println!(
        "Wait-1s executions: {rate:>8.0} starts/s; {total} executions (4 transitions, 2 steps \
         each) done in {elapsed:.1} s = {:>8.0} durable transitions/s",
        total as f64 * 4.0 / elapsed
    );
}

fn main() {
    let Ok(url) = std::env::var("BATON_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("BATON_TEST_POSTGRES_URL"))
    else {
        eprintln!("skipped: set BATON_TEST_POSTGRES_URL (or BATON_BENCH_POSTGRES_URL)");
        return;
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(url));
}
