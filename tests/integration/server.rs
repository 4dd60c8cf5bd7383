//! Support for end-to-end tests against a real `baton serve` process, driven by the real
//! `aws` CLI and boto3 (installed from PyPI into a virtualenv under `target/`, once).

#![allow(dead_code)] // Helpers are used by whichever server tests are compiled in.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

/// A `--store` URL on a fresh PostgreSQL schema when the suites are asked to run on
/// PostgreSQL (`BATON_TEST_SERVER_STORE=postgres`).
fn postgres_store_for_servers() -> Option<String> {
    if std::env::var("BATON_TEST_SERVER_STORE").ok()?.as_str() != "postgres" {
        return None;
    }
    let Some(store) = fresh_postgres_store("e2e") else {
        panic!("BATON_TEST_SERVER_STORE=postgres needs BATON_TEST_POSTGRES_URL");
    };
    Some(store)
}

/// A `--store` URL on a fresh schema, or `None` (after saying why) without PostgreSQL.
pub(crate) fn fresh_postgres_store(test: &str) -> Option<String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"))
        .block_on(baton_platform::store::testing::fresh_schema_url(test))
}

/// A running `baton serve` on a free loopback port with its own data directory.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    data_dir: PathBuf,
    extra_args: Vec<String>,
    /// Keeps the directory alive for the server's lifetime.
    _tmp: Option<tempfile::TempDir>,
}

impl Server {
    /// Starts a server on a fresh data directory.
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// With `BATON_TEST_SERVER_STORE=postgres` (and `BATON_TEST_POSTGRES_URL`), a server
    /// not given a `--store` runs on a fresh PostgreSQL schema instead of SQLite, so the
    /// same end-to-end suites check both backends. It is then one node among possible
    /// peers: leases are short so a restart after `kill -9` takes its work back quickly.
    pub fn start_with(extra_args: &[&str]) -> Server {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let mut extra_args: Vec<String> = extra_args.iter().map(|s| s.to_string()).collect();
        if !extra_args.iter().any(|a| a == "--store")
            && let Some(store) = postgres_store_for_servers()
        {
            extra_args.extend(["--store".into(), store]);
            if !extra_args.iter().any(|a| a == "--lease-seconds") {
                extra_args.extend(["--lease-seconds".into(), "2".into()]);
            }
        }
        let mut s = Server {
            child: None,
            url: String::new(),
            data_dir: tmp.path().to_path_buf(),
            extra_args,
            _tmp: Some(tmp),
        };
        s.spawn(0);
        s
    }

    /// Starts (again) on `port` (0 = any) with the same data directory.
    fn spawn(&mut self, port: u16) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
            .arg("serve")
            .arg("--port")
            .arg(port.to_string())
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting baton serve: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let mut line = String::new();
        let mut reader = BufReader::new(stdout);
        reader
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("reading the server's address: {e}"));
        let url = line
            .trim()
            .strip_prefix("baton listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from baton serve: {line:?}"))
            .to_owned();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                sink.clear();
            }
        });
        self.url = url;
        self.child = Some(child);
    }

    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// SIGKILL: no shutdown code runs, as in a crash.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Kills the server and starts it again on the same port and data directory.
    pub fn crash_and_restart(&mut self) {
        let port = self.port();
        self.kill9();
        self.spawn(port);
    }

    /// Runs the `aws` CLI against this server; `args` start with the service name.
    pub fn aws(&self, args: &[&str]) -> Output {
        Command::new(venv().join("bin/aws"))
            .args(["--endpoint-url", &self.url, "--output", "json"])
            .args(args)
            .envs(aws_env())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running aws: {e}"))
    }

    /// Runs a Python script with boto3 available; `ENDPOINT` holds the server's URL.
    pub fn python(&self, script: &str) -> Output {
        Command::new(venv().join("bin/python"))
            .arg("-c")
            .arg(script)
            .env("ENDPOINT", &self.url)
            .envs(aws_env())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running python: {e}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn aws_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_PAGER", ""),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ]
}

/// The virtualenv with the `aws` CLI and boto3, created on first use under `target/`
/// (`BATON_TEST_VENV` names another one).
pub fn venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        if let Some(dir) = std::env::var_os("BATON_TEST_VENV") {
            return PathBuf::from(dir);
        }
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("aws-venv");
        if dir.join("bin/aws").exists() && dir.join(".complete").exists() {
            return dir;
        }
        let status = Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&dir)
            .status()
            .unwrap_or_else(|e| panic!("python3 -m venv: {e}"));
        assert!(status.success(), "creating the test virtualenv failed");
        let status = Command::new(dir.join("bin/pip"))
            .args(["install", "--quiet", "awscli", "boto3"])
            .status()
            .unwrap_or_else(|e| panic!("pip install: {e}"));
        assert!(
            status.success(),
            "installing awscli and boto3 from PyPI failed"
        );
        std::fs::write(dir.join(".complete"), "")
            .unwrap_or_else(|e| panic!("marking the virtualenv complete: {e}"));
        dir
    })
}
