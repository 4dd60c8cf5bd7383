//! Storage for Lambda event source mappings (SQS queue → function).
//!
//! A mapping is durable configuration: which queue feeds which function and how
//! (batch size, batching window, filters, …). The runtime owns the configuration's shape
//! and keeps it as an opaque JSON document; the store indexes the few columns that
//! ListEventSourceMappings filters on. Messages themselves stay in the queue store: a
//! mapping's poller is one more SQS consumer.

use async_trait::async_trait;
use serde_json::Value;

use baton_platform::store::StoreError;

/// One mapping as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingRecord {
    /// The mapping's UUID (its identity and the pagination key).
    pub uuid: String,
    /// The queue's ARN as given at creation (fixed for the mapping's life).
    pub event_source_arn: String,
    /// The function's plain name (ListEventSourceMappings filters on it).
    pub function_name: String,
    /// The configuration, as the runtime serialises it.
    pub config: Value,
}

/// Which mappings a listing returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MappingFilter {
    pub event_source_arn: Option<String>,
    pub function_name: Option<String>,
}

/// What the event source mapping runtime needs from a backend.
#[async_trait]
pub trait EventSourceMappingStore: Send + Sync + 'static {
    /// # Contract
    /// `AlreadyExists(uuid)` when a mapping with that UUID exists; nothing is written
    /// then. Durable when `Ok`.
    async fn create_mapping(&self, record: MappingRecord) -> Result<(), StoreError>;

    /// # Contract
    /// `Ok(None)` when there is no such mapping.
    async fn get_mapping(&self, uuid: &str) -> Result<Option<MappingRecord>, StoreError>;

    /// Mappings in UUID order whose UUID is greater than `after`, matching every field
    /// `filter` sets, at most `limit`.
    ///
    /// # Contract
    /// Each mapping appears in at most one page of a listing walked with the last UUID
    /// of each page as the next `after`.
    async fn list_mappings(
        &self,
        filter: &MappingFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MappingRecord>, StoreError>;

    /// Replaces a mapping's function name and configuration (the UUID and event source
    /// stay).
    ///
    /// # Contract
    /// `NotFound(uuid)` when the mapping is gone. Durable when `Ok`.
    async fn update_mapping(&self, record: MappingRecord) -> Result<(), StoreError>;

    /// # Contract
    /// `NotFound(uuid)` when there is no such mapping. Durable when `Ok`.
    async fn delete_mapping(&self, uuid: &str) -> Result<(), StoreError>;
}
