//! The Step Functions API (`AWSStepFunctions.*`, AWS JSON 1.0): requests are checked
//! against the service model's constraints, turned into typed calls on the runtime,
//! and answered in AWS's shapes (timestamps as epoch seconds, JSON data as text).

mod fields;

use crate::{
    ActivityRecord, CreateStateMachine, ExecutionRecord, MachineType, RevisionRecord, SfnError,
    StateMachineRecord, StepFunctions, Tag, UpdateStateMachine,
};
use async_trait::async_trait;
use axum::http::StatusCode;
use baton_exec::HistoryEvent;
use baton_exec::test_state::{
    FieldValidationMode, InspectionLevel, Mock, MockErrorOutput, StateConfiguration,
    TestStateRequest,
};
use serde_json::{Map, Value, json};

use baton_platform::http::{ApiError, JsonService, Routes, Service};
use fields::{
    ARN, CAUSE, CLIENT_TOKEN, DATA, DEFINITION, ERROR, Fields, Len, NAME, PAGE_TOKEN, TAG_KEY,
    TAG_VALUE, TASK_TOKEN, TRACE_HEADER,
};

/// `AWSStepFunctions` on the JSON protocol.
pub struct StepFunctionsApi {
    sfn: StepFunctions,
}

impl StepFunctionsApi {
    pub fn new(sfn: StepFunctions) -> Self {
        StepFunctionsApi { sfn }
    }
}

impl Service for StepFunctionsApi {
    fn routes(&self) -> Routes {
        Routes::new().json(std::sync::Arc::new(StepFunctionsApi::new(self.sfn.clone())))
    }
}

impl From<SfnError> for ApiError {
    fn from(e: SfnError) -> Self {
        if e.internal {
            ApiError::internal(e.message)
        } else {
            ApiError {
                status: StatusCode::BAD_REQUEST,
                code: e.code.to_owned(),
                message: e.message,
                query_error: None,
            }
        }
    }
}

/// Epoch seconds with milliseconds, as the JSON protocol sends timestamps.
fn ts(millis: i64) -> Value {
    json!(millis as f64 / 1000.0)
}

const TYPES: &[&str] = &["STANDARD", "EXPRESS"];
const INCLUDED_DATA: &[&str] = &["ALL_DATA", "METADATA_ONLY"];

fn page_size(f: &Fields<'_>) -> Result<Option<i64>, ApiError> {
    f.opt_int("maxResults", 0, 1000)
}

fn tags(f: &Fields<'_>, key: &str) -> Result<Vec<Tag>, ApiError> {
    let mut out = Vec::new();
    for t in f.opt_list(key)? {
        let tf = Fields::new(t)?;
        out.push(Tag {
            key: tf.str("key", TAG_KEY)?.to_owned(),
            value: tf.opt_str("value", TAG_VALUE)?.unwrap_or("").to_owned(),
        });
    }
    Ok(out)
}

fn logging_default(v: &Option<Value>) -> Value {
    v.clone()
        .unwrap_or_else(|| json!({"level": "OFF", "includeExecutionData": false}))
}

fn tracing_default(v: &Option<Value>) -> Value {
    v.clone().unwrap_or_else(|| json!({"enabled": false}))
}

