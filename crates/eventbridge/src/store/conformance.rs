//! The conformance suite for [`crate::events`]: every backend runs it on a fresh, empty
//! store (`crate::store::conformance::run(&store).await`). Each check is a
//! `# Contract` section turned into assertions.
//!
//! Panics are the failure signal here (this is test support, called only from tests).

use serde_json::Map;

use baton_platform::clock::Millis;
use baton_platform::store::StoreError;

use super::*;

fn bus(name: &str) -> BusRecord {
    BusRecord {
        name: name.to_owned(),
        description: None,
        kms_key_identifier: None,
        dead_letter_arn: None,
        created_ms: 1_000,
        modified_ms: 1_000,
    }
}

fn rule(bus: &str, name: &str) -> RuleRecord {
    RuleRecord {
        bus: bus.to_owned(),
        name: name.to_owned(),
        event_pattern: Some(r#"{"source":["a"]}"#.to_owned()),
        schedule_expression: None,
        state: RuleState::Enabled,
        description: None,
        role_arn: None,
        managed_by: None,
        created_by: "123456789012".to_owned(),
        next_fire_ms: None,
        created_ms: 1_000,
        modified_ms: 1_000,
    }
}

fn target(id: &str) -> TargetRecord {
    TargetRecord {
        id: id.to_owned(),
        arn: format!("arn:aws:events:us-east-1:123456789012:event-bus/{id}"),
        role_arn: None,
        input: TargetInput::WholeEvent,
        http_parameters: None,
        retry_policy: None,
        dead_letter_arn: None,
        other_parameters: Map::new(),
    }
}

fn delivery(id: &str, due_ms: Millis) -> DeliveryRecord {
    DeliveryRecord {
        id: id.to_owned(),
        event_id: format!("event-{id}"),
        bus: "default".to_owned(),
        rule_arn: "arn:aws:events:us-east-1:123456789012:rule/r".to_owned(),
        target_id: "t".to_owned(),
        target_arn: "arn:aws:events:us-east-1:123456789012:event-bus/x".to_owned(),
        http_parameters: Some(HttpParameters {
            path_parameter_values: vec!["p".to_owned()],
            header_parameters: vec![("h".to_owned(), "v".to_owned())],
            query_string_parameters: vec![],
        }),
        body: format!("{{\"n\":\"{id}\"}}"),
        ingested_ms: due_ms,
        maximum_retry_attempts: 185,
        maximum_event_age_in_seconds: 86_400,
        dead_letter_arn: None,
        message_group_id: None,
        hops: 0,
        attempts: 0,
        due_ms,
        last_error: None,
    }
}

fn archived(archive: &str, id: &str, at: Millis) -> ArchivedEvent {
    ArchivedEvent {
        archive: archive.to_owned(),
        event_id: id.to_owned(),
        ingested_ms: at,
        event: format!("{{\"id\":\"{id}\"}}"),
    }
}

/// Runs every check. The store must be empty.
pub async fn run(store: &dyn EventsStore) {
    buses(store).await;
    rules_and_targets(store).await;
    schedules(store).await;
    deliveries(store).await;
    archives_and_replays(store).await;
    connections_and_destinations(store).await;
}

async fn buses(store: &dyn EventsStore) {
    store
        .create_bus(bus("default"))
        .await
        .expect("create default");
    store.create_bus(bus("b2")).await.expect("create b2");
    assert!(matches!(
        store.create_bus(bus("b2")).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let mut changed = bus("b2");
    changed.description = Some("d".into());
    changed.dead_letter_arn = Some("arn:aws:sqs:us-east-1:123456789012:q".into());
    store.update_bus(changed.clone()).await.expect("update");
    assert!(matches!(
        store.update_bus(bus("nope")).await,
        Err(StoreError::NotFound(_))
    ));
    let all = store.list_buses().await.expect("list");
    assert_eq!(all, vec![changed, bus("default")], "ordered by name");
}

async fn rules_and_targets(store: &dyn EventsStore) {
    assert!(matches!(
        store.put_rule(rule("missing-bus", "r")).await,
        Err(StoreError::NotFound(_))
    ));
    store.put_rule(rule("b2", "r1")).await.expect("put r1");
    store.put_rule(rule("b2", "r0")).await.expect("put r0");
    let mut replaced = rule("b2", "r1");
    replaced.created_ms = 9_999;
    replaced.modified_ms = 5_000;
    replaced.state = RuleState::Disabled;
    store.put_rule(replaced).await.expect("replace r1");
    let rules = store.list_rules().await.expect("list rules");
    let names: Vec<_> = rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["r0", "r1"]);
    assert_eq!(
        rules[1].created_ms, 1_000,
        "replace keeps the creation time"
    );
    assert_eq!(rules[1].modified_ms, 5_000);
    assert_eq!(rules[1].state, RuleState::Disabled);

    assert!(matches!(
        store.put_targets("b2", "nope", vec![target("t")], 5).await,
        Err(StoreError::NotFound(_))
    ));
    store
        .put_targets("b2", "r1", vec![target("t2"), target("t1")], 5)
        .await
        .expect("put targets");
    let mut t2 = target("t2");
    t2.input = TargetInput::Transformer {
        paths: vec![("a".into(), "$.detail.a".into())],
        template: "<a>".into(),
    };
    t2.retry_policy = Some(RetryPolicy {
        maximum_retry_attempts: Some(3),
        maximum_event_age_in_seconds: None,
    });
    store
        .put_targets("b2", "r1", vec![t2.clone()], 5)
        .await
        .expect("replace t2");
    let too_many: Vec<_> = (0..4).map(|i| target(&format!("x{i}"))).collect();
    assert!(matches!(
        store.put_targets("b2", "r1", too_many, 5).await,
        Err(StoreError::Conflict(_))
    ));
    let all = store.list_all_targets().await.expect("list targets");
    let ids: Vec<_> = all.iter().map(|(_, _, t)| t.id.as_str()).collect();
    assert_eq!(
        ids,
        ["t2", "t1"],
        "insertion order, nothing of the refused put"
    );
    assert_eq!(all[0].2, t2, "targets round-trip");

    let missing = store
        .remove_targets("b2", "r1", &["t1".into(), "zz".into()])
        .await
        .expect("remove");
    assert_eq!(missing, ["zz"]);
    assert!(matches!(
        store.delete_rule("b2", "r1", false).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store.delete_rule("b2", "r1", true).await.expect("force"));
    assert!(!store.delete_rule("b2", "r1", false).await.expect("again"));
    assert!(
        store.list_all_targets().await.expect("targets").is_empty(),
        "forced delete removes the targets"
    );

    // Deleting a bus deletes its rules.
    store.create_bus(bus("gone")).await.expect("bus");
    store.put_rule(rule("gone", "r")).await.expect("rule");
    store
        .put_targets("gone", "r", vec![target("t")], 5)
        .await
        .expect("target");
    assert!(store.delete_bus("gone").await.expect("delete bus"));
    assert!(!store.delete_bus("gone").await.expect("delete again"));
    assert!(
        !store
            .list_rules()
            .await
            .expect("rules")
            .iter()
            .any(|r| r.bus == "gone")
    );
    assert!(store.list_all_targets().await.expect("targets").is_empty());
}

async fn schedules(store: &dyn EventsStore) {
    let mut s = rule("default", "every-minute");
    s.event_pattern = None;
    s.schedule_expression = Some("rate(1 minute)".into());
    s.next_fire_ms = Some(60_000);
    store.put_rule(s.clone()).await.expect("put");
    let mut later = s.clone();
    later.name = "later".into();
    later.next_fire_ms = Some(500_000);
    store.put_rule(later).await.expect("put later");

    assert!(
        store
            .due_schedules(59_999, 10)
            .await
            .expect("due")
            .is_empty()
    );
    assert_eq!(store.next_schedule_ms().await.expect("next"), Some(60_000));
    let due = store.due_schedules(60_000, 10).await.expect("due");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].name, "every-minute");

    let fired = Ingest {
        deliveries: vec![delivery("sched-1", 60_000)],
        archived: vec![],
    };
    assert!(
        store
            .fire_schedule(
                "default",
                "every-minute",
                60_000,
                Some(120_000),
                fired.clone()
            )
            .await
            .expect("fire")
    );
    assert!(
        !store
            .fire_schedule("default", "every-minute", 60_000, Some(120_000), fired)
            .await
            .expect("fire twice"),
        "a second firing of the same instant is refused"
    );
    assert_eq!(store.pending_deliveries().await.expect("pending"), 1);
    let rules = store.list_rules().await.expect("rules");
    let fired_rule = rules
        .iter()
        .find(|r| r.name == "every-minute")
        .expect("still there");
    assert_eq!(fired_rule.next_fire_ms, Some(120_000));
    assert!(
        !store
            .fire_schedule("default", "missing", 1, None, Ingest::default())
            .await
            .expect("missing rule")
    );
    // Clean up for the delivery checks.
    let claimed = store
        .claim_due(i64::MAX / 2, 10, i64::MAX / 2)
        .await
        .expect("claim");
    for d in claimed {
        store
            .finish(&d.id, Finish::default())
            .await
            .expect("finish");
    }
    assert!(
        store
            .delete_rule("default", "every-minute", true)
            .await
            .expect("del")
    );
    assert!(
        store
            .delete_rule("default", "later", true)
            .await
            .expect("del")
    );
    assert_eq!(store.next_schedule_ms().await.expect("next"), None);
}

async fn deliveries(store: &dyn EventsStore) {
    assert_eq!(store.next_due_ms().await.expect("empty"), None);
    store
        .ingest(Ingest {
            deliveries: vec![delivery("a", 100), delivery("b", 200), delivery("c", 300)],
            archived: vec![],
        })
        .await
        .expect("ingest");
    // The same ids again change nothing.
    let mut dup = delivery("a", 5);
    dup.body = "changed".into();
    store
        .ingest(Ingest {
            deliveries: vec![dup],
            archived: vec![],
        })
        .await
        .expect("ingest duplicate");
    assert_eq!(store.pending_deliveries().await.expect("pending"), 3);
    assert_eq!(store.next_due_ms().await.expect("next"), Some(100));

    let first = store.claim_due(250, 10, 10_000).await.expect("claim");
    assert_eq!(
        first.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        ["a", "b"],
        "due ones, earliest first"
    );
    assert_eq!(first[0], delivery("a", 100), "round-trip, first body kept");
    assert!(
        store
            .claim_due(9_999, 10, 20_000)
            .await
            .expect("claim")
            .iter()
            .all(|d| d.id == "c"),
        "leased deliveries are not claimed again before the lease ends"
    );
    let after_lease = store.claim_due(10_000, 10, 30_000).await.expect("claim");
    let mut ids: Vec<_> = after_lease.iter().map(|d| d.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["a", "b"], "an expired lease makes them due again");

    store
        .retry_later("a", 1, 40_000, "boom")
        .await
        .expect("retry");
    store
        .retry_later("zz", 1, 1, "x")
        .await
        .expect("missing is ignored");
    let expired = store.claim_due(39_999, 10, 100_000).await.expect("claim");
    let mut ids: Vec<_> = expired.iter().map(|d| d.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["b", "c"], "a waits for its retry time");
    let again = store.claim_due(40_000, 10, 100_000).await.expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].last_error.as_deref(), Some("boom"));

    let letter = DeadLetter {
        queue_arn: "arn:aws:sqs:us-east-1:123456789012:dlq".into(),
        delivery_id: "a".into(),
        event_id: "event-a".into(),
        body: "{}".into(),
        rule_arn: "r".into(),
        target_arn: "t".into(),
        error_code: "E".into(),
        error_message: "m".into(),
        exhausted_retry_condition: Some("MaximumRetryAttempts".into()),
        retry_attempts: 1,
        at_ms: 40_000,
    };
    let follow = Ingest {
        deliveries: vec![delivery("a-next", 0)],
        archived: vec![],
    };
    assert!(
        store
            .finish(
                "a",
                Finish {
                    dead_letter: Some(letter.clone()),
                    follow_up: follow.clone(),
                },
            )
            .await
            .expect("finish")
    );
    assert!(
        !store
            .finish(
                "a",
                Finish {
                    dead_letter: Some(letter.clone()),
                    follow_up: follow,
                },
            )
            .await
            .expect("finish twice"),
        "a repeat writes nothing"
    );
    assert_eq!(
        store.list_dead_letters(None, 10).await.expect("letters"),
        vec![letter.clone()]
    );
    assert!(
        store
            .list_dead_letters(Some("other"), 10)
            .await
            .expect("letters")
            .is_empty()
    );
    // b and c are queued (leased), a-next added by the follow-up.
    assert_eq!(store.pending_deliveries().await.expect("pending"), 3);
    assert_eq!(store.release_leases(60_000).await.expect("release"), 2);
    let rest = store.claim_due(60_000, 10, 70_000).await.expect("claim");
    let mut ids: Vec<_> = rest.iter().map(|d| d.id.clone()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["a-next", "b", "c"]);
    for d in rest {
        assert!(
            store
                .finish(&d.id, Finish::default())
                .await
                .expect("finish")
        );
    }
    assert_eq!(store.pending_deliveries().await.expect("pending"), 0);
}

