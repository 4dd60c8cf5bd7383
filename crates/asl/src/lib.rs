//! Amazon States Language: definitions in, a validated typed plan out, plus the pure
//! evaluators the interpreter uses for data flow.
//!
//! Architecture Invariant: this crate is pure. No I/O, no clock, no randomness, no
//! threads: time and random draws arrive through [`eval::Entropy`].

pub mod choice;
pub mod dataflow;
pub mod diagnostic;
pub mod error_name;
pub mod eval;
pub mod intrinsic;
pub mod jsonata;
pub mod model;
pub mod parse;
pub mod path;
pub mod retry;
pub mod template;
pub mod timestamp;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use model::StateMachine;
pub use parse::{ParseOptions, parse_definition, parse_definition_value};
