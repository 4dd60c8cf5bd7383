//! The conformance suite every Step Functions store backend runs: each `# Contract` in
//! [`super`] checked through the traits alone.
//!
//! A backend's test calls [`run_all`] on a fresh, empty store. The checks panic with a
//! message naming the broken contract (this module is test support; nothing calls it at
//! run time).

#![allow(clippy::unwrap_used, clippy::panic)]

use serde_json::json;

use baton_platform::clock::Millis;
use baton_platform::store::StoreError;

use super::*;

/// Runs every check; the store must start empty.
pub async fn run_all(store: &dyn SfnStore) {
    state_machines(store).await;
    activities(store).await;
    tags(store).await;
    executions_and_steps(store).await;
    history_pages(store).await;
    listing_executions(store).await;
    work_claims(store).await;
    activity_tasks(store).await;
}

fn revision(id: &str, definition: &str, at: Millis) -> Revision {
    Revision {
        revision_id: id.to_owned(),
        definition: definition.to_owned(),
        role_arn: "arn:aws:iam::123456789012:role/r".to_owned(),
        logging_configuration: Some(json!({"level": "OFF"})),
        tracing_configuration: None,
        created_millis: at,
    }
}

fn machine(name: &str) -> StateMachineRecord {
    StateMachineRecord {
        arn: format!("arn:aws:states:us-east-1:123456789012:stateMachine:{name}"),
        name: name.to_owned(),
        machine_type: MachineType::Standard,
        created_millis: 1_000,
        revision: revision(&format!("{name}-r1"), "{\"v\":1}", 1_000),
    }
}

fn tag(k: &str, v: &str) -> Tag {
    Tag {
        key: k.to_owned(),
        value: v.to_owned(),
    }
}

fn empty_step(status: RunStatus) -> Step {
    Step {
        status,
        stop_millis: None,
        output: None,
        error: None,
        cause: None,
        snapshot: SnapshotChange::Replace("{}".to_owned()),
        history: Vec::new(),
        work_added: Vec::new(),
        work_done: Vec::new(),
        activity_tasks_added: Vec::new(),
        activity_tasks_done: Vec::new(),
        redrive: None,
    }
}

fn events(ids: std::ops::RangeInclusive<u64>) -> Vec<HistoryRow> {
    ids.map(|id| HistoryRow {
        event_id: id,
        body: format!("{{\"event\":{id}}}"),
    })
    .collect()
}

fn work(key: &str, due: Millis, lease: Option<(&str, Millis)>) -> NewWork {
    NewWork {
        key: key.to_owned(),
        due_millis: due,
        payload: format!("payload of {key}"),
        lease: lease.map(|(owner, until)| Lease {
            owner: owner.to_owned(),
            until_millis: until,
        }),
    }
}

fn new_execution(machine_arn: &str, name: &str) -> NewExecution {
    NewExecution {
        arn: format!(
            "{}:{name}",
            machine_arn.replace(":stateMachine:", ":execution:")
        ),
        name: name.to_owned(),
        state_machine_arn: machine_arn.to_owned(),
        revision_id: "m-r1".to_owned(),
        input: "{\"in\":1}".to_owned(),
        start_millis: 5_000,
        parent: None,
    }
}

/// Starts an execution with a two-event first step; returns its ARN (used by backends'
/// own tests, e.g. reopening a file).
pub async fn start_sample_execution(store: &dyn SfnStore, name: &str) -> String {
    let e = new_execution(
        "arn:aws:states:us-east-1:123456789012:stateMachine:sample",
        name,
    );
    let arn = e.arn.clone();
    let mut step = empty_step(RunStatus::Running);
    step.history = events(1..=2);
    store.start_execution(e, step).await.unwrap();
    arn
}

