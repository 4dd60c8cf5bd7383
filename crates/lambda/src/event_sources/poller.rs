//! The pollers: one task per enabled mapping on each node, started and stopped by the
//! reconcile loop. A poller gathers a batch (up to `BatchSize` messages, or until the
//! batching window closes), deletes the messages no filter matches, invokes the
//! function synchronously with the SQS event and deletes what succeeded. Messages of a
//! failed invocation are left alone: they come back when their visibility timeout ends
//! (and go to the queue's dead-letter queue once received `maxReceiveCount` times).
//!
//! Concurrency: a node runs one batch of a mapping at a time (FIFO groups of a batch
//! one after another), so a mapping's concurrency is at most the number of nodes.
//! `ScalingConfig.MaximumConcurrency` is stored and reported; with Lambda's minimum
//! of 2 it never binds below that.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crate::store::event_sources::MappingFilter;
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use super::batch_response::{self, BatchOutcome};
use super::model::Mapping;
use super::records;
use super::{Inner, from_record};
use baton_platform::bridge::FunctionResult;
use baton_platform::bridge::queues::{ReceiveOptions, ReceivedMessage};

/// Longest single receive while waiting for a batch to start: short, so a disabled or
/// deleted mapping's poller notices within this long.
const IDLE_WAIT_SECONDS: i64 = 2;
/// A batch's event must fit Lambda's 6 MB synchronous payload limit; a message (body
/// and attributes) takes at most this much of it.
const PAYLOAD_BUDGET: usize = 6 * 1024 * 1024 - 64 * 1024;
const MAX_RECORD_BYTES: usize = 300 * 1024;
/// Throttled invocations are retried this many times, backing off, before the batch
/// is left to come back after its visibility timeout.
const THROTTLE_RETRIES: u32 = 5;
/// Pause after a failed receive or an invocation that could not run at all.
const ERROR_PAUSE: Duration = Duration::from_secs(2);
/// Mappings read per store call while reconciling.
const RECONCILE_PAGE: usize = 1000;

type Slot = watch::Receiver<Option<Arc<Mapping>>>;

pub(super) async fn reconcile_loop(inner: Arc<Inner>) {
    loop {
        if let Err(e) = reconcile(&inner).await {
            tracing::warn!(error = %e, "event source mappings: reconcile failed");
        }
        tokio::select! {
            () = inner.changed.notified() => {}
            () = tokio::time::sleep(inner.config.reconcile_interval) => {}
        }
    }
}

/// Starts pollers for enabled mappings that have none, hands changed configurations to
/// running ones, and stops the pollers of disabled or deleted mappings.
async fn reconcile(inner: &Arc<Inner>) -> Result<(), super::MappingError> {
    let mut wanted: HashMap<String, Arc<Mapping>> = HashMap::new();
    let mut after: Option<String> = None;
    loop {
        let page = inner
            .store
            .list_mappings(&MappingFilter::default(), after.as_deref(), RECONCILE_PAGE)
            .await?;
        let full = page.len() == RECONCILE_PAGE;
        after = page.last().map(|r| r.uuid.clone());
        for r in &page {
            let m = from_record(r)?;
            if m.enabled {
                wanted.insert(m.uuid.clone(), Arc::new(m));
            }
        }
        if !full {
            break;
        }
    }
    let mut pollers = inner.pollers.lock().unwrap_or_else(|e| e.into_inner());
    pollers.retain(|uuid, tx| {
        if wanted.contains_key(uuid) && !tx.is_closed() {
            true
        } else {
            let _ = tx.send(None);
            false
        }
    });
    for (uuid, mapping) in wanted {
        match pollers.get(&uuid) {
            Some(tx) => {
                tx.send_if_modified(|current| {
                    if current.as_deref() == Some(&*mapping) {
                        false
                    } else {
                        *current = Some(mapping.clone());
                        true
                    }
                });
            }
            None => {
                let (tx, rx) = watch::channel(Some(mapping));
                pollers.insert(uuid, tx);
                let inner = inner.clone();
                tokio::spawn(async move { poll(inner, rx).await });
            }
        }
    }
    Ok(())
}

/// The current configuration, `None` once the poller should stop.
fn current(slot: &Slot) -> Option<Arc<Mapping>> {
    if slot.has_changed().is_err() {
        return None;
    }
    slot.borrow().clone()
}

async fn poll(inner: Arc<Inner>, mut slot: Slot) {
    let mut patterns_for: Option<(i64, Vec<baton_events::Pattern>)> = None;
    while let Some(mapping) = current(&slot) {
        let patterns = match &patterns_for {
            Some((at, p)) if *at == mapping.last_modified_ms => p.clone(),
            _ => {
                let p = mapping.patterns();
                patterns_for = Some((mapping.last_modified_ms, p.clone()));
                p
            }
        };
        match gather(&inner, &mapping, &slot).await {
            Ok(batch) if batch.is_empty() => {}
            Ok(batch) => {
                if !process(&inner, &mapping, &patterns, batch).await {
                    pause(&mut slot, ERROR_PAUSE).await;
                }
            }
            Err(message) => {
                tracing::warn!(uuid = %mapping.uuid, queue = %mapping.queue, %message, "event source mapping: receive failed");
                pause(&mut slot, ERROR_PAUSE).await;
            }
        }
    }
    tracing::debug!("event source mapping poller stopped");
}

