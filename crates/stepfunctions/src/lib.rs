//! Step Functions on a durable store: state machines, Standard executions that survive a
//! `kill -9`, Express executions in memory, activities, callbacks and the task
//! integrations this server runs itself.
//!
//! How a Standard execution moves (the functional core / imperative shell split):
//!
//! 1. Something happens to it — StartExecution, a timer fires, a task answers, a worker
//!    sends a token back, StopExecution. The runtime takes the execution's in-memory
//!    entry (loading its snapshot from the store if it is not cached) under a per-execution
//!    lock.
//! 2. `baton_exec::apply` turns the input into effects. Runs of pure states complete
//!    inside one call.
//! 3. The effects become one [`crate::store::Step`]: the new snapshot, the history
//!    events, the timers and calls to make (work items), the work this input consumed.
//!    The store commits it atomically; the SQLite writer batches many executions' steps
//!    into one transaction (group commit).
//! 4. Only then does anything leave the process: timers go into the in-memory wheel,
//!    task calls start, events go to the bus, pollers wake. A crash before this point
//!    loses nothing (the work rows are there) and a crash after it may repeat an effect,
//!    never a transition.
//!
//! After a restart the runtime claims every stored work item (timers, calls not yet
//! answered, events not yet delivered) and carries on; no scan of executions is needed.
//!
//! Modules: `engine` (the steps above), `work` (timer wheel, work scanner, event
//! dispatch), `integrations` (the calls tasks make), `activities` (workers and tokens),
//! `express` (in-memory runs), `machines`, `queries` (describe/list/history),
//! `status_events`, `starter` (the bridge for event-bus rules), `test_state`.
//!
//! Beside the server: `local` runs one execution in-process (`baton run`, the
//! conformance tests) with `mock` (Step Functions Local mock configs) and `entropy`;
//! `lambda` is what a Task receives from a function, for both; `wire` is the
//! `AWSStepFunctions` JSON API; `store` the durable tables.

mod activities;
pub mod arn;
mod engine;
mod error;
mod executions;
mod express;
mod integrations;
#[cfg(test)]
mod lambda_tests;
mod machines;
mod queries;
mod sdk_metadata;
mod sqs_task;
mod starter;
mod status_events;
mod test_state;
#[cfg(test)]
mod tests;
mod work;

pub mod entropy;
pub mod lambda;
pub mod local;
pub mod mock;
pub mod store;
pub mod wire;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use baton_platform::bridge::{EventSink, FunctionInvoker};
use baton_platform::clock::{Clock, Millis};

use crate::store::SfnStore;

pub use crate::store::{
    ActivityRecord, ExecutionRecord, MachineType, RevisionRecord, RunStatus, StateMachineRecord,
    Tag,
};
pub use activities::ActivityTaskAssignment;
pub use error::SfnError;
pub use express::SyncExecutionResult;
pub use machines::{CreateStateMachine, UpdateStateMachine};
pub use queries::{ExecutionDescription, ExecutionPage, HistoryPage, Page, RedriveStatus};

/// The largest execution input, task output or result (256 KiB), as AWS allows.
pub const MAX_PAYLOAD_BYTES: usize = 262_144;

/// Settings of the Step Functions runtime.
#[derive(Debug, Clone)]
pub struct SfnConfig {
    pub region: String,
    pub account: String,
    /// This node's name in leases. Stable across restarts, so a restarted node takes its
    /// own work back at once; unique per node when several share a database.
    pub node_id: String,
    /// How long claimed work stays with a node before another may take it over.
    pub lease_millis: i64,
    /// Timers due within this window are kept in memory; later ones stay in the store
    /// until the scanner brings them in.
    pub timer_horizon_millis: i64,
    /// How often the store is scanned for due or abandoned work.
    pub scan_interval_millis: u64,
    /// How long GetActivityTask waits for a task (AWS: 60 s).
    pub activity_poll_millis: u64,
    /// Express executions stop after this long (AWS: 5 minutes).
    pub express_max_millis: u64,
}

impl Default for SfnConfig {
    fn default() -> Self {
        SfnConfig {
            region: baton_platform::arn::DEFAULT_REGION.to_owned(),
            account: baton_platform::arn::DEFAULT_ACCOUNT.to_owned(),
            node_id: "local".to_owned(),
            lease_millis: 300_000,
            timer_horizon_millis: 60_000,
            scan_interval_millis: 2_000,
            activity_poll_millis: 60_000,
            express_max_millis: 300_000,
        }
    }
}

