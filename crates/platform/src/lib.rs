//! What every Baton service shares, and nothing service-specific.
//!
//! - [`http`] — the one HTTP edge: the router services register with, the AWS protocol
//!   codecs (JSON 1.0/1.1 with `X-Amz-Target`, REST-JSON, and the Query/XML and REST-XML
//!   error shapes), AWS error responses, SigV4, request limits. The edge knows no service
//!   by name; a request for a service or operation nothing serves is answered in the
//!   protocol its client speaks.
//! - [`store`] — storage plumbing: the SQLite file (one writer thread, group commit), the
//!   PostgreSQL pool, one migration runner for every service's migrations, `StoreError`,
//!   and the helpers services' store tests share.
//! - [`bridge`] — the traits through which services call each other (`EventSink`,
//!   `ExecutionStarter`, `FunctionInvoker`, `MessageSender`, `QueueConsumer`) and the
//!   values that cross them.
//! - [`clock`] — the injected clock; [`arn`] — the default region and account.
//!
//! Architecture Invariant: this crate depends on no service crate and names no service's
//! behaviour; services depend on it, never on each other.

pub mod arn;
pub mod bridge;
pub mod clock;
pub mod http;
pub mod store;