/// Sleeps, waking early when the configuration changes.
async fn pause(slot: &mut Slot, d: Duration) {
    tokio::select! {
        _ = slot.changed() => {}
        () = tokio::time::sleep(d) => {}
    }
}

/// Receives one batch: up to `BatchSize` messages; with a batching window, until it
/// closes (counted from the batch's first message); without one, until the queue has
/// nothing more at once. Empty when nothing arrived within an idle wait.
async fn gather(
    inner: &Inner,
    mapping: &Mapping,
    slot: &Slot,
) -> Result<Vec<ReceivedMessage>, String> {
    let batch_size = usize::try_from(mapping.batch_size).unwrap_or(10).max(1);
    let window = Duration::from_secs(u64::from(mapping.batching_window_seconds));
    let mut out: Vec<ReceivedMessage> = Vec::new();
    let mut size = 0usize;
    let mut first_at: Option<Instant> = None;
    loop {
        let unchanged =
            current(slot).is_some_and(|m| m.last_modified_ms == mapping.last_modified_ms);
        if !unchanged && out.is_empty() {
            return Ok(out);
        }
        let need = batch_size - out.len();
        let fit = PAYLOAD_BUDGET.saturating_sub(size) / MAX_RECORD_BYTES;
        let want = need.min(10).min(fit);
        if want == 0 || !unchanged {
            return Ok(out);
        }
        let wait = match first_at {
            None => IDLE_WAIT_SECONDS,
            Some(_) if window.is_zero() => 0,
            Some(t) => {
                let left = window.saturating_sub(t.elapsed());
                if left.is_zero() {
                    return Ok(out);
                }
                let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                i64::try_from(secs)
                    .unwrap_or(IDLE_WAIT_SECONDS)
                    .min(IDLE_WAIT_SECONDS)
            }
        };
        let got = inner
            .queues
            .receive(
                &mapping.queue,
                ReceiveOptions {
                    max_messages: Some(i64::try_from(want).unwrap_or(10)),
                    visibility_timeout: None,
                    wait_seconds: Some(wait),
                    attribute_names: vec!["All".to_owned()],
                    message_attribute_names: vec!["All".to_owned()],
                },
            )
            .await
            .map_err(|e| format!("{}: {}", e.shape, e.message))?;
        let n = got.len();
        if n == 0 && first_at.is_none() {
            return Ok(out);
        }
        if n > 0 {
            first_at.get_or_insert_with(Instant::now);
        }
        for m in got {
            size += m.body.len() + m.message_attributes.len() * 1024 + 1024;
            // A window longer than the queue's visibility timeout can see a message
            // again: keep one record of it, with the newest receipt handle.
            match out.iter_mut().find(|o| o.message_id == m.message_id) {
                Some(o) => *o = m,
                None => out.push(m),
            }
        }
        if window.is_zero() && n < want {
            return Ok(out);
        }
    }
}

/// Filters, invokes and deletes one batch. `false` when the function could not be
/// invoked at all (the caller pauses).
async fn process(
    inner: &Inner,
    mapping: &Mapping,
    patterns: &[baton_events::Pattern],
    batch: Vec<ReceivedMessage>,
) -> bool {
    let mut kept: Vec<(ReceivedMessage, Value)> = Vec::with_capacity(batch.len());
    let mut dropped = Vec::new();
    for m in batch {
        let r = records::record(&m, &mapping.event_source_arn, &inner.config.region);
        if records::passes(patterns, &r) {
            kept.push((m, r));
        } else {
            dropped.push(m.receipt_handle);
        }
    }
    // Messages no filter matches are deleted without invoking the function.
    delete(inner, mapping, dropped).await;
    if kept.is_empty() {
        return true;
    }
    if !inner_is_fifo(&kept) {
        return invoke(inner, mapping, &kept, false).await;
    }
    // FIFO: one invocation per message group, each group's messages in order; a
    // group's later messages never overtake its failed ones (they stay in flight
    // until their visibility timeout, holding the group).
    let mut groups: Vec<(String, Vec<(ReceivedMessage, Value)>)> = Vec::new();
    for (m, r) in kept {
        let g = m
            .attributes
            .get("MessageGroupId")
            .cloned()
            .unwrap_or_default();
        match groups.iter_mut().find(|(id, _)| *id == g) {
            Some((_, items)) => items.push((m, r)),
            None => groups.push((g, vec![(m, r)])),
        }
    }
    let mut all_ok = true;
    for (_, items) in groups {
        all_ok &= invoke(inner, mapping, &items, true).await;
    }
    all_ok
}