#[async_trait]
impl JsonService for StepFunctionsApi {
    fn target_prefix(&self) -> &'static str {
        "AWSStepFunctions"
    }

    fn content_type(&self) -> &'static str {
        "application/x-amz-json-1.0"
    }

    async fn call(&self, operation: &str, body: Value) -> Result<Value, ApiError> {
        let f = Fields::new(&body)?;
        let sfn = &self.sfn;
        match operation {
            "CreateStateMachine" => self.create_state_machine(&f).await,
            "UpdateStateMachine" => self.update_state_machine(&f).await,
            "DeleteStateMachine" => {
                sfn.delete_state_machine(f.str("stateMachineArn", ARN)?)
                    .await?;
                Ok(json!({}))
            }
            "DescribeStateMachine" => {
                f.opt_enum("includedData", INCLUDED_DATA)?;
                let m = sfn
                    .describe_state_machine(f.str("stateMachineArn", ARN)?)
                    .await?;
                Ok(describe_machine(&m))
            }
            "ListStateMachines" => {
                let page = sfn
                    .list_state_machines(page_size(&f)?, f.opt_str("nextToken", PAGE_TOKEN)?)
                    .await?;
                let items: Vec<Value> = page
                    .items
                    .iter()
                    .map(|m| {
                        json!({"stateMachineArn": m.arn, "name": m.name,
                               "type": m.machine_type.as_str(), "creationDate": ts(m.created_millis)})
                    })
                    .collect();
                Ok(with_token(json!({"stateMachines": items}), page.next_token))
            }
            "ValidateStateMachineDefinition" => validate_definition(&f),
            "StartExecution" => {
                let arn = f.str("stateMachineArn", ARN)?;
                let name = f.opt_str("name", NAME)?;
                let input = f.opt_str("input", DATA)?;
                f.opt_str("traceHeader", TRACE_HEADER)?;
                let (execution_arn, start) = sfn.start_execution(arn, name, input).await?;
                Ok(json!({"executionArn": execution_arn, "startDate": ts(start)}))
            }
            "StartSyncExecution" => self.start_sync_execution(&f).await,
            "StopExecution" => {
                let arn = f.str("executionArn", ARN)?;
                let error = f.opt_str("error", ERROR)?.map(str::to_owned);
                let cause = f.opt_str("cause", CAUSE)?.map(str::to_owned);
                let stop = sfn.stop_execution(arn, error, cause).await?;
                Ok(json!({"stopDate": ts(stop)}))
            }
            "DescribeExecution" => {
                let metadata_only =
                    f.opt_enum("includedData", INCLUDED_DATA)? == Some("METADATA_ONLY");
                let d = sfn.describe_execution(f.str("executionArn", ARN)?).await?;
                Ok(describe_execution(
                    &d.record,
                    d.redrive_status.as_str(),
                    d.redrive_status_reason.as_deref(),
                    metadata_only,
                ))
            }
            "ListExecutions" => {
                let status = f.opt_enum(
                    "statusFilter",
                    &[
                        "RUNNING",
                        "SUCCEEDED",
                        "FAILED",
                        "TIMED_OUT",
                        "ABORTED",
                        "PENDING_REDRIVE",
                    ],
                )?;
                let redrive = f.opt_enum("redriveFilter", &["REDRIVEN", "NOT_REDRIVEN"])?;
                let page = sfn
                    .list_executions(
                        f.opt_str("stateMachineArn", ARN)?,
                        f.opt_str(
                            "mapRunArn",
                            Len {
                                min: 1,
                                max: 2000,
                                sensitive: false,
                            },
                        )?,
                        status,
                        redrive,
                        page_size(&f)?,
                        f.opt_str("nextToken", PAGE_TOKEN)?,
                    )
                    .await?;
                let items: Vec<Value> = page.items.iter().map(list_item).collect();
                Ok(with_token(json!({"executions": items}), page.next_token))
            }
            "GetExecutionHistory" => {
                let arn = f.str("executionArn", ARN)?;
                let reverse = f.opt_bool("reverseOrder")?.unwrap_or(false);
                let include_data = f.opt_bool("includeExecutionData")?.unwrap_or(true);
                let page = sfn
                    .execution_history(
                        arn,
                        page_size(&f)?,
                        reverse,
                        f.opt_str("nextToken", PAGE_TOKEN)?,
                    )
                    .await?;
                let events: Vec<Value> = page
                    .events
                    .iter()
                    .map(|e| history_event(e, include_data))
                    .collect();
                Ok(with_token(json!({"events": events}), page.next_token))
            }
            "DescribeStateMachineForExecution" => {
                f.opt_enum("includedData", INCLUDED_DATA)?;
                let r = sfn
                    .describe_state_machine_for_execution(f.str("executionArn", ARN)?)
                    .await?;
                Ok(describe_revision(&r))
            }
            "RedriveExecution" => {
                let arn = f.str("executionArn", ARN)?;
                f.opt_str("clientToken", CLIENT_TOKEN)?;
                let at = sfn.redrive_execution(arn).await?;
                Ok(json!({"redriveDate": ts(at)}))
            }
            "TestState" => {
                let request = test_state_request(&f)?;
                let response = sfn.test_state(request).await?;
                Ok(response.to_aws_json())
            }
            "CreateActivity" => {
                let name = f.str("name", NAME)?;
                let tags = tags(&f, "tags")?;
                let a = sfn.create_activity(name, tags).await?;
                Ok(json!({"activityArn": a.arn, "creationDate": ts(a.created_millis)}))
            }
            "DeleteActivity" => {
                sfn.delete_activity(f.str("activityArn", ARN)?).await?;
                Ok(json!({}))
            }
            "DescribeActivity" => {
                let a = sfn.describe_activity(f.str("activityArn", ARN)?).await?;
                Ok(activity(&a))
            }
            "ListActivities" => {
                let page = sfn
                    .list_activities(page_size(&f)?, f.opt_str("nextToken", PAGE_TOKEN)?)
                    .await?;
                let items: Vec<Value> = page.items.iter().map(activity).collect();
                Ok(with_token(json!({"activities": items}), page.next_token))
            }
            "GetActivityTask" => {
                let arn = f.str("activityArn", ARN)?;
                let worker = f.opt_str("workerName", NAME)?.map(str::to_owned);
                Ok(match sfn.get_activity_task(arn, worker).await? {
                    Some(t) => json!({"taskToken": t.task_token, "input": t.input}),
                    None => json!({}),
                })
            }
            "SendTaskSuccess" => {
                let token = f.str("taskToken", TASK_TOKEN)?;
                let output = f.str("output", DATA)?;
                sfn.send_task_success(token, output).await?;
                Ok(json!({}))
            }
            "SendTaskFailure" => {
                let token = f.str("taskToken", TASK_TOKEN)?;
                let error = f.opt_str("error", ERROR)?.map(str::to_owned);
                let cause = f.opt_str("cause", CAUSE)?.map(str::to_owned);
                sfn.send_task_failure(token, error, cause).await?;
                Ok(json!({}))
            }
            "SendTaskHeartbeat" => {
                sfn.send_task_heartbeat(f.str("taskToken", TASK_TOKEN)?)
                    .await?;
                Ok(json!({}))
            }
            "TagResource" => {
                let arn = f.str("resourceArn", ARN)?;
                let tags = tags(&f, "tags")?;
                sfn.tag_resource(arn, tags).await?;
                Ok(json!({}))
            }
            "UntagResource" => {
                let arn = f.str("resourceArn", ARN)?;
                let mut keys = Vec::new();
                for k in f.opt_list("tagKeys")? {
                    match k {
                        Value::String(s) => {
                            fields::check_len("tagKeys", s, TAG_KEY)?;
                            keys.push(s.clone());
                        }
                        _ => return Err(ApiError::serialization("tagKeys must be strings")),
                    }
                }
                sfn.untag_resource(arn, keys).await?;
                Ok(json!({}))
            }
            "ListTagsForResource" => {
                let tags = sfn.list_tags(f.str("resourceArn", ARN)?).await?;
                let items: Vec<Value> = tags
                    .iter()
                    .map(|t| json!({"key": t.key, "value": t.value}))
                    .collect();
                Ok(json!({"tags": items}))
            }
            // Versions, aliases and map runs among them: not served yet.
            other => Err(ApiError::unknown_operation("Step Functions", other)),
        }
    }
}

