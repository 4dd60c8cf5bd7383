//! `apply`: one input in, the resulting effects out.
//!
//! Frames run to the point where they wait for something outside (a task, a timer) or
//! finish. Runs of pure states (Pass, Choice, Succeed, a Wait already due, …) complete
//! inside one `apply` call, so the shell commits them as one unit.
//!
//! Ordering: a started child (Parallel branch, Map iteration) runs before its next
//! sibling starts. This gives the same history AWS records for sequential Maps and keeps
//! runs reproducible.

use std::collections::VecDeque;

use baton_asl::error_name::{
    STATES_DATA_LIMIT_EXCEEDED, STATES_HEARTBEAT_TIMEOUT, STATES_QUERY_EVALUATION_ERROR,
    STATES_RUNTIME, STATES_TIMEOUT,
};
use baton_asl::eval::{Bindings, Entropy, EvalError};
use baton_asl::model::{
    Catcher, OptionalPath, OptionalReferencePath, QueryLanguage, ScopeId, State, StateId,
    StateKind, StateMachine, Transition,
};
use baton_asl::template::Template;
use serde_json::{Map, Value};

use crate::context::{FrameVariables, StateContext, context_object};
use crate::effect::{Effect, Input};
use crate::execution::{
    Active, Children, Execution, ExecutionStatus, Failure, Frame, FrameId, Outcome, ParentLink,
    Payload, Position, TaskWait, TimerPurpose, Waiting,
};
use crate::history::{EventDetails, HistoryEvent, StateType};
use crate::limits::{
    MAX_HISTORY_EVENTS, MAX_PAYLOAD_BYTES, MAX_TRANSITIONS_PER_APPLY, json_size_exceeds,
};
use crate::steps;
use crate::task::{TaskKind, TaskRequest};
use crate::test_state::{InspectionData, TestHooks};

/// Applies one input to the execution and returns what the shell must do.
///
/// Stale inputs (a task or timer the execution no longer waits for, anything after the
/// execution finished) change nothing and return no effects: the shell delivers
/// at-least-once.
pub fn apply(
    exec: &mut Execution,
    machine: &StateMachine,
    input: Input,
    entropy: &mut dyn Entropy,
) -> Vec<Effect> {
    apply_with(exec, machine, input, entropy, None)
}

/// [`apply`], with TestState's hooks attached when `test` is set.
pub(crate) fn apply_with<'a>(
    exec: &'a mut Execution,
    machine: &'a StateMachine,
    input: Input,
    entropy: &'a mut dyn Entropy,
    test: Option<&'a mut TestHooks>,
) -> Vec<Effect> {
    let now = entropy.now_millis();
    let mut run = Run {
        machine,
        exec,
        entropy,
        now,
        effects: Vec::new(),
        work: VecDeque::new(),
        test,
        entered: 0,
        heartbeat_failure: false,
    };
    run.handle(input);
    run.drain();
    run.effects
}

/// TestState: runs a frame the caller placed in `exec` at `Position::Enter` until it
/// waits or finishes (TestState starts at one state, not at `StartAt`).
pub(crate) fn run_frame<'a>(
    exec: &'a mut Execution,
    machine: &'a StateMachine,
    frame: FrameId,
    entropy: &'a mut dyn Entropy,
    test: &'a mut TestHooks,
) -> Vec<Effect> {
    let now = entropy.now_millis();
    let mut run = Run {
        machine,
        exec,
        entropy,
        now,
        effects: Vec::new(),
        work: VecDeque::from([Work::Step(frame)]),
        test: Some(test),
        entered: 0,
        heartbeat_failure: false,
    };
    run.drain();
    run.effects
}

/// Work waiting to be done inside one `apply`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Work {
    /// Run the frame until it waits or finishes.
    Step(FrameId),
    /// Start further Map iterations if slots and items remain.
    FillMap(FrameId),
}

pub(crate) struct Run<'a> {
    pub machine: &'a StateMachine,
    pub exec: &'a mut Execution,
    pub entropy: &'a mut dyn Entropy,
    pub now: i64,
    pub effects: Vec<Effect>,
    pub work: VecDeque<Work>,
    /// TestState's recorder and overrides; `None` in every real execution.
    pub test: Option<&'a mut TestHooks>,
    /// States entered during this `apply` (the runaway-loop guard).
    pub entered: u64,
    /// Set while the failure being handled is a missed heartbeat: AWS records it as
    /// `States.Timeout`, and a retrier or catcher naming `States.HeartbeatTimeout`
    /// matches it too.
    pub heartbeat_failure: bool,
}

/// Whether an evaluation needs the context object built.
#[derive(Clone, Copy)]
pub(crate) enum ContextNeed {
    No,
    Yes,
}

impl ContextNeed {
    pub(crate) fn when(needed: bool) -> Self {
        if needed {
            ContextNeed::Yes
        } else {
            ContextNeed::No
        }
    }
}

/// Variables a state assigns, in definition order.
pub(crate) type Assigned = Option<Vec<(String, Value)>>;

/// What evaluation inputs a state's expressions see.
pub(crate) struct Eval<'v> {
    pub input: &'v Value,
    pub result: Option<&'v Value>,
    pub error_output: Option<&'v Value>,
}

impl<'a> Run<'a> {
    /// TestState inspection: hands the recorder to `f` when one is attached and the
    /// request asked for DEBUG/TRACE data. In real executions this is one `None` check.
    #[inline]
    pub(crate) fn inspect(&mut self, f: impl FnOnce(&mut InspectionData)) {
        if let Some(t) = self.test.as_deref_mut()
            && let Some(data) = t.inspection()
        {
            f(data);
        }
    }

