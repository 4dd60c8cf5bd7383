//! What each state type does once entered (and again on a retry).

use baton_asl::dataflow;
use baton_asl::error_name::{STATES_NO_CHOICE_MATCHED, STATES_RUNTIME};
use baton_asl::eval::{EvalError, to_json_text};
use baton_asl::model::{
    Fail, FailField, Map as MapState, MapItems, Parallel, Pass, ProcessorMode, QueryLanguage,
    StateKind, Task, Wait,
};
use baton_asl::template::Template;
use serde_json::Value;

use crate::execution::{
    Active, Children, ChildrenKind, Failure, FrameId, MapRun, Outcome, Payload, TaskWait,
    TimerPurpose, Waiting,
};
use crate::history::EventDetails;
use crate::run::{Assigned, ContextNeed, Eval, Run, Work, secs_to_millis};
use crate::task::{TaskKind, TaskRequest};

/// Runs the body of the frame's active state.
pub(crate) fn begin(run: &mut Run<'_>, fid: FrameId, active: Box<Active>) {
    let state = run.state(fid, active.state);
    match &state.kind {
        StateKind::Pass(p) => pass(run, fid, active, p),
        StateKind::Choice(_) => choice(run, fid, active),
        StateKind::Wait(w) => wait(run, fid, active, w),
        StateKind::Succeed => succeed(run, fid, active),
        StateKind::Fail(f) => fail(run, fid, active, f),
        StateKind::Task(t) => task(run, fid, active, t),
        StateKind::Parallel(p) => parallel(run, fid, active, p),
        StateKind::Map(m) => map(run, fid, active, m),
    }
}

fn is_jsonata(run: &Run<'_>, fid: FrameId, active: &Active) -> bool {
    run.state(fid, active.state).query_language == QueryLanguage::Jsonata
}

fn no_eval(input: &Value) -> Eval<'_> {
    Eval {
        input,
        result: None,
        error_output: None,
    }
}

/// JSONata `Output` (default: the state input) and `Assign`, evaluated against the raw
/// input; used by states without a result.
fn jsonata_output_assign(
    run: &mut Run<'_>,
    fid: FrameId,
    active: &Active,
    output: Option<&baton_asl::template::Template>,
    assign: Option<&baton_asl::template::Template>,
) -> Result<(Payload, Assigned), EvalError> {
    let ev = no_eval(&active.raw_input);
    let out = match output {
        Some(t) => Payload::new(run.eval_template(fid, active, t, &ev, "Output")?),
        None => active.raw_input.clone(),
    };
    let assigned = run.eval_assign(fid, active, assign, &ev)?;
    Ok((out, assigned))
}

fn pass(run: &mut Run<'_>, fid: FrameId, active: Box<Active>, p: &Pass) {
    let state = run.state(fid, active.state);
    let result = if is_jsonata(run, fid, &active) {
        jsonata_output_assign(
            run,
            fid,
            &active,
            state.io.output.as_ref(),
            state.assign.as_ref(),
        )
    } else {
        (|| {
            let effective = run.input_path(fid, &active)?;
            // TestState shows `Result` as the result, else the input stages.
            let result = match (&p.result, &state.io.parameters) {
                (Some(r), _) => {
                    run.inspect(|i| i.result = Some((**r).clone()));
                    r.clone()
                }
                (None, Some(t)) => {
                    run.inspect(|i| i.after_input_path = Some((*effective).clone()));
                    let v = Payload::new(run.eval_template(
                        fid,
                        &active,
                        t,
                        &no_eval(&effective),
                        "Parameters",
                    )?);
                    run.inspect(|i| i.after_parameters = Some((*v).clone()));
                    v
                }
                (None, None) => {
                    run.inspect(|i| {
                        i.after_input_path = Some((*effective).clone());
                        i.after_parameters = Some((*effective).clone());
                    });
                    effective
                }
            };
            run.jsonpath_result(fid, &active, result)
        })()
    };
    match result {
        Ok((out, assigned)) => run.exit_state(fid, active.state, out, assigned, None),
        Err(e) => run.eval_failed(fid, active, e),
    }
}

