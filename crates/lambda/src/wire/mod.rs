//! The Lambda API on Baton's port: REST paths under `/2015-03-31/functions…` (and the
//! dated paths of the concurrency and event-invoke operations), plus a few Baton-only
//! paths under `/baton/functions/…` for code download, logs and failed `Event`
//! invocations.
//!
//! Errors follow Lambda's REST shape, not the JSON protocol's: an `x-amzn-ErrorType`
//! header and a `{"Type": "User", "message": …}` body, with the status each error has
//! in the service model (404 not found, 409 conflict, 429 throttled, …).

mod event_sources;
pub mod shapes;

use crate::{Functions, FunctionsError, InvokeOutcome, InvokeRequest};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine;
use baton_platform::http::{Routes, Service};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use shapes::{
    ConcurrencyShape, CreateFunctionShape, EventInvokeConfigShape, UpdateCodeShape,
    UpdateConfigShape,
};

/// Largest Lambda request body accepted (a base64 zip upload; Lambda's own limit is
/// higher, the server's overall body limit applies first).
const MAX_BODY_BYTES: usize = 70 * 1024 * 1024;

/// Lambda on the edge: the function routes, and the event source mapping routes once
/// mappings are attached (benchmarks of invocation alone run without them).
pub struct LambdaApi {
    functions: Functions,
    mappings: Option<crate::event_sources::EventSourceMappings>,
}

impl LambdaApi {
    pub fn new(functions: Functions) -> Self {
        LambdaApi {
            functions,
            mappings: None,
        }
    }

    /// Serves the event source mapping operations too.
    pub fn with_event_source_mappings(
        mut self,
        mappings: crate::event_sources::EventSourceMappings,
    ) -> Self {
        self.mappings = Some(mappings);
        self
    }
}

impl Service for LambdaApi {
    fn routes(&self) -> Routes {
        let routes = Routes::new().rest(routes(self.functions.clone()));
        match &self.mappings {
            Some(mappings) => routes.rest(event_sources::routes(
                self.functions.clone(),
                mappings.clone(),
            )),
            None => routes,
        }
    }
}

/// The function routes.
fn routes(functions: Functions) -> Router {
    Router::new()
        .route(
            "/2015-03-31/functions",
            post(create_function).get(list_functions),
        )
        .route(
            "/2015-03-31/functions/",
            post(create_function).get(list_functions),
        )
        .route(
            "/2015-03-31/functions/{name}",
            get(get_function).delete(delete_function),
        )
        .route(
            "/2015-03-31/functions/{name}/configuration",
            get(get_configuration).put(update_configuration),
        )
        .route("/2015-03-31/functions/{name}/code", put(update_code))
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .route(
            "/2017-10-31/functions/{name}/concurrency",
            put(put_concurrency).delete(delete_concurrency),
        )
        .route(
            "/2019-09-30/functions/{name}/concurrency",
            get(get_concurrency),
        )
        .route(
            "/2019-09-25/functions/{name}/event-invoke-config",
            put(put_event_invoke_config)
                .post(put_event_invoke_config)
                .get(get_event_invoke_config)
                .delete(delete_event_invoke_config),
        )
        .route("/2016-08-19/account-settings", get(account_settings))
        .route("/2016-08-19/account-settings/", get(account_settings))
        .route("/baton/functions/{name}/code", get(download_code))
        .route("/baton/functions/{name}/logs", get(function_logs))
        .route("/baton/functions-async-failures", get(async_failures))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(functions)
}

/// A Lambda error response.
fn error_response(e: &FunctionsError) -> Response {
    let status = match e {
        FunctionsError::NotFound(_) => StatusCode::NOT_FOUND,
        FunctionsError::Conflict(_) => StatusCode::CONFLICT,
        FunctionsError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
        FunctionsError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        FunctionsError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        FunctionsError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        FunctionsError::InvalidParameter(_) | FunctionsError::Validation(_) => {
            StatusCode::BAD_REQUEST
        }
    };
    let kind = if matches!(e, FunctionsError::Internal(_)) {
        "Service"
    } else {
        "User"
    };
    let mut body = json!({"Type": kind, "message": e.to_string()});
    if let FunctionsError::Throttled { reason, .. } = e
        && let Some(obj) = body.as_object_mut()
    {
        obj.insert("Reason".into(), json!(reason));
    }
    let mut response = (status, body.to_string()).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert("x-amzn-errortype", HeaderValue::from_static(e.code()));
    if matches!(e, FunctionsError::Throttled { .. }) {
        h.insert("retry-after", HeaderValue::from_static("1"));
    }
    response
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut r = (status, value.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn parse_body<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, FunctionsError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        FunctionsError::Validation(format!("Could not parse request body into json: {e}"))
    })
}

