//! Archives and replays on the wire.

use crate::EventBuses;
use crate::archives::{
    ArchiveView, CreateArchiveInput, ReplayView, StartReplayInput, UpdateArchiveInput,
};
use crate::store::ReplayState;
use serde_json::{Value, json};

use super::input::{Obj, Str, Violations};
use super::{DESCRIPTION, EVENT_PATTERN, KMS_KEY, object, opt, paging, s, time};
use baton_platform::http::ApiError;

const ARCHIVE_NAME: Str = Str::new().len(1, 48).pattern(r"[\.\-_A-Za-z0-9]+");
const REPLAY_NAME: Str = Str::new().len(1, 64).pattern(r"[\.\-_A-Za-z0-9]+");
const EVENTS_ARN: Str = Str::new()
    .len(1, 1600)
    .pattern(r"^arn:aws([a-z]|\-)*:events:([a-z]|\d|\-)*:([0-9]{12})?:.+\/.+$");
const ARCHIVE_STATES: &[&str] = &[
    "ENABLED",
    "DISABLED",
    "CREATING",
    "UPDATING",
    "CREATE_FAILED",
    "UPDATE_FAILED",
];
const REPLAY_STATES: &[&str] = &[
    "STARTING",
    "RUNNING",
    "CANCELLING",
    "COMPLETED",
    "CANCELLED",
    "FAILED",
];

