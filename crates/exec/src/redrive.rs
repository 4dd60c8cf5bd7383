//! RedriveExecution: a failed, timed-out or aborted execution continues from the states
//! that were unfinished when it stopped.
//!
//! A finished execution keeps no frames, so the shell keeps the execution as it was just
//! before the step that ended it (its last running snapshot) and hands both to
//! [`redrive`]. States that were waiting for a task or a timer then are entered again
//! with their original input; branches and iterations that had already finished keep
//! their results. The history continues after the failure: `ExecutionRedriven`, then
//! the re-entered states.

use std::collections::VecDeque;

use baton_asl::eval::Entropy;
use baton_asl::model::{ScopeId, StateMachine};
use serde_json::Map;

use crate::effect::Effect;
use crate::execution::{Execution, ExecutionStatus, Frame, Position, TimerPurpose, Waiting};
use crate::history::EventDetails;
use crate::run::{Run, Work, secs_to_millis};

/// Redrives `failed` from `before`, the execution as it was before the step that ended
/// it. Returns the redriven execution and the effects of its first step, or `None` when
/// `failed` did not fail, time out or abort.
pub fn redrive(
    before: &Execution,
    failed: &Execution,
    machine: &StateMachine,
    entropy: &mut dyn Entropy,
) -> Option<(Execution, Vec<Effect>)> {
    if !matches!(
        failed.status,
        ExecutionStatus::Failed | ExecutionStatus::TimedOut | ExecutionStatus::Aborted
    ) || before.is_finished()
    {
        return None;
    }
    let mut exec = before.clone();
    exec.identity.redrive_count = failed.identity.redrive_count.saturating_add(1);
    // Ids continue where the failed run left them, so nothing is recorded twice.
    exec.next_event_id = failed.next_event_id;
    exec.next_task_id = exec.next_task_id.max(failed.next_task_id);
    exec.next_timer_id = exec.next_timer_id.max(failed.next_timer_id);
    exec.next_frame_id = exec.next_frame_id.max(failed.next_frame_id);
    exec.outcome = None;
    exec.stop_millis = None;
    // Every task and timer of the old run is gone (the shell dropped them when it ended).
    exec.tasks.clear();
    exec.timers.clear();
    let was_pending = exec.status == ExecutionStatus::Pending;
    exec.status = ExecutionStatus::Running;

    let now = entropy.now_millis();
    let mut run = Run {
        machine,
        exec: &mut exec,
        entropy,
        now,
        effects: Vec::new(),
        work: VecDeque::new(),
        test: None,
        entered: 0,
        heartbeat_failure: false,
    };
    let redriven = run.record(
        true,
        failed.next_event_id.saturating_sub(1),
        EventDetails::ExecutionRedriven {
            redrive_count: run.exec.identity.redrive_count,
        },
    );
    if let Some(secs) = machine.timeout_seconds {
        let fire_at = run.exec.start_millis.saturating_add(secs_to_millis(secs));
        run.start_timer(TimerPurpose::ExecutionTimeout, fire_at);
    }
    if was_pending {
        // It failed inside its first step: start over from `StartAt`.
        let frame = Frame {
            scope: ScopeId::ROOT,
            parent: None,
            variables: Map::new(),
            position: Position::Enter {
                state: machine.root().start_at,
                input: run.exec.input.clone(),
            },
            last_event_id: redriven,
            records_history: true,
        };
        let id = run.new_frame(frame);
        run.work.push_back(Work::Step(id));
    } else {
        let ids: Vec<_> = run.exec.frames.keys().copied().collect();
        for fid in ids {
            let Some(frame) = run.exec.frames.get_mut(&fid) else {
                continue;
            };
            let restart = match &frame.position {
                Position::Active(a) => match &a.waiting {
                    Waiting::Children(_) => None,
                    _ => Some((a.state, a.raw_input.clone())),
                },
                Position::Enter { .. } => None,
                Position::Done => None,
            };
            if let Some((state, input)) = restart {
                frame.position = Position::Enter { state, input };
                if frame.records_history {
                    frame.last_event_id = redriven;
                }
            }
            if matches!(frame.position, Position::Enter { .. }) {
                run.work.push_back(Work::Step(fid));
            }
        }
    }
    run.drain();
    let effects = std::mem::take(&mut run.effects);
    Some((exec, effects))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::effect::Input;
    use crate::execution::{ExecutionIdentity, Outcome};
    use crate::run::apply;
    use baton_asl::{ParseOptions, parse_definition};
    use serde_json::json;

    struct Clock(i64);
    impl Entropy for Clock {
        fn next_u64(&mut self) -> u64 {
            7
        }
        fn now_millis(&self) -> i64 {
            self.0
        }
    }

    fn types(effects: &[Effect]) -> Vec<String> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::History(h) => Some(h.details.type_name()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_failed_task_is_entered_again_and_history_continues() {
        let machine = parse_definition(
            &json!({"StartAt": "P", "States": {
                "P": {"Type": "Pass", "Next": "T"},
                "T": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                      "Parameters": {"ApiEndpoint": "http://x", "Method": "GET"}, "End": true}}})
            .to_string(),
            ParseOptions::default(),
        )
        .unwrap();
        let mut exec = Execution::new(ExecutionIdentity::default(), json!({"a": 1}), 0);
        let mut clock = Clock(0);
        let first = apply(&mut exec, &machine, Input::Start, &mut clock);
        let task_id = first
            .iter()
            .find_map(|e| match e {
                Effect::ScheduleTask(r) => Some(r.task_id),
                _ => None,
            })
            .unwrap();
        let before = exec.clone();
        apply(
            &mut exec,
            &machine,
            Input::TaskFailed {
                task_id,
                error: Some("Boom".into()),
                cause: None,
            },
            &mut clock,
        );
        assert_eq!(exec.status, ExecutionStatus::Failed);
        let failed_last = exec.next_event_id - 1;

        let mut later = Clock(5_000);
        let (mut again, effects) = redrive(&before, &exec, &machine, &mut later).unwrap();
        assert_eq!(
            types(&effects),
            ["ExecutionRedriven", "TaskStateEntered", "TaskScheduled"]
        );
        let Effect::History(first_event) = &effects[0] else {
            panic!()
        };
        assert_eq!(first_event.id, failed_last + 1, "ids continue");
        assert_eq!(again.identity.redrive_count, 1);
        let new_task = effects
            .iter()
            .find_map(|e| match e {
                Effect::ScheduleTask(r) => Some(r.task_id),
                _ => None,
            })
            .unwrap();
        assert_ne!(new_task, task_id, "a new task id");
        apply(
            &mut again,
            &machine,
            Input::TaskSucceeded {
                task_id: new_task,
                output: json!({"ok": true}),
            },
            &mut later,
        );
        assert_eq!(again.status, ExecutionStatus::Succeeded);
        assert!(matches!(again.outcome, Some(Outcome::Succeeded { .. })));
        assert!(redrive(&before, &again, &machine, &mut later).is_none());
    }

    #[test]
    fn a_failure_in_the_first_step_restarts_from_start_at() {
        let machine = parse_definition(
            &json!({"StartAt": "F", "States": {
                "F": {"Type": "Pass", "InputPath": "$.missing", "End": true}}})
            .to_string(),
            ParseOptions::default(),
        )
        .unwrap();
        let before = Execution::new(ExecutionIdentity::default(), json!({}), 0);
        let mut exec = before.clone();
        apply(&mut exec, &machine, Input::Start, &mut Clock(0));
        assert_eq!(exec.status, ExecutionStatus::Failed);
        let (again, effects) = redrive(&before, &exec, &machine, &mut Clock(1)).unwrap();
        let t = types(&effects);
        assert_eq!(t[0], "ExecutionRedriven");
        assert_eq!(t[1], "PassStateEntered");
        assert!(!t.contains(&"ExecutionStarted".to_owned()));
        assert_eq!(again.status, ExecutionStatus::Failed, "fails the same way");
    }
}
