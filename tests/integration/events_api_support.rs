//! Support for the EventBridge end-to-end tests: a real HTTP endpoint (std threads, no
//! framework) that API destinations deliver to, and helpers to set one up through the
//! real `aws` CLI.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::server::Server;

/// One request the endpoint received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// Path with query string.
    pub path: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// An HTTP endpoint on a free loopback port. Answers 200 unless statuses are queued;
/// `/token` answers an OAuth client-credentials token.
#[derive(Clone)]
pub struct Endpoint {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

impl Endpoint {
    pub fn start() -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let url = format!(
            "http://{}",
            listener
                .local_addr()
                .unwrap_or_else(|e| panic!("local addr: {e}"))
        );
        let endpoint = Endpoint {
            url,
            received: Arc::default(),
            statuses: Arc::default(),
        };
        let me = endpoint.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let me = me.clone();
                std::thread::spawn(move || me.handle(stream));
            }
        });
        endpoint
    }

    fn handle(&self, stream: std::net::TcpStream) {
        let Ok(clone) = stream.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(clone);
        let mut writer = stream;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.trim_end().split(' ');
        let method = parts.next().unwrap_or("").to_owned();
        let path = parts.next().unwrap_or("").to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (status, answer) = if path.starts_with("/token") {
            (
                200,
                r#"{"access_token":"tok-e2e","expires_in":3600}"#.to_owned(),
            )
        } else {
            let status = self
                .statuses
                .lock()
                .map(|mut s| s.pop_front().unwrap_or(200))
                .unwrap_or(200);
            (status, "{}".to_owned())
        };
        if let Ok(mut r) = self.received.lock() {
            r.push(Received {
                method,
                path,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        let _ = write!(
            writer,
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
            answer.len()
        );
    }

    /// Answers the next requests with these statuses.
    pub fn answer_next(&self, statuses: &[u16]) {
        if let Ok(mut s) = self.statuses.lock() {
            s.extend(statuses);
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Requests other than token requests, waiting until `pred` holds (or `timeout`).
    pub fn wait_until(
        &self,
        timeout: Duration,
        pred: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got: Vec<Received> = self
                .received()
                .into_iter()
                .filter(|r| !r.path.starts_with("/token"))
                .collect();
            if pred(&got) || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

/// Runs the `aws` CLI and parses its JSON output; panics with stderr on failure.
pub fn aws_ok(server: &Server, args: &[&str]) -> Value {
    let out = server.aws(args);
    assert!(
        out.status.success(),
        "aws {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("aws {args:?}: {e}: {text}"))
    }
}

/// Runs the `aws` CLI expecting an error; returns (error code, message) from stderr
/// (`An error occurred (Code) when calling the Op operation: message`).
pub fn aws_err(server: &Server, args: &[&str]) -> (String, String) {
    let out = server.aws(args);
    assert!(!out.status.success(), "aws {args:?} should have failed");
    let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    let code = err
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(c, _)| c.to_owned())
        .unwrap_or_else(|| panic!("no error code in {err:?}"));
    let message = err
        .split_once(" operation")
        .and_then(|(_, rest)| rest.split_once(": "))
        .map(|(_, m)| m.to_owned())
        .unwrap_or_default();
    (code, message)
}

/// Runs a boto3 script; panics with its stderr on failure; returns stdout parsed as JSON.
pub fn python_json(server: &Server, script: &str) -> Value {
    let out = server.python(script);
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Creates an API-key connection and an API destination to `endpoint` (path `/hook`),
/// returning the destination ARN.
pub fn api_destination(server: &Server, endpoint: &Endpoint, name: &str) -> String {
    let conn = aws_ok(
        server,
        &[
            "events",
            "create-connection",
            "--name",
            &format!("{name}-conn"),
            "--authorization-type",
            "API_KEY",
            "--auth-parameters",
            r#"{"ApiKeyAuthParameters":{"ApiKeyName":"x-api-key","ApiKeyValue":"secret-key"}}"#,
        ],
    );
    let conn_arn = conn["ConnectionArn"]
        .as_str()
        .unwrap_or_else(|| panic!("no ConnectionArn: {conn}"))
        .to_owned();
    // Through --cli-input-json: the CLI would fetch an `http://…` argument's content.
    let input = serde_json::json!({
        "Name": name,
        "ConnectionArn": conn_arn,
        "InvocationEndpoint": format!("{}/hook", endpoint.url),
        "HttpMethod": "POST",
    })
    .to_string();
    let dest = aws_ok(
        server,
        &[
            "events",
            "create-api-destination",
            "--cli-input-json",
            &input,
        ],
    );
    dest["ApiDestinationArn"]
        .as_str()
        .unwrap_or_else(|| panic!("no ApiDestinationArn: {dest}"))
        .to_owned()
}
