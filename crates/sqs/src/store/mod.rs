//! Storage for SQS-style queues: the queues (name, attributes, tags) and their messages.
//!
//! The runtime owns the meaning of attributes (validation, defaults, the redrive policy's
//! JSON); the store keeps them as strings and is told, per call, the few facts it acts
//! on (visibility timeout, retention, the dead-letter queue and its receive limit). Time
//! and randomness come in as arguments (`now_ms`, receipt handles): nothing here reads a
//! clock.
//!
//! Receiving is one store call that claims messages, bumps their receive count, sets a
//! new receipt handle and visibility deadline, applies FIFO's group rule and moves
//! messages past the queue's `maxReceiveCount` to the dead-letter queue — so two
//! consumers never get the same message inside one visibility timeout, on one node or
//! many.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;

use baton_platform::clock::Millis;
use baton_platform::store::{Migration, Migrations, StoreError};

pub mod conformance;
mod postgres;
mod sqlite;

/// The queue tables, for each backend.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[Migration {
        name: "4000_queues",
        sql: include_str!("migrations/sqlite/4000_queues.sql"),
    }],
    postgres: &[Migration {
        name: "4000_queues",
        sql: include_str!("migrations/postgres/4000_queues.sql"),
    }],
};

/// One queue as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRecord {
    pub name: String,
    /// `true` for a FIFO queue (its name ends in `.fifo`). Fixed at creation.
    pub fifo: bool,
    /// The settable attributes as AWS spells them (`VisibilityTimeout` → `"30"`), every
    /// one present with its value (defaults filled in by the runtime).
    pub attributes: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub created_ms: Millis,
    pub modified_ms: Millis,
}

/// A message to store (SendMessage, one SendMessageBatch entry).
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub message_id: String,
    pub body: String,
    /// Message attributes and system attributes, as the runtime serialises them.
    pub attributes: String,
    pub md5_of_body: String,
    pub md5_of_attributes: Option<String>,
    /// Hidden until this instant (`DelaySeconds`).
    pub visible_at_ms: Millis,
    /// FIFO only.
    pub group_id: Option<String>,
    /// FIFO only: the deduplication key (the id, scoped as the queue says) and the
    /// instant its window closes. A key already stored with a window still open makes
    /// the send a duplicate: nothing is stored and the first message's id is returned.
    pub dedup: Option<(String, Millis)>,
    pub dedup_id: Option<String>,
}

/// What a send stored (or found already stored).
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    pub message_id: String,
    /// Grows with every stored message of the store (FIFO's `SequenceNumber`).
    pub sequence: i64,
    /// `true` when the deduplication key was already used within its window.
    pub duplicate: bool,
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    pub message_id: String,
    pub body: String,
    pub attributes: String,
    pub md5_of_body: String,
    pub md5_of_attributes: Option<String>,
    pub sequence: i64,
    /// When it was first sent (to any queue: a dead-lettered message keeps it).
    pub sent_ms: Millis,
    /// Where its retention counts from: the send, or for FIFO queues the move to the
    /// dead-letter queue (standard queues keep the original, as AWS does).
    pub enqueued_ms: Millis,
    pub visible_at_ms: Millis,
    pub receive_count: u32,
    pub first_receive_ms: Option<Millis>,
    pub receipt_handle: Option<String>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
}

/// Where messages go once received too often.
#[derive(Debug, Clone, PartialEq)]
pub struct Redrive {
    pub dead_letter_queue: String,
    /// A message received this many times moves on its next receive.
    pub max_receive_count: u32,
}

/// One ReceiveMessage, with everything the store acts on.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiveRequest {
    pub queue: String,
    pub now_ms: Millis,
    /// Messages claimed stay invisible until `now_ms + visibility_ms`.
    pub visibility_ms: Millis,
    /// Messages enqueued at or before `now_ms - retention_ms` are expired and removed.
    pub retention_ms: Millis,
    pub redrive: Option<Redrive>,
    /// One fresh receipt handle per message that may be claimed; their number is the
    /// most messages returned.
    pub receipt_handles: Vec<String>,
}

/// What a receive did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Received {
    /// Claimed messages in queue order, each with its new receipt handle, visibility
    /// deadline and receive count.
    pub messages: Vec<MessageRecord>,
    /// How many messages moved to the dead-letter queue.
    pub dead_lettered: usize,
    /// The earliest instant after `now_ms` at which a message of the queue becomes
    /// visible (a long poll waits until then at most).
    pub next_visible_ms: Option<Millis>,
}

/// Approximate counts (`ApproximateNumberOfMessages*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueCounts {
    /// Visible now.
    pub visible: u64,
    /// Received and within their visibility timeout.
    pub in_flight: u64,
    /// Never received and still within their delay.
    pub delayed: u64,
}

/// How a ChangeMessageVisibility went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisibilityChange {
    Changed,
    /// The handle is the message's current one but the message is visible already.
    NotInFlight,
    /// No message of the queue has this receipt handle (deleted, or received again).
    NoSuchHandle,
}

