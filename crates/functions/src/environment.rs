//! One execution environment: a process tree running a function's runtime, and the
//! Lambda Runtime API endpoint it talks to.
//!
//! Why one loopback port per environment (rather than one listener routing by a path
//! prefix): every runtime client takes `AWS_LAMBDA_RUNTIME_API` as `host:port` and builds
//! its own URLs (the Rust client keeps only scheme and authority), so a path prefix is
//! not portable. Binding a port costs microseconds, far below a process start.
//!
//! The process starts in its own process group: a timeout kills the whole tree, and so
//! does the runtime exiting on its own (nothing it started outlives it).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

use crate::logs::{LogBook, LogCommand, Report};
use crate::model::RuntimeFamily;

/// Lambda's limit on a synchronous response payload.
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;
/// How long a runtime may take to reach its first `/next` (Lambda's init limit).
pub const INIT_LIMIT: Duration = Duration::from_secs(10);

static NEXT_ENV_ID: AtomicU64 = AtomicU64::new(1);

/// Everything needed to start an environment for a function.
#[derive(Debug, Clone)]
pub struct EnvSpec {
    pub function: String,
    pub function_arn: String,
    pub family: RuntimeFamily,
    pub runtime: String,
    pub handler: String,
    pub code_dir: PathBuf,
    pub memory_mb: u32,
    pub timeout: Duration,
    /// The user's environment variables (reserved keys already refused).
    pub user_env: BTreeMap<String, String>,
    /// Baton's own variables for every function (region, credentials, endpoint).
    pub base_env: Vec<(String, String)>,
    /// Where the runtime shims were written.
    pub shim_dir: PathBuf,
    pub python: String,
    pub node: String,
    /// Which definition this environment runs; a newer one retires it.
    pub generation: u64,
    /// Where live environments are listed (one file per process group), so a Baton
    /// killed with `kill -9` stops its orphans when it starts again.
    pub pid_dir: PathBuf,
}

/// The variable that marks a process as one of Baton's environments (checked before
/// killing a listed process group after a restart, since pids are reused).
const ENV_MARKER: &str = "BATON_ENVIRONMENT_ID";

/// Kills environments a previous Baton process left running (it died without
/// stopping them), as listed in `pid_dir`.
pub fn kill_orphans(pid_dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(pid_dir) else {
        return 0;
    };
    let mut killed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let pid: Option<u32> = entry.file_name().to_str().and_then(|n| n.parse().ok());
        let id = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(pid) = pid {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let marker = format!("{ENV_MARKER}={}", id.trim());
            let ours = environ.split(|b| *b == 0).any(|kv| kv == marker.as_bytes());
            if ours {
                kill_group(pid);
                killed += 1;
            }
        }
        let _ = std::fs::remove_file(&path);
    }
    killed
}

/// One invocation handed to a runtime.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub payload: Bytes,
    pub client_context: Option<String>,
    pub trace_id: String,
}

/// How an invocation ended, as the environment saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `/response`: the payload.
    Response(Bytes),
    /// `/error`: the error type and the body exactly as the runtime posted it.
    FunctionError { error_type: String, body: Bytes },
    /// `/init/error` before the invocation was taken: the environment is unusable.
    InitError { error_type: String, body: Bytes },
    /// The process exited (`exit status 1`, `signal: killed`, …).
    Exited { status: String, clean: bool },
    /// The function ran past its timeout; the environment was killed.
    TimedOut,
    /// The runtime never reached `/next` within the init limit; it was killed.
    InitTimedOut,
    /// The response was larger than Lambda allows.
    ResponseTooLarge,
}

impl Outcome {
    /// Whether the environment can take another invocation after this.
    pub fn keeps_environment(&self) -> bool {
        matches!(
            self,
            Outcome::Response(_) | Outcome::FunctionError { .. } | Outcome::ResponseTooLarge
        )
    }
}

/// An invocation's result with its timing and (when asked) its log.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub outcome: Outcome,
    pub duration: Duration,
    pub init_duration: Option<Duration>,
    pub log: Option<String>,
}

enum RuntimeAnswer {
    Response(Bytes),
    Error { error_type: String, body: Bytes },
    InitError { error_type: String, body: Bytes },
    Exited { status: String, clean: bool },
    TooLarge,
}

