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

/// What the environment tells its log task.
pub enum LogCommand {
    Begin {
        request_id: String,
        started_ms: i64,
    },
    End {
        request_id: String,
        report: Report,
        /// Gets the finished log text (for `LogType: Tail`).
        reply: Option<oneshot::Sender<String>>,
    },
}

/// Starts the log task for one environment's pipes.
pub fn spawn_log_task(
    function: String,
    pid: Option<u32>,
    stdout: Option<pipe::Receiver>,
    stderr: Option<pipe::Receiver>,
    book: Arc<LogBook>,
) -> mpsc::UnboundedSender<LogCommand> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(log_task(function, pid, stdout, stderr, book, rx));
    tx
}

struct Stream {
    pipe: Option<pipe::Receiver>,
    partial: Vec<u8>,
}

impl Stream {
    /// Reads what is available now; returns false once the pipe is closed.
    fn drain(&mut self, out: &mut String) -> bool {
        let mut buf = [0u8; 16 * 1024];
        loop {
            let Some(p) = &self.pipe else { return false };
            match p.try_read(&mut buf) {
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

async fn log_task(
    function: String,
    pid: Option<u32>,
    stdout: Option<pipe::Receiver>,
    stderr: Option<pipe::Receiver>,
    book: Arc<LogBook>,
    mut commands: mpsc::UnboundedReceiver<LogCommand>,
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
    // Lines before the first START (the init phase) open the first invocation's log.
    let mut current = String::new();
    let mut current_id: Option<(String, i64)> = None;
    loop {
        tokio::select! {
            biased;
            command = commands.recv() => {
                let Some(command) = command else { break };
                match command {
                    LogCommand::Begin { request_id, started_ms } => {
                        for s in &mut streams {
                            s.drain(&mut current);
                        }
                        let init = std::mem::take(&mut current);
                        current.push_str(&init);
                        current.push_str(&format!("START RequestId: {request_id} Version: $LATEST\n"));
                        current_id = Some((request_id, started_ms));
                    }
                    LogCommand::End { request_id, report, reply } => {
                        for s in &mut streams {
                            s.drain(&mut current);
                        }
                        let max_used = pid.and_then(max_memory_used_mb);
                        current.push_str(&format!("END RequestId: {request_id}\n"));
                        current.push_str(&report_line(&request_id, &report, max_used));
                        if let Some(t) = &report.trailer {
                            current.push_str(t);
                            current.push('\n');
                        }
                        let text = std::mem::take(&mut current);
                        let started_ms = current_id.take().map(|(_, t)| t).unwrap_or_default();
                        if let Some(reply) = reply {
                            let _ = reply.send(text.clone());
                        }
                        book.push(&function, InvocationLog { request_id, started_ms, text });
                    }
                }
            }
            () = streams[0].readable() => {
                let [a, _] = &mut streams;
                a.drain(&mut current);
            }
            () = streams[1].readable() => {
                let [_, b] = &mut streams;
                b.drain(&mut current);
            }
        }
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

/// The process's peak resident set (`VmHWM`), in MB, from procfs.
fn max_memory_used_mb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
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
