//! Functions benchmark: cold start and warm invoke latency (p50/p99) for `provided`
//! functions and a Python function (Baton's shim), and invocations per second with warm
//! environments.
//!
//! Two `provided` functions: `echo`, the smallest runtime there is (std only, one
//! keep-alive connection, returns the event; `tests/functions/echo-bootstrap`), so its
//! figures are Baton's own path plus two loopback hops — the ones the targets
//! are about; and `probe`, built with the real `lambda_runtime` crate, as a user's Rust
//! function runs (its client and handler add their own time).
//!
//! `cargo bench --bench functions` (add `-- --quick` for a short run, and a section
//! filter such as `-- warm/echo`, `-- cold` or `-- rate/probe` to run only those). Two paths are
//! measured: in-process through `Functions::invoke` (what Step Functions and
//! EventBridge call: Baton's own path, Runtime API round trip included) and over HTTP
//! through the Lambda REST API, as an SDK calls it.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_lambda::{
    CodeInput, ConfigPatch, CreateFunction, Functions, InvokeOutcome, InvokeRequest, Settings,
};
use bytes::Bytes;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds one of the test functions under `tests/functions/<name>` (each in its own
/// target directory: every one is a binary called `bootstrap`).
fn build_function(name: &str, target: &str) -> PathBuf {
    let target = root().join(target);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--locked",
            "--quiet",
            "--manifest-path",
        ])
        .arg(root().join(format!("tests/functions/{name}/Cargo.toml")))
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("cargo build");
    assert!(status.success());
    target.join("release/bootstrap")
}

fn zip_of(name: &str, data: &[u8]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    w.start_file(name, opts).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap().into_inner()
}

struct Stats {
    p50: Duration,
    p99: Duration,
    mean: Duration,
    n: usize,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let n = samples.len();
    let at = |q: f64| {
        samples[((n as f64 * q).ceil() as usize)
            .saturating_sub(1)
            .min(n - 1)]
    };
    let total: Duration = samples.iter().sum();
    Stats {
        p50: at(0.50),
        p99: at(0.99),
        mean: total / n as u32,
        n,
    }
}

fn show(label: &str, s: &Stats) {
    println!(
        "{label:<58} n={:<5} p50={:>9.1} µs  p99={:>9.1} µs  mean={:>9.1} µs",
        s.n,
        s.p50.as_secs_f64() * 1e6,
        s.p99.as_secs_f64() * 1e6,
        s.mean.as_secs_f64() * 1e6
    );
}

fn request(name: &str) -> InvokeRequest {
    InvokeRequest {
        function: name.into(),
        qualifier: None,
        payload: Bytes::from_static(b"{\"echo\":1}"),
        log_tail: false,
        client_context: None,
        request_id: None,
    }
}

async fn invoke_ok(f: &Functions, name: &str) -> baton_lambda::InvokeOutput {
    let out = f.invoke(request(name)).await.expect("invoke");
    assert!(
        matches!(out.outcome, InvokeOutcome::Returned(_)),
        "{:?}",
        out.outcome
    );
    out
}

async fn warm(f: &Functions, name: &str, n: usize) -> Stats {
    invoke_ok(f, name).await;
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        invoke_ok(f, name).await;
        samples.push(t.elapsed());
    }
    stats(samples)
}

/// Each sample: make the next invoke cold (a configuration change retires the warm
/// environments), then time the invoke; also collects the reported Init Duration.
async fn cold(f: &Functions, name: &str, n: usize) -> (Stats, Stats) {
    let mut total = Vec::with_capacity(n);
    let mut init = Vec::with_capacity(n);
    for i in 0..n {
        f.update_configuration(
            name,
            ConfigPatch {
                description: Some(format!("cold {i}")),
                ..ConfigPatch::default()
            },
        )
        .await
        .expect("retire");
        // Let the retired environment's process go before timing the next start.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let t = Instant::now();
        let out = invoke_ok(f, name).await;
        total.push(t.elapsed());
        init.push(
            out.init_duration
                .expect("a cold start reports its init duration"),
        );
    }
    (stats(total), stats(init))
}