async fn archives_and_replays(store: &dyn EventsStore) {
    let archive = ArchiveRecord {
        name: "arch".into(),
        bus: "default".into(),
        description: Some("d".into()),
        event_pattern: None,
        retention_days: 1,
        kms_key_identifier: None,
        state: "ENABLED".into(),
        created_ms: 0,
        modified_ms: 0,
    };
    store.create_archive(archive.clone()).await.expect("create");
    assert!(matches!(
        store.create_archive(archive.clone()).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let mut on_missing_bus = archive.clone();
    on_missing_bus.name = "other".into();
    on_missing_bus.bus = "nope".into();
    assert!(matches!(
        store.create_archive(on_missing_bus).await,
        Err(StoreError::NotFound(_))
    ));
    let mut updated = archive.clone();
    updated.retention_days = 0;
    updated.event_pattern = Some("{}".into());
    store.update_archive(updated.clone()).await.expect("update");
    assert_eq!(store.list_archives().await.expect("list"), vec![updated]);

    store
        .ingest(Ingest {
            deliveries: vec![],
            archived: (0..5)
                .map(|i| archived("arch", &format!("e{i}"), 1_000 * i))
                .collect(),
        })
        .await
        .expect("archive");
    store
        .ingest(Ingest {
            deliveries: vec![],
            archived: vec![archived("arch", "e1", 1_000)],
        })
        .await
        .expect("archive duplicate");
    let stats = store.archive_stats("arch").await.expect("stats");
    assert_eq!(stats.event_count, 5);
    assert_eq!(stats.size_bytes, 5 * 11);

    let window = store
        .archived_events("arch", 1_000, 3_000, 0, 10)
        .await
        .expect("window");
    let ids: Vec<_> = window.iter().map(|(_, e)| e.event_id.as_str()).collect();
    assert_eq!(ids, ["e1", "e2", "e3"]);
    let after = store
        .archived_events("arch", 1_000, 3_000, window[0].0, 1)
        .await
        .expect("page");
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].1.event_id, "e2");

    let replay = ReplayRecord {
        name: "rp".into(),
        archive: "arch".into(),
        description: None,
        event_start_ms: 1_000,
        event_end_ms: 3_000,
        destination_bus: "default".into(),
        filter_arns: vec!["arn:aws:events:us-east-1:123456789012:rule/r".into()],
        state: ReplayState::Starting,
        state_reason: None,
        cursor: 0,
        last_replayed_ms: None,
        replay_start_ms: 10,
        replay_end_ms: None,
    };
    store.create_replay(replay.clone()).await.expect("replay");
    assert!(matches!(
        store.create_replay(replay.clone()).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(
        store
            .set_replay_state(
                "rp",
                &[ReplayState::Starting],
                ReplayState::Running,
                None,
                None
            )
            .await
            .expect("run")
    );
    assert!(
        !store
            .set_replay_state(
                "rp",
                &[ReplayState::Starting],
                ReplayState::Running,
                None,
                None
            )
            .await
            .expect("not from running")
    );
    let step = Ingest {
        deliveries: vec![delivery("replayed-1", 0)],
        archived: vec![],
    };
    assert!(
        store
            .advance_replay("rp", 0, window[0].0, Some(1_000), step.clone())
            .await
            .expect("advance")
    );
    assert!(
        !store
            .advance_replay("rp", 0, window[0].0, Some(1_000), step)
            .await
            .expect("stale cursor"),
        "a stale cursor is refused"
    );
    let got = store.get_replay("rp").await.expect("get").expect("exists");
    assert_eq!(got.cursor, window[0].0);
    assert_eq!(got.last_replayed_ms, Some(1_000));
    assert_eq!(got.state, ReplayState::Running);
    assert!(
        store
            .set_replay_state(
                "rp",
                &[ReplayState::Running],
                ReplayState::Completed,
                None,
                Some(20)
            )
            .await
            .expect("complete")
    );
    assert!(
        !store
            .advance_replay("rp", got.cursor, got.cursor + 1, None, Ingest::default())
            .await
            .expect("finished")
    );
    let listed = store.list_replays().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].replay_end_ms, Some(20));
    assert_eq!(store.get_replay("missing").await.expect("get"), None);
    let claimed = store
        .claim_due(i64::MAX / 2, 10, i64::MAX / 2)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1, "the replay's delivery was ingested");
    for d in claimed {
        store
            .finish(&d.id, Finish::default())
            .await
            .expect("finish");
    }

    // Retention: with 1 day, events older than a day go.
    let mut one_day = archive.clone();
    one_day.retention_days = 1;
    store.update_archive(one_day).await.expect("retention");
    let purged = store
        .purge_expired(86_400_000 + 2_500)
        .await
        .expect("purge");
    assert_eq!(purged, 3, "e0, e1, e2 are older than a day");
    assert_eq!(
        store
            .archive_stats("arch")
            .await
            .expect("stats")
            .event_count,
        2
    );
    assert!(store.delete_archive("arch").await.expect("delete"));
    assert!(!store.delete_archive("arch").await.expect("again"));
    assert_eq!(
        store.archive_stats("arch").await.expect("stats"),
        ArchiveStats::default()
    );
}

