//! What the functions tests share: the Rust probe function (built once with the real
//! `lambda_runtime` crate), zip packages, a virtualenv with `awslambdaric` from PyPI, and
//! a few calls to Baton's own `/baton/functions…` paths.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::server::Server;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The probe's `bootstrap` binary (tests/functions/rust-probe), built on first use in
/// release mode under `target/test-functions`.
pub fn probe_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let target = workspace_root().join("target/test-functions");
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--release",
                "--locked",
                "--quiet",
                "--manifest-path",
            ])
            .arg(workspace_root().join("tests/functions/rust-probe/Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .unwrap_or_else(|e| panic!("building the probe function: {e}"));
        assert!(status.success(), "building the probe function failed");
        target.join("release/bootstrap")
    })
}

/// A zip package of `(name, bytes, unix mode)` entries.
pub fn zip_of(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data, mode) in files {
        let opts = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
        w.start_file(*name, opts)
            .unwrap_or_else(|e| panic!("zip {name}: {e}"));
        w.write_all(data)
            .unwrap_or_else(|e| panic!("zip {name}: {e}"));
    }
    w.finish()
        .unwrap_or_else(|e| panic!("zip: {e}"))
        .into_inner()
}

/// The probe packaged as a `provided` function, written to `dir/probe.zip`.
pub fn probe_zip(dir: &Path) -> PathBuf {
    let bin = std::fs::read(probe_binary()).unwrap_or_else(|e| panic!("reading the probe: {e}"));
    let zip = zip_of(&[("bootstrap", &bin, 0o755)]);
    let path = dir.join("probe.zip");
    std::fs::write(&path, zip).unwrap_or_else(|e| panic!("writing probe.zip: {e}"));
    path
}

/// A virtualenv with `awslambdaric` from PyPI, or `None` when it does not install here.
pub fn ric_venv() -> Option<&'static Path> {
    static VENV: OnceLock<Option<PathBuf>> = OnceLock::new();
    VENV.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ric-venv");
        if dir.join(".complete").exists() {
            return Some(dir);
        }
        let ok = Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(dir.join("bin/pip"))
                .args(["install", "--quiet", "awslambdaric"])
                .status()
                .is_ok_and(|s| s.success());
        if !ok {
            return None;
        }
        std::fs::write(dir.join(".complete"), "").ok()?;
        Some(dir)
    })
    .as_deref()
}

/// Runs the aws CLI and parses its JSON output; panics with stderr on failure.
pub fn aws_json(server: &Server, args: &[&str]) -> Value {
    let out = server.aws(args);
    assert!(
        out.status.success(),
        "aws {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        return Value::Null;
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("aws {args:?}: {e}: {text}"))
}

/// Invokes through the aws CLI; returns (the CLI's JSON answer, the payload text).
pub fn aws_invoke(
    server: &Server,
    dir: &Path,
    function: &str,
    payload: &str,
    extra: &[&str],
) -> (Value, String) {
    let out_file = dir.join(format!("out-{}.json", uuid_like()));
    let out_path = out_file.to_string_lossy().into_owned();
    let mut args = vec![
        "lambda",
        "invoke",
        "--function-name",
        function,
        "--payload",
        payload,
    ];
    args.extend_from_slice(extra);
    args.push(&out_path);
    let meta = aws_json(server, &args);
    let body = std::fs::read_to_string(&out_file).unwrap_or_default();
    (meta, body)
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// GETs one of Baton's own paths with Python's standard library (no extra HTTP client).
pub fn baton_get(server: &Server, path: &str) -> Value {
    let script = format!(
        "import os, urllib.request\nprint(urllib.request.urlopen(os.environ['ENDPOINT'] + {path:?}).read().decode())"
    );
    let out = server.python(&script);
    assert!(out.status.success(), "GET {path}: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// Polls `check` until it returns `Some`, or panics after `limit`.
pub fn eventually<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Decodes the CLI's `LogResult` (base64).
pub fn log_result(meta: &Value) -> String {
    let b64 = meta["LogResult"].as_str().unwrap_or_default();
    let script_free = base64_decode(b64);
    String::from_utf8_lossy(&script_free).into_owned()
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else {
            continue;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// The role the end-to-end tests give their functions.
pub const PROBE_ROLE: &str = "arn:aws:iam::123456789012:role/lambda";

/// Creates a `provided.al2023` function `name` from the probe with the `aws` CLI, with
/// `extra` create-function arguments; returns the CLI's answer.
pub fn create_probe(server: &Server, dir: &Path, name: &str, extra: &[&str]) -> Value {
    let zip = format!("fileb://{}", probe_zip(dir).display());
    let mut args = vec![
        "lambda",
        "create-function",
        "--function-name",
        name,
        "--runtime",
        "provided.al2023",
        "--role",
        PROBE_ROLE,
        "--handler",
        "bootstrap",
        "--zip-file",
        &zip,
    ];
    args.extend_from_slice(extra);
    aws_json(server, &args)
}
