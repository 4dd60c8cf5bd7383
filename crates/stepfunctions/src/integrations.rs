//! The calls Task states make from this server: nested executions
//! (`states:startExecution`, `.sync`, `.sync:2`, `.waitForTaskToken`), `events:putEvents`,
//! `sqs:sendMessage` (`sqs_task`), the HTTP Task (`http:invoke`) and Lambda functions (a function ARN as the resource,
//! `lambda:invoke`, `.waitForTaskToken`). Activities are not calls (workers poll for them).
//!
//! A call runs after the step that scheduled it is committed and may run again after a
//! crash, so each is keyed to be harmless when repeated: a child execution's name is
//! derived from the parent's task, and StartExecution is idempotent by name. A function
//! invoked again after a crash gets the same request id (derived from the task).

use std::sync::Arc;

use crate::store::{ExecutionId, MachineType, ParentLink, WorkKey};
use baton_exec::task::Pattern;
use baton_exec::{Failure, Input, TaskKind, TaskRequest};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::engine::{self, Consume, json_text, task_wait};
use crate::work::{self, start_response};
use crate::{Inner, SfnError, StepFunctions, sqs_task};
use baton_platform::bridge::OutgoingEvent;

/// How a call ended, in terms of the task events it leads to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CallOutcome {
    /// Made and answered: `TaskStarted`, then `TaskSucceeded` or `TaskFailed`.
    Done(Result<Value, Failure>),
    /// Made; the task now waits for a child or a callback: `TaskStarted`,
    /// `TaskSubmitted` with the call's response.
    Submitted {
        output: Value,
        child: Option<String>,
    },
    /// Nothing to call here; the task waits for its token: `TaskStarted`.
    AwaitToken,
    /// Could not be made: `TaskFailed` without `TaskStarted`.
    Refused(Failure),
}

/// Who is calling: the execution's ARN, and whether it can wait (Standard).
pub(crate) struct Caller<'a> {
    pub execution_arn: &'a str,
    pub standard: bool,
}

/// Performs a scheduled task of a Standard execution and applies the outcome.
pub(crate) async fn perform(
    inner: &Arc<Inner>,
    id: ExecutionId,
    arn: Arc<str>,
    request: TaskRequest,
) {
    // A function call is recorded as started before it runs (it may run for minutes;
    // `TimeoutSeconds` and the history must see it as started meanwhile).
    let started_first = is_lambda_call(&request);
    let _in_flight = if started_first {
        let Some(guard) = InFlight::enter(inner, id, request.task_id) else {
            // This process is still running the call; it will record the answer.
            return;
        };
        if !mark_started(inner, id, &arn, request.task_id).await {
            return;
        }
        Some(guard)
    } else {
        None
    };
    let outcome = call(
        inner,
        &request,
        &Caller {
            execution_arn: &arn,
            standard: true,
        },
    )
    .await;
    let task_id = request.task_id;
    let consume = Consume::work(WorkKey {
        execution: id,
        key: work::task_key(task_id),
    });
    // A child started for a task nobody waits for any more; stopped once the decision
    // is final (the plan may run again on a fresher copy of the execution).
    let mut orphan = None;
    let result = engine::deliver(inner, &arn, consume, |live| {
        orphan = None;
        let waiting = task_wait(&live.exec, task_id).map(|w| w.started);
        let proceed = match waiting {
            Some(false) => true,
            Some(true) => started_first,
            None => false,
        };
        if !proceed {
            // The task is gone (the execution moved on) or already recorded as started.
            if let (None, CallOutcome::Submitted { child: Some(c), .. }) = (&waiting, &outcome) {
                orphan = Some(c.clone());
            }
            return Ok(Vec::new());
        }
        let mut inputs = Vec::new();
        if waiting == Some(false) && !matches!(outcome, CallOutcome::Refused(_)) {
            inputs.push(Input::TaskStarted {
                task_id,
                worker_name: None,
            });
        }
        match outcome.clone() {
            CallOutcome::Done(Ok(output)) => inputs.push(Input::TaskSucceeded { task_id, output }),
            CallOutcome::Done(Err(f)) | CallOutcome::Refused(f) => {
                inputs.push(failed(task_id, f));
            }
            CallOutcome::Submitted { output, child } => {
                if let Some(c) = child {
                    live.children.insert(task_id, c);
                }
                inputs.push(Input::TaskSubmitted { task_id, output });
            }
            CallOutcome::AwaitToken => {}
        }
        Ok(inputs)
    })
    .await;
    if let Err(e) = result {
        tracing::warn!(%arn, task_id, error = %e, "could not record a task's outcome");
    } else if let Some(child) = orphan {
        let inner = inner.clone();
        tokio::spawn(async move { work::cancel_child(&inner, id, task_id, &child).await });
    }
}

