//! Lambda event source mappings for SQS: a queue feeds a function in batches, as AWS
//! Lambda's pollers do.
//!
//! `model` (the configuration and the checks Create/Update make), `records` (the SQS
//! event a function receives, the filter step), `batch_response` (reading
//! `batchItemFailures`), `poller` (the per-mapping loop), `errors`.
//!
//! Mappings are durable (`EventSourceMappingStore`); the pollers are not. Each node
//! runs one poller per enabled mapping, reconciled with the store every second and
//! at once after a change through this node. A poller is an ordinary consumer of the
//! queue (through the `QueueConsumer` bridge): receives set visibility timeouts and
//! receive counts and apply the queue's redrive policy exactly as for any other client,
//! so several nodes polling one queue never hand the same message to two invocations
//! inside its visibility timeout.

pub mod batch_response;
pub mod errors;
pub mod model;
mod poller;
pub mod records;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::store::event_sources::{EventSourceMappingStore, MappingFilter, MappingRecord};
use baton_platform::store::StoreError;
use tokio::sync::{Notify, watch};

use baton_platform::bridge::FunctionInvoker;
use baton_platform::bridge::queues::{QueueConsumer, QueueFacts};
use baton_platform::clock::Clock;

pub use errors::MappingError;
pub use model::{FunctionTarget, Mapping, MappingChanges, MappingState};

/// ListEventSourceMappings' page size when `MaxItems` is absent.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: i64 = 10_000;

/// Where ARNs point and how often pollers are reconciled.
#[derive(Debug, Clone)]
pub struct EventSourcesConfig {
    pub region: String,
    pub account: String,
    /// How often each node re-reads the mappings (changes made through other nodes
    /// are seen after at most this long).
    pub reconcile_interval: Duration,
}

/// The event source mapping service: the API's operations and the pollers.
#[derive(Clone)]
pub struct EventSourceMappings {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn EventSourceMappingStore>,
    queues: Arc<dyn QueueConsumer>,
    invoker: Arc<dyn FunctionInvoker>,
    config: EventSourcesConfig,
    clock: Arc<dyn Clock>,
    /// Signalled after every change through this node: reconcile now.
    changed: Notify,
    /// This node's pollers by mapping UUID; each hears its mapping's configuration
    /// (or `None`: stop) through the channel.
    pollers: Mutex<HashMap<String, watch::Sender<Option<Arc<Mapping>>>>>,
}

fn sqs_error_message() -> String {
    "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist or you do not have access to it.".to_owned()
}

impl EventSourceMappings {
    pub fn new(
        store: Arc<dyn EventSourceMappingStore>,
        queues: Arc<dyn QueueConsumer>,
        invoker: Arc<dyn FunctionInvoker>,
        config: EventSourcesConfig,
        clock: Arc<dyn Clock>,
    ) -> EventSourceMappings {
        EventSourceMappings {
            inner: Arc::new(Inner {
                store,
                queues,
                invoker,
                config,
                clock,
                changed: Notify::new(),
                pollers: Mutex::default(),
            }),
        }
    }

    pub fn config(&self) -> &EventSourcesConfig {
        &self.inner.config
    }

    /// `arn:aws:lambda:REGION:ACCOUNT:event-source-mapping:UUID`.
    pub fn mapping_arn(&self, uuid: &str) -> String {
        format!(
            "arn:aws:lambda:{}:{}:event-source-mapping:{uuid}",
            self.inner.config.region, self.inner.config.account
        )
    }

    /// Starts the reconcile loop (pollers for every enabled mapping). Call once, after
    /// the function invoker can run functions.
    pub fn start(&self) {
        let inner = self.inner.clone();
        tokio::spawn(async move { poller::reconcile_loop(inner).await });
    }

