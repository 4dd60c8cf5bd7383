//! `GET /_baton/events/dead-letters[?queue=ARN&limit=N]`: the dead letters Baton has
//! recorded, oldest first. EventBridge hands undeliverable events to an SQS queue, and
//! so does Baton; a letter whose queue does not exist here (or refused it) is kept
//! durably instead and shown here (a Baton extension, not an AWS API).

use crate::EventBuses;
use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use baton_platform::http::ApiError;

pub const PATH: &str = "/_baton/events/dead-letters";

#[derive(Deserialize)]
struct Params {
    queue: Option<String>,
    limit: Option<usize>,
}

/// The route, to merge into the server with `Api::with_routes`.
pub fn routes(bus: EventBuses) -> Router {
    Router::new().route(PATH, get(list)).with_state(bus)
}

async fn list(State(bus): State<EventBuses>, Query(p): Query<Params>) -> Response {
    let limit = p.limit.unwrap_or(1_000).clamp(1, 10_000);
    match bus.dead_letters(p.queue.as_deref(), limit).await {
        Ok(letters) => {
            let items: Vec<_> = letters
                .into_iter()
                .map(|l| {
                    json!({
                        "QueueArn": l.queue_arn,
                        "EventId": l.event_id,
                        "Body": l.body,
                        "Attributes": {
                            "RULE_ARN": l.rule_arn,
                            "TARGET_ARN": l.target_arn,
                            "ERROR_CODE": l.error_code,
                            "ERROR_MESSAGE": l.error_message,
                            "EXHAUSTED_RETRY_CONDITION": l.exhausted_retry_condition,
                            "RETRY_ATTEMPTS": l.retry_attempts,
                        },
                        "Time": l.at_ms as f64 / 1000.0,
                    })
                })
                .collect();
            Json(json!({ "DeadLetters": items })).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}