impl StepFunctionsApi {
    async fn create_state_machine(&self, f: &Fields<'_>) -> Result<Value, ApiError> {
        let name = f.str("name", NAME)?;
        let definition = f.str("definition", DEFINITION)?;
        let role_arn = f.str("roleArn", ARN)?;
        let machine_type = match f.opt_enum("type", TYPES)? {
            Some(t) => MachineType::parse(t).unwrap_or(MachineType::Standard),
            None => MachineType::Standard,
        };
        if f.opt_bool("publish")? == Some(true) {
            return Err(ApiError::validation(
                "Baton does not support state machine versions yet: publish must be false",
            ));
        }
        f.opt_str(
            "versionDescription",
            Len {
                min: 0,
                max: 256,
                sensitive: false,
            },
        )?;
        let request = CreateStateMachine {
            name: name.to_owned(),
            definition: definition.to_owned(),
            role_arn: role_arn.to_owned(),
            machine_type,
            logging_configuration: f.opt_object("loggingConfiguration")?.cloned(),
            tracing_configuration: f.opt_object("tracingConfiguration")?.cloned(),
            tags: tags(f, "tags")?,
        };
        let m = self.sfn.create_state_machine(request).await?;
        Ok(json!({"stateMachineArn": m.arn, "creationDate": ts(m.created_millis)}))
    }

