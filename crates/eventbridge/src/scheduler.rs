//! Scheduled rules: each enabled rule with a `ScheduleExpression` has its next fire time
//! in the store. When it is due, the scheduler builds the `Scheduled Event`, plans the
//! rule's deliveries, and commits them together with the advanced fire time
//! (`RuleStore::fire_schedule`, a compare-and-set), so a fire happens once even across
//! crashes and several nodes. After downtime a rule fires once for the missed time,
//! then continues from now (EventBridge does not catch up).
//!
//! The same loop purges archived events past their retention, hourly.

use std::time::Duration;

use crate::store::{Ingest, RuleRecord};
use baton_events::Schedule;
use baton_events::envelope::format_time;
use baton_platform::clock::Millis;
use serde_json::{Map, Value};

use super::EventBuses;
use super::control::first_fire;
use super::derived_uuid;
use super::error::BusError;
use super::ingest::{Arrival, millis_to_time, plan_rules};

const PURGE_EVERY_MS: i64 = 3_600_000;
/// The scheduler looks at the store at least this often (another node's changes).
const IDLE_POLL_MS: i64 = 10_000;

/// The next fire time after firing at `fired`, skipping instants already past `now`.
pub fn advance(schedule: &Schedule, fired: Millis, now: Millis) -> Option<Millis> {
    match schedule {
        Schedule::Rate { .. } => {
            let period = schedule
                .next_after(millis_to_time(0), baton_events::schedule::Tz::UTC)?
                .timestamp_millis()
                .max(1);
            // The first multiple of the period after both `fired` and `now`.
            let behind = now.saturating_sub(fired).max(0);
            let periods = behind / period + 1;
            fired.checked_add(periods.checked_mul(period)?)
        }
        _ => first_fire(schedule, millis_to_time(now.max(fired))),
    }
}

impl EventBuses {
    /// The `Scheduled Event` of a rule firing at `at`.
    fn scheduled_event(&self, rule_arn: &str, id: &str, at: Millis) -> Value {
        let mut m = Map::new();
        m.insert("version".into(), Value::String("0".into()));
        m.insert("id".into(), Value::String(id.to_owned()));
        m.insert(
            "detail-type".into(),
            Value::String("Scheduled Event".into()),
        );
        m.insert("source".into(), Value::String("aws.events".into()));
        m.insert(
            "account".into(),
            Value::String(self.arns().account().to_owned()),
        );
        m.insert(
            "time".into(),
            Value::String(format_time(millis_to_time(at))),
        );
        m.insert(
            "region".into(),
            Value::String(self.arns().region().to_owned()),
        );
        m.insert(
            "resources".into(),
            Value::Array(vec![Value::String(rule_arn.to_owned())]),
        );
        m.insert("detail".into(), Value::Object(Map::new()));
        Value::Object(m)
    }

    /// Fires every scheduled rule that is due now; returns how many fired.
    pub async fn fire_due_schedules(&self) -> Result<usize, BusError> {
        let now = self.now_ms();
        let due = self.inner.store.due_schedules(now, 100).await?;
        let mut fired = 0;
        for rule in due {
            if self.fire(&rule, now).await? {
                fired += 1;
            }
        }
        if fired > 0 {
            self.inner.wake_deliveries.notify_one();
        }
        Ok(fired)
    }

    async fn fire(&self, rule: &RuleRecord, now: Millis) -> Result<bool, BusError> {
        let Some(at) = rule.next_fire_ms else {
            return Ok(false);
        };
        let schedule = rule
            .schedule_expression
            .as_deref()
            .and_then(|e| Schedule::parse(e).ok());
        let next = schedule.as_ref().and_then(|s| advance(s, at, now));
        let rule_arn = self.arns().rule(&rule.bus, &rule.name);
        let id = derived_uuid(&format!("schedule|{rule_arn}|{at}"));
        let event = self.scheduled_event(&rule_arn, &id, at);
        let json = event.to_string();
        let mut ingest = Ingest::default();
        let catalog = self.catalog();
        if let Some(bus) = catalog.bus(&rule.bus)
            && let Some(entry) = bus.rules.get(&rule.name)
        {
            plan_rules(
                self.arns(),
                bus,
                [entry],
                &Arrival {
                    event: &event,
                    json: &json,
                    event_id: &id,
                    ingested_ms: now,
                    hops: 0,
                    replay: None,
                },
                &mut ingest,
            );
        }
        let done = self
            .inner
            .store
            .fire_schedule(&rule.bus, &rule.name, at, next, ingest)
            .await?;
        if done {
            // Keep the catalog's copy of the fire time current (for re-puts).
            let _guard = self.inner.control.lock().await;
            let mut catalog = (*self.catalog()).clone();
            catalog.update_bus(&rule.bus, |b| {
                if let Some(r) = b.rules.get_mut(&rule.name)
                    && r.record.next_fire_ms == Some(at)
                {
                    r.record.next_fire_ms = next;
                }
            });
            self.publish(catalog);
        }
        Ok(done)
    }
}

/// The scheduler loop.
pub(crate) async fn run(bus: EventBuses) {
    let mut last_purge: Millis = 0;
    loop {
        if let Err(e) = bus.fire_due_schedules().await {
            tracing::warn!(error = %e, "firing schedules failed");
        }
        let now = bus.now_ms();
        if now.saturating_sub(last_purge) >= PURGE_EVERY_MS {
            match bus.purge_archives().await {
                Ok(n) if n > 0 => tracing::info!(purged = n, "archived events past retention"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purging archives failed"),
            }
            last_purge = now;
        }
        let next = bus.inner.store.next_schedule_ms().await.ok().flatten();
        let wait = next
            .map(|n| n.saturating_sub(bus.now_ms()).clamp(0, IDLE_POLL_MS))
            .unwrap_or(IDLE_POLL_MS);
        if wait > 0 {
            let _ = tokio::time::timeout(
                Duration::from_millis(wait.unsigned_abs()),
                bus.inner.wake_scheduler.notified(),
            )
            .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missed_rate_fires_once_then_continues_from_now() {
        let s = Schedule::parse("rate(1 minute)").expect("valid");
        assert_eq!(advance(&s, 60_000, 60_000), Some(120_000));
        assert_eq!(advance(&s, 60_000, 60_001), Some(120_000));
        // Ten minutes of downtime: the next fire is the first minute after now.
        assert_eq!(advance(&s, 60_000, 660_500), Some(720_000));
        let cron = Schedule::parse("cron(0 12 * * ? *)").expect("valid");
        let noon = chrono::DateTime::parse_from_rfc3339("2024-01-01T12:00:00Z")
            .expect("time")
            .timestamp_millis();
        assert_eq!(advance(&cron, noon, noon), Some(noon + 86_400_000));
        let at = Schedule::parse("at(2024-01-01T12:00:00)").expect("valid");
        assert_eq!(
            advance(&at, noon, noon),
            None,
            "one-time schedules fire once"
        );
    }
}
