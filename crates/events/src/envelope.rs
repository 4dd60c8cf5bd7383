//! The EventBridge event envelope and PutEvents entry validation.
//!
//! The crate never invents an id or reads a clock: the caller supplies the
//! event id, ingestion time, account and region when it builds an [`Event`].

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

/// One event as a bus delivers it. Serialised in AWS's fixed key order:
/// `version, id, detail-type, source, account, time, region, resources, detail`.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub version: String,
    pub id: String,
    pub detail_type: String,
    pub source: String,
    pub account: String,
    /// `2022-07-13T13:48:01Z` (whole seconds, UTC), as EventBridge writes it.
    pub time: String,
    pub region: String,
    pub resources: Vec<String>,
    pub detail: Value,
}

impl Event {
    /// Builds the envelope of a validated PutEvents entry. `ingested` is used
    /// when the entry carries no `Time`.
    pub fn from_entry(
        entry: ValidEntry,
        id: String,
        ingested: DateTime<Utc>,
        account: String,
        region: String,
    ) -> Event {
        let time = entry.time.unwrap_or(ingested);
        Event {
            version: "0".to_owned(),
            id,
            detail_type: entry.detail_type,
            source: entry.source,
            account,
            time: format_time(time),
            region,
            resources: entry.resources,
            detail: entry.detail,
        }
    }

    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("version".into(), Value::String(self.version.clone()));
        m.insert("id".into(), Value::String(self.id.clone()));
        m.insert(
            "detail-type".into(),
            Value::String(self.detail_type.clone()),
        );
        m.insert("source".into(), Value::String(self.source.clone()));
        m.insert("account".into(), Value::String(self.account.clone()));
        m.insert("time".into(), Value::String(self.time.clone()));
        m.insert("region".into(), Value::String(self.region.clone()));
        m.insert(
            "resources".into(),
            Value::Array(self.resources.iter().cloned().map(Value::String).collect()),
        );
        m.insert("detail".into(), self.detail.clone());
        Value::Object(m)
    }

    /// The JSON text delivered to targets and matched against rules.
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }
}

/// EventBridge's time format: RFC 3339, whole seconds, `Z`.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// One entry of a PutEvents request, as received.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PutEventsEntry {
    pub source: Option<String>,
    pub detail_type: Option<String>,
    pub detail: Option<String>,
    pub resources: Vec<String>,
    pub time: Option<DateTime<Utc>>,
    pub event_bus_name: Option<String>,
    pub trace_header: Option<String>,
}

/// An entry that passed validation, with its detail parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidEntry {
    pub source: String,
    pub detail_type: String,
    pub detail: Value,
    pub resources: Vec<String>,
    pub time: Option<DateTime<Utc>>,
}

/// Why an entry was refused: AWS's `ErrorCode` and `ErrorMessage` for that
/// entry of the PutEvents response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct EntryError {
    pub code: &'static str,
    pub message: String,
}

/// The most an entry may weigh, by [`entry_size`] (256 KiB).
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;

/// A request whose entries weigh more than [`MAX_ENTRY_BYTES`] in total is
/// refused as a whole with `ValidationException` and this message.
pub const REQUEST_TOO_LARGE_MESSAGE: &str =
    "Total size of the entries in the request is over the limit.";

/// An entry's size as AWS counts it: 14 bytes for `Time` if present, plus the
/// UTF-8 bytes of `Source`, `DetailType`, `Detail` and each resource.
pub fn entry_size(entry: &PutEventsEntry) -> usize {
    let s = |o: &Option<String>| o.as_ref().map_or(0, String::len);
    usize::from(entry.time.is_some()) * 14
        + s(&entry.source)
        + s(&entry.detail_type)
        + s(&entry.detail)
        + entry.resources.iter().map(String::len).sum::<usize>()
}

