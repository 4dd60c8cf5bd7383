//! Storage contracts for event buses: the catalog (buses, rules, targets, archives,
//! connections, API destinations) and the durable flow of events (the delivery queue,
//! archived events, replays, dead letters).
//!
//! Times are milliseconds since the Unix epoch ([`Millis`]); the runtime owns the clock
//! and passes "now" in, so backends never read one.
//!
//! Why the flow traits look the way they do:
//! * An acknowledged PutEvents must be durable, so everything one event causes (a
//!   delivery row per matched target, a row per matching archive) is written by one
//!   [`EventLog::ingest`] call: one transaction, all or nothing.
//! * Deliveries are claimed with a lease ([`DeliveryQueue::claim_due`]) by moving their
//!   due time forward, so a worker that dies simply lets the lease run out and another
//!   claim picks the row up again. A SQL backend with several nodes implements the claim
//!   as `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)`.
//! * Finishing a delivery ([`DeliveryQueue::finish`]) deletes it and, in the same
//!   transaction, records what follows from it (the forwarded event's deliveries for a
//!   bus target, the dead letter), so a repeat after a crash changes nothing.
//! * Delivery ids are keys chosen by the runtime from what caused them (event, rule,
//!   target, replay); inserting an id that is already queued is a no-op, so replays,
//!   schedules and forwards that run twice enqueue once.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use baton_platform::clock::Millis;
use baton_platform::store::{Migration, Migrations, StoreError};

pub mod conformance;
mod postgres;
mod sqlite;

pub use postgres::PostgresEventsStore;
pub use sqlite::SqliteEventsStore;

/// The event bus tables, for each backend.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[Migration {
        name: "2000_event_buses",
        sql: include_str!("migrations/sqlite/2000_event_buses.sql"),
    }],
    postgres: &[Migration {
        name: "2000_event_buses",
        sql: include_str!("migrations/postgres/2000_event_buses.sql"),
    }],
};

/// One event bus. The ARN is derived from the name by the runtime (region and account
/// are configuration, not data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusRecord {
    pub name: String,
    pub description: Option<String>,
    pub kms_key_identifier: Option<String>,
    /// The bus-level `DeadLetterConfig.Arn`.
    pub dead_letter_arn: Option<String>,
    pub created_ms: Millis,
    pub modified_ms: Millis,
}

/// A rule's state as PutRule takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleState {
    Enabled,
    Disabled,
    EnabledWithAllCloudtrailManagementEvents,
}

impl RuleState {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleState::Enabled => "ENABLED",
            RuleState::Disabled => "DISABLED",
            RuleState::EnabledWithAllCloudtrailManagementEvents => {
                "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
            }
        }
    }

    pub fn parse(s: &str) -> Option<RuleState> {
        match s {
            "ENABLED" => Some(RuleState::Enabled),
            "DISABLED" => Some(RuleState::Disabled),
            "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" => {
                Some(RuleState::EnabledWithAllCloudtrailManagementEvents)
            }
            _ => None,
        }
    }

    pub fn is_enabled(self) -> bool {
        self != RuleState::Disabled
    }
}

/// One rule on one bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRecord {
    pub bus: String,
    pub name: String,
    pub event_pattern: Option<String>,
    pub schedule_expression: Option<String>,
    pub state: RuleState,
    pub description: Option<String>,
    pub role_arn: Option<String>,
    pub managed_by: Option<String>,
    pub created_by: String,
    /// For an enabled scheduled rule: when it fires next. `None` otherwise.
    pub next_fire_ms: Option<Millis>,
    pub created_ms: Millis,
    pub modified_ms: Millis,
}

/// What a target receives (validated by the runtime before it is stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetInput {
    WholeEvent,
    /// `Input`: constant JSON text.
    Constant(String),
    /// `InputPath`.
    Path(String),
    /// `InputTransformer`: `InputPathsMap` in request order, and `InputTemplate`.
    Transformer {
        paths: Vec<(String, String)>,
        template: String,
    },
}

/// `HttpParameters` of a target (API destinations).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpParameters {
    pub path_parameter_values: Vec<String>,
    pub header_parameters: Vec<(String, String)>,
    pub query_string_parameters: Vec<(String, String)>,
}

/// `RetryPolicy` as given; `None` fields take AWS's defaults at delivery time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    pub maximum_retry_attempts: Option<u32>,
    pub maximum_event_age_in_seconds: Option<u32>,
}

