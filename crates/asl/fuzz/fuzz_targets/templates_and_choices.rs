#![no_main]

mod common;

use baton_asl::choice::ChoiceRule;
use baton_asl::diagnostic::Diagnostics;
use baton_asl::template::Template;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let input = common::sample();
    let bindings = common::bindings(&input, &input);
    let mut diagnostics = Diagnostics::default();
    let template = Template::compile_jsonpath(&value, "/", &mut diagnostics);
    let _ = template.evaluate(&bindings, &mut common::Draws(2), "Parameters");
    if let Some(rule) = value.as_object() {
        let compiled = ChoiceRule::compile_jsonpath(rule, "/", &mut diagnostics);
        let _ = compiled.evaluate(&bindings, &mut common::Draws(3));
    }
});