/// What the queue runtime needs from a backend.
#[async_trait]
pub trait QueueStore: Send + Sync + 'static {
    /// # Contract
    /// `AlreadyExists(name)` when a queue by that name exists; nothing is written then.
    async fn create_queue(&self, queue: QueueRecord) -> Result<(), StoreError>;

    /// # Contract
    /// `Ok(None)` when there is no such queue.
    async fn get_queue(&self, name: &str) -> Result<Option<QueueRecord>, StoreError>;

    /// Queue names starting with `prefix`, in name order, after `after`, at most `limit`.
    async fn list_queues(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;

    /// Replaces a queue's attributes, tags and modification time.
    ///
    /// # Contract
    /// `NotFound` when the queue is gone; its messages are untouched.
    async fn update_queue(&self, queue: QueueRecord) -> Result<(), StoreError>;

    /// # Contract
    /// `NotFound` when there is no such queue. Its messages and deduplication keys go
    /// with it, in the same transaction.
    async fn delete_queue(&self, name: &str) -> Result<(), StoreError>;

    /// Stores messages (a batch is all or nothing), each stamped `sent_ms = now_ms`.
    ///
    /// # Contract
    /// `NotFound` when the queue is gone. Durable when `Ok`. Answers in input order;
    /// a duplicate (see [`NewMessage::dedup`]) stores nothing and returns the first
    /// message's id and sequence, also when the duplicate is in the same batch.
    /// Sequences grow with each stored message.
    async fn send_messages(
        &self,
        queue: &str,
        messages: Vec<NewMessage>,
        now_ms: Millis,
    ) -> Result<Vec<SentMessage>, StoreError>;

    /// Claims visible messages, atomically (see [`ReceiveRequest`]).
    ///
    /// # Contract
    /// `NotFound` when the queue is gone. In one transaction:
    /// - expired messages (`enqueued_ms <= now_ms - retention_ms`) are removed;
    /// - a visible message already received `max_receive_count` times moves to the
    ///   dead-letter queue (when that queue exists) instead of being returned: it keeps
    ///   its id, body, attributes and send time, becomes visible there at once with its
    ///   receive count reset to 0 and no receipt handle; a FIFO message's retention
    ///   restarts (`enqueued_ms = now_ms`), a standard one's does not;
    /// - at most `receipt_handles.len()` visible messages are claimed in sequence order:
    ///   receive count + 1, `first_receive_ms` set on the first receive, receipt handle
    ///   the next of `receipt_handles`, invisible until `now_ms + visibility_ms`;
    /// - FIFO queues: no message of a group that has a message in flight is returned,
    ///   and within a group messages go out in order, stopping at the first one not
    ///   visible; each group's messages are returned together.
    ///
    /// Two concurrent receives never claim the same message.
    async fn receive_messages(&self, request: ReceiveRequest) -> Result<Received, StoreError>;

    /// Deletes the messages whose current receipt handle is one of `receipt_handles`.
    /// With `in_flight_at: Some(now_ms)` (FIFO queues, whose expired handles delete
    /// nothing) only messages still invisible at `now_ms` are deleted.
    ///
    /// # Contract
    /// `NotFound` when the queue is gone. One answer per handle, in order: `true` when a
    /// message was deleted, `false` when no message of the queue has that handle now (or,
    /// with `in_flight_at`, it is visible again).
    async fn delete_messages(
        &self,
        queue: &str,
        receipt_handles: Vec<String>,
        in_flight_at: Option<Millis>,
    ) -> Result<Vec<bool>, StoreError>;

    /// Sets each named message's visibility deadline to `now_ms + timeout_ms`.
    ///
    /// # Contract
    /// `NotFound` when the queue is gone. One answer per entry, in order; only a
    /// message whose current handle matches and whose deadline is after `now_ms` changes.
    async fn change_visibility(
        &self,
        queue: &str,
        changes: Vec<(String, Millis)>,
        now_ms: Millis,
    ) -> Result<Vec<VisibilityChange>, StoreError>;

    /// Deletes every message of the queue (and its deduplication keys stay).
    ///
    /// # Contract
    /// `NotFound` when the queue is gone.
    async fn purge_queue(&self, queue: &str) -> Result<(), StoreError>;

    /// # Contract
    /// `NotFound` when the queue is gone. Expired messages (as in a receive) are not
    /// counted.
    async fn queue_counts(
        &self,
        queue: &str,
        now_ms: Millis,
        retention_ms: Millis,
    ) -> Result<QueueCounts, StoreError>;

    /// Names of the queues whose redrive policy names `dead_letter_queue`
    /// (ListDeadLetterSourceQueues), in name order. The runtime stores the policy in
    /// `attributes["RedrivePolicy"]`; backends match on the JSON's queue ARN suffix
    /// `:<dead_letter_queue>"`.
    async fn dead_letter_sources(&self, dead_letter_queue: &str)
    -> Result<Vec<String>, StoreError>;
}