    fn handle(&mut self, input: Input) {
        if self.exec.is_finished() {
            return;
        }
        match input {
            Input::Start => self.start(),
            Input::TaskStarted {
                task_id,
                worker_name,
            } => self.task_started(task_id, worker_name),
            Input::TaskSubmitted { task_id, output } => self.task_submitted(task_id, output),
            Input::TaskSucceeded { task_id, output } => self.task_succeeded(task_id, output),
            Input::TaskFailed {
                task_id,
                error,
                cause,
            } => self.task_failed(task_id, Failure { error, cause }),
            Input::TaskHeartbeat { task_id } => self.task_heartbeat(task_id),
            Input::TimerFired { timer_id } => self.timer_fired(timer_id),
            Input::Stop { error, cause } => self.stop(error, cause),
        }
    }

    fn start(&mut self) {
        if self.exec.status != ExecutionStatus::Pending {
            return;
        }
        self.exec.status = ExecutionStatus::Running;
        let details = EventDetails::ExecutionStarted {
            input: self.exec.input.clone(),
            role_arn: self.exec.identity.role_arn.clone(),
        };
        self.record(true, 0, details);
        if let Some(secs) = self.machine.timeout_seconds {
            let fire_at = self.exec.start_millis.saturating_add(secs_to_millis(secs));
            self.start_timer(TimerPurpose::ExecutionTimeout, fire_at);
        }
        let root = self.machine.root();
        let frame = Frame {
            scope: ScopeId::ROOT,
            parent: None,
            variables: Map::new(),
            position: Position::Enter {
                state: root.start_at,
                input: self.exec.input.clone(),
            },
            last_event_id: 0,
            records_history: true,
        };
        let id = self.new_frame(frame);
        self.work.push_back(Work::Step(id));
    }

    pub(crate) fn drain(&mut self) {
        while let Some(work) = self.work.pop_front() {
            if self.exec.is_finished() {
                self.work.clear();
                return;
            }
            match work {
                Work::Step(fid) => self.step(fid),
                Work::FillMap(fid) => self.fill_map(fid),
            }
        }
    }

    // ----- frames -------------------------------------------------------------------

    pub(crate) fn new_frame(&mut self, frame: Frame) -> FrameId {
        let id = self.exec.next_frame_id;
        self.exec.next_frame_id += 1;
        self.exec.frames.insert(id, frame);
        id
    }

    pub(crate) fn frame(&self, fid: FrameId) -> Option<&Frame> {
        self.exec.frames.get(&fid)
    }

    pub(crate) fn frame_mut(&mut self, fid: FrameId) -> Option<&mut Frame> {
        self.exec.frames.get_mut(&fid)
    }

    pub(crate) fn scope_of(&self, fid: FrameId) -> ScopeId {
        self.frame(fid).map(|f| f.scope).unwrap_or(ScopeId::ROOT)
    }

