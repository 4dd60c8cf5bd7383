//! The control plane for buses, rules and targets, with AWS's validation order and
//! messages. Each change commits to the store first, then publishes a new catalog.

use std::sync::Arc;

use crate::store::{BusRecord, RuleRecord, RuleState, TargetRecord};
use baton_events::schedule::Tz;
use baton_events::{Matcher, Pattern, Schedule, validate_test_event};
use baton_platform::clock::Millis;
use baton_platform::store::StoreError;
use chrono::{DateTime, Utc};

use super::EventBuses;
use super::catalog::{BusEntry, TargetEntry};
use super::error::BusError;

/// Targets a rule may have.
pub const MAX_TARGETS_PER_RULE: usize = 5;

/// One page of a list and the token for the next.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

/// Pages through `items` (already in their listing order). Tokens are opaque offsets.
pub fn paginate<T>(
    items: Vec<T>,
    limit: Option<usize>,
    token: Option<&str>,
) -> Result<Page<T>, BusError> {
    let start = match token {
        None => 0,
        Some(t) => decode_token(t)
            .filter(|&n| n <= items.len())
            .ok_or_else(|| BusError::validation("The NextToken provided is invalid."))?,
    };
    let limit = limit.unwrap_or(100).clamp(1, 100);
    let end = start.saturating_add(limit).min(items.len());
    let next_token = (end < items.len()).then(|| encode_token(end));
    let items = items.into_iter().skip(start).take(end - start).collect();
    Ok(Page { items, next_token })
}

fn encode_token(offset: usize) -> String {
    format!("bt1.{offset:x}")
}

fn decode_token(token: &str) -> Option<usize> {
    usize::from_str_radix(token.strip_prefix("bt1.")?, 16).ok()
}

pub struct CreateBusInput {
    pub name: String,
    pub event_source_name: Option<String>,
    pub description: Option<String>,
    pub kms_key_identifier: Option<String>,
    pub dead_letter_arn: Option<String>,
}

pub struct UpdateBusInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub kms_key_identifier: Option<String>,
    pub dead_letter_arn: Option<String>,
}

pub struct PutRuleInput {
    pub name: String,
    pub bus: Option<String>,
    pub event_pattern: Option<String>,
    pub schedule_expression: Option<String>,
    pub state: Option<RuleState>,
    pub description: Option<String>,
    pub role_arn: Option<String>,
}

/// A rule as DescribeRule shows it.
#[derive(Debug, Clone)]
pub struct RuleView {
    pub arn: String,
    pub record: RuleRecord,
}

/// When a schedule fires next, seen from `now` (UTC, as rules are).
pub fn first_fire(schedule: &Schedule, now: DateTime<Utc>) -> Option<Millis> {
    schedule
        .next_after(now, Tz::UTC)
        .map(|t| t.timestamp_millis())
}

impl EventBuses {
    /// Resolves a bus given by name or ARN (default: `default`) in the current catalog.
    pub(crate) fn resolve_bus(&self, name_or_arn: Option<&str>) -> Result<Arc<BusEntry>, BusError> {
        let given = name_or_arn.unwrap_or("default");
        let name = self
            .arns()
            .bus_name(given)
            .map_err(BusError::bus_not_found)?;
        self.catalog()
            .bus(name)
            .cloned()
            .ok_or_else(|| BusError::bus_not_found(name))
    }

    pub async fn create_event_bus(&self, input: CreateBusInput) -> Result<String, BusError> {
        if let Some(source) = &input.event_source_name {
            return Err(BusError::not_found(format!(
                "Event source {source} does not exist."
            )));
        }
        if input.name.contains('/') {
            return Err(BusError::validation("Event bus name must not contain '/'."));
        }
        let _guard = self.inner.control.lock().await;
        if self.catalog().bus(&input.name).is_some() {
            return Err(BusError::already_exists(format!(
                "Event bus {} already exists.",
                input.name
            )));
        }
        let now = self.now_ms();
        let record = BusRecord {
            name: input.name.clone(),
            description: input.description,
            kms_key_identifier: input.kms_key_identifier,
            dead_letter_arn: input.dead_letter_arn,
            created_ms: now,
            modified_ms: now,
        };
        match self.inner.store.create_bus(record.clone()).await {
            Ok(()) => {}
            Err(StoreError::AlreadyExists(_)) => {
                return Err(BusError::already_exists(format!(
                    "Event bus {} already exists.",
                    input.name
                )));
            }
            Err(e) => return Err(e.into()),
        }
        let mut next = (*self.catalog()).clone();
        next.buses
            .insert(record.name.clone(), Arc::new(BusEntry::new(record)));
        self.publish(next);
        Ok(self.arns().bus(&input.name))
    }

