//! The HTTP server: one router for every API, started on a listener the caller owns
//! and stopped by a future the caller owns (so tests run it on `127.0.0.1:0`).

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::net::TcpListener;

use crate::error::ApiError;
use crate::json_protocol::{JsonService, split_target};

/// Largest request body accepted at all. Service limits (256 KiB inputs, …) are checked
/// by each operation with its own error; this only bounds memory.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// Everything the server answers.
#[derive(Clone, Default)]
pub struct Api {
    /// The JSON-protocol services, looked up by `X-Amz-Target` prefix.
    json_services: Vec<Arc<dyn JsonService>>,
    /// Extra routes (Lambda's REST paths, the Lambda Runtime API, the console).
    extra: Option<Router>,
    /// When set, every request must be SigV4-signed with one of these keys.
    credentials: Option<Arc<crate::sigv4::Credentials>>,
}

impl Api {
    pub fn new() -> Self {
        Api::default()
    }

    pub fn with_json_service(mut self, service: Arc<dyn JsonService>) -> Self {
        self.json_services.push(service);
        self
    }

    pub fn with_routes(mut self, routes: Router) -> Self {
        self.extra = Some(match self.extra.take() {
            Some(r) => r.merge(routes),
            None => routes,
        });
        self
    }

    /// Requires SigV4 signatures made with `credentials` (none: any signature passes).
    pub fn with_credentials(mut self, credentials: crate::sigv4::Credentials) -> Self {
        self.credentials = (!credentials.is_empty()).then(|| Arc::new(credentials));
        self
    }

    /// The axum router (for serving, or for tests that call it directly).
    pub fn router(self) -> Router {
        let services = Arc::new(self.json_services);
        let base = Router::new()
            .route("/", post(json_protocol))
            .route("/health", get(|| async { "ok" }))
            .with_state(services);
        let router = match self.extra {
            Some(extra) => base.merge(extra),
            None => base,
        };
        let router = match self.credentials {
            Some(credentials) => router.layer(axum::middleware::from_fn_with_state(
                credentials,
                crate::sigv4::require_signature,
            )),
            None => router,
        };
        router.layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_REQUEST_BYTES,
        ))
    }
}

/// Serves `api` on `listener` until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    api: Api,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, api.router())
        .with_graceful_shutdown(shutdown)
        .await
}

async fn json_protocol(
    State(services): State<Arc<Vec<Arc<dyn JsonService>>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) else {
        return ApiError::client("MissingAction", "Missing X-Amz-Target header").into_response();
    };
    let Some((prefix, operation)) = split_target(target) else {
        return ApiError::client(
            "UnknownOperationException",
            format!("Unknown operation {target}"),
        )
        .into_response();
    };
    let Some(service) = services.iter().find(|s| s.target_prefix() == prefix) else {
        return ApiError::client(
            "UnknownOperationException",
            format!("Unknown operation {target}"),
        )
        .into_response();
    };
    let request: Value = if body.is_empty() {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice(&body) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                return ApiError::serialization("The request body must be a JSON object")
                    .into_response();
            }
            Err(e) => {
                return ApiError::serialization(format!("Malformed request body: {e}"))
                    .into_response();
            }
        }
    };
    match service.call(operation, request).await {
        Ok(value) => {
            let mut response = value.to_string().into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(service.content_type()),
            );
            response
        }
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use serde_json::json;

    struct Echo;

    #[async_trait]
    impl JsonService for Echo {
        fn target_prefix(&self) -> &'static str {
            "Echo"
        }
        async fn call(&self, operation: &str, body: Value) -> Result<Value, ApiError> {
            match operation {
                "Say" => Ok(json!({"said": body})),
                other => Err(ApiError::client(
                    "UnknownOperationException",
                    format!("no {other}"),
                )),
            }
        }
    }

    async fn start() -> (String, tokio::sync::oneshot::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let api = Api::new().with_json_service(Arc::new(Echo));
        tokio::spawn(serve(listener, api, async {
            let _ = stopped.await;
        }));
        (format!("http://{addr}/"), stop)
    }

    #[tokio::test]
    async fn dispatches_by_target_and_shapes_errors_like_aws() {
        let (url, _stop) = start().await;
        let client = reqwest::Client::new();
        let ok: Value = client
            .post(&url)
            .header("x-amz-target", "Echo.Say")
            .body(r#"{"a": 1}"#)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ok, json!({"said": {"a": 1}}));

        for (target, body, code) in [
            ("Echo.Nope", "{}", "UnknownOperationException"),
            ("Other.Say", "{}", "UnknownOperationException"),
            ("Echo.Say", "{not json", "SerializationException"),
            ("Echo.Say", "[1]", "SerializationException"),
        ] {
            let r = client
                .post(&url)
                .header("x-amz-target", target)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 400);
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["__type"], code, "{target} {body}");
            assert!(v["message"].is_string());
        }
    }
}
