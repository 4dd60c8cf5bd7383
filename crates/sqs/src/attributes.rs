//! Queue attributes: which exist, their defaults, and the checks AWS makes on them
//! (ranges, the redrive policy's JSON, FIFO-only attributes, the `.fifo` name rule).

use std::collections::BTreeMap;

use baton_platform::bridge::queues::SqsError;

/// Attributes a caller may set, with their defaults (FIFO-only ones are absent from
/// standard queues).
const SETTABLE: &[(&str, Option<&str>)] = &[
    ("DelaySeconds", Some("0")),
    ("MaximumMessageSize", Some("262144")),
    ("MessageRetentionPeriod", Some("345600")),
    ("ReceiveMessageWaitTimeSeconds", Some("0")),
    ("VisibilityTimeout", Some("30")),
    ("RedrivePolicy", None),
    ("RedriveAllowPolicy", None),
    ("Policy", None),
    ("KmsMasterKeyId", None),
    ("KmsDataKeyReusePeriodSeconds", None),
    ("SqsManagedSseEnabled", Some("true")),
];

const FIFO_ONLY: &[&str] = &[
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// Attributes only GetQueueAttributes reports.
pub const READ_ONLY: &[&str] = &[
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
];

/// Largest message AWS accepts (`MaximumMessageSize` upper bound), in bytes.
pub const MAX_MESSAGE_SIZE: i64 = 1_048_576;

/// Every name GetQueueAttributes knows.
pub fn is_known(name: &str) -> bool {
    SETTABLE.iter().any(|(n, _)| *n == name)
        || FIFO_ONLY.contains(&name)
        || READ_ONLY.contains(&name)
}

/// A parsed `RedrivePolicy`.
#[derive(Debug, Clone, PartialEq)]
pub struct RedrivePolicy {
    pub dead_letter_target_arn: String,
    pub max_receive_count: u32,
}

/// The settings a queue's attributes give, parsed once.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSettings {
    pub fifo: bool,
    pub delay_seconds: i64,
    pub maximum_message_size: i64,
    pub retention_seconds: i64,
    pub wait_seconds: i64,
    pub visibility_timeout: i64,
    pub content_based_deduplication: bool,
    pub dedup_per_group: bool,
    pub redrive: Option<RedrivePolicy>,
}

fn int_in(name: &str, value: &str, lo: i64, hi: i64) -> Result<i64, SqsError> {
    match value.trim().parse::<i64>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(SqsError::invalid_attribute_value(format!(
            "Invalid value for the parameter {name}."
        ))),
    }
}

fn boolean(name: &str, value: &str) -> Result<bool, SqsError> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(SqsError::invalid_attribute_value(format!(
            "Invalid value for the parameter {name}."
        ))),
    }
}

fn parse_redrive(value: &str) -> Result<RedrivePolicy, SqsError> {
    let bad = |reason: &str| {
        SqsError::invalid_attribute_value(format!(
            "Value {value} for parameter RedrivePolicy is invalid. Reason: {reason}"
        ))
    };
    let json: serde_json::Value =
        serde_json::from_str(value).map_err(|_| bad("Redrive policy is not a valid JSON map."))?;
    let Some(map) = json.as_object() else {
        return Err(bad("Redrive policy is not a valid JSON map."));
    };
    let arn = map
        .get("deadLetterTargetArn")
        .and_then(|v| v.as_str())
        .ok_or_else(|| {
            bad("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
        })?;
    let count = match map.get("maxReceiveCount") {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.parse::<i64>().ok(),
        None => {
            return Err(bad(
                "Redrive policy does not contain mandatory attribute: maxReceiveCount.",
            ));
        }
        _ => None,
    };
    let count = count.filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
        bad("Invalid value for maxReceiveCount: must be an integer from 1 to 1000.")
    })?;
    if !arn.starts_with("arn:") || arn.split(':').count() != 6 {
        return Err(bad("Invalid value for deadLetterTargetArn."));
    }
    Ok(RedrivePolicy {
        dead_letter_target_arn: arn.to_owned(),
        max_receive_count: u32::try_from(count).unwrap_or(1000),
    })
}