/// A Lambda call this process is making; leaving the scope ends it.
struct InFlight {
    inner: Arc<Inner>,
    key: (ExecutionId, u64),
}

impl InFlight {
    fn enter(inner: &Arc<Inner>, id: ExecutionId, task_id: u64) -> Option<InFlight> {
        let key = (id, task_id);
        let mut set = inner
            .lambda_in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        set.insert(key).then(|| InFlight {
            inner: inner.clone(),
            key,
        })
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.inner
            .lambda_in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

/// Records that a task's call is under way, without consuming its work item. `false`
/// when nothing waits for the call any more (the work item is then consumed).
async fn mark_started(inner: &Arc<Inner>, id: ExecutionId, arn: &str, task_id: u64) -> bool {
    let mut waiting = false;
    let result = engine::deliver(inner, arn, Consume::default(), |live| {
        waiting = false;
        Ok(match task_wait(&live.exec, task_id).map(|w| w.started) {
            Some(false) => {
                waiting = true;
                vec![Input::TaskStarted {
                    task_id,
                    worker_name: None,
                }]
            }
            Some(true) => {
                waiting = true;
                Vec::new()
            }
            None => Vec::new(),
        })
    })
    .await;
    match result {
        Ok(_) if waiting => true,
        Ok(_) => {
            let key = WorkKey {
                execution: id,
                key: work::task_key(task_id),
            };
            if let Err(e) = inner.store.delete_work(&[key]).await {
                tracing::warn!(%arn, task_id, error = %e, "could not drop a stale call");
            }
            false
        }
        Err(e) => {
            // The work item stays; its lease runs out and the call is tried again.
            tracing::warn!(%arn, task_id, error = %e, "could not record a call as started");
            false
        }
    }
}

fn failed(task_id: u64, f: Failure) -> Input {
    Input::TaskFailed {
        task_id,
        error: f.error,
        cause: f.cause,
    }
}

/// Makes the call a task asks for. Boxed: a call may start an execution whose tasks
/// make calls (the future type would otherwise contain itself).
pub(crate) fn call<'a>(
    inner: &'a Arc<Inner>,
    request: &'a TaskRequest,
    caller: &'a Caller<'a>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = CallOutcome> + Send + 'a>> {
    Box::pin(call_inner(inner, request, caller))
}

async fn call_inner(inner: &Arc<Inner>, request: &TaskRequest, caller: &Caller<'_>) -> CallOutcome {
    if is_lambda_call(request) {
        return lambda_call(inner, request, caller).await;
    }
    let TaskKind::Service { resource, pattern } = &request.kind else {
        return unsupported(request);
    };
    match (
        resource.resource_type.as_str(),
        base_action(&resource.resource),
    ) {
        ("states", "startExecution") => start_execution(inner, request, *pattern, caller).await,
        ("events", "putEvents") => match put_events(inner, &request.input).await {
            Ok(output) if *pattern == Pattern::WaitForTaskToken => CallOutcome::Submitted {
                output,
                child: None,
            },
            other => CallOutcome::Done(other),
        },
        ("http", "invoke") => CallOutcome::Done(http_invoke(inner, &request.input).await),
        ("sqs", "sendMessage") => {
            let sender = inner.queues.get().map(|s| &**s);
            match sqs_task::send_message(sender, &request.input, inner.now()).await {
                Ok(output) if *pattern == Pattern::WaitForTaskToken => CallOutcome::Submitted {
                    output,
                    child: None,
                },
                other => CallOutcome::Done(other),
            }
        }
        _ if *pattern == Pattern::WaitForTaskToken && caller.standard => CallOutcome::AwaitToken,
        _ => unsupported(request),
    }
}

/// `startExecution.sync:2` → `startExecution`.
fn base_action(resource: &str) -> &str {
    resource.split('.').next().unwrap_or(resource)
}

fn unsupported(request: &TaskRequest) -> CallOutcome {
    CallOutcome::Refused(Failure::new(
        "Baton.UnsupportedIntegration",
        format!(
            "Baton does not call '{}' yet. Supported here: activities, \
             arn:aws:states:::states:startExecution (.sync, .sync:2, .waitForTaskToken), \
             arn:aws:states:::events:putEvents, arn:aws:states:::http:invoke, \
             arn:aws:states:::sqs:sendMessage (.waitForTaskToken), Lambda \
             (function ARNs, arn:aws:states:::lambda:invoke and .waitForTaskToken), and \
             .waitForTaskToken callbacks to any service (the call itself is not made).",
            request.resource
        ),
    ))
}

/// A StartExecution error as an integration reports it (`StepFunctions.<Code>Exception`).
fn sfn_failure(e: &SfnError) -> Failure {
    let code = e.code.strip_suffix("Exception").unwrap_or(e.code);
    Failure::new(format!("StepFunctions.{code}Exception"), e.message.clone())
}

/// The name a child gets when the task names none: derived from the parent's task, so
/// a repeated call after a crash finds the same child.
fn child_name(execution_arn: &str, task_id: u64) -> String {
    let digest = Sha256::digest(format!("{execution_arn}#{task_id}").as_bytes());
    let h: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

async fn start_execution(
    inner: &Arc<Inner>,
    request: &TaskRequest,
    pattern: Pattern,
    caller: &Caller<'_>,
) -> CallOutcome {
    let params = request.input.as_object().cloned().unwrap_or_default();
    let Some(machine_arn) = params.get("StateMachineArn").and_then(Value::as_str) else {
        return CallOutcome::Done(Err(Failure::new(
            "StepFunctions.InvalidArnException",
            "The StateMachineArn parameter is required",
        )));
    };
    let input_text = match params.get("Input") {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => json_text(other),
    };
    let name = match params.get("Name").and_then(Value::as_str) {
        Some(n) => n.to_owned(),
        None => child_name(caller.execution_arn, request.task_id),
    };
    let sfn = StepFunctions {
        inner: inner.clone(),
    };
    let sync = matches!(pattern, Pattern::Sync | Pattern::Sync2);
    let parent = (sync && caller.standard).then(|| ParentLink {
        execution_arn: caller.execution_arn.to_owned(),
        task_id: request.task_id,
    });
    let machine = match sfn.describe_state_machine(machine_arn).await {
        Ok(m) => m,
        Err(e) => return CallOutcome::Done(Err(sfn_failure(&e))),
    };
    if machine.machine_type == MachineType::Express && sync {
        // An Express child has no stored record to wait on: run it to the end here.
        return match sfn
            .start_sync_execution(machine_arn, Some(&name), Some(&input_text))
            .await
        {
            Ok(r) => {
                let described = r.describe_for_parent(pattern == Pattern::Sync2);
                if r.status == "SUCCEEDED" {
                    CallOutcome::Done(Ok(described))
                } else {
                    CallOutcome::Done(Err(Failure::new(
                        "States.TaskFailed",
                        json_text(&described),
                    )))
                }
            }
            Err(e) => CallOutcome::Done(Err(sfn_failure(&e))),
        };
    }
    match sfn
        .start_execution_with(machine_arn, Some(&name), Some(&input_text), parent)
        .await
    {
        Ok((arn, start)) => {
            let output = start_response(inner, &arn, start);
            match pattern {
                Pattern::Sync | Pattern::Sync2 => CallOutcome::Submitted {
                    output,
                    child: Some(arn),
                },
                Pattern::WaitForTaskToken => CallOutcome::Submitted {
                    output,
                    child: None,
                },
                Pattern::RequestResponse => CallOutcome::Done(Ok(output)),
            }
        }
        Err(e) => CallOutcome::Done(Err(sfn_failure(&e))),
    }
}

/// One PutEvents entry checked as EventBridge checks it, or its per-entry error.
fn entry_to_event(entry: &Value) -> Result<OutgoingEvent, (String, String)> {
    let invalid = |field: &str| {
        (
            "InvalidArgument".to_owned(),
            format!("Parameter {field} is not valid. Reason: {field} is a required argument."),
        )
    };
    let malformed = || {
        (
            "MalformedDetail".to_owned(),
            "Detail is malformed.".to_owned(),
        )
    };
    let Some(obj) = entry.as_object() else {
        return Err(malformed());
    };
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
    let source = text("Source").ok_or_else(|| invalid("Source"))?;
    let detail_type = text("DetailType").ok_or_else(|| invalid("DetailType"))?;
    let detail = match obj.get("Detail") {
        Some(Value::Object(_)) => obj.get("Detail").cloned().unwrap_or(Value::Null),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v @ Value::Object(_)) => v,
            _ => return Err(malformed()),
        },
        None => return Err(invalid("Detail")),
        Some(_) => return Err(malformed()),
    };
    let resources = obj
        .get("Resources")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Ok(OutgoingEvent {
        event_bus: text("EventBusName"),
        source,
        detail_type,
        detail,
        resources,
    })
}

