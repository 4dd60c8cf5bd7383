//! `arn:aws:states:::sqs:sendMessage` (and `.waitForTaskToken`): the Task's parameters
//! are SendMessage's request; its result is SendMessage's response plus the HTTP
//! metadata AWS's SDK adds (`SdkHttpMetadata`, `SdkResponseMetadata`), and SQS's errors
//! become `SQS.<Exception>` with the SDK's cause text, as AWS records them.
//!
//! A repeat after a crash sends the message again (AWS's integration is at-least-once
//! too); a FIFO queue's deduplication id makes the repeat harmless.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use baton_exec::Failure;
use serde_json::{Map, Value, json};

use baton_platform::bridge::MessageSender;
use baton_platform::bridge::queues::{MessageAttribute, SendRequest, SendResult, SqsError};

/// Reads the Task's parameters as SendMessage does: `QueueUrl`, `MessageBody` (JSON
/// that is not a string is sent as its text), attributes, delay, FIFO ids.
fn request(params: &Value) -> Result<(String, SendRequest), SqsError> {
    let obj = params.as_object().cloned().unwrap_or_default();
    let text = |k: &str| -> Result<Option<String>, SqsError> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(SqsError::invalid_parameter(format!(
                "Value for parameter {k} is invalid. Reason: must be a string."
            ))),
        }
    };
    let queue = text("QueueUrl")?.ok_or_else(|| SqsError::missing("QueueUrl"))?;
    let body = match obj.get("MessageBody") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let delay_seconds = match obj.get("DelaySeconds") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| {
            SqsError::invalid_value("DelaySeconds", v, "DelaySeconds must be an integer.")
        })?),
    };
    Ok((
        queue,
        SendRequest {
            body,
            delay_seconds,
            attributes: attributes(obj.get("MessageAttributes"))?,
            system_attributes: attributes(obj.get("MessageSystemAttributes"))?,
            group_id: text("MessageGroupId")?,
            dedup_id: text("MessageDeduplicationId")?,
        },
    ))
}

fn attributes(value: Option<&Value>) -> Result<BTreeMap<String, MessageAttribute>, SqsError> {
    let Some(Value::Object(map)) = value else {
        return Ok(BTreeMap::new());
    };
    let mut out = BTreeMap::new();
    for (name, v) in map {
        let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let data_type = field("DataType").ok_or_else(|| {
            SqsError::invalid_parameter(format!(
                "The message attribute '{name}' must contain non-empty message attribute type."
            ))
        })?;
        let binary_value = match field("BinaryValue") {
            Some(b) => Some(STANDARD.decode(b).map_err(|_| {
                SqsError::invalid_parameter(format!(
                    "The message attribute '{name}' has an invalid binary value."
                ))
            })?),
            None => None,
        };
        out.insert(
            name.clone(),
            MessageAttribute {
                data_type,
                string_value: field("StringValue"),
                binary_value,
            },
        );
    }
    Ok(out)
}

/// SendMessage's response body, in the order the JSON protocol writes it.
fn response_body(r: &SendResult) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(m) = &r.md5_of_attributes {
        out.insert("MD5OfMessageAttributes".into(), json!(m));
    }
    out.insert("MD5OfMessageBody".into(), json!(r.md5_of_body));
    if let Some(m) = &r.md5_of_system_attributes {
        out.insert("MD5OfMessageSystemAttributes".into(), json!(m));
    }
    out.insert("MessageId".into(), json!(r.message_id));
    if let Some(s) = &r.sequence_number {
        out.insert("SequenceNumber".into(), json!(s));
    }
    out
}

/// What the Task receives: the response fields and the SDK's view of the HTTP exchange.
fn task_output(r: &SendResult, request_id: &str, now_ms: i64) -> Value {
    let mut out = response_body(r);
    let body = Value::Object(out.clone()).to_string();
    super::sdk_metadata::add(&mut out, &body, request_id, now_ms);
    Value::Object(out)
}

/// An SQS error as the Task sees it: the SDK's exception name (modelled errors have
/// their own class, the rest are `AmazonSQSException`) and its message format.
fn failure(e: &SqsError, request_id: &str) -> Failure {
    let exception = match e.shape {
        "QueueDoesNotExist" | "InvalidMessageContents" | "UnsupportedOperation" => {
            format!("SQS.{}Exception", e.shape)
        }
        _ => "SQS.AmazonSQSException".to_owned(),
    };
    let status = if e.sender_fault { 400 } else { 500 };
    Failure::new(
        exception,
        format!(
            "{} (Service: AmazonSQS; Status Code: {status}; Error Code: {}; Request ID: {request_id}; Proxy: null)",
            e.message, e.query_code
        ),
    )
}

/// Sends the Task's message; the output or the Task's failure.
pub(crate) async fn send_message(
    sender: Option<&dyn MessageSender>,
    params: &Value,
    now_ms: i64,
) -> Result<Value, Failure> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (queue, message) = request(params).map_err(|e| failure(&e, &request_id))?;
    let Some(sender) = sender else {
        return Err(failure(
            &SqsError::internal("no queues are attached to this server"),
            &request_id,
        ));
    };
    match sender.send_message(&queue, message).await {
        Ok(sent) => Ok(task_output(&sent, &request_id, now_ms)),
        Err(e) => Err(failure(&e, &request_id)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bodies_that_are_not_strings_are_sent_as_json_text() {
        let (queue, r) = request(&json!({"QueueUrl": "q", "MessageBody": {"a": [1]}})).unwrap();
        assert_eq!(queue, "q");
        assert_eq!(r.body, r#"{"a":[1]}"#);
        let (_, r) = request(&json!({"QueueUrl": "q", "MessageBody": null})).unwrap();
        assert_eq!(r.body, "");
        assert_eq!(
            request(&json!({"MessageBody": "x"})).unwrap_err().shape,
            "MissingParameter"
        );
    }

    #[test]
    fn the_output_carries_the_response_and_its_length() {
        let sent = SendResult {
            message_id: "0f0c4d6e-8a3a-4f57-9a43-3a1f0c2b8e11".into(),
            md5_of_body: "0123456789abcdef0123456789abcdef".into(),
            md5_of_attributes: None,
            md5_of_system_attributes: None,
            sequence_number: None,
        };
        let out = task_output(&sent, "r-1", 1_713_421_621_000);
        // AWS's recordings: 106 bytes for a body MD5 and a message id.
        assert_eq!(
            out["SdkHttpMetadata"]["HttpHeaders"]["Content-Length"],
            "106"
        );
        assert_eq!(
            out["SdkHttpMetadata"]["HttpHeaders"]["Date"],
            "Thu, 18 Apr 2024 06:27:01 GMT"
        );
        assert_eq!(out["MessageId"], sent.message_id.as_str());
        assert_eq!(out["SdkResponseMetadata"]["RequestId"], "r-1");
    }

    #[test]
    fn errors_read_as_the_sdk_reports_them() {
        let f = failure(&SqsError::missing("MessageBody"), "r-2");
        assert_eq!(f.error.as_deref(), Some("SQS.AmazonSQSException"));
        assert_eq!(
            f.cause.as_deref().unwrap_or_default(),
            "The request must contain the parameter MessageBody. (Service: AmazonSQS; Status Code: 400; Error Code: MissingParameter; Request ID: r-2; Proxy: null)"
        );
        assert_eq!(
            failure(&SqsError::no_queue(), "r").error.as_deref(),
            Some("SQS.QueueDoesNotExistException")
        );
    }
}
