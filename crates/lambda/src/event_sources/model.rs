//! A mapping's configuration and the checks CreateEventSourceMapping and
//! UpdateEventSourceMapping make on it, with Lambda's error names and messages. Pure:
//! the service supplies what it looked up (the queue's kind and visibility timeout, the
//! function's timeout).

use baton_events::Pattern;
use serde::{Deserialize, Serialize};

use super::errors::MappingError;

/// SQS's default batch size.
pub const DEFAULT_BATCH_SIZE: u32 = 10;
/// Largest batch without a batching window (and on a FIFO queue).
pub const MAX_UNWINDOWED_BATCH: u32 = 10;
pub const MAX_BATCH_SIZE: i64 = 10_000;
pub const MAX_WINDOW_SECONDS: i64 = 300;
/// Filters per mapping (Lambda's default quota).
pub const MAX_FILTERS: usize = 5;
/// Longest filter pattern (the API model's limit).
pub const MAX_PATTERN_CHARS: usize = 4096;
pub const REPORT_BATCH_ITEM_FAILURES: &str = "ReportBatchItemFailures";

/// One stored mapping: what the poller runs and what the API reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mapping {
    pub uuid: String,
    pub event_source_arn: String,
    /// The queue's name (the last part of the ARN).
    pub queue: String,
    pub function_name: String,
    pub function_arn: String,
    pub batch_size: u32,
    pub batching_window_seconds: u32,
    pub enabled: bool,
    /// The filter patterns' text, as given.
    #[serde(default)]
    pub filters: Vec<String>,
    /// `FunctionResponseTypes` holds `ReportBatchItemFailures`.
    #[serde(default)]
    pub report_batch_item_failures: bool,
    /// `ScalingConfig.MaximumConcurrency`, when set.
    #[serde(default)]
    pub maximum_concurrency: Option<u32>,
    /// Epoch milliseconds of the last change.
    pub last_modified_ms: i64,
}

/// The states a mapping reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappingState {
    Creating,
    Enabled,
    Disabled,
    Enabling,
    Disabling,
    Updating,
    Deleting,
}

impl MappingState {
    pub fn as_str(self) -> &'static str {
        match self {
            MappingState::Creating => "Creating",
            MappingState::Enabled => "Enabled",
            MappingState::Disabled => "Disabled",
            MappingState::Enabling => "Enabling",
            MappingState::Disabling => "Disabling",
            MappingState::Updating => "Updating",
            MappingState::Deleting => "Deleting",
        }
    }
}

impl Mapping {
    /// The state a stored mapping is in: Baton applies a change as soon as it is
    /// stored, so a mapping at rest is `Enabled` or `Disabled`.
    pub fn settled_state(&self) -> MappingState {
        if self.enabled {
            MappingState::Enabled
        } else {
            MappingState::Disabled
        }
    }

    /// Parsed filter patterns (validated when stored, so none fails here; one that
    /// somehow does is skipped rather than matching everything).
    pub fn patterns(&self) -> Vec<Pattern> {
        self.filters
            .iter()
            .filter_map(|p| Pattern::parse(p).ok())
            .collect()
    }
}

/// The configurable fields of a Create or Update request, each `None` when absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MappingChanges {
    pub enabled: Option<bool>,
    pub batch_size: Option<i64>,
    pub batching_window_seconds: Option<i64>,
    /// `Some(vec![])` clears the filters (`FilterCriteria: {}` or `{"Filters": []}`).
    /// A `None` inside is a filter without a `Pattern`.
    pub filters: Option<Vec<Option<String>>>,
    pub function_response_types: Option<Vec<String>>,
    /// `Some(None)`: `ScalingConfig: {}` (clears it).
    pub maximum_concurrency: Option<Option<i64>>,
}

/// A function as the API layer found it.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionTarget {
    pub name: String,
    pub arn: String,
    pub timeout_seconds: u32,
}

fn constraint(value: impl std::fmt::Display, field: &str, rule: &str) -> MappingError {
    MappingError::validation(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {rule}"
    ))
}