    async fn update_state_machine(&self, f: &Fields<'_>) -> Result<Value, ApiError> {
        if f.opt_bool("publish")? == Some(true) {
            return Err(ApiError::validation(
                "Baton does not support state machine versions yet: publish must be false",
            ));
        }
        let request = UpdateStateMachine {
            arn: f.str("stateMachineArn", ARN)?.to_owned(),
            definition: f.opt_str("definition", DEFINITION)?.map(str::to_owned),
            role_arn: f.opt_str("roleArn", ARN)?.map(str::to_owned),
            logging_configuration: f.opt_object("loggingConfiguration")?.cloned(),
            tracing_configuration: f.opt_object("tracingConfiguration")?.cloned(),
        };
        let m = self.sfn.update_state_machine(request).await?;
        Ok(
            json!({"updateDate": ts(m.revision.created_millis), "revisionId": m.revision.revision_id}),
        )
    }

    async fn start_sync_execution(&self, f: &Fields<'_>) -> Result<Value, ApiError> {
        let arn = f.str("stateMachineArn", ARN)?;
        let name = f.opt_str("name", NAME)?;
        let input = f.opt_str("input", DATA)?;
        f.opt_str("traceHeader", TRACE_HEADER)?;
        let metadata_only = f.opt_enum("includedData", INCLUDED_DATA)? == Some("METADATA_ONLY");
        let r = self.sfn.start_sync_execution(arn, name, input).await?;
        let mut m = Map::new();
        m.insert("executionArn".into(), json!(r.execution_arn));
        m.insert("stateMachineArn".into(), json!(r.state_machine_arn));
        m.insert("name".into(), json!(r.name));
        m.insert("startDate".into(), ts(r.start_millis));
        m.insert("stopDate".into(), ts(r.stop_millis));
        m.insert("status".into(), json!(r.status));
        if let Some(e) = &r.error {
            m.insert("error".into(), json!(e));
        }
        if let Some(c) = &r.cause {
            m.insert("cause".into(), json!(c));
        }
        if !metadata_only {
            m.insert("input".into(), json!(r.input));
        }
        m.insert("inputDetails".into(), json!({"included": !metadata_only}));
        if let Some(o) = &r.output {
            if !metadata_only {
                m.insert("output".into(), json!(o));
            }
            m.insert("outputDetails".into(), json!({"included": !metadata_only}));
        }
        m.insert(
            "billingDetails".into(),
            json!({"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": r.billed_duration_millis()}),
        );
        Ok(Value::Object(m))
    }
}

fn with_token(mut v: Value, token: Option<String>) -> Value {
    if let (Some(t), Value::Object(m)) = (token, &mut v) {
        m.insert("nextToken".into(), Value::String(t));
    }
    v
}

fn describe_machine(m: &StateMachineRecord) -> Value {
    json!({
        "stateMachineArn": m.arn,
        "name": m.name,
        "status": "ACTIVE",
        "definition": m.revision.definition,
        "roleArn": m.revision.role_arn,
        "type": m.machine_type.as_str(),
        "creationDate": ts(m.created_millis),
        "loggingConfiguration": logging_default(&m.revision.logging_configuration),
        "tracingConfiguration": tracing_default(&m.revision.tracing_configuration),
        "revisionId": m.revision.revision_id,
    })
}

