//! "Step Functions Execution Status Change" events, as AWS puts them on the default bus
//! for Standard executions: one when an execution starts (or is redriven), one when it
//! stops.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::store::RunStatus;
use baton_exec::Outcome;

use crate::Inner;
use crate::engine::{Live, json_text};
use baton_platform::bridge::OutgoingEvent;

pub const SOURCE: &str = "aws.states";
pub const DETAIL_TYPE: &str = "Step Functions Execution Status Change";

/// An event to put on a bus, in a form that survives in a work item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct EventOut {
    pub event_bus: Option<String>,
    pub source: String,
    pub detail_type: String,
    pub detail: Value,
    pub resources: Vec<String>,
}

impl EventOut {
    pub fn into_outgoing(self) -> OutgoingEvent {
        OutgoingEvent {
            event_bus: self.event_bus,
            source: self.source,
            detail_type: self.detail_type,
            detail: self.detail,
            resources: self.resources,
        }
    }
}

/// The status-change event for `live` entering `status`.
pub(crate) fn status_change(inner: &Inner, live: &Live, status: RunStatus) -> EventOut {
    let _ = inner;
    let exec = &live.exec;
    let (output, error, cause) = match (&exec.outcome, status.is_terminal()) {
        (Some(Outcome::Succeeded { output }), true) => (Some(json_text(output)), None, None),
        (Some(Outcome::Failed(f)), true) => (None, f.error.clone(), f.cause.clone()),
        _ => (None, None, None),
    };
    let redrive_count = exec.identity.redrive_count;
    let (redrive_status, reason) = match status {
        RunStatus::Running | RunStatus::Succeeded => (
            "NOT_REDRIVABLE",
            Some(format!(
                "Execution is {} and cannot be redriven",
                status.as_str()
            )),
        ),
        _ => ("REDRIVABLE", None),
    };
    let detail = json!({
        "executionArn": &*live.arn,
        "stateMachineArn": live.meta.state_machine_arn,
        "name": live.meta.name,
        "status": status.as_str(),
        "startDate": live.meta.start_millis,
        "stopDate": if status.is_terminal() { exec.stop_millis.map(Value::from).unwrap_or(Value::Null) } else { Value::Null },
        "input": live.meta.input,
        "output": output,
        "inputDetails": {"included": true},
        "outputDetails": if output.is_some() { json!({"included": true}) } else { Value::Null },
        "error": error,
        "cause": cause,
        "redriveCount": redrive_count,
        "redriveDate": Value::Null,
        "redriveStatus": redrive_status,
        "redriveStatusReason": reason,
    });
    EventOut {
        event_bus: None,
        source: SOURCE.to_owned(),
        detail_type: DETAIL_TYPE.to_owned(),
        detail,
        resources: vec![live.arn.to_string()],
    }
}
