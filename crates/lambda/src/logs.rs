//! Per-invocation logs. Each environment's stdout and stderr are read by one task that
//! files every line under the invocation running at the time, framed by Lambda's
//! `START` / `END` / `REPORT` lines; finished logs go to a bounded per-function ring.
//!
//! Why one task reading the pipes without blocking: when an invocation ends, the task
//! first drains whatever the runtime wrote before it answered (those bytes are already
//! in the pipe), so a line printed just before returning lands in the right invocation.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::unix::pipe;
use tokio::sync::{mpsc, oneshot};

/// Finished invocation logs kept per function.
const LOGS_PER_FUNCTION: usize = 256;
/// Longest line kept (longer lines are cut); bounds memory for runaway output.
const MAX_LINE_BYTES: usize = 256 * 1024;
/// Most bytes kept for one invocation's log.
const MAX_LOG_BYTES: usize = 1024 * 1024;
/// `LogResult` carries the last 4 KB of the log.
pub const TAIL_BYTES: usize = 4 * 1024;

/// One invocation's log as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationLog {
    pub request_id: String,
    /// Epoch milliseconds of the START line.
    pub started_ms: i64,
    pub text: String,
}

/// The figures of Lambda's `REPORT` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub duration: Duration,
    pub memory_mb: u32,
    /// Set on the invocation that started the environment.
    pub init_duration: Option<Duration>,
    /// Extra line after REPORT (a timeout notice).
    pub trailer: Option<String>,
}

/// Logs of every function, newest last.
#[derive(Default)]
pub struct LogBook {
    by_function: Mutex<HashMap<String, VecDeque<InvocationLog>>>,
}

impl LogBook {
    pub fn push(&self, function: &str, log: InvocationLog) {
        if let Ok(mut map) = self.by_function.lock() {
            let ring = map.entry(function.to_owned()).or_default();
            if ring.len() == LOGS_PER_FUNCTION {
                ring.pop_front();
            }
            ring.push_back(log);
        }
    }