/// Validates one PutEvents entry in AWS's order: Source, DetailType, Detail
/// present; size; Detail a JSON object.
pub fn validate_put_events_entry(entry: &PutEventsEntry) -> Result<ValidEntry, EntryError> {
    fn required(field: &str) -> EntryError {
        EntryError {
            code: "InvalidArgument",
            message: format!(
                "Parameter {field} is not valid. Reason: {field} is a required argument."
            ),
        }
    }
    let source = match &entry.source {
        Some(s) if !s.is_empty() => s.clone(),
        _ => return Err(required("Source")),
    };
    let detail_type = match &entry.detail_type {
        Some(s) if !s.is_empty() => s.clone(),
        _ => return Err(required("DetailType")),
    };
    let detail_text = match &entry.detail {
        Some(s) if !s.is_empty() => s,
        _ => return Err(required("Detail")),
    };
    if entry_size(entry) > MAX_ENTRY_BYTES {
        return Err(EntryError {
            code: "ValidationException",
            message: REQUEST_TOO_LARGE_MESSAGE.to_owned(),
        });
    }
    let detail = match serde_json::from_str::<Value>(detail_text) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return Err(EntryError {
                code: "MalformedDetail",
                message: "Detail is malformed.".to_owned(),
            });
        }
    };
    Ok(ValidEntry {
        source,
        detail_type,
        detail,
        resources: entry.resources.clone(),
        time: entry.time,
    })
}

/// TestEventPattern's check on its `Event`: a JSON object with `id`,
/// `account`, `source`, `time`, `region` and `detail-type`. Otherwise AWS
/// answers `ValidationException: Parameter Event is not valid.`
pub fn validate_test_event(text: &str) -> Result<Value, EventValidationError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m))
            if ["id", "account", "source", "time", "region", "detail-type"]
                .iter()
                .all(|k| m.contains_key(*k)) =>
        {
            Ok(Value::Object(m))
        }
        _ => Err(EventValidationError),
    }
}

/// TestEventPattern's error for an unusable event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ValidationException: Parameter Event is not valid.")]
pub struct EventValidationError;

impl EventValidationError {
    pub fn name(&self) -> &'static str {
        "ValidationException"
    }
    pub fn message(&self) -> &'static str {
        "Parameter Event is not valid."
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn entry(detail: &str) -> PutEventsEntry {
        PutEventsEntry {
            source: Some("s".into()),
            detail_type: Some("t".into()),
            detail: Some(detail.into()),
            ..PutEventsEntry::default()
        }
    }

    #[test]
    fn entry_errors() {
        let e = validate_put_events_entry(&PutEventsEntry::default()).unwrap_err();
        assert_eq!(e.code, "InvalidArgument");
        assert_eq!(
            e.message,
            "Parameter Source is not valid. Reason: Source is a required argument."
        );
        let e = validate_put_events_entry(&PutEventsEntry {
            source: Some("s".into()),
            ..PutEventsEntry::default()
        })
        .unwrap_err();
        assert_eq!(
            e.message,
            "Parameter DetailType is not valid. Reason: DetailType is a required argument."
        );
        let e = validate_put_events_entry(&entry("[1]")).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            ("MalformedDetail", "Detail is malformed.")
        );
        assert!(validate_put_events_entry(&entry("{nope")).is_err());
        let big = format!("{{\"x\": \"{}\"}}", "a".repeat(MAX_ENTRY_BYTES));
        assert_eq!(
            validate_put_events_entry(&entry(&big)).unwrap_err().code,
            "ValidationException"
        );
    }

    #[test]
    fn envelope_key_order_and_time() {
        let v = validate_put_events_entry(&entry(r#"{"a": 1}"#)).unwrap();
        let t = DateTime::parse_from_rfc3339("2024-05-14T11:23:22.123Z")
            .unwrap()
            .with_timezone(&Utc);
        let e = Event::from_entry(
            v,
            "id-1".into(),
            t,
            "111111111111".into(),
            "us-east-1".into(),
        );
        assert_eq!(
            e.to_json(),
            r#"{"version":"0","id":"id-1","detail-type":"t","source":"s","account":"111111111111","time":"2024-05-14T11:23:22Z","region":"us-east-1","resources":[],"detail":{"a":1}}"#
        );
    }

    #[test]
    fn test_event_validation() {
        assert!(validate_test_event("plain string").is_err());
        assert!(validate_test_event(r#"["plain string"]"#).is_err());
        assert!(validate_test_event(r#"{"testEvent": "value"}"#).is_err());
        assert!(
            validate_test_event(
                r#"{"id":"1","account":"a","source":"s","time":"t","region":"r","detail-type":"d"}"#
            )
            .is_ok()
        );
    }
}
