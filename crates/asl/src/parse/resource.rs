//! A Task's `Resource` taken apart.
//!
//! The partition, region and account parts are not checked: definitions are often written
//! with placeholders there (`arn:<partition>:states:::lambda:invoke`), and whatever AWS
//! region Baton pretends to be does not change what the resource means.

use super::Parser;
use crate::model::{IntegrationPattern, TaskTarget};

/// Reads a Task `Resource` URI. Never fails: what is not recognised is
/// [`TaskTarget::Other`], for the runtime to report.
pub fn parse_resource(uri: &str) -> TaskTarget {
    let parts: Vec<&str> = uri.splitn(6, ':').collect();
    let [arn, _partition, service, region, account, rest] = parts.as_slice() else {
        return other(uri);
    };
    if *arn != "arn" {
        return other(uri);
    }
    match *service {
        "states" if region.is_empty() && account.is_empty() => {
            service_target(rest).unwrap_or_else(|| other(uri))
        }
        "states" if rest.starts_with("activity:") && rest.len() > "activity:".len() => {
            TaskTarget::Activity {
                arn: uri.to_owned(),
            }
        }
        "lambda" if rest.starts_with("function:") && rest.len() > "function:".len() => {
            TaskTarget::LambdaFunction {
                arn: uri.to_owned(),
            }
        }
        _ => other(uri),
    }
}

fn other(uri: &str) -> TaskTarget {
    TaskTarget::Other {
        uri: uri.to_owned(),
    }
}

/// `<service>:<action>[.sync|.sync:2|.waitForTaskToken]`, where the service may itself
/// contain a colon (`aws-sdk:s3`).
fn service_target(rest: &str) -> Option<TaskTarget> {
    let (name, pattern) = if let Some(name) = rest.strip_suffix(".sync:2") {
        (name, IntegrationPattern::Sync2)
    } else if let Some(name) = rest.strip_suffix(".sync") {
        (name, IntegrationPattern::Sync)
    } else if let Some(name) = rest.strip_suffix(".waitForTaskToken") {
        (name, IntegrationPattern::WaitForTaskToken)
    } else {
        (rest, IntegrationPattern::RequestResponse)
    };
    let (service, action) = name.rsplit_once(':')?;
    if service.is_empty() || action.is_empty() {
        return None;
    }
    Some(TaskTarget::Service {
        service: service.to_owned(),
        action: action.to_owned(),
        pattern,
    })
}

impl Parser {
    /// Reads a Task's `Resource`, reporting what AWS refuses: a value that is not an ARN,
    /// and in an EXPRESS workflow activities and the `.sync`/`.waitForTaskToken` patterns.
    pub(super) fn task_resource(&mut self, uri: &str, pointer: &str, express: bool) -> TaskTarget {
        if !uri.starts_with("arn:") {
            self.schema_error(
                format!(
                    "The resource provided {uri} is not recognized. The value is not a valid resource ARN, or the resource is not available in this region."
                ),
                pointer,
            );
            return other(uri);
        }
        let target = parse_resource(uri);
        if express {
            match &target {
                TaskTarget::Activity { .. } => {
                    self.schema_error(
                        "Express state machine does not support Activity ARN",
                        pointer,
                    );
                }
                TaskTarget::Service {
                    pattern: IntegrationPattern::Sync | IntegrationPattern::Sync2,
                    ..
                } => {
                    self.schema_error(
                        "Express state machine does not support '.sync' service integration",
                        pointer,
                    );
                }
                TaskTarget::Service {
                    pattern: IntegrationPattern::WaitForTaskToken,
                    ..
                } => {
                    // AWS's message ends with a space.
                    self.schema_error(
                        "Express state machine does not support '.waitForTaskToken' service integration ",
                        pointer,
                    );
                }
                _ => {}
            }
        }
        target
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_integrations_and_patterns() {
        assert_eq!(
            parse_resource("arn:<partition>:states:::lambda:invoke"),
            TaskTarget::Service {
                service: "lambda".into(),
                action: "invoke".into(),
                pattern: IntegrationPattern::RequestResponse
            }
        );
        assert_eq!(
            parse_resource("arn:aws:states:::states:startExecution.sync:2"),
            TaskTarget::Service {
                service: "states".into(),
                action: "startExecution".into(),
                pattern: IntegrationPattern::Sync2
            }
        );
        assert_eq!(
            parse_resource("arn:aws:states:::aws-sdk:s3:listBuckets.waitForTaskToken"),
            TaskTarget::Service {
                service: "aws-sdk:s3".into(),
                action: "listBuckets".into(),
                pattern: IntegrationPattern::WaitForTaskToken
            }
        );
        assert_eq!(
            parse_resource("arn:aws:states:::sqs:sendMessage.sync"),
            TaskTarget::Service {
                service: "sqs".into(),
                action: "sendMessage".into(),
                pattern: IntegrationPattern::Sync
            }
        );
    }

    #[test]
    fn activities_lambdas_and_others() {
        let activity = "arn:aws:states:us-east-1:111111111111:activity:worker";
        assert_eq!(
            parse_resource(activity),
            TaskTarget::Activity {
                arn: activity.into()
            }
        );
        let lambda = "arn:<partition>:lambda:<region>:111111111111:function:f:alias";
        assert_eq!(
            parse_resource(lambda),
            TaskTarget::LambdaFunction { arn: lambda.into() }
        );
        for uri in [
            "arn:aws:states:::lambda",
            "arn:aws:sqs:x",
            "x",
            "arn:aws:states:::",
        ] {
            assert_eq!(parse_resource(uri), TaskTarget::Other { uri: uri.into() });
        }
    }
}
