//! The delivery worker: claims due deliveries (with a lease), performs them, and
//! finishes, retries or dead-letters each.
//!
//! At-least-once, keyed so a repeat is harmless: a state machine execution is started
//! under a name derived from the delivery id (StartExecution is idempotent by name and
//! input); a forward to another bus commits the forwarded event's deliveries in the same
//! transaction that removes this delivery; HTTP endpoints may see a request twice after
//! a crash, as with EventBridge; a Lambda target's `Event` invocation is queued durably
//! by the functions runtime and may be queued twice after a crash (Lambda's async
//! invocations are at-least-once too).
//!
//! Retries: exponential backoff with jitter (1 s doubling to 8 minutes, each delay drawn
//! from its upper half), until `MaximumRetryAttempts` retries or
//! `MaximumEventAgeInSeconds` (defaults 185 and 24 h), then the target's dead-letter
//! destination. Failures EventBridge does not retry skip straight to it.

use std::sync::Arc;
use std::time::Duration;

use crate::store::{DeadLetter, DeliveryRecord, Finish, Ingest};
use baton_platform::clock::Millis;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::arn::TargetKind;
use super::error::BusError;
use super::fifo_order::Turn;
use super::ingest::{Arrival, plan_arrival};
use super::{EventBuses, derived_uuid};
use baton_platform::bridge::queues::{MessageAttribute, SendRequest};

/// Deliveries claimed per store call.
const CLAIM_BATCH: usize = 256;
/// The longest wait between two retries.
const MAX_BACKOFF_MS: i64 = 8 * 60 * 1000;
/// The idle worker looks for due work at least this often (other nodes, clock jumps).
const IDLE_POLL_MS: i64 = 1_000;

/// Why an attempt failed, and whether EventBridge would try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub retriable: bool,
    pub code: String,
    pub message: String,
}