struct Pending {
    request_id: String,
    started: Option<oneshot::Sender<()>>,
    done: Option<oneshot::Sender<RuntimeAnswer>>,
}

/// The part the Runtime API handlers share with the invoking side.
struct Shared {
    function_arn: String,
    timeout: Duration,
    queue_rx: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    pending: Mutex<Option<Pending>>,
    spawned_at: Instant,
    ready_at: OnceLock<Instant>,
    /// Set once the process is gone (or being killed).
    dead: watch::Sender<bool>,
    /// An `/init/error` arrived before any invocation was waiting.
    init_error: Mutex<Option<(String, Bytes)>>,
    /// How the process ended (`exit status 1`, clean?), set before `dead`: an invocation
    /// that finds the process already gone reports the real status, as Lambda does.
    exit: OnceLock<(String, bool)>,
}

/// A running environment.
pub struct Environment {
    pub id: u64,
    pub generation: u64,
    pid: Option<u32>,
    memory_mb: u32,
    shared: Arc<Shared>,
    queue_tx: mpsc::Sender<Invocation>,
    logs: mpsc::UnboundedSender<LogCommand>,
    /// The init duration, reported once, by the first invocation.
    init_reported: Mutex<bool>,
    pub last_used: Mutex<Instant>,
}

/// Why an environment could not be started at all (`message` follows Lambda's
/// `RequestId: … Error: ` prefix).
#[derive(Debug)]
pub struct SpawnError {
    pub error_type: &'static str,
    pub message: String,
}

