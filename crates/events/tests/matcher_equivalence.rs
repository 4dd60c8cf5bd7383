//! Property: the compiled matcher agrees with the per-rule interpreter on
//! generated patterns and events, and nothing panics on arbitrary text.
#![allow(clippy::unwrap_used)]

use baton_events::{Matcher, Pattern};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const KEYS: &[&str] = &["a", "b", "c", "d"];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![
            "x",
            "X",
            "xy",
            "yx",
            "",
            "abc",
            "ABC",
            "10.0.0.7",
            "2001:db8::1",
            "init/x/dir"
        ])
        .prop_map(|s| json!(s)),
        prop::sample::select(vec![0.0, 1.0, 1.5, 300.0, -5.0, 101.0, 6e9]).prop_map(|n| json!(n)),
        prop::sample::select(vec![0i64, 1, 300, -5, 42]).prop_map(|n| json!(n)),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ]
}

fn event_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS.to_vec()), inner), 0..4).prop_map(
                |kv| {
                    let mut m = Map::new();
                    for (k, v) in kv {
                        m.insert(k.to_owned(), v);
                    }
                    Value::Object(m)
                }
            ),
        ]
    })
}

fn event() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (
            prop::sample::select(vec!["a", "b", "c", "a", "b", "c", "a.b", "b.c"]),
            event_value(),
        ),
        2..6,
    )
    .prop_map(|kv| {
        let mut m = Map::new();
        for (k, v) in kv {
            m.insert(k.to_owned(), v);
        }
        Value::Object(m)
    })
}

fn matcher_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        scalar(),
        prop::sample::select(vec!["x", "X", "a", ""]).prop_map(|s| json!({"prefix": s})),
        prop::sample::select(vec!["x", "y", "C"]).prop_map(|s| json!({"suffix": s})),
        prop::sample::select(vec!["x", "A"])
            .prop_map(|s| json!({"prefix": {"equals-ignore-case": s}})),
        prop::sample::select(vec!["Y", "c"])
            .prop_map(|s| json!({"suffix": {"equals-ignore-case": s}})),
        prop::sample::select(vec!["X", "abc", ""]).prop_map(|s| json!({"equals-ignore-case": s})),
        prop::sample::select(vec!["x*", "*y", "*", "a*c", "*/x/*", ""])
            .prop_map(|s| json!({"wildcard": s})),
        prop::sample::select(vec!["x", "abc"]).prop_map(|s| json!({"anything-but": s})),
        Just(json!({"anything-but": ["x", "xy"]})),
        Just(json!({"anything-but": [1, 300]})),
        Just(json!({"anything-but": 0})),
        Just(json!({"anything-but": {"prefix": "x"}})),
        Just(json!({"anything-but": {"suffix": ["c", "y"]}})),
        Just(json!({"anything-but": {"equals-ignore-case": ["abc"]}})),
        Just(json!({"anything-but": {"wildcard": "*x*"}})),
        Just(json!({"numeric": [">", 0]})),
        Just(json!({"numeric": [">=", -5, "<", 300]})),
        Just(json!({"numeric": ["=", 300]})),
        Just(json!({"numeric": ["<=", 1.5]})),
        any::<bool>().prop_map(|b| json!({"exists": b})),
        Just(json!({"cidr": "10.0.0.0/24"})),
        Just(json!({"cidr": "2001:db8::/32"})),
    ]
}

fn field_path() -> impl Strategy<Value = Vec<&'static str>> {
    prop_oneof![
        3 => prop::sample::select(vec!["a", "b", "c"]).prop_map(|k| vec![k]),
        1 => prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "d"]), 2..4),
    ]
}

fn conjunction() -> impl Strategy<Value = Vec<(Vec<&'static str>, Vec<Value>)>> {
    prop::collection::vec(
        (field_path(), prop::collection::vec(matcher_json(), 1..4)),
        1..3,
    )
}

