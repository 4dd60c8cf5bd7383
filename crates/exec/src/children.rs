//! Parallel branches and Map iterations: starting them, collecting their outcomes, and
//! finishing the parent state.

use baton_asl::error_name::STATES_EXCEED_TOLERATED_FAILURE_THRESHOLD;
use baton_asl::model::{QueryLanguage, StateKind};
use serde_json::Value;

use crate::execution::{
    Active, Children, ChildrenKind, Failure, Frame, FrameId, Outcome, ParentLink, Payload,
    Position, Waiting,
};
use crate::history::EventDetails;
use crate::run::{Eval, Run, Work};

/// Takes a frame's active state if it is waiting on children.
fn take_children(run: &mut Run<'_>, fid: FrameId) -> Option<Box<Active>> {
    let frame = run.exec.frames.get_mut(&fid)?;
    match &frame.position {
        Position::Active(a) if matches!(a.waiting, Waiting::Children(_)) => {}
        _ => return None,
    }
    match std::mem::replace(&mut frame.position, Position::Done) {
        Position::Active(a) => Some(a),
        _ => None,
    }
}

fn children_of(active: &mut Active) -> &mut Children {
    match &mut active.waiting {
        Waiting::Children(c) => c,
        _ => unreachable!("take_children only returns states waiting on children"),
    }
}

/// Starts the next Map iteration if a slot and an item are free, and queues itself to
/// try again after that iteration has run as far as it can.
pub(crate) fn fill_map(run: &mut Run<'_>, fid: FrameId) {
    let Some(mut active) = take_children(run, fid) else {
        return;
    };
    let state = run.state(fid, active.state);
    let StateKind::Map(m) = &state.kind else {
        run.park(fid, active);
        return;
    };
    let children = children_of(&mut active);
    let ChildrenKind::Map(mr) = &mut children.kind else {
        run.park(fid, active);
        return;
    };
    let slots_free =
        mr.max_concurrency == 0 || (children.running.len() as u64) < mr.max_concurrency;
    let index = mr.next_index;
    if !slots_free || index as usize >= mr.items.len() {
        run.park(fid, active);
        return;
    }
    mr.next_index += 1;
    // Each item is used once: take it rather than copy it.
    let item = mr
        .items
        .get_mut(index as usize)
        .map(std::mem::take)
        .unwrap_or_default();
    let distributed = mr.distributed;
    let selector_input = mr.selector_input.clone();
    let prev = children.last_child_event_id;

    let input = match &m.item_selector {
        Some(t) => {
            let input = if state.query_language == QueryLanguage::Jsonata {
                &active.raw_input
            } else {
                &selector_input
            };
            let ev = Eval {
                input,
                result: None,
                error_output: None,
            };
            let evaluated = run.eval_template_with(
                fid,
                &active,
                t,
                &ev,
                "ItemSelector",
                Some((u64::from(index), &item)),
            );
            match evaluated {
                Ok(v) => Payload::new(v),
                Err(e) => {
                    abort_running(run, &mut active);
                    return run.eval_failed(fid, active, e);
                }
            }
        }
        None => Payload::new(item),
    };

    let records = run.frame(fid).map(|f| f.records_history).unwrap_or(false);
    let started = if distributed {
        prev
    } else {
        let id = run.record(
            records,
            prev,
            EventDetails::MapIterationStarted {
                name: state.name.clone(),
                index: u64::from(index),
            },
        );
        if let Some(f) = run.frame_mut(fid) {
            f.last_event_id = id;
        }
        id
    };
    let child = run.spawn_child(
        fid,
        index,
        m.processor,
        input,
        started,
        records && !distributed,
    );
    children_of(&mut active).running.insert(index, child);
    run.park(fid, active);
    run.work.push_front(Work::FillMap(fid));
    run.work.push_front(Work::Step(child));
}