    pub(crate) fn state(&self, fid: FrameId, state: StateId) -> &'a State {
        let machine: &'a StateMachine = self.machine;
        machine.state(self.scope_of(fid), state)
    }

    fn step(&mut self, fid: FrameId) {
        loop {
            if self.exec.is_finished() {
                return;
            }
            let Some(frame) = self.frame_mut(fid) else {
                return;
            };
            let Position::Enter { .. } = frame.position else {
                return;
            };
            if self.over_limits(fid) {
                return;
            }
            let Some(frame) = self.frame_mut(fid) else {
                return;
            };
            let Position::Enter { state, input } =
                std::mem::replace(&mut frame.position, Position::Done)
            else {
                return;
            };
            self.enter(fid, state, input);
        }
    }

    /// Ends an execution that reached AWS's history quota (FAILED, `States.Runtime`) or,
    /// keeping no history, entered too many states in one `apply` (TIMED_OUT, as the
    /// Express time limit would end it). Returns whether it ended.
    fn over_limits(&mut self, fid: FrameId) -> bool {
        self.entered += 1;
        let prev = self.frame(fid).map(|f| f.last_event_id).unwrap_or(0);
        if self.exec.records_history && self.exec.next_event_id >= MAX_HISTORY_EVENTS {
            let failure = Failure::new(
                STATES_RUNTIME,
                format!(
                    "The execution reached the maximum number of history events \
                     ({MAX_HISTORY_EVENTS})."
                ),
            );
            self.finish_execution(ExecutionStatus::Failed, Outcome::Failed(failure), prev);
            return true;
        }
        if !self.exec.records_history && self.entered > MAX_TRANSITIONS_PER_APPLY {
            let failure = Failure::new(
                STATES_TIMEOUT,
                format!(
                    "The execution entered more than {MAX_TRANSITIONS_PER_APPLY} states \
                     without waiting for anything."
                ),
            );
            self.finish_execution(ExecutionStatus::TimedOut, Outcome::Failed(failure), prev);
            return true;
        }
        false
    }

    // ----- history ------------------------------------------------------------------

    /// Records an event if the frame records history; returns its id (or `prev` when
    /// nothing was recorded, so chains stay intact).
    pub(crate) fn record(&mut self, records: bool, prev: u64, details: EventDetails) -> u64 {
        if !(records && self.exec.records_history) {
            return prev;
        }
        let id = self.exec.next_event_id;
        self.exec.next_event_id += 1;
        self.effects.push(Effect::History(HistoryEvent {
            id,
            previous_event_id: prev,
            timestamp_millis: self.now,
            details,
        }));
        id
    }

    /// Records an event chained after the frame's last one and advances the chain.
    pub(crate) fn record_in(&mut self, fid: FrameId, details: EventDetails) -> u64 {
        let (records, prev) = match self.frame(fid) {
            Some(f) => (f.records_history, f.last_event_id),
            None => return 0,
        };
        let id = self.record(records, prev, details);
        if let Some(f) = self.frame_mut(fid) {
            f.last_event_id = id;
        }
        id
    }

    // ----- timers and tasks ---------------------------------------------------------

    pub(crate) fn start_timer(&mut self, purpose: TimerPurpose, fire_at_millis: i64) -> u64 {
        let timer_id = self.exec.next_timer_id;
        self.exec.next_timer_id += 1;
        self.exec.timers.insert(timer_id, purpose);
        self.effects.push(Effect::StartTimer {
            timer_id,
            fire_at_millis,
        });
        timer_id
    }

    pub(crate) fn cancel_timer(&mut self, timer_id: Option<u64>) {
        if let Some(t) = timer_id
            && self.exec.timers.remove(&t).is_some()
        {
            self.effects.push(Effect::CancelTimer { timer_id: t });
        }
    }

    fn cancel_task(&mut self, wait: &TaskWait) {
        if self.exec.tasks.remove(&wait.task_id).is_some() {
            self.effects.push(Effect::CancelTask {
                task_id: wait.task_id,
            });
        }
        self.cancel_timer(wait.timeout_timer);
        self.cancel_timer(wait.heartbeat_timer);
    }

    /// Takes the active state of a frame that waits on `task_id`, if it still does.
    fn take_task_wait(&mut self, task_id: u64) -> Option<(FrameId, Box<Active>)> {
        let fid = *self.exec.tasks.get(&task_id)?;
        let frame = self.frame_mut(fid)?;
        match &frame.position {
            Position::Active(a) => match &a.waiting {
                Waiting::Task(t) if t.task_id == task_id => {}
                _ => return None,
            },
            _ => return None,
        }
        let Position::Active(active) = std::mem::replace(&mut frame.position, Position::Done)
        else {
            return None;
        };
        Some((fid, active))
    }

    fn put_back(&mut self, fid: FrameId, active: Box<Active>) {
        if let Some(f) = self.frame_mut(fid) {
            f.position = Position::Active(active);
        }
    }

    fn task_started(&mut self, task_id: u64, worker_name: Option<String>) {
        let Some((fid, mut active)) = self.take_task_wait(task_id) else {
            return;
        };
        if let Waiting::Task(t) = &mut active.waiting
            && !t.started
        {
            t.started = true;
            let details = match &t.kind {
                TaskKind::Lambda { .. } => EventDetails::LambdaFunctionStarted,
                TaskKind::Activity { .. } => EventDetails::ActivityStarted { worker_name },
                TaskKind::Service { resource, .. } => EventDetails::TaskStarted {
                    resource: resource.clone(),
                },
            };
            self.put_back(fid, active);
            self.record_in(fid, details);
            return;
        }
        self.put_back(fid, active);
    }

    fn task_submitted(&mut self, task_id: u64, output: Value) {
        let Some((fid, active)) = self.take_task_wait(task_id) else {
            return;
        };
        let details = match &active.waiting {
            Waiting::Task(t) => match &t.kind {
                TaskKind::Service { resource, .. } => Some(EventDetails::TaskSubmitted {
                    resource: resource.clone(),
                    output: Payload::new(output),
                }),
                _ => None,
            },
            _ => None,
        };
        self.put_back(fid, active);
        if let Some(d) = details {
            self.record_in(fid, d);
        }
    }

    fn task_heartbeat(&mut self, task_id: u64) {
        let Some((fid, mut active)) = self.take_task_wait(task_id) else {
            return;
        };
        if let Waiting::Task(t) = &mut active.waiting
            && let Some(secs) = t.heartbeat_seconds
        {
            let old = t.heartbeat_timer.take();
            let fire_at = self.now.saturating_add(secs_to_millis(secs));
            let purpose = TimerPurpose::HeartbeatTimeout {
                frame: fid,
                task_id,
            };
            let new = self.start_timer(purpose, fire_at);
            self.cancel_timer(old);
            t.heartbeat_timer = Some(new);
        }
        self.put_back(fid, active);
    }

    fn task_succeeded(&mut self, task_id: u64, output: Value) {
        let output = Payload::new(output);
        let Some((fid, active)) = self.take_task_wait(task_id) else {
            return;
        };
        let Waiting::Task(wait) = &active.waiting else {
            return;
        };
        let wait = wait.clone();
        self.cancel_task(&wait);
        let details = match &wait.kind {
            TaskKind::Lambda { .. } => EventDetails::LambdaFunctionSucceeded {
                output: output.clone(),
            },
            TaskKind::Activity { .. } => EventDetails::ActivitySucceeded {
                output: output.clone(),
            },
            TaskKind::Service { resource, .. } => EventDetails::TaskSucceeded {
                resource: resource.clone(),
                output: output.clone(),
            },
        };
        self.record_in(fid, details);
        self.inspect(|i| i.result = Some((*output).clone())); // TestState
        let state = self.state(fid, active.state);
        if json_size_exceeds(&output, MAX_PAYLOAD_BYTES) {
            let name = match &wait.kind {
                TaskKind::Lambda { arn } => arn.as_str(),
                _ => &*state.name,
            };
            let failure = data_limit_failure(name);
            self.state_failed(fid, active, failure);
            return;
        }
        self.complete_with_result(fid, active, output);
        self.work.push_front(Work::Step(fid));
    }

    fn task_failed(&mut self, task_id: u64, failure: Failure) {
        let Some((fid, active)) = self.take_task_wait(task_id) else {
            return;
        };
        let Waiting::Task(wait) = &active.waiting else {
            return;
        };
        let wait = wait.clone();
        self.cancel_task(&wait);
        let details = match &wait.kind {
            TaskKind::Lambda { .. } => EventDetails::LambdaFunctionFailed {
                error: failure.error.clone(),
                cause: failure.cause.clone(),
            },
            TaskKind::Activity { .. } => EventDetails::ActivityFailed {
                error: failure.error.clone(),
                cause: failure.cause.clone(),
            },
            TaskKind::Service { resource, .. } => EventDetails::TaskFailed {
                resource: resource.clone(),
                error: failure.error.clone(),
                cause: failure.cause.clone(),
            },
        };
        self.record_in(fid, details);
        self.state_failed(fid, active, failure);
    }

    fn task_timed_out(&mut self, fid: FrameId, task_id: u64, heartbeat: bool) {
        let Some((found, active)) = self.take_task_wait(task_id) else {
            return;
        };
        debug_assert_eq!(found, fid);
        let Waiting::Task(wait) = &active.waiting else {
            return;
        };
        let wait = wait.clone();
        self.cancel_task(&wait);
        // AWS records a missed heartbeat as `States.Timeout` (its recordings of
        // `HeartbeatSeconds` expiring); only Retry and Catch see `States.HeartbeatTimeout`.
        let failure = Failure {
            error: Some(STATES_TIMEOUT.to_owned()),
            cause: None,
        };
        let details = match &wait.kind {
            TaskKind::Lambda { .. } => EventDetails::LambdaFunctionTimedOut {
                error: failure.error.clone(),
                cause: None,
            },
            TaskKind::Activity { .. } => EventDetails::ActivityTimedOut {
                error: failure.error.clone(),
                cause: None,
            },
            TaskKind::Service { resource, .. } => EventDetails::TaskTimedOut {
                resource: resource.clone(),
                error: failure.error.clone(),
                cause: None,
            },
        };
        self.record_in(fid, details);
        self.heartbeat_failure = heartbeat;
        self.state_failed(fid, active, failure);
        self.heartbeat_failure = false;
    }

    fn timer_fired(&mut self, timer_id: u64) {
        let Some(purpose) = self.exec.timers.remove(&timer_id) else {
            return;
        };
        match purpose {
            TimerPurpose::ExecutionTimeout => self.finish_execution(
                ExecutionStatus::TimedOut,
                Outcome::Failed(Failure {
                    error: Some(STATES_TIMEOUT.to_owned()),
                    cause: None,
                }),
                0,
            ),
            TimerPurpose::TaskTimeout { frame, task_id } => {
                self.task_timed_out(frame, task_id, false)
            }
            TimerPurpose::HeartbeatTimeout { frame, task_id } => {
                self.task_timed_out(frame, task_id, true)
            }
            TimerPurpose::Resume { frame } => self.resume(frame, timer_id),
        }
    }

    /// A Wait state's timer or a retry backoff fired.
    fn resume(&mut self, fid: FrameId, timer_id: u64) {
        let Some(frame) = self.frame_mut(fid) else {
            return;
        };
        let Position::Active(active) = std::mem::replace(&mut frame.position, Position::Done)
        else {
            return;
        };
        match &active.waiting {
            Waiting::WaitTimer { timer, .. } if *timer == timer_id => {
                let Waiting::WaitTimer {
                    output, assigned, ..
                } = active.waiting.clone()
                else {
                    return;
                };
                self.exit_state(fid, active.state, output, assigned, None);
            }
            Waiting::RetryTimer { timer } if *timer == timer_id => {
                steps::begin(self, fid, active);
            }
            _ => {
                self.put_back(fid, active);
                return;
            }
        }
        self.work.push_front(Work::Step(fid));
    }

    fn stop(&mut self, error: Option<String>, cause: Option<String>) {
        self.finish_execution(
            ExecutionStatus::Aborted,
            Outcome::Failed(Failure { error, cause }),
            0,
        );
    }

    // ----- entering and leaving states -----------------------------------------------

    fn enter(&mut self, fid: FrameId, state_id: StateId, input: Payload) {
        let state = self.state(fid, state_id);
        self.exec.transitions += 1;
        let entered_prev = self.frame(fid).map(|f| f.last_event_id).unwrap_or(0);
        let entered = self.record_in(
            fid,
            EventDetails::StateEntered {
                state_type: StateType::of(&state.kind),
                name: state.name.clone(),
                input: input.clone(),
            },
        );
        self.inspect(|i| i.input = Some((*input).clone())); // TestState
        let active = Box::new(Active {
            state: state_id,
            raw_input: input,
            entered_event_id: entered,
            entered_previous_event_id: entered_prev,
            entered_millis: self.now,
            retry_attempts: vec![0; state.retry.len()],
            retry_count: 0,
            waiting: Waiting::RetryTimer { timer: 0 },
        });
        steps::begin(self, fid, active);
    }

    /// Emits `<Type>StateExited`, applies variable assignments and moves the frame on.
    pub(crate) fn exit_state(
        &mut self,
        fid: FrameId,
        state_id: StateId,
        output: Payload,
        assigned: Option<Vec<(String, Value)>>,
        next_override: Option<StateId>,
    ) {
        let state = self.state(fid, state_id);
        // A payload passed through unchanged was checked when it was made.
        let fresh = self.frame(fid).is_none_or(|f| match &f.position {
            Position::Active(a) => !Payload::ptr_eq(&a.raw_input, &output),
            _ => true,
        });
        if fresh && json_size_exceeds(&output, MAX_PAYLOAD_BYTES) {
            self.fail_execution_from(fid, data_limit_failure(&state.name));
            return;
        }
        // AWS records `assignedVariables` only when something was assigned.
        let assigned = assigned.filter(|vars| !vars.is_empty());
        self.record_in(
            fid,
            EventDetails::StateExited {
                state_type: StateType::of(&state.kind),
                name: state.name.clone(),
                output: output.clone(),
                assigned_variables: assigned.clone(),
            },
        );
        if let Some(vars) = assigned
            && let Some(f) = self.frame_mut(fid)
        {
            for (k, v) in vars {
                f.variables.insert(k, v);
            }
        }
        let next = match next_override {
            Some(n) => Transition::Next(n),
            None => state.transition,
        };
        // TestState runs one state: where it would go next is reported, not entered.
        if let Some(t) = self.test.as_deref_mut() {
            t.exited(next, self.exec.frames.get(&fid).map(|f| &f.variables));
            self.frame_finished(fid, Outcome::Succeeded { output });
            return;
        }
        match next {
            Transition::Next(n) if !matches!(state.kind, StateKind::Succeed) => {
                if let Some(f) = self.frame_mut(fid) {
                    f.position = Position::Enter {
                        state: n,
                        input: output,
                    };
                }
            }
            _ => self.frame_finished(fid, Outcome::Succeeded { output }),
        }
    }

    /// A frame's state raised an ASL error: retry, catch, or fail the frame.
    pub(crate) fn state_failed(&mut self, fid: FrameId, active: Box<Active>, failure: Failure) {
        // A Map or Parallel that fails records its own end when it gives up.
        let give_up: &[EventDetails] = match self.state(fid, active.state).kind {
            StateKind::Map(_) => &[EventDetails::MapStateFailed],
            StateKind::Parallel(_) => &[EventDetails::ParallelStateFailed],
            _ => &[],
        };
        self.state_failed_then(fid, active, failure, give_up);
    }

    /// Like [`Run::state_failed`]; `give_up` events (`ParallelStateFailed`,
    /// `MapStateFailed`, …) are recorded only when the error is not retried, as AWS does.
    pub(crate) fn state_failed_then(
        &mut self,
        fid: FrameId,
        mut active: Box<Active>,
        failure: Failure,
        give_up: &[EventDetails],
    ) {
        let state = self.state(fid, active.state);
        let error = failure.error_name().to_owned();
        if error == STATES_RUNTIME {
            self.fail_execution_from(fid, failure);
            return;
        }
        let heartbeat = std::mem::take(&mut self.heartbeat_failure);
        let named = |equals: &baton_asl::error_name::ErrorMatcher| {
            equals.matches(&error) || (heartbeat && equals.matches(STATES_HEARTBEAT_TIMEOUT))
        };
        for (i, retrier) in state.retry.iter().enumerate() {
            if !named(&retrier.error_equals) {
                continue;
            }
            // TestState: the request says how often this retrier has retried already.
            if let Some(t) = self.test.as_deref_mut() {
                active.retry_attempts[i] = t.retrier_matched(i);
            }
            if active.retry_attempts[i] < retrier.max_attempts {
                active.retry_attempts[i] += 1;
                active.retry_count += 1;
                let draw = unit_draw(self.entropy.next_u64());
                let delay = baton_asl::retry::delay_millis(retrier, active.retry_attempts[i], draw);
                // TestState reports the retry instead of waiting for it.
                if let Some(t) = self.test.as_deref_mut() {
                    t.retriable(delay, &failure);
                }
                let fire_at = self.now.saturating_add(delay as i64);
                let timer = self.start_timer(TimerPurpose::Resume { frame: fid }, fire_at);
                active.waiting = Waiting::RetryTimer { timer };
                self.put_back(fid, active);
                return;
            }
            break;
        }
        for details in give_up {
            self.record_in(fid, details.clone());
        }
        let caught = state.catch.iter().position(|c| named(&c.error_equals));
        if let (Some(index), Some(t)) = (caught, self.test.as_deref_mut()) {
            t.caught(index, &failure); // TestState
        }
        match caught.and_then(|i| state.catch.get(i)) {
            Some(c) => self.catch(fid, active, c, failure),
            None => {
                // A Task whose error ends a Parallel branch is recorded as aborted.
                // AWS does not chain later events after it.
                if matches!(state.kind, StateKind::Task(_)) && self.in_parallel_branch(fid) {
                    let (records, last) = self
                        .frame(fid)
                        .map(|f| (f.records_history, f.last_event_id))
                        .unwrap_or((false, 0));
                    self.record(records, last, EventDetails::TaskStateAborted);
                }
                self.frame_finished(fid, Outcome::Failed(failure))
            }
        }
    }

    fn in_parallel_branch(&self, fid: FrameId) -> bool {
        let Some(parent) = self.frame(fid).and_then(|f| f.parent) else {
            return false;
        };
        matches!(
            self.frame(parent.frame).map(|f| &f.position),
            Some(Position::Active(a)) if matches!(
                &a.waiting,
                Waiting::Children(c) if matches!(c.kind, crate::execution::ChildrenKind::Parallel)
            )
        )
    }

    fn catch(&mut self, fid: FrameId, active: Box<Active>, catcher: &Catcher, failure: Failure) {
        let state = self.state(fid, active.state);
        let error_output = failure.to_error_output();
        let raw = &active.raw_input;
        let result = if state.query_language == QueryLanguage::Jsonata {
            let ev = Eval {
                input: raw,
                result: None,
                error_output: Some(&error_output),
            };
            let out = match &catcher.output {
                Some(t) => self
                    .eval_template(fid, &active, t, &ev, "Output")
                    .map(Payload::new),
                None => Ok(Payload::new(error_output.clone())),
            };
            out.and_then(|out| {
                let assigned = self.eval_assign(fid, &active, catcher.assign.as_ref(), &ev)?;
                Ok((out, assigned))
            })
        } else {
            let ev = Eval {
                input: &error_output,
                result: None,
                error_output: Some(&error_output),
            };
            self.eval_assign(fid, &active, catcher.assign.as_ref(), &ev)
                .and_then(|assigned| {
                    let out = baton_asl::dataflow::apply_result_path(
                        &catcher.result_path,
                        (**raw).clone(),
                        error_output.clone(),
                    )?;
                    Ok((Payload::new(out), assigned))
                })
        };
        match result {
            Ok((out, assigned)) => {
                self.exit_state(fid, active.state, out, assigned, Some(catcher.next));
                self.work.push_front(Work::Step(fid));
            }
            // An error while handling an error is not caught again: it ends the frame.
            Err(e) => {
                let failure = self.evaluation_failure(fid, &active, e);
                self.fail_uncaught(fid, failure);
            }
        }
    }

    /// Fails a frame with no retry or catch (`States.Runtime` ends the execution).
    fn fail_uncaught(&mut self, fid: FrameId, failure: Failure) {
        if failure.error_name() == STATES_RUNTIME {
            self.fail_execution_from(fid, failure);
        } else {
            self.frame_finished(fid, Outcome::Failed(failure));
        }
    }

    /// An expression failed while a state ran. `States.Runtime` ends the execution;
    /// other errors (JSONata) are recorded as `EvaluationFailed` and handled like any
    /// state error.
    pub(crate) fn eval_failed(&mut self, fid: FrameId, active: Box<Active>, e: EvalError) {
        let failure = self.evaluation_failure(fid, &active, e);
        self.state_failed(fid, active, failure);
    }

    /// Prefixes an evaluation error's cause with the state, and records
    /// `EvaluationFailed` for query (JSONata) errors.
    fn evaluation_failure(&mut self, fid: FrameId, active: &Active, e: EvalError) -> Failure {
        let state = self.state(fid, active.state);
        // TestState reports evaluation errors without the state/event prefix.
        let cause = if self.test.is_some() {
            e.cause.clone()
        } else {
            format!(
                "An error occurred while executing the state '{}' (entered at the event id #{}). {}",
                state.name, active.entered_event_id, e.cause
            )
        };
        let failure = Failure {
            error: Some(e.error.clone()),
            cause: Some(cause.clone()),
        };
        if e.error == STATES_QUERY_EVALUATION_ERROR {
            let location = e.location.clone();
            let (records, last) = self
                .frame(fid)
                .map(|f| (f.records_history, f.last_event_id))
                .unwrap_or((false, 0));
            // AWS chains EvaluationFailed after the entry's predecessor, except in Wait
            // states, where it follows the entry itself (as recorded in every case).
            let prev = if matches!(state.kind, StateKind::Wait(_)) {
                last
            } else {
                active.entered_previous_event_id
            };
            let id = self.record(
                records,
                prev,
                EventDetails::EvaluationFailed {
                    error: e.error,
                    cause,
                    location,
                    state: state.name.to_string(),
                },
            );
            if let Some(f) = self.frame_mut(fid) {
                f.last_event_id = id;
            }
        }
        failure
    }

    /// Completes a Task/Parallel/Map with its result: ResultSelector, ResultPath,
    /// OutputPath (JSONPath) or Output (JSONata), then Assign.
    pub(crate) fn complete_with_result(
        &mut self,
        fid: FrameId,
        active: Box<Active>,
        result: Payload,
    ) {
        let state = self.state(fid, active.state);
        let outcome = if state.query_language == QueryLanguage::Jsonata {
            let ev = Eval {
                input: &active.raw_input,
                result: Some(&result),
                error_output: None,
            };
            let out = match &state.io.output {
                Some(t) => self
                    .eval_template(fid, &active, t, &ev, "Output")
                    .map(Payload::new),
                None => Ok(result.clone()),
            };
            out.and_then(|out| {
                let assigned = self.eval_assign(fid, &active, state.assign.as_ref(), &ev)?;
                Ok((out, assigned))
            })
        } else {
            self.jsonpath_result(fid, &active, result)
        };
        match outcome {
            Ok((out, assigned)) => self.exit_state(fid, active.state, out, assigned, None),
            Err(e) => self.eval_failed(fid, active, e),
        }
    }

    /// JSONPath: ResultSelector → Assign (reads the selected result) → ResultPath →
    /// OutputPath. Fields left at their defaults pass the payload through uncopied.
    pub(crate) fn jsonpath_result(
        &mut self,
        fid: FrameId,
        active: &Active,
        result: Payload,
    ) -> Result<(Payload, Assigned), EvalError> {
        let state = self.state(fid, active.state);
        let result = match &state.io.result_selector {
            Some(t) => {
                let ev = Eval {
                    input: &result,
                    result: None,
                    error_output: None,
                };
                Payload::new(self.eval_template(fid, active, t, &ev, "ResultSelector")?)
            }
            None => result,
        };
        let ev = Eval {
            input: &result,
            result: None,
            error_output: None,
        };
        self.inspect(|i| i.after_result_selector = Some((*result).clone())); // TestState
        let assigned = self.eval_assign(fid, active, state.assign.as_ref(), &ev)?;
        let combined = match &state.io.result_path {
            OptionalReferencePath::Default => result,
            OptionalReferencePath::Null => active.raw_input.clone(),
            OptionalReferencePath::Path(p) => Payload::new(p.set(
                (*active.raw_input).clone(),
                Payload::unwrap_or_clone(result),
            )?),
        };
        self.inspect(|i| i.after_result_path = Some((*combined).clone())); // TestState
        let out = self.output_path(fid, active, combined)?;
        Ok((out, assigned))
    }

    pub(crate) fn output_path(
        &mut self,
        fid: FrameId,
        active: &Active,
        value: Payload,
    ) -> Result<Payload, EvalError> {
        let state = self.state(fid, active.state);
        self.select_path(fid, active, &state.io.output_path, value)
    }

    pub(crate) fn input_path(
        &mut self,
        fid: FrameId,
        active: &Active,
    ) -> Result<Payload, EvalError> {
        let state = self.state(fid, active.state);
        self.select_path(fid, active, &state.io.input_path, active.raw_input.clone())
    }

    /// `InputPath`/`OutputPath` applied to `value`.
    fn select_path(
        &mut self,
        fid: FrameId,
        active: &Active,
        path: &OptionalPath,
        value: Payload,
    ) -> Result<Payload, EvalError> {
        match path {
            OptionalPath::Default => Ok(value),
            OptionalPath::Null => Ok(Payload::new(Value::Object(Map::new()))),
            OptionalPath::Path(p) => {
                let need = ContextNeed::when(p.uses_context());
                self.with_bindings(fid, active, &value, need, |b, _| {
                    baton_asl::dataflow::apply_input_path(path, b).map(Payload::new)
                })
            }
        }
    }

    /// Runs `f` with what the frame's expressions see: `$` = `input`, the context object
    /// (built only when `context` asks for it: building it costs more than most
    /// expressions), the frame's variables, and the injected entropy.
    pub(crate) fn with_bindings<T>(
        &mut self,
        fid: FrameId,
        active: &Active,
        input: &Value,
        context: ContextNeed,
        f: impl FnOnce(&Bindings<'_>, &mut dyn Entropy) -> T,
    ) -> T {
        let ctx = match context {
            ContextNeed::No => Value::Null,
            ContextNeed::Yes => self.context_for(fid, active, None),
        };
        let vars = FrameVariables {
            frames: &self.exec.frames,
            frame: fid,
        };
        let b = Bindings {
            input,
            context: &ctx,
            variables: &vars,
            result: None,
            error_output: None,
        };
        f(&b, &mut *self.entropy)
    }

    /// The context object for the frame's active state.
    pub(crate) fn context_for(
        &self,
        fid: FrameId,
        active: &Active,
        map_item: Option<(u64, &Value)>,
    ) -> Value {
        let state = self.state(fid, active.state);
        let retry_count = match state.kind {
            StateKind::Task(_) | StateKind::Parallel(_) | StateKind::Map(_) => {
                Some(active.retry_count)
            }
            _ => None,
        };
        let token = match &active.waiting {
            Waiting::Task(t) => t.token.as_deref(),
            _ => None,
        };
        let mut ctx = context_object(
            self.exec,
            &StateContext {
                state_name: &state.name,
                entered_millis: active.entered_millis,
                retry_count,
                task_token: token,
                map_item,
            },
        );
        if let Some(t) = self.test.as_deref() {
            t.adjust_context(&mut ctx); // TestState: the request's context, AWS's names
        }
        ctx
    }

    pub(crate) fn eval_template(
        &mut self,
        fid: FrameId,
        active: &Active,
        template: &Template,
        ev: &Eval<'_>,
        field: &str,
    ) -> Result<Value, EvalError> {
        self.eval_template_with(fid, active, template, ev, field, None)
    }

    pub(crate) fn eval_template_with(
        &mut self,
        fid: FrameId,
        active: &Active,
        template: &Template,
        ev: &Eval<'_>,
        field: &str,
        map_item: Option<(u64, &Value)>,
    ) -> Result<Value, EvalError> {
        if let Template::Const(v) = template {
            return Ok(v.clone());
        }
        let ctx = if template.uses_context() || map_item.is_some() {
            self.context_for(fid, active, map_item)
        } else {
            Value::Null
        };
        let vars = FrameVariables {
            frames: &self.exec.frames,
            frame: fid,
        };
        // Unlike `with_bindings`, `$states.result` and `$states.errorOutput` may be set.
        let b = Bindings {
            input: ev.input,
            context: &ctx,
            variables: &vars,
            result: ev.result,
            error_output: ev.error_output,
        };
        template.evaluate(&b, &mut *self.entropy, field)
    }

    /// Evaluates `Assign` into (name, value) pairs in definition order.
    pub(crate) fn eval_assign(
        &mut self,
        fid: FrameId,
        active: &Active,
        assign: Option<&Template>,
        ev: &Eval<'_>,
    ) -> Result<Option<Vec<(String, Value)>>, EvalError> {
        let Some(t) = assign else {
            return Ok(None);
        };
        match self.eval_template(fid, active, t, ev, "Assign")? {
            Value::Object(m) => Ok(Some(m.into_iter().collect())),
            _ => Ok(Some(Vec::new())),
        }
    }

    // ----- finishing ----------------------------------------------------------------

    /// A frame reached an end (success or unhandled failure).
    pub(crate) fn frame_finished(&mut self, fid: FrameId, outcome: Outcome) {
        let Some(frame) = self.exec.frames.remove(&fid) else {
            return;
        };
        match frame.parent {
            None => {
                let status = match outcome {
                    Outcome::Succeeded { .. } => ExecutionStatus::Succeeded,
                    Outcome::Failed(_) => ExecutionStatus::Failed,
                };
                self.finish_execution(status, outcome, frame.last_event_id);
            }
            Some(link) => crate::children::child_finished(self, link, frame, outcome),
        }
    }

    /// Fails the whole execution from inside a frame (`States.Runtime`,
    /// `States.DataLimitExceeded`).
    pub(crate) fn fail_execution_from(&mut self, fid: FrameId, failure: Failure) {
        let prev = self.frame(fid).map(|f| f.last_event_id).unwrap_or(0);
        self.finish_execution(ExecutionStatus::Failed, Outcome::Failed(failure), prev);
    }

    fn finish_execution(&mut self, status: ExecutionStatus, outcome: Outcome, prev: u64) {
        if self.exec.is_finished() {
            return;
        }
        // Everything still outstanding is abandoned.
        let tasks: Vec<u64> = self.exec.tasks.keys().copied().collect();
        for task_id in tasks {
            self.effects.push(Effect::CancelTask { task_id });
        }
        self.exec.tasks.clear();
        let timers: Vec<u64> = self.exec.timers.keys().copied().collect();
        for timer_id in timers {
            self.effects.push(Effect::CancelTimer { timer_id });
        }
        self.exec.timers.clear();
        self.exec.frames.clear();
        let details = match (&status, &outcome) {
            (ExecutionStatus::Succeeded, Outcome::Succeeded { output }) => {
                EventDetails::ExecutionSucceeded {
                    output: output.clone(),
                }
            }
            (ExecutionStatus::Aborted, Outcome::Failed(f)) => EventDetails::ExecutionAborted {
                error: f.error.clone(),
                cause: f.cause.clone(),
            },
            (ExecutionStatus::TimedOut, Outcome::Failed(f)) => EventDetails::ExecutionTimedOut {
                error: f.error.clone(),
                cause: f.cause.clone(),
            },
            (_, Outcome::Failed(f)) => EventDetails::ExecutionFailed {
                error: f.error.clone(),
                cause: f.cause.clone(),
            },
            (_, Outcome::Succeeded { output }) => EventDetails::ExecutionSucceeded {
                output: output.clone(),
            },
        };
        self.record(true, prev, details);
        self.exec.status = status;
        self.exec.outcome = Some(outcome);
        self.exec.stop_millis = Some(self.now);
        self.effects.push(Effect::Finished);
        self.work.clear();
    }

    // ----- children -----------------------------------------------------------------

    fn fill_map(&mut self, fid: FrameId) {
        crate::children::fill_map(self, fid);
    }

    /// Creates a child frame for a branch or iteration and queues it to run next.
    pub(crate) fn spawn_child(
        &mut self,
        parent: FrameId,
        slot: u32,
        scope: ScopeId,
        input: Payload,
        last_event_id: u64,
        records_history: bool,
    ) -> FrameId {
        let start_at = self.machine.scope(scope).start_at;
        let frame = Frame {
            scope,
            parent: Some(ParentLink {
                frame: parent,
                slot,
            }),
            variables: Map::new(),
            position: Position::Enter {
                state: start_at,
                input,
            },
            last_event_id,
            records_history,
        };
        self.new_frame(frame)
    }

    /// Removes a frame and everything below it, cancelling their tasks and timers.
    pub(crate) fn abort_frame(&mut self, fid: FrameId) {
        let Some(frame) = self.exec.frames.remove(&fid) else {
            return;
        };
        if let Position::Active(active) = frame.position {
            match active.waiting {
                Waiting::Task(t) => self.cancel_task(&t),
                Waiting::WaitTimer { timer, .. } | Waiting::RetryTimer { timer } => {
                    self.cancel_timer(Some(timer))
                }
                Waiting::Children(c) => {
                    for child in c.running.values() {
                        self.abort_frame(*child);
                    }
                }
            }
        }
    }

    pub(crate) fn spawn_task(
        &mut self,
        fid: FrameId,
        mut active: Box<Active>,
        request: TaskRequest,
        wait: TaskWait,
    ) {
        self.exec.tasks.insert(wait.task_id, fid);
        active.waiting = Waiting::Task(Box::new(wait));
        self.put_back(fid, active);
        self.effects.push(Effect::ScheduleTask(Box::new(request)));
    }

    pub(crate) fn wait_children(
        &mut self,
        fid: FrameId,
        mut active: Box<Active>,
        children: Children,
    ) {
        active.waiting = Waiting::Children(Box::new(children));
        self.put_back(fid, active);
    }

    pub(crate) fn park(&mut self, fid: FrameId, active: Box<Active>) {
        self.put_back(fid, active);
    }
}

pub(crate) fn secs_to_millis(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// A uniform draw in [0, 1) from 53 random bits.
pub(crate) fn unit_draw(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

pub(crate) fn data_limit_failure(name: &str) -> Failure {
    Failure::new(
        STATES_DATA_LIMIT_EXCEEDED,
        format!(
            "The state/task '{name}' returned a result with a size exceeding the maximum number of bytes service limit."
        ),
    )
}
