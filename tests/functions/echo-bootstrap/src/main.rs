//! The smallest Lambda runtime: speaks the Runtime API over one keep-alive HTTP/1.1
//! connection and returns each event as its response. With nothing else in the way, a
//! benchmark's warm invoke time is Baton's own path plus two loopback hops.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

/// Reads one HTTP/1.1 response: its status, the request id header (if any) and the
/// body (`Content-Length` framed, which is what Baton's Runtime API sends).
fn read_response(reader: &mut BufReader<TcpStream>) -> std::io::Result<(u16, String, Vec<u8>)> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line: {line:?}")))?;
    let mut length = 0usize;
    let mut request_id = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().map_err(std::io::Error::other)?;
            } else if name.eq_ignore_ascii_case("lambda-runtime-aws-request-id") {
                request_id = value.to_owned();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(std::io::Error::other("chunked responses are not supported"));
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok((status, request_id, body))
}

fn main() -> std::io::Result<()> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(std::io::Error::other)?;
    let stream = TcpStream::connect(&api)?;
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let next = format!("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: {api}\r\n\r\n");
    let mut out = Vec::with_capacity(4096);
    loop {
        writer.write_all(next.as_bytes())?;
        let (status, request_id, event) = read_response(&mut reader)?;
        if status != 200 {
            // The environment is shutting down.
            return Ok(());
        }
        out.clear();
        write!(
            out,
            "POST /2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\r\nHost: {api}\r\nContent-Length: {}\r\n\r\n",
            event.len()
        )?;
        out.extend_from_slice(&event);
        writer.write_all(&out)?;
        read_response(&mut reader)?;
    }
}
