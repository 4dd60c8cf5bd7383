//! Service limits the interpreter enforces.

use serde_json::Value;

pub use baton_asl::dataflow::MAX_PAYLOAD_BYTES;

/// AWS's hard quota of history events per execution: event 25,000 ends it.
pub const MAX_HISTORY_EVENTS: u64 = 25_000;

/// States entered within one `apply` by an execution that keeps no history (Express,
/// TestState) before it is stopped: a loop of pure states would otherwise never return.
pub const MAX_TRANSITIONS_PER_APPLY: u64 = 1_000_000;

/// Whether the compact JSON text of `value` is longer than `limit` bytes. Walks the
/// value without allocating and stops as soon as the limit is passed, so the common
/// small payload costs a few nanoseconds.
pub fn json_size_exceeds(value: &Value, limit: usize) -> bool {
    fn size(v: &Value, budget: &mut isize) {
        if *budget < 0 {
            return;
        }
        match v {
            Value::Null => *budget -= 4,
            Value::Bool(b) => *budget -= if *b { 4 } else { 5 },
            Value::Number(n) => *budget -= number_len(n),
            Value::String(s) => *budget -= string_len(s),
            Value::Array(a) => {
                *budget -= 2 + a.len().saturating_sub(1) as isize;
                for x in a {
                    size(x, budget);
                    if *budget < 0 {
                        return;
                    }
                }
            }
            Value::Object(m) => {
                *budget -= 2 + m.len().saturating_sub(1) as isize;
                for (k, x) in m {
                    *budget -= string_len(k) + 1;
                    size(x, budget);
                    if *budget < 0 {
                        return;
                    }
                }
            }
        }
    }
    let mut budget = limit as isize;
    size(value, &mut budget);
    budget < 0
}

fn number_len(n: &serde_json::Number) -> isize {
    if let Some(i) = n.as_i64() {
        let mut len = if i < 0 { 2 } else { 1 };
        let mut x = i.unsigned_abs();
        while x >= 10 {
            x /= 10;
            len += 1;
        }
        len
    } else {
        n.to_string().len() as isize
    }
}

fn string_len(s: &str) -> isize {
    let mut len = 2isize;
    for b in s.bytes() {
        len += match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        };
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_serialised_length() {
        for v in [
            json!(null),
            json!({"a": [1, -20, 3.5, "x\"y\n"], "b": {"c": true, "d": false}}),
            json!("\u{1}é"),
            json!([]),
            json!({}),
        ] {
            let len = serde_json::to_string(&v).map(|s| s.len()).unwrap_or(0);
            assert!(!json_size_exceeds(&v, len), "{v}");
            assert!(json_size_exceeds(&v, len - 1), "{v}");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod loop_guard_tests {
    use baton_asl::{ParseOptions, parse_definition};
    use serde_json::json;

    use crate::execution::{Execution, ExecutionIdentity, ExecutionStatus, Outcome};
    use crate::{Effect, Input, apply};

    struct Fixed;
    impl baton_asl::eval::Entropy for Fixed {
        fn next_u64(&mut self) -> u64 {
            4
        }
        fn now_millis(&self) -> i64 {
            0
        }
    }

    fn endless() -> baton_asl::StateMachine {
        let def = json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Choice", "Default": "A", "Choices": [
                {"Variable": "$.stop", "IsPresent": true, "Next": "Done"}]},
            "Done": {"Type": "Succeed"}}});
        parse_definition(&def.to_string(), ParseOptions::default()).unwrap()
    }

    #[test]
    fn a_pure_loop_fails_at_the_history_quota_like_aws() {
        let machine = endless();
        let mut exec = Execution::new(ExecutionIdentity::default(), json!({}), 0);
        let effects = apply(&mut exec, &machine, Input::Start, &mut Fixed);
        assert_eq!(exec.status, ExecutionStatus::Failed);
        let Some(Outcome::Failed(f)) = &exec.outcome else {
            panic!("no failure");
        };
        assert_eq!(f.error.as_deref(), Some("States.Runtime"));
        assert_eq!(
            f.cause.as_deref(),
            Some("The execution reached the maximum number of history events (25000).")
        );
        let history = effects
            .iter()
            .filter(|e| matches!(e, Effect::History(_)))
            .count() as u64;
        assert_eq!(history, super::MAX_HISTORY_EVENTS);
    }

    #[test]
    fn a_pure_loop_without_history_times_out() {
        let machine = endless();
        let mut exec = Execution::new(ExecutionIdentity::default(), json!({}), 0);
        exec.records_history = false;
        apply(&mut exec, &machine, Input::Start, &mut Fixed);
        assert_eq!(exec.status, ExecutionStatus::TimedOut);
    }
}