impl Environment {
    /// Binds the environment's Runtime API port, starts the process and returns at once
    /// (the runtime initialises while the first invocation waits for it).
    pub async fn spawn(spec: &EnvSpec, book: Arc<LogBook>) -> Result<Arc<Environment>, SpawnError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| internal_spawn(format!("binding the Runtime API: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| internal_spawn(e.to_string()))?
            .port();
        let id = NEXT_ENV_ID.fetch_add(1, Ordering::Relaxed);

        let mut command = command_for(spec)?;
        command
            .current_dir(&spec.code_dir)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(false);
        for (k, v) in environment_for(spec, port, id) {
            command.env(k, v);
        }
        let spawned_at = Instant::now();
        let mut child = command.spawn().map_err(|e| SpawnError {
            error_type: "Runtime.InvalidEntrypoint",
            message: format!("fork/exec failed: {e}"),
        })?;
        let pid = child.id();
        let pid_file = pid.map(|p| spec.pid_dir.join(p.to_string()));
        if let Some(f) = &pid_file {
            let _ = std::fs::create_dir_all(&spec.pid_dir);
            let _ = std::fs::write(f, id.to_string());
        }
        let stdout = child
            .stdout
            .take()
            .and_then(|s| s.into_owned_fd().ok())
            .and_then(|fd| tokio::net::unix::pipe::Receiver::from_owned_fd(fd).ok());
        let stderr = child
            .stderr
            .take()
            .and_then(|s| s.into_owned_fd().ok())
            .and_then(|fd| tokio::net::unix::pipe::Receiver::from_owned_fd(fd).ok());
        let logs = crate::logs::spawn_log_task(spec.function.clone(), pid, stdout, stderr, book);

        let (queue_tx, queue_rx) = mpsc::channel(1);
        let (dead, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            function_arn: spec.function_arn.clone(),
            timeout: spec.timeout,
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            pending: Mutex::new(None),
            spawned_at,
            ready_at: OnceLock::new(),
            dead,
            init_error: Mutex::new(None),
            exit: OnceLock::new(),
        });

        let server = tokio::spawn(axum::serve(listener, runtime_api(shared.clone())).into_future());
        // The monitor: reaps the process, kills what it left behind, fails whatever
        // invocation was waiting, and stops the Runtime API endpoint.
        let monitor_shared = shared.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            if let Some(pid) = pid {
                kill_group(pid);
            }
            if let Some(f) = pid_file {
                let _ = std::fs::remove_file(f);
            }
            let (status, clean) = match status {
                Ok(s) => describe_exit(s),
                Err(e) => (e.to_string(), false),
            };
            let _ = monitor_shared.exit.set((status.clone(), clean));
            monitor_shared.dead.send_replace(true);
            let waiting = monitor_shared
                .pending
                .lock()
                .ok()
                .and_then(|mut p| p.take());
            if let Some(mut p) = waiting
                && let Some(done) = p.done.take()
            {
                let _ = done.send(RuntimeAnswer::Exited { status, clean });
            }
            server.abort();
        });

        Ok(Arc::new(Environment {
            id,
            generation: spec.generation,
            pid,
            memory_mb: spec.memory_mb,
            shared,
            queue_tx,
            logs,
            init_reported: Mutex::new(false),
            last_used: Mutex::new(Instant::now()),
        }))
    }

    pub fn is_dead(&self) -> bool {
        *self.shared.dead.borrow()
    }

    /// Kills the whole process tree (idempotent).
    pub fn kill(&self) {
        self.shared.dead.send_replace(true);
        if let Some(pid) = self.pid {
            kill_group(pid);
        }
    }

    /// Runs one invocation to its end. `want_log` waits for the finished log text.
    pub async fn run(&self, invocation: Invocation, want_log: bool) -> RunResult {
        let request_id = invocation.request_id.clone();
        let (started_tx, started_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        if let Ok(mut p) = self.shared.pending.lock() {
            *p = Some(Pending {
                request_id: request_id.clone(),
                started: Some(started_tx),
                done: Some(done_tx),
            });
        }
        let started_at = Instant::now();
        let _ = self.logs.send(LogCommand::Begin {
            request_id: request_id.clone(),
            started_ms: chrono::Utc::now().timestamp_millis(),
        });
        // An /init/error that came before we were waiting, or a process already gone.
        let early = self
            .shared
            .init_error
            .lock()
            .ok()
            .and_then(|mut e| e.take());
        let outcome = if let Some((error_type, body)) = early {
            self.kill();
            Outcome::InitError { error_type, body }
        } else if self.is_dead() {
            let (status, clean) = self
                .shared
                .exit
                .get()
                .cloned()
                .unwrap_or_else(|| ("exited".into(), false));
            Outcome::Exited { status, clean }
        } else {
            let _ = self.queue_tx.try_send(invocation);
            self.wait(started_rx, done_rx).await
        };
        if let Ok(mut p) = self.shared.pending.lock() {
            p.take();
        }
        let duration = started_at.elapsed();
        let init_duration = self.take_init_duration();
        if let Ok(mut t) = self.last_used.lock() {
            *t = Instant::now();
        }
        let trailer = match &outcome {
            Outcome::TimedOut => Some(format!(
                "{} {request_id} Task timed out after {:.2} seconds",
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                self.shared.timeout.as_secs_f64()
            )),
            _ => None,
        };
        let (reply, answer) = if want_log {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let _ = self.logs.send(LogCommand::End {
            request_id,
            report: Report {
                duration,
                memory_mb: self.memory_mb,
                init_duration,
                trailer,
            },
            reply,
        });
        let log = match answer {
            Some(rx) => rx.await.ok(),
            None => None,
        };
        RunResult {
            outcome,
            duration,
            init_duration,
            log,
        }
    }

    async fn wait(
        &self,
        started: oneshot::Receiver<()>,
        done: oneshot::Receiver<RuntimeAnswer>,
    ) -> Outcome {
        let mut done = done;
        // Phase 1: the runtime takes the invocation (at once when warm; after init when
        // cold). The function's timeout runs from there, as Lambda's does.
        let init_budget = if self.shared.ready_at.get().is_some() {
            INIT_LIMIT
        } else {
            INIT_LIMIT.saturating_sub(self.shared.spawned_at.elapsed())
        };
        tokio::select! {
            biased;
            answer = &mut done => return self.answer_to_outcome(answer),
            taken = started => {
                if taken.is_err() {
                    // The waiting invocation was failed (exit, init error) before /next.
                    return self.answer_to_outcome(done.await);
                }
            }
            () = tokio::time::sleep(init_budget) => {
                self.kill();
                return Outcome::InitTimedOut;
            }
        }
        // Phase 2: the function runs.
        match tokio::time::timeout(self.shared.timeout, &mut done).await {
            Ok(answer) => self.answer_to_outcome(answer),
            Err(_) => {
                self.kill();
                Outcome::TimedOut
            }
        }
    }

    fn answer_to_outcome(
        &self,
        answer: Result<RuntimeAnswer, oneshot::error::RecvError>,
    ) -> Outcome {
        match answer {
            Ok(RuntimeAnswer::Response(b)) => Outcome::Response(b),
            Ok(RuntimeAnswer::Error { error_type, body }) => {
                Outcome::FunctionError { error_type, body }
            }
            Ok(RuntimeAnswer::InitError { error_type, body }) => {
                self.kill();
                Outcome::InitError { error_type, body }
            }
            Ok(RuntimeAnswer::Exited { status, clean }) => Outcome::Exited { status, clean },
            Ok(RuntimeAnswer::TooLarge) => Outcome::ResponseTooLarge,
            Err(_) => {
                self.kill();
                Outcome::Exited {
                    status: "exited".into(),
                    clean: false,
                }
            }
        }
    }

    fn take_init_duration(&self) -> Option<Duration> {
        let mut reported = self.init_reported.lock().ok()?;
        if *reported {
            return None;
        }
        let ready = self.shared.ready_at.get()?;
        *reported = true;
        Some(ready.saturating_duration_since(self.shared.spawned_at))
    }
}

fn internal_spawn(message: String) -> SpawnError {
    SpawnError {
        error_type: "Runtime.Unknown",
        message,
    }
}

/// The process to start for the function's runtime family.
fn command_for(spec: &EnvSpec) -> Result<tokio::process::Command, SpawnError> {
    match spec.family {
        RuntimeFamily::Provided => {
            let bootstrap = spec.code_dir.join("bootstrap");
            if !bootstrap.is_file() {
                return Err(SpawnError {
                    error_type: "Runtime.InvalidEntrypoint",
                    message: format!(
                        "Couldn't find valid bootstrap(s): [{}]",
                        bootstrap.display()
                    ),
                });
            }
            Ok(tokio::process::Command::new(bootstrap))
        }
        RuntimeFamily::Python => {
            let mut c = tokio::process::Command::new(&spec.python);
            c.arg(spec.shim_dir.join("python").join("bootstrap.py"));
            Ok(c)
        }
        RuntimeFamily::Node => {
            let mut c = tokio::process::Command::new(&spec.node);
            c.arg(spec.shim_dir.join("node").join("bootstrap.js"));
            Ok(c)
        }
    }
}

/// The environment variables Lambda sets, then Baton's, then the user's.
fn environment_for(spec: &EnvSpec, port: u16, id: u64) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::with_capacity(32);
    for key in ["PATH", "HOME", "LD_LIBRARY_PATH", "SYSTEMROOT"] {
        if let Some(v) = std::env::var_os(key) {
            env.push((key.into(), v.to_string_lossy().into_owned()));
        }
    }
    env.extend(spec.base_env.iter().cloned());
    let task_root = spec.code_dir.to_string_lossy().into_owned();
    let day = chrono::Utc::now().format("%Y/%m/%d");
    let mut set = |k: &str, v: String| env.push((k.into(), v));
    set("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"));
    set("_HANDLER", spec.handler.clone());
    set("AWS_LAMBDA_FUNCTION_NAME", spec.function.clone());
    set(
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        spec.memory_mb.to_string(),
    );
    set("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into());
    set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into());
    set(
        "AWS_LAMBDA_LOG_GROUP_NAME",
        format!("/aws/lambda/{}", spec.function),
    );
    set(
        "AWS_LAMBDA_LOG_STREAM_NAME",
        format!("{day}/[$LATEST]{id:032x}"),
    );
    set("AWS_EXECUTION_ENV", format!("AWS_Lambda_{}", spec.runtime));
    set("LAMBDA_TASK_ROOT", task_root.clone());
    set(
        "LAMBDA_RUNTIME_DIR",
        spec.shim_dir.to_string_lossy().into_owned(),
    );
    set(ENV_MARKER, id.to_string());
    set("TZ", ":UTC".into());
    set("LANG", "en_US.UTF-8".into());
    match spec.family {
        RuntimeFamily::Python => {
            set("PYTHONUNBUFFERED", "1".into());
            set("PYTHONDONTWRITEBYTECODE", "1".into());
            set("PYTHONPATH", task_root);
        }
        RuntimeFamily::Node => {
            set("NODE_PATH", format!("{task_root}/node_modules"));
        }
        RuntimeFamily::Provided => {}
    }
    for (k, v) in &spec.user_env {
        env.push((k.clone(), v.clone()));
    }
    env
}

