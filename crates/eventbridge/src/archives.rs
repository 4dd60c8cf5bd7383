//! Archives (events kept per bus, by pattern, for a retention period) and replays
//! (re-sending a time window of an archive to chosen rules of its bus, each replayed
//! event carrying `replay-name`).
//!
//! A replay advances in batches; each batch's deliveries and the replay's new cursor
//! commit together (`ReplayStore::advance_replay`), so a crash mid-replay resumes where
//! it left off and replays nothing twice.

use std::time::Duration;

use crate::store::{ArchiveRecord, ArchiveStats, Ingest, ReplayRecord, ReplayState};
use baton_events::Pattern;
use baton_platform::store::StoreError;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::EventBuses;
use super::control::{Page, paginate};
use super::error::BusError;
use super::ingest::{Arrival, plan_rules, with_replay_name};

/// Archived events read per replay step.
const REPLAY_BATCH: usize = 200;

pub struct CreateArchiveInput {
    pub name: String,
    pub event_source_arn: String,
    pub description: Option<String>,
    pub event_pattern: Option<String>,
    pub retention_days: Option<u32>,
    pub kms_key_identifier: Option<String>,
}

pub struct UpdateArchiveInput {
    pub name: String,
    pub description: Option<String>,
    pub event_pattern: Option<String>,
    pub retention_days: Option<u32>,
    pub kms_key_identifier: Option<String>,
}

/// An archive as DescribeArchive shows it.
#[derive(Debug, Clone)]
pub struct ArchiveView {
    pub arn: String,
    pub event_source_arn: String,
    pub record: ArchiveRecord,
    pub stats: ArchiveStats,
}

pub struct StartReplayInput {
    pub name: String,
    pub description: Option<String>,
    pub event_source_arn: String,
    pub event_start_time: DateTime<Utc>,
    pub event_end_time: DateTime<Utc>,
    pub destination_arn: String,
    pub filter_arns: Vec<String>,
}

/// A replay as DescribeReplay shows it.
#[derive(Debug, Clone)]
pub struct ReplayView {
    pub arn: String,
    pub event_source_arn: String,
    pub destination_arn: String,
    pub record: ReplayRecord,
}

fn archive_not_found(name: &str) -> BusError {
    BusError::not_found(format!("Archive {name} does not exist."))
}

fn replay_not_found(name: &str) -> BusError {
    BusError::not_found(format!("Replay {name} does not exist."))
}

impl EventBuses {
    fn archive_view(&self, record: ArchiveRecord, stats: ArchiveStats) -> ArchiveView {
        ArchiveView {
            arn: self.arns().archive(&record.name),
            event_source_arn: self.arns().bus(&record.bus),
            record,
            stats,
        }
    }

    fn replay_view(&self, record: ReplayRecord) -> ReplayView {
        ReplayView {
            arn: self.arns().replay(&record.name),
            event_source_arn: self.arns().archive(&record.archive),
            destination_arn: self.arns().bus(&record.destination_bus),
            record,
        }
    }

    pub async fn create_archive(&self, input: CreateArchiveInput) -> Result<ArchiveView, BusError> {
        let _guard = self.inner.control.lock().await;
        let bus = self.resolve_bus(Some(&input.event_source_arn))?;
        if let Some(text) = &input.event_pattern {
            Pattern::parse(text).map_err(|e| BusError::new(e.name(), e.message()))?;
        }
        let now = self.now_ms();
        let record = ArchiveRecord {
            name: input.name.clone(),
            bus: bus.record.name.clone(),
            description: input.description,
            event_pattern: input.event_pattern,
            retention_days: input.retention_days.unwrap_or(0),
            kms_key_identifier: input.kms_key_identifier,
            state: "ENABLED".to_owned(),
            created_ms: now,
            modified_ms: now,
        };
        match self.inner.store.create_archive(record.clone()).await {
            Ok(()) => {}
            Err(StoreError::AlreadyExists(_)) => {
                return Err(BusError::already_exists(format!(
                    "Archive {} already exists.",
                    input.name
                )));
            }
            Err(StoreError::NotFound(_)) => return Err(BusError::bus_not_found(&record.bus)),
            Err(e) => return Err(e.into()),
        }
        let mut next = (*self.catalog()).clone();
        let stored = record.clone();
        next.update_bus(&record.bus, |b| b.set_archive(stored));
        self.publish(next);
        Ok(self.archive_view(record, ArchiveStats::default()))
    }

    pub async fn describe_archive(&self, name: &str) -> Result<ArchiveView, BusError> {
        let record = self
            .catalog()
            .archive(name)
            .cloned()
            .ok_or_else(|| archive_not_found(name))?;
        let stats = self.inner.store.archive_stats(name).await?;
        Ok(self.archive_view(record, stats))
    }

