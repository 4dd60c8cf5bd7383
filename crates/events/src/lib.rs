//! EventBridge's pure core: event envelopes, event patterns and the compiled
//! matcher, input transformers, schedule expressions.
//!
//! Architecture Invariant: pure. No I/O, no clock, no randomness: schedule maths takes
//! the instant to compute from as an argument, and envelopes take their id and time
//! from the caller.
//!
//! How a bus uses it (PutEvents): [`validate_put_events_entry`] each entry →
//! [`Event::from_entry`] with the caller's id, time, account and region →
//! [`Matcher::matches`] on [`Event::to_json`] (one matcher per bus, rules added
//! with [`Matcher::add_rule`] from [`Pattern::parse`]) → for each matched
//! rule's targets, [`InputTransform::apply`] (validated at PutTargets with
//! [`InputTransform::parse`]). Rules with a `ScheduleExpression` use
//! [`Schedule::parse_for_rule`] and [`Schedule::next_after`].
//!
//! Modules: `pattern` (parse and validate, AWS reasons), `interpret` (the
//! reference per-rule matcher), `consistency` (array-consistent matching),
//! `flatten` + `matcher` (the compiled matcher), `envelope`, `transform`,
//! `schedule`.
//!
//! Deliberate differences from AWS, each documented where it lives:
//! * numbers compare as `f64` within ±5.0e9 (EventBridge documents six
//!   decimal places); beyond that range only identical text matches;
//! * the compiled matcher stops reading an event once every field its rules
//!   name has a value (outside arrays), so a key repeated after that point
//!   is not seen (see `flatten`);
//! * a pattern with more than 1,024 `$or` combinations is refused.

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