    /// The queue an SQS ARN names, if it is in this region and account and exists;
    /// with its settings.
    async fn queue_of(&self, arn: &str) -> Result<(String, QueueFacts), MappingError> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [_, _, service, region, account, name] = parts.as_slice() else {
            return Err(MappingError::invalid_parameter(sqs_error_message()));
        };
        if *service != "sqs" {
            // Lambda's answer for a service it cannot map; Baton maps SQS queues only.
            return Err(MappingError::invalid_parameter(format!(
                "Unrecognized event source. Unsupported source arn : {arn}"
            )));
        }
        if *region != self.inner.config.region || *account != self.inner.config.account {
            return Err(MappingError::invalid_parameter(sqs_error_message()));
        }
        match self.inner.queues.queue_facts(name).await {
            Ok(settings) => Ok(((*name).to_owned(), settings)),
            Err(e) if e.sender_fault => Err(MappingError::invalid_parameter(sqs_error_message())),
            Err(e) => Err(MappingError::internal(e.message)),
        }
    }

    /// CreateEventSourceMapping. Returns the stored mapping and the state to report
    /// (`Creating`; a later Get sees `Enabled` or `Disabled`).
    pub async fn create(
        &self,
        event_source_arn: Option<&str>,
        function: FunctionTarget,
        changes: MappingChanges,
    ) -> Result<Mapping, MappingError> {
        model::check_constraints(&changes)?;
        let Some(arn) = event_source_arn.filter(|a| !a.is_empty()) else {
            return Err(MappingError::invalid_parameter(
                "Unrecognized event source, must be kafka or specify an EventSourceArn",
            ));
        };
        let (queue, settings) = self.queue_of(arn).await?;
        let mut mapping = Mapping {
            uuid: uuid::Uuid::new_v4().to_string(),
            event_source_arn: arn.to_owned(),
            queue,
            function_name: function.name.clone(),
            function_arn: function.arn.clone(),
            batch_size: model::DEFAULT_BATCH_SIZE,
            batching_window_seconds: 0,
            enabled: true,
            filters: Vec::new(),
            report_batch_item_failures: false,
            maximum_concurrency: None,
            last_modified_ms: self.inner.clock.now_millis(),
        };
        model::apply_changes(&mut mapping, &changes, settings.fifo)?;
        model::check_visibility(settings.visibility_timeout, &function)?;
        let existing = self
            .inner
            .store
            .list_mappings(
                &MappingFilter {
                    event_source_arn: Some(arn.to_owned()),
                    function_name: Some(function.name.clone()),
                },
                None,
                1,
            )
            .await?;
        if let Some(e) = existing.first() {
            return Err(MappingError::conflict(format!(
                "An event source mapping with SQS arn (\" {arn} \") and function (\" {} \") already exists. Please update or delete the existing mapping with UUID {}",
                function.name, e.uuid
            )));
        }
        self.inner
            .store
            .create_mapping(to_record(&mapping)?)
            .await?;
        self.inner.changed.notify_one();
        Ok(mapping)
    }

    pub async fn get(&self, uuid: &str) -> Result<Mapping, MappingError> {
        let record = self
            .inner
            .store
            .get_mapping(uuid)
            .await?
            .ok_or_else(MappingError::not_found)?;
        from_record(&record)
    }

    /// ListEventSourceMappings: a page and the marker of the next one.
    pub async fn list(
        &self,
        event_source_arn: Option<&str>,
        function_name: Option<&str>,
        marker: Option<&str>,
        max_items: Option<i64>,
    ) -> Result<(Vec<Mapping>, Option<String>), MappingError> {
        let limit = match max_items {
            None => DEFAULT_PAGE,
            Some(n) if (1..=MAX_PAGE).contains(&n) => usize::try_from(n).unwrap_or(DEFAULT_PAGE),
            Some(n) => {
                let rule = if n < 1 {
                    "Member must have value greater than or equal to 1"
                } else {
                    "Member must have value less than or equal to 10000"
                };
                return Err(MappingError::validation(format!(
                    "1 validation error detected: Value '{n}' at 'maxItems' failed to satisfy constraint: {rule}"
                )));
            }
        };
        let filter = MappingFilter {
            event_source_arn: event_source_arn.map(str::to_owned),
            function_name: function_name.map(str::to_owned),
        };
        let mut records = self
            .inner
            .store
            .list_mappings(&filter, marker, limit.saturating_add(1))
            .await?;
        let next = if records.len() > limit {
            records.truncate(limit);
            records.last().map(|r| r.uuid.clone())
        } else {
            None
        };
        let mappings = records.iter().map(from_record).collect::<Result<_, _>>()?;
        Ok((mappings, next))
    }

    /// UpdateEventSourceMapping: `function` when the request names one (the API layer
    /// resolved it). Returns the stored mapping.
    pub async fn update(
        &self,
        uuid: &str,
        function: Option<FunctionTarget>,
        changes: MappingChanges,
    ) -> Result<Mapping, MappingError> {
        model::check_constraints(&changes)?;
        let mut mapping = self.get(uuid).await?;
        let (_, settings) = self.queue_of(&mapping.event_source_arn).await?;
        model::apply_changes(&mut mapping, &changes, settings.fifo)?;
        if let Some(f) = function {
            model::check_visibility(settings.visibility_timeout, &f)?;
            mapping.function_name = f.name;
            mapping.function_arn = f.arn;
        }
        mapping.last_modified_ms = self.inner.clock.now_millis();
        match self.inner.store.update_mapping(to_record(&mapping)?).await {
            Ok(()) => {}
            Err(StoreError::NotFound(_)) => return Err(MappingError::not_found()),
            Err(e) => return Err(e.into()),
        }
        self.inner.changed.notify_one();
        Ok(mapping)
    }

    /// DeleteEventSourceMapping: the mapping as it was (reported as `Deleting`). Its
    /// pollers stop after the batch they are on.
    pub async fn delete(&self, uuid: &str) -> Result<Mapping, MappingError> {
        let mapping = self.get(uuid).await?;
        match self.inner.store.delete_mapping(uuid).await {
            Ok(()) => {}
            Err(StoreError::NotFound(_)) => return Err(MappingError::not_found()),
            Err(e) => return Err(e.into()),
        }
        self.inner.changed.notify_one();
        Ok(mapping)
    }
}

fn to_record(m: &Mapping) -> Result<MappingRecord, MappingError> {
    Ok(MappingRecord {
        uuid: m.uuid.clone(),
        event_source_arn: m.event_source_arn.clone(),
        function_name: m.function_name.clone(),
        config: serde_json::to_value(m).map_err(MappingError::internal)?,
    })
}

fn from_record(r: &MappingRecord) -> Result<Mapping, MappingError> {
    serde_json::from_value(r.config.clone()).map_err(MappingError::internal)
}
