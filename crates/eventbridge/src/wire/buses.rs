//! Event buses, rules, targets, PutEvents and TestEventPattern on the wire.

use crate::EventBuses;
use crate::control::{CreateBusInput, PutRuleInput, RuleView, UpdateBusInput};
use crate::store::{BusRecord, HttpParameters, RetryPolicy, RuleState, TargetInput, TargetRecord};
use baton_events::PutEventsEntry;
use serde_json::{Map, Value, json};

use super::input::{Obj, Str, Violations};
use super::{
    ARN, BUS_NAME, BUS_NAME_OR_ARN, DESCRIPTION, EVENT_PATTERN, KMS_KEY, RULE_NAME, object, opt,
    paging, s, time,
};
use baton_platform::http::ApiError;

const RULE_STATES: &[&str] = &[
    "ENABLED",
    "DISABLED",
    "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
];
const TARGET_ID: Str = Str::new()
    .required()
    .len(1, 64)
    .pattern(r"[\.\-_A-Za-z0-9]+");

fn dead_letter(req: &Obj<'_>, errs: &mut Violations) -> Result<Option<String>, ApiError> {
    match req.object("DeadLetterConfig", false, errs)? {
        Some(d) => d.string("Arn", ARN, errs),
        None => Ok(None),
    }
}

fn dead_letter_json(arn: &Option<String>) -> Option<Value> {
    arn.as_ref().map(|a| json!({ "Arn": a }))
}

pub async fn create_event_bus(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("Name", BUS_NAME.required(), &mut errs)?;
    let source = req.string(
        "EventSourceName",
        Str::new()
            .len(1, 256)
            .pattern(r"aws\.partner(/[\.\-_A-Za-z0-9]+){2,}"),
        &mut errs,
    )?;
    let description = req.string("Description", DESCRIPTION, &mut errs)?;
    let kms = req.string("KmsKeyIdentifier", KMS_KEY, &mut errs)?;
    let dlq = dead_letter(req, &mut errs)?;
    errs.finish()?;
    let arn = bus
        .create_event_bus(CreateBusInput {
            name: name.unwrap_or_default(),
            event_source_name: source,
            description: description.clone(),
            kms_key_identifier: kms.clone(),
            dead_letter_arn: dlq.clone(),
        })
        .await?;
    Ok(object(vec![
        ("EventBusArn", Some(Value::String(arn))),
        ("Description", opt(&description)),
        ("KmsKeyIdentifier", opt(&kms)),
        ("DeadLetterConfig", dead_letter_json(&dlq)),
    ]))
}

pub async fn update_event_bus(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("Name", BUS_NAME, &mut errs)?;
    let kms = req.string("KmsKeyIdentifier", KMS_KEY, &mut errs)?;
    let description = req.string("Description", DESCRIPTION, &mut errs)?;
    let dlq = dead_letter(req, &mut errs)?;
    errs.finish()?;
    let record = bus
        .update_event_bus(UpdateBusInput {
            name,
            description,
            kms_key_identifier: kms,
            dead_letter_arn: dlq,
        })
        .await?;
    Ok(object(vec![
        ("Arn", s(&bus.arns().bus(&record.name))),
        ("Name", s(&record.name)),
        ("KmsKeyIdentifier", opt(&record.kms_key_identifier)),
        ("Description", opt(&record.description)),
        (
            "DeadLetterConfig",
            dead_letter_json(&record.dead_letter_arn),
        ),
    ]))
}

pub async fn delete_event_bus(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("Name", BUS_NAME.required(), &mut errs)?;
    errs.finish()?;
    bus.delete_event_bus(&name.unwrap_or_default()).await?;
    Ok(json!({}))
}

fn bus_json(bus: &EventBuses, r: &BusRecord, detailed: bool) -> Value {
    object(vec![
        ("Name", s(&r.name)),
        ("Arn", s(&bus.arns().bus(&r.name))),
        ("Description", opt(&r.description)),
        (
            "KmsKeyIdentifier",
            if detailed {
                opt(&r.kms_key_identifier)
            } else {
                None
            },
        ),
        (
            "DeadLetterConfig",
            if detailed {
                dead_letter_json(&r.dead_letter_arn)
            } else {
                None
            },
        ),
        ("CreationTime", Some(time(r.created_ms))),
        ("LastModifiedTime", Some(time(r.modified_ms))),
    ])
}

pub fn describe_event_bus(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("Name", BUS_NAME_OR_ARN, &mut errs)?;
    errs.finish()?;
    let record = bus.describe_event_bus(name.as_deref())?;
    Ok(bus_json(bus, &record, true))
}

