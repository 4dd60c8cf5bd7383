//! Asynchronous (`Event`) invocations: stored before they are acknowledged, then run by
//! a worker with Lambda's retry policy (two retries by default, events up to six hours
//! old), and on final failure recorded durably and sent to the on-failure destination.
//!
//! At-least-once: a claimed invocation is leased to this node for a short time
//! (`Settings::async_lease`, 30 s by default) and the lease is renewed while the
//! invocation runs, so a function that runs for minutes is not taken by another node,
//! yet a dead node's invocations run again once its leases lapse (or, alone on its
//! store, when it starts again).

use std::time::Duration;

use crate::store::functions::{AsyncFailure, AsyncInvocation};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::error::FunctionsError;
use crate::model::{EventInvokeConfig, FunctionRef};
use crate::service::{Functions, InvokeOutcome, InvokeRequest, MAX_ASYNC_PAYLOAD_BYTES};

/// Lambda's defaults for asynchronous invocation.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
pub const DEFAULT_MAX_EVENT_AGE_SECS: u32 = 21_600;
/// How many invocations one claim takes.
const CLAIM_BATCH: usize = 64;
/// Back-off for an invocation throttled by its concurrency limit.
const THROTTLE_BACKOFF: Duration = Duration::from_secs(1);

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Functions {
    /// Accepts an `Event` invocation: durable when this returns the request id.
    pub async fn invoke_event(
        &self,
        function: &str,
        qualifier: Option<&str>,
        payload: Vec<u8>,
    ) -> Result<String, FunctionsError> {
        if payload.len() > MAX_ASYNC_PAYLOAD_BYTES {
            return Err(FunctionsError::TooLarge(format!(
                "{} byte payload is too large for the Event invocation type (limit {MAX_ASYNC_PAYLOAD_BYTES} bytes)",
                payload.len()
            )));
        }
        let name = self.resolve(function, qualifier)?;
        self.check_invocable(&name).await?;
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_ms();
        self.store()
            .enqueue_async(AsyncInvocation {
                id: id.clone(),
                function: name,
                payload,
                attempts: 0,
                accepted_at_ms: now,
                due_at_ms: now,
            })
            .await?;
        self.wake_async().notify_one();
        Ok(id)
    }

    /// Asynchronous invocations that failed for good.
    pub async fn async_failures(
        &self,
        function: Option<&str>,
    ) -> Result<Vec<AsyncFailure>, FunctionsError> {
        Ok(self.store().list_async_failures(function).await?)
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

/// Runs due invocations until the runtime is dropped.
pub(crate) async fn worker(functions: Functions) {
    loop {
        // Each claim has its own owner token: a renewal can only extend the claim it
        // came with, never a later claim of the same invocation.
        let owner = format!(
            "{}/{}",
            functions.settings().node_id,
            uuid::Uuid::new_v4().simple()
        );
        let lease = millis(functions.settings().async_lease);
        let claimed = match functions
            .store()
            .claim_async(&owner, now_ms(), lease, CLAIM_BATCH)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "functions: claiming async invocations failed");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            tokio::select! {
                () = functions.wake_async().notified() => {}
                () = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
            continue;
        }
        for inv in claimed {
            let f = functions.clone();
            let owner = owner.clone();
            tokio::spawn(async move { run_one(f, inv, owner).await });
        }
    }
}

async fn run_one(functions: Functions, inv: AsyncInvocation, owner: String) {
    let heartbeat = tokio::spawn(renew_while_running(
        functions.clone(),
        inv.id.clone(),
        owner,
    ));
    let result = attempt(&functions, inv).await;
    heartbeat.abort();
    if let Err(e) = result {
        // The lease lapses and the invocation runs again.
        tracing::error!(error = %e, "functions: async invocation bookkeeping failed");
    }
}

/// Renews the claim on a running invocation every third of the lease, until aborted
/// (the attempt is over) or the claim is found lost (this node was cut off from the
/// store for a whole lease and another node took the invocation: it runs there too,
/// as at-least-once allows; this node stops renewing a claim it no longer holds).
async fn renew_while_running(functions: Functions, id: String, owner: String) {
    let lease = functions.settings().async_lease;
    let every = (lease / 3).max(Duration::from_millis(10));
    loop {
        tokio::time::sleep(every).await;
        match functions
            .store()
            .renew_async_claim(&id, &owner, now_ms(), millis(lease))
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(
                    invocation = %id,
                    "functions: lost the claim on a running async invocation; another node may run it again"
                );
                return;
            }
            // Try again at the next beat: the lease outlasts two missed renewals.
            Err(e) => {
                tracing::warn!(invocation = %id, error = %e, "functions: renewing an async claim failed")
            }
        }
    }
}