async fn state_machines(store: &dyn SfnStore) {
    let a = machine("alpha");
    store
        .insert_state_machine(&a, &[tag("team", "x")])
        .await
        .unwrap();
    assert!(
        matches!(
            store.insert_state_machine(&a, &[]).await,
            Err(StoreError::AlreadyExists(_))
        ),
        "insert_state_machine: an existing ARN is AlreadyExists"
    );
    let got = store.state_machine(&a.arn).await.unwrap().unwrap();
    assert_eq!(got, a, "state_machine returns what was stored");
    assert_eq!(store.tags(&a.arn).await.unwrap(), vec![tag("team", "x")]);

    let r2 = revision("alpha-r2", "{\"v\":2}", 2_000);
    let updated = store.update_state_machine(&a.arn, &r2).await.unwrap();
    assert_eq!(updated.revision, r2, "update makes the revision current");
    assert_eq!(updated.created_millis, a.created_millis);
    let old = store.revision("alpha-r1").await.unwrap().unwrap();
    assert_eq!(old.revision.definition, "{\"v\":1}", "old revisions stay");
    assert_eq!(old.state_machine_arn, a.arn);
    assert!(matches!(
        store
            .update_state_machine(
                "arn:aws:states:us-east-1:123456789012:stateMachine:nope",
                &r2
            )
            .await,
        Err(StoreError::NotFound(_))
    ));

    for name in ["delta", "beta", "gamma"] {
        store
            .insert_state_machine(&machine(name), &[])
            .await
            .unwrap();
    }
    let first = store.list_state_machines(None, 2).await.unwrap();
    let names: Vec<&str> = first.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["alpha", "beta"], "list is in ARN order, limited");
    let rest = store
        .list_state_machines(Some(&first[1].arn), 10)
        .await
        .unwrap();
    let names: Vec<&str> = rest.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["delta", "gamma"], "list continues after the cursor");

    assert!(store.delete_state_machine(&a.arn).await.unwrap());
    assert!(!store.delete_state_machine(&a.arn).await.unwrap());
    assert!(store.state_machine(&a.arn).await.unwrap().is_none());
    assert!(store.tags(&a.arn).await.unwrap().is_empty(), "tags go too");
    assert!(
        store.revision("alpha-r2").await.unwrap().is_some(),
        "revisions outlive their machine"
    );
}

async fn activities(store: &dyn SfnStore) {
    let mk = |name: &str| ActivityRecord {
        arn: format!("arn:aws:states:us-east-1:123456789012:activity:{name}"),
        name: name.to_owned(),
        created_millis: 7,
    };
    let a = mk("worker-a");
    store.insert_activity(&a, &[tag("k", "v")]).await.unwrap();
    assert!(matches!(
        store.insert_activity(&a, &[]).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(store.activity(&a.arn).await.unwrap(), Some(a.clone()));
    store.insert_activity(&mk("worker-b"), &[]).await.unwrap();
    let all = store.list_activities(None, 10).await.unwrap();
    assert_eq!(all.len(), 2);
    let after = store.list_activities(Some(&a.arn), 10).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].name, "worker-b");
    assert!(store.delete_activity(&a.arn).await.unwrap());
    assert!(store.activity(&a.arn).await.unwrap().is_none());
    assert!(store.tags(&a.arn).await.unwrap().is_empty());
}

async fn tags(store: &dyn SfnStore) {
    let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:tagged";
    store
        .tag_resource(arn, &[tag("b", "1"), tag("a", "2")])
        .await
        .unwrap();
    store.tag_resource(arn, &[tag("b", "3")]).await.unwrap();
    assert_eq!(
        store.tags(arn).await.unwrap(),
        vec![tag("a", "2"), tag("b", "3")],
        "tags overwrite by key and list in key order"
    );
    store
        .untag_resource(arn, &["a".to_owned(), "zzz".to_owned()])
        .await
        .unwrap();
    assert_eq!(store.tags(arn).await.unwrap(), vec![tag("b", "3")]);
}