/// A branch or iteration ended.
pub(crate) fn child_finished(run: &mut Run<'_>, link: ParentLink, child: Frame, outcome: Outcome) {
    let fid = link.frame;
    let Some(mut active) = take_children(run, fid) else {
        return;
    };
    let state = run.state(fid, active.state);
    let records = run.frame(fid).map(|f| f.records_history).unwrap_or(false);
    let children = children_of(&mut active);
    children.running.remove(&link.slot);
    children.last_child_event_id = child.last_event_id;
    let slot = link.slot as usize;

    match &children.kind {
        ChildrenKind::Parallel => match outcome {
            Outcome::Succeeded { output } => {
                if let Some(r) = children.results.get_mut(slot) {
                    *r = Some(output);
                }
                children.finished += 1;
                if children.finished as usize == children.results.len() {
                    let results = take_results(children);
                    // AWS points ParallelStateExited back at the event before
                    // ParallelStateSucceeded (the last branch's end).
                    run.record(
                        records,
                        child.last_event_id,
                        EventDetails::ParallelStateSucceeded,
                    );
                    if let Some(f) = run.frame_mut(fid) {
                        f.last_event_id = child.last_event_id;
                    }
                    run.complete_with_result(fid, active, Payload::new(results));
                    run.work.push_front(Work::Step(fid));
                } else {
                    run.park(fid, active);
                }
            }
            Outcome::Failed(failure) => {
                abort_running(run, &mut active);
                if let Some(f) = run.frame_mut(fid) {
                    f.last_event_id = child.last_event_id;
                }
                run.state_failed_then(fid, active, failure, &[EventDetails::ParallelStateFailed]);
                run.work.push_front(Work::Step(fid));
            }
        },
        ChildrenKind::Map(mr) => {
            let distributed = mr.distributed;
            let total = mr.items.len();
            let tolerated_count = mr.tolerated_count;
            let tolerated_pct = mr.tolerated_percentage;
            let iteration_details = |ok: bool| {
                let (name, index) = (state.name.clone(), link.slot as u64);
                if ok {
                    EventDetails::MapIterationSucceeded { name, index }
                } else {
                    EventDetails::MapIterationFailed { name, index }
                }
            };
            match outcome {
                Outcome::Succeeded { output } => {
                    if let Some(r) = children.results.get_mut(slot) {
                        *r = Some(output);
                    }
                    children.finished += 1;
                    if !distributed {
                        let id = run.record(records, child.last_event_id, iteration_details(true));
                        children_of(&mut active).last_iteration_event_id = id;
                    }
                }
                Outcome::Failed(failure) => {
                    children.failed += 1;
                    let failed = children.failed;
                    if let Some(r) = children.results.get_mut(slot) {
                        *r = Some(Payload::new(failure.to_error_output()));
                    }
                    if !distributed {
                        let id = run.record(records, child.last_event_id, iteration_details(false));
                        children_of(&mut active).last_iteration_event_id = id;
                    }
                    let tolerance_set = tolerated_count.is_some() || tolerated_pct.is_some();
                    let within = tolerance_set
                        && tolerated_count.is_none_or(|c| u64::from(failed) <= c)
                        && tolerated_pct
                            .is_none_or(|p| f64::from(failed) * 100.0 / total as f64 <= p);
                    if !within {
                        abort_running(run, &mut active);
                        let failure = if tolerance_set {
                            Failure::new(
                                STATES_EXCEED_TOLERATED_FAILURE_THRESHOLD,
                                "The specified tolerated failure threshold was exceeded",
                            )
                        } else {
                            failure
                        };
                        let give_up = map_failed_events(&active, &failure);
                        if let Some(f) = run.frame_mut(fid) {
                            f.last_event_id = child.last_event_id;
                        }
                        run.state_failed_then(fid, active, failure, &give_up);
                        run.work.push_front(Work::Step(fid));
                        return;
                    }
                }
            }
            let c = children_of(&mut active);
            let done = (c.finished + c.failed) as usize == total;
            run.park(fid, active);
            if done {
                complete_map(run, fid);
            } else {
                run.work.push_front(Work::FillMap(fid));
            }
        }
    }
}

/// The events a failed Map records if the error is not retried.
fn map_failed_events(active: &Active, failure: &Failure) -> Vec<EventDetails> {
    let distributed = matches!(
        &active.waiting,
        Waiting::Children(c) if matches!(&c.kind, ChildrenKind::Map(mr) if mr.distributed)
    );
    let mut events = Vec::with_capacity(2);
    if distributed {
        events.push(EventDetails::MapRunFailed {
            error: failure.error.clone(),
            cause: failure.cause.clone(),
        });
    }
    events.push(EventDetails::MapStateFailed);
    events
}

/// All iterations are done: record the end of the Map and complete the state.
pub(crate) fn complete_map(run: &mut Run<'_>, fid: FrameId) {
    let Some(mut active) = take_children(run, fid) else {
        return;
    };
    let records = run.frame(fid).map(|f| f.records_history).unwrap_or(false);
    let children = children_of(&mut active);
    // AWS points both MapStateSucceeded and MapStateExited back at the event before
    // them: the last iteration's end (inline) or MapRunSucceeded (distributed).
    let prev = match &children.kind {
        ChildrenKind::Map(mr) if mr.distributed => {
            let started = mr.map_run_started_event_id;
            run.record(records, started, EventDetails::MapRunSucceeded)
        }
        _ => children.last_iteration_event_id,
    };
    let results = take_results(children_of(&mut active));
    run.record(records, prev, EventDetails::MapStateSucceeded);
    if let Some(f) = run.frame_mut(fid) {
        f.last_event_id = prev;
    }
    run.complete_with_result(fid, active, Payload::new(results));
    run.work.push_front(Work::Step(fid));
}

fn take_results(children: &mut Children) -> Value {
    Value::Array(
        children
            .results
            .iter_mut()
            .map(|r| {
                r.take()
                    .map(Payload::unwrap_or_clone)
                    .unwrap_or(Value::Null)
            })
            .collect(),
    )
}

/// Stops every running child of a Parallel or Map.
fn abort_running(run: &mut Run<'_>, active: &mut Active) {
    let running: Vec<FrameId> = children_of(active).running.values().copied().collect();
    children_of(active).running.clear();
    for child in running {
        run.abort_frame(child);
    }
}
