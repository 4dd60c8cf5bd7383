//! Map and Parallel states under TestState: their children do not run; the mock says
//! what they produced (or which error they raised), and the state then completes or
//! fails through the interpreter's usual paths (ResultSelector/ResultPath/Output,
//! Retry/Catch).

use baton_asl::error_name::STATES_EXCEED_TOLERATED_FAILURE_THRESHOLD;
use baton_asl::model::{Map as MapState, QueryLanguage};
use serde_json::Value;

use crate::execution::{Active, Failure, FrameId};
use crate::run::{Eval, Run};

/// Validation requires a mock for Map and Parallel; without one the state cannot run.
fn missing_mock() -> Failure {
    Failure::new(
        baton_asl::error_name::STATES_RUNTIME,
        "TestState needs a mock for Map and Parallel states",
    )
}

pub(crate) fn mocked_parallel(run: &mut Run<'_>, fid: FrameId, active: Box<Active>) {
    match run.test.as_deref_mut().and_then(|t| t.take_children_mock()) {
        Some(Ok(result)) => run.complete_with_result(fid, active, result.into()),
        Some(Err(failure)) => run.state_failed(fid, active, failure),
        None => run.state_failed(fid, active, missing_mock()),
    }
}

/// The items the request says a Map's `ItemReader` reads.
pub(crate) fn reader_items(run: &Run<'_>) -> Value {
    Value::Array(
        run.test
            .as_deref()
            .map(|t| t.reader_items.clone())
            .unwrap_or_default(),
    )
}

/// A Map whose items and limits have been evaluated: show them, apply the mocked
/// iteration failures to the tolerated-failure limits, and complete or fail.
pub(crate) fn mocked_map(
    run: &mut Run<'_>,
    fid: FrameId,
    active: Box<Active>,
    m: &MapState,
    effective: &Value,
    items: &[Value],
    (max_concurrency, tolerated_count, tolerated_percentage): (u64, Option<u64>, Option<f64>),
) {
    run.inspect(|i| {
        i.max_concurrency = Some(max_concurrency);
        i.tolerated_failure_count = tolerated_count;
        i.tolerated_failure_percentage = tolerated_percentage;
    });
    if let Some(selector) = &m.item_selector {
        let jsonata = run.state(fid, active.state).query_language == QueryLanguage::Jsonata;
        let mut selected = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let ev = Eval {
                input: if jsonata {
                    &active.raw_input
                } else {
                    effective
                },
                result: None,
                error_output: None,
            };
            let item_ctx = Some((index as u64, item));
            match run.eval_template_with(fid, &active, selector, &ev, "ItemSelector", item_ctx) {
                Ok(v) => selected.push(v),
                Err(e) => return run.eval_failed(fid, active, e),
            }
        }
        run.inspect(|i| i.after_item_selector = Some(Value::Array(selected)));
    }
    let failed = run
        .test
        .as_deref()
        .map(|t| t.map_iteration_failure_count)
        .unwrap_or(0);
    match run.test.as_deref_mut().and_then(|t| t.take_children_mock()) {
        Some(Ok(result)) => {
            if exceeds_tolerance(failed, items.len(), tolerated_count, tolerated_percentage) {
                let failure = Failure::new(
                    STATES_EXCEED_TOLERATED_FAILURE_THRESHOLD,
                    "The specified tolerated failure threshold was exceeded",
                );
                run.state_failed(fid, active, failure);
            } else {
                run.complete_with_result(fid, active, result.into());
            }
        }
        Some(Err(failure)) => run.state_failed(fid, active, failure),
        None => run.state_failed(fid, active, missing_mock()),
    }
}

/// Whether `failed` of `total` iterations break the Map's tolerated-failure limits. A Map
/// without limits is not failed by mocked iteration failures (as AWS answers).
fn exceeds_tolerance(
    failed: u64,
    total: usize,
    count: Option<u64>,
    percentage: Option<f64>,
) -> bool {
    if failed == 0 {
        return false;
    }
    let over_count = count.is_some_and(|c| failed > c);
    let over_percentage = percentage.is_some_and(|p| {
        let total = total.max(1) as f64;
        failed as f64 * 100.0 / total > p
    });
    over_count || over_percentage
}

#[cfg(test)]
mod tests {
    use super::exceeds_tolerance;

    #[test]
    fn tolerance_applies_only_when_set() {
        assert!(!exceeds_tolerance(2, 3, None, None));
        assert!(exceeds_tolerance(2, 3, Some(1), None));
        assert!(!exceeds_tolerance(1, 3, Some(1), None));
        assert!(exceeds_tolerance(1, 3, None, Some(30.0)));
        assert!(!exceeds_tolerance(1, 3, None, Some(34.0)));
        assert!(!exceeds_tolerance(0, 0, Some(0), Some(0.0)));
    }
}
