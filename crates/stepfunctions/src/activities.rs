//! Activities and task tokens: workers poll with GetActivityTask and answer with
//! SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat; `.waitForTaskToken` tasks are
//! answered the same way.
//!
//! A worker gets a task only together with the step that records `ActivityStarted`:
//! the task row is claimed (leased, so concurrent pollers skip it), then the execution
//! applies `TaskStarted` and deletes the row in one commit. A token's answer is applied
//! and committed before SendTaskSuccess returns.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::store::{ActivityRecord, Tag};
use baton_exec::{Input, TaskKind, token};
use baton_platform::store::StoreError;
use serde_json::Value;
use tokio::sync::Notify;

use crate::arn::{self, ArnKind};
use crate::engine::{self, Consume, Delivery, task_wait};
use crate::machines::{MAX_TAGS, too_many_tags};
use crate::queries::{Page, page_size, parse_token, token as page_token};
use crate::{MAX_PAYLOAD_BYTES, SfnError, StepFunctions};

/// How long a claimed activity task is held for the worker that claimed it before
/// another poller may take it (covers a crash between the claim and its commit).
const ACTIVITY_LEASE_MILLIS: i64 = 30_000;

/// Pollers waiting per activity, woken when a task is scheduled.
#[derive(Default)]
pub(crate) struct Waiters {
    by_activity: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Waiters {
    fn get(&self, activity: &str) -> Arc<Notify> {
        let mut map = self.by_activity.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(activity.to_owned()).or_default().clone()
    }

    pub fn wake(&self, activity: &str) {
        let map = self.by_activity.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get(activity) {
            n.notify_waiters();
        }
    }
}

/// What GetActivityTask hands a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityTaskAssignment {
    pub task_token: String,
    /// The task's input as JSON text.
    pub input: String,
}

/// Which answer a token carries.
#[derive(Clone)]
enum Answer {
    Success(Value),
    Failure {
        error: Option<String>,
        cause: Option<String>,
    },
    Heartbeat,
}

impl StepFunctions {
    /// CreateActivity: returns the existing activity when the name is taken (AWS is
    /// idempotent here).
    pub async fn create_activity(
        &self,
        name: &str,
        tags: Vec<Tag>,
    ) -> Result<ActivityRecord, SfnError> {
        arn::check_name(name)?;
        let arn = self.inner.scope.activity_arn(name);
        if tags.len() > MAX_TAGS {
            return Err(too_many_tags(&arn));
        }
        let record = ActivityRecord {
            arn: arn.clone(),
            name: name.to_owned(),
            created_millis: self.now(),
        };
        match self.inner.store.insert_activity(&record, &tags).await {
            Ok(()) => Ok(record),
            Err(StoreError::AlreadyExists(_)) => self.describe_activity(&arn).await,
            Err(e) => Err(e.into()),
        }
    }

    pub async fn describe_activity(&self, arn: &str) -> Result<ActivityRecord, SfnError> {
        arn::parse(arn, &[ArnKind::Activity])?;
        self.inner
            .store
            .activity(arn)
            .await?
            .ok_or_else(|| SfnError::activity_does_not_exist(arn))
    }

    pub async fn delete_activity(&self, arn: &str) -> Result<(), SfnError> {
        arn::parse(arn, &[ArnKind::Activity])?;
        self.inner.store.delete_activity(arn).await?;
        Ok(())
    }