/// One target of one rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetRecord {
    pub id: String,
    pub arn: String,
    pub role_arn: Option<String>,
    pub input: TargetInput,
    pub http_parameters: Option<HttpParameters>,
    pub retry_policy: Option<RetryPolicy>,
    pub dead_letter_arn: Option<String>,
    /// Target parameters kept as given so listing targets returns them: those of kinds
    /// Baton does not invoke (`EcsParameters`, …) and `SqsParameters` (whose
    /// `MessageGroupId` each delivery also copies).
    pub other_parameters: Map<String, Value>,
}

/// One delivery waiting to be made: the rendered body and a snapshot of the target,
/// so later changes to the rule do not alter work already accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// The runtime's idempotency key (see the module docs).
    pub id: String,
    pub event_id: String,
    pub bus: String,
    pub rule_arn: String,
    pub target_id: String,
    pub target_arn: String,
    pub http_parameters: Option<HttpParameters>,
    /// What the target receives.
    pub body: String,
    /// When the bus accepted the event (the start of `MaximumEventAgeInSeconds`).
    pub ingested_ms: Millis,
    pub maximum_retry_attempts: u32,
    pub maximum_event_age_in_seconds: u32,
    /// Target-level dead-letter destination.
    pub dead_letter_arn: Option<String>,
    /// `SqsParameters.MessageGroupId` of an SQS FIFO queue target. (Absent in rows
    /// written before SQS targets existed.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_group_id: Option<String>,
    /// How many buses the event passed through before this one (bus-to-bus forwarding).
    pub hops: u8,
    /// Failed attempts so far.
    pub attempts: u32,
    pub due_ms: Millis,
    pub last_error: Option<String>,
}

/// An event kept by an archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedEvent {
    pub archive: String,
    pub event_id: String,
    pub ingested_ms: Millis,
    /// The event envelope as JSON text.
    pub event: String,
}

/// Everything one accepted event (or one schedule firing, one replayed batch) causes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ingest {
    pub deliveries: Vec<DeliveryRecord>,
    pub archived: Vec<ArchivedEvent>,
}

impl Ingest {
    pub fn is_empty(&self) -> bool {
        self.deliveries.is_empty() && self.archived.is_empty()
    }

    pub fn extend(&mut self, other: Ingest) {
        self.deliveries.extend(other.deliveries);
        self.archived.extend(other.archived);
    }
}

/// An event that could not be delivered, kept for its dead-letter destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The `DeadLetterConfig.Arn` it was sent to.
    pub queue_arn: String,
    pub delivery_id: String,
    pub event_id: String,
    pub body: String,
    pub rule_arn: String,
    pub target_arn: String,
    pub error_code: String,
    pub error_message: String,
    /// `MaximumRetryAttempts` or `MaximumEventAgeInSeconds` when retries ran out.
    pub exhausted_retry_condition: Option<String>,
    pub retry_attempts: u32,
    pub at_ms: Millis,
}

/// How a claimed delivery ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Finish {
    /// Recorded when the delivery failed for good and a destination was configured.
    pub dead_letter: Option<DeadLetter>,
    /// Work that follows from this delivery, committed with its removal.
    pub follow_up: Ingest,
}

/// An archive of a bus's events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveRecord {
    pub name: String,
    pub bus: String,
    pub description: Option<String>,
    pub event_pattern: Option<String>,
    /// 0 keeps events forever.
    pub retention_days: u32,
    pub kms_key_identifier: Option<String>,
    pub state: String,
    pub created_ms: Millis,
    pub modified_ms: Millis,
}

/// What an archive holds now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArchiveStats {
    pub event_count: u64,
    pub size_bytes: u64,
}

/// A replay's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplayState {
    Starting,
    Running,
    Cancelling,
    Completed,
    Cancelled,
    Failed,
}

impl ReplayState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplayState::Starting => "STARTING",
            ReplayState::Running => "RUNNING",
            ReplayState::Cancelling => "CANCELLING",
            ReplayState::Completed => "COMPLETED",
            ReplayState::Cancelled => "CANCELLED",
            ReplayState::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<ReplayState> {
        [
            ReplayState::Starting,
            ReplayState::Running,
            ReplayState::Cancelling,
            ReplayState::Completed,
            ReplayState::Cancelled,
            ReplayState::Failed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Still has work to do.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            ReplayState::Starting | ReplayState::Running | ReplayState::Cancelling
        )
    }
}

/// A replay of an archive's events onto its bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayRecord {
    pub name: String,
    pub archive: String,
    pub description: Option<String>,
    pub event_start_ms: Millis,
    pub event_end_ms: Millis,
    pub destination_bus: String,
    /// `Destination.FilterArns` as given (rule ARNs); empty means every rule.
    pub filter_arns: Vec<String>,
    pub state: ReplayState,
    pub state_reason: Option<String>,
    /// The archive sequence number of the last event replayed (0 before the first).
    pub cursor: i64,
    pub last_replayed_ms: Option<Millis>,
    pub replay_start_ms: Millis,
    pub replay_end_ms: Option<Millis>,
}

