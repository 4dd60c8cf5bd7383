//! Accepting events: PutEvents, and turning one event on one bus into the deliveries
//! and archive rows it causes (the same planning serves forwards, schedules and
//! replays).
//!
//! An acknowledged PutEvents is durable: the whole request's deliveries and archive
//! rows are one `EventLog::ingest` call (one savepoint in the writer's shared
//! transaction) that returns after COMMIT.

use crate::store::{ArchivedEvent, DeliveryRecord, Ingest};
use async_trait::async_trait;
use baton_events::envelope::{MAX_ENTRY_BYTES, REQUEST_TOO_LARGE_MESSAGE, entry_size, format_time};
use baton_events::{DeliveryContext, EntryError, Event, PutEventsEntry, validate_put_events_entry};
use baton_platform::clock::Millis;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::arn::{Arns, TargetKind};
use super::catalog::{BusEntry, RuleEntry, TargetEntry};
use super::error::BusError;
use super::{EventBuses, random_uuid};
use baton_platform::bridge::{BridgeError, EventRejected, EventSink, OutgoingEvent};

/// AWS's defaults for a target without a `RetryPolicy`.
pub const DEFAULT_MAXIMUM_RETRY_ATTEMPTS: u32 = 185;
pub const DEFAULT_MAXIMUM_EVENT_AGE_SECONDS: u32 = 86_400;

/// One event arriving on one bus.
pub(crate) struct Arrival<'a> {
    /// The envelope as a JSON object (what transforms read).
    pub event: &'a Value,
    /// The same envelope as text (what the matcher reads, what bus targets receive).
    pub json: &'a str,
    pub event_id: &'a str,
    pub ingested_ms: Millis,
    /// Buses the event passed before this one.
    pub hops: u8,
    /// Set for replayed events: the replay's name.
    pub replay: Option<&'a str>,
}

/// Plans the deliveries of an arrival to the given rules of a bus.
pub(crate) fn plan_rules<'r>(
    arns: &Arns,
    bus: &BusEntry,
    rules: impl IntoIterator<Item = &'r RuleEntry>,
    arrival: &Arrival<'_>,
    out: &mut Ingest,
) {
    for rule in rules {
        if !rule.record.state.is_enabled() {
            continue;
        }
        let rule_arn = arns.rule(&bus.record.name, &rule.record.name);
        let ctx = DeliveryContext {
            rule_arn: rule_arn.clone(),
            rule_name: rule.record.name.clone(),
            ingestion_time: format_time(millis_to_time(arrival.ingested_ms)),
        };
        for target in &rule.targets {
            if let Some(d) = delivery(bus, rule, &rule_arn, target, arrival, &ctx) {
                out.deliveries.push(d);
            }
        }
    }
}

fn delivery(
    bus: &BusEntry,
    rule: &RuleEntry,
    rule_arn: &str,
    target: &TargetEntry,
    arrival: &Arrival<'_>,
    ctx: &DeliveryContext,
) -> Option<DeliveryRecord> {
    let body = match &target.kind {
        // EventBridge does not route an event that came from another bus to a third bus
        // (which also rules out loops).
        TargetKind::EventBus(_) if arrival.hops > 0 => return None,
        TargetKind::EventBus(_) => arrival.json.to_owned(),
        _ => match target.transform.apply(arrival.event, ctx) {
            Ok(body) => body,
            Err(reason) => {
                tracing::debug!(rule = %rule.record.name, target = %target.record.id, %reason, "not delivered");
                return None;
            }
        },
    };
    let retry = target.record.retry_policy.unwrap_or_default();
    Some(DeliveryRecord {
        id: format!(
            "{}|{}|{}|{}|{}",
            arrival.event_id,
            arrival.replay.unwrap_or(""),
            bus.record.name,
            rule.record.name,
            target.record.id
        ),
        event_id: arrival.event_id.to_owned(),
        bus: bus.record.name.clone(),
        rule_arn: rule_arn.to_owned(),
        target_id: target.record.id.clone(),
        target_arn: target.record.arn.clone(),
        http_parameters: target.record.http_parameters.clone(),
        body,
        ingested_ms: arrival.ingested_ms,
        maximum_retry_attempts: retry
            .maximum_retry_attempts
            .unwrap_or(DEFAULT_MAXIMUM_RETRY_ATTEMPTS),
        maximum_event_age_in_seconds: retry
            .maximum_event_age_in_seconds
            .unwrap_or(DEFAULT_MAXIMUM_EVENT_AGE_SECONDS),
        dead_letter_arn: target.record.dead_letter_arn.clone(),
        message_group_id: match target.kind {
            TargetKind::Queue => target
                .record
                .other_parameters
                .get("SqsParameters")
                .and_then(|p| p.get("MessageGroupId"))
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
            _ => None,
        },
        hops: arrival.hops,
        attempts: 0,
        due_ms: arrival.ingested_ms,
        last_error: None,
    })
}