/// The declared constraints of the API model (ValidationException), checked before
/// anything else.
pub fn check_constraints(changes: &MappingChanges) -> Result<(), MappingError> {
    if let Some(b) = changes.batch_size {
        if b < 1 {
            return Err(constraint(
                b,
                "batchSize",
                "Member must have value greater than or equal to 1",
            ));
        }
        if b > MAX_BATCH_SIZE {
            return Err(constraint(
                b,
                "batchSize",
                "Member must have value less than or equal to 10000",
            ));
        }
    }
    if let Some(w) = changes.batching_window_seconds {
        if w < 0 {
            return Err(constraint(
                w,
                "maximumBatchingWindowInSeconds",
                "Member must have value greater than or equal to 0",
            ));
        }
        if w > MAX_WINDOW_SECONDS {
            return Err(constraint(
                w,
                "maximumBatchingWindowInSeconds",
                "Member must have value less than or equal to 300",
            ));
        }
    }
    if let Some(types) = &changes.function_response_types {
        if types.len() > 1 {
            return Err(constraint(
                format!("[{}]", types.join(", ")),
                "functionResponseTypes",
                "Member must have length less than or equal to 1",
            ));
        }
        if let Some(bad) = types.iter().find(|t| *t != REPORT_BATCH_ITEM_FAILURES) {
            return Err(constraint(
                format!("[{bad}]"),
                "functionResponseTypes",
                "Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]",
            ));
        }
    }
    if let Some(Some(c)) = changes.maximum_concurrency {
        if c < 2 {
            return Err(constraint(
                c,
                "scalingConfig.maximumConcurrency",
                "Member must have value greater than or equal to 2",
            ));
        }
        if c > 1000 {
            return Err(constraint(
                c,
                "scalingConfig.maximumConcurrency",
                "Member must have value less than or equal to 1000",
            ));
        }
    }
    if let Some(filters) = &changes.filters {
        for p in filters.iter().flatten() {
            if p.chars().count() > MAX_PATTERN_CHARS {
                return Err(constraint(
                    "[...]",
                    "filterCriteria.filters.member.pattern",
                    "Member must have length less than or equal to 4096",
                ));
            }
        }
    }
    Ok(())
}

/// Checks filter patterns with EventBridge's pattern rules, as Lambda does.
pub fn check_filters(filters: &[Option<String>]) -> Result<Vec<String>, MappingError> {
    if filters.len() > MAX_FILTERS {
        return Err(MappingError::invalid_parameter(format!(
            "The number of filters ({}) exceeds the maximum of {MAX_FILTERS}.",
            filters.len()
        )));
    }
    filters
        .iter()
        .map(|f| match f {
            Some(p) if !p.trim().is_empty() && Pattern::parse(p).is_ok() => Ok(p.clone()),
            _ => Err(MappingError::invalid_parameter(
                "Invalid filter pattern definition.",
            )),
        })
        .collect()
}

/// Applies `changes` to `mapping` (a new mapping starts from the defaults) and checks
/// the rules that span fields, for a queue of kind `fifo`.
pub fn apply_changes(
    mapping: &mut Mapping,
    changes: &MappingChanges,
    fifo: bool,
) -> Result<(), MappingError> {
    check_constraints(changes)?;
    let batch_size = changes.batch_size.map_or(mapping.batch_size, |b| {
        u32::try_from(b).unwrap_or(DEFAULT_BATCH_SIZE)
    });
    let window = changes
        .batching_window_seconds
        .map_or(mapping.batching_window_seconds, |w| {
            u32::try_from(w).unwrap_or(0)
        });
    if batch_size > MAX_UNWINDOWED_BATCH && window == 0 {
        return Err(MappingError::invalid_parameter(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
        ));
    }
    // (With no window allowed on a FIFO queue, the rule above also keeps FIFO batches
    // at 10 or fewer.)
    if fifo && window > 0 {
        return Err(MappingError::invalid_parameter(
            "Batching window is not supported for FIFO queues",
        ));
    }
    let filters = match &changes.filters {
        Some(f) => Some(check_filters(f)?),
        None => None,
    };
    mapping.batch_size = batch_size;
    mapping.batching_window_seconds = window;
    if let Some(f) = filters {
        mapping.filters = f;
    }
    if let Some(e) = changes.enabled {
        mapping.enabled = e;
    }
    if let Some(types) = &changes.function_response_types {
        mapping.report_batch_item_failures = types.iter().any(|t| t == REPORT_BATCH_ITEM_FAILURES);
    }
    if let Some(c) = changes.maximum_concurrency {
        mapping.maximum_concurrency = c.and_then(|c| u32::try_from(c).ok());
    }
    Ok(())
}