    pub async fn update_event_bus(&self, input: UpdateBusInput) -> Result<BusRecord, BusError> {
        let _guard = self.inner.control.lock().await;
        let bus = self.resolve_bus(input.name.as_deref())?;
        let mut record = bus.record.clone();
        record.description = input.description.or(record.description);
        record.kms_key_identifier = input.kms_key_identifier.or(record.kms_key_identifier);
        record.dead_letter_arn = input.dead_letter_arn.or(record.dead_letter_arn);
        record.modified_ms = self.now_ms();
        self.inner.store.update_bus(record.clone()).await?;
        let mut next = (*self.catalog()).clone();
        let stored = record.clone();
        next.update_bus(&record.name, |b| b.record = stored);
        self.publish(next);
        Ok(record)
    }

    /// Deleting a bus that does not exist succeeds, as in AWS.
    pub async fn delete_event_bus(&self, name: &str) -> Result<(), BusError> {
        if name == "default" {
            return Err(BusError::validation("Cannot delete event bus default."));
        }
        let _guard = self.inner.control.lock().await;
        self.inner.store.delete_bus(name).await?;
        let mut next = (*self.catalog()).clone();
        next.buses.remove(name);
        self.publish(next);
        Ok(())
    }

    pub fn describe_event_bus(&self, name_or_arn: Option<&str>) -> Result<BusRecord, BusError> {
        Ok(self.resolve_bus(name_or_arn)?.record.clone())
    }

    pub fn list_event_buses(
        &self,
        prefix: Option<&str>,
        limit: Option<usize>,
        token: Option<&str>,
    ) -> Result<Page<BusRecord>, BusError> {
        let items = self
            .catalog()
            .buses
            .values()
            .filter(|b| prefix.is_none_or(|p| b.record.name.starts_with(p)))
            .map(|b| b.record.clone())
            .collect();
        paginate(items, limit, token)
    }

    pub async fn put_rule(&self, input: PutRuleInput) -> Result<String, BusError> {
        let _guard = self.inner.control.lock().await;
        let bus = self.resolve_bus(input.bus.as_deref())?;
        let bus_name = bus.record.name.clone();
        if input.event_pattern.is_none() && input.schedule_expression.is_none() {
            return Err(BusError::validation(
                "Parameter(s) EventPattern or ScheduleExpression must be specified.",
            ));
        }
        if let Some(text) = &input.event_pattern {
            Pattern::parse(text).map_err(|e| BusError::new(e.name(), e.message()))?;
        }
        let schedule = match &input.schedule_expression {
            Some(expr) => Some(
                Schedule::parse_for_rule(expr, bus_name == "default")
                    .map_err(|e| BusError::validation(e.message))?,
            ),
            None => None,
        };
        let state = input.state.unwrap_or(RuleState::Enabled);
        let now = self.now();
        let old = bus.rules.get(&input.name).map(|r| r.record.clone());
        let next_fire_ms = match &schedule {
            Some(s) if state.is_enabled() => match &old {
                // Re-putting an unchanged, enabled schedule keeps its cadence.
                Some(o)
                    if o.state.is_enabled()
                        && o.schedule_expression == input.schedule_expression
                        && o.next_fire_ms.is_some() =>
                {
                    o.next_fire_ms
                }
                _ => first_fire(s, now),
            },
            _ => None,
        };
        let now_ms = now.timestamp_millis();
        let record = RuleRecord {
            bus: bus_name.clone(),
            name: input.name.clone(),
            event_pattern: input.event_pattern,
            schedule_expression: input.schedule_expression,
            state,
            description: input.description,
            role_arn: input.role_arn,
            managed_by: None,
            created_by: old.as_ref().map_or_else(
                || self.arns().account().to_owned(),
                |o| o.created_by.clone(),
            ),
            next_fire_ms,
            created_ms: old.as_ref().map_or(now_ms, |o| o.created_ms),
            modified_ms: now_ms,
        };
        match self.inner.store.put_rule(record.clone()).await {
            Ok(()) => {}
            Err(StoreError::NotFound(_)) => return Err(BusError::bus_not_found(&bus_name)),
            Err(e) => return Err(e.into()),
        }
        let mut next = (*self.catalog()).clone();
        next.update_bus(&bus_name, |b| b.set_rule(record));
        self.publish(next);
        if next_fire_ms.is_some() {
            self.inner.wake_scheduler.notify_one();
        }
        Ok(self.arns().rule(&bus_name, &input.name))
    }

