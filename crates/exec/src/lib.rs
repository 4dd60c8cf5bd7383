//! The deterministic execution core.
//!
//! Architecture Invariant: pure. `apply` reads only its arguments; time, random draws and
//! ids come from the injected environment, so a run can be replayed exactly.