/// `events:putEvents`: the entries go to the bus; any refused entry fails the task with
/// `EventBridge.FailedEntry` and the response as its cause, as AWS does.
async fn put_events(inner: &Arc<Inner>, params: &Value) -> Result<Value, Failure> {
    let Some(entries) = params.get("Entries").and_then(Value::as_array) else {
        return Err(Failure::new(
            "EventBridge.ValidationException",
            "The Entries parameter must be an array of entries",
        ));
    };
    let mut results: Vec<Option<Value>> = vec![None; entries.len()];
    let mut valid = Vec::new();
    let mut positions = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        match entry_to_event(entry) {
            Ok(event) => {
                valid.push(event);
                positions.push(i);
            }
            Err((code, message)) => {
                results[i] = Some(json!({"ErrorCode": code, "ErrorMessage": message}));
            }
        }
    }
    if !valid.is_empty() {
        let answers = match &inner.sink {
            Some(sink) => sink
                .put_events(valid)
                .await
                .map_err(|e| Failure::new(format!("EventBridge.{}", e.code), e.message))?,
            None => positions
                .iter()
                .map(|_| {
                    Err(baton_platform::bridge::EventRejected {
                        error_code: "InternalFailure".to_owned(),
                        error_message: "No event bus is attached to this server".to_owned(),
                    })
                })
                .collect(),
        };
        for (pos, answer) in positions.into_iter().zip(answers) {
            results[pos] = Some(match answer {
                Ok(id) => json!({"EventId": id}),
                Err(r) => json!({"ErrorCode": r.error_code, "ErrorMessage": r.error_message}),
            });
        }
    }
    let entries: Vec<Value> = results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| json!({"ErrorCode": "InternalFailure"})))
        .collect();
    let failed = entries
        .iter()
        .filter(|e| e.get("ErrorCode").is_some())
        .count();
    let output = json!({"Entries": entries, "FailedEntryCount": failed});
    if failed > 0 {
        Err(Failure::new("EventBridge.FailedEntry", json_text(&output)))
    } else {
        Ok(output)
    }
}