    pub fn describe_rule(&self, name: &str, bus: Option<&str>) -> Result<RuleView, BusError> {
        let bus = self.resolve_bus(bus)?;
        let rule = bus
            .rules
            .get(name)
            .ok_or_else(|| BusError::rule_not_found(name, &bus.record.name))?;
        Ok(RuleView {
            arn: self.arns().rule(&bus.record.name, name),
            record: rule.record.clone(),
        })
    }

    pub fn list_rules(
        &self,
        prefix: Option<&str>,
        bus: Option<&str>,
        limit: Option<usize>,
        token: Option<&str>,
    ) -> Result<Page<RuleView>, BusError> {
        let bus = self.resolve_bus(bus)?;
        let items = bus
            .rules
            .values()
            .filter(|r| prefix.is_none_or(|p| r.record.name.starts_with(p)))
            .map(|r| RuleView {
                arn: self.arns().rule(&bus.record.name, &r.record.name),
                record: r.record.clone(),
            })
            .collect();
        paginate(items, limit, token)
    }

    /// Deleting a rule that does not exist succeeds, as in AWS.
    pub async fn delete_rule(
        &self,
        name: &str,
        bus: Option<&str>,
        force: bool,
    ) -> Result<(), BusError> {
        let _guard = self.inner.control.lock().await;
        let bus = self.resolve_bus(bus)?;
        let bus_name = bus.record.name.clone();
        match self.inner.store.delete_rule(&bus_name, name, force).await {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(BusError::validation(
                    "Rule can't be deleted since it has targets.",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let mut next = (*self.catalog()).clone();
        next.update_bus(&bus_name, |b| b.remove_rule(name));
        self.publish(next);
        Ok(())
    }

    /// EnableRule / DisableRule.
    pub async fn set_rule_enabled(
        &self,
        name: &str,
        bus: Option<&str>,
        enabled: bool,
    ) -> Result<(), BusError> {
        let _guard = self.inner.control.lock().await;
        let bus = self.resolve_bus(bus)?;
        let bus_name = bus.record.name.clone();
        let mut record = bus
            .rules
            .get(name)
            .ok_or_else(|| BusError::rule_not_found(name, &bus_name))?
            .record
            .clone();
        if record.state.is_enabled() == enabled {
            return Ok(());
        }
        let now = self.now();
        record.state = if enabled {
            RuleState::Enabled
        } else {
            RuleState::Disabled
        };
        record.next_fire_ms = match (&record.schedule_expression, enabled) {
            (Some(expr), true) => Schedule::parse(expr).ok().and_then(|s| first_fire(&s, now)),
            _ => None,
        };
        record.modified_ms = now.timestamp_millis();
        self.inner.store.put_rule(record.clone()).await?;
        let wake = record.next_fire_ms.is_some();
        let mut next = (*self.catalog()).clone();
        next.update_bus(&bus_name, |b| b.set_rule(record));
        self.publish(next);
        if wake {
            self.inner.wake_scheduler.notify_one();
        }
        Ok(())
    }

    /// PutTargets. Invalid input configurations refuse the whole request, as AWS does.
    pub async fn put_targets(
        &self,
        rule: &str,
        bus: Option<&str>,
        targets: Vec<TargetRecord>,
    ) -> Result<(), BusError> {
        let _guard = self.inner.control.lock().await;
        let bus = self.resolve_bus(bus)?;
        let bus_name = bus.record.name.clone();
        if !bus.rules.contains_key(rule) {
            return Err(BusError::rule_not_found(rule, &bus_name));
        }
        let entries = targets
            .into_iter()
            .map(|t| TargetEntry::new(t, self.arns()))
            .collect::<Result<Vec<_>, _>>()?;
        let records = entries.iter().map(|e| e.record.clone()).collect();
        match self
            .inner
            .store
            .put_targets(&bus_name, rule, records, MAX_TARGETS_PER_RULE)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(BusError::limit_exceeded(
                    "The requested resource exceeds the maximum number allowed.",
                ));
            }
            Err(StoreError::NotFound(_)) => return Err(BusError::rule_not_found(rule, &bus_name)),
            Err(e) => return Err(e.into()),
        }
        let mut next = (*self.catalog()).clone();
        next.update_bus(&bus_name, |b| {
            if let Some(r) = b.rules.get_mut(rule) {
                for e in entries {
                    match r.targets.iter_mut().find(|t| t.record.id == e.record.id) {
                        Some(slot) => *slot = e,
                        None => r.targets.push(e),
                    }
                }
            }
        });
        self.publish(next);
        Ok(())
    }

    pub async fn remove_targets(
        &self,
        rule: &str,
        bus: Option<&str>,
        ids: &[String],
    ) -> Result<(), BusError> {
        let _guard = self.inner.control.lock().await;
        let bus = self.resolve_bus(bus)?;
        let bus_name = bus.record.name.clone();
        if !bus.rules.contains_key(rule) {
            return Err(BusError::rule_not_found(rule, &bus_name));
        }
        match self.inner.store.remove_targets(&bus_name, rule, ids).await {
            Ok(_) => {}
            Err(StoreError::NotFound(_)) => return Err(BusError::rule_not_found(rule, &bus_name)),
            Err(e) => return Err(e.into()),
        }
        let mut next = (*self.catalog()).clone();
        next.update_bus(&bus_name, |b| {
            if let Some(r) = b.rules.get_mut(rule) {
                r.targets.retain(|t| !ids.contains(&t.record.id));
            }
        });
        self.publish(next);
        Ok(())
    }

    pub fn list_targets_by_rule(
        &self,
        rule: &str,
        bus: Option<&str>,
        limit: Option<usize>,
        token: Option<&str>,
    ) -> Result<Page<TargetRecord>, BusError> {
        let bus = self.resolve_bus(bus)?;
        let entry = bus
            .rules
            .get(rule)
            .ok_or_else(|| BusError::rule_not_found(rule, &bus.record.name))?;
        let items = entry.targets.iter().map(|t| t.record.clone()).collect();
        paginate(items, limit, token)
    }

    pub fn list_rule_names_by_target(
        &self,
        target_arn: &str,
        bus: Option<&str>,
        limit: Option<usize>,
        token: Option<&str>,
    ) -> Result<Page<String>, BusError> {
        let bus = self.resolve_bus(bus)?;
        let items = bus
            .rules
            .values()
            .filter(|r| r.targets.iter().any(|t| t.record.arn == target_arn))
            .map(|r| r.record.name.clone())
            .collect();
        paginate(items, limit, token)
    }

    /// TestEventPattern.
    pub fn test_event_pattern(&self, pattern: &str, event: &str) -> Result<bool, BusError> {
        let pattern = Pattern::parse(pattern).map_err(|e| BusError::new(e.name(), e.message()))?;
        validate_test_event(event).map_err(|e| BusError::new(e.name(), e.message()))?;
        let mut matcher = Matcher::new();
        matcher.add_rule((), &pattern);
        matcher
            .matches(event)
            .map(|m| !m.is_empty())
            .map_err(|_| BusError::validation("Parameter Event is not valid."))
    }
}