fn into_response(r: Result<Response, FunctionsError>) -> Response {
    r.unwrap_or_else(|e| error_response(&e))
}

async fn create_function(State(f): State<Functions>, body: Bytes) -> Response {
    into_response(
        async {
            let shape: CreateFunctionShape = parse_body(&body)?;
            let config = f.create_function(shape.into_request()?).await?;
            Ok(json_response(
                StatusCode::CREATED,
                &shapes::configuration(&config, &f.function_arn(&config.name)),
            ))
        }
        .await,
    )
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(rename = "Marker")]
    marker: Option<String>,
    #[serde(rename = "MaxItems")]
    max_items: Option<usize>,
}

async fn list_functions(State(f): State<Functions>, Query(q): Query<ListQuery>) -> Response {
    into_response(
        async {
            let (configs, next) = f
                .list_functions(q.marker.as_deref(), q.max_items.unwrap_or(50))
                .await?;
            let items: Vec<Value> = configs
                .iter()
                .map(|c| shapes::configuration(c, &f.function_arn(&c.name)))
                .collect();
            let mut out = json!({"Functions": items});
            if let (Some(m), Some(obj)) = (next, out.as_object_mut()) {
                obj.insert("NextMarker".into(), json!(m));
            }
            Ok(json_response(StatusCode::OK, &out))
        }
        .await,
    )
}

#[derive(Deserialize, Default)]
struct QualifierQuery {
    #[serde(rename = "Qualifier")]
    qualifier: Option<String>,
}

async fn get_function(
    State(f): State<Functions>,
    Path(name): Path<String>,
    Query(q): Query<QualifierQuery>,
) -> Response {
    into_response(async {
        let name = f.resolve(&name, q.qualifier.as_deref())?;
        let config = f.get_function(&name).await?;
        let arn = f.function_arn(&name);
        let base = f.settings().endpoint_url.clone().unwrap_or_default();
        let mut out = json!({
            "Configuration": shapes::configuration(&config, &arn),
            "Code": {"RepositoryType": "S3", "Location": format!("{base}/baton/functions/{name}/code")},
        });
        if let Some(obj) = out.as_object_mut() {
            if !config.tags.is_empty() {
                obj.insert("Tags".into(), json!(config.tags));
            }
            if let Some(n) = config.reserved_concurrency {
                obj.insert(
                    "Concurrency".into(),
                    json!({"ReservedConcurrentExecutions": n}),
                );
            }
        }
        Ok(json_response(StatusCode::OK, &out))
    }
    .await)
}

async fn get_configuration(
    State(f): State<Functions>,
    Path(name): Path<String>,
    Query(q): Query<QualifierQuery>,
) -> Response {
    into_response(
        async {
            let name = f.resolve(&name, q.qualifier.as_deref())?;
            let config = f.get_function(&name).await?;
            Ok(json_response(
                StatusCode::OK,
                &shapes::configuration(&config, &f.function_arn(&name)),
            ))
        }
        .await,
    )
}

async fn update_configuration(
    State(f): State<Functions>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    into_response(
        async {
            let name = f.resolve(&name, None)?;
            let shape: UpdateConfigShape = parse_body(&body)?;
            let config = f.update_configuration(&name, shape.into_patch()).await?;
            Ok(json_response(
                StatusCode::OK,
                &shapes::configuration(&config, &f.function_arn(&name)),
            ))
        }
        .await,
    )
}

async fn update_code(
    State(f): State<Functions>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    into_response(
        async {
            let name = f.resolve(&name, None)?;
            let shape: UpdateCodeShape = parse_body(&body)?;
            let code = shapes::code_input(
                shape.zip_file,
                shape.s3_bucket,
                shape.s3_key,
                shape.image_uri,
            )?;
            let config = f
                .update_code(&name, code, shape.revision_id.as_deref())
                .await?;
            Ok(json_response(
                StatusCode::OK,
                &shapes::configuration(&config, &f.function_arn(&name)),
            ))
        }
        .await,
    )
}