/// Plans everything an event arriving on a bus causes: deliveries to every matching
/// rule's targets and rows in every matching archive (replayed events are not archived
/// again).
pub(crate) fn plan_arrival(arns: &Arns, bus: &BusEntry, arrival: &Arrival<'_>, out: &mut Ingest) {
    let names = bus.matching_rules(arrival.json);
    plan_rules(
        arns,
        bus,
        names.iter().filter_map(|n| bus.rules.get(n)),
        arrival,
        out,
    );
    if arrival.replay.is_none() {
        for archive in bus.matching_archives(arrival.json) {
            out.archived.push(ArchivedEvent {
                archive,
                event_id: arrival.event_id.to_owned(),
                ingested_ms: arrival.ingested_ms,
                event: arrival.json.to_owned(),
            });
        }
    }
}

pub(crate) fn millis_to_time(ms: Millis) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

/// An envelope with `replay-name` added after `region`, where EventBridge puts it.
pub(crate) fn with_replay_name(event: &Value, replay: &str) -> Value {
    let Value::Object(fields) = event else {
        return event.clone();
    };
    let mut out = Map::new();
    for (k, v) in fields {
        if k == "replay-name" {
            continue;
        }
        out.insert(k.clone(), v.clone());
        if k == "region" {
            out.insert("replay-name".into(), Value::String(replay.to_owned()));
        }
    }
    if !out.contains_key("replay-name") {
        out.insert("replay-name".into(), Value::String(replay.to_owned()));
    }
    Value::Object(out)
}

impl EventBuses {
    /// PutEvents: validates each entry, commits everything the valid ones cause, then
    /// answers per entry (event id, or AWS's error code and message).
    ///
    /// Whole-request errors: entries over 256 KiB in total (`ValidationException`), an
    /// entry naming a bus that does not exist (`ResourceNotFoundException`).
    pub async fn put_events(
        &self,
        entries: Vec<PutEventsEntry>,
    ) -> Result<Vec<Result<String, EntryError>>, BusError> {
        let total: usize = entries.iter().map(entry_size).sum();
        if total > MAX_ENTRY_BYTES {
            return Err(BusError::validation(REQUEST_TOO_LARGE_MESSAGE));
        }
        let catalog = self.catalog();
        let arns = self.arns();
        let mut buses = Vec::with_capacity(entries.len());
        for entry in &entries {
            let name = entry.event_bus_name.as_deref().unwrap_or("default");
            let bus = arns
                .bus_name(name)
                .ok()
                .and_then(|n| catalog.bus(n))
                .ok_or_else(|| {
                    BusError::bus_not_found(arns.bus_name(name).unwrap_or_else(|n| n))
                })?;
            buses.push(bus.clone());
        }
        let now = self.now();
        let now_ms = now.timestamp_millis();
        let mut results = Vec::with_capacity(entries.len());
        let mut ingest = Ingest::default();
        for (entry, bus) in entries.into_iter().zip(buses) {
            let valid = match validate_put_events_entry(&entry) {
                Ok(v) => v,
                Err(e) => {
                    results.push(Err(e));
                    continue;
                }
            };
            let id = random_uuid();
            let event = Event::from_entry(
                valid,
                id.clone(),
                now,
                arns.account().to_owned(),
                arns.region().to_owned(),
            );
            let value = event.to_value();
            let json = value.to_string();
            plan_arrival(
                arns,
                &bus,
                &Arrival {
                    event: &value,
                    json: &json,
                    event_id: &id,
                    ingested_ms: now_ms,
                    hops: 0,
                    replay: None,
                },
                &mut ingest,
            );
            results.push(Ok(id));
        }
        let wake = !ingest.deliveries.is_empty();
        self.inner.store.ingest(ingest).await?;
        if wake {
            self.inner.wake_deliveries.notify_one();
        }
        Ok(results)
    }
}

#[async_trait]
impl EventSink for EventBuses {
    async fn put_events(
        &self,
        events: Vec<OutgoingEvent>,
    ) -> Result<Vec<Result<String, EventRejected>>, BridgeError> {
        let entries = events
            .into_iter()
            .map(|e| PutEventsEntry {
                source: Some(e.source),
                detail_type: Some(e.detail_type),
                detail: Some(e.detail.to_string()),
                resources: e.resources,
                time: None,
                event_bus_name: e.event_bus,
                trace_header: None,
            })
            .collect();
        let results = EventBuses::put_events(self, entries)
            .await
            .map_err(|e| BridgeError {
                code: e.code.to_owned(),
                message: e.message,
            })?;
        Ok(results
            .into_iter()
            .map(|r| {
                r.map_err(|e| EventRejected {
                    error_code: e.code.to_owned(),
                    error_message: e.message,
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replay_name_goes_after_region() {
        let e = json!({"version":"0","id":"1","region":"r","resources":[],"detail":{}});
        let out = with_replay_name(&e, "rp").to_string();
        assert_eq!(
            out,
            r#"{"version":"0","id":"1","region":"r","replay-name":"rp","resources":[],"detail":{}}"#
        );
    }
}
