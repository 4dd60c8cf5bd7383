#![no_main]

mod common;

use baton_asl::intrinsic::Intrinsic;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let input = common::sample();
    if let Ok(call) = Intrinsic::parse(&text) {
        let _ = call.evaluate(&common::bindings(&input, &input), &mut common::Draws(1));
    }
});
