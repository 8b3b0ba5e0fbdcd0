//! Bytes -> objects: any input is either loaded or refused with an error; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshsmith_core::load::{load_bytes, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_alias_nodes: 100_000, ..Limits::default() };
    if let Err(failure) = load_bytes("fuzz.yaml", data, &limits) {
        // Every error names the file.
        for e in &failure.errors {
            assert!(e.to_string().starts_with("fuzz.yaml"), "{e}");
        }
    }
});
