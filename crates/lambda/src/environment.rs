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

use bytes::Bytes;
use hyper::header::HeaderValue;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

use crate::logs::{LogBook, LogEnd, LogHandle, Report};
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

pub(crate) enum RuntimeAnswer {
    Response(Bytes),
    Error { error_type: String, body: Bytes },
    InitError { error_type: String, body: Bytes },
    Exited { status: String, clean: bool },
    TooLarge,
}

struct Pending {
    request_id: String,
    /// When the runtime took the invocation from `/next`: the function's timeout runs
    /// from there. Read by the waiting side only when its timer fires, so taking an
    /// invocation wakes nobody.
    taken_at: Option<Instant>,
    done: Option<oneshot::Sender<RuntimeAnswer>>,
}

/// The part the Runtime API handlers share with the invoking side.
pub(crate) struct Shared {
    /// The function's ARN as the `lambda-runtime-invoked-function-arn` header.
    pub(crate) function_arn_header: HeaderValue,
    pub(crate) timeout: Duration,
    queue_rx: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    pending: Mutex<Option<Pending>>,
    spawned_at: Instant,
    pub(crate) ready_at: OnceLock<Instant>,
    /// Set once the process is gone (or being killed).
    dead: watch::Sender<bool>,
    /// An `/init/error` arrived before any invocation was waiting.
    init_error: Mutex<Option<(String, Bytes)>>,
    /// How the process ended (`exit status 1`, clean?), set before `dead`: an invocation
    /// that finds the process already gone reports the real status, as Lambda does.
    exit: OnceLock<(String, bool)>,
}

impl Shared {
    /// Waits for the next invocation (`None` once the environment is shutting down) and
    /// marks it taken.
    pub(crate) async fn take_next(&self) -> Option<Invocation> {
        let mut dead = self.dead.subscribe();
        let invocation = {
            let mut queue = self.queue_rx.lock().await;
            tokio::select! {
                inv = queue.recv() => inv,
                _ = dead.wait_for(|d| *d) => None,
            }
        }?;
        if let Ok(mut p) = self.pending.lock()
            && let Some(p) = p.as_mut()
            && p.request_id == invocation.request_id
            && p.taken_at.is_none()
        {
            p.taken_at = Some(Instant::now());
        }
        Some(invocation)
    }

    /// Completes the waiting invocation if `request_id` is the one running.
    pub(crate) fn complete(&self, request_id: &str, answer: RuntimeAnswer) -> bool {
        let Ok(mut p) = self.pending.lock() else {
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

    /// `/init/error`: fails the waiting invocation, or the next one to come.
    pub(crate) fn init_error(&self, error_type: String, body: Bytes) {
        let waiting = self
            .pending
            .lock()
            .ok()
            .and_then(|mut p| p.as_mut().and_then(|p| p.done.take()));
        match waiting {
            Some(done) => {
                let _ = done.send(RuntimeAnswer::InitError { error_type, body });
            }
            None => {
                if let Ok(mut e) = self.init_error.lock() {
                    *e = Some((error_type, body));
                }
            }
        }
    }

    /// When the waiting invocation was taken by the runtime, if it was.
    fn taken_at(&self) -> Option<Instant> {
        self.pending.lock().ok()?.as_ref()?.taken_at
    }
}

/// A running environment.
pub struct Environment {
    pub id: u64,
    pub generation: u64,
    pid: Option<u32>,
    memory_mb: u32,
    shared: Arc<Shared>,
    queue_tx: mpsc::Sender<Invocation>,
    logs: LogHandle,
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
            function_arn_header: HeaderValue::from_str(&spec.function_arn)
                .map_err(|e| internal_spawn(format!("function ARN: {e}")))?,
            timeout: spec.timeout,
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            pending: Mutex::new(None),
            spawned_at,
            ready_at: OnceLock::new(),
            dead,
            init_error: Mutex::new(None),
            exit: OnceLock::new(),
        });

        let server = tokio::spawn(crate::runtime_api::serve(listener, shared.clone()));
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
        let (done_tx, done_rx) = oneshot::channel();
        if let Ok(mut p) = self.shared.pending.lock() {
            *p = Some(Pending {
                request_id: request_id.clone(),
                taken_at: None,
                done: Some(done_tx),
            });
        }
        let started_at = Instant::now();
        let started_ms = chrono::Utc::now().timestamp_millis();
        self.logs.begin(&request_id, started_ms);
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
            self.wait(done_rx).await
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
        self.logs.end(LogEnd {
            request_id,
            started_ms,
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

    /// Waits for the runtime's answer. One timer covers both phases: first the init
    /// limit (the runtime has not taken the invocation yet: a cold start), then the
    /// function's timeout from the moment `/next` handed the invocation over. `/next`
    /// wakes nobody: the timer looks at when the invocation was taken when it fires,
    /// and it never fires later than the earliest moment a timeout could be due.
    async fn wait(&self, mut done: oneshot::Receiver<RuntimeAnswer>) -> Outcome {
        let init_deadline = if self.shared.ready_at.get().is_some() {
            Instant::now() + INIT_LIMIT
        } else {
            self.shared.spawned_at + INIT_LIMIT
        };
        let timeout = self.shared.timeout;
        // Not taken yet: the init limit, or a function timeout counted from now (the
        // earliest it could end if the runtime took the invocation this instant).
        let due = |taken: Option<Instant>, now: Instant| match taken {
            Some(at) => at + timeout,
            None => init_deadline.min(now + timeout),
        };
        let timer = tokio::time::sleep_until(due(None, Instant::now()).into());
        tokio::pin!(timer);
        loop {
            tokio::select! {
                biased;
                answer = &mut done => return self.answer_to_outcome(answer),
                () = &mut timer => {
                    let now = Instant::now();
                    let taken = self.shared.taken_at();
                    match taken {
                        Some(at) if now >= at + timeout => {
                            self.kill();
                            return Outcome::TimedOut;
                        }
                        None if now >= init_deadline => {
                            self.kill();
                            return Outcome::InitTimedOut;
                        }
                        _ => timer.as_mut().reset(due(taken, now).into()),
                    }
                }
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