async fn executions_and_steps(store: &dyn SfnStore) {
    let machine_arn = "arn:aws:states:us-east-1:123456789012:stateMachine:m";
    let e = new_execution(machine_arn, "first");
    let mut step = empty_step(RunStatus::Running);
    step.history = events(1..=3);
    step.work_added = vec![work("timer:1", 9_000, None)];
    let id = store
        .start_execution(e.clone(), step.clone())
        .await
        .unwrap();
    assert!(
        matches!(
            store.start_execution(e.clone(), step).await,
            Err(StoreError::AlreadyExists(_))
        ),
        "start_execution: an existing ARN is AlreadyExists"
    );
    let rec = store.execution(&e.arn).await.unwrap().unwrap();
    assert_eq!(rec.id, id);
    assert_eq!(rec.version, 1, "a new execution is at version 1");
    assert_eq!(rec.status, RunStatus::Running);
    assert_eq!(rec.input, e.input);
    assert_eq!(rec.start_millis, 5_000);
    assert_eq!(store.execution_by_id(id).await.unwrap(), Some(rec.clone()));
    let snap = store.snapshot(&e.arn).await.unwrap().unwrap();
    assert_eq!((snap.id, snap.version), (id, 1));
    assert_eq!(snap.data.as_deref(), Some("{}"));

    // A step at a stale version changes nothing.
    let mut stale = empty_step(RunStatus::Failed);
    stale.history = events(4..=4);
    assert!(
        matches!(
            store.commit_step(id, 7, stale).await,
            Err(StoreError::Conflict(_))
        ),
        "commit_step: a stale version is a Conflict"
    );
    // A step that repeats an event id changes nothing either.
    let mut repeat = empty_step(RunStatus::Running);
    repeat.history = events(3..=4);
    repeat.work_done = vec![WorkKey {
        execution: id,
        key: "timer:1".to_owned(),
    }];
    assert!(
        matches!(
            store.commit_step(id, 1, repeat).await,
            Err(StoreError::Conflict(_))
        ),
        "commit_step: a history event id already stored is a Conflict"
    );
    let rec = store.execution(&e.arn).await.unwrap().unwrap();
    assert_eq!(rec.version, 1, "a refused step leaves the version");
    assert_eq!(store.history(id, None, false, 100).await.unwrap().len(), 3);
    let claimed = store
        .claim_work("n", 10_000, 10_000, 1_000, false, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "a refused step consumed no work");
    assert_eq!(claimed[0].execution_arn, e.arn);

    let mut fin = empty_step(RunStatus::Succeeded);
    fin.history = events(4..=5);
    fin.stop_millis = Some(6_000);
    fin.output = Some("{\"out\":2}".to_owned());
    fin.snapshot = SnapshotChange::Clear;
    fin.work_done = vec![claimed[0].work_key()];
    store.commit_step(id, 1, fin).await.unwrap();
    let rec = store.execution(&e.arn).await.unwrap().unwrap();
    assert_eq!(rec.version, 2);
    assert_eq!(rec.status, RunStatus::Succeeded);
    assert_eq!(rec.output.as_deref(), Some("{\"out\":2}"));
    assert_eq!(rec.stop_millis, Some(6_000));
    assert_eq!(store.snapshot(&e.arn).await.unwrap().unwrap().data, None);
    assert!(
        store
            .claim_work("n", 99_000, 99_000, 1_000, true, 10)
            .await
            .unwrap()
            .is_empty(),
        "work_done deletes the work"
    );
    assert!(matches!(
        store
            .commit_step(ExecutionId(987_654), 1, empty_step(RunStatus::Running))
            .await,
        Err(StoreError::NotFound(_))
    ));

    // A redrive step records its count and time.
    let mut redrive = empty_step(RunStatus::Running);
    redrive.history = events(6..=6);
    redrive.redrive = Some((1, 7_000));
    store.commit_step(id, 2, redrive).await.unwrap();
    let rec = store.execution(&e.arn).await.unwrap().unwrap();
    assert_eq!((rec.redrive_count, rec.redrive_millis), (1, Some(7_000)));

    // Children are found by their parent's task.
    let mut child = new_execution(machine_arn, "child");
    child.parent = Some(ParentLink {
        execution_arn: e.arn.clone(),
        task_id: 4,
    });
    store
        .start_execution(child.clone(), empty_step(RunStatus::Running))
        .await
        .unwrap();
    let found = store.child_execution(&e.arn, 4).await.unwrap().unwrap();
    assert_eq!(found.arn, child.arn);
    assert_eq!(found.parent, child.parent);
    assert!(store.child_execution(&e.arn, 5).await.unwrap().is_none());
}