/// One key/value parameter of a connection (headers, query string, body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionParameter {
    pub key: String,
    pub value: String,
    pub is_value_secret: bool,
}

/// `InvocationHttpParameters` / `OAuthHttpParameters`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionHttpParameters {
    pub header_parameters: Vec<ConnectionParameter>,
    pub query_string_parameters: Vec<ConnectionParameter>,
    pub body_parameters: Vec<ConnectionParameter>,
}

/// How a connection authorizes requests. Secrets are stored here (Baton has no
/// Secrets Manager); the API never returns them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConnectionAuth {
    Basic {
        username: String,
        password: String,
    },
    ApiKey {
        name: String,
        value: String,
    },
    OAuthClientCredentials {
        client_id: String,
        client_secret: String,
        authorization_endpoint: String,
        http_method: String,
        oauth_http_parameters: Option<ConnectionHttpParameters>,
    },
}

impl ConnectionAuth {
    pub fn type_name(&self) -> &'static str {
        match self {
            ConnectionAuth::Basic { .. } => "BASIC",
            ConnectionAuth::ApiKey { .. } => "API_KEY",
            ConnectionAuth::OAuthClientCredentials { .. } => "OAUTH_CLIENT_CREDENTIALS",
        }
    }
}

/// A connection: credentials for API destinations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionRecord {
    pub name: String,
    /// The last part of the ARN (`connection/NAME/UUID`).
    pub uuid: String,
    pub description: Option<String>,
    pub auth: ConnectionAuth,
    pub invocation_http_parameters: Option<ConnectionHttpParameters>,
    pub state: String,
    pub state_reason: Option<String>,
    pub created_ms: Millis,
    pub modified_ms: Millis,
    pub last_authorized_ms: Option<Millis>,
}

/// An HTTP endpoint events can be sent to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiDestinationRecord {
    pub name: String,
    pub uuid: String,
    pub description: Option<String>,
    pub connection_arn: String,
    pub invocation_endpoint: String,
    pub http_method: String,
    pub invocation_rate_limit_per_second: Option<u32>,
    pub state: String,
    pub created_ms: Millis,
    pub modified_ms: Millis,
}

/// Event buses.
#[async_trait]
pub trait BusStore: Send + Sync {
    /// Creates a bus.
    ///
    /// # Contract
    /// `AlreadyExists` if a bus with that name exists; nothing changes then.
    async fn create_bus(&self, bus: BusRecord) -> Result<(), StoreError>;

    /// Replaces a bus's mutable fields (description, KMS key, dead-letter config).
    ///
    /// # Contract
    /// `NotFound` if there is no such bus.
    async fn update_bus(&self, bus: BusRecord) -> Result<(), StoreError>;

    /// Deletes a bus with its rules and their targets, and its archives.
    ///
    /// # Contract
    /// Returns whether the bus existed. Queued deliveries of its events are kept.
    async fn delete_bus(&self, name: &str) -> Result<bool, StoreError>;

    /// # Contract
    /// Every bus, ordered by name.
    async fn list_buses(&self) -> Result<Vec<BusRecord>, StoreError>;
}

/// Rules.
#[async_trait]
pub trait RuleStore: Send + Sync {
    /// Creates or replaces a rule (PutRule), keeping its targets.
    ///
    /// # Contract
    /// `NotFound` if the bus does not exist. On replace, `created_ms` and `created_by`
    /// of the stored rule are kept.
    async fn put_rule(&self, rule: RuleRecord) -> Result<(), StoreError>;

    /// Deletes a rule.
    ///
    /// # Contract
    /// Returns whether it existed. Refuses with `Conflict` if the rule still has
    /// targets, unless `force` (then its targets are deleted with it).
    async fn delete_rule(&self, bus: &str, name: &str, force: bool) -> Result<bool, StoreError>;

    /// # Contract
    /// Every rule of every bus, ordered by bus then name.
    async fn list_rules(&self) -> Result<Vec<RuleRecord>, StoreError>;

    /// Enabled scheduled rules whose next fire time is at or before `now`, earliest first.
    ///
    /// # Contract
    /// At most `limit` rules. Rules are not locked: a firing commits only through
    /// [`RuleStore::fire_schedule`]'s compare-and-set.
    async fn due_schedules(&self, now: Millis, limit: usize)
    -> Result<Vec<RuleRecord>, StoreError>;