impl Failure {
    pub fn retriable(code: impl Into<String>, message: impl Into<String>) -> Failure {
        Failure {
            retriable: true,
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn permanent(code: impl Into<String>, message: impl Into<String>) -> Failure {
        Failure {
            retriable: false,
            code: code.into(),
            message: message.into(),
        }
    }
}

/// The wait before retry number `retry` (1-based) of delivery `id`.
pub fn backoff_ms(id: &str, retry: u32) -> Millis {
    let exp = retry.saturating_sub(1).min(30);
    let ceiling = 1_000i64.saturating_mul(1i64 << exp).min(MAX_BACKOFF_MS);
    // Deterministic jitter from the id and attempt: no generator to inject.
    let h = derived_uuid(&format!("{id}#{retry}"));
    let fraction = u64::from_str_radix(&h[..4], 16).unwrap_or(0) as i64; // 0..65535
    ceiling / 2 + (ceiling / 2) * fraction / 65_535
}

/// StartExecution errors that another attempt cannot fix.
fn permanent_start_error(code: &str) -> bool {
    matches!(
        code,
        "StateMachineDoesNotExist"
            | "InvalidArn"
            | "InvalidExecutionInput"
            | "InvalidName"
            | "StateMachineDeleting"
            | "ValidationException"
    )
}

/// Invoke errors that another attempt cannot fix (EventBridge sends these straight to
/// the dead-letter queue).
fn permanent_invoke_error(code: &str) -> bool {
    matches!(
        code,
        "ResourceNotFoundException"
            | "RequestTooLargeException"
            | "InvalidParameterValueException"
            | "ValidationException"
    )
}

impl EventBuses {
    /// Claims what is due now and performs it, waiting for every attempt to end.
    /// Returns how many deliveries were attempted. (The worker does the same without
    /// waiting; tests call this to step deterministically.)
    pub async fn deliver_due(&self) -> Result<usize, BusError> {
        let now = self.now_ms();
        let lease = i64::try_from(self.inner.config.lease.as_millis()).unwrap_or(60_000);
        let claimed = self
            .inner
            .store
            .claim_due(now, CLAIM_BATCH, now.saturating_add(lease))
            .await?;
        let n = claimed.len();
        let mut handles = Vec::with_capacity(n);
        for d in claimed {
            let bus = self.clone();
            let turn = self.inner.fifo_order.enter(&d);
            handles.push(tokio::spawn(
                async move { bus.perform_in_turn(d, turn).await },
            ));
        }
        for h in handles {
            let _ = h.await;
        }
        Ok(n)
    }

    /// [`EventBuses::perform`] after the delivery's FIFO group predecessor, if any.
    async fn perform_in_turn(&self, d: DeliveryRecord, turn: Option<Turn>) {
        match turn {
            Some(mut turn) => {
                turn.wait().await;
                self.perform(d).await;
                self.inner.fifo_order.leave(turn);
            }
            None => self.perform(d).await,
        }
    }

    /// One attempt and its bookkeeping.
    pub(crate) async fn perform(&self, d: DeliveryRecord) {
        let now = self.now_ms();
        let max_age_ms = i64::from(d.maximum_event_age_in_seconds).saturating_mul(1_000);
        let result = if d.attempts > 0 && now.saturating_sub(d.ingested_ms) >= max_age_ms {
            // Too old to try again: give up with the last error.
            self.give_up(
                &d,
                Failure::retriable(
                    "RetryTimeout",
                    d.last_error
                        .clone()
                        .unwrap_or_else(|| "event too old".into()),
                ),
                Some("MaximumEventAgeInSeconds"),
            )
            .await
        } else {
            match self.attempt(&d).await {
                Ok(follow_up) => {
                    let wake = !follow_up.deliveries.is_empty();
                    let r = self
                        .inner
                        .store
                        .finish(
                            &d.id,
                            Finish {
                                dead_letter: None,
                                follow_up,
                            },
                        )
                        .await
                        .map(|_| ());
                    if wake {
                        self.inner.wake_deliveries.notify_one();
                    }
                    r.map_err(BusError::from)
                }
                Err(failure) => self.after_failure(&d, failure).await,
            }
        };
        if let Err(e) = result {
            // The lease runs out and the delivery is attempted again.
            tracing::warn!(delivery = %d.id, error = %e, "could not record a delivery's outcome");
        }
    }

    async fn after_failure(&self, d: &DeliveryRecord, failure: Failure) -> Result<(), BusError> {
        tracing::debug!(delivery = %d.id, code = %failure.code, message = %failure.message, "delivery failed");
        if !failure.retriable {
            return self.give_up(d, failure, None).await;
        }
        let now = self.now_ms();
        let max_age_ms = i64::from(d.maximum_event_age_in_seconds).saturating_mul(1_000);
        if d.attempts >= d.maximum_retry_attempts {
            return self.give_up(d, failure, Some("MaximumRetryAttempts")).await;
        }
        if now.saturating_sub(d.ingested_ms) >= max_age_ms {
            return self
                .give_up(d, failure, Some("MaximumEventAgeInSeconds"))
                .await;
        }
        let retry = d.attempts + 1;
        let due = now.saturating_add(backoff_ms(&d.id, retry));
        self.inner
            .store
            .retry_later(
                &d.id,
                retry,
                due,
                &format!("{}: {}", failure.code, failure.message),
            )
            .await?;
        Ok(())
    }

    /// Ends a delivery that will not succeed: to its dead-letter queue if it has one (sent
    /// to the SQS queue, or kept in the store's dead-letter table when that queue cannot
    /// take it), else dropped.
    async fn give_up(
        &self,
        d: &DeliveryRecord,
        failure: Failure,
        exhausted: Option<&str>,
    ) -> Result<(), BusError> {
        let dead_letter = d.dead_letter_arn.as_ref().map(|arn| DeadLetter {
            queue_arn: arn.clone(),
            delivery_id: d.id.clone(),
            event_id: d.event_id.clone(),
            body: d.body.clone(),
            rule_arn: d.rule_arn.clone(),
            target_arn: d.target_arn.clone(),
            error_code: failure.code.clone(),
            error_message: failure.message.clone(),
            exhausted_retry_condition: exhausted.map(str::to_owned),
            retry_attempts: d.attempts,
            at_ms: self.now_ms(),
        });
        if dead_letter.is_none() {
            tracing::info!(delivery = %d.id, code = %failure.code, message = %failure.message, "event dropped after failed delivery");
        }
        // Sent before the delivery is finished: a crash in between sends it again
        // (at-least-once, like every delivery), never loses it.
        let dead_letter = match dead_letter {
            Some(letter) if self.send_dead_letter(&letter).await => None,
            other => other,
        };
        self.inner
            .store
            .finish(
                &d.id,
                Finish {
                    dead_letter,
                    follow_up: Ingest::default(),
                },
            )
            .await?;
        Ok(())
    }

    /// Performs one delivery; `Ok` carries what must be committed with its removal.
    async fn attempt(&self, d: &DeliveryRecord) -> Result<Ingest, Failure> {
        match self.arns().target_kind(&d.target_arn) {
            TargetKind::StateMachine => {
                let Some(starter) = self.inner.starter.get() else {
                    return Err(Failure::retriable(
                        "ServiceUnavailable",
                        "Step Functions is not connected to the event bus",
                    ));
                };
                let name = derived_uuid(&d.id);
                match starter
                    .start_execution(&d.target_arn, &d.body, Some(&name))
                    .await
                {
                    Ok(_) => Ok(Ingest::default()),
                    // Only a repeat of this delivery can have used this name.
                    Err(e) if e.code == "ExecutionAlreadyExists" => Ok(Ingest::default()),
                    Err(e) if permanent_start_error(&e.code) => {
                        Err(Failure::permanent(e.code, e.message))
                    }
                    Err(e) => Err(Failure::retriable(e.code, e.message)),
                }
            }
            TargetKind::EventBus(name) => self.forward(d, &name),
            TargetKind::ApiDestination(name) => self
                .invoke_api_destination(&name, d)
                .await
                .map(|()| Ingest::default()),
            TargetKind::Queue => self.send_to_queue(d).await.map(|()| Ingest::default()),
            TargetKind::Unsupported(service) if service == "lambda" => {
                self.invoke_function(d).await.map(|()| Ingest::default())
            }
            TargetKind::Unsupported(service) => Err(Failure::permanent(
                "UnsupportedTarget",
                format!("Baton does not deliver to {service} targets yet"),
            )),
        }
    }

    /// A Lambda target: an asynchronous (`Event`) invocation with the event as its
    /// payload. Delivered once the functions runtime has durably queued it; the function's
    /// own failures are then Lambda's to retry (its async retry policy), as on AWS.
    async fn invoke_function(&self, d: &DeliveryRecord) -> Result<(), Failure> {
        let Some(functions) = self.inner.functions.get() else {
            return Err(Failure::retriable(
                "ServiceUnavailable",
                "Functions are not connected to the event bus",
            ));
        };
        match functions
            .invoke_async(&d.target_arn, d.body.clone().into_bytes())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if permanent_invoke_error(&e.code) => Err(Failure::permanent(e.code, e.message)),
            Err(e) => Err(Failure::retriable(e.code, e.message)),
        }
    }

    /// An SQS target: SendMessage with the rendered input as the body (and the target's
    /// `MessageGroupId` for a FIFO queue). A queue that does not exist, or refuses the
    /// message, is not retried (the event goes to the dead-letter queue), as on AWS.
    async fn send_to_queue(&self, d: &DeliveryRecord) -> Result<(), Failure> {
        let Some(queues) = self.inner.queues.get() else {
            return Err(Failure::retriable(
                "ServiceUnavailable",
                "Queues are not connected to the event bus",
            ));
        };
        let message = SendRequest {
            body: d.body.clone(),
            group_id: d.message_group_id.clone(),
            ..SendRequest::default()
        };
        match queues.send_message(&d.target_arn, message).await {
            Ok(_) => Ok(()),
            Err(e) if e.sender_fault => Err(Failure::permanent(e.query_code, e.message)),
            Err(e) => Err(Failure::retriable(e.query_code, e.message)),
        }
    }

    /// Sends a dead letter to its SQS queue: the body the target would have received,
    /// with EventBridge's attributes saying why. `false` when the queue cannot take it
    /// (no such queue here, queues not connected): the letter is then kept in the store
    /// instead, so it is never lost.
    async fn send_dead_letter(&self, letter: &DeadLetter) -> bool {
        let Some(queues) = self.inner.queues.get() else {
            return false;
        };
        let text = |v: &str| MessageAttribute {
            data_type: "String".to_owned(),
            string_value: Some(v.to_owned()),
            binary_value: None,
        };
        let mut attributes = std::collections::BTreeMap::new();
        attributes.insert("RULE_ARN".to_owned(), text(&letter.rule_arn));
        attributes.insert("TARGET_ARN".to_owned(), text(&letter.target_arn));
        attributes.insert("ERROR_CODE".to_owned(), text(&letter.error_code));
        if !letter.error_message.is_empty() {
            attributes.insert("ERROR_MESSAGE".to_owned(), text(&letter.error_message));
        }
        if let Some(condition) = &letter.exhausted_retry_condition {
            attributes.insert("EXHAUSTED_RETRY_CONDITION".to_owned(), text(condition));
        }
        attributes.insert(
            "RETRY_ATTEMPTS".to_owned(),
            text(&letter.retry_attempts.to_string()),
        );
        let message = SendRequest {
            body: letter.body.clone(),
            attributes,
            ..SendRequest::default()
        };
        match queues.send_message(&letter.queue_arn, message).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(queue = %letter.queue_arn, error = %e, "dead letter kept in the store: the queue refused it");
                false
            }
        }
    }

    /// Puts the event on another bus as a new event (new id and ingestion time).
    fn forward(&self, d: &DeliveryRecord, bus_name: &str) -> Result<Ingest, Failure> {
        let catalog = self.catalog();
        let bus = catalog.bus(bus_name).ok_or_else(|| {
            Failure::permanent(
                "ResourceNotFoundException",
                format!("Event bus {bus_name} does not exist."),
            )
        })?;
        let mut event: Value = serde_json::from_str(&d.body)
            .map_err(|e| Failure::permanent("MalformedEvent", e.to_string()))?;
        let id = derived_uuid(&format!("forward|{}", d.id));
        if let Value::Object(fields) = &mut event {
            fields.insert("id".into(), Value::String(id.clone()));
            fields.shift_remove("replay-name");
        }
        let json = event.to_string();
        let mut ingest = Ingest::default();
        plan_arrival(
            self.arns(),
            bus,
            &Arrival {
                event: &event,
                json: &json,
                event_id: &id,
                ingested_ms: self.now_ms(),
                hops: d.hops.saturating_add(1),
                replay: None,
            },
            &mut ingest,
        );
        Ok(ingest)
    }
}