/// The queue name an ARN names (its last field).
pub fn queue_name_of_arn(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// Checks a queue name against AWS's rule for its kind.
pub fn check_name(name: &str, fifo: bool) -> Result<(), SqsError> {
    let stem = if fifo {
        name.strip_suffix(".fifo")
    } else {
        Some(name)
    };
    let ok = stem.is_some_and(|s| {
        !s.is_empty()
            && name.len() <= 80
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    });
    if ok {
        return Ok(());
    }
    Err(SqsError::invalid_parameter(
        if fifo || name.ends_with(".fifo") {
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length."
        } else {
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        },
    ))
}

/// Checks attributes given to CreateQueue or SetQueueAttributes and merges them over
/// `base` (the defaults, or the queue's current attributes).
pub fn merge(
    base: &BTreeMap<String, String>,
    given: &BTreeMap<String, String>,
    fifo: bool,
    creating: bool,
) -> Result<BTreeMap<String, String>, SqsError> {
    let mut out = base.clone();
    for (name, value) in given {
        let known = SETTABLE.iter().any(|(n, _)| n == name) || FIFO_ONLY.contains(&name.as_str());
        if !known {
            return Err(SqsError::invalid_attribute_name(name));
        }
        if FIFO_ONLY.contains(&name.as_str()) && !fifo {
            // FifoQueue=false is accepted on a standard queue at creation.
            if name == "FifoQueue" && creating && value.eq_ignore_ascii_case("false") {
                continue;
            }
            return Err(SqsError::invalid_attribute_name(name));
        }
        match name.as_str() {
            "DelaySeconds" => {
                int_in(name, value, 0, 900)?;
            }
            "MaximumMessageSize" => {
                int_in(name, value, 1024, MAX_MESSAGE_SIZE)?;
            }
            "MessageRetentionPeriod" => {
                int_in(name, value, 60, 1_209_600)?;
            }
            "ReceiveMessageWaitTimeSeconds" => {
                int_in(name, value, 0, 20)?;
            }
            "VisibilityTimeout" => {
                int_in(name, value, 0, 43_200)?;
            }
            "KmsDataKeyReusePeriodSeconds" => {
                int_in(name, value, 60, 86_400)?;
            }
            "SqsManagedSseEnabled" | "ContentBasedDeduplication" => {
                boolean(name, value)?;
            }
            "FifoQueue" => {
                if !creating {
                    return Err(SqsError::invalid_attribute_value(
                        "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.",
                    ));
                }
                if !boolean(name, value)? {
                    return Err(SqsError::invalid_attribute_value(
                        "Invalid value for the parameter FifoQueue.",
                    ));
                }
            }
            "DeduplicationScope" if !matches!(value.as_str(), "queue" | "messageGroup") => {
                return Err(SqsError::invalid_attribute_value(
                    "Invalid value for the parameter DeduplicationScope.",
                ));
            }
            "FifoThroughputLimit"
                if !matches!(value.as_str(), "perQueue" | "perMessageGroupId") =>
            {
                return Err(SqsError::invalid_attribute_value(
                    "Invalid value for the parameter FifoThroughputLimit.",
                ));
            }
            "RedrivePolicy" if !value.is_empty() => {
                parse_redrive(value)?;
            }
            _ => {}
        }
        if value.is_empty()
            && matches!(
                name.as_str(),
                "RedrivePolicy" | "RedriveAllowPolicy" | "Policy" | "KmsMasterKeyId"
            )
        {
            out.remove(name);
        } else {
            out.insert(name.clone(), value.clone());
        }
    }
    Ok(out)
}

/// The attributes of a new queue before the caller's are merged in.
pub fn defaults(fifo: bool) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = SETTABLE
        .iter()
        .filter_map(|(n, d)| d.map(|d| ((*n).to_owned(), d.to_owned())))
        .collect();
    if fifo {
        out.insert("FifoQueue".into(), "true".into());
        out.insert("ContentBasedDeduplication".into(), "false".into());
        out.insert("DeduplicationScope".into(), "queue".into());
        out.insert("FifoThroughputLimit".into(), "perQueue".into());
    }
    out
}