async fn attempt(functions: &Functions, inv: AsyncInvocation) -> Result<(), FunctionsError> {
    let store = functions.store();
    let config = match functions.get_function(&inv.function).await {
        Ok(c) => Some(c),
        Err(FunctionsError::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let Some(config) = config else {
        let payload = json!({"errorType": "ResourceNotFoundException", "errorMessage": format!("Function not found: {}", functions.function_arn(&inv.function))});
        return fail(
            functions,
            &inv,
            None,
            "ResourceNotFoundException",
            payload.to_string().into_bytes(),
            inv.attempts,
        )
        .await;
    };
    let policy = config.event_invoke.clone();
    let max_retries = policy
        .as_ref()
        .and_then(|p| p.maximum_retry_attempts)
        .unwrap_or(DEFAULT_MAX_RETRIES);
    let max_age_ms = i64::from(
        policy
            .as_ref()
            .and_then(|p| p.maximum_event_age_secs)
            .unwrap_or(DEFAULT_MAX_EVENT_AGE_SECS),
    ) * 1000;
    if now_ms().saturating_sub(inv.accepted_at_ms) > max_age_ms {
        let payload = json!({"errorType": "EventAgeExceeded", "errorMessage": "The event exceeded the maximum event age before it could be processed."});
        return fail(
            functions,
            &inv,
            policy.as_ref(),
            "EventAgeExceeded",
            payload.to_string().into_bytes(),
            inv.attempts,
        )
        .await;
    }
    let result = functions
        .invoke(InvokeRequest {
            function: inv.function.clone(),
            qualifier: None,
            payload: Bytes::from(inv.payload.clone()),
            log_tail: false,
            client_context: None,
            request_id: Some(inv.id.clone()),
        })
        .await;
    let attempts = inv.attempts + 1;
    match result {
        Ok(out) => match out.outcome {
            InvokeOutcome::Returned(body) => {
                if let Some(dest) = policy.as_ref().and_then(|p| p.on_success.clone()) {
                    let record =
                        invocation_record(functions, &inv, "Success", attempts, None, &body);
                    send_to_destination(
                        functions,
                        &dest,
                        &format!("{}:on-success", inv.id),
                        record,
                    )
                    .await?;
                }
                store.finish_async(&inv.id, None).await?;
                Ok(())
            }
            InvokeOutcome::Raised {
                error_type,
                payload,
            } => {
                if attempts > max_retries {
                    fail(
                        functions,
                        &inv,
                        policy.as_ref(),
                        &error_type,
                        payload.to_vec(),
                        attempts,
                    )
                    .await
                } else {
                    let delays = functions.settings().async_retry_delays;
                    let delay = delays
                        .get(usize::try_from(attempts - 1).unwrap_or(0))
                        .copied()
                        .unwrap_or(delays[1]);
                    let due = now_ms() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 4);
                    store.retry_async(&inv.id, attempts, due).await?;
                    Ok(())
                }
            }
        },
        Err(FunctionsError::Throttled { .. }) => {
            // Throttles do not count as attempts; Lambda keeps retrying until the
            // event is too old.
            let due = now_ms() + i64::try_from(THROTTLE_BACKOFF.as_millis()).unwrap_or(1000);
            store.retry_async(&inv.id, inv.attempts, due).await?;
            Ok(())
        }
        Err(e) => {
            let payload = json!({"errorType": e.code(), "errorMessage": e.to_string()});
            fail(
                functions,
                &inv,
                policy.as_ref(),
                e.code(),
                payload.to_string().into_bytes(),
                attempts,
            )
            .await
        }
    }
}

/// Records a final failure and sends it to the on-failure destination.
async fn fail(
    functions: &Functions,
    inv: &AsyncInvocation,
    policy: Option<&EventInvokeConfig>,
    error_type: &str,
    error_payload: Vec<u8>,
    attempts: u32,
) -> Result<(), FunctionsError> {
    if let Some(dest) = policy.and_then(|p| p.on_failure.clone()) {
        let condition = if error_type == "EventAgeExceeded" {
            "EventAgeExceeded"
        } else {
            "RetriesExhausted"
        };
        let record = invocation_record(
            functions,
            inv,
            condition,
            attempts,
            Some("Unhandled"),
            &error_payload,
        );
        // Sent first with an id derived from the invocation's: if Baton dies before the
        // finish below, the repeat sends the same id, which the queue keeps once.
        send_to_destination(functions, &dest, &format!("{}:on-failure", inv.id), record).await?;
    }
    functions
        .store()
        .finish_async(
            &inv.id,
            Some(AsyncFailure {
                id: inv.id.clone(),
                function: inv.function.clone(),
                payload: inv.payload.clone(),
                attempts,
                error_type: error_type.to_owned(),
                error_payload,
                failed_at_ms: now_ms(),
            }),
        )
        .await?;
    Ok(())
}

/// Lambda's invocation record, as destinations receive it.
fn invocation_record(
    functions: &Functions,
    inv: &AsyncInvocation,
    condition: &str,
    attempts: u32,
    function_error: Option<&str>,
    response: &[u8],
) -> Value {
    let parse = |b: &[u8]| {
        serde_json::from_slice::<Value>(b)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b).into_owned()))
    };
    let mut response_context = json!({"statusCode": 200, "executedVersion": "$LATEST"});
    if let (Some(fe), Some(obj)) = (function_error, response_context.as_object_mut()) {
        obj.insert("functionError".into(), json!(fe));
    }
    json!({
        "version": "1.0",
        "timestamp": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "requestContext": {
            "requestId": inv.id,
            "functionArn": format!("{}:$LATEST", functions.function_arn(&inv.function)),
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": parse(&inv.payload),
        "responseContext": response_context,
        "responsePayload": parse(response),
    })
}

