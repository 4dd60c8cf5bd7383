#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::*;
use crate::eval::{Entropy, NoVariables};

pub(crate) struct Counter(pub u64);

impl Entropy for Counter {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.0
    }
    fn now_millis(&self) -> i64 {
        0
    }
}

fn eval_with(text: &str, input: Value, context: Value) -> Result<Value, EvalError> {
    let call = Intrinsic::parse(text).unwrap();
    let bindings = Bindings {
        input: &input,
        context: &context,
        variables: &NoVariables,
        result: None,
        error_output: None,
    };
    call.evaluate_for_field(&bindings, &mut Counter(1), "value.$")
}

fn eval(text: &str, input: Value) -> Value {
    eval_with(text, input, json!({})).unwrap()
}

fn eval_err(text: &str, input: Value) -> EvalError {
    eval_with(text, input, json!({})).unwrap_err()
}

#[test]
fn format() {
    assert_eq!(
        eval(
            "States.Format('Formatting argument {}.', $.a)",
            json!({"a": 1.1})
        ),
        json!("Formatting argument 1.1.")
    );
    assert_eq!(
        eval(
            "States.Format('fst={} and snd={}.', $.a, $.b)",
            json!({"a": {"Arg1": 1, "Arg2": []}, "b": null})
        ),
        json!("fst={Arg1=1, Arg2=[]} and snd=null.")
    );
    assert_eq!(
        eval("States.Format('\\{} {}', 'x')", json!({})),
        json!("{} x")
    );
    assert_eq!(
        eval("States.Format('it\\'s {}', true)", json!({})),
        json!("it's true")
    );
    assert_eq!(
        eval("States.Format($.t, 'A', 2)", json!({"t": "{}-{}"})),
        json!("A-2")
    );
    let e = eval_err("States.Format($.t, 'A')", json!({"t": "{}-{}"}));
    assert_eq!(e.error, "States.IntrinsicFailure");
    assert!(Intrinsic::parse("States.Format('{} {}', 1)").is_err());
    assert!(Intrinsic::parse("States.Format(1)").is_err());
}

#[test]
fn json_conversions() {
    for (text, want) in [
        ("", json!(null)),
        (" ", json!(null)),
        ("null", json!(null)),
        ("-0", json!(0)),
        ("1.1", json!(1.1)),
        ("\"HelloWorld\"", json!("HelloWorld")),
        (
            "{\"Arg1\": 1, \"Arg2\": []}",
            json!({"Arg1": 1, "Arg2": []}),
        ),
    ] {
        assert_eq!(eval("States.StringToJson($.s)", json!({"s": text})), want);
    }
    assert_eq!(
        eval("States.StringToJson($.s)", json!({"s": "-0"})).to_string(),
        "0"
    );
    assert!(eval_with("States.StringToJson($.s)", json!({"s": "{"}), json!({})).is_err());
    assert_eq!(
        eval(
            "States.JsonToString($.v)",
            json!({"v": {"Arg1": 1, "Arg2": []}})
        ),
        json!("{\"Arg1\":1,\"Arg2\":[]}")
    );
    assert_eq!(
        eval("States.JsonToString($.v)", json!({"v": "HelloWorld"})),
        json!("\"HelloWorld\"")
    );
    let merged = eval_with(
        "States.JsonMerge(States.StringToJson('{\"constant_in_literal\": \"false\"}'), $$.Execution.Input.f, false)",
        json!({}),
        json!({"Execution": {"Input": {"f": {"constant_input_field": "constant_value"}}}}),
    )
    .unwrap();
    // AWS's key order (a java.util.HashMap's), as recorded.
    assert_eq!(
        merged.to_string(),
        r#"{"constant_input_field":"constant_value","constant_in_literal":"false"}"#
    );
    assert!(
        eval_with(
            "States.JsonMerge($.a, $.a, true)",
            json!({"a": {}}),
            json!({})
        )
        .is_err()
    );
}