async fn history_pages(store: &dyn SfnStore) {
    let arn = start_sample_execution(store, "paged").await;
    let id = store.execution(&arn).await.unwrap().unwrap().id;
    let mut step = empty_step(RunStatus::Running);
    step.history = events(3..=7);
    store.commit_step(id, 1, step).await.unwrap();
    let ids = |rows: Vec<HistoryRow>| rows.iter().map(|r| r.event_id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.history(id, None, false, 3).await.unwrap()),
        [1, 2, 3]
    );
    assert_eq!(
        ids(store.history(id, Some(3), false, 10).await.unwrap()),
        [4, 5, 6, 7]
    );
    assert_eq!(
        ids(store.history(id, None, true, 2).await.unwrap()),
        [7, 6],
        "reverse order starts at the newest event"
    );
    assert_eq!(
        ids(store.history(id, Some(6), true, 10).await.unwrap()),
        [5, 4, 3, 2, 1]
    );
    let first = store.history(id, None, false, 1).await.unwrap();
    assert_eq!(first[0].body, "{\"event\":1}", "bodies are kept as given");
}

async fn listing_executions(store: &dyn SfnStore) {
    let m1 = "arn:aws:states:us-east-1:123456789012:stateMachine:list1";
    let m2 = "arn:aws:states:us-east-1:123456789012:stateMachine:list2";
    let mut ids = Vec::new();
    for (i, m) in [m1, m1, m2, m1].into_iter().enumerate() {
        let status = if i == 1 {
            RunStatus::Failed
        } else {
            RunStatus::Running
        };
        let id = store
            .start_execution(new_execution(m, &format!("e{i}")), empty_step(status))
            .await
            .unwrap();
        ids.push(id);
    }
    let filter = ExecutionFilter {
        state_machine_arn: Some(m1.to_owned()),
        ..Default::default()
    };
    let all = store.list_executions(&filter, None, 10).await.unwrap();
    let names: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["e3", "e1", "e0"], "newest first, one machine only");
    let page = store.list_executions(&filter, None, 2).await.unwrap();
    assert_eq!(page.len(), 2);
    let next = store
        .list_executions(&filter, Some(page[1].id), 2)
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].name, "e0", "pages continue after the cursor");
    let failed = store
        .list_executions(
            &ExecutionFilter {
                state_machine_arn: Some(m1.to_owned()),
                status: Some(RunStatus::Failed),
                redriven: None,
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].name, "e1");
    let redriven = store
        .list_executions(
            &ExecutionFilter {
                state_machine_arn: Some(m1.to_owned()),
                status: None,
                redriven: Some(true),
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert!(redriven.is_empty());
}

async fn work_claims(store: &dyn SfnStore) {
    let m = "arn:aws:states:us-east-1:123456789012:stateMachine:work";
    let mut step = empty_step(RunStatus::Running);
    step.work_added = vec![
        work("timer:1", 100, None),
        work("timer:2", 5_000, None),
        work("task:1", 100, Some(("me", 50_000))),
    ];
    let id = store
        .start_execution(new_execution(m, "w"), step)
        .await
        .unwrap();

    let got = store
        .claim_work("other", 1_000, 1_000, 10_000, false, 10)
        .await
        .unwrap();
    let keys: Vec<&str> = got.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(
        keys,
        ["timer:1"],
        "claims only due, unleased work (task:1 is leased to `me`)"
    );
    assert_eq!(got[0].payload, "payload of timer:1");
    assert!(
        store
            .claim_work("third", 1_000, 1_000, 10_000, false, 10)
            .await
            .unwrap()
            .is_empty(),
        "a claimed item is leased: nobody else gets it"
    );
    let again = store
        .claim_work("other", 12_000, 12_000, 10_000, false, 10)
        .await
        .unwrap();
    let keys: Vec<&str> = again.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(
        keys,
        ["timer:1", "timer:2"],
        "an expired lease frees the item; earliest due first"
    );
    let own = store
        .claim_work("me", 12_000, 12_000, 10_000, true, 10)
        .await
        .unwrap();
    let keys: Vec<&str> = own.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(keys, ["task:1"], "reclaim_own returns the owner's items");

    // Concurrent claims never share an item.
    let mut step = empty_step(RunStatus::Running);
    step.work_added = (0..40).map(|i| work(&format!("n:{i}"), 1, None)).collect();
    store.commit_step(id, 1, step).await.unwrap();
    let (a, b) = tokio_join(
        store.claim_work("a", 100_000, 2, 1_000_000, false, 30),
        store.claim_work("b", 100_000, 2, 1_000_000, false, 30),
    )
    .await;
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 40);
    for w in &a {
        assert!(!b.iter().any(|x| x.key == w.key), "{} claimed twice", w.key);
    }

    let keys: Vec<WorkKey> = a.iter().map(WorkItem::work_key).collect();
    store.delete_work(&keys).await.unwrap();
    store.delete_work(&keys).await.unwrap();
    let left = store
        .claim_work("z", 99_000_000, 2, 1, false, 100)
        .await
        .unwrap();
    assert_eq!(left.len(), b.len(), "deleted work is gone");
}

