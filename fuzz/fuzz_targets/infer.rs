//! Objects -> topology: whatever loads must go through inventory and inference without a
//! panic, and the result must be sorted and free of self-edges.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshsmith_core::infer::infer;
use meshsmith_core::inventory::inventory;
use meshsmith_core::load::{load_bytes, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_alias_nodes: 100_000, ..Limits::default() };
    let Ok(loaded) = load_bytes("fuzz.yaml", data, &limits) else { return };
    let topology = infer(&inventory(&loaded.objects, "default"));
    assert!(topology.edges.iter().all(|e| e.from != e.to));
    assert!(topology.services.windows(2).all(|w| w[0].id < w[1].id));
});
