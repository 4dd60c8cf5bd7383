//! SQS-style queues: the service behind the `AmazonSQS` API.
//!
//! `attributes` (names, defaults, AWS's checks), `messages` (stored attribute encoding,
//! body and attribute checks), `checksums` (the MD5s SDKs verify, content-based
//! deduplication ids), `long_poll` (wake-ups for waiting receives); `wire` is the
//! `AmazonSQS` JSON API, `store` the durable tables. Message shapes and [`SqsError`]
//! (AWS's names) are the bridge's, as other services see them too. Messages live in the
//! store (`QueueStore`); a send is durable before it is answered, and a receive claims
//! messages in one store call.

pub mod attributes;
pub mod checksums;
pub mod long_poll;
pub mod messages;
pub mod store;
pub mod wire;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::store::{
    NewMessage, QueueRecord, QueueStore, ReceiveRequest, Redrive, VisibilityChange,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use baton_platform::bridge::queues::{
    MessageAttribute, QueueFacts, ReceiveOptions, ReceivedMessage, SendRequest, SendResult,
    SqsError,
};
use baton_platform::clock::{Clock, Millis};
use baton_platform::store::StoreError;

pub use attributes::QueueSettings;

/// FIFO deduplication window.
const DEDUP_WINDOW_MS: Millis = 5 * 60 * 1000;
/// Entries in one batch request.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// Queues ListQueues returns without `MaxResults`.
const LIST_LIMIT: usize = 1000;

/// Where queue URLs and ARNs point.
#[derive(Debug, Clone)]
pub struct QueuesConfig {
    pub region: String,
    pub account: String,
    /// `http://host:port`, the prefix of every queue URL.
    pub base_url: String,
}

/// The queues service.
#[derive(Clone)]
pub struct Queues {
    store: Arc<dyn QueueStore>,
    config: Arc<QueuesConfig>,
    clock: Arc<dyn Clock>,
    waiters: Arc<long_poll::Waiters>,
    /// Last PurgeQueue per queue (AWS allows one per 60 s). Per node, not stored.
    purges: Arc<Mutex<HashMap<String, Millis>>>,
    /// When each queue was deleted through this node: AWS refuses a queue of the same
    /// name for 60 s after. Per node, not stored.
    deleted: Arc<Mutex<HashMap<String, Millis>>>,
}

/// One batch entry's failure.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchFailure {
    pub id: String,
    pub error: SqsError,
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if getrandom::fill(&mut buf).is_err() {
        // Never observed; fall back to a UUID's randomness.
        return uuid::Uuid::new_v4().simple().to_string();
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks batch entry ids: 1..=10 entries, well-formed, distinct.
pub fn check_batch_ids<'a>(
    ids: impl ExactSizeIterator<Item = &'a str>,
    entry_shape: &str,
) -> Result<(), SqsError> {
    let n = ids.len();
    if n == 0 {
        return Err(SqsError::empty_batch(entry_shape));
    }
    if n > MAX_BATCH_ENTRIES {
        return Err(SqsError::too_many_entries(n));
    }
    let mut seen = HashSet::new();
    for id in ids {
        let ok = !id.is_empty()
            && id.len() <= 80
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(SqsError::invalid_batch_id());
        }
        if !seen.insert(id) {
            return Err(SqsError::ids_not_distinct(id));
        }
    }
    Ok(())
}

impl Queues {
    pub fn new(store: Arc<dyn QueueStore>, config: QueuesConfig, clock: Arc<dyn Clock>) -> Queues {
        Queues {
            store,
            config: Arc::new(config),
            clock,
            waiters: Arc::default(),
            purges: Arc::default(),
            deleted: Arc::default(),
        }
    }

    pub fn config(&self) -> &QueuesConfig {
        &self.config
    }

    pub fn queue_url(&self, name: &str) -> String {
        format!(
            "{}/{}/{}",
            self.config.base_url.trim_end_matches('/'),
            self.config.account,
            name
        )
    }