fn choice(run: &mut Run<'_>, fid: FrameId, active: Box<Active>) {
    let state = run.state(fid, active.state);
    let StateKind::Choice(c) = &state.kind else {
        return;
    };
    let jsonata = is_jsonata(run, fid, &active);
    let outcome = (|| {
        let effective = if jsonata {
            active.raw_input.clone()
        } else {
            let effective = run.input_path(fid, &active)?;
            run.inspect(|i| i.after_input_path = Some((*effective).clone())); // TestState
            effective
        };
        let need = ContextNeed::when(c.choices.iter().any(|b| b.rule.uses_context()));
        let mut chosen = None;
        for branch in &c.choices {
            let matched = run.with_bindings(fid, &active, &effective, need, |b, e| {
                branch.rule.evaluate(b, e)
            })?;
            if matched {
                chosen = Some(branch);
                break;
            }
        }
        let (next, output_t, assign_t) = match chosen {
            Some(b) => (
                b.next,
                b.output.as_ref().or(state.io.output.as_ref()),
                b.assign.as_ref(),
            ),
            None => match c.default {
                Some(d) => (d, state.io.output.as_ref(), state.assign.as_ref()),
                None => return Ok(None),
            },
        };
        let ev = no_eval(&effective);
        let assigned = run.eval_assign(fid, &active, assign_t, &ev)?;
        let out = if jsonata {
            match output_t {
                Some(t) => Payload::new(run.eval_template(fid, &active, t, &ev, "Output")?),
                None => effective,
            }
        } else {
            run.output_path(fid, &active, effective)?
        };
        Ok(Some((next, out, assigned)))
    })();
    match outcome {
        Ok(Some((next, out, assigned))) => {
            run.exit_state(fid, active.state, out, assigned, Some(next))
        }
        Ok(None) => {
            let failure = Failure {
                error: Some(STATES_NO_CHOICE_MATCHED.to_owned()),
                cause: Some(format!(
                    "No Matches! at state '{}' with input: {}",
                    state.name,
                    to_json_text(&active.raw_input)
                )),
            };
            run.frame_finished(fid, Outcome::Failed(failure));
        }
        Err(e) => run.eval_failed(fid, active, e),
    }
}

fn wait(run: &mut Run<'_>, fid: FrameId, mut active: Box<Active>, w: &Wait) {
    let state = run.state(fid, active.state);
    let jsonata = is_jsonata(run, fid, &active);
    let computed = (|| {
        let effective = if jsonata {
            active.raw_input.clone()
        } else {
            let effective = run.input_path(fid, &active)?;
            run.inspect(|i| i.after_input_path = Some((*effective).clone())); // TestState
            effective
        };
        let field = match w {
            Wait::Seconds(_) => "Seconds",
            Wait::Timestamp(_) => "Timestamp",
        };
        let now = run.now;
        let delay = run.with_bindings(fid, &active, &effective, ContextNeed::Yes, |b, e| {
            dataflow::wait_delay_millis(w, b, e, now).map_err(|err| err.at(field))
        })?;
        let fire_at = now.saturating_add(i64::try_from(delay).unwrap_or(i64::MAX));
        let (out, assigned) = if jsonata {
            jsonata_output_assign(
                run,
                fid,
                &active,
                state.io.output.as_ref(),
                state.assign.as_ref(),
            )?
        } else {
            let assigned =
                run.eval_assign(fid, &active, state.assign.as_ref(), &no_eval(&effective))?;
            (run.output_path(fid, &active, effective)?, assigned)
        };
        Ok((fire_at, out, assigned))
    })();
    match computed {
        Ok((fire_at, out, assigned)) => {
            if fire_at <= run.now {
                run.exit_state(fid, active.state, out, assigned, None);
            } else {
                let timer = run.start_timer(TimerPurpose::Resume { frame: fid }, fire_at);
                active.waiting = Waiting::WaitTimer {
                    timer,
                    output: out,
                    assigned,
                };
                run.park(fid, active);
            }
        }
        Err(e) => run.eval_failed(fid, active, e),
    }
}

fn succeed(run: &mut Run<'_>, fid: FrameId, active: Box<Active>) {
    let state = run.state(fid, active.state);
    let result = if is_jsonata(run, fid, &active) {
        jsonata_output_assign(run, fid, &active, state.io.output.as_ref(), None)
    } else {
        (|| {
            let effective = run.input_path(fid, &active)?;
            run.inspect(|i| i.after_input_path = Some((*effective).clone())); // TestState
            Ok((run.output_path(fid, &active, effective)?, None))
        })()
    };
    match result {
        Ok((out, assigned)) => run.exit_state(fid, active.state, out, assigned, None),
        Err(e) => run.eval_failed(fid, active, e),
    }
}