// ----- Lambda ------------------------------------------------------------------------

/// A Task whose resource is a function ARN, or `arn:aws:states:::lambda:invoke`
/// (`.waitForTaskToken`).
fn is_lambda_call(request: &TaskRequest) -> bool {
    match &request.kind {
        TaskKind::Lambda { .. } => true,
        TaskKind::Service { resource, .. } => {
            resource.resource_type == "lambda" && base_action(&resource.resource) == "invoke"
        }
        TaskKind::Activity { .. } => false,
    }
}

/// The invocation's request id: derived from the task, so a call repeated after a crash
/// is the same invocation in the function's logs.
fn lambda_request_id(execution_arn: &str, task_id: u64) -> String {
    child_name(&format!("lambda|{execution_arn}"), task_id)
}

/// Invokes the function and maps its outcome with [`crate::lambda::task_answer`], the
/// rules `baton run` uses too.
async fn lambda_call(
    inner: &Arc<Inner>,
    request: &TaskRequest,
    caller: &Caller<'_>,
) -> CallOutcome {
    use crate::lambda::{self, InvocationType};
    use crate::local::TaskAnswer;

    let request_id = lambda_request_id(caller.execution_arn, request.task_id);
    let meta = lambda::InvokeMeta::new(request_id.clone(), inner.now());
    let Some(invoker) = inner.functions.get() else {
        return CallOutcome::Done(Err(lambda::invoke_failure(
            "ServiceException",
            "No functions runtime is attached to this server",
            &request_id,
        )));
    };
    let Some(function) = lambda::function_target(request) else {
        return CallOutcome::Done(Err(lambda::invoke_failure(
            "InvalidParameterValueException",
            "The FunctionName parameter is required",
            &request_id,
        )));
    };
    let wait_for_token = matches!(
        request.kind,
        TaskKind::Service {
            pattern: Pattern::WaitForTaskToken,
            ..
        }
    );
    let payload = serde_json::to_vec(&lambda::function_event(request)).unwrap_or_default();
    let answer = match lambda::invocation_type(request) {
        InvocationType::Event => match invoker.invoke_async(&function, payload).await {
            Ok(_) => Ok(lambda::accepted_response(&meta, 202)),
            Err(e) => Err(lambda::invoke_failure(&e.code, &e.message, &request_id)),
        },
        InvocationType::DryRun => Ok(lambda::accepted_response(&meta, 204)),
        InvocationType::RequestResponse => {
            let options = baton_platform::bridge::InvokeOptions {
                log_tail: request.input.get("LogType").and_then(Value::as_str) == Some("Tail"),
                client_context: request
                    .input
                    .get("ClientContext")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            };
            match invoker
                .invoke_with(&function, payload, &request_id, options)
                .await
            {
                Ok((result, log_tail)) => match lambda::task_answer(
                    request,
                    result,
                    &lambda::InvokeMeta {
                        log_tail: log_tail.unwrap_or_default(),
                        ..meta.clone()
                    },
                ) {
                    TaskAnswer::Succeed(v) => Ok(v),
                    TaskAnswer::Fail(f) => Err(f),
                    TaskAnswer::After(..) | TaskAnswer::Never => Err(Failure::new(
                        "States.Runtime",
                        "The function's answer could not be read",
                    )),
                },
                Err(e) => Err(lambda::invoke_failure(&e.code, &e.message, &request_id)),
            }
        }
    };
    match answer {
        Ok(output) if wait_for_token && caller.standard => CallOutcome::Submitted {
            output,
            child: None,
        },
        other => CallOutcome::Done(other),
    }
}

