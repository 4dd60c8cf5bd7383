//! EventBridge's pure core: event envelopes, event patterns and the compiled
//! matcher, input transformers, schedule expressions.
//!
//! Architecture Invariant: pure. No I/O, no clock, no randomness: schedule maths takes
//! the instant to compute from as an argument, and envelopes take their id and time
//! from the caller.

mod consistency;
mod interpret;
mod json_tokens;
pub mod pattern;
mod value;

pub use pattern::{Pattern, PatternError};
pub use value::NUMERIC_LIMIT;
mod flatten;
pub mod matcher;

pub use matcher::{EventError, MatchScratch, Matcher};
pub mod envelope;

pub use envelope::{
    EntryError, Event, EventValidationError, PutEventsEntry, ValidEntry, validate_put_events_entry,
    validate_test_event,
};
pub mod transform;

pub use transform::{DeliveryContext, InputTransform, NotDelivered, TargetError};
pub mod schedule;

pub use schedule::{Schedule, ScheduleError};