fn fail(run: &mut Run<'_>, fid: FrameId, active: Box<Active>, f: &Fail) {
    // TestState: AWS shows a JSONPath Fail state's input as its effective input.
    if !is_jsonata(run, fid, &active) {
        run.inspect(|i| i.after_input_path = Some((*active.raw_input).clone()));
    }
    let computed = (|| {
        let error = fail_field(run, fid, &active, f.error.as_ref(), "Error")?;
        let cause = fail_field(run, fid, &active, f.cause.as_ref(), "Cause")?;
        Ok(Failure { error, cause })
    })();
    match computed {
        Ok(failure) => run.frame_finished(fid, Outcome::Failed(failure)),
        Err(e) => run.eval_failed(fid, active, e),
    }
}

fn fail_field(
    run: &mut Run<'_>,
    fid: FrameId,
    active: &Active,
    field: Option<&FailField>,
    name: &str,
) -> Result<Option<String>, EvalError> {
    let Some(field) = field else {
        return Ok(None);
    };
    if let FailField::Fixed(s) = field {
        return Ok(Some(s.clone()));
    }
    let value = run.with_bindings(fid, active, &active.raw_input, ContextNeed::Yes, |b, e| {
        if name == "Error" {
            dataflow::fail_error(field, b, e)
        } else {
            dataflow::fail_cause(field, b, e)
        }
    })?;
    Ok(Some(value))
}

fn task(run: &mut Run<'_>, fid: FrameId, mut active: Box<Active>, t: &Task) {
    let state = run.state(fid, active.state);
    let kind = TaskKind::from_target(&t.resource, &t.target);
    let task_id = run.exec.next_task_id;
    run.exec.next_task_id += 1;
    let token = match &kind {
        TaskKind::Activity { .. } => true,
        k => k.needs_token(),
    }
    .then(|| {
        let nonce = run.entropy.next_u64();
        crate::token::encode(&run.exec.identity.execution_arn, task_id, nonce)
    });
    // The token must be visible to `Parameters` (`$$.Task.Token`), so the wait is in
    // place before anything is evaluated.
    active.waiting = Waiting::Task(Box::new(TaskWait {
        task_id,
        kind: kind.clone(),
        timeout_timer: None,
        heartbeat_timer: None,
        heartbeat_seconds: None,
        token: token.clone(),
        started: false,
    }));
    let jsonata = is_jsonata(run, fid, &active);
    let computed = (|| {
        let (effective, params) = if jsonata {
            let ev = no_eval(&active.raw_input);
            let params = match &state.io.arguments {
                Some(a) => Payload::new(run.eval_template(fid, &active, a, &ev, "Arguments")?),
                None => active.raw_input.clone(),
            };
            run.inspect(|i| i.after_arguments = Some((*params).clone())); // TestState
            (active.raw_input.clone(), params)
        } else {
            let effective = run.input_path(fid, &active)?;
            run.inspect(|i| i.after_input_path = Some((*effective).clone())); // TestState
            let params = match &state.io.parameters {
                Some(p) => Payload::new(run.eval_template(
                    fid,
                    &active,
                    p,
                    &no_eval(&effective),
                    "Parameters",
                )?),
                None => effective.clone(),
            };
            run.inspect(|i| i.after_parameters = Some((*params).clone())); // TestState
            (effective, params)
        };
        let (timeout, heartbeat) =
            run.with_bindings(fid, &active, &effective, ContextNeed::Yes, |b, e| {
                let timeout = match &t.timeout_seconds {
                    Some(d) => Some(dataflow::resolve_u64(d, "TimeoutSeconds", b, e)?),
                    None => None,
                };
                let heartbeat = match &t.heartbeat_seconds {
                    Some(d) => Some(dataflow::resolve_u64(d, "HeartbeatSeconds", b, e)?),
                    None => None,
                };
                Ok::<_, EvalError>((timeout, heartbeat))
            })?;
        let credentials = match &t.credentials {
            Some(c) => {
                Some(run.eval_template(fid, &active, c, &no_eval(&effective), "Credentials")?)
            }
            None => None,
        };
        Ok((params, timeout, heartbeat, credentials))
    })();
    let (params, timeout, heartbeat, credentials) = match computed {
        Ok(v) => v,
        Err(e) => {
            active.waiting = Waiting::RetryTimer { timer: 0 };
            run.eval_failed(fid, active, e);
            return;
        }
    };
    let task_credentials = credentials.as_ref().map(task_credentials);
    let details = match &kind {
        TaskKind::Lambda { arn } => EventDetails::LambdaFunctionScheduled {
            resource: arn.clone(),
            input: params.clone(),
            timeout_in_seconds: timeout,
            task_credentials,
        },
        TaskKind::Activity { arn } => EventDetails::ActivityScheduled {
            resource: arn.clone(),
            input: params.clone(),
            timeout_in_seconds: timeout,
            heartbeat_in_seconds: heartbeat,
        },
        TaskKind::Service { resource, .. } => EventDetails::TaskScheduled {
            resource: resource.clone(),
            region: run.exec.identity.region.clone(),
            parameters: params.clone(),
            timeout_in_seconds: timeout,
            heartbeat_in_seconds: heartbeat,
            task_credentials,
        },
    };
    run.record_in(fid, details);
    let timeout_timer = timeout.map(|secs| {
        run.start_timer(
            TimerPurpose::TaskTimeout {
                frame: fid,
                task_id,
            },
            run.now.saturating_add(secs_to_millis(secs)),
        )
    });
    let heartbeat_timer = heartbeat.map(|secs| {
        run.start_timer(
            TimerPurpose::HeartbeatTimeout {
                frame: fid,
                task_id,
            },
            run.now.saturating_add(secs_to_millis(secs)),
        )
    });
    let request = TaskRequest {
        task_id,
        state_name: state.name.to_string(),
        resource: t.resource.clone(),
        kind: kind.clone(),
        input: params,
        credentials,
        timeout_seconds: timeout,
        heartbeat_seconds: heartbeat,
        task_token: token.clone(),
        attempt: active.retry_count,
    };
    let wait = TaskWait {
        task_id,
        kind,
        timeout_timer,
        heartbeat_timer,
        heartbeat_seconds: heartbeat,
        token,
        started: false,
    };
    run.spawn_task(fid, active, request, wait);
}

