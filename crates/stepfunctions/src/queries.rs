//! Reading executions back: DescribeExecution, ListExecutions, GetExecutionHistory,
//! DescribeStateMachineForExecution, and the opaque page tokens the list calls hand out.

use crate::store::{
    ExecutionFilter, ExecutionId, ExecutionRecord, MachineType, RevisionRecord, RunStatus, Tag,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use baton_exec::HistoryEvent;

use crate::arn::{self, ArnKind};
use crate::{SfnError, StepFunctions};

/// The page size when the caller asks for none (or 0), and the most it may ask for.
pub const DEFAULT_PAGE_SIZE: usize = 100;
pub const MAX_PAGE_SIZE: usize = 1_000;

/// Executions that failed, timed out or were aborted can be redriven this long after
/// they stopped (AWS: 14 days).
pub const REDRIVE_WINDOW_MILLIS: i64 = 14 * 24 * 3_600 * 1_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

pub type ExecutionPage = Page<ExecutionRecord>;

#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPage {
    pub events: Vec<HistoryEvent>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedriveStatus {
    Redrivable,
    NotRedrivable,
}

impl RedriveStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RedriveStatus::Redrivable => "REDRIVABLE",
            RedriveStatus::NotRedrivable => "NOT_REDRIVABLE",
        }
    }
}

/// DescribeExecution's answer: the stored row and whether it may be redriven.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionDescription {
    pub record: ExecutionRecord,
    pub redrive_status: RedriveStatus,
    pub redrive_status_reason: Option<String>,
}

/// Whether a redrive is allowed now, and why not.
pub(crate) fn redrive_status(e: &ExecutionRecord, now: i64) -> (RedriveStatus, Option<String>) {
    match e.status {
        RunStatus::Running | RunStatus::Succeeded => (
            RedriveStatus::NotRedrivable,
            Some(format!(
                "Execution is {} and cannot be redriven",
                e.status.as_str()
            )),
        ),
        _ => {
            let stopped = e.stop_millis.unwrap_or(e.start_millis);
            if now.saturating_sub(stopped) > REDRIVE_WINDOW_MILLIS {
                (
                    RedriveStatus::NotRedrivable,
                    Some(
                        "Execution can no longer be redriven: it stopped more than 14 days ago"
                            .into(),
                    ),
                )
            } else {
                (RedriveStatus::Redrivable, None)
            }
        }
    }
}

/// An opaque page token: `kind:cursor`, base64url.
pub(crate) fn token(kind: &str, cursor: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{cursor}"))
}

pub(crate) fn parse_token(t: &str, kind: &str) -> Result<String, SfnError> {
    let bad = || SfnError::invalid_token("Invalid token");
    let bytes = URL_SAFE_NO_PAD.decode(t).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (k, cursor) = text.split_once(':').ok_or_else(bad)?;
    if k != kind {
        return Err(bad());
    }
    Ok(cursor.to_owned())
}

pub(crate) fn page_size(max_results: Option<i64>) -> Result<usize, SfnError> {
    match max_results {
        None | Some(0) => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if (1..=MAX_PAGE_SIZE as i64).contains(&n) => Ok(n as usize),
        Some(n) => Err(SfnError::validation(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy \
             constraint: Member must have value less than or equal to {MAX_PAGE_SIZE}"
        ))),
    }
}

impl StepFunctions {
    pub(crate) async fn execution_record(&self, arn: &str) -> Result<ExecutionRecord, SfnError> {
        arn::parse(arn, &[ArnKind::Execution])?;
        self.inner
            .store
            .execution(arn)
            .await?
            .ok_or_else(|| SfnError::execution_does_not_exist(arn))
    }

    pub async fn describe_execution(&self, arn: &str) -> Result<ExecutionDescription, SfnError> {
        let record = self.execution_record(arn).await?;
        let (redrive_status, redrive_status_reason) = redrive_status(&record, self.inner.now());
        Ok(ExecutionDescription {
            record,
            redrive_status,
            redrive_status_reason,
        })
    }