/// Polls two futures to completion without a runtime dependency.
async fn tokio_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    let mut a = Box::pin(a);
    let mut b = Box::pin(b);
    let mut ra = None;
    let mut rb = None;
    std::future::poll_fn(|cx| {
        if ra.is_none()
            && let std::task::Poll::Ready(v) = a.as_mut().poll(cx)
        {
            ra = Some(v);
        }
        if rb.is_none()
            && let std::task::Poll::Ready(v) = b.as_mut().poll(cx)
        {
            rb = Some(v);
        }
        if ra.is_some() && rb.is_some() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    (ra.unwrap(), rb.unwrap())
}

async fn activity_tasks(store: &dyn SfnStore) {
    let m = "arn:aws:states:us-east-1:123456789012:stateMachine:act";
    let activity = "arn:aws:states:us-east-1:123456789012:activity:queue";
    let task = |task_id: u64| NewActivityTask {
        activity_arn: activity.to_owned(),
        task_id,
        input: format!("{{\"t\":{task_id}}}"),
        token: format!("token-{task_id}"),
    };
    let mut step = empty_step(RunStatus::Running);
    step.activity_tasks_added = vec![task(1), task(2)];
    let e = new_execution(m, "a");
    let id = store.start_execution(e.clone(), step).await.unwrap();

    let first = store
        .claim_activity_task(activity, "w", 1_000, 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.task_id, 1, "oldest task first");
    assert_eq!(first.execution, id);
    assert_eq!(first.execution_arn, e.arn);
    assert_eq!(first.token, "token-1");
    assert_eq!(first.input, "{\"t\":1}");
    let second = store
        .claim_activity_task(activity, "w", 1_000, 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.task_id, 2, "a leased task is skipped");
    assert!(
        store
            .claim_activity_task(activity, "w", 1_000, 60_000)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .claim_activity_task(
                "arn:aws:states:us-east-1:123456789012:activity:other",
                "w",
                1,
                1
            )
            .await
            .unwrap()
            .is_none()
    );

    let mut step = empty_step(RunStatus::Running);
    step.activity_tasks_done = vec![1];
    store.commit_step(id, 1, step).await.unwrap();
    let again = store
        .claim_activity_task(activity, "w", 100_000, 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        again.task_id, 2,
        "a done task is gone; an expired lease frees the other"
    );
}
