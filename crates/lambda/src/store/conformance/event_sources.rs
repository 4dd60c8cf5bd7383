//! The conformance suite for [`crate::store::event_sources`]: every backend runs it on a fresh,
//! empty store (`crate::store::conformance::event_sources::run(&store).await`). Each check
//! is a `# Contract` section turned into assertions.
//!
//! Panics are the failure signal here (this is test support, called only from tests).

use serde_json::json;

use crate::store::event_sources::*;
use baton_platform::store::StoreError;

fn mapping(uuid: &str, queue: &str, function: &str) -> MappingRecord {
    MappingRecord {
        uuid: uuid.to_owned(),
        event_source_arn: format!("arn:aws:sqs:us-east-1:123456789012:{queue}"),
        function_name: function.to_owned(),
        config: json!({"BatchSize": 10, "uuid": uuid}),
    }
}

fn uuids(records: &[MappingRecord]) -> Vec<&str> {
    records.iter().map(|r| r.uuid.as_str()).collect()
}

/// Runs every check. The store must be empty.
pub async fn run(store: &dyn EventSourceMappingStore) {
    create_get_update_delete(store).await;
    listing_filters_and_pages(store).await;
}

async fn create_get_update_delete(store: &dyn EventSourceMappingStore) {
    let m = mapping("a-1", "q1", "f1");
    store.create_mapping(m.clone()).await.expect("create");
    assert_eq!(
        store.get_mapping("a-1").await.expect("get"),
        Some(m.clone())
    );
    assert!(store.get_mapping("nope").await.expect("get").is_none());

    // A second mapping with the same UUID is refused and changes nothing.
    let other = mapping("a-1", "q2", "f2");
    match store.create_mapping(other).await {
        Err(StoreError::AlreadyExists(id)) => assert_eq!(id, "a-1"),
        r => panic!("duplicate create: {r:?}"),
    }
    assert_eq!(
        store.get_mapping("a-1").await.expect("get"),
        Some(m.clone())
    );

    let mut changed = m.clone();
    changed.function_name = "f9".to_owned();
    changed.config = json!({"BatchSize": 5});
    store.update_mapping(changed.clone()).await.expect("update");
    assert_eq!(store.get_mapping("a-1").await.expect("get"), Some(changed));

    match store.update_mapping(mapping("gone", "q", "f")).await {
        Err(StoreError::NotFound(id)) => assert_eq!(id, "gone"),
        r => panic!("update of a missing mapping: {r:?}"),
    }

    store.delete_mapping("a-1").await.expect("delete");
    assert!(store.get_mapping("a-1").await.expect("get").is_none());
    match store.delete_mapping("a-1").await {
        Err(StoreError::NotFound(id)) => assert_eq!(id, "a-1"),
        r => panic!("second delete: {r:?}"),
    }
}

async fn listing_filters_and_pages(store: &dyn EventSourceMappingStore) {
    for (uuid, queue, function) in [
        ("b-3", "q1", "f1"),
        ("b-1", "q1", "f2"),
        ("b-2", "q2", "f1"),
        ("b-4", "q2", "f2"),
        ("b-5", "q1", "f1"),
    ] {
        store
            .create_mapping(mapping(uuid, queue, function))
            .await
            .expect("create");
    }
    let all = MappingFilter::default();
    let listed = store.list_mappings(&all, None, 100).await.expect("list");
    assert_eq!(uuids(&listed), ["b-1", "b-2", "b-3", "b-4", "b-5"]);

    // Pages: each mapping once, in UUID order.
    let first = store.list_mappings(&all, None, 2).await.expect("page 1");
    assert_eq!(uuids(&first), ["b-1", "b-2"]);
    let second = store
        .list_mappings(&all, Some("b-2"), 2)
        .await
        .expect("page 2");
    assert_eq!(uuids(&second), ["b-3", "b-4"]);
    let third = store
        .list_mappings(&all, Some("b-4"), 2)
        .await
        .expect("page 3");
    assert_eq!(uuids(&third), ["b-5"]);

    let by_queue = MappingFilter {
        event_source_arn: Some("arn:aws:sqs:us-east-1:123456789012:q1".to_owned()),
        function_name: None,
    };
    let listed = store
        .list_mappings(&by_queue, None, 100)
        .await
        .expect("list");
    assert_eq!(uuids(&listed), ["b-1", "b-3", "b-5"]);

    let by_function = MappingFilter {
        event_source_arn: None,
        function_name: Some("f1".to_owned()),
    };
    let listed = store
        .list_mappings(&by_function, Some("b-2"), 100)
        .await
        .expect("list");
    assert_eq!(uuids(&listed), ["b-3", "b-5"]);

    let both = MappingFilter {
        event_source_arn: Some("arn:aws:sqs:us-east-1:123456789012:q2".to_owned()),
        function_name: Some("f2".to_owned()),
    };
    let listed = store.list_mappings(&both, None, 100).await.expect("list");
    assert_eq!(uuids(&listed), ["b-4"]);

    for uuid in ["b-1", "b-2", "b-3", "b-4", "b-5"] {
        store.delete_mapping(uuid).await.expect("delete");
    }
    assert!(
        store
            .list_mappings(&all, None, 100)
            .await
            .expect("list")
            .is_empty()
    );
}