async fn send_to_destination(
    functions: &Functions,
    destination: &str,
    id: &str,
    record: Value,
) -> Result<(), FunctionsError> {
    let name = FunctionRef::parse(destination)?.name;
    let now = now_ms();
    functions
        .store()
        .enqueue_async(AsyncInvocation {
            id: id.to_owned(),
            function: name,
            payload: record.to_string().into_bytes(),
            attempts: 0,
            accepted_at_ms: now,
            due_at_ms: now,
        })
        .await?;
    functions.wake_async().notify_one();
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;
    use std::time::Instant;

    use crate::store::functions::FunctionStore;
    use baton_platform::store::sqlite::Database;

    use super::*;
    use crate::{CodeInput, CreateFunction, Settings};

    /// Appends `start`, sleeps as the event says, appends `end`: the file counts runs.
    const HANDLER: &str = "import time\n\ndef handler(event, context):\n    with open(event['file'], 'a') as f:\n        f.write('start\\n')\n    time.sleep(event['sleep'])\n    with open(event['file'], 'a') as f:\n        f.write('end\\n')\n    return {}\n";

    /// One node sharing `store` (as nodes share PostgreSQL: nothing released at start).
    async fn node(store: &Arc<Database>, dir: &Path, name: &str, lease: Duration) -> Functions {
        let mut settings = Settings::new(dir.join(name));
        settings.single_node = false;
        settings.node_id = name.into();
        settings.async_lease = lease;
        Functions::start(store.clone(), settings)
            .await
            .expect("start")
    }

    async fn create_slow(f: &Functions, dir: &Path) {
        let code = dir.join("code");
        std::fs::create_dir_all(&code).unwrap();
        std::fs::write(code.join("app.py"), HANDLER).unwrap();
        f.create_function(CreateFunction {
            name: "slow".into(),
            runtime: Some("python3.12".into()),
            role: "arn:aws:iam::123456789012:role/test".into(),
            handler: Some("app.handler".into()),
            timeout_secs: Some(30),
            code: CodeInput::LocalDir(code.display().to_string()),
            ..CreateFunction::default()
        })
        .await
        .expect("create");
    }

    fn runs(file: &PathBuf) -> String {
        std::fs::read_to_string(file).unwrap_or_default()
    }

    fn event(file: &Path, sleep_secs: f64) -> Vec<u8> {
        json!({"file": file.display().to_string(), "sleep": sleep_secs})
            .to_string()
            .into_bytes()
    }

    async fn wait_for(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_running_invocation_renews_its_claim_and_runs_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            Database::open(
                &dir.path().join("baton.db"),
                &[crate::store::MIGRATIONS.sqlite],
            )
            .unwrap(),
        );
        let lease = Duration::from_millis(600);
        let a = node(&store, dir.path(), "a", lease).await;
        let b = node(&store, dir.path(), "b", lease).await;
        create_slow(&a, dir.path()).await;
        let file = dir.path().join("runs.txt");
        // Runs for four leases: without renewals, the other node (or the intruder
        // below) would take it over and run it again.
        let id = a
            .invoke_event("slow", None, event(&file, 2.4))
            .await
            .expect("accepted");
        wait_for("the run to start", Duration::from_secs(15), || {
            runs(&file).contains("start")
        })
        .await;
        let started = Instant::now();
        let mut checks = 0;
        while !runs(&file).contains("end") {
            assert!(started.elapsed() < Duration::from_secs(15), "never ended");
            let taken = store
                .claim_async("intruder", now_ms(), 600, 10)
                .await
                .unwrap();
            assert!(taken.is_empty(), "claimed while renewed: {taken:?}");
            checks += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(started.elapsed() > lease * 3, "ran for several leases");
        assert!(checks > 10);
        // Finished: nothing is left to claim, now or after a lease.
        tokio::time::sleep(lease * 2).await;
        assert!(
            store
                .claim_async("intruder", now_ms(), 600, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(runs(&file), "start\nend\n", "ran exactly once");
        let logged = [&a, &b]
            .iter()
            .any(|n| !n.logs("slow", Some(&id)).is_empty());
        assert!(logged, "one of the nodes ran {id}");
        a.shutdown();
        b.shutdown();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dead_nodes_claim_comes_back_after_the_short_lease() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            Database::open(
                &dir.path().join("baton.db"),
                &[crate::store::MIGRATIONS.sqlite],
            )
            .unwrap(),
        );
        let lease = Duration::from_millis(800);
        let file = dir.path().join("runs.txt");
        let now = now_ms();
        store
            .enqueue_async(AsyncInvocation {
                id: "from-a-dead-node".into(),
                function: "slow".into(),
                payload: event(&file, 0.0),
                attempts: 0,
                accepted_at_ms: now,
                due_at_ms: now,
            })
            .await
            .unwrap();
        // A node claims it, then dies: it never renews.
        let claimed_at = Instant::now();
        let claimed = store.claim_async("dead/1", now, 800, 10).await.unwrap();
        assert_eq!(claimed.len(), 1);

        let live = node(&store, dir.path(), "live", lease).await;
        create_slow(&live, dir.path()).await;
        wait_for("the takeover", Duration::from_secs(15), || {
            runs(&file).contains("start")
        })
        .await;
        let waited = claimed_at.elapsed();
        assert!(
            waited >= Duration::from_millis(750),
            "taken over before the lease ran out ({waited:?})"
        );
        assert!(
            waited < Duration::from_secs(10),
            "a short lease, not the old sixteen minutes ({waited:?})"
        );
        wait_for("the run to end", Duration::from_secs(15), || {
            runs(&file).contains("end")
        })
        .await;
        assert_eq!(runs(&file), "start\nend\n");
        live.shutdown();
    }
}