fn nest(fields: &[(Vec<&'static str>, Vec<Value>)]) -> Value {
    let mut root = Map::new();
    for (path, values) in fields {
        let mut node = &mut root;
        for seg in &path[..path.len() - 1] {
            let entry = node
                .entry((*seg).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            node = entry.as_object_mut().unwrap();
        }
        node.insert(
            path[path.len() - 1].to_owned(),
            Value::Array(values.clone()),
        );
    }
    Value::Object(root)
}

fn pattern_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => conjunction().prop_map(|c| nest(&c).to_string()),
        1 => (conjunction(), conjunction(), conjunction()).prop_map(|(base, x, y)| {
            let mut v = nest(&base);
            v.as_object_mut().unwrap().insert("$or".into(), json!([nest(&x), nest(&y)]));
            v.to_string()
        }),
    ]
}

/// True when two different key spellings name one path (`{"a": {"b": 1}, "a.b": 2}`):
/// the compiled matcher's early stop may then read only one of them.
fn has_spelling_collision(v: &Value) -> bool {
    fn walk(v: &Value, keys: &mut Vec<String>, seen: &mut Vec<(String, Vec<String>)>) -> bool {
        match v {
            Value::Object(m) => m.iter().any(|(k, c)| {
                keys.push(k.clone());
                let r = walk(c, keys, seen);
                keys.pop();
                r
            }),
            Value::Array(items) => items.iter().any(|c| walk(c, keys, seen)),
            _ => {
                let joined = keys.join(".");
                if seen.iter().any(|(j, ks)| *j == joined && ks != keys) {
                    return true;
                }
                seen.push((joined, keys.clone()));
                false
            }
        }
    }
    walk(v, &mut Vec::new(), &mut Vec::new())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn compiled_matcher_agrees_with_interpreter(
        patterns in prop::collection::vec(pattern_text(), 1..6),
        events in prop::collection::vec(event(), 1..6),
    ) {
        let parsed: Vec<Pattern> = patterns.iter().filter_map(|p| Pattern::parse(p).ok()).collect();
        prop_assume!(!parsed.is_empty());
        let mut m = Matcher::new();
        for (i, p) in parsed.iter().enumerate() {
            m.add_rule(i, p);
        }
        for e in &events {
            prop_assume!(!has_spelling_collision(e));
            let text = e.to_string();
            let got = m.matches(&text).unwrap();
            let want: Vec<usize> = parsed.iter().enumerate().filter(|(_, p)| p.matches_json(e)).map(|(i, _)| i).collect();
            prop_assert_eq!(got, want, "event {}", text);
        }
    }

    #[test]
    fn removing_rules_keeps_the_rest(
        patterns in prop::collection::vec(pattern_text(), 2..6),
        e in event(),
        remove in 0usize..6,
    ) {
        prop_assume!(!has_spelling_collision(&e));
        let parsed: Vec<Pattern> = patterns.iter().filter_map(|p| Pattern::parse(p).ok()).collect();
        let mut m = Matcher::new();
        for (i, p) in parsed.iter().enumerate() {
            m.add_rule(i, p);
        }
        m.remove_rule(&remove);
        let got = m.matches(&e.to_string()).unwrap();
        let want: Vec<usize> = parsed.iter().enumerate()
            .filter(|(i, p)| *i != remove && p.matches_json(&e)).map(|(i, _)| i).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn pattern_parsing_never_panics(text in "[{}\\[\\]\",:a-z0-9 .*\\\\$<>=-]{0,80}") {
        let _ = Pattern::parse(&text);
    }

    #[test]
    fn pattern_parsing_never_panics_on_any_text(text in any::<String>()) {
        let _ = Pattern::parse(&text);
    }

    #[test]
    fn matching_never_panics_on_broken_events(
        p in pattern_text(),
        text in "[{}\\[\\]\",:a-z0-9 .\\\\-]{0,80}",
    ) {
        if let Ok(p) = Pattern::parse(&p) {
            let mut m = Matcher::new();
            m.add_rule(0, &p);
            let _ = m.matches(&text);
        }
    }

    #[test]
    fn matching_never_panics_on_truncated_events(e in event(), cut in 0usize..200) {
        let text = e.to_string();
        let cut = cut.min(text.len());
        if let Some(prefix) = text.get(..cut) {
            let mut m = Matcher::new();
            m.add_rule(0, &Pattern::parse(r#"{"a": [{"exists": true}], "b": {"c": ["x"]}}"#).unwrap());
            let _ = m.matches(prefix);
        }
    }
}

#[test]
fn many_rules_on_one_field() {
    // Enough rules that the interval tree (not the scan) answers.
    let mut m = Matcher::new();
    let mut parsed = Vec::new();
    for i in 0..200 {
        let p = Pattern::parse(&format!(
            r#"{{"n": [{{"numeric": [">=", {i}, "<", {}]}}]}}"#,
            i + 10
        ))
        .unwrap();
        m.add_rule(i, &p);
        parsed.push(p);
    }
    for v in [-1.0, 0.0, 5.5, 9.99, 10.0, 150.0, 209.0, 210.0] {
        let e = json!({"n": v});
        let want: Vec<i32> = (0..200)
            .filter(|&i| parsed[i as usize].matches_json(&e))
            .collect();
        assert_eq!(m.matches(&e.to_string()).unwrap(), want, "{v}");
    }
}
