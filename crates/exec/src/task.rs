//! Tasks the interpreter hands to the shell, and how their resources are described.

use baton_asl::model::{IntegrationPattern, TaskTarget};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::history::TaskResource;

/// Which family of history events a task records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskKind {
    /// A Lambda ARN used directly as the resource: `LambdaFunction*` events.
    Lambda { arn: String },
    /// An activity: `Activity*` events.
    Activity { arn: String },
    /// An optimised or SDK integration: `Task*` events.
    Service {
        resource: TaskResource,
        pattern: Pattern,
    },
}

/// The integration pattern, as the shell needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pattern {
    RequestResponse,
    Sync,
    Sync2,
    WaitForTaskToken,
}

impl From<IntegrationPattern> for Pattern {
    fn from(p: IntegrationPattern) -> Self {
        match p {
            IntegrationPattern::RequestResponse => Pattern::RequestResponse,
            IntegrationPattern::Sync => Pattern::Sync,
            IntegrationPattern::Sync2 => Pattern::Sync2,
            IntegrationPattern::WaitForTaskToken => Pattern::WaitForTaskToken,
        }
    }
}

impl TaskKind {
    pub fn from_target(resource_uri: &str, target: &TaskTarget) -> TaskKind {
        match target {
            TaskTarget::Activity { arn } => TaskKind::Activity { arn: arn.clone() },
            TaskTarget::LambdaFunction { arn } => TaskKind::Lambda { arn: arn.clone() },
            TaskTarget::Service { pattern, .. } => TaskKind::Service {
                resource: describe_service_resource(resource_uri),
                pattern: (*pattern).into(),
            },
            TaskTarget::Other { uri } => TaskKind::Service {
                resource: describe_service_resource(uri),
                pattern: Pattern::RequestResponse,
            },
        }
    }

    pub fn needs_token(&self) -> bool {
        matches!(
            self,
            TaskKind::Service {
                pattern: Pattern::WaitForTaskToken,
                ..
            }
        )
    }
}

/// `arn:aws:states:::aws-sdk:s3:getObject` → (`aws-sdk:s3`, `getObject`);
/// `arn:aws:states:::states:startExecution.sync:2` → (`states`, `startExecution.sync:2`).
pub fn describe_service_resource(uri: &str) -> TaskResource {
    let rest = match uri.find(":::") {
        Some(i) => &uri[i + 3..],
        None => uri,
    };
    let (base, suffix) = match rest.strip_suffix(".sync:2") {
        Some(b) => (b, ".sync:2"),
        None => (rest, ""),
    };
    match base.rsplit_once(':') {
        Some((ty, action)) => TaskResource {
            resource_type: ty.to_owned(),
            resource: format!("{action}{suffix}"),
        },
        None => TaskResource {
            resource_type: String::new(),
            resource: rest.to_owned(),
        },
    }
}

/// A task for the shell to carry out. The shell answers with `Input::TaskStarted`,
/// `TaskSubmitted`, `TaskSucceeded`, `TaskFailed` or `TaskHeartbeat`, naming `task_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRequest {
    pub task_id: u64,
    pub state_name: String,
    /// The `Resource` URI as written.
    pub resource: String,
    pub kind: TaskKind,
    /// The effective parameters (JSONPath `Parameters`/`InputPath`, JSONata `Arguments`).
    pub input: crate::execution::Payload,
    /// The evaluated `Credentials`, if any.
    pub credentials: Option<Value>,
    pub timeout_seconds: Option<u64>,
    pub heartbeat_seconds: Option<u64>,
    /// The task token for `.waitForTaskToken` and activities.
    pub task_token: Option<String>,
    /// Retries so far for this state (0 on the first attempt).
    pub attempt: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_resources_split_like_aws() {
        let r = describe_service_resource("arn:aws:states:::aws-sdk:s3:getObject");
        assert_eq!(
            (r.resource_type.as_str(), r.resource.as_str()),
            ("aws-sdk:s3", "getObject")
        );
        let r = describe_service_resource("arn:aws:states:::states:startExecution.sync:2");
        assert_eq!(
            (r.resource_type.as_str(), r.resource.as_str()),
            ("states", "startExecution.sync:2")
        );
        let r =
            describe_service_resource("arn:<partition>:states:::lambda:invoke.waitForTaskToken");
        assert_eq!(
            (r.resource_type.as_str(), r.resource.as_str()),
            ("lambda", "invoke.waitForTaskToken")
        );
    }
}
