//! The whole-graph checks on one scope: a terminal state exists (machine only) and every
//! state is reachable from `StartAt`.
//!
//! Measured on AWS: a machine with no terminal state gets `MISSING_END_STATE` (no
//! location) and no reachability report; nested scopes are not required to end.

use crate::diagnostic::{Diagnostic, code, pointer_join};
use crate::model::StateId;

/// What the graph checks need to know of one state.
#[derive(Debug, Clone, Default)]
pub(super) struct GraphInfo {
    /// `End: true`, `Succeed` or `Fail`.
    pub terminal: bool,
    /// Resolved `Next`, Choice targets and `Default`, Catch `Next`s.
    pub edges: Vec<StateId>,
}

/// The graph problems of one scope: `names[i]` is state `i`, `states_pointer` the
/// location of the scope's `States`.
pub(super) fn check(
    infos: &[GraphInfo],
    names: &[String],
    start: Option<StateId>,
    states_pointer: &str,
    is_machine: bool,
) -> Vec<Diagnostic> {
    if is_machine && !infos.iter().any(|i| i.terminal) {
        return vec![Diagnostic::unlocated(
            code::MISSING_END_STATE,
            "Workflow has no terminal state",
        )];
    }
    let mut reached = vec![false; infos.len()];
    let mut stack: Vec<StateId> = start.into_iter().collect();
    while let Some(id) = stack.pop() {
        let i = id.0 as usize;
        match reached.get_mut(i) {
            Some(seen) if !*seen => *seen = true,
            _ => continue,
        }
        if let Some(info) = infos.get(i) {
            stack.extend(info.edges.iter().copied());
        }
    }
    reached
        .iter()
        .zip(names)
        .filter(|(seen, _)| !**seen)
        .map(|(_, name)| {
            Diagnostic::new(
                code::MISSING_TRANSITION_TARGET,
                format!("State \"{name}\" is not reachable."),
                pointer_join(states_pointer, name),
            )
        })
        .collect()
}
