//! The deterministic Step Functions execution core.
//!
//! [`apply`] takes an [`Execution`], one [`Input`] (start, a task's answer, a timer,
//! a stop) and an injected source of time and randomness, and returns the [`Effect`]s
//! the shell must carry out: history events to append, tasks to run, timers to set.
//! The shell commits the new execution state and the effects together, then performs
//! them; running the same inputs again gives the same effects.
//!
//! Architecture Invariant: pure. `apply` reads only its arguments; time, random draws
//! and ids come from the injected [`Entropy`], so a run can be replayed exactly.

mod children;
pub mod context;
pub mod effect;
pub mod execution;
pub mod history;
pub mod limits;
pub mod redrive;
mod run;
mod steps;
pub mod task;
pub mod test_state;
pub mod token;

pub use baton_asl::eval::Entropy;
pub use effect::{Effect, Input};
pub use execution::{Execution, ExecutionIdentity, ExecutionStatus, Failure, Outcome};
pub use history::{EventDetails, HistoryEvent};
pub use run::apply;
pub use task::{TaskKind, TaskRequest};