/// Reads the settings back from stored attributes (which `merge` checked).
pub fn settings(fifo: bool, attributes: &BTreeMap<String, String>) -> QueueSettings {
    let int = |name: &str, default: i64| {
        attributes
            .get(name)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(default)
    };
    QueueSettings {
        fifo,
        delay_seconds: int("DelaySeconds", 0),
        maximum_message_size: int("MaximumMessageSize", 262_144),
        retention_seconds: int("MessageRetentionPeriod", 345_600),
        wait_seconds: int("ReceiveMessageWaitTimeSeconds", 0),
        visibility_timeout: int("VisibilityTimeout", 30),
        content_based_deduplication: attributes
            .get("ContentBasedDeduplication")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        dedup_per_group: attributes
            .get("DeduplicationScope")
            .is_some_and(|v| v == "messageGroup"),
        redrive: attributes
            .get("RedrivePolicy")
            .and_then(|p| parse_redrive(p).ok()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn given(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn ranges_and_names_are_checked_with_aws_errors() {
        let base = defaults(false);
        for (name, bad) in [
            ("VisibilityTimeout", "43201"),
            ("MessageRetentionPeriod", "59"),
            ("DelaySeconds", "901"),
            ("MaximumMessageSize", "1023"),
            ("ReceiveMessageWaitTimeSeconds", "21"),
            ("VisibilityTimeout", "x"),
        ] {
            let e = merge(&base, &given(&[(name, bad)]), false, true).unwrap_err();
            assert_eq!(e.shape, "InvalidAttributeValue", "{name}={bad}");
            assert_eq!(
                e.message,
                format!("Invalid value for the parameter {name}.")
            );
        }
        let e = merge(&base, &given(&[("Nope", "1")]), false, true).unwrap_err();
        assert_eq!(e.shape, "InvalidAttributeName");
        let e = merge(
            &base,
            &given(&[("ContentBasedDeduplication", "true")]),
            false,
            true,
        )
        .unwrap_err();
        assert_eq!(
            e.shape, "InvalidAttributeName",
            "FIFO-only on a standard queue"
        );
        let ok = merge(
            &base,
            &given(&[("VisibilityTimeout", "43200")]),
            false,
            true,
        )
        .unwrap();
        assert_eq!(settings(false, &ok).visibility_timeout, 43_200);
    }

    #[test]
    fn redrive_policies_are_parsed_and_checked() {
        let good = r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:dlq","maxReceiveCount":"3"}"#;
        let merged = merge(
            &defaults(false),
            &given(&[("RedrivePolicy", good)]),
            false,
            true,
        )
        .unwrap();
        let s = settings(false, &merged);
        assert_eq!(
            s.redrive,
            Some(RedrivePolicy {
                dead_letter_target_arn: "arn:aws:sqs:us-east-1:123456789012:dlq".into(),
                max_receive_count: 3
            })
        );
        for bad in [
            "not json",
            r#"{"maxReceiveCount":3}"#,
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:dlq","maxReceiveCount":0}"#,
            r#"{"deadLetterTargetArn":"nope","maxReceiveCount":3}"#,
        ] {
            let e = merge(
                &defaults(false),
                &given(&[("RedrivePolicy", bad)]),
                false,
                true,
            )
            .unwrap_err();
            assert_eq!(e.shape, "InvalidAttributeValue", "{bad}");
        }
    }

    #[test]
    fn fifo_names_end_in_dot_fifo() {
        assert!(check_name("orders.fifo", true).is_ok());
        assert!(check_name("orders", true).is_err());
        assert!(check_name("orders.fifo", false).is_err());
        assert!(check_name("a b", false).is_err());
        assert!(check_name(&"a".repeat(81), false).is_err());
        assert!(check_name(&"a".repeat(80), false).is_ok());
    }
}