    /// The earliest next fire time of any enabled scheduled rule.
    async fn next_schedule_ms(&self) -> Result<Option<Millis>, StoreError>;

    /// Fires a scheduled rule once: moves its next fire time from `expected` to `next`
    /// and ingests what the firing caused, in one transaction.
    ///
    /// # Contract
    /// Returns `false` and changes nothing when the rule's stored next fire time is not
    /// `expected` (another node fired it, or it was changed or deleted meanwhile).
    async fn fire_schedule(
        &self,
        bus: &str,
        rule: &str,
        expected: Millis,
        next: Option<Millis>,
        ingest: Ingest,
    ) -> Result<bool, StoreError>;
}

/// Targets.
#[async_trait]
pub trait TargetStore: Send + Sync {
    /// Adds or replaces targets of a rule (by target id), keeping the others.
    ///
    /// # Contract
    /// `NotFound` if the rule does not exist. `Conflict` (and no change at all) if the
    /// rule would end up with more than `max_targets` targets.
    async fn put_targets(
        &self,
        bus: &str,
        rule: &str,
        targets: Vec<TargetRecord>,
        max_targets: usize,
    ) -> Result<(), StoreError>;

    /// Removes targets by id; returns the ids that were not there.
    ///
    /// # Contract
    /// `NotFound` if the rule does not exist.
    async fn remove_targets(
        &self,
        bus: &str,
        rule: &str,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError>;

    /// # Contract
    /// Every target as `(bus, rule, target)`, ordered by bus, rule, then insertion.
    async fn list_all_targets(&self) -> Result<Vec<(String, String, TargetRecord)>, StoreError>;
}

/// The durable intake: what PutEvents (and forwarding, schedules, replays) commits.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Commits deliveries and archived events together.
    ///
    /// # Contract
    /// All or nothing; durable when it returns `Ok`. A delivery whose id is already
    /// queued, or an archived event already in that archive, is skipped.
    async fn ingest(&self, ingest: Ingest) -> Result<(), StoreError>;
}

/// Deliveries waiting for a target.
#[async_trait]
pub trait DeliveryQueue: Send + Sync {
    /// Claims up to `limit` deliveries due at `now`, earliest first, leasing each until
    /// `lease_until`.
    ///
    /// # Contract
    /// A claimed delivery is not returned by another claim before `lease_until`; after
    /// it (the worker died), it is due again. Concurrent claims never return the same
    /// delivery.
    async fn claim_due(
        &self,
        now: Millis,
        limit: usize,
        lease_until: Millis,
    ) -> Result<Vec<DeliveryRecord>, StoreError>;

    /// Puts a failed delivery back, due at `due_ms`, with its new attempt count.
    ///
    /// # Contract
    /// A delivery that no longer exists is ignored.
    async fn retry_later(
        &self,
        id: &str,
        attempts: u32,
        due_ms: Millis,
        last_error: &str,
    ) -> Result<(), StoreError>;

    /// Removes a delivery and commits what follows from it, in one transaction.
    ///
    /// # Contract
    /// If the delivery no longer exists (a repeat after a crash), nothing is written
    /// and `false` is returned.
    async fn finish(&self, id: &str, finish: Finish) -> Result<bool, StoreError>;

    /// The earliest due time of any delivery, leased or not.
    async fn next_due_ms(&self) -> Result<Option<Millis>, StoreError>;

    /// Makes every leased delivery due at `now`.
    ///
    /// # Contract
    /// Only for a node that knows it is the store's only user (the embedded store at
    /// start-up): leases of a dead process end at once instead of running out.
    async fn release_leases(&self, now: Millis) -> Result<u64, StoreError>;

    /// How many deliveries are queued.
    async fn pending_deliveries(&self) -> Result<u64, StoreError>;
}

/// Dead letters kept for destinations Baton cannot hand them to yet.
#[async_trait]
pub trait DeadLetterStore: Send + Sync {
    /// # Contract
    /// Dead letters in the order they were recorded, optionally for one destination,
    /// at most `limit`.
    async fn list_dead_letters(
        &self,
        queue_arn: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError>;
}

/// Archives and the events they keep.
#[async_trait]
pub trait ArchiveStore: Send + Sync {
    /// # Contract
    /// `AlreadyExists` if the name is taken; `NotFound` if the bus does not exist.
    async fn create_archive(&self, archive: ArchiveRecord) -> Result<(), StoreError>;

    /// # Contract
    /// `NotFound` if there is no such archive.
    async fn update_archive(&self, archive: ArchiveRecord) -> Result<(), StoreError>;