fn describe_exit(status: std::process::ExitStatus) -> (String, bool) {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        return (format!("exit status {code}"), code == 0);
    }
    let name = match status.signal() {
        Some(9) => "killed".to_owned(),
        Some(15) => "terminated".to_owned(),
        Some(11) => "segmentation fault".to_owned(),
        Some(6) => "aborted".to_owned(),
        Some(n) => format!("{n}"),
        None => "unknown".to_owned(),
    };
    (format!("signal: {name}"), false)
}

fn kill_group(pid: u32) {
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

// ---- The Runtime API ---------------------------------------------------------------

fn runtime_api(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{request_id}/response",
            post(response),
        )
        .route(
            "/2018-06-01/runtime/invocation/{request_id}/error",
            post(error),
        )
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .layer(DefaultBodyLimit::max(MAX_RESPONSE_BYTES * 2))
        .with_state(shared)
}

fn runtime_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    let body = serde_json::json!({"errorMessage": message, "errorType": error_type});
    (status, body.to_string()).into_response()
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let _ = shared.ready_at.set(Instant::now());
    let mut dead = shared.dead.subscribe();
    let invocation = {
        let mut queue = shared.queue_rx.lock().await;
        tokio::select! {
            inv = queue.recv() => inv,
            _ = dead.wait_for(|d| *d) => None,
        }
    };
    let Some(inv) = invocation else {
        return runtime_error(
            StatusCode::GONE,
            "Runtime.Shutdown",
            "the environment is shutting down",
        );
    };
    let deadline = chrono::Utc::now().timestamp_millis()
        + i64::try_from(shared.timeout.as_millis()).unwrap_or(i64::MAX / 2);
    if let Ok(mut p) = shared.pending.lock()
        && let Some(p) = p.as_mut()
        && p.request_id == inv.request_id
        && let Some(started) = p.started.take()
    {
        let _ = started.send(());
    }
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put("lambda-runtime-aws-request-id", &inv.request_id);
    put("lambda-runtime-deadline-ms", &deadline.to_string());
    put("lambda-runtime-invoked-function-arn", &shared.function_arn);
    put("lambda-runtime-trace-id", &inv.trace_id);
    put("content-type", "application/json");
    if let Some(cc) = &inv.client_context {
        put("lambda-runtime-client-context", cc);
    }
    (StatusCode::OK, headers, inv.payload).into_response()
}