    pub fn queue_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:sqs:{}:{}:{}",
            self.config.region, self.config.account, name
        )
    }

    /// The queue a URL names: its last path segment, under this account.
    pub fn name_from_url(&self, url: &str) -> Result<String, SqsError> {
        let path = url
            .split_once("://")
            .map_or(url, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
        let mut parts = path.trim_end_matches('/').rsplit('/');
        let name = parts.next().unwrap_or("");
        let account = parts.next();
        if name.is_empty() || account.is_some_and(|a| a != self.config.account) {
            return Err(SqsError::no_queue());
        }
        Ok(name.to_owned())
    }

    /// A queue's settings (`QueueDoesNotExist` when there is none): what an event
    /// source mapping checks at creation (FIFO, visibility timeout).
    pub async fn settings(&self, name: &str) -> Result<QueueSettings, SqsError> {
        Ok(self.load(name).await?.1)
    }

    /// The queue an ARN (`arn:aws:sqs:<region>:<account>:<name>`) or a URL names, as
    /// other services (rule targets, dead-letter configs, Task parameters) refer to it.
    pub fn name_from_reference(&self, queue: &str) -> Result<String, SqsError> {
        let Some(rest) = queue.strip_prefix("arn:") else {
            return self.name_from_url(queue);
        };
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        match parts.as_slice() {
            [_, "sqs", region, account, name]
                if *region == self.config.region
                    && *account == self.config.account
                    && !name.is_empty() =>
            {
                Ok((*name).to_owned())
            }
            _ => Err(SqsError::no_queue()),
        }
    }

    async fn load(&self, name: &str) -> Result<(QueueRecord, QueueSettings), SqsError> {
        let record = self
            .store
            .get_queue(name)
            .await?
            .ok_or_else(SqsError::no_queue)?;
        let settings = attributes::settings(record.fifo, &record.attributes);
        Ok((record, settings))
    }

    /// CreateQueue: the queue's URL. Creating a queue that exists with the same
    /// attributes answers its URL; with different ones, `QueueAlreadyExists`.
    pub async fn create_queue(
        &self,
        name: &str,
        given: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    ) -> Result<String, SqsError> {
        let fifo = given
            .get("FifoQueue")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        attributes::check_name(name, fifo)?;
        let merged = attributes::merge(&attributes::defaults(fifo), &given, fifo, true)?;
        self.check_dead_letter_target(name, fifo, &merged).await?;
        let now = self.clock.now_millis();
        {
            let mut deleted = self.deleted.lock().unwrap_or_else(|e| e.into_inner());
            deleted.retain(|_, at| now - *at < 60_000);
            if deleted.contains_key(name) {
                return Err(SqsError::deleted_recently());
            }
        }
        let record = QueueRecord {
            name: name.to_owned(),
            fifo,
            attributes: merged.clone(),
            tags,
            created_ms: now,
            modified_ms: now,
        };
        match self.store.create_queue(record).await {
            Ok(()) => Ok(self.queue_url(name)),
            Err(StoreError::AlreadyExists(_)) => {
                let (existing, _) = self.load(name).await?;
                if let Some(differs) = given
                    .iter()
                    .filter(|(k, _)| *k != "FifoQueue" || existing.fifo)
                    .find(|(k, v)| existing.attributes.get(*k) != Some(*v))
                    .map(|(k, _)| k.clone())
                    .or_else(|| (existing.fifo != fifo).then(|| "FifoQueue".to_owned()))
                {
                    return Err(SqsError::queue_exists(format!(
                        "A queue already exists with the same name and a different value for attribute {differs}"
                    )));
                }
                Ok(self.queue_url(name))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A redrive policy must name an existing queue of the same kind.
    async fn check_dead_letter_target(
        &self,
        name: &str,
        fifo: bool,
        attrs: &BTreeMap<String, String>,
    ) -> Result<(), SqsError> {
        let Some(policy) = attributes::settings(fifo, attrs).redrive else {
            return Ok(());
        };
        let target = attributes::queue_name_of_arn(&policy.dead_letter_target_arn);
        let bad = |reason: &str| {
            SqsError::invalid_attribute_value(format!(
                "Value {} for parameter RedrivePolicy is invalid. Reason: {reason}",
                attrs.get("RedrivePolicy").map_or("", String::as_str)
            ))
        };
        match self.store.get_queue(target).await? {
            None => Err(bad("Dead letter target does not exist.")),
            Some(q) if q.fifo != fifo => Err(bad(
                "Dead-letter queue must be same type of queue as the source..",
            )),
            Some(_) if target == name => {
                Err(bad("Dead letter target must differ from the source queue."))
            }
            Some(_) => Ok(()),
        }
    }

    pub async fn get_queue_url(&self, name: &str) -> Result<String, SqsError> {
        self.load(name).await?;
        Ok(self.queue_url(name))
    }

    /// ListQueues: URLs in name order and the token for the next page.
    pub async fn list_queues(
        &self,
        prefix: &str,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>), SqsError> {
        let limit = match max_results {
            None => LIST_LIMIT,
            Some(n) if (1..=1000).contains(&n) => usize::try_from(n).unwrap_or(LIST_LIMIT),
            Some(n) => {
                return Err(SqsError::invalid_value(
                    "MaxResults",
                    n,
                    "MaxResults must be an integer between 1 and 1000.",
                ));
            }
        };
        let after = match next_token {
            Some(t) => Some(
                URL_SAFE_NO_PAD
                    .decode(t)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| SqsError::invalid_parameter("Invalid NextToken value."))?,
            ),
            None => None,
        };
        let mut names = self
            .store
            .list_queues(prefix, after.as_deref(), limit + 1)
            .await?;
        let more = names.len() > limit;
        names.truncate(limit);
        let token = (more && max_results.is_some())
            .then(|| names.last().map(|n| URL_SAFE_NO_PAD.encode(n)))
            .flatten();
        Ok((names.iter().map(|n| self.queue_url(n)).collect(), token))
    }

    pub async fn delete_queue(&self, name: &str) -> Result<(), SqsError> {
        self.store.delete_queue(name).await?;
        self.waiters.forget(name);
        let now = self.clock.now_millis();
        self.deleted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_owned(), now);
        Ok(())
    }

    /// GetQueueAttributes: the named attributes (`All` for every one).
    pub async fn get_attributes(
        &self,
        name: &str,
        names: &[String],
    ) -> Result<BTreeMap<String, String>, SqsError> {
        for n in names {
            if n != "All" && !attributes::is_known(n) {
                return Err(SqsError::invalid_attribute_name(n));
            }
        }
        let (record, settings) = self.load(name).await?;
        let now = self.clock.now_millis();
        let counts = self
            .store
            .queue_counts(name, now, settings.retention_seconds.saturating_mul(1000))
            .await?;
        let mut all = record.attributes.clone();
        all.insert("QueueArn".into(), self.queue_arn(name));
        all.insert(
            "ApproximateNumberOfMessages".into(),
            counts.visible.to_string(),
        );
        all.insert(
            "ApproximateNumberOfMessagesNotVisible".into(),
            counts.in_flight.to_string(),
        );
        all.insert(
            "ApproximateNumberOfMessagesDelayed".into(),
            counts.delayed.to_string(),
        );
        all.insert(
            "CreatedTimestamp".into(),
            (record.created_ms / 1000).to_string(),
        );
        all.insert(
            "LastModifiedTimestamp".into(),
            (record.modified_ms / 1000).to_string(),
        );
        if names.iter().any(|n| n == "All") {
            return Ok(all);
        }
        Ok(all.into_iter().filter(|(k, _)| names.contains(k)).collect())
    }

    pub async fn set_attributes(
        &self,
        name: &str,
        given: BTreeMap<String, String>,
    ) -> Result<(), SqsError> {
        let (mut record, _) = self.load(name).await?;
        let merged = attributes::merge(&record.attributes, &given, record.fifo, false)?;
        self.check_dead_letter_target(name, record.fifo, &merged)
            .await?;
        record.attributes = merged;
        record.modified_ms = self.clock.now_millis();
        self.store.update_queue(record).await?;
        Ok(())
    }

    pub async fn tag_queue(
        &self,
        name: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<(), SqsError> {
        let (mut record, _) = self.load(name).await?;
        record.tags.extend(tags);
        if record.tags.len() > 50 {
            return Err(SqsError::invalid_parameter(
                "Too many tags added for queue.",
            ));
        }
        self.store.update_queue(record).await?;
        Ok(())
    }

    pub async fn untag_queue(&self, name: &str, keys: &[String]) -> Result<(), SqsError> {
        let (mut record, _) = self.load(name).await?;
        for k in keys {
            record.tags.remove(k);
        }
        self.store.update_queue(record).await?;
        Ok(())
    }

    pub async fn list_tags(&self, name: &str) -> Result<BTreeMap<String, String>, SqsError> {
        Ok(self.load(name).await?.0.tags)
    }

    pub async fn dead_letter_sources(&self, name: &str) -> Result<Vec<String>, SqsError> {
        self.load(name).await?;
        let sources = self.store.dead_letter_sources(name).await?;
        Ok(sources.iter().map(|n| self.queue_url(n)).collect())
    }

    /// Validates one message for this queue and turns it into what the store keeps.
    fn prepare(
        &self,
        settings: &QueueSettings,
        request: SendRequest,
        now: Millis,
    ) -> Result<(NewMessage, SendResult), SqsError> {
        messages::check_body(&request.body)?;
        messages::check_attributes(&request.attributes)?;
        messages::check_system_attributes(&request.system_attributes)?;
        let size = request.size();
        if i64::try_from(size).unwrap_or(i64::MAX) > settings.maximum_message_size {
            return Err(SqsError::invalid_parameter(format!(
                "One or more parameters are invalid. Reason: Message must be shorter than {} bytes.",
                settings.maximum_message_size
            )));
        }
        if let Some(d) = request.delay_seconds
            && !(0..=900).contains(&d)
        {
            return Err(SqsError::invalid_value(
                "DelaySeconds",
                d,
                "DelaySeconds must be >= 0 and <= 900.",
            ));
        }
        let (group_id, dedup) = if settings.fifo {
            if let Some(d) = request.delay_seconds {
                return Err(SqsError::invalid_value(
                    "DelaySeconds",
                    d,
                    "The request include parameter that is not valid for this queue type",
                ));
            }
            let group = request
                .group_id
                .clone()
                .ok_or_else(|| SqsError::missing("MessageGroupId"))?;
            check_fifo_id("MessageGroupId", &group)?;
            let dedup_id = match &request.dedup_id {
                Some(id) => {
                    check_fifo_id("MessageDeduplicationId", id)?;
                    id.clone()
                }
                None if settings.content_based_deduplication => {
                    checksums::sha256_of_body(&request.body)
                }
                None => {
                    return Err(SqsError::invalid_parameter(
                        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                    ));
                }
            };
            let key = if settings.dedup_per_group {
                format!("{group}\u{0}{dedup_id}")
            } else {
                dedup_id.clone()
            };
            (Some(group), Some((key, dedup_id)))
        } else {
            if let Some(id) = &request.dedup_id {
                return Err(SqsError::invalid_value(
                    "MessageDeduplicationId",
                    id,
                    "The request include parameter that is not valid for this queue type",
                ));
            }
            (request.group_id.clone(), None)
        };
        let delay = request.delay_seconds.unwrap_or(settings.delay_seconds);
        let md5_of_body = checksums::md5_of_body(&request.body);
        let md5_of_attributes = checksums::md5_of_attributes(&request.attributes);
        let md5_of_system = checksums::md5_of_attributes(&request.system_attributes);
        let message_id = uuid::Uuid::new_v4().to_string();
        let message = NewMessage {
            message_id: message_id.clone(),
            attributes: messages::encode_attributes(
                &request.attributes,
                &request.system_attributes,
            ),
            body: request.body,
            md5_of_body: md5_of_body.clone(),
            md5_of_attributes: md5_of_attributes.clone(),
            visible_at_ms: now.saturating_add(delay.saturating_mul(1000)),
            group_id,
            dedup: dedup
                .as_ref()
                .map(|(key, _)| (key.clone(), now.saturating_add(DEDUP_WINDOW_MS))),
            dedup_id: dedup.map(|(_, id)| id),
        };
        let result = SendResult {
            message_id,
            md5_of_body,
            md5_of_attributes,
            md5_of_system_attributes: md5_of_system,
            sequence_number: None,
        };
        Ok((message, result))
    }

    /// SendMessage.
    pub async fn send_message(
        &self,
        queue: &str,
        request: SendRequest,
    ) -> Result<SendResult, SqsError> {
        let mut results = self.send_batch(queue, vec![request]).await?;
        results
            .pop()
            .unwrap_or_else(|| Err(SqsError::internal("empty send result")))
    }

    /// SendMessage(Batch): one answer per entry, in order. Valid entries are stored in
    /// one store call; invalid ones fail alone.
    pub async fn send_batch(
        &self,
        queue: &str,
        requests: Vec<SendRequest>,
    ) -> Result<Vec<Result<SendResult, SqsError>>, SqsError> {
        let (_, settings) = self.load(queue).await?;
        let now = self.clock.now_millis();
        let mut answers: Vec<Result<SendResult, SqsError>> = Vec::with_capacity(requests.len());
        let mut to_store = Vec::new();
        let mut slots = Vec::new();
        for request in requests {
            match self.prepare(&settings, request, now) {
                Ok((message, result)) => {
                    slots.push(answers.len());
                    to_store.push(message);
                    answers.push(Ok(result));
                }
                Err(e) => answers.push(Err(e)),
            }
        }
        if to_store.is_empty() {
            return Ok(answers);
        }
        let stored = self.store.send_messages(queue, to_store, now).await?;
        for (slot, sent) in slots.into_iter().zip(stored) {
            if let Some(Ok(result)) = answers.get_mut(slot) {
                result.message_id = sent.message_id;
                if settings.fifo {
                    result.sequence_number = Some(format!("{:020}", sent.sequence));
                }
            }
        }
        self.waiters.wake(queue);
        Ok(answers)
    }

    /// ReceiveMessage, long polling up to the wait time (the request's, else the
    /// queue's `ReceiveMessageWaitTimeSeconds`).
    pub async fn receive(
        &self,
        queue: &str,
        options: ReceiveOptions,
    ) -> Result<Vec<ReceivedMessage>, SqsError> {
        let max = options.max_messages.unwrap_or(1);
        if !(1..=10).contains(&max) {
            return Err(SqsError::invalid_value(
                "MaxNumberOfMessages",
                max,
                "Must be between 1 and 10, if provided.",
            ));
        }
        if let Some(v) = options.visibility_timeout
            && !(0..=43_200).contains(&v)
        {
            return Err(SqsError::invalid_value(
                "VisibilityTimeout",
                v,
                "Must be >= 0 and <= 43200, if provided.",
            ));
        }
        if let Some(w) = options.wait_seconds
            && !(0..=20).contains(&w)
        {
            return Err(SqsError::invalid_value(
                "WaitTimeSeconds",
                w,
                "Must be >= 0 and <= 20, if provided.",
            ));
        }
        let (_, settings) = self.load(queue).await?;
        let wait_ms = options.wait_seconds.unwrap_or(settings.wait_seconds) * 1000;
        let deadline = self.clock.now_millis().saturating_add(wait_ms);
        let notify = self.waiters.get(queue);
        loop {
            // Registered before looking, so a send between the look and the wait wakes it.
            let notified = notify.notified();
            let now = self.clock.now_millis();
            let (_, settings) = self.load(queue).await?;
            let received = self
                .store
                .receive_messages(ReceiveRequest {
                    queue: queue.to_owned(),
                    now_ms: now,
                    visibility_ms: options
                        .visibility_timeout
                        .unwrap_or(settings.visibility_timeout)
                        .saturating_mul(1000),
                    retention_ms: settings.retention_seconds.saturating_mul(1000),
                    redrive: settings.redrive.as_ref().map(|r| Redrive {
                        dead_letter_queue: attributes::queue_name_of_arn(&r.dead_letter_target_arn)
                            .to_owned(),
                        max_receive_count: r.max_receive_count,
                    }),
                    receipt_handles: (0..max).map(|_| self.new_receipt_handle(queue)).collect(),
                })
                .await?;
            if received.dead_lettered > 0
                && let Some(r) = &settings.redrive
            {
                self.waiters
                    .wake(attributes::queue_name_of_arn(&r.dead_letter_target_arn));
            }
            if !received.messages.is_empty() || now >= deadline {
                return Ok(received
                    .messages
                    .into_iter()
                    .map(|m| self.to_received(m, &options))
                    .collect());
            }
            let mut until = deadline.min(
                now.saturating_add(i64::try_from(long_poll::RECHECK.as_millis()).unwrap_or(1000)),
            );
            if let Some(next) = received.next_visible_ms {
                until = until.min(next);
            }
            let sleep = Duration::from_millis(u64::try_from(until - now).unwrap_or(0).max(1));
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep(sleep) => {}
            }
        }
    }

    fn new_receipt_handle(&self, queue: &str) -> String {
        URL_SAFE_NO_PAD.encode(format!("{queue}\n{}", random_hex(24)))
    }

    /// Checks that a receipt handle is one this service issued for `queue`.
    fn check_handle(&self, queue: &str, handle: &str) -> Result<(), SqsError> {
        let ok = URL_SAFE_NO_PAD
            .decode(handle)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .is_some_and(|s| s.split_once('\n').is_some_and(|(q, _)| q == queue));
        if ok {
            Ok(())
        } else {
            Err(SqsError::invalid_receipt_handle(handle))
        }
    }

    fn to_received(
        &self,
        m: crate::store::MessageRecord,
        options: &ReceiveOptions,
    ) -> ReceivedMessage {
        let (user, system) = messages::decode_attributes(&m.attributes);
        let message_attributes: BTreeMap<String, MessageAttribute> = user
            .into_iter()
            .filter(|(k, _)| messages::selected(&options.message_attribute_names, k))
            .collect();
        let want = |name: &str| {
            options
                .attribute_names
                .iter()
                .any(|a| a == "All" || a == name)
        };
        let mut attrs = BTreeMap::new();
        let mut put = |name: &str, value: Option<String>| {
            if want(name)
                && let Some(v) = value
            {
                attrs.insert(name.to_owned(), v);
            }
        };
        put("SenderId", Some(self.config.account.clone()));
        put("SentTimestamp", Some(m.sent_ms.to_string()));
        put("ApproximateReceiveCount", Some(m.receive_count.to_string()));
        put(
            "ApproximateFirstReceiveTimestamp",
            m.first_receive_ms.map(|t| t.to_string()),
        );
        put(
            "SequenceNumber",
            m.group_id
                .as_ref()
                .and(m.dedup_id.as_ref())
                .map(|_| format!("{:020}", m.sequence)),
        );
        put("MessageDeduplicationId", m.dedup_id.clone());
        put("MessageGroupId", m.group_id.clone());
        put(
            "AWSTraceHeader",
            system
                .get("AWSTraceHeader")
                .and_then(|a| a.string_value.clone()),
        );
        ReceivedMessage {
            message_id: m.message_id,
            receipt_handle: m.receipt_handle.unwrap_or_default(),
            body: m.body,
            md5_of_body: m.md5_of_body,
            md5_of_message_attributes: checksums::md5_of_attributes(&message_attributes),
            attributes: attrs,
            message_attributes,
        }
    }

    /// DeleteMessage(Batch): per handle, `Ok` or `ReceiptHandleIsInvalid` (not issued
    /// for this queue). On a standard queue a handle that is no longer current is `Ok`
    /// and deletes nothing, as AWS answers; on a FIFO queue a handle whose visibility
    /// timeout has run out deletes nothing and fails ("The receipt handle has expired").
    pub async fn delete_messages(
        &self,
        queue: &str,
        handles: Vec<String>,
    ) -> Result<Vec<Result<(), SqsError>>, SqsError> {
        let (record, _) = self.load(queue).await?;
        let mut answers = Vec::with_capacity(handles.len());
        let mut valid = Vec::new();
        let mut slots = Vec::new();
        for h in handles {
            match self.check_handle(queue, &h) {
                Ok(()) => {
                    slots.push((answers.len(), h.clone()));
                    valid.push(h);
                    answers.push(Ok(()));
                }
                Err(e) => answers.push(Err(e)),
            }
        }
        if !valid.is_empty() {
            let in_flight_at = record.fifo.then(|| self.clock.now_millis());
            let deleted = self
                .store
                .delete_messages(queue, valid, in_flight_at)
                .await?;
            if record.fifo {
                // A deleted message may free its group for a waiting receive.
                self.waiters.wake(queue);
                for ((slot, handle), done) in slots.into_iter().zip(deleted) {
                    if !done {
                        answers[slot] = Err(SqsError::invalid_value(
                            "ReceiptHandle",
                            handle,
                            "The receipt handle has expired.",
                        ));
                    }
                }
            }
        }
        Ok(answers)
    }

    /// ChangeMessageVisibility(Batch).
    pub async fn change_visibility(
        &self,
        queue: &str,
        changes: Vec<(String, i64)>,
    ) -> Result<Vec<Result<(), SqsError>>, SqsError> {
        self.load(queue).await?;
        let now = self.clock.now_millis();
        let mut answers: Vec<Result<(), SqsError>> = Vec::with_capacity(changes.len());
        let mut valid = Vec::new();
        let mut slots = Vec::new();
        for (h, timeout) in changes {
            if let Err(e) = self.check_handle(queue, &h) {
                answers.push(Err(e));
                continue;
            }
            if !(0..=43_200).contains(&timeout) {
                answers.push(Err(SqsError::invalid_value(
                    "VisibilityTimeout",
                    timeout,
                    "VisibilityTimeout must be an integer between 0 and 43200",
                )));
                continue;
            }
            slots.push((answers.len(), h.clone()));
            valid.push((h, timeout.saturating_mul(1000)));
            answers.push(Ok(()));
        }
        if !valid.is_empty() {
            let outcomes = self.store.change_visibility(queue, valid, now).await?;
            for ((slot, handle), outcome) in slots.into_iter().zip(outcomes) {
                answers[slot] = match outcome {
                    VisibilityChange::Changed => Ok(()),
                    VisibilityChange::NotInFlight => Err(SqsError::not_in_flight()),
                    VisibilityChange::NoSuchHandle => Err(SqsError::invalid_value(
                        "ReceiptHandle",
                        handle,
                        "Message does not exist or is not available for visibility timeout change.",
                    )),
                };
            }
            // A message made visible again may end someone's wait.
            self.waiters.wake(queue);
        }
        Ok(answers)
    }

    pub async fn purge_queue(&self, queue: &str) -> Result<(), SqsError> {
        self.load(queue).await?;
        let now = self.clock.now_millis();
        {
            let mut purges = self.purges.lock().unwrap_or_else(|e| e.into_inner());
            if purges.get(queue).is_some_and(|t| now - t < 60_000) {
                return Err(SqsError::purge_in_progress(queue));
            }
            purges.insert(queue.to_owned(), now);
        }
        self.store.purge_queue(queue).await?;
        Ok(())
    }
}

fn check_fifo_id(parameter: &str, id: &str) -> Result<(), SqsError> {
    let ok = !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(SqsError::invalid_value(
            parameter,
            id,
            &format!(
                "{parameter} can only include alphanumeric and punctuation characters. 1 to 128 in length."
            ),
        ))
    }
}