#[test]
fn arrays() {
    assert_eq!(eval("States.Array()", json!({})), json!([]));
    assert_eq!(
        eval("States.Array($.a, 'x', 1, null)", json!({"a": [1]})),
        json!([[1], "x", 1, null])
    );
    assert_eq!(
        eval("States.ArrayPartition($.a, 3)", json!({"a": [0, 1, 2, 3]})),
        json!([[0, 1, 2], [3]])
    );
    assert!(
        eval_with(
            "States.ArrayPartition($.a, 0)",
            json!({"a": [1]}),
            json!({})
        )
        .is_err()
    );
    assert_eq!(
        eval(
            "States.ArrayContains($.a, $.b)",
            json!({"a": [[1, 2, 3], 2], "b": [1, 2, 3]})
        ),
        json!(true)
    );
    assert_eq!(
        eval("States.ArrayContains($.a, 1.0)", json!({"a": [1]})),
        json!(false)
    );
    assert_eq!(
        eval("States.ArrayRange(0, 10, 3)", json!({})),
        json!([0, 3, 6, 9])
    );
    assert_eq!(eval("States.ArrayRange(1, 9, 9)", json!({})), json!([1]));
    assert_eq!(
        eval("States.ArrayRange(5, 1, -2)", json!({})),
        json!([5, 3, 1])
    );
    assert_eq!(eval("States.ArrayRange(5, 1, 2)", json!({})), json!([]));
    assert_eq!(
        eval("States.ArrayRange(1, 1000, 1)", json!({}))
            .as_array()
            .unwrap()
            .len(),
        1000
    );
    assert!(eval_with("States.ArrayRange(0, 1000, 1)", json!({}), json!({})).is_err());
    assert!(eval_with("States.ArrayRange(0, 10, 0)", json!({}), json!({})).is_err());
    assert_eq!(
        eval(
            "States.ArrayGetItem($.a, 5)",
            json!({"a": [1, 2, 3, 4, 5, 6]})
        ),
        json!(6)
    );
    let e = eval_err(
        "States.ArrayGetItem($.a, 6)",
        json!({"a": [1, 2, 3, 4, 5, 6]}),
    );
    assert_eq!(e.error, "States.IntrinsicFailure");
    assert_eq!(
        eval("States.ArrayLength($.a)", json!({"a": [1, 2]})),
        json!(2)
    );
    assert_eq!(
        eval(
            "States.ArrayUnique($.a)",
            json!({"a": [null, null, 1, 1, 1.1, "x", "x", [], [], {"a": 1, "b": 2}, {"b": 2, "a": 1}]})
        ),
        json!([null, 1, 1.1, "x", [], {"a": 1, "b": 2}])
    );
}

#[test]
fn encoding_and_hashing() {
    assert_eq!(
        eval("States.Base64Encode($.s)", json!({"s": "Data to encode"})),
        json!("RGF0YSB0byBlbmNvZGU=")
    );
    assert_eq!(
        eval(
            "States.Base64Decode($.s)",
            json!({"s": "RGF0YSB0byBlbmNvZGU="})
        ),
        json!("Data to encode")
    );
    assert_eq!(eval("States.Base64Decode('')", json!({})), json!(""));
    assert!(eval_with("States.Base64Decode('!!')", json!({}), json!({})).is_err());
    let long = "a".repeat(10_001);
    assert!(eval_with("States.Base64Encode($.s)", json!({"s": long}), json!({})).is_err());
    for (alg, want) in [
        ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
        ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        (
            "SHA-256",
            "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3",
        ),
    ] {
        assert_eq!(
            eval(
                "States.Hash($.d, $.a)",
                json!({"d": "input data", "a": alg})
            ),
            json!(want)
        );
    }
    assert!(eval_with("States.Hash('x', 'SHA-3')", json!({}), json!({})).is_err());
}