    /// Deletes an archive and its events; returns whether it existed.
    async fn delete_archive(&self, name: &str) -> Result<bool, StoreError>;

    /// # Contract
    /// Every archive, ordered by name.
    async fn list_archives(&self) -> Result<Vec<ArchiveRecord>, StoreError>;

    async fn archive_stats(&self, name: &str) -> Result<ArchiveStats, StoreError>;

    /// Events of an archive ingested in `[start, end]` with a sequence number above
    /// `after`, in sequence order, at most `limit`.
    ///
    /// # Contract
    /// Sequence numbers increase with insertion and are never reused, so a replay can
    /// resume from the last one it handled.
    async fn archived_events(
        &self,
        archive: &str,
        start: Millis,
        end: Millis,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, ArchivedEvent)>, StoreError>;

    /// Deletes events older than their archive's retention allows; returns how many.
    async fn purge_expired(&self, now: Millis) -> Result<u64, StoreError>;
}

/// Replays.
#[async_trait]
pub trait ReplayStore: Send + Sync {
    /// # Contract
    /// `AlreadyExists` if the name is taken.
    async fn create_replay(&self, replay: ReplayRecord) -> Result<(), StoreError>;

    async fn get_replay(&self, name: &str) -> Result<Option<ReplayRecord>, StoreError>;

    /// # Contract
    /// Every replay, ordered by name.
    async fn list_replays(&self) -> Result<Vec<ReplayRecord>, StoreError>;

    /// Moves a replay to `state` (with `reason`, and `end_ms` when it finishes).
    ///
    /// # Contract
    /// Only when its current state is one of `from`; returns whether it moved.
    async fn set_replay_state(
        &self,
        name: &str,
        from: &[ReplayState],
        state: ReplayState,
        reason: Option<String>,
        end_ms: Option<Millis>,
    ) -> Result<bool, StoreError>;

    /// Records progress: the replay moves from cursor `expected` to `cursor`, and
    /// the deliveries for the replayed events are ingested, in one transaction.
    ///
    /// # Contract
    /// Returns `false` and changes nothing if the stored cursor is not `expected` or
    /// the replay is no longer `Starting`/`Running`.
    async fn advance_replay(
        &self,
        name: &str,
        expected: i64,
        cursor: i64,
        last_replayed_ms: Option<Millis>,
        ingest: Ingest,
    ) -> Result<bool, StoreError>;
}

/// Connections.
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// # Contract
    /// `AlreadyExists` if the name is taken.
    async fn create_connection(&self, connection: ConnectionRecord) -> Result<(), StoreError>;

    /// # Contract
    /// `NotFound` if there is no such connection.
    async fn update_connection(&self, connection: ConnectionRecord) -> Result<(), StoreError>;

    async fn delete_connection(&self, name: &str) -> Result<bool, StoreError>;

    async fn get_connection(&self, name: &str) -> Result<Option<ConnectionRecord>, StoreError>;

    /// # Contract
    /// Every connection, ordered by name.
    async fn list_connections(&self) -> Result<Vec<ConnectionRecord>, StoreError>;
}

/// API destinations.
#[async_trait]
pub trait ApiDestinationStore: Send + Sync {
    /// # Contract
    /// `AlreadyExists` if the name is taken.
    async fn create_api_destination(
        &self,
        destination: ApiDestinationRecord,
    ) -> Result<(), StoreError>;

    /// # Contract
    /// `NotFound` if there is no such API destination.
    async fn update_api_destination(
        &self,
        destination: ApiDestinationRecord,
    ) -> Result<(), StoreError>;

    async fn delete_api_destination(&self, name: &str) -> Result<bool, StoreError>;

    async fn get_api_destination(
        &self,
        name: &str,
    ) -> Result<Option<ApiDestinationRecord>, StoreError>;

    /// # Contract
    /// Every API destination, ordered by name.
    async fn list_api_destinations(&self) -> Result<Vec<ApiDestinationRecord>, StoreError>;
}

/// Everything the event bus runtime needs from a backend.
pub trait EventsStore:
    BusStore
    + RuleStore
    + TargetStore
    + EventLog
    + DeliveryQueue
    + DeadLetterStore
    + ArchiveStore
    + ReplayStore
    + ConnectionStore
    + ApiDestinationStore
    + Send
    + Sync
    + 'static
{
}

impl<T> EventsStore for T where
    T: BusStore
        + RuleStore
        + TargetStore
        + EventLog
        + DeliveryQueue
        + DeadLetterStore
        + ArchiveStore
        + ReplayStore
        + ConnectionStore
        + ApiDestinationStore
        + Send
        + Sync
        + 'static
{
}