    pub async fn list_activities(
        &self,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<Page<ActivityRecord>, SfnError> {
        let limit = page_size(max_results)?;
        let after = next_token.map(|t| parse_token(t, "ac")).transpose()?;
        let mut items = self
            .inner
            .store
            .list_activities(after.as_deref(), limit + 1)
            .await?;
        let next_token = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|a| page_token("ac", &a.arn))
        } else {
            None
        };
        Ok(Page { items, next_token })
    }

    /// GetActivityTask: waits up to the poll time for a task of the activity. `None`
    /// means none came (AWS answers with an empty token).
    pub async fn get_activity_task(
        &self,
        activity_arn: &str,
        worker_name: Option<String>,
    ) -> Result<Option<ActivityTaskAssignment>, SfnError> {
        self.describe_activity(activity_arn).await?;
        let inner = &self.inner;
        let deadline = Instant::now() + Duration::from_millis(inner.config.activity_poll_millis);
        let notify = inner.activity_waiters.get(activity_arn);
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            while let Some(task) = inner
                .store
                .claim_activity_task(
                    activity_arn,
                    &inner.config.node_id,
                    inner.now(),
                    ACTIVITY_LEASE_MILLIS,
                )
                .await?
            {
                let started = Arc::new(AtomicBool::new(false));
                let flag = started.clone();
                let worker = worker_name.clone();
                let task_id = task.task_id;
                let consume = Consume {
                    work: Vec::new(),
                    activity_task: Some(task_id),
                };
                let delivery = engine::deliver(inner, &task.execution_arn, consume, move |live| {
                    flag.store(false, Ordering::SeqCst);
                    Ok(match task_wait(&live.exec, task_id) {
                        Some(w) if !w.started => {
                            flag.store(true, Ordering::SeqCst);
                            vec![Input::TaskStarted {
                                task_id,
                                worker_name: worker.clone(),
                            }]
                        }
                        _ => Vec::new(),
                    })
                })
                .await?;
                if matches!(delivery, Delivery::Applied { .. }) && started.load(Ordering::SeqCst) {
                    return Ok(Some(ActivityTaskAssignment {
                        task_token: task.token,
                        input: task.input,
                    }));
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            // Other nodes do not wake us: look again every second.
            let wait = (deadline - now).min(Duration::from_secs(1));
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    pub async fn send_task_success(&self, task_token: &str, output: &str) -> Result<(), SfnError> {
        if output.len() > MAX_PAYLOAD_BYTES {
            return Err(SfnError::validation(format!(
                "1 validation error detected: Value at 'output' failed to satisfy constraint: \
                 Member must have length less than or equal to {MAX_PAYLOAD_BYTES}"
            )));
        }
        let value: Value = serde_json::from_str(output)
            .map_err(|e| SfnError::new("InvalidOutput", format!("Invalid Output: '{e}'")))?;
        self.answer(task_token, Answer::Success(value)).await
    }

    pub async fn send_task_failure(
        &self,
        task_token: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<(), SfnError> {
        self.answer(task_token, Answer::Failure { error, cause })
            .await
    }

    pub async fn send_task_heartbeat(&self, task_token: &str) -> Result<(), SfnError> {
        self.answer(task_token, Answer::Heartbeat).await
    }

    async fn answer(&self, task_token: &str, answer: Answer) -> Result<(), SfnError> {
        let (execution_arn, task_id) =
            token::decode(task_token).ok_or_else(|| SfnError::invalid_token("Invalid token"))?;
        if arn::parse(&execution_arn, &[ArnKind::Execution]).is_err() {
            return Err(SfnError::invalid_token("Invalid token"));
        }
        let token_owned = task_token.to_owned();
        let delivery = engine::deliver(
            &self.inner,
            &execution_arn,
            Consume::default(),
            move |live| {
                let Some(wait) = task_wait(&live.exec, task_id) else {
                    return Err(SfnError::task_timed_out());
                };
                if wait.token.as_deref() != Some(token_owned.as_str()) {
                    return Err(SfnError::invalid_token("Invalid token"));
                }
                let mut inputs = Vec::new();
                // A callback can beat the record of its own call: mark the task started first.
                if !wait.started && !matches!(wait.kind, TaskKind::Activity { .. }) {
                    inputs.push(Input::TaskStarted {
                        task_id,
                        worker_name: None,
                    });
                }
                inputs.push(match answer.clone() {
                    Answer::Success(output) => Input::TaskSucceeded { task_id, output },
                    Answer::Failure { error, cause } => Input::TaskFailed {
                        task_id,
                        error,
                        cause,
                    },
                    Answer::Heartbeat => Input::TaskHeartbeat { task_id },
                });
                Ok(inputs)
            },
        )
        .await?;
        match delivery {
            Delivery::Applied { .. } => Ok(()),
            Delivery::Finished(_) => Err(SfnError::task_timed_out()),
            Delivery::Missing => Err(SfnError::invalid_token("Invalid token")),
        }
    }
}
