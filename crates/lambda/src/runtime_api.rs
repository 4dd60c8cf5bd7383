//! The Lambda Runtime API endpoint of one environment: `/next` hands the runtime the
//! waiting invocation, `/response` and `/error` complete it, `/init/error` fails it.
//!
//! Why hyper's HTTP/1.1 connection directly rather than an axum router: the endpoint has
//! four fixed routes and a single client, and every warm invoke crosses it twice (the
//! event out, the answer back), so routing is a `match` on the path and the body goes
//! through no extractor layers. Connections get `TCP_NODELAY`: a runtime's request
//! follows Baton's response on the same keep-alive connection, and Nagle's algorithm
//! must never hold a small segment back waiting for an acknowledgement.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::environment::{MAX_RESPONSE_BYTES, RuntimeAnswer, Shared};

/// Largest body read from a runtime; anything bigger is a too-large response.
const MAX_BODY_BYTES: usize = MAX_RESPONSE_BYTES * 2;
const PREFIX: &str = "/2018-06-01/runtime/";

type Reply = Response<Full<Bytes>>;

/// Accepts the runtime's connections until the task is aborted (the process is gone).
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors, say: wait a little rather than spin.
                tracing::debug!(error = %e, "functions: Runtime API accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(route(&shared, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// What a request asks for, from its method and path.
enum Route {
    Next,
    Response(String),
    Error(String),
    InitError,
    MethodNotAllowed(&'static str),
    NotFound,
}

fn route_of(method: &Method, path: &str) -> Route {
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Route::NotFound;
    };
    let expect = |wanted: Method, allow: &'static str, route: Route| {
        if *method == wanted {
            route
        } else {
            Route::MethodNotAllowed(allow)
        }
    };
    if rest == "invocation/next" {
        return expect(Method::GET, "GET,HEAD", Route::Next);
    }
    if rest == "init/error" {
        return expect(Method::POST, "POST", Route::InitError);
    }
    let Some(rest) = rest.strip_prefix("invocation/") else {
        return Route::NotFound;
    };
    match rest.rsplit_once('/') {
        Some((id, "response")) if !id.is_empty() && !id.contains('/') => {
            expect(Method::POST, "POST", Route::Response(percent_decode(id)))
        }
        Some((id, "error")) if !id.is_empty() && !id.contains('/') => {
            expect(Method::POST, "POST", Route::Error(percent_decode(id)))
        }
        _ => Route::NotFound,
    }
}

async fn route(shared: &Shared, req: Request<Incoming>) -> Reply {
    let route = route_of(req.method(), req.uri().path());
    match route {
        // HEAD is answered like GET without taking an invocation.
        Route::Next if req.method() == Method::HEAD => plain(StatusCode::OK, Bytes::new()),
        Route::Next => next(shared).await,
        Route::NotFound => plain(StatusCode::NOT_FOUND, Bytes::new()),
        Route::MethodNotAllowed(allow) => {
            let mut reply = plain(StatusCode::METHOD_NOT_ALLOWED, Bytes::new());
            reply
                .headers_mut()
                .insert(hyper::header::ALLOW, HeaderValue::from_static(allow));
            reply
        }
        Route::Response(id) => {
            let (_, body) = match read_body(req).await {
                Ok(read) => read,
                Err(reply) => return too_large(shared, &id, reply),
            };
            response(shared, &id, body)
        }
        Route::Error(id) => {
            let (parts, body) = match read_body(req).await {
                Ok(read) => read,
                Err(reply) => return too_large(shared, &id, reply),
            };
            let error_type = error_type_of(&parts.headers, &body);
            if shared.complete(&id, RuntimeAnswer::Error { error_type, body }) {
                accepted()
            } else {
                invalid_request_id()
            }
        }
        Route::InitError => match read_body(req).await {
            Ok((parts, body)) => {
                let error_type = error_type_of(&parts.headers, &body);
                shared.init_error(error_type, body);
                accepted()
            }
            Err(reply) => reply,
        },
    }
}

/// The request's head and whole body (at most [`MAX_BODY_BYTES`]).
async fn read_body(req: Request<Incoming>) -> Result<(Parts, Bytes), Reply> {
    let (parts, body) = req.into_parts();
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok((parts, collected.to_bytes())),
        Err(e) => {
            let status = if e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            Err(plain(status, Bytes::from(e.to_string())))
        }
    }
}

/// A body too large to read (or cut off) for the running invocation: it fails as too
/// large, as one just over Lambda's limit does.
fn too_large(shared: &Shared, request_id: &str, reply: Reply) -> Reply {
    if reply.status() == StatusCode::PAYLOAD_TOO_LARGE {
        shared.complete(request_id, RuntimeAnswer::TooLarge);
        return too_large_reply();
    }
    reply
}