/// The planner's verdict on one candidate message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Claim,
    DeadLetter,
}

/// What a receive does with candidate messages: the FIFO and redrive rules written once,
/// for every backend. `rows` are in sequence order. A standard queue's backend may pass
/// only visible messages (and call again with the next page while the answer is not
/// full); a FIFO queue's backend passes every message of the queue, since whether a
/// group may give anything depends on its messages in flight.
///
/// Returns `(index into rows, verdict)` in the order claims are handed out: for FIFO,
/// group by group (groups ordered by their oldest message), each group in order up to
/// its first message not visible, no group with a message in flight.
pub fn plan_receive(
    fifo: bool,
    rows: &[MessageRecord],
    now_ms: Millis,
    redrive: Option<&Redrive>,
    wanted: usize,
) -> Vec<(usize, Verdict)> {
    let visible = |m: &MessageRecord| m.visible_at_ms <= now_ms;
    let past_limit =
        |m: &MessageRecord| redrive.is_some_and(|r| m.receive_count >= r.max_receive_count);
    let mut out = Vec::new();
    let mut claimed = 0;
    if !fifo {
        for (i, m) in rows.iter().enumerate() {
            if claimed >= wanted {
                break;
            }
            if !visible(m) {
                continue;
            }
            if past_limit(m) {
                out.push((i, Verdict::DeadLetter));
            } else {
                out.push((i, Verdict::Claim));
                claimed += 1;
            }
        }
        return out;
    }
    // Groups in order of their oldest message, each with its messages in order.
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    let mut position: HashMap<&str, usize> = HashMap::new();
    for (i, m) in rows.iter().enumerate() {
        let g = m.group_id.as_deref().unwrap_or("");
        match position.get(g) {
            Some(&p) => groups[p].1.push(i),
            None => {
                position.insert(g, groups.len());
                groups.push((g, vec![i]));
            }
        }
    }
    for (_, members) in groups {
        let in_flight = members
            .iter()
            .any(|&i| rows[i].receive_count > 0 && !visible(&rows[i]));
        if in_flight {
            continue;
        }
        for i in members {
            if claimed >= wanted || !visible(&rows[i]) {
                break;
            }
            if past_limit(&rows[i]) {
                out.push((i, Verdict::DeadLetter));
            } else {
                out.push((i, Verdict::Claim));
                claimed += 1;
            }
        }
        if claimed >= wanted {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(group: &str, count: u32) -> MessageRecord {
        MessageRecord {
            message_id: "m".into(),
            body: "b".into(),
            attributes: "{}".into(),
            md5_of_body: String::new(),
            md5_of_attributes: None,
            sequence: 1,
            sent_ms: 0,
            enqueued_ms: 0,
            visible_at_ms: 0,
            receive_count: count,
            first_receive_ms: None,
            receipt_handle: None,
            group_id: Some(group.into()),
            dedup_id: None,
        }
    }

    fn at(rows: &[MessageRecord], plan: &[(usize, Verdict)]) -> Vec<(String, Verdict)> {
        plan.iter()
            .map(|&(i, v)| (rows[i].message_id.clone(), v))
            .collect()
    }

    fn named(id: &str, group: &str, count: u32, visible_at_ms: Millis) -> MessageRecord {
        MessageRecord {
            message_id: id.into(),
            visible_at_ms,
            ..msg(group, count)
        }
    }

    #[test]
    fn fifo_groups_in_flight_or_stopped_at_a_hidden_message_give_nothing_more() {
        let rows = [
            named("a1", "a", 0, 0),
            named("busy1", "busy", 1, 500),
            named("b1", "b", 0, 0),
            named("a2", "a", 0, 0),
            named("busy2", "busy", 0, 0),
            named("b2", "b", 0, 900),
            named("b3", "b", 0, 0),
        ];
        let plan = plan_receive(true, &rows, 100, None, 10);
        assert_eq!(
            at(&rows, &plan),
            [
                ("a1".to_owned(), Verdict::Claim),
                ("a2".to_owned(), Verdict::Claim),
                ("b1".to_owned(), Verdict::Claim),
            ]
        );
        assert_eq!(plan_receive(true, &rows, 100, None, 1).len(), 1);
    }

    #[test]
    fn messages_past_the_receive_limit_are_dead_lettered_and_do_not_count() {
        let redrive = Redrive {
            dead_letter_queue: "dlq".into(),
            max_receive_count: 2,
        };
        let rows = [
            named("old", "", 2, 0),
            named("hidden", "", 1, 50),
            named("ok", "", 1, 0),
            named("more", "", 0, 0),
        ];
        let plan = plan_receive(false, &rows, 10, Some(&redrive), 1);
        assert_eq!(
            at(&rows, &plan),
            [
                ("old".to_owned(), Verdict::DeadLetter),
                ("ok".to_owned(), Verdict::Claim),
            ]
        );
    }
}