fn retention(req: &Obj<'_>, errs: &mut Violations) -> Result<Option<u32>, ApiError> {
    Ok(req
        .int("RetentionDays", Some(0), None, errs)?
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
}

fn archive_json(v: &ArchiveView, detailed: bool) -> Value {
    let r = &v.record;
    object(vec![
        ("ArchiveArn", if detailed { s(&v.arn) } else { None }),
        ("ArchiveName", s(&r.name)),
        ("EventSourceArn", s(&v.event_source_arn)),
        (
            "Description",
            if detailed { opt(&r.description) } else { None },
        ),
        (
            "EventPattern",
            if detailed {
                opt(&r.event_pattern)
            } else {
                None
            },
        ),
        ("State", s(&r.state)),
        (
            "KmsKeyIdentifier",
            if detailed {
                opt(&r.kms_key_identifier)
            } else {
                None
            },
        ),
        ("RetentionDays", Some(json!(r.retention_days))),
        ("SizeBytes", Some(json!(v.stats.size_bytes))),
        ("EventCount", Some(json!(v.stats.event_count))),
        ("CreationTime", Some(time(r.created_ms))),
    ])
}

pub async fn create_archive(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("ArchiveName", ARCHIVE_NAME.required(), &mut errs)?;
    let source = req.string("EventSourceArn", EVENTS_ARN.required(), &mut errs)?;
    let description = req.string("Description", DESCRIPTION, &mut errs)?;
    let pattern = req.string("EventPattern", EVENT_PATTERN, &mut errs)?;
    let retention_days = retention(req, &mut errs)?;
    let kms = req.string("KmsKeyIdentifier", KMS_KEY, &mut errs)?;
    errs.finish()?;
    let v = bus
        .create_archive(CreateArchiveInput {
            name: name.unwrap_or_default(),
            event_source_arn: source.unwrap_or_default(),
            description,
            event_pattern: pattern,
            retention_days,
            kms_key_identifier: kms,
        })
        .await?;
    Ok(json!({
        "ArchiveArn": v.arn,
        "State": v.record.state,
        "CreationTime": time(v.record.created_ms),
    }))
}

pub async fn describe_archive(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("ArchiveName", ARCHIVE_NAME.required(), &mut errs)?;
    errs.finish()?;
    let v = bus.describe_archive(&name.unwrap_or_default()).await?;
    Ok(archive_json(&v, true))
}

pub async fn list_archives(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let prefix = req.string("NamePrefix", ARCHIVE_NAME, &mut errs)?;
    let source = req.string("EventSourceArn", EVENTS_ARN, &mut errs)?;
    let state = req.string("State", Str::new().one_of(ARCHIVE_STATES), &mut errs)?;
    let (token, limit) = paging(req, &mut errs)?;
    errs.finish()?;
    let page = bus
        .list_archives(
            prefix.as_deref(),
            source.as_deref(),
            state.as_deref(),
            limit,
            token.as_deref(),
        )
        .await?;
    Ok(object(vec![
        (
            "Archives",
            Some(Value::Array(
                page.items.iter().map(|a| archive_json(a, false)).collect(),
            )),
        ),
        ("NextToken", opt(&page.next_token)),
    ]))
}

pub async fn update_archive(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("ArchiveName", ARCHIVE_NAME.required(), &mut errs)?;
    let description = req.string("Description", DESCRIPTION, &mut errs)?;
    let pattern = req.string("EventPattern", EVENT_PATTERN, &mut errs)?;
    let retention_days = retention(req, &mut errs)?;
    let kms = req.string("KmsKeyIdentifier", KMS_KEY, &mut errs)?;
    errs.finish()?;
    let v = bus
        .update_archive(UpdateArchiveInput {
            name: name.unwrap_or_default(),
            description,
            event_pattern: pattern,
            retention_days,
            kms_key_identifier: kms,
        })
        .await?;
    Ok(json!({
        "ArchiveArn": v.arn,
        "State": v.record.state,
        "CreationTime": time(v.record.created_ms),
    }))
}

pub async fn delete_archive(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("ArchiveName", ARCHIVE_NAME.required(), &mut errs)?;
    errs.finish()?;
    bus.delete_archive(&name.unwrap_or_default()).await?;
    Ok(json!({}))
}

fn replay_json(v: &ReplayView, detailed: bool) -> Value {
    let r = &v.record;
    let destination = object(vec![
        ("Arn", s(&v.destination_arn)),
        (
            "FilterArns",
            (!r.filter_arns.is_empty()).then(|| json!(r.filter_arns)),
        ),
    ]);
    object(vec![
        ("ReplayName", s(&r.name)),
        ("ReplayArn", if detailed { s(&v.arn) } else { None }),
        (
            "Description",
            if detailed { opt(&r.description) } else { None },
        ),
        ("State", s(r.state.as_str())),
        ("StateReason", opt(&r.state_reason)),
        ("EventSourceArn", s(&v.event_source_arn)),
        ("Destination", detailed.then_some(destination)),
        ("EventStartTime", Some(time(r.event_start_ms))),
        ("EventEndTime", Some(time(r.event_end_ms))),
        ("EventLastReplayedTime", r.last_replayed_ms.map(time)),
        ("ReplayStartTime", Some(time(r.replay_start_ms))),
        ("ReplayEndTime", r.replay_end_ms.map(time)),
    ])
}

pub async fn start_replay(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("ReplayName", REPLAY_NAME.required(), &mut errs)?;
    let description = req.string("Description", DESCRIPTION, &mut errs)?;
    let source = req.string("EventSourceArn", EVENTS_ARN.required(), &mut errs)?;
    let start = req.timestamp("EventStartTime", true, &mut errs)?;
    let end = req.timestamp("EventEndTime", true, &mut errs)?;
    let destination = req.object("Destination", true, &mut errs)?;
    let (dest_arn, filters) = match &destination {
        Some(d) => (
            d.string("Arn", Str::new().required().len(1, 1600), &mut errs)?,
            d.strings(
                "FilterArns",
                false,
                0,
                None,
                Str::new().len(1, 1600),
                &mut errs,
            )?,
        ),
        None => (None, None),
    };
    errs.finish()?;
    let (Some(start), Some(end)) = (start, end) else {
        return Err(ApiError::validation(
            "EventStartTime and EventEndTime are required.",
        ));
    };
    let v = bus
        .start_replay(StartReplayInput {
            name: name.unwrap_or_default(),
            description,
            event_source_arn: source.unwrap_or_default(),
            event_start_time: start,
            event_end_time: end,
            destination_arn: dest_arn.unwrap_or_default(),
            filter_arns: filters.unwrap_or_default(),
        })
        .await?;
    Ok(json!({
        "ReplayArn": v.arn,
        "State": v.record.state.as_str(),
        "ReplayStartTime": time(v.record.replay_start_ms),
    }))
}

pub async fn describe_replay(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("ReplayName", REPLAY_NAME.required(), &mut errs)?;
    errs.finish()?;
    let v = bus.describe_replay(&name.unwrap_or_default()).await?;
    Ok(replay_json(&v, true))
}

pub async fn list_replays(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let prefix = req.string("NamePrefix", REPLAY_NAME, &mut errs)?;
    let state = req.string("State", Str::new().one_of(REPLAY_STATES), &mut errs)?;
    let source = req.string("EventSourceArn", EVENTS_ARN, &mut errs)?;
    let (token, limit) = paging(req, &mut errs)?;
    errs.finish()?;
    let page = bus
        .list_replays(
            prefix.as_deref(),
            state.as_deref().and_then(ReplayState::parse),
            source.as_deref(),
            limit,
            token.as_deref(),
        )
        .await?;
    Ok(object(vec![
        (
            "Replays",
            Some(Value::Array(
                page.items.iter().map(|r| replay_json(r, false)).collect(),
            )),
        ),
        ("NextToken", opt(&page.next_token)),
    ]))
}

pub async fn cancel_replay(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("ReplayName", REPLAY_NAME.required(), &mut errs)?;
    errs.finish()?;
    let v = bus.cancel_replay(&name.unwrap_or_default()).await?;
    Ok(object(vec![
        ("ReplayArn", s(&v.arn)),
        ("State", s(v.record.state.as_str())),
        ("StateReason", opt(&v.record.state_reason)),
    ]))
}