/// The Step Functions runtime. Cheap to clone; every clone is the same runtime.
#[derive(Clone)]
pub struct StepFunctions {
    inner: Arc<Inner>,
}

/// Everything the runtime shares between requests and background tasks.
pub(crate) struct Inner {
    pub config: SfnConfig,
    pub scope: arn::Scope,
    pub store: Arc<dyn SfnStore>,
    /// Where status-change events and `events:putEvents` tasks go; `None` drops them.
    pub sink: Option<Arc<dyn EventSink>>,
    pub clock: Arc<dyn Clock>,
    pub machines: machines::MachineCache,
    pub live: engine::LiveExecutions,
    pub timers: work::TimerWheel,
    pub events: work::EventQueue,
    pub activity_waiters: activities::Waiters,
    pub http: reqwest::Client,
    /// Runs Lambda tasks; set once the functions runtime exists (it starts after the
    /// listener is bound). Unset, Lambda tasks fail with `Lambda.ServiceException`.
    pub functions: std::sync::OnceLock<Arc<dyn FunctionInvoker>>,
    /// Sends `sqs:sendMessage` tasks' messages; set once the queues runtime exists.
    /// Unset, those tasks fail with `SQS.AmazonSQSException`.
    pub queues: std::sync::OnceLock<Arc<dyn baton_platform::bridge::MessageSender>>,
    /// Lambda calls running in this process, so a work item re-claimed while its
    /// function still runs (a call may outlast the lease) is not invoked twice at once.
    pub lambda_in_flight:
        std::sync::Mutex<std::collections::HashSet<(crate::store::ExecutionId, u64)>>,
    /// Seeds for each step's random draws (`States.UUID`, jitter).
    seed: AtomicU64,
}

impl Inner {
    pub fn now(&self) -> Millis {
        self.clock.now_millis()
    }

    /// A fresh seed per step: a counter mixed from a random start.
    pub fn next_seed(&self) -> u64 {
        let n = self
            .seed
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        let mut z = n;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl StepFunctions {
    /// A runtime over `store`. Call [`StepFunctions::start`] inside a tokio runtime to
    /// recover stored work and begin background processing.
    pub fn new(
        store: Arc<dyn SfnStore>,
        sink: Option<Arc<dyn EventSink>>,
        clock: Arc<dyn Clock>,
        config: SfnConfig,
    ) -> StepFunctions {
        let scope = arn::Scope {
            region: config.region.clone(),
            account: config.account.clone(),
        };
        let seed = uuid::Uuid::new_v4().as_u64_pair().0;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap_or_default();
        StepFunctions {
            inner: Arc::new(Inner {
                config,
                scope,
                store,
                sink,
                clock,
                machines: machines::MachineCache::default(),
                live: engine::LiveExecutions::default(),
                timers: work::TimerWheel::default(),
                events: work::EventQueue::default(),
                activity_waiters: activities::Waiters::default(),
                http,
                functions: std::sync::OnceLock::new(),
                queues: std::sync::OnceLock::new(),
                lambda_in_flight: std::sync::Mutex::default(),
                seed: AtomicU64::new(seed),
            }),
        }
    }

    /// Takes back the work stored by this node (after a restart, everything that was in
    /// flight) and starts the timer wheel, the work scanner and the event dispatcher.
    pub async fn start(&self) -> Result<(), SfnError> {
        work::start(&self.inner).await
    }

    pub fn config(&self) -> &SfnConfig {
        &self.inner.config
    }

    pub fn now(&self) -> Millis {
        self.inner.now()
    }

    /// Executions cached in memory and timers in the in-memory wheel (for tests and
    /// diagnostics).
    pub fn cached(&self) -> (usize, usize) {
        (self.inner.live.len(), self.inner.timers.len())
    }

    /// Connects Lambda tasks to the functions runtime. Only the first call counts.
    pub fn set_function_invoker(&self, invoker: Arc<dyn FunctionInvoker>) {
        let _ = self.inner.functions.set(invoker);
    }

    /// Connects `sqs:sendMessage` tasks to the queues runtime. Only the first call counts.
    pub fn set_message_sender(&self, sender: Arc<dyn baton_platform::bridge::MessageSender>) {
        let _ = self.inner.queues.set(sender);
    }

    /// The bridge the event bus uses to start executions (state machine targets).
    pub fn execution_starter(&self) -> Arc<dyn baton_platform::bridge::ExecutionStarter> {
        Arc::new(starter::Starter {
            inner: self.inner.clone(),
        })
    }
}
