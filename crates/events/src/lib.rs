//! EventBridge's pure core.
//!
//! Architecture Invariant: pure. No I/O, no clock, no randomness: schedule maths takes
//! the instant to compute from as an argument.
