//! Property tests: no text or JSON a user can put in a definition or an input makes the
//! path, intrinsic, template, timestamp or Choice code panic.

#![allow(clippy::unwrap_used)]

use baton_asl::choice::ChoiceRule;
use baton_asl::diagnostic::Diagnostics;
use baton_asl::eval::{Bindings, Entropy, NoVariables};
use baton_asl::intrinsic::Intrinsic;
use baton_asl::path::{Path, ReferencePath};
use baton_asl::template::Template;
use baton_asl::timestamp;
use proptest::prelude::*;
use serde_json::{Map, Value};

struct Draws(u64);

impl Entropy for Draws {
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0
    }
    fn now_millis(&self) -> i64 {
        0
    }
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z$.{}' ]{0,8}".prop_map(Value::String),
        path_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-z]{1,4}(\\.\\$)?", inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Text that looks like a path often enough to get past the first character.
fn path_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\$[a-z0-9.\\[\\]'\"*?@()=<>!&|:, -]{0,24}",
        "\\$\\$[a-zA-Z.\\[\\]0-9*]{0,16}",
        "\\$\\.[a-z]{1,3}(\\[[0-9:*,-]{0,5}\\]|\\.[a-z]{1,3}|\\.\\.[a-z]?){0,4}",
        "\\$\\.[a-z]{1,3}\\[\\?\\(@\\.[a-z] ?(==|<|>|!=) ?[0-9'a-z]{1,3}\\)\\]",
        ".{0,20}",
    ]
}

/// Text that looks like an intrinsic call.
fn intrinsic_text() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("Format"),
        Just("StringToJson"),
        Just("JsonToString"),
        Just("Array"),
        Just("ArrayPartition"),
        Just("ArrayContains"),
        Just("ArrayRange"),
        Just("ArrayGetItem"),
        Just("ArrayLength"),
        Just("ArrayUnique"),
        Just("Base64Encode"),
        Just("Base64Decode"),
        Just("Hash"),
        Just("JsonMerge"),
        Just("MathRandom"),
        Just("MathAdd"),
        Just("StringSplit"),
        Just("UUID"),
        Just("Nope"),
    ];
    let arg = prop_oneof![
        "'[a-z{}\\\\' ,()]{0,8}'",
        "-?[0-9]{1,4}(\\.[0-9]{1,2})?",
        Just("true".to_owned()),
        Just("null".to_owned()),
        "\\$\\.[a-z]{1,2}",
        "\\$\\$\\.[A-Z][a-z]{0,3}",
        "'SHA-256'",
        ".{0,6}",
    ];
    let call = (name.clone(), prop::collection::vec(arg.clone(), 0..4))
        .prop_map(|(n, args)| format!("States.{n}({})", args.join(", ")));
    prop_oneof![
        call.clone(),
        (name, call, prop::collection::vec(arg, 0..3)).prop_map(|(n, inner, rest)| {
            let mut args = vec![inner];
            args.extend(rest);
            format!("States.{n}({})", args.join(","))
        }),
        "States\\.[A-Za-z]{0,12}\\(.{0,20}".prop_map(|s| s),
    ]
}

fn bindings<'a>(input: &'a Value, context: &'a Value) -> Bindings<'a> {
    Bindings {
        input,
        context,
        variables: &NoVariables,
        result: None,
        error_output: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn paths_never_panic(text in path_text(), input in json(), value in json()) {
        if let Ok(path) = Path::parse(&text) {
            let ctx = input.clone();
            let _ = path.select(&bindings(&input, &ctx));
            let _ = path.is_definite();
        }
        let _ = baton_asl::intrinsic::Intrinsic::parse(&text);
        if let Ok(reference) = ReferencePath::parse(&text) {
            let _ = reference.set(input, value);
        }
    }

    #[test]
    fn any_text_is_safe_for_every_parser(text in ".{0,40}") {
        let _ = Path::parse(&text);
        let _ = ReferencePath::parse(&text);
        let _ = Intrinsic::parse(&text);
        let _ = timestamp::parse(&text);
    }

    #[test]
    fn intrinsics_never_panic(text in intrinsic_text(), input in json(), seed in any::<u64>()) {
        if let Ok(call) = Intrinsic::parse(&text) {
            let ctx = input.clone();
            let _ = call.evaluate(&bindings(&input, &ctx), &mut Draws(seed));
        }
    }

    #[test]
    fn timestamps_never_panic(
        text in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{0,12})?)?([Zz]|[+-][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?.?"
    ) {
        let _ = timestamp::parse(&text);
    }

    #[test]
    fn templates_never_panic(template in json(), input in json(), seed in any::<u64>()) {
        let mut diagnostics = Diagnostics::default();
        let compiled = Template::compile_jsonpath(&template, "/", &mut diagnostics);
        let ctx = input.clone();
        let _ = compiled.evaluate(&bindings(&input, &ctx), &mut Draws(seed), "Parameters");
        let _ = compiled.uses_context();
    }

    #[test]
    fn choice_rules_never_panic(rule in json(), input in json(), op in choice_operator(), operand in json()) {
        let mut diagnostics = Diagnostics::default();
        let mut object = rule.as_object().cloned().unwrap_or_default();
        object.insert("Variable".into(), Value::String("$.a".into()));
        object.insert(op, operand);
        let compiled = ChoiceRule::compile_jsonpath(&object, "/", &mut diagnostics);
        let ctx = input.clone();
        let _ = compiled.evaluate(&bindings(&input, &ctx), &mut Draws(0));
    }
}

fn choice_operator() -> impl Strategy<Value = String> {
    prop_oneof![
        "(String|Numeric|Timestamp|Boolean)(Equals|LessThan|GreaterThan|LessThanEquals|GreaterThanEquals)(Path)?",
        Just("StringMatches".to_owned()),
        "Is(Null|Present|Numeric|String|Boolean|Timestamp)",
        Just("And".to_owned()),
        Just("Or".to_owned()),
        Just("Not".to_owned()),
    ]
}