/// Percent-encodes a query component (RFC 3986 unreserved characters stay).
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `key=value&…` for an object, arrays spelled per `ArrayFormat` (AWS's default is
/// `INDICES`-free repetition: `a=1&a=2`).
fn url_encode(obj: &Map<String, Value>, array_format: &str) -> String {
    let mut parts = Vec::new();
    for (k, v) in obj {
        match v {
            Value::Array(items) => match array_format {
                "COMMAS" => {
                    let joined: Vec<String> = items.iter().map(scalar_text).collect();
                    parts.push(format!(
                        "{}={}",
                        encode_component(k),
                        encode_component(&joined.join(","))
                    ));
                }
                "BRACKETS" => {
                    for item in items {
                        parts.push(format!(
                            "{}={}",
                            encode_component(&format!("{k}[]")),
                            encode_component(&scalar_text(item))
                        ));
                    }
                }
                "INDICES" => {
                    for (i, item) in items.iter().enumerate() {
                        parts.push(format!(
                            "{}={}",
                            encode_component(&format!("{k}[{i}]")),
                            encode_component(&scalar_text(item))
                        ));
                    }
                }
                _ => {
                    for item in items {
                        parts.push(format!(
                            "{}={}",
                            encode_component(k),
                            encode_component(&scalar_text(item))
                        ));
                    }
                }
            },
            other => parts.push(format!(
                "{}={}",
                encode_component(k),
                encode_component(&scalar_text(other))
            )),
        }
    }
    parts.join("&")
}

/// The HTTP Task: calls `ApiEndpoint` with `Method`, `Headers`, `QueryParameters` and
/// `RequestBody`. The result is `{Headers, ResponseBody, StatusCode, StatusText}`; a
/// status outside 2xx fails the task with `States.Http.StatusCode.<code>`.
async fn http_invoke(inner: &Arc<Inner>, params: &Value) -> Result<Value, Failure> {
    let runtime = |cause: String| Failure::new("States.Runtime", cause);
    let Some(p) = params.as_object() else {
        return Err(runtime(
            "The HTTP Task's parameters must be an object".into(),
        ));
    };
    let endpoint = p
        .get("ApiEndpoint")
        .and_then(Value::as_str)
        .ok_or_else(|| runtime("The field 'ApiEndpoint' is required".into()))?;
    let method = p
        .get("Method")
        .and_then(Value::as_str)
        .ok_or_else(|| runtime("The field 'Method' is required".into()))?;
    let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| runtime(format!("Unsupported HTTP method '{method}'")))?;
    let transform = p.get("Transform").and_then(Value::as_object);
    let url_encoded_body = transform
        .and_then(|t| t.get("RequestBodyEncoding"))
        .and_then(Value::as_str)
        == Some("URL_ENCODED");
    let array_format = transform
        .and_then(|t| t.get("RequestEncodingOptions"))
        .and_then(|o| o.get("ArrayFormat"))
        .and_then(Value::as_str)
        .unwrap_or("INDICES");
    let mut url = endpoint.to_owned();
    if let Some(q) = p.get("QueryParameters").and_then(Value::as_object)
        && !q.is_empty()
    {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&url_encode(q, "REPEAT"));
    }
    let mut req = inner.http.request(method.clone(), &url);
    let mut has_content_type = false;
    if let Some(h) = p.get("Headers").and_then(Value::as_object) {
        for (k, v) in h {
            has_content_type |= k.eq_ignore_ascii_case("content-type");
            req = req.header(k.as_str(), scalar_text(v));
        }
    }
    if let Some(body) = p.get("RequestBody") {
        let (text, content_type) = match body {
            Value::Object(o) if url_encoded_body => (
                url_encode(o, array_format),
                "application/x-www-form-urlencoded",
            ),
            Value::String(s) => (s.clone(), "text/plain"),
            other => (json_text(other), "application/json"),
        };
        if !has_content_type {
            req = req.header("content-type", content_type);
        }
        req = req.body(text);
    }
    let response = req
        .send()
        .await
        .map_err(|e| Failure::new("States.Http.Socket", e.to_string()))?;
    let status = response.status();
    let mut headers = Map::new();
    for (name, value) in response.headers() {
        let v = Value::String(value.to_str().unwrap_or_default().to_owned());
        match headers.get_mut(name.as_str()) {
            Some(Value::Array(a)) => a.push(v),
            _ => {
                headers.insert(name.as_str().to_owned(), Value::Array(vec![v]));
            }
        }
    }
    let is_json = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Failure::new("States.Http.Socket", e.to_string()))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = if is_json {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    } else {
        Value::String(text)
    };
    let output = json!({
        "Headers": headers,
        "ResponseBody": body,
        "StatusCode": status.as_u16(),
        "StatusText": status.canonical_reason().unwrap_or(""),
    });
    if status.is_success() {
        Ok(output)
    } else {
        Err(Failure::new(
            format!("States.Http.StatusCode.{}", status.as_u16()),
            json_text(&output),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_names_are_stable_uuids() {
        let a = child_name("arn:aws:states:us-east-1:1:execution:m:e", 3);
        assert_eq!(a, child_name("arn:aws:states:us-east-1:1:execution:m:e", 3));
        assert_ne!(a, child_name("arn:aws:states:us-east-1:1:execution:m:e", 4));
        assert_eq!(a.len(), 36);
        assert!(crate::arn::valid_name(&a));
    }

    #[test]
    fn put_events_entries_are_checked_like_eventbridge() {
        let ok = entry_to_event(&json!({"Source": "s", "DetailType": "t", "Detail": "{\"a\":1}"}));
        assert_eq!(ok.map(|e| e.detail), Ok(json!({"a": 1})));
        let bad = entry_to_event(&json!({"Source": "s", "DetailType": "t", "Detail": "\"x\""}));
        assert_eq!(
            bad.err(),
            Some(("MalformedDetail".into(), "Detail is malformed.".into()))
        );
        let no_source = entry_to_event(&json!({"DetailType": "t", "Detail": {}}));
        assert_eq!(
            no_source.err().map(|e| e.1),
            Some("Parameter Source is not valid. Reason: Source is a required argument.".into())
        );
    }

    #[test]
    fn url_encoding_follows_the_array_format() {
        let obj = json!({"a": [1, 2], "b": "x y"});
        let o = obj.as_object().cloned().unwrap_or_default();
        assert_eq!(url_encode(&o, "REPEAT"), "a=1&a=2&b=x%20y");
        assert_eq!(url_encode(&o, "COMMAS"), "a=1%2C2&b=x%20y");
        assert_eq!(url_encode(&o, "BRACKETS"), "a%5B%5D=1&a%5B%5D=2&b=x%20y");
        assert_eq!(url_encode(&o, "INDICES"), "a%5B0%5D=1&a%5B1%5D=2&b=x%20y");
    }
}
