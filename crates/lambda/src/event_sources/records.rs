//! The SQS event Lambda hands a function (`{"Records": [...]}`), one record per
//! message, and the filter step that comes before it. Pure.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use baton_events::Pattern;
use serde_json::{Map, Value, json};

use baton_platform::bridge::queues::ReceivedMessage;

/// System attributes in the order Lambda lists them.
const ATTRIBUTE_ORDER: &[&str] = &[
    "ApproximateReceiveCount",
    "AWSTraceHeader",
    "SentTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "SenderId",
    "MessageDeduplicationId",
    "ApproximateFirstReceiveTimestamp",
];

/// One message as a record of the SQS event.
pub fn record(message: &ReceivedMessage, event_source_arn: &str, region: &str) -> Value {
    let mut attributes = Map::new();
    for name in ATTRIBUTE_ORDER {
        if let Some(v) = message.attributes.get(*name) {
            attributes.insert((*name).to_owned(), json!(v));
        }
    }
    let message_attributes: Map<String, Value> = message
        .message_attributes
        .iter()
        .map(|(name, a)| {
            let mut v = Map::new();
            if let Some(s) = &a.string_value {
                v.insert("stringValue".into(), json!(s));
            }
            if let Some(b) = &a.binary_value {
                v.insert("binaryValue".into(), json!(STANDARD.encode(b)));
            }
            v.insert("stringListValues".into(), json!([]));
            v.insert("binaryListValues".into(), json!([]));
            v.insert("dataType".into(), json!(a.data_type));
            (name.clone(), Value::Object(v))
        })
        .collect();
    let mut r = Map::new();
    r.insert("messageId".into(), json!(message.message_id));
    r.insert("receiptHandle".into(), json!(message.receipt_handle));
    r.insert("body".into(), json!(message.body));
    r.insert("attributes".into(), Value::Object(attributes));
    r.insert(
        "messageAttributes".into(),
        Value::Object(message_attributes),
    );
    r.insert("md5OfBody".into(), json!(message.md5_of_body));
    if let Some(md5) = &message.md5_of_message_attributes {
        r.insert("md5OfMessageAttributes".into(), json!(md5));
    }
    r.insert("eventSource".into(), json!("aws:sqs"));
    r.insert("eventSourceARN".into(), json!(event_source_arn));
    r.insert("awsRegion".into(), json!(region));
    Value::Object(r)
}

/// The invocation payload for a batch of records.
pub fn event(records: &[Value]) -> Vec<u8> {
    json!({ "Records": records }).to_string().into_bytes()
}

/// What a filter pattern is matched against: the record with its `body` parsed when the
/// body is a JSON object or array. A plain-text body stays a string, so a pattern on
/// `body` fields (JSON) does not match it, and a pattern on `body` as a string does not
/// match a JSON body — Lambda drops the message in both cases.
fn filterable(record: &Value) -> Value {
    let mut r = record.clone();
    if let Some(body) = record.get("body").and_then(Value::as_str)
        && let Ok(parsed) = serde_json::from_str::<Value>(body)
        && (parsed.is_object() || parsed.is_array())
        && let Some(obj) = r.as_object_mut()
    {
        obj.insert("body".into(), parsed);
    }
    r
}

/// Whether a record passes the mapping's filters: any one matching is enough; no
/// filters pass everything.
pub fn passes(patterns: &[Pattern], record: &Value) -> bool {
    if patterns.is_empty() {
        return true;
    }
    let candidate = filterable(record);
    patterns.iter().any(|p| p.matches_json(&candidate))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use baton_platform::bridge::queues::MessageAttribute;

    fn message(body: &str) -> ReceivedMessage {
        let mut attributes = BTreeMap::new();
        for (k, v) in [
            ("SenderId", "123456789012"),
            ("SentTimestamp", "1700000000000"),
            ("ApproximateReceiveCount", "1"),
            ("ApproximateFirstReceiveTimestamp", "1700000000005"),
        ] {
            attributes.insert(k.to_owned(), v.to_owned());
        }
        ReceivedMessage {
            message_id: "m-1".into(),
            receipt_handle: "rh".into(),
            body: body.into(),
            md5_of_body: "md5".into(),
            md5_of_message_attributes: None,
            attributes,
            message_attributes: BTreeMap::new(),
        }
    }

    #[test]
    fn a_record_has_lambdas_sqs_shape() {
        let mut m = message("hello");
        m.message_attributes.insert(
            "color".into(),
            MessageAttribute {
                data_type: "String".into(),
                string_value: Some("red".into()),
                binary_value: None,
            },
        );
        m.message_attributes.insert(
            "blob".into(),
            MessageAttribute {
                data_type: "Binary".into(),
                string_value: None,
                binary_value: Some(vec![1, 2, 3]),
            },
        );
        m.md5_of_message_attributes = Some("md5attrs".into());
        let r = record(&m, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1");
        assert_eq!(
            r,
            json!({
                "messageId": "m-1",
                "receiptHandle": "rh",
                "body": "hello",
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1700000000000",
                    "SenderId": "123456789012",
                    "ApproximateFirstReceiveTimestamp": "1700000000005"
                },
                "messageAttributes": {
                    "blob": {"binaryValue": "AQID", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
                    "color": {"stringValue": "red", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
                },
                "md5OfBody": "md5",
                "md5OfMessageAttributes": "md5attrs",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                "awsRegion": "us-east-1"
            })
        );
        // Lambda's order of the attributes, not alphabetical.
        let keys: Vec<&String> = r["attributes"].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "ApproximateReceiveCount",
                "SentTimestamp",
                "SenderId",
                "ApproximateFirstReceiveTimestamp"
            ]
        );
        let e: Value = serde_json::from_slice(&event(std::slice::from_ref(&r))).unwrap();
        assert_eq!(e, json!({"Records": [r]}));
    }

    #[test]
    fn filters_see_json_bodies_as_json_and_text_as_text() {
        let json_pattern = Pattern::parse(r#"{"body":{"kind":["keep"]}}"#).unwrap();
        let text_pattern = Pattern::parse(r#"{"body":[{"prefix":"keep"}]}"#).unwrap();
        let arn = "arn:aws:sqs:us-east-1:123456789012:q";
        let json_keep = record(&message(r#"{"kind":"keep","n":1}"#), arn, "us-east-1");
        let json_drop = record(&message(r#"{"kind":"drop"}"#), arn, "us-east-1");
        let text_keep = record(&message("keep me"), arn, "us-east-1");
        let text_drop = record(&message("other"), arn, "us-east-1");

        assert!(passes(std::slice::from_ref(&json_pattern), &json_keep));
        assert!(!passes(std::slice::from_ref(&json_pattern), &json_drop));
        // A JSON pattern never matches a plain-text body, and a text pattern never a
        // JSON body.
        assert!(!passes(std::slice::from_ref(&json_pattern), &text_keep));
        assert!(passes(std::slice::from_ref(&text_pattern), &text_keep));
        assert!(!passes(std::slice::from_ref(&text_pattern), &text_drop));
        assert!(!passes(std::slice::from_ref(&text_pattern), &json_keep));
        // Filters are ORed; no filters pass everything.
        assert!(passes(&[json_pattern.clone(), text_pattern], &text_keep));
        assert!(passes(&[], &text_drop));
        // Metadata fields can be matched too.
        let by_count =
            Pattern::parse(r#"{"attributes":{"ApproximateReceiveCount":["1"]}}"#).unwrap();
        assert!(passes(&[by_count], &text_drop));
        // The record handed to the function keeps the body as text.
        assert_eq!(json_keep["body"], json!(r#"{"kind":"keep","n":1}"#));
    }
}
