//! The context object (`$$` in JSONPath, `$states.context` in JSONata) and the
//! variable scopes expressions read.

use std::collections::BTreeMap;

use baton_asl::eval::Variables;
use serde_json::{Map, Value};

use crate::execution::{Execution, Frame, FrameId};

/// ISO-8601 with milliseconds and `Z`, the form AWS uses for times in data.
pub fn format_time(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// What varies per state in the context object.
pub struct StateContext<'a> {
    pub state_name: &'a str,
    pub entered_millis: i64,
    /// `Some` for states that can retry (Task, Parallel, Map): `$$.State.RetryCount`.
    pub retry_count: Option<u64>,
    pub task_token: Option<&'a str>,
    /// `$$.Map.Item` while evaluating a Map's `ItemSelector`.
    pub map_item: Option<(u64, &'a Value)>,
}

/// Builds the context object, with AWS's key order.
pub fn context_object(exec: &Execution, state: &StateContext<'_>) -> Value {
    let id = &exec.identity;
    let mut execution = Map::new();
    execution.insert("Id".into(), Value::String(id.execution_arn.clone()));
    execution.insert("Input".into(), (*exec.input).clone());
    execution.insert(
        "StartTime".into(),
        Value::String(format_time(exec.start_millis)),
    );
    execution.insert("Name".into(), Value::String(id.execution_name.clone()));
    execution.insert("RoleArn".into(), Value::String(id.role_arn.clone()));
    if !id.started_sync {
        execution.insert("RedriveCount".into(), Value::from(id.redrive_count));
    }

    let mut machine = Map::new();
    machine.insert("Id".into(), Value::String(id.state_machine_arn.clone()));
    machine.insert("Name".into(), Value::String(id.state_machine_name.clone()));

    let mut st = Map::new();
    st.insert("Name".into(), Value::String(state.state_name.to_owned()));
    st.insert(
        "EnteredTime".into(),
        Value::String(format_time(state.entered_millis)),
    );
    if let Some(n) = state.retry_count {
        st.insert("RetryCount".into(), Value::from(n));
    }

    let mut ctx = Map::new();
    ctx.insert("Execution".into(), Value::Object(execution));
    ctx.insert("StateMachine".into(), Value::Object(machine));
    ctx.insert("State".into(), Value::Object(st));
    if let Some(token) = state.task_token {
        let mut task = Map::new();
        task.insert("Token".into(), Value::String(token.to_owned()));
        ctx.insert("Task".into(), Value::Object(task));
    }
    if let Some((index, value)) = state.map_item {
        let mut item = Map::new();
        item.insert("Index".into(), Value::from(index));
        item.insert("Value".into(), value.clone());
        let mut map = Map::new();
        map.insert("Item".into(), Value::Object(item));
        ctx.insert("Map".into(), Value::Object(map));
    }
    Value::Object(ctx)
}

/// The variables visible from a frame: its own, then its ancestors'.
pub struct FrameVariables<'a> {
    pub frames: &'a BTreeMap<FrameId, Frame>,
    pub frame: FrameId,
}

impl Variables for FrameVariables<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        let mut id = Some(self.frame);
        while let Some(fid) = id {
            let frame = self.frames.get(&fid)?;
            if let Some(v) = frame.variables.get(name) {
                return Some(v);
            }
            id = frame.parent.map(|p| p.frame);
        }
        None
    }

    fn for_each(&self, f: &mut dyn FnMut(&str, &Value)) {
        // Inner scopes first; a name already seen is shadowed further out.
        let mut seen: Vec<&str> = Vec::new();
        let mut id = Some(self.frame);
        while let Some(fid) = id {
            let Some(frame) = self.frames.get(&fid) else {
                return;
            };
            let has_parent = frame.parent.is_some();
            for (k, v) in &frame.variables {
                if !seen.contains(&k.as_str()) {
                    f(k, v);
                    if has_parent {
                        seen.push(k);
                    }
                }
            }
            id = frame.parent.map(|p| p.frame);
        }
    }
}