fn inner_is_fifo(kept: &[(ReceivedMessage, Value)]) -> bool {
    kept.iter()
        .any(|(m, _)| m.attributes.contains_key("MessageGroupId"))
}

/// Invokes the function with `items` and deletes the messages that succeeded.
async fn invoke(
    inner: &Inner,
    mapping: &Mapping,
    items: &[(ReceivedMessage, Value)],
    fifo: bool,
) -> bool {
    let records: Vec<Value> = items.iter().map(|(_, r)| r.clone()).collect();
    let payload = records::event(&records);
    let mut attempt = 0u32;
    loop {
        let request_id = uuid::Uuid::new_v4().to_string();
        let result = inner
            .invoker
            .invoke(&mapping.function_name, payload.clone(), &request_id)
            .await;
        match result {
            Ok(FunctionResult::Returned(response)) => {
                let outcome = if mapping.report_batch_item_failures {
                    let ids: HashSet<&str> =
                        items.iter().map(|(m, _)| m.message_id.as_str()).collect();
                    batch_response::parse(&response, &ids)
                } else {
                    BatchOutcome::AllSucceeded
                };
                let done = succeeded(items, &outcome, fifo);
                tracing::debug!(uuid = %mapping.uuid, %request_id, deleted = done.len(), of = items.len(), "event source mapping: batch processed");
                delete(inner, mapping, done).await;
                return true;
            }
            Ok(FunctionResult::Raised { error_type, .. }) => {
                tracing::debug!(uuid = %mapping.uuid, %request_id, %error_type, "event source mapping: function error; the batch returns after its visibility timeout");
                return true;
            }
            Ok(FunctionResult::NotFound { function_arn }) => {
                tracing::warn!(uuid = %mapping.uuid, %function_arn, "event source mapping: function not found");
                return false;
            }
            Err(e) if e.code == "TooManyRequestsException" && attempt < THROTTLE_RETRIES => {
                let delay = Duration::from_millis(200u64 << attempt);
                attempt += 1;
                tracing::debug!(uuid = %mapping.uuid, ?delay, "event source mapping: throttled; retrying");
                tokio::time::sleep(delay).await;
            }
            Err(e) => {
                tracing::warn!(uuid = %mapping.uuid, code = %e.code, message = %e.message, "event source mapping: invoke failed");
                return false;
            }
        }
    }
}

/// The receipt handles to delete after an invocation answered `outcome`. On a FIFO
/// queue only the messages before the first failed one are deleted, so the group's
/// order holds.
fn succeeded(
    items: &[(ReceivedMessage, Value)],
    outcome: &BatchOutcome,
    fifo: bool,
) -> Vec<String> {
    match outcome {
        BatchOutcome::AllSucceeded => items
            .iter()
            .map(|(m, _)| m.receipt_handle.clone())
            .collect(),
        BatchOutcome::AllFailed => Vec::new(),
        BatchOutcome::SomeFailed(failed) => {
            let mut out = Vec::new();
            for (m, _) in items {
                if failed.contains(&m.message_id) {
                    if fifo {
                        break;
                    }
                    continue;
                }
                out.push(m.receipt_handle.clone());
            }
            out
        }
    }
}

async fn delete(inner: &Inner, mapping: &Mapping, handles: Vec<String>) {
    if handles.is_empty() {
        return;
    }
    match inner.queues.delete_messages(&mapping.queue, handles).await {
        Ok(results) => {
            for r in results {
                if let Err(e) = r {
                    tracing::debug!(uuid = %mapping.uuid, message = %e.message, "event source mapping: delete refused");
                }
            }
        }
        Err(e) => {
            tracing::warn!(uuid = %mapping.uuid, message = %e.message, "event source mapping: delete failed");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn item(id: &str) -> (ReceivedMessage, Value) {
        (
            ReceivedMessage {
                message_id: id.into(),
                receipt_handle: format!("rh-{id}"),
                body: String::new(),
                md5_of_body: String::new(),
                md5_of_message_attributes: None,
                attributes: BTreeMap::new(),
                message_attributes: BTreeMap::new(),
            },
            Value::Null,
        )
    }

    #[test]
    fn partial_failures_keep_failed_messages_and_fifo_keeps_what_follows() {
        let items = [item("a"), item("b"), item("c")];
        let some = BatchOutcome::SomeFailed(["b".to_owned()].into_iter().collect());
        assert_eq!(succeeded(&items, &some, false), ["rh-a", "rh-c"]);
        assert_eq!(succeeded(&items, &some, true), ["rh-a"]);
        assert_eq!(
            succeeded(&items, &BatchOutcome::AllSucceeded, false),
            ["rh-a", "rh-b", "rh-c"]
        );
        assert!(succeeded(&items, &BatchOutcome::AllFailed, false).is_empty());
    }
}