#[async_trait::async_trait]
impl baton_platform::bridge::MessageSender for Queues {
    async fn send_message(
        &self,
        queue: &str,
        message: SendRequest,
    ) -> Result<SendResult, SqsError> {
        let name = self.name_from_reference(queue)?;
        Queues::send_message(self, &name, message).await
    }
}

#[async_trait::async_trait]
impl baton_platform::bridge::QueueConsumer for Queues {
    async fn queue_facts(&self, name: &str) -> Result<QueueFacts, SqsError> {
        let settings = self.settings(name).await?;
        Ok(QueueFacts {
            fifo: settings.fifo,
            visibility_timeout: settings.visibility_timeout,
        })
    }

    async fn receive(
        &self,
        queue: &str,
        options: ReceiveOptions,
    ) -> Result<Vec<ReceivedMessage>, SqsError> {
        Queues::receive(self, queue, options).await
    }

    async fn delete_messages(
        &self,
        queue: &str,
        handles: Vec<String>,
    ) -> Result<Vec<Result<(), SqsError>>, SqsError> {
        Queues::delete_messages(self, queue, handles).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};

    /// A clock the test sets.
    struct TestClock(Arc<AtomicI64>);

    impl Clock for TestClock {
        fn now_millis(&self) -> Millis {
            self.0.load(Ordering::SeqCst)
        }
    }