pub fn list_event_buses(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let prefix = req.string("NamePrefix", BUS_NAME, &mut errs)?;
    let (token, limit) = paging(req, &mut errs)?;
    errs.finish()?;
    let page = bus.list_event_buses(prefix.as_deref(), limit, token.as_deref())?;
    Ok(object(vec![
        (
            "EventBuses",
            Some(Value::Array(
                page.items.iter().map(|b| bus_json(bus, b, false)).collect(),
            )),
        ),
        ("NextToken", opt(&page.next_token)),
    ]))
}

pub async fn put_rule(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("Name", RULE_NAME.required(), &mut errs)?;
    let schedule = req.string("ScheduleExpression", Str::new().max(256), &mut errs)?;
    let pattern = req.string("EventPattern", EVENT_PATTERN, &mut errs)?;
    let state = req.string("State", Str::new().one_of(RULE_STATES), &mut errs)?;
    let description = req.string("Description", DESCRIPTION, &mut errs)?;
    let role = req.string("RoleArn", ARN, &mut errs)?;
    let on = req.string("EventBusName", BUS_NAME_OR_ARN, &mut errs)?;
    errs.finish()?;
    let arn = bus
        .put_rule(PutRuleInput {
            name: name.unwrap_or_default(),
            bus: on,
            event_pattern: pattern,
            schedule_expression: schedule,
            state: state.as_deref().and_then(RuleState::parse),
            description,
            role_arn: role,
        })
        .await?;
    Ok(json!({ "RuleArn": arn }))
}

fn rule_json(v: &RuleView, detailed: bool) -> Value {
    let r = &v.record;
    object(vec![
        ("Name", s(&r.name)),
        ("Arn", s(&v.arn)),
        ("EventPattern", opt(&r.event_pattern)),
        ("ScheduleExpression", opt(&r.schedule_expression)),
        ("State", s(r.state.as_str())),
        ("Description", opt(&r.description)),
        ("RoleArn", opt(&r.role_arn)),
        ("ManagedBy", opt(&r.managed_by)),
        ("EventBusName", s(&r.bus)),
        ("CreatedBy", if detailed { s(&r.created_by) } else { None }),
    ])
}

pub fn describe_rule(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("Name", RULE_NAME.required(), &mut errs)?;
    let on = req.string("EventBusName", BUS_NAME_OR_ARN, &mut errs)?;
    errs.finish()?;
    let view = bus.describe_rule(&name.unwrap_or_default(), on.as_deref())?;
    Ok(rule_json(&view, true))
}

pub fn list_rules(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let prefix = req.string("NamePrefix", RULE_NAME, &mut errs)?;
    let on = req.string("EventBusName", BUS_NAME_OR_ARN, &mut errs)?;
    let (token, limit) = paging(req, &mut errs)?;
    errs.finish()?;
    let page = bus.list_rules(prefix.as_deref(), on.as_deref(), limit, token.as_deref())?;
    Ok(object(vec![
        (
            "Rules",
            Some(Value::Array(
                page.items.iter().map(|r| rule_json(r, false)).collect(),
            )),
        ),
        ("NextToken", opt(&page.next_token)),
    ]))
}

pub async fn delete_rule(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("Name", RULE_NAME.required(), &mut errs)?;
    let on = req.string("EventBusName", BUS_NAME_OR_ARN, &mut errs)?;
    let force = req.bool("Force")?.unwrap_or(false);
    errs.finish()?;
    bus.delete_rule(&name.unwrap_or_default(), on.as_deref(), force)
        .await?;
    Ok(json!({}))
}

pub async fn set_rule_enabled(
    bus: &EventBuses,
    req: &Obj<'_>,
    enabled: bool,
) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("Name", RULE_NAME.required(), &mut errs)?;
    let on = req.string("EventBusName", BUS_NAME_OR_ARN, &mut errs)?;
    errs.finish()?;
    bus.set_rule_enabled(&name.unwrap_or_default(), on.as_deref(), enabled)
        .await?;
    Ok(json!({}))
}

/// Members of `Target` that Baton reads; the rest are kept as given.
const TARGET_MEMBERS: &[&str] = &[
    "Id",
    "Arn",
    "RoleArn",
    "Input",
    "InputPath",
    "InputTransformer",
    "HttpParameters",
    "RetryPolicy",
    "DeadLetterConfig",
];

