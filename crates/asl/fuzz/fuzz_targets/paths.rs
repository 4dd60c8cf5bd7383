#![no_main]

mod common;

use baton_asl::path::{Path, ReferencePath};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let input = common::sample();
    if let Ok(path) = Path::parse(&text) {
        let _ = path.select(&common::bindings(&input, &input));
    }
    if let Ok(path) = Path::parse_path_or_intrinsic(&text) {
        let _ = path.select(&common::bindings(&input, &input));
    }
    if let Ok(reference) = ReferencePath::parse(&text) {
        let _ = reference.set(input.clone(), input.clone());
    }
    let _ = baton_asl::timestamp::parse(&text);
});