    pub async fn list_archives(
        &self,
        prefix: Option<&str>,
        event_source_arn: Option<&str>,
        state: Option<&str>,
        limit: Option<usize>,
        token: Option<&str>,
    ) -> Result<Page<ArchiveView>, BusError> {
        let source_bus = match event_source_arn {
            Some(arn) => Some(self.resolve_bus(Some(arn))?.record.name.clone()),
            None => None,
        };
        let catalog = self.catalog();
        let mut records: Vec<ArchiveRecord> = catalog
            .buses
            .values()
            .flat_map(|b| b.archives.values().cloned())
            .filter(|a| prefix.is_none_or(|p| a.name.starts_with(p)))
            .filter(|a| source_bus.as_ref().is_none_or(|b| &a.bus == b))
            .filter(|a| state.is_none_or(|s| a.state == s))
            .collect();
        records.sort_by(|a, b| a.name.cmp(&b.name));
        let page = paginate(records, limit, token)?;
        let mut items = Vec::with_capacity(page.items.len());
        for record in page.items {
            let stats = self.inner.store.archive_stats(&record.name).await?;
            items.push(self.archive_view(record, stats));
        }
        Ok(Page {
            items,
            next_token: page.next_token,
        })
    }

    pub async fn update_archive(&self, input: UpdateArchiveInput) -> Result<ArchiveView, BusError> {
        let _guard = self.inner.control.lock().await;
        let mut record = self
            .catalog()
            .archive(&input.name)
            .cloned()
            .ok_or_else(|| archive_not_found(&input.name))?;
        if let Some(text) = &input.event_pattern {
            Pattern::parse(text).map_err(|e| BusError::new(e.name(), e.message()))?;
            record.event_pattern = Some(text.clone());
        }
        if input.description.is_some() {
            record.description = input.description;
        }
        if let Some(days) = input.retention_days {
            record.retention_days = days;
        }
        if input.kms_key_identifier.is_some() {
            record.kms_key_identifier = input.kms_key_identifier;
        }
        record.modified_ms = self.now_ms();
        match self.inner.store.update_archive(record.clone()).await {
            Ok(()) => {}
            Err(StoreError::NotFound(_)) => return Err(archive_not_found(&input.name)),
            Err(e) => return Err(e.into()),
        }
        let mut next = (*self.catalog()).clone();
        let stored = record.clone();
        next.update_bus(&record.bus, |b| b.set_archive(stored));
        self.publish(next);
        let stats = self.inner.store.archive_stats(&record.name).await?;
        Ok(self.archive_view(record, stats))
    }

    pub async fn delete_archive(&self, name: &str) -> Result<(), BusError> {
        let _guard = self.inner.control.lock().await;
        let record = self
            .catalog()
            .archive(name)
            .cloned()
            .ok_or_else(|| archive_not_found(name))?;
        self.inner.store.delete_archive(name).await?;
        let mut next = (*self.catalog()).clone();
        next.update_bus(&record.bus, |b| b.remove_archive(name));
        self.publish(next);
        Ok(())
    }