fn read_target(t: &Obj<'_>, errs: &mut Violations) -> Result<TargetRecord, ApiError> {
    let id = t.string("Id", TARGET_ID, errs)?.unwrap_or_default();
    let arn = t.string("Arn", ARN.required(), errs)?.unwrap_or_default();
    let role_arn = t.string("RoleArn", ARN, errs)?;
    let input = t.string("Input", Str::new().max(8192), errs)?;
    let input_path = t.string("InputPath", Str::new().max(256), errs)?;
    let transformer = match t.object("InputTransformer", false, errs)? {
        Some(x) => {
            let paths = x
                .string_map("InputPathsMap", Some(100), errs)?
                .unwrap_or_default();
            let template = x
                .string("InputTemplate", Str::new().required().len(1, 8192), errs)?
                .unwrap_or_default();
            Some((paths, template))
        }
        None => None,
    };
    let given = usize::from(input.is_some())
        + usize::from(input_path.is_some())
        + usize::from(transformer.is_some());
    if given > 1 {
        return Err(ApiError::validation(format!(
            "Only one of Input, InputPath, or InputTransformer must be provided for target {id}."
        )));
    }
    let input = match (input, input_path, transformer) {
        (Some(text), _, _) => TargetInput::Constant(text),
        (_, Some(path), _) => TargetInput::Path(path),
        (_, _, Some((paths, template))) => TargetInput::Transformer { paths, template },
        _ => TargetInput::WholeEvent,
    };
    let http_parameters = match t.object("HttpParameters", false, errs)? {
        Some(h) => Some(HttpParameters {
            path_parameter_values: h
                .strings("PathParameterValues", false, 0, None, Str::new(), errs)?
                .unwrap_or_default(),
            header_parameters: h
                .string_map("HeaderParameters", None, errs)?
                .unwrap_or_default(),
            query_string_parameters: h
                .string_map("QueryStringParameters", None, errs)?
                .unwrap_or_default(),
        }),
        None => None,
    };
    let retry_policy = match t.object("RetryPolicy", false, errs)? {
        Some(r) => Some(RetryPolicy {
            maximum_retry_attempts: r
                .int("MaximumRetryAttempts", Some(0), Some(185), errs)?
                .and_then(|n| u32::try_from(n).ok()),
            maximum_event_age_in_seconds: r
                .int("MaximumEventAgeInSeconds", Some(60), Some(86_400), errs)?
                .and_then(|n| u32::try_from(n).ok()),
        }),
        None => None,
    };
    let dead_letter_arn = dead_letter(t, errs)?;
    Ok(TargetRecord {
        id,
        arn,
        role_arn,
        input,
        http_parameters,
        retry_policy,
        dead_letter_arn,
        other_parameters: t.others(TARGET_MEMBERS),
    })
}