async fn connections_and_destinations(store: &dyn EventsStore) {
    let connection = ConnectionRecord {
        name: "c".into(),
        uuid: "u-1".into(),
        description: None,
        auth: ConnectionAuth::OAuthClientCredentials {
            client_id: "id".into(),
            client_secret: "secret".into(),
            authorization_endpoint: "http://127.0.0.1/token".into(),
            http_method: "POST".into(),
            oauth_http_parameters: Some(ConnectionHttpParameters {
                header_parameters: vec![],
                query_string_parameters: vec![],
                body_parameters: vec![ConnectionParameter {
                    key: "scope".into(),
                    value: "all".into(),
                    is_value_secret: false,
                }],
            }),
        },
        invocation_http_parameters: None,
        state: "AUTHORIZING".into(),
        state_reason: None,
        created_ms: 1,
        modified_ms: 1,
        last_authorized_ms: None,
    };
    store
        .create_connection(connection.clone())
        .await
        .expect("create");
    assert!(matches!(
        store.create_connection(connection.clone()).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let mut authorized = connection.clone();
    authorized.state = "AUTHORIZED".into();
    authorized.last_authorized_ms = Some(2);
    store
        .update_connection(authorized.clone())
        .await
        .expect("update");
    assert_eq!(
        store.get_connection("c").await.expect("get"),
        Some(authorized.clone())
    );
    assert_eq!(
        store.list_connections().await.expect("list"),
        vec![authorized]
    );
    let mut missing = connection.clone();
    missing.name = "nope".into();
    assert!(matches!(
        store.update_connection(missing).await,
        Err(StoreError::NotFound(_))
    ));

    let destination = ApiDestinationRecord {
        name: "d".into(),
        uuid: "u-2".into(),
        description: Some("x".into()),
        connection_arn: "arn:aws:events:us-east-1:123456789012:connection/c/u-1".into(),
        invocation_endpoint: "http://127.0.0.1/hook/*".into(),
        http_method: "POST".into(),
        invocation_rate_limit_per_second: Some(300),
        state: "ACTIVE".into(),
        created_ms: 1,
        modified_ms: 1,
    };
    store
        .create_api_destination(destination.clone())
        .await
        .expect("create");
    assert!(matches!(
        store.create_api_destination(destination.clone()).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let mut put = destination.clone();
    put.http_method = "PUT".into();
    store
        .update_api_destination(put.clone())
        .await
        .expect("update");
    assert_eq!(
        store.get_api_destination("d").await.expect("get"),
        Some(put.clone())
    );
    assert_eq!(
        store.list_api_destinations().await.expect("list"),
        vec![put]
    );
    assert!(store.delete_api_destination("d").await.expect("delete"));
    assert!(!store.delete_api_destination("d").await.expect("again"));
    assert!(store.delete_connection("c").await.expect("delete"));
    assert_eq!(store.get_connection("c").await.expect("get"), None);
}