/// The worker loop: claim, perform concurrently (bounded; an SQS FIFO group's
/// deliveries one after another, in claim order), sleep until the next due delivery or
/// until woken by new work.
pub(crate) async fn run(bus: EventBuses) {
    let slots = Arc::new(Semaphore::new(bus.inner.config.delivery_concurrency.max(1)));
    let lease = i64::try_from(bus.inner.config.lease.as_millis()).unwrap_or(60_000);
    loop {
        // Wait for a free slot before claiming, so leases are not spent queueing.
        let Ok(first) = slots.clone().acquire_owned().await else {
            return;
        };
        let room = slots.available_permits() + 1;
        let now = bus.now_ms();
        let claimed = match bus
            .inner
            .store
            .claim_due(now, room.min(CLAIM_BATCH), now.saturating_add(lease))
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "claiming deliveries failed");
                drop(first);
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        if claimed.is_empty() {
            drop(first);
            let next = bus.inner.store.next_due_ms().await.ok().flatten();
            let wait = next
                .map(|n| n.saturating_sub(now).clamp(0, IDLE_POLL_MS))
                .unwrap_or(IDLE_POLL_MS);
            if wait > 0 {
                let _ = tokio::time::timeout(
                    Duration::from_millis(wait.unsigned_abs()),
                    bus.inner.wake_deliveries.notified(),
                )
                .await;
            }
            continue;
        }
        let mut first = Some(first);
        for d in claimed {
            let permit = match first.take() {
                Some(p) => p,
                None => match slots.clone().acquire_owned().await {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            let turn = bus.inner.fifo_order.enter(&d);
            let bus = bus.clone();
            tokio::spawn(async move {
                bus.perform_in_turn(d, turn).await;
                drop(permit);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_ceiling_with_jitter_in_the_upper_half() {
        for retry in 1..=20u32 {
            let ceiling = (1_000i64 << (retry - 1).min(30)).min(MAX_BACKOFF_MS);
            let b = backoff_ms("d", retry);
            assert!(b >= ceiling / 2 && b <= ceiling, "retry {retry}: {b}");
        }
        assert_eq!(backoff_ms("d", 3), backoff_ms("d", 3), "deterministic");
        assert!(backoff_ms("x", u32::MAX) <= MAX_BACKOFF_MS);
    }
}
