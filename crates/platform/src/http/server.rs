//! The HTTP server: one router for every service, started on a listener the caller owns
//! and stopped by a future the caller owns (so tests run it on `127.0.0.1:0`).
//!
//! Services register themselves ([`Service::routes`]); the edge dispatches JSON-protocol
//! requests by `X-Amz-Target` prefix and merges REST routes, and answers everything no
//! service claims in the protocol the client spoke ([`super::protocol`]).

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::net::TcpListener;

use super::error::ApiError;
use super::json::{JsonService, split_target};
use super::protocol::{Protocol, RequestFacts, WireError};

/// Largest request body accepted at all. Service limits (256 KiB inputs, …) are checked
/// by each operation with its own error; this only bounds memory.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// What one service adds to the port.
#[derive(Default)]
pub struct Routes {
    /// JSON-protocol handlers, each under its own `X-Amz-Target` prefix.
    json: Vec<Arc<dyn JsonService>>,
    /// REST paths (Lambda's, Baton-only paths).
    rest: Option<Router>,
}

impl Routes {
    pub fn new() -> Self {
        Routes::default()
    }

    /// Adds a JSON-protocol service.
    pub fn json(mut self, service: Arc<dyn JsonService>) -> Self {
        self.json.push(service);
        self
    }

    /// Adds REST routes.
    pub fn rest(mut self, routes: Router) -> Self {
        self.rest = Some(match self.rest.take() {
            Some(r) => r.merge(routes),
            None => routes,
        });
        self
    }

    /// Both services' routes together.
    fn merge(self, other: Routes) -> Self {
        let mut merged = match other.rest {
            Some(rest) => self.rest(rest),
            None => self,
        };
        merged.json.extend(other.json);
        merged
    }
}

/// A service the edge serves. The edge knows services only through this trait.
pub trait Service {
    /// Everything the service answers on the port.
    fn routes(&self) -> Routes;
}

/// Everything the server answers.
#[derive(Default)]
pub struct Api {
    /// Every registered service's routes, merged.
    routes: Routes,
    /// When set, every request must be SigV4-signed with one of these keys.
    credentials: Option<Arc<super::sigv4::Credentials>>,
}

impl Api {
    pub fn new() -> Self {
        Api::default()
    }

    /// Serves `service`'s routes.
    pub fn with_service(mut self, service: &dyn Service) -> Self {
        self.routes = self.routes.merge(service.routes());
        self
    }

    /// Requires SigV4 signatures made with `credentials` (none: any signature passes).
    pub fn with_credentials(mut self, credentials: super::sigv4::Credentials) -> Self {
        self.credentials = (!credentials.is_empty()).then(|| Arc::new(credentials));
        self
    }