/// Completes the waiting invocation if `request_id` is the one running.
fn complete(shared: &Shared, request_id: &str, answer: RuntimeAnswer) -> bool {
    let Ok(mut p) = shared.pending.lock() else {
        return false;
    };
    match p.as_mut() {
        Some(pending) if pending.request_id == request_id => match pending.done.take() {
            Some(done) => {
                let _ = done.send(answer);
                true
            }
            None => false,
        },
        _ => false,
    }
}

fn invalid_request_id() -> Response {
    runtime_error(
        StatusCode::BAD_REQUEST,
        "InvalidRequestID",
        "Invalid request ID",
    )
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(request_id): Path<String>,
    body: Bytes,
) -> Response {
    if body.len() > MAX_RESPONSE_BYTES {
        complete(&shared, &request_id, RuntimeAnswer::TooLarge);
        return runtime_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            &format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
        );
    }
    if complete(&shared, &request_id, RuntimeAnswer::Response(body)) {
        accepted()
    } else {
        invalid_request_id()
    }
}

/// The error type a runtime reported: the body's `errorType`, else the header, else
/// Lambda's generic name.
fn error_type_of(headers: &HeaderMap, body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("errorType")
                .and_then(|t| t.as_str())
                .map(str::to_owned)
        })
        .or_else(|| {
            headers
                .get("lambda-runtime-function-error-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "Unhandled".to_owned())
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error_type = error_type_of(&headers, &body);
    if complete(
        &shared,
        &request_id,
        RuntimeAnswer::Error { error_type, body },
    ) {
        accepted()
    } else {
        invalid_request_id()
    }
}

async fn init_error(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error_type = error_type_of(&headers, &body);
    let waiting = shared
        .pending
        .lock()
        .ok()
        .and_then(|mut p| p.as_mut().and_then(|p| p.done.take()));
    match waiting {
        Some(done) => {
            let _ = done.send(RuntimeAnswer::InitError { error_type, body });
        }
        None => {
            if let Ok(mut e) = shared.init_error.lock() {
                *e = Some((error_type, body));
            }
        }
    }
    accepted()
}
