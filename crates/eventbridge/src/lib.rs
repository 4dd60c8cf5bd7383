//! The event bus runtime: EventBridge's control plane and data plane over an
//! [`EventsStore`], with the pure `baton_events` core deciding what matches and what a
//! target receives.
//!
//! Flow of an event (PutEvents, a forward from another bus, a schedule, a replay):
//! match it against the bus's compiled [`baton_events::Matcher`], render each matched
//! target's body ([`baton_events::InputTransform::apply`]) and commit one
//! [`crate::store::Ingest`] — the deliveries and archive rows — before answering.
//! The delivery worker ([`delivery`]) claims due deliveries with a lease, performs them
//! (state machine, bus, HTTP), and finishes, retries with backoff, or dead-letters each.
//!
//! Modules: `catalog` (the in-memory snapshot of buses, rules, targets, archives,
//! connections, API destinations the data plane reads without locks), `control` (bus,
//! rule and target operations), `archives` (archives, replays and the replay worker),
//! `connections` (connections and API destinations), `ingest` (PutEvents and the
//! `EventSink` for Step Functions), `delivery` + `http` (the worker and target
//! invocations; `fifo_order` keeps an SQS FIFO group's deliveries in sequence),
//! `scheduler` (scheduled rules and archive retention), `arn`, `error`;
//! `wire` is the `AWSEvents` JSON API, `store` the durable tables.
//!
//! Architecture Invariant: the catalog in memory only ever reflects committed store
//! state. Control-plane operations hold one mutex, commit to the store, then publish a
//! new catalog snapshot.

pub mod archives;
pub mod arn;
pub mod catalog;
pub mod connections;
pub mod control;
pub mod delivery;
pub mod error;
mod fifo_order;
pub mod http;
pub mod ingest;
pub mod scheduler;
pub mod store;
pub mod wire;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use baton_platform::arn::{DEFAULT_ACCOUNT, DEFAULT_REGION};
use baton_platform::bridge::ExecutionStarter;
use baton_platform::clock::{Clock, Millis};
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::store::{BusRecord, EventsStore};
pub use arn::Arns;
pub use catalog::Catalog;
pub use error::BusError;

/// Where the buses live.
#[derive(Debug, Clone)]
pub struct BusConfig {
    pub region: String,
    pub account: String,
    /// Deliveries performed at once by the worker.
    pub delivery_concurrency: usize,
    /// How long a claimed delivery stays leased to this node.
    pub lease: Duration,
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            region: DEFAULT_REGION.to_owned(),
            account: DEFAULT_ACCOUNT.to_owned(),
            delivery_concurrency: 256,
            lease: Duration::from_secs(60),
        }
    }
}

/// The event bus service. Cheap to clone; every clone is the same service.
#[derive(Clone)]
pub struct EventBuses {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: BusConfig,
    pub(crate) arns: Arns,
    pub(crate) store: Arc<dyn EventsStore>,
    pub(crate) clock: Arc<dyn Clock>,
    /// The published snapshot; replaced whole, never mutated in place.
    catalog: RwLock<Arc<Catalog>>,
    /// Serializes control-plane changes (store commit, then snapshot publish).
    pub(crate) control: tokio::sync::Mutex<()>,
    pub(crate) starter: OnceLock<Arc<dyn ExecutionStarter>>,
    /// Lambda targets are invoked asynchronously through this (set once functions run).
    pub(crate) functions: OnceLock<Arc<dyn baton_platform::bridge::FunctionInvoker>>,
    /// SQS targets and SQS dead-letter queues are sent through this (set once queues run).
    pub(crate) queues: OnceLock<Arc<dyn baton_platform::bridge::MessageSender>>,
    pub(crate) http: reqwest::Client,
    pub(crate) wake_deliveries: Notify,
    /// Keeps each SQS FIFO group's deliveries in claim order on this node.
    pub(crate) fifo_order: fifo_order::GroupOrder,
    pub(crate) wake_scheduler: Notify,
    pub(crate) wake_replays: Notify,
    pub(crate) tokens: Mutex<http::TokenCache>,
    pub(crate) rate_limits: Mutex<http::RateLimits>,
}