async fn delete_function(
    State(f): State<Functions>,
    Path(name): Path<String>,
    Query(q): Query<QualifierQuery>,
) -> Response {
    into_response(
        async {
            let name = f.resolve(&name, q.qualifier.as_deref())?;
            f.delete_function(&name).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn invoke(
    State(f): State<Functions>,
    Path(name): Path<String>,
    Query(q): Query<QualifierQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    into_response(async {
        let invocation_type = header_str(&headers, "x-amz-invocation-type").unwrap_or("RequestResponse");
        let log_tail = match header_str(&headers, "x-amz-log-type") {
            None | Some("None") => false,
            Some("Tail") => true,
            Some(other) => {
                return Err(FunctionsError::Validation(format!(
                    "1 validation error detected: Value '{other}' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]"
                )));
            }
        };
        let client_context = match header_str(&headers, "x-amz-client-context") {
            None => None,
            Some(b64) => {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(b64.as_bytes())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .filter(|s| serde_json::from_str::<Value>(s).is_ok_and(|v| v.is_object()));
                match decoded {
                    Some(s) => Some(s),
                    None => {
                        return Err(FunctionsError::InvalidParameter(
                            "Client context must be a valid Base64-encoded JSON object.".into(),
                        ));
                    }
                }
            }
        };
        match invocation_type {
            "RequestResponse" => {
                let out = f
                    .invoke(InvokeRequest {
                        function: name,
                        qualifier: q.qualifier,
                        payload: body,
                        log_tail,
                        client_context,
                        request_id: None,
                    })
                    .await?;
                let (payload, function_error) = match out.outcome {
                    InvokeOutcome::Returned(b) => (b, false),
                    InvokeOutcome::Raised { payload, .. } => (payload, true),
                };
                let mut r = (StatusCode::OK, payload).into_response();
                let h = r.headers_mut();
                h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                h.insert("x-amz-executed-version", HeaderValue::from_static("$LATEST"));
                if let Ok(v) = HeaderValue::from_str(&out.request_id) {
                    h.insert("x-amzn-requestid", v);
                }
                if function_error {
                    h.insert("x-amz-function-error", HeaderValue::from_static("Unhandled"));
                }
                if let Some(tail) = out.log_tail
                    && let Ok(v) = HeaderValue::from_str(&tail)
                {
                    h.insert("x-amz-log-result", v);
                }
                Ok(r)
            }
            "Event" => {
                let id = f
                    .invoke_event(&name, q.qualifier.as_deref(), body.to_vec())
                    .await?;
                let mut r = StatusCode::ACCEPTED.into_response();
                if let Ok(v) = HeaderValue::from_str(&id) {
                    r.headers_mut().insert("x-amzn-requestid", v);
                }
                Ok(r)
            }
            "DryRun" => {
                let name = f.resolve(&name, q.qualifier.as_deref())?;
                f.check_invocable(&name).await?;
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            other => Err(FunctionsError::Validation(format!(
                "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
            ))),
        }
    }
    .await)
}

async fn put_concurrency(
    State(f): State<Functions>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    into_response(async {
        let name = f.resolve(&name, None)?;
        let shape: ConcurrencyShape = parse_body(&body)?;
        let n = match shape.reserved_concurrent_executions {
            None => {
                return Err(FunctionsError::Validation(
                    "1 validation error detected: Value null at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must not be null".into(),
                ));
            }
            Some(n) if n < 0 => {
                return Err(FunctionsError::Validation(format!(
                    "1 validation error detected: Value '{n}' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0"
                )));
            }
            Some(n) => u32::try_from(n).unwrap_or(u32::MAX),
        };
        let set = f.set_concurrency(&name, Some(n)).await?;
        Ok(json_response(
            StatusCode::OK,
            &json!({"ReservedConcurrentExecutions": set}),
        ))
    }
    .await)
}

async fn delete_concurrency(State(f): State<Functions>, Path(name): Path<String>) -> Response {
    into_response(
        async {
            let name = f.resolve(&name, None)?;
            f.set_concurrency(&name, None).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

async fn get_concurrency(State(f): State<Functions>, Path(name): Path<String>) -> Response {
    into_response(
        async {
            let name = f.resolve(&name, None)?;
            let config = f.get_function(&name).await?;
            let out = match config.reserved_concurrency {
                Some(n) => json!({"ReservedConcurrentExecutions": n}),
                None => json!({}),
            };
            Ok(json_response(StatusCode::OK, &out))
        }
        .await,
    )
}

async fn put_event_invoke_config(
    State(f): State<Functions>,
    Path(name): Path<String>,
    Query(q): Query<QualifierQuery>,
    body: Bytes,
) -> Response {
    into_response(
        async {
            let name = f.resolve(&name, q.qualifier.as_deref())?;
            let shape: EventInvokeConfigShape = parse_body(&body)?;
            let set = f
                .set_event_invoke_config(&name, Some(shape.into_config()))
                .await?;
            let arn = f.function_arn(&name);
            let out = set
                .map(|c| shapes::event_invoke_config(&c, &arn))
                .unwrap_or_else(|| json!({}));
            Ok(json_response(StatusCode::OK, &out))
        }
        .await,
    )
}

fn no_event_invoke_config(f: &Functions, name: &str) -> FunctionsError {
    FunctionsError::NotFound(format!(
        "The function {}:$LATEST doesn't have an EventInvokeConfig",
        f.function_arn(name)
    ))
}

async fn get_event_invoke_config(
    State(f): State<Functions>,
    Path(name): Path<String>,
    Query(q): Query<QualifierQuery>,
) -> Response {
    into_response(
        async {
            let name = f.resolve(&name, q.qualifier.as_deref())?;
            let config = f.get_function(&name).await?;
            let Some(c) = config.event_invoke else {
                return Err(no_event_invoke_config(&f, &name));
            };
            Ok(json_response(
                StatusCode::OK,
                &shapes::event_invoke_config(&c, &f.function_arn(&name)),
            ))
        }
        .await,
    )
}

async fn delete_event_invoke_config(
    State(f): State<Functions>,
    Path(name): Path<String>,
    Query(q): Query<QualifierQuery>,
) -> Response {
    into_response(
        async {
            let name = f.resolve(&name, q.qualifier.as_deref())?;
            let config = f.get_function(&name).await?;
            if config.event_invoke.is_none() {
                return Err(no_event_invoke_config(&f, &name));
            }
            f.set_event_invoke_config(&name, None).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

async fn account_settings(State(f): State<Functions>) -> Response {
    let n = f.settings().max_environments;
    json_response(
        StatusCode::OK,
        &json!({
            "AccountLimit": {
                "TotalCodeSize": 80_530_636_800u64,
                "CodeSizeUnzipped": 262_144_000u64,
                "CodeSizeZipped": 52_428_800u64,
                "ConcurrentExecutions": n,
                "UnreservedConcurrentExecutions": n,
            },
            "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 0},
        }),
    )
}

async fn download_code(State(f): State<Functions>, Path(name): Path<String>) -> Response {
    into_response(
        async {
            let name = f.resolve(&name, None)?;
            match f.code_package(&name).await? {
                Some(bytes) => {
                    let mut r = (StatusCode::OK, bytes).into_response();
                    r.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/zip"),
                    );
                    Ok(r)
                }
                None => Err(FunctionsError::NotFound(format!(
                    "Function {name} runs from a local directory and has no code package"
                ))),
            }
        }
        .await,
    )
}

#[derive(Deserialize)]
struct LogsQuery {
    #[serde(rename = "requestId")]
    request_id: Option<String>,
}

async fn function_logs(
    State(f): State<Functions>,
    Path(name): Path<String>,
    Query(q): Query<LogsQuery>,
) -> Response {
    into_response(
        async {
            let name = f.resolve(&name, None)?;
            let logs: Vec<Value> = f
            .logs(&name, q.request_id.as_deref())
            .into_iter()
            .map(|l| json!({"requestId": l.request_id, "startedMs": l.started_ms, "text": l.text}))
            .collect();
            Ok(json_response(StatusCode::OK, &json!({"logs": logs})))
        }
        .await,
    )
}

#[derive(Deserialize)]
struct FailuresQuery {
    function: Option<String>,
}

async fn async_failures(State(f): State<Functions>, Query(q): Query<FailuresQuery>) -> Response {
    into_response(
        async {
            let failures: Vec<Value> = f
                .async_failures(q.function.as_deref())
                .await?
                .into_iter()
                .map(|x| {
                    json!({
                        "requestId": x.id,
                        "function": x.function,
                        "payload": String::from_utf8_lossy(&x.payload),
                        "attempts": x.attempts,
                        "errorType": x.error_type,
                        "errorPayload": String::from_utf8_lossy(&x.error_payload),
                        "failedAtMs": x.failed_at_ms,
                    })
                })
                .collect();
            Ok(json_response(
                StatusCode::OK,
                &json!({"failures": failures}),
            ))
        }
        .await,
    )
}
