//! The per-transition cost of the data-flow evaluators: the interpreter's budget is
//! ≥ 1,000,000 Pass transitions per second, so one Pass state's whole JSONPath data
//! flow must stay well under a microsecond.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use baton_asl::choice::ChoiceRule;
use baton_asl::dataflow;
use baton_asl::diagnostic::Diagnostics;
use baton_asl::eval::{Bindings, Entropy, NoVariables};
use baton_asl::intrinsic::Intrinsic;
use baton_asl::model::{DataFlow, OptionalPath, OptionalReferencePath};
use baton_asl::path::{Path, ReferencePath};
use baton_asl::template::Template;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

struct Zero;
impl Entropy for Zero {
    fn next_u64(&mut self) -> u64 {
        0
    }
    fn now_millis(&self) -> i64 {
        0
    }
}

fn bench(c: &mut Criterion) {
    let input = json!({"order": {"id": "o-1", "items": [1, 2, 3], "total": 42.5}, "user": "u"});
    let context =
        json!({"Execution": {"Name": "exec", "Input": input.clone()}, "State": {"Name": "S"}});
    let mut d = Diagnostics::default();
    let parameters = Template::compile_jsonpath(
        &json!({"id.$": "$.order.id", "total.$": "$.order.total", "who.$": "$.user", "fixed": "x"}),
        "/",
        &mut d,
    );
    let result_path = OptionalReferencePath::Path(ReferencePath::parse("$.result").unwrap());
    let input_path = OptionalPath::Path(Path::parse("$").unwrap());

    c.bench_function("pass_state_data_flow", |b| {
        b.iter(|| {
            let bind = Bindings {
                input: &input,
                context: &context,
                variables: &NoVariables,
                result: None,
                error_output: None,
            };
            let effective = dataflow::apply_input_path(&input_path, &bind).unwrap();
            let bind = Bindings {
                input: &effective,
                ..bind
            };
            let result = dataflow::apply_parameters(Some(&parameters), &bind, &mut Zero).unwrap();
            let output = dataflow::apply_result_path(&result_path, input.clone(), result).unwrap();
            let output =
                dataflow::apply_path_owned(&OptionalPath::Default, output, &context, &NoVariables)
                    .unwrap();
            black_box(output)
        })
    });

    let path = Path::parse("$.order.items[2]").unwrap();
    let flow = DataFlow {
        parameters: Some(parameters.clone()),
        result_path: result_path.clone(),
        ..DataFlow::default()
    };
    c.bench_function("pass_output_with_parameters_and_result_path", |b| {
        b.iter(|| {
            black_box(
                dataflow::pass_output(
                    &flow,
                    None,
                    input.clone(),
                    &context,
                    &NoVariables,
                    &mut Zero,
                )
                .unwrap(),
            )
        })
    });
    let empty = DataFlow::default();
    c.bench_function("pass_output_without_fields_input_moved", |b| {
        b.iter_batched(
            || input.clone(),
            |raw| {
                black_box(
                    dataflow::pass_output(&empty, None, raw, &context, &NoVariables, &mut Zero)
                        .unwrap(),
                )
            },
            criterion::BatchSize::SmallInput,
        )
    });

    c.bench_function("definite_path_find", |b| {
        let bind = Bindings {
            input: &input,
            context: &context,
            variables: &NoVariables,
            result: None,
            error_output: None,
        };
        b.iter(|| black_box(path.find(black_box(&bind)).unwrap()))
    });

    let rule = ChoiceRule::compile_jsonpath(
        json!({"And": [
            {"Variable": "$.order.total", "NumericGreaterThanEquals": 20},
            {"Variable": "$.user", "StringEquals": "u"}
        ]})
        .as_object()
        .unwrap(),
        "/",
        &mut d,
    );
    c.bench_function("choice_rule", |b| {
        let bind = Bindings {
            input: &input,
            context: &context,
            variables: &NoVariables,
            result: None,
            error_output: None,
        };
        b.iter(|| black_box(rule.evaluate(&bind, &mut Zero).unwrap()))
    });

    let format =
        Intrinsic::parse("States.Format('order {} for {}', $.order.id, $$.Execution.Name)")
            .unwrap();
    c.bench_function("intrinsic_format", |b| {
        let bind = Bindings {
            input: &input,
            context: &context,
            variables: &NoVariables,
            result: None,
            error_output: None,
        };
        b.iter(|| black_box(format.evaluate(&bind, &mut Zero).unwrap()))
    });
    assert!(d.is_empty());
}

criterion_group!(benches, bench);
criterion_main!(benches);