/// `Credentials` → the `taskCredentials` history shape (`{"roleArn": …}`).
fn task_credentials(c: &Value) -> Value {
    match c.get("RoleArn") {
        Some(r) => serde_json::json!({ "roleArn": r }),
        None => c.clone(),
    }
}

fn parallel(run: &mut Run<'_>, fid: FrameId, active: Box<Active>, p: &Parallel) {
    // TestState: a Parallel state's result is mocked; its branches do not run.
    if run.test.is_some() {
        return crate::test_state::mocked_parallel(run, fid, active);
    }
    let state = run.state(fid, active.state);
    let computed = if is_jsonata(run, fid, &active) {
        match &state.io.arguments {
            Some(a) => run
                .eval_template(fid, &active, a, &no_eval(&active.raw_input), "Arguments")
                .map(Payload::new),
            None => Ok(active.raw_input.clone()),
        }
    } else {
        (|| {
            let effective = run.input_path(fid, &active)?;
            match &state.io.parameters {
                Some(t) => run
                    .eval_template(fid, &active, t, &no_eval(&effective), "Parameters")
                    .map(Payload::new),
                None => Ok(effective),
            }
        })()
    };
    let branch_input = match computed {
        Ok(v) => v,
        Err(e) => return run.eval_failed(fid, active, e),
    };
    let started = run.record_in(fid, EventDetails::ParallelStateStarted);
    let records = run.frame(fid).map(|f| f.records_history).unwrap_or(false);
    let mut children = Children {
        kind: ChildrenKind::Parallel,
        running: Default::default(),
        results: vec![None; p.branches.len()],
        finished: 0,
        failed: 0,
        last_child_event_id: started,
        last_iteration_event_id: started,
    };
    let mut spawned = Vec::with_capacity(p.branches.len());
    for (slot, scope) in p.branches.iter().enumerate() {
        let child = run.spawn_child(
            fid,
            slot as u32,
            *scope,
            branch_input.clone(),
            started,
            records,
        );
        children.running.insert(slot as u32, child);
        spawned.push(child);
    }
    run.wait_children(fid, active, children);
    for child in spawned.into_iter().rev() {
        run.work.push_front(Work::Step(child));
    }
}