    pub async fn list_executions(
        &self,
        state_machine_arn: Option<&str>,
        map_run_arn: Option<&str>,
        status: Option<&str>,
        redrive_filter: Option<&str>,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<ExecutionPage, SfnError> {
        let limit = page_size(max_results)?;
        let machine_arn = match (state_machine_arn, map_run_arn) {
            (Some(m), None) => m,
            (None, Some(run)) => {
                return Err(SfnError::resource_not_found(run));
            }
            _ => {
                return Err(SfnError::validation(
                    "Must provide a StateMachine ARN or MapRun ARN",
                ));
            }
        };
        let machine = self.describe_state_machine(machine_arn).await?;
        if machine.machine_type == MachineType::Express {
            return Err(SfnError::new(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            ));
        }
        let status = match status {
            None => None,
            // Nothing waits for a Map Run redrive here.
            Some("PENDING_REDRIVE") => {
                return Ok(Page {
                    items: Vec::new(),
                    next_token: None,
                });
            }
            Some(s) => Some(RunStatus::parse(s).ok_or_else(|| {
                SfnError::validation(format!(
                    "1 validation error detected: Value '{s}' at 'statusFilter' failed to \
                     satisfy constraint: Member must satisfy enum value set: [SUCCEEDED, \
                     TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]"
                ))
            })?),
        };
        let redriven = match redrive_filter {
            None => None,
            Some("REDRIVEN") => Some(true),
            Some("NOT_REDRIVEN") => Some(false),
            Some(other) => {
                return Err(SfnError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'redriveFilter' failed to \
                     satisfy constraint: Member must satisfy enum value set: [REDRIVEN, \
                     NOT_REDRIVEN]"
                )));
            }
        };
        let before = match next_token {
            Some(t) => Some(ExecutionId(
                parse_token(t, "ex")?
                    .parse()
                    .map_err(|_| SfnError::invalid_token("Invalid token"))?,
            )),
            None => None,
        };
        let filter = ExecutionFilter {
            state_machine_arn: Some(machine_arn.to_owned()),
            status,
            redriven,
        };
        let mut items = self
            .inner
            .store
            .list_executions(&filter, before, limit + 1)
            .await?;
        let next_token = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|e| token("ex", &e.id.0.to_string()))
        } else {
            None
        };
        Ok(Page { items, next_token })
    }

    pub async fn execution_history(
        &self,
        arn: &str,
        max_results: Option<i64>,
        reverse_order: bool,
        next_token: Option<&str>,
    ) -> Result<HistoryPage, SfnError> {
        let limit = page_size(max_results)?;
        let record = self.execution_record(arn).await?;
        let cursor = match next_token {
            Some(t) => Some(
                parse_token(t, if reverse_order { "hr" } else { "h" })?
                    .parse::<u64>()
                    .map_err(|_| SfnError::invalid_token("Invalid token"))?,
            ),
            None => None,
        };
        let rows = self
            .inner
            .store
            .history(record.id, cursor, reverse_order, limit + 1)
            .await?;
        let more = rows.len() > limit;
        let mut events = Vec::with_capacity(rows.len().min(limit));
        for row in rows.into_iter().take(limit) {
            let event: HistoryEvent = serde_json::from_str(&row.body)
                .map_err(|e| SfnError::internal(format!("stored history event: {e}")))?;
            events.push(event);
        }
        let next_token = if more {
            events
                .last()
                .map(|e| token(if reverse_order { "hr" } else { "h" }, &e.id.to_string()))
        } else {
            None
        };
        Ok(HistoryPage { events, next_token })
    }

    /// The definition and settings the execution runs with.
    pub async fn describe_state_machine_for_execution(
        &self,
        arn: &str,
    ) -> Result<RevisionRecord, SfnError> {
        let record = self.execution_record(arn).await?;
        self.inner
            .store
            .revision(&record.revision_id)
            .await?
            .ok_or_else(|| SfnError::internal("the execution's revision is missing"))
    }

    // ----- tags -------------------------------------------------------------------------

    /// The resource a tag call names must exist: a state machine or an activity.
    async fn check_taggable(&self, arn: &str) -> Result<(), SfnError> {
        let parsed = arn::parse(arn, &[ArnKind::StateMachine, ArnKind::Activity])?;
        let exists = match parsed.kind {
            ArnKind::StateMachine => self.inner.store.state_machine(arn).await?.is_some(),
            _ => self.inner.store.activity(arn).await?.is_some(),
        };
        if exists {
            Ok(())
        } else {
            Err(SfnError::resource_not_found(arn))
        }
    }

    pub async fn tag_resource(&self, arn: &str, tags: Vec<Tag>) -> Result<(), SfnError> {
        self.check_taggable(arn).await?;
        let existing = self.inner.store.tags(arn).await?;
        let mut keys: std::collections::BTreeSet<&str> =
            existing.iter().map(|t| t.key.as_str()).collect();
        keys.extend(tags.iter().map(|t| t.key.as_str()));
        if keys.len() > crate::machines::MAX_TAGS {
            return Err(crate::machines::too_many_tags(arn));
        }
        self.inner.store.tag_resource(arn, &tags).await?;
        Ok(())
    }

    pub async fn untag_resource(&self, arn: &str, keys: Vec<String>) -> Result<(), SfnError> {
        self.check_taggable(arn).await?;
        self.inner.store.untag_resource(arn, &keys).await?;
        Ok(())
    }

    pub async fn list_tags(&self, arn: &str) -> Result<Vec<Tag>, SfnError> {
        self.check_taggable(arn).await?;
        Ok(self.inner.store.tags(arn).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_other_kinds() {
        let t = token("ex", "42");
        assert_eq!(parse_token(&t, "ex").ok(), Some("42".to_owned()));
        assert!(parse_token(&t, "sm").is_err());
        assert!(parse_token("%%%", "ex").is_err());
    }

    #[test]
    fn page_sizes_default_and_cap() {
        assert_eq!(page_size(None).ok(), Some(DEFAULT_PAGE_SIZE));
        assert_eq!(page_size(Some(0)).ok(), Some(DEFAULT_PAGE_SIZE));
        assert_eq!(page_size(Some(7)).ok(), Some(7));
        assert!(page_size(Some(1001)).is_err());
    }
}