/// The queue's visibility timeout must cover the function's timeout, or a batch would
/// become visible to other consumers while the function still runs.
pub fn check_visibility(
    visibility_timeout_seconds: i64,
    function: &FunctionTarget,
) -> Result<(), MappingError> {
    if visibility_timeout_seconds < i64::from(function.timeout_seconds) {
        return Err(MappingError::invalid_parameter(format!(
            "Queue visibility timeout: {visibility_timeout_seconds} seconds is less than Function timeout: {} seconds",
            function.timeout_seconds
        )));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fresh() -> Mapping {
        Mapping {
            uuid: "u".into(),
            event_source_arn: "arn:aws:sqs:us-east-1:123456789012:q".into(),
            queue: "q".into(),
            function_name: "f".into(),
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:f".into(),
            batch_size: DEFAULT_BATCH_SIZE,
            batching_window_seconds: 0,
            enabled: true,
            filters: vec![],
            report_batch_item_failures: false,
            maximum_concurrency: None,
            last_modified_ms: 0,
        }
    }

    #[test]
    fn large_batches_need_a_window() {
        let mut m = fresh();
        let e = apply_changes(
            &mut m,
            &MappingChanges {
                batch_size: Some(11),
                ..Default::default()
            },
            false,
        )
        .unwrap_err();
        assert_eq!(e.code, "InvalidParameterValueException");
        assert_eq!(
            e.message,
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"
        );
        apply_changes(
            &mut m,
            &MappingChanges {
                batch_size: Some(500),
                batching_window_seconds: Some(1),
                ..Default::default()
            },
            false,
        )
        .unwrap();
        assert_eq!((m.batch_size, m.batching_window_seconds), (500, 1));
        // Removing the window later is refused while the batch stays large.
        assert!(
            apply_changes(
                &mut m,
                &MappingChanges {
                    batching_window_seconds: Some(0),
                    ..Default::default()
                },
                false,
            )
            .is_err()
        );
    }

    #[test]
    fn declared_ranges_are_validation_errors() {
        let e = check_constraints(&MappingChanges {
            batch_size: Some(10_001),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.code, "ValidationException");
        assert!(e.message.contains("at 'batchSize'"), "{}", e.message);
        let e = check_constraints(&MappingChanges {
            batching_window_seconds: Some(301),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.message.contains("maximumBatchingWindowInSeconds"));
        let e = check_constraints(&MappingChanges {
            function_response_types: Some(vec!["Nope".into()]),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.message.contains("ReportBatchItemFailures"));
        let e = check_constraints(&MappingChanges {
            maximum_concurrency: Some(Some(1)),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.message.contains("maximumConcurrency"));
    }

    #[test]
    fn filters_are_event_patterns() {
        assert!(check_filters(&[Some(r#"{"body":{"k":["v"]}}"#.into())]).is_ok());
        for bad in [
            None,
            Some(String::new()),
            Some("{".into()),
            Some(r#"{"a":"b"}"#.into()),
        ] {
            let e = check_filters(std::slice::from_ref(&bad)).unwrap_err();
            assert_eq!(
                (e.code, e.message.as_str()),
                (
                    "InvalidParameterValueException",
                    "Invalid filter pattern definition."
                ),
                "{bad:?}"
            );
        }
        let six: Vec<Option<String>> = (0..6)
            .map(|i| Some(format!(r#"{{"body":[{i}]}}"#)))
            .collect();
        assert_eq!(
            check_filters(&six).unwrap_err().code,
            "InvalidParameterValueException"
        );
    }

    #[test]
    fn fifo_queues_take_small_unwindowed_batches() {
        let mut m = fresh();
        assert!(
            apply_changes(
                &mut m,
                &MappingChanges {
                    batching_window_seconds: Some(5),
                    ..Default::default()
                },
                true,
            )
            .is_err()
        );
        apply_changes(
            &mut m,
            &MappingChanges {
                batch_size: Some(3),
                ..Default::default()
            },
            true,
        )
        .unwrap();
        assert_eq!(m.batch_size, 3);
    }

    #[test]
    fn the_visibility_timeout_must_cover_the_function_timeout() {
        let f = FunctionTarget {
            name: "f".into(),
            arn: "arn".into(),
            timeout_seconds: 180,
        };
        let e = check_visibility(60, &f).unwrap_err();
        assert_eq!(
            e.message,
            "Queue visibility timeout: 60 seconds is less than Function timeout: 180 seconds"
        );
        assert!(check_visibility(180, &f).is_ok());
    }
}
