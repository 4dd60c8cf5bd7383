//! The conformance suite for [`super`]: every backend runs it on a fresh, empty
//! store (`crate::store::conformance::run(&store).await`). Each check is a
//! `# Contract` section turned into assertions.
//!
//! Panics are the failure signal here (this is test support, called only from tests).

use std::collections::BTreeMap;

use baton_platform::clock::Millis;
use baton_platform::store::StoreError;

use super::*;

const MINUTE: Millis = 60_000;
const DAY: Millis = 86_400_000;

fn queue(name: &str) -> QueueRecord {
    let mut attributes = BTreeMap::new();
    attributes.insert("VisibilityTimeout".to_owned(), "30".to_owned());
    QueueRecord {
        name: name.to_owned(),
        fifo: name.ends_with(".fifo"),
        attributes,
        tags: BTreeMap::new(),
        created_ms: 1_000,
        modified_ms: 1_000,
    }
}

fn message(id: &str, visible_at_ms: Millis) -> NewMessage {
    NewMessage {
        message_id: id.to_owned(),
        body: format!("body of {id}"),
        attributes: "{}".to_owned(),
        md5_of_body: format!("md5-{id}"),
        md5_of_attributes: None,
        visible_at_ms,
        group_id: None,
        dedup: None,
        dedup_id: None,
    }
}

fn fifo_message(id: &str, group: &str, dedup: &str, window_until: Millis) -> NewMessage {
    NewMessage {
        group_id: Some(group.to_owned()),
        dedup: Some((dedup.to_owned(), window_until)),
        dedup_id: Some(dedup.to_owned()),
        ..message(id, 0)
    }
}

fn receive(queue: &str, now_ms: Millis, max: usize, tag: &str) -> ReceiveRequest {
    ReceiveRequest {
        queue: queue.to_owned(),
        now_ms,
        visibility_ms: 30_000,
        retention_ms: 4 * DAY,
        redrive: None,
        receipt_handles: (0..max).map(|i| format!("{tag}-{i}")).collect(),
    }
}

fn ids(received: &Received) -> Vec<&str> {
    received
        .messages
        .iter()
        .map(|m| m.message_id.as_str())
        .collect()
}

/// Runs every check. The store must be empty.
pub async fn run(store: &dyn QueueStore) {
    queues(store).await;
    send_receive_delete(store).await;
    visibility_changes(store).await;
    delays_retention_and_counts(store).await;
    redrive(store).await;
    fifo_groups(store).await;
    fifo_deduplication(store).await;
    purge_and_delete(store).await;
}