    /// The axum router (for serving, or for tests that call it directly).
    pub fn router(self) -> Router {
        let services = Arc::new(self.routes.json);
        let base = Router::new()
            .route("/", post(json_protocol).fallback(unserved))
            .route("/health", get(|| async { "ok" }))
            .with_state(services);
        let router = match self.routes.rest {
            Some(rest) => base.merge(rest),
            None => base,
        };
        let router = router
            .fallback(unserved)
            .method_not_allowed_fallback(unserved);
        let router = match self.credentials {
            Some(credentials) => router.layer(axum::middleware::from_fn_with_state(
                credentials,
                super::sigv4::require_signature,
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

/// A request no service claims, answered in the protocol its client spoke, naming the
/// service and operation it asked for.
async fn unserved(request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_REQUEST_BYTES)
        .await
        .unwrap_or_default();
    let facts = RequestFacts::of(
        &parts.method,
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
        &parts.headers,
        &body,
    );
    unserved_error(&facts).render(facts.protocol)
}

/// The error for an operation (or a whole service) Baton does not serve, with the code
/// each protocol's clients expect for an unknown operation.
pub fn unserved_error(facts: &RequestFacts) -> WireError {
    let (status, code) = match facts.protocol {
        Protocol::Json => (StatusCode::BAD_REQUEST, "UnknownOperationException"),
        Protocol::Query => (StatusCode::BAD_REQUEST, "InvalidAction"),
        Protocol::RestJson => (StatusCode::NOT_FOUND, "UnknownOperationException"),
        Protocol::RestXml => (StatusCode::NOT_IMPLEMENTED, "NotImplemented"),
    };
    WireError {
        status,
        code: code.to_owned(),
        message: ApiError::unknown_operation(&facts.service, &facts.operation).message,
        sender_fault: true,
    }
}

async fn json_protocol(
    State(services): State<Arc<Vec<Arc<dyn JsonService>>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) else {
        let facts = RequestFacts::of(
            &method,
            uri.path(),
            uri.query().unwrap_or(""),
            &headers,
            &body,
        );
        // `POST /` without a target: a Query action or an S3 call is answered in its own
        // protocol; anything else is taken for a JSON client that left the header out.
        return match facts.protocol {
            Protocol::Query | Protocol::RestXml => unserved_error(&facts).render(facts.protocol),
            Protocol::Json | Protocol::RestJson => {
                ApiError::client("MissingAction", "Missing X-Amz-Target header").into_response()
            }
        };
    };
    let Some((prefix, operation)) = split_target(target) else {
        return ApiError::client(
            "UnknownOperationException",
            format!("Unknown operation {target}"),
        )
        .into_response();
    };
    let Some(service) = services.iter().find(|s| s.target_prefix() == prefix) else {
        let facts = RequestFacts::of(&method, "/", "", &headers, &body);
        return ApiError::unknown_operation(&facts.service, operation).into_response();
    };
    json_call(service.as_ref(), operation, &body).await
}

async fn json_call(service: &dyn JsonService, operation: &str, body: &Bytes) -> Response {
    let request: Value = if body.is_empty() {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice(body) {
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

    struct EchoService;

    impl Service for EchoService {
        fn routes(&self) -> Routes {
            Routes::new().json(Arc::new(Echo))
        }
    }

    async fn start() -> (String, tokio::sync::oneshot::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let api = Api::new().with_service(&EchoService);
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

    #[tokio::test]
    async fn what_no_service_serves_is_refused_in_the_clients_protocol() {
        let (url, _stop) = start().await;
        let client = reqwest::Client::new();
        let scope = |service: &str| {
            format!(
                "AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=00"
            )
        };

        // Query (a form with an Action): XML, InvalidAction, naming service and action.
        let r = client
            .post(&url)
            .header("authorization", scope("cloudformation"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("Action=ListStacks&Version=2010-05-15")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()["content-type"], "text/xml");
        let text = r.text().await.unwrap();
        assert!(
            text.starts_with("<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>Baton does not serve the operation ListStacks of cloudformation</Message></Error><RequestId>"),
            "{text}"
        );

        // `POST /` with neither a target nor an action: a JSON client without its header.
        let r = client.post(&url).body("{}").send().await.unwrap();
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["__type"], "MissingAction");

        // JSON with a prefix nobody registered: names the signing service.
        let r = client
            .post(&url)
            .header("authorization", scope("dynamodb"))
            .header("x-amz-target", "DynamoDB_20120810.ListTables")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["__type"], "UnknownOperationException");
        assert_eq!(
            v["message"],
            "Baton does not serve the operation ListTables of dynamodb"
        );

        // REST-XML (S3), on `/` with another method and on any other path.
        for (method, path) in [(reqwest::Method::GET, ""), (reqwest::Method::PUT, "bucket")] {
            let r = client
                .request(method, format!("{url}{path}"))
                .header("authorization", scope("s3"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 501, "{path}");
            let text = r.text().await.unwrap();
            assert!(
                text.contains("<Error><Code>NotImplemented</Code>"),
                "{text}"
            );
            assert!(text.contains(" of s3</Message>"), "{text}");
        }

        // REST-JSON: the error type in `x-amzn-errortype`, the message in the body.
        let r = client
            .get(format!("{url}restapis"))
            .header("authorization", scope("apigateway"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()["x-amzn-errortype"], "UnknownOperationException");
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            v["message"],
            "Baton does not serve the operation GET /restapis of apigateway"
        );
    }
}