fn describe_revision(r: &RevisionRecord) -> Value {
    json!({
        "stateMachineArn": r.state_machine_arn,
        "name": r.name,
        "definition": r.revision.definition,
        "roleArn": r.revision.role_arn,
        "updateDate": ts(r.revision.created_millis),
        "loggingConfiguration": logging_default(&r.revision.logging_configuration),
        "tracingConfiguration": tracing_default(&r.revision.tracing_configuration),
        "revisionId": r.revision.revision_id,
    })
}

fn activity(a: &ActivityRecord) -> Value {
    json!({"activityArn": a.arn, "name": a.name, "creationDate": ts(a.created_millis)})
}

fn list_item(e: &ExecutionRecord) -> Value {
    let mut m = Map::new();
    m.insert("executionArn".into(), json!(e.arn));
    m.insert("stateMachineArn".into(), json!(e.state_machine_arn));
    m.insert("name".into(), json!(e.name));
    m.insert("status".into(), json!(e.status.as_str()));
    m.insert("startDate".into(), ts(e.start_millis));
    if let Some(s) = e.stop_millis {
        m.insert("stopDate".into(), ts(s));
    }
    if e.redrive_count > 0 {
        m.insert("redriveCount".into(), json!(e.redrive_count));
    }
    if let Some(r) = e.redrive_millis {
        m.insert("redriveDate".into(), ts(r));
    }
    Value::Object(m)
}

fn describe_execution(
    e: &ExecutionRecord,
    redrive_status: &str,
    redrive_reason: Option<&str>,
    metadata_only: bool,
) -> Value {
    let mut m = Map::new();
    m.insert("executionArn".into(), json!(e.arn));
    m.insert("stateMachineArn".into(), json!(e.state_machine_arn));
    m.insert("name".into(), json!(e.name));
    m.insert("status".into(), json!(e.status.as_str()));
    m.insert("startDate".into(), ts(e.start_millis));
    if let Some(s) = e.stop_millis {
        m.insert("stopDate".into(), ts(s));
    }
    if !metadata_only {
        m.insert("input".into(), json!(e.input));
    }
    m.insert("inputDetails".into(), json!({"included": !metadata_only}));
    if let Some(o) = &e.output {
        if !metadata_only {
            m.insert("output".into(), json!(o));
        }
        m.insert("outputDetails".into(), json!({"included": !metadata_only}));
    }
    if let Some(err) = &e.error {
        m.insert("error".into(), json!(err));
    }
    if let Some(c) = &e.cause {
        m.insert("cause".into(), json!(c));
    }
    m.insert("redriveCount".into(), json!(e.redrive_count));
    if let Some(r) = e.redrive_millis {
        m.insert("redriveDate".into(), ts(r));
    }
    m.insert("redriveStatus".into(), json!(redrive_status));
    if let Some(reason) = redrive_reason {
        m.insert("redriveStatusReason".into(), json!(reason));
    }
    Value::Object(m)
}

/// One history event; without execution data, the input and output texts are left out.
fn history_event(e: &HistoryEvent, include_data: bool) -> Value {
    let mut v = e.to_aws_json();
    if !include_data && let Value::Object(m) = &mut v {
        for (key, details) in m.iter_mut() {
            if key.ends_with("EventDetails")
                && let Value::Object(d) = details
            {
                for field in ["input", "output", "parameters", "assignedVariables"] {
                    d.remove(field);
                }
            }
        }
    }
    v
}

fn validate_definition(f: &Fields<'_>) -> Result<Value, ApiError> {
    let definition = f.str("definition", DEFINITION)?;
    let express = f.opt_enum("type", TYPES)? == Some("EXPRESS");
    let severity = f.opt_enum("severity", &["ERROR", "WARNING"])?;
    let _ = severity;
    let max = f
        .opt_int("maxResults", 0, 100)?
        .filter(|n| *n > 0)
        .unwrap_or(100) as usize;
    let options = baton_asl::ParseOptions { express };
    match baton_asl::parse_definition(definition, options) {
        Ok(_) => Ok(json!({"result": "OK", "diagnostics": [], "truncated": false})),
        Err(diagnostics) => {
            let all: Vec<Value> = diagnostics
                .iter()
                .map(|d| {
                    let mut m = Map::new();
                    m.insert("severity".into(), json!("ERROR"));
                    m.insert("code".into(), json!(d.code));
                    m.insert("message".into(), json!(d.message));
                    if let Some(l) = &d.location {
                        m.insert("location".into(), json!(l));
                    }
                    Value::Object(m)
                })
                .collect();
            let truncated = all.len() > max;
            let shown: Vec<Value> = all.into_iter().take(max).collect();
            Ok(json!({"result": "FAIL", "diagnostics": shown, "truncated": truncated}))
        }
    }
}

