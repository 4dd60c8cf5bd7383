//! In-process interpreter throughput: state transitions per second for the shapes
//! the issue names (a 10-Pass chain, a 100-iteration Choice loop, a Map over 1,000
//! items, JSONata Pass states). Each benchmark runs whole executions through
//! `exec::apply`, history events included, and reports elements = state transitions.

use baton_asl::{ParseOptions, StateMachine, parse_definition_value};
use baton_exec::{Effect, Entropy, Execution, ExecutionIdentity, Input, apply};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

struct Fixed(u64);

impl Entropy for Fixed {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1);
        self.0
    }
    fn now_millis(&self) -> i64 {
        1_700_000_000_000
    }
}

fn machine(definition: Value) -> StateMachine {
    parse_definition_value(&definition, ParseOptions::default())
        .unwrap_or_else(|d| panic!("benchmark definition is invalid: {d}"))
}

fn identity() -> ExecutionIdentity {
    ExecutionIdentity {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:bench:run".into(),
        execution_name: "run".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:bench".into(),
        state_machine_name: "bench".into(),
        role_arn: "arn:aws:iam::123456789012:role/bench".into(),
        region: "us-east-1".into(),
        account: "123456789012".into(),
        ..ExecutionIdentity::default()
    }
}

/// Runs one execution to the end (these machines need no task or timer) and returns
/// the number of state transitions and history events.
fn run_once(machine: &StateMachine, input: &Value) -> (u64, usize) {
    let mut exec = Execution::new(identity(), input.clone(), 1_700_000_000_000);
    let mut entropy = Fixed(7);
    let effects = apply(&mut exec, machine, Input::Start, &mut entropy);
    assert!(
        exec.is_finished(),
        "benchmark machine did not finish in one step"
    );
    let events = effects
        .iter()
        .filter(|e| matches!(e, Effect::History(_)))
        .count();
    (exec.transitions, events)
}

fn pass_chain(n: usize, jsonata: bool) -> Value {
    let mut states = serde_json::Map::new();
    for i in 0..n {
        let mut s = if jsonata {
            json!({"Type": "Pass", "Output": {"n": "{% $states.input.n + 1 %}", "tag": "{% 'step-' & $string($states.input.n) %}"}})
        } else {
            json!({"Type": "Pass"})
        };
        if i + 1 == n {
            s["End"] = json!(true);
        } else {
            s["Next"] = json!(format!("S{}", i + 1));
        }
        states.insert(format!("S{i}"), s);
    }
    let mut def = json!({"StartAt": "S0", "States": states});
    if jsonata {
        def["QueryLanguage"] = json!("JSONata");
    }
    def
}

fn choice_loop(iterations: u64) -> Value {
    json!({
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Result": {"i": 0}, "Next": "Check"},
            "Check": {"Type": "Choice",
                "Choices": [{"Variable": "$.i", "NumericLessThan": iterations, "Next": "Step"}],
                "Default": "Done"},
            "Step": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Check"},
            "Done": {"Type": "Succeed"}
        }
    })
}

fn map_over(items: usize) -> (Value, Value) {
    let def = json!({
        "StartAt": "Each",
        "States": {
            "Each": {"Type": "Map", "ItemsPath": "$.items",
                "ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": true}}},
                "End": true}
        }
    });
    let input = json!({"items": (0..items).map(|i| json!({"id": i})).collect::<Vec<_>>()});
    (def, input)
}

fn bench(c: &mut Criterion) {
    let cases: Vec<(&str, StateMachine, Value)> = vec![
        (
            "pass_chain_10",
            machine(pass_chain(10, false)),
            json!({"n": 0, "payload": "x"}),
        ),
        ("choice_loop_100", machine(choice_loop(100)), json!({})),
        (
            "map_1000_items",
            {
                let (d, _) = map_over(1000);
                machine(d)
            },
            map_over(1000).1,
        ),
        (
            "jsonata_pass_chain_10",
            machine(pass_chain(10, true)),
            json!({"n": 0}),
        ),
    ];
    let mut group = c.benchmark_group("interpreter");
    for (name, m, input) in &cases {
        let (transitions, _) = run_once(m, input);
        group.throughput(Throughput::Elements(transitions));
        group.bench_function(*name, |b| b.iter(|| run_once(m, input)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
