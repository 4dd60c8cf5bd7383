//! Definition text in, never a panic out; an accepted machine holds only valid indices.
#![no_main]

use baton_asl::model::{StateKind, StateMachine, Transition};
use baton_asl::parse::{ParseOptions, parse_definition, parse_state_definition};
use libfuzzer_sys::fuzz_target;

fn check_indices(m: &StateMachine) {
    for (i, scope) in m.scopes.iter().enumerate() {
        let n = scope.states.len();
        assert!((scope.start_at.0 as usize) < n);
        assert!(scope.parent.is_none_or(|p| (p.0 as usize) < i));
        for state in &scope.states {
            if let Transition::Next(id) = state.transition {
                assert!((id.0 as usize) < n);
            }
            for c in &state.catch {
                assert!((c.next.0 as usize) < n);
            }
            match &state.kind {
                StateKind::Choice(c) => {
                    assert!(c.choices.iter().all(|b| (b.next.0 as usize) < n));
                    assert!(c.default.is_none_or(|d| (d.0 as usize) < n));
                }
                StateKind::Parallel(p) => {
                    assert!(p.branches.iter().all(|b| (b.0 as usize) < m.scopes.len()));
                }
                StateKind::Map(map) => assert!((map.processor.0 as usize) < m.scopes.len()),
                _ => {}
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for express in [false, true] {
        let options = ParseOptions { express };
        if let Ok(m) = parse_definition(text, options) {
            check_indices(&m);
        }
    }
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text)
        && let Ok(m) = parse_state_definition(&value, ParseOptions::default())
    {
        check_indices(&m);
    }
});