impl EventBuses {
    /// Loads the catalog from the store (creating the `default` bus on first use).
    /// Background work starts with [`EventBuses::start_workers`].
    pub async fn open(
        config: BusConfig,
        store: Arc<dyn EventsStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<EventBuses, BusError> {
        let now = clock.now().timestamp_millis();
        let buses = store.list_buses().await?;
        if !buses.iter().any(|b| b.name == "default") {
            match store
                .create_bus(BusRecord {
                    name: "default".to_owned(),
                    description: None,
                    kms_key_identifier: None,
                    dead_letter_arn: None,
                    created_ms: now,
                    modified_ms: now,
                })
                .await
            {
                Ok(()) | Err(baton_platform::store::StoreError::AlreadyExists(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let arns = Arns::new(&config.region, &config.account);
        let catalog = Catalog::load(store.as_ref(), &arns).await?;
        let http = reqwest::Client::builder()
            .timeout(http::INVOCATION_TIMEOUT)
            .build()
            .map_err(|e| BusError::internal(format!("building the HTTP client: {e}")))?;
        Ok(EventBuses {
            inner: Arc::new(Inner {
                config,
                arns,
                store,
                clock,
                catalog: RwLock::new(Arc::new(catalog)),
                control: tokio::sync::Mutex::new(()),
                starter: OnceLock::new(),
                functions: OnceLock::new(),
                queues: OnceLock::new(),
                http,
                wake_deliveries: Notify::new(),
                fifo_order: fifo_order::GroupOrder::default(),
                wake_scheduler: Notify::new(),
                wake_replays: Notify::new(),
                tokens: Mutex::new(http::TokenCache::default()),
                rate_limits: Mutex::new(http::RateLimits::default()),
            }),
        })
    }

    /// Starts the delivery worker, the scheduler and the replay worker on the current
    /// tokio runtime. `single_node`: this process is the store's only user, so leases
    /// left by a previous (crashed) process are released at once.
    pub async fn start_workers(&self, single_node: bool) -> Result<(), BusError> {
        if single_node {
            let released = self.inner.store.release_leases(self.now_ms()).await?;
            if released > 0 {
                tracing::info!(released, "deliveries of a previous run are due again");
            }
        }
        tokio::spawn(delivery::run(self.clone()));
        if !single_node {
            tokio::spawn(refresh_catalog(self.clone()));
        }
        tokio::spawn(scheduler::run(self.clone()));
        tokio::spawn(archives::run_replays(self.clone()));
        Ok(())
    }

    /// Connects state machine targets to Step Functions. Only the first call counts.
    pub fn set_execution_starter(&self, starter: Arc<dyn ExecutionStarter>) {
        let _ = self.inner.starter.set(starter);
    }

    /// Connects Lambda function targets to the functions runtime. Only the first call
    /// counts.
    pub fn set_function_invoker(&self, invoker: Arc<dyn baton_platform::bridge::FunctionInvoker>) {
        let _ = self.inner.functions.set(invoker);
    }

    /// Connects SQS targets and dead-letter queues to the queues runtime. Only the first
    /// call counts.
    pub fn set_message_sender(&self, sender: Arc<dyn baton_platform::bridge::MessageSender>) {
        let _ = self.inner.queues.set(sender);
    }

    pub fn arns(&self) -> &Arns {
        &self.inner.arns
    }

    pub fn config(&self) -> &BusConfig {
        &self.inner.config
    }

    /// The current catalog snapshot.
    pub fn catalog(&self) -> Arc<Catalog> {
        match self.inner.catalog.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub(crate) fn publish(&self, catalog: Catalog) {
        let catalog = Arc::new(catalog);
        match self.inner.catalog.write() {
            Ok(mut c) => *c = catalog,
            Err(poisoned) => *poisoned.into_inner() = catalog,
        }
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    pub(crate) fn now_ms(&self) -> Millis {
        self.now().timestamp_millis()
    }

    /// Deliveries still queued (for tests and benchmarks).
    pub async fn pending_deliveries(&self) -> Result<u64, BusError> {
        Ok(self.inner.store.pending_deliveries().await?)
    }

    /// Dead letters recorded so far, optionally for one destination.
    pub async fn dead_letters(
        &self,
        queue_arn: Option<&str>,
        limit: usize,
    ) -> Result<Vec<crate::store::DeadLetter>, BusError> {
        Ok(self.inner.store.list_dead_letters(queue_arn, limit).await?)
    }
}

/// How often a node that shares its store re-reads the catalog for changes made through
/// its peers. (AWS too says a new or changed rule takes a short while to take effect.)
const CATALOG_REFRESH: std::time::Duration = std::time::Duration::from_secs(1);

/// Keeps this node's catalog in step with the store when other nodes change it: reloads
/// it every [`CATALOG_REFRESH`] and publishes it when its records differ. The control
/// lock is held meanwhile, so a change made through this node is never overwritten by
/// an older read.
async fn refresh_catalog(bus: EventBuses) {
    loop {
        tokio::time::sleep(CATALOG_REFRESH).await;
        let _guard = bus.inner.control.lock().await;
        match catalog::Catalog::load(bus.inner.store.as_ref(), &bus.inner.arns).await {
            Ok(fresh) if !fresh.same_records(&bus.catalog()) => {
                tracing::debug!("event bus catalog changed through another node");
                bus.publish(fresh);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "re-reading the event bus catalog failed"),
        }
    }
}

/// A random UUID (version 4) in its usual text form.
pub fn random_uuid() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: fall back to time and a counter (unique, not secret).
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes[..8].copy_from_slice(&(t as u64).to_le_bytes());
        bytes[8..].copy_from_slice(&n.to_le_bytes());
    }
    format_uuid(bytes)
}

/// A UUID-shaped id derived from `key`: the same key always gives the same id, so work
/// repeated after a crash produces the same events and executions.
pub fn derived_uuid(key: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(key.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    format_uuid(bytes)
}

fn format_uuid(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
