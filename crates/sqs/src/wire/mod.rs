//! SQS over the AWS JSON 1.0 protocol (`X-Amz-Target: AmazonSQS.<Operation>`), as current
//! SDKs and the `aws` CLI speak it. Requests are read into typed values (`input`) and
//! handed to `Queues`; errors leave with `__type`
//! `com.amazonaws.sqs#<Shape>` and the Query code in `x-amzn-query-error`, which the
//! SDKs report as the error code. Batch operations answer per-entry failures in
//! `Failed`.

mod input;

use std::collections::BTreeMap;

use crate::attributes::MAX_MESSAGE_SIZE;
use crate::{Queues, check_batch_ids};
use async_trait::async_trait;
use axum::http::StatusCode;
use baton_platform::bridge::queues::{
    ReceiveOptions, ReceivedMessage, SendRequest, SendResult, SqsError,
};
use serde_json::{Map, Value, json};

use baton_platform::http::{ApiError, JsonService, Routes, Service};
use input::Req;

/// The SQS service.
pub struct SqsApi {
    queues: Queues,
}

impl SqsApi {
    pub fn new(queues: Queues) -> SqsApi {
        SqsApi { queues }
    }
}

impl Service for SqsApi {
    fn routes(&self) -> Routes {
        Routes::new().json(std::sync::Arc::new(SqsApi::new(self.queues.clone())))
    }
}

pub(crate) fn sqs_error(e: SqsError) -> ApiError {
    let fault = if e.sender_fault { "Sender" } else { "Receiver" };
    ApiError {
        status: if e.sender_fault {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        },
        code: format!("com.amazonaws.sqs#{}", e.shape),
        query_error: Some(format!("{};{fault}", e.query_code)),
        message: e.message,
    }
}

fn err(e: SqsError) -> ApiError {
    sqs_error(e)
}

/// A batch entry's failure as SQS reports it.
fn failure(id: &str, e: &SqsError) -> Value {
    json!({
        "Id": id,
        "SenderFault": e.sender_fault,
        "Code": e.query_code,
        "Message": e.message,
    })
}

fn attrs_json(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn send_result_json(r: &SendResult) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("MessageId".into(), json!(r.message_id));
    out.insert("MD5OfMessageBody".into(), json!(r.md5_of_body));
    if let Some(m) = &r.md5_of_attributes {
        out.insert("MD5OfMessageAttributes".into(), json!(m));
    }
    if let Some(m) = &r.md5_of_system_attributes {
        out.insert("MD5OfMessageSystemAttributes".into(), json!(m));
    }
    if let Some(s) = &r.sequence_number {
        out.insert("SequenceNumber".into(), json!(s));
    }
    out
}

fn received_json(m: &ReceivedMessage) -> Value {
    let mut out = json!({
        "MessageId": m.message_id,
        "ReceiptHandle": m.receipt_handle,
        "MD5OfBody": m.md5_of_body,
        "Body": m.body,
    });
    if !m.attributes.is_empty() {
        out["Attributes"] = attrs_json(&m.attributes);
    }
    if let Some(md5) = &m.md5_of_message_attributes {
        out["MD5OfMessageAttributes"] = json!(md5);
        out["MessageAttributes"] = Value::Object(
            m.message_attributes
                .iter()
                .map(|(k, a)| (k.clone(), a.to_json()))
                .collect(),
        );
    }
    out
}

fn send_request(r: &Req<'_>) -> Result<SendRequest, ApiError> {
    Ok(SendRequest {
        body: r.opt_str("MessageBody")?.unwrap_or("").to_owned(),
        delay_seconds: r.opt_int("DelaySeconds")?,
        attributes: r.message_attributes("MessageAttributes")?,
        system_attributes: r.message_attributes("MessageSystemAttributes")?,
        group_id: r.opt_str("MessageGroupId")?.map(str::to_owned),
        dedup_id: r.opt_str("MessageDeduplicationId")?.map(str::to_owned),
    })
}

