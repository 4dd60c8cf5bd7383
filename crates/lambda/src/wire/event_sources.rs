//! Lambda's event source mapping operations on Baton's port:
//! `/2015-03-31/event-source-mappings/` (Create, List) and `…/{UUID}` (Get, Update,
//! Delete). Functions named in requests are resolved here, through the functions
//! runtime; the mappings themselves live in `crate::event_sources`.

use crate::event_sources::{
    EventSourceMappings, FunctionTarget, Mapping, MappingChanges, MappingError, MappingState,
};
use crate::{Functions, FunctionsError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};

#[derive(Clone)]
struct EsmState {
    functions: Functions,
    mappings: EventSourceMappings,
}

/// The event source mapping routes, to register with `Api::with_routes`.
pub(super) fn routes(functions: Functions, mappings: EventSourceMappings) -> Router {
    Router::new()
        .route("/2015-03-31/event-source-mappings", post(create).get(list))
        .route("/2015-03-31/event-source-mappings/", post(create).get(list))
        .route(
            "/2015-03-31/event-source-mappings/{uuid}",
            get(get_one).put(update).delete(delete),
        )
        .with_state(EsmState {
            functions,
            mappings,
        })
}

fn error_response(e: &MappingError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let kind = if e.status >= 500 { "Service" } else { "User" };
    let body = json!({"Type": kind, "message": e.message});
    let mut r = (status, body.to_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert("x-amzn-errortype", HeaderValue::from_static(e.code));
    r
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut r = (status, value.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn respond(r: Result<Response, MappingError>) -> Response {
    r.unwrap_or_else(|e| error_response(&e))
}

fn from_functions_error(e: FunctionsError) -> MappingError {
    let code = e.code();
    let status = match e {
        FunctionsError::NotFound(_) => 404,
        FunctionsError::Internal(_) => 500,
        _ => 400,
    };
    MappingError {
        code,
        message: e.to_string(),
        status,
    }
}

/// The function a request names, as the mapping will call it. An unknown function is
/// `InvalidParameterValueException: Function does not exist`, as Lambda answers.
async fn resolve_function(f: &Functions, reference: &str) -> Result<FunctionTarget, MappingError> {
    let name = f.resolve(reference, None).map_err(|e| match e {
        FunctionsError::NotFound(_) => MappingError::invalid_parameter("Function does not exist"),
        other => from_functions_error(other),
    })?;
    match f.get_function(&name).await {
        Ok(config) => Ok(FunctionTarget {
            arn: f.function_arn(&name),
            name,
            timeout_seconds: config.timeout_secs,
        }),
        Err(FunctionsError::NotFound(_)) => {
            Err(MappingError::invalid_parameter("Function does not exist"))
        }
        Err(e) => Err(from_functions_error(e)),
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct FilterShape {
    pattern: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct FilterCriteriaShape {
    filters: Option<Vec<FilterShape>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ScalingConfigShape {
    maximum_concurrency: Option<i64>,
}

/// The fields of Create and Update that apply to SQS mappings.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct MappingShape {
    event_source_arn: Option<String>,
    function_name: Option<String>,
    enabled: Option<bool>,
    batch_size: Option<i64>,
    maximum_batching_window_in_seconds: Option<i64>,
    filter_criteria: Option<FilterCriteriaShape>,
    function_response_types: Option<Vec<String>>,
    scaling_config: Option<ScalingConfigShape>,
}

impl MappingShape {
    fn changes(&self) -> MappingChanges {
        MappingChanges {
            enabled: self.enabled,
            batch_size: self.batch_size,
            batching_window_seconds: self.maximum_batching_window_in_seconds,
            filters: self.filter_criteria.as_ref().map(|c| {
                c.filters
                    .as_ref()
                    .map(|fs| fs.iter().map(|f| f.pattern.clone()).collect())
                    .unwrap_or_default()
            }),
            function_response_types: self.function_response_types.clone(),
            maximum_concurrency: self.scaling_config.as_ref().map(|s| s.maximum_concurrency),
        }
    }
}

fn parse_body(body: &Bytes) -> Result<MappingShape, MappingError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(MappingShape::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        MappingError::validation(format!("Could not parse request body into json: {e}"))
    })
}

/// A mapping in Lambda's `EventSourceMappingConfiguration` shape.
fn configuration(m: &Mapping, state: MappingState, arn: &str) -> Value {
    let mut out = Map::new();
    out.insert("UUID".into(), json!(m.uuid));
    out.insert("BatchSize".into(), json!(m.batch_size));
    out.insert(
        "MaximumBatchingWindowInSeconds".into(),
        json!(m.batching_window_seconds),
    );
    out.insert("EventSourceArn".into(), json!(m.event_source_arn));
    if !m.filters.is_empty() {
        let filters: Vec<Value> = m.filters.iter().map(|p| json!({"Pattern": p})).collect();
        out.insert("FilterCriteria".into(), json!({"Filters": filters}));
    }
    out.insert("FunctionArn".into(), json!(m.function_arn));
    // A timestamp member of a REST-JSON shape: epoch seconds.
    out.insert(
        "LastModified".into(),
        json!(m.last_modified_ms as f64 / 1000.0),
    );
    out.insert("State".into(), json!(state.as_str()));
    out.insert("StateTransitionReason".into(), json!("USER_INITIATED"));
    let types: Vec<&str> = if m.report_batch_item_failures {
        vec!["ReportBatchItemFailures"]
    } else {
        Vec::new()
    };
    out.insert("FunctionResponseTypes".into(), json!(types));
    if let Some(c) = m.maximum_concurrency {
        out.insert("ScalingConfig".into(), json!({"MaximumConcurrency": c}));
    }
    out.insert("EventSourceMappingArn".into(), json!(arn));
    Value::Object(out)
}

async fn create(State(s): State<EsmState>, body: Bytes) -> Response {
    respond(
        async {
            let shape = parse_body(&body)?;
            let Some(reference) = shape.function_name.as_deref() else {
                return Err(MappingError::validation(
                    "1 validation error detected: Value null at 'functionName' failed to satisfy constraint: Member must not be null",
                ));
            };
            let function = resolve_function(&s.functions, reference).await?;
            let m = s
                .mappings
                .create(shape.event_source_arn.as_deref(), function, shape.changes())
                .await?;
            Ok(json_response(
                StatusCode::ACCEPTED,
                &configuration(&m, MappingState::Creating, &s.mappings.mapping_arn(&m.uuid)),
            ))
        }
        .await,
    )
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(rename = "EventSourceArn")]
    event_source_arn: Option<String>,
    #[serde(rename = "FunctionName")]
    function_name: Option<String>,
    #[serde(rename = "Marker")]
    marker: Option<String>,
    #[serde(rename = "MaxItems")]
    max_items: Option<String>,
}

async fn list(State(s): State<EsmState>, Query(q): Query<ListQuery>) -> Response {
    respond(
        async {
            let max_items = match q.max_items.as_deref() {
                None => None,
                Some(t) => Some(t.trim().parse::<i64>().map_err(|_| {
                    MappingError::validation(format!(
                        "1 validation error detected: Value '{t}' at 'maxItems' failed to satisfy constraint: Member must be a number"
                    ))
                })?),
            };
            let function = match q.function_name.as_deref() {
                None => None,
                Some(r) => Some(
                    s.functions
                        .resolve(r, None)
                        .map_err(from_functions_error)?,
                ),
            };
            let (items, next) = s
                .mappings
                .list(
                    q.event_source_arn.as_deref(),
                    function.as_deref(),
                    q.marker.as_deref(),
                    max_items,
                )
                .await?;
            let items: Vec<Value> = items
                .iter()
                .map(|m| configuration(m, m.settled_state(), &s.mappings.mapping_arn(&m.uuid)))
                .collect();
            let mut out = json!({"EventSourceMappings": items});
            if let (Some(n), Some(obj)) = (next, out.as_object_mut()) {
                obj.insert("NextMarker".into(), json!(n));
            }
            Ok(json_response(StatusCode::OK, &out))
        }
        .await,
    )
}

async fn get_one(State(s): State<EsmState>, Path(uuid): Path<String>) -> Response {
    respond(
        async {
            let m = s.mappings.get(&uuid).await?;
            Ok(json_response(
                StatusCode::OK,
                &configuration(&m, m.settled_state(), &s.mappings.mapping_arn(&m.uuid)),
            ))
        }
        .await,
    )
}

async fn update(State(s): State<EsmState>, Path(uuid): Path<String>, body: Bytes) -> Response {
    respond(
        async {
            let shape = parse_body(&body)?;
            // The mapping must exist before its function is looked at.
            let before = s.mappings.get(&uuid).await?;
            let function = match shape.function_name.as_deref() {
                None => None,
                Some(r) => Some(resolve_function(&s.functions, r).await?),
            };
            let m = s.mappings.update(&uuid, function, shape.changes()).await?;
            let state = match (before.enabled, m.enabled) {
                (false, true) => MappingState::Enabling,
                (true, false) => MappingState::Disabling,
                _ => MappingState::Updating,
            };
            Ok(json_response(
                StatusCode::ACCEPTED,
                &configuration(&m, state, &s.mappings.mapping_arn(&m.uuid)),
            ))
        }
        .await,
    )
}

async fn delete(State(s): State<EsmState>, Path(uuid): Path<String>) -> Response {
    respond(
        async {
            let m = s.mappings.delete(&uuid).await?;
            Ok(json_response(
                StatusCode::ACCEPTED,
                &configuration(&m, MappingState::Deleting, &s.mappings.mapping_arn(&m.uuid)),
            ))
        }
        .await,
    )
}
