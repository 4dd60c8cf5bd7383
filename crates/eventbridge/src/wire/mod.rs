//! EventBridge over the AWS JSON 1.1 protocol (`X-Amz-Target: AWSEvents.<Operation>`):
//! requests are read into typed inputs (`input`), handed to the bus runtime, and its
//! answers shaped as EventBridge's responses. Errors keep AWS's names and messages.
//!
//! Modules: `buses` (event buses, rules, targets, PutEvents, TestEventPattern),
//! `archives` (archives and replays), `connections` (connections and API
//! destinations), `dead_letters` (Baton's read-only view of the dead letters no SQS
//! queue here could take).

mod archives;
mod buses;
mod connections;
mod dead_letters;
mod input;

use crate::{BusError, EventBuses};
use async_trait::async_trait;
use axum::http::StatusCode;
use serde_json::{Map, Value};

use baton_platform::http::{ApiError, JsonService, Routes, Service};
use input::{Obj, Str, Violations};

/// The EventBridge service.
pub struct EventBridgeApi {
    bus: EventBuses,
}

impl EventBridgeApi {
    pub fn new(bus: EventBuses) -> EventBridgeApi {
        EventBridgeApi { bus }
    }
}

impl Service for EventBridgeApi {
    fn routes(&self) -> Routes {
        Routes::new()
            .json(std::sync::Arc::new(EventBridgeApi::new(self.bus.clone())))
            .rest(dead_letters::routes(self.bus.clone()))
    }
}

impl From<BusError> for ApiError {
    fn from(e: BusError) -> Self {
        ApiError {
            status: if e.is_internal() {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::BAD_REQUEST
            },
            code: e.code.to_owned(),
            message: e.message,
            query_error: None,
        }
    }
}

#[async_trait]
impl JsonService for EventBridgeApi {
    fn target_prefix(&self) -> &'static str {
        "AWSEvents"
    }

    fn content_type(&self) -> &'static str {
        "application/x-amz-json-1.1"
    }

    async fn call(&self, operation: &str, body: Value) -> Result<Value, ApiError> {
        let empty = Map::new();
        let map = body.as_object().unwrap_or(&empty);
        let req = Obj::root(map);
        let bus = &self.bus;
        match operation {
            "CreateEventBus" => buses::create_event_bus(bus, &req).await,
            "UpdateEventBus" => buses::update_event_bus(bus, &req).await,
            "DeleteEventBus" => buses::delete_event_bus(bus, &req).await,
            "DescribeEventBus" => buses::describe_event_bus(bus, &req),
            "ListEventBuses" => buses::list_event_buses(bus, &req),
            "PutRule" => buses::put_rule(bus, &req).await,
            "DescribeRule" => buses::describe_rule(bus, &req),
            "ListRules" => buses::list_rules(bus, &req),
            "DeleteRule" => buses::delete_rule(bus, &req).await,
            "EnableRule" => buses::set_rule_enabled(bus, &req, true).await,
            "DisableRule" => buses::set_rule_enabled(bus, &req, false).await,
            "PutTargets" => buses::put_targets(bus, &req).await,
            "RemoveTargets" => buses::remove_targets(bus, &req).await,
            "ListTargetsByRule" => buses::list_targets_by_rule(bus, &req),
            "ListRuleNamesByTarget" => buses::list_rule_names_by_target(bus, &req),
            "PutEvents" => buses::put_events(bus, &req).await,
            "TestEventPattern" => buses::test_event_pattern(bus, &req),
            "CreateArchive" => archives::create_archive(bus, &req).await,
            "DescribeArchive" => archives::describe_archive(bus, &req).await,
            "ListArchives" => archives::list_archives(bus, &req).await,
            "UpdateArchive" => archives::update_archive(bus, &req).await,
            "DeleteArchive" => archives::delete_archive(bus, &req).await,
            "StartReplay" => archives::start_replay(bus, &req).await,
            "DescribeReplay" => archives::describe_replay(bus, &req).await,
            "ListReplays" => archives::list_replays(bus, &req).await,
            "CancelReplay" => archives::cancel_replay(bus, &req).await,
            "CreateConnection" => connections::create_connection(bus, &req).await,
            "DescribeConnection" => connections::describe_connection(bus, &req),
            "ListConnections" => connections::list_connections(bus, &req),
            "UpdateConnection" => connections::update_connection(bus, &req).await,
            "DeleteConnection" => connections::delete_connection(bus, &req).await,
            "DeauthorizeConnection" => connections::deauthorize_connection(bus, &req).await,
            "CreateApiDestination" => connections::create_api_destination(bus, &req).await,
            "DescribeApiDestination" => connections::describe_api_destination(bus, &req),
            "ListApiDestinations" => connections::list_api_destinations(bus, &req),
            "UpdateApiDestination" => connections::update_api_destination(bus, &req).await,
            "DeleteApiDestination" => connections::delete_api_destination(bus, &req).await,
            other => Err(ApiError::unknown_operation("EventBridge", other)),
        }
    }
}

// Members shared by many operations (constraints from the EventBridge API model).
const NAME_CHARS: &str = r"[\.\-_A-Za-z0-9]+";
pub(crate) const BUS_NAME: Str = Str::new().len(1, 256).pattern(r"[/\.\-_A-Za-z0-9]+");
pub(crate) const BUS_NAME_OR_ARN: Str = Str::new().len(1, 1600).pattern(
    r"(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[/\.\-_A-Za-z0-9]+",
);
pub(crate) const RULE_NAME: Str = Str::new().len(1, 64).pattern(NAME_CHARS);
pub(crate) const NEXT_TOKEN: Str = Str::new().len(1, 2048);
pub(crate) const DESCRIPTION: Str = Str::new().max(512);
pub(crate) const KMS_KEY: Str = Str::new().max(2048).pattern(r"^[a-zA-Z0-9_\-/:]*$");
pub(crate) const EVENT_PATTERN: Str = Str::new().max(4096);
pub(crate) const ARN: Str = Str::new().len(1, 1600);

/// `NextToken` and `Limit` of a list operation.
pub(crate) fn paging(
    req: &Obj<'_>,
    errs: &mut Violations,
) -> Result<(Option<String>, Option<usize>), ApiError> {
    let token = req.string("NextToken", NEXT_TOKEN, errs)?;
    let limit = req
        .int("Limit", Some(1), Some(100), errs)?
        .and_then(|n| usize::try_from(n).ok());
    Ok((token, limit))
}

/// A time as the JSON protocol sends it: epoch seconds.
pub(crate) fn time(ms: i64) -> Value {
    serde_json::Number::from_f64(ms as f64 / 1000.0)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// Builds a response object from members, leaving out absent ones.
pub(crate) fn object(members: Vec<(&str, Option<Value>)>) -> Value {
    Value::Object(
        members
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
            .collect(),
    )
}

pub(crate) fn s(text: &str) -> Option<Value> {
    Some(Value::String(text.to_owned()))
}

pub(crate) fn opt(text: &Option<String>) -> Option<Value> {
    text.as_ref().map(|t| Value::String(t.clone()))
}