async fn throughput(f: &Functions, name: &str, workers: usize, run_for: Duration) -> f64 {
    // Warm `workers` environments first.
    let mut warmups = Vec::new();
    for _ in 0..workers {
        let f = f.clone();
        let name = name.to_owned();
        warmups.push(tokio::spawn(async move { invoke_ok(&f, &name).await }));
    }
    for w in warmups {
        w.await.unwrap();
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let f = f.clone();
        let name = name.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while start.elapsed() < run_for {
                invoke_ok(&f, &name).await;
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

async fn http_warm(url: &str, name: &str, n: usize) -> Stats {
    let client = reqwest::Client::new();
    let endpoint = format!("{url}/2015-03-31/functions/{name}/invocations");
    let call = || async {
        let r = client
            .post(&endpoint)
            .body("{\"echo\":1}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers().get("x-amz-function-error").is_none());
        r.bytes().await.unwrap();
    };
    call().await;
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        call().await;
        samples.push(t.elapsed());
    }
    stats(samples)
}

async fn http_throughput(url: &str, name: &str, workers: usize, run_for: Duration) -> f64 {
    let client = reqwest::Client::new();
    let endpoint = Arc::new(format!("{url}/2015-03-31/functions/{name}/invocations"));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let client = client.clone();
        let endpoint = endpoint.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while start.elapsed() < run_for {
                let r = client
                    .post(endpoint.as_str())
                    .body("{}")
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap();
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

async fn create(f: &Functions, name: &str, runtime: &str, handler: &str, code: CodeInput) {
    f.create_function(CreateFunction {
        name: name.into(),
        runtime: Some(runtime.into()),
        role: "arn:aws:iam::000000000000:role/bench".into(),
        handler: Some(handler.into()),
        timeout_secs: Some(30),
        code,
        ..CreateFunction::default()
    })
    .await
    .expect("create");
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    // A filter such as `warm/echo` or `cold` runs only the sections whose names contain it.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let scale = |n: usize| if quick { (n / 10).max(5) } else { n };
    let probe = build_function("rust-probe", "target/test-functions");
    let echo = build_function("echo-bootstrap", "target/test-functions/echo");
    let dir = tempfile::tempdir().unwrap();
    let py_dir = dir.path().join("py");
    std::fs::create_dir_all(&py_dir).unwrap();
    std::fs::write(
        py_dir.join("app.py"),
        "def handler(event, context):\n    return event\n",
    )
    .unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = baton_platform::store::sqlite::Database::open(
            &dir.path().join("baton.db"),
            &[baton_lambda::store::MIGRATIONS.sqlite],
        )
        .unwrap();
        let mut settings = Settings::new(dir.path().to_path_buf());
        settings.idle_timeout = Duration::from_secs(600);
        let f = Functions::start(Arc::new(db), settings).await.unwrap();
        create(
            &f,
            "probe",
            "provided.al2023",
            "bootstrap",
            CodeInput::Zip(zip_of("bootstrap", &std::fs::read(&probe).unwrap())),
        )
        .await;
        create(
            &f,
            "echo",
            "provided.al2023",
            "bootstrap",
            CodeInput::Zip(zip_of("bootstrap", &std::fs::read(&echo).unwrap())),
        )
        .await;
        create(
            &f,
            "py",
            "python3.12",
            "app.handler",
            CodeInput::LocalDir(py_dir.display().to_string()),
        )
        .await;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let api = baton_platform::http::Api::new()
            .with_service(&baton_lambda::wire::LambdaApi::new(f.clone()));
        tokio::spawn(baton_platform::http::serve(
            listener,
            api,
            std::future::pending(),
        ));

        println!(
            "functions benchmark (2 tokio workers; load average before: {})",
            load()
        );
        let on = |section: &str| filter.as_deref().is_none_or(|f| section.contains(f));
        println!("-- cold start (a new environment per invoke) --");
        for (name, label, n) in [
            ("echo", "provided (minimal echo runtime)", 200),
            ("probe", "provided (lambda_runtime probe)", 200),
            ("py", "python3.12 (Baton shim)", 40),
        ] {
            if on(&format!("cold/{name}")) {
                let (total, init) = cold(&f, name, scale(n)).await;
                show(&format!("{label}: cold invoke, in-process"), &total);
                show(&format!("{label}: Init Duration"), &init);
            }
        }
        println!("-- warm invoke --");
        for (name, label, n) in [
            (
                "echo",
                "provided (echo): warm invoke, in-process (Baton's path)",
                5000,
            ),
            (
                "probe",
                "provided: warm invoke, in-process (FunctionInvoker path)",
                5000,
            ),
            ("py", "python3.12: warm invoke, in-process", 3000),
        ] {
            if on(&format!("warm/{name}")) {
                show(label, &warm(&f, name, scale(n)).await);
            }
        }
        // The same loop inside a spawned task, as Step Functions and EventBridge call
        // (the loops above run on the benchmark's own thread, outside tokio's workers).
        for (name, label, n) in [
            (
                "echo",
                "provided (echo): warm invoke, in-process, from a task",
                5000,
            ),
            (
                "probe",
                "provided: warm invoke, in-process, from a task",
                5000,
            ),
        ] {
            if on(&format!("warm-task/{name}")) {
                let f = f.clone();
                let n = scale(n);
                let s = tokio::spawn(async move { warm(&f, name, n).await })
                    .await
                    .unwrap();
                show(label, &s);
            }
        }
        for (name, label, n) in [
            (
                "echo",
                "provided (echo): warm invoke over HTTP (REST, keep-alive)",
                3000,
            ),
            (
                "probe",
                "provided: warm invoke over HTTP (REST Invoke, keep-alive)",
                3000,
            ),
            ("py", "python3.12: warm invoke over HTTP", 2000),
        ] {
            if on(&format!("warm-http/{name}")) {
                show(label, &http_warm(&url, name, scale(n)).await);
            }
        }

        println!("-- throughput with warm environments --");
        let run_for = Duration::from_secs(if quick { 1 } else { 3 });
        for (name, label, workers) in [
            ("echo", "provided (echo)", 1),
            ("echo", "provided (echo)", 4),
            ("probe", "provided (probe)", 1),
            ("probe", "provided (probe)", 4),
            ("py", "python3.12", 4),
        ] {
            if on(&format!("rate/{name}")) {
                let r = throughput(&f, name, workers, run_for).await;
                println!(
                    "{label}, in-process, {workers} concurrent callers: {r:>10.0} invocations/s"
                );
            }
        }
        for (name, label) in [("echo", "provided (echo)"), ("probe", "provided (probe)")] {
            if on(&format!("rate-http/{name}")) {
                let r = http_throughput(&url, name, 4, run_for).await;
                println!("{label}, over HTTP, 4 concurrent callers: {r:>10.0} invocations/s");
            }
        }
        println!("load average after: {}", load());
        f.shutdown();
    });
}
