#![allow(dead_code)]

//! Shared fixtures: an input rich enough for paths to find something.

use baton_asl::eval::{Bindings, Entropy, NoVariables};
use serde_json::{Value, json};

pub struct Draws(pub u64);

impl Entropy for Draws {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1);
        self.0
    }
    fn now_millis(&self) -> i64 {
        0
    }
}

pub fn sample() -> Value {
    json!({
        "a": {"b": [1, 2.5, "x", null, true, {"c": "d"}], "s": "a,b;c", "n": -3},
        "items": [{"v": 1}, {"v": 2}],
        "text": "{\"k\": [1, 2]}",
        "b64": "RGF0YQ==",
        "t": "2016-03-14T01:59:00Z"
    })
}

pub fn bindings<'a>(input: &'a Value, context: &'a Value) -> Bindings<'a> {
    Bindings {
        input,
        context,
        variables: &NoVariables,
        result: None,
        error_output: None,
    }
}
