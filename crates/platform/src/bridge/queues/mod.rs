//! The queue half of the bridges: how other services send to SQS queues (rule targets,
//! dead-letter queues, `sqs:sendMessage` tasks) and consume from them (event source
//! mappings), and the message values that cross.

mod error;

use std::collections::BTreeMap;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

pub use error::SqsError;

/// Sends messages to SQS queues. Implemented by the queues service; the buses call it
/// for SQS targets and dead-letter queues, Step Functions for `sqs:sendMessage`.
#[async_trait]
pub trait MessageSender: Send + Sync + 'static {
    /// Sends one message to `queue` (a queue URL or ARN of this server's account).
    ///
    /// # Contract
    /// `Ok` means the message is stored (durable) and visible to receives once its delay
    /// ends. `Err` is SendMessage's own error for the same request, with SQS's names.
    async fn send_message(&self, queue: &str, message: SendRequest)
    -> Result<SendResult, SqsError>;
}

/// Consumes messages from SQS queues as any consumer does. Implemented by the queues
/// service; Lambda's event source mappings poll through it, so visibility timeouts,
/// receive counts and redrive policies apply to them as to every other consumer.
#[async_trait]
pub trait QueueConsumer: Send + Sync + 'static {
    /// The settings of the queue named `name` that a consumer must respect.
    ///
    /// # Contract
    /// `Err` with `sender_fault` when there is no such queue (`QueueDoesNotExist`).
    async fn queue_facts(&self, name: &str) -> Result<QueueFacts, SqsError>;

    /// ReceiveMessage on the queue named `queue`.
    ///
    /// # Contract
    /// As ReceiveMessage: each returned message is invisible to other consumers until its
    /// visibility timeout ends, its receive count is raised, and messages past the
    /// queue's `maxReceiveCount` have moved to its dead-letter queue first.
    async fn receive(
        &self,
        queue: &str,
        options: ReceiveOptions,
    ) -> Result<Vec<ReceivedMessage>, SqsError>;

    /// DeleteMessageBatch on the queue named `queue`: one answer per handle, in order.
    async fn delete_messages(
        &self,
        queue: &str,
        handles: Vec<String>,
    ) -> Result<Vec<Result<(), SqsError>>, SqsError>;
}

/// What a consumer needs to know of a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFacts {
    pub fifo: bool,
    /// The queue's default visibility timeout, in seconds.
    pub visibility_timeout: i64,
}

/// One message attribute (`DataType` is `String`, `Number` or `Binary`, optionally with
/// a `.custom` suffix).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageAttribute {
    pub data_type: String,
    pub string_value: Option<String>,
    pub binary_value: Option<Vec<u8>>,
}

impl SendRequest {
    /// Its size as AWS counts it: the body and every message attribute.
    pub fn size(&self) -> usize {
        self.body.len()
            + self
                .attributes
                .iter()
                .map(|(k, a)| a.size(k))
                .sum::<usize>()
    }
}

impl MessageAttribute {
    /// Its size as AWS counts it toward the message size: name, type and value.
    pub fn size(&self, name: &str) -> usize {
        name.len()
            + self.data_type.len()
            + self.string_value.as_ref().map_or(0, String::len)
            + self.binary_value.as_ref().map_or(0, Vec::len)
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({"DataType": self.data_type});
        if let Some(s) = &self.string_value {
            v["StringValue"] = json!(s);
        }
        if let Some(b) = &self.binary_value {
            v["BinaryValue"] = json!(STANDARD.encode(b));
        }
        v
    }
}

/// One message to send.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SendRequest {
    pub body: String,
    pub delay_seconds: Option<i64>,
    pub attributes: BTreeMap<String, MessageAttribute>,
    pub system_attributes: BTreeMap<String, MessageAttribute>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
}

/// What SendMessage answers.
#[derive(Debug, Clone, PartialEq)]
pub struct SendResult {
    pub message_id: String,
    pub md5_of_body: String,
    pub md5_of_attributes: Option<String>,
    pub md5_of_system_attributes: Option<String>,
    pub sequence_number: Option<String>,
}

/// What ReceiveMessage asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReceiveOptions {
    pub max_messages: Option<i64>,
    pub visibility_timeout: Option<i64>,
    pub wait_seconds: Option<i64>,
    /// System attribute names (`All`, `SentTimestamp`, …).
    pub attribute_names: Vec<String>,
    /// Message attribute names (`All`, `.*`, `prefix.*`, exact names).
    pub message_attribute_names: Vec<String>,
}

/// One received message.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub md5_of_body: String,
    pub md5_of_message_attributes: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub message_attributes: BTreeMap<String, MessageAttribute>,
}