    fn service(
        dir: &std::path::Path,
    ) -> (
        Queues,
        Arc<AtomicI64>,
        baton_platform::store::sqlite::Database,
    ) {
        let db = baton_platform::store::sqlite::Database::open(
            &dir.join("b.db"),
            &[crate::store::MIGRATIONS.sqlite],
        )
        .unwrap();
        let now = Arc::new(AtomicI64::new(1_000_000));
        let queues = Queues::new(
            Arc::new(db.clone()),
            QueuesConfig {
                region: "us-east-1".into(),
                account: "123456789012".into(),
                base_url: "http://localhost:1".into(),
            },
            Arc::new(TestClock(now.clone())),
        );
        (queues, now, db)
    }

    fn body(text: &str) -> SendRequest {
        SendRequest {
            body: text.into(),
            ..SendRequest::default()
        }
    }

    #[tokio::test]
    async fn retention_and_visibility_follow_the_injected_clock() {
        let dir = tempfile::tempdir().unwrap();
        let (q, now, db) = service(dir.path());
        let mut attrs = BTreeMap::new();
        attrs.insert("MessageRetentionPeriod".to_owned(), "60".to_owned());
        attrs.insert("VisibilityTimeout".to_owned(), "10".to_owned());
        let url = q.create_queue("r", attrs, BTreeMap::new()).await.unwrap();
        assert_eq!(url, "http://localhost:1/123456789012/r");
        assert_eq!(q.name_from_url(&url).unwrap(), "r");
        assert_eq!(
            q.name_from_url("http://localhost:1/999999999999/r"),
            Err(SqsError::no_queue()),
            "another account's queue"
        );
        q.send_message("r", body("a")).await.unwrap();
        let got = q.receive("r", ReceiveOptions::default()).await.unwrap();
        assert_eq!(got.len(), 1);
        now.fetch_add(9_999, Ordering::SeqCst);
        assert!(
            q.receive("r", ReceiveOptions::default())
                .await
                .unwrap()
                .is_empty()
        );
        now.fetch_add(1, Ordering::SeqCst);
        assert_eq!(
            q.receive("r", ReceiveOptions::default())
                .await
                .unwrap()
                .len(),
            1
        );
        // Sixty seconds after the send the message has expired.
        now.store(1_000_000 + 60_000, Ordering::SeqCst);
        let attrs = q
            .get_attributes("r", &["ApproximateNumberOfMessagesNotVisible".to_owned()])
            .await
            .unwrap();
        assert_eq!(attrs["ApproximateNumberOfMessagesNotVisible"], "0");
        now.fetch_add(20_000, Ordering::SeqCst);
        assert!(
            q.receive("r", ReceiveOptions::default())
                .await
                .unwrap()
                .is_empty()
        );
        db.close();
    }

    #[test]
    fn batch_ids_are_checked_like_aws() {
        assert_eq!(
            check_batch_ids(std::iter::empty(), "E").unwrap_err().shape,
            "EmptyBatchRequest"
        );
        let many: Vec<String> = (0..11).map(|i| i.to_string()).collect();
        assert_eq!(
            check_batch_ids(many.iter().map(String::as_str), "E")
                .unwrap_err()
                .shape,
            "TooManyEntriesInBatchRequest"
        );
        assert_eq!(
            check_batch_ids(["a", "a"].into_iter(), "E")
                .unwrap_err()
                .message,
            "Id a repeated."
        );
        assert_eq!(
            check_batch_ids(["a b"].into_iter(), "E").unwrap_err().shape,
            "InvalidBatchEntryId"
        );
        assert!(check_batch_ids(["a-1", "B_2"].into_iter(), "E").is_ok());
    }
}