fn pairs_json(pairs: &[(String, String)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn target_json(t: &TargetRecord) -> Value {
    let mut m = Map::new();
    m.insert("Id".into(), Value::String(t.id.clone()));
    m.insert("Arn".into(), Value::String(t.arn.clone()));
    if let Some(r) = &t.role_arn {
        m.insert("RoleArn".into(), Value::String(r.clone()));
    }
    match &t.input {
        TargetInput::WholeEvent => {}
        TargetInput::Constant(text) => {
            m.insert("Input".into(), Value::String(text.clone()));
        }
        TargetInput::Path(p) => {
            m.insert("InputPath".into(), Value::String(p.clone()));
        }
        TargetInput::Transformer { paths, template } => {
            let mut x = Map::new();
            if !paths.is_empty() {
                x.insert("InputPathsMap".into(), pairs_json(paths));
            }
            x.insert("InputTemplate".into(), Value::String(template.clone()));
            m.insert("InputTransformer".into(), Value::Object(x));
        }
    }
    if let Some(h) = &t.http_parameters {
        let mut x = Map::new();
        if !h.path_parameter_values.is_empty() {
            x.insert("PathParameterValues".into(), json!(h.path_parameter_values));
        }
        if !h.header_parameters.is_empty() {
            x.insert("HeaderParameters".into(), pairs_json(&h.header_parameters));
        }
        if !h.query_string_parameters.is_empty() {
            x.insert(
                "QueryStringParameters".into(),
                pairs_json(&h.query_string_parameters),
            );
        }
        m.insert("HttpParameters".into(), Value::Object(x));
    }
    if let Some(r) = &t.retry_policy {
        m.insert(
            "RetryPolicy".into(),
            object(vec![
                (
                    "MaximumRetryAttempts",
                    r.maximum_retry_attempts.map(Value::from),
                ),
                (
                    "MaximumEventAgeInSeconds",
                    r.maximum_event_age_in_seconds.map(Value::from),
                ),
            ]),
        );
    }
    if let Some(d) = dead_letter_json(&t.dead_letter_arn) {
        m.insert("DeadLetterConfig".into(), d);
    }
    for (k, v) in &t.other_parameters {
        m.insert(k.clone(), v.clone());
    }
    Value::Object(m)
}

pub async fn put_targets(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let rule = req.string("Rule", RULE_NAME.required(), &mut errs)?;
    let on = req.string("EventBusName", BUS_NAME_OR_ARN, &mut errs)?;
    let items = req
        .list("Targets", true, 1, Some(100), &mut errs)?
        .unwrap_or_default();
    let mut targets = Vec::with_capacity(items.len());
    for (i, v) in items.into_iter().enumerate() {
        let t = req.element("Targets", i, v)?;
        targets.push(read_target(&t, &mut errs)?);
    }
    errs.finish()?;
    bus.put_targets(&rule.unwrap_or_default(), on.as_deref(), targets)
        .await?;
    Ok(json!({ "FailedEntryCount": 0, "FailedEntries": [] }))
}

pub async fn remove_targets(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let rule = req.string("Rule", RULE_NAME.required(), &mut errs)?;
    let on = req.string("EventBusName", BUS_NAME_OR_ARN, &mut errs)?;
    let ids = req
        .strings("Ids", true, 1, Some(100), TARGET_ID, &mut errs)?
        .unwrap_or_default();
    let _force = req.bool("Force")?;
    errs.finish()?;
    bus.remove_targets(&rule.unwrap_or_default(), on.as_deref(), &ids)
        .await?;
    Ok(json!({ "FailedEntryCount": 0, "FailedEntries": [] }))
}

pub fn list_targets_by_rule(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let rule = req.string("Rule", RULE_NAME.required(), &mut errs)?;
    let on = req.string("EventBusName", BUS_NAME_OR_ARN, &mut errs)?;
    let (token, limit) = paging(req, &mut errs)?;
    errs.finish()?;
    let page = bus.list_targets_by_rule(
        &rule.unwrap_or_default(),
        on.as_deref(),
        limit,
        token.as_deref(),
    )?;
    Ok(object(vec![
        (
            "Targets",
            Some(Value::Array(page.items.iter().map(target_json).collect())),
        ),
        ("NextToken", opt(&page.next_token)),
    ]))
}

pub fn list_rule_names_by_target(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let target = req.string("TargetArn", ARN.required(), &mut errs)?;
    let on = req.string("EventBusName", BUS_NAME_OR_ARN, &mut errs)?;
    let (token, limit) = paging(req, &mut errs)?;
    errs.finish()?;
    let page = bus.list_rule_names_by_target(
        &target.unwrap_or_default(),
        on.as_deref(),
        limit,
        token.as_deref(),
    )?;
    Ok(object(vec![
        ("RuleNames", Some(json!(page.items))),
        ("NextToken", opt(&page.next_token)),
    ]))
}

pub async fn put_events(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let items = req
        .list("Entries", true, 1, Some(10), &mut errs)?
        .unwrap_or_default();
    req.string(
        "EndpointId",
        Str::new()
            .len(1, 50)
            .pattern(r"^[A-Za-z0-9\-]+[\.][A-Za-z0-9\-]+$"),
        &mut errs,
    )?;
    let mut entries = Vec::with_capacity(items.len());
    for (i, v) in items.into_iter().enumerate() {
        let e = req.element("Entries", i, v)?;
        entries.push(PutEventsEntry {
            time: e.timestamp("Time", false, &mut errs)?,
            source: e.string("Source", Str::new(), &mut errs)?,
            resources: e
                .strings("Resources", false, 0, None, Str::new(), &mut errs)?
                .unwrap_or_default(),
            detail_type: e.string("DetailType", Str::new(), &mut errs)?,
            detail: e.string("Detail", Str::new(), &mut errs)?,
            event_bus_name: e.string(
                "EventBusName",
                Str::new().len(1, 1600).pattern(
                    r"(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[\.\-_A-Za-z0-9]+",
                ),
                &mut errs,
            )?,
            trace_header: e.string("TraceHeader", Str::new().len(1, 500), &mut errs)?,
        });
    }
    errs.finish()?;
    let results = bus.put_events(entries).await?;
    let failed = results.iter().filter(|r| r.is_err()).count();
    let entries: Vec<Value> = results
        .into_iter()
        .map(|r| match r {
            Ok(id) => json!({ "EventId": id }),
            Err(e) => json!({ "ErrorCode": e.code, "ErrorMessage": e.message }),
        })
        .collect();
    Ok(json!({ "FailedEntryCount": failed, "Entries": entries }))
}

pub fn test_event_pattern(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let pattern = req.string("EventPattern", EVENT_PATTERN.required(), &mut errs)?;
    let event = req.string("Event", Str::new().required(), &mut errs)?;
    errs.finish()?;
    let result =
        bus.test_event_pattern(&pattern.unwrap_or_default(), &event.unwrap_or_default())?;
    Ok(json!({ "Result": result }))
}