fn map(run: &mut Run<'_>, fid: FrameId, active: Box<Active>, m: &MapState) {
    let jsonata = is_jsonata(run, fid, &active);
    let items = (|| {
        let effective = if jsonata {
            active.raw_input.clone()
        } else {
            let effective = run.input_path(fid, &active)?;
            run.inspect(|i| i.after_input_path = Some((*effective).clone())); // TestState
            effective
        };
        let items = match &m.items {
            // TestState: what the ItemReader would read comes with the request.
            None if m.item_reader.is_some() && run.test.is_some() => {
                crate::test_state::reader_items(run)
            }
            None => (*effective).clone(),
            Some(MapItems::Path(p)) => Value::Array(run.with_bindings(
                fid,
                &active,
                &effective,
                ContextNeed::when(p.uses_context()),
                |b, _| dataflow::items_path(p, b),
            )?),
            Some(MapItems::Template(t)) => {
                let v = run
                    .eval_template(fid, &active, t, &no_eval(&effective), "Items")
                    .map_err(|e| e.at("Items"))?;
                if !v.is_array() {
                    let source = match t {
                        Template::Jsonata(e) => e.source().to_owned(),
                        _ => to_json_text(&v),
                    };
                    return Err(EvalError::query_evaluation(format!(
                        "The JSONata expression '{source}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '{}' for value: {}",
                        baton_asl::choice::json_type(&v),
                        to_json_text(&v)
                    ))
                    .at("Items"));
                }
                v
            }
        };
        if !jsonata {
            run.inspect(|i| i.after_items_path = Some(items.clone())); // TestState
        }
        match items {
            Value::Array(a) => Ok((effective, a)),
            other => Err(EvalError {
                error: if jsonata {
                    baton_asl::error_name::STATES_QUERY_EVALUATION_ERROR.to_owned()
                } else {
                    STATES_RUNTIME.to_owned()
                },
                cause: format!(
                    "Map state input must be an array but was: {}",
                    to_json_text(&other)
                ),
                // No field to name: the input itself was not an array.
                location: None,
            }),
        }
    })();
    let (effective, items) = match items {
        Ok(v) => v,
        Err(e) => return run.eval_failed(fid, active, e),
    };
    // AWS reads MaxConcurrency before recording MapStateStarted and the tolerated
    // failure fields after it (their errors come after the event).
    let max_concurrency =
        match run.with_bindings(fid, &active, &effective, ContextNeed::Yes, |b, e| match &m
            .max_concurrency
        {
            Some(d) => dataflow::resolve_u64(d, "MaxConcurrency", b, e),
            None => Ok(0),
        }) {
            Ok(v) => v,
            Err(e) => return run.eval_failed(fid, active, e),
        };
    let started = run.record_in(
        fid,
        EventDetails::MapStateStarted {
            length: items.len() as u64,
        },
    );
    let limits = run.with_bindings(fid, &active, &effective, ContextNeed::Yes, |b, e| {
        let count = match &m.tolerated_failure_count {
            Some(d) => Some(dataflow::resolve_u64(d, "ToleratedFailureCount", b, e)?),
            None => None,
        };
        let pct = match &m.tolerated_failure_percentage {
            Some(d) => Some(dataflow::resolve_tolerated_failure_percentage(d, b, e)?),
            None => None,
        };
        Ok((count, pct))
    });
    let (tolerated_count, tolerated_percentage) = match limits {
        Ok(v) => v,
        Err(e) => return run.eval_failed(fid, active, e),
    };
    // TestState: a Map state's result is mocked; its iterations do not run.
    if run.test.is_some() {
        let limits = (max_concurrency, tolerated_count, tolerated_percentage);
        return crate::test_state::mocked_map(run, fid, active, m, &effective, &items, limits);
    }
    let distributed = m.mode == ProcessorMode::Distributed;
    let mut map_run_arn = None;
    let mut map_run_started = started;
    if distributed {
        let arn = map_run_arn_for(run, &run.state(fid, active.state).name);
        map_run_started = run.record_in(
            fid,
            EventDetails::MapRunStarted {
                map_run_arn: arn.clone(),
            },
        );
        map_run_arn = Some(arn);
    }
    let n = items.len();
    let children = Children {
        kind: ChildrenKind::Map(Box::new(MapRun {
            items,
            selector_input: effective,
            next_index: 0,
            max_concurrency,
            tolerated_count,
            tolerated_percentage,
            distributed,
            map_run_arn,
            map_run_started_event_id: map_run_started,
        })),
        running: Default::default(),
        results: vec![None; n],
        finished: 0,
        failed: 0,
        last_child_event_id: started,
        last_iteration_event_id: started,
    };
    run.wait_children(fid, active, children);
    if n == 0 {
        crate::children::complete_map(run, fid);
    } else {
        run.work.push_front(Work::FillMap(fid));
    }
}

/// `arn:…:mapRun:<machine name>/<label or state name>:<id>`.
fn map_run_arn_for(run: &mut Run<'_>, state_name: &str) -> String {
    let id = &run.exec.identity;
    let machine_arn = &id.state_machine_arn;
    let prefix = machine_arn
        .split_once(":stateMachine:")
        .map(|(p, _)| p.to_owned())
        .unwrap_or_else(|| format!("arn:aws:states:{}:{}", id.region, id.account));
    let machine_name = id.state_machine_name.clone();
    let suffix = run.entropy.next_u64();
    format!("{prefix}:mapRun:{machine_name}/{state_name}:{suffix:016x}")
}