    pub async fn start_replay(&self, input: StartReplayInput) -> Result<ReplayView, BusError> {
        let _guard = self.inner.control.lock().await;
        let archive = self
            .arns()
            .archive_name(&input.event_source_arn)
            .and_then(|n| self.catalog().archive(n).cloned())
            .ok_or_else(|| {
                let name = input
                    .event_source_arn
                    .rsplit('/')
                    .next()
                    .unwrap_or(&input.event_source_arn);
                BusError::validation(format!(
                    "Parameter EventSourceArn is not valid. Reason: Archive {name} does not exist."
                ))
            })?;
        if input.event_start_time >= input.event_end_time {
            return Err(BusError::validation(
                "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.",
            ));
        }
        let destination = self.resolve_bus(Some(&input.destination_arn))?;
        if destination.record.name != archive.bus {
            return Err(BusError::validation(
                "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.",
            ));
        }
        let record = ReplayRecord {
            name: input.name.clone(),
            archive: archive.name.clone(),
            description: input.description,
            event_start_ms: input.event_start_time.timestamp_millis(),
            event_end_ms: input.event_end_time.timestamp_millis(),
            destination_bus: destination.record.name.clone(),
            filter_arns: input.filter_arns,
            state: ReplayState::Starting,
            state_reason: None,
            cursor: 0,
            last_replayed_ms: None,
            replay_start_ms: self.now_ms(),
            replay_end_ms: None,
        };
        match self.inner.store.create_replay(record.clone()).await {
            Ok(()) => {}
            Err(StoreError::AlreadyExists(_)) => {
                return Err(BusError::already_exists(format!(
                    "Replay {} already exists.",
                    input.name
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.inner.wake_replays.notify_one();
        Ok(self.replay_view(record))
    }

    pub async fn describe_replay(&self, name: &str) -> Result<ReplayView, BusError> {
        let record = self
            .inner
            .store
            .get_replay(name)
            .await?
            .ok_or_else(|| replay_not_found(name))?;
        Ok(self.replay_view(record))
    }

    pub async fn list_replays(
        &self,
        prefix: Option<&str>,
        state: Option<ReplayState>,
        event_source_arn: Option<&str>,
        limit: Option<usize>,
        token: Option<&str>,
    ) -> Result<Page<ReplayView>, BusError> {
        let archive = event_source_arn.map(|a| self.arns().archive_name(a).unwrap_or(a));
        let records = self
            .inner
            .store
            .list_replays()
            .await?
            .into_iter()
            .filter(|r| prefix.is_none_or(|p| r.name.starts_with(p)))
            .filter(|r| state.is_none_or(|s| r.state == s))
            .filter(|r| archive.is_none_or(|a| r.archive == a))
            .collect();
        let page = paginate(records, limit, token)?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|r| self.replay_view(r))
                .collect(),
            next_token: page.next_token,
        })
    }

    pub async fn cancel_replay(&self, name: &str) -> Result<ReplayView, BusError> {
        let moved = self
            .inner
            .store
            .set_replay_state(
                name,
                &[ReplayState::Starting, ReplayState::Running],
                ReplayState::Cancelling,
                None,
                None,
            )
            .await?;
        let record = self
            .inner
            .store
            .get_replay(name)
            .await?
            .ok_or_else(|| replay_not_found(name))?;
        if !moved && record.state != ReplayState::Cancelling {
            return Err(BusError::new(
                "IllegalStatusException",
                format!("Replay {name} is not in a valid state for this operation."),
            ));
        }
        self.inner.wake_replays.notify_one();
        Ok(self.replay_view(record))
    }

    /// Advances every active replay by one batch; returns whether any has work left.
    pub async fn replay_step(&self) -> Result<bool, BusError> {
        let mut busy = false;
        for replay in self.inner.store.list_replays().await? {
            if replay.state.is_active() {
                busy |= self.advance(replay).await?;
            }
        }
        Ok(busy)
    }

    async fn advance(&self, replay: ReplayRecord) -> Result<bool, BusError> {
        let store = &self.inner.store;
        let now = self.now_ms();
        match replay.state {
            ReplayState::Starting => {
                store
                    .set_replay_state(
                        &replay.name,
                        &[ReplayState::Starting],
                        ReplayState::Running,
                        None,
                        None,
                    )
                    .await?;
                return Ok(true);
            }
            ReplayState::Cancelling => {
                store
                    .set_replay_state(
                        &replay.name,
                        &[ReplayState::Cancelling],
                        ReplayState::Cancelled,
                        None,
                        Some(now),
                    )
                    .await?;
                return Ok(false);
            }
            ReplayState::Running => {}
            _ => return Ok(false),
        }
        let catalog = self.catalog();
        let name = replay.name.as_str();
        let fail = |reason: String| async move {
            store
                .set_replay_state(
                    name,
                    &[ReplayState::Running],
                    ReplayState::Failed,
                    Some(reason),
                    Some(now),
                )
                .await
        };
        let Some(bus) = catalog.bus(&replay.destination_bus) else {
            fail(format!(
                "Event bus {} does not exist.",
                replay.destination_bus
            ))
            .await?;
            return Ok(false);
        };
        if catalog.archive(&replay.archive).is_none() {
            fail(format!("Archive {} does not exist.", replay.archive)).await?;
            return Ok(false);
        }
        let events = store
            .archived_events(
                &replay.archive,
                replay.event_start_ms,
                replay.event_end_ms,
                replay.cursor,
                REPLAY_BATCH,
            )
            .await?;
        let Some(&(last_seq, ref last)) = events.last() else {
            store
                .set_replay_state(
                    &replay.name,
                    &[ReplayState::Running],
                    ReplayState::Completed,
                    None,
                    Some(now),
                )
                .await?;
            return Ok(false);
        };
        let last_replayed = last.ingested_ms;
        let mut ingest = Ingest::default();
        for (_, archived) in &events {
            let Ok(original) = serde_json::from_str::<Value>(&archived.event) else {
                continue;
            };
            let event = with_replay_name(&original, &replay.name);
            let json = event.to_string();
            let arrival = Arrival {
                event: &event,
                json: &json,
                event_id: &archived.event_id,
                ingested_ms: now,
                hops: 0,
                replay: Some(&replay.name),
            };
            let names = bus.matching_rules(&json);
            let rules = names.iter().filter_map(|n| bus.rules.get(n)).filter(|r| {
                replay.filter_arns.is_empty()
                    || replay
                        .filter_arns
                        .contains(&self.arns().rule(&bus.record.name, &r.record.name))
            });
            plan_rules(self.arns(), bus, rules, &arrival, &mut ingest);
        }
        let wake = !ingest.deliveries.is_empty();
        store
            .advance_replay(
                &replay.name,
                replay.cursor,
                last_seq,
                Some(last_replayed),
                ingest,
            )
            .await?;
        if wake {
            self.inner.wake_deliveries.notify_one();
        }
        Ok(true)
    }

    /// Deletes archived events past their retention.
    pub async fn purge_archives(&self) -> Result<u64, BusError> {
        Ok(self.inner.store.purge_expired(self.now_ms()).await?)
    }
}

/// The replay worker: steps active replays until none is left, then waits to be woken.
pub(crate) async fn run_replays(bus: EventBuses) {
    loop {
        match bus.replay_step().await {
            Ok(true) => tokio::task::yield_now().await,
            Ok(false) => {
                let _ =
                    tokio::time::timeout(Duration::from_secs(5), bus.inner.wake_replays.notified())
                        .await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "replay step failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