async fn queues(store: &dyn QueueStore) {
    store.create_queue(queue("q-b")).await.expect("create");
    store.create_queue(queue("q-a")).await.expect("create");
    store.create_queue(queue("other")).await.expect("create");
    assert!(matches!(
        store.create_queue(queue("q-a")).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        store.get_queue("q-a").await.expect("get"),
        Some(queue("q-a"))
    );
    assert_eq!(store.get_queue("nope").await.expect("get"), None);
    assert_eq!(
        store.list_queues("q-", None, 10).await.expect("list"),
        ["q-a", "q-b"],
        "prefix, name order"
    );
    assert_eq!(
        store.list_queues("", Some("other"), 1).await.expect("list"),
        ["q-a"],
        "after, limit"
    );
    let mut changed = queue("q-a");
    changed
        .attributes
        .insert("DelaySeconds".to_owned(), "5".to_owned());
    changed.tags.insert("team".to_owned(), "x".to_owned());
    changed.modified_ms = 2_000;
    store.update_queue(changed.clone()).await.expect("update");
    assert_eq!(store.get_queue("q-a").await.expect("get"), Some(changed));
    assert!(matches!(
        store.update_queue(queue("nope")).await,
        Err(StoreError::NotFound(_))
    ));
    for name in ["q-a", "q-b", "other"] {
        store.delete_queue(name).await.expect("delete");
    }
    assert!(matches!(
        store.delete_queue("q-a").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        store
            .list_queues("", None, 10)
            .await
            .expect("list")
            .is_empty()
    );
}

async fn send_receive_delete(store: &dyn QueueStore) {
    store.create_queue(queue("std")).await.expect("create");
    assert!(matches!(
        store
            .send_messages("missing", vec![message("x", 0)], 0)
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.receive_messages(receive("missing", 0, 1, "h")).await,
        Err(StoreError::NotFound(_))
    ));
    let sent = store
        .send_messages("std", vec![message("m1", 100), message("m2", 100)], 100)
        .await
        .expect("send");
    assert_eq!(sent.len(), 2);
    assert!(sent[0].sequence < sent[1].sequence, "sequences grow");
    assert!(!sent[0].duplicate);
    let more = store
        .send_messages("std", vec![message("m3", 100)], 100)
        .await
        .expect("send");
    assert!(more[0].sequence > sent[1].sequence);

    let got = store
        .receive_messages(receive("std", 1_000, 2, "r1"))
        .await
        .expect("receive");
    assert_eq!(
        ids(&got),
        ["m1", "m2"],
        "queue order, at most as many as handles"
    );
    let m1 = &got.messages[0];
    assert_eq!(m1.body, "body of m1");
    assert_eq!(m1.md5_of_body, "md5-m1");
    assert_eq!(m1.receive_count, 1);
    assert_eq!(m1.first_receive_ms, Some(1_000));
    assert_eq!(m1.sent_ms, 100);
    assert_eq!(m1.visible_at_ms, 31_000);
    assert_eq!(m1.receipt_handle.as_deref(), Some("r1-0"));
    assert_eq!(got.messages[1].receipt_handle.as_deref(), Some("r1-1"));

    let got = store
        .receive_messages(receive("std", 2_000, 10, "r2"))
        .await
        .expect("receive");
    assert_eq!(ids(&got), ["m3"], "claimed messages are invisible");
    assert_eq!(got.messages[0].receipt_handle.as_deref(), Some("r2-0"));
    assert_eq!(
        got.next_visible_ms,
        Some(31_000),
        "the earliest claimed message comes back then"
    );

    // After the deadline m1 and m2 come back with new handles and counts.
    let again = store
        .receive_messages(receive("std", 31_000, 10, "r3"))
        .await
        .expect("receive");
    assert_eq!(ids(&again), ["m1", "m2"]);
    assert_eq!(again.messages[0].receive_count, 2);
    assert_eq!(again.messages[0].first_receive_ms, Some(1_000), "kept");
    assert_eq!(again.messages[0].receipt_handle.as_deref(), Some("r3-0"));

    let deleted = store
        .delete_messages(
            "std",
            vec!["r1-0".into(), "r3-0".into(), "r3-1".into(), "bogus".into()],
            None,
        )
        .await
        .expect("delete");
    assert_eq!(
        deleted,
        [false, true, true, false],
        "only current handles delete"
    );
    assert!(matches!(
        store
            .delete_messages("missing", vec!["r2-0".into()], None)
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store
            .delete_messages("std", vec!["r2-0".into()], Some(100_000))
            .await
            .expect("delete"),
        [false],
        "visible again at 100 000: an expired handle deletes nothing when asked so"
    );
    assert_eq!(
        store
            .delete_messages("std", vec!["r2-0".into()], Some(2_000))
            .await
            .expect("delete"),
        [true]
    );
    let empty = store
        .receive_messages(receive("std", 100_000, 10, "r4"))
        .await
        .expect("receive");
    assert!(empty.messages.is_empty());
    assert_eq!(empty.next_visible_ms, None);
    store.delete_queue("std").await.expect("delete");
}

async fn visibility_changes(store: &dyn QueueStore) {
    store.create_queue(queue("vis")).await.expect("create");
    store
        .send_messages("vis", vec![message("a", 0), message("b", 0)], 0)
        .await
        .expect("send");
    let got = store
        .receive_messages(receive("vis", 0, 1, "h"))
        .await
        .expect("receive");
    assert_eq!(ids(&got), ["a"]);
    let changes = store
        .change_visibility(
            "vis",
            vec![("h-0".into(), 5_000), ("nope".into(), 5_000)],
            1_000,
        )
        .await
        .expect("change");
    assert_eq!(
        changes,
        [VisibilityChange::Changed, VisibilityChange::NoSuchHandle]
    );
    let got = store
        .receive_messages(receive("vis", 5_999, 10, "x"))
        .await
        .expect("receive");
    assert_eq!(ids(&got), ["b"], "a is hidden until 6 000");
    assert_eq!(got.next_visible_ms, Some(6_000));
    let got = store
        .receive_messages(receive("vis", 6_000, 10, "y"))
        .await
        .expect("receive");
    assert_eq!(ids(&got), ["a"]);
    assert_eq!(
        store
            .change_visibility("vis", vec![("h-0".into(), 0)], 7_000)
            .await
            .expect("change"),
        [VisibilityChange::NoSuchHandle],
        "an old handle no longer names the message"
    );
    // Timeout 0 makes it visible at once; once visible it is no longer in flight.
    assert_eq!(
        store
            .change_visibility("vis", vec![("y-0".into(), 0)], 7_000)
            .await
            .expect("change"),
        [VisibilityChange::Changed]
    );
    assert_eq!(
        store
            .change_visibility("vis", vec![("y-0".into(), 10)], 7_000)
            .await
            .expect("change"),
        [VisibilityChange::NotInFlight]
    );
    assert!(matches!(
        store.change_visibility("gone", vec![], 0).await,
        Err(StoreError::NotFound(_))
    ));
    store.delete_queue("vis").await.expect("delete");
}

async fn delays_retention_and_counts(store: &dyn QueueStore) {
    store.create_queue(queue("cnt")).await.expect("create");
    store
        .send_messages(
            "cnt",
            vec![message("now", 0), message("later", 10_000), message("x", 0)],
            0,
        )
        .await
        .expect("send");
    let got = store
        .receive_messages(receive("cnt", 1_000, 1, "h"))
        .await
        .expect("receive");
    assert_eq!(ids(&got), ["now"]);
    assert_eq!(
        store
            .queue_counts("cnt", 1_000, 4 * DAY)
            .await
            .expect("counts"),
        QueueCounts {
            visible: 1,
            in_flight: 1,
            delayed: 1
        }
    );
    assert_eq!(
        store
            .receive_messages(receive("cnt", 2_000, 10, "i"))
            .await
            .expect("receive")
            .next_visible_ms,
        Some(10_000),
        "the delayed message is the next to appear"
    );
    // Retention of one minute: everything sent at 0 is gone at one minute.
    assert_eq!(
        store
            .queue_counts("cnt", MINUTE, MINUTE)
            .await
            .expect("counts"),
        QueueCounts::default(),
        "expired messages are not counted"
    );
    let mut req = receive("cnt", MINUTE, 10, "j");
    req.retention_ms = MINUTE;
    assert!(
        store
            .receive_messages(req)
            .await
            .expect("receive")
            .messages
            .is_empty()
    );
    assert_eq!(
        store
            .queue_counts("cnt", MINUTE, 4 * DAY)
            .await
            .expect("counts"),
        QueueCounts::default(),
        "a receive removed the expired messages"
    );
    assert!(matches!(
        store.queue_counts("gone", 0, DAY).await,
        Err(StoreError::NotFound(_))
    ));
    store.delete_queue("cnt").await.expect("delete");
}

async fn redrive(store: &dyn QueueStore) {
    for name in ["src", "dlq", "src.fifo", "dlq.fifo"] {
        store.create_queue(queue(name)).await.expect("create");
    }
    let mut src = queue("src");
    src.attributes.insert(
        "RedrivePolicy".to_owned(),
        r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:dlq","maxReceiveCount":2}"#
            .to_owned(),
    );
    store.update_queue(src).await.expect("update");
    assert_eq!(
        store.dead_letter_sources("dlq").await.expect("sources"),
        ["src"]
    );
    assert!(
        store
            .dead_letter_sources("src")
            .await
            .expect("sources")
            .is_empty()
    );

    for (queue_name, dlq, t0) in [("src", "dlq", 1_000), ("src.fifo", "dlq.fifo", 1_000)] {
        let msg = if queue_name.ends_with(".fifo") {
            fifo_message("poison", "g", "d1", t0 + 5 * MINUTE)
        } else {
            message("poison", t0)
        };
        store
            .send_messages(queue_name, vec![msg], t0)
            .await
            .expect("send");
        let redrive = Redrive {
            dead_letter_queue: dlq.to_owned(),
            max_receive_count: 2,
        };
        let mut now = t0;
        for attempt in 1..=2u32 {
            let mut req = receive(queue_name, now, 10, &format!("{queue_name}-a{attempt}"));
            req.visibility_ms = 0;
            req.redrive = Some(redrive.clone());
            let got = store.receive_messages(req).await.expect("receive");
            assert_eq!(ids(&got), ["poison"], "{queue_name} attempt {attempt}");
            assert_eq!(got.messages[0].receive_count, attempt);
            now += 1_000;
        }
        let mut req = receive(queue_name, now, 10, &format!("{queue_name}-a3"));
        req.redrive = Some(redrive);
        let got = store.receive_messages(req).await.expect("receive");
        assert!(got.messages.is_empty(), "{queue_name}: moved, not returned");
        assert_eq!(got.dead_lettered, 1);
        let moved = store
            .receive_messages(receive(dlq, now, 10, &format!("{dlq}-d")))
            .await
            .expect("receive dlq");
        assert_eq!(ids(&moved), ["poison"]);
        let m = &moved.messages[0];
        assert_eq!(m.body, "body of poison");
        assert_eq!(m.sent_ms, t0, "send time kept");
        assert_eq!(
            m.receive_count, 1,
            "counted afresh in the dead-letter queue"
        );
        let expected_enqueued = if queue_name.ends_with(".fifo") {
            now
        } else {
            t0
        };
        assert_eq!(m.enqueued_ms, expected_enqueued, "{queue_name}");
        if queue_name.ends_with(".fifo") {
            assert_eq!(m.group_id.as_deref(), Some("g"));
        }
    }

    // A dead-letter queue that does not exist: messages stay where they are.
    store
        .send_messages("dlq", vec![message("stays", 0)], 0)
        .await
        .expect("send");
    let absent = Redrive {
        dead_letter_queue: "no-such-queue".to_owned(),
        max_receive_count: 1,
    };
    let mut req = receive("dlq", 100_000, 10, "z");
    req.redrive = Some(absent.clone());
    req.visibility_ms = 0;
    let got = store.receive_messages(req.clone()).await.expect("receive");
    assert_eq!(ids(&got), ["poison", "stays"]);
    req.receipt_handles = vec!["z2".into()];
    let got = store.receive_messages(req).await.expect("receive");
    assert_eq!(got.dead_lettered, 0);
    assert_eq!(ids(&got), ["poison"]);
    for name in ["src", "dlq", "src.fifo", "dlq.fifo"] {
        store.delete_queue(name).await.expect("delete");
    }
}

async fn fifo_groups(store: &dyn QueueStore) {
    let q = "groups.fifo";
    store.create_queue(queue(q)).await.expect("create");
    let until = 5 * MINUTE;
    store
        .send_messages(
            q,
            vec![
                fifo_message("a1", "A", "1", until),
                fifo_message("b1", "B", "2", until),
                fifo_message("a2", "A", "3", until),
                fifo_message("b2", "B", "4", until),
                fifo_message("c1", "C", "5", until),
            ],
            0,
        )
        .await
        .expect("send");
    let got = store
        .receive_messages(receive(q, 0, 3, "h"))
        .await
        .expect("receive");
    assert_eq!(ids(&got), ["a1", "a2", "b1"], "a group's messages together");
    let got = store
        .receive_messages(receive(q, 0, 10, "i"))
        .await
        .expect("receive");
    assert_eq!(ids(&got), ["c1"], "groups A and B have messages in flight");
    // Deleting b1 leaves B unblocked; A stays blocked while a2 is in flight.
    store
        .delete_messages(q, vec!["h-2".into(), "h-0".into()], Some(500))
        .await
        .expect("delete");
    store
        .delete_messages(q, vec!["i-0".into()], Some(500))
        .await
        .expect("delete");
    let got = store
        .receive_messages(receive(q, 1_000, 10, "j"))
        .await
        .expect("receive");
    assert_eq!(ids(&got), ["b2"]);
    // a2 made visible again while group B is in flight: A gives a2 only.
    store
        .change_visibility(q, vec![("h-1".into(), 0)], 2_000)
        .await
        .expect("change");
    let got = store
        .receive_messages(receive(q, 2_000, 10, "k"))
        .await
        .expect("receive");
    assert_eq!(ids(&got), ["a2"]);
    assert_eq!(got.messages[0].receive_count, 2);
    store.delete_queue(q).await.expect("delete");

    // More messages than a backend reads at once: a group in flight is skipped whole.
    let q = "big.fifo";
    store.create_queue(queue(q)).await.expect("create");
    let mut batch: Vec<NewMessage> = (0..250)
        .map(|i| fifo_message(&format!("big{i}"), "big", &format!("d{i}"), until))
        .collect();
    batch.push(fifo_message("z1", "Z", "z", until));
    store.send_messages(q, batch, 0).await.expect("send");
    let got = store
        .receive_messages(receive(q, 0, 10, "big-a"))
        .await
        .expect("receive");
    assert_eq!(got.messages.len(), 10);
    assert_eq!(got.messages[0].message_id, "big0");
    assert_eq!(got.messages[9].message_id, "big9");
    let got = store
        .receive_messages(receive(q, 0, 10, "big-b"))
        .await
        .expect("receive");
    assert_eq!(ids(&got), ["z1"], "group big is in flight");
    store.delete_queue(q).await.expect("delete");
}

async fn fifo_deduplication(store: &dyn QueueStore) {
    let q = "dedup.fifo";
    store.create_queue(queue(q)).await.expect("create");
    let first = store
        .send_messages(
            q,
            vec![
                fifo_message("m1", "g", "same", 5 * MINUTE),
                fifo_message("m2", "g", "same", 5 * MINUTE),
            ],
            0,
        )
        .await
        .expect("send");
    assert!(!first[0].duplicate);
    assert!(first[1].duplicate, "a duplicate within one batch");
    assert_eq!(first[1].message_id, "m1");
    assert_eq!(first[1].sequence, first[0].sequence);
    let again = store
        .send_messages(
            q,
            vec![fifo_message("m3", "g", "same", MINUTE + 5 * MINUTE)],
            MINUTE,
        )
        .await
        .expect("send");
    assert!(again[0].duplicate);
    assert_eq!(again[0].message_id, "m1");
    // Deleting the message does not end the window.
    let got = store
        .receive_messages(receive(q, MINUTE, 10, "h"))
        .await
        .expect("receive");
    assert_eq!(ids(&got), ["m1"]);
    store
        .delete_messages(q, vec!["h-0".into()], None)
        .await
        .expect("delete");
    let dup = store
        .send_messages(
            q,
            vec![fifo_message("m4", "g", "same", 7 * MINUTE)],
            2 * MINUTE,
        )
        .await
        .expect("send");
    assert!(dup[0].duplicate);
    // Once the window has closed the key is new again.
    let fresh = store
        .send_messages(
            q,
            vec![fifo_message("m5", "g", "same", 10 * MINUTE)],
            5 * MINUTE,
        )
        .await
        .expect("send");
    assert!(!fresh[0].duplicate);
    assert_eq!(fresh[0].message_id, "m5");
    assert!(fresh[0].sequence > first[0].sequence);
    store.delete_queue(q).await.expect("delete");
}

async fn purge_and_delete(store: &dyn QueueStore) {
    store.create_queue(queue("p")).await.expect("create");
    store
        .send_messages("p", vec![message("a", 0), message("b", 0)], 0)
        .await
        .expect("send");
    store
        .receive_messages(receive("p", 0, 1, "h"))
        .await
        .expect("receive");
    store.purge_queue("p").await.expect("purge");
    assert_eq!(
        store.queue_counts("p", 0, DAY).await.expect("counts"),
        QueueCounts::default()
    );
    assert!(matches!(
        store.purge_queue("gone").await,
        Err(StoreError::NotFound(_))
    ));
    // A queue deleted and created again starts empty.
    store
        .send_messages("p", vec![message("c", 0)], 0)
        .await
        .expect("send");
    store.delete_queue("p").await.expect("delete");
    store.create_queue(queue("p")).await.expect("create");
    assert_eq!(
        store.queue_counts("p", 0, DAY).await.expect("counts"),
        QueueCounts::default()
    );
    store.delete_queue("p").await.expect("delete");
}
