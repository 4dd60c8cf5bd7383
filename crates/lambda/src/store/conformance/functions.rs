//! The conformance suite for the asynchronous-invocation queue of [`crate::store::functions`]:
//! every backend runs it on a fresh, empty store
//! (`crate::store::conformance::functions::run(&store).await`). Each check is a
//! `# Contract` section turned into assertions.
//!
//! Panics are the failure signal here (this is test support, called only from tests).

#![allow(clippy::unwrap_used, clippy::panic)]
use crate::store::functions::*;

fn invocation(id: &str, due_at_ms: i64) -> AsyncInvocation {
    AsyncInvocation {
        id: id.to_owned(),
        function: "f".to_owned(),
        payload: b"{}".to_vec(),
        attempts: 0,
        accepted_at_ms: due_at_ms,
        due_at_ms,
    }
}

fn ids(claimed: &[AsyncInvocation]) -> Vec<&str> {
    claimed.iter().map(|i| i.id.as_str()).collect()
}

/// Runs every check.
pub async fn run(store: &impl FunctionStore) {
    leases_retries_and_failures(store).await;
    renewals_keep_a_claim_only_for_its_owner(store).await;
    renewals_end_with_the_claim(store).await;
}

/// `enqueue_async`, `claim_async`, `retry_async`, `release_async_claims`, `finish_async`.
async fn leases_retries_and_failures(store: &impl FunctionStore) {
    let inv = invocation("q1", 1_000);
    store.enqueue_async(inv.clone()).await.unwrap();
    let mut repeat = inv.clone();
    repeat.payload = b"{\"second\":true}".to_vec();
    store.enqueue_async(repeat).await.unwrap();
    assert!(
        store
            .claim_async("a", 999, 100, 10)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    assert_eq!(
        store.claim_async("a", 1_000, 100, 10).await.unwrap(),
        vec![inv.clone()],
        "the same id stored twice keeps the first"
    );
    assert!(
        store
            .claim_async("b", 1_050, 100, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    assert_eq!(
        ids(&store.claim_async("b", 1_100, 100, 10).await.unwrap()),
        ["q1"],
        "the lease ran out"
    );
    store.retry_async("q1", 1, 5_000).await.unwrap();
    assert!(
        store
            .claim_async("a", 4_999, 100, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim_async("a", 5_000, 100, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    store.release_async_claims().await.unwrap();
    assert_eq!(
        store.claim_async("b", 5_000, 100, 10).await.unwrap().len(),
        1,
        "released"
    );

    let failure = AsyncFailure {
        id: "q1".into(),
        function: "f".into(),
        payload: b"{}".to_vec(),
        attempts: 3,
        error_type: "Boom".into(),
        error_payload: b"{\"errorType\":\"Boom\"}".to_vec(),
        failed_at_ms: 6_000,
    };
    store
        .finish_async("q1", Some(failure.clone()))
        .await
        .unwrap();
    store
        .finish_async("q1", Some(failure.clone()))
        .await
        .unwrap();
    assert_eq!(
        store.list_async_failures(Some("f")).await.unwrap(),
        vec![failure],
        "a repeated finish records the failure once"
    );
    assert!(
        store
            .list_async_failures(Some("g"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .claim_async("a", 10_000, 100, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// `renew_async_claim`: the owner moves its lease's end; nobody else can.
async fn renewals_keep_a_claim_only_for_its_owner(store: &impl FunctionStore) {
    store.enqueue_async(invocation("r1", 20_000)).await.unwrap();
    assert_eq!(
        ids(&store.claim_async("a", 20_000, 100, 10).await.unwrap()),
        ["r1"]
    );
    assert!(
        store
            .renew_async_claim("r1", "a", 20_050, 100)
            .await
            .unwrap(),
        "the owner renews"
    );
    assert!(
        store
            .claim_async("b", 20_120, 100, 10)
            .await
            .unwrap()
            .is_empty(),
        "past the first lease, inside the renewed one"
    );
    assert!(
        !store
            .renew_async_claim("r1", "b", 20_120, 1_000)
            .await
            .unwrap(),
        "only the owner renews"
    );
    assert_eq!(
        ids(&store.claim_async("b", 20_150, 100, 10).await.unwrap()),
        ["r1"],
        "an unrenewed lease runs out, and another claimer takes the invocation"
    );
    assert!(
        !store
            .renew_async_claim("r1", "a", 20_160, 1_000)
            .await
            .unwrap(),
        "a claim taken over is not the old owner's to renew"
    );
    assert!(
        store
            .claim_async("c", 20_249, 100, 10)
            .await
            .unwrap()
            .is_empty(),
        "the failed renewal left the new owner's lease as it was"
    );
    assert_eq!(
        ids(&store.claim_async("c", 20_250, 100, 10).await.unwrap()),
        ["r1"]
    );
    // A lease that ran out but that no one took since is still its owner's.
    assert!(
        store
            .renew_async_claim("r1", "c", 20_400, 100)
            .await
            .unwrap(),
        "an expired claim nobody took is still the owner's"
    );
    assert!(
        store
            .claim_async("d", 20_499, 100, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .renew_async_claim("nope", "c", 20_400, 100)
            .await
            .unwrap(),
        "an unknown invocation"
    );
    store.finish_async("r1", None).await.unwrap();
}

/// A retry, a release or a finish ends the claim: there is nothing left to renew.
async fn renewals_end_with_the_claim(store: &impl FunctionStore) {
    store.enqueue_async(invocation("s1", 30_000)).await.unwrap();
    assert_eq!(
        ids(&store.claim_async("a", 30_000, 100, 10).await.unwrap()),
        ["s1"]
    );
    store.retry_async("s1", 1, 30_000).await.unwrap();
    assert!(
        !store
            .renew_async_claim("s1", "a", 30_010, 100)
            .await
            .unwrap(),
        "retried"
    );
    assert_eq!(
        ids(&store.claim_async("b", 30_010, 100, 10).await.unwrap()),
        ["s1"],
        "the failed renewal did not claim it again"
    );
    store.release_async_claims().await.unwrap();
    assert!(
        !store
            .renew_async_claim("s1", "b", 30_020, 100)
            .await
            .unwrap(),
        "released"
    );
    assert_eq!(
        ids(&store.claim_async("c", 30_020, 100, 10).await.unwrap()),
        ["s1"]
    );
    store.finish_async("s1", None).await.unwrap();
    assert!(
        !store
            .renew_async_claim("s1", "c", 30_030, 100)
            .await
            .unwrap(),
        "finished"
    );
    assert!(
        store
            .claim_async("d", 40_000, 100, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
