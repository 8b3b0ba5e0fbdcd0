//! Bytes -> traffic: any input is either read or refused with errors that name the file;
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshsmith_core::load::traffic::{read_bytes_with, TrafficLimits};

fuzz_target!(|data: &[u8]| {
    // Small limits, so that the limits' own errors are reached too.
    let limits = TrafficLimits {
        max_line_bytes: 4096,
        max_observations: 64,
    };
    for name in ["fuzz.log", "productpage-v1-6b746f74dc-9stp2.log"] {
        if let Err(failure) = read_bytes_with(name, data, &limits) {
            for e in &failure.errors {
                assert!(e.to_string().starts_with(name), "{e}");
            }
        }
    }
});