#[test]
fn math() {
    for (a, b, want) in [
        (json!(-9), json!(3), -6),
        (json!(-1.5), json!(0), -1),
        (json!(-0.5), json!(0.5), 1),
        (json!(1.49), json!(1.5), 3),
        (json!(-1.5), json!(-1.51), -3),
    ] {
        let got = eval("States.MathAdd($.a, $.b)", json!({"a": a, "b": b}));
        assert_eq!(got, json!(want));
        assert!(got.is_i64());
    }
    assert!(eval_with("States.MathAdd('1', 2)", json!({}), json!({})).is_err());
    let seeded = eval("States.MathRandom(0, 999, 3)", json!({}));
    assert_eq!(seeded, json!(239));
    for _ in 0..3 {
        let v = eval("States.MathRandom(12.5, 44.51)", json!({}))
            .as_i64()
            .unwrap();
        assert!((13..45).contains(&v));
    }
    assert!(eval_with("States.MathRandom(5, 5)", json!({}), json!({})).is_err());
}

#[test]
fn strings_and_uuid() {
    assert_eq!(
        eval("States.StringSplit($.s, ',')", json!({"s": ", , ,"})),
        json!([" ", " "])
    );
    assert_eq!(
        eval(
            "States.StringSplit($.s, '.+,=')",
            json!({"s": "This.is+a,test=string"})
        ),
        json!(["This", "is", "a", "test", "string"])
    );
    assert_eq!(
        eval("States.StringSplit('Hello\nWorld', '\n')", json!({})),
        json!(["Hello", "World"])
    );
    let uuid = eval("States.UUID()", json!({}));
    let s = uuid.as_str().unwrap();
    assert_eq!(s.len(), 36);
    assert_eq!(&s[14..15], "4");
    assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"));
}

#[test]
fn nesting_and_context() {
    let ctx = json!({"StateMachine": {"Name": "machine-name-x"}});
    let got = eval_with(
        "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))",
        json!({}),
        ctx,
    )
    .unwrap();
    assert_eq!(got, json!("x"));
    let deep = format!("{}1{}", "States.Array(".repeat(10), ")".repeat(10));
    assert!(Intrinsic::parse(&deep).is_ok());
    let too_deep = format!("{}1{}", "States.Array(".repeat(11), ")".repeat(11));
    assert!(Intrinsic::parse(&too_deep).is_err());
    assert!(
        Intrinsic::parse("States.Format('{}', $$.x)")
            .unwrap()
            .uses_context()
    );
    assert!(
        !Intrinsic::parse("States.Format('{}', $.x)")
            .unwrap()
            .uses_context()
    );
}

#[test]
fn missing_path_names_the_field() {
    let e = eval_err("States.Format('{}', $.nope)", json!({"a": 1}));
    assert_eq!(e.error, "States.Runtime");
    assert_eq!(
        e.cause,
        "The JSONPath '$.nope' specified for the field 'value.$' could not be found in the input '{\"a\":1}'"
    );
}

#[test]
fn indexing_a_non_array_reports_jayways_text() {
    let e = eval_err("States.Format('{}', $.other[0])", json!({"other": 1}));
    assert_eq!(e.error, "States.Runtime");
    assert_eq!(
        e.cause,
        "Filter: [0] can only be applied to arrays. Current context is: 1"
    );
}

#[test]
fn parse_errors() {
    for bad in [
        "States.Nope()",
        "States.UUID(1)",
        "States.Array(",
        "States.Array('x)",
        "States.Array(1,)",
        "States.Array(1) x",
        "States.ArrayLength()",
        "States.Array(tru)",
        "States.Array(-)",
        "States.Array($.a b)",
        "States.Array(@)",
    ] {
        assert!(Intrinsic::parse(bad).is_err(), "{bad} should not parse");
    }
    assert!(Intrinsic::parse("  States.Array( 1 , 'a' , $.x[?(@.a == 'b,c')] )  ").is_ok());
}
