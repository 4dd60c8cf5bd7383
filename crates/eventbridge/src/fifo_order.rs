//! Deliveries to one SQS FIFO queue's message group, performed one at a time in the
//! order they were claimed.
//!
//! Why: the worker performs claimed deliveries concurrently, so two events for the same
//! FIFO queue and group would race to the queue and could land in either order (on
//! PostgreSQL, where each send is its own transaction, they did). EventBridge promises
//! no order between events, but a FIFO queue is chosen as a target for its order, and
//! keeping a group's deliveries in sequence costs the other deliveries nothing. The
//! order is kept per node: nodes sharing a store each deliver what they claimed.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::oneshot;

use crate::store::DeliveryRecord;

/// The last delivery of each group in flight on this node.
#[derive(Default)]
pub(crate) struct GroupOrder {
    tails: Mutex<Tails>,
}

#[derive(Default)]
struct Tails {
    /// By (queue ARN, message group): the latest place taken, and the signal its
    /// holder sends (by dropping the sender) when it is done.
    last: HashMap<(String, String), (u64, oneshot::Receiver<()>)>,
    next: u64,
}

/// A delivery's place in its group.
pub(crate) struct Turn {
    key: (String, String),
    place: u64,
    /// Resolves when the delivery before this one is done (`None`: it is the first).
    before: Option<oneshot::Receiver<()>>,
    /// Dropped when this delivery is done, which lets the next one go.
    _done: oneshot::Sender<()>,
}

impl GroupOrder {
    /// Takes the next place in `d`'s group, when it goes to a FIFO group. Call in claim
    /// order, before the delivery is spawned.
    pub(crate) fn enter(&self, d: &DeliveryRecord) -> Option<Turn> {
        let group = d.message_group_id.as_ref()?;
        let key = (d.target_arn.clone(), group.clone());
        let (done, after) = oneshot::channel();
        let mut tails = self.tails.lock().unwrap_or_else(|p| p.into_inner());
        let place = tails.next;
        tails.next = tails.next.wrapping_add(1);
        let before = tails
            .last
            .insert(key.clone(), (place, after))
            .map(|(_, before)| before);
        Some(Turn {
            key,
            place,
            before,
            _done: done,
        })
    }

    /// Forgets the group once its last delivery is done.
    pub(crate) fn leave(&self, turn: Turn) {
        let mut tails = self.tails.lock().unwrap_or_else(|p| p.into_inner());
        if tails
            .last
            .get(&turn.key)
            .is_some_and(|(p, _)| *p == turn.place)
        {
            tails.last.remove(&turn.key);
        }
        // Dropping `turn` drops its sender: the next delivery of the group goes.
    }
}

impl Turn {
    /// Waits until the group's previous delivery is done (or was dropped).
    pub(crate) async fn wait(&mut self) {
        if let Some(before) = self.before.take() {
            let _ = before.await;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn delivery(id: &str, target: &str, group: Option<&str>) -> DeliveryRecord {
        DeliveryRecord {
            id: id.to_owned(),
            event_id: id.to_owned(),
            bus: "default".to_owned(),
            rule_arn: "arn:aws:events:us-east-1:123456789012:rule/r".to_owned(),
            target_id: "t".to_owned(),
            target_arn: target.to_owned(),
            http_parameters: None,
            body: "{}".to_owned(),
            ingested_ms: 0,
            maximum_retry_attempts: 185,
            maximum_event_age_in_seconds: 86_400,
            dead_letter_arn: None,
            message_group_id: group.map(str::to_owned),
            hops: 0,
            attempts: 0,
            due_ms: 0,
            last_error: None,
        }
    }

    #[tokio::test]
    async fn a_groups_deliveries_go_one_after_another_in_claim_order() {
        let order = GroupOrder::default();
        let q = "arn:aws:sqs:us-east-1:123456789012:q.fifo";
        assert!(order.enter(&delivery("plain", q, None)).is_none());
        let mut first = order.enter(&delivery("1", q, Some("g"))).unwrap();
        let mut second = order.enter(&delivery("2", q, Some("g"))).unwrap();
        let mut other = order.enter(&delivery("3", q, Some("h"))).unwrap();

        // The first of each group goes at once.
        first.wait().await;
        other.wait().await;
        // The second waits for the first to be done.
        let waiting = tokio::spawn(async move {
            second.wait().await;
            second
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        order.leave(first);
        let second = waiting.await.unwrap();
        order.leave(other);
        order.leave(second);
        assert!(
            order.tails.lock().unwrap().last.is_empty(),
            "groups are forgotten"
        );
    }
}