fn too_large_reply() -> Reply {
    runtime_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLarge",
        &format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
    )
}

fn plain(status: StatusCode, body: Bytes) -> Reply {
    let mut reply = Response::new(Full::new(body));
    *reply.status_mut() = status;
    reply
}

fn runtime_error(status: StatusCode, error_type: &str, message: &str) -> Reply {
    let body = serde_json::json!({"errorMessage": message, "errorType": error_type});
    let mut reply = plain(status, Bytes::from(body.to_string()));
    reply
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    reply
}

fn accepted() -> Reply {
    let mut reply = plain(
        StatusCode::ACCEPTED,
        Bytes::from_static(br#"{"status":"OK"}"#),
    );
    reply
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    reply
}

fn invalid_request_id() -> Reply {
    runtime_error(
        StatusCode::BAD_REQUEST,
        "InvalidRequestID",
        "Invalid request ID",
    )
}

async fn next(shared: &Shared) -> Reply {
    let _ = shared.ready_at.set(Instant::now());
    let Some(inv) = shared.take_next().await else {
        return runtime_error(
            StatusCode::GONE,
            "Runtime.Shutdown",
            "the environment is shutting down",
        );
    };
    let deadline = chrono::Utc::now().timestamp_millis()
        + i64::try_from(shared.timeout.as_millis()).unwrap_or(i64::MAX / 2);
    let mut reply = plain(StatusCode::OK, inv.payload);
    let headers = reply.headers_mut();
    let mut put = |name: &'static str, value: HeaderValue| {
        headers.insert(HeaderName::from_static(name), value);
    };
    if let Ok(v) = HeaderValue::from_str(&inv.request_id) {
        put("lambda-runtime-aws-request-id", v);
    }
    put("lambda-runtime-deadline-ms", HeaderValue::from(deadline));
    put(
        "lambda-runtime-invoked-function-arn",
        shared.function_arn_header.clone(),
    );
    if let Ok(v) = HeaderValue::from_str(&inv.trace_id) {
        put("lambda-runtime-trace-id", v);
    }
    put("content-type", HeaderValue::from_static("application/json"));
    if let Some(cc) = &inv.client_context
        && let Ok(v) = HeaderValue::from_str(cc)
    {
        put("lambda-runtime-client-context", v);
    }
    reply
}

fn response(shared: &Shared, request_id: &str, body: Bytes) -> Reply {
    if body.len() > MAX_RESPONSE_BYTES {
        shared.complete(request_id, RuntimeAnswer::TooLarge);
        return too_large_reply();
    }
    if shared.complete(request_id, RuntimeAnswer::Response(body)) {
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

/// Decodes `%XX` escapes in a path segment (a request id a client escaped); invalid
/// escapes and non-UTF-8 results are kept as they came.
fn percent_decode(segment: &str) -> String {
    if !segment.contains('%') {
        return segment.to_owned();
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| segment.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_of(route: Route) -> Option<String> {
        match route {
            Route::Response(id) | Route::Error(id) => Some(id),
            _ => None,
        }
    }

    #[test]
    fn routes_follow_the_runtime_api_paths() {
        let p = |m: Method, path: &str| route_of(&m, path);
        assert!(matches!(
            p(Method::GET, "/2018-06-01/runtime/invocation/next"),
            Route::Next
        ));
        assert!(matches!(
            p(Method::POST, "/2018-06-01/runtime/invocation/next"),
            Route::MethodNotAllowed(_)
        ));
        assert!(matches!(
            p(Method::POST, "/2018-06-01/runtime/init/error"),
            Route::InitError
        ));
        assert_eq!(
            id_of(p(
                Method::POST,
                "/2018-06-01/runtime/invocation/abc-1/response"
            )),
            Some("abc-1".into())
        );
        assert_eq!(
            id_of(p(
                Method::POST,
                "/2018-06-01/runtime/invocation/r%3Aon-failure/error"
            )),
            Some("r:on-failure".into())
        );
        assert!(matches!(
            p(Method::GET, "/2018-06-01/runtime/invocation/abc/response"),
            Route::MethodNotAllowed("POST")
        ));
        for path in [
            "/2018-06-01/runtime/invocation//response",
            "/2018-06-01/runtime/invocation/a/b/response",
            "/2018-06-01/runtime/invocation/abc/other",
            "/2018-06-01/runtime/other",
            "/other",
        ] {
            assert!(matches!(p(Method::POST, path), Route::NotFound), "{path}");
        }
    }

    #[test]
    fn percent_decoding_keeps_what_it_cannot_decode() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("a%zzb"), "a%zzb");
        assert_eq!(percent_decode("%ff"), "%ff");
        assert_eq!(percent_decode("plain"), "plain");
    }
}