/// Batch entry ids, checked (count, form, distinctness) before anything runs.
fn batch_ids(entries: &[Req<'_>], entry_shape: &str) -> Result<Vec<String>, ApiError> {
    let ids = entries
        .iter()
        .map(|e| e.str("Id").map(str::to_owned))
        .collect::<Result<Vec<_>, _>>()?;
    check_batch_ids(ids.iter().map(String::as_str), entry_shape).map_err(err)?;
    Ok(ids)
}

/// Splits per-entry outcomes into `Successful` and `Failed`.
fn batch_answer<T>(
    ids: &[String],
    outcomes: Vec<Result<T, SqsError>>,
    ok: impl Fn(&str, T) -> Value,
) -> Value {
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    for (id, outcome) in ids.iter().zip(outcomes) {
        match outcome {
            Ok(v) => successful.push(ok(id, v)),
            Err(e) => failed.push(failure(id, &e)),
        }
    }
    json!({"Successful": successful, "Failed": failed})
}

impl SqsApi {
    fn queue(&self, r: &Req<'_>) -> Result<String, ApiError> {
        self.queues.name_from_url(r.str("QueueUrl")?).map_err(err)
    }

    async fn dispatch(&self, operation: &str, r: &Req<'_>) -> Result<Value, ApiError> {
        let q = &self.queues;
        match operation {
            "CreateQueue" => {
                let name = r.str("QueueName")?;
                let url = q
                    .create_queue(name, r.string_map("Attributes")?, r.string_map("tags")?)
                    .await
                    .map_err(err)?;
                Ok(json!({"QueueUrl": url}))
            }
            "GetQueueUrl" => {
                let url = q.get_queue_url(r.str("QueueName")?).await.map_err(err)?;
                Ok(json!({"QueueUrl": url}))
            }
            "ListQueues" => {
                let (urls, token) = q
                    .list_queues(
                        r.opt_str("QueueNamePrefix")?.unwrap_or(""),
                        r.opt_int("MaxResults")?,
                        r.opt_str("NextToken")?,
                    )
                    .await
                    .map_err(err)?;
                let mut out = json!({});
                if !urls.is_empty() {
                    out["QueueUrls"] = json!(urls);
                }
                if let Some(t) = token {
                    out["NextToken"] = json!(t);
                }
                Ok(out)
            }
            "DeleteQueue" => {
                q.delete_queue(&self.queue(r)?).await.map_err(err)?;
                Ok(json!({}))
            }
            "GetQueueAttributes" => {
                let names = r.string_list("AttributeNames")?;
                let attrs = q
                    .get_attributes(&self.queue(r)?, &names)
                    .await
                    .map_err(err)?;
                if attrs.is_empty() {
                    return Ok(json!({}));
                }
                Ok(json!({"Attributes": attrs_json(&attrs)}))
            }
            "SetQueueAttributes" => {
                q.set_attributes(&self.queue(r)?, r.string_map("Attributes")?)
                    .await
                    .map_err(err)?;
                Ok(json!({}))
            }
            "TagQueue" => {
                q.tag_queue(&self.queue(r)?, r.string_map("Tags")?)
                    .await
                    .map_err(err)?;
                Ok(json!({}))
            }
            "UntagQueue" => {
                q.untag_queue(&self.queue(r)?, &r.string_list("TagKeys")?)
                    .await
                    .map_err(err)?;
                Ok(json!({}))
            }
            "ListQueueTags" => {
                let tags = q.list_tags(&self.queue(r)?).await.map_err(err)?;
                if tags.is_empty() {
                    return Ok(json!({}));
                }
                Ok(json!({"Tags": attrs_json(&tags)}))
            }
            "ListDeadLetterSourceQueues" => {
                let urls = q.dead_letter_sources(&self.queue(r)?).await.map_err(err)?;
                Ok(json!({"queueUrls": urls}))
            }
            "SendMessage" => {
                let queue = self.queue(r)?;
                let result = q
                    .send_message(&queue, send_request(r)?)
                    .await
                    .map_err(err)?;
                Ok(Value::Object(send_result_json(&result)))
            }
            "SendMessageBatch" => {
                let queue = self.queue(r)?;
                let entries = r.objects("Entries")?;
                let ids = batch_ids(&entries, "SendMessageBatchRequestEntry")?;
                let requests = entries
                    .iter()
                    .map(send_request)
                    .collect::<Result<Vec<_>, _>>()?;
                let total: usize = requests.iter().map(SendRequest::size).sum();
                let limit = usize::try_from(MAX_MESSAGE_SIZE).unwrap_or(usize::MAX);
                if total > limit {
                    return Err(err(SqsError::batch_too_long(limit, total)));
                }
                let outcomes = q.send_batch(&queue, requests).await.map_err(err)?;
                Ok(batch_answer(&ids, outcomes, |id, r| {
                    let mut m = send_result_json(&r);
                    m.insert("Id".into(), json!(id));
                    Value::Object(m)
                }))
            }
            "ReceiveMessage" => {
                let queue = self.queue(r)?;
                let mut attribute_names = r.string_list("AttributeNames")?;
                attribute_names.extend(r.string_list("MessageSystemAttributeNames")?);
                let options = ReceiveOptions {
                    max_messages: r.opt_int("MaxNumberOfMessages")?,
                    visibility_timeout: r.opt_int("VisibilityTimeout")?,
                    wait_seconds: r.opt_int("WaitTimeSeconds")?,
                    attribute_names,
                    message_attribute_names: r.string_list("MessageAttributeNames")?,
                };
                let messages = q.receive(&queue, options).await.map_err(err)?;
                if messages.is_empty() {
                    return Ok(json!({}));
                }
                Ok(json!({"Messages": messages.iter().map(received_json).collect::<Vec<_>>()}))
            }
            "DeleteMessage" => {
                let queue = self.queue(r)?;
                let handle = r.str("ReceiptHandle")?.to_owned();
                let mut outcome = q.delete_messages(&queue, vec![handle]).await.map_err(err)?;
                outcome.pop().unwrap_or(Ok(())).map_err(err)?;
                Ok(json!({}))
            }
            "DeleteMessageBatch" => {
                let queue = self.queue(r)?;
                let entries = r.objects("Entries")?;
                let ids = batch_ids(&entries, "DeleteMessageBatchRequestEntry")?;
                let handles = entries
                    .iter()
                    .map(|e| e.str("ReceiptHandle").map(str::to_owned))
                    .collect::<Result<Vec<_>, _>>()?;
                let outcomes = q.delete_messages(&queue, handles).await.map_err(err)?;
                Ok(batch_answer(&ids, outcomes, |id, ()| json!({"Id": id})))
            }
            "ChangeMessageVisibility" => {
                let queue = self.queue(r)?;
                let change = (
                    r.str("ReceiptHandle")?.to_owned(),
                    r.int("VisibilityTimeout")?,
                );
                let mut outcome = q
                    .change_visibility(&queue, vec![change])
                    .await
                    .map_err(err)?;
                outcome.pop().unwrap_or(Ok(())).map_err(err)?;
                Ok(json!({}))
            }
            "ChangeMessageVisibilityBatch" => {
                let queue = self.queue(r)?;
                let entries = r.objects("Entries")?;
                let ids = batch_ids(&entries, "ChangeMessageVisibilityBatchRequestEntry")?;
                let changes = entries
                    .iter()
                    .map(|e| {
                        Ok((
                            e.str("ReceiptHandle")?.to_owned(),
                            e.int("VisibilityTimeout")?,
                        ))
                    })
                    .collect::<Result<Vec<_>, ApiError>>()?;
                let outcomes = q.change_visibility(&queue, changes).await.map_err(err)?;
                Ok(batch_answer(&ids, outcomes, |id, ()| json!({"Id": id})))
            }
            "PurgeQueue" => {
                q.purge_queue(&self.queue(r)?).await.map_err(err)?;
                Ok(json!({}))
            }
            "AddPermission"
            | "RemovePermission"
            | "StartMessageMoveTask"
            | "CancelMessageMoveTask"
            | "ListMessageMoveTasks" => Err(err(SqsError::unsupported(operation))),
            other => Err(ApiError::unknown_operation("SQS", other)),
        }
    }
}

#[async_trait]
impl JsonService for SqsApi {
    fn target_prefix(&self) -> &'static str {
        "AmazonSQS"
    }

    async fn call(&self, operation: &str, body: Value) -> Result<Value, ApiError> {
        let empty = Map::new();
        let map = body.as_object().unwrap_or(&empty);
        self.dispatch(operation, &Req(map)).await
    }
}