    /// The function's kept logs, oldest first (one invocation's when `request_id`).
    pub fn get(&self, function: &str, request_id: Option<&str>) -> Vec<InvocationLog> {
        let Ok(map) = self.by_function.lock() else {
            return Vec::new();
        };
        map.get(function)
            .map(|ring| {
                ring.iter()
                    .filter(|l| request_id.is_none_or(|id| l.request_id == id))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn forget(&self, function: &str) {
        if let Ok(mut map) = self.by_function.lock() {
            map.remove(function);
        }
    }
}

/// What the environment tells its log task when an invocation ends.
pub struct LogEnd {
    pub request_id: String,
    /// Epoch milliseconds of the START line.
    pub started_ms: i64,
    pub report: Report,
    /// Gets the finished log text (for `LogType: Tail`).
    pub reply: Option<oneshot::Sender<String>>,
}

/// The environment's side of its log task.
///
/// Why the start of an invocation is a shared slot rather than a message: a message
/// would wake the log task at the start of every invocation, on the warm path, only to
/// write a START line nobody reads before the invocation ends. The slot costs a lock;
/// the task looks at it when output arrives (so a line the function prints lands after
/// its START line) and the end message carries the start too, for invocations that
/// printed nothing.
pub struct LogHandle {
    started: Arc<Mutex<Option<(String, i64)>>>,
    end: mpsc::UnboundedSender<LogEnd>,
}

impl LogHandle {
    /// An invocation starts.
    pub fn begin(&self, request_id: &str, started_ms: i64) {
        if let Ok(mut slot) = self.started.lock() {
            *slot = Some((request_id.to_owned(), started_ms));
        }
    }

    /// An invocation ended: its log is finished and filed.
    pub fn end(&self, end: LogEnd) {
        let _ = self.end.send(end);
    }
}

/// Starts the log task for one environment's pipes.
pub fn spawn_log_task(
    function: String,
    pid: Option<u32>,
    stdout: Option<pipe::Receiver>,
    stderr: Option<pipe::Receiver>,
    book: Arc<LogBook>,
) -> LogHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let started = Arc::new(Mutex::new(None));
    let task = LogTask {
        function,
        memory: pid.and_then(PeakMemory::open),
        book,
        started: started.clone(),
        current: String::new(),
        current_id: None,
    };
    tokio::spawn(task.run(stdout, stderr, rx));
    LogHandle { started, end: tx }
}

struct Stream {
    pipe: Option<pipe::Receiver>,
    partial: Vec<u8>,
}

impl Stream {
    /// Reads what is available now; returns false once the pipe is closed.
    ///
    /// Each round asks the pipe itself first: tokio's `try_read` answers `WouldBlock`
    /// without a system call while the reactor has not yet seen the pipe become
    /// readable, and a line the function printed just before it answered would then
    /// miss its invocation's log. Once the pipe is empty, `try_read` clears tokio's
    /// readiness so that `readable` waits again.
    fn drain(&mut self, out: &mut String) -> bool {
        let mut buf = [0u8; 16 * 1024];
        loop {
            let Some(p) = &self.pipe else { return false };
            let direct = rustix::io::read(p, &mut buf);
            let read = match direct {
                Ok(n) => Ok(n),
                Err(rustix::io::Errno::AGAIN) => p.try_read(&mut buf),
                Err(e) => Err(std::io::Error::from(e)),
            };
            match read {
                Ok(0) => {
                    self.pipe = None;
                    self.flush_partial(out);
                    return false;
                }
                Ok(n) => self.take(&buf[..n], out),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                Err(_) => {
                    self.pipe = None;
                    return false;
                }
            }
        }
    }

    fn take(&mut self, bytes: &[u8], out: &mut String) {
        for chunk in bytes.split_inclusive(|b| *b == b'\n') {
            if self.partial.len() < MAX_LINE_BYTES {
                let room = MAX_LINE_BYTES - self.partial.len();
                self.partial
                    .extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            if chunk.ends_with(b"\n") {
                push_line(out, &self.partial);
                self.partial.clear();
            }
        }
    }

    fn flush_partial(&mut self, out: &mut String) {
        if !self.partial.is_empty() {
            let mut line = std::mem::take(&mut self.partial);
            line.push(b'\n');
            push_line(out, &line);
        }
    }

    async fn readable(&self) {
        match &self.pipe {
            Some(p) => {
                let _ = p.readable().await;
            }
            None => std::future::pending().await,
        }
    }
}

fn push_line(out: &mut String, line: &[u8]) {
    if out.len() < MAX_LOG_BYTES {
        out.push_str(&String::from_utf8_lossy(line));
    }
}

/// One environment's log task: its state between events.
struct LogTask {
    function: String,
    memory: Option<PeakMemory>,
    book: Arc<LogBook>,
    /// The invocation that started last, until the task writes its START line.
    started: Arc<Mutex<Option<(String, i64)>>>,
    /// The log being written. Lines read before an invocation's START line (the init
    /// phase, or output between invocations) open that invocation's log.
    current: String,
    /// The invocation whose START line is written and whose END is not.
    current_id: Option<(String, i64)>,
}

impl LogTask {
    async fn run(
        mut self,
        stdout: Option<pipe::Receiver>,
        stderr: Option<pipe::Receiver>,
        mut ends: mpsc::UnboundedReceiver<LogEnd>,
    ) {
        let mut streams = [
            Stream {
                pipe: stdout,
                partial: Vec::new(),
            },
            Stream {
                pipe: stderr,
                partial: Vec::new(),
            },
        ];
        loop {
            tokio::select! {
                biased;
                end = ends.recv() => {
                    let Some(end) = end else { break };
                    self.end(end, &mut streams);
                }
                () = streams[0].readable() => {
                    self.output(&mut ends, &mut streams, 0);
                }
                () = streams[1].readable() => {
                    self.output(&mut ends, &mut streams, 1);
                }
            }
        }
    }

    /// Output is waiting on one of the pipes: it belongs to the invocation that
    /// started last, after its START line.
    fn output(
        &mut self,
        ends: &mut mpsc::UnboundedReceiver<LogEnd>,
        streams: &mut [Stream; 2],
        which: usize,
    ) {
        let started = self.started.lock().ok().and_then(|s| s.clone());
        if let Some((id, started_ms)) = started
            && self.current_id.as_ref().is_none_or(|(c, _)| *c != id)
        {
            // The previous invocation's end is sent before the next one starts: file
            // it first, so this output does not land in it.
            while let Ok(end) = ends.try_recv() {
                self.end(end, streams);
            }
            let still = self
                .started
                .lock()
                .ok()
                .is_some_and(|s| s.as_ref().is_some_and(|(s, _)| *s == id));
            if still {
                self.start(id, started_ms);
            }
        }
        streams[which].drain(&mut self.current);
    }

    fn start(&mut self, request_id: String, started_ms: i64) {
        self.current
            .push_str(&format!("START RequestId: {request_id} Version: $LATEST\n"));
        self.current_id = Some((request_id, started_ms));
    }

    fn end(&mut self, end: LogEnd, streams: &mut [Stream; 2]) {
        let LogEnd {
            request_id,
            started_ms,
            report,
            reply,
        } = end;
        if let Ok(mut slot) = self.started.lock()
            && slot.as_ref().is_some_and(|(s, _)| *s == request_id)
        {
            slot.take();
        }
        if self
            .current_id
            .as_ref()
            .is_none_or(|(c, _)| *c != request_id)
        {
            // No output was read since it started: what the pipes hold now was
            // printed while it ran.
            self.start(request_id.clone(), started_ms);
        }
        for s in streams.iter_mut() {
            s.drain(&mut self.current);
        }
        let max_used = self.memory.as_mut().and_then(PeakMemory::read_mb);
        let current = &mut self.current;
        current.push_str(&format!("END RequestId: {request_id}\n"));
        current.push_str(&report_line(&request_id, &report, max_used));
        if let Some(t) = &report.trailer {
            current.push_str(t);
            current.push('\n');
        }
        let text = std::mem::take(current);
        self.current_id = None;
        if let Some(reply) = reply {
            let _ = reply.send(text.clone());
        }
        self.book.push(
            &self.function,
            InvocationLog {
                request_id,
                started_ms,
                text,
            },
        );
    }
}

/// Lambda's REPORT line (tab-separated, with a trailing tab).
pub fn report_line(request_id: &str, report: &Report, max_used_mb: Option<u64>) -> String {
    let ms = report.duration.as_secs_f64() * 1000.0;
    let billed = ms.ceil().max(1.0) as u64;
    let mut line = format!(
        "REPORT RequestId: {request_id}\tDuration: {ms:.2} ms\tBilled Duration: {billed} ms\tMemory Size: {} MB\tMax Memory Used: {} MB\t",
        report.memory_mb,
        max_used_mb.unwrap_or(0)
    );
    if let Some(init) = report.init_duration {
        line.push_str(&format!(
            "Init Duration: {:.2} ms\t",
            init.as_secs_f64() * 1000.0
        ));
    }
    line.push('\n');
    line
}

/// The process's peak resident set (`VmHWM` in procfs), read from a file opened once
/// for the environment (reopening it by path on every invocation cost as much again).
struct PeakMemory {
    file: std::fs::File,
    buf: Vec<u8>,
}

impl PeakMemory {
    fn open(pid: u32) -> Option<PeakMemory> {
        let file = std::fs::File::open(format!("/proc/{pid}/status")).ok()?;
        Some(PeakMemory {
            file,
            buf: vec![0; 4096],
        })
    }

    /// The peak in MB, rounded up.
    fn read_mb(&mut self) -> Option<u64> {
        use std::os::unix::fs::FileExt;
        let mut len = 0;
        loop {
            if len == self.buf.len() {
                if self.buf.len() >= 64 * 1024 {
                    break;
                }
                self.buf.resize(self.buf.len() * 2, 0);
            }
            match self.file.read_at(&mut self.buf[len..], len as u64) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(_) => return None,
            }
        }
        vm_hwm_mb(&self.buf[..len])
    }
}

/// `VmHWM` of a `/proc/<pid>/status` text, in MB rounded up.
fn vm_hwm_mb(status: &[u8]) -> Option<u64> {
    let status = std::str::from_utf8(status).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.div_ceil(1024))
}

/// Base64 of the last [`TAIL_BYTES`] of a log, cut on a character boundary.
pub fn tail_base64(text: &str) -> String {
    use base64::Engine;
    let mut start = text.len().saturating_sub(TAIL_BYTES);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    base64::engine::general_purpose::STANDARD.encode(&text.as_bytes()[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_look_like_lambdas() {
        let r = Report {
            duration: Duration::from_micros(1_234),
            memory_mb: 128,
            init_duration: Some(Duration::from_micros(3_500)),
            trailer: None,
        };
        assert_eq!(
            report_line("abc", &r, Some(20)),
            "REPORT RequestId: abc\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tInit Duration: 3.50 ms\t\n"
        );
    }

    fn report() -> Report {
        Report {
            duration: Duration::from_millis(1),
            memory_mb: 128,
            init_duration: None,
            trailer: None,
        }
    }

    async fn finish(handle: &LogHandle, request_id: &str) -> String {
        let (tx, rx) = oneshot::channel();
        handle.end(LogEnd {
            request_id: request_id.into(),
            started_ms: 1,
            report: report(),
            reply: Some(tx),
        });
        rx.await.expect("the log")
    }

    fn lines(text: &str) -> Vec<&str> {
        text.lines()
            .map(|l| l.split_once(" RequestId").map_or(l, |(head, _)| head))
            .collect()
    }

    #[tokio::test]
    async fn output_is_filed_under_the_invocation_that_printed_it() {
        use tokio::io::AsyncWriteExt;
        let (mut out, rx) = pipe::pipe().expect("pipe");
        let book = Arc::new(LogBook::default());
        let handle = spawn_log_task("f".into(), None, Some(rx), None, book.clone());

        out.write_all(b"init line\n").await.expect("write");
        tokio::time::sleep(Duration::from_millis(20)).await;
        handle.begin("a", 1);
        out.write_all(b"during a\n").await.expect("write");
        tokio::time::sleep(Duration::from_millis(20)).await;
        out.write_all(b"just before a answers\n")
            .await
            .expect("write");
        let a = finish(&handle, "a").await;
        assert_eq!(
            lines(&a),
            [
                "init line",
                "START",
                "during a",
                "just before a answers",
                "END",
                "REPORT"
            ]
        );

        // An invocation that printed nothing, then the next one starting before the
        // log task has filed it: each log is whole and in order.
        handle.begin("b", 2);
        let (tx, b) = oneshot::channel();
        handle.end(LogEnd {
            request_id: "b".into(),
            started_ms: 2,
            report: report(),
            reply: Some(tx),
        });
        handle.begin("c", 3);
        tokio::time::sleep(Duration::from_millis(20)).await;
        out.write_all(b"during c\n").await.expect("write");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let c = finish(&handle, "c").await;
        assert_eq!(lines(&b.await.expect("b")), ["START", "END", "REPORT"]);
        assert_eq!(lines(&c), ["START", "during c", "END", "REPORT"]);
        let kept: Vec<String> = book
            .get("f", None)
            .into_iter()
            .map(|l| l.request_id)
            .collect();
        assert_eq!(kept, ["a", "b", "c"]);
        assert!(c.contains("START RequestId: c Version: $LATEST\n"));
    }

    #[test]
    fn peak_memory_comes_from_procfs() {
        let mut own = PeakMemory::open(std::process::id()).expect("own status");
        let first = own.read_mb().expect("VmHWM");
        assert!(first >= 1);
        assert!(own.read_mb().expect("again") >= first, "a peak never falls");
        assert_eq!(vm_hwm_mb(b"Name:\tx\nVmHWM:\t   2049 kB\n"), Some(3));
        assert_eq!(vm_hwm_mb(b"Name:\tx\n"), None);
    }

    #[test]
    fn tails_keep_the_last_four_kilobytes() {
        use base64::Engine;
        let text = format!("{}é{}", "a".repeat(5000), "b".repeat(4095));
        let tail = base64::engine::general_purpose::STANDARD
            .decode(tail_base64(&text))
            .expect("base64");
        assert!(tail.len() <= TAIL_BYTES);
        assert!(String::from_utf8(tail).expect("utf-8").ends_with('b'));
    }
}
