//! Storage for Lambda-style functions: definitions, their code packages, and the queue
//! of asynchronous (`Event`) invocations with the record of those that failed for good.
//!
//! Function definitions and code are durable; execution environments are not stored
//! (they are processes on one node). The runtime owns the configuration's shape: the
//! store keeps it as an opaque JSON document next to the columns it queries by.

use async_trait::async_trait;
use serde_json::Value;

use baton_platform::store::StoreError;

/// One function as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionRecord {
    pub name: String,
    /// Starts at 1 and grows by one with every change; updates name the revision they
    /// read (optimistic concurrency, and the `RevisionId` AWS reports).
    pub revision: i64,
    /// The configuration, as the functions runtime serialises it.
    pub config: Value,
    /// SHA-256 (hex) of the code package in the code table, or `None` for code that
    /// lives outside the store (a local directory).
    pub code_sha256: Option<String>,
}

/// An accepted `Event` invocation waiting to run (or to run again).
#[derive(Debug, Clone, PartialEq)]
pub struct AsyncInvocation {
    /// The request id the caller was given.
    pub id: String,
    pub function: String,
    pub payload: Vec<u8>,
    /// Attempts already made (0 before the first).
    pub attempts: u32,
    /// When the caller's request was accepted (epoch ms); the event's age counts from it.
    pub accepted_at_ms: i64,
    /// Not to run before this instant (epoch ms): retries wait.
    pub due_at_ms: i64,
}

/// An asynchronous invocation that ran out of attempts or of age: kept so it can be
/// inspected (and later sent to a dead-letter queue).
#[derive(Debug, Clone, PartialEq)]
pub struct AsyncFailure {
    pub id: String,
    pub function: String,
    pub payload: Vec<u8>,
    pub attempts: u32,
    /// `errorType` of the last attempt (or `EventAgeExceeded`, …).
    pub error_type: String,
    /// The last attempt's error payload.
    pub error_payload: Vec<u8>,
    pub failed_at_ms: i64,
}

/// What the functions runtime needs from a backend.
#[async_trait]
pub trait FunctionStore: Send + Sync + 'static {
    /// Stores a new function (revision 1) and, when given, its code package.
    ///
    /// # Contract
    /// `AlreadyExists(name)` when a function by that name exists; nothing is written
    /// then. Durable when `Ok`.
    async fn create_function(
        &self,
        record: FunctionRecord,
        code: Option<Vec<u8>>,
    ) -> Result<(), StoreError>;

    /// # Contract
    /// `Ok(None)` when there is no such function.
    async fn get_function(&self, name: &str) -> Result<Option<FunctionRecord>, StoreError>;

    /// Functions in name order, starting after `after`, at most `limit`.
    async fn list_functions(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FunctionRecord>, StoreError>;

    /// Replaces a function's configuration (and code, when given) if its revision is
    /// still `expected_revision`; the stored revision becomes `record.revision`.
    ///
    /// # Contract
    /// `NotFound` when the function is gone, `Conflict` when its revision moved on.
    /// Code no function refers to any more is dropped in the same transaction.
    async fn update_function(
        &self,
        record: FunctionRecord,
        expected_revision: i64,
        code: Option<Vec<u8>>,
    ) -> Result<(), StoreError>;

    /// # Contract
    /// `NotFound` when there is no such function. Its code is dropped unless another
    /// function shares it; queued asynchronous invocations stay (the worker records them
    /// as failed when it finds the function gone).
    async fn delete_function(&self, name: &str) -> Result<(), StoreError>;

    /// The code package with this SHA-256 (hex), if stored.
    async fn get_code(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// # Contract
    /// Durable when `Ok`: an acknowledged `Event` invocation is never lost. Storing the
    /// same id twice keeps the first.
    async fn enqueue_async(&self, invocation: AsyncInvocation) -> Result<(), StoreError>;

    /// Claims up to `limit` invocations due at `now_ms` and not claimed by a live
    /// claim, for `owner` until `now_ms + lease_ms`: until then no other claim returns
    /// them. `owner` names this claim (a node and a fresh token): only it can renew.
    ///
    /// # Contract
    /// A claim that is neither renewed, finished nor retried before its lease ends comes
    /// back (at-least-once: a crash never loses an invocation). Concurrent claims never
    /// return the same invocation while its lease holds.
    async fn claim_async(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<AsyncInvocation>, StoreError>;

    /// Extends `owner`'s claim on invocation `id` to `now_ms + lease_ms` (the heartbeat
    /// of a long-running invocation, so that leases can be short and a dead node's
    /// invocations come back soon).
    ///
    /// # Contract
    /// Returns `true` and moves the lease's end when `owner` made the invocation's
    /// latest claim and it was not released, retried or finished since — even if the
    /// lease ran out meanwhile, as long as no other claim took it. Otherwise returns
    /// `false` and changes nothing. A renewed claim is not returned by `claim_async`
    /// before its new end.
    async fn renew_async_claim(
        &self,
        id: &str,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Releases every claim (a single node starting up: nothing of its is running).
    async fn release_async_claims(&self) -> Result<(), StoreError>;

    /// Puts a claimed invocation back for another attempt at `due_at_ms`.
    async fn retry_async(&self, id: &str, attempts: u32, due_at_ms: i64) -> Result<(), StoreError>;

    /// Removes a finished invocation; with `failure`, records it as failed in the same
    /// transaction.
    async fn finish_async(&self, id: &str, failure: Option<AsyncFailure>)
    -> Result<(), StoreError>;

    /// Failed asynchronous invocations, oldest first, for one function or all.
    async fn list_async_failures(
        &self,
        function: Option<&str>,
    ) -> Result<Vec<AsyncFailure>, StoreError>;
}