fn test_state_request(f: &Fields<'_>) -> Result<TestStateRequest, ApiError> {
    let inspection_level = match f.opt_enum("inspectionLevel", &["INFO", "DEBUG", "TRACE"])? {
        Some(l) => InspectionLevel::parse(l).unwrap_or_default(),
        None => InspectionLevel::Info,
    };
    let mock = match f.opt_object("mock")? {
        None => None,
        Some(m) => {
            let mf = Fields::new(m)?;
            let error_output = match mf.opt_object("errorOutput")? {
                None => None,
                Some(e) => {
                    let ef = Fields::new(e)?;
                    Some(MockErrorOutput {
                        error: ef.opt_str("error", ERROR)?.map(str::to_owned),
                        cause: ef.opt_str("cause", CAUSE)?.map(str::to_owned),
                    })
                }
            };
            let mode = match mf.opt_enum("fieldValidationMode", &["STRICT", "PRESENT", "NONE"])? {
                Some(m) => FieldValidationMode::parse(m).unwrap_or_default(),
                None => FieldValidationMode::Strict,
            };
            Some(Mock {
                result: mf.opt_str("result", DATA)?.map(str::to_owned),
                error_output,
                field_validation_mode: mode,
            })
        }
    };
    let state_configuration = match f.opt_object("stateConfiguration")? {
        None => None,
        Some(c) => {
            let cf = Fields::new(c)?;
            let count = |k: &str| -> Result<Option<u64>, ApiError> {
                Ok(cf.opt_int(k, 0, i64::MAX)?.map(|n| n as u64))
            };
            Some(StateConfiguration {
                retrier_retry_count: count("retrierRetryCount")?,
                error_caused_by_state: cf.opt_str("errorCausedByState", NAME)?.map(str::to_owned),
                map_iteration_failure_count: count("mapIterationFailureCount")?,
                map_item_reader_data: cf.opt_str("mapItemReaderData", DATA)?.map(str::to_owned),
            })
        }
    };
    Ok(TestStateRequest {
        definition: f.str("definition", DEFINITION)?.to_owned(),
        role_arn: f.opt_str("roleArn", ARN)?.map(str::to_owned),
        input: f.opt_str("input", DATA)?.map(str::to_owned),
        inspection_level,
        reveal_secrets: f.opt_bool("revealSecrets")?.unwrap_or(false),
        variables: f.opt_str("variables", DATA)?.map(str::to_owned),
        state_name: f.opt_str("stateName", NAME)?.map(str::to_owned),
        mock,
        context: f.opt_str("context", DATA)?.map(str::to_owned),
        state_configuration,
    })
}

#[cfg(test)]
mod tests {
    use super::fields::constraint;
    use super::*;

    #[test]
    fn constraint_messages_read_like_aws() {
        let e = constraint("name", Some("x"), "Member must not be null");
        assert_eq!(e.code, "ValidationException");
        assert_eq!(
            e.message,
            "1 validation error detected: Value 'x' at 'name' failed to satisfy constraint: \
             Member must not be null"
        );
    }

    #[test]
    fn history_without_data_drops_payloads() {
        let e = HistoryEvent {
            id: 1,
            previous_event_id: 0,
            timestamp_millis: 1_000,
            details: baton_exec::EventDetails::ExecutionStarted {
                input: std::sync::Arc::new(json!({"secret": 1})),
                role_arn: "r".into(),
            },
        };
        let v = history_event(&e, false);
        assert!(v["executionStartedEventDetails"].get("input").is_none());
        assert_eq!(v["executionStartedEventDetails"]["roleArn"], "r");
        let v = history_event(&e, true);
        assert_eq!(v["executionStartedEventDetails"]["input"], "{\"secret\":1}");
    }
}
